/// mediasoup's AudioLevelObserver (media-worker spec §1): every `interval` it averages each audio
/// producer's `ssrc-audio-level` values (0…127 = −dBov), ignores producers with fewer than 10
/// samples or below `threshold`, and reports the loudest `maxEntries` as `volumes`, or `silence`
/// once when the room falls quiet. Sans-IO; the engine feeds levels and asks at each interval.
public struct AudioLevelObserver: Sendable {
  public static let levelURI = "urn:ietf:params:rtp-hdrext:ssrc-audio-level"

  public let id: String
  public let maxEntries: Int
  /// dBov, −127…0.
  public let threshold: Int
  public let interval: Duration
  public var paused = false
  public private(set) var producerIDs: Set<String> = []
  private var sums: [String: (total: Int, count: Int)] = [:]
  private var silent = true
  var nextEvaluation: ContinuousClock.Instant

  public enum Event: Equatable, Sendable {
    case volumes([(producerID: String, volume: Int)])
    case silence

    public static func == (lhs: Event, rhs: Event) -> Bool {
      switch (lhs, rhs) {
      case (.silence, .silence): true
      case (.volumes(let a), .volumes(let b)):
        a.map(\.producerID) == b.map(\.producerID) && a.map(\.volume) == b.map(\.volume)
      default: false
      }
    }
  }

  public init(
    id: String, maxEntries: Int = 1, threshold: Int = -80, interval: Duration = .milliseconds(1000),
    now: ContinuousClock.Instant
  ) {
    self.id = id
    self.maxEntries = max(1, maxEntries)
    self.threshold = threshold
    self.interval = interval
    nextEvaluation = now + interval
  }

  public mutating func add(_ producerID: String) { producerIDs.insert(producerID) }

  public mutating func remove(_ producerID: String) {
    producerIDs.remove(producerID)
    sums[producerID] = nil
  }

  /// One packet's level (the extension's low 7 bits: 0 loudest, 127 silent).
  public mutating func record(_ producerID: String, level: UInt8) {
    guard !paused, producerIDs.contains(producerID) else { return }
    let current = sums[producerID] ?? (0, 0)
    sums[producerID] = (current.total + Int(level & 0x7F), current.count + 1)
  }

  /// At each interval: what to report, if anything; the samples start over.
  public mutating func evaluate(now: ContinuousClock.Instant) -> Event? {
    guard now >= nextEvaluation else { return nil }
    nextEvaluation = now + interval
    defer { sums.removeAll(keepingCapacity: true) }
    guard !paused else { return nil }
    var loudest: [(producerID: String, volume: Int)] = []
    for (producerID, sum) in sums where sum.count >= 10 {
      let volume = -Int((Double(sum.total) / Double(sum.count)).rounded())
      if volume >= threshold { loudest.append((producerID, volume)) }
    }
    loudest.sort { $0.volume != $1.volume ? $0.volume > $1.volume : $0.producerID < $1.producerID }
    if loudest.isEmpty {
      guard !silent else { return nil }
      silent = true
      return .silence
    }
    silent = false
    return .volumes(Array(loudest.prefix(maxEntries)))
  }
}
