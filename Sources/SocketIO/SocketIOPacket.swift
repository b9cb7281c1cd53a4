public import ErizoCore

/// A Socket.IO packet (protocol v4 over Engine.IO v3, protocol v5 over Engine.IO v4), carried in an
/// Engine.IO `message`: `<type>[<namespace>,][<ack id>][<JSON payload>]`.
public struct SocketIOPacket: Sendable, Equatable {
  public enum Kind: UInt8, Sendable {
    case connect = 0
    case disconnect = 1
    case event = 2
    case ack = 3
    /// `ERROR` in protocol v4, `CONNECT_ERROR` in v5.
    case connectError = 4
    case binaryEvent = 5
    case binaryAck = 6
  }

  public enum DecodingError: Error, Equatable {
    case empty
    case unknownType
    case binaryNotSupported
    case badAckID
    case badPayload
  }

  public var kind: Kind
  public var namespace: String
  public var ackID: Int?
  public var payload: JSONValue?

  public init(_ kind: Kind, namespace: String = "/", ackID: Int? = nil, payload: JSONValue? = nil) {
    self.kind = kind
    self.namespace = namespace
    self.ackID = ackID
    self.payload = payload
  }

  /// The largest ack id accepted (socket.io clients count from 0 and never get near it).
  static let maximumAckID = 1 << 53

  public init(decoding text: Substring) throws(DecodingError) {
    var rest = text.utf8[...]
    guard let first = rest.first else { throw .empty }
    guard first >= UInt8(ascii: "0"), let kind = Kind(rawValue: first &- UInt8(ascii: "0")) else {
      throw .unknownType
    }
    rest = rest.dropFirst()
    if kind == .binaryEvent || kind == .binaryAck { throw .binaryNotSupported }
    var namespace = "/"
    if rest.first == UInt8(ascii: "/") {
      let end = rest.firstIndex(of: UInt8(ascii: ",")) ?? rest.endIndex
      namespace = String(decoding: rest[rest.startIndex..<end], as: UTF8.self)
      rest = end == rest.endIndex ? rest[end...] : rest[rest.index(after: end)...]
    }
    var ackID: Int?
    while let byte = rest.first, byte >= UInt8(ascii: "0"), byte <= UInt8(ascii: "9") {
      let digit = Int(byte - UInt8(ascii: "0"))
      let next = (ackID ?? 0) * 10 + digit
      guard next <= Self.maximumAckID else { throw .badAckID }
      ackID = next
      rest = rest.dropFirst()
    }
    var payload: JSONValue?
    if !rest.isEmpty {
      do {
        payload = try JSONValue(parsing: Array(rest))
      } catch {
        throw .badPayload
      }
    }
    self.init(kind, namespace: namespace, ackID: ackID, payload: payload)
  }

  public var encoded: String {
    var out: [UInt8] = [UInt8(ascii: "0") + kind.rawValue]
    if namespace != "/" {
      out.append(contentsOf: namespace.utf8)
      out.append(UInt8(ascii: ","))
    }
    if let ackID { out.append(contentsOf: String(ackID).utf8) }
    payload?.write(into: &out)
    return String(decoding: out, as: UTF8.self)
  }

  /// An event: `["name", args…]`.
  public static func event(_ name: String, _ arguments: [JSONValue], ackID: Int? = nil) -> SocketIOPacket {
    SocketIOPacket(.event, ackID: ackID, payload: .array([.string(name)] + arguments))
  }

  /// The event name and arguments of an `EVENT` packet, or nil when the payload is not
  /// `["name", …]`.
  public var eventNameAndArguments: (name: String, arguments: [JSONValue])? {
    guard case .array(let items)? = payload, case .string(let name)? = items.first else { return nil }
    return (name, Array(items.dropFirst()))
  }
}
