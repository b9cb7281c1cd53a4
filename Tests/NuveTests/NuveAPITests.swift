import AMQPRPC
import ErizoCore
import ErizoTesting
import Foundation
import Nuve
import Testing

/// The REST routes, MAuth and the controller registry together, over the in-process bus and SQLite.
@Suite("Nuve API")
struct NuveAPITests {
  struct Fixture {
    let store: SQLiteNuveStore
    let api: NuveAPI
    let registry: ControllerRegistry
    let bus: MessageBus
    let superservice = ServiceRecord(id: ObjectID.make(), name: "superService", key: "superKey")

    init(tokenLifetime: Duration = .seconds(180), testRoom: Bool = false) throws {
      store = try SQLiteNuveStoreTests.makeStore()
      bus = MessageBus(transport: InProcessTransport(broker: InProcessBroker()), logger: testLogger())
      registry = ControllerRegistry(
        store: store, bus: bus, tokenLifetime: tokenLifetime, controllerTimeout: .seconds(11), logger: testLogger())
      api = NuveAPI(
        store: store, bus: bus,
        verifier: MAuthVerifier(store: store, superserviceID: superservice.id, window: .seconds(300)),
        settings: .init(
          tokenLifetime: tokenLifetime, rpcTimeout: .milliseconds(300), testRoom: testRoom, superserviceKey: "superKey"),
        logger: testLogger())
    }

    /// Creates a room through the API and returns its id.
    func createRoom(_ body: JSONValue) async throws -> String {
      let response = await request("POST", "/rooms", body)
      guard case .json(let room) = response.body, let id = room["_id"]?.stringValue else {
        throw ConformanceFailure(description: "POST /rooms answered \(response)")
      }
      return id
    }

    func request(
      _ method: String, _ path: String, _ body: JSONValue? = nil, as service: ServiceRecord? = nil,
      user: (String, String)? = nil, timestamp: Int? = nil, cnonce: Int? = nil
    ) async -> NuveResponse {
      let caller = service ?? superservice
      let header = MAuthHeader.build(
        serviceID: caller.id, key: caller.key, timestamp: timestamp ?? Int(Date().timeIntervalSince1970 * 1000),
        cnonce: cnonce ?? Int.random(in: 0..<99_999), user: user)
      return await api.handle(NuveRequest(method: method, path: path, authorization: header, body: body))
    }
  }

  @Test func mauthRejections() async throws {
    let f = try Fixture()
    try await f.store.createService(f.superservice)
    #expect(await f.api.handle(NuveRequest(method: "GET", path: "/rooms")) == .unauthorized)
    #expect(await f.api.handle(NuveRequest(method: "GET", path: "/nothing")) == .unauthorized, "auth comes before 404")
    #expect(await f.request("GET", "/rooms").status == 200)
    let wrongKey = ServiceRecord(id: f.superservice.id, name: "x", key: "wrong")
    #expect(await f.request("GET", "/rooms", as: wrongKey) == .unauthorized)
    let stale = Int(Date().timeIntervalSince1970 * 1000) - 301_000
    #expect(await f.request("GET", "/rooms", timestamp: stale) == .unauthorized)
    let now = Int(Date().timeIntervalSince1970 * 1000)
    #expect(await f.request("GET", "/rooms", timestamp: now, cnonce: 77).status == 200)
    #expect(await f.request("GET", "/rooms", timestamp: now, cnonce: 77) == .unauthorized, "replay")
    let unknown = ServiceRecord(id: ObjectID.make(), name: "x", key: "k")
    #expect(await f.request("GET", "/rooms", as: unknown) == .unauthorized)
    let badID =
      "MAuth realm=x,mauth_signature_method=HMAC_SHA1,mauth_serviceid=zz,mauth_cnonce=1,mauth_timestamp=1,mauth_signature=x"
    #expect(await f.api.handle(NuveRequest(method: "GET", path: "/rooms", authorization: badID)) == .unauthorized)
    #expect(await f.api.handle(NuveRequest(method: "OPTIONS", path: "/anything")) == .text(200, "OK"))
  }

  @Test func servicesAreSuperserviceOnly() async throws {
    let f = try Fixture()
    try await f.store.createService(f.superservice)
    #expect(await f.request("POST", "/services", ["name": "app"]) == .text(400, "Invalid key"))
    #expect(await f.request("POST", "/services", ["key": "k"]) == .text(400, "Invalid name"))
    let created = await f.request("POST", "/services/", ["name": "app", "key": "appKey", "plan": "gold"])
    guard case .json(.string(let id)) = created.body else {
      Issue.record("POST /services answered \(created)")
      return
    }
    let app = ServiceRecord(id: id, name: "app", key: "appKey")
    #expect(await f.request("GET", "/services", as: app) == .text(401, "Service not authorized for this action"))
    let fetched = await f.request("GET", "/services/\(id)")
    #expect(fetched.body == .json(["_id": .string(id), "name": "app", "key": "appKey", "plan": "gold", "rooms": []]))
    #expect(await f.request("GET", "/services/\(ObjectID.make())") == .text(404, "Service not found"))
    #expect(await f.request("DELETE", "/services/\(ObjectID.make())") == .text(404, "Service not found"))
    #expect(await f.request("DELETE", "/services/\(id)") == .text(200, "Service deleted"))
  }

