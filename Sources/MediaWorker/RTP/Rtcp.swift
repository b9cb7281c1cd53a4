/// RTCP (RFC 3550, RFC 4585, RFC 5104): walking compound packets, reading what the worker acts on
/// (sender and receiver reports, PLI, FIR, NACK) and writing what it sends (SR, RR, SDES, PLI, FIR).
public enum Rtcp {
  public enum PacketType: UInt8, Sendable {
    case senderReport = 200
    case receiverReport = 201
    case sourceDescription = 202
    case goodbye = 203
    case application = 204
    case transportFeedback = 205
    case payloadFeedback = 206
    case extendedReport = 207
  }

  /// One packet of a compound: type, the 5-bit count/format field, and its whole byte range.
  public struct Header: Equatable, Sendable {
    public var type: UInt8
    public var count: UInt8
    public var range: Range<Int>
  }

  /// The RFC 5761 test that tells RTCP from RTP on a muxed port: payload type 192–223.
  public static func looksLikeRtcp(_ bytes: UnsafeRawBufferPointer) -> Bool {
    bytes.count >= 4 && bytes[0] >= 128 && bytes[0] <= 191 && bytes[1] >= 192 && bytes[1] <= 223
  }

  /// Calls `body` with each packet of a compound, in order, and returns true; or returns false
  /// without calling it when any length is inconsistent (the whole compound is then dropped, as
  /// mediasoup does). Allocates nothing: the worker's receive path uses it.
  @discardableResult
  public static func forEachPacket(_ bytes: UnsafeRawBufferPointer, _ body: (Header) -> Void) -> Bool {
    guard walk(bytes, { _ in }) else { return false }
    return walk(bytes, body)
  }

