import ErizoCore
import Foundation
import Testing

/// The worker's close paths leak nothing (issue 6, spec §8 item 5): `erizo-bench memory` makes,
/// connects (ICE, DTLS, SRTP), uses and closes rounds of a publisher and 10 subscribers on one media
/// engine, in its own process, and reads the heap in use after each round.
@Suite("media worker memory across closed transports")
struct WorkerMemoryProcessTests {
  @Test(.timeLimit(.minutes(2)))
  func closingTransportsGivesBackWhatTheyTook() throws {
    let process = Process()
    process.executableURL = ErizoProcessTests.binDirectory.appendingPathComponent("erizo-bench")
    process.arguments = ["memory", "--rounds", "40", "--warmup", "10", "--subscribers", "10"]
    let output = Pipe()
    process.standardOutput = output
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    #expect(process.terminationStatus == 0)
    let result = try JSONValue(parsing: Array(data))
    let start = try #require(result["heapAfterWarmup"]?.intValue)
    let end = try #require(result["heapAtEnd"]?.intValue)
    // 40 rounds of 11 transports: one transport left behind (its DTLS and SRTP state alone are tens
    // of KiB) would show as megabytes; what is left is the allocator's bookkeeping settling.
    #expect(end - start < 64 * 1024, "heap grew \(end - start) bytes over 440 closed transports: \(result)")
  }
}
