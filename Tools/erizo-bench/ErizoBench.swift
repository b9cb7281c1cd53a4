import AMQP
import AMQPRPC
import ArgumentParser
import ErizoCore
import Foundation
import Logging

/// Load and latency tools. `erizo-bench bus` measures RPC round trips over RabbitMQ next to a raw
/// rabbitmq-c publish/consume round trip measured in the same run (docs/BENCHMARKS.md).
@main
struct ErizoBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "erizo-bench", abstract: "Erizo's load and latency tools.",
    subcommands: [BusBench.self, NuveBench.self, MediaBench.self, MemoryBench.self, LoadBench.self])
}

struct BusBench: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "bus", abstract: "RPC round trip p50/p99 and calls/s over RabbitMQ vs raw rabbitmq-c.")

  @Option(help: "RabbitMQ URL.") var url = "amqp://guest:guest@127.0.0.1:5672"
  @Option(help: "Sequential round trips per measurement.") var iterations = 2000
  @Option(help: "Concurrent callers for the throughput run.") var concurrency = 64
  @Option(help: "Calls in the throughput run.") var calls = 20000

  func run() async throws {
    let endpoint = try AMQPEndpoint(url: url)
    var logger = Logger(label: "bench")
    logger.logLevel = .warning

    let raw = try rawRoundTrips(endpoint: endpoint, count: iterations)
    print(Self.row("raw rabbitmq-c publish→consume round trip", raw))

    let transport = { RabbitMQTransport(options: .init(endpoint: endpoint), logger: logger) }
    let server = MessageBus(transport: transport(), logger: logger)
    let client = MessageBus(transport: transport(), logger: logger)
    let queue = "bench_\(UUID().uuidString.prefix(8))"
    await server.serve(queue: queue) { request in .data(request.args) }
    let iterations = self.iterations
    let calls = self.calls
    let concurrency = self.concurrency
    let (rpc, throughput) = try await withThrowingTaskGroup(of: Void.self) { group in
      group.addTask { try await server.run() }
      group.addTask { try await client.run() }
      defer {
        server.shutdown()
        client.shutdown()
      }
      guard await server.waitUntilConnected(timeout: .seconds(10)),
        await client.waitUntilConnected(timeout: .seconds(10))
      else { throw ErizoError(.busUnavailable, "cannot connect to \(endpoint)") }
      try await Task.sleep(for: .milliseconds(200))  // let the served queue's binding settle
      for _ in 0..<100 { _ = try await client.call(queue, method: "echo", args: [1]) }  // warm-up
      var samples: [Duration] = []
      samples.reserveCapacity(iterations)
      for index in 0..<iterations {
        let start = ContinuousClock.now
        _ = try await client.call(queue, method: "echo", args: [.int(index)])
        samples.append(ContinuousClock.now - start)
      }
      let started = ContinuousClock.now
      try await withThrowingTaskGroup(of: Void.self) { callers in
        for worker in 0..<concurrency {
          callers.addTask {
            for index in stride(from: worker, to: calls, by: concurrency) {
              _ = try await client.call(queue, method: "echo", args: [.int(index)])
            }
          }
        }
        try await callers.waitForAll()
      }
      let elapsed = ContinuousClock.now - started
      server.shutdown()
      client.shutdown()
      return (samples, Double(calls) / elapsed.seconds)
    }
    print(Self.row("erizo bus call (RabbitMQ)", rpc))
    print(String(format: "erizo bus throughput: %.0f calls/s with %d concurrent callers", throughput, concurrency))
    print(String(format: "ratio p50 bus/raw: %.2f", rpc.percentile(0.5).seconds / raw.percentile(0.5).seconds))
  }

  static func row(_ name: String, _ samples: [Duration]) -> String {
    String(
      format: "%@: n=%d p50=%.1f µs p99=%.1f µs", name, samples.count, samples.percentile(0.5).seconds * 1e6,
      samples.percentile(0.99).seconds * 1e6)
  }

  /// Publishes to a private queue and consumes it back on one connection, one message at a time.
  func rawRoundTrips(endpoint: AMQPEndpoint, count: Int) throws -> [Duration] {
    let connection = try AMQPConnection(endpoint: endpoint, heartbeat: 0)
    defer { connection.close() }
    let queue = try connection.declareQueue("", durable: false, exclusive: true, autoDelete: true)
    try connection.consume(queue: queue, consumerTag: "raw")
    let body = Array(#"{"method":"echo","args":[1],"corrID":1,"replyTo":"x"}"#.utf8)
    var samples: [Duration] = []
    for index in 0..<(count + 100) {
      let start = ContinuousClock.now
      try connection.publish(exchange: "", routingKey: queue, body: body)
      while try connection.nextDelivery(timeoutMilliseconds: 1000) == nil {}
      if index >= 100 { samples.append(ContinuousClock.now - start) }
    }
    return samples
  }
}

extension Duration {
  var seconds: Double {
    let (seconds, attoseconds) = components
    return Double(seconds) + Double(attoseconds) / 1e18
  }
}

extension Array where Element: Comparable {
  /// The sample at `fraction` of the sorted samples (nearest rank), or `empty` when there are none.
  func percentile(_ fraction: Double, empty: Element) -> Element {
    guard !isEmpty else { return empty }
    let sorted = self.sorted()
    return sorted[Swift.min(sorted.count - 1, Int(Double(sorted.count - 1) * fraction + 0.5))]
  }
}

extension Array where Element == Duration {
  func percentile(_ fraction: Double) -> Duration { percentile(fraction, empty: .zero) }
}
