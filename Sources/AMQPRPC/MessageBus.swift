internal import Dispatch
public import ErizoCore
internal import ErizoWire
public import Logging
internal import Metrics
public import ServiceLifecycle
internal import Synchronization

/// The RPC engine of spec §6 over any `BusTransport`: correlation ids, pending calls with timeouts,
/// broadcast reply collection, and dispatch of incoming requests to handlers.
///
/// It is a `Service`: `run()` starts the transport and runs handlers until graceful shutdown.
/// Replies are matched on the transport's thread; handlers run as child tasks of `run()`.
public final class MessageBus: RPCBus, Service {
  private enum Pending {
    case call(
      CheckedContinuation<JSONValue, any Error>, method: String, target: String, started: ContinuousClock.Instant)
    case collect(CheckedContinuation<Result<[JSONValue], ErizoError>, Never>, replies: [JSONValue])
  }

  private struct State {
    var nextCorrelationID = 1
    var pending: [Int: Pending] = [:]
    var handlers: [DeliverySource: RPCHandler] = [:]
    var replyQueue: String?
    var connectionWaiters: [CheckedContinuation<Void, Never>] = []
    var started = false
  }

  private let transport: any BusTransport
  private let logger: Logger
  private let state = Mutex(State())
  private let incoming: AsyncStream<(DeliverySource, [UInt8])>
  private let incomingContinuation: AsyncStream<(DeliverySource, [UInt8])>.Continuation
  private let metrics = BusMetrics()
  public let defaultTimeout: Duration

  public init(transport: any BusTransport, logger: Logger, defaultTimeout: Duration = .seconds(10)) {
    self.transport = transport
    self.logger = logger
    self.defaultTimeout = defaultTimeout
    (incoming, incomingContinuation) = AsyncStream.makeStream(bufferingPolicy: .unbounded)
  }

  /// Whether the transport is connected right now.
  public var isConnected: Bool { state.withLock { $0.replyQueue != nil } }

  /// This process's reply queue while connected (it changes after a reconnection).
  public var replyQueueName: String? { state.withLock { $0.replyQueue } }

  /// Calls waiting for a reply or collecting broadcast replies right now.
  public var pendingCount: Int { state.withLock { $0.pending.count } }

  /// Starts the transport if `run()` has not (idempotent).
  public func start() {
    let first = state.withLock { state -> Bool in
      defer { state.started = true }
      return !state.started
    }
    guard first else { return }
    transport.start { [weak self] event in self?.handle(event) }
  }

  /// Waits until the transport is connected, or `timeout` passes. Returns whether it is connected.
  @discardableResult
  public func waitUntilConnected(timeout: Duration) async -> Bool {
    start()
    if isConnected { return true }
    let deadline = ContinuousClock.now + timeout
    while ContinuousClock.now < deadline {
      if isConnected { return true }
      try? await Task.sleep(for: .milliseconds(20))
    }
    return isConnected
  }

  public func run() async throws {
    start()
    await withGracefulShutdownHandler {
      await withDiscardingTaskGroup { group in
        for await (source, body) in incoming {
          group.addTask { await self.serveDelivery(source: source, body: body) }
        }
      }
    } onGracefulShutdown: {
      self.shutdown()
    }
  }

  /// Stops the transport and ends `run()` once the handlers in flight have finished.
  public func shutdown() {
    transport.stop()
    incomingContinuation.finish()
    let (calls, collectors) = state.withLock {
      state -> (
        [CheckedContinuation<JSONValue, any Error>],
        [(CheckedContinuation<Result<[JSONValue], ErizoError>, Never>, [JSONValue])]
      ) in
      var calls: [CheckedContinuation<JSONValue, any Error>] = []
      var collectors: [(CheckedContinuation<Result<[JSONValue], ErizoError>, Never>, [JSONValue])] = []
      for (_, pending) in state.pending {
        switch pending {
        case .call(let continuation, _, _, _): calls.append(continuation)
        case .collect(let continuation, let replies): collectors.append((continuation, replies))
        }
      }
      state.pending.removeAll()
      state.replyQueue = nil
      return (calls, collectors)
    }
    for continuation in calls { continuation.resume(throwing: ErizoError(.busClosed, "the bus was shut down")) }
    for (continuation, replies) in collectors { continuation.resume(returning: .success(replies)) }
  }

  // MARK: - Calls

