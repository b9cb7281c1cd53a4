import ErizoCore
import Foundation
import Nuve
import Testing

/// The store contract, run against SQLite (a MongoDB run will reuse `NuveStoreScenarios`).
@Suite("SQLite Nuve store")
struct SQLiteNuveStoreTests {
  static func makeStore() throws -> SQLiteNuveStore {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("nuve-\(UUID()).sqlite").path
    return try SQLiteNuveStore(path: path)
  }

  @Test func servicesAndRooms() async throws { try await NuveStoreScenarios.servicesAndRooms(try Self.makeStore()) }
  @Test func bindingIsAtomicAndSticky() async throws {
    try await NuveStoreScenarios.bindingIsAtomicAndSticky(try Self.makeStore())
  }
  @Test func tokensAreSingleUse() async throws { try await NuveStoreScenarios.tokensAreSingleUse(try Self.makeStore()) }
  @Test func controllers() async throws { try await NuveStoreScenarios.controllers(try Self.makeStore()) }
  @Test func noncesRejectReplays() async throws {
    try await NuveStoreScenarios.noncesRejectReplays(try Self.makeStore())
  }

  @Test func reopeningKeepsDataAndSchema() async throws {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("nuve-\(UUID()).sqlite").path
    try await SQLiteNuveStore(path: path).createService(ServiceRecord(id: ObjectID.make(), name: "s", key: "k"))
    let reopened = try SQLiteNuveStore(path: path)
    #expect(try await reopened.services().count == 1)
  }
}

enum NuveStoreScenarios {
  static func servicesAndRooms(_ store: some NuveStore) async throws {
    let serviceID = ObjectID.make()
    try await store.createService(ServiceRecord(id: serviceID, name: "app", key: "k1", extra: ["plan": "gold"]))
    let room = RoomRecord(id: ObjectID.make(), name: "r1", p2p: true, data: ["a": 1], eapolicy: "TTL-BEST")
    try await store.createRoom(room, serviceID: serviceID)
    try await store.createRoom(RoomRecord(id: ObjectID.make(), name: "r2"), serviceID: serviceID)
    let loaded = try #require(try await store.service(id: serviceID))
    #expect(loaded.extra == ["plan": "gold"])
    #expect(loaded.rooms.map(\.name) == ["r1", "r2"])
    #expect(loaded.rooms[0] == room)
    var renamed = room
    renamed.name = "renamed"
    #expect(try await store.updateRoom(renamed, serviceID: serviceID))
    #expect(try await !store.updateRoom(renamed, serviceID: ObjectID.make()), "another service cannot touch it")
    #expect(try await store.service(id: serviceID)?.rooms.first?.name == "renamed")
    #expect(try await store.deleteRoom(id: room.id, serviceID: serviceID))
    #expect(try await !store.deleteRoom(id: room.id, serviceID: serviceID))
    #expect(try await store.deleteService(id: serviceID))
    #expect(try await store.service(id: serviceID) == nil)
    #expect(try await !store.deleteService(id: serviceID))
  }

  static func bindingIsAtomicAndSticky(_ store: some NuveStore) async throws {
    let serviceID = ObjectID.make()
    try await store.createService(ServiceRecord(id: serviceID, name: "app", key: "k"))
    let roomID = ObjectID.make()
    try await store.createRoom(RoomRecord(id: roomID, name: "r"), serviceID: serviceID)
    // Concurrent first bindings: exactly one controller wins and every caller learns which.
    let winners = try await withThrowingTaskGroup(of: String.self) { group in
      for index in 0..<20 {
        group.addTask {
          try await store.bindRoom(roomID: roomID, controllerID: "ec\(index)", alive: Set((0..<20).map { "ec\($0)" }))
        }
      }
      return try await group.reduce(into: Set<String>()) { $0.insert($1) }
    }
    #expect(winners.count == 1)
    let winner = try #require(winners.first)
    #expect(try await store.roomController(roomID: roomID) == winner)
    // A binding to a controller that is gone is replaced.
    #expect(try await store.bindRoom(roomID: roomID, controllerID: "fresh", alive: ["fresh"]) == "fresh")
    // Editing the room keeps the binding (the reference loses it).
    #expect(try await store.updateRoom(RoomRecord(id: roomID, name: "edited"), serviceID: serviceID))
    #expect(try await store.roomController(roomID: roomID) == "fresh")
    try await store.unbindRooms(controllerID: "fresh")
    #expect(try await store.roomController(roomID: roomID) == nil)
    await #expect(throws: ErizoError(.notFound, "")) {
      _ = try await store.bindRoom(roomID: ObjectID.make(), controllerID: "x", alive: [])
    }
  }

  static func tokensAreSingleUse(_ store: some NuveStore) async throws {
    let token = TokenRecord(
      id: ObjectID.make(), userName: "alice", role: "presenter", roomID: ObjectID.make(), serviceID: ObjectID.make(),
      creationDate: Date(timeIntervalSince1970: 1_700_000_000.25), mediaConfiguration: "default", secure: false,
      host: "127.0.0.1:8080", p2p: false, eapolicy: "ROOM-BEST")
    try await store.createToken(token)
    // Two concurrent takers: exactly one gets the token.
    async let first = store.takeToken(id: token.id)
    async let second = store.takeToken(id: token.id)
    let results = try await [first, second]
    #expect(results.compactMap { $0 }.count == 1)
    #expect(results.compactMap { $0 }.first == token)
    let old = TokenRecord(
      id: ObjectID.make(), userName: "bob", role: "", roomID: "r", serviceID: "s",
      creationDate: Date().addingTimeInterval(-600), mediaConfiguration: "default", secure: false, host: "h:1",
      p2p: false, eapolicy: nil)
    try await store.createToken(old)
    try await store.deleteTokens(olderThan: Date().addingTimeInterval(-180))
    #expect(try await store.takeToken(id: old.id) == nil)
  }

  static func controllers(_ store: some NuveStore) async throws {
    let id = ObjectID.make()
    try await store.addController(
      ControllerRecord(id: id, ip: "127.0.0.1", hostname: "", port: 8080, ssl: false, state: 2, lastSeen: Date()))
    #expect(try await store.controllers().first?.host == "127.0.0.1:8080")
    #expect(try await store.touchController(id: id, at: Date()))
    #expect(try await !store.touchController(id: ObjectID.make(), at: Date()))
    #expect(try await store.setControllerState(id: id, state: 0))
    #expect(try await store.controllers().first?.state == 0)
    #expect(try await store.deleteController(id: id))
    #expect(try await store.controllers().isEmpty)
  }

  static func noncesRejectReplays(_ store: some NuveStore) async throws {
    let service = ObjectID.make()
    #expect(try await store.recordNonce(serviceID: service, timestamp: 1000, cnonce: 5))
    #expect(try await !store.recordNonce(serviceID: service, timestamp: 1000, cnonce: 5))
    #expect(try await store.recordNonce(serviceID: service, timestamp: 1000, cnonce: 6))
    #expect(try await store.recordNonce(serviceID: ObjectID.make(), timestamp: 1000, cnonce: 5))
    #expect(try await store.recordNonce(serviceID: service, timestamp: 3000, cnonce: 5))
    // Forgetting drops only pairs before the cutoff.
    try await store.deleteNonces(before: 2000)
    #expect(try await store.recordNonce(serviceID: service, timestamp: 1000, cnonce: 5))
    #expect(try await !store.recordNonce(serviceID: service, timestamp: 3000, cnonce: 5))
  }
}
