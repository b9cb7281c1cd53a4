internal import ErizoCore
internal import HTTPTypes
public import Hummingbird
public import Logging
public import ServiceLifecycle

/// `/healthz` and `/readyz`, which every role serves on its HTTP port (DESIGN.md §2).
///
/// `/healthz` is 200 while the process can answer at all. `/readyz` is 200 only when every check
/// passes (bus connected, store reachable, workers up, not draining…) and 503 otherwise; both
/// bodies are JSON, `/readyz` naming each check so an operator sees which one failed.
public enum HealthEndpoints {
  /// A readiness check: its name and whether it passes.
  public typealias Check = (name: String, ok: Bool)

  /// The response for `/healthz` or `/readyz`; nil for any other path.
  public static func response(path: String, checks: @Sendable () async -> [Check]) async -> Response? {
    switch path {
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

  static func json(_ status: HTTPResponse.Status, _ body: JSONValue) -> Response {
    var headers = HTTPFields()
    headers[.contentType] = "application/json"
    headers[.cacheControl] = "no-store"
    return Response(
      status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: body.serialized())))
  }
}

/// A small HTTP server for roles that have no HTTP API of their own (the agent): `/healthz`,
/// `/readyz`, and whatever `extra` answers (ROV's `/metrics`).
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
    if let response = await HealthEndpoints.response(path: request.uri.path, checks: checks) { return response }
    if let response = await extra(request) { return response }
    return HealthEndpoints.json(.notFound, ["error": "not found"])
  }
}
