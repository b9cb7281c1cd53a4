import AMQPRPC
import ErizoCore
import ErizoTesting
import Foundation
import Nuve
import Synchronization
import Testing

#if canImport(FoundationNetworking)
  import FoundationNetworking
#endif

/// A running `erizo nuve` (short token lifetime and controller timeout) on each store: sticky
/// controller assignment, failover when a controller's keep-alive lapses, token expiry at lookup,
/// and the routes the Licode-style client does not use. Part of the serialized `NuveProcessTests`
/// suite: every `erizo nuve` consumes the shared `nuve` routing key (as replicas do), so two at once
/// would answer each other's registrations.
extension NuveProcessTests {
  @Test(.timeLimit(.minutes(2)), arguments: NuveProcessTests.stores)
  func assignmentFailoverAndExpiry(store: String) async throws {
    let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("nuve-\(UUID())").path
    defer { try? FileManager.default.removeItem(atPath: dataDirectory) }
    let port = Int.random(in: 30_000..<40_000)
    let superservice = ServiceRecord(id: ObjectID.make(), name: "superService", key: "failover-key")
    let nuve = try Self.launchNuve(
      store: store, port: port, dataDirectory: dataDirectory, superservice: (superservice.id, superservice.key),
      extra: ["ERIZO_NUVE_TOKEN_LIFETIME": "2", "ERIZO_NUVE_CONTROLLER_TIMEOUT": "4", "ERIZO_BUS_RPC_TIMEOUT": "500"])
    defer { Self.stop(nuve) }
    let rest = NuveRESTClient(base: "http://127.0.0.1:\(port)", service: superservice)
    let (bus, _) = RabbitMQBusMaker(endpoint: try AMQPEndpoint(url: testRabbitMQURL!)).makeBus()
    try await withRunningBuses([bus]) { _ in
      let a = try await Self.registerController(on: bus, hostname: "ec-a")
      let b = try await Self.registerController(on: bus, hostname: "ec-b")
      let alive = Mutex<Set<String>>([a, b])
      // Keep-alives every 250 ms for the controllers still in `alive` (the timeout is 4 s).
      async let keepingAlive: Void = {
        while !Task.isCancelled, !alive.withLock({ $0.isEmpty }) {
          for id in alive.withLock({ $0 }) { _ = try? await bus.call("nuve", method: "keepAlive", args: .string(id)) }
          try? await Task.sleep(for: .milliseconds(250))
        }
      }()

      // The bus queue is served before the HTTP listener starts: wait for HTTP too.
      let listening = await eventually(timeout: .seconds(20)) {
        (try? await rest.send("GET", "/services/\(superservice.id)"))?.status == 200
      }
      try #require(listening, "Nuve's HTTP port never answered")
      #expect(try await rest.send("GET", "/workers") == (503, "time out!"), "no agent: the documented outage answer")
      let created = try await rest.send("POST", "/rooms", body: #"{"name":"failover"}"#)
      let roomID = try #require(try JSONValue(parsing: created.body)["_id"]?.stringValue)

      func token() async throws -> JSONValue {
        let response = try await rest.send("POST", "/rooms/\(roomID)/tokens", user: ("u", "r"))
        try #require(response.status == 200, "token: \(response)")
        return try JSONValue(parsing: Data(base64Encoded: response.body) ?? Data())
      }
      #expect(try await token()["host"] == "ec-a:8080", "first registered of equal state")
      #expect(try await token()["host"] == "ec-a:8080", "sticky")

      // A stops sending keep-alives: Nuve removes it and the room moves to B.
      alive.withLock { _ = $0.remove(a) }
      let removed = await eventually(timeout: .seconds(15)) {
        let list = (try? await bus.call("nuve", method: "getErizoControllers", args: nil))?.arrayValue ?? []
        return !list.contains { $0["_id"]?.stringValue == a }
      }
      #expect(removed, "the silent controller was not removed")
      #expect(try await bus.call("nuve", method: "keepAlive", args: .string(a)) == "whoareyou")
      let moved = try await token()
      #expect(moved["host"] == "ec-b:8080", "failover to the live controller")

      // Tokens are single use and expire at lookup.
      let fresh = try #require(moved["tokenId"]?.stringValue)
      #expect(try await bus.call("nuve", method: "deleteToken", args: .string(fresh))["host"] == "ec-b:8080")
      let stale = try #require(try await token()["tokenId"]?.stringValue)
      try await Task.sleep(for: .milliseconds(2500))
      #expect(try await bus.call("nuve", method: "deleteToken", args: .string(stale)) == "error", "an expired token")

      alive.withLock { $0.removeAll() }
      await keepingAlive
    }
  }
}

/// Signs REST calls with MAuth and sends them with URLSession.
struct NuveRESTClient: Sendable {
  let base: String
  let service: ServiceRecord

  func send(_ method: String, _ path: String, body: String? = nil, user: (String, String)? = nil) async throws
    -> (status: Int, body: String)
  {
    var request = URLRequest(url: URL(string: base + path)!)
    request.httpMethod = method
    request.setValue(
      MAuthHeader.build(
        serviceID: service.id, key: service.key, timestamp: Int(Date().timeIntervalSince1970 * 1000),
        cnonce: Int.random(in: 0..<99_999), user: user),
      forHTTPHeaderField: "Authorization")
    if let body {
      request.httpBody = Data(body.utf8)
      request.setValue("application/json", forHTTPHeaderField: "Content-Type")
    }
    let (data, response): (Data, URLResponse) = try await withCheckedThrowingContinuation { continuation in
      URLSession.shared.dataTask(with: request) { data, response, error in
        if let error {
          continuation.resume(throwing: error)
        } else {
          continuation.resume(returning: (data ?? Data(), response!))
        }
      }.resume()
    }
    return ((response as? HTTPURLResponse)?.statusCode ?? 0, String(decoding: data, as: UTF8.self))
  }
}
