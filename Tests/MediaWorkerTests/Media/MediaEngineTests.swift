import ErizoCore
import ErizoTesting
import Testing

@testable import MediaWorker

@Suite("media engine: publisher → worker → subscriber in memory")
struct MediaEngineTests {
  static func vp8(seq: UInt16, key: Bool, ssrc: UInt32 = 1111) -> [UInt8] {
    [
      0x80, 96, UInt8(seq >> 8), UInt8(seq & 0xFF), 0, 0, 0x10, 0, UInt8(ssrc >> 24), UInt8(ssrc >> 16 & 0xFF),
      UInt8(ssrc >> 8 & 0xFF), UInt8(ssrc & 0xFF), 0x10, key ? 0x9c : 0x9d, 0x01, 0x2a, 0xAA, 0xBB,
    ]
  }

  struct Setup {
    let sockets = MemorySockets()
    let engine: MediaEngine
    var core: WorkerCore
    let publisher: LoopbackPeer
    let subscriber: LoopbackPeer
    var nextID = 1

    /// - Parameters:
    ///   - singlePort: both transports on one shared socket (a WebRtcServer).
    ///   - tcp: the peers reach their transports over passive ICE-TCP: each over a connection the
    ///     transport's (or the server's) listener accepted.
    init(singlePort: Bool = false, tcp: Bool = false) throws {
      engine = try MediaEngine(sockets: sockets, settings: WorkerSettings())
      core = WorkerCore(settings: WorkerSettings(), engine: engine)
      let context = try DtlsContext()
      let proto: JSONValue = tcp ? "tcp" : "udp"
      _ = core.handle(.request(id: 1, method: "worker.createRouter", handlerID: "", data: ["routerId": "r"]))
      if singlePort {
        let server = core.handle(
          .request(
            id: 90, method: "worker.createWebRtcServer", handlerID: "",
            data: ["webRtcServerId": "s", "listenInfos": [["protocol": proto, "ip": "127.0.0.1", "port": 40000]]]))
        #expect(server == [.accepted(id: 90, data: .null)])
      }
      var peers: [LoopbackPeer] = []
      for (index, name) in ["send", "recv"].enumerated() {
        var options: JSONValue = [
          "transportId": .string(name), "listenInfos": [["protocol": proto, "ip": "127.0.0.1"]],
          "enableUdp": .bool(!tcp), "enableTcp": .bool(tcp),
        ]
        if singlePort {
          options = [
            "transportId": .string(name), "webRtcServerId": "s", "enableUdp": .bool(!tcp), "enableTcp": .bool(tcp),
          ]
        }
        let reply = core.handle(
          .request(id: 2 + index, method: "router.createWebRtcTransport", handlerID: "r", data: options))
        guard case .accepted(_, let dump) = reply.first else { throw ConformanceError("\(reply)") }
        var socket = engine.transports[name]!.endpoints[0].socket
        let port = UInt16(5000 + index)
        if tcp {
          let listener = socket
          socket = 700 + index
          #expect(engine.tcpAccepted(connection: socket, listener: listener, from: .ipv4([127, 0, 0, 1], port: port)))
        }
        let peer = try LoopbackPeer(port: port, socket: socket, transportID: name, context: context)
        let connected = core.handle(
          .request(
            id: 10 + index, method: "transport.connect", handlerID: name, data: ["dtlsParameters": peer.dtlsParameters])
        )
        #expect(connected == [.accepted(id: 10 + index, data: ["dtlsLocalRole": "server"])])
        try peer.connect(engine, sockets, transport: dump)
        peers.append(peer)
      }
      publisher = peers[0]
      subscriber = peers[1]
    }

    /// Producer `p` on "send" (SSRC 1111, publisher PT 96 mapped to `mappedPayloadType`) and its
    /// consumer `c` on "recv" (SSRC 2222, plus `rtx` when given); extra consumer codecs after the
    /// media codec.
    mutating func produceAndConsume(
      kind: String, mimeType: String, clockRate: Int, mappedPayloadType: Int, extraCodecs: [JSONValue] = [],
      rtx: JSONValue? = nil
    ) {
      _ = request(
        "transport.produce", "send",
        [
          "producerId": "p", "kind": .string(kind),
          "rtpParameters": [
            "codecs": [["mimeType": .string(mimeType), "payloadType": 96, "clockRate": .int(clockRate)]],
            "encodings": [["ssrc": 1111]],
          ],
          "rtpMapping": ["codecs": [["payloadType": 96, "mappedPayloadType": .int(mappedPayloadType)]]],
        ])
      var encoding: JSONValue = ["ssrc": 2222]
      if let rtx { encoding = ["ssrc": 2222, "rtx": rtx] }
      let media: JSONValue = [
        "mimeType": .string(mimeType), "payloadType": .int(mappedPayloadType), "clockRate": .int(clockRate),
      ]
      _ = request(
        "transport.consume", "recv",
        [
          "consumerId": "c", "producerId": "p", "kind": .string(kind), "type": "simple",
          "rtpParameters": ["codecs": .array([media] + extraCodecs), "encodings": [encoding]],
        ])
    }

