public import AMQPRPC
public import ErizoRoleSupport
internal import Hummingbird
public import Logging
public import ServiceLifecycle
internal import Synchronization

/// ROV: the Prometheus exporter of the whole cluster (spec §9). Every `rov.statsPeriod` it asks Nuve
/// for the controllers, and every controller and agent for typed `getStats` (no REPL, no code over
/// the bus), and serves the result at `/metrics` on `rov.port` with the reference gauge names.
public struct ROVRole: ErizoRole {
  public static let roleName = "rov"
  public let configuration: ROVConfiguration

  public init(configuration: ROVConfiguration) { self.configuration = configuration }

  public func services(bus: MessageBus, logger: Logger) -> [any Service] {
    let state = ROVState()
    let prefix = configuration.statsPrefix
    return [
      StatusHTTPService(
        port: configuration.port, name: "ROV", logger: logger,
        checks: { [("bus", bus.isConnected), ("gathered", state.values.withLock { $0.gathers > 0 })] },
        extra: { request in
          guard request.uri.path == "/metrics" else { return nil }
          var headers = HTTPFields()
          headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
          return Response(
            status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: state.exposition(prefix: prefix)))
          )
        }),
      ROVGatherer(configuration: configuration, bus: bus, state: state, logger: logger),
    ]
  }
}
