public import AMQPRPC
public import ErizoRoleSupport
public import Logging
public import ServiceLifecycle

/// ErizoController: the Socket.IO client gateway (spec §4). It registers with Nuve, serves its
/// `erizoController_<id>` queue, polls the agents and places rooms on them.
public struct ControllerRole: ErizoRole {
  public static let roleName = "controller"
  public let configuration: ControllerConfiguration
  /// The superservice key that signs tokens (`nuve.superserviceKey`); when empty, read from
  /// `superservice.json` in Nuve's data directory (the embedded mode generates it there).
  public let superserviceKey: String
  /// The superservice id, for the demo page's Nuve calls; when empty, from `superservice.json`.
  public let superserviceID: String
  public let nuveDataDirectory: String

  public init(
    configuration: ControllerConfiguration, superserviceID: String = "", superserviceKey: String,
    nuveDataDirectory: String
  ) {
    self.configuration = configuration
    self.superserviceID = superserviceID
    self.superserviceKey = superserviceKey
    self.nuveDataDirectory = nuveDataDirectory
  }

  public func services(bus: MessageBus, logger: Logger) -> [any Service] {
    [ControllerServer(role: self, bus: bus, logger: logger)]
  }
}
