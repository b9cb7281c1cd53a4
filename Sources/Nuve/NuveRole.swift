public import AMQPRPC
internal import ErizoCore
public import ErizoRoleSupport
internal import ErizoWire
public import Logging
public import ServiceLifecycle

/// Nuve: the REST room/token service (spec §1–3). Today it joins the bus on the reference queue
/// (`nuveQueue`, routing key `nuve`); the REST API, stores and controller registry come with the
/// Nuve issue.
public struct NuveRole: ErizoRole {
  public static let roleName = "nuve"
  public let configuration: NuveConfiguration

  public init(configuration: NuveConfiguration) { self.configuration = configuration }

  public func services(bus: MessageBus, logger: Logger) -> [any Service] {
    [NuveBusService(bus: bus, methods: RPCMethodTable(), logger: logger)]
  }
}

struct NuveBusService: Service {
  let bus: MessageBus
  let methods: RPCMethodTable
  let logger: Logger

  func run() async throws {
    await bus.serve(
      queue: BusTopology.nuveQueue, routingKey: BusTopology.nuveRoutingKey, handler: methods.handler(logger: logger))
    try await ParkedService(name: NuveRole.roleName, logger: logger).run()
  }
}
