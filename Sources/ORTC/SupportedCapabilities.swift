internal import ErizoCore

/// What the worker can route (mediasoup 3.14.16's `supportedRtpCapabilities`, spec §3.1). Routers are
/// built from a subset of these codecs; the header extension ids are fixed router-wide.
public enum SupportedCapabilities {
  static let videoFeedback = [
    RtcpFeedback("nack"), RtcpFeedback("nack", "pli"), RtcpFeedback("ccm", "fir"), RtcpFeedback("goog-remb"),
    RtcpFeedback("transport-cc"),
  ]
  static let opusFeedback = [RtcpFeedback("nack"), RtcpFeedback("transport-cc")]
  static let transportCC = [RtcpFeedback("transport-cc")]

  public static let rtpCapabilities = RtpCapabilities(codecs: codecs, headerExtensions: headerExtensions)

  static let codecs: [RtpCodecCapability] = {
    var codecs: [RtpCodecCapability] = [
      .init(kind: .audio, mimeType: "audio/opus", clockRate: 48000, channels: 2, rtcpFeedback: opusFeedback)
    ]
    for (channels, mapping, streams, coupled) in [
      (4, "0,1,2,3", 2, 2), (6, "0,4,1,2,3,5", 4, 2), (8, "0,6,1,2,3,4,5,7", 5, 3),
    ] {
      codecs.append(
        .init(
          kind: .audio, mimeType: "audio/multiopus", clockRate: 48000, channels: channels,
          parameters: [
            "channel_mapping": .string(mapping), "num_streams": .int(streams), "coupled_streams": .int(coupled),
          ],
          rtcpFeedback: opusFeedback))
    }
    codecs += [
      .init(
        kind: .audio, mimeType: "audio/PCMU", preferredPayloadType: 0, clockRate: 8000, channels: 1,
        rtcpFeedback: transportCC),
      .init(
        kind: .audio, mimeType: "audio/PCMA", preferredPayloadType: 8, clockRate: 8000, channels: 1,
        rtcpFeedback: transportCC),
      .init(kind: .audio, mimeType: "audio/ISAC", clockRate: 32000, channels: 1, rtcpFeedback: transportCC),
      .init(kind: .audio, mimeType: "audio/ISAC", clockRate: 16000, channels: 1, rtcpFeedback: transportCC),
      .init(
        kind: .audio, mimeType: "audio/G722", preferredPayloadType: 9, clockRate: 8000, channels: 1,
        rtcpFeedback: transportCC),
      .init(kind: .audio, mimeType: "audio/iLBC", clockRate: 8000, channels: 1, rtcpFeedback: transportCC),
    ]
    for rate in [24000, 16000, 12000, 8000] {
      codecs.append(
        .init(kind: .audio, mimeType: "audio/SILK", clockRate: rate, channels: 1, rtcpFeedback: transportCC))
    }
    for rate in [32000, 16000, 8000] {
      codecs.append(.init(kind: .audio, mimeType: "audio/CN", preferredPayloadType: 13, clockRate: rate, channels: 1))
    }
    for rate in [48000, 32000, 16000, 8000] {
      codecs.append(.init(kind: .audio, mimeType: "audio/telephone-event", clockRate: rate, channels: 1))
    }
    codecs += [
      .init(kind: .video, mimeType: "video/VP8", clockRate: 90000, rtcpFeedback: videoFeedback),
      .init(kind: .video, mimeType: "video/VP9", clockRate: 90000, rtcpFeedback: videoFeedback),
    ]
    for mime in ["video/H264", "video/H264-SVC", "video/H265"] {
      codecs.append(
        .init(
          kind: .video, mimeType: mime, clockRate: 90000, parameters: ["level-asymmetry-allowed": 1],
          rtcpFeedback: videoFeedback))
    }
    return codecs
  }()

  /// The fixed ids of spec §3.1, equal to the worker's internal extension numbering.
  static let headerExtensions: [RtpHeaderExtensionCapability] = [
    .init(.audio, "urn:ietf:params:rtp-hdrext:sdes:mid", id: 1),
    .init(.video, "urn:ietf:params:rtp-hdrext:sdes:mid", id: 1),
    .init(.video, "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id", id: 2, direction: .recvonly),
    .init(.video, "urn:ietf:params:rtp-hdrext:sdes:repaired-rtp-stream-id", id: 3, direction: .recvonly),
    .init(.audio, "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time", id: 4),
    .init(.video, "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time", id: 4),
    .init(
      .audio, "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01", id: 5,
      direction: .recvonly),
    .init(.video, "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01", id: 5),
    .init(.video, "http://tools.ietf.org/html/draft-ietf-avtext-framemarking-07", id: 6),
    .init(.video, "urn:ietf:params:rtp-hdrext:framemarking", id: 7),
    .init(.audio, "urn:ietf:params:rtp-hdrext:ssrc-audio-level", id: 10),
    .init(.video, "urn:3gpp:video-orientation", id: 11),
    .init(.video, "urn:ietf:params:rtp-hdrext:toffset", id: 12),
    .init(.audio, "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time", id: 13),
    .init(.video, "http://www.webrtc.org/experiments/rtp-hdrext/abs-capture-time", id: 13),
    .init(.audio, "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay", id: 14),
    .init(.video, "http://www.webrtc.org/experiments/rtp-hdrext/playout-delay", id: 14),
  ]
}
