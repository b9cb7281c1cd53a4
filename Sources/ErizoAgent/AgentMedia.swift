internal import AMQPRPC
internal import ErizoCore
internal import ErizoWire
internal import Foundation
internal import Logging
internal import Metrics
internal import ORTC

/// Where the agent's media sockets listen and what they announce (spec §8.1).
struct MediaAddresses: Sendable {
  var listenIP: String
  var announcedIP: String
  /// `setMaxIncomingBitrate` after each transport is made, as the reference does.
  var maxIncomingBitrate = 1_500_000
}

/// The media requests of spec §4.3 on the agent side: transports, producers and consumers on the
/// room's worker, the ORTC rules in between, and the events their owners get (`newConsumer` with
/// resume on a `"success"` ack, `consumerClosed`/`consumerPaused`/`consumerResumed`).
extension AgentCore {
  func createWebRtcTransport(room: AgentRooms.Room, clientID: String, data: JSONValue) async -> JSONValue {
    // `forceTcp`: UDP off and TCP on (spec §4.3). Otherwise UDP, and on a worker's single port also
    // its TCP port (preferring UDP), for clients whose network blocks UDP.
    let forceTcp = data["forceTcp"] == true
    let transportID = UUID().uuidString.lowercased()
    var listen: JSONValue = ["ip": .string(media.listenIP)]
    if !media.announcedIP.isEmpty {
      listen = ["ip": .string(media.listenIP), "announcedIp": .string(media.announcedIP)]
    }
    var options: JSONValue = [
      "transportId": .string(transportID), "listenIps": [listen], "enableUdp": .bool(!forceTcp),
      "enableTcp": .bool(forceTcp),
    ]
    if let serverID = await pool.webRtcServerID(of: room.worker) {
      options = [
        "transportId": .string(transportID), "webRtcServerId": .string(serverID), "enableUdp": .bool(!forceTcp),
        "enableTcp": true, "preferUdp": true,
      ]
    }
    let dump: JSONValue
    do {
      dump = try await pool.request(
        on: room.worker, "router.createWebRtcTransport", handlerID: room.routerID, data: options)
      _ = try await pool.request(
        on: room.worker, "transport.setMaxIncomingBitrate", handlerID: transportID,
        data: ["bitrate": .int(media.maxIncomingBitrate)])
    } catch {
      return Self.error(error.reason, 2000)
    }
    let transport = AgentRooms.Transport(
      id: transportID, producing: data["producing"] == true, consuming: data["consuming"] == true)
    guard rooms.update(clientID, inRoom: room.id, { $0.transports[transportID] = transport }) else {
      _ = try? await pool.request(on: room.worker, "transport.close", handlerID: transportID)
      return Self.error("user not find", 2002)
    }
    return Self.success([
      "id": .string(transportID), "iceParameters": dump["iceParameters"] ?? .null,
      "iceCandidates": dump["iceCandidates"] ?? [], "dtlsParameters": dump["dtlsParameters"] ?? .null,
    ])
  }

  func transportRequest(_ method: String, room: AgentRooms.Room, client: AgentRooms.Client, data: JSONValue) async
    -> JSONValue
  {
    guard let transportID = data["transportId"]?.stringValue, client.transports[transportID] != nil else {
      return Self.error("can't find transport", 2003)
    }
    do {
      switch method {
      case "connectWebRtcTransport":
        guard let dtls = data["dtlsParameters"], case .object = dtls else {
          return Self.error("missing dtlsParameters", 2000)
        }
        _ = try await pool.request(
          on: room.worker, "transport.connect", handlerID: transportID, data: ["dtlsParameters": dtls])
        return Self.success([:])
      case "restartIce":
        let reply = try await pool.request(on: room.worker, "transport.restartIce", handlerID: transportID)
        return Self.success(reply["iceParameters"] ?? .null)
      default:
        return Self.success(try await pool.request(on: room.worker, "transport.getStats", handlerID: transportID))
      }
    } catch {
      return Self.error(error.reason, 2000)
    }
  }

