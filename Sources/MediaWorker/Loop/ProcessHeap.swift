internal import CEpoll

/// The worker process's heap, from glibc's allocator (`mallinfo2`): what is in use, and what it
/// holds but could give back.
public enum ProcessHeap {
  /// Bytes allocated and not freed (arena chunks in use plus mmapped blocks).
  public static var inUse: Int {
    let info = mallinfo2()
    return Int(info.uordblks + info.hblkhd)
  }

  /// Bytes the allocator keeps free in its arenas (freed, not yet returned to the system).
  public static var retainedFree: Int { Int(mallinfo2().fordblks) }

  /// Returns free arena memory to the system (`malloc_trim`); true when some was.
  @discardableResult
  public static func trim() -> Bool { malloc_trim(0) == 1 }
}

/// Gives freed memory back to the system after transports close (mediasoup's users saw worker
/// RSS stay at its peak after rooms closed, spec §8 item 5: glibc keeps freed arena memory). At
/// most every 10 s, only after some transport closed, and only when the allocator holds more than
/// 16 MiB free: `malloc_trim` walks the heap, a pause of a few milliseconds on the media loop.
struct HeapKeeper {
  static let interval = Duration.seconds(10)
  static let threshold = 16 << 20
  private var closedAtLastCheck = 0
  private var lastTrim: ContinuousClock.Instant?
  private(set) var trims = 0

  mutating func check(closedTransports: Int, now: ContinuousClock.Instant) {
    guard closedTransports != closedAtLastCheck else { return }
    if let lastTrim, now - lastTrim < Self.interval { return }
    closedAtLastCheck = closedTransports
    lastTrim = now
    if ProcessHeap.retainedFree > Self.threshold, ProcessHeap.trim() { trims += 1 }
  }
}
