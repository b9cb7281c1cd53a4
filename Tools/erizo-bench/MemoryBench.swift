import ArgumentParser
import ErizoTesting
import Foundation

/// The worker's close paths as a leak check (docs/BENCHMARKS.md, and a test): rounds of transports
/// made, connected (ICE, DTLS, SRTP), used and closed on one `MediaEngine` (`EngineChurn`), with the
/// heap in use after each round. Prints one JSON line.
struct MemoryBench: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "memory", abstract: "Heap in use across rounds of transports made and closed in the media engine.")

  @Option(help: "Rounds after the warm-up.") var rounds = 30
  @Option(help: "Rounds before the first reading (caches, pools and libraries settle).") var warmup = 5
  @Option(help: "Subscribers per round (plus one publisher).") var subscribers = 10
  @Option(help: "Video packets forwarded per round.") var packets = 300

  func run() throws {
    let churn = try EngineChurn()
    for _ in 0..<warmup { try churn.round(subscribers: subscribers, packets: packets) }
    let start = EngineChurn.heapInUse()
    var readings: [Int] = []
    for _ in 0..<rounds {
      try churn.round(subscribers: subscribers, packets: packets)
      readings.append(EngineChurn.heapInUse())
    }
    let end = readings.last ?? start
    let result: [String: Any] = [
      "rounds": rounds, "subscribers": subscribers, "packets": packets, "heapAfterWarmup": start, "heapAtEnd": end,
      "growthPerRound": (end - start) / max(1, rounds), "readings": readings,
    ]
    let data = try JSONSerialization.data(withJSONObject: result, options: [.sortedKeys])
    print(String(decoding: data, as: UTF8.self))
  }
}
