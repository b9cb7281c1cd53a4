public import AMQPRPC
public import ErizoRoleSupport
public import Logging
public import ServiceLifecycle

/// Nuve: the REST room and token service (spec §1–3): the HTTP API on `nuve.port`, the controller
/// registry on the bus (`nuveQueue`, routing key `nuve`), and the store.
public struct NuveRole: ErizoRole {
  public static let roleName = "nuve"
  public let configuration: NuveConfiguration

  public init(configuration: NuveConfiguration) { self.configuration = configuration }

  public func services(bus: MessageBus, logger: Logger) -> [any Service] {
    [NuveServer(configuration: configuration, bus: bus, logger: logger)]
  }
}
