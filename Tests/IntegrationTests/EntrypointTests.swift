import AMQPRPC
import ErizoCore
import ErizoTesting
import Foundation
import Testing

/// The container entrypoint (`docker/entrypoint.sh`) run as it is, outside a container: the
/// reference flags pick the roles, the reference environment variables configure them, and the
/// script execs `erizo` so SIGTERM reaches it. Part of the serialized controller suite (its Nuve
/// and agent live on the controller tests' virtual host).
extension ControllerProcessTests {
  static var entrypoint: String {
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
      .deletingLastPathComponent().appendingPathComponent("docker/entrypoint.sh").path
  }

  /// Runs the entrypoint with `arguments`; output goes to a file read by `log()`.
  static func launchEntrypoint(_ arguments: [String], environment extra: [String: String]) throws -> (
    Process, log: () -> String
  ) {
    var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("ERIZO_") }
    // The script runs `erizo` from PATH, as in the image.
    environment["PATH"] = ErizoProcessTests.binDirectory.path + ":" + (environment["PATH"] ?? "/usr/bin:/bin")
    environment.merge(extra) { _, new in new }
    let log = FileManager.default.temporaryDirectory.appendingPathComponent("entrypoint-\(UUID()).log").path
    _ = FileManager.default.createFile(atPath: log, contents: nil)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: entrypoint)
    process.arguments = arguments
    process.environment = environment
    process.standardOutput = FileHandle(forWritingAtPath: log)
    process.standardError = FileHandle(forWritingAtPath: log)
    try process.run()
    return (process, { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" })
  }

  @Test(.timeLimit(.minutes(2)))
  func entrypointStartsTheFlaggedRolesWithTheReferenceEnvironment() async throws {
    let mongo = try #require(ProcessInfo.processInfo.environment["TEST_MONGO_ADDRESS"], "TEST_MONGO_ADDRESS")
    let base = Int.random(in: 20_000..<29_000)
    let (nuvePort, controllerPort, agentPort) = (base, base + 1, base + 2)
    // The reference's URL form (no `//`), with the tests' virtual host.
    let url = testControllerRabbitMQURL!.replacingOccurrences(of: "amqp://", with: "amqp:")
    let (process, log) = try Self.launchEntrypoint(
      ["--nuve", "--erizoController", "--erizoAgent"],
      environment: [
        "RABBITMQ_URL": url, "MONGO_URL": "\(mongo)/entrypoint_\(base)", "PUBLIC_IP": "127.0.0.1",
        "WARING_N_ROOM": "0", "LIMIT_N_ROOM": "7", "RTCMINPORT": "41000", "RTCMAXPORT": "41999",
        "ERIZO_NUVE_PORT": String(nuvePort), "ERIZO_CONTROLLER_LISTEN_PORT": String(controllerPort),
        "ERIZO_AGENT_PORT": String(agentPort), "ERIZO_AGENT_NUM_WORKERS": "1",
        "ERIZO_NUVE_SUPERSERVICE_ID": "5f0000000000000000000001", "ERIZO_NUVE_SUPERSERVICE_KEY": "entrypoint-key",
      ])
    defer { NuveProcessTests.stop(process) }

    for port in [nuvePort, controllerPort, agentPort] {
      let ready = await eventually(timeout: .seconds(20), interval: .milliseconds(200)) {
        HTTPProbe.status("http://127.0.0.1:\(port)/readyz") == 200
      }
      #expect(ready, "port \(port) ready: \(log())")
    }
    let output = log()
    // exec: the entrypoint's process is erizo itself, so the pod's SIGTERM reaches it.
    let executable = try FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(process.processIdentifier)/exe")
    #expect(executable.hasSuffix("/erizo"), "\(executable)")
    #expect(output.contains("erizo.roles=nuve+controller+agent"))
    #expect(output.contains("using MongoDB"), "MONGO_URL picks MongoDB")

    let probe = RabbitMQBusMaker(endpoint: Self.endpoint).makeBus().0
    try await withRunningBuses([probe]) { _ in
      // The controller registered with the address of PUBLIC_IP; with WARING_N_ROOM=0 its empty
      // room list is already past the warning level, so it reports state 1 instead of 2.
      let controllers = try await probe.call("nuve", method: "getErizoControllers", args: nil, timeout: .seconds(5))
      let mine = controllers.arrayValue?.first
      #expect(mine?["ip"] == "127.0.0.1", "\(controllers)")
      #expect(
        await eventually {
          let list = try? await probe.call("nuve", method: "getErizoControllers", args: nil, timeout: .seconds(5))
          return list?.arrayValue?.first?["state"] == 1
        }, "WARING_N_ROOM reaches the controller")
      // The agent announces PUBLIC_IP and gives its worker the RTCMINPORT–RTCMAXPORT range.
      let agents = try await probe.broadcastCollecting(
        topic: "ErizoAgent", method: "getErizoAgents", args: [], window: .seconds(1))
      let agent = try #require(agents.first { $0["info"]?["ip"] == "127.0.0.1" }, "\(agents)")
      let id = try #require(agent["info"]?["id"]?.stringValue)
      let stats = try await probe.call("ErizoAgent_\(id)", method: "getStats", args: [], timeout: .seconds(5))
      let worker = try #require(stats["workers"]?.arrayValue?.first?["pid"]?.intValue)
      let commandLine = try String(contentsOfFile: "/proc/\(worker)/cmdline", encoding: .utf8)
      #expect(
        commandLine.contains("--rtcMinPort=41000") && commandLine.contains("--rtcMaxPort=41999"), "\(commandLine)")
    }

    process.terminate()
    process.waitUntilExit()
    #expect(process.terminationStatus == 0, "SIGTERM stops every role cleanly: \(log())")
  }

  @Test(.timeLimit(.minutes(1)))
  func entrypointFlagsAndCommands() async throws {
    // The database and broker flags of the reference image are refused with a pointer.
    let (mongo, mongoLog) = try Self.launchEntrypoint(["--rabbitmq", "--nuve"], environment: [:])
    mongo.waitUntilExit()
    #expect(mongo.terminationStatus == 64)
    #expect(mongoLog().contains("run RabbitMQ and MongoDB as their own services"))
    let (unknown, _) = try Self.launchEntrypoint(["--erizocontroller"], environment: [:])
    unknown.waitUntilExit()
    #expect(unknown.terminationStatus == 64, "flags are case-sensitive, as in the reference")

    // `--ROV` alone runs ROV; an erizo subcommand passes through.
    let port = Int.random(in: 29_000..<30_000)
    let (rov, rovLog) = try Self.launchEntrypoint(
      ["--ROV"], environment: ["RABBITMQ_URL": testControllerRabbitMQURL!, "ERIZO_ROV_PORT": String(port)])
    defer { NuveProcessTests.stop(rov) }
    #expect(await eventually(timeout: .seconds(15)) { HTTPProbe.status("http://127.0.0.1:\(port)/readyz") == 200 })
    #expect(rovLog().contains("erizo.roles=rov"))
    rov.terminate()
    rov.waitUntilExit()
    #expect(rov.terminationStatus == 0)
    let (config, configLog) = try Self.launchEntrypoint(["erizo", "config"], environment: ["LIMIT_N_ROOM": "-1"])
    config.waitUntilExit()
    #expect(config.terminationStatus == 78, "bad reference variables are refused: \(configLog())")
    #expect(configLog().contains("LIMIT_N_ROOM"))
  }
}
