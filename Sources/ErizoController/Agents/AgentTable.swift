public import ErizoCore

/// The controller's view of the agents, refreshed by the `getErizoAgents` broadcast every 2 s
/// (spec §8.2). Unlike the reference, every reply refreshes the state as well as the load, and the
/// choice weighs CPU as well as rooms.
public struct AgentTable: Sendable {
  public struct Agent: Sendable, Equatable {
    public var id: String
    public var rpcID: String
    public var ip: String
    public var rooms: Int
    /// 1 available, 0 draining.
    public var state: Int
    public var cpu: Double
    public var memory: Double
    /// Polls since the last reply.
    public var missedPolls: Int
  }

  /// Polls an agent may miss before it is considered gone (about 12 s at 2 s polls).
  public static let removalThreshold = 5
  /// Polls an agent may miss and still be chosen.
  public static let placementThreshold = 1

  public private(set) var agents: [String: Agent] = [:]
  /// Rooms placed recently, which a poll sent before them does not count yet.
  private var recentPlacements: [(agentID: String, at: ContinuousClock.Instant)] = []

  public init() {}

  /// Counts one poll: every agent that does not answer it is one poll further from being removed.
  /// Returns the agents removed by this poll.
  public mutating func poll(replies: [JSONValue], sentAt: ContinuousClock.Instant = .now) -> [Agent] {
    for id in agents.keys { agents[id]!.missedPolls += 1 }
    recentPlacements.removeAll { $0.at < sentAt }
    for reply in replies { update(reply) }
    for placement in recentPlacements { agents[placement.agentID]?.rooms += 1 }
    let gone = agents.values.filter { $0.missedPolls > Self.removalThreshold }
    for agent in gone { agents[agent.id] = nil }
    return gone
  }

  /// Applies one `getErizoAgents` reply; malformed replies are ignored.
  public mutating func update(_ reply: JSONValue) {
    guard let info = reply["info"], let id = info["id"]?.stringValue, !id.isEmpty else { return }
    let stats = reply["stats"]
    agents[id] = Agent(
      id: id, rpcID: info["rpc_id"]?.stringValue ?? "ErizoAgent_\(id)", ip: info["ip"]?.stringValue ?? "",
      rooms: info["rooms"]?.intValue ?? 0, state: info["state"]?.intValue ?? 1,
      cpu: stats?["perc_cpu"]?.doubleValue ?? 0, memory: stats?["perc_mem"]?.doubleValue ?? 0, missedPolls: 0)
  }

  /// Agents that may take a room, best first: live, not draining, fewest rooms, then least CPU.
  public func candidates() -> [Agent] {
    agents.values
      .filter { $0.missedPolls <= Self.placementThreshold && $0.state != 0 }
      .sorted { ($0.rooms, $0.cpu, $0.id) < ($1.rooms, $1.cpu, $1.id) }
  }

  /// Counts a room placed on `id` before the next poll reports it, so racing placements spread.
  public mutating func notePlacement(on id: String, at time: ContinuousClock.Instant = .now) {
    agents[id]?.rooms += 1
    recentPlacements.append((id, time))
  }

  /// Marks an agent that did not answer a placement as suspect, so the next choices skip it until
  /// it answers a poll again.
  public mutating func noteSilence(of id: String) {
    if let agent = agents[id] { agents[id]!.missedPolls = max(agent.missedPolls, Self.placementThreshold + 1) }
  }
}
