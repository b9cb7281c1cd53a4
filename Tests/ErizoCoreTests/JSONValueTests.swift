import ErizoCore
import Testing

@Suite("JSONValue")
struct JSONValueTests {
  @Test func parsesEveryKind() throws {
    let value = try JSONValue(
      parsing: #" {"a": [1, -2.5, 3e2, true, false, null], "b": "x\"y\\z\u00e9\ud83d\ude00", "c": {}} "#)
    #expect(value["a"] == [1, -2.5, 300.0, true, false, nil])
    #expect(value["b"] == .string("x\"y\\zé😀"))
    #expect(value["c"] == .object([:]))
  }

  @Test func integersStayIntegers() throws {
    #expect(try JSONValue(parsing: "42") == .int(42))
    #expect(try JSONValue(parsing: "-0") == .int(0))
    #expect(try JSONValue(parsing: "1.0") == .double(1.0))
    #expect(try JSONValue(parsing: "12345678901234567890") == .double(12345678901234567890.0))
  }

  @Test(arguments: [
    "", " ", "{", "[1,]", "{\"a\":}", "{a:1}", "tru", "01", "1.", "1e", "\"abc", "\"\u{01}\"", "[1] x",
    "\"\\ud800\"", "\"\\q\"", "{\"a\" 1}", "nul",
  ])
  func rejectsMalformedInput(_ text: String) {
    #expect(throws: ErizoError(.malformedJSON, "")) { try JSONValue(parsing: text) }
  }

  @Test func capsNestingDepth() {
    let deep = String(repeating: "[", count: 10_000) + String(repeating: "]", count: 10_000)
    #expect(throws: ErizoError.self) { try JSONValue(parsing: deep) }
    let fine = String(repeating: "[", count: 200) + String(repeating: "]", count: 200)
    #expect(throws: Never.self) { try JSONValue(parsing: fine) }
  }

  @Test func serializesCompactlyWithSortedKeys() throws {
    let value: JSONValue = ["z": 1, "a": ["s": "q\"\n\u{01}"], "m": [true, nil, 2.5]]
    #expect(value.jsonText == #"{"a":{"s":"q\"\n\u0001"},"m":[true,null,2.5],"z":1}"#)
    #expect(try JSONValue(parsing: value.jsonText) == value)
  }
}
