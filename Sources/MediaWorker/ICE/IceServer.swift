internal import ErizoCore

/// One path a transport's packets travel: a local socket and a remote address.
public struct TransportTuple: Hashable, Sendable {
  public enum TransportProtocol: String, Sendable { case udp, tcp }
  /// The socket the tuple's packets arrive on and leave by, as the I/O layer numbers them: the UDP
  /// socket, or the TCP connection.
  public var localSocket: Int
  /// The local port it was received on (for dumps and stats).
  public var localPort: UInt16
  public var remote: SocketAddress
  public var proto: TransportProtocol

  public init(localSocket: Int, localPort: UInt16 = 0, remote: SocketAddress, proto: TransportProtocol) {
    self.localSocket = localSocket
    self.localPort = localPort
    self.remote = remote
    self.proto = proto
  }
}

/// The ICE-lite side of a WebRtcTransport (RFC 8445 lite, RFC 7675 consent; media-worker spec
/// §4.2): it answers Binding requests, validates tuples, picks the selected one and tracks consent.
/// Sans-IO with an injected clock: the caller passes packets and the time in, and sends what comes
/// out.
public struct IceServer: Sendable {
  public enum State: String, Sendable { case new, connected, completed, disconnected }

  public enum Event: Equatable, Sendable {
    case stateChanged(State)
    case selectedTupleChanged(TransportTuple)
  }

  public static let maximumTuples = 8

  public private(set) var usernameFragment: String
  public private(set) var password: String
  /// The credentials before the last ICE restart, valid until a request uses the new ones.
  private var previous: (usernameFragment: String, password: String)?
  public private(set) var state = State.new
  public private(set) var tuples: [TransportTuple] = []
  public private(set) var selectedTuple: TransportTuple?
  /// 0 turns consent checking off.
  public var consentTimeout: Duration
  private var consentDeadline: ContinuousClock.Instant?
  private var lastNomination: UInt32 = 0

  public init(usernameFragment: String, password: String, consentTimeout: Duration = .seconds(30)) {
    self.usernameFragment = usernameFragment
    self.password = password
    self.consentTimeout = consentTimeout
  }

  /// 32 characters of `[0-9a-z]` from the CSPRNG (mediasoup uses a weak LCG here).
  public static func randomCredential(length: Int = 32) -> String {
    let alphabet = Array("0123456789abcdefghijklmnopqrstuvwxyz")
    var result = ""
    var pool: [UInt8] = []
    while result.count < length {
      if pool.isEmpty { pool = Crypto.randomBytes(64) }
      let byte = pool.removeLast()
      // Rejection sampling keeps the distribution uniform (252 = 7 × 36).
      if byte < 252 { result.append(alphabet[Int(byte) % 36]) }
    }
    return result
  }

  /// New local credentials (ICE restart). The old ones stay valid until the first request that
  /// uses the new ones.
  public mutating func restart(usernameFragment: String, password: String) {
    previous = (self.usernameFragment, self.password)
    self.usernameFragment = usernameFragment
    self.password = password
  }

  /// Handles a Binding request from `tuple`: the response to send back on it (if any) and what
  /// changed. Responses and indications are ignored (ICE-lite sends no checks).
  public mutating func handle(_ request: StunMessage, from tuple: TransportTuple, now: ContinuousClock.Instant)
    -> (response: [UInt8]?, events: [Event])
  {
    guard request.type.isRequest else { return (nil, []) }
    guard request.type == .bindingRequest else { return (error(request, 400, "Bad Request"), []) }
    guard request.fingerprintOffset != nil, request.priority != nil else {
      return (error(request, 400, "Bad Request"), [])
    }
    guard let key = credentialKey(for: request) else { return (error(request, 401, "Unauthorized"), []) }
    guard request.iceControlled == nil else { return (error(request, 487, "Role Conflict"), []) }

    var events: [Event] = []
    addTuple(tuple)
    if consentTimeout > .zero { consentDeadline = now + consentTimeout }
    let nominated: Bool
    if let nomination = request.nomination {
      // Chrome's renomination: a higher value moves the selection.
      nominated = nomination > lastNomination
      if nominated { lastNomination = nomination }
    } else {
      nominated = request.useCandidate
    }
    if nominated {
      if selectedTuple != tuple {
        selectedTuple = tuple
        events.append(.selectedTupleChanged(tuple))
      }
      if state != .completed {
        state = .completed
        events.append(.stateChanged(.completed))
      }
    } else if state == .new || state == .disconnected {
      if selectedTuple == nil {
        selectedTuple = tuple
        events.append(.selectedTupleChanged(tuple))
      }
      state = .connected
      events.append(.stateChanged(.connected))
    }

    var response = StunMessage(type: .bindingSuccess, transactionID: request.transactionID)
    response.xorMappedAddress = tuple.remote
    return (response.encoded(integrityKey: key), events)
  }

  /// DTLS, RTP or RTCP arrived on `tuple`. False when the tuple is not validated (drop the packet);
  /// a known tuple other than the selected one becomes selected (aggressive nomination).
  public mutating func dataReceived(on tuple: TransportTuple) -> (accepted: Bool, events: [Event]) {
    guard tuples.contains(tuple), state == .connected || state == .completed else { return (false, []) }
    guard selectedTuple != tuple else { return (true, []) }
    selectedTuple = tuple
    return (true, [.selectedTupleChanged(tuple)])
  }

  /// A TCP connection closed: its tuple goes; losing the last tuple disconnects.
  public mutating func removeTuple(_ tuple: TransportTuple) -> [Event] {
    guard let index = tuples.firstIndex(of: tuple) else { return [] }
    tuples.remove(at: index)
    guard selectedTuple == tuple else { return [] }
    if let next = tuples.first {
      selectedTuple = next
      return [.selectedTupleChanged(next)]
    }
    selectedTuple = nil
    state = .disconnected
    return [.stateChanged(.disconnected)]
  }

  /// Checks consent: when no valid request came within the timeout, every tuple is dropped and the
  /// state becomes disconnected.
  public mutating func tick(now: ContinuousClock.Instant) -> [Event] {
    guard let consentDeadline, now >= consentDeadline, state == .connected || state == .completed else { return [] }
    self.consentDeadline = nil
    tuples.removeAll()
    selectedTuple = nil
    state = .disconnected
    return [.stateChanged(.disconnected)]
  }

  /// The password to check integrity with, when USERNAME names our current (or, until used, the
  /// previous) fragment and MESSAGE-INTEGRITY matches.
  private mutating func credentialKey(for request: StunMessage) -> [UInt8]? {
    guard let username = request.username, let colon = username.firstIndex(of: ":") else { return nil }
    let local = String(username[..<colon])
    if local == usernameFragment, request.hasValidIntegrity(key: Array(password.utf8)) {
      previous = nil
      return Array(password.utf8)
    }
    if let previous, local == previous.usernameFragment, request.hasValidIntegrity(key: Array(previous.password.utf8)) {
      return Array(previous.password.utf8)
    }
    return nil
  }

  private mutating func addTuple(_ tuple: TransportTuple) {
    guard !tuples.contains(tuple) else { return }
    if tuples.count >= Self.maximumTuples,
      let oldest = tuples.firstIndex(where: { $0 != selectedTuple })
    {
      tuples.remove(at: oldest)
    }
    tuples.append(tuple)
  }

  private func error(_ request: StunMessage, _ code: Int, _ reason: String) -> [UInt8] {
    var response = StunMessage(type: .bindingError, transactionID: request.transactionID)
    response.errorCode = code
    response.errorReason = reason
    return response.encoded()
  }
}
