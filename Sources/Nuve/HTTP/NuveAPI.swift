public import AMQPRPC
public import ErizoCore
internal import ErizoWire
public import Logging

internal import struct Foundation.Date

/// A request as the routes see it, independent of the HTTP server.
public struct NuveRequest: Sendable {
  public var method: String
  public var path: String
  public var authorization: String?
  public var body: JSONValue?

  public init(method: String, path: String, authorization: String? = nil, body: JSONValue? = nil) {
    self.method = method
    self.path = path
    self.authorization = authorization
    self.body = body
  }
}

/// The Nuve REST API of spec §1.3, with the reference's status codes and bodies, and 404/503 where
/// the reference crashes or answers nonsense.
public struct NuveAPI: Sendable {
  public struct Settings: Sendable {
    public var tokenLifetime: Duration
    public var controllerTimeout: Duration
    public var rpcTimeout: Duration
    public var testRoom: Bool
    public var superserviceKey: String

    public init(
      tokenLifetime: Duration = .seconds(180), controllerTimeout: Duration = .seconds(11),
      rpcTimeout: Duration = .seconds(10), testRoom: Bool = false, superserviceKey: String
    ) {
      self.tokenLifetime = tokenLifetime
      self.controllerTimeout = controllerTimeout
      self.rpcTimeout = rpcTimeout
      self.testRoom = testRoom
      self.superserviceKey = superserviceKey
    }
  }

  static let testRoomName = "testRoom"
  let store: any NuveStore
  let bus: any RPCBus
  let verifier: MAuthVerifier
  let settings: Settings
  let logger: Logger

  public init(store: any NuveStore, bus: any RPCBus, verifier: MAuthVerifier, settings: Settings, logger: Logger) {
    self.store = store
    self.bus = bus
    self.verifier = verifier
    self.settings = settings
    self.logger = logger
  }

  public func handle(_ request: NuveRequest) async -> NuveResponse {
    if request.method == "OPTIONS" { return .text(200, "OK") }
    do {
      guard let caller = try await verifier.verify(header: request.authorization) else { return .unauthorized }
      let parts = request.path.split(separator: "/").map(String.init)
      return try await route(request, parts: parts, caller: caller)
    } catch {
      logger.warning("nuve request failed", metadata: ["http.path": "\(request.path)", "error": "\(error)"])
      switch error.code {
      case .storeUnavailable: return .text(503, "Database does not respond")
      case .busUnavailable, .rpcTimeout: return .text(503, "Message bus does not respond")
      default: return .text(500, "Internal error")
      }
    }
  }

  private func route(_ request: NuveRequest, parts: [String], caller: NuveCaller) async throws(ErizoError)
    -> NuveResponse
  {
    switch (request.method, parts.count, parts.first) {
    case (_, _, "services"):
      guard caller.isSuperservice else { return .text(401, "Service not authorized for this action") }
      return try await services(request, parts: parts)
    case ("POST", 1, "rooms"): return try await createRoom(request.body, caller: caller)
    case ("GET", 1, "rooms"): return .json(.array(caller.service.rooms.map(\.json)))
    case (_, 2, "rooms"): return try await room(request, id: parts[1], caller: caller)
    case ("POST", 3, "rooms") where parts[2] == "tokens":
      return try await createToken(roomID: parts[1], caller: caller)
    case (_, 3, "rooms") where parts[2] == "users", (_, 4, "rooms") where parts[2] == "users":
      return try await users(request.method, roomID: parts[1], user: parts.count == 4 ? parts[3] : nil, caller: caller)
    case ("GET", 1, "workers"): return try await workers()
    default: return .text(404, "Resource not found")
    }
  }

  // MARK: /services