  public func call(_ target: String, method: String, args: JSONValue?, timeout: Duration) async throws(ErizoError)
    -> JSONValue
  {
    let started = ContinuousClock.now
    metrics.recordCall(method: method)
    do {
      let result: JSONValue = try await withCheckedThrowingContinuation { continuation in
        let registered = state.withLock { state -> (Int, String)? in
          guard let replyQueue = state.replyQueue else { return nil }
          let id = state.nextCorrelationID
          state.nextCorrelationID = id == Int(Int32.max) ? 1 : id + 1
          state.pending[id] = .call(continuation, method: method, target: target, started: started)
          return (id, replyQueue)
        }
        guard let (id, replyQueue) = registered else {
          continuation.resume(throwing: ErizoError(.busUnavailable, "no connection to the broker"))
          return
        }
        let body = BusEnvelope.call(method: method, args: args, correlationID: id, replyTo: replyQueue).serialized()
        do {
          try transport.publish(exchange: BusTopology.rpcExchange, routingKey: target, body: body)
        } catch {
          if let pending = removePending(id), case .call(let continuation, _, _, _) = pending {
            continuation.resume(throwing: error)
          }
          return
        }
        scheduleTimeout(id, after: timeout)
      }
      metrics.recordLatency(ContinuousClock.now - started, method: method)
      return result
    } catch let error as ErizoError {
      if error.code == .rpcTimeout { metrics.recordTimeout(method: method) }
      if error.code == .busUnavailable { metrics.unavailable.increment() }
      throw error
    } catch {
      throw ErizoError(.rpcTimeout, "\(error)")
    }
  }

  public func broadcast(topic: String, method: String, args: [JSONValue]) async throws(ErizoError) {
    let body = BusEnvelope.broadcast(method: method, args: args, correlationID: nil, replyTo: nil).serialized()
    try transport.publish(exchange: BusTopology.broadcastExchange, routingKey: topic, body: body)
  }

  public func broadcastCollecting(topic: String, method: String, args: [JSONValue], window: Duration)
    async throws(ErizoError) -> [JSONValue]
  {
    let outcome: Result<[JSONValue], ErizoError> = await withCheckedContinuation { continuation in
      let registered = state.withLock { state -> (Int, String)? in
        guard let replyQueue = state.replyQueue else { return nil }
        let id = state.nextCorrelationID
        state.nextCorrelationID = id == Int(Int32.max) ? 1 : id + 1
        return (id, replyQueue)
      }
      guard let (id, replyQueue) = registered else {
        continuation.resume(returning: .failure(ErizoError(.busUnavailable, "no connection to the broker")))
        return
      }
      state.withLock { $0.pending[id] = .collect(continuation, replies: []) }
      let body = BusEnvelope.broadcast(method: method, args: args, correlationID: id, replyTo: replyQueue)
        .serialized()
      do throws(ErizoError) {
        try transport.publish(exchange: BusTopology.broadcastExchange, routingKey: topic, body: body)
      } catch {
        _ = removePending(id)
        continuation.resume(returning: .failure(error))
        return
      }
      DispatchQueue.global().asyncAfter(deadline: .now() + window.timeInterval) { [weak self] in
        guard let self, let pending = self.removePending(id), case .collect(let collector, let replies) = pending
        else { return }
        collector.resume(returning: .success(replies))
      }
    }
    return try outcome.get()
  }

  private func scheduleTimeout(_ id: Int, after timeout: Duration) {
    DispatchQueue.global().asyncAfter(deadline: .now() + timeout.timeInterval) { [weak self] in
      guard let self, let pending = self.removePending(id),
        case .call(let continuation, let method, let target, _) = pending
      else { return }
      continuation.resume(throwing: ErizoError(.rpcTimeout, "no reply to \(method) on \(target) within \(timeout)"))
    }
  }

  private func removePending(_ id: Int) -> Pending? {
    state.withLock { $0.pending.removeValue(forKey: id) }
  }

  // MARK: - Serving

  public func serve(queue: String, routingKey: String?, handler: @escaping RPCHandler) async {
    state.withLock { $0.handlers[.queue(queue)] = handler }
    transport.addQueue(
      QueueBinding(
        source: .queue(queue), queueName: queue, exchange: BusTopology.rpcExchange, routingKey: routingKey ?? queue))
  }

