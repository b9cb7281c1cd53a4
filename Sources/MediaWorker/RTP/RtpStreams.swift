/// A stream's quality score, 0–10 (media-worker spec §5.7): one sample per reception report, and
/// the reported score is the weighted mean of the last 24 samples (the newest weighs 24, the
/// oldest 1).
public struct StreamScore: Sendable, Equatable {
  public static let historyLength = 24
  private var samples: [UInt8] = []
  public private(set) var value: UInt8

  public init(_ initial: UInt8 = 10) {
    value = initial
    samples.reserveCapacity(Self.historyLength)
  }

  /// The sample for one interval between reports: `received` of `expected` packets arrived (or
  /// were sent and not reported lost), `repaired` of them by `retransmitted` retransmissions.
  public static func sample(expected: Int, received: Int, repaired: Int = 0, retransmitted: Int = 0) -> UInt8 {
    guard expected > 0 else { return 10 }
    guard received > 0 else { return 0 }
    let lost = max(0, expected - received)
    var lostAfterRepair = Double(lost)
    if repaired > 0 {
      var weight = pow4(1 / (1 + Double(repaired) / Double(received)))
      if retransmitted > 0 { weight *= Double(repaired) / Double(retransmitted) }
      lostAfterRepair = max(0, Double(lost) - Double(repaired) * weight)
    }
    let delivered = max(0, (Double(received) - lostAfterRepair) / Double(received))
    return UInt8((10 * pow4(delivered)).rounded())
  }

  /// Adds a sample; true when the reported score changed.
  public mutating func add(_ sample: UInt8) -> Bool {
    if samples.count == Self.historyLength { samples.removeFirst() }
    samples.append(min(sample, 10))
    var weighted = 0
    var weights = 0
    for (index, score) in samples.enumerated() {
      weighted += (index + 1) * Int(score)
      weights += index + 1
    }
    let previous = value
    value = UInt8((Double(weighted) / Double(weights)).rounded())
    return value != previous
  }

  /// Forgets the history (a stream gone inactive or back); true when the score changed.
  public mutating func reset(to score: UInt8) -> Bool {
    samples.removeAll(keepingCapacity: true)
    let previous = value
    value = score
    return value != previous
  }

  private static func pow4(_ x: Double) -> Double { x * x * x * x }
}

/// What a producer knows of the stream it receives (RFC 3550 appendix A.1, A.3, A.8): extended
/// sequence numbers, loss, interarrival jitter, the last sender report, and the stream's score.
/// Sans-IO: times come in as milliseconds of a monotonic clock and NTP values.
public struct RtpReceiveStream: Sendable {
  static let maxDropout: UInt16 = 3000
  static let maxMisorder: UInt16 = 1500
  /// No RTP for this long makes the stream inactive (score 0).
  public static let inactivityMilliseconds: Int64 = 1500

  public let ssrc: UInt32
  public let clockRate: Int
  public private(set) var packetsReceived: UInt32 = 0
  private var started = false
  private var maxSequence: UInt16 = 0
  private var cycles: UInt32 = 0
  private var baseSequence: UInt32 = 0
  private var badSequence: UInt32 = 0x1_0001
  private var expectedPrior: UInt32 = 0
  private var receivedPrior: UInt32 = 0
  private var expectedPriorScore: UInt32 = 0
  private var receivedPriorScore: UInt32 = 0
  private var lastTransit: Int64?
  /// Interarrival jitter in timestamp units, ×16 as RFC 3550 A.8 keeps it.
  private var jitterScaled: Int64 = 0
  /// The middle 32 bits of the last SR's NTP time, and when it arrived.
  private var lastSenderReport: UInt32 = 0
  private var lastSenderReportAt: Int64 = 0
  public private(set) var lastPacketAt: Int64 = 0
  public private(set) var inactive = false
  public private(set) var score = StreamScore(10)
  /// The fraction lost in the last receiver report we wrote, 0–255.
  public private(set) var fractionLost: UInt8 = 0

  public init(ssrc: UInt32, clockRate: Int) {
    self.ssrc = ssrc
    self.clockRate = max(1, clockRate)
  }

  /// Counts one packet; false when its sequence number is outside the window (a restart or a
  /// stray packet, not counted). `scoreChanged` is set when the stream comes back from inactivity.
  public mutating func receive(sequence: UInt16, timestamp: UInt32, nowMs: Int64, scoreChanged: inout Bool) -> Bool {
    defer { lastPacketAt = nowMs }
    if inactive {
      inactive = false
      scoreChanged = score.reset(to: 10) || scoreChanged
    }
    guard started else {
      started = true
      restart(at: sequence)
      packetsReceived = 1
      updateJitter(timestamp: timestamp, nowMs: nowMs)
      return true
    }
    let delta = sequence &- maxSequence
    if delta < Self.maxDropout {
      if sequence < maxSequence { cycles &+= 0x1_0000 }
      maxSequence = sequence
    } else if Int(delta) <= 0x1_0000 - Int(Self.maxMisorder) {
      // A large jump: two in a row mean the sender restarted its sequence.
      guard UInt32(sequence) == badSequence else {
        badSequence = (UInt32(sequence) + 1) & 0xFFFF
        return false
      }
      restart(at: sequence)
    }  // else a duplicate or reordered packet: counted, the highest stays
    packetsReceived &+= 1
    updateJitter(timestamp: timestamp, nowMs: nowMs)
    return true
  }

  private mutating func restart(at sequence: UInt16) {
    maxSequence = sequence
    cycles = 0
    baseSequence = UInt32(sequence)
    badSequence = 0x1_0001
    packetsReceived = 0
    expectedPrior = 0
    receivedPrior = 0
    expectedPriorScore = 0
    receivedPriorScore = 0
  }

