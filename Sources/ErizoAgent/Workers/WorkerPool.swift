internal import ErizoCore
internal import ErizoRoleSupport
internal import Foundation
internal import Logging
internal import MediaWorker
internal import Metrics

/// The host's `erizo-worker` processes: started at launch, restarted one by one when they die (with
/// backoff), and chosen for new rooms by load. A dead worker never takes the agent down.
actor WorkerPool {
  struct Options: Sendable {
    var executable: String
    var count: Int
    var arguments: [String]
    var requestTimeout: Duration = .seconds(5)
    /// Single-port mode: each worker gets a WebRtcServer on `basePort + index`.
    var singlePort: SinglePort?
  }

  struct SinglePort: Sendable {
    var basePort: Int
    var ip: String
    var announcedIP: String
  }

  /// What the pool says about one worker, for stats and health.
  struct WorkerInfo: Sendable {
    let index: Int
    let pid: Int32?
    let running: Bool
    let routers: Int
    let cpuPercent: Double
    let residentBytes: Int
    let restarts: Int
    /// The worker process's packet counters (`worker.dump`), since it started.
    let traffic: Traffic
  }

  struct Traffic: Sendable, Equatable {
    var receivedPackets = 0
    var receivedBytes = 0
    var forwardedPackets = 0
    var forwardedBytes = 0
  }

  private struct Slot {
    var channel: WorkerChannel?
    var running = false
    var routers: Set<String> = []
    /// The worker's WebRtcServer in single-port mode.
    var webRtcServerID: String?
    var restarts = 0
    var failuresInARow = 0
    var startedAt = ContinuousClock.now
    var cpu = CPUMeter()
    var traffic = Traffic()
  }

  private let options: Options
  private let logger: Logger
  private var slots: [Slot]
  private var stopping = false
  private let restartsCounter = Counter(label: "erizo_agent_worker_restarts_total")
  /// Called after a worker died, with the routers it held (their rooms are gone).
  private var onDeath: (@Sendable (_ index: Int, _ routers: Set<String>) async -> Void)?
  /// Called with each notification a worker sends about its objects (handler id, event, data).
  private var onNotification: (@Sendable (_ handlerID: String, _ event: String, _ data: JSONValue) -> Void)?

  init(options: Options, logger: Logger) {
    self.options = options
    self.logger = logger
    slots = Array(repeating: Slot(), count: max(1, options.count))
  }

  func setDeathHandler(_ handler: @escaping @Sendable (_ index: Int, _ routers: Set<String>) async -> Void) {
    onDeath = handler
  }

  func setNotificationHandler(_ handler: @escaping @Sendable (String, String, JSONValue) -> Void) {
    onNotification = handler
  }

  /// Sends a request to one worker (a router's, transport's, producer's or consumer's method).
  func request(on index: Int, _ method: String, handlerID: String, data: JSONValue = .object([:]))
    async throws(WorkerChannel.Failure) -> JSONValue
  {
    guard slots.indices.contains(index), let channel = slots[index].channel, slots[index].running else { throw .closed }
    return try await channel.request(method, handlerID: handlerID, data: data, timeout: options.requestTimeout)
  }

  private func notify(_ handlerID: String, _ event: String, _ data: JSONValue) {
    onNotification?(handlerID, event, data)
  }

  /// Starts every worker; a worker that cannot start is retried like one that died.
  func start() {
    for index in slots.indices { spawn(index) }
  }

  var count: Int { slots.count }
  var runningCount: Int { slots.filter(\.running).count }

  /// The running worker with the least media load (producers + consumers, from the agent), then
  /// the fewest routers, then the lowest index.
  func leastLoaded(mediaLoad: [Int: Int] = [:]) -> Int? {
    slots.indices.filter { slots[$0].running }.min {
      (mediaLoad[$0] ?? 0, slots[$0].routers.count, $0) < (mediaLoad[$1] ?? 0, slots[$1].routers.count, $1)
    }
  }

  /// Creates a router on a worker; the pool remembers which worker holds it.
  func createRouter(on index: Int, routerID: String) async throws(WorkerChannel.Failure) {
    guard let channel = slots[index].channel, slots[index].running else { throw .closed }
    slots[index].routers.insert(routerID)
    do {
      _ = try await channel.request(
        "worker.createRouter", data: ["routerId": .string(routerID)], timeout: options.requestTimeout)
    } catch {
      slots[index].routers.remove(routerID)
      throw error
    }
  }

  /// Closes a router; quietly, since its worker may already be gone.
  func closeRouter(_ routerID: String) async {
    guard let index = slots.indices.first(where: { slots[$0].routers.contains(routerID) }) else { return }
    slots[index].routers.remove(routerID)
    guard let channel = slots[index].channel else { return }
    do {
      _ = try await channel.request("router.close", handlerID: routerID, timeout: options.requestTimeout)
    } catch {
      logger.info("router close failed", metadata: ["agent.router": "\(routerID)", "error": "\(error.reason)"])
    }
  }

  /// Samples CPU and memory of every worker and returns what the pool knows.
  func sample() -> [WorkerInfo] {
    let now = ContinuousClock.now
    return slots.indices.map { index in
      let pid = slots[index].channel?.pid
      if let pid, let ticks = ProcessStats.processTicks(pid) { slots[index].cpu.record(ticks: ticks, at: now) }
      return WorkerInfo(
        index: index, pid: pid, running: slots[index].running, routers: slots[index].routers.count,
        cpuPercent: slots[index].cpu.percent, residentBytes: pid.map(ProcessStats.residentBytes) ?? 0,
        restarts: slots[index].restarts, traffic: slots[index].traffic)
    }
  }

  /// Asks every running worker for its packet counters (`worker.dump`); a worker that does not
  /// answer keeps its last figures.
  func refreshTraffic() async {
    for index in slots.indices where slots[index].running {
      guard let dump = try? await request(on: index, "worker.dump", handlerID: ""), let counters = dump["counters"]
      else { continue }
      slots[index].traffic = Traffic(
        receivedPackets: counters["receivedPackets"]?.intValue ?? 0,
        receivedBytes: counters["receivedBytes"]?.intValue ?? 0,
        forwardedPackets: counters["forwardedPackets"]?.intValue ?? 0,
        forwardedBytes: counters["forwardedBytes"]?.intValue ?? 0)
    }
  }

  /// Closes every channel and waits up to `grace` for the workers to leave, then kills the rest.
  func shutdown(grace: Duration = .seconds(2)) async {
    stopping = true
    let channels = slots.compactMap(\.channel)
    for channel in channels { channel.close() }
    let deadline = ContinuousClock.now + grace
    while slots.contains(where: { $0.channel != nil }), ContinuousClock.now < deadline {
      try? await Task.sleep(for: .milliseconds(20))
    }
    for slot in slots { slot.channel?.kill() }
  }

  private func spawn(_ index: Int) {
    guard !stopping else { return }
    let logger = logger
    do {
      let channel = try WorkerChannel.spawn(
        executable: options.executable, arguments: options.arguments,
        onMessage: { [weak self] message in
          switch message {
          case .notification(_, "running", _):
            Task { await self?.markRunning(index) }
          case .notification(let handlerID, let event, let data):
            Task { await self?.notify(handlerID, event, data) }
          case .log(let line):
            Self.log(line, worker: index, logger: logger)
          default:
            break
          }
        },
        onExit: { [weak self] status in Task { await self?.exited(index, status: status) } })
      slots[index].channel = channel
      slots[index].startedAt = .now
      logger.info("media worker started", metadata: ["agent.worker": "\(index)", "agent.worker.pid": "\(channel.pid)"])
    } catch {
      logger.error("media worker cannot start", metadata: ["agent.worker": "\(index)", "error": "\(error.message)"])
      scheduleRestart(index)
    }
  }

  /// The worker said `running`; in single-port mode it is usable once its WebRtcServer exists.
  private func markRunning(_ index: Int) async {
    guard let channel = slots[index].channel else { return }
    if let singlePort = options.singlePort {
      let serverID = UUID().uuidString.lowercased()
      // One UDP and one TCP port, both basePort + index (DESIGN.md §9).
      let listen: [JSONValue] = ["udp", "tcp"].map { proto in
        var info: [String: JSONValue] = [
          "protocol": .string(proto), "ip": .string(singlePort.ip), "port": .int(singlePort.basePort + index),
        ]
        if !singlePort.announcedIP.isEmpty { info["announcedAddress"] = .string(singlePort.announcedIP) }
        return .object(info)
      }
      do {
        _ = try await channel.request(
          "worker.createWebRtcServer", data: ["webRtcServerId": .string(serverID), "listenInfos": .array(listen)],
          timeout: options.requestTimeout)
      } catch {
        logger.error(
          "media worker cannot open its single port; restarting it",
          metadata: ["agent.worker": "\(index)", "error": "\(error.reason)"])
        channel.kill()
        return
      }
      guard slots[index].channel === channel else { return }
      slots[index].webRtcServerID = serverID
    }
    slots[index].running = true
  }

  /// The WebRtcServer of a worker (single-port mode), for its transports.
  func webRtcServerID(of index: Int) -> String? {
    slots.indices.contains(index) ? slots[index].webRtcServerID : nil
  }

  private func exited(_ index: Int, status: Int32) async {
    let routers = slots[index].routers
    let pid = slots[index].channel?.pid ?? 0
    slots[index].channel = nil
    slots[index].running = false
    slots[index].traffic = Traffic()
    slots[index].routers = []
    slots[index].webRtcServerID = nil
    if stopping { return }
    let signal = status & 0x7f
    let description = signal != 0 ? "signal \(signal)" : "exit code \((status >> 8) & 0xff)"
    logger.error(
      "media worker died",
      metadata: [
        "agent.worker": "\(index)", "agent.worker.pid": "\(pid)", "agent.worker.status": "\(description)",
        "agent.routers": "\(routers.count)",
      ])
    scheduleRestart(index)
    if let onDeath, !routers.isEmpty { await onDeath(index, routers) }
  }

  /// Restarts a worker: at once after a long healthy run, then backing off 100 ms, 200 ms… up to 5 s
  /// while it keeps dying young.
  private func scheduleRestart(_ index: Int) {
    guard !stopping else { return }
    if ContinuousClock.now - slots[index].startedAt > .seconds(30) { slots[index].failuresInARow = 0 }
    let delay = Duration.milliseconds(min(5000, 100 << min(slots[index].failuresInARow, 6)))
    slots[index].failuresInARow += 1
    slots[index].restarts += 1
    restartsCounter.increment()
    Task {
      try? await Task.sleep(for: delay)
      self.spawn(index)
    }
  }

  /// Worker log lines start with their level: D, W, E or X (mediasoup's channel log).
  private static func log(_ line: String, worker: Int, logger: Logger) {
    let text = String(line.dropFirst())
    let metadata: Logger.Metadata = ["agent.worker": "\(worker)"]
    switch line.first {
    case "E", "X": logger.error("\(text)", metadata: metadata)
    case "W": logger.warning("\(text)", metadata: metadata)
    default: logger.debug("\(text)", metadata: metadata)
    }
  }
}
