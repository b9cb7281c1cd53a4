public import ErizoCore
internal import Glibc

/// The worker's media objects below the routers — WebRtcTransports, producers, consumers — and
/// the packet path between them (media-worker spec §1, §4, §5). Requests come from `WorkerCore`;
/// datagrams and timer ticks from the loop. Notifications collect in `outbox` for the loop to send
/// after each step, so a response always precedes the notifications it caused.
public final class MediaEngine {
  let sockets: any MediaSockets
  let dtlsContext: DtlsContext
  var settings: WorkerSettings
  var transports: [String: WebRtcTransport] = [:]
  var servers: [String: WebRtcServer] = [:]
  /// RtpObservers of both kinds by id, and the router of each.
  var observers: [String: AudioLevelObserver] = [:]
  var speakerObservers: [String: ActiveSpeakerObserver] = [:]
  var observerRouters: [String: String] = [:]
  /// Who listens on each UDP socket and TCP listener, and at which port.
  var socketOwners: [Int: SocketOwner] = [:]
  /// Accepted TCP connections by socket.
  var tcpConnections: [Int: TcpConnection] = [:]
  var producers: [String: Producer] = [:]
  var consumers: [String: Consumer] = [:]
  /// Notifications and logs waiting to go to the parent.
  public var outbox: [ChannelMessage] = []
  /// One send buffer for the whole worker: every forwarded packet is rewritten and protected here.
  private var scratch = [UInt8](repeating: 0, count: 65_536)
  private var rtcpScratch: [UInt8] = []
  /// Some producer has gaps to NACK; the next NACK round is due at `nextNackPoll`.
  private var nackPending = false
  private var nextNackPoll = ContinuousClock.now
  public private(set) var counters = Counters()
  /// The origin of the millisecond times the stream statistics keep.
  private let epoch = ContinuousClock.now

  /// Drops and forwards, for stats and tests.
  public struct Counters: Sendable, Equatable {
    /// RTP from publishers, decrypted and matched to a producer.
    public var receivedPackets = 0
    public var receivedBytes = 0
    /// RTP sent to subscribers (bytes as protected on the wire).
    public var forwardedPackets = 0
    public var forwardedBytes = 0
    /// Packets resent for subscribers' NACKs.
    public var retransmittedPackets = 0
    public var droppedPackets = 0
    public var malformedPackets = 0
    /// Transports closed since the process started (the loop gives freed memory back after some).
    public var closedTransports = 0
  }

  enum SocketOwner {
    case transport(WebRtcTransport, port: UInt16)
    case server(WebRtcServer, port: UInt16)
  }

  /// A passive ICE-TCP connection: the listener that accepted it, its peer, and (on a WebRtcServer)
  /// the transport ICE validated it for.
  struct TcpConnection {
    let listener: Int
    let remote: SocketAddress
    var transport: WebRtcTransport?
  }

  public init(sockets: any MediaSockets, settings: WorkerSettings) throws(ErizoError) {
    self.sockets = sockets
    self.settings = settings
    dtlsContext = try DtlsContext()
    rtcpScratch.reserveCapacity(1500)
  }

  /// Live transports, producers and consumers (leak checks, dumps).
  public var objectCounts: (transports: Int, producers: Int, consumers: Int) {
    (transports.count, producers.count, consumers.count)
  }

  /// The sockets a transport's packets arrive on: its own, or its WebRtcServer's (tests, tools).
  public func localSockets(ofTransport id: String) -> [Int] {
    transports[id]?.endpoints.map(\.socket) ?? []
  }

  // MARK: requests

  /// `worker.createWebRtcServer`: UDP sockets and TCP listeners on fixed ports, for every transport
  /// created with its `webRtcServerId` (single-port mode).
  func createWebRtcServer(data: JSONValue) throws(WorkerCore.RequestError) -> JSONValue {
    guard let serverID = data["webRtcServerId"]?.stringValue, !serverID.isEmpty else {
      throw .type("missing webRtcServerId")
    }
    guard servers[serverID] == nil else { throw .error("a WebRtcServer with the same webRtcServerId already exists") }
    guard let infos = data["listenInfos"]?.arrayValue, !infos.isEmpty else { throw .type("missing listenInfos") }
    var listens: [ListenInfo] = []
    for info in infos {
      let listen = try ListenInfo(info, defaultRange: settings.rtcMinPort...settings.rtcMaxPort)
      guard listen.ports.count == 1 else { throw .type("a WebRtcServer listenInfo needs a port") }
      listens.append(listen)
    }
    let server = WebRtcServer(id: serverID, endpoints: try open(listens))
    servers[serverID] = server
    for endpoint in server.endpoints { socketOwners[endpoint.socket] = .server(server, port: endpoint.port) }
    return .null
  }

  /// Where a transport or a WebRtcServer listens: `listenInfos[i]` (or a `listenIps` entry).
  struct ListenInfo {
    var proto: TransportTuple.TransportProtocol
    var ip: String
    var announcedIP: String?
    var ports: ClosedRange<Int>

    init(_ info: JSONValue, proto fixed: TransportTuple.TransportProtocol? = nil, defaultRange: ClosedRange<Int>)
      throws(WorkerCore.RequestError)
    {
      if let ip = info.stringValue {  // a bare listenIps entry
        guard !ip.isEmpty else { throw .type("empty listen ip") }
        self.init(proto: fixed ?? .udp, ip: ip, announcedIP: nil, ports: defaultRange)
        return
      }
      guard let ip = info["ip"]?.stringValue, !ip.isEmpty else { throw .type("missing listen ip") }
      var proto = fixed ?? .udp
      if fixed == nil, let name = info["protocol"] {
        guard let named = name.stringValue.flatMap(TransportTuple.TransportProtocol.init(rawValue:)) else {
          throw .type("listen protocol must be udp or tcp")
        }
        proto = named
      }
      var ports = defaultRange
      if let port = info["port"], port != .null, port != 0 {
        guard let number = port.intValue, (1...65535).contains(number) else { throw .type("invalid listen port") }
        ports = number...number
      } else if let range = info["portRange"], range != .null {
        guard let min = range["min"]?.intValue, let max = range["max"]?.intValue, 1 <= min, min <= max, max <= 65535
        else { throw .type("invalid portRange") }
        ports = min...max
      }
      let announced = info["announcedAddress"]?.stringValue ?? info["announcedIp"]?.stringValue
      self.init(proto: proto, ip: ip, announcedIP: (announced?.isEmpty ?? true) ? nil : announced, ports: ports)
    }

    init(proto: TransportTuple.TransportProtocol, ip: String, announcedIP: String?, ports: ClosedRange<Int>) {
      self.proto = proto
      self.ip = ip
      self.announcedIP = announcedIP
      self.ports = ports
    }
  }