  @Test func roomsLifecycle() async throws {
    let f = try Fixture()
    try await f.store.createService(f.superservice)
    #expect(await f.request("POST", "/rooms", [:]) == .text(400, "Invalid room"))
    #expect(
      await f.request("POST", "/rooms", ["name": "r", "options": ["eapolicy": "NOPE"]]) == .text(400, "Invalid room"))
    let options: JSONValue = ["p2p": true, "data": ["a": 1], "eapolicy": "TTL-BEST"]
    let id = try await f.createRoom(["name": "r", "options": options])
    #expect(
      await f.request("GET", "/rooms/\(id)").body
        == .json(["_id": .string(id), "name": "r", "p2p": true, "data": ["a": 1], "eapolicy": "TTL-BEST"]))
    #expect(await f.request("GET", "/rooms/\(id)/").status == 200)
    #expect(await f.request("GET", "/rooms/\(ObjectID.make())") == .text(404, "Room does not exist"))
    #expect(await f.request("PATCH", "/rooms/\(id)", ["options": ["data": ["b": 2]]]) == .text(200, "Room Updated"))
    let patched = await f.request("GET", "/rooms/\(id)")
    if case .json(let room) = patched.body { #expect(room["data"] == ["a": 1, "b": 2]) }
    #expect(await f.request("PUT", "/rooms/\(id)", ["options": [:]]) == .text(400, "Invalid room"))
    #expect(await f.request("PUT", "/rooms/\(id)", ["name": "r2"]) == .text(200, "Room Updated"))
    if case .json(let room) = await f.request("GET", "/rooms/\(id)").body {
      #expect(room["name"] == "r2" && room["data"] == nil && room["eapolicy"] == "TTL-BEST")
    }
    #expect(await f.request("GET", "/rooms/\(id)/users") == .json([]))
    #expect(await f.request("DELETE", "/rooms/\(id)") == .text(200, "Room deleted"))
    #expect(await f.request("GET", "/rooms") == .json([]))
  }

  @Test func tokensNeedAControllerAndAreSingleUse() async throws {
    let f = try Fixture()
    try await f.store.createService(f.superservice)
    let roomID = try await f.createRoom(["name": "r"])
    #expect(await f.request("POST", "/rooms/\(roomID)/tokens") == .text(401, "Name and role?"))
    #expect(
      await f.request("POST", "/rooms/\(roomID)/tokens", user: ("alice", "presenter"))
        == .text(404, "No Erizo Controller found"))
    let registered = await f.registry.methods.handler(logger: testLogger())(
      RPCRequest(
        method: "addNewErizoController",
        args: ["cloudProvider": "", "ip": "127.0.0.1", "hostname": "", "port": 8080, "ssl": false],
        expectsReply: true))
    guard case .data(let reply?) = registered, let controllerID = reply["id"]?.stringValue else {
      Issue.record("registration answered \(registered)")
      return
    }
    let response = await f.request("POST", "/rooms/\(roomID)/tokens/", user: ("alice", "presenter"))
    guard case .text(let encoded) = response.body, response.status == 200,
      let data = Data(base64Encoded: encoded), let token = try? JSONValue(parsing: data)
    else {
      Issue.record("token answered \(response)")
      return
    }
    #expect(token["host"] == "127.0.0.1:8080")
    #expect(token["secure"] == false)
    let tokenID = try #require(token["tokenId"]?.stringValue)
    #expect(
      token["signature"]?.stringValue == NuveToken.signature(tokenID: tokenID, host: "127.0.0.1:8080", key: "superKey"))
    #expect(try await f.store.roomController(roomID: roomID) == controllerID)

    let consume = f.registry.methods.handler(logger: testLogger())
    let first = await consume(RPCRequest(method: "deleteToken", args: .string(tokenID), expectsReply: true))
    guard case .data(let document?) = first else {
      Issue.record("deleteToken answered \(first)")
      return
    }
    #expect(
      document["userName"] == "alice" && document["room"] == .string(roomID) && document["host"] == "127.0.0.1:8080")
    #expect(
      await consume(RPCRequest(method: "deleteToken", args: .string(tokenID), expectsReply: true)) == .data("error"))
    #expect(
      await consume(RPCRequest(method: "keepAlive", args: .string(controllerID), expectsReply: true)) == .data("ok"))
    #expect(await consume(RPCRequest(method: "keepAlive", args: "nobody", expectsReply: true)) == .data("whoareyou"))
  }

  /// Sticky while alive; a room whose controller's keep-alive lapsed moves to a live one, by state.
  @Test func controllerAssignmentAndFailover() async throws {
    let f = try Fixture()
    try await f.store.createService(f.superservice)
    let roomID = try await f.createRoom(["name": "r"])
    func tokenHost() async -> String? {
      guard case .text(let encoded) = await f.request("POST", "/rooms/\(roomID)/tokens", user: ("u", "r")).body,
        let data = Data(base64Encoded: encoded)
      else { return nil }
      return (try? JSONValue(parsing: data))?["host"]?.stringValue
    }
    let a = ControllerRecord(
      id: ObjectID.make(), ip: "10.0.0.1", hostname: "", port: 8080, ssl: false, state: 1, lastSeen: Date())
    let b = ControllerRecord(
      id: ObjectID.make(), ip: "10.0.0.2", hostname: "ec-b", port: 443, ssl: true, state: 2, lastSeen: Date())
    try await f.store.addController(a)
    #expect(await tokenHost() == "10.0.0.1:8080")
    try await f.store.addController(b)
    #expect(await tokenHost() == "10.0.0.1:8080", "sticky: a better controller does not steal a bound room")
    // A's keep-alive lapses.
    _ = try await f.store.deleteController(id: a.id)
    var stale = a
    stale.lastSeen = Date().addingTimeInterval(-60)
    try await f.store.addController(stale)
    #expect(await tokenHost() == "ec-b:443", "hostname wins over ip, and the room fails over to the live controller")
    #expect(try await f.store.roomController(roomID: roomID) == b.id)
  }

  @Test func testRoomIsSharedAndBehindAFlag() async throws {
    let off = try Fixture()
    try await off.store.createService(off.superservice)
    #expect(
      await off.request("POST", "/rooms", ["name": "x", "options": ["test": true]])
        == .text(400, "Test rooms are disabled"))
    let on = try Fixture(testRoom: true)
    try await on.store.createService(on.superservice)
    let first = await on.request("POST", "/rooms", ["name": "x", "options": ["test": true]])
    let second = await on.request("POST", "/rooms", ["name": "y", "options": ["test": true]])
    #expect(first.status == 200 && first == second, "the same shared room both times")
    if case .json(let rooms) = await on.request("GET", "/rooms").body { #expect(rooms.arrayValue?.count == 1) }
  }

  @Test func expiredTokensAreRefused() async throws {
    let f = try Fixture(tokenLifetime: .seconds(1))
    let token = TokenRecord(
      id: ObjectID.make(), userName: "u", role: "r", roomID: "x", serviceID: "y",
      creationDate: Date().addingTimeInterval(-5), mediaConfiguration: "default", secure: false, host: "h:1",
      p2p: false, eapolicy: nil)
    try await f.store.createToken(token)
    let consume = f.registry.methods.handler(logger: testLogger())
    #expect(
      await consume(RPCRequest(method: "deleteToken", args: .string(token.id), expectsReply: true)) == .data("error"))
    // The periodic sweep reclaims expired tokens and keeps live ones.
    let old = TokenRecord(
      id: ObjectID.make(), userName: "u", role: "r", roomID: "x", serviceID: "y",
      creationDate: Date().addingTimeInterval(-5), mediaConfiguration: "default", secure: false, host: "h:1",
      p2p: false, eapolicy: nil)
    var live = old
    live.id = ObjectID.make()
    live.creationDate = Date()
    try await f.store.createToken(old)
    try await f.store.createToken(live)
    await f.registry.sweep()
    #expect(try await f.store.takeToken(id: old.id) == nil)
    #expect(try await f.store.takeToken(id: live.id)?.id == live.id)
  }

  @Test func silentControllersExpireAndRoomsAreUnbound() async throws {
    let f = try Fixture()
    try await f.store.createService(f.superservice)
    let roomID = ObjectID.make()
    try await f.store.createRoom(RoomRecord(id: roomID, name: "r"), serviceID: f.superservice.id)
    let silent = ControllerRecord(
      id: ObjectID.make(), ip: "127.0.0.1", hostname: "", port: 8080, ssl: false, state: 2,
      lastSeen: Date().addingTimeInterval(-30))
    try await f.store.addController(silent)
    _ = try await f.store.bindRoom(roomID: roomID, controllerID: silent.id, alive: [silent.id])
    await f.registry.expireSilentControllers()
    #expect(try await f.store.controllers().isEmpty)
    #expect(try await f.store.roomController(roomID: roomID) == nil)
  }
}
