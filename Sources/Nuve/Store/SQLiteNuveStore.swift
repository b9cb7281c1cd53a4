public import ErizoCore

public import struct Foundation.Date

/// The embedded store: one SQLite file in the data directory, schema versioned with `user_version`.
public final class SQLiteNuveStore: NuveStore {
  private let database: SQLiteDatabase

  /// Schema migrations, applied in order; index + 1 is the version they lead to.
  static let migrations: [[String]] = [
    [
      "CREATE TABLE services (id TEXT PRIMARY KEY, name TEXT NOT NULL, key TEXT NOT NULL, extra TEXT NOT NULL)",
      """
      CREATE TABLE rooms (id TEXT PRIMARY KEY, service_id TEXT NOT NULL, name TEXT NOT NULL, p2p INTEGER NOT NULL,
        data TEXT, media_configuration TEXT, eapolicy TEXT, controller_id TEXT, position INTEGER NOT NULL)
      """,
      "CREATE INDEX rooms_by_service ON rooms (service_id, position)",
      "CREATE INDEX rooms_by_controller ON rooms (controller_id)",
      """
      CREATE TABLE tokens (id TEXT PRIMARY KEY, user_name TEXT NOT NULL, role TEXT NOT NULL, room_id TEXT NOT NULL,
        service_id TEXT NOT NULL, created_ms INTEGER NOT NULL, media_configuration TEXT NOT NULL,
        secure INTEGER NOT NULL, host TEXT NOT NULL, p2p INTEGER NOT NULL, eapolicy TEXT)
      """,
      "CREATE INDEX tokens_by_age ON tokens (created_ms)",
      """
      CREATE TABLE controllers (id TEXT PRIMARY KEY, ip TEXT NOT NULL, hostname TEXT NOT NULL, port INTEGER NOT NULL,
        ssl INTEGER NOT NULL, state INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL)
      """,
      """
      CREATE TABLE nonces (service_id TEXT NOT NULL, timestamp INTEGER NOT NULL, cnonce INTEGER NOT NULL,
        PRIMARY KEY (service_id, timestamp, cnonce))
      """,
    ]
  ]

  public init(path: String) throws(ErizoError) {
    database = try SQLiteDatabase(path: path)
    try database.query("PRAGMA journal_mode = WAL")
    // In WAL mode NORMAL stays consistent after a crash; only the last commits can be lost on power
    // failure. FULL would fsync every token and nonce write (measured in docs/BENCHMARKS.md).
    try database.query("PRAGMA synchronous = NORMAL")
    let version = try database.query("PRAGMA user_version").first?.first?.int ?? 0
    for (index, statements) in Self.migrations.enumerated() where index >= version {
      try database.query("BEGIN IMMEDIATE")
      do {
        for statement in statements { try database.query(statement) }
        try database.query("PRAGMA user_version = \(index + 1)")
        try database.query("COMMIT")
      } catch {
        _ = try? database.query("ROLLBACK")
        throw error
      }
    }
  }

  // MARK: Services

  public func createService(_ service: ServiceRecord) async throws(ErizoError) {
    try await database.run { db throws(ErizoError) in
      try db.query(
        "INSERT INTO services (id, name, key, extra) VALUES (?, ?, ?, ?)",
        [.text(service.id), .text(service.name), .text(service.key), .text(JSONValue.object(service.extra).jsonText)])
    }
  }

  public func services() async throws(ErizoError) -> [ServiceRecord] {
    try await database.run { db throws(ErizoError) in
      try db.query("SELECT id, name, key, extra FROM services ORDER BY rowid").map { row throws(ErizoError) in
        try Self.service(row, rooms: try Self.rooms(db, serviceID: row[0].text ?? ""))
      }
    }
  }

  public func service(id: String) async throws(ErizoError) -> ServiceRecord? {
    try await database.run { db throws(ErizoError) in
      guard let row = try db.query("SELECT id, name, key, extra FROM services WHERE id = ?", [.text(id)]).first
      else { return nil }
      return try Self.service(row, rooms: try Self.rooms(db, serviceID: id))
    }
  }

  public func deleteService(id: String) async throws(ErizoError) -> Bool {
    try await database.run { db throws(ErizoError) in
      try db.query("DELETE FROM services WHERE id = ?", [.text(id)])
      return db.changes > 0
    }
  }

