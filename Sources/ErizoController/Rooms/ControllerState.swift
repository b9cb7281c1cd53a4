internal import ErizoCore
internal import SocketIO

/// Where a room's media lives: the agent and the router it created for the room.
struct Placement: Sendable, Equatable {
  let agentID: String
  let routerID: String
}

/// An event for a client whose connection is being re-established (spec §4.5), with the
/// acknowledgement callback of the agent waiting for it (nil for events without one).
struct BufferedEvent: Sendable {
  let event: String
  let payload: JSONValue
  let onAck: SocketIOConnection.AckHandler?
}

/// A client of this controller: authenticated by `token`, member of one room.
struct ClientRecord: Sendable {
  let id: String
  let roomID: String
  let userName: String
  let clientIP: String
  let secret: String
  var connection: SocketIOConnection?
  var reconnectDeadline: ContinuousClock.Instant?
  var buffered: [BufferedEvent] = []
  var joined = false
  var displayName: String
  var device: JSONValue = .object([:])
  /// Whether the agent has the client (made by `getRouterRtpCapabilities`).
  var agentClientReady = false
  /// A WHIP or WHEP session instead of a Socket.IO connection: it answers the agent's events.
  var httpSession: HTTPMediaSession?
  /// Producers the client made and did not close (the demo page lists peers that publish).
  var producers = 0

  var peer: JSONValue { ["id": .string(id), "displayName": .string(displayName), "device": device] }
}

struct RoomRecord: Sendable {
  let id: String
  var placement: Placement?
  var clientIDs: [String] = []
}

/// What a client's departure leaves to do outside the state: tell the others, tell the agents.
struct Departure: Sendable {
  let client: ClientRecord
  let others: [SocketIOConnection]
  let roomDeleted: Bool
}