  private func services(_ request: NuveRequest, parts: [String]) async throws(ErizoError) -> NuveResponse {
    switch (request.method, parts.count) {
    case ("POST", 1):
      guard case .object(var fields)? = request.body else { return .text(400, "Invalid name") }
      guard case .string(let name)? = fields["name"], !name.isEmpty else { return .text(400, "Invalid name") }
      guard case .string(let key)? = fields["key"], !key.isEmpty else { return .text(400, "Invalid key") }
      for reserved in ["name", "key", "_id", "rooms", "testRoom", "testToken"] { fields[reserved] = nil }
      let id = ObjectID.make()
      try await store.createService(ServiceRecord(id: id, name: name, key: key, extra: fields))
      return .json(.string(id))
    case ("GET", 1):
      return .json(.array(try await store.services().map(\.json)))
    case ("GET", 2):
      guard let service = try await store.service(id: parts[1]) else { return .text(404, "Service not found") }
      return .json(service.json)
    case ("DELETE", 2):
      guard try await store.deleteService(id: parts[1]) else { return .text(404, "Service not found") }
      return .text(200, "Service deleted")
    default:
      return .text(404, "Resource not found")
    }
  }

  // MARK: /rooms

  private func createRoom(_ body: JSONValue?, caller: NuveCaller) async throws(ErizoError) -> NuveResponse {
    guard case .string(let name)? = body?["name"], !name.isEmpty else { return .text(400, "Invalid room") }
    let options = body?["options"]?.objectValue ?? [:]
    if options["test"]?.boolValue == true {
      // The reference's shared development room: one per service, created on first use.
      guard settings.testRoom else { return .text(400, "Test rooms are disabled") }
      if let existing = caller.service.rooms.first(where: { $0.name == Self.testRoomName }) {
        return .json(existing.json)
      }
      let room = RoomRecord(id: ObjectID.make(), name: Self.testRoomName)
      try await store.createRoom(room, serviceID: caller.service.id)
      return .json(room.json)
    }
    var room = RoomRecord(id: ObjectID.make(), name: name)
    room.p2p = options["p2p"]?.boolValue == true
    room.data = options["data"]
    room.mediaConfiguration = options["mediaConfiguration"]?.stringValue
    if let policy = options["eapolicy"] {
      guard let text = policy.stringValue, ["ROOM-BEST", "TTL-BEST"].contains(text) else {
        return .text(400, "Invalid room")
      }
      room.eapolicy = text
    }
    try await store.createRoom(room, serviceID: caller.service.id)
    return .json(room.json)
  }

  private func room(_ request: NuveRequest, id: String, caller: NuveCaller) async throws(ErizoError) -> NuveResponse {
    guard var room = caller.service.rooms.first(where: { $0.id == id }) else {
      return .text(404, "Room does not exist")
    }
    switch request.method {
    case "GET":
      return .json(room.json)
    case "PUT":
      guard case .string(let name)? = request.body?["name"], !name.isEmpty else { return .text(400, "Invalid room") }
      let options = request.body?["options"]?.objectValue ?? [:]
      room.name = name
      if options["p2p"]?.boolValue == true { room.p2p = true }
      room.data = options["data"]
      room.mediaConfiguration = options["mediaConfiguration"]?.stringValue
      _ = try await store.updateRoom(room, serviceID: caller.service.id)
      return .text(200, "Room Updated")
    case "PATCH":
      if let name = request.body?["name"] {
        guard let text = name.stringValue, !text.isEmpty else { return .text(400, "Invalid room") }
        room.name = text
      }
      let options = request.body?["options"]?.objectValue ?? [:]
      if options["p2p"]?.boolValue == true { room.p2p = true }
      if case .object(let patch)? = options["data"] {
        var merged = room.data?.objectValue ?? [:]
        merged.merge(patch) { _, new in new }
        room.data = .object(merged)
      }
      _ = try await store.updateRoom(room, serviceID: caller.service.id)
      return .text(200, "Room Updated")
    case "DELETE":
      let controller = try await store.roomController(roomID: id)
      _ = try await store.deleteRoom(id: id, serviceID: caller.service.id)
      if let controller {
        // Fire and forget, as the reference does: the room is gone from Nuve either way.
        _ = try? await bus.call(
          BusTopology.controllerQueue(controller), method: "deleteRoom", args: [.string(id)], timeout: .seconds(1))
      }
      return .text(200, "Room deleted")
    default:
      return .text(404, "Resource not found")
    }
  }

