import AMQPRPC
import ErizoCore
import ErizoTesting
import Foundation
import Synchronization
import Testing

/// `erizo agent` as a process with its `erizo-worker`s, driven over RabbitMQ the way a controller
/// drives it. Part of the serialized controller suite: the agent listens on the shared `ErizoAgent`
/// queue and topic of the controller tests' virtual host.
extension ControllerProcessTests {
  @Test(.timeLimit(.minutes(2)))
  func agentAnswersTheRPCAPI() async throws {
    let agent = try AgentUnderTest.launch(workers: 2)
    defer { agent.stop() }
    let probe = RabbitMQBusMaker(endpoint: Self.endpoint).makeBus().0
    try await withRunningBuses([probe]) { _ in
      let id = try await agent.waitForID(on: probe)
      let queue = "ErizoAgent_\(id)"
      let info = try await probe.call(queue, method: "getErizoAgents", args: [], timeout: .seconds(5))
      #expect(info["info"]?["rpc_id"] == .string(queue))
      #expect(info["info"]?["ip"] == "127.0.0.1", "PUBLIC_IP is the announced address")
      #expect(info["info"]?["state"] == 1)
      #expect(info["metadata"]?["test"] == .string(agent.tag))
      #expect(
        try await probe.call(queue, method: "getWorkerInfo", args: [], timeout: .seconds(5))["info"]?.arrayValue?.count
          == 2)

      // Placement: one router per room, shared by concurrent first calls, spread over the workers.
      let room = "room-\(UUID().uuidString.prefix(8))"
      let placements = try await withThrowingTaskGroup(of: JSONValue.self) { group in
        for _ in 0..<4 {
          group.addTask {
            try await probe.call(
              queue, method: "getMediasoupWork", args: [.string(room), "ec-1"], timeout: .seconds(5))
          }
        }
        return try await group.reduce(into: [JSONValue]()) { $0.append($1) }
      }
      let routers = Set(placements.compactMap { $0["routerId"]?.stringValue })
      #expect(routers.count == 1, "\(placements)")
      #expect(placements.allSatisfy { $0["agentId"] == .string(id) && $0["roomId"] == .string(room) })
      let other = try await probe.call(
        queue, method: "getMediasoupWork", args: ["room-b", "ec-1"], timeout: .seconds(5))
      let stats = try await probe.call(queue, method: "getStats", args: [], timeout: .seconds(5))
      #expect(other["routerId"] != placements[0]["routerId"])
      #expect(stats["workers"]?.arrayValue?.map { $0["routers"] } == [1, 1], "least-loaded worker: \(stats)")

      // The request set: the reference's errcodes, answered at once.
      func request(_ method: String, client: String = "c1", room: String = room, data: JSONValue = [:]) async throws
        -> JSONValue
      {
        try await probe.call(
          queue, method: "handleUserRequest", args: [.string(room), .string(client), "alice", .string(method), data],
          timeout: .seconds(5))
      }
      #expect(try await request("join", room: "nowhere")["data"]?["errcode"] == 2001)
      #expect(try await request("join")["data"]?["errcode"] == 2002, "no client before getRouterRtpCapabilities")
      let capabilities = try await request("getRouterRtpCapabilities")
      #expect(capabilities["retEvent"] == "success")
      let codecs = capabilities["data"]?["data"]?["codecs"]?.arrayValue ?? []
      let mimeTypes = Set(codecs.compactMap { $0["mimeType"]?.stringValue })
      #expect(mimeTypes.isSuperset(of: ["audio/opus", "video/VP8", "video/rtx"]), "\(mimeTypes)")
      #expect(try await request("produce", data: ["transportId": "t"])["data"]?["errcode"] == 2003, "not joined")
      #expect(try await request("join", data: ["displayName": "Alice"])["retEvent"] == "success")
      // A real transport on the room's worker, with ICE-lite parameters, a candidate and fingerprints.
      let transport = try await request("createWebRtcTransport", data: ["producing": true, "consuming": false])
      #expect(transport["retEvent"] == "success", "\(transport)")
      let created = transport["data"]?["data"]
      #expect(created?["iceParameters"]?["iceLite"] == true)
      #expect(created?["iceCandidates"]?.arrayValue?.first?["ip"] == "127.0.0.1")
      #expect(created?["dtlsParameters"]?["fingerprints"]?.arrayValue?.count == 5)
      #expect(created?["iceCandidates"]?.arrayValue?.map { $0["protocol"] } == ["udp"], "UDP unless forced")
      let transportID = try #require(created?["id"]?.stringValue)
      // forceTcp: UDP off and TCP on, one passive TCP candidate.
      let tcp = try await request("createWebRtcTransport", data: ["forceTcp": true, "consuming": true])
      let tcpCandidates = tcp["data"]?["data"]?["iceCandidates"]?.arrayValue ?? []
      #expect(tcpCandidates.count == 1 && tcpCandidates.first?["protocol"] == "tcp", "\(tcp)")
      #expect(tcpCandidates.first?["tcpType"] == "passive", "\(tcp)")
      let counted = try await probe.call(queue, method: "getStats", args: [], timeout: .seconds(5))
      #expect(counted["transports"] == 2 && counted["producers"] == 0 && counted["clients"] == 1, "\(counted)")
      let badProduce = try await request(
        "produce", data: ["transportId": .string(transportID), "kind": "video", "rtpParameters": ["codecs": "x"]])
      #expect(badProduce["data"]?["errcode"] == 2000, "invalid RTP parameters get an error reply: \(badProduce)")
      let unsupported = try await request(
        "produce",
        data: [
          "transportId": .string(transportID), "kind": "video",
          "rtpParameters": ["codecs": [["mimeType": "video/AV2", "payloadType": 100, "clockRate": 90000]]],
        ])
      #expect(unsupported["data"]?["errcode"] == 2000)
      #expect(try await request("join")["data"]?["errmsg"] == "user joined")
      #expect(try await request("produce", data: ["transportId": "t"])["data"]?["errcode"] == 2004)
      #expect(try await request("pauseConsumer", data: ["consumerId": "x"])["data"]?["errmsg"] == "can't find consumer")
      #expect(try await request("connectWebRtcTransport", data: ["transportId": "t"])["data"]?["errcode"] == 2003)
      #expect(try await request("applyNetworkThrottle", data: ["secret": "wrong"])["data"]?["errcode"] == 1002)
      #expect(try await request("nope")["data"]?["errcode"] == 1004)
      let malformed = try await probe.call(queue, method: "handleUserRequest", args: [1, 2], timeout: .seconds(5))
      #expect(malformed["data"]?["errcode"] == 2000)

      // deleteUser (a broadcast without reply) closes the emptied room and its router.
      try await probe.broadcast(topic: "ErizoAgent", method: "deleteUser", args: [.string(room), "c1"])
      try await probe.broadcast(topic: "ErizoAgent", method: "handleEcDown", args: ["ec-1"])
      #expect(
        await eventually {
          (try? await probe.call(queue, method: "getErizoAgents", args: [], timeout: .seconds(5)))?["info"]?["rooms"]
            == 0
        })
    }
  }

  @Test(.timeLimit(.minutes(2)))
  func workerCrashReplacesOnlyThatWorker() async throws {
    let agent = try AgentUnderTest.launch(workers: 2)
    defer { agent.stop() }
    let probe = RabbitMQBusMaker(endpoint: Self.endpoint).makeBus().0
    let told = Mutex<[String]>([])
    try await withRunningBuses([probe]) { _ in
      // The probe plays the rooms' controller, which the agent tells about lost rooms.
      await probe.serve(queue: "erizoController_ec-crash") { request in
        if request.method == "deleteRoom", let room = request.positionalArgs.first?.stringValue {
          told.withLock { $0.append(room) }
        }
        return .data("Success")
      }
      let id = try await agent.waitForID(on: probe)
      let queue = "ErizoAgent_\(id)"
      for room in ["crash-a", "crash-b"] {
        _ = try await probe.call(
          queue, method: "getMediasoupWork", args: [.string(room), "ec-crash"], timeout: .seconds(5))
      }
      let before = try await probe.call(queue, method: "getStats", args: [], timeout: .seconds(5))
      let workers = before["workers"]?.arrayValue ?? []
      #expect(workers.map { $0["routers"] } == [1, 1])
      let victim = try #require(workers.first?["pid"]?.intValue)
      let survivor = try #require(workers.last?["pid"]?.intValue)
      kill(pid_t(victim), SIGKILL)
      let killedAt = ContinuousClock.now

      #expect(
        await eventually(timeout: .seconds(2)) {
          let stats = try? await probe.call(queue, method: "getStats", args: [], timeout: .seconds(1))
          let list = stats?["workers"]?.arrayValue ?? []
          return list.count == 2 && list.allSatisfy { $0["running"] == true } && list.first?["pid"] != .int(victim)
        }, "the dead worker is replaced within 2 s")
      #expect(ContinuousClock.now - killedAt < .seconds(2))
      #expect(await eventually { told.withLock { $0 }.count == 1 })
      #expect(told.withLock { $0 } == ["crash-a"], "only the dead worker's room is closed")
      let after = try await probe.call(queue, method: "getStats", args: [], timeout: .seconds(5))
      #expect(after["workers"]?.arrayValue?.last?["pid"] == .int(survivor), "the other worker kept running")
      #expect(after["rooms"] == 1)
      // The lost room can be placed again, on a live worker.
      let again = try await probe.call(
        queue, method: "getMediasoupWork", args: ["crash-a", "ec-crash"], timeout: .seconds(5))
      #expect(again["routerId"]?.stringValue != nil)
      #expect(agent.process.isRunning, "the agent never exits because a worker died")
    }
  }
}

