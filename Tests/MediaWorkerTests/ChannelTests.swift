import ErizoCore
import Testing

@testable import MediaWorker

@Suite("Worker channel framing and messages")
struct ChannelTests {
  @Test func framesAreLittleEndianLengthPrefixed() {
    #expect(ChannelFraming.frame([0x61, 0x62]) == [2, 0, 0, 0, 0x61, 0x62])
    #expect(ChannelFraming.frame(Array(repeating: 0, count: 0x0102)).prefix(4) == [0x02, 0x01, 0, 0])
  }

  @Test func decoderHandsOutFramesSplitAnywhere() throws {
    let messages: [ChannelMessage] = [
      .request(id: 1, method: "worker.dump", handlerID: "", data: [:]),
      .accepted(id: 1, data: ["pid": 42]),
      .rejected(id: 2, error: .typeError, reason: "missing routerId"),
      .notification(handlerID: "r1", event: "running", data: .null),
      .log("Dchannel ready"),
    ]
    let stream = messages.flatMap(\.frame)
    // Every split point, including byte by byte through the length prefixes.
    for split in [1, 3, 4, 5, 17, stream.count - 1] {
      var decoder = ChannelFraming.Decoder()
      var decoded: [ChannelMessage] = []
      decoder.append(Array(stream[..<split]))
      while let payload = try decoder.next() { decoded.append(try ChannelMessage(payload: payload)) }
      decoder.append(Array(stream[split...]))
      while let payload = try decoder.next() { decoded.append(try ChannelMessage(payload: payload)) }
      #expect(decoded == messages, "split at \(split)")
    }
  }

  @Test func oversizedFramesAreRefused() {
    var decoder = ChannelFraming.Decoder()
    decoder.append([0x01, 0x00, 0x40, 0x00])  // 4 194 305
    #expect(throws: ChannelFraming.FramingError.oversized(4_194_305)) { try decoder.next() }
  }

  @Test func malformedPayloadsAreErrors() {
    #expect(throws: ErizoError.self) { try ChannelMessage(payload: Array("[1]".utf8)) }
    #expect(throws: ErizoError.self) { try ChannelMessage(payload: Array("{\"x\":1}".utf8)) }
    #expect(throws: ErizoError.self) { try ChannelMessage(payload: Array("{".utf8)) }
  }
}

@Suite("Worker core (M0 requests)")
struct WorkerCoreTests {
  @Test func routersAndDumps() {
    var core = WorkerCore(settings: WorkerSettings(), pid: 4242)
    #expect(core.runningNotification == .notification(handlerID: "4242", event: "running", data: .null))
    #expect(
      core.handle(.request(id: 1, method: "worker.createRouter", handlerID: "", data: ["routerId": "r1"]))
        == [.accepted(id: 1, data: .null)])
    #expect(
      core.handle(.request(id: 2, method: "worker.createRouter", handlerID: "", data: ["routerId": "r1"]))
        == [.rejected(id: 2, error: .error, reason: "a Router with the same routerId already exists")])
    #expect(
      core.handle(.request(id: 3, method: "worker.createRouter", handlerID: "", data: [:]))
        == [.rejected(id: 3, error: .typeError, reason: "missing routerId")])
    guard
      case .accepted(_, let dump)? = core.handle(.request(id: 4, method: "worker.dump", handlerID: "", data: .null))
        .first
    else {
      Issue.record("worker.dump was not accepted")
      return
    }
    #expect(dump["pid"] == 4242)
    #expect(dump["routerIds"] == ["r1"])
    guard
      case .accepted(_, let router)? = core.handle(.request(id: 5, method: "router.dump", handlerID: "r1", data: .null))
        .first
    else {
      Issue.record("router.dump was not accepted")
      return
    }
    #expect(router["id"] == "r1")
    #expect(router["transportIds"] == [])
    #expect(
      core.handle(.request(id: 6, method: "router.close", handlerID: "r1", data: .null)) == [
        .accepted(id: 6, data: .null)
      ])
    #expect(
      core.handle(.request(id: 7, method: "router.dump", handlerID: "r1", data: .null))
        == [.rejected(id: 7, error: .error, reason: "Router not found [handlerId:r1]")])
    #expect(
      core.handle(.request(id: 8, method: "nope.connect", handlerID: "t", data: .null))
        == [.rejected(id: 8, error: .error, reason: "unknown method 'nope.connect'")])
    #expect(
      core.handle(.request(id: 9, method: "transport.connect", handlerID: "t", data: .null))
        == [.rejected(id: 9, error: .error, reason: "this worker has no media engine")])
  }

  @Test func settingsAndResourceUsage() {
    var core = WorkerCore(settings: WorkerSettings(), pid: 1)
    #expect(
      core.handle(
        .request(
          id: 1, method: "worker.updateSettings", handlerID: "", data: ["logLevel": "debug", "logTags": ["ice"]]))
        == [.accepted(id: 1, data: .null)])
    #expect(core.settings.logLevel == .debug)
    #expect(core.settings.logTags == ["ice"])
    #expect(
      core.handle(.request(id: 2, method: "worker.updateSettings", handlerID: "", data: ["logTags": ["nope"]]))
        == [.rejected(id: 2, error: .typeError, reason: "invalid logTags")])
    #expect(core.settings.logTags == ["ice"], "a refused update changes nothing")
    guard
      case .accepted(_, let usage)? = core.handle(
        .request(id: 3, method: "worker.getResourceUsage", handlerID: "", data: .null)
      ).first
    else {
      Issue.record("getResourceUsage was not accepted")
      return
    }
    #expect(usage.objectValue?.count == 16)
    #expect((usage["ru_maxrss"]?.intValue ?? 0) > 0)
    #expect(
      core.handle(.request(id: 4, method: "worker.close", handlerID: "", data: .null)) == [
        .accepted(id: 4, data: .null)
      ])
    #expect(core.closing)
  }
}
