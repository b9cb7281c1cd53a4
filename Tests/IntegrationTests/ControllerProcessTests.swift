import AMQPRPC
import ErizoCore
import ErizoTesting
import Foundation
import Testing

/// A real `erizo controller` process with Nuve over a real RabbitMQ, real python-socketio clients
/// (Engine.IO v4 over WebSocket and over polling with upgrade, Engine.IO v3 over WebSocket) and
/// agent doubles on the bus. Serialized: the tests share the virtual host's `nuve` routing key and
/// `ErizoAgent` topic.
@Suite(
  "erizo controller process",
  .enabled(if: testControllerRabbitMQURL != nil, "TEST_RABBITMQ_CONTROLLER_URL is not set"), .serialized)
struct ControllerProcessTests {
  static var endpoint: AMQPEndpoint { try! AMQPEndpoint(url: testControllerRabbitMQURL!) }

  @Test(.timeLimit(.minutes(3)), arguments: SocketIOTestClient.Flavour.allCases)
  func tokenHandshakeAndRelayedRequests(flavour: SocketIOTestClient.Flavour) async throws {
    try await Self.withController { run in
      let (cluster, port, controller, agent) = (run.cluster, run.port, run.controller, run.agents[0])
      let (room, tokens) = try cluster.tokens(4)
      let client = try SocketIOTestClient(flavour)
      #expect(try await client.connect(port: port)["connected"] == true)
      let current = try await client.send(["op": "state"])["transport"]
      #expect(current == (flavour == .v4PollingOnly ? "polling" : "websocket"), "the polling client upgrades")

      // Requests before `token` are answered, not ignored.
      let early = try await client.call("getRouterRtpCapabilities", ["data": [:]])
      #expect(early.first == "error")
      #expect(early.last?["errcode"] == 1000)

      // A forged signature: 1004 and a disconnect.
      var forged = try JSONValue.decodedToken(tokens[0])
      forged = forged.setting("signature", to: "Zm9yZ2Vk")
      let refused = try await client.call("token", ["token": forged])
      #expect(refused.first == "error")
      #expect(refused.last?["errcode"] == 1004)
      #expect(try await client.isConnected(waitForDisconnect: 5) == false)

      // A host that differs from the stored one, correctly signed: 1001 and a disconnect.
      let hostClient = try SocketIOTestClient(flavour)
      _ = try await hostClient.connect(port: port)
      let token1 = try JSONValue.decodedToken(tokens[1])
      let otherHost = "10.9.9.9:\(port)"
      let moved = token1.setting("host", to: .string(otherHost)).setting(
        "signature",
        to: .string(
          Crypto.referenceSignature(
            key: cluster.superservice.key, message: "\(token1["tokenId"]!.stringValue!),\(otherHost)")
        ))
      let wrongHost = try await hostClient.call("token", ["token": moved])
      #expect(wrongHost.last?["errcode"] == 1001)
      #expect(try await hostClient.isConnected(waitForDisconnect: 5) == false)

      // The same token again: consumed by the previous attempt, so 1002.
      let again = try SocketIOTestClient(flavour)
      _ = try await again.connect(port: port)
      #expect(try await again.call("token", ["token": .string(tokens[1])]).last?["errcode"] == 1002)

      // Success: the room of the stored token, a client id and the reconnection secret.
      let good = try SocketIOTestClient(flavour)
      _ = try await good.connect(port: port)
      let accepted = try await good.call("token", ["token": .string(tokens[2]), "roomid": "ignored"])
      #expect(accepted.first == "success", "token: \(accepted)")
      #expect(accepted.last?["roomId"] == .string(room))
      let clientID = try #require(accepted.last?["clientId"]?.stringValue)
      #expect(accepted.last?["reconnectSecret"]?.stringValue?.count == 32)
      #expect(try await good.call("token", ["token": .string(tokens[3])]).last?["errcode"] == 1007)

      // Relayed requests. createWebRtcTransport first: the controller makes the agent's client.
      let transport = try await good.call("createWebRtcTransport", ["data": ["producing": true, "consuming": false]])
      #expect(transport.first == "success")
      #expect(agent.requests.map(\.method) == ["getRouterRtpCapabilities", "createWebRtcTransport"])
      #expect(agent.requests.last?.data == ["producing": true, "consuming": false])
      #expect(agent.requests.last?.roomID == room)
      #expect(agent.requests.last?.clientID == clientID)
      #expect(agent.requests.last?.userName == "user2")
      let capabilities = try await good.call("getRouterRtpCapabilities", ["data": [:]])
      #expect(capabilities == ["success", ["codecs": [], "headerExtensions": []]])
      let connect = try await good.call(
        "connectWebRtcTransport", ["data": ["transportId": "t", "dtlsParameters": [:]]])
      #expect(connect == ["error", ["errmsg": "can't find transport", "errcode": 2003]])
      let produced = try await good.call(
        "produce", ["data": ["transportId": "t", "kind": "audio", "rtpParameters": [:]]])
      #expect(produced == ["success", ["data": ["id": .string("producer-of-\(clientID)")]]])

      // Throttling: refused by the controller without a secret, by the agent with a wrong one.
      let count = agent.requests.count
      #expect(try await good.call("applyNetworkThrottle", ["data": ["uplink": 1]]).last?["errcode"] == 1002)
      #expect(agent.requests.count == count, "refused without reaching the agent")
      #expect(try await good.call("applyNetworkThrottle", ["data": ["secret": "nope"]]).last?["errcode"] == 1002)
      #expect(try await good.call("applyNetworkThrottle", ["data": ["secret": "s3cret"]]).first == "success")

      // Bad input is answered in the protocol's error shape; the client stays connected.
      #expect(try await good.call("noSuchRequest", ["data": [:]]).last?["errcode"] == 1004)
      #expect(try await good.call("produce", nil).last?["errcode"] == 1006)
      #expect(try await good.call("produce", ["data": "text"]).last?["errcode"] == 1006)
      #expect(try await good.call("join", [1, 2, 3]).last?["errcode"] == 1006)
      #expect(try await good.isConnected())

      // A clean disconnect tears the client down: the agents hear `deleteUser` once.
      _ = try await good.send(["op": "disconnect"])
      #expect(await eventually { agent.deletedUsers.contains { $0.client == clientID } })
      try await Task.sleep(for: .milliseconds(300))
      #expect(agent.deletedUsers.filter { $0.client == clientID }.count == 1)

      // Nuve deletes the room: the controller disconnects its clients (`deleteRoom`, spec §7). The
      // 1007 answer above did not consume tokens[3].
      let last = try SocketIOTestClient(flavour)
      _ = try await last.connect(port: port)
      let lastAnswer = try await last.call("token", ["token": .string(tokens[3])])
      let lastID = try #require(lastAnswer.last?["clientId"]?.stringValue, "\(lastAnswer)")
      #expect(try cluster.nuve("DELETE", "/rooms/\(room)") == (200, "Room deleted"))
      #expect(try await last.isConnected(waitForDisconnect: 5) == false)
      #expect(await eventually { agent.deletedUsers.contains { $0.client == lastID } })
      controller.terminate()
      controller.waitUntilExit()
      #expect(controller.terminationStatus == 0, "erizo controller should exit 0 on SIGTERM")
    }
  }

