import ErizoCore
import Foundation
import ORTC
import SDP
import Testing

/// Real offers (see Fixtures/README.md) through the parser, the transport checks, the producer and
/// consumer translations and the answer writer.
@Suite("SDP offers from real stacks and the answers to them")
struct WebRtcOfferTests {
  static let fixtures = [
    "chromium_publish", "chromium_simulcast", "chromium_play", "aiortc_publish", "aiortc_play",
    "firefox_audio_video", "obs_whip",
  ]

  static func fixture(_ name: String) throws -> String {
    let url = try #require(Bundle.module.url(forResource: name, withExtension: "sdp", subdirectory: "Fixtures"))
    return try String(contentsOf: url, encoding: .utf8)
  }

  static let router = try! RouterCapabilities.generate(mediaCodecs: RouterCapabilities.defaultMediaCodecs)

  static let local = try! LocalTransport(
    iceParameters: ["usernameFragment": "erizoufrag00000a", "password": "erizopassword0000000000000000000b"],
    iceCandidates: [
      [
        "foundation": "udpcandidate", "priority": 1_076_302_079, "ip": "127.0.0.1", "protocol": "udp", "port": 40000,
        "type": "host",
      ]
    ],
    dtlsParameters: [
      "fingerprints": [
        [
          "algorithm": "sha-256",
          "value": "AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89:AB:CD:EF:01:23:45:67:89",
        ]
      ]
    ],
    setup: "passive")

  @Test(arguments: fixtures)
  func everyFixtureParsesAndSurvivesARoundTrip(name: String) throws {
    let text = try Self.fixture(name)
    let parsed = try SessionDescription(parsing: text)
    #expect(parsed.media.count >= 2)
    let again = try SessionDescription(parsing: parsed.text)
    #expect(again == parsed)
    let offer = try WebRtcOffer(parsing: text)
    #expect(offer.bundled == Array(parsed.media.indices))
    #expect(offer.transport.fingerprints.first?.algorithm == "sha-256")
    #expect(offer.rtpSections.count == 2)
  }