  // MARK: Tokens

  private func createToken(roomID: String, caller: NuveCaller) async throws(ErizoError) -> NuveResponse {
    guard let user = caller.user, !user.name.isEmpty else { return .text(401, "Name and role?") }
    guard let room = caller.service.rooms.first(where: { $0.id == roomID }) else {
      return .text(404, "Room does not exist")
    }
    guard
      let controller = try await ControllerChooser(store: store, timeout: settings.controllerTimeout).bind(
        roomID: roomID)
    else { return .text(404, "No Erizo Controller found") }
    let record = TokenRecord(
      id: ObjectID.make(), userName: user.name, role: user.role, roomID: roomID, serviceID: caller.service.id,
      creationDate: Date(), mediaConfiguration: room.mediaConfiguration ?? "default", secure: controller.ssl,
      host: controller.host, p2p: room.p2p, eapolicy: room.eapolicy)
    try await store.createToken(record)
    let token = NuveToken(
      tokenID: record.id, host: record.host, secure: record.secure, eapolicy: room.eapolicy,
      superserviceKey: settings.superserviceKey)
    return .text(200, token.encoded)
  }

  // MARK: Users and workers

  private func users(_ method: String, roomID: String, user: String?, caller: NuveCaller) async throws(ErizoError)
    -> NuveResponse
  {
    guard caller.service.rooms.contains(where: { $0.id == roomID }) else { return .text(404, "Room does not exist") }
    guard let controller = try await store.roomController(roomID: roomID) else {
      if user == nil, method == "GET" { return .json([]) }
      return .text(404, "User does not exist")
    }
    let queue = BusTopology.controllerQueue(controller)
    do {
      switch (method, user) {
      case ("GET", nil):
        let users = try await bus.call(
          queue, method: "getUsersInRoom", args: [.string(roomID)], timeout: settings.rpcTimeout)
        return .json(users.arrayValue.map(JSONValue.array) ?? [])
      case ("GET", let name?):
        let users = try await bus.call(
          queue, method: "getUsersInRoom", args: [.string(roomID)], timeout: settings.rpcTimeout)
        guard let found = users.arrayValue?.first(where: { $0["name"]?.stringValue == name }) else {
          return .text(404, "User does not exist")
        }
        return .json(found)
      case ("DELETE", let name?):
        let answer = try await bus.call(
          queue, method: "deleteUser", args: [["user": .string(name), "roomId": .string(roomID)]],
          timeout: settings.rpcTimeout)
        guard answer == "Success" else { return .text(404, answer.stringValue ?? "User does not exist") }
        return .text(200, "Success")
      default:
        return .text(404, "Resource not found")
      }
    } catch {
      return .text(503, "Erizo Controller managing this room does not respond")
    }
  }

  private func workers() async throws(ErizoError) -> NuveResponse {
    do {
      let info = try await bus.call(
        BusTopology.agentSharedQueue, method: "getWorkerInfo", args: [], timeout: settings.rpcTimeout)
      return .json(info)
    } catch {
      return .text(503, "time out!")
    }
  }
}

/// Picks and binds the controller for a room (spec §2.1): the room's current controller if it is
/// alive (sticky), else the alive controllers by state 2, then 1, then 0, bound atomically.
struct ControllerChooser: Sendable {
  let store: any NuveStore
  let timeout: Duration

  func bind(roomID: String, now: Date = Date()) async throws(ErizoError) -> ControllerRecord? {
    let limit = now.addingTimeInterval(-Double(timeout.components.seconds))
    let alive = try await store.controllers().filter { $0.lastSeen >= limit }
    guard !alive.isEmpty else { return nil }
    let ids = Set(alive.map(\.id))
    let ordered = alive.orderedByState
    let current = try await store.roomController(roomID: roomID)
    let candidate = current.flatMap { id in alive.first { $0.id == id } } ?? ordered[0]
    let bound = try await store.bindRoom(roomID: roomID, controllerID: candidate.id, alive: ids)
    return alive.first { $0.id == bound }
  }
}