  @Test(.timeLimit(.minutes(3)))
  func peersConsumersAndReconnection() async throws {
    // A short RPC timeout, so an unacknowledged event is answered after 2 s.
    try await Self.withController(extra: { _ in ["ERIZO_BUS_RPC_TIMEOUT": "3000"] }) { run in
      let (cluster, port, agent) = (run.cluster, run.port, run.agents[0])
      let (room, tokens) = try cluster.tokens(3)
      // A socket.io 2 client and a socket.io 4 client in one room.
      let alice = try SocketIOTestClient(.v3WebSocket)
      let bob = try SocketIOTestClient(.v4WebSocket)
      _ = try await alice.connect(port: port)
      _ = try await bob.connect(port: port)
      let aliceID = try #require(
        try await alice.call("token", ["token": .string(tokens[0])]).last?["clientId"]?.stringValue)
      let bobAccept = try await bob.call("token", ["token": .string(tokens[1])])
      let bobID = try #require(bobAccept.last?["clientId"]?.stringValue)
      let bobSecret = try #require(bobAccept.last?["reconnectSecret"]?.stringValue)

      let aliceJoin = try await alice.call("join", ["data": ["displayName": "Alice", "device": ["name": "py"]]])
      #expect(aliceJoin == ["success", ["data": ["peers": []]]])
      let bobJoin = try await bob.call("join", ["data": ["displayName": "Bob"]])
      #expect(
        bobJoin.last?["data"]?["peers"] == [["id": .string(aliceID), "displayName": "Alice", "device": ["name": "py"]]])
      let newPeer = try await alice.events(until: "newPeer")
      #expect(
        newPeer.filter { $0.0 == "newPeer" }.map(\.1) == [
          ["data": ["id": .string(bobID), "displayName": "Bob", "device": [:]]]
        ])

      // newConsumer: the client's ack travels back to the agent as {event, msg}.
      _ = try await bob.send(["op": "ack_policy", "event": "newConsumer", "reply": ["success", ["data": [:]]]])
      let accepted = try await agent.push("newConsumer", ["id": "c1", "kind": "audio"], to: bobID, room: room)
      #expect(accepted == ["event": "success", "msg": ["data": [:]]])
      _ = try await bob.send([
        "op": "ack_policy", "event": "newConsumer", "reply": ["error", ["errmsg": "no", "errcode": 403]],
      ])
      let refused = try await agent.push("newConsumer", ["id": "c2", "kind": "video"], to: bobID, room: room)
      #expect(refused == ["event": "error", "msg": ["errmsg": "no", "errcode": 403]])
      let unknown = try await agent.push("newConsumer", ["id": "c3"], to: "no-such-client", room: room)
      #expect(unknown == ["event": "error", "msg": ["data": [:]]])

      // Bob's connection drops: he is held, events for him are buffered.
      _ = try await bob.send(["op": "ack_policy", "event": "newConsumer", "reply": ["success", ["data": [:]]]])
      _ = try await bob.send(["op": "drop"])
      try await Task.sleep(for: .milliseconds(500))
      async let buffered = agent.push("newConsumer", ["id": "c4", "kind": "video"], to: bobID, room: room)

      // A forged takeover (the reference's bare client id, or a wrong secret) is refused.
      let mallory = try SocketIOTestClient(.v4WebSocket)
      _ = try await mallory.connect(port: port)
      #expect(try await mallory.call("reconnected", .string(bobID)).last?["errcode"] == 1004)
      #expect(
        try await mallory.call("reconnected", ["clientId": .string(bobID), "secret": "guess"]).last?["errcode"] == 1004)

      // With the secret, a new socket takes Bob over and receives what was buffered.
      let bob2 = try SocketIOTestClient(.v4WebSocket)
      _ = try await bob2.connect(port: port)
      _ = try await bob2.send(["op": "ack_policy", "event": "newConsumer", "reply": ["success", ["data": [:]]]])
      let resumed = try await bob2.call("reconnected", ["clientId": .string(bobID), "secret": .string(bobSecret)])
      #expect(resumed == ["success", ["roomId": .string(room), "clientId": .string(bobID)]])
      #expect(try await buffered == ["event": "success", "msg": ["data": [:]]])
      #expect(
        try await bob2.events(until: "newConsumer").contains { $0.0 == "newConsumer" && $0.1["data"]?["id"] == "c4" })
      #expect(try await bob2.call("getRouterRtpCapabilities", ["data": [:]]).first == "success")

      // Nuve's users routes reach the controller over the bus (spec §7).
      let users = try cluster.nuve("GET", "/rooms/\(room)/users/")
      #expect(users.status == 200)
      let names = try JSONValue(parsing: users.body).arrayValue?.compactMap { $0["name"]?.stringValue }.sorted()
      #expect(names == ["user0", "user1"])

      // A client that never acknowledges: the agent gets an error reply, not silence.
      let carol = try SocketIOTestClient(.v4WebSocket)
      _ = try await carol.connect(port: port)
      let carolID = try #require(
        try await carol.call("token", ["token": .string(tokens[2])]).last?["clientId"]?.stringValue)
      _ = try await carol.send(["op": "ack_policy", "event": "newConsumer", "reply": nil])
      let unanswered = try await agent.push("newConsumer", ["id": "c5"], to: carolID, room: room)
      #expect(unanswered["event"] == "error")
      #expect(unanswered["msg"]?["errcode"] == 408)

      // Nuve removes a user: the controller disconnects it and the others hear peerClosed.
      #expect(try cluster.nuve("DELETE", "/rooms/\(room)/users/user2") == (200, "Success"))
      #expect(try cluster.nuve("DELETE", "/rooms/\(room)/users/nobody") == (404, "User does not exist"))
      #expect(await eventually { agent.deletedUsers.contains { $0.client == carolID } })
      _ = try await bob2.events(until: "peerClosed")

      // Alice leaves cleanly: Bob hears peerClosed once for her.
      _ = try await alice.send(["op": "disconnect"])
      #expect(await eventually { agent.deletedUsers.contains { $0.client == aliceID } })
      try await Task.sleep(for: .milliseconds(500))
      let closed = try await bob2.events().filter { $0.0 == "peerClosed" }.map(\.1)
      #expect(closed.filter { $0 == ["data": ["peerId": .string(aliceID)]] }.count == 1)
      #expect(closed.filter { $0 == ["data": ["peerId": .string(carolID)]] }.count == 1)

      // Bob drops again and does not come back: after the window the agents hear deleteUser.
      _ = try await bob2.send(["op": "drop"])
      try await Task.sleep(for: .seconds(1))
      #expect(!agent.deletedUsers.contains { $0.client == bobID }, "still within the reconnection window")
      #expect(await eventually(timeout: .seconds(10)) { agent.deletedUsers.contains { $0.client == bobID } })
    }
  }

  @Test(.timeLimit(.minutes(3)))
  func placementAcrossAgentsAndFailover() async throws {
    try await Self.withController(agents: 2) { run in
      let (cluster, port, first, second) = (run.cluster, run.port, run.agents[0], run.agents[1])
      // Two rooms land on two agents (fewest rooms first).
      let roomA = try cluster.tokens(2)
      let roomB = try cluster.tokens(1)
      let a1 = try SocketIOTestClient(.v4WebSocket)
      let a2 = try SocketIOTestClient(.v4WebSocket)
      let b1 = try SocketIOTestClient(.v4WebSocket)
      for client in [a1, a2, b1] { _ = try await client.connect(port: port) }
      // The first joiners of room A race: one placement.
      async let joinA1 = a1.call("token", ["token": .string(roomA.tokens[0])])
      async let joinA2 = a2.call("token", ["token": .string(roomA.tokens[1])])
      let (answerA1, answerA2) = try await (joinA1, joinA2)
      #expect(answerA1.first == "success", "\(answerA1)")
      #expect(answerA2.first == "success", "\(answerA2)")
      #expect(first.roomCount + second.roomCount == 1, "one placement for one room")
      let answerB1 = try await b1.call("token", ["token": .string(roomB.tokens[0])])
      #expect(answerB1.first == "success", "\(answerB1)")
      #expect(first.roomCount == 1 && second.roomCount == 1, "rooms spread over the agents")

      // An agent that takes no placements: the controller tries the other one.
      let busy = first.roomCount > 0 ? first : second
      let other = busy === first ? second : first
      other.mode = .silentPlacements
      busy.mode = .silentPlacements
      let roomC = try cluster.tokens(2)
      let c1 = try SocketIOTestClient(.v4WebSocket)
      _ = try await c1.connect(port: port)
      #expect(try await c1.call("token", ["token": .string(roomC.tokens[0])]).last?["errcode"] == 1005)
      #expect(try await c1.isConnected(), "1005 does not disconnect")
      other.mode = .normal
      try await Task.sleep(for: .seconds(1))  // a poll brings the agent back into the choice
      let c2 = try SocketIOTestClient(.v4WebSocket)
      _ = try await c2.connect(port: port)
      #expect(try await c2.call("token", ["token": .string(roomC.tokens[1])]).first == "success")

      // An agent goes silent: its clients are disconnected instead of left hanging; the other
      // agent's clients stay.
      let victim = first.hosts(roomA.room) ? first : second
      let survivor = victim === first ? second : first
      victim.mode = .silent
      let rooms = [(roomA.room, [a1, a2]), (roomB.room, [b1]), (roomC.room, [c2])]
      for (room, clients) in rooms where victim.hosts(room) {
        for client in clients {
          #expect(try await client.isConnected(waitForDisconnect: 10) == false, "client of the silent agent")
        }
      }
      for (room, clients) in rooms where survivor.hosts(room) && !victim.hosts(room) {
        for client in clients { #expect(try await client.isConnected(), "client of the live agent") }
      }
    }
  }

  @Test(.timeLimit(.minutes(2)))
  func nuveSilentGives1003() async throws {
    try await Self.withController(extra: { _ in ["ERIZO_BUS_RPC_TIMEOUT": "1500"] }, agents: 0) { run in
      let (_, tokens) = try run.cluster.tokens(1)
      run.cluster.stop(run.cluster.nuve)
      let client = try SocketIOTestClient(.v4WebSocket)
      _ = try await client.connect(port: run.port)
      let answer = try await client.call("token", ["token": .string(tokens[0])])
      #expect(answer == ["error", ["errmsg": "Token check,Nuve does not respond", "errcode": 1003]])
      #expect(try await client.isConnected(waitForDisconnect: 5) == false)
    }
  }
}

