public import AMQPRPC
public import ErizoCore
internal import ErizoWire
internal import Foundation
internal import Synchronization

/// A way to make buses that behave like separate processes on one broker.
public protocol BusMaker: Sendable {
  func makeBus() -> (MessageBus, any BusTransport)
}

public struct InProcessBusMaker: BusMaker {
  let broker = InProcessBroker()
  public init() {}
  public func makeBus() -> (MessageBus, any BusTransport) {
    let transport = InProcessTransport(broker: broker)
    return (MessageBus(transport: transport, logger: testLogger("bus")), transport)
  }
}

public struct RabbitMQBusMaker: BusMaker {
  let endpoint: AMQPEndpoint
  let heartbeat: Int
  public init(endpoint: AMQPEndpoint, heartbeat: Int = 8) {
    self.endpoint = endpoint
    self.heartbeat = heartbeat
  }
  public func makeBus() -> (MessageBus, any BusTransport) {
    let transport = RabbitMQTransport(
      options: .init(endpoint: endpoint, heartbeat: heartbeat, maximumReconnectDelay: .milliseconds(500)),
      logger: testLogger("bus"))
    return (MessageBus(transport: transport, logger: testLogger("bus")), transport)
  }
}

/// A failed expectation inside a scenario.
public struct ConformanceFailure: Error, CustomStringConvertible {
  public let description: String
  public init(description: String) { self.description = description }
}

func check(_ condition: Bool, _ message: @autoclosure () -> String) throws {
  if !condition { throw ConformanceFailure(description: message()) }
}

/// The behaviour every bus implementation must show (spec §6), run against the in-process broker
/// by the unit tests and against rabbitmq-server by the integration tests.
public enum BusConformance {
  static func uniqueName(_ prefix: String) -> String { "\(prefix)_\(UUID().uuidString.prefix(8))" }

  /// Waits until a queue served by `server` is routable from `client` (RabbitMQ declares asynchronously).
  public static func waitRoutable(_ client: MessageBus, _ target: String) async throws {
    let deadline = ContinuousClock.now + .seconds(10)
    while ContinuousClock.now < deadline {
      if (try? await client.call(target, method: "__ping", args: nil, timeout: .milliseconds(300))) != nil { return }
    }
    throw ConformanceFailure(description: "\(target) never became routable")
  }

  /// Call and reply with array args, a reply without data, and the reply carrying any JSON.
  public static func callAndReply(_ maker: some BusMaker) async throws {
    let (server, _) = maker.makeBus()
    let (client, _) = maker.makeBus()
    let queue = uniqueName("erizoController")
    await server.serve(queue: queue) { request in
      switch request.method {
      case "echo": .data(["method": .string(request.method), "args": request.args ?? .null])
      case "nothing": .data(nil)
      default: .data("pong")
      }
    }
    try await withRunningBuses([server, client]) { _ in
      try await waitRoutable(client, queue)
      let args: JSONValue = ["room1", 42, ["nested": [true, .null, 1.5]]]
      let reply = try await client.call(queue, method: "echo", args: args, timeout: .seconds(5))
      try check(reply == ["method": "echo", "args": args], "echo reply was \(reply)")
      let empty = try await client.call(queue, method: "nothing", args: [], timeout: .seconds(5))
      try check(empty == .null, "a reply without data should read as null, got \(empty)")
    }
  }

  /// Nuve targets take one value as `args` (not an array), or none at all (spec §6).
  public static func singleValueArgs(_ maker: some BusMaker) async throws {
    let (server, _) = maker.makeBus()
    let (client, _) = maker.makeBus()
    let queue = uniqueName("nuveQueue")
    let routingKey = uniqueName("nuve")
    let seen = Mutex<[JSONValue?]>([])
    await server.serve(queue: queue, routingKey: routingKey) { request in
      if request.method != "__ping" { seen.withLock { $0.append(request.args) } }
      return .data(request.args ?? "undefined")
    }
    try await withRunningBuses([server, client]) { _ in
      try await waitRoutable(client, routingKey)
      let token = try await client.call(routingKey, method: "deleteToken", args: "5f97aa55aa55aa55aa55aa55")
      try check(token == "5f97aa55aa55aa55aa55aa55", "single string arg came back as \(token)")
      let object = try await client.call(routingKey, method: "setInfo", args: ["id": "ec1", "state": 2])
      try check(object == ["id": "ec1", "state": 2], "single object arg came back as \(object)")
      let none = try await client.call(routingKey, method: "getErizoControllers", args: nil)
      try check(none == "undefined", "omitted args should reach the handler as nil, got \(none)")
      let recorded = seen.withLock { $0 }
      try check(
        recorded == [.string("5f97aa55aa55aa55aa55aa55"), ["id": "ec1", "state": 2], nil],
        "handler saw \(recorded)")
    }
  }

