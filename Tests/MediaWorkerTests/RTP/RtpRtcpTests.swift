import Testing

@testable import MediaWorker

func hex(_ text: String) -> [UInt8] {
  let digits = text.split(separator: "\n").map { $0.split(separator: "#").first ?? "" }.joined().filter(\.isHexDigit)
  return stride(from: 0, to: digits.count, by: 2).map {
    let start = digits.index(digits.startIndex, offsetBy: $0)
    return UInt8(digits[start..<digits.index(start, offsetBy: 2)], radix: 16)!
  }
}

@Suite("RTP packets")
struct RtpPacketTests {
  /// V=2, X=1, one CSRC, M=1, PT=111, seq 0x1234, ts 0xAABBCCDD, SSRC 0x01020304, a one-byte
  /// extension block with id 1 (1 byte) and id 4 (mid "ab"), payload DE AD BE EF, 2 bytes of padding.
  static let packet = hex(
    """
    b1 ef 12 34               # V=2 P=1 X=1 CC=1 | M=1 PT=111 | seq
    aa bb cc dd               # timestamp
    01 02 03 04               # SSRC
    0a 0b 0c 0d               # CSRC
    be de 00 02               # one-byte extension, 2 words
    10 ff 41 61 62 00 00 00   # id 1 len 1 = ff | id 4 len 2 = "ab" | padding
    de ad be ef               # payload
    00 02                     # padding, last byte = its length
    """)

  @Test func parsesEveryField() throws {
    let parsed = try #require(Self.packet.withUnsafeBytes { RtpPacket.parse($0) })
    #expect(parsed.payloadType == 111 && parsed.marker)
    #expect(parsed.sequenceNumber == 0x1234 && parsed.timestamp == 0xAABB_CCDD && parsed.ssrc == 0x0102_0304)
    #expect(parsed.csrcCount == 1 && parsed.extensionProfile == 0xBEDE)
    #expect(parsed.payloadRange == 28..<32 && parsed.paddingLength == 2)
    Self.packet.withUnsafeBytes { bytes in
      var elements: [(UInt8, [UInt8])] = []
      parsed.forEachExtension(in: bytes) { id, range in elements.append((id, Array(bytes[range]))) }
      #expect(elements.map(\.0) == [1, 4])
      #expect(elements.map(\.1) == [[0xFF], Array("ab".utf8)])
      #expect(parsed.extensionValue(4, in: bytes).map { Array(bytes[$0]) } == Array("ab".utf8))
    }
  }

  @Test func rejectsMalformedHeaders() {
    func parse(_ bytes: [UInt8]) -> RtpPacket? { bytes.withUnsafeBytes { RtpPacket.parse($0) } }
    #expect(parse(Array(Self.packet.prefix(11))) == nil, "shorter than a header")
    #expect(parse([0x40] + Self.packet.dropFirst()) == nil, "version 1")
    #expect(parse(Array(Self.packet.prefix(22))) == nil, "extension runs past the end")
    var badPadding = Self.packet
    badPadding[badPadding.count - 1] = 0xFF
    #expect(parse(badPadding) == nil, "padding longer than the packet")
  }

  @Test func rewritesForAConsumer() throws {
    var map = [UInt8](repeating: 0, count: 256)
    map[1] = 10  // keep extension 1 as id 10; drop the producer's mid (4)
    let rewrite = RtpRewrite(extensionMap: map, midID: 1, mid: Array("7".utf8))
    var output = [UInt8](repeating: 0xEE, count: 1500)
    let length = try #require(
      Self.packet.withUnsafeBytes { source in
        output.withUnsafeMutableBytes { out in
          rewrite.write(
            RtpPacket.parse(source)!, from: source, into: out, ssrc: 0xCAFE_BABE, sequenceNumber: 7, payloadType: 100)
        }
      })
    let expected = hex(
      """
      91 e4 00 07               # V=2 X=1 CC=1 (no padding) | M=1 PT=100 | seq 7
      aa bb cc dd               # timestamp kept
      ca fe ba be               # consumer SSRC
      0a 0b 0c 0d               # CSRC kept
      be de 00 01               # one word of extensions
      a0 ff 10 37               # id 10 = ff | id 1 (mid) = "7"
      de ad be ef               # payload
      """)
    #expect(Array(output[..<length]) == expected)
    #expect(
      rewrite.write(
        Self.packet.withUnsafeBytes { RtpPacket.parse($0)! }, from: Self.packet.withUnsafeBytes { $0 },
        into: UnsafeMutableRawBufferPointer(start: nil, count: 0), ssrc: 1, sequenceNumber: 1, payloadType: 1) == nil)
  }
}

@Suite("RTCP packets")
struct RtcpTests {
  /// An RR with one block followed by a PLI: a compound as a subscriber sends it.
  static let compound = hex(
    """
    81 c9 00 07               # RR, 1 block, 8 words
    11 11 11 11               # reporter SSRC
    22 22 22 22               # reportee
    05 ff ff fe               # fraction 5, cumulative lost -2
    00 01 00 10               # highest sequence (cycles 1, seq 16)
    00 00 00 20               # jitter 32
    12 34 56 78               # LSR
    00 00 10 00               # DLSR
    81 ce 00 02               # PSFB fmt 1 (PLI), 3 words
    11 11 11 11               # sender
    22 22 22 22               # media
    """)

