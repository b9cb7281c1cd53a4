internal import COpenSSL
public import ErizoCore

/// The worker's DTLS identity and settings (media-worker spec §4.3): one generated EC P-256
/// certificate, its fingerprints in every algorithm WebRTC uses, and one `SSL_CTX` that every
/// transport's session is made from.
public final class DtlsContext: @unchecked Sendable {
  // Immutable after init; OpenSSL's SSL_CTX is safe to share once configured.
  let context: OpaquePointer
  let certificate: OpaquePointer
  let key: OpaquePointer
  /// `(algorithm, value)` pairs, value in upper-case hex with colons, as in SDP and mediasoup.
  public let fingerprints: [(algorithm: String, value: String)]

  /// The SRTP profiles offered in `use_srtp`, most preferred first.
  public static let srtpProfiles = "SRTP_AEAD_AES_128_GCM:SRTP_AES128_CM_SHA1_80"
  public static let fingerprintAlgorithms = ["sha-1", "sha-224", "sha-256", "sha-384", "sha-512"]

  public init() throws(ErizoError) {
    var keyPointer: OpaquePointer?
    var certificatePointer: OpaquePointer?
    let commonName = "mediasoup\(Int.random(in: 100_000...999_999))"
    guard erizo_generate_certificate(&keyPointer, &certificatePointer, commonName) == 1, let keyPointer,
      let certificatePointer
    else { throw ErizoError(.workerUnavailable, "cannot generate the DTLS certificate: \(Self.lastError())") }
    key = keyPointer
    certificate = certificatePointer
    guard let context = SSL_CTX_new(DTLS_method()) else {
      X509_free(certificate)
      EVP_PKEY_free(key)
      throw ErizoError(.workerUnavailable, "SSL_CTX_new failed: \(Self.lastError())")
    }
    self.context = context
    fingerprints = Self.fingerprintAlgorithms.compactMap { algorithm in
      Self.fingerprint(of: certificatePointer, algorithm: algorithm).map { (algorithm, $0) }
    }
    let options =
      erizo_SSL_OP_CIPHER_SERVER_PREFERENCE() | erizo_SSL_OP_NO_TICKET() | erizo_SSL_OP_SINGLE_ECDH_USE()
      | erizo_SSL_OP_NO_QUERY_MTU()
    SSL_CTX_set_options(context, options)
    _ = erizo_SSL_CTX_disable_session_cache(context)
    _ = erizo_SSL_CTX_set_read_ahead(context, 1)
    _ = erizo_SSL_CTX_set_min_proto_version(context, erizo_DTLS1_2_VERSION())
    guard SSL_CTX_use_certificate(context, certificate) == 1, SSL_CTX_use_PrivateKey(context, key) == 1,
      SSL_CTX_check_private_key(context) == 1,
      SSL_CTX_set_cipher_list(context, "DEFAULT:!NULL:!aNULL:!SHA256:!SHA384:!aECDH:!AESGCM+AES256:!aPSK") == 1,
      // Unlike everything else in OpenSSL, 0 means success here.
      SSL_CTX_set_tlsext_use_srtp(context, Self.srtpProfiles) == 0
    else { throw ErizoError(.workerUnavailable, "cannot configure DTLS: \(Self.lastError())") }
    erizo_SSL_CTX_require_peer_certificate(context)
  }

  deinit {
    SSL_CTX_free(context)
    X509_free(certificate)
    EVP_PKEY_free(key)
  }

  /// The fingerprint of a certificate in one algorithm, `AB:CD:…`; nil for an unknown algorithm.
  static func fingerprint(of certificate: OpaquePointer, algorithm: String) -> String? {
    let digest: OpaquePointer?
    switch algorithm.lowercased() {
    case "sha-1": digest = EVP_sha1()
    case "sha-224": digest = EVP_sha224()
    case "sha-256": digest = EVP_sha256()
    case "sha-384": digest = EVP_sha384()
    case "sha-512": digest = EVP_sha512()
    default: digest = nil
    }
    guard let digest else { return nil }
    var bytes = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
    var length: UInt32 = 0
    guard X509_digest(certificate, digest, &bytes, &length) == 1 else { return nil }
    let hex = Array("0123456789ABCDEF")
    return bytes.prefix(Int(length)).map { "\(hex[Int($0 >> 4)])\(hex[Int($0 & 0xF)])" }.joined(separator: ":")
  }

  static func lastError() -> String {
    let code = ERR_get_error()
    guard code != 0 else { return "unknown OpenSSL error" }
    var buffer = [CChar](repeating: 0, count: 256)
    ERR_error_string_n(code, &buffer, buffer.count)
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
  }
}