  /// A broadcast reaches every subscriber; collecting returns every reply within the window.
  public static func broadcastToThree(_ maker: some BusMaker) async throws {
    let topic = uniqueName("ErizoAgent")
    let fired = Mutex(0)
    var servers: [MessageBus] = []
    for index in 0..<3 {
      let (server, _) = maker.makeBus()
      await server.subscribe(topic: topic) { request in
        if request.method == "deleteUser" { fired.withLock { $0 += 1 } }
        return .data(["agent": .int(index), "args": request.args ?? .null])
      }
      servers.append(server)
    }
    let (client, _) = maker.makeBus()
    try await withRunningBuses(servers + [client]) { _ in
      // Subscriptions are declared asynchronously on RabbitMQ: wait until all three answer.
      var replies: [JSONValue] = []
      let deadline = ContinuousClock.now + .seconds(10)
      while replies.count < 3, ContinuousClock.now < deadline {
        replies = try await client.broadcastCollecting(
          topic: topic, method: "getErizoAgents", args: [], window: .milliseconds(500))
      }
      try check(replies.count == 3, "expected 3 replies, got \(replies.count)")
      replies = try await client.broadcastCollecting(
        topic: topic, method: "getErizoAgents", args: ["x"], window: .seconds(1))
      let agents = Set(replies.compactMap { $0["agent"]?.intValue })
      try check(agents == [0, 1, 2], "replies came from \(agents)")
      try check(replies.allSatisfy { $0["args"] == ["x"] }, "broadcast args arrive as an array: \(replies)")
      try await client.broadcast(topic: topic, method: "deleteUser", args: ["room", "client"])
      let allFired = await eventually(timeout: .seconds(5)) { fired.withLock { $0 } == 3 }
      try check(allFired, "fire-and-forget broadcast reached \(fired.withLock { $0 }) of 3 subscribers")
    }
  }

  /// Nobody serving, or a handler that never answers: a typed timeout, on time.
  public static func timeout(_ maker: some BusMaker) async throws {
    let (server, _) = maker.makeBus()
    let (client, _) = maker.makeBus()
    let queue = uniqueName("silent")
    await server.serve(queue: queue) { request in request.method == "__ping" ? .data(nil) : .none }
    try await withRunningBuses([server, client]) { _ in
      try await waitRoutable(client, queue)
      for target in [uniqueName("nobody"), queue] {
        let started = ContinuousClock.now
        do {
          _ = try await client.call(target, method: "getUsersInRoom", args: ["r"], timeout: .milliseconds(400))
          throw ConformanceFailure(description: "a call to \(target) was answered")
        } catch let error as ErizoError {
          let elapsed = ContinuousClock.now - started
          try check(error.code == .rpcTimeout, "expected rpc.timeout, got \(error)")
          try check(
            elapsed >= .milliseconds(390) && elapsed < .seconds(3), "timeout after \(elapsed), expected about 400 ms")
        }
      }
      try check(client.pendingCount == 0, "timed-out calls must leave no pending entry")
    }
  }

