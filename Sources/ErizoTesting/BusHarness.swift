public import AMQPRPC
internal import ErizoCore
public import Logging

/// Runs buses as `run()` would in a role, for the duration of `body`, and shuts them down after.
public func withRunningBuses<R: Sendable>(
  _ buses: [MessageBus], connectTimeout: Duration = .seconds(30),
  _ body: @Sendable ([MessageBus]) async throws -> R
) async throws -> R {
  try await withThrowingTaskGroup(of: Void.self) { group in
    for bus in buses {
      group.addTask { try await bus.run() }
    }
    defer {
      for bus in buses { bus.shutdown() }
    }
    for bus in buses {
      guard await bus.waitUntilConnected(timeout: connectTimeout) else {
        for bus in buses { bus.shutdown() }
        throw ErizoError(.busUnavailable, "bus did not connect within \(connectTimeout)")
      }
    }
    let result = try await body(buses)
    for bus in buses { bus.shutdown() }
    try await group.waitForAll()
    return result
  }
}

/// Polls `condition` until it holds or `timeout` passes.
public func eventually(
  timeout: Duration = .seconds(10), interval: Duration = .milliseconds(20),
  _ condition: @Sendable () async -> Bool
) async -> Bool {
  let deadline = ContinuousClock.now + timeout
  while ContinuousClock.now < deadline {
    if await condition() { return true }
    try? await Task.sleep(for: interval)
  }
  return await condition()
}

/// A logger for tests: warnings and above to standard error, never bootstrapped globally.
public func testLogger(_ label: String = "test") -> Logger {
  var logger = Logger(label: label, factory: { StreamLogHandler.standardError(label: $0) })
  logger.logLevel = .warning
  return logger
}
