import ErizoCore
import Testing

@testable import ErizoController

@Suite("Agent table and placement choice")
struct AgentTableTests {
  static func reply(_ id: String, rooms: Int, state: Int = 1, cpu: Double = 0) -> JSONValue {
    [
      "info": [
        "id": .string(id), "rpc_id": .string("ErizoAgent_\(id)"), "ip": "10.0.0.1", "rooms": .int(rooms),
        "state": .int(state),
      ],
      "metadata": [:], "stats": ["perc_cpu": .double(cpu), "perc_mem": 0.5],
    ]
  }

  @Test func choosesFewestRoomsThenLeastCPU() {
    var table = AgentTable()
    _ = table.poll(replies: [
      Self.reply("a", rooms: 3), Self.reply("b", rooms: 1, cpu: 0.9), Self.reply("c", rooms: 1, cpu: 0.2),
    ])
    #expect(table.candidates().map(\.id) == ["c", "b", "a"])
  }

  @Test func skipsDrainingAndSilentAgentsAndRefreshesState() {
    var table = AgentTable()
    _ = table.poll(replies: [Self.reply("a", rooms: 0, state: 0), Self.reply("b", rooms: 5)])
    #expect(table.candidates().map(\.id) == ["b"])
    // The state is refreshed by every reply (the reference never refreshed it).
    _ = table.poll(replies: [Self.reply("a", rooms: 0, state: 1), Self.reply("b", rooms: 5)])
    #expect(table.candidates().map(\.id) == ["a", "b"])
    // One missed poll is tolerated, two are not.
    _ = table.poll(replies: [Self.reply("b", rooms: 5)])
    #expect(table.candidates().map(\.id) == ["a", "b"])
    _ = table.poll(replies: [Self.reply("b", rooms: 5)])
    #expect(table.candidates().map(\.id) == ["b"])
  }

  @Test func removesAnAgentAfterSixSilentPolls() {
    var table = AgentTable()
    _ = table.poll(replies: [Self.reply("a", rooms: 0)])
    for _ in 0..<5 { #expect(table.poll(replies: []).isEmpty) }
    #expect(table.poll(replies: []).map(\.id) == ["a"])
    #expect(table.agents.isEmpty)
  }

  @Test func placementsCountUntilAPollSentAfterThemReportsThem() {
    var table = AgentTable()
    let start = ContinuousClock.now
    _ = table.poll(replies: [Self.reply("a", rooms: 0), Self.reply("b", rooms: 0)], sentAt: start)
    table.notePlacement(on: "a", at: start + .milliseconds(10))
    #expect(table.candidates().first?.id == "b")
    // A poll sent before the placement still reports 0 rooms on a: the placement is kept.
    _ = table.poll(replies: [Self.reply("a", rooms: 0), Self.reply("b", rooms: 0)], sentAt: start + .milliseconds(5))
    #expect(table.agents["a"]?.rooms == 1)
    // A poll sent after it reports it itself.
    _ = table.poll(replies: [Self.reply("a", rooms: 1), Self.reply("b", rooms: 0)], sentAt: start + .seconds(1))
    #expect(table.agents["a"]?.rooms == 1)
  }

  @Test func malformedRepliesAreIgnored() {
    var table = AgentTable()
    _ = table.poll(replies: ["error", ["info": [:]], ["retEvent": "error"], .null])
    #expect(table.agents.isEmpty)
  }

  @Test func silenceOnAPlacementSkipsTheAgentUntilItAnswersAPoll() {
    var table = AgentTable()
    _ = table.poll(replies: [Self.reply("a", rooms: 0), Self.reply("b", rooms: 2)])
    table.noteSilence(of: "a")
    #expect(table.candidates().map(\.id) == ["b"])
    _ = table.poll(replies: [Self.reply("a", rooms: 0), Self.reply("b", rooms: 2)])
    #expect(table.candidates().map(\.id) == ["a", "b"])
  }
}

@Suite("Client token and rate limit")
struct ClientTokenTests {
  @Test func acceptsTheObjectOrNuvesBase64AndChecksTheSignature() throws {
    let key = "super-key"
    let signature = Crypto.referenceSignature(key: key, message: "5e57aaaa,127.0.0.1:8080")
    let object: JSONValue = [
      "tokenId": "5e57aaaa", "host": "127.0.0.1:8080", "secure": false,
      "signature": .string(signature),
    ]
    let token = try #require(ClientToken(object))
    #expect(token.isSigned(with: key))
    #expect(!token.isSigned(with: "other-key"))
    let base64 = Crypto.base64(object.serialized())
    #expect(ClientToken(.string(base64)) == token)
    #expect(ClientToken(nil) == nil)
    #expect(ClientToken(["tokenId": "x"]) == nil)
    #expect(ClientToken("not base64 json") == nil)
  }

  @Test func bucketRefillsAtItsRate() {
    let start = ContinuousClock.now
    var bucket = TokenBucket(ratePerSecond: 2, now: start)
    let answers = [start, start, start, start + .milliseconds(500)].map { bucket.take(now: $0) }
    #expect(answers == [true, true, false, true])
    var unlimited = TokenBucket(ratePerSecond: 0, now: start)
    var taken = 0
    for _ in 0..<1000 where unlimited.take(now: start) { taken += 1 }
    #expect(taken == 1000)
  }

  @Test func errorsKeepTheReferenceShape() {
    #expect(ClientError.nuveSilent.json == ["errmsg": "Token check,Nuve does not respond", "errcode": 1003])
    #expect(ClientError.invalidHost.disconnects)
    #expect(!ClientError.noWorker.disconnects)
    #expect(!ClientError.rateLimited.disconnects)
  }
}
