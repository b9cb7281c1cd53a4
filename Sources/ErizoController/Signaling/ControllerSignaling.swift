internal import AMQPRPC
internal import ErizoCore
internal import ErizoRoleSupport
internal import ErizoWire
internal import Foundation
internal import Logging
internal import Metrics
internal import SocketIO
internal import Synchronization

/// The mediasoup-signal client protocol (spec §4): the `token` handshake, `reconnected`, and every
/// request relayed to the room's agent with `handleUserRequest`.
final class ControllerSignaling: SocketIOHandler {
  struct Settings: Sendable {
    var superserviceKey: String
    /// Nuve's data directory, whose `superservice.json` has the key when none is configured.
    var nuveDataDirectory: String
    var tokenRateLimit: Int
    var reconnectWindow: Duration
    var clientAckTimeout: Duration
    var warningRooms: Int
    var limitRooms: Int
  }

  /// The requests relayed to the agent (spec §4.3).
  static let relayedRequests: Set<String> = [
    "getRouterRtpCapabilities", "createWebRtcTransport", "join", "connectWebRtcTransport", "restartIce", "produce",
    "closeProducer", "pauseProducer", "resumeProducer", "pauseConsumer", "resumeConsumer",
    "setConsumerPreferredLayers", "setConsumerPriority", "requestConsumerKeyFrame", "produceData",
    "getTransportStats", "getProducerStats", "getConsumerStats", "getDataProducerStats", "getDataConsumerStats",
    "applyNetworkThrottle", "resetNetworkThrottle",
  ]

  let bus: any RPCBus
  let state: ControllerState
  let agents: AgentDirectory
  let nuve: NuveLink
  let settings: Settings
  let logger: Logger
  private let bucket: Mutex<TokenBucket>
  private let cachedKey = Mutex<String?>(nil)
  let draining = Atomic<Bool>(false)
  private let metrics = ControllerMetrics()

  init(
    bus: any RPCBus, state: ControllerState, agents: AgentDirectory, nuve: NuveLink, settings: Settings,
    logger: Logger
  ) {
    self.bus = bus
    self.state = state
    self.agents = agents
    self.nuve = nuve
    self.settings = settings
    self.logger = logger
    self.bucket = Mutex(TokenBucket(ratePerSecond: settings.tokenRateLimit))
  }

  func connected(_ connection: SocketIOConnection) async {}

  func event(_ name: String, _ arguments: [JSONValue], wantsAck: Bool, from connection: SocketIOConnection) async
    -> SocketIOReply
  {
    if !wantsAck {
      metrics.requestsWithoutAck.increment()
    }
    let started = ContinuousClock.now
    let result: Result<(String, JSONValue), ClientError>
    switch name {
    case "token": result = await token(arguments.first, connection: connection)
    case "reconnected": result = await reconnected(arguments.first, connection: connection)
    default: result = await request(name, arguments.first, connection: connection)
    }
    let outcome: String
    let reply: SocketIOReply
    switch result {
    case .success(let (status, payload)):
      outcome = status
      reply = SocketIOReply([.string(status), payload])
    case .failure(let error):
      outcome = "error"
      reply = SocketIOReply(["error", error.json], thenDisconnect: error.disconnects)
    }
    let event = Self.relayedRequests.contains(name) || name == "token" || name == "reconnected" ? name : "unknown"
    Counter(label: "erizo_controller_requests_total", dimensions: [("event", event), ("status", outcome)]).increment()
    Timer(label: "erizo_controller_request_duration_seconds", dimensions: [("event", event)]).record(
      duration: ContinuousClock.now - started)
    return reply
  }

  func disconnected(_ connection: SocketIOConnection, reason: DisconnectReason) async {
    if reason.isClean {
      if let client = await state.client(session: connection.sessionID) {
        await teardown(client.id, disconnect: false)
      }
    } else if let client = await state.detach(session: connection.sessionID, window: settings.reconnectWindow) {
      logger.info(
        "client connection lost, holding it for a reconnection",
        metadata: [LogMetadataKey.clientID: "\(client.id)", "socketio.reason": "\(reason.rawValue)"])
    }
  }

  // MARK: token (spec §4.2)

  private func token(_ payload: JSONValue?, connection: SocketIOConnection) async -> Result<
    (String, JSONValue), ClientError
  > {
    guard bucket.withLock({ $0.take() }) else { return .failure(.rateLimited) }
    guard await state.client(session: connection.sessionID) == nil else { return .failure(.alreadyAuthenticated) }
    let admission: (roomID: String, userName: String)
    switch await admit(payload?["token"]) {
    case .success(let value): admission = value
    case .failure(let error): return .failure(error)
    }
    let client = ClientRecord(
      id: UUID().uuidString.lowercased(), roomID: admission.roomID, userName: admission.userName,
      clientIP: connection.clientIP, secret: Crypto.lowercaseHex(Crypto.randomBytes(16)), connection: connection,
      displayName: admission.userName)
    return await enter(client).map { _ in
      (
        "success",
        [
          "roomId": .string(client.roomID), "clientId": .string(client.id), "reconnectSecret": .string(client.secret),
        ]
      )
    }
  }

