// COpenSSL: in some builds clang attributes timespec/timeval (from <sys/time.h>) to it.
internal import COpenSSL
internal import ErizoCore
internal import Glibc

/// The worker's object registry and request dispatch (milestone M0 of media-worker spec §9): the
/// worker's own methods and routers. Sans-IO: a request in, the messages to send back out; the
/// process loop owns the pipes.
public struct WorkerCore {
  public private(set) var settings: WorkerSettings
  public private(set) var routerIDs: [String] = []
  /// Set by `worker.close`: the loop sends the reply and exits.
  public private(set) var closing = false
  let pid: Int
  /// Transports, producers and consumers; nil in a core that serves only M0 (unit tests).
  public let engine: MediaEngine?

  public init(settings: WorkerSettings, pid: Int? = nil, engine: MediaEngine? = nil) {
    self.settings = settings
    self.pid = pid ?? Int(getpid())
    self.engine = engine
  }

  /// The notification the worker sends once it is ready.
  public var runningNotification: ChannelMessage {
    .notification(handlerID: String(pid), event: "running", data: .null)
  }

  /// Handles one message from the parent; returns what to send back (one response per request).
  public mutating func handle(_ message: ChannelMessage) -> [ChannelMessage] {
    guard case .request(let id, let method, let handlerID, let data) = message else {
      return [.log("Wignoring a channel message that is not a request")]
    }
    do {
      return [.accepted(id: id, data: try dispatch(method, handlerID: handlerID, data: data))]
    } catch {
      return [.rejected(id: id, error: error.kind, reason: error.reason)]
    }
  }

  struct RequestError: Error {
    let kind: ChannelMessage.ErrorKind
    let reason: String
    static func type(_ reason: String) -> RequestError { RequestError(kind: .typeError, reason: reason) }
    static func error(_ reason: String) -> RequestError { RequestError(kind: .error, reason: reason) }
  }

