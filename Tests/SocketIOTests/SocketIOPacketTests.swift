import ErizoCore
import Testing

@testable import SocketIO

@Suite("Socket.IO and Engine.IO packets")
struct SocketIOPacketTests {
  @Test func engineIOPackets() throws {
    let message = try #require(EngineIOPacket(decoding: "42[\"token\",{}]"))
    #expect(message.kind == .message)
    #expect(message.data == "2[\"token\",{}]")
    #expect(EngineIOPacket(decoding: "2probe")?.kind == .ping)
    #expect(EngineIOPacket(decoding: "2probe")?.data == "probe")
    #expect(EngineIOPacket(decoding: "9") == nil)
    #expect(EngineIOPacket(decoding: "") == nil)
    #expect(EngineIOPacket(decoding: "x") == nil)
    #expect(EngineIOPacket(.pong, "probe").encoded == "3probe")
  }

  @Test func pollingPayloadUsesTheRecordSeparator() {
    let payload = EngineIOPollingPayload.encode(["2", "42[\"a\"]"])
    #expect(payload == "2\u{1E}42[\"a\"]")
    #expect(EngineIOPollingPayload.decode(payload) == ["2", "42[\"a\"]"])
  }

  @Test func eventWithAckID() throws {
    let packet = try SocketIOPacket(decoding: "212[\"token\",{\"token\":\"x\"}]")
    #expect(packet.kind == .event)
    #expect(packet.ackID == 12)
    #expect(packet.namespace == "/")
    let (name, arguments) = try #require(packet.eventNameAndArguments)
    #expect(name == "token")
    #expect(arguments == [["token": "x"]])
  }

  @Test func ackWithSeveralArguments() throws {
    let packet = SocketIOPacket(.ack, ackID: 3, payload: ["success", ["data": ["roomId": "r"]]])
    #expect(packet.encoded == "33[\"success\",{\"data\":{\"roomId\":\"r\"}}]")
    #expect(try SocketIOPacket(decoding: packet.encoded[...]) == packet)
  }

  @Test func namespacesAndConnect() throws {
    let connect = try SocketIOPacket(decoding: "0/admin,{\"token\":1}")
    #expect(connect.kind == .connect)
    #expect(connect.namespace == "/admin")
    #expect(connect.payload == ["token": 1])
    #expect(
      SocketIOPacket(.connectError, namespace: "/admin", payload: ["message": "Invalid namespace"]).encoded
        == "4/admin,{\"message\":\"Invalid namespace\"}")
    #expect(SocketIOPacket(.connect).encoded == "0")
    #expect(SocketIOPacket(.disconnect).encoded == "1")
    #expect(try SocketIOPacket(decoding: "0").kind == .connect)
  }

  @Test func badPacketsAreRefused() {
    #expect(throws: SocketIOPacket.DecodingError.empty) { try SocketIOPacket(decoding: "") }
    #expect(throws: SocketIOPacket.DecodingError.unknownType) { try SocketIOPacket(decoding: "9[]") }
    #expect(throws: SocketIOPacket.DecodingError.binaryNotSupported) {
      try SocketIOPacket(decoding: "51-[\"x\",{\"_placeholder\":true,\"num\":0}]")
    }
    #expect(throws: SocketIOPacket.DecodingError.badPayload) { try SocketIOPacket(decoding: "2[\"x\",") }
    #expect(throws: SocketIOPacket.DecodingError.badAckID) { try SocketIOPacket(decoding: "299999999999999999999[]") }
    // An event whose payload is not ["name", …] decodes but has no name.
    #expect((try? SocketIOPacket(decoding: "2{\"a\":1}"))?.eventNameAndArguments == nil)
    #expect((try? SocketIOPacket(decoding: "2[1,2]"))?.eventNameAndArguments == nil)
  }

  @Test func queryAndClientIP() {
    let query = SocketIOServer.query(of: "/socket.io/?EIO=4&transport=polling&sid=a%2Bb&t=N")
    #expect(query == ["EIO": "4", "transport": "polling", "sid": "a+b", "t": "N"])
    #expect(SocketIOServer.clientIP(forwardedFor: "10.0.0.1, 10.0.0.2", peer: nil) == "10.0.0.1")
    #expect(SocketIOServer.clientIP(forwardedFor: "::ffff:10.1.2.3", peer: nil) == "10.1.2.3")
    #expect(SocketIOServer.clientIP(forwardedFor: nil, peer: nil) == "")
  }
}