  /// Opens every listen info's socket, or none: on a failure the ones already open are closed.
  private func open(_ listens: [ListenInfo]) throws(WorkerCore.RequestError) -> [LocalEndpoint] {
    var endpoints: [LocalEndpoint] = []
    for listen in listens {
      let opened =
        listen.proto == .udp
        ? sockets.openUDP(ip: listen.ip, minPort: listen.ports.lowerBound, maxPort: listen.ports.upperBound)
        : sockets.openTCP(ip: listen.ip, minPort: listen.ports.lowerBound, maxPort: listen.ports.upperBound)
      guard let (socket, port) = opened else {
        for endpoint in endpoints { sockets.close(socket: endpoint.socket) }
        let where_ = listen.ports.count == 1 ? "port \(listen.ports.lowerBound)" : "\(listen.ports)"
        throw .error("no free \(listen.proto.rawValue.uppercased()) port on \(listen.ip) (\(where_))")
      }
      endpoints.append(
        LocalEndpoint(proto: listen.proto, socket: socket, ip: listen.ip, announcedIP: listen.announcedIP, port: port))
    }
    return endpoints
  }

  /// `router.createAudioLevelObserver` (handler: the router).
  func createAudioLevelObserver(routerID: String, data: JSONValue, now: ContinuousClock.Instant)
    throws(WorkerCore.RequestError)
    -> JSONValue
  {
    let id = try newObserverID(data)
    let threshold = data["threshold"]?.intValue ?? -80
    guard (-127...0).contains(threshold) else { throw .type("threshold must be -127…0") }
    let interval = data["interval"]?.intValue ?? 1000
    guard interval >= 250 else { throw .type("interval must be at least 250 ms") }
    observers[id] = AudioLevelObserver(
      id: id, maxEntries: data["maxEntries"]?.intValue ?? 1, threshold: threshold, interval: .milliseconds(interval),
      now: now)
    observerRouters[id] = routerID
    return .null
  }

  /// `router.createActiveSpeakerObserver` (handler: the router).
  func createActiveSpeakerObserver(routerID: String, data: JSONValue, now: ContinuousClock.Instant)
    throws(WorkerCore.RequestError) -> JSONValue
  {
    let id = try newObserverID(data)
    let interval = data["interval"]?.intValue ?? 300
    guard interval >= 100 else { throw .type("interval must be at least 100 ms") }
    speakerObservers[id] = ActiveSpeakerObserver(id: id, interval: .milliseconds(interval), now: now)
    observerRouters[id] = routerID
    return .null
  }

  private func newObserverID(_ data: JSONValue) throws(WorkerCore.RequestError) -> String {
    guard let id = data["rtpObserverId"]?.stringValue, !id.isEmpty else { throw .type("missing rtpObserverId") }
    guard observerRouters[id] == nil else { throw .error("an RtpObserver with the same rtpObserverId already exists") }
    return id
  }

  /// `rtpObserver.*` requests (handler: the observer, of either kind).
  func handleObserver(_ method: String, _ id: String, data: JSONValue, now: ContinuousClock.Instant)
    throws(WorkerCore.RequestError) -> JSONValue
  {
    guard observerRouters[id] != nil else { throw .error("RtpObserver not found [handlerId:\(id)]") }
    switch method {
    case "rtpObserver.addProducer", "rtpObserver.removeProducer":
      guard let producerID = data["producerId"]?.stringValue, let producer = producers[producerID] else {
        throw .error("Producer not found")
      }
      guard producer.kind == "audio" else { throw .type("not an audio Producer") }
      if method == "rtpObserver.addProducer" {
        observers[id]?.add(producerID)
        speakerObservers[id]?.add(producerID, nowMs: milliseconds(now))
        speakerObservers[id]?.setPaused(producerID, producer.paused)
        producer.observerIDs.insert(id)
      } else {
        observers[id]?.remove(producerID)
        speakerObservers[id]?.remove(producerID)
        producer.observerIDs.remove(id)
      }
    case "rtpObserver.pause", "rtpObserver.resume":
      observers[id]?.paused = method == "rtpObserver.pause"
      speakerObservers[id]?.paused = method == "rtpObserver.pause"
    case "rtpObserver.close":
      closeObserver(id)
    default: throw .error("unknown method '\(method)'")
    }
    return .null
  }

  /// `worker.closeWebRtcServer`: closes its transports and its socket.
  func closeWebRtcServer(_ serverID: String) throws(WorkerCore.RequestError) {
    guard let server = servers[serverID] else { throw .error("WebRtcServer not found") }
    for transport in transports.values where transport.server === server { closeTransport(transport) }
    servers[serverID] = nil
    closeSockets(server.endpoints)
  }

  /// `router.createWebRtcTransport` (handler: the router): on a WebRtcServer's sockets, or on its
  /// own UDP socket and TCP listener per listen info (`enableUdp`/`enableTcp`, `preferUdp`/`preferTcp`).
  func createWebRtcTransport(routerID: String, data: JSONValue) throws(WorkerCore.RequestError) -> JSONValue {
    guard let transportID = data["transportId"]?.stringValue, !transportID.isEmpty else {
      throw .type("missing transportId")
    }
    guard transports[transportID] == nil else { throw .error("a Transport with the same transportId already exists") }
    let consent = data["iceConsentTimeout"]?.intValue ?? 30
    let consentTimeout: Duration = consent == 0 ? .zero : .seconds(max(10, min(60, consent)))
    let server: WebRtcServer?
    let endpoints: [LocalEndpoint]
    let onServer = data["webRtcServerId"] != nil && data["webRtcServerId"] != .null
    let enableUdp = data["enableUdp"]?.boolValue ?? true
    let enableTcp = data["enableTcp"]?.boolValue ?? onServer
    guard enableUdp || enableTcp else { throw .type("enableUdp and enableTcp cannot both be false") }
    if onServer {
      guard let serverID = data["webRtcServerId"]?.stringValue, let found = servers[serverID] else {
        throw .error("WebRtcServer not found")
      }
      server = found
      endpoints = found.endpoints.filter { $0.proto == .udp ? enableUdp : enableTcp }
      guard !endpoints.isEmpty else { throw .type("the WebRtcServer has no socket for the enabled protocols") }
    } else {
      let range = settings.rtcMinPort...settings.rtcMaxPort
      var listens: [ListenInfo] = []
      if let infos = data["listenInfos"]?.arrayValue {
        for info in infos {
          let listen = try ListenInfo(info, defaultRange: range)
          if listen.proto == .udp ? enableUdp : enableTcp { listens.append(listen) }
        }
      } else if let ips = data["listenIps"]?.arrayValue {
        for item in ips {
          if enableUdp { listens.append(try ListenInfo(item, proto: .udp, defaultRange: range)) }
          if enableTcp { listens.append(try ListenInfo(item, proto: .tcp, defaultRange: range)) }
        }
      }
      guard !listens.isEmpty else { throw .type("missing listenInfos (or listenIps)") }
      server = nil
      endpoints = try open(listens)
    }
    let preferUdp = data["preferUdp"]?.boolValue ?? false
    let preferTcp = data["preferTcp"]?.boolValue ?? false
    let priorities = endpoints.indices.map {
      LocalEndpoint.priority(index: $0, proto: endpoints[$0].proto, preferUdp: preferUdp, preferTcp: preferTcp)
    }
    let dtls: DtlsSession
    do {
      dtls = try DtlsSession(context: dtlsContext)
    } catch {
      if server == nil { closeSockets(endpoints) }
      throw .error("DTLS setup failed: \(error)")
    }
    let transport = WebRtcTransport(
      id: transportID, routerID: routerID, endpoints: endpoints, priorities: priorities, dtls: dtls,
      consentTimeout: consentTimeout, server: server)
    transports[transportID] = transport
    if let server {
      server.transportsByFragment[transport.ice.usernameFragment] = transport
    } else {
      for endpoint in endpoints { socketOwners[endpoint.socket] = .transport(transport, port: endpoint.port) }
    }
    return transport.dump(fingerprints: dtlsContext.fingerprints)
  }