  private mutating func dispatch(_ method: String, handlerID: String, data: JSONValue) throws(RequestError)
    -> JSONValue
  {
    switch method {
    case "worker.close":
      closing = true
      return .null
    case "worker.dump":
      // Beyond mediasoup's dump: the packet counters since the process started, which the agent
      // polls for its metrics.
      let counters = engine?.counters ?? MediaEngine.Counters()
      return [
        "counters": [
          "receivedPackets": .int(counters.receivedPackets), "receivedBytes": .int(counters.receivedBytes),
          "forwardedPackets": .int(counters.forwardedPackets), "forwardedBytes": .int(counters.forwardedBytes),
          "droppedPackets": .int(counters.droppedPackets), "malformedPackets": .int(counters.malformedPackets),
          "sendDrops": .int(engine?.sockets.sendDrops ?? 0),
        ],
        "heap": ["inUse": .int(ProcessHeap.inUse), "retainedFree": .int(ProcessHeap.retainedFree)],
        "pid": .int(pid), "webRtcServerIds": .array((engine?.servers.keys.sorted() ?? []).map(JSONValue.string)),
        "routerIds": .array(routerIDs.map(JSONValue.string)),
        "channelMessageHandlers": [
          "channelRequestHandlers": .array(routerIDs.map(JSONValue.string)), "channelNotificationHandlers": [],
        ],
      ]
    case "worker.getResourceUsage":
      return Self.resourceUsage()
    case "worker.updateSettings":
      var updated = settings
      if let level = data["logLevel"] {
        guard let text = level.stringValue, let value = WorkerSettings.LogLevel(rawValue: text) else {
          throw .type("invalid logLevel")
        }
        updated.logLevel = value
      }
      if let tags = data["logTags"] {
        guard let list = tags.arrayValue?.compactMap(\.stringValue), list.count == tags.arrayValue?.count,
          list.allSatisfy(WorkerSettings.knownTags.contains)
        else { throw .type("invalid logTags") }
        updated.logTags = list
      }
      settings = updated
      return .null
    case "worker.createWebRtcServer":
      guard let engine else { throw .error("this worker has no media engine") }
      return try engine.createWebRtcServer(data: data)
    case "worker.closeWebRtcServer":
      guard let engine, let id = data["webRtcServerId"]?.stringValue else { throw .type("missing webRtcServerId") }
      try engine.closeWebRtcServer(id)
      return .null
    case "webRtcServer.dump":
      guard let server = engine?.servers[handlerID] else { throw .error("WebRtcServer not found") }
      return server.dump
    case "worker.createRouter":
      guard let routerID = data["routerId"]?.stringValue, !routerID.isEmpty else { throw .type("missing routerId") }
      guard !routerIDs.contains(routerID) else { throw .error("a Router with the same routerId already exists") }
      routerIDs.append(routerID)
      return .null
    case "worker.closeRouter", "router.close":
      let routerID = method == "router.close" ? handlerID : data["routerId"]?.stringValue ?? ""
      guard let index = routerIDs.firstIndex(of: routerID) else { throw .error("Router not found") }
      routerIDs.remove(at: index)
      engine?.closeRouter(routerID)
      return .null
    case "router.createWebRtcTransport":
      guard routerIDs.contains(handlerID) else { throw .error("Router not found [handlerId:\(handlerID)]") }
      guard let engine else { throw .error("this worker has no media engine") }
      return try engine.createWebRtcTransport(routerID: handlerID, data: data)
    case "router.createAudioLevelObserver", "router.createActiveSpeakerObserver":
      guard routerIDs.contains(handlerID) else { throw .error("Router not found [handlerId:\(handlerID)]") }
      guard let engine else { throw .error("this worker has no media engine") }
      if method == "router.createAudioLevelObserver" {
        return try engine.createAudioLevelObserver(routerID: handlerID, data: data, now: .now)
      }
      return try engine.createActiveSpeakerObserver(routerID: handlerID, data: data, now: .now)
    case _ where method.hasPrefix("rtpObserver."):
      guard let engine else { throw .error("this worker has no media engine") }
      return try engine.handleObserver(method, handlerID, data: data, now: .now)
    case "router.closeTransport":
      guard let engine, let id = data["transportId"]?.stringValue else { throw .type("missing transportId") }
      engine.closeTransport(try engine.transport(id))
      return .null
    case _ where method.hasPrefix("transport."):
      guard let engine else { throw .error("this worker has no media engine") }
      return try engine.handleTransport(method, try engine.transport(handlerID), data: data, now: .now)
    case _ where method.hasPrefix("producer."):
      guard let engine, let producer = engine.producers[handlerID] else {
        throw .error("Producer not found [handlerId:\(handlerID)]")
      }
      return try engine.handleProducer(method, producer)
    case _ where method.hasPrefix("consumer."):
      guard let engine, let consumer = engine.consumers[handlerID] else {
        throw .error("Consumer not found [handlerId:\(handlerID)]")
      }
      return try engine.handleConsumer(method, consumer)
    case "router.dump":
      guard routerIDs.contains(handlerID) else { throw .error("Router not found [handlerId:\(handlerID)]") }
      return [
        "id": .string(handlerID),
        "transportIds": .array(
          (engine?.transports.values.filter { $0.routerID == handlerID }.map(\.id).sorted() ?? []).map(JSONValue.string)
        ),
        "rtpObserverIds": .array(
          (engine?.observerRouters.filter { $0.value == handlerID }.keys.sorted() ?? []).map(JSONValue.string)),
        "mapProducerIdConsumerIds": [:],
        "mapConsumerIdProducerId": [:], "mapProducerIdObservers": [:], "mapDataProducerIdDataConsumerIds": [:],
        "mapDataConsumerIdDataProducerId": [:],
      ]
    default:
      throw .error("unknown method '\(method)'")
    }
  }

  /// The 16 `getrusage` fields mediasoup reports, times in milliseconds.
  static func resourceUsage() -> JSONValue {
    var usage = rusage()
    getrusage(__rusage_who_t(RUSAGE_SELF.rawValue), &usage)
    func milliseconds(_ time: timeval) -> JSONValue { .int(Int(time.tv_sec) * 1000 + Int(time.tv_usec) / 1000) }
    return [
      "ru_utime": milliseconds(usage.ru_utime), "ru_stime": milliseconds(usage.ru_stime),
      "ru_maxrss": .int(Int(usage.ru_maxrss)), "ru_ixrss": .int(Int(usage.ru_ixrss)),
      "ru_idrss": .int(Int(usage.ru_idrss)), "ru_isrss": .int(Int(usage.ru_isrss)),
      "ru_minflt": .int(Int(usage.ru_minflt)), "ru_majflt": .int(Int(usage.ru_majflt)),
      "ru_nswap": .int(Int(usage.ru_nswap)), "ru_inblock": .int(Int(usage.ru_inblock)),
      "ru_oublock": .int(Int(usage.ru_oublock)), "ru_msgsnd": .int(Int(usage.ru_msgsnd)),
      "ru_msgrcv": .int(Int(usage.ru_msgrcv)), "ru_nsignals": .int(Int(usage.ru_nsignals)),
      "ru_nvcsw": .int(Int(usage.ru_nvcsw)), "ru_nivcsw": .int(Int(usage.ru_nivcsw)),
    ]
  }
}