/// Rooms and clients of this controller. Every change is one synchronous actor step, so a room's
/// membership, a client's connection and a room's placement never disagree; the bus calls happen
/// outside it.
actor ControllerState {
  private(set) var rooms: [String: RoomRecord] = [:]
  private var clients: [String: ClientRecord] = [:]
  private var clientBySession: [String: String] = [:]
  private var placing: [String: Task<Result<Placement, ClientError>, Never>] = [:]

  var roomCount: Int { rooms.count }
  var clientCount: Int { clients.count }

  /// The room's placement, making it once even when the room's first clients race.
  func placement(
    of roomID: String, place: @escaping @Sendable () async -> Result<Placement, ClientError>
  ) async -> Result<Placement, ClientError> {
    if let placement = rooms[roomID]?.placement { return .success(placement) }
    let result: Result<Placement, ClientError>
    if let running = placing[roomID] {
      result = await running.value
    } else {
      let task = Task { await place() }
      placing[roomID] = task
      result = await task.value
      placing[roomID] = nil
    }
    // Whichever waiter resumes first records the placement, so none registers into a missing room.
    if case .success(let placement) = result, rooms[roomID]?.placement == nil {
      rooms[roomID, default: RoomRecord(id: roomID)].placement = placement
    }
    return result
  }

  enum Registration { case registered(Placement), connectionClosed(roomDeleted: Bool), roomGone }

  /// Adds an authenticated client to its placed room, unless its connection closed meanwhile.
  func register(_ client: ClientRecord) -> Registration {
    guard let room = rooms[client.roomID], let placement = room.placement else { return .roomGone }
    if client.httpSession != nil {
      clients[client.id] = client
      rooms[client.roomID]!.clientIDs.append(client.id)
      return .registered(placement)
    }
    guard let connection = client.connection, connection.isOpen else {
      let empty = room.clientIDs.isEmpty
      if empty { rooms[client.roomID] = nil }
      return .connectionClosed(roomDeleted: empty)
    }
    clients[client.id] = client
    clientBySession[connection.sessionID] = client.id
    rooms[client.roomID]!.clientIDs.append(client.id)
    return .registered(placement)
  }

  func client(id: String) -> ClientRecord? { clients[id] }

  func client(session: String) -> ClientRecord? { clientBySession[session].flatMap { clients[$0] } }

  func placement(ofRoom roomID: String) -> Placement? { rooms[roomID]?.placement }

  func markAgentClientReady(_ id: String) { clients[id]?.agentClientReady = true }

  func countProducer(_ id: String, _ delta: Int) {
    if let count = clients[id]?.producers { clients[id]?.producers = max(0, count + delta) }
  }

  /// Joined clients of a room that publish something.
  func publishers(inRoom roomID: String) -> [ClientRecord] {
    clients(inRoom: roomID).filter { $0.joined && $0.producers > 0 }
  }

  /// Marks a client joined and returns the peers it sees and the connections to tell about it.
  func join(_ id: String, displayName: String?, device: JSONValue?) -> (
    me: JSONValue, peers: [JSONValue], others: [SocketIOConnection]
  )? {
    guard var client = clients[id] else { return nil }
    client.joined = true
    if let displayName, !displayName.isEmpty { client.displayName = displayName }
    if let device { client.device = device }
    clients[id] = client
    let others = (rooms[client.roomID]?.clientIDs ?? []).filter { $0 != id }.compactMap { clients[$0] }
    return (client.peer, others.filter(\.joined).map(\.peer), others.compactMap(\.connection))
  }

  /// Connections of every client of a room (reconnecting clients have none).
  func connections(inRoom roomID: String) -> [SocketIOConnection] {
    (rooms[roomID]?.clientIDs ?? []).compactMap { clients[$0]?.connection }
  }

  func clients(inRoom roomID: String) -> [ClientRecord] {
    (rooms[roomID]?.clientIDs ?? []).compactMap { clients[$0] }
  }

  /// Clients of the rooms placed on `agentID`.
  func clients(onAgent agentID: String) -> [ClientRecord] {
    rooms.values.filter { $0.placement?.agentID == agentID }.flatMap { $0.clientIDs.compactMap { clients[$0] } }
  }

  /// Removes a client; the room goes with its last client. Nil when it was already gone, so each
  /// departure is announced once.
  func remove(_ id: String) -> Departure? {
    guard let client = clients.removeValue(forKey: id) else { return nil }
    if let session = client.connection?.sessionID { clientBySession[session] = nil }
    rooms[client.roomID]?.clientIDs.removeAll { $0 == id }
    let remaining = rooms[client.roomID]?.clientIDs ?? []
    let roomDeleted = remaining.isEmpty && rooms[client.roomID] != nil
    if roomDeleted { rooms[client.roomID] = nil }
    return Departure(
      client: client, others: remaining.compactMap { clients[$0]?.connection }, roomDeleted: roomDeleted)
  }

  /// Keeps a client whose connection dropped for `window`, buffering its events (spec §4.5).
  func detach(session: String, window: Duration) -> ClientRecord? {
    guard let id = clientBySession.removeValue(forKey: session), var client = clients[id] else { return nil }
    client.connection = nil
    client.reconnectDeadline = .now + window
    clients[id] = client
    return client
  }

  /// Moves a client onto a new connection if `secret` is its session secret and the client is
  /// still known; returns the events buffered meanwhile.
  func takeOver(_ id: String, secret: String, connection: SocketIOConnection) -> (
    client: ClientRecord, previous: SocketIOConnection?, buffered: [BufferedEvent]
  )? {
    guard var client = clients[id], Crypto.constantTimeEqual(Array(client.secret.utf8), Array(secret.utf8)) else {
      return nil
    }
    let previous = client.connection
    if let previous { clientBySession[previous.sessionID] = nil }
    let buffered = client.buffered
    client.buffered = []
    client.connection = connection
    client.reconnectDeadline = nil
    clients[id] = client
    clientBySession[connection.sessionID] = id
    return (client, previous, buffered)
  }

  /// Clients whose reconnection window has passed.
  func expiredReconnections(now: ContinuousClock.Instant) -> [String] {
    clients.values.filter { $0.reconnectDeadline.map { $0 <= now } ?? false }.map(\.id)
  }

  enum Delivery { case connection(SocketIOConnection), session(HTTPMediaSession), buffered, unknownClient }

  /// Where an event for a client goes: its connection, or its buffer while it reconnects.
  func deliver(to id: String, event: String, payload: JSONValue, onAck: SocketIOConnection.AckHandler?) -> Delivery {
    guard let client = clients[id] else { return .unknownClient }
    if let session = client.httpSession { return .session(session) }
    if let connection = client.connection { return .connection(connection) }
    clients[id]!.buffered.append(BufferedEvent(event: event, payload: payload, onAck: onAck))
    return .buffered
  }

  /// Forgets the placement of rooms on an agent that is gone.
  func forgetPlacements(onAgent agentID: String) {
    for (id, room) in rooms where room.placement?.agentID == agentID { rooms[id]!.placement = nil }
  }
}
