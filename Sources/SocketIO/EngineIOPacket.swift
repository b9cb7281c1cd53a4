/// An Engine.IO packet (protocol v3 and v4): a type digit followed by its data. Only text packets
/// are supported; binary payloads are refused by the transports.
public struct EngineIOPacket: Sendable, Equatable {
  public enum Kind: UInt8, Sendable {
    case open = 0
    case close = 1
    case ping = 2
    case pong = 3
    case message = 4
    case upgrade = 5
    case noop = 6
  }

  public var kind: Kind
  public var data: Substring

  public init(_ kind: Kind) {
    self.kind = kind
    self.data = ""
  }

  public init(_ kind: Kind, _ data: some StringProtocol) {
    self.kind = kind
    self.data = Substring(data)
  }

  /// Decodes one text packet; nil when the type digit is missing or unknown.
  public init?(decoding text: some StringProtocol) {
    guard let first = text.utf8.first, first >= UInt8(ascii: "0"),
      let kind = Kind(rawValue: first &- UInt8(ascii: "0"))
    else { return nil }
    self.kind = kind
    self.data = Substring(text.dropFirst())
  }

  public var encoded: String { String(kind.rawValue) + data }
}

/// The HTTP long-polling payload of Engine.IO v4: packets joined by the record separator 0x1E.
public enum EngineIOPollingPayload {
  public static let separator: Character = "\u{1E}"

  public static func encode(_ packets: [String]) -> String {
    packets.joined(separator: String(separator))
  }

  public static func decode(_ text: String) -> [Substring] {
    text.split(separator: separator, omittingEmptySubsequences: false)
  }
}