  /// Closes sockets a transport or a server owned, and the TCP connections their listeners accepted.
  private func closeSockets(_ endpoints: [LocalEndpoint]) {
    for endpoint in endpoints {
      socketOwners[endpoint.socket] = nil
      if endpoint.proto == .tcp { closeConnections { $0.listener == endpoint.socket } }
      sockets.close(socket: endpoint.socket)
    }
  }

  /// Closes the accepted TCP connections `matching` picks (a closed listener's, a closed transport's).
  private func closeConnections(matching: (TcpConnection) -> Bool) {
    for (connection, state) in tcpConnections where matching(state) {
      tcpConnections[connection] = nil
      sockets.close(socket: connection)
    }
  }

  func transport(_ id: String) throws(WorkerCore.RequestError) -> WebRtcTransport {
    guard let transport = transports[id] else { throw .error("Transport not found [handlerId:\(id)]") }
    return transport
  }

  /// Transport requests (handler: the transport).
  func handleTransport(_ method: String, _ transport: WebRtcTransport, data: JSONValue, now: ContinuousClock.Instant)
    throws(WorkerCore.RequestError) -> JSONValue
  {
    switch method {
    case "transport.dump":
      return transport.dump(fingerprints: dtlsContext.fingerprints)
    case "transport.getStats":
      return transport.stats()
    case "transport.connect":
      return try connect(transport, data: data, now: now)
    case "transport.restartIce":
      transport.ice.restart(
        usernameFragment: IceServer.randomCredential(), password: IceServer.randomCredential())
      // The old fragment keeps working until the client uses the new one (IceServer's rule).
      transport.server?.transportsByFragment[transport.ice.usernameFragment] = transport
      return ["iceParameters": transport.iceParameters]
    case "transport.setMaxIncomingBitrate", "transport.setMaxOutgoingBitrate", "transport.setMinOutgoingBitrate":
      guard let bitrate = data["bitrate"]?.intValue, bitrate >= 0 else {
        throw .type("bitrate must be a number of bits per second, 0 or more")
      }
      switch method {
      case "transport.setMaxIncomingBitrate":
        transport.maxIncomingBitrate = bitrate
        transport.lastRemb = nil  // the new cap goes out on the next tick
      case "transport.setMaxOutgoingBitrate":
        guard bitrate == 0 || bitrate >= transport.minOutgoingBitrate else {
          throw .type("maxOutgoingBitrate must be 0 or at least minOutgoingBitrate")
        }
        transport.maxOutgoingBitrate = bitrate
      default:
        guard transport.maxOutgoingBitrate == 0 || bitrate <= transport.maxOutgoingBitrate else {
          throw .type("minOutgoingBitrate must be at most maxOutgoingBitrate")
        }
        transport.minOutgoingBitrate = bitrate
      }
      return .null
    case "transport.produce":
      return try produce(on: transport, data: data)
    case "transport.consume":
      return try consume(on: transport, data: data)
    case "transport.close":
      closeTransport(transport)
      return .null
    default:
      throw .error("unknown method '\(method)'")
    }
  }

  private func connect(_ transport: WebRtcTransport, data: JSONValue, now: ContinuousClock.Instant)
    throws(WorkerCore.RequestError) -> JSONValue
  {
    guard !transport.remoteRoleKnown else { throw .error("connect() already called") }
    guard let fingerprints = data["dtlsParameters"]?["fingerprints"]?.arrayValue, !fingerprints.isEmpty else {
      throw .type("missing dtlsParameters.fingerprints")
    }
    // The strongest algorithm offered that we know.
    let preference = ["sha-512", "sha-384", "sha-256", "sha-224", "sha-1"]
    guard
      let chosen = fingerprints.compactMap({ item -> (String, String)? in
        guard let algorithm = item["algorithm"]?.stringValue?.lowercased(), let value = item["value"]?.stringValue,
          preference.contains(algorithm)
        else { return nil }
        return (algorithm, value)
      }).min(by: { preference.firstIndex(of: $0.0)! < preference.firstIndex(of: $1.0)! })
    else { throw .type("no supported fingerprint algorithm") }
    switch data["dtlsParameters"]?["role"]?.stringValue ?? "auto" {
    case "client": transport.dtlsRole = .server
    case "server", "auto": transport.dtlsRole = .client
    default: throw .type("invalid dtlsParameters.role")
    }
    transport.remoteRoleKnown = true
    apply(transport, transport.dtls.setRemoteFingerprint(algorithm: chosen.0, value: chosen.1))
    startDtlsIfReady(transport)
    return ["dtlsLocalRole": .string(transport.dtlsRole.rawValue)]
  }

  private func produce(on transport: WebRtcTransport, data: JSONValue) throws(WorkerCore.RequestError) -> JSONValue {
    guard let producerID = data["producerId"]?.stringValue, !producerID.isEmpty else {
      throw .type("missing producerId")
    }
    guard producers[producerID] == nil else { throw .error("a Producer with the same producerId already exists") }
    guard let kind = data["kind"]?.stringValue, kind == "audio" || kind == "video" else { throw .type("invalid kind") }
    let producer = try Producer(id: producerID, kind: kind, transportID: transport.id, data: data)
    if let ssrc = producer.ssrc,
      transport.producers.values.contains(where: { $0.ssrc == ssrc })
    {
      throw .error("an encoding with the same ssrc already exists")
    }
    producers[producerID] = producer
    transport.producers[producerID] = producer
    if producer.transportCcExtensionID != 0 {
      // Its packets carry the transport-wide sequence number: the publisher wants feedback.
      transport.transportCcExtensionID = producer.transportCcExtensionID
      if transport.transportCc == nil { transport.transportCc = TransportCcReceiver() }
    }
    return ["type": "simple"]
  }

  private func consume(on transport: WebRtcTransport, data: JSONValue) throws(WorkerCore.RequestError) -> JSONValue {
    guard let consumerID = data["consumerId"]?.stringValue, !consumerID.isEmpty else {
      throw .type("missing consumerId")
    }
    guard consumers[consumerID] == nil else { throw .error("a Consumer with the same consumerId already exists") }
    guard let producerID = data["producerId"]?.stringValue, let producer = producers[producerID] else {
      throw .error("Producer not found")
    }
    guard transports[producer.transportID]?.routerID == transport.routerID else {
      throw .error("the Producer is in another Router")
    }
    let consumer = try Consumer(id: consumerID, transport: transport, data: data, producer: producer)
    consumers[consumerID] = consumer
    transport.consumers[consumerID] = consumer
    transport.consumersBySSRC[consumer.ssrc] = consumer
    producer.consumers.append(consumer)
    if consumer.active, consumer.waitingForKeyFrame { requestKeyFrame(producer, now: .now, force: true) }
    return [
      "paused": .bool(consumer.paused), "producerPaused": .bool(consumer.producerPaused),
      "score": consumer.scores(producer: producer),
    ]
  }

