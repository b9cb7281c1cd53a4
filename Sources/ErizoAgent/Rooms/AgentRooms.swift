internal import ErizoCore
internal import Foundation
internal import ORTC

/// The agent's rooms (spec §8.1): one router per room on one worker, the controller that placed
/// it, and the agent-side clients (made by `getRouterRtpCapabilities`, joined by `join`). Pure
/// state; the service does the I/O around it.
struct AgentRooms: Sendable {
  struct Client: Sendable, Equatable {
    let id: String
    var userName: String
    var joined = false
    /// Parsed once, at `join`; every consumer made for this client uses them.
    var rtpCapabilities: RtpCapabilities?
    var sctpCapabilities: JSONValue?
    var transports: [String: Transport] = [:]
    var producers: [String: Producer] = [:]
    var consumers: [String: Consumer] = [:]
    /// Producers this client has a consumer of, or one being made: `join` and another peer's
    /// `produce` can both reach the same pair, and only the first makes the consumer.
    var consumedProducers: Set<String> = []

    /// The transport this client receives on (`appData.consuming`), if it made one.
    var consumingTransport: String? {
      transports.values.filter(\.consuming).map(\.id).sorted().first
    }
  }

  struct Transport: Sendable, Equatable {
    let id: String
    let producing: Bool
    let consuming: Bool
    /// mediasoup numbers the consumers of a transport's MIDs from 0.
    var nextMid = 0
  }

  struct Producer: Sendable, Equatable {
    let id: String
    let kind: String
    let transportID: String
    /// The consumable parameters (router terms), for making consumers.
    let consumable: RtpParameters
    var appData: JSONValue
    var paused: Bool
    /// The worker's last `score` (0–10) of the stream, nil before the first packet.
    var score: Int?
  }

  struct Consumer: Sendable, Equatable {
    let id: String
    let producerID: String
    let transportID: String
    /// The worker's last `score` data ({score, producerScore, producerScores}).
    var score: JSONValue = ["score": 10, "producerScore": 10, "producerScores": [10]]
    /// Resumed after the client accepted `newConsumer`: from then on it hears `consumerScore`.
    var resumed = false
  }

  struct Room: Sendable, Equatable {
    let id: String
    let controllerID: String
    let worker: Int
    let routerID: String
    /// The room's AudioLevelObserver on the worker (active speaker), when it could be made.
    var observerID: String?
    var clients: [String: Client] = [:]
  }

  private(set) var rooms: [String: Room] = [:]

  var count: Int { rooms.count }
  var clientCount: Int { rooms.values.reduce(0) { $0 + $1.clients.count } }

  /// Transports, producers and consumers over every room.
  var mediaCounts: (transports: Int, producers: Int, consumers: Int) {
    var counts = (transports: 0, producers: 0, consumers: 0)
    for room in rooms.values {
      for client in room.clients.values {
        counts.transports += client.transports.count
        counts.producers += client.producers.count
        counts.consumers += client.consumers.count
      }
    }
    return counts
  }

  /// Mean producer and consumer scores over the streams measured so far; 10 when there are none
  /// (the reference's `mediasoup_produce_score`/`_consume_score`).
  var meanScores: (produce: Double, consume: Double) {
    var produce: [Int] = []
    var consume: [Int] = []
    for room in rooms.values {
      for client in room.clients.values {
        produce += client.producers.values.compactMap(\.score)
        consume += client.consumers.values.filter(\.resumed).compactMap { $0.score["score"]?.intValue }
      }
    }
    func mean(_ values: [Int]) -> Double { values.isEmpty ? 10 : Double(values.reduce(0, +)) / Double(values.count) }
    return (mean(produce), mean(consume))
  }

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
    _ clientID: String, inRoom roomID: String, rtpCapabilities: RtpCapabilities?, sctpCapabilities: JSONValue?
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

  /// Changes one client in place; false when the room or client is gone.
  @discardableResult
  mutating func update(_ clientID: String, inRoom roomID: String, _ change: (inout Client) -> Void) -> Bool {
    guard rooms[roomID]?.clients[clientID] != nil else { return false }
    change(&rooms[roomID]!.clients[clientID]!)
    return true
  }

  /// Producers + consumers per worker: the load placement balances (spec §8.1's fix: the reference
  /// places round-robin).
  var mediaLoadByWorker: [Int: Int] {
    var load: [Int: Int] = [:]
    for room in rooms.values {
      load[room.worker, default: 0] += room.clients.values.reduce(0) { $0 + $1.producers.count + $1.consumers.count }
    }
    return load
  }

  /// The room of an audio level observer.
  func room(ofObserver observerID: String) -> Room? {
    rooms.values.first { $0.observerID == observerID }
  }

  /// The client holding a producer, across rooms.
  func owner(ofProducer producerID: String) -> (room: Room, client: Client)? {
    owner { $0.producers[producerID] != nil }
  }

  /// The client holding a consumer, across rooms.
  func owner(ofConsumer consumerID: String) -> (room: Room, client: Client)? {
    owner { $0.consumers[consumerID] != nil }
  }

  private func owner(_ holds: (Client) -> Bool) -> (room: Room, client: Client)? {
    for room in rooms.values {
      for client in room.clients.values where holds(client) { return (room, client) }
    }
    return nil
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