  private mutating func updateJitter(timestamp: UInt32, nowMs: Int64) {
    let arrival = nowMs * Int64(clockRate) / 1000
    let transit = arrival - Int64(timestamp)
    if let last = lastTransit {
      let difference = abs(transit - last)
      // Reordered or wrapped timestamps would make a nonsense jump: ignore those.
      if difference < Int64(clockRate) * 10 { jitterScaled += difference - ((jitterScaled + 8) >> 4) }
    }
    lastTransit = transit
  }

  public var extendedHighestSequence: UInt32 { cycles &+ UInt32(maxSequence) }
  public var expected: UInt32 { started ? extendedHighestSequence &- baseSequence &+ 1 : 0 }
  public var packetsLost: Int32 { Int32(truncatingIfNeeded: Int64(expected) - Int64(packetsReceived)) }
  /// Jitter in timestamp units.
  public var jitter: UInt32 { UInt32(truncatingIfNeeded: jitterScaled >> 4) }

  /// A sender report of this stream arrived: remembers it for LSR/DLSR and scores the interval
  /// since the previous one. True when the score changed.
  public mutating func senderReport(ntp: UInt64, nowMs: Int64) -> Bool {
    lastSenderReport = UInt32(truncatingIfNeeded: ntp >> 16)
    lastSenderReportAt = nowMs
    guard started, !inactive else { return false }
    let expectedNow = expected
    let expectedInterval = Int(Int64(expectedNow) - Int64(expectedPriorScore))
    let receivedInterval = Int(Int64(packetsReceived) - Int64(receivedPriorScore))
    expectedPriorScore = expectedNow
    receivedPriorScore = packetsReceived
    return score.add(StreamScore.sample(expected: expectedInterval, received: receivedInterval))
  }

  /// The report block of a receiver report about this stream (RFC 3550 §6.4.1, A.3).
  public mutating func reportBlock(nowMs: Int64) -> Rtcp.ReportBlock {
    let expectedNow = expected
    let expectedInterval = Int64(expectedNow) - Int64(expectedPrior)
    let receivedInterval = Int64(packetsReceived) - Int64(receivedPrior)
    expectedPrior = expectedNow
    receivedPrior = packetsReceived
    let lostInterval = expectedInterval - receivedInterval
    fractionLost =
      expectedInterval <= 0 || lostInterval <= 0 ? 0 : UInt8(min(255, (lostInterval << 8) / expectedInterval))
    var delay: UInt32 = 0
    if lastSenderReport != 0 {
      delay = UInt32(truncatingIfNeeded: max(0, nowMs - lastSenderReportAt) * 65_536 / 1000)
    }
    return Rtcp.ReportBlock(
      ssrc: ssrc, fractionLost: fractionLost, totalLost: packetsLost, highestSequence: extendedHighestSequence,
      jitter: jitter, lastSenderReport: lastSenderReport, delaySinceLastSenderReport: delay)
  }

  /// Marks the stream inactive after 1.5 s without RTP (not while its producer is paused); true
  /// when that changed the score.
  public mutating func checkActivity(nowMs: Int64, paused: Bool) -> Bool {
    guard started, !inactive, !paused, nowMs - lastPacketAt >= Self.inactivityMilliseconds else { return false }
    inactive = true
    return score.reset(to: 0)
  }
}

/// What a consumer learns of the stream it sends from the subscriber's receiver reports: loss,
/// round-trip time and the score (media-worker spec §5.1, §5.7).
public struct RtpSendStream: Sendable {
  public let ssrc: UInt32
  public private(set) var fractionLost: UInt8 = 0
  public private(set) var packetsLost: Int32 = 0
  /// Round-trip time in milliseconds from the last report that carried LSR/DLSR.
  public private(set) var roundTripTime: Double = 0
  public private(set) var score = StreamScore(10)
  private var sentPriorScore = 0
  private var lostPriorScore: Int32 = 0
  private var repairedPriorScore = 0
  private var retransmittedPriorScore = 0

  public init(ssrc: UInt32) { self.ssrc = ssrc }

  /// Applies one report block about this stream; `packetsSent` is the stream's count so far,
  /// `repaired` and `retransmitted` its NACKed packets resent once and resent at all, and
  /// `compactNtpNow` the middle 32 bits of the current NTP time. True when the score changed.
  public mutating func receiverReport(
    _ block: Rtcp.ReportBlock, packetsSent: Int, repaired: Int = 0, retransmitted: Int = 0, compactNtpNow: UInt32
  ) -> Bool {
    fractionLost = block.fractionLost
    if block.lastSenderReport != 0 {
      let units = compactNtpNow &- block.lastSenderReport &- block.delaySinceLastSenderReport
      // A negative or absurd result (clock skew, a stale LSR) is not a round trip.
      if units < 65_536 * 60 { roundTripTime = Double(units) * 1000 / 65_536 }
    }
    let sent = packetsSent - sentPriorScore
    let lost = max(0, Int(block.totalLost) - Int(lostPriorScore))
    let repairedInterval = repaired - repairedPriorScore
    let retransmittedInterval = retransmitted - retransmittedPriorScore
    sentPriorScore = packetsSent
    lostPriorScore = block.totalLost
    repairedPriorScore = repaired
    retransmittedPriorScore = retransmitted
    packetsLost = block.totalLost
    return score.add(
      StreamScore.sample(
        expected: sent, received: max(0, sent - lost), repaired: repairedInterval, retransmitted: retransmittedInterval
      ))
  }
}