  func produce(room: AgentRooms.Room, client: AgentRooms.Client, data: JSONValue) async -> JSONValue {
    guard client.joined else { return Self.error("Peer not yet joined", 2003) }
    guard let transportID = data["transportId"]?.stringValue, client.transports[transportID] != nil else {
      return Self.error("can't find transport", 2004)
    }
    guard let kindText = data["kind"]?.stringValue, let kind = MediaKind(rawValue: kindText) else {
      return Self.error("invalid kind", 2000)
    }
    let producerID = UUID().uuidString.lowercased()
    let mapping: RtpMapping
    var parameters: RtpParameters
    do {
      parameters = try RtpParameters(json: data["rtpParameters"] ?? .null)
      mapping = try routerRtpCapabilities.producerMapping(for: &parameters)
    } catch {
      return Self.error("invalid rtpParameters: \(error.message)", 2000)
    }
    let consumable = routerRtpCapabilities.consumableParameters(kind: kind, producer: parameters, mapping: mapping)
    var appData = data["appData"]?.objectValue ?? [:]
    appData["peerId"] = .string(client.id)
    do {
      _ = try await pool.request(
        on: room.worker, "transport.produce", handlerID: transportID,
        data: [
          "producerId": .string(producerID), "kind": .string(kindText), "rtpParameters": parameters.json,
          "rtpMapping": mapping.json, "paused": .bool(data["paused"] == true),
        ])
    } catch {
      return Self.error(error.reason, 2000)
    }
    let producer = AgentRooms.Producer(
      id: producerID, kind: kindText, transportID: transportID, consumable: consumable,
      appData: .object(appData), paused: data["paused"] == true)
    guard rooms.update(client.id, inRoom: room.id, { $0.producers[producerID] = producer }) else {
      return Self.error("user not find", 2002)
    }
    if kindText == "audio", let observerID = room.observerID {
      _ = try? await pool.request(
        on: room.worker, "rtpObserver.addProducer", handlerID: observerID, data: ["producerId": .string(producerID)])
    }
    // Every other joined peer of the room consumes it. The room is read again here, in the same
    // actor turn as the producer was stored: a peer that joined while the worker made the
    // producer is in it now, and a peer joining later finds the producer stored.
    let clients = rooms.room(room.id)?.clients ?? [:]
    let others = clients.values.filter { $0.id != client.id && $0.joined }.map(\.id)
    Task {
      for other in others { await self.createConsumer(roomID: room.id, clientID: other, producer: producer) }
    }
    return Self.success(["id": .string(producerID)])
  }

  func producerRequest(_ method: String, room: AgentRooms.Room, client: AgentRooms.Client, data: JSONValue) async
    -> JSONValue
  {
    guard client.joined || method == "getProducerStats" else { return Self.error("Peer not yet joined", 2003) }
    guard let producerID = data["producerId"]?.stringValue, client.producers[producerID] != nil else {
      return Self.error("can't find producer", method == "getProducerStats" ? 2003 : 2004)
    }
    let workerMethod =
      switch method {
      case "closeProducer": "producer.close"
      case "pauseProducer": "producer.pause"
      case "resumeProducer": "producer.resume"
      default: "producer.getStats"
      }
    do {
      let reply = try await pool.request(on: room.worker, workerMethod, handlerID: producerID)
      switch method {
      case "closeProducer": rooms.update(client.id, inRoom: room.id) { $0.producers[producerID] = nil }
      case "pauseProducer": rooms.update(client.id, inRoom: room.id) { $0.producers[producerID]?.paused = true }
      case "resumeProducer": rooms.update(client.id, inRoom: room.id) { $0.producers[producerID]?.paused = false }
      default: return Self.success(reply)
      }
      return Self.success([:])
    } catch {
      return Self.error(error.reason, 2000)
    }
  }