  private static func service(_ row: [SQLValue], rooms: [RoomRecord]) throws(ErizoError) -> ServiceRecord {
    let extra = (try? JSONValue(parsing: row[3].text ?? "{}"))?.objectValue ?? [:]
    return ServiceRecord(
      id: row[0].text ?? "", name: row[1].text ?? "", key: row[2].text ?? "", extra: extra, rooms: rooms)
  }

  private static func rooms(_ db: SQLiteDatabase, serviceID: String) throws(ErizoError) -> [RoomRecord] {
    try db.query(
      "SELECT id, name, p2p, data, media_configuration, eapolicy FROM rooms WHERE service_id = ? ORDER BY position",
      [.text(serviceID)]
    ).map { row in
      RoomRecord(
        id: row[0].text ?? "", name: row[1].text ?? "", p2p: row[2].int == 1,
        data: row[3].text.flatMap { try? JSONValue(parsing: $0) }, mediaConfiguration: row[4].text,
        eapolicy: row[5].text)
    }
  }

  // MARK: Rooms

  public func createRoom(_ room: RoomRecord, serviceID: String) async throws(ErizoError) {
    try await database.run { db throws(ErizoError) in
      try db.query(
        """
        INSERT INTO rooms (id, service_id, name, p2p, data, media_configuration, eapolicy, position)
        VALUES (?, ?, ?, ?, ?, ?, ?, (SELECT COALESCE(MAX(position), 0) + 1 FROM rooms))
        """,
        [
          .text(room.id), .text(serviceID), .text(room.name), .integer(room.p2p ? 1 : 0),
          room.data.map { .text($0.jsonText) } ?? .null, room.mediaConfiguration.map(SQLValue.text) ?? .null,
          room.eapolicy.map(SQLValue.text) ?? .null,
        ])
    }
  }

  public func updateRoom(_ room: RoomRecord, serviceID: String) async throws(ErizoError) -> Bool {
    try await database.run { db throws(ErizoError) in
      try db.query(
        """
        UPDATE rooms SET name = ?, p2p = ?, data = ?, media_configuration = ?, eapolicy = ?
        WHERE id = ? AND service_id = ?
        """,
        [
          .text(room.name), .integer(room.p2p ? 1 : 0), room.data.map { .text($0.jsonText) } ?? .null,
          room.mediaConfiguration.map(SQLValue.text) ?? .null, room.eapolicy.map(SQLValue.text) ?? .null,
          .text(room.id), .text(serviceID),
        ])
      return db.changes > 0
    }
  }

  public func deleteRoom(id: String, serviceID: String) async throws(ErizoError) -> Bool {
    try await database.run { db throws(ErizoError) in
      try db.query("DELETE FROM rooms WHERE id = ? AND service_id = ?", [.text(id), .text(serviceID)])
      return db.changes > 0
    }
  }

  public func roomController(roomID: String) async throws(ErizoError) -> String? {
    try await database.run { db throws(ErizoError) in
      try db.query("SELECT controller_id FROM rooms WHERE id = ?", [.text(roomID)]).first?.first?.text
    }
  }

  public func bindRoom(roomID: String, controllerID: String, alive: Set<String>) async throws(ErizoError) -> String {
    try await database.run { db throws(ErizoError) in
      // One statement, so the check and the write cannot interleave with another binding.
      let placeholders = alive.isEmpty ? "''" : Array(repeating: "?", count: alive.count).joined(separator: ",")
      try db.query(
        "UPDATE rooms SET controller_id = ? WHERE id = ? AND (controller_id IS NULL OR controller_id NOT IN (\(placeholders)))",
        [.text(controllerID), .text(roomID)] + alive.sorted().map(SQLValue.text))
      guard let bound = try db.query("SELECT controller_id FROM rooms WHERE id = ?", [.text(roomID)]).first?.first?.text
      else { throw ErizoError(.notFound, "room \(roomID) does not exist") }
      return bound
    }
  }

  public func unbindRooms(controllerID: String) async throws(ErizoError) {
    try await database.run { db throws(ErizoError) in
      try db.query("UPDATE rooms SET controller_id = NULL WHERE controller_id = ?", [.text(controllerID)])
    }
  }

  // MARK: Tokens

