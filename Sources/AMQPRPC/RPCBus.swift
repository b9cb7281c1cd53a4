public import ErizoCore

/// A request delivered to a served queue or a broadcast subscription.
public struct RPCRequest: Sendable {
  /// The method name from the envelope.
  public let method: String
  /// The arguments as sent: an array for controller and agent targets and for broadcasts, a single
  /// value (or nil when omitted) for Nuve targets (spec §6).
  public let args: JSONValue?
  /// Whether the sender is waiting for an answer (the envelope had `replyTo` and `corrID`).
  public let expectsReply: Bool

  public init(method: String, args: JSONValue?, expectsReply: Bool) {
    self.method = method
    self.args = args
    self.expectsReply = expectsReply
  }

  /// The positional arguments of an array-style call; a single value counts as one argument.
  public var positionalArgs: [JSONValue] {
    switch args {
    case nil: []
    case .array(let values)?: values
    case let value?: [value]
    }
  }
}

/// What a handler answers.
public enum RPCReply: Sendable, Equatable {
  /// Reply with `{"data": value, …}`; nil sends the reply without a `data` field.
  case data(JSONValue?)
  /// Send nothing back (the reference's handlers that never call their callback).
  case none
}

public typealias RPCHandler = @Sendable (RPCRequest) async -> RPCReply

/// The one RPC API every role uses, over RabbitMQ or in process (spec §6).
public protocol RPCBus: Sendable {
  /// The timeout of calls that do not give one (`bus.rpcTimeout`, 10 s by default as in the reference).
  var defaultTimeout: Duration { get }

  /// Calls `method` on the queue bound to routing key `target` and waits for the first reply.
  /// Throws `ErizoError.Code.rpcTimeout` when no reply arrives in time or the connection is lost while
  /// waiting, and `.busUnavailable` when there is no connection to send on.
  func call(_ target: String, method: String, args: JSONValue?, timeout: Duration) async throws(ErizoError)
    -> JSONValue

  /// Publishes to every subscriber of `topic` without asking for replies.
  func broadcast(topic: String, method: String, args: [JSONValue]) async throws(ErizoError)

  /// Publishes to every subscriber of `topic` and returns every reply received within `window`.
  func broadcastCollecting(topic: String, method: String, args: [JSONValue], window: Duration)
    async throws(ErizoError) -> [JSONValue]

  /// Serves a named queue bound to `rpcExchange` with `routingKey` (the queue name when nil).
  /// Several processes serving one queue compete for its messages.
  func serve(queue: String, routingKey: String?, handler: @escaping RPCHandler) async

  /// Subscribes to a broadcast topic with a queue of this process's own.
  func subscribe(topic: String, handler: @escaping RPCHandler) async
}

extension RPCBus {
  public func call(_ target: String, method: String, args: JSONValue? = nil) async throws(ErizoError) -> JSONValue {
    try await call(target, method: method, args: args, timeout: defaultTimeout)
  }

  public func serve(queue: String, handler: @escaping RPCHandler) async {
    await serve(queue: queue, routingKey: nil, handler: handler)
  }
}
