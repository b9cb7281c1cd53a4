import ErizoCore
import Foundation
import HummingbirdWSClient
import Logging
import SocketIO
import Synchronization

/// The load tool's Socket.IO signalling: one WebSocket per client (Engine.IO v3, as the reference
/// clients speak it, spec §4.1), requests with acks, `newConsumer` accepted as a mediasoup-client
/// does once its consumer is made, and the client's heartbeat. The connection lives in a task of
/// its own; `close()` ends it, which the controller sees as the client leaving.
final class SocketIOSignal: Sendable {
  /// A `newConsumer` event's consumer: its id and the producer it forwards.
  struct Consumer: Sendable {
    let id: String
    let producerID: String
  }

  private struct State {
    var nextAckID = 0
    var pending: [Int: CheckedContinuation<[JSONValue], any Error>] = [:]
    var consumers: [Consumer] = []
    var opened: CheckedContinuation<Void, any Error>?
    var isOpen = false
    var closed = false
  }

  private let state = Mutex(State())
  private let outgoing: AsyncStream<String>.Continuation
  private let outgoingStream: AsyncStream<String>
  private let connection = Mutex<Task<Void, Never>?>(nil)

  /// Connects to the controller at `base` (http://host:port/) and waits for the Socket.IO connect.
  static func connect(base: URL, timeout: Duration = .seconds(20)) async throws -> SocketIOSignal {
    let signal = SocketIOSignal()
    var components = URLComponents(url: base, resolvingAgainstBaseURL: false)!
    components.scheme = base.scheme == "https" ? "wss" : "ws"
    components.path = "/socket.io/"
    components.query = "EIO=3&transport=websocket"
    let url = components.url!.absoluteString
    signal.connection.withLock { $0 = Task { await signal.run(url: url) } }
    try await signal.waitOpen(timeout: timeout)
    return signal
  }

  private init() {
    (outgoingStream, outgoing) = AsyncStream.makeStream(of: String.self)
  }

  var consumers: [Consumer] { state.withLock { $0.consumers } }

  /// `event` with `payload`, waiting for its ack's arguments.
  func call(_ event: String, _ payload: JSONValue, timeout: Duration = .seconds(20)) async throws -> [JSONValue] {
    let id = state.withLock { state -> Int in
      defer { state.nextAckID += 1 }
      return state.nextAckID
    }
    return try await bounded(
      timeout, "\(event): no ack within \(timeout)",
      wait: {
        try await withCheckedThrowingContinuation { continuation in
          let closed = self.state.withLock { state -> Bool in
            guard !state.closed else { return true }
            state.pending[id] = continuation
            return false
          }
          if closed {
            continuation.resume(throwing: LoadError("\(event): the Socket.IO connection is closed"))
          } else {
            self.send(SocketIOPacket.event(event, [payload], ackID: id))
          }
        }
      },
      withdraw: { self.state.withLock { $0.pending.removeValue(forKey: id) } })
  }

  /// A mediasoup-signal request (`{"data": data}`): the success payload's `data`, or the error.
  /// `join`'s masked errors (spec §4.3) carry the peers too and count as success.
  func request(_ method: String, _ data: JSONValue) async throws -> JSONValue {
    let reply = try await call(method, ["data": data])
    let status = reply.first?.stringValue
    let payload = reply.count > 1 ? reply[1] : .null
    if status == "success" || (method == "join" && payload["data"]?["peers"] != nil) {
      return payload["data"] ?? .null
    }
    throw LoadError("\(method): \(status ?? "?") \(String(decoding: payload.serialized(), as: UTF8.self))")
  }

  func close() {
    state.withLock { $0.closed = true }
    outgoing.finish()
    connection.withLock { $0?.cancel() }
  }

  private func send(_ packet: SocketIOPacket) {
    outgoing.yield(EngineIOPacket(.message, packet.encoded).encoded)
  }

