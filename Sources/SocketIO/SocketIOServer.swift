public import ErizoCore
internal import Foundation
public import Logging
internal import Metrics
internal import Synchronization

/// What the application does with Socket.IO clients. Events of one client are handled
/// concurrently (a slow request does not hold up the next); `connected` comes before any event and
/// `disconnected` once, after the connection has closed.
public protocol SocketIOHandler: Sendable {
  func connected(_ connection: SocketIOConnection) async
  /// Handles an event; the reply's arguments are the acknowledgement, sent when the client asked
  /// for one (`wantsAck`).
  func event(_ name: String, _ arguments: [JSONValue], wantsAck: Bool, from connection: SocketIOConnection) async
    -> SocketIOReply
  func disconnected(_ connection: SocketIOConnection, reason: DisconnectReason) async
}

/// The answer to a client's event: the acknowledgement's arguments, and whether the server then
/// disconnects the client (after the acknowledgement has been queued).
public struct SocketIOReply: Sendable, Equatable {
  public var arguments: [JSONValue]
  public var thenDisconnect: Bool

  public init(_ arguments: [JSONValue], thenDisconnect: Bool = false) {
    self.arguments = arguments
    self.thenDisconnect = thenDisconnect
  }
}

/// An Engine.IO (v3 and v4) and Socket.IO server for the namespace `/`, on Hummingbird: WebSocket
/// for both protocol versions, HTTP long-polling with upgrade for v4. One task per client reads its
/// transport and one drains its outbox; heartbeats and acknowledgement timeouts are driven by a
/// single timer for all clients.
public final class SocketIOServer: Sendable {
  public struct Configuration: Sendable {
    /// Heartbeat period, announced in the handshake (25 s in both versions by default).
    public var pingInterval: Duration = .seconds(25)
    /// How long the v4 server waits for a pong, and how long past `pingInterval` a v3 client may be
    /// silent (20 s and 5 s, the defaults of engine.io 4 and 3).
    public var pingTimeoutV4: Duration = .seconds(20)
    public var pingTimeoutV3: Duration = .seconds(5)
    /// Largest message or polling body accepted, in bytes.
    public var maxPayload: Int = 1_000_000
    /// A v4 client must send the Socket.IO `CONNECT` within this time.
    public var connectTimeout: Duration = .seconds(45)
    /// Events of one client handled at the same time; more are dropped and counted.
    public var maxEventsInFlight: Int = 64
    /// The path prefix the server answers on.
    public var path: String = "/socket.io/"

    public init() {}
  }

  struct Session {
    let connection: SocketIOConnection
    let inbound: AsyncStream<Inbound>.Continuation
  }

  enum Inbound {
    case connected
    case event(name: String, arguments: [JSONValue], ackID: Int?)
  }

  let configuration: Configuration
  let handler: any SocketIOHandler
  let logger: Logger
  let sessions = Mutex<[String: Session]>([:])
  let newSessions: AsyncStream<(SocketIOConnection, AsyncStream<Inbound>)>
  let newSessionsContinuation: AsyncStream<(SocketIOConnection, AsyncStream<Inbound>)>.Continuation
  let metrics = SocketIOMetrics()

  public init(configuration: Configuration = .init(), handler: any SocketIOHandler, logger: Logger) {
    self.configuration = configuration
    self.handler = handler
    self.logger = logger
    (newSessions, newSessionsContinuation) = AsyncStream.makeStream()
  }

  /// The WebSocket frame limit to configure the server with: the largest payload plus framing.
  public var maximumFrameSize: Int { configuration.maxPayload + 16 }

  /// The number of open connections.
  public var connectionCount: Int { sessions.withLock { $0.count } }

  /// Runs the heartbeat timer and every client's event handling until cancelled; then closes every
  /// connection.
  public func run() async {
    await withDiscardingTaskGroup { group in
      group.addTask { [self] in
        while (try? await Task.sleep(for: .milliseconds(500))) != nil {
          tick(now: .now)
        }
        newSessionsContinuation.finish()
      }
      for await (connection, inbound) in newSessions {
        group.addTask { [self] in await process(connection, inbound) }
      }
      for session in sessions.withLock({ Array($0.values) }) {
        session.connection.send(SocketIOPacket(.disconnect))
        closeSession(session.connection, .serverShutdown)
      }
    }
  }

