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

  static func threadCPU() -> Double { ThreadClock.nanoseconds() }

  /// ns of CPU per protect + unprotect of one packet.
  static func srtpCost(profile: SrtpProfile, packets: Int) throws -> Double {
    let key = (0..<profile.masterLength).map { UInt8($0) }
    let sender = try SrtpSession(profile: profile, key: key, direction: .outbound)
    let receiver = try SrtpSession(profile: profile, key: key, direction: .inbound)
    var plain = [UInt8](repeating: 0, count: 1200)
    plain.withUnsafeMutableBytes { ForwardingRig.writeVP8(into: $0, sequence: 0, key: true, size: 1200) }
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
  /// and `subscribers` consumers of its video (`ErizoTesting.ForwardingRig`).
  static func forwardingCost(subscribers: Int, forwarded: Int) throws -> (Int, Double) {
    let rig = try ForwardingRig(subscribers: subscribers)
    // The publisher's packets are protected before the clock starts (the client's cost is not ours).
    try rig.prepare(count: max(1000, forwarded / subscribers))
    let start = threadCPU()
    let count = rig.forwardPrepared()
    let elapsed = threadCPU() - start
    guard count > 0 else { throw ConformanceFailure(description: "nothing was forwarded") }
    return (count, elapsed / Double(count))
  }
}
