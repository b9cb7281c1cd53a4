internal import CSRTP
internal import CSRTPCrypto

/// One direction of SRTP/SRTCP protection through libsrtp2 (media-worker spec §4.4): an outbound
/// session protects what a transport sends, an inbound one unprotects what it receives. Any SSRC,
/// replay window 1 024, repeated sends allowed (NACK retransmissions). In-place on a caller's
/// buffer with room for the tag; no allocation per packet.
public final class SrtpSession {
  public enum Direction: Sendable { case inbound, outbound }

  public enum SrtpError: Error, Equatable {
    /// libsrtp failed to initialise (`srtp_init`, which runs the ciphers' self-tests).
    case library(Int32)
    case setup(Int32)
    case rejected(Int32)
    case noRoom
  }

  /// The most bytes protection adds: the auth tag (16 for GCM, 10 for HMAC-SHA1-80) plus the SRTCP
  /// index (4).
  public static let maximumOverhead = 16 + 4

  private var session: srtp_t?

  /// `srtp_init` answers bad_param when the library is already initialised in this process (its
  /// debug module is registered twice), which is as good as success. Then erizo's ciphers and MAC
  /// replace the library's (`CSRTPCrypto`: Debian's libsrtp2 is built on NSS, which allocates per
  /// packet); if their self-tests failed the library's own stay, still correct, only slower.
  private static let initialised: Int32 = {
    let status = srtp_init()
    guard status == srtp_err_status_ok || status == srtp_err_status_bad_param else { return Int32(status.rawValue) }
    _ = erizo_srtp_crypto_install()
    return Int32(srtp_err_status_ok.rawValue)
  }()

  /// Which primitives protect packets: erizo's on OpenSSL, or libsrtp's built-in ones (when
  /// erizo's failed their self-tests at start).
  public static var cryptoBackend: String {
    _ = initialised
    return erizo_srtp_crypto_installed() == 1 ? "erizo-openssl" : "libsrtp"
  }

  public init(profile: SrtpProfile, key: [UInt8], direction: Direction) throws(SrtpError) {
    guard Self.initialised == Int32(srtp_err_status_ok.rawValue) else { throw .library(Self.initialised) }
    guard key.count == profile.masterLength else { throw .setup(-1) }
    var policy = srtp_policy_t()
    switch profile {
    case .aeadAes128Gcm:
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtp)
      srtp_crypto_policy_set_aes_gcm_128_16_auth(&policy.rtcp)
    case .aesCm128HmacSha1_80:
      srtp_crypto_policy_set_rtp_default(&policy.rtp)  // AES_CM_128_HMAC_SHA1_80
      srtp_crypto_policy_set_rtcp_default(&policy.rtcp)
    }
    policy.ssrc.type = direction == .inbound ? ssrc_any_inbound : ssrc_any_outbound
    policy.window_size = 1024
    policy.allow_repeat_tx = 1
    policy.next = nil
    var material = key
    let status = material.withUnsafeMutableBufferPointer { buffer -> srtp_err_status_t in
      policy.key = buffer.baseAddress
      return srtp_create(&session, &policy)
    }
    guard status == srtp_err_status_ok else { throw .setup(Int32(status.rawValue)) }
  }

  deinit {
    if let session { srtp_dealloc(session) }
  }

  /// Protects the RTP packet in `buffer[..<length]` in place; returns the new length. The buffer
  /// needs `maximumOverhead` spare bytes.
  public func protectRTP(_ buffer: UnsafeMutableRawBufferPointer, length: Int) throws(SrtpError) -> Int {
    try run(srtp_protect, buffer, length, growing: true)
  }

  /// Unprotects an SRTP packet in place; returns the plaintext length.
  public func unprotectRTP(_ buffer: UnsafeMutableRawBufferPointer, length: Int) throws(SrtpError) -> Int {
    try run(srtp_unprotect, buffer, length, growing: false)
  }

  public func protectRTCP(_ buffer: UnsafeMutableRawBufferPointer, length: Int) throws(SrtpError) -> Int {
    try run(srtp_protect_rtcp, buffer, length, growing: true)
  }

  public func unprotectRTCP(_ buffer: UnsafeMutableRawBufferPointer, length: Int) throws(SrtpError) -> Int {
    try run(srtp_unprotect_rtcp, buffer, length, growing: false)
  }

  /// One libsrtp call in place: the four share a signature (session, packet, in/out length).
  private func run(
    _ operation: (srtp_t?, UnsafeMutableRawPointer?, UnsafeMutablePointer<Int32>?) -> srtp_err_status_t,
    _ buffer: UnsafeMutableRawBufferPointer, _ length: Int, growing: Bool
  ) throws(SrtpError) -> Int {
    if growing, buffer.count < length + Self.maximumOverhead { throw .noRoom }
    var size = Int32(length)
    let status = operation(session, buffer.baseAddress, &size)
    guard status == srtp_err_status_ok else { throw .rejected(Int32(status.rawValue)) }
    return Int(size)
  }

  /// Forgets an outbound stream (a closing consumer), so the session does not grow without bound.
  public func removeStream(ssrc: UInt32) {
    _ = srtp_remove_stream(session, ssrc.bigEndian)
  }
}
