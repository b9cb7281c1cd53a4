internal import COpenSSL
internal import Glibc

/// An SRTP protection profile negotiated through DTLS `use_srtp` (RFC 5764, RFC 7714).
public enum SrtpProfile: String, Sendable, CaseIterable {
  case aeadAes128Gcm = "AEAD_AES_128_GCM"
  case aesCm128HmacSha1_80 = "AES_CM_128_HMAC_SHA1_80"

  /// The id in the `use_srtp` extension.
  var protectionProfileID: UInt {
    switch self {
    case .aeadAes128Gcm: 0x0007
    case .aesCm128HmacSha1_80: 0x0001
    }
  }
  public var keyLength: Int { 16 }
  public var saltLength: Int { self == .aeadAes128Gcm ? 12 : 14 }
  /// Master key followed by master salt.
  public var masterLength: Int { keyLength + saltLength }
}

/// One transport's DTLS 1.2 endpoint over OpenSSL memory BIOs (media-worker spec §4.3). Sans-IO:
/// records go in, datagrams to send come out, and the caller runs the retransmission timer with
/// `timeout()`/`handleTimeout()`. Owned by the worker's loop thread.
public final class DtlsSession {
  public enum Role: String, Sendable { case auto, client, server }
  public enum State: String, Sendable { case new, connecting, connected, failed, closed }

  /// The SRTP keys the handshake exported: ours protect what we send, the remote ones unprotect
  /// what we receive. Each is master key ‖ master salt.
  public struct SrtpKeys: Sendable, Equatable {
    public let profile: SrtpProfile
    public let local: [UInt8]
    public let remote: [UInt8]
  }

  public enum Event: Equatable {
    case connected(SrtpKeys)
    case failed(String)
    case closed
    case applicationData([UInt8])
  }

  public static let mtu = 1350

  private let ssl: OpaquePointer
  private let incoming: OpaquePointer
  private let outgoing: OpaquePointer
  public private(set) var role: Role?
  public private(set) var state = State.new
  private var remoteFingerprint: (algorithm: String, value: String)?
  private var handshakeDone = false
  private var keys: SrtpKeys?
  private var scratch = [UInt8](repeating: 0, count: 65_536)

  public init(context: DtlsContext) throws(DtlsError) {
    guard let ssl = SSL_new(context.context) else { throw .setup(DtlsContext.lastError()) }
    guard let incoming = BIO_new(BIO_s_mem()), let outgoing = BIO_new(BIO_s_mem()) else {
      SSL_free(ssl)
      throw .setup("BIO_new failed")
    }
    // An empty memory BIO means "no data yet", not end of file.
    _ = erizo_BIO_set_mem_eof_return(incoming, -1)
    _ = erizo_BIO_set_mem_eof_return(outgoing, -1)
    SSL_set_bio(ssl, incoming, outgoing)
    _ = erizo_SSL_set_mtu(ssl, Self.mtu)
    _ = erizo_DTLS_set_link_mtu(ssl, Self.mtu)
    erizo_SSL_use_fast_dtls_timer(ssl)
    self.ssl = ssl
    self.incoming = incoming
    self.outgoing = outgoing
  }

  deinit { SSL_free(ssl) }  // frees both BIOs

  public enum DtlsError: Error, Equatable {
    case setup(String)
  }

  /// Starts the handshake in `role` (client or server; resolve `auto` before). The client's first
  /// flight comes back to send.
  public func start(role: Role) -> (outgoing: [[UInt8]], events: [Event]) {
    precondition(role != .auto, "resolve the auto role before starting DTLS")
    guard state == .new else { return ([], []) }
    self.role = role
    state = .connecting
    if role == .client { SSL_set_connect_state(ssl) } else { SSL_set_accept_state(ssl) }
    return advance()
  }

  /// The remote fingerprint from signalling (`connect()`); checked now if the handshake is done.
  public func setRemoteFingerprint(algorithm: String, value: String) -> [Event] {
    remoteFingerprint = (algorithm.lowercased(), value.uppercased())
    return handshakeDone && keys == nil ? finishHandshake() : []
  }

  /// A DTLS record (or several) from the network.
  public func receive(_ record: UnsafeRawBufferPointer) -> (outgoing: [[UInt8]], events: [Event]) {
    guard state == .connecting || state == .connected else { return ([], []) }
    _ = BIO_write(incoming, record.baseAddress, Int32(record.count))
    return advance()
  }

  /// How long until the retransmission timer fires; nil when no timer runs.
  public func timeout() -> Duration? {
    guard state == .connecting else { return nil }
    var value = timeval()
    guard erizo_DTLSv1_get_timeout(ssl, &value) == 1 else { return nil }
    return .seconds(value.tv_sec) + .microseconds(value.tv_usec)
  }

