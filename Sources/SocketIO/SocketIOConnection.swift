public import ErizoCore
internal import Foundation
internal import Synchronization

/// The Engine.IO protocol revision a client speaks: 3 (socket.io 2.x clients) or 4 (socket.io 3/4,
/// python-socketio 5).
public enum EngineIOVersion: Int, Sendable {
  case v3 = 3
  case v4 = 4
}

/// Why a connection ended. Clean endings tear the client down at once; the others let the
/// application keep the client for a reconnection (spec §4.5).
public enum DisconnectReason: String, Sendable, Equatable {
  /// The client sent a Socket.IO disconnect (`41`).
  case clientDisconnect = "client namespace disconnect"
  /// The client sent an Engine.IO close (`1`) or a WebSocket close frame.
  case clientClose = "client close"
  /// The server called `disconnect()`.
  case serverDisconnect = "server namespace disconnect"
  /// The connection dropped without a close frame.
  case transportClose = "transport close"
  /// No heartbeat within the ping timeout.
  case pingTimeout = "ping timeout"
  /// The server is shutting down.
  case serverShutdown = "server shutting down"

  /// Whether the client or the server ended the session on purpose.
  public var isClean: Bool {
    switch self {
    case .clientDisconnect, .clientClose, .serverDisconnect, .serverShutdown: true
    case .transportClose, .pingTimeout: false
    }
  }
}

/// One client: an Engine.IO session with its Socket.IO socket on the namespace `/`. Outgoing
/// packets go through an outbox that the current transport drains (a WebSocket writer, or the
/// pending long-polling `GET`), so senders never wait on the network.
public final class SocketIOConnection: Sendable {
  public enum Transport: Sendable { case polling, webSocket }

  /// The Engine.IO session id (`sid`).
  public let sessionID: String
  /// The Socket.IO socket id sent in the v5 `CONNECT` reply.
  public let socketID: String
  public let version: EngineIOVersion
  /// `x-forwarded-for` when present, else the peer address, without a `::ffff:` prefix (spec §4.1).
  public let clientIP: String

  /// Receives a client's acknowledgement arguments, or nil on timeout or disconnection.
  public typealias AckHandler = @Sendable ([JSONValue]?) -> Void

  struct PendingAck {
    var deadline: ContinuousClock.Instant
    var handler: AckHandler
  }

  /// What a transport writer sends next.
  enum Outgoing: Equatable {
    /// Packets to write, in order.
    case packets([String])
    /// The connection is closing and everything queued has been handed out.
    case closed
    /// Another long-polling request is already waiting (the client overlapped its polls).
    case busy
  }

  typealias Waiter = CheckedContinuation<Outgoing, Never>

  struct State {
    var transport: Transport
    var outbox: [String] = []
    var waiter: Waiter?
    var closing: DisconnectReason?
    var connected = false
    var nextAckID = 0
    var pendingAcks: [Int: PendingAck] = [:]
    var lastHeard: ContinuousClock.Instant
    var pingSentAt: ContinuousClock.Instant?
    var nextPingAt: ContinuousClock.Instant
    var inFlight = 0

    /// Appends a packet; returns the waiting writer with everything queued, for the caller to resume
    /// once the lock is released.
    mutating func enqueue(_ text: String) -> (Waiter, [String])? {
      outbox.append(text)
      guard let waiter else { return nil }
      self.waiter = nil
      defer { outbox = [] }
      return (waiter, outbox)
    }
  }

  let state: Mutex<State>
  let created: ContinuousClock.Instant

  init(
    sessionID: String, socketID: String, version: EngineIOVersion, clientIP: String, transport: Transport,
    pingInterval: Duration
  ) {
    self.sessionID = sessionID
    self.socketID = socketID
    self.version = version
    self.clientIP = clientIP
    let now = ContinuousClock.now
    self.created = now
    self.state = Mutex(State(transport: transport, lastHeard: now, nextPingAt: now + pingInterval))
  }

  /// Sends an event without asking for an acknowledgement.
  public func emit(_ event: String, _ arguments: JSONValue...) {
    send(.event(event, arguments))
  }