  private func process(_ connection: SocketIOConnection, _ inbound: AsyncStream<Inbound>) async {
    var connected = false
    await withDiscardingTaskGroup { group in
      for await item in inbound {
        switch item {
        case .connected:
          connected = true
          await handler.connected(connection)
        case .event(let name, let arguments, let ackID):
          group.addTask { [self] in
            let reply = await handler.event(name, arguments, wantsAck: ackID != nil, from: connection)
            connection.state.withLock { $0.inFlight -= 1 }
            if let ackID { connection.send(SocketIOPacket(.ack, ackID: ackID, payload: .array(reply.arguments))) }
            if reply.thenDisconnect { connection.disconnect() }
          }
        }
      }
      if connected {
        await handler.disconnected(connection, reason: connection.closingReason ?? .transportClose)
      }
    }
  }

  // MARK: Sessions

  func openSession(version: EngineIOVersion, clientIP: String, transport: SocketIOConnection.Transport)
    -> SocketIOConnection
  {
    let connection = SocketIOConnection(
      sessionID: Self.makeID(), socketID: Self.makeID(), version: version, clientIP: clientIP,
      transport: transport, pingInterval: configuration.pingInterval)
    let (stream, continuation) = AsyncStream<Inbound>.makeStream()
    sessions.withLock { $0[connection.sessionID] = Session(connection: connection, inbound: continuation) }
    newSessionsContinuation.yield((connection, stream))
    metrics.opened(version: version, transport: transport, open: connectionCount)
    let pingTimeout = version == .v3 ? configuration.pingTimeoutV3 : configuration.pingTimeoutV4
    let open: JSONValue = [
      "sid": .string(connection.sessionID),
      "upgrades": version == .v4 && transport == .polling ? ["websocket"] : [],
      "pingInterval": .int(Int(configuration.pingInterval.components.seconds * 1000)),
      "pingTimeout": .int(Int(pingTimeout.components.seconds * 1000)),
      "maxPayload": .int(configuration.maxPayload),
    ]
    connection.send(engine: EngineIOPacket(.open, open.jsonText))
    if version == .v3 {
      // Socket.IO v4 (over Engine.IO 3) connects the default namespace without being asked.
      connection.state.withLock { $0.connected = true }
      connection.send(SocketIOPacket(.connect))
      continuation.yield(.connected)
    }
    return connection
  }

  func session(_ id: String) -> Session? { sessions.withLock { $0[id] } }

  func closeSession(_ connection: SocketIOConnection, _ reason: DisconnectReason) {
    connection.close(reason)
    guard let session = sessions.withLock({ $0.removeValue(forKey: connection.sessionID) }) else { return }
    session.inbound.finish()
    metrics.closed(reason: reason, open: connectionCount)
    logger.debug(
      "socket.io connection closed",
      metadata: ["socketio.sid": "\(connection.sessionID)", "socketio.reason": "\(reason.rawValue)"])
  }

  static func makeID() -> String {
    Crypto.base64(Crypto.randomBytes(15)).replacingOccurrences(of: "+", with: "-").replacingOccurrences(
      of: "/", with: "_")
  }

  /// Sends heartbeats, closes silent clients and expires acknowledgements.
  func tick(now: ContinuousClock.Instant) {
    for session in sessions.withLock({ Array($0.values) }) {
      let connection = session.connection
      enum Action { case none, ping, timeout }
      let action = connection.state.withLock { state -> Action in
        if !state.connected, now - connection.created > configuration.connectTimeout { return .timeout }
        switch connection.version {
        case .v3:
          return now - state.lastHeard > configuration.pingInterval + configuration.pingTimeoutV3 ? .timeout : .none
        case .v4:
          if let sent = state.pingSentAt { return now - sent > configuration.pingTimeoutV4 ? .timeout : .none }
          guard now >= state.nextPingAt else { return .none }
          state.pingSentAt = now
          state.nextPingAt = now + configuration.pingInterval
          return .ping
        }
      }
      switch action {
      case .none: break
      case .ping: connection.send(engine: EngineIOPacket(.ping))
      case .timeout: closeSession(connection, .pingTimeout)
      }
      connection.expireAcks(now: now)
    }
  }

