import Testing

@testable import MediaWorker

@Suite("NACK generator (manual clock)")
struct NackGeneratorTests {
  @Test func aGapIsAskedForAfterTheReorderWaitThenEachRoundTrip() {
    var nack = NackGenerator()
    #expect(nack.receive(sequence: 1, isKeyFrame: true, nowMs: 0) == .accepted)
    #expect(nack.receive(sequence: 2, isKeyFrame: false, nowMs: 0) == .accepted)
    #expect(nack.receive(sequence: 5, isKeyFrame: false, nowMs: 0) == .accepted)
    #expect(nack.missing == 2)
    #expect(Array(nack.poll(nowMs: 5, roundTripMs: 100)).isEmpty, "it may be reordering")
    #expect(Array(nack.poll(nowMs: 10, roundTripMs: 100)) == [3, 4])
    #expect(Array(nack.poll(nowMs: 60, roundTripMs: 100)).isEmpty, "not again within a round trip")
    #expect(nack.receive(sequence: 3, isKeyFrame: false, nowMs: 70) == .accepted)
    #expect(Array(nack.poll(nowMs: 110, roundTripMs: 100)) == [4])
    #expect(Array(nack.poll(nowMs: 140, roundTripMs: 30)) == [4], "the measured round trip spaces the retries")
    #expect(nack.receive(sequence: 3, isKeyFrame: false, nowMs: 150) == .notMissing, "a second copy")
    #expect(nack.receive(sequence: 5, isKeyFrame: false, nowMs: 150) == .notMissing, "a duplicate of the newest")
  }

  @Test func aGapIsGivenUpAfterTenTries() {
    var nack = NackGenerator()
    _ = nack.receive(sequence: 100, isKeyFrame: false, nowMs: 0)
    _ = nack.receive(sequence: 102, isKeyFrame: false, nowMs: 0)
    var tries = 0
    for step in 1...20 where !nack.poll(nowMs: Int64(step) * 100, roundTripMs: 100).isEmpty { tries += 1 }
    #expect(tries == NackGenerator.maxRetries)
    #expect(nack.missing == 0)
  }

  @Test func sequenceNumbersWrap() {
    var nack = NackGenerator()
    _ = nack.receive(sequence: 65534, isKeyFrame: false, nowMs: 0)
    _ = nack.receive(sequence: 2, isKeyFrame: false, nowMs: 0)
    #expect(Array(nack.poll(nowMs: 20, roundTripMs: 100)) == [65535, 0, 1])
    #expect(nack.receive(sequence: 0, isKeyFrame: false, nowMs: 30) == .accepted)
    #expect(nack.missing == 2)
  }

  @Test func tooManyGapsClearTheListAndAskForAKeyFrame() {
    var nack = NackGenerator()
    _ = nack.receive(sequence: 0, isKeyFrame: false, nowMs: 0)
    #expect(nack.receive(sequence: 1500, isKeyFrame: false, nowMs: 0) == .keyFrameNeeded)
    #expect(nack.missing == 0)
    // 600 gaps, a key frame, 600 more: the ones before the key frame go, the rest stay.
    _ = nack.receive(sequence: 2101, isKeyFrame: true, nowMs: 0)
    _ = nack.receive(sequence: 2102, isKeyFrame: true, nowMs: 0)
    #expect(nack.missing == 600)
    #expect(nack.receive(sequence: 2703, isKeyFrame: false, nowMs: 0) == .accepted)
    #expect(nack.missing == 600)
    #expect(Array(nack.poll(nowMs: 20, roundTripMs: 100)).first == 2103)
  }

  @Test func gapsFarBehindTheNewestAreForgotten() {
    var nack = NackGenerator()
    _ = nack.receive(sequence: 5, isKeyFrame: false, nowMs: 0)
    for sequence in UInt16(7)...10_005 { _ = nack.receive(sequence: sequence, isKeyFrame: false, nowMs: 0) }
    #expect(nack.missing == 1)
    _ = nack.receive(sequence: 10_007, isKeyFrame: false, nowMs: 0)
    #expect(nack.missing == 1, "6 is more than 10 000 behind: only 10 006 is missing")
    #expect(Array(nack.poll(nowMs: 20, roundTripMs: 100)) == [10_006])
  }

  @Test func nackPacketsRoundTrip() {
    let sequences: [UInt16] = [3, 5, 19, 20, 40, 65535, 1]
    var out: [UInt8] = []
    Rtcp.appendNack(to: &out, sender: 1, media: 0x1111, sequences: sequences)
    out.withUnsafeBytes { bytes in
      let headers = Rtcp.packets(bytes) ?? []
      #expect(headers.count == 1 && headers.first?.type == 205 && headers.first?.count == 1)
      guard let header = headers.first else { return }
      #expect(Rtcp.feedbackSSRCs(bytes, header)?.media == 0x1111)
      #expect(Rtcp.nackedSequenceNumbers(bytes, header) == sequences)
    }
    #expect(out.count == 12 + 4 * 4, "3..19 share an item; 20, 40 and 65535..1 take one each")
  }

  @Test func rtxUnwrapUndoesWrap() {
    let original: [UInt8] = [0x80, 96, 0x12, 0x34, 0, 0, 0x10, 0, 0, 0, 0x04, 0x57, 0x10, 0x9c, 0x01, 0x2a, 0xAA]
    var packet = original + [0, 0]
    packet.withUnsafeMutableBytes { buffer in
      let wrapped = wrapRtx(buffer, length: original.count, payloadType: 97, ssrc: 0x458, sequenceNumber: 7)
      #expect(wrapped == original.count + 2)
      let unwrapped = unwrapRtx(buffer, length: wrapped ?? 0, payloadType: 96, ssrc: 0x457)
      #expect(unwrapped == original.count)
    }
    #expect(Array(packet[..<original.count]) == original)
    var padding: [UInt8] = [0x80, 97, 0, 1, 0, 0, 0, 0, 0, 0, 4, 0x58]
    #expect(padding.withUnsafeMutableBytes { unwrapRtx($0, length: 12, payloadType: 96, ssrc: 1) } == nil)
  }
}
