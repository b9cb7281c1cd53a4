internal import ErizoCore

/// What one gather learnt about the cluster (spec §9, without the REPL): Nuve's controller list,
/// each controller's and each agent's typed `getStats` reply. Replies of the wrong shape are
/// counted and left out; roles that did not answer are listed as down.
struct ClusterSnapshot: Sendable {
  struct Controller: Sendable, Equatable {
    let id: String
    var up: Bool
    var rooms = 0
    var clients = 0
  }

  struct Worker: Sendable, Equatable {
    let index: Int
    var running: Bool
    var routers: Int
    var cpuPercent: Double
    var memoryBytes: Double
    var restarts: Int
    var forwardedPackets = 0.0
    var forwardedBytes = 0.0
    var receivedPackets = 0.0
    var receivedBytes = 0.0
  }

  struct Agent: Sendable, Equatable {
    let id: String
    var up: Bool
    var rooms = 0
    var clients = 0
    var transports = 0
    var producers = 0
    var consumers = 0
    var iceDisconnections = 0
    var dtlsFailures = 0
    /// Mean producer and consumer scores on the agent (10 when nothing is measured).
    var produceScore = 10.0
    var consumeScore = 10.0
    var state = 1
    var workers: [Worker] = []
  }

  var nuveUp = false
  var controllers: [Controller] = []
  var agents: [Agent] = []
  var malformedReplies = 0
  /// Mean round trip of the controllers' `getStats`, in ms (the reference's `rpcCost`).
  var rpcCostMilliseconds: Double?

  /// A controller's `getStats` reply (`{rooms, clients, …}`); nil when it did not answer.
  mutating func addController(id: String, reply: JSONValue?) {
    guard let reply else {
      controllers.append(Controller(id: id, up: false))
      return
    }
    guard case .object = reply, let rooms = reply["rooms"]?.intValue, let clients = reply["clients"]?.intValue else {
      malformedReplies += 1
      controllers.append(Controller(id: id, up: false))
      return
    }
    controllers.append(Controller(id: id, up: true, rooms: rooms, clients: clients))
  }

  /// An agent's `getStats` reply; a reply without an id or with wrong types is counted and dropped.
  mutating func addAgent(reply: JSONValue) {
    guard case .object = reply, let id = reply["id"]?.stringValue, !id.isEmpty,
      let rooms = reply["rooms"]?.intValue, let producers = reply["producers"]?.intValue,
      let consumers = reply["consumers"]?.intValue
    else {
      malformedReplies += 1
      return
    }
    var agent = Agent(id: id, up: true, rooms: rooms, producers: producers, consumers: consumers)
    agent.clients = reply["clients"]?.intValue ?? 0
    agent.transports = reply["transports"]?.intValue ?? 0
    agent.iceDisconnections = reply["iceDisconnections"]?.intValue ?? 0
    agent.dtlsFailures = reply["dtlsFailures"]?.intValue ?? 0
    agent.state = reply["state"]?.intValue ?? 1
    agent.produceScore = reply["produceScore"]?.doubleValue ?? 10
    agent.consumeScore = reply["consumeScore"]?.doubleValue ?? 10
    agent.workers = (reply["workers"]?.arrayValue ?? []).compactMap { worker in
      guard let index = worker["index"]?.intValue else { return nil }
      return Worker(
        index: index, running: worker["running"] == true, routers: worker["routers"]?.intValue ?? 0,
        cpuPercent: worker["cpu"]?.doubleValue ?? 0, memoryBytes: worker["memory"]?.doubleValue ?? 0,
        restarts: worker["restarts"]?.intValue ?? 0, forwardedPackets: worker["forwardedPackets"]?.doubleValue ?? 0,
        forwardedBytes: worker["forwardedBytes"]?.doubleValue ?? 0,
        receivedPackets: worker["receivedPackets"]?.doubleValue ?? 0,
        receivedBytes: worker["receivedBytes"]?.doubleValue ?? 0)
    }
    agents.removeAll { $0.id == id }
    agents.append(agent)
  }

  /// Agents seen before that did not answer this time.
  mutating func addMissingAgent(id: String) {
    guard !agents.contains(where: { $0.id == id }) else { return }
    agents.append(Agent(id: id, up: false))
  }

