/// An RTP packet (RFC 3550) parsed in place: the header fields and where the header extension
/// (RFC 8285, one-byte and two-byte forms), the payload and the padding sit in the caller's bytes.
/// Parsing and rewriting never allocate.
public struct RtpPacket: Equatable, Sendable {
  public var payloadType: UInt8
  public var marker: Bool
  public var sequenceNumber: UInt16
  public var timestamp: UInt32
  public var ssrc: UInt32
  public var csrcCount: Int
  /// 0xBEDE (one-byte) or 0x1000–0x100F (two-byte), nil without an extension.
  public var extensionProfile: UInt16?
  /// The extension elements, after the 4-byte extension header.
  public var extensionRange: Range<Int>
  public var payloadRange: Range<Int>
  public var paddingLength: Int

  public static let oneByteProfile: UInt16 = 0xBEDE

  /// The RFC 7983 test for RTP or RTCP: version 2 in the first byte.
  public static func looksLikeRtpOrRtcp(_ bytes: UnsafeRawBufferPointer) -> Bool {
    bytes.count >= 12 && bytes[0] >= 128 && bytes[0] <= 191
  }

  /// Parses the header; nil for anything that is not a well-formed RTP packet.
  public static func parse(_ bytes: UnsafeRawBufferPointer) -> RtpPacket? {
    guard bytes.count >= 12, bytes[0] >> 6 == 2 else { return nil }
    let hasPadding = bytes[0] & 0x20 != 0
    let hasExtension = bytes[0] & 0x10 != 0
    let csrcCount = Int(bytes[0] & 0x0F)
    var offset = 12 + 4 * csrcCount
    guard bytes.count >= offset else { return nil }
    var profile: UInt16?
    var extensionRange = offset..<offset
    if hasExtension {
      guard bytes.count >= offset + 4 else { return nil }
      profile = UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
      let words = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
      let end = offset + 4 + 4 * words
      guard bytes.count >= end else { return nil }
      extensionRange = offset + 4..<end
      offset = end
    }
    var padding = 0
    if hasPadding {
      guard bytes.count > offset else { return nil }
      padding = Int(bytes[bytes.count - 1])
      guard padding > 0, offset + padding <= bytes.count else { return nil }
    }
    return RtpPacket(
      payloadType: bytes[1] & 0x7F, marker: bytes[1] & 0x80 != 0,
      sequenceNumber: UInt16(bytes[2]) << 8 | UInt16(bytes[3]),
      timestamp: Self.read32(bytes, 4), ssrc: Self.read32(bytes, 8), csrcCount: csrcCount,
      extensionProfile: profile, extensionRange: extensionRange,
      payloadRange: offset..<bytes.count - padding, paddingLength: padding)
  }

  /// Calls `body` with each extension element's id and value range (padding bytes skipped).
  public func forEachExtension(in bytes: UnsafeRawBufferPointer, _ body: (UInt8, Range<Int>) -> Void) {
    guard let extensionProfile else { return }
    var offset = extensionRange.lowerBound
    let end = extensionRange.upperBound
    if extensionProfile == Self.oneByteProfile {
      while offset < end {
        let byte = bytes[offset]
        if byte == 0 {
          offset += 1
          continue
        }
        let id = byte >> 4
        guard id != 15 else { return }  // reserved: stop parsing
        let length = Int(byte & 0x0F) + 1
        guard offset + 1 + length <= end else { return }
        body(id, offset + 1..<offset + 1 + length)
        offset += 1 + length
      }
    } else if extensionProfile & 0xFFF0 == 0x1000 {
      while offset < end {
        let id = bytes[offset]
        if id == 0 {
          offset += 1
          continue
        }
        guard offset + 2 <= end else { return }
        let length = Int(bytes[offset + 1])
        guard offset + 2 + length <= end else { return }
        body(id, offset + 2..<offset + 2 + length)
        offset += 2 + length
      }
    }
  }

  /// The value of extension `id`, if present.
  public func extensionValue(_ id: UInt8, in bytes: UnsafeRawBufferPointer) -> Range<Int>? {
    var found: Range<Int>?
    forEachExtension(in: bytes) { elementID, range in
      if found == nil, elementID == id { found = range }
    }
    return found
  }

  static func read32(_ bytes: UnsafeRawBufferPointer, _ offset: Int) -> UInt32 {
    UInt32(bytes[offset]) << 24 | UInt32(bytes[offset + 1]) << 16 | UInt32(bytes[offset + 2]) << 8
      | UInt32(bytes[offset + 3])
  }

  static func write32(_ bytes: UnsafeMutableRawBufferPointer, _ offset: Int, _ value: UInt32) {
    bytes[offset] = UInt8(value >> 24)
    bytes[offset + 1] = UInt8(value >> 16 & 0xFF)
    bytes[offset + 2] = UInt8(value >> 8 & 0xFF)
    bytes[offset + 3] = UInt8(value & 0xFF)
  }
}