  public func subscribe(topic: String, handler: @escaping RPCHandler) async {
    state.withLock { $0.handlers[.topic(topic)] = handler }
    transport.addQueue(
      QueueBinding(source: .topic(topic), queueName: "", exchange: BusTopology.broadcastExchange, routingKey: topic))
  }

  private func serveDelivery(source: DeliverySource, body: [UInt8]) async {
    let envelope: BusEnvelope
    do {
      envelope = try BusEnvelope(parsing: body)
    } catch {
      metrics.malformed.increment()
      logger.warning(
        "dropped a malformed bus message",
        metadata: [LogMetadataKey.busQueue: "\(source)", LogMetadataKey.error: "\(error.message)"])
      return
    }
    let request: RPCRequest
    let correlationID: Int?
    let replyTo: String?
    switch envelope {
    case .call(let method, let args, let id, let queue):
      request = RPCRequest(method: method, args: args, expectsReply: id != nil && queue != nil)
      (correlationID, replyTo) = (id, queue)
    case .broadcast(let method, let args, let id, let queue):
      request = RPCRequest(method: method, args: .array(args), expectsReply: id != nil && queue != nil)
      (correlationID, replyTo) = (id, queue)
    case .reply:
      metrics.malformed.increment()
      logger.warning("dropped a reply sent to a served queue", metadata: [LogMetadataKey.busQueue: "\(source)"])
      return
    }
    guard let handler = state.withLock({ $0.handlers[source] }) else { return }
    metrics.served.increment()
    let reply = await handler(request)
    guard case .data(let data) = reply, let correlationID, let replyTo else { return }
    do {
      try transport.publish(
        exchange: BusTopology.rpcExchange, routingKey: replyTo,
        body: BusEnvelope.reply(data: data, correlationID: correlationID).serialized())
    } catch {
      logger.warning(
        "could not send a reply",
        metadata: [LogMetadataKey.rpcMethod: "\(request.method)", LogMetadataKey.error: "\(error)"])
    }
  }

  // MARK: - Transport events

  private func handle(_ event: BusTransportEvent) {
    switch event {
    case .connected(let replyQueue):
      state.withLock { $0.replyQueue = replyQueue }
      logger.info("bus connected", metadata: [LogMetadataKey.busQueue: "\(replyQueue)"])
    case .disconnected(let reason):
      metrics.disconnects.increment()
      let lost = state.withLock { state -> [CheckedContinuation<JSONValue, any Error>] in
        state.replyQueue = nil
        var lost: [CheckedContinuation<JSONValue, any Error>] = []
        for (id, pending) in state.pending {
          if case .call(let continuation, _, _, _) = pending {
            lost.append(continuation)
            state.pending[id] = nil
          }
        }
        return lost
      }
      logger.warning(
        "bus disconnected", metadata: [LogMetadataKey.error: "\(reason)", "bus.failed-calls": "\(lost.count)"])
      for continuation in lost {
        continuation.resume(throwing: ErizoError(.rpcTimeout, "connection to the broker lost while waiting: \(reason)"))
      }
    case .delivery(.reply, let body):
      handleReply(body)
    case .delivery(let source, let body):
      incomingContinuation.yield((source, body))
    }
  }

  private func handleReply(_ body: [UInt8]) {
    guard let envelope = try? BusEnvelope(parsing: body), case .reply(let data, let id) = envelope else {
      metrics.malformed.increment()
      logger.warning("dropped a malformed reply")
      return
    }
    enum Match {
      case call(CheckedContinuation<JSONValue, any Error>)
      case collected
      case unknown
    }
    let match = state.withLock { state -> Match in
      switch state.pending[id] {
      case .call(let continuation, _, _, _)?:
        state.pending[id] = nil
        return .call(continuation)
      case .collect(let continuation, var replies)?:
        replies.append(data ?? .null)
        state.pending[id] = .collect(continuation, replies: replies)
        return .collected
      case nil:
        return .unknown
      }
    }
    switch match {
    case .call(let continuation):
      continuation.resume(returning: data ?? .null)
    case .collected:
      break
    case .unknown:
      metrics.unknownCorrelation.increment()
      logger.debug("dropped a reply for an unknown corrID", metadata: [LogMetadataKey.rpcCorrelationID: "\(id)"])
    }
  }
}

extension Duration {
  var timeInterval: Double {
    let (seconds, attoseconds) = components
    return Double(seconds) + Double(attoseconds) / 1e18
  }
}