  /// The cluster totals under the reference names, then Erizo's own series.
  func write(prefix: String, into exposition: inout Exposition) {
    let liveControllers = controllers.filter(\.up)
    let liveAgents = agents.filter(\.up)
    exposition.gauge(
      prefix + "active_rooms", "Rooms open in the controllers that answered",
      Double(liveControllers.reduce(0) { $0 + $1.rooms }))
    exposition.gauge(
      prefix + "active_clients", "Clients connected to the controllers that answered",
      Double(liveControllers.reduce(0) { $0 + $1.clients }))
    exposition.gauge(
      prefix + "total_publishers", "Producers on the agents that answered (each counted once)",
      Double(liveAgents.reduce(0) { $0 + $1.producers }))
    exposition.gauge(
      prefix + "total_subscribers", "Consumers on the agents that answered",
      Double(liveAgents.reduce(0) { $0 + $1.consumers }))
    exposition.gauge(
      prefix + "active_erizojs_processes", "Running media workers on the agents that answered",
      Double(liveAgents.reduce(0) { $0 + $1.workers.filter(\.running).count }))
    let ice = Double(liveAgents.reduce(0) { $0 + $1.iceDisconnections })
    let dtls = Double(liveAgents.reduce(0) { $0 + $1.dtlsFailures })
    // The reference's names, now cumulative (not read-and-reset), and the same as counters.
    exposition.gauge(prefix + "total_ice_connections_failed", "ICE disconnections since the agents started", ice)
    exposition.gauge(prefix + "total_dtls_connections_failed", "DTLS failures since the agents started", dtls)
    exposition.gauge(prefix + "total_sctp_connections_failed", "SCTP failures (no DataChannels yet: 0)", 0)
    exposition.family(prefix + "ice_connections_failed_total", .counter, "ICE disconnections (monotonic per agent)")
    exposition.sample(prefix + "ice_connections_failed_total", [], ice)
    exposition.family(prefix + "dtls_connections_failed_total", .counter, "DTLS failures (monotonic per agent)")
    exposition.sample(prefix + "dtls_connections_failed_total", [], dtls)
    // The reference's means over agents of their mean scores, 10 without agents.
    func meanOverAgents(_ path: KeyPath<Agent, Double>) -> Double {
      liveAgents.isEmpty ? 10 : liveAgents.reduce(0) { $0 + $1[keyPath: path] } / Double(liveAgents.count)
    }
    exposition.gauge(
      prefix + "produce_score", "Mean over agents of the mean producer score (0-10)", meanOverAgents(\.produceScore))
    exposition.gauge(
      prefix + "consume_score", "Mean over agents of the mean consumer score (0-10)", meanOverAgents(\.consumeScore))
    if let rpcCostMilliseconds {
      exposition.gauge(
        prefix + "rpcCost", "Mean getStats round trip to the controllers, ms", rpcCostMilliseconds.rounded(.down))
    }

    exposition.gauge("erizo_cluster_nuve_up", "1 when Nuve answered the last gather", nuveUp ? 1 : 0)
    exposition.family("erizo_cluster_role_up", .gauge, "1 when the role answered the last gather, 0 when it did not")
    for controller in controllers {
      exposition.sample(
        "erizo_cluster_role_up", [("role", "controller"), ("id", controller.id)], controller.up ? 1 : 0)
    }
    for agent in agents {
      exposition.sample("erizo_cluster_role_up", [("role", "agent"), ("id", agent.id)], agent.up ? 1 : 0)
    }
    exposition.family("erizo_cluster_controller_rooms", .gauge, "Rooms per controller")
    exposition.family("erizo_cluster_controller_clients", .gauge, "Clients per controller")
    for controller in liveControllers {
      exposition.sample("erizo_cluster_controller_rooms", [("controller", controller.id)], Double(controller.rooms))
      exposition.sample("erizo_cluster_controller_clients", [("controller", controller.id)], Double(controller.clients))
    }
    let perAgent: [(String, String, (Agent) -> Double)] = [
      ("erizo_cluster_agent_rooms", "Rooms per agent", { Double($0.rooms) }),
      ("erizo_cluster_agent_transports", "WebRTC transports per agent", { Double($0.transports) }),
      ("erizo_cluster_agent_producers", "Producers per agent", { Double($0.producers) }),
      ("erizo_cluster_agent_consumers", "Consumers per agent", { Double($0.consumers) }),
      ("erizo_cluster_agent_state", "Agent state: 1 available, 0 draining", { Double($0.state) }),
      ("erizo_cluster_agent_produce_score", "Mean producer score per agent (0-10)", \.produceScore),
      ("erizo_cluster_agent_consume_score", "Mean consumer score per agent (0-10)", \.consumeScore),
    ]
    for (name, help, value) in perAgent {
      exposition.family(name, .gauge, help)
      for agent in liveAgents { exposition.sample(name, [("agent", agent.id)], value(agent)) }
    }
    exposition.family("erizo_cluster_worker_cpu_percent", .gauge, "Media worker CPU, percent of one core")
    exposition.family("erizo_cluster_worker_memory_bytes", .gauge, "Media worker resident memory")
    exposition.family("erizo_cluster_worker_restarts_total", .counter, "Media worker restarts since the agent started")
    let traffic: [(String, String, KeyPath<Worker, Double>)] = [
      ("erizo_cluster_worker_received_packets_total", "RTP packets received from publishers", \.receivedPackets),
      ("erizo_cluster_worker_received_bytes_total", "RTP bytes received from publishers", \.receivedBytes),
      ("erizo_cluster_worker_forwarded_packets_total", "RTP packets forwarded to subscribers", \.forwardedPackets),
      ("erizo_cluster_worker_forwarded_bytes_total", "RTP bytes forwarded to subscribers", \.forwardedBytes),
    ]
    for (name, help, _) in traffic { exposition.family(name, .counter, help + " since the worker started") }
    for agent in liveAgents {
      for worker in agent.workers {
        let labels = [("agent", agent.id), ("worker", String(worker.index))]
        exposition.sample("erizo_cluster_worker_cpu_percent", labels, worker.cpuPercent)
        exposition.sample("erizo_cluster_worker_memory_bytes", labels, worker.memoryBytes)
        exposition.sample("erizo_cluster_worker_restarts_total", labels, Double(worker.restarts))
        for (name, _, path) in traffic { exposition.sample(name, labels, worker[keyPath: path]) }
      }
    }
  }
}
