internal import AMQPRPC
internal import ErizoCore
internal import ErizoRoleSupport
internal import ErizoWire
internal import Foundation
internal import Logging
internal import ServiceLifecycle
internal import Synchronization

/// What ROV serves between gathers: the last snapshot and the gatherer's own health.
final class ROVState: Sendable {
  struct Values: Sendable {
    var snapshot: ClusterSnapshot?
    var lastSuccess: Double?
    var lastDuration = 0.0
    var gathers = 0
    var nuveFailures = 0
    var malformedReplies = 0
    var rpcDurations: [String: DurationHistogram] = [:]
    /// Agents seen recently → consecutive gathers they missed.
    var knownAgents: [String: Int] = [:]
    /// Controllers from Nuve's last answer, asked again when Nuve does not answer.
    var knownControllers: [String] = []
  }

  let values = Mutex(Values())

  /// `/metrics`: the cluster series under `prefix`, then ROV's own.
  func exposition(prefix: String) -> String {
    let values = values.withLock { $0 }
    var exposition = Exposition()
    values.snapshot?.write(prefix: prefix, into: &exposition)
    exposition.gauge(
      "erizo_rov_last_gather_timestamp_seconds", "Unix time of the last gather that reached Nuve",
      values.lastSuccess ?? 0)
    exposition.gauge("erizo_rov_gather_duration_seconds", "How long the last gather took", values.lastDuration)
    exposition.family("erizo_rov_gathers_total", .counter, "Gathers run")
    exposition.sample("erizo_rov_gathers_total", [], Double(values.gathers))
    exposition.family("erizo_rov_nuve_failures_total", .counter, "Gathers in which Nuve did not answer")
    exposition.sample("erizo_rov_nuve_failures_total", [], Double(values.nuveFailures))
    exposition.family("erizo_rov_malformed_replies_total", .counter, "Stats replies of the wrong shape")
    exposition.sample("erizo_rov_malformed_replies_total", [], Double(values.malformedReplies))
    exposition.family("erizo_rov_rpc_duration_seconds", .histogram, "Round trip of ROV's stats calls by role")
    for (role, histogram) in values.rpcDurations.sorted(by: { $0.key < $1.key }) {
      histogram.write("erizo_rov_rpc_duration_seconds", [("role", role)], into: &exposition)
    }
    return exposition.text
  }
}

/// Every `statsPeriod`: Nuve's controller list, each controller's `getStats`, and the agents'
/// `getStats` through the `ErizoAgent` topic (spec §9, typed RPC instead of the reference's REPL).
struct ROVGatherer: Service {
  let configuration: ROVConfiguration
  let bus: MessageBus
  let state: ROVState
  let logger: Logger
  /// How long the agents' broadcast collects replies.
  var agentWindow: Duration = .seconds(1)
  var callTimeout: Duration = .seconds(5)

  func run() async throws {
    await cancelWhenGracefulShutdown {
      // Let the roles of this process (in `erizo all`) come up before the first gather.
      _ = await bus.waitUntilConnected(timeout: .seconds(30))
      try? await Task.sleep(for: min(configuration.statsPeriod, .seconds(2)))
      while !Task.isCancelled {
        await gather()
        try? await Task.sleep(for: configuration.statsPeriod)
      }
    }
  }

  func gather() async {
    let started = ContinuousClock.now
    var snapshot = ClusterSnapshot()
    var durations: [(String, Double)] = []

    var controllerIDs = state.values.withLock { $0.knownControllers }
    let callStart = ContinuousClock.now
    do {
      let list = try await bus.call(
        BusTopology.nuveRoutingKey, method: "getErizoControllers", args: nil, timeout: callTimeout)
      durations.append(("nuve", Self.seconds(ContinuousClock.now - callStart)))
      snapshot.nuveUp = true
      controllerIDs = (list.arrayValue ?? []).compactMap { $0["_id"]?.stringValue ?? $0["id"]?.stringValue }
    } catch {
      logger.warning("Nuve did not answer getErizoControllers", metadata: ["error": "\(error)"])
    }

    let bus = self.bus
    let timeout = callTimeout
    let replies = await withTaskGroup(of: (String, JSONValue?, Double).self) { group in
      for id in controllerIDs {
        group.addTask {
          let start = ContinuousClock.now
          let reply = try? await bus.call(
            BusTopology.controllerQueue(id), method: "getStats", args: [], timeout: timeout)
          return (id, reply, Self.seconds(ContinuousClock.now - start))
        }
      }
      return await group.reduce(into: [(String, JSONValue?, Double)]()) { $0.append($1) }
    }
    var answered: [Double] = []
    for (id, reply, seconds) in replies.sorted(by: { $0.0 < $1.0 }) {
      snapshot.addController(id: id, reply: reply)
      if reply != nil {
        answered.append(seconds)
        durations.append(("controller", seconds))
      }
    }
    if !answered.isEmpty { snapshot.rpcCostMilliseconds = answered.reduce(0, +) / Double(answered.count) * 1000 }

    let agentReplies =
      (try? await bus.broadcastCollecting(
        topic: BusTopology.agentTopic, method: "getStats", args: [], window: agentWindow)) ?? []
    for reply in agentReplies { snapshot.addAgent(reply: reply) }

    let seenAgents = Set(snapshot.agents.map(\.id))
    let finalSnapshot = state.values.withLock { values -> ClusterSnapshot in
      var snapshot = snapshot
      // Agents that answered before but not now stay visible as down for three gathers.
      for (id, missed) in values.knownAgents where !seenAgents.contains(id) {
        if missed < 3 {
          snapshot.addMissingAgent(id: id)
          values.knownAgents[id] = missed + 1
        } else {
          values.knownAgents[id] = nil
        }
      }
      for id in seenAgents { values.knownAgents[id] = 0 }
      values.snapshot = snapshot
      values.gathers += 1
      values.malformedReplies += snapshot.malformedReplies
      if snapshot.nuveUp {
        values.lastSuccess = Date().timeIntervalSince1970
        values.knownControllers = controllerIDs
      } else {
        values.nuveFailures += 1
      }
      for (role, seconds) in durations { values.rpcDurations[role, default: DurationHistogram()].observe(seconds) }
      values.lastDuration = Self.seconds(ContinuousClock.now - started)
      return snapshot
    }
    logger.debug(
      "gathered",
      metadata: [
        "rov.controllers": "\(finalSnapshot.controllers.filter(\.up).count)/\(finalSnapshot.controllers.count)",
        "rov.agents": "\(finalSnapshot.agents.filter(\.up).count)/\(finalSnapshot.agents.count)",
      ])
  }

  static func seconds(_ duration: Duration) -> Double {
    Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
  }
}