/// Writes a packet for one consumer into an output buffer: its SSRC, sequence number, payload type
/// and the header extensions it negotiated (ids mapped, MID replaced, the transport-wide sequence
/// number and abs-send-time written by the sending transport, the rest dropped), then the payload.
/// One copy; no allocation.
public struct RtpRewrite {
  /// Incoming extension id → outgoing id (0 = drop). 256 entries, made once per stream.
  public var extensionMap: [UInt8]
  /// The outgoing id of the MID extension and the consumer's MID bytes (up to 16).
  public var midID: UInt8
  public var mid: [UInt8]
  /// Outgoing ids of the extensions the sending transport fills in (0: not negotiated).
  public var transportSequenceID: UInt8
  public var absSendTimeID: UInt8

  public init(
    extensionMap: [UInt8] = Array(repeating: 0, count: 256), midID: UInt8 = 0, mid: [UInt8] = [],
    transportSequenceID: UInt8 = 0, absSendTimeID: UInt8 = 0
  ) {
    precondition(extensionMap.count == 256 && mid.count <= 16)
    self.extensionMap = extensionMap
    self.midID = midID
    self.mid = mid
    self.transportSequenceID = transportSequenceID < 15 ? transportSequenceID : 0
    self.absSendTimeID = absSendTimeID < 15 ? absSendTimeID : 0
  }

  /// abs-send-time (6.18 fixed-point seconds, 24 bits) of a time in milliseconds.
  public static func absSendTime(milliseconds: Int64) -> UInt32 {
    UInt32(truncatingIfNeeded: (milliseconds << 18) / 1000) & 0xFF_FFFF
  }

  /// Writes `packet` (parsed from `source`) into `output`; returns the length written, or nil when
  /// `output` is too small. The timestamp is kept (simple consumers do not shift it); padding is
  /// dropped. `transportSequence` and `absSendTime` fill those extensions where negotiated.
  public func write(
    _ packet: RtpPacket, from source: UnsafeRawBufferPointer, into output: UnsafeMutableRawBufferPointer,
    ssrc: UInt32, sequenceNumber: UInt16, payloadType: UInt8, transportSequence: UInt16 = 0, absSendTime: UInt32 = 0
  ) -> Int? {
    let csrcBytes = 4 * packet.csrcCount
    // Worst case for the extension block: every element kept, the MID, the transport-wide sequence
    // number and abs-send-time, plus padding to 4.
    let extensionBudget = packet.extensionRange.count + (mid.isEmpty ? 0 : 1 + mid.count) + 3 + 4 + 8
    guard output.count >= 12 + csrcBytes + extensionBudget + packet.payloadRange.count else { return nil }
    // Fixed header (marker and payload type rewritten), then the CSRCs.
    output[0] = 0x80 | UInt8(packet.csrcCount)
    output[1] = (packet.marker ? 0x80 : 0) | payloadType
    output[2] = UInt8(sequenceNumber >> 8)
    output[3] = UInt8(sequenceNumber & 0xFF)
    RtpPacket.write32(output, 4, packet.timestamp)
    RtpPacket.write32(output, 8, ssrc)
    for index in 0..<csrcBytes { output[12 + index] = source[12 + index] }
    var offset = 12 + csrcBytes
    // One-byte extension block: the mapped elements (values of 1–16 bytes), then our MID.
    let blockStart = offset
    offset += 4
    packet.forEachExtension(in: source) { id, range in
      let mapped = extensionMap[Int(id)]
      guard mapped != 0, mapped < 15, mapped != midID, mapped != transportSequenceID, mapped != absSendTimeID,
        range.count >= 1, range.count <= 16
      else { return }
      output[offset] = mapped << 4 | UInt8(range.count - 1)
      for (index, byte) in range.enumerated() { output[offset + 1 + index] = source[byte] }
      offset += 1 + range.count
    }
    if midID != 0, !mid.isEmpty {
      output[offset] = midID << 4 | UInt8(mid.count - 1)
      for (index, byte) in mid.enumerated() { output[offset + 1 + index] = byte }
      offset += 1 + mid.count
    }
    if transportSequenceID != 0 {
      output[offset] = transportSequenceID << 4 | 1
      output[offset + 1] = UInt8(transportSequence >> 8)
      output[offset + 2] = UInt8(transportSequence & 0xFF)
      offset += 3
    }
    if absSendTimeID != 0 {
      output[offset] = absSendTimeID << 4 | 2
      output[offset + 1] = UInt8(absSendTime >> 16 & 0xFF)
      output[offset + 2] = UInt8(absSendTime >> 8 & 0xFF)
      output[offset + 3] = UInt8(absSendTime & 0xFF)
      offset += 4
    }
    if offset == blockStart + 4 {
      offset = blockStart  // nothing to carry: no extension at all
    } else {
      while (offset - blockStart) % 4 != 0 {
        output[offset] = 0
        offset += 1
      }
      output[0] |= 0x10
      output[blockStart] = 0xBE
      output[blockStart + 1] = 0xDE
      let words = (offset - blockStart - 4) / 4
      output[blockStart + 2] = UInt8(words >> 8)
      output[blockStart + 3] = UInt8(words & 0xFF)
    }
    let payload = packet.payloadRange
    UnsafeMutableRawBufferPointer(rebasing: output[offset..<offset + payload.count]).copyMemory(
      from: UnsafeRawBufferPointer(rebasing: source[payload]))
    return offset + payload.count
  }
}
