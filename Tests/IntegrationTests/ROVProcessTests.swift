import AMQPRPC
import ErizoCore
import ErizoTesting
import Foundation
import Testing

/// `erizo rov` as a process next to Nuve, a controller and a real agent over RabbitMQ: its
/// `/metrics` counts the rooms, clients, publishers and subscribers the test makes through the
/// Socket.IO protocol, falls back when they leave, and marks a stopped agent as down. Part of the
/// serialized controller suite (same virtual host).
extension ControllerProcessTests {
  static func metrics(port: Int) -> [String: Double] {
    let text = HTTPProbe.body("http://127.0.0.1:\(port)/metrics")
    var values: [String: Double] = [:]
    for line in text.split(separator: "\n") where !line.hasPrefix("#") {
      let parts = line.split(separator: " ")
      if parts.count == 2, let value = Double(parts[1]) { values[String(parts[0])] = value }
    }
    return values
  }

  @Test(.timeLimit(.minutes(3)))
  func rovCountsWhatClientsDoAndFallsBack() async throws {
    let cluster = try ControllerCluster.start()
    defer { cluster.stopAll() }
    let port = Int.random(in: 30_000..<40_000)
    let controller = try cluster.launchController(port: port)
    defer { cluster.stop(controller) }
    let agent = try AgentUnderTest.launch(workers: 1)
    defer { agent.stop() }
    let rovPort = Int.random(in: 45_000..<46_000)
    var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("ERIZO_") }
    environment["RABBITMQ_URL"] = testControllerRabbitMQURL!
    environment["ERIZO_ROV_PORT"] = String(rovPort)
    environment["ERIZO_ROV_STATS_PERIOD"] = "1000"
    let rov = Process()
    rov.executableURL = ErizoProcessTests.erizo
    rov.arguments = ["rov"]
    rov.environment = environment
    rov.standardOutput = FileHandle.nullDevice
    rov.standardError = FileHandle.nullDevice
    try rov.run()
    defer { NuveProcessTests.stop(rov) }

    #expect(
      await eventually(timeout: .seconds(20)) {
        let values = Self.metrics(port: rovPort)
        return values["erizo_cluster_nuve_up"] == 1 && values["mediasoup_active_erizojs_processes"] == 1
      }, "ROV sees Nuve and the agent's worker")

    // Two clients in one room: one publishes video, the other joins and consumes it.
    let (_, tokens) = try cluster.tokens(2)
    var clients: [SocketIOTestClient] = []
    for (index, token) in tokens.enumerated() {
      let client = try SocketIOTestClient(.v4WebSocket)
      _ = try await client.connect(port: port)
      _ = try await client.send(["op": "ack_policy", "event": "newConsumer", "reply": ["success", ["data": [:]]]])
      #expect(try await client.call("token", ["token": .string(token)]).first == "success")
      let capabilities = try await client.call("getRouterRtpCapabilities", ["data": [:]])
      let transport = try await client.call(
        "createWebRtcTransport", ["data": ["producing": .bool(index == 0), "consuming": .bool(index == 1)]])
      #expect(transport.first == "success", "\(transport)")
      let joined = try await client.call(
        "join", ["data": ["displayName": .string("p\(index)"), "rtpCapabilities": capabilities.last?["data"] ?? .null]])
      #expect(joined.first == "success", "\(joined)")
      if index == 0 {
        let produced = try await client.call(
          "produce",
          [
            "data": [
              "transportId": transport.last?["data"]?["id"] ?? .null, "kind": "video",
              "rtpParameters": [
                "mid": "0", "codecs": [["mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000]],
                "encodings": [["ssrc": 4321]],
              ],
            ]
          ])
        #expect(produced.first == "success", "\(produced)")
      }
      clients.append(client)
    }
    #expect(
      await eventually(timeout: .seconds(20)) {
        let values = Self.metrics(port: rovPort)
        return values["mediasoup_active_rooms"] == 1 && values["mediasoup_active_clients"] == 2
          && values["mediasoup_total_publishers"] == 1 && values["mediasoup_total_subscribers"] == 1
      }, "\(Self.metrics(port: rovPort).filter { $0.key.hasPrefix("mediasoup_") })")

    // Every role's own /metrics carries its swift-metrics, and every exposition is valid Prometheus
    // text (promtool's only finding: the reference's camelCase `mediasoup_rpcCost`, kept for
    // existing dashboards).
    #expect(Self.metrics(port: port)["erizo_controller_clients"] == 2)
    #expect(Self.metrics(port: agent.healthPort)["erizo_agent_producers"] != nil)
    #expect(Self.metrics(port: cluster.nuvePort)["erizo_bus_requests_served_total"] != nil)
    if FileManager.default.isExecutableFile(atPath: "/usr/bin/promtool") {
      for target in [rovPort, port, agent.healthPort, cluster.nuvePort] {
        let check = Process()
        check.executableURL = URL(fileURLWithPath: "/bin/sh")
        check.arguments = ["-c", "curl -s http://127.0.0.1:\(target)/metrics | promtool check metrics 2>&1"]
        let pipe = Pipe()
        check.standardOutput = pipe
        try check.run()
        let findings = String(decoding: pipe.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
          .split(separator: "\n").filter { !$0.contains("mediasoup_rpcCost") && !$0.isEmpty }
        check.waitUntilExit()
        #expect(findings.isEmpty, "port \(target): \(findings)")
      }
    }

    // Every metric the alert rules use is one ROV exports.
    let rules = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("rov/alerts.yml")
    let exported = Set(Self.metrics(port: rovPort).keys.map { String($0.prefix { $0 != "{" }) })
    let expressions = try String(contentsOf: rules, encoding: .utf8).split(separator: "\n")
      .filter { $0.contains("expr:") }
    #expect(expressions.count >= 9)
    for expression in expressions {
      let names = expression.split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == "_") })
        .filter { $0.hasPrefix("erizo_") || $0.hasPrefix("mediasoup_") }.map(String.init)
      #expect(!names.isEmpty && names.allSatisfy(exported.contains), "\(expression) uses \(names)")
    }

    // Everyone leaves: the totals fall back.
    for client in clients { _ = try await client.send(["op": "disconnect"]) }
    #expect(
      await eventually(timeout: .seconds(20)) {
        let values = Self.metrics(port: rovPort)
        return values["mediasoup_active_rooms"] == 0 && values["mediasoup_active_clients"] == 0
          && values["mediasoup_total_publishers"] == 0 && values["mediasoup_total_subscribers"] == 0
      }, "\(Self.metrics(port: rovPort).filter { $0.key.hasPrefix("mediasoup_") })")

    // A stopped agent is reported down instead of keeping its last values.
    agent.stop()
    #expect(
      await eventually(timeout: .seconds(20)) {
        let values = Self.metrics(port: rovPort)
        return values.contains { $0.key.hasPrefix("erizo_cluster_role_up{role=\"agent\"") && $0.value == 0 }
          && values["mediasoup_active_erizojs_processes"] == 0
      })
  }
}
