import AMQPRPC
import ErizoCore
import ErizoTesting
import Foundation
import Synchronization
import Testing

/// The RabbitMQ virtual host of the controller tests, so they never meet the Nuve process tests'
/// processes on the shared `nuve` routing key (created by scripts/test).
let testControllerRabbitMQURL = ProcessInfo.processInfo.environment["TEST_RABBITMQ_CONTROLLER_URL"]

/// A test double of an ErizoAgent on the bus: it answers the placement and the relayed requests
/// the way the reference agent does (spec §7, §4.3), records what it receives, and pushes events
/// to clients through the controller like the agent's `forwordSingleMsgToClient`.
final class AgentDouble: Sendable {
  enum Mode { case normal, silentPlacements, silent }

  struct Request: Sendable {
    let roomID: String
    let clientID: String
    let userName: String
    let method: String
    let data: JSONValue
  }

  let id: String
  let bus: MessageBus
  private struct State {
    var mode = Mode.normal
    var requests: [Request] = []
    var deletedUsers: [(room: String, client: String)] = []
    var controllers: [String: String] = [:]  // room → controller id
    var rooms: Set<String> = []
    var forwardReplies: [JSONValue] = []
  }
  private let state = Mutex(State())

  init(id: String = "agent-\(UUID().uuidString.prefix(8).lowercased())", endpoint: AMQPEndpoint) {
    self.id = id
    bus = RabbitMQBusMaker(endpoint: endpoint).makeBus().0
  }

  var mode: Mode {
    get { state.withLock { $0.mode } }
    set { state.withLock { $0.mode = newValue } }
  }
  var requests: [Request] { state.withLock { $0.requests } }
  var deletedUsers: [(room: String, client: String)] { state.withLock { $0.deletedUsers } }
  var forwardReplies: [JSONValue] { state.withLock { $0.forwardReplies } }
  var roomCount: Int { state.withLock { $0.rooms.count } }
  func hosts(_ room: String) -> Bool { state.withLock { $0.rooms.contains(room) } }

  func start() async {
    let handler: RPCHandler = { [self] request in await handle(request) }
    await bus.serve(queue: "ErizoAgent_\(id)", handler: handler)
    await bus.subscribe(topic: "ErizoAgent", handler: handler)
  }

  private func handle(_ request: RPCRequest) async -> RPCReply {
    let args = request.positionalArgs
    let mode = self.mode
    if mode == .silent { return .none }
    switch request.method {
    case "getErizoAgents":
      return .data([
        "info": [
          "id": .string(id), "rpc_id": .string("ErizoAgent_\(id)"), "ip": "127.0.0.1", "rooms": .int(roomCount),
          "state": 1,
        ],
        "metadata": [:], "stats": ["perc_cpu": 0.1, "perc_mem": 0.2],
      ])
    case "getMediasoupWork":
      guard mode == .normal, let room = args.first?.stringValue, let controller = args.dropFirst().first?.stringValue
      else { return .none }
      state.withLock {
        $0.rooms.insert(room)
        $0.controllers[room] = controller
      }
      return .data(["roomId": .string(room), "agentId": .string(id), "routerId": .string("router-\(room)")])
    case "deleteUser":
      if let room = args.first?.stringValue, let client = args.dropFirst().first?.stringValue {
        state.withLock { $0.deletedUsers.append((room, client)) }
      }
      return .none
    case "handleUserRequest":
      guard args.count == 5, let room = args[0].stringValue, let client = args[1].stringValue,
        let user = args[2].stringValue, let method = args[3].stringValue
      else { return .data(["retEvent": "error", "data": ["errmsg": "ea error!", "errcode": 2000]]) }
      state.withLock {
        $0.requests.append(Request(roomID: room, clientID: client, userName: user, method: method, data: args[4]))
      }
      switch method {
      case "getRouterRtpCapabilities":
        return .data(["retEvent": "success", "data": ["codecs": [], "headerExtensions": []]])
      case "connectWebRtcTransport":
        return .data(["retEvent": "error", "data": ["errmsg": "can't find transport", "errcode": 2003]])
      case "applyNetworkThrottle":
        let allowed: JSONValue = ["retEvent": "success", "data": ["data": [:]]]
        let refused: JSONValue = ["retEvent": "error", "data": ["errmsg": "operation NOT allowed", "errcode": 1002]]
        return .data(args[4]["secret"] == "s3cret" ? allowed : refused)
      case "produce":
        return .data(["retEvent": "success", "data": ["data": ["id": .string("producer-of-\(client)")]]])
      default:
        return .data(["retEvent": "success", "data": ["data": [:]]])
      }
    default:
      return .none
    }
  }

