public import ErizoCore
internal import ErizoWire
internal import Synchronization

/// A broker inside one process with RabbitMQ's routing semantics for the reference topology:
/// a direct `rpcExchange` and an exact-match `broadcastExchange`, named and broker-named queues,
/// round-robin between the consumers of one queue, and unroutable messages dropped.
///
/// Used by `erizo all` and by tests; each `MessageBus` on it behaves like a separate process.
public final class InProcessBroker: Sendable {
  private struct Queue {
    var consumers: [(id: Int, deliver: @Sendable ([UInt8]) -> Void)] = []
    var nextConsumer = 0
    var backlog: [[UInt8]] = []
  }

  private struct State {
    var queues: [String: Queue] = [:]
    var bindings: [String: [String: Set<String>]] = [:]  // exchange → routing key → queues
    var nextName = 1
    var nextConsumerID = 1
  }

  /// Messages kept for a queue that has no consumer yet.
  static let backlogLimit = 10_000
  private let state = Mutex(State())

  public init() {}

  func declareQueue(_ name: String) -> String {
    state.withLock { state in
      var name = name
      if name.isEmpty {
        name = "amq.gen-inprocess-\(state.nextName)"
        state.nextName += 1
      }
      if state.queues[name] == nil { state.queues[name] = Queue() }
      return name
    }
  }

  func bind(queue: String, exchange: String, routingKey: String) {
    state.withLock { _ = $0.bindings[exchange, default: [:]][routingKey, default: []].insert(queue) }
  }

  func consume(queue: String, deliver: @escaping @Sendable ([UInt8]) -> Void) -> Int {
    let (id, backlog) = state.withLock { state -> (Int, [[UInt8]]) in
      let id = state.nextConsumerID
      state.nextConsumerID += 1
      state.queues[queue, default: Queue()].consumers.append((id, deliver))
      let backlog = state.queues[queue]!.backlog
      state.queues[queue]!.backlog = []
      return (id, backlog)
    }
    for body in backlog { deliver(body) }
    return id
  }

  /// Removes consumers; a queue left without consumers is deleted with its bindings (auto-delete).
  func cancel(consumers ids: Set<Int>) {
    state.withLock { state in
      for name in Array(state.queues.keys) {
        state.queues[name]!.consumers.removeAll { ids.contains($0.id) }
        if state.queues[name]!.consumers.isEmpty {
          state.queues[name] = nil
          for exchange in Array(state.bindings.keys) {
            for key in Array(state.bindings[exchange]!.keys) {
              state.bindings[exchange]![key]!.remove(name)
            }
          }
        }
      }
    }
  }

  func publish(exchange: String, routingKey: String, body: [UInt8]) {
    let targets = state.withLock { state -> [@Sendable ([UInt8]) -> Void] in
      var targets: [@Sendable ([UInt8]) -> Void] = []
      for queueName in state.bindings[exchange]?[routingKey] ?? [] {
        guard var queue = state.queues[queueName] else { continue }
        if queue.consumers.isEmpty {
          if queue.backlog.count < Self.backlogLimit { queue.backlog.append(body) }
        } else {
          let index = queue.nextConsumer % queue.consumers.count
          queue.nextConsumer = index + 1
          targets.append(queue.consumers[index].deliver)
        }
        state.queues[queueName] = queue
      }
      return targets
    }
    for deliver in targets { deliver(body) }
  }
}

/// A transport onto an `InProcessBroker`: always connected once started.
public final class InProcessTransport: BusTransport {
  private struct State {
    var events: (@Sendable (BusTransportEvent) -> Void)?
    var pendingBindings: [QueueBinding] = []
    var consumers: Set<Int> = []
    var running = false
  }

  private let broker: InProcessBroker
  private let state = Mutex(State())

  public init(broker: InProcessBroker) { self.broker = broker }

  public func start(events: @escaping @Sendable (BusTransportEvent) -> Void) {
    let replyQueue = broker.declareQueue("")
    broker.bind(queue: replyQueue, exchange: BusTopology.rpcExchange, routingKey: replyQueue)
    let replyConsumer = broker.consume(queue: replyQueue) { body in events(.delivery(.reply, body)) }
    let pending = state.withLock { state -> [QueueBinding] in
      state.events = events
      state.running = true
      state.consumers.insert(replyConsumer)
      defer { state.pendingBindings = [] }
      return state.pendingBindings
    }
    events(.connected(replyQueue: replyQueue))
    for binding in pending { declare(binding, events: events) }
  }

  public func addQueue(_ binding: QueueBinding) {
    let events = state.withLock { state -> (@Sendable (BusTransportEvent) -> Void)? in
      guard state.running, let events = state.events else {
        state.pendingBindings.append(binding)
        return nil
      }
      return events
    }
    if let events { declare(binding, events: events) }
  }

  private func declare(_ binding: QueueBinding, events: @escaping @Sendable (BusTransportEvent) -> Void) {
    let name = broker.declareQueue(binding.queueName)
    broker.bind(queue: name, exchange: binding.exchange, routingKey: binding.routingKey)
    let source = binding.source
    let consumer = broker.consume(queue: name) { body in events(.delivery(source, body)) }
    state.withLock { _ = $0.consumers.insert(consumer) }
  }

  public func publish(exchange: String, routingKey: String, body: [UInt8]) throws(ErizoError) {
    guard state.withLock({ $0.running }) else { throw ErizoError(.busUnavailable, "the in-process bus is stopped") }
    broker.publish(exchange: exchange, routingKey: routingKey, body: body)
  }

  public func stop() {
    let consumers = state.withLock { state -> Set<Int> in
      state.running = false
      defer { state.consumers = [] }
      return state.consumers
    }
    broker.cancel(consumers: consumers)
  }
}