extension ControllerProcessTests {
  /// A controller that knows no agent asks them at once instead of refusing until its next poll:
  /// with polls 60 s apart, a client arriving just after an agent starts is still placed (the
  /// distributed deployment's first client used to get 1005 when the agents started late).
  @Test(.timeLimit(.minutes(2)))
  func aPlacementWithNoKnownAgentAsksTheAgentsAtOnce() async throws {
    let extra = ["ERIZO_CONTROLLER_AGENT_POLL_INTERVAL": "60000"]
    try await Self.withController(extra: { _ in extra }, agents: 0) { run in
      let (_, tokens) = try run.cluster.tokens(2)
      let early = try SocketIOTestClient(.v4WebSocket)
      _ = try await early.connect(port: run.port)
      let refused = try await early.call("token", ["token": .string(tokens[0])])
      #expect(refused == ["error", ["errmsg": "get mediasoup worker failed", "errcode": 1005]])

      let agent = AgentDouble(id: "late-agent-\(run.port)", endpoint: Self.endpoint)
      try await withRunningBuses([agent.bus]) { _ in
        await agent.start()
        // Past the one-per-second limit on these broadcasts, but long before the next poll.
        try await Task.sleep(for: .milliseconds(1200))
        let client = try SocketIOTestClient(.v4WebSocket)
        _ = try await client.connect(port: run.port)
        let answer = try await client.call("token", ["token": .string(tokens[1])])
        #expect(answer.first == "success", "\(answer)")
        #expect(agent.roomCount == 1)
        _ = try await client.send(["op": "disconnect"])  // an empty room lets the controller stop at once
      }
    }
  }

