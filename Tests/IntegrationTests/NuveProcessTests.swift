import AMQPRPC
import ErizoCore
import ErizoTesting
import Foundation
import Testing

/// A real `erizo nuve` process over a real RabbitMQ, driven by a Licode-style Python client and by a
/// controller that registers and consumes tokens over the bus. Serialized: every Nuve process
/// consumes the shared `nuve` routing key, so only one may run at a time.
@Suite("erizo nuve process", .enabled(if: testRabbitMQURL != nil, "TEST_RABBITMQ_URL is not set"), .serialized)
struct NuveProcessTests {
  static var stores: [String] {
    ["sqlite"] + (ProcessInfo.processInfo.environment["TEST_MONGO_ADDRESS"] != nil ? ["mongodb"] : [])
  }

  @Test(.timeLimit(.minutes(2)), arguments: stores)
  func licodeClientAndControllerOverRabbitMQ(store: String) async throws {
    let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("nuve-\(UUID())").path
    defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
    let port = Int.random(in: 20_000..<30_000)
    let superID = (0..<24).map { _ in String("0123456789abcdef".randomElement()!) }.joined()
    let superKey = "it-super-key"
    let nuve = try Self.launchNuve(
      store: store, port: port, dataDirectory: dataDirectory, superservice: (superID, superKey))
    defer { Self.stop(nuve) }

    let maker = RabbitMQBusMaker(endpoint: try AMQPEndpoint(url: testRabbitMQURL!))
    let (controller, _) = maker.makeBus()
    try await withRunningBuses([controller]) { _ in
      let controllerID = try await Self.registerController(on: controller, hostname: "")
      #expect(try await controller.call("nuve", method: "keepAlive", args: .string(controllerID)) == "ok")
      // Serve the controller's queue as ErizoController does, for Nuve's users routes (spec §7).
      await controller.serve(queue: "erizoController_\(controllerID)") { request in
        switch request.method {
        case "getUsersInRoom":
          return .data([
            ["name": "alice", "ip": "127.0.0.1", "id": "c1", "agentId": "a", "channelid": "x"],
            ["name": "bob", "ip": "127.0.0.1", "id": "c2", "agentId": "a", "channelid": "y"],
          ])
        case "deleteUser":
          return .data(request.positionalArgs.first?["user"] == "bob" ? "Success" : "User does not exist")
        default:
          return .data(nil)
        }
      }
      #expect(try await controller.call("nuve", method: "keepAlive", args: "0123456789abcdef01234567") == "whoareyou")

      // The Licode-style client does the REST part and prints the token id.
      let output = try Self.python(
        [
          Self.fixture("licode_nuve_client.py"), "http://127.0.0.1:\(port)", superID, superKey, superKey,
        ])
      #expect(output.status == 0, "client failed: \(output.text)")
      let tokenID = try #require(
        output.text.split(separator: "\n").first { $0.hasPrefix("TOKEN ") }.map { String($0.dropFirst(6)) })

      // The controller consumes the token once (spec §2.3).
      let document = try await controller.call("nuve", method: "deleteToken", args: .string(tokenID))
      #expect(document["userName"] == "alice")
      #expect(document["host"] == "127.0.0.1:8080")
      #expect(try await controller.call("nuve", method: "deleteToken", args: .string(tokenID)) == "error")
      let listed = try await controller.call("nuve", method: "getErizoControllers", args: nil)
      #expect(listed.arrayValue?.contains { $0["_id"]?.stringValue == controllerID } == true)
    }
    nuve.terminate()
    nuve.waitUntilExit()
    #expect(nuve.terminationStatus == 0, "erizo nuve should exit 0 on SIGTERM")
  }

  /// Starts `erizo nuve` over the test broker on the given store; `extra` adds environment variables.
  static func launchNuve(
    store: String, port: Int, dataDirectory: String, superservice: (id: String, key: String),
    extra: [String: String] = [:]
  ) throws -> Process {
    var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("ERIZO_") }
    environment["RABBITMQ_URL"] = testRabbitMQURL!
    environment["ERIZO_NUVE_PORT"] = String(port)
    environment["ERIZO_NUVE_DATA_DIRECTORY"] = dataDirectory
    environment["ERIZO_NUVE_SUPERSERVICE_ID"] = superservice.id
    environment["ERIZO_NUVE_SUPERSERVICE_KEY"] = superservice.key
    if store == "mongodb" {
      // The reference's `host:port/db` form, one database per run.
      environment["MONGO_URL"] = "\(ProcessInfo.processInfo.environment["TEST_MONGO_ADDRESS"]!)/nuve_it_\(port)"
    }
    environment.merge(extra) { _, new in new }
    let nuve = Process()
    nuve.executableURL = ErizoProcessTests.erizo
    nuve.arguments = ["nuve"]
    nuve.environment = environment
    nuve.standardOutput = FileHandle.nullDevice
    nuve.standardError = FileHandle.nullDevice
    try nuve.run()
    return nuve
  }

  static func stop(_ process: Process) {
    guard process.isRunning else { return }
    process.terminate()
    process.waitUntilExit()
  }

  /// Registers a controller as ErizoController does at start (spec §7), retrying until Nuve serves
  /// its queue; returns the id Nuve assigned.
  static func registerController(on bus: MessageBus, hostname: String) async throws -> String {
    var reply: JSONValue = .null
    let deadline = ContinuousClock.now + .seconds(20)
    while reply["id"] == nil, ContinuousClock.now < deadline {
      reply =
        (try? await bus.call(
          "nuve", method: "addNewErizoController",
          args: ["cloudProvider": "", "ip": "127.0.0.1", "hostname": .string(hostname), "port": 8080, "ssl": false],
          timeout: .seconds(1))) ?? .null
    }
    return try #require(reply["id"]?.stringValue, "Nuve never answered addNewErizoController")
  }

  static func fixture(_ name: String) -> String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/\(name)").path
  }

  static func python(_ arguments: [String]) throws -> (status: Int32, text: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = ["python3"] + arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
  }
}
