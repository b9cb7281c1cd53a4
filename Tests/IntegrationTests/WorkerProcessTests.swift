import ErizoCore
import Foundation
import Testing

/// `erizo-worker` as its parent drives it: the framed JSON channel on fds 3 and 4, and the exit when
/// the channel closes.
@Suite("erizo-worker process")
struct WorkerProcessTests {
  static var worker: URL { ErizoProcessTests.binDirectory.appendingPathComponent("erizo-worker") }

  @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: worker.path), "build erizo-worker first"))
  func channelRequestsAndExitOnEOF() throws {
    let output = try NuveProcessTests.python([NuveProcessTests.fixture("worker_channel.py"), Self.worker.path])
    #expect(output.status == 0, "\(output.text)")
    let result = try JSONValue(parsing: output.text)
    #expect(result["running"]?["event"] == "running")
    #expect(result["create"] == ["id": 1, "accepted": true, "data": .null])
    #expect(result["duplicate"]?["error"] == "Error")
    #expect(result["dump"]?["data"]?["routerIds"] == ["r1"])
    #expect(result["router_dump"]?["data"]?["id"] == "r1")
    #expect(result["unknown"]?["reason"] == "unknown method 'nope.method'")
    #expect(result["exit"] == 0)
  }
}
