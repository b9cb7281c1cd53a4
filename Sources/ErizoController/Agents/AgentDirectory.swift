internal import AMQPRPC
internal import ErizoCore
internal import ErizoWire
internal import Logging

/// Polls the agents and places rooms on them (spec §8.2, ROOM-BEST with the fixes of DESIGN.md §4).
actor AgentDirectory {
  private(set) var table = AgentTable()
  private let bus: any RPCBus
  private let logger: Logger
  private let placementTimeout: Duration

  init(bus: any RPCBus, placementTimeout: Duration, logger: Logger) {
    self.bus = bus
    self.placementTimeout = placementTimeout
    self.logger = logger
  }

  /// One `getErizoAgents` broadcast; returns the agents that have now been silent too long.
  func poll(window: Duration) async -> [AgentTable.Agent] {
    let sentAt = ContinuousClock.now
    let replies =
      (try? await bus.broadcastCollecting(
        topic: BusTopology.agentTopic, method: "getErizoAgents", args: [], window: window)) ?? []
    let gone = table.poll(replies: replies, sentAt: sentAt)
    for agent in gone {
      logger.warning("agent silent, removed", metadata: [LogMetadataKey.agentID: "\(agent.id)"])
    }
    return gone
  }

  /// Asks the best agents in turn for a router for the room; a silent or refusing agent is skipped.
  func place(roomID: String, controllerID: String) async -> Result<Placement, ClientError> {
    let candidates = table.candidates()
    guard !candidates.isEmpty else {
      logger.warning(
        "no agent can take a room",
        metadata: [
          LogMetadataKey.roomID: "\(roomID)",
          "controller.agents": "\(table.agents.values.map { "\($0.id) state=\($0.state) missed=\($0.missedPolls)" })",
        ])
      return .failure(.noWorker)
    }
    for agent in candidates {
      do {
        let reply = try await bus.call(
          agent.rpcID, method: "getMediasoupWork", args: [.string(roomID), .string(controllerID)],
          timeout: placementTimeout)
        guard let agentID = reply["agentId"]?.stringValue, let routerID = reply["routerId"]?.stringValue else {
          logger.info(
            "agent refused a room",
            metadata: [LogMetadataKey.agentID: "\(agent.id)", LogMetadataKey.roomID: "\(roomID)"])
          continue
        }
        table.notePlacement(on: agentID)
        return .success(Placement(agentID: agentID, routerID: routerID))
      } catch {
        table.noteSilence(of: agent.id)
        logger.warning(
          "agent did not answer a placement",
          metadata: [LogMetadataKey.agentID: "\(agent.id)", LogMetadataKey.error: "\(error.message)"])
      }
    }
    return .failure(.noWorker)
  }
}
