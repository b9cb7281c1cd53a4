internal import AMQPRPC
internal import ErizoCore
internal import Logging
internal import ServiceLifecycle
internal import UnixSignals

/// Runs roles in one process: the bus first, then each role's services, under one `ServiceGroup`
/// that shuts down gracefully (in reverse order) on SIGTERM or SIGINT.
public enum RoleLauncher {
  /// - Parameter inProcess: use the in-process bus unless `bus.url` is set (`erizo all`).
  public static func run(roles: [any ErizoRole], configuration: ErizoConfiguration, inProcess: Bool) async throws {
    let names = roles.map { type(of: $0).roleName }.joined(separator: "+")
    var logger = Logger(label: "erizo")
    logger[metadataKey: LogMetadataKey.role] = "\(names)"
    let bus = BusFactory.make(configuration.bus, inProcess: inProcess ? InProcessBroker() : nil, logger: logger)
    var services: [ServiceGroupConfiguration.ServiceConfiguration] = [
      .init(
        service: bus, successTerminationBehavior: .gracefullyShutdownGroup,
        failureTerminationBehavior: .gracefullyShutdownGroup)
    ]
    for role in roles {
      var roleLogger = logger
      roleLogger[metadataKey: LogMetadataKey.role] = "\(type(of: role).roleName)"
      for service in role.services(bus: bus, logger: roleLogger) {
        services.append(
          .init(
            service: service, successTerminationBehavior: .gracefullyShutdownGroup,
            failureTerminationBehavior: .gracefullyShutdownGroup))
      }
    }
    var groupConfiguration = ServiceGroupConfiguration(services: services, logger: logger)
    groupConfiguration.gracefulShutdownSignals = [.sigterm, .sigint]
    // Drains run one after another (the last role first), each up to its own deadline.
    groupConfiguration.maximumGracefulShutdownDuration =
      configuration.controller.drainTimeout + configuration.agent.drainTimeout + .seconds(15)
    logger.info("starting", metadata: ["erizo.roles": "\(names)"])
    try await ServiceGroup(configuration: groupConfiguration).run()
    logger.info("stopped")
  }
}
