public import AMQPRPC
public import ErizoRoleSupport
public import Logging
public import ServiceLifecycle

/// ROV: the Prometheus exporter (spec §9). Gathering and `/metrics` come with the ROV issue; today
/// the role connects the bus and serves `/healthz` and `/readyz` on its port.
public struct ROVRole: ErizoRole {
  public static let roleName = "rov"
  public let configuration: ROVConfiguration

  public init(configuration: ROVConfiguration) { self.configuration = configuration }

  public func services(bus: MessageBus, logger: Logger) -> [any Service] {
    [
      StatusHTTPService(port: configuration.port, name: "ROV", logger: logger) { [("bus", bus.isConnected)] },
      ParkedService(name: Self.roleName, logger: logger),
    ]
  }
}
