import AMQPRPC
import ErizoCore
import ErizoTesting
import Testing

/// The bus conformance scenarios against the in-process broker used by `erizo all`.
@Suite("In-process bus")
struct InProcessBusTests {
  @Test func callAndReply() async throws { try await BusConformance.callAndReply(InProcessBusMaker()) }
  @Test func singleValueArgs() async throws { try await BusConformance.singleValueArgs(InProcessBusMaker()) }
  @Test func broadcastToThree() async throws { try await BusConformance.broadcastToThree(InProcessBusMaker()) }
  @Test func timeout() async throws { try await BusConformance.timeout(InProcessBusMaker()) }
  @Test func thousandConcurrentCalls() async throws {
    try await BusConformance.thousandConcurrentCalls(InProcessBusMaker())
  }
  @Test func competingServers() async throws { try await BusConformance.competingServers(InProcessBusMaker()) }
  @Test func badInputIsSurvived() async throws { try await BusConformance.badInputIsSurvived(InProcessBusMaker()) }

  /// Calls without a timeout use the bus's default (`bus.rpcTimeout`).
  @Test func callsWithoutTimeoutUseTheConfiguredDefault() async throws {
    let broker = InProcessBroker()
    let bus = MessageBus(
      transport: InProcessTransport(broker: broker), logger: testLogger(), defaultTimeout: .milliseconds(300))
    try await withRunningBuses([bus]) { _ in
      let started = ContinuousClock.now
      await #expect(throws: ErizoError(.rpcTimeout, "")) { _ = try await bus.call("nobody", method: "x") }
      let elapsed = ContinuousClock.now - started
      #expect(elapsed >= .milliseconds(290) && elapsed < .seconds(2))
    }
  }

  @Test func callsFailFastAfterShutdown() async throws {
    let (bus, _) = InProcessBusMaker().makeBus()
    bus.start()
    bus.shutdown()
    await #expect(throws: ErizoError(.busUnavailable, "")) {
      _ = try await bus.call("anything", method: "x", args: nil, timeout: .seconds(5))
    }
  }

  /// One bus serving a queue under another routing key (Nuve's `nuveQueue`/`nuve`) and calling it
  /// itself with no arguments, as ROV and Nuve do inside `erizo all`.
  @Test func aBusCallsItsOwnQueueByRoutingKeyWithoutArguments() async throws {
    let broker = InProcessBroker()
    let bus = MessageBus(transport: InProcessTransport(broker: broker), logger: testLogger())
    try await withRunningBuses([bus]) { _ in
      await bus.serve(queue: "nuveQueue", routingKey: "nuve") { request in .data(["method": .string(request.method)]) }
      let reply = try await bus.call("nuve", method: "getErizoControllers", args: nil, timeout: .seconds(2))
      #expect(reply == ["method": "getErizoControllers"])
    }
  }
}