extension ControllerProcessTests {
  /// SIGTERM to a controller and to the agent holding a live room: both turn unready at once, take
  /// no new room, keep serving the room's client, and exit once that client has left.
  @Test(.timeLimit(.minutes(3)))
  func controllerAndAgentDrainWithLiveRooms() async throws {
    let cluster = try ControllerCluster.start()
    defer { cluster.stopAll() }
    let port = Int.random(in: 30_000..<40_000)
    let controller = try cluster.launchController(port: port, extra: ["ERIZO_CONTROLLER_DRAIN_TIMEOUT": "60"])
    defer { cluster.stop(controller) }
    let agents = try (0..<2).map { _ in
      try AgentUnderTest.launch(workers: 1, extra: ["ERIZO_AGENT_DRAIN_TIMEOUT": "60"])
    }
    defer { for agent in agents { agent.stop() } }
    let probe = RabbitMQBusMaker(endpoint: Self.endpoint).makeBus().0
    try await withRunningBuses([probe]) { _ in
      var ids: [String] = []
      for agent in agents { ids.append(try await agent.waitForID(on: probe)) }
      try await Task.sleep(for: .milliseconds(2500))  // the controller polls both agents

      let (room, tokens) = try cluster.tokens(1)
      let client = try SocketIOTestClient(.v4WebSocket)
      _ = try await client.connect(port: port)
      #expect(try await client.call("token", ["token": .string(tokens[0])]).first == "success")
      let capabilities = try await client.call("getRouterRtpCapabilities", ["data": [:]])
      #expect(capabilities.first == "success", "\(capabilities)")
      #expect(try await client.call("join", ["data": ["displayName": "Dana"]]).first == "success")
      // Which agent holds the room: the one that reports it.
      var host: Int?
      for (index, id) in ids.enumerated() {
        let stats = try await probe.call("ErizoAgent_\(id)", method: "getStats", args: [], timeout: .seconds(5))
        if stats["rooms"] == 1 { host = index }
      }
      let hostIndex = try #require(host, "one agent holds the room")
      let hostAgent = agents[hostIndex]
      #expect(HTTPProbe.status("http://127.0.0.1:\(port)/readyz") == 200)
      #expect(hostAgent.status("/readyz") == 200)

      controller.terminate()
      hostAgent.process.terminate()
      #expect(
        await eventually(timeout: .seconds(1)) {
          HTTPProbe.status("http://127.0.0.1:\(port)/readyz") == 503 && hostAgent.status("/readyz") == 503
        }, "readiness turns false at once")
      #expect(HTTPProbe.status("http://127.0.0.1:\(port)/healthz") == 200, "alive while draining")

      // No new rooms: the agent refuses a placement, the controller a new room.
      let refused = try await probe.call(
        "ErizoAgent_\(ids[hostIndex])", method: "getMediasoupWork", args: ["another-room", "ec"], timeout: .seconds(5))
      #expect(refused["routerId"] == nil && refused["retEvent"] == "error", "\(refused)")
      let info = try await probe.call(
        "ErizoAgent_\(ids[hostIndex])", method: "getErizoAgents", args: [], timeout: .seconds(5))
      #expect(info["info"]?["state"] == 0)
      let (_, otherTokens) = try cluster.tokens(1)
      let late = try SocketIOTestClient(.v4WebSocket)
      _ = try await late.connect(port: port)
      let lateAnswer = try await late.call("token", ["token": .string(otherTokens[0])])
      #expect(lateAnswer.first == "error" && lateAnswer.last?["errcode"] == 1005, "\(lateAnswer)")

      // The live room goes on: nobody is cut while draining.
      try await Task.sleep(for: .seconds(2))
      #expect(controller.isRunning && hostAgent.process.isRunning)
      #expect(try await client.isConnected())
      #expect(try await client.call("getRouterRtpCapabilities", ["data": [:]]).first == "success")
      let users = try cluster.nuve("GET", "/rooms/\(room)/users")
      #expect(users.status == 200 && users.body.contains(#""name":"user0""#), "the controller still lists it: \(users)")

      // The last client leaves: both processes exit, cleanly.
      _ = try await client.send(["op": "disconnect"])
      let deadline = ContinuousClock.now + .seconds(15)
      while controller.isRunning || hostAgent.process.isRunning, ContinuousClock.now < deadline {
        try await Task.sleep(for: .milliseconds(100))
      }
      #expect(!controller.isRunning && controller.terminationStatus == 0)
      #expect(!hostAgent.process.isRunning && hostAgent.process.terminationStatus == 0, "\(hostAgent.logText)")
      #expect(agents[1 - hostIndex].process.isRunning, "the other agent is untouched")
    }
  }
}