  private static func walk(_ bytes: UnsafeRawBufferPointer, _ body: (Header) -> Void) -> Bool {
    guard !bytes.isEmpty else { return false }
    var offset = 0
    while offset < bytes.count {
      guard bytes.count - offset >= 4, bytes[offset] >> 6 == 2 else { return false }
      let length = ((Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])) + 1) * 4
      guard offset + length <= bytes.count else { return false }
      body(Header(type: bytes[offset + 1], count: bytes[offset] & 0x1F, range: offset..<offset + length))
      offset += length
    }
    return true
  }

  /// The packets of a compound, in order; nil when any length is inconsistent.
  public static func packets(_ bytes: UnsafeRawBufferPointer) -> [Header]? {
    var result: [Header] = []
    return forEachPacket(bytes) { result.append($0) } ? result : nil
  }

  /// A feedback message's sender and media SSRC (RTPFB/PSFB, RFC 4585 §6.1).
  public static func feedbackSSRCs(_ bytes: UnsafeRawBufferPointer, _ header: Header) -> (
    sender: UInt32, media: UInt32
  )? {
    guard header.range.count >= 12 else { return nil }
    return (RtpPacket.read32(bytes, header.range.lowerBound + 4), RtpPacket.read32(bytes, header.range.lowerBound + 8))
  }

  /// Calls `body` with each SSRC a FIR asks a key frame of (RFC 5104 §4.3.1: FCI = SSRC, seq, 3
  /// reserved bytes).
  public static func forEachFirTarget(_ bytes: UnsafeRawBufferPointer, _ header: Header, _ body: (UInt32) -> Void) {
    var offset = header.range.lowerBound + 12
    while offset + 8 <= header.range.upperBound {
      body(RtpPacket.read32(bytes, offset))
      offset += 8
    }
  }

  public static func firTargets(_ bytes: UnsafeRawBufferPointer, _ header: Header) -> [UInt32] {
    var targets: [UInt32] = []
    forEachFirTarget(bytes, header) { targets.append($0) }
    return targets
  }

  /// Calls `body` with each sequence number a generic NACK asks for (RFC 4585 §6.2.1: PID and a
  /// 16-bit mask).
  public static func forEachNackedSequence(_ bytes: UnsafeRawBufferPointer, _ header: Header, _ body: (UInt16) -> Void)
  {
    var offset = header.range.lowerBound + 12
    while offset + 4 <= header.range.upperBound {
      let pid = UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
      let mask = UInt16(bytes[offset + 2]) << 8 | UInt16(bytes[offset + 3])
      body(pid)
      for bit in 0..<16 where mask & (1 << bit) != 0 { body(pid &+ UInt16(bit + 1)) }
      offset += 4
    }
  }

  public static func nackedSequenceNumbers(_ bytes: UnsafeRawBufferPointer, _ header: Header) -> [UInt16] {
    var lost: [UInt16] = []
    forEachNackedSequence(bytes, header) { lost.append($0) }
    return lost
  }

  /// One reception report block (RFC 3550 §6.4.1).
  public struct ReportBlock: Equatable, Sendable {
    public var ssrc: UInt32
    public var fractionLost: UInt8
    public var totalLost: Int32
    public var highestSequence: UInt32
    public var jitter: UInt32
    public var lastSenderReport: UInt32
    public var delaySinceLastSenderReport: UInt32

    public init(
      ssrc: UInt32, fractionLost: UInt8 = 0, totalLost: Int32 = 0, highestSequence: UInt32 = 0, jitter: UInt32 = 0,
      lastSenderReport: UInt32 = 0, delaySinceLastSenderReport: UInt32 = 0
    ) {
      self.ssrc = ssrc
      self.fractionLost = fractionLost
      self.totalLost = totalLost
      self.highestSequence = highestSequence
      self.jitter = jitter
      self.lastSenderReport = lastSenderReport
      self.delaySinceLastSenderReport = delaySinceLastSenderReport
    }
  }

  /// The sender information of an SR (RFC 3550 §6.4.1): who sent it and its NTP time.
  public static func senderInfo(_ bytes: UnsafeRawBufferPointer, _ header: Header) -> (ssrc: UInt32, ntp: UInt64)? {
    guard header.type == PacketType.senderReport.rawValue, header.range.count >= 28 else { return nil }
    let start = header.range.lowerBound
    let ntp = UInt64(RtpPacket.read32(bytes, start + 8)) << 32 | UInt64(RtpPacket.read32(bytes, start + 12))
    return (RtpPacket.read32(bytes, start + 4), ntp)
  }

  /// Calls `body` with each report block of an SR or RR.
  public static func forEachReportBlock(
    _ bytes: UnsafeRawBufferPointer, _ header: Header, _ body: (ReportBlock) -> Void
  ) {
    var offset = header.range.lowerBound + (header.type == PacketType.senderReport.rawValue ? 28 : 8)
    for _ in 0..<Int(header.count) {
      guard offset + 24 <= header.range.upperBound else { break }
      let lost = UInt32(bytes[offset + 5]) << 16 | UInt32(bytes[offset + 6]) << 8 | UInt32(bytes[offset + 7])
      body(
        ReportBlock(
          ssrc: RtpPacket.read32(bytes, offset), fractionLost: bytes[offset + 4],
          totalLost: Int32(bitPattern: lost & 0x80_0000 != 0 ? lost | 0xFF00_0000 : lost),
          highestSequence: RtpPacket.read32(bytes, offset + 8), jitter: RtpPacket.read32(bytes, offset + 12),
          lastSenderReport: RtpPacket.read32(bytes, offset + 16),
          delaySinceLastSenderReport: RtpPacket.read32(bytes, offset + 20)))
      offset += 24
    }
  }

  public static func reportBlocks(_ bytes: UnsafeRawBufferPointer, _ header: Header) -> [ReportBlock] {
    var blocks: [ReportBlock] = []
    forEachReportBlock(bytes, header) { blocks.append($0) }
    return blocks
  }

  // MARK: writing

  /// Appends a sender report (no report blocks).
  public static func appendSenderReport(
    to out: inout [UInt8], ssrc: UInt32, ntp: UInt64, rtpTimestamp: UInt32, packets: UInt32, octets: UInt32
  ) {
    appendHeader(&out, count: 0, type: .senderReport, words: 6)
    append32(&out, ssrc)
    append32(&out, UInt32(ntp >> 32))
    append32(&out, UInt32(ntp & 0xFFFF_FFFF))
    append32(&out, rtpTimestamp)
    append32(&out, packets)
    append32(&out, octets)
  }

  /// Appends a receiver report with the given blocks (at most 31).
  public static func appendReceiverReport(to out: inout [UInt8], ssrc: UInt32, blocks: [ReportBlock]) {
    let kept = blocks.prefix(31)
    appendHeader(&out, count: UInt8(kept.count), type: .receiverReport, words: 1 + 6 * kept.count)
    append32(&out, ssrc)
    for block in kept {
      append32(&out, block.ssrc)
      let lost = UInt32(bitPattern: max(-0x80_0000, min(0x7F_FFFF, block.totalLost))) & 0xFF_FFFF
      append32(&out, UInt32(block.fractionLost) << 24 | lost)
      append32(&out, block.highestSequence)
      append32(&out, block.jitter)
      append32(&out, block.lastSenderReport)
      append32(&out, block.delaySinceLastSenderReport)
    }
  }

  /// Appends an SDES with one chunk holding a CNAME (RFC 3550 §6.5).
  public static func appendSourceDescription(to out: inout [UInt8], ssrc: UInt32, cname: String) {
    let name = Array(cname.utf8.prefix(255))
    // SSRC + CNAME item (type, length, text) + at least one terminating zero, padded to 32 bits.
    let chunk = 4 + 2 + name.count
    let padded = (chunk + 1 + 3) / 4 * 4
    appendHeader(&out, count: 1, type: .sourceDescription, words: padded / 4)
    append32(&out, ssrc)
    out.append(1)
    out.append(UInt8(name.count))
    out.append(contentsOf: name)
    out.append(contentsOf: repeatElement(0, count: padded - chunk))
  }

  /// Appends a Picture Loss Indication (PSFB fmt 1).
  public static func appendPictureLossIndication(to out: inout [UInt8], sender: UInt32, media: UInt32) {
    appendHeader(&out, count: 1, type: .payloadFeedback, words: 2)
    append32(&out, sender)
    append32(&out, media)
  }

  /// Appends a Full Intra Request (PSFB fmt 4) for one SSRC.
  public static func appendFullIntraRequest(to out: inout [UInt8], sender: UInt32, media: UInt32, sequence: UInt8) {
    appendHeader(&out, count: 4, type: .payloadFeedback, words: 4)
    append32(&out, sender)
    append32(&out, 0)
    append32(&out, media)
    out.append(contentsOf: [sequence, 0, 0, 0])
  }

  /// Appends a REMB (draft-alvestrand-rmcat-remb-03: PSFB fmt 15, "REMB", the bitrate as an 18-bit
  /// mantissa and a 6-bit exponent, then the SSRCs it applies to; at most 255).
  public static func appendReceiverEstimatedMaximumBitrate(
    to out: inout [UInt8], sender: UInt32, bitrate: UInt64, ssrcs: [UInt32]
  ) {
    let kept = ssrcs.prefix(255)
    var exponent: UInt32 = 0
    while bitrate >> exponent >= 1 << 18, exponent < 63 { exponent += 1 }
    let mantissa = UInt32(truncatingIfNeeded: min(bitrate >> exponent, (1 << 18) - 1))
    appendHeader(&out, count: 15, type: .payloadFeedback, words: 4 + kept.count)
    append32(&out, sender)
    append32(&out, 0)
    out.append(contentsOf: Array("REMB".utf8))
    append32(&out, UInt32(kept.count) << 24 | min(exponent, 63) << 18 | mantissa)
    for ssrc in kept { append32(&out, ssrc) }
  }

  /// The bitrate and SSRCs of a REMB; nil when the packet is not one.
  public static func receiverEstimatedMaximumBitrate(_ bytes: UnsafeRawBufferPointer, _ header: Header) -> (
    bitrate: UInt64, ssrcs: [UInt32]
  )? {
    let start = header.range.lowerBound
    guard header.type == PacketType.payloadFeedback.rawValue, header.count == 15, header.range.count >= 20,
      bytes[start + 12] == 0x52, bytes[start + 13] == 0x45, bytes[start + 14] == 0x4D, bytes[start + 15] == 0x42
    else { return nil }
    let word = RtpPacket.read32(bytes, start + 16)
    let count = Int(word >> 24)
    guard header.range.count >= 20 + 4 * count else { return nil }
    let bitrate = UInt64(word & 0x3_FFFF) << UInt64(word >> 18 & 0x3F)
    return (bitrate, (0..<count).map { RtpPacket.read32(bytes, start + 20 + 4 * $0) })
  }

  static func appendHeader(_ out: inout [UInt8], count: UInt8, type: PacketType, words: Int) {
    out.append(0x80 | count)
    out.append(type.rawValue)
    out.append(UInt8(words >> 8))
    out.append(UInt8(words & 0xFF))
  }

  static func append32(_ out: inout [UInt8], _ value: UInt32) {
    out.append(UInt8(value >> 24))
    out.append(UInt8(value >> 16 & 0xFF))
    out.append(UInt8(value >> 8 & 0xFF))
    out.append(UInt8(value & 0xFF))
  }
}
