internal import AMQPRPC
internal import ErizoCore
internal import ErizoWire
internal import Foundation
internal import Logging
internal import Metrics
internal import ORTC

/// The agent's behaviour behind its bus methods (spec §7, §8): placing rooms on workers, the
/// agent-side clients of `handleUserRequest`, cleanup on `deleteUser`/`handleEcDown`, a worker's
/// death, and the drain.
actor AgentCore {
  let agentID: String
  let pool: WorkerPool
  let bus: any RPCBus
  let routerCapabilities: JSONValue
  let routerRtpCapabilities: RtpCapabilities
  let throttleSecret: String
  let media: MediaAddresses
  let logger: Logger
  var rooms = AgentRooms()
  private(set) var draining = false
  private var placing: [String: Task<AgentRooms.Room?, Never>] = [:]
  let metrics = AgentMetrics()
  /// Transport failures the workers reported (monotonic).
  var iceDisconnections = 0
  var dtlsFailures = 0

  init(
    agentID: String, pool: WorkerPool, bus: any RPCBus, mediaCodecs: [JSONValue], throttleSecret: String,
    media: MediaAddresses, logger: Logger
  ) throws(ORTCError) {
    self.throttleSecret = throttleSecret
    self.media = media
    self.agentID = agentID
    self.pool = pool
    self.bus = bus
    routerRtpCapabilities = try RouterCapabilities.generate(mediaCodecs: mediaCodecs)
    routerCapabilities = routerRtpCapabilities.json
    self.logger = logger
  }

  var roomCount: Int { rooms.count }
  var clientCount: Int { rooms.clientCount }

  /// The figures of `getStats` and the gauges (refreshed by the agent's service every 2 s).
  var statistics: JSONValue {
    let counts = rooms.mediaCounts
    let scores = rooms.meanScores
    return [
      "rooms": .int(rooms.count), "clients": .int(rooms.clientCount), "transports": .int(counts.transports),
      "producers": .int(counts.producers), "consumers": .int(counts.consumers),
      "iceDisconnections": .int(iceDisconnections), "dtlsFailures": .int(dtlsFailures),
      "produceScore": .double(scores.produce), "consumeScore": .double(scores.consume),
    ]
  }

  func recordGauges() {
    let counts = rooms.mediaCounts
    metrics.rooms.record(rooms.count)
    metrics.clients.record(rooms.clientCount)
    metrics.transports.record(counts.transports)
    metrics.producers.record(counts.producers)
    metrics.consumers.record(counts.consumers)
    let scores = rooms.meanScores
    metrics.produceScore.record(scores.produce)
    metrics.consumeScore.record(scores.consume)
  }

  func startDraining() { draining = true }

  // MARK: placement

  /// `getMediasoupWork [roomId, ecId]`: the room's router, made on the least-loaded worker the
  /// first time; concurrent calls for one room share that one placement. A draining agent or one
  /// without a running worker refuses with an error reply instead of staying silent.
  func placeRoom(_ roomID: String, controllerID: String) async -> JSONValue {
    if let room = rooms.room(roomID) { return placementReply(room) }
    guard !draining else {
      metrics.placementsRefused.increment()
      return Self.error("the agent is draining", 2005)
    }
    let task: Task<AgentRooms.Room?, Never>
    if let running = placing[roomID] {
      task = running
    } else {
      task = Task { await self.createRoom(roomID, controllerID: controllerID) }
      placing[roomID] = task
    }
    let room = await task.value
    placing[roomID] = nil
    guard let room else { return Self.error("no media worker could take the room", 2005) }
    return placementReply(room)
  }

  private func createRoom(_ roomID: String, controllerID: String) async -> AgentRooms.Room? {
    for _ in 0..<2 {
      guard let worker = await pool.leastLoaded(mediaLoad: rooms.mediaLoadByWorker) else { return nil }
      let routerID = UUID().uuidString.lowercased()
      do {
        try await pool.createRouter(on: worker, routerID: routerID)
      } catch {
        logger.warning(
          "router creation failed", metadata: ["agent.worker": "\(worker)", "error": "\(error.reason)"])
        continue
      }
      var room = AgentRooms.Room(id: roomID, controllerID: controllerID, worker: worker, routerID: routerID)
      // The reference's active-speaker observer: {maxEntries 1, threshold -80, interval 800}.
      let observerID = UUID().uuidString.lowercased()
      if (try? await pool.request(
        on: worker, "router.createAudioLevelObserver", handlerID: routerID,
        data: ["rtpObserverId": .string(observerID), "maxEntries": 1, "threshold": -80, "interval": 800])) != nil
      {
        room.observerID = observerID
      }
      rooms.add(room)
      logger.info(
        "room placed",
        metadata: [LogMetadataKey.roomID: "\(roomID)", "agent.worker": "\(worker)", "agent.router": "\(routerID)"])
      return room
    }
    return nil
  }

  private func placementReply(_ room: AgentRooms.Room) -> JSONValue {
    ["roomId": .string(room.id), "agentId": .string(agentID), "routerId": .string(room.routerID)]
  }

  // MARK: clients

  /// `handleUserRequest [roomId, clientId, userName, method, data]` → `{retEvent, data}` (spec §4.3).
  func handleUserRequest(roomID: String, clientID: String, userName: String, method: String, data: JSONValue)
    async -> JSONValue
  {
    guard AgentRequests.known.contains(method) else { return Self.error("unknown request.method", 1004) }
    guard let room = rooms.room(roomID) else { return Self.error("can't find room", 2001) }
    if method == "getRouterRtpCapabilities" {
      _ = rooms.ensureClient(clientID, userName: userName, inRoom: roomID)
      return Self.success(routerCapabilities)
    }
    guard let client = room.clients[clientID] else { return Self.error("user not find", 2002) }
    switch method {
    case "join":
      var capabilities: RtpCapabilities?
      if let json = data["rtpCapabilities"], json != .null {
        do {
          capabilities = try RtpCapabilities(json: json)
        } catch {
          return Self.error("invalid rtpCapabilities: \(error.message)", 2000)
        }
      }
      switch rooms.join(
        clientID, inRoom: roomID, rtpCapabilities: capabilities, sctpCapabilities: data["sctpCapabilities"])
      {
      case .joined:
        // Consumers for every producer of the peers already joined; after the reply, as the
        // client answers `newConsumer` requests concurrently.
        Task { await self.consumeExistingProducers(roomID: roomID, clientID: clientID) }
        return Self.success([:])
      case .alreadyJoined: return Self.error("user joined", 2003)
      case .noRoom: return Self.error("can't find room", 2001)
      case .noClient: return Self.error("user not find", 2002)
      }
    case "createWebRtcTransport":
      return await createWebRtcTransport(room: room, clientID: clientID, data: data)
    case "connectWebRtcTransport", "restartIce", "getTransportStats":
      return await transportRequest(method, room: room, client: client, data: data)
    case "produce":
      return await produce(room: room, client: client, data: data)
    case "closeProducer", "pauseProducer", "resumeProducer", "getProducerStats":
      return await producerRequest(method, room: room, client: client, data: data)
    case "pauseConsumer", "resumeConsumer", "setConsumerPreferredLayers", "setConsumerPriority",
      "requestConsumerKeyFrame", "getConsumerStats":
      return await consumerRequest(method, room: room, client: client, data: data)
    case "applyNetworkThrottle", "resetNetworkThrottle":
      guard !throttleSecret.isEmpty, data["secret"]?.stringValue == throttleSecret else {
        return Self.error("operation NOT allowed", 1002)
      }
      // The reference shapes the host's traffic with `tc`; this agent does not touch the host's
      // network, and says so with the same code.
      return Self.error("network throttling is not available on this agent", 1002)
    default:
      return AgentRequests.dataChannelRequest(method, joined: client.joined)
    }
  }

  /// `deleteUser [roomId, clientId]`: closes the client's transports (and so its producers, whose
  /// consumers are closed and their owners told) and forgets it; an empty room has its router closed.
  func deleteUser(roomID: String, clientID: String) async {
    if let room = rooms.room(roomID), let client = room.clients[clientID] {
      for transportID in client.transports.keys {
        _ = try? await pool.request(on: room.worker, "transport.close", handlerID: transportID)
      }
    }
    guard let room = rooms.removeClient(clientID, fromRoom: roomID) else { return }
    await close(room, reason: "empty")
  }

  /// `handleEcDown [ecId]`: the controller is gone, and so are its rooms.
  func controllerDown(_ controllerID: String) async {
    for room in rooms.removeRooms(where: { $0.controllerID == controllerID }) {
      await close(room, reason: "controller down")
    }
  }

  /// A worker died: its rooms are gone. Their controller disconnects the room's clients
  /// (`deleteRoom`), so they rejoin and get a room on a live worker.
  func workerDied(routers: Set<String>) async {
    let gone = rooms.removeRooms { routers.contains($0.routerID) }
    for room in gone {
      logger.warning("room lost with its media worker", metadata: [LogMetadataKey.roomID: "\(room.id)"])
      do {
        _ = try await bus.call(
          BusTopology.controllerQueue(room.controllerID), method: "deleteRoom", args: [.string(room.id)],
          timeout: .seconds(5))
      } catch {
        logger.warning(
          "controller not told of a lost room", metadata: [LogMetadataKey.roomID: "\(room.id)", "error": "\(error)"])
      }
    }
  }

  private func close(_ room: AgentRooms.Room, reason: String) async {
    await pool.closeRouter(room.routerID)
    logger.info("room closed", metadata: [LogMetadataKey.roomID: "\(room.id)", "agent.reason": "\(reason)"])
  }

  /// Closes every room (shutdown after the drain).
  func closeAll() async {
    for room in rooms.removeRooms(where: { _ in true }) { await close(room, reason: "agent stopping") }
  }

  static func success(_ data: JSONValue) -> JSONValue { ["retEvent": "success", "data": ["data": data]] }
  static func error(_ message: String, _ code: Int) -> JSONValue {
    ["retEvent": "error", "data": ["errmsg": .string(message), "errcode": .int(code)]]
  }
}

/// The request set of spec §4.3.
enum AgentRequests {
  static let known: Set<String> = [
    "getRouterRtpCapabilities", "createWebRtcTransport", "join", "connectWebRtcTransport", "restartIce", "produce",
    "closeProducer", "pauseProducer", "resumeProducer", "pauseConsumer", "resumeConsumer",
    "setConsumerPreferredLayers", "setConsumerPriority", "requestConsumerKeyFrame", "produceData",
    "getTransportStats", "getProducerStats", "getConsumerStats", "getDataProducerStats", "getDataConsumerStats",
    "applyNetworkThrottle", "resetNetworkThrottle",
  ]

  /// DataChannels (SCTP) come with a later milestone of the worker: there are no data producers
  /// or consumers yet, so these requests miss with the reference's codes.
  static func dataChannelRequest(_ method: String, joined: Bool) -> JSONValue {
    switch method {
    case "produceData":
      return joined
        ? AgentCore.error("DataChannels are not available yet", 2000) : AgentCore.error("Peer not yet joined", 2003)
    case "getDataProducerStats": return AgentCore.error("can't find dataProducer", 2003)
    default: return AgentCore.error("can't find dataConsumer", 2003)
    }
  }

}