  func consumerRequest(_ method: String, room: AgentRooms.Room, client: AgentRooms.Client, data: JSONValue) async
    -> JSONValue
  {
    // The reference tests a misspelt flag here, so its pauseConsumer always fails; ours does not.
    guard client.joined || method == "getConsumerStats" else { return Self.error("Peer not yet joined", 2003) }
    guard let consumerID = data["consumerId"]?.stringValue, client.consumers[consumerID] != nil else {
      return Self.error("can't find consumer", method == "getConsumerStats" ? 2003 : 2004)
    }
    var body: JSONValue = [:]
    let workerMethod: String
    switch method {
    case "pauseConsumer": workerMethod = "consumer.pause"
    case "resumeConsumer": workerMethod = "consumer.resume"
    case "requestConsumerKeyFrame": workerMethod = "consumer.requestKeyFrame"
    case "setConsumerPriority":
      guard let priority = data["priority"]?.intValue, (1...255).contains(priority) else {
        return Self.error("priority must be 1-255", 2000)
      }
      workerMethod = "consumer.setPriority"
      body = ["priority": .int(priority)]
    case "setConsumerPreferredLayers":
      workerMethod = "consumer.setPreferredLayers"
      body = ["spatialLayer": data["spatialLayer"] ?? 0, "temporalLayer": data["temporalLayer"] ?? .null]
    default: workerMethod = "consumer.getStats"
    }
    do {
      let reply = try await pool.request(on: room.worker, workerMethod, handlerID: consumerID, data: body)
      return Self.success(method == "getConsumerStats" ? reply : [:])
    } catch {
      return Self.error(error.reason, 2000)
    }
  }

  /// After `join`: a consumer for each producer of every other joined peer.
  func consumeExistingProducers(roomID: String, clientID: String) async {
    guard let room = rooms.room(roomID) else { return }
    for other in room.clients.values where other.id != clientID && other.joined {
      for producer in other.producers.values {
        await createConsumer(roomID: roomID, clientID: clientID, producer: producer)
      }
    }
  }

  /// Makes a paused consumer for `clientID` of `producer` (if its capabilities can consume it and
  /// it has a consuming transport), sends `newConsumer`, and resumes it once the client acks
  /// `"success"` (spec §4.4).
  func createConsumer(roomID: String, clientID: String, producer: AgentRooms.Producer) async {
    guard let room = rooms.room(roomID), let client = room.clients[clientID], client.joined,
      let transportID = client.consumingTransport, let capabilities = client.rtpCapabilities,
      capabilities.canConsume(producer.consumable), !client.consumedProducers.contains(producer.id)
    else { return }
    rooms.update(clientID, inRoom: roomID) { _ = $0.consumedProducers.insert(producer.id) }
    guard var parameters = try? capabilities.consumerParameters(consumable: producer.consumable, enableRTX: false)
    else {
      return
    }
    var mid = 0
    rooms.update(clientID, inRoom: roomID) { client in
      mid = client.transports[transportID]?.nextMid ?? 0
      client.transports[transportID]?.nextMid = mid + 1
    }
    parameters.mid = String(mid)
    let consumerID = UUID().uuidString.lowercased()
    let reply: JSONValue
    do {
      reply = try await pool.request(
        on: room.worker, "transport.consume", handlerID: transportID,
        data: [
          "consumerId": .string(consumerID), "producerId": .string(producer.id), "kind": .string(producer.kind),
          "rtpParameters": parameters.json, "type": "simple", "paused": true,
        ])
    } catch {
      logger.warning(
        "consumer not created", metadata: ["error": "\(error.reason)", LogMetadataKey.roomID: "\(roomID)"])
      return
    }
    let consumer = AgentRooms.Consumer(id: consumerID, producerID: producer.id, transportID: transportID)
    guard rooms.update(clientID, inRoom: roomID, { $0.consumers[consumerID] = consumer }) else { return }
    let answer = await sendToClient(
      room: room, clientID: clientID, event: "newConsumer",
      payload: [
        "peerId": producer.appData["peerId"] ?? .null, "producerId": .string(producer.id), "id": .string(consumerID),
        "kind": .string(producer.kind), "rtpParameters": parameters.json, "type": "simple",
        "appData": producer.appData, "producerPaused": reply["producerPaused"] ?? .bool(producer.paused),
      ])
    guard answer?["event"] == "success" else {
      logger.info(
        "newConsumer refused or unanswered: the consumer stays paused", metadata: ["agent.consumer": "\(consumerID)"])
      return
    }
    guard (try? await pool.request(on: room.worker, "consumer.resume", handlerID: consumerID)) != nil else { return }
    // mediasoup's first score event after the resume: the latest the worker reported (10 until
    // loss is measured); later changes follow as the worker reports them.
    var score: JSONValue = .null
    rooms.update(clientID, inRoom: roomID) {
      $0.consumers[consumerID]?.resumed = true
      score = $0.consumers[consumerID]?.score ?? .null
    }
    _ = await sendToClient(
      room: room, clientID: clientID, event: "consumerScore",
      payload: ["consumerId": .string(consumerID), "score": score])
  }

