import ErizoCore
import Foundation
import Nuve
import Testing

let testMongoAddress = ProcessInfo.processInfo.environment["TEST_MONGO_ADDRESS"]

/// The store contract against a MongoDB wire server (mongoeco, started by `make test`), each test
/// in a database of its own, in the reference's `host:port/db` URL form.
@Suite("MongoDB Nuve store", .enabled(if: testMongoAddress != nil, "TEST_MONGO_ADDRESS is not set"))
struct MongoNuveStoreTests {
  static func makeStore() async throws -> MongoNuveStore {
    let store = try MongoNuveStore(url: "\(testMongoAddress!)/nuve_\(UUID().uuidString.prefix(8))")
    try await store.prepare()
    return store
  }

  @Test func servicesAndRooms() async throws {
    try await NuveStoreScenarios.servicesAndRooms(try await Self.makeStore())
  }
  @Test func bindingIsAtomicAndSticky() async throws {
    try await NuveStoreScenarios.bindingIsAtomicAndSticky(try await Self.makeStore())
  }
  @Test func tokensAreSingleUse() async throws {
    try await NuveStoreScenarios.tokensAreSingleUse(try await Self.makeStore())
  }
  @Test func controllers() async throws { try await NuveStoreScenarios.controllers(try await Self.makeStore()) }
  @Test func noncesRejectReplays() async throws {
    try await NuveStoreScenarios.noncesRejectReplays(try await Self.makeStore())
  }

  @Test func mongodbURLFormIsAccepted() async throws {
    let store = try MongoNuveStore(url: "mongodb://\(testMongoAddress!)/nuve_\(UUID().uuidString.prefix(8))")
    try await store.prepare()
    #expect(try await store.services().isEmpty)
  }

  @Test func unreachableServerIsATypedError() async throws {
    let store = try MongoNuveStore(url: "127.0.0.1:1/nuvedb")
    await #expect(throws: ErizoError(.storeUnavailable, "")) { _ = try await store.services() }
  }
}
