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
  /// The broadcast a placement that found no agent is waiting on, shared by every such placement.
  private var refresh: Task<Void, Never>?
  private var lastRefresh: ContinuousClock.Instant?

  init(bus: any RPCBus, placementTimeout: Duration, logger: Logger) {
    self.bus = bus
    self.placementTimeout = placementTimeout
    self.logger = logger
  }

  /// The replies to one `getErizoAgents` broadcast gathered over `window` (none if the bus fails).
  private func askAgents(window: Duration) async -> [JSONValue] {
    (try? await bus.broadcastCollecting(
      topic: BusTopology.agentTopic, method: "getErizoAgents", args: [], window: window)) ?? []
  }

  /// One `getErizoAgents` broadcast; returns the agents that have now been silent too long.
  func poll(window: Duration) async -> [AgentTable.Agent] {
    let sentAt = ContinuousClock.now
    let replies = await askAgents(window: window)
    let gone = table.poll(replies: replies, sentAt: sentAt)
    for agent in gone {
      logger.warning("agent silent, removed", metadata: [LogMetadataKey.agentID: "\(agent.id)"])
    }
    return gone
  }

  /// Asks the agents now, outside the poll cadence, when a placement finds none: a controller that
  /// has just started (or whose agents have just started) would otherwise refuse its first clients
  /// until the next poll. Replies refresh the table without counting a missed poll against anyone,
  /// and concurrent placements share one broadcast, at most one per second.
  private func refreshIfStale(window: Duration) async {
    if let refresh { return await refresh.value }
    if let lastRefresh, ContinuousClock.now - lastRefresh < .seconds(1) { return }
    let task = Task { self.apply(await self.askAgents(window: window)) }
    refresh = task
    await task.value
    refresh = nil
    lastRefresh = .now
  }

  private func apply(_ replies: [JSONValue]) {
    for reply in replies { table.update(reply) }
  }

  /// Asks the best agents in turn for a router for the room; a silent or refusing agent is skipped.
  func place(roomID: String, controllerID: String) async -> Result<Placement, ClientError> {
    var candidates = table.candidates()
    if candidates.isEmpty {
      await refreshIfStale(window: .milliseconds(800))
      candidates = table.candidates()
    }
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
