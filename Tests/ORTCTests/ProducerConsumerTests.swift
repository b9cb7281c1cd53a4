import ErizoCore
import Testing

@testable import ORTC

@Suite("Producer mapping, consumable and consumer parameters (spec §3.3–3.4)")
struct ProducerConsumerTests {
  static let router = try! RouterCapabilities.generate(mediaCodecs: RouterCapabilities.defaultMediaCodecs)
  static let transportCC = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"

  /// A VP8 producer as mediasoup-client sends it from Chrome, with RTX and three simulcast streams.
  static let vp8Producer: JSONValue = [
    "mid": "1",
    "codecs": [
      [
        "mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000,
        "rtcpFeedback": [["type": "nack"], ["type": "nack", "parameter": "pli"], ["type": "transport-cc"]],
      ],
      ["mimeType": "video/rtx", "payloadType": 97, "clockRate": 90000, "parameters": ["apt": 96]],
    ],
    "headerExtensions": [
      ["uri": "urn:ietf:params:rtp-hdrext:sdes:mid", "id": 4],
      ["uri": .string(transportCC), "id": 3],
    ],
    "encodings": [
      ["rid": "r0", "scalabilityMode": "L1T3", "maxBitrate": 100_000],
      ["rid": "r1", "scalabilityMode": "L1T3", "maxBitrate": 300_000],
      ["rid": "r2", "scalabilityMode": "L1T3", "maxBitrate": 900_000],
    ],
    "rtcp": ["cname": "Ab12"],
  ]

  @Test func vp8ProducerMapsToTheRouterTypesAndFreshSSRCs() throws {
    var parameters = try RtpParameters(json: Self.vp8Producer)
    let mapping = try Self.router.producerMapping(for: &parameters, firstMappedSSRC: 500_000_000)
    #expect(
      mapping.codecs == [
        .init(payloadType: 96, mappedPayloadType: 101), .init(payloadType: 97, mappedPayloadType: 102),
      ])
    #expect(mapping.encodings.map(\.mappedSSRC) == [500_000_000, 500_000_001, 500_000_002])
    #expect(mapping.encodings.map(\.rid) == ["r0", "r1", "r2"])

