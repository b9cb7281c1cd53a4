import Benchmark
import ErizoCore
import ErizoTesting
import MediaWorker

/// The media worker's per-packet work, each measured with its allocations: what the worker does
/// for every datagram (STUN, RTP, RTCP, SRTP) and the fan-out step of one incoming packet to N
/// consumers through a real `MediaEngine` (docs/BENCHMARKS.md).
let benchmarks: @Sendable () -> Void = {
  let metrics: [BenchmarkMetric] = [.cpuTotal, .wallClock, .throughput, .mallocCountTotal]
  // 1 000 operations per sample: the harness's own cost per sample (about 16 allocations and
  // 100 ns) is then spread thin, and the scaled metrics (*) read per operation.
  Benchmark.defaultConfiguration = .init(
    metrics: metrics, scalingFactor: .kilo, maxDuration: .milliseconds(500), maxIterations: 100_000)

  // STUN: the consent check every client sends (USERNAME, PRIORITY, ICE-CONTROLLING, USE-CANDIDATE,
  // MESSAGE-INTEGRITY, FINGERPRINT), parsed and checked, and the answer encoded.
  let password = Array("0123456789abcdefghijklmn".utf8)
  var request = StunMessage(type: .bindingRequest, transactionID: Array(0..<12))
  request.username = "serverufrag:clientufrag"
  request.priority = 1_853_817_087
  request.iceControlling = 0x1234_5678_9ABC
  request.useCandidate = true
  let stunRequest = request.encoded(integrityKey: password)
  Benchmark("STUN Binding request: parse + check integrity") { benchmark in
    for _ in benchmark.scaledIterations {
      let message = try? StunMessage(parsing: stunRequest)
      blackHole(message?.hasValidIntegrity(key: password))
    }
  }
  var success = StunMessage(type: .bindingSuccess, transactionID: Array(0..<12))
  success.xorMappedAddress = .ipv4([127, 0, 0, 2], port: 50_000)
  Benchmark("STUN Binding success: encode with integrity") { benchmark in
    for _ in benchmark.scaledIterations { blackHole(success.encoded(integrityKey: password)) }
  }

  // RTP: parse a 1 200-byte VP8 packet with two header extensions and write it out rewritten
  // (SSRC, sequence number, payload type, extension ids, MID) into a kept buffer.
  var rtp: [UInt8] = [
    0x90, 96, 0x12, 0x34, 0, 0x10, 0, 0, 0, 0, 0x04, 0x57, 0xBE, 0xDE, 0, 2, 0x10, 0x7F, 0x32, 0x01, 0x02, 0x03,
    0, 0, 0x10, 0x9c,
  ]
  rtp += [UInt8](repeating: 0xAB, count: 1200 - rtp.count)
  var extensionMap = [UInt8](repeating: 0, count: 256)
  extensionMap[1] = 10
  extensionMap[3] = 4
  let rewrite = RtpRewrite(extensionMap: extensionMap, midID: 1, mid: Array("0".utf8))
  var output = [UInt8](repeating: 0, count: 1500)
  Benchmark("RTP: parse 1200 B") { benchmark in
    rtp.withUnsafeBytes { bytes in
      for _ in benchmark.scaledIterations { blackHole(RtpPacket.parse(bytes)) }
    }
  }
  Benchmark("RTP: parse + rewrite 1200 B") { benchmark in
    rtp.withUnsafeBytes { bytes in
      output.withUnsafeMutableBytes { out in
        for index in benchmark.scaledIterations {
          guard let packet = RtpPacket.parse(bytes) else { continue }
          blackHole(
            rewrite.write(
              packet, from: bytes, into: out, ssrc: 0xCAFE, sequenceNumber: UInt16(truncatingIfNeeded: index),
              payloadType: 101))
        }
      }
    }
  }

  // RTCP: a publisher's compound (SR + SDES) and a subscriber's (RR with one block + PLI).
  var sender: [UInt8] = []
  Rtcp.appendSenderReport(
    to: &sender, ssrc: 1111, ntp: 0xE000_0000_8000_0000, rtpTimestamp: 90_000, packets: 500, octets: 600_000)
  Rtcp.appendSourceDescription(to: &sender, ssrc: 1111, cname: "abcdefghijklmnop")
  var receiver: [UInt8] = []
  Rtcp.appendReceiverReport(
    to: &receiver, ssrc: 2222,
    blocks: [Rtcp.ReportBlock(ssrc: 5, fractionLost: 3, totalLost: 12, highestSequence: 70_000)])
  Rtcp.appendPictureLossIndication(to: &receiver, sender: 2222, media: 5)
  // The walks the worker's receive path uses (`forEach…`, no arrays).
  Benchmark("RTCP: parse SR+SDES and read the sender info") { benchmark in
    sender.withUnsafeBytes { bytes in
      for _ in benchmark.scaledIterations {
        Rtcp.forEachPacket(bytes) { header in blackHole(Rtcp.senderInfo(bytes, header)) }
      }
    }
  }
  Benchmark("RTCP: parse RR+PLI and read the report blocks and feedback") { benchmark in
    receiver.withUnsafeBytes { bytes in
      for _ in benchmark.scaledIterations {
        Rtcp.forEachPacket(bytes) { header in
          Rtcp.forEachReportBlock(bytes, header) { blackHole($0) }
          blackHole(Rtcp.feedbackSSRCs(bytes, header))
        }
      }
    }
  }

  // SRTP: protect then unprotect of a 1 200-byte packet, in place, for both profiles; the sessions
  // live across samples so that sequence numbers keep rising as on a real stream.
  for profile in SrtpProfile.allCases {
    let key = (0..<profile.masterLength).map { UInt8($0) }
    guard let outbound = try? SrtpSession(profile: profile, key: key, direction: .outbound),
      let inbound = try? SrtpSession(profile: profile, key: key, direction: .inbound)
    else { fatalError("SRTP sessions for \(profile)") }
    let counter = Counter()
    var buffer = [UInt8](repeating: 0, count: 1200 + SrtpSession.maximumOverhead)
    Benchmark("SRTP protect+unprotect 1200 B, \(profile.rawValue)") { benchmark in
      buffer.withUnsafeMutableBytes { out in
        for _ in benchmark.scaledIterations {
          let index = counter.next()
          rtp.withUnsafeBytes { out.copyMemory(from: $0) }
          out[2] = UInt8(truncatingIfNeeded: index >> 8)
          out[3] = UInt8(truncatingIfNeeded: index)
          guard let sealed = try? outbound.protectRTP(out, length: 1200) else { fatalError("protect") }
          blackHole(try? inbound.unprotectRTP(out, length: sealed))
        }
      }
    }
  }

  // The harness's own cost per sample (its allocations are in every forward row below).
  Benchmark(
    "harness: an empty sample",
    configuration: .init(metrics: metrics, scalingFactor: .one, maxDuration: .seconds(1), maxIterations: 20_000)
  ) { benchmark in
    benchmark.startMeasurement()
    blackHole(benchmark.scaledIterations.count)
    benchmark.stopMeasurement()
  }

  // The fan-out step: one incoming SRTP packet from the publisher forwarded to N subscribers.
  // A sample is a batch of 100 incoming packets, made before the measurement starts (the client's
  // cost); its allocation count divided by 100 × N is the allocations per forwarded packet.
  for subscribers in [1, 10, 100] {
    let rig = LazyRig(subscribers: subscribers)
    Benchmark(
      "forward 1 → \(subscribers), per \(LazyRig.batch) incoming",
      configuration: .init(metrics: metrics, scalingFactor: .one, maxDuration: .seconds(1), maxIterations: 20_000)
    ) { benchmark in
      let rig = rig.ready()
      try? rig.prepare(count: LazyRig.batch)
      benchmark.startMeasurement()
      let forwarded = rig.forwardPrepared()
      benchmark.stopMeasurement()
      if forwarded != LazyRig.batch * subscribers {
        fatalError("forwarded \(forwarded) of \(LazyRig.batch * subscribers)")
      }
    }
  }
}

/// A running packet index.
final class Counter: @unchecked Sendable {
  private var value = 0
  func next() -> Int {
    value += 1
    return value
  }
}

/// A `ForwardingRig` made on first use (the benchmark binary registers every benchmark, even the
/// ones a filter skips) and warmed up: the first key frame and the consumers' first packets.
final class LazyRig: @unchecked Sendable {
  static let batch = 100
  let subscribers: Int
  private var rig: ForwardingRig?

  init(subscribers: Int) { self.subscribers = subscribers }

  func ready() -> ForwardingRig {
    if let rig { return rig }
    guard let made = try? ForwardingRig(subscribers: subscribers) else { fatalError("forwarding rig") }
    try? made.prepare(count: Self.batch)
    made.forwardPrepared()
    rig = made
    return made
  }
}