extension ControllerProcessTests {
  /// `newConsumer` goes to each joined peer through the room's controller; only a `"success"` ack
  /// resumes the consumer (and brings its first `consumerScore`); producer pause and close reach
  /// every consumer's owner.
  @Test(.timeLimit(.minutes(2)))
  func newConsumerAckSemantics() async throws {
    let agent = try AgentUnderTest.launch(workers: 1)
    defer { agent.stop() }
    let probe = RabbitMQBusMaker(endpoint: Self.endpoint).makeBus().0
    let events = Mutex<[(client: String, event: String, data: JSONValue)]>([])
    try await withRunningBuses([probe]) { _ in
      await probe.serve(queue: "erizoController_ec-ack") { request in
        let args = request.positionalArgs
        guard request.method == "forwordSingleMsgToClient", args.count == 3, let client = args[0].stringValue,
          let event = args[2].stringValue
        else { return .none }
        events.withLock { $0.append((client, event, args[1]["data"] ?? .null)) }
        return .data(
          client == "refuser"
            ? ["event": "error", "msg": ["errmsg": "no thanks", "errcode": 403]]
            : ["event": "success", "msg": ["data": [:]]])
      }
      let id = try await agent.waitForID(on: probe)
      let queue = "ErizoAgent_\(id)"
      _ = try await probe.call(queue, method: "getMediasoupWork", args: ["ack-room", "ec-ack"], timeout: .seconds(5))
      func request(_ client: String, _ method: String, _ data: JSONValue = [:]) async throws -> JSONValue {
        let reply = try await probe.call(
          queue, method: "handleUserRequest", args: ["ack-room", .string(client), "u", .string(method), data],
          timeout: .seconds(5))
        #expect(reply["retEvent"] == "success", "\(client) \(method): \(reply)")
        return reply["data"]?["data"] ?? .null
      }
      var capabilities: JSONValue = .null
      for client in ["acceptor", "refuser", "publisher"] {
        capabilities = try await request(client, "getRouterRtpCapabilities")
        _ = try await request(
          client, "createWebRtcTransport",
          ["producing": .bool(client == "publisher"), "consuming": .bool(client != "publisher")])
        _ = try await request(client, "join", ["displayName": .string(client), "rtpCapabilities": capabilities])
      }
      let transports = try await probe.call(queue, method: "getStats", args: [], timeout: .seconds(5))
      #expect(transports["transports"] == 3)
      // The publisher's transport id: create another and use it (the first one's id was not kept).
      let sending = try await request("publisher", "createWebRtcTransport", ["producing": true, "consuming": false])
      let produced = try await request(
        "publisher", "produce",
        [
          "transportId": sending["id"] ?? .null, "kind": "video",
          "rtpParameters": [
            "mid": "0", "codecs": [["mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000]],
            "encodings": [["ssrc": 1234]], "headerExtensions": [],
          ],
        ])
      let producerID = try #require(produced["id"]?.stringValue)
      #expect(
        await eventually {
          events.withLock { list in Set(list.filter { $0.event == "newConsumer" }.map(\.client)) } == [
            "acceptor", "refuser",
          ]
        })
      let offer = try #require(events.withLock { list in list.first { $0.event == "newConsumer" }?.data })
      #expect(offer["producerId"] == .string(producerID) && offer["kind"] == "video" && offer["type"] == "simple")
      #expect(offer["appData"]?["peerId"] == "publisher")
      #expect(offer["rtpParameters"]?["codecs"]?.arrayValue?.first?["mimeType"] == "video/VP8")
      #expect(offer["rtpParameters"]?["mid"] == "0")
      #expect(
        await eventually {
          events.withLock { list in list.contains { $0.client == "acceptor" && $0.event == "consumerScore" } }
        },
        "the accepted consumer is resumed and scored")
      try await Task.sleep(for: .milliseconds(500))
      #expect(
        !events.withLock { list in list.contains { $0.client == "refuser" && $0.event == "consumerScore" } },
        "a refused consumer stays paused")

      // The rest of the request set succeeds on real objects.
      let consumerID = try #require(
        events.withLock { list in list.first { $0.client == "acceptor" && $0.event == "newConsumer" }?.data["id"] })
      for (method, data) in [
        ("pauseConsumer", ["consumerId": consumerID]), ("resumeConsumer", ["consumerId": consumerID]),
        ("setConsumerPriority", ["consumerId": consumerID, "priority": 5]),
        ("setConsumerPreferredLayers", ["consumerId": consumerID, "spatialLayer": 0]),
        ("requestConsumerKeyFrame", ["consumerId": consumerID]),
      ] as [(String, JSONValue)] {
        _ = try await request("acceptor", method, data)
      }
      let consumerStats = try await request("acceptor", "getConsumerStats", ["consumerId": consumerID])
      #expect(consumerStats.arrayValue?.first?["type"] == "outbound-rtp", "\(consumerStats)")
      let producerStats = try await request("publisher", "getProducerStats", ["producerId": .string(producerID)])
      #expect(producerStats.arrayValue?.first?["type"] == "inbound-rtp", "\(producerStats)")
      let transportStats = try await request("publisher", "getTransportStats", ["transportId": sending["id"] ?? .null])
      #expect(transportStats.arrayValue?.first?["type"] == "webrtc-transport", "\(transportStats)")
      let restarted = try await request("publisher", "restartIce", ["transportId": sending["id"] ?? .null])
      #expect(restarted["usernameFragment"]?.stringValue?.count == 32 && restarted["iceLite"] == true)
      let fingerprint: JSONValue = [
        "algorithm": "sha-256", "value": .string(Array(repeating: "AB", count: 32).joined(separator: ":")),
      ]
      _ = try await request(
        "publisher", "connectWebRtcTransport",
        ["transportId": sending["id"] ?? .null, "dtlsParameters": ["role": "client", "fingerprints": [fingerprint]]])
      let twice = try await probe.call(
        queue, method: "handleUserRequest",
        args: [
          "ack-room", "publisher", "u", "connectWebRtcTransport",
          [
            "transportId": sending["id"] ?? .null, "dtlsParameters": ["role": "client", "fingerprints": [fingerprint]],
          ],
        ], timeout: .seconds(5))
      #expect(twice["data"]?["errcode"] == 2000, "a second connect is refused with the worker's reason: \(twice)")
      let badPriority = try await probe.call(
        queue, method: "handleUserRequest",
        args: ["ack-room", "acceptor", "u", "setConsumerPriority", ["consumerId": consumerID, "priority": 0]],
        timeout: .seconds(5))
      #expect(badPriority["data"]?["errcode"] == 2000)
      _ = try await request("publisher", "pauseProducer", ["producerId": .string(producerID)])
      _ = try await request("publisher", "closeProducer", ["producerId": .string(producerID)])
      #expect(
        await eventually {
          events.withLock { list in
            Set(list.filter { $0.event == "consumerPaused" }.map(\.client)) == ["acceptor", "refuser"]
              && Set(list.filter { $0.event == "consumerClosed" }.map(\.client)) == ["acceptor", "refuser"]
          }
        }, "\(events.withLock { $0.map { "\($0.client) \($0.event)" } })")
      let after = try await probe.call(queue, method: "getStats", args: [], timeout: .seconds(5))
      #expect(after["producers"] == 0 && after["consumers"] == 0, "\(after)")
    }
  }
}