  /// Pushes an event to a client through its room's controller and records the `{event, msg}`
  /// reply, as the agent does for `newConsumer`.
  func push(_ event: String, _ data: JSONValue, to clientID: String, room: String) async throws -> JSONValue {
    let controller = try #require(state.withLock { $0.controllers[room] }, "room \(room) was never placed here")
    let reply = try await bus.call(
      "erizoController_\(controller)", method: "forwordSingleMsgToClient",
      args: [.string(clientID), ["data": data], .string(event)], timeout: .seconds(20))
    state.withLock { $0.forwardReplies.append(reply) }
    return reply
  }
}

/// A python-socketio client process driven one JSON command at a time
/// (Fixtures/socketio_client.py).
final class SocketIOTestClient: Sendable {
  enum Flavour: String, CaseIterable, Sendable, CustomStringConvertible {
    case v4WebSocket = "EIO=4 websocket"
    case v4Polling = "EIO=4 polling then websocket"
    case v4PollingOnly = "EIO=4 polling only"
    case v3WebSocket = "EIO=3 websocket"
    var description: String { rawValue }

    var python: String {
      let root = ProcessInfo.processInfo.environment["TEST_PYTHON_CLIENTS"] ?? ".venv-clients"
      return self == .v3WebSocket ? "\(root)/sio4/bin/python" : "\(root)/sio5/bin/python"
    }
  }

  private let process = Process()
  private let input = Pipe()
  private let output = Pipe()
  private let buffer = Mutex<[UInt8]>([])
  let flavour: Flavour

  /// - Parameter trusting: a PEM certificate the client trusts for https:// and wss:// (for a
  ///   controller with a test certificate).
  init(_ flavour: Flavour, trusting certificate: String? = nil) throws {
    self.flavour = flavour
    process.executableURL = URL(fileURLWithPath: flavour.python)
    process.arguments = [NuveProcessTests.fixture("socketio_client.py")]
    if let certificate {
      var environment = ProcessInfo.processInfo.environment
      environment["SSL_CERT_FILE"] = certificate  // websocket-client (Python's ssl)
      environment["REQUESTS_CA_BUNDLE"] = certificate  // polling (requests)
      process.environment = environment
    }
    process.standardInput = input
    process.standardOutput = output
    process.standardError = FileHandle.nullDevice
    try process.run()
  }

  deinit {
    if process.isRunning { process.terminate() }
  }

