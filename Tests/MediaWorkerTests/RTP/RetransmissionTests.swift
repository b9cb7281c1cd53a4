import Testing

@testable import MediaWorker

@Suite("retransmission: packet cache, sent packets, RTX")
struct RetransmissionTests {
  static func packet(_ sequence: UInt16, size: Int) -> [UInt8] {
    [0x80, 96, UInt8(sequence >> 8), UInt8(sequence & 0xFF), 0, 0, 0, 1, 0, 0, 0, 7]
      + [UInt8](repeating: UInt8(truncatingIfNeeded: sequence), count: size - 12)
  }

  @Test func theCacheKeepsPacketsWhileTheirBytesSlotAndAgeHold() {
    var cache = PacketCache(bytes: 100, maxAgeMs: 2000)
    for sequence in UInt16(1)...2 {
      Self.packet(sequence, size: 40).withUnsafeBytes { cache.store(sequence: sequence, packet: $0, nowMs: 0) }
    }
    #expect(cache.withPacket(1, nowMs: 10) { Array($0) } == Self.packet(1, size: 40))
    #expect(cache.withPacket(2, nowMs: 2000) { Array($0) } == Self.packet(2, size: 40))
    #expect(cache.withPacket(2, nowMs: 2001) { _ in true } == nil, "too old")
    #expect(cache.withPacket(3, nowMs: 10) { _ in true } == nil, "never stored")
    // The third does not fit before the end: it goes to the start, over the first.
    Self.packet(3, size: 40).withUnsafeBytes { cache.store(sequence: 3, packet: $0, nowMs: 0) }
    #expect(cache.withPacket(1, nowMs: 10) { _ in true } == nil, "overwritten")
    #expect(cache.withPacket(2, nowMs: 10) { Array($0) } == Self.packet(2, size: 40))
    #expect(cache.withPacket(3, nowMs: 10) { Array($0) } == Self.packet(3, size: 40))
    // A sequence number 2048 later takes the same slot.
    let later = UInt16(2 + PacketCache.slotCount)
    Self.packet(later, size: 20).withUnsafeBytes { cache.store(sequence: later, packet: $0, nowMs: 0) }
    #expect(cache.withPacket(2, nowMs: 10) { _ in true } == nil)
    #expect(cache.withPacket(later, nowMs: 10) { $0.count } == 20)
  }

  @Test func aSentPacketIsResentAtMostOncePerRoundTrip() {
    var sent = SentPackets()
    sent.record(output: 500, input: 7)
    let first = sent.resend(500, nowMs: 1000, minimumIntervalMs: 100)
    #expect(first?.input == 7 && first?.first == true)
    let again = sent.resend(500, nowMs: 1050, minimumIntervalMs: 100)
    #expect(again == nil, "within one round trip")
    let later = sent.resend(500, nowMs: 1100, minimumIntervalMs: 100)
    #expect(later?.input == 7 && later?.first == false)
    let unknown = sent.resend(501, nowMs: 1100, minimumIntervalMs: 100)
    #expect(unknown == nil)
  }

  @Test func rtxPutsTheOriginalSequenceNumberBeforeThePayload() throws {
    var buffer = [UInt8](repeating: 0, count: 64)
    let original: [UInt8] = [0x80, 0xE0, 0x12, 0x34, 0, 0, 0x10, 0, 0, 0, 0, 7, 0xAA, 0xBB, 0xCC]
    buffer.replaceSubrange(0..<original.count, with: original)
    let length = buffer.withUnsafeMutableBytes {
      wrapRtx($0, length: original.count, payloadType: 97, ssrc: 0x0102_0304, sequenceNumber: 0x0506)
    }
    #expect(length == original.count + 2)
    #expect(
      Array(buffer.prefix(17)) == [
        0x80, 0x80 | 97, 0x05, 0x06, 0, 0, 0x10, 0, 1, 2, 3, 4, 0x12, 0x34, 0xAA, 0xBB, 0xCC,
      ], "marker kept, RTX PT, RTX seq and SSRC, OSN then the payload")
    let full = original.withUnsafeBytes { bytes in
      var copy = Array(bytes)
      return copy.withUnsafeMutableBytes {
        wrapRtx($0, length: original.count, payloadType: 97, ssrc: 1, sequenceNumber: 1)
      }
    }
    #expect(full == nil, "no room for the OSN")
  }
}