  /// Checks a Nuve token (spec §4.2): signed with the superservice key, known to Nuve (which
  /// deletes it: single use), for this host. Returns its room and user name.
  func admit(_ tokenValue: JSONValue?) async -> Result<(roomID: String, userName: String), ClientError> {
    guard let token = signedToken(tokenValue) else { return .failure(.authentication) }
    let document: JSONValue
    switch await nuve.consume(tokenID: token.tokenID) {
    case .document(let value): document = value
    case .unknown: return .failure(.unknownToken)
    case .silent: return .failure(.nuveSilent)
    }
    guard document["host"]?.stringValue == token.host else { return .failure(.invalidHost) }
    guard let roomID = document["room"]?.stringValue, !roomID.isEmpty else { return .failure(.unknownToken) }
    return .success((roomID, document["userName"]?.stringValue ?? ""))
  }

  /// The token if it is well formed and signed with the superservice key, checked without asking
  /// Nuve (so a request that fails for another reason does not use the token up).
  func signedToken(_ tokenValue: JSONValue?) -> ClientToken? {
    guard let token = ClientToken(tokenValue), let key = superserviceKey(), token.isSigned(with: key) else {
      return nil
    }
    return token
  }

  /// Places the client's room (once per room) and registers the client in it.
  func enter(_ client: ClientRecord) async -> Result<Placement, ClientError> {
    // Socket.IO clients paid at `token`; WHIP/WHEP sessions pay here.
    guard client.connection != nil || bucket.withLock({ $0.take() }) else { return .failure(.rateLimited) }
    let roomID = client.roomID
    var roomLogger = logger
    roomLogger[metadataKey: LogMetadataKey.roomID] = "\(roomID)"
    for _ in 0..<3 {
      if draining.load(ordering: .relaxed), await state.placement(ofRoom: roomID) == nil {
        return .failure(ClientError(1005, "controller is draining: no new rooms"))
      }
      let controllerID = nuve.controllerID ?? ""
      let placement = await state.placement(of: roomID) { [agents] in
        await agents.place(roomID: roomID, controllerID: controllerID)
      }
      guard case .success = placement else {
        roomLogger.warning("no agent for the room")
        return .failure(.noWorker)
      }
      switch await state.register(client) {
      case .registered(let placement):
        await reportState()
        roomLogger.info("client joined", metadata: [LogMetadataKey.clientID: "\(client.id)"])
        return .success(placement)
      case .connectionClosed(let roomDeleted):
        if roomDeleted { await broadcastDeleteUser(roomID: roomID, clientID: client.id) }
        return .failure(.notAuthenticated)
      case .roomGone:
        continue  // the room emptied and lost its placement while this client was placed: place again
      }
    }
    return .failure(.noWorker)
  }

  private func superserviceKey() -> String? {
    if !settings.superserviceKey.isEmpty { return settings.superserviceKey }
    if let key = cachedKey.withLock({ $0 }) { return key }
    guard let key = SuperserviceFile.read(directory: settings.nuveDataDirectory)?.key else { return nil }
    cachedKey.withLock { $0 = key }
    return key
  }

  // MARK: reconnected (spec §4.5, with the session secret of DESIGN.md §4)

  private func reconnected(_ payload: JSONValue?, connection: SocketIOConnection) async -> Result<
    (String, JSONValue), ClientError
  > {
    guard await state.client(session: connection.sessionID) == nil else { return .failure(.alreadyAuthenticated) }
    let body = payload?["data"] ?? payload
    guard let clientID = body?["clientId"]?.stringValue, let secret = body?["secret"]?.stringValue,
      let (client, previous, buffered) = await state.takeOver(clientID, secret: secret, connection: connection)
    else {
      metrics.reconnectsRefused.increment()
      return .failure(.reconnectRefused)
    }
    if let previous, previous.isOpen { previous.disconnect() }
    for event in buffered {
      if let onAck = event.onAck {
        connection.emit(event.event, [event.payload], ackTimeout: settings.clientAckTimeout, onAck: onAck)
      } else {
        connection.emit(event.event, event.payload)
      }
    }
    logger.info("client reconnected", metadata: [LogMetadataKey.clientID: "\(clientID)"])
    return .success(("success", ["roomId": .string(client.roomID), "clientId": .string(client.id)]))
  }

  // MARK: Requests (spec §4.3)

  private func request(_ method: String, _ payload: JSONValue?, connection: SocketIOConnection) async -> Result<
    (String, JSONValue), ClientError
  > {
    guard let client = await state.client(session: connection.sessionID) else { return .failure(.notAuthenticated) }
    guard Self.relayedRequests.contains(method) else { return .failure(.unknownRequest) }
    let data: JSONValue
    switch payload {
    case .object(let object)?:
      switch object["data"] {
      case .object?: data = object["data"]!
      case nil where method == "getRouterRtpCapabilities": data = .object([:])
      default: return .failure(.invalidPayload)
      }
    case nil where method == "getRouterRtpCapabilities": data = .object([:])
    default: return .failure(.invalidPayload)
    }
    return await perform(method, data, client: client)
  }

