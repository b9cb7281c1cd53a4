public import ErizoCore

/// A codec in `rtpParameters` (mediasoup's `RtpCodecParameters`).
public struct RtpCodecParameters: Sendable, Equatable {
  public var mimeType: String
  public var payloadType: Int
  public var clockRate: Int
  public var channels: Int?
  public var parameters: [String: JSONValue]
  public var rtcpFeedback: [RtcpFeedback]

  public init(
    mimeType: String, payloadType: Int, clockRate: Int, channels: Int? = nil, parameters: [String: JSONValue] = [:],
    rtcpFeedback: [RtcpFeedback] = []
  ) {
    self.mimeType = mimeType
    self.payloadType = payloadType
    self.clockRate = clockRate
    self.channels = channels
    self.parameters = parameters
    self.rtcpFeedback = rtcpFeedback
  }

  init(json: JSONValue) throws(ORTCError) {
    let fields = try CodecFields(json: json)
    guard case .int(let payloadType)? = json["payloadType"], (0...127).contains(payloadType) else {
      throw .typeError("missing or invalid codec.payloadType")
    }
    self.init(
      mimeType: fields.mimeType, payloadType: payloadType, clockRate: fields.clockRate, channels: fields.channels,
      parameters: fields.parameters, rtcpFeedback: fields.rtcpFeedback)
  }

  public var kind: MediaKind { RtpCodecCapability.kind(ofMimeType: mimeType) ?? .audio }
  public var isRTX: Bool { mimeType.lowercased().hasSuffix("/rtx") }

  /// The capability form, for matching.
  var capability: RtpCodecCapability {
    RtpCodecCapability(
      kind: kind, mimeType: mimeType, preferredPayloadType: payloadType, clockRate: clockRate, channels: channels,
      parameters: parameters, rtcpFeedback: rtcpFeedback)
  }

  public var json: JSONValue {
    var object: [String: JSONValue] = [
      "mimeType": .string(mimeType), "payloadType": .int(payloadType), "clockRate": .int(clockRate),
      "parameters": .object(parameters), "rtcpFeedback": .array(rtcpFeedback.map(\.json)),
    ]
    if let channels { object["channels"] = .int(channels) }
    return .object(object)
  }
}

/// `{uri, id, encrypt, parameters}`.
public struct RtpHeaderExtensionParameters: Sendable, Equatable {
  public var uri: String
  public var id: Int
  public var encrypt: Bool
  public var parameters: [String: JSONValue]

  public init(uri: String, id: Int, encrypt: Bool = false, parameters: [String: JSONValue] = [:]) {
    self.uri = uri
    self.id = id
    self.encrypt = encrypt
    self.parameters = parameters
  }

  init(json: JSONValue) throws(ORTCError) {
    guard let uri = json["uri"]?.stringValue, !uri.isEmpty else { throw .typeError("missing or empty ext.uri") }
    guard case .int(let id)? = json["id"], (1...255).contains(id) else { throw .typeError("missing or invalid ext.id") }
    var encrypt = false
    switch json["encrypt"] {
    case nil, .null?: break
    case .bool(let value)?: encrypt = value
    default: throw .typeError("invalid ext.encrypt")
    }
    self.init(uri: uri, id: id, encrypt: encrypt, parameters: try RtpCodecCapability.parameters(json["parameters"]))
  }

  public var json: JSONValue {
    ["uri": .string(uri), "id": .int(id), "encrypt": .bool(encrypt), "parameters": .object(parameters)]
  }
}

/// One encoding (stream) of a producer or consumer.
public struct RtpEncodingParameters: Sendable, Equatable {
  public var ssrc: UInt32?
  public var rid: String?
  public var codecPayloadType: Int?
  public var rtxSSRC: UInt32?
  public var dtx: Bool?
  public var scalabilityMode: String?
  public var maxBitrate: Int?

  public init(
    ssrc: UInt32? = nil, rid: String? = nil, codecPayloadType: Int? = nil, rtxSSRC: UInt32? = nil, dtx: Bool? = nil,
    scalabilityMode: String? = nil, maxBitrate: Int? = nil
  ) {
    self.ssrc = ssrc
    self.rid = rid
    self.codecPayloadType = codecPayloadType
    self.rtxSSRC = rtxSSRC
    self.dtx = dtx
    self.scalabilityMode = scalabilityMode
    self.maxBitrate = maxBitrate
  }

