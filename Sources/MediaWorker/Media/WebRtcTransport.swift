// COpenSSL: in some builds clang attributes timespec/timeval (from <sys/time.h>) to it.
internal import COpenSSL
internal import ErizoCore
internal import Glibc

/// A WebRtcTransport (media-worker spec §1, §4): one UDP socket, ICE-lite, DTLS, SRTP, and the
/// producers and consumers on it. Everything runs on the worker's loop thread.
final class WebRtcTransport {
  let id: String
  let routerID: String
  let socket: Int
  let ip: String
  let announcedIP: String?
  let port: UInt16
  /// The worker's shared single-port server this transport lives on, if any (mediasoup's
  /// WebRtcServer); it owns the socket then.
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

  init(
    id: String, routerID: String, socket: Int, ip: String, announcedIP: String?, port: UInt16, dtls: DtlsSession,
    consentTimeout: Duration, server: WebRtcServer? = nil
  ) {
    self.server = server
    self.id = id
    self.routerID = routerID
    self.socket = socket
    self.ip = ip
    self.announcedIP = announcedIP
    self.port = port
    self.dtls = dtls
    ice = IceServer(
      usernameFragment: IceServer.randomCredential(), password: IceServer.randomCredential(),
      consentTimeout: consentTimeout)
  }

  var iceParameters: JSONValue {
    ["usernameFragment": .string(ice.usernameFragment), "password": .string(ice.password), "iceLite": true]
  }

  var iceCandidates: JSONValue {
    [
      [
        "foundation": "udpcandidate", "priority": .int(1_076_302_079), "ip": .string(announcedIP ?? ip),
        "address": .string(announcedIP ?? ip), "protocol": "udp", "port": .int(Int(port)), "type": "host",
      ]
    ]
  }

  func dump(fingerprints: [(algorithm: String, value: String)]) -> JSONValue {
    [
      "id": .string(id), "direct": false, "iceRole": "controlled", "iceParameters": iceParameters,
      "iceCandidates": iceCandidates, "iceState": .string(ice.state.rawValue),
      "iceSelectedTuple": ice.selectedTuple.map(Self.tupleJSON) ?? .null,
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
        "iceSelectedTuple": ice.selectedTuple.map(Self.tupleJSON) ?? .null,
        "dtlsState": .string(dtls.state.rawValue), "bytesReceived": .int(bytesReceived), "bytesSent": .int(bytesSent),
      ]
    ]
  }

  static func tupleJSON(_ tuple: TransportTuple) -> JSONValue {
    [
      "localPort": .int(tuple.localSocket), "remoteIp": .string(tuple.remote.ip),
      "remotePort": .int(Int(tuple.remote.port)), "protocol": .string(tuple.proto.rawValue),
    ]
  }
}

/// One UDP socket shared by many WebRtcTransports of a worker (single-port mode; mediasoup's
/// WebRtcServer): STUN finds its transport by the local ICE username fragment, everything else by
/// the remote address ICE validated.
final class WebRtcServer {
  let id: String
  let socket: Int
  let ip: String
  let announcedIP: String?
  let port: UInt16
  var transportsByFragment: [String: WebRtcTransport] = [:]
  var transportsByRemote: [SocketAddress: WebRtcTransport] = [:]

  init(id: String, socket: Int, ip: String, announcedIP: String?, port: UInt16) {
    self.id = id
    self.socket = socket
    self.ip = ip
    self.announcedIP = announcedIP
    self.port = port
  }

  /// Forgets a transport (closed): its fragments and its remote addresses.
  func remove(_ transport: WebRtcTransport) {
    transportsByFragment = transportsByFragment.filter { $0.value !== transport }
    transportsByRemote = transportsByRemote.filter { $0.value !== transport }
  }

  var dump: JSONValue {
    [
      "id": .string(id),
      "udpSockets": [["ip": .string(ip), "port": .int(Int(port))]],
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
