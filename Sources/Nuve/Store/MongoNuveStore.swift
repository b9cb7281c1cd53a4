public import ErizoCore
public import Foundation

/// The production store: MongoDB through libmongoc, in the reference's `nuvedb` layout (spec §3) so
/// an existing Licode database keeps working: `services` with embedded room copies, `rooms` (with
/// `erizoControllerId`), `tokens`, `erizoControllers`. Erizo adds `mauthNonces` (unique index) and a
/// `lastSeen` date on controllers. Atomic single-document updates; no `db.eval`.
public final class MongoNuveStore: NuveStore {
  private let connection: MongoConnection

  public init(url: String) throws(ErizoError) {
    connection = try MongoConnection(url: url)
  }

  /// Creates the indexes lookups need. Call once at start; it fails when the server is unreachable.
  public func prepare() async throws(ErizoError) {
    try await connection.run { db throws(ErizoError) in
      try db.createIndex(
        "mauthNonces", keys: ["service": 1, "timestamp": 1, "cnonce": 1], indexName: "service_timestamp_cnonce",
        unique: true)
      try db.createIndex("tokens", keys: ["creationDate": 1], indexName: "creationDate", unique: false)
      try db.createIndex("rooms", keys: ["erizoControllerId": 1], indexName: "erizoControllerId", unique: false)
    }
  }

  // MARK: Encoding helpers

  static func oid(_ id: String) -> JSONValue { ["$oid": .string(id)] }

  /// A reference to another document: an ObjectId when it is one (the reference layout), else the
  /// plain string, so odd ids are stored instead of failing the encoding.
  static func ref(_ id: String) -> JSONValue { ObjectID.isValid(id) ? oid(id.lowercased()) : .string(id) }

  static func id(_ value: JSONValue?) -> String? {
    if let text = value?.stringValue { return text }
    return value?["$oid"]?.stringValue
  }

  static func date(_ date: Date) -> JSONValue {
    ["$date": ["$numberLong": .string(String(Int64((date.timeIntervalSince1970 * 1000).rounded())))]]
  }

