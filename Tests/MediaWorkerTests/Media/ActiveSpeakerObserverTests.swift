import ErizoCore
import ErizoTesting
import Glibc
import Testing

@testable import MediaWorker

@Suite("active speaker observer")
struct ActiveSpeakerObserverTests {
  /// Room noise (−100 dBov) and speech (levels that move between −10 and −30 dBov, as a voice does;
  /// a constant level is taken for the noise floor).
  static let quiet: [UInt8] = [100]
  static let talking: [UInt8] = [10, 30, 18, 25]

  /// Feeds 20 ms packets for `seconds`, each producer's `ssrc-audio-level` values (0 loudest, 127
  /// silent) in turn, evaluating every 300 ms; returns every dominant-speaker change.
  static func speak(
    _ observer: inout ActiveSpeakerObserver, _ levels: [String: [UInt8]], seconds: Double, start: inout Int64,
    clock: ContinuousClock.Instant
  ) -> [String] {
    changes(&observer, levels, seconds: seconds, start: &start, clock: clock).map(\.producerID)
  }

  /// The same, with the time of each change in milliseconds since the call.
  static func changes(
    _ observer: inout ActiveSpeakerObserver, _ levels: [String: [UInt8]], seconds: Double, start: inout Int64,
    clock: ContinuousClock.Instant
  ) -> [(producerID: String, afterMs: Int64)] {
    var changes: [(String, Int64)] = []
    let begin = start
    let end = start + Int64(seconds * 1000)
    var packet = 0
    while start < end {
      start += 20
      for (producer, values) in levels.sorted(by: { $0.key < $1.key }) {
        observer.record(producer, level: values[packet % values.count], nowMs: start)
      }
      packet += 1
      if let change = observer.evaluate(now: clock + .milliseconds(start), nowMs: start) {
        changes.append((change, start - begin))
      }
    }
    return changes
  }