    /// An Opus producer `mic` on "send" (SSRC 3333) whose packets carry ssrc-audio-level at id 1,
    /// for the RtpObserver tests.
    mutating func produceMicrophone() -> ChannelMessage? {
      request(
        "transport.produce", "send",
        [
          "producerId": "mic", "kind": "audio",
          "rtpParameters": [
            "codecs": [["mimeType": "audio/opus", "payloadType": 111, "clockRate": 48000, "channels": 2]],
            "encodings": [["ssrc": 3333]],
            "headerExtensions": [["uri": .string(AudioLevelObserver.levelURI), "id": 1]],
          ],
          "rtpMapping": [
            "codecs": [["payloadType": 111, "mappedPayloadType": 100]], "encodings": [["mappedSsrc": 1]],
          ],
        ])
    }

    /// A packet of `produceMicrophone`'s stream: Opus with a one-byte extension, id 1, the voice
    /// flag and `level` (−dBov).
    static func microphonePacket(seq: UInt16, level: UInt8) -> [UInt8] {
      [0x90, 111, 0, UInt8(seq), 0, 0, 0, 0, 0, 0, 0x0D, 0x05, 0xBE, 0xDE, 0, 1, 0x10, 0x80 | level, 0, 0, 0xF8, 0xFF]
    }

    mutating func request(_ method: String, _ handler: String, _ data: JSONValue = [:]) -> ChannelMessage? {
      nextID += 1
      return core.handle(.request(id: 100 + nextID, method: method, handlerID: handler, data: data)).first
    }
  }

  struct ConformanceError: Error, CustomStringConvertible {
    let description: String
    init(_ description: String) { self.description = description }
  }