  /// Queues an event asking for an acknowledgement, in order with every other packet; `onAck` runs
  /// once, with the client's arguments or with nil on timeout or disconnection.
  public func emit(
    _ event: String, _ arguments: [JSONValue], ackTimeout: Duration, onAck: @escaping AckHandler
  ) {
    let outcome = state.withLock { state -> (accepted: Bool, wake: (Waiter, [String])?) in
      guard state.closing == nil, state.connected else { return (false, nil) }
      let id = state.nextAckID
      state.nextAckID += 1
      state.pendingAcks[id] = PendingAck(deadline: .now + ackTimeout, handler: onAck)
      return (true, state.enqueue("4" + SocketIOPacket.event(event, arguments, ackID: id).encoded))
    }
    if !outcome.accepted { onAck(nil) }
    if let (waiter, batch) = outcome.wake { waiter.resume(returning: .packets(batch)) }
  }

  /// Ends the connection from the server: sends the Socket.IO disconnect (`41`) and closes the
  /// transport once the outbox is flushed.
  public func disconnect() {
    send(SocketIOPacket(.disconnect))
    close(.serverDisconnect)
  }

  /// Whether the connection is still open.
  public var isOpen: Bool { state.withLock { $0.closing == nil } }

  func send(_ packet: SocketIOPacket) {
    send(text: "4" + packet.encoded)
  }

  /// Queues an Engine.IO packet (ping, pong, noop) on the current transport.
  func send(engine packet: EngineIOPacket) {
    send(text: packet.encoded)
  }

  private func send(text: String) {
    let wake = state.withLock { state -> (Waiter, [String])? in
      guard state.closing == nil else { return nil }
      return state.enqueue(text)
    }
    if let (waiter, batch) = wake { waiter.resume(returning: .packets(batch)) }
  }

  func nextOutgoing() async -> Outgoing {
    await withCheckedContinuation { (continuation: Waiter) in
      let immediate = state.withLock { state -> Outgoing? in
        if !state.outbox.isEmpty {
          defer { state.outbox = [] }
          return .packets(state.outbox)
        }
        if state.closing != nil { return .closed }
        if state.waiter != nil { return .busy }
        state.waiter = continuation
        return nil
      }
      if let immediate { continuation.resume(returning: immediate) }
    }
  }

  /// Marks the connection closing; returns false when it already was. Packets already queued are
  /// still handed to the transport writer; pending acknowledgements end with nil.
  @discardableResult
  func close(_ reason: DisconnectReason) -> Bool {
    let outcome = state.withLock { state -> (first: Bool, wake: (Waiter, Outgoing)?, acks: [PendingAck]) in
      guard state.closing == nil else { return (false, nil, []) }
      state.closing = reason
      let acks = Array(state.pendingAcks.values)
      state.pendingAcks = [:]
      guard let waiter = state.waiter else { return (true, nil, acks) }
      state.waiter = nil
      let batch = state.outbox
      state.outbox = []
      return (true, (waiter, batch.isEmpty ? .closed : .packets(batch)), acks)
    }
    if let (waiter, outgoing) = outcome.wake { waiter.resume(returning: outgoing) }
    for ack in outcome.acks { ack.handler(nil) }
    return outcome.first
  }

  var closingReason: DisconnectReason? { state.withLock { $0.closing } }

  /// Delivers a client acknowledgement to the handler of the event it answers.
  func acknowledge(_ id: Int, _ arguments: [JSONValue]) -> Bool {
    guard let pending = state.withLock({ $0.pendingAcks.removeValue(forKey: id) }) else { return false }
    pending.handler(arguments)
    return true
  }

  /// Resumes the acknowledgements whose deadline has passed with nil.
  func expireAcks(now: ContinuousClock.Instant) {
    let expired = state.withLock { state -> [PendingAck] in
      let ids = state.pendingAcks.filter { $0.value.deadline <= now }.map(\.key)
      return ids.compactMap { state.pendingAcks.removeValue(forKey: $0) }
    }
    for ack in expired { ack.handler(nil) }
  }
}
