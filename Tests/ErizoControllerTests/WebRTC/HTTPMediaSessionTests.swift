import ErizoCore
import ORTC
import Testing

@testable import ErizoController

@Suite("WHEP sessions take the consumers that fit their offer")
struct HTTPMediaSessionTests {
  static func newConsumer(_ id: String, kind: String, peer: String = "peer-a") -> JSONValue {
    let mime = kind == "video" ? "video/VP8" : "audio/opus"
    var codec: JSONValue = ["mimeType": .string(mime), "payloadType": 96, "clockRate": kind == "video" ? 90000 : 48000]
    if kind == "audio", case .object(var object) = codec {
      object["channels"] = 2
      codec = .object(object)
    }
    return [
      "data": [
        "id": .string(id), "kind": .string(kind), "peerId": .string(peer), "producerId": "p",
        "rtpParameters": ["codecs": [codec], "encodings": [["ssrc": 1111]]],
      ]
    ]
  }

  @Test func eachSectionGetsOneConsumerOfItsKindUntilTheAnswer() async {
    let session = HTTPMediaSession(
      kind: .whep, id: "s", roomID: "r", slots: [.init(index: 0, kind: .video), .init(index: 1, kind: .audio)])
    #expect(await session.agentEvent("newConsumer", Self.newConsumer("v1", kind: "video"))["event"] == "success")
    // A second video producer finds no free video section: refused, so it stays paused.
    #expect(await session.agentEvent("newConsumer", Self.newConsumer("v2", kind: "video"))["event"] == "error")
    #expect(await session.agentEvent("newConsumer", Self.newConsumer("a1", kind: "audio"))["event"] == "success")
    let slots = await session.settle(first: .milliseconds(10), quiet: .milliseconds(10))
    #expect(slots.map { $0.consumer?.consumerID } == ["v1", "a1"])
    // Other events are acknowledged; after the answer no consumer is taken any more.
    #expect(await session.agentEvent("consumerScore", ["data": [:]])["event"] == "success")
    #expect(await session.agentEvent("newConsumer", Self.newConsumer("v3", kind: "video"))["event"] == "error")
  }

  @Test func aPeerFilterAndAWhipSessionRefuseWhatIsNotTheirs() async {
    let filtered = HTTPMediaSession(
      kind: .whep, id: "s", roomID: "r", slots: [.init(index: 0, kind: .video)], peerFilter: "peer-b")
    #expect(await filtered.agentEvent("newConsumer", Self.newConsumer("v1", kind: "video"))["event"] == "error")
    #expect(
      await filtered.agentEvent("newConsumer", Self.newConsumer("v2", kind: "video", peer: "peer-b"))["event"]
        == "success")
    let whip = HTTPMediaSession(kind: .whip, id: "w", roomID: "r")
    #expect(await whip.agentEvent("newConsumer", Self.newConsumer("v1", kind: "video"))["event"] == "error")
    let malformed: JSONValue = ["data": ["id": "x", "kind": "video", "rtpParameters": ["codecs": "no"]]]
    #expect(await filtered.agentEvent("newConsumer", malformed)["event"] == "error")
  }

  @Test func settleGivesUpWhenNothingArrives() async {
    let session = HTTPMediaSession(kind: .whep, id: "s", roomID: "r", slots: [.init(index: 0, kind: .video)])
    let started = ContinuousClock.now
    let slots = await session.settle(first: .milliseconds(100), quiet: .milliseconds(10))
    #expect(slots.allSatisfy { $0.consumer == nil })
    #expect(ContinuousClock.now - started >= .milliseconds(100))
  }

  /// A loaded agent may take seconds to make the consumers: with the number of producers known,
  /// the session waits for them instead of answering after the first pause.
  @Test func settleWaitsForTheExpectedConsumers() async {
    let session = HTTPMediaSession(
      kind: .whep, id: "s", roomID: "r", slots: [.init(index: 0, kind: .video), .init(index: 1, kind: .audio)])
    let late = Task {
      try? await Task.sleep(for: .milliseconds(400))
      _ = await session.agentEvent("newConsumer", Self.newConsumer("v1", kind: "video"))
      try? await Task.sleep(for: .milliseconds(400))
      _ = await session.agentEvent("newConsumer", Self.newConsumer("a1", kind: "audio"))
    }
    let slots = await session.settle(
      expecting: 2, first: .milliseconds(100), quiet: .milliseconds(100), limit: .seconds(5))
    await late.value
    #expect(slots.map { $0.consumer?.consumerID } == ["v1", "a1"], "both, though each came after a pause")

    // Expecting more than the sections hold: done once they are full; expecting what never comes:
    // the limit ends it.
    let one = HTTPMediaSession(kind: .whep, id: "t", roomID: "r", slots: [.init(index: 0, kind: .video)])
    _ = await one.agentEvent("newConsumer", Self.newConsumer("v1", kind: "video"))
    #expect(await one.settle(expecting: 3, limit: .seconds(5)).map { $0.consumer?.consumerID } == ["v1"])
    let none = HTTPMediaSession(kind: .whep, id: "u", roomID: "r", slots: [.init(index: 0, kind: .video)])
    let started = ContinuousClock.now
    #expect(await none.settle(expecting: 1, first: .milliseconds(10), limit: .milliseconds(300)).first?.consumer == nil)
    #expect(ContinuousClock.now - started >= .milliseconds(300))
  }

  @Test(arguments: [
    ("demo", true), ("Room 7_b-c", true), ("", false), (String(repeating: "x", count: 65), false), ("a/b", false),
    ("<script>", false),
  ])
  func demoNamesAreChecked(name: String, valid: Bool) {
    #expect(DemoEndpoint.isValidName(name, maximum: 64) == valid)
  }
}
