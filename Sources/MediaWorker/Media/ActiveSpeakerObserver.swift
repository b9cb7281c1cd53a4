internal import Glibc

/// mediasoup's ActiveSpeakerObserver (media-worker spec §1): dominant speaker identification after
/// Volfin and Cohen ("Dominant speaker identification for multipoint videoconferencing", as in Jitsi
/// and mediasoup). Each audio producer's `ssrc-audio-level` values become volumes (127 − level); on
/// each `interval` (300 ms) every speaker's recent volumes are scored over three time scales
/// (immediate, medium, long) and a challenger replaces the dominant speaker when it beats it on all
/// three by the constants C1, C2, C3. Sans-IO: the engine passes levels and times in; the answer is
/// the new dominant producer, if it changed.
///
/// The numbers are the published ones: N1 = 13 sub-bands of the 0–127 volume range, N2 = 5
/// immediates per medium, N3 = 10 mediums per long; thresholds 7 and 4; C1 = 3, C2 = 2, C3 = 0;
/// levels of a speaker silent for 40 ms decay to 0, and a speaker silent for an hour stops competing.
public struct ActiveSpeakerObserver: Sendable {
  static let c1 = 3.0
  static let c2 = 2.0
  static let c3 = 0.0
  static let n1 = 13
  static let n2 = 5
  static let n3 = 10
  static let maxLevel = 127
  static let subunitLengthN1 = (maxLevel + n1 - 1) / n1
  static let mediumThreshold: UInt8 = 7
  static let longThreshold: UInt8 = 4
  static let levelIdleTimeoutMs: Int64 = 40
  static let speakerIdleTimeoutMs: Int64 = 60 * 60 * 1000
  /// 15 s of 20 ms packets: how long a higher floor must hold before the minimum level rises.
  static let minLevelWindowLength = 15 * 1000 / 20
  static let minActivityScore = 1e-10

  /// One producer's volume history and its three activity scores.
  struct Speaker: Sendable {
    /// Volumes, newest first (N3 · N2 of them), and their sub-band numbers.
    var levels = [UInt8](repeating: 0, count: n3 * n2)
    var immediates = [UInt8](repeating: 0, count: n3 * n2)
    /// How many of each N2 immediates passed the medium threshold, and of the N3 mediums the long.
    var mediums = [UInt8](repeating: 0, count: n3)
    var longs = [UInt8](repeating: 0, count: 1)
    var immediateScore = ActiveSpeakerObserver.minActivityScore
    var mediumScore = ActiveSpeakerObserver.minActivityScore
    var longScore = ActiveSpeakerObserver.minActivityScore
    var minLevel: UInt8 = 0
    var nextMinLevel: UInt8 = 0
    var nextMinLevelWindowLength = 0
    var lastLevelChangeMs: Int64
    /// The producer is paused, or has been silent for an hour.
    var paused = false

    init(nowMs: Int64) { lastLevelChangeMs = nowMs }

    mutating func levelChanged(_ volume: UInt8, nowMs: Int64) {
      guard lastLevelChangeMs <= nowMs else { return }
      lastLevelChangeMs = nowMs
      let level = min(volume, UInt8(ActiveSpeakerObserver.maxLevel))
      levels.withUnsafeMutableBufferPointer { buffer in
        var index = buffer.count - 1
        while index > 0 {
          buffer[index] = buffer[index - 1]
          index -= 1
        }
        buffer[0] = level
      }
      updateMinLevel(level)
    }

    /// The floor that counts as silence: the lowest non-zero level, raised (to the geometric mean)
    /// after a long window spent above it.
    private mutating func updateMinLevel(_ level: UInt8) {
      guard level != 0 else { return }
      if minLevel == 0 || minLevel > level {
        minLevel = level
        nextMinLevel = 0
        nextMinLevelWindowLength = 0
      } else if nextMinLevel == 0 {
        nextMinLevel = level
        nextMinLevelWindowLength = 1
      } else {
        nextMinLevel = min(nextMinLevel, level)
        nextMinLevelWindowLength += 1
        if nextMinLevelWindowLength >= ActiveSpeakerObserver.minLevelWindowLength {
          let mean = (Double(minLevel) * Double(nextMinLevel)).squareRoot()
          minLevel = UInt8(max(0, min(Double(ActiveSpeakerObserver.maxLevel), mean)))
          nextMinLevel = 0
          nextMinLevelWindowLength = 0
        }
      }
    }

    /// Recomputes the scores whose inputs changed (immediates, then mediums, then longs).
    mutating func evaluateActivityScores() {
      guard computeImmediates() else { return }
      immediateScore = ActiveSpeakerObserver.activityScore(
        immediates[0], n: ActiveSpeakerObserver.n1, p: 0.5, lambda: 0.78)
      guard ActiveSpeakerObserver.computeBigs(immediates, &mediums, threshold: ActiveSpeakerObserver.mediumThreshold)
      else { return }
      mediumScore = ActiveSpeakerObserver.activityScore(mediums[0], n: ActiveSpeakerObserver.n2, p: 0.5, lambda: 24)
      guard ActiveSpeakerObserver.computeBigs(mediums, &longs, threshold: ActiveSpeakerObserver.longThreshold)
      else { return }
      longScore = ActiveSpeakerObserver.activityScore(longs[0], n: ActiveSpeakerObserver.n3, p: 0.5, lambda: 47)
    }

    private mutating func computeImmediates() -> Bool {
      let floor = Int(minLevel) + ActiveSpeakerObserver.subunitLengthN1
      var changed = false
      for index in levels.indices {
        let level = Int(levels[index]) < floor ? 0 : Int(levels[index])
        let immediate = UInt8(level / ActiveSpeakerObserver.subunitLengthN1)
        if immediates[index] != immediate {
          immediates[index] = immediate
          changed = true
        }
      }
      return changed
    }

