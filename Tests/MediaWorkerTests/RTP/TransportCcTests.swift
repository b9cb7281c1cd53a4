import Testing

@testable import MediaWorker

@Suite("transport-wide congestion control feedback")
struct TransportCcTests {
  /// Builds every pending feedback packet and reads each back.
  static func feedbacks(_ receiver: inout TransportCcReceiver, sender: UInt32 = 1) -> ([[UInt8]], [TransportCcFeedback])
  {
    var packets: [[UInt8]] = []
    var parsed: [TransportCcFeedback] = []
    while receiver.hasPending {
      var out: [UInt8] = []
      #expect(receiver.appendFeedback(to: &out, sender: sender))
      let feedback = out.withUnsafeBytes { bytes -> TransportCcFeedback? in
        guard let headers = Rtcp.packets(bytes), headers.count == 1 else { return nil }
        return TransportCcFeedback.parse(bytes, headers[0])
      }
      guard let feedback else {
        Issue.record("unreadable feedback \(out)")
        break
      }
      packets.append(out)
      parsed.append(feedback)
    }
    return (packets, parsed)
  }

  @Test func writesTheDraftsLayoutByteForByte() {
    var receiver = TransportCcReceiver()
    // Reference time 16 × 64 ms; arrivals 4, 8 and 4 ticks of 250 µs apart.
    for (sequence, arrival) in [(10, 1_025_000), (11, 1_027_000), (12, 1_028_000)] {
      receiver.record(sequence: UInt16(sequence), arrivalUs: Int64(arrival), ssrc: 0x457)
    }
    var out: [UInt8] = []
    #expect(receiver.appendFeedback(to: &out, sender: 1))
    let expected: [UInt8] = [
      0xAF, 0xCD, 0x00, 0x06,  // V=2, P, FMT 15; PT 205 (RTPFB); length 6 words
      0x00, 0x00, 0x00, 0x01,  // sender SSRC
      0x00, 0x00, 0x04, 0x57,  // media SSRC: the last packet's
      0x00, 0x0A, 0x00, 0x03,  // base sequence 10, 3 statuses
      0x00, 0x00, 0x10, 0x00,  // reference time 16 (64 ms units), feedback count 0
      0x20, 0x03,  // run-length chunk: "received, small delta" × 3
      0x04, 0x08, 0x04,  // receive deltas in 250 µs ticks
      0x00, 0x00, 0x03,  // padding, its length last
    ]
    #expect(out == expected)
    #expect(!receiver.hasPending)
    #expect(receiver.feedbackCount == 1)
  }

  @Test func lossesReorderingAndLargeDeltasReadBack() {
    var receiver = TransportCcReceiver()
    let start: Int64 = 5_000_000
    // 100 and 103 lost; 104 arrives before 102 (a negative delta); 106 after a 100 ms pause.
    let arrivals: [(UInt16, Int64)] = [
      (99, start), (101, start + 1_000), (104, start + 2_000), (102, start + 2_500), (105, start + 3_000),
      (106, start + 103_000),
    ]
    for (sequence, arrival) in arrivals { receiver.record(sequence: sequence, arrivalUs: arrival, ssrc: 7) }
    let (_, parsed) = Self.feedbacks(&receiver)
    #expect(parsed.count == 1)
    let feedback = parsed[0]
    #expect(feedback.baseSequence == 99 && feedback.media == 7)
    #expect(feedback.packets.map(\.sequence) == Array(99...106))
    #expect(feedback.packets.map { $0.arrivalUs != nil } == [true, false, true, true, false, true, true, true])
    // Arrivals relative to the reference time, to the 250 µs tick.
    let reference = Int64(feedback.referenceTime) * 64_000
    for (sequence, arrival) in arrivals {
      let reported = feedback.packets.first { $0.sequence == sequence }?.arrivalUs
      #expect(reported.map { abs(reference + $0 - arrival) <= 125 } == true, "packet \(sequence)")
    }
    // The reordered 100 arrives after its feedback went: the next feedback starts again from it.
    receiver.record(sequence: 100, arrivalUs: start + 104_000, ssrc: 7)
    receiver.record(sequence: 107, arrivalUs: start + 105_000, ssrc: 7)
    let (_, again) = Self.feedbacks(&receiver)
    #expect(again.first?.baseSequence == 100 && again.first?.packets.count == 8)
    #expect(again.first?.feedbackCount == 1)
    // A duplicate keeps its first arrival and opens nothing new.
    receiver.record(sequence: 107, arrivalUs: start + 200_000, ssrc: 7)
    #expect(!receiver.hasPending)
  }

