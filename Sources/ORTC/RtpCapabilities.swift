public import ErizoCore

/// The errors of the ORTC rules, named as mediasoup names them on its channel and in its API.
public enum ORTCError: Error, Sendable, Equatable {
  /// A value has the wrong type or shape (mediasoup's `TypeError`).
  case typeError(String)
  /// Well formed, but not supported (mediasoup's `UnsupportedError`).
  case unsupported(String)
  /// Any other failure, such as running out of dynamic payload types (mediasoup's `Error`).
  case error(String)

  public var message: String {
    switch self {
    case .typeError(let text), .unsupported(let text), .error(let text): text
    }
  }
}

public enum MediaKind: String, Sendable, Equatable {
  case audio, video
}

/// `{type, parameter}`, `parameter` empty when absent.
public struct RtcpFeedback: Sendable, Equatable {
  public var type: String
  public var parameter: String

  public init(_ type: String, _ parameter: String = "") {
    self.type = type
    self.parameter = parameter
  }

  public var json: JSONValue { ["type": .string(type), "parameter": .string(parameter)] }

  init(json: JSONValue) throws(ORTCError) {
    guard let type = json["type"]?.stringValue, !type.isEmpty else {
      throw .typeError("missing fb.type")
    }
    switch json["parameter"] {
    case nil, .null?: parameter = ""
    case .string(let value)?: parameter = value
    default: throw .typeError("invalid fb.parameter")
    }
    self.type = type
  }
}

/// A codec as routers and endpoints announce it (mediasoup's `RtpCodecCapability`).
public struct RtpCodecCapability: Sendable, Equatable {
  public var kind: MediaKind
  public var mimeType: String
  public var preferredPayloadType: Int?
  public var clockRate: Int
  /// Audio only: 1 unless given.
  public var channels: Int?
  /// Values are strings or numbers.
  public var parameters: [String: JSONValue]
  public var rtcpFeedback: [RtcpFeedback]

  public init(
    kind: MediaKind, mimeType: String, preferredPayloadType: Int? = nil, clockRate: Int, channels: Int? = nil,
    parameters: [String: JSONValue] = [:], rtcpFeedback: [RtcpFeedback] = []
  ) {
    self.kind = kind
    self.mimeType = mimeType
    self.preferredPayloadType = preferredPayloadType
    self.clockRate = clockRate
    self.channels = channels
    self.parameters = parameters
    self.rtcpFeedback = rtcpFeedback
  }

  /// Validates and normalises a codec as mediasoup's `validateRtpCodecCapability` does: the kind
  /// comes from the MIME type, audio channels default to 1, video has none, `apt` must be a number.
  public init(json: JSONValue) throws(ORTCError) {
    let fields = try CodecFields(json: json)
    var preferredPayloadType: Int?
    switch json["preferredPayloadType"] {
    case nil, .null?: break
    case .int(let value)? where (0...127).contains(value): preferredPayloadType = value
    default: throw .typeError("invalid codec.preferredPayloadType")
    }
    self.init(
      kind: fields.kind, mimeType: fields.mimeType, preferredPayloadType: preferredPayloadType,
      clockRate: fields.clockRate, channels: fields.channels, parameters: fields.parameters,
      rtcpFeedback: fields.rtcpFeedback)
  }

  static func kind(ofMimeType mimeType: String) -> MediaKind? {
    let parts = mimeType.split(separator: "/", maxSplits: 1)
    guard parts.count == 2, !parts[1].isEmpty else { return nil }
    return MediaKind(rawValue: parts[0].lowercased())
  }

  static func parameters(_ value: JSONValue?) throws(ORTCError) -> [String: JSONValue] {
    switch value {
    case nil, .null?: return [:]
    case .object(let object)?:
      var result: [String: JSONValue] = [:]
      for (key, value) in object {
        switch value {
        case .null: continue
        case .string, .int, .double:
          if key == "apt", value.intValue == nil { throw .typeError("invalid codec apt parameter") }
          result[key] = value
        default: throw .typeError("invalid codec parameter [key:\(key)]")
        }
      }
      return result
    default: throw .typeError("invalid codec.parameters")
    }
  }

  public var isRTX: Bool { mimeType.lowercased().hasSuffix("/rtx") }

  public var json: JSONValue {
    var object: [String: JSONValue] = [
      "kind": .string(kind.rawValue), "mimeType": .string(mimeType), "clockRate": .int(clockRate),
      "parameters": .object(parameters), "rtcpFeedback": .array(rtcpFeedback.map(\.json)),
    ]
    if let preferredPayloadType { object["preferredPayloadType"] = .int(preferredPayloadType) }
    if let channels { object["channels"] = .int(channels) }
    return .object(object)
  }
}