  /// Sends a command and waits (off the cooperative pool) for its one-line answer.
  func send(_ command: JSONValue) async throws -> JSONValue {
    input.fileHandleForWriting.write(Data(command.serialized() + [0x0A]))
    let handle = output.fileHandleForReading
    let line: [UInt8] = await withCheckedContinuation { continuation in
      DispatchQueue.global().async { [self] in
        while true {
          if let line = buffer.withLock({ bytes -> [UInt8]? in
            guard let end = bytes.firstIndex(of: 0x0A) else { return nil }
            defer { bytes.removeSubrange(...end) }
            return Array(bytes[..<end])
          }) {
            continuation.resume(returning: line)
            return
          }
          let data = handle.availableData
          if data.isEmpty {
            continuation.resume(returning: Array(#"{"error":"client exited"}"#.utf8))
            return
          }
          buffer.withLock { $0.append(contentsOf: data) }
        }
      }
    }
    return try JSONValue(parsing: line)
  }

  func connect(port: Int, scheme: String = "http") async throws -> JSONValue {
    var command: JSONValue = ["op": "connect", "url": .string("\(scheme)://127.0.0.1:\(port)")]
    switch flavour {
    case .v4Polling:
      command = [
        "op": "connect", "url": .string("\(scheme)://127.0.0.1:\(port)"), "transports": ["polling", "websocket"],
        "wait_upgrade": true,
      ]
    case .v4PollingOnly:
      command = ["op": "connect", "url": .string("\(scheme)://127.0.0.1:\(port)"), "transports": ["polling"]]
    case .v4WebSocket, .v3WebSocket:
      break
    }
    return try await send(command)
  }

  /// Emits `event` with an ack and returns the ack's arguments (`[status, payload]`).
  func call(_ event: String, _ data: JSONValue?, timeout: Int = 20) async throws -> [JSONValue] {
    var command: [String: JSONValue] = ["op": "call", "event": .string(event), "timeout": .int(timeout)]
    if let data { command["data"] = data }
    let answer = try await send(.object(command))
    return try #require(answer["ack"]?.arrayValue, "no ack for \(event): \(answer)")
  }

  func events(until name: String? = nil, wait: Double = 5) async throws -> [(String, JSONValue)] {
    var command: [String: JSONValue] = ["op": "events", "wait": .double(wait)]
    if let name { command["until"] = .string(name) }
    let answer = try await send(.object(command))
    return (answer["events"]?.arrayValue ?? []).compactMap { item in
      guard let pair = item.arrayValue, let name = pair.first?.stringValue else { return nil }
      return (name, pair.count > 1 ? pair[1] : .null)
    }
  }

  func isConnected(waitForDisconnect seconds: Double = 0) async throws -> Bool {
    var command: [String: JSONValue] = ["op": "state"]
    if seconds > 0 { command["wait_disconnect"] = .double(seconds) }
    return try await send(.object(command))["connected"] == .bool(true)
  }
}

/// Nuve and one or more controllers as real processes on the controller tests' virtual host.
struct ControllerCluster {
  let nuve: Process
  let nuvePort: Int
  let superservice: (id: String, key: String)
  let dataDirectory: String

  static func start(nuve extra: [String: String] = [:]) throws -> ControllerCluster {
    let dataDirectory = FileManager.default.temporaryDirectory.appendingPathComponent("ec-\(UUID())").path
    let port = Int.random(in: 20_000..<30_000)
    let superservice = (
      (0..<24).map { _ in String("0123456789abcdef".randomElement()!) }.joined(), "it-controller-key"
    )
    let nuve = try NuveProcessTests.launchNuve(
      store: "sqlite", port: port, dataDirectory: dataDirectory, superservice: superservice,
      extra: extra.merging(["RABBITMQ_URL": testControllerRabbitMQURL!]) { _, new in new })
    return ControllerCluster(nuve: nuve, nuvePort: port, superservice: superservice, dataDirectory: dataDirectory)
  }

  /// Starts `erizo controller`; fast agent polls and short windows keep the tests quick.
  func launchController(port: Int, extra: [String: String] = [:]) throws -> Process {
    var environment = ProcessInfo.processInfo.environment.filter { !$0.key.hasPrefix("ERIZO_") }
    environment["RABBITMQ_URL"] = testControllerRabbitMQURL!
    environment["PUBLIC_IP"] = "127.0.0.1"
    environment["ERIZO_CONTROLLER_LISTEN_PORT"] = String(port)
    environment["ERIZO_CONTROLLER_PORT"] = String(port)
    environment["ERIZO_NUVE_SUPERSERVICE_KEY"] = superservice.key
    // Fast, but with room for a loaded CI machine: an agent that misses two polls is not a candidate.
    environment["ERIZO_CONTROLLER_AGENT_POLL_INTERVAL"] = "1000"
    environment["ERIZO_CONTROLLER_RECONNECT_WINDOW"] = "3000"
    environment["ERIZO_CONTROLLER_PLACEMENT_TIMEOUT"] = "1500"
    environment.merge(extra) { _, new in new }
    let controller = Process()
    controller.executableURL = ErizoProcessTests.erizo
    controller.arguments = ["controller"]
    controller.environment = environment
    // Logs beside the test's data, for reading after a failure.
    try FileManager.default.createDirectory(atPath: dataDirectory, withIntermediateDirectories: true)
    let log = "\(dataDirectory)/controller-\(port).log"
    _ = FileManager.default.createFile(atPath: log, contents: nil)
    controller.standardOutput = FileHandle(forWritingAtPath: log)
    controller.standardError = FileHandle(forWritingAtPath: log)
    try controller.run()
    return controller
  }

  /// Creates tokens for a room (a new one when `room` is nil) through Nuve's REST API.
  func tokens(_ count: Int, room: String? = nil, user: String = "user") throws -> (room: String, tokens: [String]) {
    var lastError = ""
    for _ in 0..<50 {
      let output = try NuveProcessTests.python([
        NuveProcessTests.fixture("nuve_tokens.py"), "http://127.0.0.1:\(nuvePort)", superservice.id,
        superservice.key, String(count), room ?? "", user,
      ])
      if output.status == 0, let json = try? JSONValue(parsing: output.text),
        let room = json["room"]?.stringValue, let tokens = json["tokens"]?.arrayValue?.compactMap(\.stringValue)
      {
        return (room, tokens)
      }
      lastError = output.text
      Thread.sleep(forTimeInterval: 0.3)  // Nuve or the controller registration is still starting
    }
    throw ConformanceFailure(description: "Nuve gave no tokens: \(lastError)")
  }

  /// A MAuth-signed REST request to Nuve; returns the status and the body.
  func nuve(_ method: String, _ path: String) throws -> (status: Int, body: String) {
    let output = try NuveProcessTests.python([
      NuveProcessTests.fixture("nuve_tokens.py"), "http://127.0.0.1:\(nuvePort)", superservice.id, superservice.key,
      "request", method, path,
    ])
    let json = try JSONValue(parsing: output.text)
    return (json["status"]?.intValue ?? 0, json["body"]?.stringValue ?? "")
  }

  func stop(_ processes: Process...) {
    for process in processes { NuveProcessTests.stop(process) }
  }

  func stopAll() {
    NuveProcessTests.stop(nuve)
    if ProcessInfo.processInfo.environment["KEEP_TEST_LOGS"] == nil {
      try? FileManager.default.removeItem(atPath: dataDirectory)
    }
  }
}

extension JSONValue {
  /// A token's decoded JSON, for tests that tamper with it.
  static func decodedToken(_ base64: String) throws -> JSONValue {
    try JSONValue(parsing: try #require(Data(base64Encoded: base64)))
  }
}