  func handleProducer(_ method: String, _ producer: Producer) throws(WorkerCore.RequestError) -> JSONValue {
    switch method {
    case "producer.pause", "producer.resume":
      let pause = method == "producer.pause"
      guard producer.paused != pause else { return .null }
      producer.paused = pause
      for id in producer.observerIDs { speakerObservers[id]?.setPaused(producer.id, pause) }
      for consumer in producer.consumers {
        consumer.producerPaused = pause
        if pause { consumer.sequence.resynchronise() } else { resumeWaitingForKeyFrame(consumer) }
        outbox.append(
          .notification(handlerID: consumer.id, event: pause ? "producerpause" : "producerresume", data: .null))
      }
      return .null
    case "producer.close":
      closeProducer(producer)
      return .null
    case "producer.dump":
      return [
        "id": .string(producer.id), "kind": .string(producer.kind), "type": "simple", "paused": .bool(producer.paused),
        "rtpStreams": producer.ssrc.map { [["params": ["ssrc": .int(Int($0))]]] } ?? [],
      ]
    case "producer.getStats":
      return [
        [
          "type": "inbound-rtp", "timestamp": .int(Int(WorkerClock.milliseconds())),
          "ssrc": producer.ssrc.map { .int(Int($0)) } ?? .null, "kind": .string(producer.kind),
          "packetCount": .int(producer.packetsReceived), "byteCount": .int(producer.bytesReceived),
          "score": .int(Int(producer.score)), "packetsLost": .int(Int(producer.stream?.packetsLost ?? 0)),
          "fractionLost": .int(Int(producer.stream?.fractionLost ?? 0)),
          "jitter": .int(Int(producer.stream?.jitter ?? 0)),
          "rtxSsrc": producer.rtxSsrc.map { .int(Int($0)) } ?? .null, "nackCount": .int(producer.nackCount),
          "nackPacketCount": .int(producer.nackPacketCount),
          "packetsRetransmitted": .int(producer.packetsRetransmitted),
          "packetsRepaired": .int(producer.packetsRepaired), "rtxPacketsDiscarded": .int(producer.rtxPacketsDiscarded),
        ]
      ]
    default:
      throw .error("unknown method '\(method)'")
    }
  }

  func handleConsumer(_ method: String, _ consumer: Consumer) throws(WorkerCore.RequestError) -> JSONValue {
    switch method {
    case "consumer.pause":
      if !consumer.paused {
        consumer.paused = true
        consumer.sequence.resynchronise()
      }
      return .null
    case "consumer.resume":
      if consumer.paused {
        consumer.paused = false
        resumeWaitingForKeyFrame(consumer)
      }
      return .null
    case "consumer.requestKeyFrame":
      if let producer = producers[consumer.producerID] { requestKeyFrame(producer, now: .now, force: true) }
      return .null
    case "consumer.setPriority", "consumer.setPreferredLayers":
      return .null
    case "consumer.close":
      closeConsumer(consumer)
      return .null
    case "consumer.dump":
      return [
        "id": .string(consumer.id), "producerId": .string(consumer.producerID), "kind": .string(consumer.kind),
        "type": "simple", "paused": .bool(consumer.paused), "producerPaused": .bool(consumer.producerPaused),
      ]
    case "consumer.getStats":
      return [
        [
          "type": "outbound-rtp", "timestamp": .int(Int(WorkerClock.milliseconds())), "ssrc": .int(Int(consumer.ssrc)),
          "kind": .string(consumer.kind), "packetCount": .int(consumer.packetsSent),
          "byteCount": .int(consumer.bytesSent), "score": .int(Int(consumer.stream.score.value)),
          "packetsLost": .int(Int(consumer.stream.packetsLost)),
          "fractionLost": .int(Int(consumer.stream.fractionLost)),
          "roundTripTime": .double(consumer.stream.roundTripTime), "nackCount": .int(consumer.nackCount),
          "nackPacketCount": .int(consumer.nackPacketCount),
          "packetsRetransmitted": .int(consumer.packetsRetransmitted),
          "packetsRepaired": .int(consumer.packetsRepaired),
        ]
      ]
    default:
      throw .error("unknown method '\(method)'")
    }
  }

  private func resumeWaitingForKeyFrame(_ consumer: Consumer) {
    consumer.sequence.resynchronise()
    guard consumer.kind == "video", consumer.active else { return }
    consumer.waitingForKeyFrame = true
    if let producer = producers[consumer.producerID] { requestKeyFrame(producer, now: .now, force: true) }
  }

  /// Closes every transport of a router (router.close / worker.closeRouter).
  func closeRouter(_ routerID: String) {
    for transport in transports.values where transport.routerID == routerID { closeTransport(transport) }
    for (id, router) in observerRouters where router == routerID { closeObserver(id) }
  }

  private func closeObserver(_ id: String) {
    observers[id] = nil
    speakerObservers[id] = nil
    observerRouters[id] = nil
    for producer in producers.values { producer.observerIDs.remove(id) }
  }

  func closeTransport(_ transport: WebRtcTransport) {
    counters.closedTransports += 1
    for consumer in Array(transport.consumers.values) { closeConsumer(consumer) }
    for producer in Array(transport.producers.values) { closeProducer(producer) }
    _ = transport.dtls.close().map { datagram in send(datagram, on: transport) }
    transports[transport.id] = nil
    if let server = transport.server {
      server.remove(transport)
      closeConnections { $0.transport === transport }
    } else {
      closeSockets(transport.endpoints)
    }
  }

  private func closeProducer(_ producer: Producer) {
    for consumer in producer.consumers {  // a copy: closing one edits the array
      closeConsumer(consumer)
      outbox.append(.notification(handlerID: consumer.id, event: "producerclose", data: .null))
    }
    for id in producer.observerIDs {
      observers[id]?.remove(producer.id)
      speakerObservers[id]?.remove(producer.id)
    }
    producers[producer.id] = nil
    transports[producer.transportID]?.producers[producer.id] = nil
  }

  private func closeConsumer(_ consumer: Consumer) {
    consumers[consumer.id] = nil
    let transport = consumer.transport
    transport.consumers[consumer.id] = nil
    transport.consumersBySSRC[consumer.ssrc] = nil
    transport.srtpOut?.removeStream(ssrc: consumer.ssrc)
    producers[consumer.producerID]?.consumers.removeAll { $0 === consumer }
  }

  // MARK: packets

  /// A listener accepted a TCP connection; false when the listener is not (or no longer) ours, and
  /// the connection should be closed.
  public func tcpAccepted(connection: Int, listener: Int, from remote: SocketAddress) -> Bool {
    guard socketOwners[listener] != nil else { return false }
    tcpConnections[connection] = TcpConnection(listener: listener, remote: remote)
    return true
  }