  @Test func walksACompound() throws {
    try Self.compound.withUnsafeBytes { bytes in
      #expect(Rtcp.looksLikeRtcp(bytes))
      let packets = try #require(Rtcp.packets(bytes))
      #expect(packets.map(\.type) == [201, 206])
      #expect(packets.map(\.count) == [1, 1])
      let blocks = Rtcp.reportBlocks(bytes, packets[0])
      #expect(
        blocks == [
          .init(
            ssrc: 0x2222_2222, fractionLost: 5, totalLost: -2, highestSequence: 0x0001_0010, jitter: 32,
            lastSenderReport: 0x1234_5678, delaySinceLastSenderReport: 0x1000)
        ])
      #expect(Rtcp.feedbackSSRCs(bytes, packets[1])! == (0x1111_1111, 0x2222_2222))
    }
    #expect(Array(Self.compound.dropLast(4)).withUnsafeBytes { Rtcp.packets($0) } == nil, "truncated")
  }

  @Test func writesWhatItReads() throws {
    var out: [UInt8] = []
    Rtcp.appendReceiverReport(
      to: &out, ssrc: 0x1111_1111,
      blocks: [
        .init(
          ssrc: 0x2222_2222, fractionLost: 5, totalLost: -2, highestSequence: 0x0001_0010, jitter: 32,
          lastSenderReport: 0x1234_5678, delaySinceLastSenderReport: 0x1000)
      ])
    Rtcp.appendPictureLossIndication(to: &out, sender: 0x1111_1111, media: 0x2222_2222)
    #expect(out == Self.compound)

    var more: [UInt8] = []
    Rtcp.appendSenderReport(to: &more, ssrc: 1, ntp: 0x0102_0304_0506_0708, rtpTimestamp: 9, packets: 10, octets: 11)
    Rtcp.appendSourceDescription(to: &more, ssrc: 1, cname: "erizo")
    Rtcp.appendFullIntraRequest(to: &more, sender: 1, media: 0x3333_3333, sequence: 4)
    try more.withUnsafeBytes { bytes in
      let packets = try #require(Rtcp.packets(bytes))
      #expect(packets.map(\.type) == [200, 202, 206])
      #expect(packets.map(\.range.count) == [28, 16, 20])
      #expect(Rtcp.firTargets(bytes, packets[2]) == [0x3333_3333])
    }
    // SDES: SSRC, CNAME(1) length 5 "erizo", then zeros to the word boundary.
    #expect(Array(more[28..<44]) == hex("81 ca 00 03  00 00 00 01  01 05 65 72 69 7a 6f 00"))
  }

  @Test func nacksExpandTheirMask() {
    let nack = hex("81 cd 00 03  00 00 00 01  00 00 00 02  00 0a 00 05")  // PID 10, BLP 0b101
    nack.withUnsafeBytes { bytes in
      let packets = Rtcp.packets(bytes)!
      #expect(packets[0].type == 205 && packets[0].count == 1)
      #expect(Rtcp.nackedSequenceNumbers(bytes, packets[0]) == [10, 11, 13])
    }
  }
}

@Suite("key frames and sequence mapping")
struct KeyFrameTests {
  func key(_ codec: KeyFrames.Codec, _ bytes: [UInt8]) -> Bool {
    bytes.withUnsafeBytes { KeyFrames.isKeyFrame(codec, payload: $0) }
  }

  @Test func vp8() {
    #expect(key(.vp8, hex("10 9c 01 2a")), "S=1 PID=0, P=0: key frame")
    #expect(!key(.vp8, hex("10 9d 01 2a")), "P=1: inter frame")
    #expect(!key(.vp8, hex("00 9c")), "not the start of partition 0")
    #expect(key(.vp8, hex("90 e0 80 01 05 00 9c")), "X with a 15-bit picture id, TL0PICIDX and TID")
    #expect(!key(.vp8, hex("90 80")), "truncated")
  }

  @Test func vp9AndH264() {
    #expect(key(.vp9, hex("88")) && !key(.vp9, hex("c8")) && !key(.vp9, hex("80")))
    #expect(key(.h264, hex("65 88")), "IDR")
    #expect(key(.h264, hex("67 42")), "SPS")
    #expect(!key(.h264, hex("41 9a")), "non-IDR slice")
    #expect(key(.h264, hex("18 00 02 67 42 00 02 68 ce")), "STAP-A with SPS and PPS")
    #expect(key(.h264, hex("7c 85 88")) && !key(.h264, hex("7c 05 88")), "FU-A start of an IDR")
    #expect(!key(.other, hex("65")))
  }

  @Test func sequenceMappingIsContinuousAcrossSkips() {
    var mapper = SequenceMapper(initial: 5000)
    #expect(mapper.map(60000) == 5000)
    #expect(mapper.map(60001) == 5001)
    #expect(mapper.map(60003) == 5003, "a gap at the source stays a gap")
    #expect(mapper.map(60002) == 5002, "reordering is kept")
    mapper.resynchronise()  // paused: 60004…60099 never sent
    #expect(mapper.map(60100) == 5004, "no hole after a pause")
    #expect(mapper.map(65535) == 10439)
    #expect(mapper.map(0) == 10440, "wraps with the source")
    let random = SequenceMapper()
    var copy = random
    #expect((1000...32767).contains(copy.map(1)))
  }
}
