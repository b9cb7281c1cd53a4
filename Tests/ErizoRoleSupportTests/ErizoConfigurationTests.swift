import ErizoCore
import ErizoRoleSupport
import Foundation
import Testing

@Suite("Role configuration")
struct ErizoConfigurationTests {
  static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent()

  @Test func defaultsMatchTheReference() throws {
    let config = try ErizoConfiguration.load(json: nil, environment: [:])
    #expect(config.nuve.port == 3000)
    #expect(config.controller.listenPort == 8080)
    #expect(config.controller.warningRooms == 15)
    #expect(config.controller.limitRooms == 20)
    #expect(config.rov.port == 3005)
    #expect(config.rov.statsPeriod == .seconds(20))
    #expect(config.rov.statsPrefix == "mediasoup_")
    #expect(config.agent.rtcMinPort == 40000 && config.agent.rtcMaxPort == 49999)
    #expect(config.bus.url == nil && config.bus.heartbeat == 8 && config.bus.rpcTimeout == .seconds(10))
    #expect(config.nuve.tokenLifetime == .seconds(180))
  }

  @Test func referenceEnvironmentVariables() throws {
    let config = try ErizoConfiguration.load(
      json: nil,
      environment: [
        "RABBITMQ_URL": "amqp:test:123456@rabbit:5672", "MONGO_URL": "mongodb/nuvedb", "PUBLIC_IP": "192.0.2.7",
        "RTCMINPORT": "41000", "RTCMAXPORT": "41999", "MEDIASOUP_LISTEN_IP": "0.0.0.0",
        "MEDIASOUP_ANNOUNCED_IP": "198.51.100.1", "WARING_N_ROOM": "5", "LIMIT_N_ROOM": "8",
        "NETWORK_THROTTLE_SECRET": "s3",
      ])
    #expect(config.bus.url == AMQPEndpoint(host: "rabbit", port: 5672, user: "test", password: "123456"))
    #expect(config.nuve.databaseURL == "mongodb/nuvedb")
    #expect(config.controller.publicIP == "192.0.2.7" && config.agent.publicIP == "192.0.2.7")
    #expect(config.agent.rtcMinPort == 41000 && config.agent.rtcMaxPort == 41999)
    #expect(config.agent.listenIP == "0.0.0.0" && config.agent.announcedIP == "198.51.100.1")
    #expect(config.controller.warningRooms == 5 && config.controller.limitRooms == 8)
    #expect(config.agent.throttleSecret == "s3")
  }

  @Test(arguments: [
    (["RTCMINPORT": "45000", "RTCMAXPORT": "44000"], "rtcMinPort"),
    (["PUBLIC_IP": "not-an-ip"], "PUBLIC_IP"),
    (["RABBITMQ_URL": "amqp://h:0"], "RABBITMQ_URL"),
    (["ERIZO_LOG_LEVEL": "loud"], "ERIZO_LOG_LEVEL"),
    (["ERIZO_NUVE_SUPERSERVICE_ID": "xyz"], "superserviceID"),
    (["ERIZO_NUVE_PROT": "1"], "ERIZO_NUVE_PROT"),
  ])
  func invalidValuesFailNamingTheKey(_ environment: [String: String], _ named: String) {
    do {
      _ = try ErizoConfiguration.load(json: nil, environment: environment)
      Issue.record("accepted \(environment)")
    } catch {
      #expect(error.message.contains(named), "\(error.message) should name \(named)")
    }
  }

  @Test func sampleConfigLoadsCleanly() throws {
    let sample = Self.packageRoot.appendingPathComponent("erizo.sample.json").path
    let config = try ErizoConfiguration.load(file: sample, environment: [:])
    #expect(config.nuve.port == 3000)
  }

  /// docs/configuration.md holds exactly the table the code describes (regenerate with `make docs`).
  @Test func documentationListsEveryKey() throws {
    let config = try ErizoConfiguration.load(json: nil, environment: [:])
    let doc = try String(contentsOf: Self.packageRoot.appendingPathComponent("docs/configuration.md"), encoding: .utf8)
    #expect(doc.contains(config.markdownTable), "docs/configuration.md is out of date: run `make docs`")
    #expect(config.keys.count >= 30)
  }
}