  public func createToken(_ token: TokenRecord) async throws(ErizoError) {
    try await database.run { db throws(ErizoError) in
      try db.query(
        """
        INSERT INTO tokens (id, user_name, role, room_id, service_id, created_ms, media_configuration, secure, host,
          p2p, eapolicy) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
        """,
        [
          .text(token.id), .text(token.userName), .text(token.role), .text(token.roomID), .text(token.serviceID),
          .integer(Int(token.creationDate.timeIntervalSince1970 * 1000)), .text(token.mediaConfiguration),
          .integer(token.secure ? 1 : 0), .text(token.host), .integer(token.p2p ? 1 : 0),
          token.eapolicy.map(SQLValue.text) ?? .null,
        ])
    }
  }

  public func takeToken(id: String) async throws(ErizoError) -> TokenRecord? {
    try await database.run { db throws(ErizoError) in
      let rows = try db.query(
        """
        DELETE FROM tokens WHERE id = ? RETURNING id, user_name, role, room_id, service_id, created_ms,
          media_configuration, secure, host, p2p, eapolicy
        """, [.text(id)])
      guard let row = rows.first else { return nil }
      return TokenRecord(
        id: row[0].text ?? "", userName: row[1].text ?? "", role: row[2].text ?? "", roomID: row[3].text ?? "",
        serviceID: row[4].text ?? "", creationDate: Date(timeIntervalSince1970: Double(row[5].int ?? 0) / 1000),
        mediaConfiguration: row[6].text ?? "default", secure: row[7].int == 1, host: row[8].text ?? "",
        p2p: row[9].int == 1, eapolicy: row[10].text)
    }
  }

  public func deleteTokens(olderThan date: Date) async throws(ErizoError) {
    try await database.run { db throws(ErizoError) in
      try db.query("DELETE FROM tokens WHERE created_ms < ?", [.integer(Int(date.timeIntervalSince1970 * 1000))])
    }
  }

  // MARK: Controllers

  public func addController(_ controller: ControllerRecord) async throws(ErizoError) {
    try await database.run { db throws(ErizoError) in
      try db.query(
        "INSERT INTO controllers (id, ip, hostname, port, ssl, state, last_seen_ms) VALUES (?, ?, ?, ?, ?, ?, ?)",
        [
          .text(controller.id), .text(controller.ip), .text(controller.hostname), .integer(controller.port),
          .integer(controller.ssl ? 1 : 0), .integer(controller.state),
          .integer(Int(controller.lastSeen.timeIntervalSince1970 * 1000)),
        ])
    }
  }

  public func controllers() async throws(ErizoError) -> [ControllerRecord] {
    try await database.run { db throws(ErizoError) in
      try db.query("SELECT id, ip, hostname, port, ssl, state, last_seen_ms FROM controllers ORDER BY rowid").map {
        row in
        ControllerRecord(
          id: row[0].text ?? "", ip: row[1].text ?? "", hostname: row[2].text ?? "", port: row[3].int ?? 0,
          ssl: row[4].int == 1, state: row[5].int ?? 0,
          lastSeen: Date(timeIntervalSince1970: Double(row[6].int ?? 0) / 1000))
      }
    }
  }

  public func touchController(id: String, at date: Date) async throws(ErizoError) -> Bool {
    try await database.run { db throws(ErizoError) in
      try db.query(
        "UPDATE controllers SET last_seen_ms = MAX(last_seen_ms, ?) WHERE id = ?",
        [.integer(Int(date.timeIntervalSince1970 * 1000)), .text(id)])
      return db.changes > 0
    }
  }

  public func setControllerState(id: String, state: Int) async throws(ErizoError) -> Bool {
    try await database.run { db throws(ErizoError) in
      try db.query("UPDATE controllers SET state = ? WHERE id = ?", [.integer(state), .text(id)])
      return db.changes > 0
    }
  }

  public func deleteController(id: String) async throws(ErizoError) -> Bool {
    try await database.run { db throws(ErizoError) in
      try db.query("DELETE FROM controllers WHERE id = ?", [.text(id)])
      return db.changes > 0
    }
  }

  // MARK: MAuth nonces

  public func deleteNonces(before timestamp: Int) async throws(ErizoError) {
    try await database.run { db throws(ErizoError) in
      try db.query("DELETE FROM nonces WHERE timestamp < ?", [.integer(timestamp)])
    }
  }

  public func recordNonce(serviceID: String, timestamp: Int, cnonce: Int) async throws(ErizoError) -> Bool {
    try await database.run { db throws(ErizoError) in
      try db.query(
        "INSERT OR IGNORE INTO nonces (service_id, timestamp, cnonce) VALUES (?, ?, ?)",
        [.text(serviceID), .integer(timestamp), .integer(cnonce)])
      return db.changes > 0
    }
  }
}
