internal import ErizoCore
internal import Glibc
internal import MediaWorker

/// Transports made, used and closed again, round after round, on one `MediaEngine`: the leak check
/// of the worker's close paths (`erizo-bench memory`). Each round connects a publisher and
/// subscribers with real ICE, DTLS and SRTP (`LoopbackPeer`), half the rounds on their own sockets
/// and half on a WebRtcServer, produces video, consumes it on every subscriber, forwards packets
/// (with a gap the engine NACKs and a subscriber NACK it serves), reads stats, then closes every
/// transport. After a round the engine holds no transport, producer or consumer, so the heap in use
/// should not grow from round to round.
public final class EngineChurn {
  private let sockets = MemorySockets()
  private let engine: MediaEngine
  private var core: WorkerCore
  private let context: DtlsContext
  private var requestID = 0
  public private(set) var rounds = 0

  public init() throws {
    engine = try MediaEngine(sockets: sockets, settings: WorkerSettings())
    core = WorkerCore(settings: WorkerSettings(), engine: engine)
    context = try DtlsContext()
    _ = try request("worker.createRouter", "", ["routerId": "r"])
    _ = try request(
      "worker.createWebRtcServer", "",
      ["webRtcServerId": "s", "listenInfos": [["protocol": "udp", "ip": "127.0.0.1", "port": 40000]]])
  }

  @discardableResult
  private func request(_ method: String, _ handler: String, _ data: JSONValue = [:]) throws -> JSONValue {
    requestID += 1
    guard
      case .accepted(_, let reply)? = core.handle(
        .request(id: requestID, method: method, handlerID: handler, data: data)
      )
      .first
    else { throw ConformanceFailure(description: "\(method) refused") }
    return reply
  }

  /// One round with a publisher and `subscribers` subscribers, `packets` video packets forwarded.
  public func round(subscribers: Int, packets: Int) throws {
    rounds += 1
    let onServer = rounds % 2 == 0
    var peers: [LoopbackPeer] = []
    for index in 0...subscribers {
      let name = "round\(rounds)-t\(index)"
      let options: JSONValue =
        onServer
        ? ["transportId": .string(name), "webRtcServerId": "s"]
        : ["transportId": .string(name), "listenIps": [["ip": "127.0.0.1"]]]
      let dump = try request("router.createWebRtcTransport", "r", options)
      let socket = engine.localSockets(ofTransport: name).first ?? 0
      let peer = try LoopbackPeer(
        port: UInt16(20_000 + index), socket: socket, transportID: name, context: context)
      try request("transport.connect", name, ["dtlsParameters": peer.dtlsParameters])
      try peer.connect(engine, sockets, transport: dump)
      peers.append(peer)
    }
    let producer = "round\(rounds)-p"
    try request(
      "transport.produce", peers[0].transportID,
      [
        "producerId": .string(producer), "kind": "video",
        "rtpParameters": [
          "codecs": [
            [
              "mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000,
              "rtcpFeedback": [["type": "nack"], ["type": "nack", "parameter": "pli"]],
            ]
          ],
          "encodings": [["ssrc": 1111]],
        ],
        "rtpMapping": ["codecs": [["payloadType": 96, "mappedPayloadType": 101]]],
      ])
    for (index, peer) in peers.enumerated().dropFirst() {
      try request(
        "transport.consume", peer.transportID,
        [
          "consumerId": .string("round\(rounds)-c\(index)"), "producerId": .string(producer), "kind": "video",
          "rtpParameters": [
            "codecs": [["mimeType": "video/VP8", "payloadType": 101, "clockRate": 90000]],
            "encodings": [["ssrc": .int(10_000 + index)]],
          ],
        ])
    }
    var packet = [UInt8](repeating: 0, count: 1200)
    for sequence in 0..<packets where sequence != packets / 2 {  // one gap for the engine to NACK
      packet.withUnsafeMutableBytes {
        ForwardingRig.writeVP8(into: $0, sequence: UInt16(truncatingIfNeeded: sequence), key: sequence == 0, size: 1200)
      }
      try peers[0].sendRtp(packet, to: engine)
    }
    var nack: [UInt8] = []
    Rtcp.appendNack(to: &nack, sender: 9, media: 10_001, sequences: [1, 2])
    if peers.count > 1 { try peers[1].sendRtcp(nack, to: engine) }
    engine.tick(now: .now + .seconds(2))
    try request("transport.getStats", peers[0].transportID)
    try request("producer.getStats", producer)
    for peer in peers { try request("transport.close", peer.transportID) }
    engine.outbox.removeAll()
    sockets.sent.removeAll()
    sockets.closed.removeAll()
    guard engine.objectCounts == (0, 0, 0) else {
      throw ConformanceFailure(description: "objects left after closing every transport")
    }
  }

  /// Heap bytes in use in this process.
  public static func heapInUse() -> Int { ProcessHeap.inUse }
}