  @Test func longWindowsSplitIntoPacketsThatCoverEverySequenceOnce() {
    var receiver = TransportCcReceiver()
    // 3 000 packets across the 16-bit wrap, every 5th lost, with mixed gaps (run-length, one- and
    // two-bit chunks all appear).
    var expected: [UInt16: Int64] = [:]
    var time: Int64 = 1_000_000
    for index in 0..<3000 {
      let sequence = UInt16(truncatingIfNeeded: 64_000 + index)
      time += index % 50 == 0 ? 80_000 : Int64(index % 3) * 400
      guard index % 5 != 4 else { continue }
      receiver.record(sequence: sequence, arrivalUs: time, ssrc: 1)
      expected[sequence] = time
    }
    let (packets, parsed) = Self.feedbacks(&receiver)
    #expect(packets.count > 1 && packets.allSatisfy { $0.count <= TransportCcReceiver.maximumPacketLength })
    #expect(packets.allSatisfy { $0.count % 4 == 0 })
    let covered = parsed.flatMap { $0.packets.map(\.sequence) }
    #expect(covered.count == 3000 - 1, "every sequence once; the lost last one waits")
    #expect(Set(covered).count == covered.count)
    for feedback in parsed {
      let reference = Int64(feedback.referenceTime) * 64_000
      for packet in feedback.packets {
        #expect((packet.arrivalUs != nil) == (expected[packet.sequence] != nil))
        if let arrival = packet.arrivalUs, let sent = expected[packet.sequence] {
          #expect(abs(reference + arrival - sent) <= 125)
        }
      }
    }
    #expect(parsed.map(\.feedbackCount) == parsed.indices.map { UInt8($0) })
  }

  @Test func aGapTooLongForSixteenBitsStartsTheNextFeedback() {
    var receiver = TransportCcReceiver()
    receiver.record(sequence: 1, arrivalUs: 0, ssrc: 1)
    receiver.record(sequence: 2, arrivalUs: 10_000_000, ssrc: 1)  // 10 s: 40 000 ticks > Int16.max
    let (_, parsed) = Self.feedbacks(&receiver)
    #expect(parsed.map { $0.packets.map(\.sequence) } == [[1], [2]])
  }

  @Test func chunksFollowLibwebrtcsGreedyRule() {
    func chunks(_ symbols: [UInt8]) -> [UInt16] {
      var builder = ChunkBuilder()
      var out: [UInt16] = []
      for symbol in symbols {
        if !builder.canAdd(symbol) { out.append(builder.emit()) }
        builder.add(symbol)
      }
      out.append(builder.finish())
      return out
    }
    #expect(chunks(Array(repeating: 1, count: 20)) == [0x2014], "one run of 20")
    // 14 one-bit symbols (1 0 1 0 …) fill a one-bit vector.
    #expect(chunks((0..<14).map { UInt8($0 % 2 == 0 ? 1 : 0) }) == [0xAAAA])
    // A large delta after 8 mixed ones: the first 7 go as a two-bit vector, the rest carry on.
    // 11 01 00 01 00 01 00 01 = 0xD111, then 11 00 10 00… = 0xC800.
    #expect(chunks([1, 0, 1, 0, 1, 0, 1, 0, 2]) == [0xD111, 0xC800])
  }

  @Test func malformedFeedbackIsRejected() {
    var receiver = TransportCcReceiver()
    for sequence in UInt16(0)..<40 { receiver.record(sequence: sequence, arrivalUs: Int64(sequence) * 1_000, ssrc: 1) }
    var out: [UInt8] = []
    #expect(receiver.appendFeedback(to: &out, sender: 1))
    out.withUnsafeBytes { bytes in
      let header = Rtcp.packets(bytes)![0]
      for cut in [4, 12, 19] {
        let short = Rtcp.Header(type: header.type, count: header.count, range: 0..<cut)
        #expect(TransportCcFeedback.parse(bytes, short) == nil)
      }
    }
    // Deltas missing: the status count promises more than the packet carries.
    out[15] = 200
    out.withUnsafeBytes { #expect(TransportCcFeedback.parse($0, Rtcp.packets($0)![0]) == nil) }
  }
}
