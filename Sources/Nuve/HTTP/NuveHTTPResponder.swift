internal import ErizoCore
public import ErizoRoleSupport
internal import Foundation
internal import HTTPTypes
public import Hummingbird
internal import Logging
internal import Metrics

/// Serves `NuveAPI` over HTTP with the reference's envelope: CORS on every response, `OPTIONS` → 200
/// `OK`, JSON or urlencoded bodies, trailing slashes ignored (spec §1.1). `/healthz` and `/readyz`
/// answer without authentication.
public struct NuveHTTPResponder: HTTPResponder {
  public typealias Context = BasicRequestContext
  let api: NuveAPI
  let readiness: @Sendable () async -> [HealthEndpoints.Check]
  /// Bodies above this size get 413.
  static let maximumBodySize = 1 << 20

  public init(api: NuveAPI, readiness: @escaping @Sendable () async -> [HealthEndpoints.Check] = { [] }) {
    self.api = api
    self.readiness = readiness
  }

  public func respond(to request: Request, context: Context) async throws -> Response {
    if request.method == .get,
      let response = await HealthEndpoints.response(path: request.uri.path, checks: readiness)
    {
      return response
    }
    var request = request
    let started = ContinuousClock.now
    let response: NuveResponse
    do {
      let buffer = try await request.collectBody(upTo: Self.maximumBodySize)
      response = await handle(request, body: buffer)
    } catch {
      response = .text(413, "Request body too large")
    }
    let dimensions = [
      ("method", request.method.rawValue), ("route", Self.route(request.uri.path)), ("status", String(response.status)),
    ]
    Counter(label: "erizo_nuve_http_requests_total", dimensions: dimensions).increment()
    Timer(label: "erizo_nuve_http_request_duration_seconds", dimensions: Array(dimensions.prefix(2)))
      .record(duration: ContinuousClock.now - started)
    return Self.httpResponse(response)
  }

  /// Per top-level resource, the name that replaces each path part ("" keeps the part itself).
  static let routeNames = ["rooms": ["", "{room}", "", "{user}"], "services": ["", "{service}"], "workers": [""]]

  /// The route template of a path, so ids do not make a series each: `/rooms/{room}/users/{user}`.
  static func route(_ path: String) -> String {
    let parts = path.split(separator: "/").map(String.init)
    guard let first = parts.first, let names = routeNames[first], parts.count <= names.count else { return "other" }
    var template = ""
    for (index, part) in parts.enumerated() { template += "/" + (names[index].isEmpty ? part : names[index]) }
    if parts.count >= 3, first == "rooms", !["tokens", "users"].contains(parts[2]) { return "other" }
    return template
  }

  private func handle(_ request: Request, body: ByteBuffer) async -> NuveResponse {
    var parsed: JSONValue?
    if body.readableBytes > 0 {
      let bytes = Array(body.readableBytesView)
      let contentType = request.headers[.contentType]?.lowercased() ?? ""
      if contentType.hasPrefix("application/x-www-form-urlencoded") {
        parsed = Self.formFields(String(decoding: bytes, as: UTF8.self))
      } else {
        guard let json = try? JSONValue(parsing: bytes) else { return .text(400, "Invalid JSON body") }
        parsed = json
      }
    }
    return await api.handle(
      NuveRequest(
        method: request.method.rawValue, path: request.uri.path, authorization: request.headers[.authorization],
        body: parsed))
  }

  static func formFields(_ text: String) -> JSONValue {
    var object: [String: JSONValue] = [:]
    for pair in text.split(separator: "&") {
      let parts = pair.split(separator: "=", maxSplits: 1).map {
        String($0).replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String($0)
      }
      guard let key = parts.first, !key.isEmpty else { continue }
      object[key] = .string(parts.count > 1 ? parts[1] : "")
    }
    return .object(object)
  }

  static func httpResponse(_ response: NuveResponse) -> Response {
    var headers = HTTPFields()
    headers[.accessControlAllowOrigin] = "*"
    headers[.accessControlAllowMethods] = "POST, GET, OPTIONS, DELETE, PUT, PATCH"
    headers[.accessControlAllowHeaders] = "origin, authorization, content-type"
    let bytes: [UInt8]
    switch response.body {
    case .text(let text):
      headers[.contentType] = "text/html; charset=utf-8"
      bytes = Array(text.utf8)
    case .json(let json):
      headers[.contentType] = "application/json; charset=utf-8"
      bytes = json.serialized()
    }
    for (name, value) in response.headers {
      if let field = HTTPField.Name(name) { headers[field] = value }
    }
    return Response(
      status: .init(code: response.status), headers: headers, body: ResponseBody(byteBuffer: ByteBuffer(bytes: bytes)))
  }
}
