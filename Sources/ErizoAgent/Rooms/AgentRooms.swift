internal import ErizoCore
internal import Foundation

/// The agent's rooms (spec §8.1): one router per room on one worker, the controller that placed
/// it, and the agent-side clients (made by `getRouterRtpCapabilities`, joined by `join`). Pure
/// state; the service does the I/O around it.
struct AgentRooms: Sendable {
  struct Client: Sendable, Equatable {
    let id: String
    var userName: String
    var joined = false
    var rtpCapabilities: JSONValue?
    var sctpCapabilities: JSONValue?
  }

  struct Room: Sendable, Equatable {
    let id: String
    let controllerID: String
    let worker: Int
    let routerID: String
    var clients: [String: Client] = [:]
  }

  private(set) var rooms: [String: Room] = [:]

  var count: Int { rooms.count }
  var clientCount: Int { rooms.values.reduce(0) { $0 + $1.clients.count } }

  func room(_ id: String) -> Room? { rooms[id] }

  mutating func add(_ room: Room) { rooms[room.id] = room }

  /// Makes the client if it is new (`getRouterRtpCapabilities`); false when the room is unknown.
  mutating func ensureClient(_ clientID: String, userName: String, inRoom roomID: String) -> Bool {
    guard rooms[roomID] != nil else { return false }
    if rooms[roomID]?.clients[clientID] == nil {
      rooms[roomID]?.clients[clientID] = Client(id: clientID, userName: userName)
    }
    return true
  }

  enum JoinOutcome: Equatable { case joined, noRoom, noClient, alreadyJoined }

  mutating func join(
    _ clientID: String, inRoom roomID: String, rtpCapabilities: JSONValue?, sctpCapabilities: JSONValue?
  )
    -> JoinOutcome
  {
    guard let room = rooms[roomID] else { return .noRoom }
    guard let client = room.clients[clientID] else { return .noClient }
    guard !client.joined else { return .alreadyJoined }
    rooms[roomID]?.clients[clientID]?.joined = true
    rooms[roomID]?.clients[clientID]?.rtpCapabilities = rtpCapabilities
    rooms[roomID]?.clients[clientID]?.sctpCapabilities = sctpCapabilities
    return .joined
  }

  /// Removes a client; returns the room when that left it empty (the caller closes its router).
  /// A room that is already empty is returned too, so a `deleteUser` broadcast cleans up rooms a
  /// race left behind (spec §7).
  mutating func removeClient(_ clientID: String, fromRoom roomID: String) -> Room? {
    guard var room = rooms[roomID] else { return nil }
    room.clients[clientID] = nil
    if room.clients.isEmpty {
      rooms[roomID] = nil
      return room
    }
    rooms[roomID] = room
    return nil
  }

  /// Removes and returns every room the predicate selects.
  mutating func removeRooms(where predicate: (Room) -> Bool) -> [Room] {
    let gone = rooms.values.filter(predicate)
    for room in gone { rooms[room.id] = nil }
    return gone
  }
}
