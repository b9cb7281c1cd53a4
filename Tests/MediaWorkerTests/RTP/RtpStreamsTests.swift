import Testing

@testable import MediaWorker

@Suite("RTP stream statistics and scores")
struct RtpStreamsTests {
  @Test func sampleFollowsTheDeliveredRatioToTheFourth() {
    #expect(StreamScore.sample(expected: 0, received: 0) == 10)
    #expect(StreamScore.sample(expected: 100, received: 100) == 10)
    #expect(StreamScore.sample(expected: 100, received: 0) == 0)
    // 5 % lost: ((95 − 5) / 95)^4 = 0.806 → 8.
    #expect(StreamScore.sample(expected: 100, received: 95) == 8)
    // 20 % lost: (60 / 80)^4 = 0.316 → 3.
    #expect(StreamScore.sample(expected: 100, received: 80) == 3)
    // Repaired packets weigh against the loss: 5 lost, 5 repaired by 5 retransmissions.
    #expect(StreamScore.sample(expected: 100, received: 95, repaired: 5, retransmitted: 5) == 10)
  }

  @Test func scoreIsTheWeightedMeanOfTheLast24Samples() {
    var score = StreamScore(10)
    let result1 = score.add(10)
    #expect(result1 == false)
    // One bad sample after a good one: (1·10 + 2·0) / 3 = 3.33 → 3.
    let result2 = score.add(0)
    #expect(result2 == true)
    #expect(score.value == 3)
    // 24 good samples push the bad one out of the history.
    for _ in 0..<24 { _ = score.add(10) }
    #expect(score.value == 10)
    let result3 = score.reset(to: 0)
    #expect(result3 == true)
    #expect(score.value == 0)
  }

  @Test func receiveStreamCountsLossAcrossTheWrap() {
    var stream = RtpReceiveStream(ssrc: 7, clockRate: 90_000)
    var changed = false
    var now: Int64 = 0
    // 65 530 … 65 535, 0 … 9 with 2 and 5 missing: 16 expected, 14 received.
    for sequence in Array(UInt16(65_530)...65_535) + [0, 1, 3, 4, 6, 7, 8, 9] {
      now += 20
      let result4 = stream.receive(sequence: sequence, timestamp: UInt32(now * 90), nowMs: now, scoreChanged: &changed)
      #expect(result4)
    }
    #expect(stream.extendedHighestSequence == 65_536 + 9)
    #expect(stream.expected == 16)
    #expect(stream.packetsLost == 2)
    // Timestamps paced exactly with arrival: no jitter.
    #expect(stream.jitter == 0)
    let block = stream.reportBlock(nowMs: now)
    #expect(block.totalLost == 2)
    #expect(block.fractionLost == UInt8(2 * 256 / 16))
    #expect(block.lastSenderReport == 0 && block.delaySinceLastSenderReport == 0)
    // The next interval lost nothing.
    now += 20
    let result5 = stream.receive(sequence: 10, timestamp: UInt32(now * 90), nowMs: now, scoreChanged: &changed)
    #expect(result5)
    #expect(stream.reportBlock(nowMs: now).fractionLost == 0)
  }

  @Test func aSenderReportScoresTheIntervalAndFeedsLsrDlsr() {
    var stream = RtpReceiveStream(ssrc: 7, clockRate: 48_000)
    var changed = false
    for sequence in UInt16(0)..<100 where sequence % 5 != 0 {  // 20 % lost
      _ = stream.receive(
        sequence: sequence, timestamp: UInt32(sequence) * 960, nowMs: Int64(sequence) * 20, scoreChanged: &changed)
    }
    let ntp: UInt64 = 0x0001_2345_6789_0000
    let result6 = stream.senderReport(ntp: ntp, nowMs: 2000)
    #expect(result6 == true)
    // One sample of 3 after the initial 10 is (1·3) alone in the history: the score is 3.
    #expect(stream.score.value == 3)
    let block = stream.reportBlock(nowMs: 2500)
    #expect(block.lastSenderReport == 0x2345_6789)
    #expect(block.delaySinceLastSenderReport == 500 * 65_536 / 1000)
  }

  @Test func aReceiveStreamGoesInactiveAndComesBack() {
    var stream = RtpReceiveStream(ssrc: 7, clockRate: 90_000)
    var changed = false
    _ = stream.receive(sequence: 1, timestamp: 0, nowMs: 0, scoreChanged: &changed)
    let result7 = stream.checkActivity(nowMs: 1000, paused: false)
    #expect(!result7)
    let result8 = stream.checkActivity(nowMs: 5000, paused: true)
    #expect(!result8, "a paused producer is not inactive")
    let result9 = stream.checkActivity(nowMs: 1500, paused: false)
    #expect(result9)
    #expect(stream.score.value == 0 && stream.inactive)
    _ = stream.receive(sequence: 2, timestamp: 90, nowMs: 1600, scoreChanged: &changed)
    #expect(changed && stream.score.value == 10 && !stream.inactive)
  }

  @Test func aLargeJumpNeedsTwoPacketsToRestart() {
    var stream = RtpReceiveStream(ssrc: 7, clockRate: 90_000)
    var changed = false
    _ = stream.receive(sequence: 100, timestamp: 0, nowMs: 0, scoreChanged: &changed)
    let result10 = stream.receive(sequence: 30_000, timestamp: 0, nowMs: 1, scoreChanged: &changed)
    #expect(!result10)
    let result11 = stream.receive(sequence: 30_001, timestamp: 0, nowMs: 2, scoreChanged: &changed)
    #expect(result11)
    #expect(stream.expected == 1 && stream.packetsLost == 0)
  }

  @Test func sendStreamTakesLossAndRoundTripFromReports() {
    var stream = RtpSendStream(ssrc: 9)
    // The SR we sent at compact NTP 0x1000_0000; the subscriber held it 0x8000 (0.5 s) and its
    // report arrives at 0x1000_8000 + 0x0CCD: a round trip of 0x0CCD/65536 s = 50 ms.
    let block = Rtcp.ReportBlock(
      ssrc: 9, fractionLost: 25, totalLost: 10, highestSequence: 99, lastSenderReport: 0x1000_0000,
      delaySinceLastSenderReport: 0x8000)
    let result12 = stream.receiverReport(block, packetsSent: 100, compactNtpNow: 0x1000_8000 + 0x0CCD)
    #expect(result12 == true)
    #expect(abs(stream.roundTripTime - 50) < 0.1)
    #expect(stream.fractionLost == 25 && stream.packetsLost == 10)
    // 10 of 100 lost: (80/90)^4 = 0.62 → 6.
    #expect(stream.score.value == 6)
    // The next report: nothing more lost.
    var next = block
    next.lastSenderReport = 0
    let result13 = stream.receiverReport(next, packetsSent: 200, compactNtpNow: 0)
    #expect(result13 == true)
    #expect(stream.score.value == 9)  // (1·6 + 2·10) / 3 = 8.67 → 9
    #expect(abs(stream.roundTripTime - 50) < 0.1, "a report without LSR keeps the last round trip")
  }
}
