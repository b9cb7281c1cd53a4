import Synchronization
import Testing

@testable import ErizoController

@Suite("Demo room lookups")
struct RoomLookupsTests {
  /// Counts the lookups it was asked for and answers after a pause, as Nuve's REST calls do.
  final class Directory: Sendable {
    let calls = Mutex(0)

    func lookup(_ name: String) async throws -> String {
      let call = calls.withLock { count in
        count += 1
        return count
      }
      try await Task.sleep(for: .milliseconds(100))
      return "\(name)-\(call)"
    }
  }

  @Test("Concurrent tokens for one new room share a single find-or-create")
  func concurrentLookupsOfOneNameShareOneCall() async throws {
    let lookups = RoomLookups()
    let directory = Directory()
    let ids = try await withThrowingTaskGroup(of: String.self) { group in
      for _ in 0..<8 {
        group.addTask { try await lookups.roomID(named: "party") { try await directory.lookup("party") } }
      }
      return try await group.reduce(into: [String]()) { $0.append($1) }
    }
    #expect(Set(ids) == ["party-1"])
    #expect(directory.calls.withLock { $0 } == 1)
  }

  @Test("Other names, and later calls for the same name, look up again")
  func laterAndOtherLookupsAreNotCached() async throws {
    let lookups = RoomLookups()
    let directory = Directory()
    async let first = lookups.roomID(named: "a") { try await directory.lookup("a") }
    async let other = lookups.roomID(named: "b") { try await directory.lookup("b") }
    let (a, b) = try await (first, other)
    #expect(a != b)
    let again = try await lookups.roomID(named: "a") { try await directory.lookup("a") }
    #expect(again == "a-3")
    #expect(directory.calls.withLock { $0 } == 3)
  }

  @Test("A failed lookup reaches every waiter and is not kept")
  func failuresAreSharedAndForgotten() async throws {
    struct Refused: Error {}
    let lookups = RoomLookups()
    await #expect(throws: Refused.self) {
      try await lookups.roomID(named: "x") { throw Refused() }
    }
    let id = try await lookups.roomID(named: "x") { "x-ok" }
    #expect(id == "x-ok")
  }
}
