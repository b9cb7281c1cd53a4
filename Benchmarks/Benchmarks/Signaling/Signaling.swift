import Benchmark
import ErizoCore
import Foundation
import Nuve
import SDP
import SocketIO

/// The control plane's per-message work, each with its allocations: a browser's offer through the
/// SDP module (WHIP/WHEP), a Socket.IO request and event on the wire, the MAuth check of every
/// Nuve request, and the token Nuve hands out (docs/BENCHMARKS.md).
let benchmarks: @Sendable () -> Void = {
  // 1 000 operations per sample (see MediaPath): the scaled metrics (*) read per operation.
  Benchmark.defaultConfiguration = .init(
    metrics: [.cpuTotal, .wallClock, .throughput, .mallocCountTotal], scalingFactor: .kilo,
    maxDuration: .milliseconds(500), maxIterations: 100_000)

  // A Chromium 156 offer (audio + video, recorded for the SDP tests).
  let fixture = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("../../../Tests/SDPTests/Fixtures/chromium_publish.sdp")
  guard let offer = try? String(contentsOf: fixture, encoding: .utf8) else {
    fatalError("no SDP fixture at \(fixture)")
  }
  Benchmark("SDP: parse and check a Chromium offer (\(offer.utf8.count) B)") { benchmark in
    for _ in benchmark.scaledIterations { blackHole(try? WebRtcOffer(parsing: offer)) }
  }

  // Socket.IO: a client's `produce` request (Engine.IO message, event with ack) decoded, and the
  // `newConsumer` event the controller sends encoded.
  let produce =
    #"420["produce",{"data":{"transportId":"b4c4f3c1-6d1c-4a53-a1c4-0c6a3f1e9d20","kind":"video","#
    + #""rtpParameters":{"mid":"1","codecs":[{"mimeType":"video/VP8","payloadType":96,"clockRate":90000,"#
    + #""rtcpFeedback":[{"type":"nack"},{"type":"nack","parameter":"pli"},{"type":"ccm","parameter":"fir"}]}],"#
    + #""headerExtensions":[{"uri":"urn:ietf:params:rtp-hdrext:sdes:mid","id":4}],"#
    + #""encodings":[{"ssrc":1434560473}],"rtcp":{"cname":"f1dbb4b9","reducedSize":true}},"appData":{}}}]"#
  Benchmark("Socket.IO: decode a produce request (\(produce.utf8.count) B)") { benchmark in
    for _ in benchmark.scaledIterations {
      guard let message = EngineIOPacket(decoding: produce), message.kind == .message else { fatalError("engine.io") }
      blackHole(try? SocketIOPacket(decoding: message.data).eventNameAndArguments)
    }
  }
  let newConsumer: JSONValue = [
    "peerId": "5f7d9a1e-1b2c-4d3e-8f90-a1b2c3d4e5f6", "producerId": "0c6a3f1e-9d20-4b4c-a1c4-f3c16d1c4a53",
    "id": "a1c40c6a-3f1e-4d20-b4c4-f3c16d1c4a53", "kind": "video",
    "rtpParameters": [
      "mid": "0",
      "codecs": [
        ["mimeType": "video/VP8", "payloadType": 101, "clockRate": 90000, "rtcpFeedback": [["type": "nack"]]]
      ],
      "encodings": [["ssrc": 384_021_337]], "rtcp": ["cname": "f1dbb4b9", "reducedSize": true],
    ],
    "type": "simple", "appData": [:], "producerPaused": false,
  ]
  Benchmark("Socket.IO: encode a newConsumer event") { benchmark in
    for index in benchmark.scaledIterations {
      let packet = SocketIOPacket.event("newConsumer", [newConsumer], ackID: index)
      blackHole(EngineIOPacket(.message, packet.encoded).encoded)
    }
  }

  // MAuth: the CPU part of checking a Nuve request (parse the header, HMAC-SHA1, constant-time
  // compare); the service lookup and the cnonce record are store round trips, not measured here.
  let key = "superservice-key-0123456789"
  let header = Crypto.mauthHeader(
    serviceID: "5f3c1a2b4d6e8f0a1b2c3d4e", key: key, timestamp: 1_764_000_000_000, cnonce: 123_456,
    user: ("alice", "presenter"))
  Benchmark("MAuth: verify a request header") { benchmark in
    for _ in benchmark.scaledIterations {
      let parsed = MAuthHeader(parsing: header)
      guard let signed = parsed.signedText, let signature = parsed.signature else { fatalError("mauth") }
      let expected = Crypto.referenceSignature(key: key, message: signed)
      blackHole(Crypto.constantTimeEqual(Array(expected.utf8), Array(signature.utf8)))
    }
  }

  // Tokens: sign and encode the token a client gets (HMAC-SHA1, compact JSON, base64).
  Benchmark("Nuve token: sign and encode") { benchmark in
    for _ in benchmark.scaledIterations {
      let token = NuveToken(
        tokenID: "5f3c1a2b4d6e8f0a1b2c3d4f", host: "127.0.0.1:8080", secure: false, eapolicy: nil,
        superserviceKey: key)
      blackHole(token.encoded)
    }
  }
}
