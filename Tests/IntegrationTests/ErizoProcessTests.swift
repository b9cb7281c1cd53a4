import Foundation
import Testing

/// The `erizo` executable as a process: exit codes, help, and start/stop under SIGTERM.
@Suite("erizo process", .serialized)
struct ErizoProcessTests {
  /// Executables sit beside the test bundle in the build directory.
  static let binDirectory = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
  static var erizo: URL { binDirectory.appendingPathComponent("erizo") }

  struct Outcome {
    let status: Int32
    let output: String
  }

  static func run(_ arguments: [String], environment: [String: String] = [:], terminateAfter: Duration? = nil)
    throws -> Outcome
  {
    let process = Process()
    process.executableURL = erizo
    process.arguments = arguments
    var env = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("ERIZO_") && $0.key != "RABBITMQ_URL" }
    env.merge(environment) { _, new in new }
    process.environment = env
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    if let terminateAfter {
      Thread.sleep(forTimeInterval: Double(terminateAfter.components.seconds))
      process.terminate()  // SIGTERM
    }
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return Outcome(status: process.terminationStatus, output: String(decoding: data, as: UTF8.self))
  }

  @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: erizo.path), "build the erizo executable first"))
  func helpNamesEveryRole() throws {
    let outcome = try Self.run(["--help"])
    #expect(outcome.status == 0)
    for role in ["all", "nuve", "controller", "agent", "rov"] { #expect(outcome.output.contains("  \(role) ")) }
  }

  @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: erizo.path), "build the erizo executable first"))
  func badConfigurationExitsWith78NamingTheKey() throws {
    let unknown = try Self.run(["nuve"], environment: ["ERIZO_NUVE_PROT": "1"])
    #expect(unknown.status == 78)
    #expect(unknown.output.contains("ERIZO_NUVE_PROT"))
    let invalid = try Self.run(["agent"], environment: ["RTCMINPORT": "x"])
    #expect(invalid.status == 78)
    #expect(invalid.output.contains("RTCMINPORT"))
    let file = FileManager.default.temporaryDirectory.appendingPathComponent("erizo-bad-\(UUID()).json")
    try Data(#"{"rov":{"port":3005,"statsPerod":1000}}"#.utf8).write(to: file)
    defer { try? FileManager.default.removeItem(at: file) }
    let typo = try Self.run(["rov", "--config", file.path])
    #expect(typo.status == 78)
    #expect(typo.output.contains("rov.statsPerod"))
    let usage = try Self.run(["nuve", "--no-such-flag"])
    #expect(usage.status == 64)
  }

  @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: erizo.path), "build the erizo executable first"))
  func allStartsAndStopsCleanlyOnSIGTERM() throws {
    let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("erizo-all-\(UUID())").path
    defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
    let outcome = try Self.run(
      ["all"],
      environment: [
        "ERIZO_NUVE_DATA_DIRECTORY": dataDirectory, "ERIZO_AGENT_PORT": String(LoopbackPort.free()),
        "ERIZO_ROV_PORT": String(LoopbackPort.free()),
      ], terminateAfter: .seconds(2))
    #expect(outcome.status == 0, "exit \(outcome.status): \(outcome.output)")
    #expect(outcome.output.contains("using the in-process bus"))
    #expect(outcome.output.contains("bus connected"))
    #expect(outcome.output.contains("stopped"))
    #expect(outcome.output.contains("Nuve superservice created"), "first start prints the generated credentials")
    #expect(FileManager.default.fileExists(atPath: dataDirectory + "/superservice.json"))
  }

  @Test(.enabled(if: testRabbitMQURL != nil, "TEST_RABBITMQ_URL is not set"))
  func roleOverRabbitMQStopsCleanlyOnSIGTERM() throws {
    let outcome = try Self.run(
      ["agent"],
      environment: ["RABBITMQ_URL": testRabbitMQURL!, "ERIZO_AGENT_PORT": String(LoopbackPort.free())],
      terminateAfter: .seconds(2))
    #expect(outcome.status == 0, "exit \(outcome.status): \(outcome.output)")
    #expect(outcome.output.contains("bus connected"))
  }
}
