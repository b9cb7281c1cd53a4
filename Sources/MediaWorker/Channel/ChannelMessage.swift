public import ErizoCore

/// The JSON messages of the worker channel (DESIGN.md §5; mediasoup 3.9–3.12's JSON channel).
public enum ChannelMessage: Sendable, Equatable {
  /// Parent → worker: `{id, method, handlerId, data}`; `handlerId` is empty for worker methods.
  case request(id: Int, method: String, handlerID: String, data: JSONValue)
  /// Worker → parent: `{id, accepted: true, data}`.
  case accepted(id: Int, data: JSONValue)
  /// Worker → parent: `{id, error: "Error"|"TypeError", reason}`.
  case rejected(id: Int, error: ErrorKind, reason: String)
  /// Either way: `{handlerId, event, data}`.
  case notification(handlerID: String, event: String, data: JSONValue)
  /// Worker → parent: `{log: "<level char><text>"}`, the level one of D, W, E, X.
  case log(String)

  public enum ErrorKind: String, Sendable {
    case error = "Error"
    case typeError = "TypeError"
  }

  public var json: JSONValue {
    switch self {
    case .request(let id, let method, let handlerID, let data):
      ["id": .int(id), "method": .string(method), "handlerId": .string(handlerID), "data": data]
    case .accepted(let id, let data):
      ["id": .int(id), "accepted": true, "data": data]
    case .rejected(let id, let error, let reason):
      ["id": .int(id), "error": .string(error.rawValue), "reason": .string(reason)]
    case .notification(let handlerID, let event, let data):
      ["handlerId": .string(handlerID), "event": .string(event), "data": data]
    case .log(let text):
      ["log": .string(text)]
    }
  }

  /// One framed message.
  public var frame: [UInt8] { ChannelFraming.frame(json.serialized()) }

  public init(payload: [UInt8]) throws(ErizoError) {
    let json = try JSONValue(parsing: payload)
    guard case .object(let object) = json else {
      throw ErizoError(.malformedMessage, "channel message is not an object")
    }
    if let text = object["log"]?.stringValue {
      self = .log(text)
    } else if let id = object["id"]?.intValue, let method = object["method"]?.stringValue {
      self = .request(
        id: id, method: method, handlerID: object["handlerId"]?.stringValue ?? "", data: object["data"] ?? .null)
    } else if let id = object["id"]?.intValue, object["accepted"] == true {
      self = .accepted(id: id, data: object["data"] ?? .null)
    } else if let id = object["id"]?.intValue, let error = object["error"]?.stringValue {
      self = .rejected(
        id: id, error: ErrorKind(rawValue: error) ?? .error, reason: object["reason"]?.stringValue ?? "")
    } else if let event = object["event"]?.stringValue {
      self = .notification(
        handlerID: object["handlerId"]?.stringValue ?? "", event: event, data: object["data"] ?? .null)
    } else {
      throw ErizoError(.malformedMessage, "unknown channel message")
    }
  }
}
