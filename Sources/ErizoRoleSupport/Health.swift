internal import ErizoCore
internal import Foundation
internal import HTTPTypes
public import Hummingbird
public import Logging
internal import Metrics
internal import Prometheus
public import ServiceLifecycle

/// The process's swift-metrics, in the Prometheus text format at every role's `/metrics`.
public enum ProcessMetrics {
  static let registry = PrometheusCollectorRegistry()

  /// Routes swift-metrics to the Prometheus registry; once per process, before any role starts.
  public static func bootstrap() {
    MetricsSystem.bootstrap(PrometheusMetricsFactory(registry: registry))
  }

  /// The exposition of every counter, gauge and timer the process made, each family with HELP.
  public static func exposition() -> String { addingHelp(registry.emitToString()) + "\n" + processSeries() }

  /// The Prometheus client libraries' standard process series (CPU seconds, resident memory, open
  /// descriptors, start time), read from `/proc/self` at each scrape.
  static func processSeries() -> String {
    let pid = getpid()
    let cpuSeconds = Double(ProcessStats.processTicks(pid) ?? 0) / ProcessStats.ticksPerSecond
    let openFDs = (try? FileManager.default.contentsOfDirectory(atPath: "/proc/self/fd").count) ?? 0
    let series: [(String, String, String, Double)] = [
      ("process_cpu_seconds_total", "counter", "User and system CPU time spent, seconds", cpuSeconds),
      (
        "process_resident_memory_bytes", "gauge", "Resident memory size, bytes", Double(ProcessStats.residentBytes(pid))
      ),
      ("process_open_fds", "gauge", "Open file descriptors", Double(openFDs)),
      ("process_start_time_seconds", "gauge", "Start time of the process since the Unix epoch, seconds", startTime),
    ]
    return series.map { "# HELP \($0.0) \($0.2)\n# TYPE \($0.0) \($0.1)\n\($0.0) \($0.3)\n" }.joined()
  }

  /// When this process started: boot time + the start field of `/proc/self/stat`.
  static let startTime: Double = {
    guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
      let ticks = ProcessStats.statField(22, of: stat).flatMap({ Double($0) }),  // starttime
      let stats = try? String(contentsOfFile: "/proc/stat", encoding: .utf8),
      let bootLine = stats.split(separator: "\n").first(where: { $0.hasPrefix("btime ") }),
      let boot = Double(bootLine.dropFirst(6))
    else { return Date().timeIntervalSince1970 }
    return boot + ticks / ProcessStats.ticksPerSecond
  }()

  /// swift-metrics has no help text; Prometheus' linter wants one per family. Known families get a
  /// description, the rest their name in words.
  static func addingHelp(_ text: String) -> String {
    var out = ""
    out.reserveCapacity(text.count + 2048)
    for line in text.split(separator: "\n", omittingEmptySubsequences: false) {
      if line.hasPrefix("# TYPE ") {
        let name = line.dropFirst(7).prefix { $0 != " " }
        let help = descriptions[String(name)] ?? name.replacingOccurrences(of: "_", with: " ")
        out += "# HELP \(name) \(help)\n"
      }
      out += line
      out += "\n"
    }
    return String(out.dropLast())
  }

  static let descriptions: [String: String] = [
    "erizo_bus_calls_total": "RPC calls made over the bus",
    "erizo_bus_call_duration_seconds": "RPC call round trips",
    "erizo_bus_call_timeouts_total": "RPC calls that got no reply in time",
    "erizo_bus_requests_served_total": "RPC requests this process answered",
    "erizo_socketio_connections": "Open Socket.IO connections",
    "erizo_controller_rooms": "Rooms open in this controller",
    "erizo_controller_clients": "Clients connected to this controller",
    "erizo_agent_rooms": "Rooms on this agent's workers",
    "erizo_agent_producers": "Producers on this agent",
    "erizo_agent_consumers": "Consumers on this agent",
    "erizo_agent_workers_running": "Media workers running",
    "erizo_agent_worker_cpu_percent": "Media worker CPU, percent of one core",
    "erizo_agent_worker_memory_bytes": "Media worker resident memory",
    "erizo_agent_worker_restarts_total": "Media worker restarts",
    "erizo_agent_forwarded_packets_total": "RTP packets the workers forwarded to subscribers",
    "erizo_agent_forwarded_bytes_total": "RTP bytes the workers forwarded to subscribers",
    "erizo_agent_received_packets_total": "RTP packets the workers received from publishers",
    "erizo_agent_received_bytes_total": "RTP bytes the workers received from publishers",
    "erizo_agent_produce_score": "Mean producer score on this agent (0-10)",
    "erizo_agent_consume_score": "Mean consumer score on this agent (0-10)",
    "erizo_nuve_http_requests_total": "Nuve REST requests by method, route and status",
    "erizo_nuve_http_request_duration_seconds": "Nuve REST request latency by method and route",
    "erizo_controller_requests_total": "Socket.IO client requests by event and outcome",
    "erizo_controller_request_duration_seconds": "Socket.IO client request latency by event",
  ]
}

