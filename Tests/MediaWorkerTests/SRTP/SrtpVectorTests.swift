import Testing

@testable import MediaWorker

/// SRTP and SRTCP packets protected by an independent libsrtp build (pylibsrtp's, on OpenSSL; see
/// Fixtures/make_srtp_vectors.py), which ours — libsrtp with erizo's primitives (`CSRTPCrypto`) —
/// must reproduce byte for byte and read back.
@Suite("SRTP known answers")
struct SrtpVectorTests {
  struct Vector: Sendable, CustomTestStringConvertible {
    let profile: SrtpProfile
    let key: String
    let srtp: String
    let srtcp: String
    var testDescription: String { "\(profile)" }
  }

  /// RTP: V=2, PT 96, sequence 0x1234, timestamp 0xDEADBEEF, SSRC 0x11223344, payload 00 01 … 27.
  static let rtp: [UInt8] =
    [0x80, 0x60, 0x12, 0x34, 0xDE, 0xAD, 0xBE, 0xEF, 0x11, 0x22, 0x33, 0x44] + (0..<40).map { UInt8($0) }
  /// RTCP: an empty receiver report from SSRC 0x11223344.
  static let rtcp: [UInt8] = [0x80, 0xC9, 0x00, 0x01, 0x11, 0x22, 0x33, 0x44]

  static let vectors = [
    Vector(
      profile: .aesCm128HmacSha1_80,
      key: "01080f161d242b323940474e555c636a" + "71787f868d949ba2a9b0b7bec5cc",  // master key, master salt
      // header (clear) | 40 encrypted bytes | 10-byte HMAC-SHA1-80 tag
      srtp: "80601234deadbeef11223344"
        + "95c8abb82eb0470eb8ab274b0be66a166ddc02a24a8a4dbbe5d42716ec3c0de2988aa158fe1a5fd4"
        + "859062106511fc982c86",
      // header | E=1, index 1 | tag
      srtcp: "80c9000111223344" + "80000001" + "61ea2b65d514350a1d09"),
    Vector(
      profile: .aeadAes128Gcm,
      key: "01080f161d242b323940474e555c636a" + "71787f868d949ba2a9b0b7be",  // master key, 12-byte salt
      // header (clear, authenticated) | 40 encrypted bytes | 16-byte GCM tag
      srtp: "80601234deadbeef11223344"
        + "72699e2da69f01b0e6fda00453fa41793146e715a96a0e4d0b3400facc2c6d2a9104df3df5a7f3d4"
        + "92fa911fee1d5f507bad95dc59cf76b9",
      // header | tag | E=1, index 1 (RFC 7714: the index follows the tag)
      srtcp: "80c9000111223344" + "b506e8aeda1316239ceede876e3a2928" + "80000001"),
  ]

  static func bytes(_ hex: String) -> [UInt8] {
    var result: [UInt8] = []
    var characters = hex.makeIterator()
    while let high = characters.next(), let low = characters.next() {
      result.append(UInt8(String([high, low]), radix: 16)!)
    }
    return result
  }

  @Test(arguments: vectors)
  func protectsAsAnotherLibsrtpDoesAndReadsItBack(vector: Vector) throws {
    let key = Self.bytes(vector.key)
    let sender = try SrtpSession(profile: vector.profile, key: key, direction: .outbound)
    let receiver = try SrtpSession(profile: vector.profile, key: key, direction: .inbound)
    #expect(SrtpSession.cryptoBackend == "erizo-openssl", "erizo's primitives passed libsrtp's self-tests")

    var packet = Self.rtp + [UInt8](repeating: 0, count: SrtpSession.maximumOverhead)
    let protected = try packet.withUnsafeMutableBytes { try sender.protectRTP($0, length: Self.rtp.count) }
    #expect(Array(packet[..<protected]) == Self.bytes(vector.srtp))
    var incoming = Self.bytes(vector.srtp)
    let plain = try incoming.withUnsafeMutableBytes { try receiver.unprotectRTP($0, length: $0.count) }
    #expect(Array(incoming[..<plain]) == Self.rtp)

    var report = Self.rtcp + [UInt8](repeating: 0, count: SrtpSession.maximumOverhead)
    let protectedReport = try report.withUnsafeMutableBytes { try sender.protectRTCP($0, length: Self.rtcp.count) }
    #expect(Array(report[..<protectedReport]) == Self.bytes(vector.srtcp))
    var incomingReport = Self.bytes(vector.srtcp)
    let plainReport = try incomingReport.withUnsafeMutableBytes { try receiver.unprotectRTCP($0, length: $0.count) }
    #expect(Array(incomingReport[..<plainReport]) == Self.rtcp)

    // One flipped bit anywhere after the header fails authentication.
    var tampered = Self.bytes(vector.srtp)
    tampered[20] ^= 0x01
    let fresh = try SrtpSession(profile: vector.profile, key: key, direction: .inbound)
    #expect(throws: SrtpSession.SrtpError.self) {
      try tampered.withUnsafeMutableBytes { try fresh.unprotectRTP($0, length: $0.count) }
    }
  }
}