  @Test(.timeLimit(.minutes(2)))
  func rateLimitAndDrain() async throws {
    let extra = ["ERIZO_CONTROLLER_TOKEN_RATE_LIMIT": "1", "ERIZO_CONTROLLER_DRAIN_TIMEOUT": "30"]
    try await Self.withController(extra: { _ in extra }) { run in
      let (cluster, port, controller) = (run.cluster, run.port, run.controller)
      let (_, tokens) = try cluster.tokens(2)
      let first = try SocketIOTestClient(.v4WebSocket)
      let second = try SocketIOTestClient(.v3WebSocket)
      _ = try await first.connect(port: port)
      _ = try await second.connect(port: port)
      #expect(try await first.call("token", ["token": .string(tokens[0])]).first == "success")
      // Over one token per second: 1000, and the socket stays open.
      let limited = try await second.call("token", ["token": .string(tokens[1])])
      #expect(limited == ["error", ["errmsg": "up to  RateLimiter", "errcode": 1000]])
      #expect(try await second.isConnected())

      // SIGTERM: the controller drains, keeping its client, and exits once the client leaves.
      controller.terminate()
      try await Task.sleep(for: .seconds(2))
      #expect(controller.isRunning, "a draining controller waits for its clients")
      #expect(try await first.call("getRouterRtpCapabilities", ["data": [:]]).first == "success")
      _ = try await first.send(["op": "disconnect"])
      let deadline = ContinuousClock.now + .seconds(10)
      while controller.isRunning, ContinuousClock.now < deadline { try await Task.sleep(for: .milliseconds(100)) }
      #expect(!controller.isRunning, "the controller exits when its last client has left")
      #expect(controller.terminationStatus == 0)
    }
  }
}

