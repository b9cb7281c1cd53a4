import ErizoCore
import ErizoRoleSupport
import Foundation
import Nuve
import Testing

/// nuve/openapi.yaml stays true: every operation it lists is served (never "Resource not found"),
/// and every route the router serves is listed.
@Suite("Nuve OpenAPI document")
struct OpenAPIDocumentTests {
  static let document = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().appendingPathComponent("nuve/openapi.yaml")

  /// (METHOD, path template) pairs, read from the `paths:` block by indentation.
  static func operations() throws -> Set<String> {
    let lines = try String(contentsOf: document, encoding: .utf8).split(
      separator: "\n", omittingEmptySubsequences: false)
    var inPaths = false
    var currentPath: String?
    var operations: Set<String> = []
    for line in lines {
      if line.hasPrefix("paths:") {
        inPaths = true
        continue
      }
      guard inPaths else { continue }
      if !line.hasPrefix(" "), !line.isEmpty { break }
      if line.hasPrefix("  /"), line.hasSuffix(":") {
        currentPath = String(line.dropFirst(2).dropLast())
      } else if let currentPath, line.hasPrefix("    "), !line.hasPrefix("     ") {
        let key = line.trimmingCharacters(in: .whitespaces).split(separator: ":").first.map(String.init) ?? ""
        if ["get", "post", "put", "patch", "delete"].contains(key) {
          operations.insert("\(key.uppercased()) \(currentPath)")
        }
      }
    }
    return operations
  }

  @Test func listsExactlyTheServedRoutes() throws {
    #expect(
      try Self.operations() == [
        "POST /services", "GET /services", "GET /services/{service}", "DELETE /services/{service}", "POST /rooms",
        "GET /rooms", "GET /rooms/{room}", "PUT /rooms/{room}", "PATCH /rooms/{room}", "DELETE /rooms/{room}",
        "POST /rooms/{room}/tokens", "GET /rooms/{room}/users", "GET /rooms/{room}/users/{user}",
        "DELETE /rooms/{room}/users/{user}", "GET /workers", "GET /healthz", "GET /readyz",
        "GET /metrics",
      ])
  }

  @Test func everyListedOperationIsServed() async throws {
    let f = try NuveAPITests.Fixture()
    try await f.store.createService(f.superservice)
    let roomID = try await f.createRoom(["name": "r"])
    // Deletions last, and never of the caller itself, so each request is authenticated and routed.
    // The health paths are answered by the HTTP layer, before MAuth and the API's router.
    let health = ["GET /healthz", "GET /readyz", "GET /metrics"]
    for operation in health {
      let path = String(operation.dropFirst(4))
      #expect(await HealthEndpoints.response(path: path, checks: { [("bus", true)] }) != nil, "\(operation)")
    }
    let all = try Self.operations().subtracting(health).sorted()
    let ordered = all.filter { !$0.hasPrefix("DELETE") } + all.filter { $0.hasPrefix("DELETE") }
    for operation in ordered {
      let parts = operation.split(separator: " ")
      let path = String(parts[1]).replacingOccurrences(of: "{room}", with: roomID)
        .replacingOccurrences(of: "{service}", with: ObjectID.make()).replacingOccurrences(of: "{user}", with: "u")
      let response = await f.request(String(parts[0]), path, ["name": "n", "key": "k"], user: ("u", "r"))
      #expect(response != .text(404, "Resource not found"), "\(operation) is not served")
      #expect(response != .unauthorized, "\(operation) was not authenticated, so the check proves nothing")
    }
  }
}
