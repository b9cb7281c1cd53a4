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

  /// Range mode (a port per transport), single-port mode (one shared port per worker), and range
  /// mode over TCP: `forceTcp` transports, which aiortc reaches through an ICE-TCP shim of ours for
  /// aioice (Fixtures/aioice_tcp.py; aiortc itself does UDP only).
  @Test(
    .enabled(if: ready, "runs in the media pass (TEST_MEDIA=1, scripts/test)"), .timeLimit(.minutes(4)),
    arguments: ["e2e", "e2e-single-port", "e2e-tcp"])
  func publisherToSubscriberThroughEveryRole(scenario: String) throws {
    let result = try Self.runInNamespace(
      "media_scenario.sh", [ErizoProcessTests.binDirectory.path, Self.python, scenario])
    let ports = result["ports"]?.arrayValue?.compactMap(\.intValue) ?? []
    if scenario == "e2e-single-port" {
      #expect(ports.count == 2 && ports[0] == ports[1] && (40000...40001).contains(ports[0]), "one port: \(result)")
    } else {
      #expect(ports.count == 2 && ports[0] != ports[1], "a port per transport: \(result)")
    }
    if scenario == "e2e-tcp" {
      #expect(result["protocols"] == ["tcp"], "forceTcp: passive TCP candidates only: \(result)")
    } else {
      #expect(result["protocols"]?.arrayValue?.contains("udp") == true, "\(result)")
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

  /// The distributed deployment (issue 8): `scripts/run-cluster` starts its own RabbitMQ node, the
  /// MongoDB wire server, Nuve, two controllers and two agents as separate processes; the same
  /// pymediasoup publisher and subscriber meet through the controller Nuve chose for the room.
  @Test(.enabled(if: ready, "runs in the media pass (TEST_MEDIA=1, scripts/test)"), .timeLimit(.minutes(4)))
  func publisherToSubscriberThroughTheDistributedCluster() throws {
    let result = try Self.runInNamespace(
      "cluster_scenario.sh", [ErizoProcessTests.binDirectory.path, Self.python])
    #expect(result["errors"] == [], "\(result)")
    let controller = result["controller"]?.stringValue ?? ""
    #expect(controller == "127.0.0.1:8080" || controller == "127.0.0.1:8081", "\(result)")
    #expect(result["consumers"] == ["audio", "video"], "\(result)")
    #expect(result["video_flowing"] == true && result["audio_flowing"] == true, "\(result)")
    #expect(result["paused_event"] == true && result["frames_while_paused"] == 0, "\(result)")
    #expect(result["resumed_event"] == true && result["resumed"] == true, "\(result)")
    #expect(result["closed_consumers"] == true && result["peer_closed"] == true, "\(result)")
  }

  /// WHIP and WHEP (issue 8): an aiortc publisher posts its offer to `/whip`, an aiortc player to
  /// `/whep`, and the player decodes the publisher's video and audio; a pymediasoup Socket.IO peer in
  /// the same room sees the WHIP peer, consumes and decodes it, and hears `peerClosed` after the
  /// DELETE. Before that, the endpoint's refusals, none of which may use a token up; and a publisher
  /// that vanishes without DELETE is ended by the controller.
  @Test(.enabled(if: ready, "runs in the media pass (TEST_MEDIA=1, scripts/test)"), .timeLimit(.minutes(4)))
  func whipPublisherAndWhepPlayerMeetSocketIOPeers() throws {
    let result = try Self.runInNamespace(
      "media_scenario.sh", [ErizoProcessTests.binDirectory.path, Self.python, "whip-whep"])
    #expect(result["errors"] == [], "\(result)")
    let refusals = result["refusals"] ?? .null
    #expect(refusals["no_token"] == 401 && refusals["bad_signature"] == 401, "\(refusals)")
    #expect(refusals["wrong_type"] == 415, "\(refusals)")
    #expect(refusals["no_fingerprint"]?.arrayValue?.first == 400, "\(refusals)")
    #expect(refusals["no_fingerprint"]?.arrayValue?.last?.stringValue?.contains("fingerprint") == true, "\(refusals)")
    #expect(refusals["garbage"]?.arrayValue?.first == 400, "\(refusals)")
    #expect(refusals["delete_unknown"] == 404 && refusals["patch"] == 405, "\(refusals)")
    #expect(refusals["options"] == [204, "*"], "\(refusals)")
    #expect(refusals["whep_sendonly"]?.arrayValue?.first == 400, "\(refusals)")
    // The token survived every refusal above, and is single use after it worked.
    #expect(result["whip_status"] == 201 && result["whip_answer_lite"] == true, "\(result)")
    #expect(result["whip_location"]?.stringValue?.hasPrefix("/whip/") == true, "\(result)")
    #expect(result["token_reused"] == 401, "\(result)")
    #expect(result["watcher_saw_peer"] == true && result["watcher_consumers"] == 2, "\(result)")
    #expect(result["whep_status"] == 201 && result["whep_sendonly_sections"] == 2, "\(result)")
    #expect(result["whep_video_flowing"] == true, "at least 60 decoded WHEP video frames: \(result)")
    #expect(result["whep_audio_flowing"] == true, "WHEP audio frames: \(result)")
    #expect((result["watcher_video_frames"]?.intValue ?? 0) >= 30, "the Socket.IO peer decodes WHIP video: \(result)")
    #expect(result["whip_delete"] == 200 && result["watcher_peer_closed"] == true, "\(result)")
    #expect(result["whep_delete"] == 200 && result["whep_delete_again"] == 404, "\(result)")
    // A publisher that never connects is ended after 30 s without ICE (5 s checks), not kept forever.
    #expect(result["ghost_status"] == 201 && result["ghost_expired"] == true, "\(result)")
    #expect((result["ghost_seconds"]?.intValue ?? 0) >= 25, "not before its ICE had a chance: \(result)")
  }

  /// The browser demo (issue 8): two headless Chromium windows open `http://127.0.0.1:8080/`, join
  /// one room with fake camera and microphone, and each decodes the other's video (framesDecoded
  /// > 30) and receives its audio within 15 s; after one leaves, the other's remote tile goes. The
  /// screenshot of the two-participant room is kept in `.build/test-artifacts/` (the README's
  /// picture is one of these).
  ///
  /// `browser-tcp` (issue 6): the same on workers in single-port mode with every UDP packet to their
  /// ports dropped, as a network that blocks UDP does; Chromium's ICE-TCP reaches the workers' passive
  /// TCP port, and every peer connection's selected pair must be TCP. In both, the publishers'
  /// bandwidth estimates show that the worker's transport-cc feedback and REMB cap reach Chromium.
  @Test(
    .enabled(if: ready, "runs in the media pass (TEST_MEDIA=1, scripts/test)"), .timeLimit(.minutes(3)),
    arguments: ["browser", "browser-tcp"])
  func twoBrowsersSeeAndHearEachOtherOnTheDemoPage(scenario: String) throws {
    let root = ProcessInfo.processInfo.environment["TEST_PYTHON_CLIENTS"] ?? ".venv-clients"
    let python = "\(root)/browser/bin/python"
    try #require(FileManager.default.isExecutableFile(atPath: python), "scripts/python-clients makes \(python)")
    try #require(FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver"), "scripts/install-deps")
    let artifacts = URL(fileURLWithPath: FileManager.default.currentDirectoryPath)
      .appendingPathComponent(".build/test-artifacts")
    try FileManager.default.createDirectory(at: artifacts, withIntermediateDirectories: true)
    let name = scenario == "browser" ? "demo-two-participants.png" : "demo-two-participants-\(scenario).png"
    let screenshot = artifacts.appendingPathComponent(name).path
    try? FileManager.default.removeItem(atPath: screenshot)
    setenv("SCREENSHOT", screenshot, 1)
    defer { unsetenv("SCREENSHOT") }
    let result = try Self.runInNamespace(
      "media_scenario.sh", [ErizoProcessTests.binDirectory.path, python, scenario])
    #expect(result["errors"] == [], "\(result)")
    #expect(result["page_title"] == "Erizo demo room", "\(result)")
    let windows = result["remote_stats"]?.arrayValue ?? []
    let expected: JSONValue = scenario == "browser-tcp" ? "tcp" : "udp"
    #expect(windows.count == 2, "\(result)")
    for remotes in windows {
      #expect(remotes.arrayValue?.count == 1, "each window plays the other: \(result)")
      #expect((remotes.arrayValue?.first?["framesDecoded"]?.intValue ?? 0) > 30, "video decoded: \(result)")
      #expect((remotes.arrayValue?.first?["audioPacketsReceived"]?.intValue ?? 0) > 0, "audio received: \(result)")
      #expect(remotes.arrayValue?.first?["protocol"] == expected, "played over \(expected): \(result)")
    }
    #expect(result["publish_protocols"] == [expected, expected], "published over \(expected): \(result)")
    // Transport-cc (issue 6): on the worker's feedback Chromium's estimate leaves its 300 kbps start
    // (without feedback it stays at 325 kbps) for the 1.5 Mbps the agent's REMB allows, within
    // seconds over UDP; over TCP the delay-based estimate climbs more slowly (one reached only 433 kbps
    // after 10 s on a loaded machine), so there it only has to have left the start.
    let estimates = result["publish_estimates"]?.arrayValue?.compactMap(\.intValue) ?? []
    let least = scenario == "browser-tcp" ? 400_001 : 1_000_001
    #expect(estimates.count == 2 && estimates.allSatisfy { (least...1_500_000).contains($0) }, "\(result)")
    #expect((result["seconds_to_media"]?.doubleValue ?? 99) < 15, "\(result)")
    #expect(result["remote_after_leave"] == 0, "the tile goes when its publisher leaves: \(result)")
    #expect(FileManager.default.fileExists(atPath: screenshot), "screenshot saved: \(result)")
  }

  /// NACK both ways. Downlink: the subscriber loses every 12th video packet on arrival (each
  /// sequence number once); the worker resends each NACKed one from the producer's cache and the
  /// video keeps decoding. Uplink: the publisher's every 12th video packet is never sent; the
  /// worker NACKs the gaps, aiortc resends them on its RTX stream, the worker unwraps them, and
  /// the producer's stream ends with almost nothing lost. pymediasoup's receiving side offers no
  /// RTX, so the downlink resends come on the media stream (downlink RTX is covered by
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
    let uplinkDropped = result["uplink_dropped"]?.intValue ?? 0
    let uplinkResent = result["uplink_resent"]?.intValue ?? 0
    let producer = result["producer_stats"] ?? .null
    #expect(uplinkDropped >= 10, "\(result)")
    #expect(uplinkResent * 10 >= uplinkDropped * 9, "nine in ten gaps are NACKed and resent: \(result)")
    #expect((producer["nackCount"]?.intValue ?? 0) > 0, "\(result)")
    #expect((producer["nackPacketCount"]?.intValue ?? 0) >= uplinkResent, "\(result)")
    #expect(result["uplink_rtx"] == true, "\(result)")
    #expect((producer["packetsRepaired"]?.intValue ?? 0) * 10 >= uplinkDropped * 9, "RTX unwrapped: \(result)")
    // The resent packets fill the stream's gaps: what stays lost is at most the last moments'.
    #expect((producer["packetsLost"]?.intValue ?? 99) * 10 <= uplinkDropped, "\(result)")
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