extension ControllerProcessTests {
  @Test(.timeLimit(.minutes(2)))
  func tlsWhenACertificateIsConfigured() async throws {
    let tls: @Sendable (ControllerCluster) throws -> [String: String] = { cluster in
      let certificate = cluster.dataDirectory + "/cert.pem"
      let key = cluster.dataDirectory + "/key.pem"
      let openssl = Process()
      openssl.executableURL = URL(fileURLWithPath: "/usr/bin/openssl")
      openssl.arguments = [
        "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1", "-addext",
        "subjectAltName=IP:127.0.0.1", "-keyout", key, "-out", certificate,
      ]
      openssl.standardOutput = FileHandle.nullDevice
      openssl.standardError = FileHandle.nullDevice
      try FileManager.default.createDirectory(atPath: cluster.dataDirectory, withIntermediateDirectories: true)
      try openssl.run()
      openssl.waitUntilExit()
      return [
        "ERIZO_CONTROLLER_TLS_CERTIFICATE": certificate, "ERIZO_CONTROLLER_TLS_KEY": key,
        "ERIZO_CONTROLLER_SSL": "true",
      ]
    }
    try await Self.withController(extra: tls) { run in
      let (cluster, port) = (run.cluster, run.port)
      let certificate = cluster.dataDirectory + "/cert.pem"
      let (_, tokens) = try cluster.tokens(SocketIOTestClient.Flavour.allCases.count)
      #expect(try JSONValue.decodedToken(tokens[0])["secure"] == true, "tokens say wss when the controller has TLS")
      for (index, flavour) in SocketIOTestClient.Flavour.allCases.enumerated() {
        let client = try SocketIOTestClient(flavour, trusting: certificate)
        let connected = try await client.connect(port: port, scheme: "https")
        #expect(connected["connected"] == true, "\(flavour): \(connected)")
        #expect(try await client.call("token", ["token": .string(tokens[index])]).first == "success", "\(flavour)")
      }
    }
  }
}

