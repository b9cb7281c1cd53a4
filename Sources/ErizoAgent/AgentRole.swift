public import AMQPRPC
internal import ErizoCore
public import ErizoRoleSupport
internal import ErizoWire
internal import Foundation
public import Logging
internal import ORTC
public import ServiceLifecycle
internal import Synchronization

/// ErizoAgent: owns the media workers of one host (spec §8). It starts and supervises the
/// `erizo-worker` processes, places rooms on them, answers the controllers on the shared
/// `ErizoAgent` queue, its own `ErizoAgent_<id>` queue and the `ErizoAgent` broadcast topic, and
/// drains on SIGTERM.
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
    let status = AgentStatus()
    // The status server comes first so that it shuts down last: `/readyz` answers 503 during the drain.
    return [
      StatusHTTPService(port: configuration.port, name: "ErizoAgent", logger: agentLogger) {
        [("bus", bus.isConnected), ("workers", status.workersUp), ("accepting", !status.draining)]
      },
      AgentService(role: self, bus: bus, status: status, logger: agentLogger),
    ]
  }
}

/// What the status server reads without waiting on the agent's actors.
final class AgentStatus: Sendable {
  private let state = Mutex((workersUp: false, draining: false))
  var workersUp: Bool { state.withLock { $0.workersUp } }
  var draining: Bool { state.withLock { $0.draining } }
  func set(workersUp: Bool) { state.withLock { $0.workersUp = workersUp } }
  func setDraining() { state.withLock { $0.draining = true } }
}

struct AgentService: Service {
  let role: AgentRole
  let bus: MessageBus
  let status: AgentStatus
  let logger: Logger

  func run() async throws {
    let configuration = role.configuration
    let workers = configuration.numWorkers > 0 ? configuration.numWorkers : ProcessInfo.processInfo.activeProcessorCount
    let publicIP =
      configuration.publicIP.isEmpty ? HostAddress.firstExternalIPv4() ?? "127.0.0.1" : configuration.publicIP
    let listenIP = configuration.listenIP.isEmpty ? publicIP : configuration.listenIP
    var poolOptions = WorkerPool.Options(
      executable: try Self.workerExecutable(configuration.workerPath), count: workers,
      arguments: [
        "--logLevel=warn", "--rtcMinPort=\(configuration.rtcMinPort)", "--rtcMaxPort=\(configuration.rtcMaxPort)",
      ])
    if configuration.singlePort {
      poolOptions.singlePort = .init(
        basePort: configuration.singlePortBase, ip: listenIP, announcedIP: configuration.announcedIP)
    }
    let pool = WorkerPool(options: poolOptions, logger: logger)
    let core: AgentCore
    do {
      core = try AgentCore(
        agentID: role.agentID, pool: pool, bus: bus, mediaCodecs: RouterCapabilities.defaultMediaCodecs,
        throttleSecret: configuration.throttleSecret,
        media: MediaAddresses(
          listenIP: listenIP,
          announcedIP: configuration.announcedIP),
        logger: logger)
    } catch {
      throw ErizoError(.invalidConfigValue, "media codecs: \(error.message)")
    }
    await pool.setDeathHandler { _, routers in await core.workerDied(routers: routers) }
    await pool.setNotificationHandler { handlerID, event, data in
      Task { await core.workerNotification(handlerID: handlerID, event: event, data: data) }
    }
    await pool.start()
    // The reference binds its queues only once every worker is up (spec §8.1).
    let started = ContinuousClock.now
    while await pool.runningCount < pool.count, ContinuousClock.now - started < .seconds(10) {
      try? await Task.sleep(for: .milliseconds(20))
    }
    let methods = AgentMethods(
      core: core, pool: pool, status: status, agentID: role.agentID, publicIP: publicIP,
      metadata: configuration.metadata
    ).table
    let handler = methods.handler(logger: logger)
    await bus.serve(queue: BusTopology.agentSharedQueue, handler: handler)
    await bus.serve(queue: BusTopology.agentQueue(role.agentID), handler: handler)
    await bus.subscribe(topic: BusTopology.agentTopic, handler: handler)
    let (running, total) = (await pool.runningCount, await pool.count)
    status.set(workersUp: running == total)
    logger.info("agent ready", metadata: ["agent.workers": "\(running)/\(total)", "agent.ip": "\(publicIP)"])

    try await withThrowingDiscardingTaskGroup { group in
      group.addTask {
        var ticks = 0
        while (try? await Task.sleep(for: .milliseconds(500))) != nil {
          let (running, total) = (await pool.runningCount, await pool.count)
          status.set(workersUp: running == total)
          ticks += 1
          if ticks % 4 == 0 {  // every 2 s: the gauges
            await core.recordGauges()
            await pool.refreshTraffic()
            core.metrics.record(await pool.sample())
          }
        }
      }
      // Drain on SIGTERM: state 0, placements refused, existing rooms go on until they close or
      // the deadline passes.
      try? await gracefulShutdown()
      status.setDraining()
      await core.startDraining()
      let rooms = await core.roomCount
      logger.info("agent draining", metadata: ["agent.rooms": "\(rooms)"])
      let deadline = ContinuousClock.now + configuration.drainTimeout
      while await core.roomCount > 0, ContinuousClock.now < deadline {
        try? await Task.sleep(for: .milliseconds(200))
      }
      let left = await core.roomCount
      logger.info("agent drained", metadata: ["agent.rooms": "\(left)"])
      await core.closeAll()
      await pool.shutdown()
      group.cancelAll()
    }
  }

  /// `agent.workerPath`, or `erizo-worker` beside the running executable.
  static func workerExecutable(_ configured: String) throws(ErizoError) -> String {
    let path: String
    if configured.isEmpty {
      let me = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
      path = me.deletingLastPathComponent().appendingPathComponent("erizo-worker").path
    } else {
      path = configured
    }
    guard FileManager.default.isExecutableFile(atPath: path) else {
      throw ErizoError(.invalidConfigValue, "agent.workerPath: no erizo-worker executable at \(path)")
    }
    return path
  }
}
