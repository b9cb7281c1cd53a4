internal import ErizoCore
internal import Glibc
public import MediaWorker

/// One publisher and N subscribers on a real `MediaEngine`, every transport connected by a
/// `LoopbackPeer` (ICE-lite, DTLS, SRTP as a browser does them), sockets in memory. The
/// measurements of the forwarding path use it (`erizo-bench media`, `Benchmarks/`): `prepare` makes
/// the publisher's SRTP packets (the client's cost), `forwardPrepared` hands them to the engine (the
/// worker's cost: SRTP unprotect, lookup, and per consumer the rewrite, SRTP protect and send).
public final class ForwardingRig {
  public let engine: MediaEngine
  public let sockets: MemorySockets
  public let subscribers: Int
  /// Kept for the life of the rig: it owns the routers and transports the engine forwards through.
  private let core: WorkerCore
  private let publisher: LoopbackPeer
  private let payloadSize: Int
  private var sequence: UInt16 = 0
  private var buffers: [[UInt8]] = []
  private var lengths: [Int] = []
  private var prepared = 0
  private var sentKeyFrame = false

  /// - Parameters:
  ///   - subscribers: consumers of the publisher's video, one per transport.
  ///   - payloadSize: the RTP packet size before SRTP (a full video packet is about 1 200 bytes).
  public init(subscribers: Int, payloadSize: Int = 1200) throws {
    precondition(subscribers >= 1 && payloadSize >= 14 && payloadSize <= 1400)
    self.subscribers = subscribers
    self.payloadSize = payloadSize
    sockets = MemorySockets()
    engine = try MediaEngine(sockets: sockets, settings: WorkerSettings())
    var core = WorkerCore(settings: WorkerSettings(), engine: engine)
    let context = try DtlsContext()
    var peers: [LoopbackPeer] = []
    var requestID = 0
    func request(_ method: String, _ handler: String, _ data: JSONValue) throws -> JSONValue {
      requestID += 1
      guard
        case .accepted(_, let reply)? = core.handle(
          .request(id: requestID, method: method, handlerID: handler, data: data)
        ).first
      else { throw ConformanceFailure(description: "\(method) refused") }
      return reply
    }
    _ = try request("worker.createRouter", "", ["routerId": "r"])
    for index in 0...subscribers {
      let name = "t\(index)"
      let dump = try request(
        "router.createWebRtcTransport", "r", ["transportId": .string(name), "listenIps": [["ip": "127.0.0.1"]]])
      let peer = try LoopbackPeer(
        port: UInt16(20_000 + index), socket: sockets.nextSocket, transportID: name, context: context)
      _ = try request("transport.connect", name, ["dtlsParameters": peer.dtlsParameters])
      try peer.connect(engine, sockets, transport: dump)
      peers.append(peer)
    }
    _ = try request(
      "transport.produce", "t0",
      [
        "producerId": "p", "kind": "video",
        "rtpParameters": [
          "codecs": [["mimeType": "video/VP8", "payloadType": 96, "clockRate": 90000]], "encodings": [["ssrc": 1111]],
        ],
        "rtpMapping": ["codecs": [["payloadType": 96, "mappedPayloadType": 101]], "encodings": [["mappedSsrc": 5]]],
      ])
    for index in 1...subscribers {
      _ = try request(
        "transport.consume", "t\(index)",
        [
          "consumerId": .string("c\(index)"), "producerId": "p", "kind": "video",
          "rtpParameters": [
            "codecs": [["mimeType": "video/VP8", "payloadType": 101, "clockRate": 90000]],
            "encodings": [["ssrc": .int(10_000 + index)]],
            "headerExtensions": [["uri": "urn:ietf:params:rtp-hdrext:sdes:mid", "id": 1]], "mid": "0",
          ],
        ])
    }
    self.core = core
    publisher = peers[0]
    sockets.discard = true
  }

  /// Makes the publisher's next `count` SRTP packets (VP8, the first one ever a key frame) in
  /// buffers kept from call to call, so preparing a batch the size of an earlier one allocates
  /// nothing.
  public func prepare(count: Int) throws {
    while buffers.count < count {
      buffers.append([UInt8](repeating: 0, count: payloadSize + SrtpSession.maximumOverhead))
      lengths.append(0)
    }
    for index in 0..<count {
      let key = !sentKeyFrame
      sentKeyFrame = true
      let sequenceNumber = sequence
      sequence &+= 1
      let size = payloadSize
      lengths[index] = try buffers[index].withUnsafeMutableBytes { out in
        Self.writeVP8(into: out, sequence: sequenceNumber, key: key, size: size)
        return try publisher.srtpOut!.protectRTP(out, length: size)
      }
    }
    prepared = count
  }

  /// Feeds the prepared packets to the engine; returns how many packets it forwarded.
  @discardableResult
  public func forwardPrepared(now: ContinuousClock.Instant = .now) -> Int {
    let before = engine.counters.forwardedPackets
    for index in 0..<prepared {
      let length = lengths[index]
      buffers[index].withUnsafeMutableBytes { buffer in
        engine.receive(
          socket: publisher.socket, from: publisher.address,
          packet: UnsafeMutableRawBufferPointer(rebasing: buffer[..<length]), now: now)
      }
    }
    prepared = 0
    return engine.counters.forwardedPackets - before
  }

  /// Writes a VP8 RTP packet of `size` bytes in place: payload type 96, the VP8 descriptor (start
  /// of partition) and a payload header whose P bit is clear on a key frame, then 0xAB filler.
  /// Shared by every synthetic publisher (this rig, `erizo-bench media` and `erizo-bench load`).
  public static func writeVP8(
    into out: UnsafeMutableRawBufferPointer, sequence: UInt16, timestamp: UInt32 = 0x0010_0000, ssrc: UInt32 = 1111,
    key: Bool, size: Int
  ) {
    out.storeBytes(of: UInt32(0x8060_0000 | UInt32(sequence)).bigEndian, toByteOffset: 0, as: UInt32.self)
    out.storeBytes(of: timestamp.bigEndian, toByteOffset: 4, as: UInt32.self)
    out.storeBytes(of: ssrc.bigEndian, toByteOffset: 8, as: UInt32.self)
    out[12] = 0x10
    out[13] = key ? 0x9c : 0x9d
    for index in 14..<size { out[index] = 0xAB }
  }
}

/// This thread's CPU time (`CLOCK_THREAD_CPUTIME_ID`), for measurements that must not count other
/// threads or processes.
public enum ThreadClock {
  public static func nanoseconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
    return Double(spec.tv_sec) * 1e9 + Double(spec.tv_nsec)
  }
}