    let consumable = Self.router.consumableParameters(kind: .video, producer: parameters, mapping: mapping)
    #expect(consumable.codecs.map(\.payloadType) == [101, 102])
    #expect(consumable.codecs[0].rtcpFeedback.count == 5, "the router's feedback, not the producer's")
    #expect(consumable.codecs[1].parameters == ["apt": 101])
    #expect(consumable.encodings.map(\.ssrc) == [500_000_000, 500_000_001, 500_000_002])
    #expect(consumable.encodings.allSatisfy { $0.rid == nil && $0.rtxSSRC == nil })
    #expect(consumable.cname == "Ab12")
    // Video extensions the router sends: not rtp-stream-id / repaired-rtp-stream-id (recvonly).
    #expect(consumable.headerExtensions.map(\.id) == [1, 4, 5, 6, 7, 11, 12, 13, 14])
  }

  @Test func consumerOfASimulcastProducer() throws {
    var parameters = try RtpParameters(json: Self.vp8Producer)
    let mapping = try Self.router.producerMapping(for: &parameters)
    let consumable = Self.router.consumableParameters(kind: .video, producer: parameters, mapping: mapping)
    // mediasoup-client hands the router's own capabilities back as the device's.
    let remote = Self.router
    #expect(remote.canConsume(consumable))
    let consumer = try remote.consumerParameters(consumable: consumable, ssrc: 777)
    #expect(consumer.codecs.map(\.payloadType) == [101, 102])
    #expect(!consumer.codecs[0].rtcpFeedback.contains(RtcpFeedback("goog-remb")), "transport-cc wins over REMB")
    #expect(consumer.codecs[0].rtcpFeedback.contains(RtcpFeedback("transport-cc")))
    #expect(
      consumer.encodings == [
        RtpEncodingParameters(ssrc: 777, rtxSSRC: 778, scalabilityMode: "L3T3", maxBitrate: 900_000)
      ])

    // Without RTX: no RTX codec, and plain NACK goes with it (NACK PLI stays).
    let plain = try remote.consumerParameters(consumable: consumable, enableRTX: false, ssrc: 10)
    #expect(plain.codecs.map(\.payloadType) == [101])
    #expect(!plain.codecs[0].rtcpFeedback.contains(RtcpFeedback("nack")))
    #expect(plain.codecs[0].rtcpFeedback.contains(RtcpFeedback("nack", "pli")))
    #expect(plain.encodings.first?.rtxSSRC == nil)
  }

  @Test func remoteCapabilitiesDecideWhatCanBeConsumed() throws {
    var parameters = try RtpParameters(json: Self.vp8Producer)
    let mapping = try Self.router.producerMapping(for: &parameters)
    let consumable = Self.router.consumableParameters(kind: .video, producer: parameters, mapping: mapping)
    let audioOnly = try RouterCapabilities.generate(mediaCodecs: [
      ["mimeType": "audio/opus", "clockRate": 48000, "channels": 2]
    ])
    #expect(!audioOnly.canConsume(consumable))
    #expect(throws: ORTCError.unsupported("no compatible media codecs")) {
      try audioOnly.consumerParameters(consumable: consumable)
    }
    // Same codec, but extensions at other ids are dropped, and without transport-cc or abs-send-time
    // both congestion feedbacks go.
    var moved = Self.router
    moved.headerExtensions = moved.headerExtensions.map {
      var ext = $0; ext.preferredId += 20; return ext
    }
    let consumer = try moved.consumerParameters(consumable: consumable)
    #expect(consumer.headerExtensions.isEmpty)
    #expect(!consumer.codecs[0].rtcpFeedback.contains { $0.type == "transport-cc" || $0.type == "goog-remb" })
  }

  @Test func h264ProfilesMustMatch() throws {
    func producer(_ profileLevelID: String, mode: Int = 1) throws -> RtpParameters {
      try RtpParameters(json: [
        "codecs": [
          [
            "mimeType": "video/H264", "payloadType": 125, "clockRate": 90000,
            "parameters": [
              "packetization-mode": .int(mode), "profile-level-id": .string(profileLevelID),
              "level-asymmetry-allowed": 1,
            ],
          ]
        ],
        "encodings": [["ssrc": 1234]],
      ])
    }
    // Constrained Baseline goes to the 42e01f router codec (107), Main to 4d0032 (105); with level
    // asymmetry on both sides the answer keeps the producer's level.
    var baseline = try producer("42e01f")
    #expect(try Self.router.producerMapping(for: &baseline).codecs.first?.mappedPayloadType == 107)
    var main = try producer("4d001f")
    #expect(try Self.router.producerMapping(for: &main).codecs.first?.mappedPayloadType == 105)
    #expect(main.codecs[0].parameters["profile-level-id"] == "4d001f")
    var high = try producer("640c1f")  // Constrained High: not in the router
    #expect(throws: ORTCError.unsupported("unsupported codec [mimeType:video/H264, payloadType:125]")) {
      try Self.router.producerMapping(for: &high)
    }
    var modeZero = try producer("42e01f", mode: 0)
    #expect(throws: ORTCError.self) { try Self.router.producerMapping(for: &modeZero) }
  }

  @Test func profileLevelIDParsingAndAnswer() throws {
    #expect(H264ProfileLevelID("42e01f") == .init(profile: .constrainedBaseline, level: .idc(31)))
    #expect(H264ProfileLevelID("4d0032") == .init(profile: .main, level: .idc(50)))
    #expect(H264ProfileLevelID("42f00b") == .init(profile: .constrainedBaseline, level: .level1b))
    #expect(H264ProfileLevelID("640c1f")?.profile == .constrainedHigh)
    #expect(H264ProfileLevelID("f4001f")?.profile == .predictiveHigh444)
    #expect(H264ProfileLevelID("zzzzzz") == nil)
    #expect(H264ProfileLevelID("42e0ff") == nil, "unknown level")
    let local: [String: JSONValue] = ["profile-level-id": "42e01f", "level-asymmetry-allowed": 1]
    let remote: [String: JSONValue] = ["profile-level-id": "42e00a", "level-asymmetry-allowed": 1]
    #expect(try H264ProfileLevelID.answer(local: local, remote: remote) == "42e01f")
    #expect(try H264ProfileLevelID.answer(local: ["profile-level-id": "42e01f"], remote: remote) == "42e00a")
    #expect(try H264ProfileLevelID.answer(local: [:], remote: [:]) == nil)
    #expect(throws: ORTCError.typeError("H264 profile mismatch")) {
      try H264ProfileLevelID.answer(local: ["profile-level-id": "4d001f"], remote: remote)
    }
    #expect(H264ProfileLevelID(profile: .main, level: .level1b).text == "4d100b")
  }

  @Test func badProducerParametersAreTypeErrors() {
    let bad: [(JSONValue, ORTCError)] = [
      (["codecs": "x"], .typeError("missing params.codecs")),
      (
        ["codecs": [["mimeType": "video/VP8", "clockRate": 90000]]], .typeError("missing or invalid codec.payloadType")
      ),
      (
        [
          "codecs": [
            ["mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000],
            ["mimeType": "video/VP9", "payloadType": 96, "clockRate": 90000],
          ]
        ], .typeError("duplicated codec.payloadType")
      ),
      (
        ["codecs": [["mimeType": "video/rtx", "payloadType": 97, "clockRate": 90000, "parameters": ["apt": 96]]]],
        .typeError("RTX codec without a media codec for its apt [payloadType:97]")
      ),
      (
        [
          "codecs": [["mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000]],
          "encodings": [["ssrc": -1]],
        ], .typeError("invalid encoding.ssrc")
      ),
      (
        [
          "codecs": [["mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000]],
          "headerExtensions": [["uri": "urn:x", "id": 0]],
        ], .typeError("missing or invalid ext.id")
      ),
      (["mid": "", "codecs": []], .typeError("invalid params.mid")),
      ("text", .typeError("rtpParameters is not an object")),
    ]
    for (json, error) in bad {
      #expect(throws: error) { try RtpParameters(json: json) }
    }
  }

  @Test func parametersRoundTripThroughJSON() throws {
    let parameters = try RtpParameters(json: Self.vp8Producer)
    #expect(try RtpParameters(json: parameters.json) == parameters)
  }
}