/// `/healthz`, `/readyz` and `/metrics`, which every role serves on its HTTP port (DESIGN.md §2).
///
/// `/healthz` is 200 while the process can answer at all. `/readyz` is 200 only when every check
/// passes (bus connected, store reachable, workers up, not draining…) and 503 otherwise; both
/// bodies are JSON, `/readyz` naming each check so an operator sees which one failed.
public enum HealthEndpoints {
  /// A readiness check: its name and whether it passes.
  public typealias Check = (name: String, ok: Bool)

  /// The response for `/healthz`, `/readyz` or `/metrics`; nil for any other path.
  public static func response(path: String, checks: @Sendable () async -> [Check]) async -> Response? {
    switch path {
    case "/metrics":
      return metricsResponse(ProcessMetrics.exposition())
    case "/healthz":
      return json(.ok, ["status": "ok"])
    case "/readyz":
      let results = await checks()
      let ready = results.allSatisfy(\.ok)
      var object: [String: JSONValue] = [:]
      for check in results { object[check.name] = .bool(check.ok) }
      return json(ready ? .ok : .serviceUnavailable, ["ready": .bool(ready), "checks": .object(object)])
    default:
      return nil
    }
  }

  /// A Prometheus text exposition (format 0.0.4).
  public static func metricsResponse(_ text: String) -> Response {
    var headers = HTTPFields()
    headers[.contentType] = "text/plain; version=0.0.4; charset=utf-8"
    return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
  }

  static func json(_ status: HTTPResponse.Status, _ body: JSONValue) -> Response {
    var headers = HTTPFields()
    headers[.contentType] = "application/json"
    headers[.cacheControl] = "no-store"
    return Response(
      status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body.serialized())))
  }
}

/// A small HTTP server for roles that have no HTTP API of their own (the agent, ROV): `/healthz`,
/// `/readyz`, `/metrics`, and whatever `extra` answers first (ROV's cluster `/metrics`).
public struct StatusHTTPService: Service {
  let port: Int
  let name: String
  let checks: @Sendable () async -> [HealthEndpoints.Check]
  let extra: @Sendable (Request) async -> Response?
  let logger: Logger

  public init(
    port: Int, name: String, logger: Logger, checks: @escaping @Sendable () async -> [HealthEndpoints.Check],
    extra: @escaping @Sendable (Request) async -> Response? = { _ in nil }
  ) {
    self.port = port
    self.name = name
    self.checks = checks
    self.extra = extra
    self.logger = logger
  }

  public func run() async throws {
    let app = Application(
      responder: StatusResponder(checks: checks, extra: extra),
      configuration: .init(address: .hostname("0.0.0.0", port: port), serverName: name), logger: logger)
    try await app.run()
  }
}

struct StatusResponder: HTTPResponder {
  typealias Context = BasicRequestContext
  let checks: @Sendable () async -> [HealthEndpoints.Check]
  let extra: @Sendable (Request) async -> Response?

  func respond(to request: Request, context: Context) async throws -> Response {
    if let response = await extra(request) { return response }
    if let response = await HealthEndpoints.response(path: request.uri.path, checks: checks) { return response }
    return HealthEndpoints.json(.notFound, ["error": "not found"])
  }
}