  @Test func chromiumPublisherBecomesOpusAndVP8Producers() throws {
    let offer = try WebRtcOffer(parsing: try Self.fixture("chromium_publish"))
    #expect(offer.transport.iceUsernameFragment.count >= 4)
    #expect(offer.transport.setup == "actpass")
    #expect(offer.transport.answerSetup == "passive")
    #expect(offer.transport.dtlsParameters["role"] == "client")

    let audio = try offer.producerParameters(of: 0, router: Self.router)
    #expect(audio.mid == "0")
    #expect(audio.codecs.map(\.mimeType) == ["audio/opus"])
    #expect(audio.codecs[0].payloadType == 111)
    #expect(audio.codecs[0].parameters["useinbandfec"] == 1)
    #expect(audio.codecs[0].rtcpFeedback == [RtcpFeedback("transport-cc")])  // the worker sends its feedback
    #expect(audio.encodings.count == 1 && audio.encodings[0].ssrc != nil)
    #expect(audio.cname?.isEmpty == false)
    #expect(audio.headerExtensions.contains { $0.uri.contains("transport-wide-cc") && $0.id == 3 })
    #expect(audio.headerExtensions.contains { $0.uri == "urn:ietf:params:rtp-hdrext:sdes:mid" && $0.id == 4 })

    let video = try offer.producerParameters(of: 1, router: Self.router)
    #expect(video.codecs.map(\.mimeType) == ["video/VP8", "video/rtx"])
    #expect(video.codecs.map(\.payloadType) == [96, 97] && video.codecs[1].parameters["apt"] == 96)
    #expect(
      video.codecs[0].rtcpFeedback.map { "\($0.type) \($0.parameter)" } == [
        "transport-cc ", "ccm fir", "nack ", "nack pli",
      ])
    #expect(video.encodings[0].ssrc == 783_952_455 && video.encodings[0].rtxSSRC == 2_682_151_250, "the FID group")
    #expect(video.reducedSize)
  }

  @Test func chromiumSimulcastOfferIsReadAndFallsBackToTheMid() throws {
    let offer = try WebRtcOffer(parsing: try Self.fixture("chromium_simulcast"))
    let section = offer.description.media[1]
    #expect(try section.simulcastSendStreams() == ["q", "h", "f"])
    #expect(try section.rids().map(\.id) == ["q", "h", "f"])
    #expect(try section.rids().allSatisfy { $0.direction == "send" })
    let video = try offer.producerParameters(of: 1, router: Self.router)
    // No a=ssrc in a simulcast offer: the producer is found by its mid.
    #expect(video.encodings == [RtpEncodingParameters()])
    #expect(video.mid == "1")
  }

  @Test func firefoxSendRecvOfferTakesItsFirstCodecs() throws {
    let offer = try WebRtcOffer(parsing: try Self.fixture("firefox_audio_video"))
    #expect(offer.description.media[0].direction == .sendrecv)
    let audio = try offer.producerParameters(of: 0, router: Self.router)
    #expect(audio.codecs[0].payloadType == 109)
    #expect(audio.codecs[0].parameters["stereo"] == 1)
    let video = try offer.producerParameters(of: 1, router: Self.router)
    #expect(video.codecs[0].mimeType == "video/VP8" && video.codecs[0].payloadType == 120)
    #expect(video.encodings[0].ssrc == 7_463_831)  // the FID group's first, not its RTX
    // The recvonly playout-delay extension is not something Firefox would send.
    #expect(!video.headerExtensions.contains { $0.uri.contains("playout-delay") })
  }

  @Test func obsOffersUpperCaseOpusAndH264() throws {
    let offer = try WebRtcOffer(parsing: try Self.fixture("obs_whip"))
    #expect(offer.transport.iceUsernameFragment == "v3f/")
    let audio = try offer.producerParameters(of: 0, router: Self.router)
    #expect(audio.codecs[0].mimeType == "audio/OPUS")
    let video = try offer.producerParameters(of: 1, router: Self.router)
    #expect(video.codecs[0].mimeType == "video/H264")
    #expect(video.codecs[0].parameters["packetization-mode"] == 1)
    #expect(video.encodings[0].ssrc == 2_168_349_680)
  }

  @Test func aiortcPublisherAnswerIsICELiteBundleRecvOnly() throws {
    let offer = try WebRtcOffer(parsing: try Self.fixture("aiortc_publish"))
    #expect(offer.transport.fingerprints.map(\.algorithm) == ["sha-256", "sha-384", "sha-512"])
    let audio = try offer.producerParameters(of: 0, router: Self.router)
    let video = try offer.producerParameters(of: 1, router: Self.router)
    #expect(audio.codecs[0].payloadType == 96 && video.codecs[0].payloadType == 97)
    let answer = offer.answer(
      transport: Self.local, media: [0: .receive(audio), 1: .receive(video)], sessionID: 42)
    let text = answer.text
    let reparsed = try SessionDescription(parsing: text)
    #expect(reparsed.has("ice-lite"))
    #expect(reparsed.values("group") == ["BUNDLE 0 1"])
    #expect(reparsed.media.map(\.formats) == [["96"], ["97", "98"]])
    #expect(reparsed.media.allSatisfy { $0.direction == .recvonly && $0.port == 40000 })
    #expect(reparsed.media[1].values("rtpmap") == ["97 VP8/90000", "98 rtx/90000"])
    #expect(reparsed.media[1].values("fmtp").contains("98 apt=97"))
    #expect(reparsed.media[0].values("rtpmap") == ["96 opus/48000/2"])
    #expect(reparsed.media[0].first("setup") == "passive")
    #expect(reparsed.media[0].values("candidate") == ["udpcandidate 1 udp 1076302079 127.0.0.1 40000 typ host"])
    #expect(text.hasSuffix("\r\n") && !text.contains("\n\n"))
  }

  @Test func playOffersGetConsumersAtTheirOwnPayloadTypes() throws {
    for name in ["chromium_play", "aiortc_play"] {
      let offer = try WebRtcOffer(parsing: try Self.fixture(name))
      let capabilities = try offer.receiveCapabilities()
      // A VP8 producer published with PT 96 as Chromium would.
      var producer = RtpParameters(
        mid: "1", codecs: [RtpCodecParameters(mimeType: "video/VP8", payloadType: 96, clockRate: 90000)],
        encodings: [RtpEncodingParameters(ssrc: 1234)], cname: "cname1")
      let mapping = try Self.router.producerMapping(for: &producer)
      let consumable = Self.router.consumableParameters(kind: .video, producer: producer, mapping: mapping)
      #expect(capabilities.canConsume(consumable))
      let consumer = try capabilities.consumerParameters(consumable: consumable, enableRTX: false, ssrc: 5555)
      let offeredVP8 = try #require(
        try offer.codecs(of: 1).first { $0.mimeType.lowercased() == "video/vp8" }?.preferredPayloadType)
      #expect(consumer.codecs.map(\.payloadType) == [offeredVP8], "\(name)")
      let answer = offer.answer(
        transport: Self.local, media: [1: .send(consumer, streamID: "peer", trackID: "track")], sessionID: 7)
      let video = answer.media[1]
      #expect(video.direction == .sendonly)
      #expect(video.formats == [String(offeredVP8)])
      #expect(video.values("ssrc") == ["5555 cname:cname1", "5555 msid:peer track"])
      #expect(video.first("msid") == "peer track")
      // The audio section got nothing: declined, out of the BUNDLE group.
      #expect(answer.media[0].port == 0 && answer.media[0].direction == .inactive)
      #expect(answer.values("group") == ["BUNDLE 1"])
    }
  }

  @Test func rtxIsPairedWithTheRemotesOwnTypes() throws {
    let offer = try WebRtcOffer(parsing: try Self.fixture("chromium_play"))
    let capabilities = try offer.receiveCapabilities()
    var producer = RtpParameters(
      codecs: [RtpCodecParameters(mimeType: "video/VP8", payloadType: 96, clockRate: 90000)],
      encodings: [RtpEncodingParameters(ssrc: 1234)])
    let mapping = try Self.router.producerMapping(for: &producer)
    let consumable = Self.router.consumableParameters(kind: .video, producer: producer, mapping: mapping)
    let consumer = try capabilities.consumerParameters(consumable: consumable, enableRTX: true, ssrc: 100)
    let offered = try offer.codecs(of: 1)
    let vp8 = try #require(offered.first { $0.mimeType == "video/VP8" }?.preferredPayloadType)
    let rtx = try #require(offered.first { $0.isRTX && $0.parameters["apt"]?.intValue == vp8 }?.preferredPayloadType)
    #expect(consumer.codecs.map(\.payloadType) == [vp8, rtx])
    #expect(consumer.codecs[1].parameters["apt"]?.intValue == vp8)
    #expect(consumer.encodings[0].rtxSSRC == 101)
  }

  @Test(
    arguments: [
      ("", "missing v="),
      ("v=1\r\n", "must be v=0"),
      ("v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=-\r\nt=0 0\r\nx=what\r\n", "unexpected x= line"),
      ("v=0\r\no=- 1 IN IP4\r\n", "o= needs six fields"),
      ("v=0\r\nm=audio 9 UDP/TLS/RTP/SAVPF 111\r\n", "m= before"),
      ("v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=-\r\nt=0 0\r\nm=audio x UDP 1\r\n", "m= needs"),
      ("v=0\r\no=- 1 1 IN IP4 1.1.1.1\r\ns=-\r\nt=0 0\r\na=\u{1}x\r\n", "control character"),
      ("hello", "not a <type>=<value> line"),
    ])
  func malformedTextIsRefusedWithItsLine(text: String, reason: String) {
    #expect {
      _ = try SessionDescription(parsing: text)
    } throws: { error in
      (error as? SdpError)?.description.contains(reason) == true
    }
  }

  @Test func oversizedOffersAreRefused() {
    let text = "v=0\r\n" + String(repeating: "a=x\r\n", count: 30_000)
    #expect(throws: SdpError.self) { _ = try SessionDescription(parsing: text) }
  }

  /// Edits of a real offer that each break one rule, with the reason the client reads.
  @Test(
    arguments: [
      ("a=fingerprint:", "a=x-fingerprint:", "missing a=fingerprint"),
      ("a=ice-ufrag:", "a=x-ufrag:", "missing a=ice-ufrag"),
      ("a=group:BUNDLE 0 1", "a=group:LS 0 1", "must BUNDLE"),
      ("a=group:BUNDLE 0 1", "a=group:BUNDLE 0 7", "unknown mid"),
      ("a=group:BUNDLE 0 1", "a=group:BUNDLE 0", "every media section"),
      ("a=setup:actpass", "a=setup:sideways", "a=setup:sideways"),
      ("a=rtcp-mux\n", "a=rtcp-muxed\n", "needs a=rtcp-mux"),
      ("a=mid:1", "a=mid:0", "appears twice"),
      ("a=fingerprint:sha-256 82:06", "a=fingerprint:md5 82:06", "unsupported hash"),
    ])
  func brokenTransportsAreRefused(find: String, replace: String, reason: String) throws {
    let text = try Self.fixture("obs_whip").replacingOccurrences(of: find, with: replace)
    #expect {
      _ = try WebRtcOffer(parsing: text)
    } throws: { error in
      (error as? SdpError)?.description.contains(reason) == true
    }
  }

  @Test func codecsTheRoomDoesNotTakeAreRefused() throws {
    // Chromium's audio section without Opus: G722, PCMU, PCMA… none is a router codec.
    let text = try Self.fixture("chromium_publish").replacingOccurrences(
      of: "m=audio 9 UDP/TLS/RTP/SAVPF 111 63 ", with: "m=audio 9 UDP/TLS/RTP/SAVPF ")
    let offer = try WebRtcOffer(parsing: text)
    #expect {
      _ = try offer.producerParameters(of: 0, router: Self.router)
    } throws: { error in
      (error as? SdpError)?.description.contains("offers no codec this room takes") == true
    }
    #expect(throws: SdpError.self) {
      _ = try WebRtcOffer(parsing: try Self.fixture("chromium_play")).producerParameters(of: 1, router: Self.router)
    }
  }

  @Test func brokenAttributeLinesAreReported() throws {
    let base = try Self.fixture("aiortc_publish")
    let badRtpmap = try WebRtcOffer(
      parsing: base.replacingOccurrences(of: "a=rtpmap:97 VP8/90000", with: "a=rtpmap:97 VP8"))
    #expect(throws: SdpError.self) { _ = try badRtpmap.codecs(of: 1) }
    let badExtmap = try WebRtcOffer(
      parsing: base.replacingOccurrences(of: "a=extmap:3 http", with: "a=extmap:300 http"))
    #expect(throws: SdpError.self) { _ = try badExtmap.producerParameters(of: 1, router: Self.router) }
    let badSsrc = try WebRtcOffer(parsing: base.replacingOccurrences(of: "a=ssrc:3371263531", with: "a=ssrc:-4"))
    #expect(throws: SdpError.self) { _ = try badSsrc.producerParameters(of: 0, router: Self.router) }
  }
}