  @Test func theOnlySpeakerIsDominantAtOnce() {
    let clock = ContinuousClock.now
    var observer = ActiveSpeakerObserver(id: "o", now: clock)
    observer.add("a", nowMs: 0)
    var time: Int64 = 0
    #expect(Self.speak(&observer, ["a": Self.quiet], seconds: 0.4, start: &time, clock: clock) == ["a"])
    #expect(
      Self.speak(&observer, ["a": Self.talking], seconds: 1, start: &time, clock: clock).isEmpty, "no change: no event")
  }

  @Test func whoeverTalksWhileTheDominantIsQuietTakesOver() {
    let clock = ContinuousClock.now
    var observer = ActiveSpeakerObserver(id: "o", now: clock)
    observer.add("a", nowMs: 0)
    observer.add("b", nowMs: 0)
    var time: Int64 = 0
    // Both quiet: the first added is nominated.
    #expect(Self.speak(&observer, ["a": Self.quiet, "b": Self.quiet], seconds: 1, start: &time, clock: clock) == ["a"])
    // b talks while a is quiet: b takes over at one of the next two 300 ms evaluations.
    let takeover = Self.changes(
      &observer, ["a": Self.quiet, "b": Self.talking], seconds: 3, start: &time, clock: clock)
    #expect(takeover.map(\.producerID) == ["b"])
    #expect((takeover.first?.afterMs ?? 0) <= 600)
    // Both quiet, then both talking alike: nobody beats b by the margins, b stays.
    #expect(Self.speak(&observer, ["a": Self.quiet, "b": Self.quiet], seconds: 2, start: &time, clock: clock).isEmpty)
    #expect(
      Self.speak(&observer, ["a": Self.talking, "b": Self.talking], seconds: 3, start: &time, clock: clock).isEmpty)
    // b falls quiet while a goes on: a takes over.
    #expect(
      Self.speak(&observer, ["a": Self.talking, "b": Self.quiet], seconds: 3, start: &time, clock: clock) == ["a"])
  }

  @Test func pausedProducersAndAPausedObserverDoNotCompete() {
    let clock = ContinuousClock.now
    var observer = ActiveSpeakerObserver(id: "o", now: clock)
    observer.add("a", nowMs: 0)
    observer.add("b", nowMs: 0)
    var time: Int64 = 0
    _ = Self.speak(&observer, ["a": Self.quiet, "b": Self.quiet], seconds: 1, start: &time, clock: clock)
    observer.setPaused("b", true)
    #expect(
      Self.speak(&observer, ["a": Self.quiet, "b": Self.talking], seconds: 3, start: &time, clock: clock).isEmpty)
    observer.setPaused("b", false)
    observer.paused = true
    #expect(
      Self.speak(&observer, ["a": Self.quiet, "b": Self.talking], seconds: 3, start: &time, clock: clock).isEmpty)
    observer.paused = false
    #expect(
      Self.speak(&observer, ["a": Self.quiet, "b": Self.talking], seconds: 3, start: &time, clock: clock) == ["b"])
    observer.remove("b")
    #expect(observer.dominantProducerID == nil && observer.producerIDs == ["a"])
  }

  @Test func scoresFollowThePublishedFormula() {
    #expect(ActiveSpeakerObserver.binomialCoefficient(13, 11) == 78)
    #expect(ActiveSpeakerObserver.binomialCoefficient(10, 0) == 1)
    #expect(ActiveSpeakerObserver.binomialCoefficient(5, 2) == 10)
    // log C(13,11) + 11 log ½ + 2 log ½ − log 0.78 + 0.78 · 11
    let score = ActiveSpeakerObserver.activityScore(11, n: 13, p: 0.5, lambda: 0.78)
    let expected: Double = log(78.0) + 13 * log(0.5) - log(0.78) + 0.78 * 11
    #expect(abs(score - expected) < 1e-9)
    #expect(ActiveSpeakerObserver.activityScore(0, n: 13, p: 0.5, lambda: 0.78) == 1e-10, "floored")
    var bigs: [UInt8] = [0, 0]
    #expect(ActiveSpeakerObserver.computeBigs([8, 9, 1, 8, 0, 0], &bigs, threshold: 7))
    #expect(bigs == [2, 1])
    #expect(!ActiveSpeakerObserver.computeBigs([8, 9, 1, 8, 0, 0], &bigs, threshold: 7))
  }

  @Test func theEngineReportsTheDominantSpeaker() throws {
    var setup = try MediaEngineTests.Setup()
    let created = setup.core.handle(
      .request(
        id: 500, method: "router.createActiveSpeakerObserver", handlerID: "r",
        data: ["rtpObserverId": "speaker", "interval": 300]))
    #expect(created == [.accepted(id: 500, data: .null)])
    let twice = setup.core.handle(
      .request(
        id: 501, method: "router.createAudioLevelObserver", handlerID: "r", data: ["rtpObserverId": "speaker"]))
    #expect(
      twice == [.rejected(id: 501, error: .error, reason: "an RtpObserver with the same rtpObserverId already exists")])
    _ = setup.produceMicrophone()
    #expect(
      setup.request("rtpObserver.addProducer", "speaker", ["producerId": "mic"]) == .accepted(id: 103, data: .null))
    try setup.publisher.sendRtp(MediaEngineTests.Setup.microphonePacket(seq: 1, level: 20), to: setup.engine)
    setup.engine.outbox.removeAll()
    setup.engine.tick(now: .now + .milliseconds(400))
    #expect(
      setup.engine.outbox.contains(
        .notification(handlerID: "speaker", event: "dominantspeaker", data: ["producerId": "mic"])))
    let dump = setup.request("router.dump", "r")
    guard case .accepted(_, let router)? = dump else {
      throw MediaEngineTests.ConformanceError("\(String(describing: dump))")
    }
    #expect(router["rtpObserverIds"] == ["speaker"])
    #expect(setup.request("rtpObserver.close", "speaker") == .accepted(id: 105, data: .null))
    #expect(setup.engine.speakerObservers.isEmpty && setup.engine.producers["mic"]?.observerIDs.isEmpty == true)
  }
}