    func score(_ interval: Int) -> Double {
      switch interval {
      case 0: immediateScore
      case 1: mediumScore
      default: longScore
      }
    }
  }

  public let id: String
  public let interval: Duration
  public var paused = false
  private(set) var speakers: [String: Speaker] = [:]
  /// Producers in the order they were added (the first is nominated when there is no dominant).
  private var order: [String] = []
  public private(set) var dominantProducerID: String?
  var nextEvaluation: ContinuousClock.Instant
  private var lastLevelIdleMs: Int64 = 0

  public init(id: String, interval: Duration = .milliseconds(300), now: ContinuousClock.Instant) {
    self.id = id
    self.interval = interval
    nextEvaluation = now + interval
  }

  public var producerIDs: [String] { order }

  public mutating func add(_ producerID: String, nowMs: Int64) {
    guard speakers[producerID] == nil else { return }
    speakers[producerID] = Speaker(nowMs: nowMs)
    order.append(producerID)
  }

  public mutating func remove(_ producerID: String) {
    guard speakers.removeValue(forKey: producerID) != nil else { return }
    order.removeAll { $0 == producerID }
    if dominantProducerID == producerID { dominantProducerID = nil }
  }

  /// A producer paused or resumed: a paused one does not compete.
  public mutating func setPaused(_ producerID: String, _ paused: Bool) {
    speakers[producerID]?.paused = paused
  }

  /// One packet's `ssrc-audio-level` (low 7 bits: 0 loudest, 127 silent).
  public mutating func record(_ producerID: String, level: UInt8, nowMs: Int64) {
    guard !paused else { return }
    speakers[producerID]?.levelChanged(127 - (level & 0x7F), nowMs: nowMs)
  }

  /// At each interval: the new dominant speaker's producer id when it changed.
  public mutating func evaluate(now: ContinuousClock.Instant, nowMs: Int64) -> String? {
    guard now >= nextEvaluation else { return nil }
    nextEvaluation = now + interval
    guard !paused else { return nil }
    if nowMs - lastLevelIdleMs >= Self.levelIdleTimeoutMs {
      if lastLevelIdleMs != 0 { timeOutIdleLevels(nowMs: nowMs) }
      lastLevelIdleMs = nowMs
    }
    guard !speakers.isEmpty, let winner = dominantCandidate(), winner != dominantProducerID else { return nil }
    dominantProducerID = winner
    return winner
  }

  /// A speaker without levels for 40 ms gets a silent one; silent for an hour, it stops competing
  /// (unless it is the dominant speaker).
  private mutating func timeOutIdleLevels(nowMs: Int64) {
    for producerID in order {
      guard let last = speakers[producerID]?.lastLevelChangeMs else { continue }
      let idle = nowMs - last
      if idle > Self.speakerIdleTimeoutMs, producerID != dominantProducerID {
        speakers[producerID]?.paused = true
      } else if idle > Self.levelIdleTimeoutMs {
        speakers[producerID]?.levelChanged(0, nowMs: nowMs)
      }
    }
  }

  /// The speaker that should be dominant now: the only one; or a challenger whose immediate, medium
  /// and long scores beat the dominant one's by C1, C2 and C3 (the largest medium margin wins); or,
  /// with no dominant speaker yet, the first one added unless a challenger beats it.
  private mutating func dominantCandidate() -> String? {
    if order.count == 1 { return order[0] }
    var dominant = dominantProducerID.flatMap { speakers[$0] != nil ? $0 : nil }
    var winner: String?
    if dominant == nil {
      dominant = order.first
      winner = dominant
    }
    guard let dominantID = dominant else { return nil }
    speakers[dominantID]!.evaluateActivityScores()
    var bestMedium = Self.c2
    for producerID in order where producerID != dominantID && speakers[producerID]?.paused == false {
      speakers[producerID]!.evaluateActivityScores()
      let challenger = speakers[producerID]!
      let incumbent = speakers[dominantID]!
      let margins = (0..<3).map { log(challenger.score($0) / incumbent.score($0)) }
      if margins[0] > Self.c1, margins[1] > Self.c2, margins[2] > Self.c3, margins[1] > bestMedium {
        bestMedium = margins[1]
        winner = producerID
      }
    }
    return winner
  }

  /// The activity score of `active` sub-bands out of `n` (log-likelihood of speech against
  /// silence), at least `minActivityScore`.
  static func activityScore(_ active: UInt8, n: Int, p: Double, lambda: Double) -> Double {
    let count = Double(active)
    let score =
      log(Double(binomialCoefficient(n, Int(active)))) + count * log(p) + (Double(n) - count) * log(1 - p)
      - log(lambda) + lambda * count
    return max(score, minActivityScore)
  }

  static func binomialCoefficient(_ n: Int, _ r: Int) -> Int64 {
    let k = max(r, n - r)
    var result: Int64 = 1
    var denominator: Int64 = 1
    var numerator = Int64(n)
    while numerator > Int64(k) {
      result = result * numerator / denominator
      numerator -= 1
      denominator += 1
    }
    return result
  }

  /// Each big counts the littles of its share above `threshold`; true when a big changed.
  static func computeBigs(_ littles: [UInt8], _ bigs: inout [UInt8], threshold: UInt8) -> Bool {
    let perBig = littles.count / bigs.count
    var changed = false
    for big in bigs.indices {
      var sum: UInt8 = 0
      for little in littles[big * perBig..<(big + 1) * perBig] where little > threshold { sum += 1 }
      if bigs[big] != sum {
        bigs[big] = sum
        changed = true
      }
    }
    return changed
  }
}
