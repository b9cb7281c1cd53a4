import ArgumentParser
import ErizoAgent
import ErizoController
import ErizoCore
import ErizoRoleSupport
import Foundation
import Nuve
import ROV

@main
struct Erizo: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "erizo",
    abstract: "Erizo: a Licode-style WebRTC conferencing backend with SFU media workers.",
    discussion: """
      Each role is a subcommand; `erizo all` runs every control-plane role in one process.
      Configuration: --config FILE (JSON) and environment variables (see docs/configuration.md).
      Exit codes: 0 clean shutdown, 1 run-time failure, 64 usage error, 78 invalid configuration.
      """,
    subcommands: [
      All.self, NuveCommand.self, ControllerCommand.self, AgentCommand.self, ROVCommand.self, RunCommand.self,
      ConfigCommand.self,
    ])
}

struct CommonOptions: ParsableArguments {
  @Option(name: .long, help: "A JSON config file; environment variables override it.")
  var config: String?

  /// Loads and validates the configuration, or exits with code 78 naming the bad key.
  func load() -> ErizoConfiguration {
    do {
      return try ErizoConfiguration.load(file: config, environment: ProcessInfo.processInfo.environment)
    } catch {
      FileHandle.standardError.write(Data("erizo: invalid configuration: \(error.message)\n".utf8))
      Foundation.exit(ErizoExitCode.configuration.rawValue)
    }
  }
}

func launch(_ options: CommonOptions, inProcess: Bool, roles: (ErizoConfiguration) -> [any ErizoRole]) async throws {
  let configuration = options.load()
  ErizoLogHandler.bootstrap(configuration.log)
  ProcessMetrics.bootstrap()
  try await RoleLauncher.run(roles: roles(configuration), configuration: configuration, inProcess: inProcess)
}

struct All: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    abstract: "Nuve, controller, agent and ROV in one process over the in-process bus (the embedded default).",
    discussion: """
      Ports: Nuve 3000, controller 8080 (Socket.IO, WHIP/WHEP, the demo page at http://localhost:8080/),
      agent status 3004, ROV 3005; media from the agent's workers.
      Data directory: nuve.dataDirectory (default ./erizo-data). Set RABBITMQ_URL to use RabbitMQ instead.
      """)
  @OptionGroup var options: CommonOptions

  func run() async throws {
    try await launch(options, inProcess: true) { config in
      var config = config
      if config.controller.demo == "auto" { config.controller.demo = "on" }  // the embedded default
      return RoleName.allCases.map { $0.role(config) }
    }
  }
}

/// The control-plane roles by the names the subcommands and `erizo run` use.
enum RoleName: String, CaseIterable, ExpressibleByArgument {
  case nuve, controller, agent, rov

  func role(_ config: ErizoConfiguration) -> any ErizoRole {
    switch self {
    case .nuve: NuveRole(configuration: config.nuve)
    case .controller:
      ControllerRole(
        configuration: config.controller, superserviceID: config.nuve.superserviceID,
        superserviceKey: config.nuve.superserviceKey, nuveDataDirectory: config.nuve.dataDirectory)
    case .agent: AgentRole(configuration: config.agent)
    case .rov: ROVRole(configuration: config.rov)
    }
  }
}

struct RunCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "run",
    abstract: "Runs the named roles in one process over RabbitMQ (the container entrypoint's `--nuve --erizoAgent …`).",
    discussion: "Example: erizo run nuve controller. Roles: nuve, controller, agent, rov; each at most once.")
  @Argument(help: "The roles to run.") var roles: [RoleName]
  @OptionGroup var options: CommonOptions

  func validate() throws {
    guard !roles.isEmpty else { throw ValidationError("name at least one role") }
    guard Set(roles).count == roles.count else { throw ValidationError("a role is named twice") }
  }

  func run() async throws {
    // In start order: Nuve before the controllers that register with it.
    let ordered = RoleName.allCases.filter(roles.contains)
    try await launch(options, inProcess: false) { config in ordered.map { $0.role(config) } }
  }
}

struct NuveCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "nuve", abstract: "The REST room and token service (HTTP 3000) that application servers call.")
  @OptionGroup var options: CommonOptions
  func run() async throws {
    try await launch(options, inProcess: false) { [RoleName.nuve.role($0)] }
  }
}

struct ControllerCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "controller",
    abstract: "The client gateway: Socket.IO signaling and WHIP/WHEP on HTTP 8080; places rooms on agents.")
  @OptionGroup var options: CommonOptions
  func run() async throws {
    try await launch(options, inProcess: false) { [RoleName.controller.role($0)] }
  }
}

struct AgentCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "agent", abstract: "Runs and supervises this host's erizo-worker media processes.")
  @OptionGroup var options: CommonOptions
  func run() async throws {
    try await launch(options, inProcess: false) { [RoleName.agent.role($0)] }
  }
}

struct ROVCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "rov", abstract: "The Prometheus exporter of the whole cluster (HTTP 3005 /metrics).")
  @OptionGroup var options: CommonOptions
  func run() async throws {
    try await launch(options, inProcess: false) { [RoleName.rov.role($0)] }
  }
}

struct ConfigCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "config", abstract: "Checks the configuration, or prints the table of every key (`--keys`).")
  @OptionGroup var options: CommonOptions
  @Flag(help: "Print every configuration key as a Markdown table.") var keys = false

  func run() async throws {
    let configuration = options.load()
    if keys {
      print(configuration.markdownTable)
    } else {
      print("configuration is valid")
    }
  }
}