  /// The timer fired: retransmits the last flight, or fails the handshake when OpenSSL gives up.
  public func handleTimeout() -> (outgoing: [[UInt8]], events: [Event]) {
    guard state == .connecting else { return ([], []) }
    if erizo_DTLSv1_handle_timeout(ssl) < 0 { return fail("DTLS handshake timed out") }
    return (drainOutgoing(), [])
  }

  /// Sends close_notify.
  public func close() -> [[UInt8]] {
    guard state == .connected || state == .connecting else { return [] }
    SSL_shutdown(ssl)
    state = .closed
    return drainOutgoing()
  }

  /// Application data (SCTP) to send once connected.
  public func send(_ data: [UInt8]) -> [[UInt8]] {
    guard state == .connected else { return [] }
    _ = data.withUnsafeBytes { SSL_write(ssl, $0.baseAddress, Int32($0.count)) }
    return drainOutgoing()
  }

  private func advance() -> (outgoing: [[UInt8]], events: [Event]) {
    var events: [Event] = []
    if !handshakeDone {
      let result = SSL_do_handshake(ssl)
      if result == 1 {
        handshakeDone = true
        events += finishHandshake()
      } else {
        let error = SSL_get_error(ssl, result)
        if error != SSL_ERROR_WANT_READ && error != SSL_ERROR_WANT_WRITE {
          let failure = fail("DTLS handshake failed: \(DtlsContext.lastError())")
          return (drainOutgoing() + failure.outgoing, failure.events)
        }
      }
    }
    if handshakeDone {
      // Application data and alerts after the handshake.
      while true {
        let count = scratch.withUnsafeMutableBytes { SSL_read(ssl, $0.baseAddress, Int32($0.count)) }
        if count > 0 {
          events.append(.applicationData(Array(scratch[..<Int(count)])))
          continue
        }
        if SSL_get_error(ssl, count) == SSL_ERROR_ZERO_RETURN || SSL_get_shutdown(ssl) & SSL_RECEIVED_SHUTDOWN != 0 {
          if state != .closed {
            state = .closed
            events.append(.closed)
          }
        }
        break
      }
    }
    return (drainOutgoing(), events)
  }

  /// After the handshake: the peer's certificate must match the signalled fingerprint (possibly
  /// still to come), then the SRTP keys are exported.
  private func finishHandshake() -> [Event] {
    guard let remoteFingerprint else { return [] }
    guard let certificate = SSL_get1_peer_certificate(ssl) else { return fail("the peer sent no certificate").events }
    defer { X509_free(certificate) }
    guard let actual = DtlsContext.fingerprint(of: certificate, algorithm: remoteFingerprint.algorithm),
      actual == remoteFingerprint.value
    else { return fail("the peer's certificate does not match its fingerprint").events }
    guard let selected = SSL_get_selected_srtp_profile(ssl),
      let profile = SrtpProfile.allCases.first(where: { $0.protectionProfileID == selected.pointee.id })
    else { return fail("no SRTP profile was negotiated").events }
    var material = [UInt8](repeating: 0, count: 2 * profile.masterLength)
    let label = "EXTRACTOR-dtls_srtp"
    guard SSL_export_keying_material(ssl, &material, material.count, label, label.utf8.count, nil, 0, 0) == 1 else {
      return fail("cannot export the SRTP keys").events
    }
    // client key | server key | client salt | server salt
    let k = profile.keyLength
    let s = profile.saltLength
    let clientKey = Array(material[0..<k]) + Array(material[2 * k..<2 * k + s])
    let serverKey = Array(material[k..<2 * k]) + Array(material[2 * k + s..<2 * k + 2 * s])
    let exported =
      role == .client
      ? SrtpKeys(profile: profile, local: clientKey, remote: serverKey)
      : SrtpKeys(profile: profile, local: serverKey, remote: clientKey)
    keys = exported
    state = .connected
    return [.connected(exported)]
  }

  private func fail(_ reason: String) -> (outgoing: [[UInt8]], events: [Event]) {
    guard state != .failed else { return ([], []) }
    state = .failed
    return ([], [.failed(reason)])
  }

  /// Everything OpenSSL wrote, as one datagram (a flight's records fit the 1 350-byte MTU).
  private func drainOutgoing() -> [[UInt8]] {
    let pending = Int(erizo_BIO_ctrl_pending(outgoing))
    guard pending > 0 else { return [] }
    var datagram = [UInt8](repeating: 0, count: pending)
    let read = datagram.withUnsafeMutableBytes { BIO_read(outgoing, $0.baseAddress, Int32(pending)) }
    return read > 0 ? [Array(datagram[..<Int(read)])] : []
  }
}