  /// A TCP connection closed (by the peer, or on an error): its ICE tuple goes.
  public func tcpClosed(connection: Int) {
    guard let state = tcpConnections.removeValue(forKey: connection) else { return }
    let transport: WebRtcTransport?
    let port: UInt16
    switch socketOwners[state.listener] {
    case .transport(let owner, let listenPort)?: (transport, port) = (owner, listenPort)
    case .server(_, let listenPort)?: (transport, port) = (state.transport, listenPort)
    case nil: return
    }
    guard let transport else { return }
    let tuple = TransportTuple(localSocket: connection, localPort: port, remote: state.remote, proto: .tcp)
    apply(transport, transport.ice.removeTuple(tuple))
  }

  /// A datagram arrived on UDP `socket` from `remote`, or a framed packet on TCP connection
  /// `socket`. The buffer may be modified (SRTP in place).
  public func receive(
    socket: Int, from remote: SocketAddress, packet: UnsafeMutableRawBufferPointer, now: ContinuousClock.Instant
  ) {
    let bytes = UnsafeRawBufferPointer(packet)
    let isStun = StunMessage.looksLikeStun(bytes)
    var stun: StunMessage?
    if isStun {
      guard let message = try? StunMessage(parsing: Array(bytes)) else {
        counters.malformedPackets += 1
        return
      }
      stun = message
    }
    var connection: TcpConnection?
    if !tcpConnections.isEmpty { connection = tcpConnections[socket] }
    let transport: WebRtcTransport
    let port: UInt16
    switch socketOwners[connection?.listener ?? socket] {
    case .transport(let owner, let listenPort)?:
      (transport, port) = (owner, listenPort)
    case .server(let server, let listenPort)?:
      // Single-port: STUN by the local fragment of USERNAME, the rest by what ICE validated.
      let fragment = stun?.username.flatMap { $0.split(separator: ":").first.map(String.init) }
      let validated = connection != nil ? connection?.transport : server.transportsByRemote[remote]
      guard let found = fragment.flatMap({ server.transportsByFragment[$0] }) ?? validated else {
        counters.droppedPackets += 1
        return
      }
      (transport, port) = (found, listenPort)
    case nil:
      return
    }
    let tuple = TransportTuple(
      localSocket: socket, localPort: port, remote: remote, proto: connection == nil ? .udp : .tcp)
    transport.bytesReceived += packet.count
    if let stun {
      let (response, events) = transport.ice.handle(stun, from: tuple, now: now)
      if let response { response.withUnsafeBytes { sockets.send(socket: socket, to: remote, bytes: $0) } }
      if transport.server != nil, transport.ice.tuples.contains(tuple) {
        if connection != nil {
          tcpConnections[socket]?.transport = transport
        } else {
          transport.server?.transportsByRemote[remote] = transport
        }
      }
      apply(transport, events)
      return
    }
    guard transport.ice.dataReceived(on: tuple).accepted else {
      counters.droppedPackets += 1
      return
    }
    if Rtcp.looksLikeRtcp(bytes) {
      receiveRtcp(transport, packet: packet, now: now)
    } else if RtpPacket.looksLikeRtpOrRtcp(bytes) {
      receiveRtp(transport, packet: packet, now: now)
    } else if packet.count >= 13, bytes[0] >= 20, bytes[0] <= 63 {
      let (outgoing, events) = transport.dtls.receive(bytes)
      for datagram in outgoing { send(datagram, on: transport) }
      apply(transport, events)
    } else {
      counters.droppedPackets += 1
    }
  }

