// COpenSSL: in some builds clang attributes timespec/timeval (from <sys/time.h>) to it.
internal import COpenSSL
internal import ErizoCore
internal import Glibc

/// One local address a transport can be reached on: a UDP socket or a passive TCP listener, and
/// the ICE candidate it is announced as.
struct LocalEndpoint {
  let proto: TransportTuple.TransportProtocol
  /// The UDP socket, or the TCP listening socket.
  let socket: Int
  let ip: String
  let announcedIP: String?
  let port: UInt16

  /// Host candidate priority (media-worker spec §4.2): type preference 64, local preference 10 000
  /// less 100 per earlier endpoint, plus 1 000 for the preferred protocol, component 1.
  static func priority(index: Int, proto: TransportTuple.TransportProtocol, preferUdp: Bool, preferTcp: Bool) -> Int {
    var local = 10_000 - 100 * index
    if (proto == .udp && preferUdp) || (proto == .tcp && preferTcp) { local += 1_000 }
    return (1 << 24) * 64 + (1 << 8) * local + 255
  }

  func candidate(priority: Int) -> JSONValue {
    var fields: [String: JSONValue] = [
      "foundation": .string(proto == .udp ? "udpcandidate" : "tcpcandidate"), "priority": .int(priority),
      "ip": .string(announcedIP ?? ip), "address": .string(announcedIP ?? ip), "protocol": .string(proto.rawValue),
      "port": .int(Int(port)), "type": "host",
    ]
    if proto == .tcp { fields["tcpType"] = "passive" }
    return .object(fields)
  }

  var json: JSONValue { ["ip": .string(ip), "port": .int(Int(port))] }
}

/// A WebRtcTransport (media-worker spec §1, §4): its UDP sockets and TCP listeners (its own, or
/// its WebRtcServer's), ICE-lite, DTLS, SRTP, and the producers and consumers on it. Everything
/// runs on the worker's loop thread.
final class WebRtcTransport {
  let id: String
  let routerID: String
  /// Where ICE candidates point, in order of preference, with their priorities.
  let endpoints: [LocalEndpoint]
  let priorities: [Int]
  /// The worker's shared single-port server this transport lives on, if any (mediasoup's
  /// WebRtcServer); it owns the sockets then.
  let server: WebRtcServer?
  var ice: IceServer
  let dtls: DtlsSession
  var dtlsRole = DtlsSession.Role.auto
  var remoteRoleKnown = false
  var srtpIn: SrtpSession?
  var srtpOut: SrtpSession?
  var producers: [String: Producer] = [:]
  var consumers: [String: Consumer] = [:]
  var consumersBySSRC: [UInt32: Consumer] = [:]
  var bytesReceived = 0
  var bytesSent = 0
  var lastReport = ContinuousClock.now
  /// Transport-wide congestion control towards publishers: the extension id their packets carry
  /// the sequence number in (0: none negotiated), the arrivals, and when feedback is next due.
  var transportCcExtensionID: UInt8 = 0
  var transportCc: TransportCcReceiver?
  var nextTransportCcFeedback = ContinuousClock.now
  /// The cap `setMaxIncomingBitrate` set (0: none), sent to transport-cc publishers as REMB.
  var maxIncomingBitrate = 0
  var maxOutgoingBitrate = 0
  var minOutgoingBitrate = 0
  var lastRemb: ContinuousClock.Instant?
  /// The transport-wide sequence number of the next RTP packet sent, for subscribers that
  /// negotiated the extension.
  var nextTransportSequence = UInt16.random(in: 0...UInt16.max)

  init(
    id: String, routerID: String, endpoints: [LocalEndpoint], priorities: [Int], dtls: DtlsSession,
    consentTimeout: Duration, server: WebRtcServer? = nil
  ) {
    self.server = server
    self.id = id
    self.routerID = routerID
    self.endpoints = endpoints
    self.priorities = priorities
    self.dtls = dtls
    ice = IceServer(
      usernameFragment: IceServer.randomCredential(), password: IceServer.randomCredential(),
      consentTimeout: consentTimeout)
  }

  var iceParameters: JSONValue {
    ["usernameFragment": .string(ice.usernameFragment), "password": .string(ice.password), "iceLite": true]
  }

  var iceCandidates: JSONValue {
    .array(zip(endpoints, priorities).map { $0.candidate(priority: $1) })
  }

