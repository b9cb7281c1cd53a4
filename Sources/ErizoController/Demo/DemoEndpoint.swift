internal import ErizoCore
internal import ErizoRoleSupport
internal import Foundation
internal import HTTPTypes
internal import Hummingbird
internal import Logging
internal import NIOCore
internal import Synchronization

/// The browser demo (issue 8): the page at `/`, and the two small calls it makes besides WHIP and
/// WHEP. Served only when `controller.demo` is on (the default of `erizo all`):
///
/// - `POST /demo/token {"room": name, "name": user}` → `{"roomId", "token"}`: the controller acts
///   as an application server and asks Nuve's REST API (MAuth as the superservice) for the room
///   of that name (made if missing) and a single-use token.
/// - `GET /demo/rooms/<roomId>/publishers` → `{"publishers": [{"id", "displayName"}]}`: the room's
///   peers that publish, so the page knows whom to play over WHEP.
struct DemoEndpoint: Sendable {
  let state: ControllerState
  let logger: Logger
  let nuveURL: String
  /// The superservice from the configuration; empty parts come from Nuve's `superservice.json`.
  let configuredCredentials: (id: String, key: String)
  let nuveDataDirectory: String
  /// Lookups of a room by name in flight: concurrent tokens for one new room share one lookup
  /// (or creation), where two would each make a room of that name.
  let lookups = RoomLookups()

  static func make(role: ControllerRole, state: ControllerState, logger: Logger) -> DemoEndpoint? {
    guard role.configuration.demoEnabled else { return nil }
    if NuveRESTClient(url: role.configuration.nuveURL, serviceID: "", key: "") == nil {
      logger.warning("controller.nuveURL is not http://host:port: the demo cannot make tokens")
    }
    return DemoEndpoint(
      state: state, logger: logger, nuveURL: role.configuration.nuveURL,
      configuredCredentials: (role.superserviceID, role.superserviceKey), nuveDataDirectory: role.nuveDataDirectory)
  }

  /// Nuve's REST client with the superservice's credentials, looked up per request: in `erizo all`
  /// on a new data directory Nuve writes `superservice.json` only after the controller started.
  private func nuveClient() -> NuveRESTClient? {
    var (id, key) = configuredCredentials
    if id.isEmpty || key.isEmpty, let saved = SuperserviceFile.read(directory: nuveDataDirectory) {
      (id, key) = (saved.id ?? id, saved.key)
    }
    return NuveRESTClient(url: nuveURL, serviceID: id, key: key)
  }

  func respond(to request: Request) async -> Response? {
    let path = request.uri.path
    switch (request.method, path) {
    case (.get, "/"), (.get, "/index.html"):
      return Self.reply(.ok, DemoPage.html, type: "text/html; charset=utf-8")
    case (.post, "/demo/token"):
      return await token(request)
    case (.get, _) where path.hasPrefix("/demo/rooms/") && path.hasSuffix("/publishers"):
      let roomID = String(path.dropFirst("/demo/rooms/".count).dropLast("/publishers".count))
      let publishers = await state.publishers(inRoom: roomID).map { client -> JSONValue in
        ["id": .string(client.id), "displayName": .string(client.displayName)]
      }
      return Self.reply(.ok, (["publishers": .array(publishers)] as JSONValue).jsonText, type: "application/json")
    default:
      return nil
    }
  }

  private func token(_ request: Request) async -> Response {
    guard let nuve = nuveClient() else { return Self.reply(.serviceUnavailable, "the demo has no Nuve address") }
    guard let body = try? await request.body.collect(upTo: 4096),
      let json = try? JSONValue(parsing: Array(buffer: body))
    else { return Self.reply(.badRequest, "expected {\"room\": …, \"name\": …}") }
    guard let room = json["room"]?.stringValue, Self.isValidName(room, maximum: 64),
      let name = json["name"]?.stringValue, Self.isValidName(name, maximum: 32)
    else {
      return Self.reply(.badRequest, "room (1-64) and name (1-32): letters, digits, space, '-' and '_'")
    }
    do {
      let roomID = try await lookups.roomID(named: room) { try await nuve.room(named: room) }
      let token = try await nuve.token(roomID: roomID, user: name)
      let reply: JSONValue = ["roomId": .string(roomID), "token": .string(token)]
      return Self.reply(.ok, reply.jsonText, type: "application/json")
    } catch {
      logger.warning("demo token refused by Nuve", metadata: [LogMetadataKey.error: "\(error)"])
      return Self.reply(.badGateway, "Nuve: \(error)")
    }
  }

  static func isValidName(_ text: String, maximum: Int) -> Bool {
    (1...maximum).contains(text.count)
      && text.unicodeScalars.allSatisfy { CharacterSet.alphanumerics.contains($0) || " -_".unicodeScalars.contains($0) }
  }

  static func reply(_ status: HTTPResponse.Status, _ body: String, type: String = "text/plain; charset=utf-8")
    -> Response
  {
    Response(
      status: status, headers: [.contentType: type, .cacheControl: "no-store"],
      body: .init(byteBuffer: ByteBuffer(string: body)))
  }
}

/// Coalesces concurrent find-or-create calls for the same room name into one.
final class RoomLookups: Sendable {
  private let inFlight = Mutex<[String: Task<String, any Error>]>([:])

  func roomID(named name: String, _ lookup: @escaping @Sendable () async throws -> String) async throws -> String {
    let task = inFlight.withLock { tasks in
      if let running = tasks[name] { return running }
      let task = Task { try await lookup() }
      tasks[name] = task
      return task
    }
    defer { inFlight.withLock { tasks in if tasks[name] == task { tasks[name] = nil } } }
    return try await task.value
  }
}
