internal import Glibc

/// The packets a video producer received recently, kept for its consumers' NACKs (media-worker
/// spec §5.2): one byte arena and one slot table allocated at creation, nothing per packet. A
/// packet stays while its bytes are not overwritten, its slot is not reused, and it is younger
/// than `maxAgeMs`.
public struct PacketCache {
  struct Slot {
    var sequence: UInt16 = 0
    /// Where the packet starts in the arena's virtual byte count (offsets grow forever; the
    /// arena index is this modulo the capacity).
    var position = -1
    var length = 0
    var storedAtMs: Int64 = 0
  }

  public static let slotCount = 2048
  private var arena: [UInt8]
  private var slots: [Slot]
  /// Bytes written so far, counting the tail skipped when a packet did not fit before the end.
  private var written = 0
  public let maxAgeMs: Int64

  public init(bytes: Int = 1 << 20, maxAgeMs: Int64 = 2000) {
    arena = [UInt8](repeating: 0, count: bytes)
    slots = [Slot](repeating: Slot(), count: Self.slotCount)
    self.maxAgeMs = maxAgeMs
  }

  /// Keeps a copy of a packet (plain RTP, as the publisher sent it).
  public mutating func store(sequence: UInt16, packet: UnsafeRawBufferPointer, nowMs: Int64) {
    let capacity = arena.count
    guard packet.count > 0, packet.count <= capacity else { return }
    var offset = written % capacity
    if offset + packet.count > capacity {
      written += capacity - offset
      offset = 0
    }
    arena.withUnsafeMutableBytes {
      $0.baseAddress!.advanced(by: offset).copyMemory(from: packet.baseAddress!, byteCount: packet.count)
    }
    slots[Int(sequence) % Self.slotCount] = Slot(
      sequence: sequence, position: written, length: packet.count, storedAtMs: nowMs)
    written += packet.count
  }

  /// Calls `body` with the stored packet of `sequence`, if it is still whole and young enough.
  public func withPacket<R>(
    _ sequence: UInt16, nowMs: Int64, _ body: (UnsafeRawBufferPointer) -> R
  ) -> R? {
    let slot = slots[Int(sequence) % Self.slotCount]
    guard slot.position >= 0, slot.sequence == sequence, nowMs - slot.storedAtMs <= maxAgeMs,
      written - slot.position <= arena.count
    else { return nil }
    let offset = slot.position % arena.count
    return arena.withUnsafeBytes { body(UnsafeRawBufferPointer(rebasing: $0[offset..<offset + slot.length])) }
  }
}

/// What a consumer sent, by its own sequence numbers: which producer packet each one was, so a
/// NACK finds it in the producer's `PacketCache`, and when it was last resent (not twice within
/// one round trip).
public struct SentPackets {
  struct Slot {
    var output: UInt16 = 0
    var input: UInt16 = 0
    var valid = false
    var lastResentMs: Int64 = .min
  }

  private var slots = [Slot](repeating: Slot(), count: PacketCache.slotCount)

  public init() {}

  public mutating func record(output: UInt16, input: UInt16) {
    slots[Int(output) % PacketCache.slotCount] = Slot(output: output, input: input, valid: true)
  }

  /// The producer sequence number to resend for a NACKed `output`, marking it resent, and whether
  /// this is its first resend; nil when unknown or resent less than `minimumIntervalMs` ago.
  public mutating func resend(_ output: UInt16, nowMs: Int64, minimumIntervalMs: Int64) -> (
    input: UInt16, first: Bool
  )? {
    let index = Int(output) % PacketCache.slotCount
    guard slots[index].valid, slots[index].output == output,
      slots[index].lastResentMs == .min || nowMs - slots[index].lastResentMs >= minimumIntervalMs
    else { return nil }
    let first = slots[index].lastResentMs == .min
    slots[index].lastResentMs = nowMs
    return (slots[index].input, first)
  }
}

/// RFC 4588 RTX: turns a packet written at `packet[..<length]` into its retransmission on the RTX
/// stream in place — the original sequence number (OSN) goes before the payload, and the header
/// takes the RTX payload type, SSRC and sequence number. Returns the new length, or nil when the
/// buffer has no room for the 2 more bytes or the packet does not parse.
public func wrapRtx(
  _ packet: UnsafeMutableRawBufferPointer, length: Int, payloadType: UInt8, ssrc: UInt32, sequenceNumber: UInt16
) -> Int? {
  guard length + 2 <= packet.count,
    let parsed = RtpPacket.parse(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(packet)[..<length]))
  else { return nil }
  let start = parsed.payloadRange.lowerBound
  let payloadLength = parsed.payloadRange.count
  let base = packet.baseAddress!
  // Drop padding (the payload ends at payloadRange), shift the payload, insert the OSN.
  memmove(base.advanced(by: start + 2), base.advanced(by: start), payloadLength)
  packet[start] = packet[2]
  packet[start + 1] = packet[3]
  packet[0] &= 0xDF  // no padding any more
  packet[1] = packet[1] & 0x80 | payloadType
  packet[2] = UInt8(sequenceNumber >> 8)
  packet[3] = UInt8(sequenceNumber & 0xFF)
  RtpPacket.write32(packet, 8, ssrc)
  return start + 2 + payloadLength
}

/// RFC 4588 in reverse: turns an RTX packet at `packet[..<length]` back into the packet it repairs,
/// in place — the sequence number from the OSN, the media payload type and SSRC given. Returns the
/// new length, or nil when the packet carries no OSN (RTX padding, sent to probe bandwidth) or does
/// not parse.
public func unwrapRtx(
  _ packet: UnsafeMutableRawBufferPointer, length: Int, payloadType: UInt8, ssrc: UInt32
) -> Int? {
  guard let parsed = RtpPacket.parse(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(packet)[..<length])),
    parsed.payloadRange.count >= 2
  else { return nil }
  let start = parsed.payloadRange.lowerBound
  let payloadLength = parsed.payloadRange.count - 2
  let base = packet.baseAddress!
  packet[2] = packet[start]
  packet[3] = packet[start + 1]
  memmove(base.advanced(by: start), base.advanced(by: start + 2), payloadLength)
  packet[0] &= 0xDF  // the padding went with the RTX payload's end
  packet[1] = packet[1] & 0x80 | payloadType
  RtpPacket.write32(packet, 8, ssrc)
  return start + payloadLength
}