  func dump(fingerprints: [(algorithm: String, value: String)]) -> JSONValue {
    [
      "id": .string(id), "direct": false, "iceRole": "controlled", "iceParameters": iceParameters,
      "iceCandidates": iceCandidates, "iceState": .string(ice.state.rawValue),
      "iceSelectedTuple": ice.selectedTuple.map(tupleJSON) ?? .null,
      "dtlsParameters": [
        "role": .string(dtlsRole.rawValue),
        "fingerprints": .array(
          fingerprints.map { ["algorithm": .string($0.algorithm), "value": .string($0.value)] }),
      ],
      "dtlsState": .string(dtls.state.rawValue),
      "producerIds": .array(producers.keys.sorted().map(JSONValue.string)),
      "consumerIds": .array(consumers.keys.sorted().map(JSONValue.string)),
    ]
  }

  func stats() -> JSONValue {
    [
      [
        "type": "webrtc-transport", "transportId": .string(id), "timestamp": .int(Int(WorkerClock.milliseconds())),
        "iceRole": "controlled", "iceState": .string(ice.state.rawValue),
        "iceSelectedTuple": ice.selectedTuple.map(tupleJSON) ?? .null,
        "dtlsState": .string(dtls.state.rawValue), "bytesReceived": .int(bytesReceived), "bytesSent": .int(bytesSent),
        "maxIncomingBitrate": maxIncomingBitrate > 0 ? .int(maxIncomingBitrate) : .null,
        "maxOutgoingBitrate": maxOutgoingBitrate > 0 ? .int(maxOutgoingBitrate) : .null,
        "minOutgoingBitrate": minOutgoingBitrate > 0 ? .int(minOutgoingBitrate) : .null,
        "transportCcFeedbackPackets": transportCc.map { .int($0.feedbackPackets) } ?? .null,
      ]
    ]
  }

  func tupleJSON(_ tuple: TransportTuple) -> JSONValue {
    let local = endpoints.first { $0.port == tuple.localPort && $0.proto == tuple.proto }
    return [
      "localIp": .string(local.map { $0.announcedIP ?? $0.ip } ?? ""), "localPort": .int(Int(tuple.localPort)),
      "remoteIp": .string(tuple.remote.ip), "remotePort": .int(Int(tuple.remote.port)),
      "protocol": .string(tuple.proto.rawValue),
    ]
  }
}

/// UDP sockets and TCP listeners shared by many WebRtcTransports of a worker (single-port mode;
/// mediasoup's WebRtcServer): STUN finds its transport by the local ICE username fragment; other
/// UDP datagrams by the remote address ICE validated, and TCP by the connection ICE validated.
final class WebRtcServer {
  let id: String
  let endpoints: [LocalEndpoint]
  var transportsByFragment: [String: WebRtcTransport] = [:]
  var transportsByRemote: [SocketAddress: WebRtcTransport] = [:]

  init(id: String, endpoints: [LocalEndpoint]) {
    self.id = id
    self.endpoints = endpoints
  }

  /// Forgets a transport (closed): its fragments and its remote addresses.
  func remove(_ transport: WebRtcTransport) {
    transportsByFragment = transportsByFragment.filter { $0.value !== transport }
    transportsByRemote = transportsByRemote.filter { $0.value !== transport }
  }

  var dump: JSONValue {
    [
      "id": .string(id),
      "udpSockets": .array(endpoints.filter { $0.proto == .udp }.map(\.json)),
      "tcpServers": .array(endpoints.filter { $0.proto == .tcp }.map(\.json)),
      "webRtcTransportIds": .array(Set(transportsByFragment.values.map(\.id)).sorted().map(JSONValue.string)),
      "localIceUsernameFragments": .array(transportsByFragment.keys.sorted().map(JSONValue.string)),
    ]
  }
}

/// Wall-clock milliseconds, for stats timestamps.
enum WorkerClock {
  static func milliseconds() -> Int64 {
    var spec = timespec()
    clock_gettime(CLOCK_REALTIME, &spec)
    return Int64(spec.tv_sec) * 1000 + Int64(spec.tv_nsec) / 1_000_000
  }

  /// NTP time (RFC 3550 §4): seconds since 1900 in the high 32 bits, the fraction in the low.
  static func ntp() -> UInt64 {
    var spec = timespec()
    clock_gettime(CLOCK_REALTIME, &spec)
    let seconds = UInt64(spec.tv_sec) + 2_208_988_800
    let fraction = UInt64(spec.tv_nsec) * (1 << 32) / 1_000_000_000
    return seconds << 32 | fraction
  }
}
