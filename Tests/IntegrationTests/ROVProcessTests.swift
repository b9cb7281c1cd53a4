import AMQPRPC
import ErizoCore
import ErizoTesting
import Foundation
import Testing

/// `erizo rov` as a process next to Nuve, a controller and a real agent over RabbitMQ, and a real
/// Prometheus scraping ROV and every role on loopback: the rooms, clients, publishers and
/// subscribers the test makes through the Socket.IO protocol reach Prometheus's query API and fall
/// back when the clients leave; every query of the Grafana dashboard and every alert rule names
/// exported metrics; a stopped agent is marked down. Part of the serialized controller suite (same
/// virtual host).
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

  /// The Erizo metric names an expression uses (PromQL functions, keywords and labels are not).
  static func metricNames(_ expression: String) -> [String] {
    expression.split(whereSeparator: { !($0.isLetter || $0.isNumber || $0 == "_") })
      .filter { $0.hasPrefix("erizo_") || $0.hasPrefix("mediasoup_") || $0.hasPrefix("process_") }.map(String.init)
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
    let rovPort = LoopbackPort.free()
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
    #expect(Self.metrics(port: rovPort)["mediasoup_produce_score"] == 10, "10 while nothing is measured")

    let jobs = [
      ("erizo-rov", rovPort), ("erizo-nuve", cluster.nuvePort), ("erizo-controller", port),
      ("erizo-agent", agent.healthPort),
    ]
    let prometheus = try PrometheusUnderTest(jobs: jobs)
    defer { prometheus.stop() }
    #expect(
      await eventually(timeout: .seconds(30)) { prometheus.query("up == 1").result.count == jobs.count },
      "Prometheus scrapes ROV and the three roles: \(prometheus.query("up").result)")
    /// What Prometheus last scraped of the four reference gauges.
    @Sendable func counts() -> [Double?] {
      [
        "mediasoup_active_rooms", "mediasoup_active_clients", "mediasoup_total_publishers",
        "mediasoup_total_subscribers",
      ]
      .map { prometheus.value($0) }
    }

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
    // One room, two clients, one producer, one consumer: as Prometheus has them.
    #expect(await eventually(timeout: .seconds(20)) { counts() == [1, 2, 1, 1] }, "\(counts())")

    // Every role's own /metrics carries its swift-metrics, and every exposition is valid Prometheus
    // text (promtool's only finding: the reference's camelCase `mediasoup_rpcCost`, kept for
    // existing dashboards).
    #expect(Self.metrics(port: port)["erizo_controller_clients"] == 2)
    #expect(Self.metrics(port: agent.healthPort)["erizo_agent_producers"] != nil)
    #expect(Self.metrics(port: cluster.nuvePort)["erizo_bus_requests_served_total"] != nil)
    // promtool comes with Debian's prometheus, which scripts/install-deps installs.
    #expect(FileManager.default.isExecutableFile(atPath: "/usr/bin/promtool"), "promtool is missing")
    do {
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

    // Every metric the alert rules and the dashboard use is one that ROV or a role exports, and
    // every dashboard query runs on the real Prometheus and finds series.
    let exported = Set(
      [rovPort, port, agent.healthPort, cluster.nuvePort].flatMap { Self.metrics(port: $0).keys }.map {
        String($0.prefix { $0 != "{" })
      })
    let rovDirectory = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("rov")
    let rules = try String(contentsOf: rovDirectory.appendingPathComponent("alerts.yml"), encoding: .utf8)
      .split(separator: "\n").filter { $0.contains("expr:") }.map(String.init)
    #expect(rules.count >= 11)
    let dashboard = try JSONValue(
      parsing: Array(Data(contentsOf: rovDirectory.appendingPathComponent("grafana/erizo.json"))))
    var panels: [[String]] = []
    for panel in dashboard["panels"]?.arrayValue ?? [] {
      let expressions = (panel["targets"]?.arrayValue ?? []).compactMap { $0["expr"]?.stringValue }
      if !expressions.isEmpty { panels.append(expressions) }
    }
    let queries = panels.flatMap { $0 }
    #expect(queries.count >= 30)
    // Families that exist only after their first event (a labelled counter has no series before).
    let eventDriven: Set = ["erizo_bus_call_timeouts_total"]
    for expression in rules + queries {
      let names = Self.metricNames(expression)
      #expect(
        !names.isEmpty && names.allSatisfy { exported.contains($0) || eventDriven.contains($0) },
        "\(expression) uses \(names)")
    }
    // Rates need two scrapes in their window. Every query runs; every panel shows series.
    try await Task.sleep(for: .seconds(3))
    for panel in panels {
      var series = 0
      for query in panel {
        let answer = prometheus.query(query.replacingOccurrences(of: "$__rate_interval", with: "1m"))
        #expect(answer.status == "success", "dashboard query \(query): \(answer)")
        series += answer.result.count
      }
      #expect(series > 0, "the panel of \(panel) shows nothing")
    }

    // Everyone leaves: the totals fall back, in Prometheus too.
    for client in clients { _ = try await client.send(["op": "disconnect"]) }
    #expect(await eventually(timeout: .seconds(20)) { counts() == [0, 0, 0, 0] }, "\(counts())")

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
