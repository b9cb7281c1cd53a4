public import ErizoCore

/// The RabbitMQ message bodies of the reference RPC layer (spec §6 "Envelopes"), published as JSON
/// with `content_type: application/json`. `replyTo` and `corrID` travel in the body.
public enum BusEnvelope: Sendable, Hashable {
  /// `{"method":M, "args":A, "corrID":n, "replyTo":"q"}` to `rpcExchange`, routing key = target.
  /// Controller and agent targets take an array; Nuve takes a single value, omitted when undefined.
  case call(method: String, args: JSONValue?, correlationID: Int?, replyTo: String?)
  /// `{"data":D, "corrID":n, "type":"callback"}` to `rpcExchange`, routing key = `replyTo`.
  /// `data` is absent when the handler answered with nothing.
  case reply(data: JSONValue?, correlationID: Int)
  /// `{"message":{"method":M, "args":[…]}, "corrID"?:n, "replyTo"?:q}` to `broadcastExchange`, key = topic.
  case broadcast(method: String, args: [JSONValue], correlationID: Int?, replyTo: String?)

  public var json: JSONValue {
    var object: [String: JSONValue] = [:]
    switch self {
    case .call(let method, let args, let correlationID, let replyTo):
      object["method"] = .string(method)
      if let args { object["args"] = args }
      if let correlationID { object["corrID"] = .int(correlationID) }
      if let replyTo { object["replyTo"] = .string(replyTo) }
    case .reply(let data, let correlationID):
      if let data { object["data"] = data }
      object["corrID"] = .int(correlationID)
      object["type"] = "callback"
    case .broadcast(let method, let args, let correlationID, let replyTo):
      object["message"] = ["method": .string(method), "args": .array(args)]
      if let correlationID { object["corrID"] = .int(correlationID) }
      if let replyTo { object["replyTo"] = .string(replyTo) }
    }
    return .object(object)
  }

  public func serialized() -> [UInt8] { json.serialized() }

  /// Decodes a body; which shapes are acceptable depends on the queue it arrived on.
  public init(parsing body: [UInt8]) throws(ErizoError) {
    let json = try JSONValue(parsing: body)
    try self.init(json: json)
  }

  public init(json: JSONValue) throws(ErizoError) {
    guard case .object(let object) = json else {
      throw ErizoError(.malformedMessage, "bus message is a \(json.typeName), not an object")
    }
    let correlationID = try Self.correlationID(object["corrID"])
    let replyTo: String?
    switch object["replyTo"] {
    case nil, .null?: replyTo = nil
    case .string(let queue)?: replyTo = queue
    case let other?: throw ErizoError(.malformedMessage, "replyTo is a \(other.typeName), not a string")
    }
    if case .string("callback")? = object["type"] {
      guard let correlationID else { throw ErizoError(.malformedMessage, "reply without corrID") }
      self = .reply(data: object["data"], correlationID: correlationID)
      return
    }
    if let message = object["message"] {
      guard case .object(let inner) = message, case .string(let method)? = inner["method"] else {
        throw ErizoError(.malformedMessage, "broadcast without message.method")
      }
      let args: [JSONValue]
      switch inner["args"] {
      case nil, .null?: args = []
      case .array(let values)?: args = values
      case let other?: args = [other]
      }
      self = .broadcast(method: method, args: args, correlationID: correlationID, replyTo: replyTo)
      return
    }
    guard case .string(let method)? = object["method"] else {
      throw ErizoError(.malformedMessage, "call without a method")
    }
    self = .call(method: method, args: object["args"], correlationID: correlationID, replyTo: replyTo)
  }

  private static func correlationID(_ value: JSONValue?) throws(ErizoError) -> Int? {
    switch value {
    case nil, .null?: return nil
    case .int(let id)?: return id
    case .string(let text)?:
      // Some clients send the id as a string; accept what is clearly a number.
      guard let id = Int(text) else { throw ErizoError(.malformedMessage, "corrID '\(text)' is not a number") }
      return id
    case let other?:
      if let id = other.intValue { return id }
      throw ErizoError(.malformedMessage, "corrID is a \(other.typeName), not a number")
    }
  }
}

/// Names of the reference topology (spec §6 "Topology").
public enum BusTopology {
  /// Direct exchange for calls and replies: non-durable, auto-delete.
  public static let rpcExchange = "rpcExchange"
  /// Topic exchange for broadcasts: non-durable, not auto-delete.
  public static let broadcastExchange = "broadcastExchange"
  /// The queue (and routing key) Nuve serves; replicas compete on it.
  public static let nuveQueue = "nuveQueue"
  public static let nuveRoutingKey = "nuve"
  /// The queue every agent shares.
  public static let agentSharedQueue = "ErizoAgent"
  /// The broadcast topic agents listen on.
  public static let agentTopic = "ErizoAgent"
  /// The broadcast topic of session reports.
  public static let eventTopic = "event"

  public static func controllerQueue(_ controllerID: String) -> String { "erizoController_\(controllerID)" }
  public static func agentQueue(_ agentID: String) -> String { "ErizoAgent_\(agentID)" }
}
