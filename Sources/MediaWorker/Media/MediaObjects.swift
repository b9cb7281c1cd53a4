internal import ErizoCore

/// What the media objects need from the process: UDP sockets. The worker loop implements it with
/// real sockets and epoll; tests implement it in memory.
public protocol MediaSockets: AnyObject {
  /// Binds a UDP socket on `ip` to a free port in the range; nil when none is free.
  func openUDP(ip: String, minPort: Int, maxPort: Int) -> (socket: Int, port: UInt16)?
  /// Listens for TCP connections on `ip` at a free port in the range (passive ICE-TCP); nil when
  /// none is free. Accepted connections reach the engine through `MediaEngine.tcpAccepted`.
  func openTCP(ip: String, minPort: Int, maxPort: Int) -> (socket: Int, port: UInt16)?
  /// Sends a datagram on a UDP socket to `address`, or a packet on a TCP connection (with its RFC
  /// 4571 length; `address` is then the connection's peer).
  func send(socket: Int, to address: SocketAddress, bytes: UnsafeRawBufferPointer)
  /// Closes a UDP socket, a TCP listener or a TCP connection.
  func close(socket: Int)
  /// Packets the kernel would not take (full socket buffers), dropped.
  var sendDrops: Int { get }
}

/// A producer: one incoming stream (simple: one encoding) and how it maps onto the router.
final class Producer {
  let id: String
  let kind: String
  let transportID: String
  let codec: KeyFrames.Codec
  /// The SSRC the publisher sends, once known (from the parameters or learnt through the MID).
  var ssrc: UInt32?
  /// The MID the publisher puts on its packets, and the extension id it uses for it.
  let mid: [UInt8]
  let midExtensionID: UInt8
  /// The encoding's RID (`encodings[0].rid`) and the extension id the publisher puts it in: the
  /// last way to find the stream when neither the SSRC nor the MID says (spec §1).
  let rid: [UInt8]
  let ridExtensionID: UInt8
  /// Payload type the publisher sends → the router's (rtpMapping.codecs).
  var payloadTypes: [UInt8: UInt8] = [:]
  /// The publisher's extension ids → their URIs.
  var extensionURIs: [UInt8: String] = [:]
  var paused: Bool
  var packetsReceived = 0
  var bytesReceived = 0
  var lastKeyFrameRequest: ContinuousClock.Instant?
  /// Its consumers, in the order they were made (the forwarding loop walks this, no lookups).
  var consumers: [Consumer] = []
  /// The publisher's id of the audio-level extension (0 when absent), and the observers it feeds.
  var audioLevelID: UInt8 = 0
  /// The publisher's id of the transport-wide sequence number, when it also negotiated
  /// `transport-cc` feedback (0: not).
  var transportCcExtensionID: UInt8 = 0
  var observerIDs: Set<String> = []
  /// The first codec's clock rate, for jitter.
  let clockRate: Int
  /// Sequence, loss, jitter and score of the incoming stream, from its first packet on.
  var stream: RtpReceiveStream?
  /// Video: the last packets received, for the consumers' NACKs (audio NACK is opt-in in mediasoup
  /// and not offered here).
  var cache: PacketCache?
  /// Video whose first codec takes NACK: the gaps to ask the publisher for (spec §5.2).
  var nack: NackGenerator?
  /// The publisher's RTX stream, when it sends one: its SSRC (given, or learnt through the MID),
  /// and its payload types → the media payload type each one repairs (`apt`).
  var rtxSsrc: UInt32?
  var rtxPayloadTypes: [UInt8: UInt8] = [:]
  var nackCount = 0
  var nackPacketCount = 0
  var packetsRetransmitted = 0
  var packetsRepaired = 0
  var rtxPacketsDiscarded = 0

  /// `score` notification data and the `score` field of stats: one entry per encoding.
  var scores: JSONValue {
    guard let stream else { return [] }
    return [["encodingIdx": 0, "ssrc": .int(Int(stream.ssrc)), "score": .int(Int(stream.score.value))]]
  }
  var score: UInt8 { stream?.score.value ?? 0 }