  /// A request of spec §4.3 for an authenticated client, from Socket.IO or from a WHIP/WHEP
  /// session: relayed to the room's agent, with the controller's part of `join`.
  func perform(_ method: String, _ data: JSONValue, client: ClientRecord) async -> Result<
    (String, JSONValue), ClientError
  > {
    if method == "applyNetworkThrottle" || method == "resetNetworkThrottle" {
      guard let secret = data["secret"]?.stringValue, !secret.isEmpty else { return .failure(.throttleRefused) }
    }
    guard let placement = await state.placement(ofRoom: client.roomID) else {
      return .failure(ClientError(1000, "user's room undefuned", disconnects: true))
    }
    if !client.agentClientReady, method != "getRouterRtpCapabilities" {
      // The agent makes its client on getRouterRtpCapabilities; do it for clients that skip it.
      switch await relay("getRouterRtpCapabilities", .object([:]), client: client, placement: placement) {
      case .success(("success", _)): await state.markAgentClientReady(client.id)
      case let other: return other
      }
    }
    let result = await relay(method, data, client: client, placement: placement)
    guard case .success(("success", _)) = result else { return result }
    switch method {
    case "getRouterRtpCapabilities":
      await state.markAgentClientReady(client.id)
    case "produce":
      await state.countProducer(client.id, 1)
    case "closeProducer":
      await state.countProducer(client.id, -1)
    case "join":
      guard
        let (me, peers, others) = await state.join(
          client.id, displayName: data["displayName"]?.stringValue, device: data["device"])
      else { return .failure(.notAuthenticated) }
      for other in others { other.emit("newPeer", ["data": me]) }
      return .success(("success", ["data": ["peers": .array(peers)]]))
    default:
      break
    }
    return result
  }

  private func relay(_ method: String, _ data: JSONValue, client: ClientRecord, placement: Placement) async -> Result<
    (String, JSONValue), ClientError
  > {
    let reply: JSONValue
    do {
      reply = try await bus.call(
        BusTopology.agentQueue(placement.agentID), method: "handleUserRequest",
        args: [
          .string(client.roomID), .string(client.id), .string(client.userName), .string(method), data,
        ], timeout: bus.defaultTimeout)
    } catch {
      return .failure(.rpcTimeout)
    }
    guard let retEvent = reply["retEvent"]?.stringValue else { return .failure(.agentError) }
    return .success((retEvent, reply["data"] ?? .object([:])))
  }

  // MARK: Departures

  /// Removes a client once: tells the others (`peerClosed`) and the agents (`deleteUser`).
  func teardown(_ clientID: String, disconnect: Bool) async {
    guard let departure = await state.remove(clientID) else { return }
    let client = departure.client
    for other in departure.others { other.emit("peerClosed", ["data": ["peerId": .string(client.id)]]) }
    for event in client.buffered { event.onAck?(nil) }
    if disconnect, let connection = client.connection, connection.isOpen { connection.disconnect() }
    await broadcastDeleteUser(roomID: client.roomID, clientID: client.id)
    await reportState()
    logger.info(
      "client left", metadata: [LogMetadataKey.clientID: "\(client.id)", LogMetadataKey.roomID: "\(client.roomID)"])
  }

  private func broadcastDeleteUser(roomID: String, clientID: String) async {
    do {
      try await bus.broadcast(
        topic: BusTopology.agentTopic, method: "deleteUser", args: [.string(roomID), .string(clientID)])
    } catch {
      logger.warning("cannot tell the agents about a departure", metadata: [LogMetadataKey.error: "\(error.message)"])
    }
  }

  /// The state reported to Nuve: 0 when draining or above the room limit, 1 above the warning
  /// level, else 2 (spec §11).
  func reportState() async {
    let rooms = await state.roomCount
    let value: Int
    if draining.load(ordering: .relaxed) || rooms > settings.limitRooms {
      value = 0
    } else if rooms >= settings.warningRooms {
      value = 1
    } else {
      value = 2
    }
    metrics.rooms.record(rooms)
    metrics.clients.record(await state.clientCount)
    await nuve.report(state: value)
  }
}

/// The controller's fixed metric handles, made once (as `BusMetrics` does for the bus); the counters
/// with per-event dimensions are made where they are counted.
struct ControllerMetrics: Sendable {
  let requestsWithoutAck = Counter(label: "erizo_controller_requests_without_ack_total")
  let reconnectsRefused = Counter(label: "erizo_controller_reconnects_refused_total")
  let rooms = Gauge(label: "erizo_controller_rooms")
  let clients = Gauge(label: "erizo_controller_clients")
}