extension ControllerProcessTests {
  struct ControllerRun: Sendable {
    let cluster: ControllerCluster
    let port: Int
    let controller: Process
    let agents: [AgentDouble]
  }

  /// Nuve, one `erizo controller` and `agents` agent doubles on the bus; `body` runs once the
  /// controller has polled the agents a few times. `extra` gives the controller's environment.
  static func withController(
    extra: @Sendable (ControllerCluster) throws -> [String: String] = { _ in [:] }, agents count: Int = 1,
    nuve: [String: String] = [:], _ body: @Sendable (ControllerRun) async throws -> Void
  ) async throws {
    let cluster = try ControllerCluster.start(nuve: nuve)
    defer { cluster.stopAll() }
    let port = Int.random(in: 30_000..<40_000)
    let controller = try cluster.launchController(port: port, extra: try extra(cluster))
    defer { cluster.stop(controller) }
    let agents = (0..<count).map { AgentDouble(id: "agent-\($0)-\(port)", endpoint: endpoint) }
    try await withRunningBuses(agents.map(\.bus)) { _ in
      for agent in agents { await agent.start() }
      if count > 0 { try await Task.sleep(for: .milliseconds(2500)) }  // a few agent polls
      try await body(ControllerRun(cluster: cluster, port: port, controller: controller, agents: agents))
    }
  }
}