  private func waitOpen(timeout: Duration) async throws {
    try await bounded(
      timeout, "no Socket.IO connect within \(timeout)",
      wait: {
        try await withCheckedThrowingContinuation { continuation in
          let ready = self.state.withLock { state -> Bool in
            if state.isOpen { return true }
            state.opened = continuation
            return false
          }
          if ready { continuation.resume() }
        }
      },
      withdraw: {
        self.state.withLock { state in
          defer { state.opened = nil }
          return state.opened
        }
      })
  }

  /// `wait`, which parks a continuation in the state, or `failure` after `timeout`. Whatever
  /// continuation `withdraw` takes back is resumed when the time is up: the group cannot end while
  /// a child waits on a continuation nobody resumes.
  private func bounded<T: Sendable>(
    _ timeout: Duration, _ failure: String, wait: @escaping @Sendable () async throws -> T,
    withdraw: @escaping @Sendable () -> CheckedContinuation<T, any Error>?
  ) async throws -> T {
    try await withThrowingTaskGroup(of: T.self) { group in
      group.addTask(operation: wait)
      group.addTask {
        try await Task.sleep(for: timeout)
        throw LoadError(failure)
      }
      defer {
        group.cancelAll()
        withdraw()?.resume(throwing: CancellationError())
      }
      return try await group.next()!
    }
  }

  private func run(url: String) async {
    var failure: String?
    do {
      // A `join` reply lists every other client of the room: far above the client's default 16 KiB
      // frame limit in a room of hundreds.
      let closed = try await WebSocketClient.connect(
        url: url, configuration: WebSocketClientConfiguration(maxFrameSize: 1 << 22),
        logger: Logger(label: "erizo-bench.socketio")
      ) { inbound, outbound, _ in
        try await withThrowingTaskGroup(of: Void.self) { group in
          group.addTask {
            for await text in self.outgoingStream { try await outbound.write(.text(text)) }
          }
          group.addTask {
            // The client's heartbeat (Engine.IO v3: the client pings, every 25 s by default).
            while !Task.isCancelled {
              try await Task.sleep(for: .seconds(20))
              self.outgoing.yield(EngineIOPacket(.ping).encoded)
            }
          }
          for try await message in inbound.messages(maxSize: 1 << 22) {
            guard case .text(let text) = message else { continue }
            self.receive(text)
          }
          group.cancelAll()
        }
      }
      if let closed { failure = "closed by the server (\(closed.closeCode), \(closed.reason ?? "no reason"))" }
    } catch {
      failure = "\(error)"
    }
    let (pending, opened) = state.withLock { state in
      state.closed = true
      defer {
        state.pending.removeAll()
        state.opened = nil
      }
      return (Array(state.pending.values), state.opened)
    }
    let error = LoadError("the Socket.IO connection ended\(failure.map { ": \($0)" } ?? "")")
    for continuation in pending { continuation.resume(throwing: error) }
    opened?.resume(throwing: error)
  }

  private func receive(_ text: String) {
    guard let engine = EngineIOPacket(decoding: text), engine.kind == .message,
      let packet = try? SocketIOPacket(decoding: engine.data)
    else { return }
    switch packet.kind {
    case .connect:
      let opened = state.withLock { state in
        state.isOpen = true
        defer { state.opened = nil }
        return state.opened
      }
      opened?.resume()
    case .ack:
      guard let id = packet.ackID, case .array(let arguments)? = packet.payload,
        let continuation = state.withLock({ $0.pending.removeValue(forKey: id) })
      else { return }
      continuation.resume(returning: arguments)
    case .event:
      guard let (name, arguments) = packet.eventNameAndArguments else { return }
      if name == "newConsumer", let data = arguments.first?["data"], let id = data["id"]?.stringValue {
        let producerID = data["producerId"]?.stringValue ?? ""
        state.withLock { $0.consumers.append(Consumer(id: id, producerID: producerID)) }
      }
      // Every event the agent sends with an ack id wants an answer; a consumer is taken.
      if let ackID = packet.ackID {
        send(SocketIOPacket(.ack, ackID: ackID, payload: [.string("success"), ["data": [:]]]))
      }
    case .disconnect:
      close()
    default:
      return
    }
  }
}
