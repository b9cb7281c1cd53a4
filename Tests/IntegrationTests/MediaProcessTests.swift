import ErizoCore
import ErizoTesting
import Foundation
import Testing

/// Real WebRTC peers end to end: a pymediasoup (aiortc) publisher and subscriber speak the
/// mediasoup-signal protocol to `erizo all` — controller, agent and its `erizo-worker`s — inside a
/// network namespace that has only `lo` (ENVIRONMENT.md's rule for every test that moves media).
@Suite("media end to end (pymediasoup, loopback-only namespace)", .serialized)
struct MediaProcessTests {
  static var python: String {
    let root = ProcessInfo.processInfo.environment["TEST_PYTHON_CLIENTS"] ?? ".venv-clients"
    return "\(root)/media/bin/python"
  }
  /// Real WebRTC peers encode and decode video in Python and take most of a small machine, so these
  /// tests run in a pass of their own (`TEST_MEDIA=1`, scripts/test) instead of beside the others.
  static var ready: Bool {
    ProcessInfo.processInfo.environment["TEST_MEDIA"] == "1" && FileManager.default.isExecutableFile(atPath: python)
      && FileManager.default.isExecutableFile(atPath: "/usr/bin/unshare")
  }

  /// Runs a fixture script inside `unshare --net` and returns its last JSON line.
  static func runInNamespace(_ script: String, _ arguments: [String]) throws -> JSONValue {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/unshare")
    // Root makes the namespace directly; anyone else through a user namespace.
    let isolation = getuid() == 0 ? ["--net"] : ["--user", "--map-root-user", "--net"]
    process.arguments = isolation + ["--", "bash", NuveProcessTests.fixture(script)] + arguments
    var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("ERIZO_") }
    environment["PYTHONUNBUFFERED"] = "1"
    process.environment = environment
    let output = Pipe()
    let errors = Pipe()
    process.standardOutput = output
    process.standardError = errors
    try process.run()
    let data = output.fileHandleForReading.readDataToEndOfFile()
    let diagnostics = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    let lines = String(decoding: data, as: UTF8.self).split(separator: "\n")
    guard let last = lines.last(where: { $0.hasPrefix("{") }), let json = try? JSONValue(parsing: Array(last.utf8))
    else {
      throw ConformanceFailure(description: "no result from \(script): \(lines.suffix(5)) \(diagnostics.suffix(2000))")
    }
    return json
  }

  /// Range mode (a port per transport) and single-port mode (one shared port per worker).
  @Test(
    .enabled(if: ready, "runs in the media pass (TEST_MEDIA=1, scripts/test)"), .timeLimit(.minutes(4)),
    arguments: ["e2e", "e2e-single-port"])
  func publisherToSubscriberThroughEveryRole(scenario: String) throws {
    let result = try Self.runInNamespace(
      "media_scenario.sh", [ErizoProcessTests.binDirectory.path, Self.python, scenario])
    let ports = result["ports"]?.arrayValue?.compactMap(\.intValue) ?? []
    if scenario == "e2e-single-port" {
      #expect(ports.count == 2 && ports[0] == ports[1] && (40000...40001).contains(ports[0]), "one port: \(result)")
    } else {
      #expect(ports.count == 2 && ports[0] != ports[1], "a port per transport: \(result)")
    }
    #expect(result["errors"] == [], "\(result)")
    #expect(result["consumers"] == ["audio", "video"], "newConsumer for each producer: \(result)")
    #expect(result["video_flowing"] == true, "at least 60 decoded video frames: \(result)")
    #expect(result["audio_flowing"] == true, "audio frames: \(result)")
    #expect(result["active_speaker"] == true, "the tone makes the publisher the active speaker: \(result)")
    #expect((result["consumer_scores"]?.intValue ?? 0) >= 2, "a consumerScore per accepted consumer: \(result)")
    // Loopback loses nothing: both producers and both consumers score 9 or 10 of 10.
    let producerScores = result["producer_scores"]?.arrayValue?.compactMap(\.intValue) ?? []
    let consumerScores = result["last_consumer_scores"]?.arrayValue?.compactMap(\.intValue) ?? []
    #expect(producerScores.count == 2 && producerScores.allSatisfy { $0 >= 9 }, "producerScore events: \(result)")
    #expect(consumerScores.count == 2 && consumerScores.allSatisfy { $0 >= 9 }, "consumerScore events: \(result)")
    #expect(result["paused_event"] == true && result["frames_while_paused"] == 0, "pause stops frames: \(result)")
    #expect(result["resumed_event"] == true && result["resumed"] == true, "resume restores them: \(result)")
    #expect(result["closed_consumers"] == true && result["peer_closed"] == true, "leaving closes: \(result)")
  }

  /// NACK: the subscriber loses every 12th video packet on arrival (each sequence number once);
  /// the worker resends each NACKed one from the producer's cache and the video keeps decoding.
  /// pymediasoup offers no RTX, so the resends come on the media stream (RTX is covered by
  /// `MediaEngineTests.nackedPacketsGoAgainAsRtx`).
  @Test(.enabled(if: ready, "runs in the media pass (TEST_MEDIA=1, scripts/test)"), .timeLimit(.minutes(3)))
  func nackedVideoIsResent() throws {
    let result = try Self.runInNamespace(
      "media_scenario.sh", [ErizoProcessTests.binDirectory.path, Self.python, "loss"])
    #expect(result["errors"] == [], "\(result)")
    #expect(result["video_flowing"] == true, "90 frames decoded while losing packets: \(result)")
    let dropped = result["dropped"]?.intValue ?? 0
    let recovered = result["recovered"]?.intValue ?? 0
    #expect(dropped >= 10, "\(result)")
    #expect(recovered * 10 >= dropped * 9, "nine in ten lost packets come back: \(result)")
    #expect((result["stats"]?["nackCount"]?.intValue ?? 0) > 0, "\(result)")
    #expect((result["stats"]?["packetsRepaired"]?.intValue ?? 0) >= recovered, "\(result)")
  }

  /// The agent's fault test: SIGKILL to the worker of one of two rooms carrying media.
  @Test(.enabled(if: ready, "runs in the media pass (TEST_MEDIA=1, scripts/test)"), .timeLimit(.minutes(4)))
  func aWorkerKilledMidCallTakesOnlyItsRoom() throws {
    let result = try Self.runInNamespace(
      "media_scenario.sh", [ErizoProcessTests.binDirectory.path, Self.python, "fault"])
    #expect(result["errors"] == [], "\(result)")
    #expect(result["both_flowing"] == true && result["different_workers"] == true, "\(result)")
    #expect(result["replaced"] == true, "\(result)")
    #expect((result["replaced_after"]?.doubleValue ?? 99) < 2, "the dead worker is back within 2 s: \(result)")
    #expect(result["a_notified"] == true, "the dead room's clients are told: \(result)")
    // 3 s at 30 frames/s is 90: the other room does not stall.
    #expect((result["b_frames_after_kill"]?.intValue ?? 0) >= 75, "the other room keeps flowing: \(result)")
    #expect(result["a_again_flowing"] == true, "a new join to the lost room gets media: \(result)")
  }
}
