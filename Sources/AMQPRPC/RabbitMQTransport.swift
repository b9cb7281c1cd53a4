internal import AMQP
public import ErizoCore
internal import ErizoWire
internal import Foundation
internal import Glibc
public import Logging
internal import Synchronization

/// The bus over RabbitMQ through rabbitmq-c, with the reference topology (spec §6).
///
/// rabbitmq-c is blocking, so the connection lives on a thread of its own that never touches the
/// cooperative pool or a NIO loop. Other threads hand it messages through a mutex-guarded outbox
/// and wake it with a pipe. When the connection drops it reconnects with exponential backoff and
/// re-declares every exchange, queue, binding and consumer.
public final class RabbitMQTransport: BusTransport, @unchecked Sendable {
  // @unchecked: mutable state is either in `shared` (a Mutex) or touched only by the connection thread.
  public struct Options: Sendable {
    public var endpoint: AMQPEndpoint
    /// AMQP heartbeat in seconds (the reference uses 8).
    public var heartbeat: Int
    public var initialReconnectDelay: Duration
    public var maximumReconnectDelay: Duration

    public init(
      endpoint: AMQPEndpoint, heartbeat: Int = 8, initialReconnectDelay: Duration = .milliseconds(100),
      maximumReconnectDelay: Duration = .seconds(5)
    ) {
      self.endpoint = endpoint
      self.heartbeat = heartbeat
      self.initialReconnectDelay = initialReconnectDelay
      self.maximumReconnectDelay = maximumReconnectDelay
    }
  }

  private struct Outgoing {
    let exchange: String
    let routingKey: String
    let body: [UInt8]
  }

  private struct Shared {
    var outbox: [Outgoing] = []
    var bindings: [QueueBinding] = []
    var undeclared: [QueueBinding] = []
    var connected = false
    var stopping = false
    var started = false
  }

  private let options: Options
  private let logger: Logger
  private let shared = Mutex(Shared())
  private let wakeRead: Int32
  private let wakeWrite: Int32

