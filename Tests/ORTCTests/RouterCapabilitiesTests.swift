import ErizoCore
import Testing

@testable import ORTC

@Suite("Router RTP capabilities (generateRouterRtpCapabilities)")
struct RouterCapabilitiesTests {
  @Test func referenceCodecsGetDynamicTypesAndRTX() throws {
    let capabilities = try RouterCapabilities.generate(mediaCodecs: RouterCapabilities.defaultMediaCodecs)
    let summary = capabilities.codecs.map { "\($0.mimeType)/\($0.preferredPayloadType!)" }
    #expect(
      summary == [
        "audio/opus/100", "video/VP8/101", "video/rtx/102", "video/VP9/103", "video/rtx/104", "video/H264/105",
        "video/rtx/106", "video/H264/107", "video/rtx/108",
      ])
    let opus = capabilities.codecs[0]
    #expect(opus.channels == 2)
    #expect(opus.rtcpFeedback == [RtcpFeedback("nack"), RtcpFeedback("transport-cc")])
    // The supported codec's parameters, overlaid by the application's; its feedback, not the app's.
    let h264 = capabilities.codecs[5]
    #expect(h264.parameters["profile-level-id"] == "4d0032")
    #expect(h264.parameters["level-asymmetry-allowed"] == 1)
    #expect(h264.parameters["packetization-mode"] == 1)
    #expect(h264.rtcpFeedback.count == 5)
    #expect(h264.channels == nil)
    #expect(capabilities.codecs[2].parameters == ["apt": 101])
    #expect(capabilities.codecs[2].rtcpFeedback.isEmpty)
    #expect(capabilities.headerExtensions.count == 17)
    #expect(capabilities.headerExtensions.first { $0.uri.hasSuffix("ssrc-audio-level") }?.preferredId == 10)
  }

  @Test func staticAndPreferredPayloadTypes() throws {
    let capabilities = try RouterCapabilities.generate(mediaCodecs: [
      ["mimeType": "audio/PCMU", "clockRate": 8000],
      ["mimeType": "video/VP8", "clockRate": 90000, "preferredPayloadType": 96],
      ["mimeType": "audio/opus", "clockRate": 48000, "channels": 2],
    ])
    #expect(capabilities.codecs.map(\.preferredPayloadType) == [0, 96, 100, 101])
    #expect(capabilities.codecs.map(\.kind) == [.audio, .video, .video, .audio])
  }

  @Test func refusals() {
    #expect(throws: ORTCError.unsupported("media codec not supported [mimeType:audio/opus]")) {
      // Opus is stereo in the supported list; a mono Opus does not match.
      try RouterCapabilities.generate(mediaCodecs: [["mimeType": "audio/opus", "clockRate": 48000]])
    }
    #expect(throws: ORTCError.unsupported("media codec not supported [mimeType:video/AV1]")) {
      try RouterCapabilities.generate(mediaCodecs: [["mimeType": "video/AV1", "clockRate": 90000]])
    }
    #expect(throws: ORTCError.typeError("duplicated codec.preferredPayloadType")) {
      try RouterCapabilities.generate(mediaCodecs: [
        ["mimeType": "video/VP8", "clockRate": 90000, "preferredPayloadType": 101],
        ["mimeType": "video/VP9", "clockRate": 90000, "preferredPayloadType": 101],
      ])
    }
    #expect(throws: ORTCError.typeError("missing or invalid codec.mimeType")) {
      try RouterCapabilities.generate(mediaCodecs: [["mimeType": "opus", "clockRate": 48000]])
    }
    #expect(throws: ORTCError.typeError("missing or invalid codec.clockRate")) {
      try RouterCapabilities.generate(mediaCodecs: [["mimeType": "audio/opus", "clockRate": "48000"]])
    }
    #expect(throws: ORTCError.typeError("invalid codec apt parameter")) {
      try RouterCapabilities.generate(mediaCodecs: [
        ["mimeType": "video/VP8", "clockRate": 90000, "parameters": ["apt": "x"]]
      ])
    }
    #expect(throws: ORTCError.typeError("codec is not an object")) {
      try RouterCapabilities.generate(mediaCodecs: ["video/VP8"])
    }
  }

  @Test func runningOutOfDynamicPayloadTypes() {
    // 32 dynamic types: 16 video codecs take them all with their RTX; the 17th has none left.
    let many = Array(repeating: ["mimeType": "video/VP8", "clockRate": 90000] as JSONValue, count: 17)
    #expect(throws: ORTCError.error("cannot allocate more dynamic codec payload types")) {
      try RouterCapabilities.generate(mediaCodecs: many)
    }
  }

  @Test func multiopusMatchesItsStreamCounts() throws {
    let six: JSONValue = [
      "mimeType": "audio/multiopus", "clockRate": 48000, "channels": 6,
      "parameters": ["channel_mapping": "0,4,1,2,3,5", "num_streams": 4, "coupled_streams": 2],
    ]
    #expect(try RouterCapabilities.generate(mediaCodecs: [six]).codecs.first?.channels == 6)
    let wrong: JSONValue = [
      "mimeType": "audio/multiopus", "clockRate": 48000, "channels": 6, "parameters": ["num_streams": 3],
    ]
    #expect(throws: ORTCError.self) { try RouterCapabilities.generate(mediaCodecs: [wrong]) }
  }

  @Test func jsonUsesMediasoupFieldNames() throws {
    let capabilities = try RouterCapabilities.generate(mediaCodecs: [
      ["mimeType": "audio/opus", "clockRate": 48000, "channels": 2]
    ])
    #expect(
      capabilities.json["codecs"]?.arrayValue?.first == [
        "kind": "audio", "mimeType": "audio/opus", "preferredPayloadType": 100, "clockRate": 48000, "channels": 2,
        "parameters": [:],
        "rtcpFeedback": [["type": "nack", "parameter": ""], ["type": "transport-cc", "parameter": ""]],
      ])
    #expect(
      capabilities.json["headerExtensions"]?.arrayValue?.first == [
        "kind": "audio", "uri": "urn:ietf:params:rtp-hdrext:sdes:mid", "preferredId": 1, "preferredEncrypt": false,
        "direction": "sendrecv",
      ])
  }

  @Test(arguments: [
    ("L1T3", 1, 3, false), ("S3T3", 3, 3, false), ("L3T3_KEY", 3, 3, true), ("L12T2", 12, 2, false),
    ("L0T1", 1, 1, false), ("X1T1", 1, 1, false), ("L1", 1, 1, false), ("L123T1", 1, 1, false),
  ])
  func scalabilityModes(text: String, spatial: Int, temporal: Int, ksvc: Bool) {
    let mode = ScalabilityMode(text)
    #expect(mode.spatialLayers == spatial)
    #expect(mode.temporalLayers == temporal)
    #expect(mode.ksvc == ksvc)
  }
}