  /// A worker's `score` notification: the producer's owner hears `producerScore` {producerId,
  /// score: [{encodingIdx, ssrc, score}]}, a resumed consumer's owner `consumerScore` {consumerId,
  /// score: {score, producerScore, producerScores}} (spec §4.4); both are kept for the stats.
  func score(handlerID: String, data: JSONValue) async {
    if let (room, client) = rooms.owner(ofProducer: handlerID) {
      rooms.update(client.id, inRoom: room.id) {
        $0.producers[handlerID]?.score = data.arrayValue?.first?["score"]?.intValue
      }
      _ = await sendToClient(
        room: room, clientID: client.id, event: "producerScore",
        payload: ["producerId": .string(handlerID), "score": data])
    } else if let (room, client) = rooms.owner(ofConsumer: handlerID) {
      rooms.update(client.id, inRoom: room.id) { $0.consumers[handlerID]?.score = data }
      guard client.consumers[handlerID]?.resumed == true else { return }
      _ = await sendToClient(
        room: room, clientID: client.id, event: "consumerScore",
        payload: ["consumerId": .string(handlerID), "score": data])
    }
  }

  /// A worker's notification about one of its objects: the owners of consumers hear of their
  /// producer's pause, resume and close.
  func workerNotification(handlerID: String, event: String, data: JSONValue) async {
    let clientEvent: String
    switch event {
    case "volumes", "silence":
      await activeSpeaker(observerID: handlerID, volumes: event == "volumes" ? data : nil)
      return
    case "score":
      await score(handlerID: handlerID, data: data)
      return
    case "icestatechange":
      if data["iceState"] == "disconnected" {
        iceDisconnections += 1
        metrics.iceDisconnections.increment()
      }
      return
    case "dtlsstatechange":
      if data["dtlsState"] == "failed" {
        dtlsFailures += 1
        metrics.dtlsFailures.increment()
      }
      return
    case "producerpause": clientEvent = "consumerPaused"
    case "producerresume": clientEvent = "consumerResumed"
    case "producerclose": clientEvent = "consumerClosed"
    default: return
    }
    guard let (room, client) = rooms.owner(ofConsumer: handlerID) else { return }
    if event == "producerclose" { rooms.update(client.id, inRoom: room.id) { $0.consumers[handlerID] = nil } }
    _ = await sendToClient(
      room: room, clientID: client.id, event: clientEvent, payload: ["consumerId": .string(handlerID)])
  }

  /// `activeSpeaker {peerId, volume}` (or `{peerId: null}` on silence) to every joined peer of the
  /// room (spec §4.4).
  func activeSpeaker(observerID: String, volumes: JSONValue?) async {
    guard let room = rooms.room(ofObserver: observerID) else { return }
    var payload: JSONValue = ["peerId": .null]
    if let loudest = volumes?.arrayValue?.first, let producerID = loudest["producerId"]?.stringValue,
      let owner = room.clients.values.first(where: { $0.producers[producerID] != nil })
    {
      payload = ["peerId": .string(owner.id), "volume": loudest["volume"] ?? .null]
    }
    // Concurrently: the controller answers each call only when its client acks (or gives up).
    for client in room.clients.values where client.joined {
      Task { _ = await self.sendToClient(room: room, clientID: client.id, event: "activeSpeaker", payload: payload) }
    }
  }

  /// `forwordSingleMsgToClient [clientId, {data}, event]` on the room's controller; the client's ack
  /// as `{event, msg}`, or nil when the controller does not answer.
  func sendToClient(room: AgentRooms.Room, clientID: String, event: String, payload: JSONValue) async -> JSONValue? {
    try? await bus.call(
      BusTopology.controllerQueue(room.controllerID), method: "forwordSingleMsgToClient",
      args: [.string(clientID), ["data": payload], .string(event)], timeout: .seconds(10))
  }
}