  /// 1000 concurrent calls are all answered, each with its own result.
  public static func thousandConcurrentCalls(_ maker: some BusMaker) async throws {
    let (server, _) = maker.makeBus()
    let (client, _) = maker.makeBus()
    let queue = uniqueName("ErizoAgent")
    await server.serve(queue: queue) { request in
      guard let value = request.positionalArgs.first?.intValue else { return .data(nil) }
      return .data(.int(value * 2))
    }
    try await withRunningBuses([server, client]) { _ in
      try await waitRoutable(client, queue)
      let results = try await withThrowingTaskGroup(of: (Int, JSONValue).self) { group in
        for index in 0..<1000 {
          group.addTask {
            (index, try await client.call(queue, method: "double", args: [.int(index)], timeout: .seconds(30)))
          }
        }
        var results: [Int: JSONValue] = [:]
        for try await (index, value) in group { results[index] = value }
        return results
      }
      try check(results.count == 1000, "answered \(results.count) of 1000")
      let wrong = results.filter { $0.value != .int($0.key * 2) }
      try check(
        wrong.isEmpty, "\(wrong.count) calls got another call's result, e.g. \(wrong.first.map { "\($0)" } ?? "")")
    }
  }

  /// Two servers on one queue share its calls (the reference's shared `ErizoAgent` queue).
  public static func competingServers(_ maker: some BusMaker) async throws {
    let queue = uniqueName("ErizoAgent")
    var servers: [MessageBus] = []
    for index in 0..<2 {
      let (server, _) = maker.makeBus()
      await server.serve(queue: queue) { _ in .data(.int(index)) }
      servers.append(server)
    }
    let (client, _) = maker.makeBus()
    try await withRunningBuses(servers + [client]) { _ in
      try await waitRoutable(client, queue)
      // Both consumers must be attached before counting.
      try await Task.sleep(for: .milliseconds(300))
      var answeredBy: [Int: Int] = [:]
      for _ in 0..<40 {
        let who = try await client.call(queue, method: "getWorkerInfo", args: [])
        answeredBy[who.intValue ?? -1, default: 0] += 1
      }
      try check(answeredBy.keys.sorted() == [0, 1], "calls were answered by \(answeredBy)")
    }
  }

  /// Bad input on the bus: garbage bodies, wrong envelope shapes, unknown methods and replies for
  /// unknown corrIDs are dropped or answered, and the process keeps serving.
  public static func badInputIsSurvived(_ maker: some BusMaker) async throws {
    let (server, serverTransport) = maker.makeBus()
    let (client, _) = maker.makeBus()
    let queue = uniqueName("nuveQueue")
    var table = RPCMethodTable()
    table.on("__ping") { _ in .data(nil) }
    table.on("keepAlive") { _ in .data("ok") }
    await server.serve(queue: queue, handler: table.handler(logger: testLogger()))
    try await withRunningBuses([server, client]) { _ in
      try await waitRoutable(client, queue)
      for body in ["not json", "[1,2]", "{\"method\":5}", "{\"args\":[]}", "{\"corrID\":\"x\",\"method\":\"a\"}", ""] {
        try serverTransport.publish(exchange: BusTopology.rpcExchange, routingKey: queue, body: Array(body.utf8))
      }
      // A reply nobody waits for, and a malformed reply, sent to the client's reply queue.
      if let replyQueue = client.replyQueueName {
        try serverTransport.publish(
          exchange: BusTopology.rpcExchange, routingKey: replyQueue,
          body: BusEnvelope.reply(data: "stray", correlationID: 987_654).serialized())
        try serverTransport.publish(
          exchange: BusTopology.rpcExchange, routingKey: replyQueue, body: Array("{oops".utf8))
      }
      let unknown = try await client.call(queue, method: "noSuchMethod", args: [])
      try check(
        unknown == RPCMethodTable.unknownMethodReply("noSuchMethod"), "unknown method answered with \(unknown)")
      let alive = try await client.call(queue, method: "keepAlive", args: "ec1")
      try check(alive == "ok", "the server stopped answering after bad input: \(alive)")
    }
  }

  public static func all(_ maker: some BusMaker) async throws {
    try await callAndReply(maker)
    try await singleValueArgs(maker)
    try await broadcastToThree(maker)
    try await timeout(maker)
    try await thousandConcurrentCalls(maker)
    try await competingServers(maker)
    try await badInputIsSurvived(maker)
  }
}