  init(id: String, kind: String, transportID: String, data: JSONValue) throws(WorkerCore.RequestError) {
    self.id = id
    self.kind = kind
    self.transportID = transportID
    let parameters = data["rtpParameters"]
    guard let codecs = parameters?["codecs"]?.arrayValue, let first = codecs.first?["mimeType"]?.stringValue else {
      throw .type("missing rtpParameters.codecs")
    }
    codec = KeyFrames.Codec(mimeType: first)
    clockRate = codecs.first?["clockRate"]?.intValue ?? 90_000
    guard let encodings = parameters?["encodings"]?.arrayValue, encodings.count == 1 else {
      throw .error("only single-encoding producers are supported")
    }
    ssrc = encodings[0]["ssrc"]?.intValue.map { UInt32(truncatingIfNeeded: $0) }
    rtxSsrc = encodings[0]["rtx"]?["ssrc"]?.intValue.map { UInt32(truncatingIfNeeded: $0) }
    for codec in codecs where codec["mimeType"]?.stringValue?.lowercased().hasSuffix("/rtx") == true {
      if let payloadType = codec["payloadType"]?.intValue, let apt = codec["parameters"]?["apt"]?.intValue {
        rtxPayloadTypes[UInt8(truncatingIfNeeded: payloadType)] = UInt8(truncatingIfNeeded: apt)
      }
    }
    for codec in data["rtpMapping"]?["codecs"]?.arrayValue ?? [] {
      if let from = codec["payloadType"]?.intValue, let to = codec["mappedPayloadType"]?.intValue {
        payloadTypes[UInt8(truncatingIfNeeded: from)] = UInt8(truncatingIfNeeded: to)
      }
    }
    guard !payloadTypes.isEmpty else { throw .type("missing rtpMapping.codecs") }
    var midID: UInt8 = 0
    var ridID: UInt8 = 0
    for header in parameters?["headerExtensions"]?.arrayValue ?? [] {
      guard let uri = header["uri"]?.stringValue, let id = header["id"]?.intValue, (1...255).contains(id) else {
        continue
      }
      extensionURIs[UInt8(id)] = uri
      if uri == Self.midURI { midID = UInt8(id) }
      if uri == Self.ridURI { ridID = UInt8(id) }
      if uri == AudioLevelObserver.levelURI { audioLevelID = UInt8(id) }
      if uri == Self.transportCcURI { transportCcExtensionID = UInt8(id) }
    }
    midExtensionID = midID
    rid = Array((encodings[0]["rid"]?.stringValue ?? "").utf8)
    ridExtensionID = rid.isEmpty ? 0 : ridID
    mid = Array((parameters?["mid"]?.stringValue ?? "").utf8)
    paused = data["paused"] == true
    if kind == "video" { cache = PacketCache() }
    let feedback = codecs.first?["rtcpFeedback"]?.arrayValue ?? []
    if kind == "video", feedback.contains(where: { $0["type"] == "nack" && ($0["parameter"] ?? "") == "" }) {
      nack = NackGenerator()
    }
    if !feedback.contains(where: { $0["type"] == "transport-cc" }) { transportCcExtensionID = 0 }
  }

  static let midURI = "urn:ietf:params:rtp-hdrext:sdes:mid"
  static let ridURI = "urn:ietf:params:rtp-hdrext:sdes:rtp-stream-id"
  static let transportCcURI = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
  static let absSendTimeURI = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
}

/// A simple consumer: one outgoing stream rewritten from its producer.
final class Consumer {
  let id: String
  let producerID: String
  let kind: String
  let ssrc: UInt32
  let payloadType: UInt8
  let codec: KeyFrames.Codec
  var rewrite: RtpRewrite
  var sequence = SequenceMapper()
  var paused: Bool
  var producerPaused: Bool
  /// Video waits for a key frame before sending, after creation and after each resume.
  var waitingForKeyFrame: Bool
  var packetsSent = 0
  var bytesSent = 0
  var lastTimestamp: UInt32 = 0
  let cname: String
  /// Loss, round-trip time and score from the subscriber's receiver reports.
  var stream: RtpSendStream
  /// Which producer packet each sent sequence number was, for NACKs (video: only video producers
  /// keep packets to resend).
  var sent: SentPackets?
  /// The RTX stream (RFC 4588) retransmissions go on, when the subscriber negotiated one.
  var rtx: (payloadType: UInt8, ssrc: UInt32)?
  var rtxSequence = UInt16.random(in: 1000...32767)
  var nackCount = 0
  var nackPacketCount = 0
  var packetsRetransmitted = 0
  var packetsRepaired = 0

