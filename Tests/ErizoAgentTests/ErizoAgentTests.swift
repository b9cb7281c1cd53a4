import ErizoCore
import Foundation
import ORTC
import Testing

@testable import ErizoAgent

@Suite("agent rooms and clients")
struct AgentRoomsTests {
  static let capabilities = RtpCapabilities(
    codecs: [], headerExtensions: [RtpHeaderExtensionCapability(.audio, "urn:ietf:params:rtp-hdrext:sdes:mid", id: 1)])
  func roomWithClient() -> AgentRooms {
    var rooms = AgentRooms()
    rooms.add(.init(id: "r", controllerID: "ec", worker: 0, routerID: "router-1"))
    let made = rooms.ensureClient("c1", userName: "alice", inRoom: "r")
    #expect(made)
    return rooms
  }

  @Test func joinOutcomes() {
    var rooms = roomWithClient()
    let outcomes = [
      rooms.join("c1", inRoom: "nowhere", rtpCapabilities: nil, sctpCapabilities: nil),
      rooms.join("c2", inRoom: "r", rtpCapabilities: nil, sctpCapabilities: nil),
      rooms.join("c1", inRoom: "r", rtpCapabilities: Self.capabilities, sctpCapabilities: nil),
      rooms.join("c1", inRoom: "r", rtpCapabilities: nil, sctpCapabilities: nil),
    ]
    #expect(outcomes == [.noRoom, .noClient, .joined, .alreadyJoined])
    #expect(rooms.room("r")?.clients["c1"]?.rtpCapabilities == Self.capabilities, "a second join changes nothing")
    let orphan = rooms.ensureClient("c3", userName: "x", inRoom: "nowhere")
    #expect(!orphan, "no client without a room")
  }

  @Test func theLastClientEmptiesTheRoom() {
    var rooms = roomWithClient()
    _ = rooms.ensureClient("c2", userName: "bob", inRoom: "r")
    let first = rooms.removeClient("c1", fromRoom: "r")
    #expect(first == nil)
    #expect(rooms.count == 1)
    let last = rooms.removeClient("c2", fromRoom: "r")
    #expect(last?.routerID == "router-1")
    #expect(rooms.count == 0)
    let again = rooms.removeClient("c2", fromRoom: "r")
    #expect(again == nil, "unknown rooms are ignored")
  }

  @Test func mediaLoadCountsProducersAndConsumersPerWorker() {
    var rooms = roomWithClient()
    rooms.add(.init(id: "s", controllerID: "ec", worker: 1, routerID: "router-2"))
    _ = rooms.ensureClient("c9", userName: "z", inRoom: "s")
    rooms.update("c1", inRoom: "r") { client in
      client.producers["p"] = .init(
        id: "p", kind: "audio", transportID: "t", consumable: RtpParameters(codecs: []), appData: [:],
        paused: false)
      client.consumers["c"] = .init(id: "c", producerID: "x", transportID: "t")
    }
    #expect(rooms.mediaLoadByWorker == [0: 2, 1: 0])
  }

  @Test func removingRoomsByController() {
    var rooms = roomWithClient()
    rooms.add(.init(id: "s", controllerID: "other", worker: 1, routerID: "router-2"))
    let removed = rooms.removeRooms { $0.controllerID == "ec" }
    #expect(removed.map(\.id) == ["r"])
    #expect(rooms.room("s") != nil)
  }

  @Test func dataChannelRequestsKeepTheReferenceCodes() {
    func code(_ method: String, joined: Bool) -> JSONValue? {
      AgentRequests.dataChannelRequest(method, joined: joined)["data"]?["errcode"]
    }
    #expect(code("produceData", joined: false) == 2003)
    #expect(code("produceData", joined: true) == 2000)
    #expect(code("getDataProducerStats", joined: true) == 2003)
    #expect(code("getDataConsumerStats", joined: true) == 2003)
    #expect(AgentRequests.known.count == 22)
  }

}
