/// The receive side of NACK (media-worker spec §5.2): which packets of a producer's stream are
/// missing, and when to ask the publisher for them again. Sans-IO: the engine feeds it each packet's
/// sequence number and polls it on its timer with the time; it answers with the sequence numbers a
/// generic NACK should list now. The numbers are mediasoup's:
///
/// - a gap is asked for first after `reorderMs` (10 ms: a late packet is usually reordering);
/// - then again each round trip (100 ms until one is measured), at most `maxRetries` (10) times;
/// - a gap older than `maxAge` (10 000) sequence numbers behind the newest is given up;
/// - more than `capacity` (1 000) gaps: the ones before the last key frame go, and if that is not
///   enough the list is cleared and a key frame is asked for instead.
///
/// Storage is allocated once: no allocation per packet or per poll.
public struct NackGenerator {
  struct Entry {
    var sequence: UInt16
    var createdMs: Int64
    var sentMs: Int64?
    var retries: Int
  }

  public static let capacity = 1000
  public static let maxRetries = 10
  public static let maxAge: UInt16 = 10_000
  public static let reorderMs: Int64 = 10
  public static let defaultRoundTripMs: Int64 = 100

  /// The missing sequence numbers, oldest first.
  private var entries: [Entry]
  private var started = false
  private var newest: UInt16 = 0
  private var lastKeyFrame: UInt16?
  private var due: [UInt16]

  public init() {
    entries = []
    entries.reserveCapacity(Self.capacity + 1)
    due = []
    due.reserveCapacity(Self.capacity)
  }

  /// Gaps outstanding.
  public var missing: Int { entries.count }

  public enum Outcome: Equatable {
    /// A new or in-order packet, or a missing one that arrived.
    case accepted
    /// A packet that was not missing (a duplicate, or older than the list remembers): a
    /// retransmission of it is discarded.
    case notMissing
    /// The list overflowed and was cleared: the publisher should send a key frame.
    case keyFrameNeeded
  }

  /// Counts one packet: a newer sequence number opens gaps for the numbers skipped; an older one
  /// closes its gap.
  public mutating func receive(sequence: UInt16, isKeyFrame: Bool, nowMs: Int64) -> Outcome {
    guard started else {
      started = true
      newest = sequence
      if isKeyFrame { lastKeyFrame = sequence }
      return .accepted
    }
    let ahead = sequence &- newest
    if ahead == 0 { return .notMissing }
    if ahead < 0x8000 {
      // Newer: the numbers in between are missing.
      var outcome = Outcome.accepted
      if ahead > 1 {
        if Int(ahead) - 1 > Self.capacity {
          entries.removeAll(keepingCapacity: true)
          outcome = .keyFrameNeeded
        } else {
          var missingSequence = newest &+ 1
          while missingSequence != sequence {
            entries.append(Entry(sequence: missingSequence, createdMs: nowMs, sentMs: nil, retries: 0))
            missingSequence &+= 1
          }
        }
      }
      newest = sequence
      if isKeyFrame { lastKeyFrame = sequence }
      forgetTooOld()
      if entries.count > Self.capacity {
        if let lastKeyFrame { entries.removeAll { Self.isOlder($0.sequence, than: lastKeyFrame) } }
        if entries.count > Self.capacity {
          entries.removeAll(keepingCapacity: true)
          outcome = .keyFrameNeeded
        }
      }
      return outcome
    }
    // Older: a reordered or retransmitted packet fills its gap, if it is one.
    guard let index = entries.firstIndex(where: { $0.sequence == sequence }) else { return .notMissing }
    entries.remove(at: index)
    if isKeyFrame, lastKeyFrame.map({ Self.isOlder($0, than: sequence) }) ?? true { lastKeyFrame = sequence }
    return .accepted
  }

  /// The sequence numbers to NACK now (ascending), each counted as one more try; gaps past their
  /// last try are given up. The buffer stays valid until the next call.
  public mutating func poll(nowMs: Int64, roundTripMs: Int64) -> ArraySlice<UInt16> {
    due.removeAll(keepingCapacity: true)
    let interval = roundTripMs > 0 ? roundTripMs : Self.defaultRoundTripMs
    var index = 0
    while index < entries.count {
      let entry = entries[index]
      let ready =
        entry.sentMs.map { nowMs - $0 >= interval } ?? (nowMs - entry.createdMs >= Self.reorderMs)
      guard ready else {
        index += 1
        continue
      }
      due.append(entry.sequence)
      entries[index].sentMs = nowMs
      entries[index].retries += 1
      if entries[index].retries >= Self.maxRetries {
        entries.remove(at: index)
      } else {
        index += 1
      }
    }
    return due[...]
  }

  /// Forgets every gap (the producer paused, or its stream restarted).
  public mutating func reset() {
    entries.removeAll(keepingCapacity: true)
    started = false
    lastKeyFrame = nil
  }

  private mutating func forgetTooOld() {
    let newest = newest
    entries.removeAll { newest &- $0.sequence > Self.maxAge }
  }

  /// `a` comes before `b` in sequence-number order (RFC 1982 style, half the space).
  static func isOlder(_ a: UInt16, than b: UInt16) -> Bool { a != b && b &- a < 0x8000 }
}

extension Rtcp {
  /// Appends one generic NACK (RTPFB fmt 1, RFC 4585 §6.2.1) listing `sequences` (ascending): each
  /// item is a packet id and a mask of the 16 that follow it.
  public static func appendNack(
    to out: inout [UInt8], sender: UInt32, media: UInt32, sequences: some Collection<UInt16>
  ) {
    guard let first = sequences.first else { return }
    let headerAt = out.count
    appendHeader(&out, count: 1, type: .transportFeedback, words: 0)
    append32(&out, sender)
    append32(&out, media)
    var items = 0
    var pid = first
    var mask: UInt16 = 0
    for sequence in sequences.dropFirst() {
      let distance = sequence &- pid
      if distance >= 1 && distance <= 16 {
        mask |= 1 << (distance - 1)
      } else {
        appendItem(&out, pid, mask)
        items += 1
        pid = sequence
        mask = 0
      }
    }
    appendItem(&out, pid, mask)
    items += 1
    let words = 2 + items
    out[headerAt + 2] = UInt8(words >> 8)
    out[headerAt + 3] = UInt8(words & 0xFF)
  }

  private static func appendItem(_ out: inout [UInt8], _ pid: UInt16, _ mask: UInt16) {
    out.append(UInt8(pid >> 8))
    out.append(UInt8(pid & 0xFF))
    out.append(UInt8(mask >> 8))
    out.append(UInt8(mask & 0xFF))
  }
}
