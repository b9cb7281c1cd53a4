public import AMQPRPC
internal import ErizoCore
public import ErizoRoleSupport
internal import ErizoWire
internal import Foundation
public import Logging
public import ServiceLifecycle

/// ErizoAgent: owns the media workers of one host (spec §8). Today it joins the reference topology
/// (the shared `ErizoAgent` queue, its own `ErizoAgent_<id>` queue and the `ErizoAgent` broadcast
/// topic); the worker pool and the RPC API come with the agent issue.
public struct AgentRole: ErizoRole {
  public static let roleName = "agent"
  public let configuration: AgentConfiguration
  /// 32 hex digits in UUID layout, new at every start (spec §6).
  public let agentID: String

  public init(configuration: AgentConfiguration, agentID: String? = nil) {
    self.configuration = configuration
    self.agentID = agentID ?? UUID().uuidString.lowercased()
  }

  public func services(bus: MessageBus, logger: Logger) -> [any Service] {
    var agentLogger = logger
    agentLogger[metadataKey: LogMetadataKey.agentID] = "\(agentID)"
    return [AgentBusService(bus: bus, agentID: agentID, methods: RPCMethodTable(), logger: agentLogger)]
  }
}

struct AgentBusService: Service {
  let bus: MessageBus
  let agentID: String
  let methods: RPCMethodTable
  let logger: Logger

  func run() async throws {
    let handler = methods.handler(logger: logger)
    await bus.serve(queue: BusTopology.agentSharedQueue, handler: handler)
    await bus.serve(queue: BusTopology.agentQueue(agentID), handler: handler)
    await bus.subscribe(topic: BusTopology.agentTopic, handler: handler)
    try await ParkedService(name: AgentRole.roleName, logger: logger).run()
  }
}
