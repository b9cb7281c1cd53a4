public import ErizoCore

/// The router's RTP capabilities from the application's media codecs (mediasoup's
/// `generateRouterRtpCapabilities`, spec §3.2).
public enum RouterCapabilities {
  /// The dynamic payload types in the order they are handed out: 100…127, then 96…99.
  static let dynamicPayloadTypes = Array(100...127) + Array(96...99)

  public static func generate(mediaCodecs: [JSONValue]) throws(ORTCError) -> RtpCapabilities {
    var available = dynamicPayloadTypes
    var codecs: [RtpCodecCapability] = []
    for entry in mediaCodecs {
      let requested = try RtpCodecCapability(json: entry)
      guard
        var codec = SupportedCapabilities.codecs.first(where: { matches(requested, $0, strict: false) })
      else {
        throw .unsupported("media codec not supported [mimeType:\(requested.mimeType)]")
      }
      if let preferred = requested.preferredPayloadType {
        codec.preferredPayloadType = preferred
        available.removeAll { $0 == preferred }
      } else if codec.preferredPayloadType == nil {
        guard !available.isEmpty else { throw .error("cannot allocate more dynamic codec payload types") }
        codec.preferredPayloadType = available.removeFirst()
      }
      guard !codecs.contains(where: { $0.preferredPayloadType == codec.preferredPayloadType }) else {
        throw .typeError("duplicated codec.preferredPayloadType")
      }
      codec.parameters.merge(requested.parameters) { _, new in new }
      codecs.append(codec)
      if codec.kind == .video {
        guard !available.isEmpty else { throw .error("cannot allocate more dynamic codec payload types") }
        codecs.append(
          RtpCodecCapability(
            kind: .video, mimeType: "video/rtx", preferredPayloadType: available.removeFirst(),
            clockRate: codec.clockRate, parameters: ["apt": .int(codec.preferredPayloadType!)]))
      }
    }
    return RtpCapabilities(codecs: codecs, headerExtensions: SupportedCapabilities.headerExtensions)
  }

  /// mediasoup's `matchCodecs`: MIME type (case-insensitive), clock rate and channels; multiopus
  /// also its stream counts. The strict mode (H264 profiles, VP9 profile-id) is for producers and
  /// consumers and comes with them.
  static func matches(_ lhs: RtpCodecCapability, _ rhs: RtpCodecCapability, strict: Bool) -> Bool {
    let mime = lhs.mimeType.lowercased()
    guard mime == rhs.mimeType.lowercased(), lhs.clockRate == rhs.clockRate, lhs.channels == rhs.channels else {
      return false
    }
    if mime == "audio/multiopus" {
      for key in ["num_streams", "coupled_streams"] where lhs.parameters[key]?.intValue != rhs.parameters[key]?.intValue
      {
        return false
      }
    }
    return true
  }

  /// The reference deployment's router codecs (spec §10.2): Opus, VP8, VP9 profile 2, and H264 at
  /// profile-level-id 4d0032 and 42e01f.
  public static let defaultMediaCodecs: [JSONValue] = [
    ["kind": "audio", "mimeType": "audio/opus", "clockRate": 48000, "channels": 2],
    ["kind": "video", "mimeType": "video/VP8", "clockRate": 90000, "parameters": ["x-google-start-bitrate": 1000]],
    [
      "kind": "video", "mimeType": "video/VP9", "clockRate": 90000,
      "parameters": ["profile-id": 2, "x-google-start-bitrate": 1000],
    ],
    [
      "kind": "video", "mimeType": "video/h264", "clockRate": 90000,
      "parameters": [
        "packetization-mode": 1, "profile-level-id": "4d0032", "level-asymmetry-allowed": 1,
        "x-google-start-bitrate": 1000,
      ],
    ],
    [
      "kind": "video", "mimeType": "video/h264", "clockRate": 90000,
      "parameters": [
        "packetization-mode": 1, "profile-level-id": "42e01f", "level-asymmetry-allowed": 1,
        "x-google-start-bitrate": 1000,
      ],
    ],
  ]
}

/// A scalability mode string such as `L1T3` or `S3T3_KEY` (spec §3.3); 1/1 when it does not parse.
public struct ScalabilityMode: Sendable, Equatable {
  public var spatialLayers: Int
  public var temporalLayers: Int
  public var ksvc: Bool

  public init(_ text: String?) {
    (spatialLayers, temporalLayers, ksvc) = (1, 1, false)
    guard let text, let first = text.first, first == "L" || first == "S" else { return }
    var rest = Substring(text.dropFirst())
    func number() -> Int? {
      let digits = rest.prefix { $0.isASCII && $0.isNumber }
      guard (1...2).contains(digits.count), digits.first != "0", let value = Int(digits) else { return nil }
      rest = rest.dropFirst(digits.count)
      return value
    }
    guard let spatial = number(), rest.first == "T" else { return }
    rest = rest.dropFirst()
    guard let temporal = number() else { return }
    (spatialLayers, temporalLayers, ksvc) = (spatial, temporal, rest.hasPrefix("_KEY"))
  }
}