extension ControllerProcessTests {
  /// Peers that join and produce at the same moment, as a room does when everyone arrives at once:
  /// every peer gets exactly one consumer of every other peer's producer, whichever of `join` and
  /// `produce` the agent handles first (a producer made while another peer joined was missed).
  @Test(.timeLimit(.minutes(2)))
  func concurrentJoinsAndProducesMakeEveryConsumerOnce() async throws {
    let agent = try AgentUnderTest.launch(workers: 1)
    defer { agent.stop() }
    let probe = RabbitMQBusMaker(endpoint: Self.endpoint).makeBus().0
    let offers = Mutex<[(client: String, producer: String)]>([])
    try await withRunningBuses([probe]) { _ in
      await probe.serve(queue: "erizoController_ec-race") { request in
        let args = request.positionalArgs
        guard request.method == "forwordSingleMsgToClient", args.count == 3, let client = args[0].stringValue else {
          return .none
        }
        if args[2] == "newConsumer", let producer = args[1]["data"]?["producerId"]?.stringValue {
          offers.withLock { $0.append((client, producer)) }
        }
        return .data(["event": "success", "msg": ["data": [:]]])
      }
      let id = try await agent.waitForID(on: probe)
      let queue = "ErizoAgent_\(id)"
      _ = try await probe.call(queue, method: "getMediasoupWork", args: ["race-room", "ec-race"], timeout: .seconds(5))
      @Sendable func request(_ client: String, _ method: String, _ data: JSONValue = [:]) async throws -> JSONValue {
        let reply = try await probe.call(
          queue, method: "handleUserRequest", args: ["race-room", .string(client), "u", .string(method), data],
          timeout: .seconds(5))
        guard reply["retEvent"] == "success" else {
          throw ConformanceFailure(description: "\(client) \(method): \(reply)")
        }
        return reply["data"]?["data"] ?? .null
      }
      let peers = (0..<8).map { "peer-\($0)" }
      let producers = try await withThrowingTaskGroup(of: (String, String).self) { group in
        for (index, peer) in peers.enumerated() {
          group.addTask {
            let capabilities = try await request(peer, "getRouterRtpCapabilities")
            let sending = try await request(peer, "createWebRtcTransport", ["producing": true, "consuming": false])
            _ = try await request(peer, "createWebRtcTransport", ["producing": false, "consuming": true])
            _ = try await request(peer, "join", ["displayName": .string(peer), "rtpCapabilities": capabilities])
            let produced = try await request(
              peer, "produce",
              [
                "transportId": sending["id"] ?? .null, "kind": "video",
                "rtpParameters": [
                  "mid": "0", "codecs": [["mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000]],
                  "encodings": [["ssrc": .int(1000 + index)]], "headerExtensions": [],
                ],
              ])
            return (peer, produced["id"]?.stringValue ?? "")
          }
        }
        return try await group.reduce(into: [String: String]()) { $0[$1.0] = $1.1 }
      }
      let expected = Set(
        peers.flatMap { peer in peers.filter { $0 != peer }.map { "\(peer) ← \(producers[$0] ?? "?")" } })
      #expect(await eventually { offers.withLock { $0.count } >= expected.count })
      try await Task.sleep(for: .milliseconds(500))  // a duplicate would arrive in this time
      let got = offers.withLock { $0.map { "\($0.client) ← \($0.producer)" } }
      #expect(Set(got) == expected, "missing: \(expected.subtracting(got).sorted())")
      #expect(got.count == expected.count, "duplicates: \(got.count - Set(got).count)")
    }
  }
}

/// One `erizo agent` process on the controller tests' virtual host, found by a tag in its metadata.
struct AgentUnderTest {
  let process: Process
  let tag: String
  let healthPort: Int
  let log: String

  static func launch(workers: Int, extra: [String: String] = [:]) throws -> AgentUnderTest {
    let tag = UUID().uuidString
    let healthPort = LoopbackPort.free()
    var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("ERIZO_") }
    environment["RABBITMQ_URL"] = testControllerRabbitMQURL!
    environment["PUBLIC_IP"] = "127.0.0.1"
    environment["ERIZO_AGENT_NUM_WORKERS"] = String(workers)
    environment["ERIZO_AGENT_PORT"] = String(healthPort)
    environment["ERIZO_AGENT_METADATA"] = #"{"test":"\#(tag)"}"#
    environment["ERIZO_AGENT_DRAIN_TIMEOUT"] = "1"  // a stopped test agent does not wait for its rooms
    environment.merge(extra) { _, new in new }
    let log = FileManager.default.temporaryDirectory.appendingPathComponent("agent-\(tag).log").path
    _ = FileManager.default.createFile(atPath: log, contents: nil)
    let process = Process()
    process.executableURL = ErizoProcessTests.erizo
    process.arguments = ["agent"]
    process.environment = environment
    process.standardOutput = FileHandle(forWritingAtPath: log)
    process.standardError = FileHandle(forWritingAtPath: log)
    try process.run()
    return AgentUnderTest(process: process, tag: tag, healthPort: healthPort, log: log)
  }

  /// The agent's id, from its answer to the `getErizoAgents` broadcast once it serves the bus.
  func waitForID(on bus: MessageBus) async throws -> String {
    let deadline = ContinuousClock.now + .seconds(20)
    while ContinuousClock.now < deadline {
      let replies = try await bus.broadcastCollecting(
        topic: "ErizoAgent", method: "getErizoAgents", args: [], window: .milliseconds(500))
      if let mine = replies.first(where: { $0["metadata"]?["test"] == .string(tag) }),
        let id = mine["info"]?["id"]?.stringValue
      {
        return id
      }
    }
    throw ConformanceFailure(description: "the agent did not answer getErizoAgents: \(logText)")
  }

  /// The HTTP status of one of the agent's status paths (`/healthz`, `/readyz`); 0 when it does not answer.
  func status(_ path: String) -> Int { HTTPProbe.status("http://127.0.0.1:\(healthPort)\(path)") }

  var logText: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }

  func stop() {
    NuveProcessTests.stop(process)
    if ProcessInfo.processInfo.environment["KEEP_TEST_LOGS"] == nil { try? FileManager.default.removeItem(atPath: log) }
  }
}

/// HTTP by curl, so tests need no HTTP client library.
enum HTTPProbe {
  /// The status code of a GET; 0 when nothing answers.
  static func status(_ url: String) -> Int {
    Int(curl(["-o", "/dev/null", "-w", "%{http_code}", url])) ?? 0
  }

  /// The body of a GET; empty when nothing answers.
  static func body(_ url: String) -> String { curl([url]) }

  private static func curl(_ arguments: [String]) -> String {
    let curl = Process()
    curl.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
    curl.arguments = ["-s", "--max-time", "2"] + arguments
    let pipe = Pipe()
    curl.standardOutput = pipe
    curl.standardError = FileHandle.nullDevice
    guard (try? curl.run()) != nil else { return "" }
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    curl.waitUntilExit()
    return String(decoding: output, as: UTF8.self)
  }
}
