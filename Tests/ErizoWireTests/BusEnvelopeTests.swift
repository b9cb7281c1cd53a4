import ErizoCore
import ErizoWire
import Testing

/// Golden JSON for the reference envelopes (spec §6), and decoding what Node's amqper sends.
@Suite("Bus envelopes")
struct BusEnvelopeTests {
  @Test func callToAController() throws {
    let envelope = BusEnvelope.call(method: "getUsersInRoom", args: ["5f97aa"], correlationID: 7, replyTo: "amq.gen-1")
    #expect(
      envelope.json.jsonText == #"{"args":["5f97aa"],"corrID":7,"method":"getUsersInRoom","replyTo":"amq.gen-1"}"#)
    #expect(try BusEnvelope(parsing: envelope.serialized()) == envelope)
  }

  @Test func nuveCallsTakeOneValueOrNone() throws {
    let single = try BusEnvelope(
      parsing: Array(#"{"method":"deleteToken","args":"5f97","corrID":3,"replyTo":"r"}"#.utf8))
    #expect(single == .call(method: "deleteToken", args: "5f97", correlationID: 3, replyTo: "r"))
    let none = try BusEnvelope(parsing: Array(#"{"method":"getErizoControllers","corrID":4,"replyTo":"r"}"#.utf8))
    #expect(none == .call(method: "getErizoControllers", args: nil, correlationID: 4, replyTo: "r"))
    #expect(
      BusEnvelope.call(method: "getErizoControllers", args: nil, correlationID: 4, replyTo: "r").json.jsonText
        == #"{"corrID":4,"method":"getErizoControllers","replyTo":"r"}"#)
  }

  @Test func replies() throws {
    #expect(
      BusEnvelope.reply(data: "ok", correlationID: 9).json.jsonText == #"{"corrID":9,"data":"ok","type":"callback"}"#)
    #expect(BusEnvelope.reply(data: nil, correlationID: 9).json.jsonText == #"{"corrID":9,"type":"callback"}"#)
    let parsed = try BusEnvelope(parsing: Array(#"{"data":{"id":"x"},"corrID":"12","type":"callback"}"#.utf8))
    #expect(parsed == .reply(data: ["id": "x"], correlationID: 12))
  }

  @Test func broadcasts() throws {
    let envelope = BusEnvelope.broadcast(method: "deleteUser", args: ["r", "c"], correlationID: nil, replyTo: nil)
    #expect(envelope.json.jsonText == #"{"message":{"args":["r","c"],"method":"deleteUser"}}"#)
    let collecting = try BusEnvelope(
      parsing: Array(#"{"message":{"method":"getErizoAgents","args":[]},"corrID":5,"replyTo":"q"}"#.utf8))
    #expect(collecting == .broadcast(method: "getErizoAgents", args: [], correlationID: 5, replyTo: "q"))
  }

  @Test(arguments: [
    #"[]"#, #""x""#, #"{}"#, #"{"method":1}"#, #"{"type":"callback"}"#, #"{"message":{"args":[]}}"#,
    #"{"method":"a","corrID":"abc"}"#, #"{"method":"a","replyTo":5}"#, "{",
  ])
  func rejectsWhatIsNotAnEnvelope(_ text: String) {
    #expect(throws: ErizoError.self) { try BusEnvelope(parsing: Array(text.utf8)) }
  }
}
