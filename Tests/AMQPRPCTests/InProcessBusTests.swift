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

  @Test func callsFailFastAfterShutdown() async throws {
    let (bus, _) = InProcessBusMaker().makeBus()
    bus.start()
    bus.shutdown()
    await #expect(throws: ErizoError(.busUnavailable, "")) {
      _ = try await bus.call("anything", method: "x", args: nil, timeout: .seconds(5))
    }
  }
}