  @Test(arguments: [(false, false), (true, false), (false, true), (true, true)])
  func forwardsRewritesPausesAndAsksForKeyFrames(singlePort: Bool, tcp: Bool) throws {
    var setup = try Setup(singlePort: singlePort, tcp: tcp)
    if singlePort {
      #expect(
        setup.engine.transports["send"]?.endpoints.map(\.socket)
          == setup.engine.transports["recv"]?.endpoints.map(\.socket), "one socket")
      if tcp {
        #expect(
          setup.engine.tcpConnections.values.compactMap(\.transport?.id).sorted() == ["recv", "send"],
          "each connection found its transport")
      } else {
        #expect(setup.engine.servers["s"]?.transportsByRemote.count == 2, "each peer's address found its transport")
      }
    }
    if tcp {
      let tuple = setup.engine.transports["send"]?.ice.selectedTuple
      #expect(tuple?.proto == .tcp && tuple?.localSocket == setup.publisher.socket, "the connection is the tuple")
    }
    let (engine, sockets, publisher, subscriber) = (setup.engine, setup.sockets, setup.publisher, setup.subscriber)
    let states = engine.outbox.compactMap { message -> String? in
      guard case .notification(let handler, let event, let data) = message else { return nil }
      return "\(handler) \(event) \(data["iceState"]?.stringValue ?? data["dtlsState"]?.stringValue ?? "")"
    }
    #expect(states.contains("send icestatechange completed") && states.contains("recv dtlsstatechange connected"))

    let produce = setup.request(
      "transport.produce", "send",
      [
        "producerId": "p", "kind": "video",
        "rtpParameters": [
          "codecs": [["mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000]],
          "encodings": [["ssrc": 1111]], "headerExtensions": [], "mid": "0",
        ],
        "rtpMapping": [
          "codecs": [["payloadType": 96, "mappedPayloadType": 101]], "encodings": [["ssrc": 1111, "mappedSsrc": 5555]],
        ],
      ])
    #expect(produce == .accepted(id: 102, data: ["type": "simple"]))
    let consume = setup.request(
      "transport.consume", "recv",
      [
        "consumerId": "c", "producerId": "p", "kind": "video", "type": "simple",
        "rtpParameters": [
          "codecs": [["mimeType": "video/VP8", "payloadType": 101, "clockRate": 90000]],
          "encodings": [["ssrc": 2222]],
          "headerExtensions": [["uri": "urn:ietf:params:rtp-hdrext:sdes:mid", "id": 1]], "mid": "7",
          "rtcp": ["cname": "peer"],
        ],
      ])
    guard case .accepted(_, let consumed)? = consume else { throw ConformanceError("\(String(describing: consume))") }
    #expect(consumed["paused"] == false && consumed["producerPaused"] == false)
    // The consumer waits for a key frame and asks the publisher for one at once.
    let pli = publisher.received(sockets).rtcp
    #expect(pli.count == 1 && pli.first?.prefix(2) == [0x81, 206], "a PLI goes to the publisher")

    try publisher.sendRtp(Self.vp8(seq: 10, key: false), to: engine)
    #expect(subscriber.received(sockets).rtp.isEmpty, "no inter frame before the first key frame")
    for seq in UInt16(11)...13 { try publisher.sendRtp(Self.vp8(seq: seq, key: seq == 11), to: engine) }
    let forwarded = subscriber.received(sockets).rtp.compactMap { packet in
      packet.withUnsafeBytes { RtpPacket.parse($0) }
    }
    #expect(forwarded.count == 3)
    #expect(forwarded.allSatisfy { $0.ssrc == 2222 && $0.payloadType == 101 })
    let first = try #require(forwarded.first?.sequenceNumber)
    #expect(forwarded.map(\.sequenceNumber) == [first, first &+ 1, first &+ 2])
    #expect((1000...32767).contains(first), "a random start")
    #expect(sockets.sentSockets[subscriber.address] == subscriber.socket, "sent on the subscriber's own path")

    // Pause the producer: nothing flows, the consumer is told; resume waits for a key frame again.
    #expect(setup.request("producer.pause", "p") != nil)
    #expect(engine.outbox.contains(.notification(handlerID: "c", event: "producerpause", data: .null)))
    try publisher.sendRtp(Self.vp8(seq: 14, key: true), to: engine)
    #expect(subscriber.received(sockets).rtp.isEmpty)
    _ = setup.request("producer.resume", "p")
    #expect(publisher.received(sockets).rtcp.count == 1, "resume asks for a key frame")
    try publisher.sendRtp(Self.vp8(seq: 15, key: false), to: engine)
    try publisher.sendRtp(Self.vp8(seq: 16, key: true), to: engine)
    let resumed = subscriber.received(sockets).rtp.compactMap { packet in packet.withUnsafeBytes { RtpPacket.parse($0) }
    }
    #expect(resumed.map(\.sequenceNumber) == [first &+ 3], "continuous after the pause, from the key frame")

    // A subscriber's PLI reaches the publisher (throttled: the resume's PLI was less than 1 s ago).
    var subscriberPli: [UInt8] = []
    Rtcp.appendPictureLossIndication(to: &subscriberPli, sender: 9, media: 2222)
    try subscriber.sendRtcp(subscriberPli, to: engine)
    #expect(publisher.received(sockets).rtcp.isEmpty, "throttled to one per second")
    #expect(setup.request("consumer.requestKeyFrame", "c") != nil)
    #expect(publisher.received(sockets).rtcp.count == 1, "an explicit request is not throttled")

    // Sender reports for the consumer once a second.
    engine.tick(now: .now + .seconds(2))
    let reports = subscriber.received(sockets).rtcp
    let types = reports.first.map { report in report.withUnsafeBytes { Rtcp.packets($0)?.map(\.type) } } ?? nil
    #expect(types == [200, 202])

    // Closing the producer closes the consumer and tells it.
    engine.outbox.removeAll()
    _ = setup.request("producer.close", "p")
    #expect(engine.outbox == [.notification(handlerID: "c", event: "producerclose", data: .null)])
    #expect(engine.consumers.isEmpty && engine.producers.isEmpty)
  }

  /// Loss measured both ways: the producer's score from the publisher's stream and sender reports,
  /// a receiver report back to the publisher, and the consumer's score from the subscriber's reports.
  @Test func scoresFollowLossBothWays() throws {
    var setup = try Setup()
    let (engine, sockets, publisher, subscriber) = (setup.engine, setup.sockets, setup.publisher, setup.subscriber)
    setup.produceAndConsume(kind: "audio", mimeType: "audio/opus", clockRate: 48000, mappedPayloadType: 100)
    engine.outbox.removeAll()
    // 100 packets with every fifth missing (the first one too): 80 of 99 expected arrive.
    for seq in UInt16(0)..<100 where seq % 5 != 0 { try publisher.sendRtp(Self.vp8(seq: seq, key: false), to: engine) }
    #expect(subscriber.received(sockets).rtp.count == 80)
    let first: [ChannelMessage] = [
      .notification(handlerID: "p", event: "score", data: [["encodingIdx": 0, "ssrc": 1111, "score": 10]]),
      .notification(handlerID: "c", event: "score", data: ["score": 10, "producerScore": 10, "producerScores": [10]]),
    ]
    #expect(engine.outbox == first, "the new stream is announced with score 10")
    engine.outbox.removeAll()

    // The publisher's sender report closes the interval: ((80 − 19) / 80)^4 → 3.
    var report: [UInt8] = []
    Rtcp.appendSenderReport(
      to: &report, ssrc: 1111, ntp: 0x1234_5678_9ABC_DEF0, rtpTimestamp: 0, packets: 80, octets: 0)
    try publisher.sendRtcp(report, to: engine)
    #expect(
      engine.outbox == [
        .notification(handlerID: "p", event: "score", data: [["encodingIdx": 0, "ssrc": 1111, "score": 3]]),
        .notification(handlerID: "c", event: "score", data: ["score": 10, "producerScore": 3, "producerScores": [3]]),
      ])
    engine.outbox.removeAll()

    // The worker's next RTCP round carries a receiver report about the publisher's stream.
    engine.tick(now: .now + .milliseconds(1100))
    #expect(engine.outbox.isEmpty)
    let toPublisher = try #require(publisher.received(sockets).rtcp.first)
    let block = try toPublisher.withUnsafeBytes { bytes -> Rtcp.ReportBlock? in
      let rr = try #require(Rtcp.packets(bytes)?.first { $0.type == 201 })
      return Rtcp.reportBlocks(bytes, rr).first
    }
    #expect(block?.ssrc == 1111 && block?.totalLost == 19 && block?.highestSequence == 99)
    #expect(block?.fractionLost == UInt8(19 * 256 / 99) && block?.lastSenderReport == 0x5678_9ABC)

    // The subscriber reports 20 of the 80 packets it was sent as lost: ((60 − 20) / 60)^4 → 2.
    var receiverReport: [UInt8] = []
    Rtcp.appendReceiverReport(
      to: &receiverReport, ssrc: 77, blocks: [Rtcp.ReportBlock(ssrc: 2222, fractionLost: 64, totalLost: 20)])
    try subscriber.sendRtcp(receiverReport, to: engine)
    #expect(
      engine.outbox == [
        .notification(handlerID: "c", event: "score", data: ["score": 2, "producerScore": 3, "producerScores": [3]])
      ])
    let stats = setup.request("consumer.getStats", "c")
    guard case .accepted(_, let consumerStats)? = stats else { throw ConformanceError("\(String(describing: stats))") }
    let entry = consumerStats.arrayValue?.first
    #expect(entry?["score"] == 2 && entry?["packetsLost"] == 20)

    // Silence for 1.5 s: the producer's stream is inactive and its score drops to 0.
    engine.outbox.removeAll()
    engine.tick(now: .now + .seconds(2))
    #expect(
      engine.outbox == [
        .notification(handlerID: "p", event: "score", data: [["encodingIdx": 0, "ssrc": 1111, "score": 0]]),
        .notification(handlerID: "c", event: "score", data: ["score": 2, "producerScore": 0, "producerScores": [0]]),
      ])
  }

  /// A subscriber's NACK: the packets go again from the producer's cache, on the RTX stream it
  /// negotiated, with the original sequence number first; not twice within one round trip.
  @Test func nackedPacketsGoAgainAsRtx() throws {
    var setup = try Setup()
    let (engine, sockets, publisher, subscriber) = (setup.engine, setup.sockets, setup.publisher, setup.subscriber)
    setup.produceAndConsume(
      kind: "video", mimeType: "video/VP8", clockRate: 90000, mappedPayloadType: 101,
      extraCodecs: [["mimeType": "video/rtx", "payloadType": 102, "clockRate": 90000, "parameters": ["apt": 101]]],
      rtx: ["ssrc": 3333])
    _ = publisher.received(sockets)
    for seq in UInt16(10)...13 { try publisher.sendRtp(Self.vp8(seq: seq, key: seq == 10), to: engine) }
    let forwarded = subscriber.received(sockets).rtp.compactMap { packet in
      packet.withUnsafeBytes { RtpPacket.parse($0) }
    }
    #expect(forwarded.count == 4)
    let first = try #require(forwarded.first?.sequenceNumber)

    // NACK for first+1 and first+2 (PID and the first bit of the mask).
    let pid = first &+ 1
    let nack: [UInt8] = [0x81, 205, 0, 3, 0, 0, 0, 9, 0, 0, 0x08, 0xAE, UInt8(pid >> 8), UInt8(pid & 0xFF), 0, 1]
    try subscriber.sendRtcp(nack, to: engine)
    let resent = subscriber.received(sockets).rtp.compactMap { packet in
      packet.withUnsafeBytes { bytes -> (RtpPacket, [UInt8])? in
        guard let rtp = RtpPacket.parse(bytes) else { return nil }
        return (rtp, Array(bytes[rtp.payloadRange]))
      }
    }
    #expect(resent.map(\.0.ssrc) == [3333, 3333] && resent.map(\.0.payloadType) == [102, 102])
    #expect(resent.map { UInt16($0.1[0]) << 8 | UInt16($0.1[1]) } == [first &+ 1, first &+ 2], "the OSNs")
    #expect(resent[1].0.sequenceNumber == resent[0].0.sequenceNumber &+ 1, "the RTX stream's own sequence")
    #expect(resent.allSatisfy { Array($0.1.dropFirst(2)) == [0x10, 0x9d, 0x01, 0x2a, 0xAA, 0xBB] }, "the payload")

    // The same NACK at once: nothing (within one round trip); stats count both NACKs.
    try subscriber.sendRtcp(nack, to: engine)
    #expect(subscriber.received(sockets).rtp.isEmpty)
    let stats = setup.request("consumer.getStats", "c")
    guard case .accepted(_, let consumerStats)? = stats else { throw ConformanceError("\(String(describing: stats))") }
    let entry = consumerStats.arrayValue?.first
    #expect(entry?["nackCount"] == 2 && entry?["nackPacketCount"] == 4 && entry?["packetsRetransmitted"] == 2)
  }

  /// Gaps in a publisher's stream: a generic NACK goes to the publisher on the timer, its RTX
  /// packet is unwrapped and forwarded as the packet it repairs, a second copy is discarded, and
  /// the next NACK lists only what is still missing.
  @Test func gapsAreNackedToThePublisherAndRepairedByItsRtx() throws {
    var setup = try Setup()
    let (engine, sockets, publisher, subscriber) = (setup.engine, setup.sockets, setup.publisher, setup.subscriber)
    let feedback: JSONValue = [["type": "nack"], ["type": "nack", "parameter": "pli"]]
    _ = setup.request(
      "transport.produce", "send",
      [
        "producerId": "p", "kind": "video",
        "rtpParameters": [
          "codecs": [
            ["mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000, "rtcpFeedback": feedback],
            ["mimeType": "video/rtx", "payloadType": 97, "clockRate": 90000, "parameters": ["apt": 96]],
          ],
          "encodings": [["ssrc": 1111, "rtx": ["ssrc": 1112]]],
        ],
        "rtpMapping": ["codecs": [["payloadType": 96, "mappedPayloadType": 101]]],
      ])
    _ = setup.request(
      "transport.consume", "recv",
      [
        "consumerId": "c", "producerId": "p", "kind": "video", "type": "simple",
        "rtpParameters": [
          "codecs": [["mimeType": "video/VP8", "payloadType": 101, "clockRate": 90000]], "encodings": [["ssrc": 2222]],
        ],
      ])
    _ = publisher.received(sockets)
    for seq: UInt16 in [10, 11, 14] { try publisher.sendRtp(Self.vp8(seq: seq, key: seq == 10), to: engine) }
    let forwarded = subscriber.received(sockets).rtp.compactMap { packet in
      packet.withUnsafeBytes { RtpPacket.parse($0)?.sequenceNumber }
    }
    #expect(forwarded.count == 3)
    let first = try #require(forwarded.first)

    func nacked(_ packets: [[UInt8]]) -> [UInt16] {
      packets.flatMap { packet in
        packet.withUnsafeBytes { bytes in
          (Rtcp.packets(bytes) ?? []).filter { $0.type == 205 && $0.count == 1 }.flatMap { header in
            Rtcp.feedbackSSRCs(bytes, header)?.media == 1111 ? Rtcp.nackedSequenceNumbers(bytes, header) : []
          }
        }
      }
    }
    #expect(nacked(publisher.received(sockets).rtcp).isEmpty, "nothing before the timer")
    engine.tick(now: .now + .milliseconds(60))
    #expect(nacked(publisher.received(sockets).rtcp) == [12, 13])

    // The publisher resends 12 on its RTX stream: the subscriber gets it as the packet it was.
    func retransmission(_ rtxSequence: UInt16) -> [UInt8] {
      var rtx = Self.vp8(seq: 12, key: false) + [0, 0]
      let length = rtx.withUnsafeMutableBytes {
        wrapRtx($0, length: $0.count - 2, payloadType: 97, ssrc: 1112, sequenceNumber: rtxSequence)
      }
      return Array(rtx[..<(length ?? 0)])
    }
    try publisher.sendRtp(retransmission(500), to: engine)
    let repaired = subscriber.received(sockets).rtp.compactMap { packet in
      packet.withUnsafeBytes { bytes -> (RtpPacket, [UInt8])? in
        guard let rtp = RtpPacket.parse(bytes) else { return nil }
        return (rtp, Array(bytes[rtp.payloadRange]))
      }
    }
    #expect(repaired.count == 1)
    #expect(repaired.first?.0.ssrc == 2222 && repaired.first?.0.payloadType == 101)
    #expect(repaired.first?.0.sequenceNumber == first &+ 2, "in its place between 11 and 14")
    #expect(repaired.first?.1 == Array(Self.vp8(seq: 12, key: false)[12...]), "the original payload")

    // A second retransmission of the same packet is discarded.
    try publisher.sendRtp(retransmission(501), to: engine)
    #expect(subscriber.received(sockets).rtp.isEmpty)

    engine.tick(now: .now + .milliseconds(200))
    #expect(nacked(publisher.received(sockets).rtcp) == [13], "only what is still missing, one round trip later")
    let stats = setup.request("producer.getStats", "p")
    guard case .accepted(_, let producerStats)? = stats else { throw ConformanceError("\(String(describing: stats))") }
    let entry = producerStats.arrayValue?.first
    #expect(entry?["rtxSsrc"] == 1112 && entry?["nackCount"] == 2 && entry?["nackPacketCount"] == 3)
    #expect(entry?["packetsRetransmitted"] == 2 && entry?["packetsRepaired"] == 1 && entry?["rtxPacketsDiscarded"] == 1)
  }

  @Test func rejectsBadRequestsAndDropsStrangers() throws {
    var setup = try Setup()
    let bad = setup.request("transport.produce", "send", ["producerId": "p", "kind": "data"])
    #expect(bad == .rejected(id: 102, error: .typeError, reason: "invalid kind"))
    let noProducer = setup.request("transport.consume", "recv", ["consumerId": "c", "producerId": "nope"])
    #expect(noProducer == .rejected(id: 103, error: .error, reason: "Producer not found"))
    let twice = setup.request("transport.connect", "send", ["dtlsParameters": setup.publisher.dtlsParameters])
    #expect(twice == .rejected(id: 104, error: .error, reason: "connect() already called"))
    #expect(
      setup.request("transport.dump", "nope")
        == .rejected(id: 105, error: .error, reason: "Transport not found [handlerId:nope]"))
    // Media from an address ICE never validated is dropped; garbage is counted, never fatal.
    let before = setup.engine.counters.droppedPackets
    var stranger = Self.vp8(seq: 1, key: true)
    stranger.withUnsafeMutableBytes {
      setup.engine.receive(
        socket: setup.publisher.socket, from: .ipv4([127, 0, 0, 9], port: 1), packet: $0, now: .now)
    }
    #expect(setup.engine.counters.droppedPackets == before + 1)
    for length in [0, 1, 12, 20, 200] {
      var garbage = (0..<length).map { _ in UInt8.random(in: 0...255) }
      garbage.withUnsafeMutableBytes {
        setup.engine.receive(socket: setup.publisher.socket, from: setup.publisher.address, packet: $0, now: .now)
      }
    }
    // Closing a transport frees its socket.
    _ = setup.request("transport.close", "recv")
    #expect(setup.sockets.closed.count == 1 && setup.engine.transports["recv"] == nil)
  }

  @Test func singlePortServersShareTheirSocketAndRouteByFragment() throws {
    var setup = try Setup(singlePort: true)
    let server = try #require(setup.engine.servers["s"])
    #expect(server.transportsByFragment.count == 2)
    // A Binding request naming no known fragment, from an unknown address, reaches no transport.
    var stray = StunMessage(type: .bindingRequest, transactionID: Crypto.randomBytes(12))
    stray.username = "nobody:peer"
    stray.priority = 1
    let before = setup.engine.counters.droppedPackets
    var bytes = stray.encoded(integrityKey: Array("x".utf8))
    bytes.withUnsafeMutableBytes {
      setup.engine.receive(
        socket: server.endpoints[0].socket, from: .ipv4([127, 0, 0, 9], port: 9), packet: $0, now: .now)
    }
    #expect(setup.engine.counters.droppedPackets == before + 1)
    // A transport closing on a server leaves the shared socket open.
    _ = setup.request("transport.close", "recv")
    #expect(setup.sockets.closed.isEmpty && server.transportsByFragment.count == 1)
    let taken = setup.core.handle(
      .request(
        id: 300, method: "worker.createWebRtcServer", handlerID: "",
        data: ["webRtcServerId": "s", "listenInfos": [["protocol": "udp", "ip": "127.0.0.1", "port": 40000]]]))
    #expect(
      taken == [.rejected(id: 300, error: .error, reason: "a WebRtcServer with the same webRtcServerId already exists")]
    )
    _ = setup.core.handle(
      .request(id: 301, method: "worker.closeWebRtcServer", handlerID: "", data: ["webRtcServerId": "s"]))
    #expect(setup.sockets.closed == [server.endpoints[0].socket] && setup.engine.transports.isEmpty)
  }
}

