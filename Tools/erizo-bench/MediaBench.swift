import ArgumentParser
import ErizoCore
import ErizoTesting
import Foundation
import MediaWorker

/// The media worker's packet path, measured in process (docs/BENCHMARKS.md): SRTP protect +
/// unprotect per 1 200-byte packet for both profiles, and the forwarding cost with one publisher
/// and N subscribers through a real `MediaEngine` (our own ICE/DTLS/SRTP peers; sockets in memory,
/// so syscalls are not counted). CPU time is this thread's (`CLOCK_THREAD_CPUTIME_ID`).
struct MediaBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "media", abstract: "SRTP cost and forwarding cost per packet in the media engine.")

  @Option(help: "Packets per SRTP measurement.") var srtpPackets = 200_000
  @Option(help: "Forwarded packets per fan-out measurement (split over the subscribers).") var forwarded = 1_000_000
  @Option(help: "Subscriber counts to measure.") var subscribers: [Int] = [1, 10, 100]

  func run() throws {
    print("| measurement | packets | CPU ns/packet | packets/s per core |")
    print("|---|---:|---:|---:|")
    for profile in SrtpProfile.allCases {
      let nanoseconds = try Self.srtpCost(profile: profile, packets: srtpPackets)
      print(
        "| SRTP protect+unprotect, 1200 B, \(profile.rawValue) | \(srtpPackets) | \(Int(nanoseconds)) | \(Int(1e9 / nanoseconds)) |"
      )
    }
    for count in subscribers {
      let (packets, nanoseconds) = try Self.forwardingCost(subscribers: count, forwarded: forwarded)
      print(
        "| forward 1 → \(count) (per forwarded packet) | \(packets) | \(Int(nanoseconds)) | \(Int(1e9 / nanoseconds)) |"
      )
    }
  }

  static func threadCPU() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &spec)
    return Double(spec.tv_sec) * 1e9 + Double(spec.tv_nsec)
  }

  static func rtp(sequence: UInt16, ssrc: UInt32 = 1111, key: Bool = true, size: Int = 1200) -> [UInt8] {
    var packet: [UInt8] = [
      0x80, 96, UInt8(sequence >> 8), UInt8(sequence & 0xFF), 0, 0, 0x10, 0, UInt8(ssrc >> 24),
      UInt8(ssrc >> 16 & 0xFF), UInt8(ssrc >> 8 & 0xFF), UInt8(ssrc & 0xFF), 0x10, key ? 0x9c : 0x9d,
    ]
    packet += [UInt8](repeating: 0xAB, count: size - packet.count)
    return packet
  }

  /// ns of CPU per protect + unprotect of one packet.
  static func srtpCost(profile: SrtpProfile, packets: Int) throws -> Double {
    let key = (0..<profile.masterLength).map { UInt8($0) }
    let sender = try SrtpSession(profile: profile, key: key, direction: .outbound)
    let receiver = try SrtpSession(profile: profile, key: key, direction: .inbound)
    let plain = rtp(sequence: 0)
    var buffer = [UInt8](repeating: 0, count: 1500)
    let start = threadCPU()
    for index in 0..<packets {
      try buffer.withUnsafeMutableBytes { out in
        plain.withUnsafeBytes { out.copyMemory(from: $0) }
        out[2] = UInt8(index >> 8 & 0xFF)
        out[3] = UInt8(index & 0xFF)
        let sealed = try sender.protectRTP(out, length: plain.count)
        _ = try receiver.unprotectRTP(out, length: sealed)
      }
    }
    return (threadCPU() - start) / Double(packets)
  }

  /// (forwarded packets, ns of CPU per forwarded packet) through a MediaEngine with 1 publisher
  /// and `subscribers` consumers of its video.
  static func forwardingCost(subscribers: Int, forwarded: Int) throws -> (Int, Double) {
    let sockets = MemorySockets()
    let engine = try MediaEngine(sockets: sockets, settings: WorkerSettings())
    var core = WorkerCore(settings: WorkerSettings(), engine: engine)
    let context = try DtlsContext()
    var id = 0
    func request(_ method: String, _ handler: String, _ data: JSONValue) throws -> JSONValue {
      id += 1
      guard
        case .accepted(_, let reply)? = core.handle(.request(id: id, method: method, handlerID: handler, data: data))
          .first
      else { throw ConformanceFailure(description: "\(method) refused") }
      return reply
    }
    _ = try request("worker.createRouter", "", ["routerId": "r"])
    var peers: [LoopbackPeer] = []
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
    sockets.discard = true
    // The publisher's packets, protected before the clock starts (the client's cost is not ours).
    let incoming = max(1000, forwarded / subscribers)
    var protected: [[UInt8]] = []
    protected.reserveCapacity(incoming)
    for index in 0..<incoming {
      let plain = rtp(sequence: UInt16(truncatingIfNeeded: index), key: index == 0)
      var buffer = plain + [UInt8](repeating: 0, count: SrtpSession.maximumOverhead)
      let length = try buffer.withUnsafeMutableBytes { try peers[0].srtpOut!.protectRTP($0, length: plain.count) }
      protected.append(Array(buffer[..<length]))
    }
    let before = engine.counters.forwardedPackets
    let now = ContinuousClock.now
    let start = threadCPU()
    for index in protected.indices {
      protected[index].withUnsafeMutableBytes {
        engine.receive(socket: peers[0].socket, from: peers[0].address, packet: $0, now: now)
      }
    }
    let elapsed = threadCPU() - start
    let count = engine.counters.forwardedPackets - before
    guard count > 0 else { throw ConformanceFailure(description: "nothing was forwarded") }
    return (count, elapsed / Double(count))
  }
}