/// The fields codec capabilities and codec parameters share, validated and normalised as
/// mediasoup does: the kind from the MIME type, audio channels 1 unless given, none for video.
struct CodecFields {
  let kind: MediaKind
  let mimeType: String
  let clockRate: Int
  let channels: Int?
  let parameters: [String: JSONValue]
  let rtcpFeedback: [RtcpFeedback]

  init(json: JSONValue) throws(ORTCError) {
    guard case .object = json else { throw .typeError("codec is not an object") }
    guard let mimeType = json["mimeType"]?.stringValue, let kind = RtpCodecCapability.kind(ofMimeType: mimeType) else {
      throw .typeError("missing or invalid codec.mimeType")
    }
    guard case .int(let clockRate)? = json["clockRate"], clockRate > 0 else {
      throw .typeError("missing or invalid codec.clockRate")
    }
    var channels: Int?
    if kind == .audio {
      switch json["channels"] {
      case nil, .null?: channels = 1
      case .int(let value)? where value > 0: channels = value
      default: throw .typeError("invalid codec.channels")
      }
    }
    var feedback: [RtcpFeedback] = []
    switch json["rtcpFeedback"] {
    case nil, .null?: break
    case .array(let items)?:
      for item in items { feedback.append(try RtcpFeedback(json: item)) }
    default: throw .typeError("invalid codec.rtcpFeedback")
    }
    self.kind = kind
    self.mimeType = mimeType
    self.clockRate = clockRate
    self.channels = channels
    self.parameters = try RtpCodecCapability.parameters(json["parameters"])
    self.rtcpFeedback = feedback
  }
}

/// A header extension a router or endpoint supports, at a fixed id.
public struct RtpHeaderExtensionCapability: Sendable, Equatable {
  public enum Direction: String, Sendable { case sendrecv, sendonly, recvonly, inactive }

  public var kind: MediaKind
  public var uri: String
  public var preferredId: Int
  public var preferredEncrypt: Bool
  public var direction: Direction

  public init(
    _ kind: MediaKind, _ uri: String, id: Int, direction: Direction = .sendrecv, encrypt: Bool = false
  ) {
    self.kind = kind
    self.uri = uri
    self.preferredId = id
    self.preferredEncrypt = encrypt
    self.direction = direction
  }

  public var json: JSONValue {
    [
      "kind": .string(kind.rawValue), "uri": .string(uri), "preferredId": .int(preferredId),
      "preferredEncrypt": .bool(preferredEncrypt), "direction": .string(direction.rawValue),
    ]
  }
}

/// `{codecs, headerExtensions}`.
public struct RtpCapabilities: Sendable, Equatable {
  public var codecs: [RtpCodecCapability]
  public var headerExtensions: [RtpHeaderExtensionCapability]

  public init(codecs: [RtpCodecCapability], headerExtensions: [RtpHeaderExtensionCapability]) {
    self.codecs = codecs
    self.headerExtensions = headerExtensions
  }

  /// A remote endpoint's capabilities (the `rtpCapabilities` of `join`), validated as mediasoup's
  /// `validateRtpCapabilities` does: every codec well formed; extensions need kind, uri and id.
  public init(json: JSONValue) throws(ORTCError) {
    guard case .object = json else { throw .typeError("rtpCapabilities is not an object") }
    codecs = []
    switch json["codecs"] {
    case nil, .null?: break
    case .array(let items)?:
      for item in items { codecs.append(try RtpCodecCapability(json: item)) }
    default: throw .typeError("invalid rtpCapabilities.codecs")
    }
    headerExtensions = []
    switch json["headerExtensions"] {
    case nil, .null?: break
    case .array(let items)?:
      for item in items {
        guard let uri = item["uri"]?.stringValue, !uri.isEmpty, let id = item["preferredId"]?.intValue,
          let kind = item["kind"]?.stringValue.flatMap(MediaKind.init(rawValue:))
        else { throw .typeError("invalid rtpCapabilities.headerExtensions entry") }
        let direction = item["direction"]?.stringValue.flatMap(RtpHeaderExtensionCapability.Direction.init(rawValue:))
        headerExtensions.append(
          RtpHeaderExtensionCapability(
            kind, uri, id: id, direction: direction ?? .sendrecv, encrypt: item["preferredEncrypt"] == true))
      }
    default: throw .typeError("invalid rtpCapabilities.headerExtensions")
    }
  }

  public var json: JSONValue {
    ["codecs": .array(codecs.map(\.json)), "headerExtensions": .array(headerExtensions.map(\.json))]
  }
}