  // MARK: Receiving

  /// Handles one Engine.IO packet from the client, whatever the transport.
  func receive(_ text: Substring, on connection: SocketIOConnection) {
    guard let packet = EngineIOPacket(decoding: text) else {
      metrics.dropped("bad engine.io packet")
      return
    }
    connection.state.withLock { $0.lastHeard = .now }
    switch packet.kind {
    case .ping: connection.send(engine: EngineIOPacket(.pong, packet.data))
    case .pong: connection.state.withLock { $0.pingSentAt = nil }
    case .close: closeSession(connection, .clientClose)
    case .message: receive(socketIO: packet.data, on: connection)
    case .open, .upgrade, .noop: metrics.dropped("unexpected engine.io packet")
    }
  }

  private func receive(socketIO text: Substring, on connection: SocketIOConnection) {
    let packet: SocketIOPacket
    do {
      packet = try SocketIOPacket(decoding: text)
    } catch {
      metrics.dropped(error == .binaryNotSupported ? "binary" : "bad socket.io packet")
      return
    }
    guard packet.namespace == "/" else {
      // Only the default namespace exists.
      let message: JSONValue =
        connection.version == .v4 ? ["message": "Invalid namespace"] : "Invalid namespace"
      connection.send(SocketIOPacket(.connectError, namespace: packet.namespace, payload: message))
      return
    }
    switch packet.kind {
    case .connect:
      guard connection.version == .v4 else { return }
      let first = connection.state.withLock { state -> Bool in
        defer { state.connected = true }
        return !state.connected
      }
      guard first else { return }
      connection.send(SocketIOPacket(.connect, payload: ["sid": .string(connection.socketID)]))
      _ = session(connection.sessionID)?.inbound.yield(.connected)
    case .disconnect:
      closeSession(connection, .clientDisconnect)
    case .event:
      guard let (name, arguments) = packet.eventNameAndArguments else {
        metrics.dropped("event without a name")
        return
      }
      let accepted = connection.state.withLock { state -> Bool in
        guard state.connected, state.inFlight < configuration.maxEventsInFlight else { return false }
        state.inFlight += 1
        return true
      }
      guard accepted else {
        metrics.dropped("event before connect or too many in flight")
        return
      }
      session(connection.sessionID)?.inbound.yield(.event(name: name, arguments: arguments, ackID: packet.ackID))
    case .ack:
      guard let id = packet.ackID, case .array(let arguments)? = packet.payload,
        connection.acknowledge(id, arguments)
      else {
        metrics.dropped("unexpected ack")
        return
      }
    case .connectError, .binaryEvent, .binaryAck:
      metrics.dropped("unexpected socket.io packet")
    }
  }
}

/// Counters an operator graphs for the Socket.IO endpoint.
struct SocketIOMetrics: Sendable {
  let connections = Gauge(label: "erizo_socketio_connections")

  func opened(version: EngineIOVersion, transport: SocketIOConnection.Transport, open: Int) {
    Counter(
      label: "erizo_socketio_connections_total",
      dimensions: [("eio", "\(version.rawValue)"), ("transport", transport == .polling ? "polling" : "websocket")]
    ).increment()
    connections.record(open)
  }

  func closed(reason: DisconnectReason, open: Int) {
    Counter(label: "erizo_socketio_disconnects_total", dimensions: [("reason", reason.rawValue)]).increment()
    connections.record(open)
  }

  func dropped(_ reason: String) {
    Counter(label: "erizo_socketio_dropped_packets_total", dimensions: [("reason", reason)]).increment()
  }
}
