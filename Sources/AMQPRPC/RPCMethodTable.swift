public import ErizoCore
public import Logging
internal import Metrics

/// Routes requests on one queue to a handler per method. An unknown method is answered with the
/// reference's error shape `{"retEvent":"error","data":{"errmsg":…,"errcode":1004}}` (spec §4.3:
/// "Unknown method names reaching the EA get 1004") instead of leaving the caller to time out.
public struct RPCMethodTable: Sendable {
  private var handlers: [String: RPCHandler] = [:]
  private let unknownMethods = Counter(label: "erizo_bus_unknown_methods_total")

  public init() {}

  public mutating func on(_ method: String, _ handler: @escaping RPCHandler) {
    handlers[method] = handler
  }

  public var methods: [String] { handlers.keys.sorted() }

  public static func unknownMethodReply(_ method: String) -> JSONValue {
    ["retEvent": "error", "data": ["errmsg": .string("unknown method '\(method)'"), "errcode": 1004]]
  }

  /// The handler to pass to `serve` or `subscribe`.
  public func handler(logger: Logger) -> RPCHandler {
    let handlers = self.handlers
    let unknownMethods = self.unknownMethods
    return { request in
      guard let handler = handlers[request.method] else {
        unknownMethods.increment()
        logger.warning("unknown RPC method", metadata: [LogMetadataKey.rpcMethod: "\(request.method)"])
        return request.expectsReply ? .data(Self.unknownMethodReply(request.method)) : .none
      }
      return await handler(request)
    }
  }
}