  public init(options: Options, logger: Logger) {
    self.options = options
    self.logger = logger
    var fds: [Int32] = [0, 0]
    if pipe(&fds) != 0 { fatalError("pipe failed: \(errno)") }
    for fd in fds {
      _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL, 0) | O_NONBLOCK)
      _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    }
    (wakeRead, wakeWrite) = (fds[0], fds[1])
  }

  deinit {
    close(wakeRead)
    close(wakeWrite)
  }

  public func start(events: @escaping @Sendable (BusTransportEvent) -> Void) {
    let first = shared.withLock { shared -> Bool in
      defer { shared.started = true }
      return !shared.started
    }
    guard first else { return }
    let thread = Thread { [self] in self.connectionLoop(events: events) }
    thread.name = "erizo-amqp"
    thread.start()
  }

  public func addQueue(_ binding: QueueBinding) {
    shared.withLock { shared in
      shared.bindings.append(binding)
      shared.undeclared.append(binding)
    }
    wake()
  }

  public func publish(exchange: String, routingKey: String, body: [UInt8]) throws(ErizoError) {
    let accepted = shared.withLock { shared -> Bool in
      guard shared.connected, !shared.stopping else { return false }
      shared.outbox.append(Outgoing(exchange: exchange, routingKey: routingKey, body: body))
      return true
    }
    guard accepted else { throw ErizoError(.busUnavailable, "not connected to RabbitMQ at \(options.endpoint)") }
    wake()
  }

  public func stop() {
    shared.withLock { $0.stopping = true }
    wake()
  }

  private func wake() {
    var byte: UInt8 = 1
    _ = write(wakeWrite, &byte, 1)
  }

  private func drainWakePipe() {
    var buffer = [UInt8](repeating: 0, count: 256)
    while read(wakeRead, &buffer, buffer.count) > 0 {}
  }

  private var isStopping: Bool { shared.withLock { $0.stopping } }

  // MARK: - The connection thread

  private func connectionLoop(events: @Sendable (BusTransportEvent) -> Void) {
    var delay = options.initialReconnectDelay
    var attempt = 0
    while !isStopping {
      attempt += 1
      let connection: AMQPConnection
      let replyQueue: String
      do {
        connection = try AMQPConnection(endpoint: options.endpoint, heartbeat: options.heartbeat)
        replyQueue = try declareTopology(on: connection)
      } catch {
        if attempt == 1 || attempt % 20 == 0 {
          logger.warning(
            "cannot reach RabbitMQ, retrying",
            metadata: [LogMetadataKey.error: "\(error.message)", "bus.attempt": "\(attempt)"])
        }
        sleepInterruptibly(delay)
        delay = min(delay * 2, options.maximumReconnectDelay)
        continue
      }
      delay = options.initialReconnectDelay
      attempt = 0
      shared.withLock { $0.connected = true }
      events(.connected(replyQueue: replyQueue))
      let reason = serve(connection, events: events)
      shared.withLock { shared in
        shared.connected = false
        shared.outbox = []
      }
      connection.close()
      if isStopping { break }
      events(.disconnected(reason: reason))
    }
  }

  /// Declares the exchanges, a fresh reply queue and every registered binding. Returns the reply queue.
  private func declareTopology(on connection: AMQPConnection) throws(ErizoError) -> String {
    try connection.declareExchange(BusTopology.rpcExchange, type: .direct, durable: false, autoDelete: true)
    try connection.declareExchange(BusTopology.broadcastExchange, type: .topic, durable: false, autoDelete: false)
    let replyQueue = try connection.declareQueue("", durable: false, exclusive: false, autoDelete: true)
    try connection.bindQueue(replyQueue, exchange: BusTopology.rpcExchange, routingKey: replyQueue)
    try connection.consume(queue: replyQueue, consumerTag: Self.tag(for: .reply))
    let bindings = shared.withLock { shared -> [QueueBinding] in
      shared.undeclared = []
      return shared.bindings
    }
    for binding in bindings { try declare(binding, on: connection) }
    return replyQueue
  }

  private func declare(_ binding: QueueBinding, on connection: AMQPConnection) throws(ErizoError) {
    let name = try connection.declareQueue(binding.queueName, durable: false, exclusive: false, autoDelete: true)
    try connection.bindQueue(name, exchange: binding.exchange, routingKey: binding.routingKey)
    try connection.consume(queue: name, consumerTag: Self.tag(for: binding.source))
  }

  /// Runs until the connection fails or the transport stops; returns why it ended.
  private func serve(_ connection: AMQPConnection, events: @Sendable (BusTransportEvent) -> Void) -> String {
    let socket = connection.socketDescriptor
    do {
      while !isStopping {
        let (outgoing, undeclared) = shared.withLock { shared -> ([Outgoing], [QueueBinding]) in
          defer {
            shared.outbox = []
            shared.undeclared = []
          }
          return (shared.outbox, shared.undeclared)
        }
        for binding in undeclared { try declare(binding, on: connection) }
        for message in outgoing {
          try connection.publish(exchange: message.exchange, routingKey: message.routingKey, body: message.body)
        }
        if !connection.hasBufferedInput {
          var fds = [
            pollfd(fd: socket, events: Int16(POLLIN), revents: 0),
            pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
          ]
          _ = poll(&fds, 2, 1000)
          if fds[1].revents != 0 { drainWakePipe() }
        }
        // Reads what arrived and lets rabbitmq-c send and check heartbeats.
        var budget = 256
        while budget > 0, let delivery = try connection.nextDelivery(timeoutMilliseconds: 0) {
          budget -= 1
          guard let source = Self.source(forTag: delivery.consumerTag) else { continue }
          events(.delivery(source, delivery.body))
        }
      }
      return "stopped"
    } catch {
      return error.message
    }
  }

  private static func tag(for source: DeliverySource) -> String {
    switch source {
    case .reply: "reply"
    case .queue(let name): "q:\(name)"
    case .topic(let topic): "t:\(topic)"
    }
  }

  private static func source(forTag tag: String) -> DeliverySource? {
    if tag == "reply" { return .reply }
    if tag.hasPrefix("q:") { return .queue(String(tag.dropFirst(2))) }
    if tag.hasPrefix("t:") { return .topic(String(tag.dropFirst(2))) }
    return nil
  }

  private func sleepInterruptibly(_ duration: Duration) {
    // Wake-ups from new bindings while disconnected are not a reason to reconnect early; stop is.
    let deadline = ContinuousClock.now + duration
    while !isStopping {
      let remaining = deadline - ContinuousClock.now
      guard remaining > .zero else { return }
      var fds = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
      _ = poll(&fds, 1, Int32(max(1, min(remaining.timeInterval * 1000, 60_000))))
      if fds[0].revents != 0 { drainWakePipe() }
    }
  }
}