  private func receiveRtp(
    _ transport: WebRtcTransport, packet: UnsafeMutableRawBufferPointer, now: ContinuousClock.Instant
  ) {
    guard let srtp = transport.srtpIn, var length = try? srtp.unprotectRTP(packet, length: packet.count) else {
      counters.droppedPackets += 1
      return
    }
    var plain = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(packet)[..<length])
    guard var rtp = RtpPacket.parse(plain) else {
      counters.malformedPackets += 1
      return
    }
    // Every packet with the transport-wide sequence number counts for feedback, RTX and probes too.
    if transport.transportCcExtensionID != 0,
      let range = rtp.extensionValue(transport.transportCcExtensionID, in: plain), range.count >= 2
    {
      let sequence = UInt16(plain[range.lowerBound]) << 8 | UInt16(plain[range.lowerBound + 1])
      transport.transportCc?.record(sequence: sequence, arrivalUs: microseconds(now), ssrc: rtp.ssrc)
    }
    let producer: Producer
    var recovered = false
    if let media = findProducer(transport, rtp, plain) {
      producer = media
    } else if let repairing = findRtxProducer(transport, rtp, plain) {
      // A retransmission the publisher sent on its RTX stream: back to the packet it repairs.
      producer = repairing
      guard let mediaSsrc = producer.ssrc, let payloadType = producer.rtxPayloadTypes[rtp.payloadType],
        let unwrapped = unwrapRtx(packet, length: length, payloadType: payloadType, ssrc: mediaSsrc),
        let original = RtpPacket.parse(UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(packet)[..<unwrapped]))
      else {
        // Padding only (bandwidth probing) or no media stream yet.
        producer.rtxPacketsDiscarded += 1
        return
      }
      producer.packetsRetransmitted += 1
      length = unwrapped
      plain = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(packet)[..<length])
      rtp = original
      recovered = true
    } else {
      counters.droppedPackets += 1
      return
    }
    let nowMs = milliseconds(now)
    var isKeyFrame: Bool?
    if producer.nack != nil {
      let key = KeyFrames.isKeyFrame(producer.codec, payload: UnsafeRawBufferPointer(rebasing: plain[rtp.payloadRange]))
      isKeyFrame = key
      switch producer.nack!.receive(sequence: rtp.sequenceNumber, isKeyFrame: key, nowMs: nowMs) {
      case .notMissing where recovered:
        producer.rtxPacketsDiscarded += 1
        return
      case .keyFrameNeeded:
        requestKeyFrame(producer, now: now, force: false)
      default:
        break
      }
      if producer.nack!.missing > 0 { nackPending = true }
    }
    if recovered { producer.packetsRepaired += 1 }
    var scoreChanged = false
    if producer.stream == nil {
      producer.stream = RtpReceiveStream(ssrc: rtp.ssrc, clockRate: producer.clockRate)
      scoreChanged = true
    }
    guard
      producer.stream!.receive(
        sequence: rtp.sequenceNumber, timestamp: rtp.timestamp, nowMs: nowMs, scoreChanged: &scoreChanged)
    else {
      counters.droppedPackets += 1
      return
    }
    if scoreChanged { notifyScore(producer) }
    producer.packetsReceived += 1
    producer.bytesReceived += length
    counters.receivedPackets += 1
    counters.receivedBytes += length
    guard !producer.paused, producer.payloadTypes[rtp.payloadType] != nil else { return }
    if !producer.observerIDs.isEmpty, producer.audioLevelID != 0,
      let level = rtp.extensionValue(producer.audioLevelID, in: plain)
    {
      for id in producer.observerIDs {
        observers[id]?.record(producer.id, level: plain[level.lowerBound])
        speakerObservers[id]?.record(producer.id, level: plain[level.lowerBound], nowMs: nowMs)
      }
    }
    producer.cache?.store(sequence: rtp.sequenceNumber, packet: plain, nowMs: nowMs)
    let payload = UnsafeRawBufferPointer(rebasing: plain[rtp.payloadRange])
    let absSendTime = RtpRewrite.absSendTime(milliseconds: nowMs)
    for consumer in producer.consumers {
      let target = consumer.transport
      guard consumer.active, let srtpOut = target.srtpOut, let tuple = target.ice.selectedTuple else { continue }
      if consumer.waitingForKeyFrame {
        if isKeyFrame == nil { isKeyFrame = KeyFrames.isKeyFrame(consumer.codec, payload: payload) }
        guard isKeyFrame == true else {
          requestKeyFrame(producer, now: now, force: false)
          continue
        }
        consumer.waitingForKeyFrame = false
        consumer.sequence.resynchronise()
      }
      let sequence = consumer.sequence.map(rtp.sequenceNumber)
      guard
        let sent = send(
          rtp, from: plain, as: sequence, for: consumer, asRtx: false, srtp: srtpOut, on: target, to: tuple,
          absSendTime: absSendTime)
      else {
        counters.droppedPackets += 1
        continue
      }
      consumer.packetsSent += 1
      consumer.bytesSent += sent
      consumer.sent?.record(output: sequence, input: rtp.sequenceNumber)
      consumer.lastTimestamp = rtp.timestamp
      target.bytesSent += sent
      counters.forwardedPackets += 1
      counters.forwardedBytes += sent
    }
  }

  /// The producer whose RTX stream an RTP packet is on: by the RTX SSRC, else by an RTX payload type
  /// and the MID extension (which then binds the RTX SSRC).
  private func findRtxProducer(_ transport: WebRtcTransport, _ rtp: RtpPacket, _ bytes: UnsafeRawBufferPointer)
    -> Producer?
  {
    for producer in transport.producers.values where producer.rtxSsrc == rtp.ssrc { return producer }
    for producer in transport.producers.values
    where producer.rtxSsrc == nil && producer.midExtensionID != 0 && producer.rtxPayloadTypes[rtp.payloadType] != nil {
      if let range = rtp.extensionValue(producer.midExtensionID, in: bytes), bytes[range].elementsEqual(producer.mid) {
        producer.rtxSsrc = rtp.ssrc
        return producer
      }
    }
    return nil
  }

  /// The producer of an RTP packet: by SSRC, else by the MID extension, else by the RID extension
  /// (either then binds the SSRC).
  private func findProducer(_ transport: WebRtcTransport, _ rtp: RtpPacket, _ bytes: UnsafeRawBufferPointer)
    -> Producer?
  {
    for producer in transport.producers.values where producer.ssrc == rtp.ssrc { return producer }
    for producer in transport.producers.values where producer.ssrc == nil {
      var found = false
      if producer.midExtensionID != 0, let range = rtp.extensionValue(producer.midExtensionID, in: bytes) {
        found = bytes[range].elementsEqual(producer.mid)
      } else if producer.ridExtensionID != 0, let range = rtp.extensionValue(producer.ridExtensionID, in: bytes) {
        found = bytes[range].elementsEqual(producer.rid)
      }
      if found {
        producer.ssrc = rtp.ssrc
        return producer
      }
    }
    return nil
  }

  private func receiveRtcp(
    _ transport: WebRtcTransport, packet: UnsafeMutableRawBufferPointer, now: ContinuousClock.Instant
  ) {
    guard let srtp = transport.srtpIn, let length = try? srtp.unprotectRTCP(packet, length: packet.count) else {
      counters.droppedPackets += 1
      return
    }
    let plain = UnsafeRawBufferPointer(rebasing: UnsafeRawBufferPointer(packet)[..<length])
    // Reports first (they update round trips), then NACKs, then key-frame requests; the walks
    // allocate nothing.
    let nowMs = milliseconds(now)
    let compactNow = UInt32(truncatingIfNeeded: WorkerClock.ntp() >> 16)
    let wellFormed = Rtcp.forEachPacket(plain) { header in
      switch header.type {
      case Rtcp.PacketType.senderReport.rawValue:
        if let (ssrc, ntp) = Rtcp.senderInfo(plain, header),
          let producer = transport.producers.values.first(where: { $0.stream?.ssrc == ssrc }),
          producer.stream!.senderReport(ntp: ntp, nowMs: nowMs)
        {
          notifyScore(producer)
        }
        Rtcp.forEachReportBlock(plain, header) { receiverReport(transport, $0, compactNow: compactNow) }
      case Rtcp.PacketType.receiverReport.rawValue:
        Rtcp.forEachReportBlock(plain, header) { receiverReport(transport, $0, compactNow: compactNow) }
      default:
        break
      }
    }
    guard wellFormed else {
      counters.malformedPackets += 1
      return
    }
    Rtcp.forEachPacket(plain) { header in
      guard header.type == Rtcp.PacketType.transportFeedback.rawValue, header.count == 1,
        let (_, media) = Rtcp.feedbackSSRCs(plain, header), let consumer = transport.consumersBySSRC[media]
      else { return }
      retransmit(consumer, nack: header, in: plain, on: transport, nowMs: nowMs)
    }
    Rtcp.forEachPacket(plain) { header in
      guard header.type == Rtcp.PacketType.payloadFeedback.rawValue else { return }
      if header.count == 1, let (_, media) = Rtcp.feedbackSSRCs(plain, header) {
        keyFrameRequested(by: transport, for: media, now: now)
      } else if header.count == 4 {
        Rtcp.forEachFirTarget(plain, header) { keyFrameRequested(by: transport, for: $0, now: now) }
      }
    }
  }

  /// A subscriber's PLI or FIR for the stream `ssrc` it receives: a throttled request to the publisher.
  private func keyFrameRequested(by transport: WebRtcTransport, for ssrc: UInt32, now: ContinuousClock.Instant) {
    if let consumer = transport.consumersBySSRC[ssrc], let producer = producers[consumer.producerID] {
      requestKeyFrame(producer, now: now, force: false)
    }
  }

  /// A subscriber's generic NACK: the packets it lists go again, as RTX when it negotiated RTX, each
  /// at most once per round trip (100 ms before one is measured), from the producer's cache.
  private func retransmit(
    _ consumer: Consumer, nack header: Rtcp.Header, in bytes: UnsafeRawBufferPointer, on transport: WebRtcTransport,
    nowMs: Int64
  ) {
    consumer.nackCount += 1
    Rtcp.forEachNackedSequence(bytes, header) { _ in consumer.nackPacketCount += 1 }
    guard consumer.active, let producer = producers[consumer.producerID], let cache = producer.cache,
      let srtpOut = transport.srtpOut, let tuple = transport.ice.selectedTuple
    else { return }
    let roundTrip = consumer.stream.roundTripTime > 0 ? Int64(consumer.stream.roundTripTime) : 100
    Rtcp.forEachNackedSequence(bytes, header) { output in
      guard let (input, first) = consumer.sent?.resend(output, nowMs: nowMs, minimumIntervalMs: roundTrip) else {
        return
      }
      let sent = cache.withPacket(input, nowMs: nowMs) { original -> Int? in
        guard let rtp = RtpPacket.parse(original) else { return nil }
        return send(
          rtp, from: original, as: output, for: consumer, asRtx: consumer.rtx != nil, srtp: srtpOut, on: transport,
          to: tuple, absSendTime: RtpRewrite.absSendTime(milliseconds: nowMs))
      }
      guard let sentBytes = sent ?? nil else { return }
      consumer.packetsRetransmitted += 1
      if first { consumer.packetsRepaired += 1 }
      transport.bytesSent += sentBytes
      counters.retransmittedPackets += 1
    }
  }

  /// Rewrites a producer's packet for one consumer in the scratch buffer (with sequence number
  /// `sequence`; wrapped as RTX when `asRtx`), protects and sends it; the bytes sent, or nil when
  /// it could not be written or protected. The forwarding and the retransmission path share it.
  private func send(
    _ rtp: RtpPacket, from source: UnsafeRawBufferPointer, as sequence: UInt16, for consumer: Consumer, asRtx: Bool,
    srtp: SrtpSession, on transport: WebRtcTransport, to tuple: TransportTuple, absSendTime: UInt32
  ) -> Int? {
    scratch.withUnsafeMutableBytes { out -> Int? in
      guard
        var length = consumer.rewrite.write(
          rtp, from: source, into: out, ssrc: consumer.ssrc, sequenceNumber: sequence,
          payloadType: consumer.payloadType,
          transportSequence: transport.nextTransportSequence, absSendTime: absSendTime)
      else { return nil }
      if consumer.rewrite.transportSequenceID != 0 { transport.nextTransportSequence &+= 1 }
      if asRtx, let rtx = consumer.rtx {
        guard
          let wrapped = wrapRtx(
            out, length: length, payloadType: rtx.payloadType, ssrc: rtx.ssrc, sequenceNumber: consumer.rtxSequence)
        else { return nil }
        consumer.rtxSequence &+= 1
        length = wrapped
      }
      guard let protected = try? srtp.protectRTP(out, length: length) else { return nil }
      sockets.send(
        socket: tuple.localSocket, to: tuple.remote, bytes: UnsafeRawBufferPointer(rebasing: out[..<protected]))
      return protected
    }
  }

  /// A subscriber's report about a stream we send it: loss, round trip and the consumer's score.
  private func receiverReport(_ transport: WebRtcTransport, _ block: Rtcp.ReportBlock, compactNow: UInt32) {
    guard let consumer = transport.consumersBySSRC[block.ssrc] else { return }
    if consumer.stream.receiverReport(
      block, packetsSent: consumer.packetsSent, repaired: consumer.packetsRepaired,
      retransmitted: consumer.packetsRetransmitted, compactNtpNow: compactNow)
    {
      outbox.append(
        .notification(
          handlerID: consumer.id, event: "score", data: consumer.scores(producer: producers[consumer.producerID])))
    }
  }

  /// A producer's score changed: its own `score` event, and each consumer's, which carries it.
  private func notifyScore(_ producer: Producer) {
    outbox.append(.notification(handlerID: producer.id, event: "score", data: producer.scores))
    for consumer in producer.consumers {
      outbox.append(.notification(handlerID: consumer.id, event: "score", data: consumer.scores(producer: producer)))
    }
  }

  func milliseconds(_ instant: ContinuousClock.Instant) -> Int64 {
    let elapsed = (instant - epoch).components
    return elapsed.seconds * 1000 + elapsed.attoseconds / 1_000_000_000_000_000
  }

  func microseconds(_ instant: ContinuousClock.Instant) -> Int64 {
    let elapsed = (instant - epoch).components
    return elapsed.seconds * 1_000_000 + elapsed.attoseconds / 1_000_000_000_000
  }

  /// Asks a video producer's publisher for a key frame (PLI), at most once per second unless forced.
  func requestKeyFrame(_ producer: Producer, now: ContinuousClock.Instant, force: Bool) {
    guard producer.kind == "video", let ssrc = producer.ssrc, let transport = transports[producer.transportID] else {
      return
    }
    if !force, let last = producer.lastKeyFrameRequest, now - last < .seconds(1) { return }
    producer.lastKeyFrameRequest = now
    rtcpScratch.removeAll(keepingCapacity: true)
    Rtcp.appendPictureLossIndication(to: &rtcpScratch, sender: 1, media: ssrc)
    sendRtcp(rtcpScratch, on: transport)
  }

  private func sendRtcp(_ compound: [UInt8], on transport: WebRtcTransport) {
    guard let srtp = transport.srtpOut, let tuple = transport.ice.selectedTuple else { return }
    scratch.withUnsafeMutableBytes { out in
      compound.withUnsafeBytes { out.copyMemory(from: $0) }
      guard let protected = try? srtp.protectRTCP(out, length: compound.count) else { return }
      sockets.send(
        socket: tuple.localSocket, to: tuple.remote, bytes: UnsafeRawBufferPointer(rebasing: out[..<protected]))
      transport.bytesSent += protected
    }
  }

  private func send(_ datagram: [UInt8], on transport: WebRtcTransport) {
    guard let tuple = transport.ice.selectedTuple else { return }
    datagram.withUnsafeBytes { sockets.send(socket: tuple.localSocket, to: tuple.remote, bytes: $0) }
    transport.bytesSent += datagram.count
  }

  // MARK: timers

  /// Runs the timers: ICE consent, DTLS retransmission, and RTCP sender reports (every second).
  public func tick(now: ContinuousClock.Instant) {
    sendNacks(now: now)
    for id in observers.keys {
      switch observers[id]?.evaluate(now: now) {
      case .volumes(let loudest)?:
        let list = loudest.map { ["producerId": .string($0.producerID), "volume": .int($0.volume)] as JSONValue }
        outbox.append(.notification(handlerID: id, event: "volumes", data: .array(list)))
      case .silence?:
        outbox.append(.notification(handlerID: id, event: "silence", data: .null))
      case nil:
        break
      }
    }
    for id in speakerObservers.keys {
      if let dominant = speakerObservers[id]?.evaluate(now: now, nowMs: milliseconds(now)) {
        outbox.append(.notification(handlerID: id, event: "dominantspeaker", data: ["producerId": .string(dominant)]))
      }
    }
    for transport in transports.values {
      apply(transport, transport.ice.tick(now: now))
      sendCongestionFeedback(transport, now: now)
      if let wait = transport.dtls.timeout(), wait <= .milliseconds(1) {
        let (outgoing, events) = transport.dtls.handleTimeout()
        for datagram in outgoing { send(datagram, on: transport) }
        apply(transport, events)
      }
      let nowMs = milliseconds(now)
      for producer in transport.producers.values
      where producer.stream?.checkActivity(nowMs: nowMs, paused: producer.paused) == true {
        notifyScore(producer)
      }
      if now - transport.lastReport >= .seconds(1), transport.srtpOut != nil {
        transport.lastReport = now
        rtcpScratch.removeAll(keepingCapacity: true)
        for consumer in transport.consumers.values where consumer.packetsSent > 0 {
          Rtcp.appendSenderReport(
            to: &rtcpScratch, ssrc: consumer.ssrc, ntp: WorkerClock.ntp(), rtpTimestamp: consumer.lastTimestamp,
            packets: UInt32(truncatingIfNeeded: consumer.packetsSent),
            octets: UInt32(truncatingIfNeeded: consumer.bytesSent))
          Rtcp.appendSourceDescription(to: &rtcpScratch, ssrc: consumer.ssrc, cname: consumer.cname)
          if rtcpScratch.count > 1000 {
            sendRtcp(rtcpScratch, on: transport)
            rtcpScratch.removeAll(keepingCapacity: true)
          }
        }
        // One receiver report for the streams this transport receives (sender SSRC 1, as our PLIs).
        var blocks: [Rtcp.ReportBlock] = []
        for producer in transport.producers.values where producer.stream != nil {
          blocks.append(producer.stream!.reportBlock(nowMs: nowMs))
        }
        if !blocks.isEmpty { Rtcp.appendReceiverReport(to: &rtcpScratch, ssrc: 1, blocks: blocks) }
        if !rtcpScratch.isEmpty { sendRtcp(rtcpScratch, on: transport) }
      }
    }
  }

  /// Every 40 ms while some producer has gaps: one generic NACK per such producer to its publisher.
  private func sendNacks(now: ContinuousClock.Instant) {
    guard nackPending, now >= nextNackPoll else { return }
    nextNackPoll = now + Self.nackInterval
    nackPending = false
    let nowMs = milliseconds(now)
    for transport in transports.values where transport.srtpOut != nil {
      rtcpScratch.removeAll(keepingCapacity: true)
      for producer in transport.producers.values where (producer.nack?.missing ?? 0) > 0 {
        guard let ssrc = producer.ssrc else { continue }
        let due = producer.nack!.poll(nowMs: nowMs, roundTripMs: NackGenerator.defaultRoundTripMs)
        if producer.nack!.missing > 0 { nackPending = true }
        guard !due.isEmpty else { continue }
        producer.nackCount += 1
        producer.nackPacketCount += due.count
        Rtcp.appendNack(to: &rtcpScratch, sender: 1, media: ssrc, sequences: due)
        if rtcpScratch.count > 1000 {
          sendRtcp(rtcpScratch, on: transport)
          rtcpScratch.removeAll(keepingCapacity: true)
        }
      }
      if !rtcpScratch.isEmpty { sendRtcp(rtcpScratch, on: transport) }
    }
  }

  static let nackInterval = Duration.milliseconds(40)
  static let rembInterval = Duration.milliseconds(1500)

  /// Transport-cc feedback to the transport's publishers every 100 ms while packets arrive, each
  /// packet in an SRTCP packet of its own (its padding makes it the last of any compound); and in
  /// transport-cc mode, the `setMaxIncomingBitrate` cap as a REMB every 1.5 s (spec §5.4: browsers
  /// take REMB as an upper bound).
  private func sendCongestionFeedback(_ transport: WebRtcTransport, now: ContinuousClock.Instant) {
    guard transport.transportCc != nil, transport.srtpOut != nil else { return }
    if now >= transport.nextTransportCcFeedback, transport.transportCc!.hasPending {
      transport.nextTransportCcFeedback = now + .milliseconds(TransportCcReceiver.intervalMs)
      while transport.transportCc!.hasPending {
        rtcpScratch.removeAll(keepingCapacity: true)
        guard transport.transportCc!.appendFeedback(to: &rtcpScratch, sender: 1) else { break }
        sendRtcp(rtcpScratch, on: transport)
      }
    }
    if transport.maxIncomingBitrate > 0, !transport.producers.isEmpty,
      transport.lastRemb.map({ now - $0 >= Self.rembInterval }) ?? true
    {
      transport.lastRemb = now
      let ssrcs = transport.producers.values.compactMap(\.ssrc)
      guard !ssrcs.isEmpty else { return }
      rtcpScratch.removeAll(keepingCapacity: true)
      Rtcp.appendReceiverEstimatedMaximumBitrate(
        to: &rtcpScratch, sender: 1, bitrate: UInt64(transport.maxIncomingBitrate), ssrcs: ssrcs.sorted())
      sendRtcp(rtcpScratch, on: transport)
    }
  }

  /// The longest the loop may sleep before `tick` is due.
  public func nextTimeout() -> Duration {
    var wait = Duration.milliseconds(200)
    let now = ContinuousClock.now
    if nackPending { wait = min(wait, nextNackPoll - now) }
    for transport in transports.values {
      if let dtls = transport.dtls.timeout(), dtls < wait { wait = dtls }
      if transport.transportCc?.hasPending == true { wait = min(wait, transport.nextTransportCcFeedback - now) }
    }
    return max(wait, .milliseconds(1))
  }

  // MARK: state changes

  private func apply(_ transport: WebRtcTransport, _ events: [IceServer.Event]) {
    for event in events {
      switch event {
      case .stateChanged(let state):
        outbox.append(
          .notification(handlerID: transport.id, event: "icestatechange", data: ["iceState": .string(state.rawValue)]))
        if state == .connected || state == .completed { startDtlsIfReady(transport) }
      case .selectedTupleChanged(let tuple):
        outbox.append(
          .notification(
            handlerID: transport.id, event: "iceselectedtuplechange",
            data: ["iceSelectedTuple": transport.tupleJSON(tuple)]))
      }
    }
  }

  private func apply(_ transport: WebRtcTransport, _ events: [DtlsSession.Event]) {
    for event in events {
      switch event {
      case .connected(let keys):
        do {
          transport.srtpIn = try SrtpSession(profile: keys.profile, key: keys.remote, direction: .inbound)
          transport.srtpOut = try SrtpSession(profile: keys.profile, key: keys.local, direction: .outbound)
        } catch {
          outbox.append(.log("ESRTP session setup failed: \(error)"))
          dtlsState(transport, "failed")
          continue
        }
        dtlsState(transport, "connected")
        // Video consumers on this transport can now ask for their first key frame.
        for consumer in transport.consumers.values where consumer.waitingForKeyFrame && consumer.active {
          if let producer = producers[consumer.producerID] { requestKeyFrame(producer, now: .now, force: true) }
        }
      case .failed(let reason):
        outbox.append(.log("WDTLS failed on transport \(transport.id): \(reason)"))
        dtlsState(transport, "failed")
      case .closed:
        dtlsState(transport, "closed")
      case .applicationData:
        break  // SCTP arrives with DataChannels (M5)
      }
    }
  }

  private func dtlsState(_ transport: WebRtcTransport, _ state: String) {
    outbox.append(.notification(handlerID: transport.id, event: "dtlsstatechange", data: ["dtlsState": .string(state)]))
  }

  private func startDtlsIfReady(_ transport: WebRtcTransport) {
    guard transport.dtls.state == .new, transport.remoteRoleKnown,
      transport.ice.state == .connected || transport.ice.state == .completed
    else { return }
    if transport.dtlsRole == .auto { transport.dtlsRole = .server }
    dtlsState(transport, "connecting")
    let (outgoing, events) = transport.dtls.start(role: transport.dtlsRole)
    for datagram in outgoing { send(datagram, on: transport) }
    apply(transport, events)
  }
}
