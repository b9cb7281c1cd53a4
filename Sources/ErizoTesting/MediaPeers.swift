public import ErizoCore
public import MediaWorker

/// Sockets in memory: what the engine sends is collected per remote address.
public final class MemorySockets: MediaSockets {
  public var nextSocket = 100
  public var sent: [SocketAddress: [[UInt8]]] = [:]
  public var closed: [Int] = []
  /// The socket the last packet to each address went out on.
  public var sentSockets: [SocketAddress: Int] = [:]
  /// Keep nothing, only count (benchmarks).
  public var discard = false
  public private(set) var sentCount = 0
  public let sendDrops = 0

  public init() {}

  public func openUDP(ip: String, minPort: Int, maxPort: Int) -> (socket: Int, port: UInt16)? {
    open(minPort: minPort, maxPort: maxPort)
  }

  public func openTCP(ip: String, minPort: Int, maxPort: Int) -> (socket: Int, port: UInt16)? {
    open(minPort: minPort, maxPort: maxPort)
  }

  /// A new socket number, bound to a port of the range.
  private func open(minPort: Int, maxPort: Int) -> (socket: Int, port: UInt16) {
    nextSocket += 1
    return (nextSocket, UInt16(minPort + nextSocket % (maxPort - minPort + 1)))
  }

  public func send(socket: Int, to address: SocketAddress, bytes: UnsafeRawBufferPointer) {
    sentCount += 1
    if !discard { sentSockets[address] = socket }
    if !discard { sent[address, default: []].append(Array(bytes)) }
  }

  public func close(socket: Int) { closed.append(socket) }

  public func take(_ address: SocketAddress) -> [[UInt8]] {
    defer { sent[address] = [] }
    return sent[address] ?? []
  }
}

/// A WebRTC endpoint made of the worker's own engines (ICE controlling side, DTLS client, SRTP),
/// talking to a transport of the engine through `MemorySockets`.
public final class LoopbackPeer {
  public let address: SocketAddress
  public let socket: Int
  let dtls: DtlsSession
  let context: DtlsContext
  public private(set) var srtpOut: SrtpSession?
  public private(set) var srtpIn: SrtpSession?
  public let transportID: String

  public init(port: UInt16, socket: Int, transportID: String, context: DtlsContext) throws {
    address = .ipv4([127, 0, 0, 1], port: port)
    self.socket = socket
    self.transportID = transportID
    self.context = context
    dtls = try DtlsSession(context: context)
  }

  public var dtlsParameters: JSONValue {
    [
      "role": "client",
      "fingerprints": [["algorithm": "sha-256", "value": .string(context.fingerprints[2].value)]],
    ]
  }

  /// ICE (one nominating Binding request) then the DTLS handshake, pumping packets both ways.
  public func connect(_ engine: MediaEngine, _ sockets: MemorySockets, transport dump: JSONValue) throws {
    guard let ufrag = dump["iceParameters"]?["usernameFragment"]?.stringValue,
      let password = dump["iceParameters"]?["password"]?.stringValue,
      let fingerprint = dump["dtlsParameters"]?["fingerprints"]?.arrayValue?.first(where: {
        $0["algorithm"] == "sha-256"
      })?["value"]?.stringValue
    else { throw ConformanceFailure(description: "not a transport dump: \(dump)") }
    var request = StunMessage(type: .bindingRequest, transactionID: Crypto.randomBytes(12))
    request.username = "\(ufrag):peer"
    request.priority = 1
    request.useCandidate = true
    request.iceControlling = 7
    deliver(request.encoded(integrityKey: Array(password.utf8)), to: engine)
    guard let reply = sockets.take(address).first, let answer = try? StunMessage(parsing: reply),
      answer.type == .bindingSuccess, answer.xorMappedAddress == address
    else { throw ConformanceFailure(description: "no Binding success") }
    _ = dtls.setRemoteFingerprint(algorithm: "sha-256", value: fingerprint)
    var outgoing = dtls.start(role: .client).outgoing
    for _ in 0..<10 {
      for datagram in outgoing { deliver(datagram, to: engine) }
      outgoing = []
      for datagram in sockets.take(address) {
        let result = datagram.withUnsafeBytes { dtls.receive($0) }
        outgoing += result.outgoing
        for case .connected(let keys) in result.events {
          srtpOut = try SrtpSession(profile: keys.profile, key: keys.local, direction: .outbound)
          srtpIn = try SrtpSession(profile: keys.profile, key: keys.remote, direction: .inbound)
        }
      }
      if srtpOut != nil && outgoing.isEmpty { break }
    }
    for datagram in outgoing { deliver(datagram, to: engine) }
    guard srtpOut != nil else { throw ConformanceFailure(description: "DTLS did not connect") }
  }

  public func deliver(_ datagram: [UInt8], to engine: MediaEngine) {
    var copy = datagram
    copy.withUnsafeMutableBytes { engine.receive(socket: socket, from: address, packet: $0, now: .now) }
  }

  /// Sends an RTP packet through SRTP.
  public func sendRtp(_ packet: [UInt8], to engine: MediaEngine) throws {
    var buffer = packet + [UInt8](repeating: 0, count: SrtpSession.maximumOverhead)
    let length = try buffer.withUnsafeMutableBytes { try srtpOut!.protectRTP($0, length: packet.count) }
    deliver(Array(buffer[..<length]), to: engine)
  }

  public func sendRtcp(_ packet: [UInt8], to engine: MediaEngine) throws {
    var buffer = packet + [UInt8](repeating: 0, count: SrtpSession.maximumOverhead)
    let length = try buffer.withUnsafeMutableBytes { try srtpOut!.protectRTCP($0, length: packet.count) }
    deliver(Array(buffer[..<length]), to: engine)
  }

  /// Unprotects what the engine sent: RTP packets and RTCP compounds.
  public func received(_ sockets: MemorySockets) -> (rtp: [[UInt8]], rtcp: [[UInt8]]) {
    var rtp: [[UInt8]] = []
    var rtcp: [[UInt8]] = []
    for var datagram in sockets.take(address) {
      let isRtcp = datagram.withUnsafeBytes { Rtcp.looksLikeRtcp($0) }
      let length = datagram.withUnsafeMutableBytes { buffer in
        isRtcp
          ? try? srtpIn?.unprotectRTCP(buffer, length: buffer.count)
          : try? srtpIn?.unprotectRTP(buffer, length: buffer.count)
      }
      guard let length else { continue }
      if isRtcp { rtcp.append(Array(datagram[..<length])) } else { rtp.append(Array(datagram[..<length])) }
    }
    return (rtp, rtcp)
  }
}