extension MediaEngineTests {
  @Test func passiveTcpCandidatesAndTuplesFollowTheirConnections() throws {
    var setup = try Setup(tcp: true)
    let engine = setup.engine
    let send = try #require(engine.transports["send"])
    let candidates = send.iceCandidates.arrayValue ?? []
    #expect(candidates.count == 1)
    #expect(candidates.first?["protocol"] == "tcp" && candidates.first?["tcpType"] == "passive")
    #expect(candidates.first?["foundation"] == "tcpcandidate")
    let dump = setup.request("transport.dump", "send")
    guard case .accepted(_, let state)? = dump else { throw ConformanceError("\(String(describing: dump))") }
    #expect(state["iceSelectedTuple"]?["protocol"] == "tcp" && state["iceSelectedTuple"]?["remotePort"] == 5000)
    #expect(state["iceSelectedTuple"]?["localIp"] == "127.0.0.1")

    // A second connection from another port: a tuple once ICE validates it, never before.
    let listener = send.endpoints[0].socket
    #expect(setup.engine.tcpAccepted(connection: 800, listener: listener, from: .ipv4([127, 0, 0, 1], port: 6000)))
    var media = Self.vp8(seq: 1, key: true)
    let before = setup.engine.counters.droppedPackets
    media.withUnsafeMutableBytes {
      setup.engine.receive(socket: 800, from: .ipv4([127, 0, 0, 1], port: 6000), packet: $0, now: .now)
    }
    #expect(setup.engine.counters.droppedPackets == before + 1, "media before ICE on that connection is dropped")

    // The peer's connection closes: the only tuple goes and ICE is disconnected.
    setup.engine.outbox.removeAll()
    setup.engine.tcpClosed(connection: setup.publisher.socket)
    #expect(send.ice.selectedTuple == nil && send.ice.state == .disconnected)
    #expect(
      setup.engine.outbox.contains(
        .notification(handlerID: "send", event: "icestatechange", data: ["iceState": "disconnected"])))
    // Closing the transport closes its listener and the connections it accepted.
    _ = setup.request("transport.close", "send")
    #expect(setup.sockets.closed.contains(listener) && setup.sockets.closed.contains(800))
    #expect(setup.engine.tcpConnections[800] == nil)
    #expect(!setup.engine.tcpAccepted(connection: 801, listener: listener, from: .ipv4([127, 0, 0, 1], port: 6001)))
  }

  /// A VP8 packet with a one-byte extension block: the transport-wide sequence number at id 3
  /// (the publisher's id) and an abs-send-time at id 2.
  static func vp8(seq: UInt16, wide: UInt16, ssrc: UInt32 = 1111) -> [UInt8] {
    var packet = vp8(seq: seq, key: true, ssrc: ssrc)
    packet[0] |= 0x10
    let block: [UInt8] = [
      0xBE, 0xDE, 0x00, 0x02, 0x31, UInt8(wide >> 8), UInt8(wide & 0xFF), 0x22, 0xAA, 0xBB, 0xCC, 0x00,
    ]
    packet.insert(contentsOf: block, at: 12)
    return packet
  }

  static let transportCc = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
  static let absSendTime = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"

  /// Transport-cc both ways: the publisher's transport-wide sequence numbers come back as feedback
  /// every 100 ms (a lost one reported lost), the `setMaxIncomingBitrate` cap goes as REMB; the
  /// subscriber gets the sending transport's own transport-wide sequence numbers and abs-send-time,
  /// never the publisher's.
  @Test func transportCcFeedbackRembAndTheSubscribersOwnSequence() throws {
    var setup = try Setup()
    let (engine, sockets, publisher, subscriber) = (setup.engine, setup.sockets, setup.publisher, setup.subscriber)
    _ = setup.request(
      "transport.produce", "send",
      [
        "producerId": "p", "kind": "video",
        "rtpParameters": [
          "codecs": [
            [
              "mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000,
              "rtcpFeedback": [["type": "transport-cc"], ["type": "nack", "parameter": "pli"]],
            ]
          ],
          "headerExtensions": [
            ["uri": .string(Self.transportCc), "id": 3], ["uri": .string(Self.absSendTime), "id": 2],
          ],
          "encodings": [["ssrc": 1111]],
        ],
        "rtpMapping": ["codecs": [["payloadType": 96, "mappedPayloadType": 101]]],
      ])
    _ = setup.request(
      "transport.consume", "recv",
      [
        "consumerId": "c", "producerId": "p", "kind": "video", "type": "simple",
        "rtpParameters": [
          "codecs": [["mimeType": "video/VP8", "payloadType": 101, "clockRate": 90000]],
          "headerExtensions": [
            ["uri": .string(Self.transportCc), "id": 5], ["uri": .string(Self.absSendTime), "id": 4],
          ],
          "encodings": [["ssrc": 2222]],
        ],
      ])
    #expect(setup.request("transport.setMaxIncomingBitrate", "send", ["bitrate": 1_000_000]) != nil)
    let negative = setup.request("transport.setMaxIncomingBitrate", "send", ["bitrate": -1])
    #expect(
      negative
        == .rejected(id: 105, error: .typeError, reason: "bitrate must be a number of bits per second, 0 or more"))
    _ = publisher.received(sockets)
    engine.transports["recv"]?.nextTransportSequence = 7000
    // Wide sequence numbers 500…509 with 505 lost.
    for index in UInt16(0)..<10 where index != 5 {
      try publisher.sendRtp(Self.vp8(seq: 40 + index, wide: 500 + index), to: engine)
    }
    engine.tick(now: .now + .milliseconds(150))
    let rtcp = publisher.received(sockets).rtcp
    var feedback: [TransportCcFeedback] = []
    var remb: [(bitrate: UInt64, ssrcs: [UInt32])] = []
    for compound in rtcp {
      compound.withUnsafeBytes { bytes in
        for header in Rtcp.packets(bytes) ?? [] {
          if let parsed = TransportCcFeedback.parse(bytes, header) { feedback.append(parsed) }
          if let parsed = Rtcp.receiverEstimatedMaximumBitrate(bytes, header) { remb.append(parsed) }
        }
      }
    }
    #expect(feedback.count == 1)
    #expect(feedback.first?.packets.map(\.sequence) == Array(500...509))
    #expect(feedback.first?.packets.map { $0.arrivalUs == nil } == (0..<10).map { $0 == 5 })
    #expect(remb.count == 1 && remb.first?.bitrate == 1_000_000 && remb.first?.ssrcs == [1111])
    // Nothing new: no feedback; REMB again only after 1.5 s.
    engine.tick(now: .now + .milliseconds(400))
    #expect(publisher.received(sockets).rtcp.isEmpty)

    // The subscriber's packets: our own consecutive wide sequence numbers at its id 5, an
    // abs-send-time at its id 4, and none of the publisher's values.
    let forwarded = subscriber.received(sockets).rtp
    #expect(forwarded.count == 9)
    var wides: [UInt16] = []
    for packet in forwarded {
      packet.withUnsafeBytes { bytes in
        guard let rtp = RtpPacket.parse(bytes) else { return }
        var ids: [UInt8] = []
        rtp.forEachExtension(in: bytes) { id, range in
          ids.append(id)
          if id == 5, range.count == 2 {
            wides.append(UInt16(bytes[range.lowerBound]) << 8 | UInt16(bytes[range.lowerBound + 1]))
          }
          if id == 4 { #expect(range.count == 3 && Array(bytes[range]) != [0xAA, 0xBB, 0xCC]) }
        }
        #expect(ids.sorted() == [4, 5])
      }
    }
    #expect(wides == Array(7000..<7009), "the sending transport's numbering, not the publisher's")
    let stats = setup.request("transport.getStats", "send")
    guard case .accepted(_, let transportStats)? = stats else { throw ConformanceError("\(String(describing: stats))") }
    #expect(transportStats.arrayValue?.first?["maxIncomingBitrate"] == 1_000_000)
    #expect(transportStats.arrayValue?.first?["transportCcFeedbackPackets"] == 1)
  }

  /// A producer without an SSRC or a MID is found by the RID extension (then by the SSRC it binds).
  @Test func aStreamIsFoundByItsRidWhenNothingElseSaysWhoseItIs() throws {
    var setup = try Setup()
    let (engine, sockets, publisher, subscriber) = (setup.engine, setup.sockets, setup.publisher, setup.subscriber)
    _ = setup.request(
      "transport.produce", "send",
      [
        "producerId": "p", "kind": "video",
        "rtpParameters": [
          "codecs": [["mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000]],
          "headerExtensions": [["uri": "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id", "id": 10]],
          "encodings": [["rid": "r0"]],
        ],
        "rtpMapping": ["codecs": [["payloadType": 96, "mappedPayloadType": 101]]],
      ])
    _ = setup.request(
      "transport.consume", "recv",
      [
        "consumerId": "c", "producerId": "p", "kind": "video", "type": "simple",
        "rtpParameters": [
          "codecs": [["mimeType": "video/VP8", "payloadType": 101, "clockRate": 90000]], "encodings": [["ssrc": 2222]],
        ],
      ])
    func withRid(_ rid: String, seq: UInt16, ssrc: UInt32) -> [UInt8] {
      var packet = Self.vp8(seq: seq, key: true, ssrc: ssrc)
      packet[0] |= 0x10
      packet.insert(contentsOf: [0xBE, 0xDE, 0x00, 0x01, 0xA1] + Array(rid.utf8) + [0x00], at: 12)
      return packet
    }
    try publisher.sendRtp(withRid("r1", seq: 1, ssrc: 7777), to: engine)
    #expect(subscriber.received(sockets).rtp.isEmpty, "another RID is not this producer's")
    try publisher.sendRtp(withRid("r0", seq: 2, ssrc: 4444), to: engine)
    try publisher.sendRtp(Self.vp8(seq: 3, key: false, ssrc: 4444), to: engine)
    #expect(subscriber.received(sockets).rtp.count == 2, "found by its RID, then by the SSRC that bound")
  }

  @Test func candidatesFollowListenOrderAndProtocolPreference() throws {
    var setup = try Setup()
    let reply = setup.request(
      "router.createWebRtcTransport", "r",
      [
        "transportId": "both", "enableUdp": true, "enableTcp": true, "preferTcp": true,
        "listenInfos": [
          ["protocol": "udp", "ip": "127.0.0.1", "announcedAddress": "203.0.113.7"],
          ["protocol": "tcp", "ip": "127.0.0.1", "portRange": ["min": 45000, "max": 45010]],
        ],
      ])
    guard case .accepted(_, let dump)? = reply else { throw ConformanceError("\(String(describing: reply))") }
    let candidates = dump["iceCandidates"]?.arrayValue ?? []
    #expect(candidates.map { $0["protocol"] } == ["udp", "tcp"])
    #expect(candidates.first?["address"] == "203.0.113.7", "the announced address is what clients see")
    // 2^24·64 + 2^8·localPreference + 255: UDP first in order (10 000), TCP preferred (9 900 + 1 000).
    #expect(candidates.map { $0["priority"]?.intValue } == [1_076_302_079, 1_076_532_479])
    let tcpPort = candidates.last?["port"]?.intValue ?? 0
    #expect((45000...45010).contains(tcpPort))
    let neither = setup.request(
      "router.createWebRtcTransport", "r",
      ["transportId": "none", "enableUdp": false, "enableTcp": false, "listenIps": ["127.0.0.1"]])
    #expect(neither == .rejected(id: 103, error: .typeError, reason: "enableUdp and enableTcp cannot both be false"))
    let badProtocol = setup.request(
      "router.createWebRtcTransport", "r",
      ["transportId": "bad", "listenInfos": [["protocol": "sctp", "ip": "127.0.0.1"]]])
    #expect(badProtocol == .rejected(id: 104, error: .typeError, reason: "listen protocol must be udp or tcp"))
  }
}

@Suite("audio level observer")
struct AudioLevelObserverTests {
  @Test func reportsTheLoudestAboveTheThresholdThenSilenceOnce() {
    let start = ContinuousClock.now
    var observer = AudioLevelObserver(id: "o", maxEntries: 1, threshold: -60, interval: .milliseconds(800), now: start)
    observer.add("a")
    observer.add("b")
    for _ in 0..<10 {
      observer.record("a", level: 30)  // −30 dBov
      observer.record("b", level: 50)  // −50 dBov
      observer.record("c", level: 0)  // not observed
    }
    #expect(observer.evaluate(now: start + .milliseconds(500)) == nil, "not before the interval")
    #expect(observer.evaluate(now: start + .milliseconds(800)) == .volumes([("a", -30)]))
    for _ in 0..<9 { observer.record("a", level: 10) }
    #expect(observer.evaluate(now: start + .milliseconds(1600)) == .silence, "fewer than 10 samples count as silence")
    #expect(observer.evaluate(now: start + .milliseconds(2400)) == nil, "silence is reported once")
    for _ in 0..<10 { observer.record("b", level: 70) }  // −70 dBov, under the threshold
    #expect(observer.evaluate(now: start + .milliseconds(3200)) == nil)
    observer.paused = true
    for _ in 0..<10 { observer.record("a", level: 1) }
    #expect(observer.evaluate(now: start + .milliseconds(4000)) == nil, "paused")
  }

  @Test func theEngineFeedsLevelsFromTheExtension() throws {
    var setup = try MediaEngineTests.Setup()
    _ = setup.core.handle(
      .request(
        id: 500, method: "router.createAudioLevelObserver", handlerID: "r",
        data: ["rtpObserverId": "o", "maxEntries": 1, "threshold": -80, "interval": 800]))
    #expect(setup.produceMicrophone() == .accepted(id: 102, data: ["type": "simple"]))
    #expect(setup.request("rtpObserver.addProducer", "o", ["producerId": "mic"]) == .accepted(id: 103, data: .null))
    for seq in UInt16(1)...12 {
      try setup.publisher.sendRtp(MediaEngineTests.Setup.microphonePacket(seq: seq, level: 20), to: setup.engine)
    }
    setup.engine.outbox.removeAll()
    setup.engine.tick(now: .now + .seconds(1))
    #expect(
      setup.engine.outbox.contains(
        .notification(handlerID: "o", event: "volumes", data: [["producerId": "mic", "volume": -20]])))
  }
}