  static func date(_ value: JSONValue?) -> Date {
    if let text = value?["$date"]?.stringValue {
      if let parsed = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) { return parsed }
      if let parsed = try? Date.ISO8601FormatStyle().parse(text) { return parsed }
    }
    if let millis = value?["$date"]?["$numberLong"]?.stringValue.flatMap(Double.init) {
      return Date(timeIntervalSince1970: millis / 1000)
    }
    if let millis = value?["$date"]?.doubleValue { return Date(timeIntervalSince1970: millis / 1000) }
    return Date(timeIntervalSince1970: 0)
  }

  static func roomDocument(_ room: RoomRecord) -> [String: JSONValue] {
    var document: [String: JSONValue] = ["_id": oid(room.id), "name": .string(room.name)]
    if room.p2p { document["p2p"] = true }
    if let data = room.data { document["data"] = data }
    if let mediaConfiguration = room.mediaConfiguration { document["mediaConfiguration"] = .string(mediaConfiguration) }
    if let eapolicy = room.eapolicy { document["eapolicy"] = .string(eapolicy) }
    return document
  }

  static func room(_ document: JSONValue) -> RoomRecord {
    RoomRecord(
      id: id(document["_id"]) ?? "", name: document["name"]?.stringValue ?? "", p2p: document["p2p"]?.boolValue == true,
      data: document["data"], mediaConfiguration: document["mediaConfiguration"]?.stringValue,
      eapolicy: document["eapolicy"]?.stringValue)
  }

  static func service(_ document: JSONValue) -> ServiceRecord {
    var extra = document.objectValue ?? [:]
    for field in ["_id", "name", "key", "rooms", "testRoom", "testToken"] { extra[field] = nil }
    return ServiceRecord(
      id: id(document["_id"]) ?? "", name: document["name"]?.stringValue ?? "", key: document["key"]?.stringValue ?? "",
      extra: extra, rooms: (document["rooms"]?.arrayValue ?? []).map(room))
  }

  // MARK: Services

  public func createService(_ service: ServiceRecord) async throws(ErizoError) {
    var document = service.extra
    document["_id"] = Self.oid(service.id)
    document["name"] = .string(service.name)
    document["key"] = .string(service.key)
    document["rooms"] = .array(service.rooms.map { .object(Self.roomDocument($0)) })
    let finished = JSONValue.object(document)
    try await connection.run { db throws(ErizoError) in try db.insert("services", finished) }
  }

  public func services() async throws(ErizoError) -> [ServiceRecord] {
    try await connection.run { db throws(ErizoError) in try db.find("services", [:]).map(Self.service) }
  }

  public func service(id: String) async throws(ErizoError) -> ServiceRecord? {
    guard ObjectID.isValid(id) else { return nil }
    return try await connection.run { db throws(ErizoError) in
      try db.find("services", ["_id": Self.oid(id)]).first.map(Self.service)
    }
  }

  public func deleteService(id: String) async throws(ErizoError) -> Bool {
    guard ObjectID.isValid(id) else { return false }
    return try await connection.run { db throws(ErizoError) in try db.delete("services", ["_id": Self.oid(id)]) > 0 }
  }

  // MARK: Rooms

  public func createRoom(_ room: RoomRecord, serviceID: String) async throws(ErizoError) {
    let document = JSONValue.object(Self.roomDocument(room))
    try await connection.run { db throws(ErizoError) in
      try db.insert("rooms", document)
      try db.update("services", ["_id": Self.oid(serviceID)], ["$push": ["rooms": document]])
    }
  }

  public func updateRoom(_ room: RoomRecord, serviceID: String) async throws(ErizoError) -> Bool {
    guard ObjectID.isValid(room.id) else { return false }
    var fields = Self.roomDocument(room)
    fields["_id"] = nil
    var unset: [String: JSONValue] = [:]
    for field in ["p2p", "data", "mediaConfiguration", "eapolicy"] where fields[field] == nil { unset[field] = "" }
    let copy = JSONValue.object(Self.roomDocument(room))
    let set = JSONValue.object(fields)
    let unsetFields = unset
    return try await connection.run { db throws(ErizoError) in
      // The embedded copy decides ownership; the `rooms` document keeps its erizoControllerId.
      let owned = try db.update(
        "services", ["_id": Self.oid(serviceID), "rooms._id": Self.oid(room.id)], ["$set": ["rooms.$": copy]])
      guard owned > 0 else { return false }
      var update: [String: JSONValue] = ["$set": set]
      if !unsetFields.isEmpty { update["$unset"] = .object(unsetFields) }
      try db.update("rooms", ["_id": Self.oid(room.id)], .object(update))
      return true
    }
  }

  public func deleteRoom(id: String, serviceID: String) async throws(ErizoError) -> Bool {
    guard ObjectID.isValid(id) else { return false }
    return try await connection.run { db throws(ErizoError) in
      let owned = try db.update(
        "services", ["_id": Self.oid(serviceID), "rooms._id": Self.oid(id)], ["$pull": ["rooms": ["_id": Self.oid(id)]]]
      )
      guard owned > 0 else { return false }
      try db.delete("rooms", ["_id": Self.oid(id)])
      return true
    }
  }

  public func roomController(roomID: String) async throws(ErizoError) -> String? {
    guard ObjectID.isValid(roomID) else { return nil }
    return try await connection.run { db throws(ErizoError) in
      try db.find("rooms", ["_id": Self.oid(roomID)]).first.flatMap { Self.id($0["erizoControllerId"]) }
    }
  }

  public func bindRoom(roomID: String, controllerID: String, alive: Set<String>) async throws(ErizoError) -> String {
    guard ObjectID.isValid(roomID) else { throw ErizoError(.notFound, "room \(roomID) does not exist") }
    let aliveIDs = JSONValue.array(alive.sorted().map(Self.ref))
    return try await connection.run { db throws(ErizoError) in
      // One conditional single-document update: atomic, and a concurrent binding to a live
      // controller is kept.
      try db.update(
        "rooms",
        [
          "_id": Self.oid(roomID),
          "$or": [
            ["erizoControllerId": ["$exists": false]], ["erizoControllerId": nil],
            ["erizoControllerId": ["$nin": aliveIDs]],
          ],
        ],
        ["$set": ["erizoControllerId": Self.ref(controllerID)]])
      guard let room = try db.find("rooms", ["_id": Self.oid(roomID)]).first else {
        throw ErizoError(.notFound, "room \(roomID) does not exist")
      }
      guard let bound = Self.id(room["erizoControllerId"]) else {
        throw ErizoError(.storeUnavailable, "room \(roomID) was not bound")
      }
      return bound
    }
  }

  public func unbindRooms(controllerID: String) async throws(ErizoError) {
    try await connection.run { db throws(ErizoError) in
      try db.update(
        "rooms", ["erizoControllerId": Self.ref(controllerID)], ["$unset": ["erizoControllerId": ""]], many: true)
    }
  }

  // MARK: Tokens

  public func createToken(_ token: TokenRecord) async throws(ErizoError) {
    var document: [String: JSONValue] = [
      "_id": Self.oid(token.id), "userName": .string(token.userName), "role": .string(token.role),
      "room": Self.ref(token.roomID), "service": Self.ref(token.serviceID),
      "creationDate": Self.date(token.creationDate),
      "mediaConfiguration": .string(token.mediaConfiguration), "secure": .bool(token.secure),
      "host": .string(token.host),
    ]
    if token.p2p { document["p2p"] = true }
    if let eapolicy = token.eapolicy { document["eapolicy"] = .string(eapolicy) }
    let finished = JSONValue.object(document)
    try await connection.run { db throws(ErizoError) in try db.insert("tokens", finished) }
  }

  public func takeToken(id: String) async throws(ErizoError) -> TokenRecord? {
    guard ObjectID.isValid(id) else { return nil }
    return try await connection.run { db throws(ErizoError) in
      guard let document = try db.findAndRemove("tokens", ["_id": Self.oid(id)]) else { return nil }
      return TokenRecord(
        id: Self.id(document["_id"]) ?? id, userName: document["userName"]?.stringValue ?? "",
        role: document["role"]?.stringValue ?? "", roomID: Self.id(document["room"]) ?? "",
        serviceID: Self.id(document["service"]) ?? "", creationDate: Self.date(document["creationDate"]),
        mediaConfiguration: document["mediaConfiguration"]?.stringValue ?? "default",
        secure: document["secure"]?.boolValue == true, host: document["host"]?.stringValue ?? "",
        p2p: document["p2p"]?.boolValue == true, eapolicy: document["eapolicy"]?.stringValue)
    }
  }

  public func deleteTokens(olderThan date: Date) async throws(ErizoError) {
    try await connection.run { db throws(ErizoError) in
      try db.delete("tokens", ["creationDate": ["$lt": Self.date(date)]], many: true)
    }
  }

  // MARK: Controllers

  public func addController(_ controller: ControllerRecord) async throws(ErizoError) {
    let document: JSONValue = [
      "_id": Self.oid(controller.id), "ip": .string(controller.ip), "hostname": .string(controller.hostname),
      "port": .int(controller.port), "ssl": .bool(controller.ssl), "state": .int(controller.state), "keepAlive": 0,
      "lastSeen": Self.date(controller.lastSeen),
    ]
    try await connection.run { db throws(ErizoError) in try db.insert("erizoControllers", document) }
  }

  public func controllers() async throws(ErizoError) -> [ControllerRecord] {
    try await connection.run { db throws(ErizoError) in
      try db.find("erizoControllers", [:]).map { document in
        ControllerRecord(
          id: Self.id(document["_id"]) ?? "", ip: document["ip"]?.stringValue ?? "",
          hostname: document["hostname"]?.stringValue ?? "", port: document["port"]?.intValue ?? 0,
          ssl: document["ssl"]?.boolValue == true, state: document["state"]?.intValue ?? 0,
          lastSeen: Self.date(document["lastSeen"]))
      }
    }
  }

  public func touchController(id: String, at date: Date) async throws(ErizoError) -> Bool {
    guard ObjectID.isValid(id) else { return false }
    return try await connection.run { db throws(ErizoError) in
      try db.update(
        "erizoControllers", ["_id": Self.oid(id)], ["$max": ["lastSeen": Self.date(date)], "$set": ["keepAlive": 0]])
        > 0
    }
  }

  public func setControllerState(id: String, state: Int) async throws(ErizoError) -> Bool {
    guard ObjectID.isValid(id) else { return false }
    return try await connection.run { db throws(ErizoError) in
      try db.update("erizoControllers", ["_id": Self.oid(id)], ["$set": ["state": .int(state)]]) > 0
    }
  }

  public func deleteController(id: String) async throws(ErizoError) -> Bool {
    guard ObjectID.isValid(id) else { return false }
    return try await connection.run { db throws(ErizoError) in
      try db.delete("erizoControllers", ["_id": Self.oid(id)]) > 0
    }
  }

  // MARK: MAuth nonces

  public func deleteNonces(before timestamp: Int) async throws(ErizoError) {
    try await connection.run { db throws(ErizoError) in
      try db.delete("mauthNonces", ["timestamp": ["$lt": .int(timestamp)]], many: true)
    }
  }

  public func recordNonce(serviceID: String, timestamp: Int, cnonce: Int) async throws(ErizoError) -> Bool {
    try await connection.run { db throws(ErizoError) in
      try db.insertUnlessDuplicate(
        "mauthNonces", ["service": .string(serviceID), "timestamp": .int(timestamp), "cnonce": .int(cnonce)])
    }
  }
}