  init(json: JSONValue) throws(ORTCError) {
    guard case .object = json else { throw .typeError("encoding is not an object") }
    func ssrcValue(_ value: JSONValue?, _ name: String) throws(ORTCError) -> UInt32? {
      switch value {
      case nil, .null?: return nil
      case .int(let number)? where (0...Int(UInt32.max)).contains(number): return UInt32(number)
      default: throw .typeError("invalid \(name)")
      }
    }
    ssrc = try ssrcValue(json["ssrc"], "encoding.ssrc")
    rtxSSRC = try ssrcValue(json["rtx"]?["ssrc"], "encoding.rtx.ssrc")
    if let rtx = json["rtx"], rtx != .null, rtxSSRC == nil { throw .typeError("missing encoding.rtx.ssrc") }
    switch json["rid"] {
    case nil, .null?: rid = nil
    case .string(let value)?: rid = value
    default: throw .typeError("invalid encoding.rid")
    }
    switch json["codecPayloadType"] {
    case nil, .null?: codecPayloadType = nil
    case .int(let value)?: codecPayloadType = value
    default: throw .typeError("invalid encoding.codecPayloadType")
    }
    switch json["dtx"] {
    case nil, .null?: dtx = nil
    case .bool(let value)?: dtx = value
    default: throw .typeError("invalid encoding.dtx")
    }
    switch json["scalabilityMode"] {
    case nil, .null?: scalabilityMode = nil
    case .string(let value)?: scalabilityMode = value
    default: throw .typeError("invalid encoding.scalabilityMode")
    }
    switch json["maxBitrate"] {
    case nil, .null?: maxBitrate = nil
    case .int(let value)? where value >= 0: maxBitrate = value
    default: throw .typeError("invalid encoding.maxBitrate")
    }
  }

  public var json: JSONValue {
    var object: [String: JSONValue] = [:]
    if let ssrc { object["ssrc"] = .int(Int(ssrc)) }
    if let rid { object["rid"] = .string(rid) }
    if let codecPayloadType { object["codecPayloadType"] = .int(codecPayloadType) }
    if let rtxSSRC { object["rtx"] = ["ssrc": .int(Int(rtxSSRC))] }
    if let dtx { object["dtx"] = .bool(dtx) }
    if let scalabilityMode { object["scalabilityMode"] = .string(scalabilityMode) }
    if let maxBitrate { object["maxBitrate"] = .int(maxBitrate) }
    return .object(object)
  }
}

/// A producer's or consumer's `rtpParameters`, validated as mediasoup's `validateRtpParameters`.
public struct RtpParameters: Sendable, Equatable {
  public var mid: String?
  public var codecs: [RtpCodecParameters]
  public var headerExtensions: [RtpHeaderExtensionParameters]
  public var encodings: [RtpEncodingParameters]
  public var cname: String?
  public var reducedSize: Bool

  public init(
    mid: String? = nil, codecs: [RtpCodecParameters], headerExtensions: [RtpHeaderExtensionParameters] = [],
    encodings: [RtpEncodingParameters] = [], cname: String? = nil, reducedSize: Bool = true
  ) {
    self.mid = mid
    self.codecs = codecs
    self.headerExtensions = headerExtensions
    self.encodings = encodings
    self.cname = cname
    self.reducedSize = reducedSize
  }

  public init(json: JSONValue) throws(ORTCError) {
    guard case .object = json else { throw .typeError("rtpParameters is not an object") }
    switch json["mid"] {
    case nil, .null?: mid = nil
    case .string(let value)? where !value.isEmpty: mid = value
    default: throw .typeError("invalid params.mid")
    }
    guard case .array(let codecItems)? = json["codecs"] else { throw .typeError("missing params.codecs") }
    codecs = []
    for item in codecItems { codecs.append(try RtpCodecParameters(json: item)) }
    headerExtensions = []
    switch json["headerExtensions"] {
    case nil, .null?: break
    case .array(let items)?:
      for item in items { headerExtensions.append(try RtpHeaderExtensionParameters(json: item)) }
    default: throw .typeError("invalid params.headerExtensions")
    }
    encodings = []
    switch json["encodings"] {
    case nil, .null?: break
    case .array(let items)?:
      for item in items { encodings.append(try RtpEncodingParameters(json: item)) }
    default: throw .typeError("invalid params.encodings")
    }
    cname = json["rtcp"]?["cname"]?.stringValue
    reducedSize = json["rtcp"]?["reducedSize"]?.boolValue ?? true
    try validateStructure()
  }

  /// The worker's own checks (spec §3.4): unique payload types, RTX `apt` naming a media codec,
  /// `codecPayloadType` naming a media codec.
  func validateStructure() throws(ORTCError) {
    var seen = Set<Int>()
    for codec in codecs {
      guard seen.insert(codec.payloadType).inserted else { throw .typeError("duplicated codec.payloadType") }
    }
    for codec in codecs where codec.isRTX {
      guard let apt = codec.parameters["apt"]?.intValue,
        codecs.contains(where: { $0.payloadType == apt && !$0.isRTX })
      else { throw .typeError("RTX codec without a media codec for its apt [payloadType:\(codec.payloadType)]") }
    }
    for encoding in encodings {
      if let type = encoding.codecPayloadType, !codecs.contains(where: { $0.payloadType == type && !$0.isRTX }) {
        throw .typeError("unknown encoding.codecPayloadType \(type)")
      }
    }
  }

  public var json: JSONValue {
    var object: [String: JSONValue] = [
      "codecs": .array(codecs.map(\.json)), "headerExtensions": .array(headerExtensions.map(\.json)),
      "encodings": .array(encodings.map(\.json)),
    ]
    var rtcp: [String: JSONValue] = ["reducedSize": .bool(reducedSize)]
    if let cname { rtcp["cname"] = .string(cname) }
    object["rtcp"] = .object(rtcp)
    if let mid { object["mid"] = .string(mid) }
    return .object(object)
  }
}
