public import AMQPRPC
public import ErizoRoleSupport
public import Logging
public import ServiceLifecycle

/// ErizoController: the Socket.IO client gateway (spec §4). Its queue `erizoController_<id>` needs
/// the id Nuve assigns at registration, which arrives with the controller issue; today the role
/// starts, connects the bus and waits.
public struct ControllerRole: ErizoRole {
  public static let roleName = "controller"
  public let configuration: ControllerConfiguration

  public init(configuration: ControllerConfiguration) { self.configuration = configuration }

  public func services(bus: MessageBus, logger: Logger) -> [any Service] {
    [ParkedService(name: Self.roleName, logger: logger)]
  }
}