extension ControllerProcessTests {
  @Test(.timeLimit(.minutes(2)))
  func badInputIsAnsweredOrDropped() async throws {
    try await Self.withController(agents: 0) { run in
      let python = SocketIOTestClient.Flavour.v4WebSocket.python
      let process = Process()
      process.executableURL = URL(fileURLWithPath: python)
      process.arguments = [NuveProcessTests.fixture("engineio_bad_input.py"), String(run.port)]
      let pipe = Pipe()
      process.standardOutput = pipe
      process.standardError = pipe
      // The server listens a moment after the process starts.
      try await Task.sleep(for: .milliseconds(500))
      try process.run()
      let output = pipe.fileHandleForReading.readDataToEndOfFile()
      process.waitUntilExit()
      let results = try JSONValue(parsing: output)
      #expect(results["namespace"] == #"44/admin,{"message":"Invalid namespace"}"#)
      #expect(
        results["after_garbage"]
          == #"431["error",{"errcode":1000,"errmsg":"user's room undefuned: send token first"}]"#)
      #expect(results["oversize"] == 1009, "a message over maxPayload closes with 1009 (message too big)")
      #expect(results["polling_v3"] == [400, #"{"code":5,"message":"Unsupported protocol version"}"#])
      #expect(results["unknown_sid"] == [400, #"{"code":1,"message":"Session ID unknown"}"#])
      #expect(results["unknown_transport"] == [400, #"{"code":0,"message":"Transport unknown"}"#])
      #expect(results["still_serving"]?.stringValue?.hasPrefix("432[\"error\"") == true)
      #expect(run.controller.isRunning)
    }
  }

  @Test(.timeLimit(.minutes(2)))
  func registersAgainAfterWhoAreYou() async throws {
    // Nuve forgets a controller after 2 s of silence; a paused controller then hears `whoareyou`.
    try await Self.withController(nuve: ["ERIZO_NUVE_CONTROLLER_TIMEOUT": "2"]) { run in
      let (_, before) = try run.cluster.tokens(1)
      kill(run.controller.processIdentifier, SIGSTOP)
      try await Task.sleep(for: .seconds(4))
      kill(run.controller.processIdentifier, SIGCONT)
      // Registered again: Nuve hands out tokens for it, and they work.
      let (_, after) = try run.cluster.tokens(1)
      let client = try SocketIOTestClient(.v4WebSocket)
      _ = try await client.connect(port: run.port)
      #expect(try await client.call("token", ["token": .string(after[0])]).first == "success")
      #expect(try JSONValue.decodedToken(before[0])["host"] == JSONValue.decodedToken(after[0])["host"])
    }
  }
}

extension JSONValue {
  func setting(_ key: String, to value: JSONValue) -> JSONValue {
    guard case .object(var object) = self else { return self }
    object[key] = value
    return .object(object)
  }
}
