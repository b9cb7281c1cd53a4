import AMQPRPC
import ArgumentParser
import ErizoCore
import Foundation
import Hummingbird
import Logging
import Nuve
import Synchronization

/// Token creations per second over HTTP against Nuve on SQLite, next to a Hummingbird hello-world
/// measured in the same run with the same client.
struct NuveBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "nuve", abstract: "Nuve token creations/s and latency vs a Hummingbird hello-world.")

  @Option(help: "Client connections (one thread each).") var connections = 8
  @Option(help: "Seconds per measurement.") var seconds = 10
  @Option(help: "Nuve port.") var nuvePort = 3201
  @Option(help: "Hello-world port.") var helloPort = 3202

  func run() async throws {
    var logger = Logger(label: "bench")
    logger.logLevel = .warning
    let directory = FileManager.default.temporaryDirectory.appendingPathComponent("nuve-bench-\(UUID())").path
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: directory) }
    let store = try SQLiteNuveStore(path: directory + "/nuve.sqlite")
    let service = ServiceRecord(id: ObjectID.make(), name: "superService", key: "benchKey")
    try await store.createService(service)
    let roomID = ObjectID.make()
    try await store.createRoom(RoomRecord(id: roomID, name: "bench"), serviceID: service.id)
    try await store.addController(
      ControllerRecord(
        id: ObjectID.make(), ip: "127.0.0.1", hostname: "", port: 8080, ssl: false, state: 2,
        lastSeen: Date().addingTimeInterval(3600)))
    let bus = MessageBus(transport: InProcessTransport(broker: InProcessBroker()), logger: logger)
    let api = NuveAPI(
      store: store, bus: bus, verifier: MAuthVerifier(store: store, superserviceID: service.id, window: .seconds(300)),
      settings: .init(superserviceKey: service.key), logger: logger)
    let nuve = Application(
      responder: NuveHTTPResponder(api: api), configuration: .init(address: .hostname("127.0.0.1", port: nuvePort)),
      logger: logger)
    let router = Router()
    router.get("/") { _, _ in "Hello" }
    let hello = Application(
      router: router, configuration: .init(address: .hostname("127.0.0.1", port: helloPort)), logger: logger)

    let connections = self.connections
    let seconds = self.seconds
    let (nuvePort, helloPort) = (self.nuvePort, self.helloPort)
    try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await nuve.runService() }
      group.addTask { try await hello.runService() }
      try await Task.sleep(for: .seconds(1))
      let helloResult = HTTPLoad.run(port: helloPort, connections: connections, seconds: seconds) { _ in
        "GET / HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n"
      }
      let tokenResult = HTTPLoad.run(port: nuvePort, connections: connections, seconds: seconds) { index in
        let header = MAuthHeader.build(
          serviceID: service.id, key: service.key, timestamp: Int(Date().timeIntervalSince1970 * 1000),
          cnonce: index, user: ("bench", "presenter"))
        return
          "POST /rooms/\(roomID)/tokens HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: \(header)\r\nContent-Length: 0\r\n\r\n"
      }
      print(helloResult.row("Hummingbird hello-world GET /"))
      print(tokenResult.row("Nuve POST /rooms/:room/tokens (MAuth, SQLite)"))
      print(String(format: "ratio tokens/s ÷ hello/s: %.3f", tokenResult.perSecond / helloResult.perSecond))
      group.cancelAll()
    }
  }
}

/// A minimal keep-alive HTTP/1.1 load client: blocking sockets, one thread per connection.
enum HTTPLoad {
  struct Result: Sendable {
    var latencies: [Duration] = []
    var errors = 0
    var statusCounts: [Int: Int] = [:]
    var elapsed: Duration = .zero
    var perSecond: Double { Double(latencies.count) / elapsed.seconds }

    func row(_ name: String) -> String {
      String(
        format: "%@: %.0f req/s, p50 %.2f ms, p99 %.2f ms, n=%d, errors=%d, statuses=%@", name, perSecond,
        latencies.percentile(0.5).seconds * 1000, latencies.percentile(0.99).seconds * 1000, latencies.count, errors,
        statusCounts.description)
    }
  }

  static func run(port: Int, connections: Int, seconds: Int, request: @escaping @Sendable (Int) -> String) -> Result {
    let total = Mutex(Result())
    let group = DispatchGroup()
    let started = ContinuousClock.now
    let deadline = started + .seconds(seconds)
    for connection in 0..<connections {
      group.enter()
      Thread.detachNewThread {
        let result = oneConnection(port: port, deadline: deadline, offset: connection * 10_000_000, request: request)
        total.withLock { total in
          total.latencies += result.latencies
          total.errors += result.errors
          total.statusCounts.merge(result.statusCounts, uniquingKeysWith: +)
        }
        group.leave()
      }
    }
    group.wait()
    var finished = total.withLock { $0 }
    finished.elapsed = ContinuousClock.now - started
    return finished
  }

  private static func oneConnection(
    port: Int, deadline: ContinuousClock.Instant, offset: Int,
    request: (Int) -> String
  ) -> Result {
    var result = Result()
    let socket = Glibc.socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(socket) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_port = in_port_t(UInt16(port).bigEndian)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        connect(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard connected == 0 else {
      result.errors += 1
      return result
    }
    var buffer = [UInt8](repeating: 0, count: 65_536)
    var index = offset
    while ContinuousClock.now < deadline {
      index += 1
      let text = Array(request(index).utf8)
      let start = ContinuousClock.now
      guard text.withUnsafeBytes({ send(socket, $0.baseAddress, $0.count, 0) }) == text.count,
        let status = readResponse(socket, &buffer)
      else {
        result.errors += 1
        return result
      }
      result.latencies.append(ContinuousClock.now - start)
      result.statusCounts[status, default: 0] += 1
    }
    return result
  }

  /// Reads one response with a Content-Length body; returns its status.
  private static func readResponse(_ socket: Int32, _ buffer: inout [UInt8]) -> Int? {
    var received: [UInt8] = []
    while true {
      if let end = received.firstRange(of: Array("\r\n\r\n".utf8)) {
        let head = String(decoding: received[..<end.lowerBound], as: UTF8.self)
        let status = Int(head.split(separator: " ").dropFirst().first ?? "") ?? 0
        let length =
          head.split(separator: "\r\n").first { $0.lowercased().hasPrefix("content-length:") }
          .flatMap { Int($0.split(separator: ":")[1].trimmingCharacters(in: .whitespaces)) } ?? 0
        var bodyBytes = received.count - end.upperBound
        while bodyBytes < length {
          let count = recv(socket, &buffer, buffer.count, 0)
          guard count > 0 else { return nil }
          bodyBytes += count
        }
        return status
      }
      let count = recv(socket, &buffer, buffer.count, 0)
      guard count > 0 else { return nil }
      received += buffer[0..<count]
    }
  }
}
