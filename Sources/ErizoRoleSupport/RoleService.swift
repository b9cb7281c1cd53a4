public import AMQPRPC
public import Logging
public import ServiceLifecycle

/// A role as the process runs it: a name for logs and `--help`, and the services it needs after the bus.
public protocol ErizoRole: Sendable {
  /// `nuve`, `controller`, `agent` or `rov`.
  static var roleName: String { get }
  /// The long-running pieces of this role, in start order; the bus is started before them.
  func services(bus: MessageBus, logger: Logger) -> [any Service]
}

/// Waits for graceful shutdown, keeping a role's process alive while its handlers serve the bus.
public struct ParkedService: Service {
  let logger: Logger
  let name: String

  public init(name: String, logger: Logger) {
    self.name = name
    self.logger = logger
  }

  public func run() async throws {
    logger.info("role running", metadata: ["erizo.role": "\(name)"])
    try? await gracefulShutdown()
    logger.info("role stopping", metadata: ["erizo.role": "\(name)"])
  }
}