  /// The transport it sends on. Held strongly: the transport holds its consumers too, and closing a
  /// consumer (always before its transport goes) drops both references.
  let transport: WebRtcTransport
  var transportID: String { transport.id }

  init(id: String, transport: WebRtcTransport, data: JSONValue, producer: Producer) throws(WorkerCore.RequestError) {
    self.id = id
    self.producerID = producer.id
    self.transport = transport
    kind = producer.kind
    let parameters = data["rtpParameters"]
    guard let encoding = parameters?["encodings"]?.arrayValue?.first,
      let ssrc = encoding["ssrc"]?.intValue
    else { throw .type("missing rtpParameters.encodings[0].ssrc") }
    self.ssrc = UInt32(truncatingIfNeeded: ssrc)
    stream = RtpSendStream(ssrc: self.ssrc)
    guard
      let codec = parameters?["codecs"]?.arrayValue?.first(where: {
        !($0["mimeType"]?.stringValue?.lowercased().hasSuffix("/rtx") ?? true)
      }), let payloadType = codec["payloadType"]?.intValue, let mimeType = codec["mimeType"]?.stringValue
    else { throw .type("missing rtpParameters.codecs") }
    self.payloadType = UInt8(truncatingIfNeeded: payloadType)
    if let rtxCodec = parameters?["codecs"]?.arrayValue?.first(where: {
      ($0["mimeType"]?.stringValue?.lowercased().hasSuffix("/rtx") ?? false)
        && $0["parameters"]?["apt"]?.intValue == payloadType
    }), let rtxPayloadType = rtxCodec["payloadType"]?.intValue, let rtxSSRC = encoding["rtx"]?["ssrc"]?.intValue {
      rtx = (UInt8(truncatingIfNeeded: rtxPayloadType), UInt32(truncatingIfNeeded: rtxSSRC))
    }
    self.codec = KeyFrames.Codec(mimeType: mimeType)
    // The publisher's extension ids → ours, by URI; the MID is written fresh.
    var uriToID: [String: UInt8] = [:]
    for header in parameters?["headerExtensions"]?.arrayValue ?? [] {
      if let uri = header["uri"]?.stringValue, let id = header["id"]?.intValue, (1...14).contains(id) {
        uriToID[uri] = UInt8(id)
      }
    }
    // The MID, the transport-wide sequence number and abs-send-time are written fresh by the
    // sending transport; the publisher's values of them are not forwarded.
    let generated: Set<String> = [Producer.midURI, Producer.transportCcURI, Producer.absSendTimeURI]
    var map = [UInt8](repeating: 0, count: 256)
    for (incoming, uri) in producer.extensionURIs where !generated.contains(uri) {
      if let outgoing = uriToID[uri] { map[Int(incoming)] = outgoing }
    }
    let mid = Array((parameters?["mid"]?.stringValue ?? "").utf8.prefix(16))
    rewrite = RtpRewrite(
      extensionMap: map, midID: uriToID[Producer.midURI] ?? 0, mid: mid,
      transportSequenceID: uriToID[Producer.transportCcURI] ?? 0, absSendTimeID: uriToID[Producer.absSendTimeURI] ?? 0)
    cname = parameters?["rtcp"]?["cname"]?.stringValue ?? "erizo"
    paused = data["paused"] == true
    producerPaused = producer.paused
    waitingForKeyFrame = producer.kind == "video"
    if producer.cache != nil { sent = SentPackets() }
  }

  var active: Bool { !paused && !producerPaused }

  /// `score` notification data: this stream's score and its producer's.
  func scores(producer: Producer?) -> JSONValue {
    let producerScore = Int(producer?.score ?? 0)
    return [
      "score": .int(Int(stream.score.value)), "producerScore": .int(producerScore),
      "producerScores": producer?.stream == nil ? [] : [.int(producerScore)],
    ]
  }
}
