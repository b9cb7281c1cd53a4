/// Why an SDP text was refused: the line (1-based, 0 for the whole text) and a reason a client can
/// read in a 400 answer.
public struct SdpError: Error, Sendable, Equatable, CustomStringConvertible {
  public let line: Int
  public let reason: String

  public init(line: Int = 0, _ reason: String) {
    self.line = line
    self.reason = reason
  }

  public var description: String { line > 0 ? "SDP line \(line): \(reason)" : "SDP: \(reason)" }
}

/// One `a=` line: `a=name` or `a=name:value`.
public struct SdpAttribute: Sendable, Equatable {
  public var name: String
  public var value: String?

  public init(_ name: String, _ value: String? = nil) {
    self.name = name
    self.value = value
  }

  var line: String { value.map { "a=\(name):\($0)" } ?? "a=\(name)" }
}

/// One `m=` section with the lines that follow it.
public struct MediaDescription: Sendable, Equatable {
  /// `audio`, `video`, `application`…
  public var kind: String
  public var port: Int
  public var proto: String
  public var formats: [String]
  public var connection: String?
  public var bandwidths: [String]
  public var attributes: [SdpAttribute]

  public init(
    kind: String, port: Int, proto: String, formats: [String], connection: String? = nil, bandwidths: [String] = [],
    attributes: [SdpAttribute] = []
  ) {
    self.kind = kind
    self.port = port
    self.proto = proto
    self.formats = formats
    self.connection = connection
    self.bandwidths = bandwidths
    self.attributes = attributes
  }
}

/// An SDP session description (RFC 8866) as WebRTC uses it: the session lines, session attributes
/// and media sections, in order. Parsing is strict about structure (`v=0` first, `o=`, `s=`, `t=`,
/// well-formed `m=` lines, `<letter>=` lines only, a size limit) and keeps every attribute, so the
/// typed readers in `MediaDescription+Attributes.swift` decide what they understand.
public struct SessionDescription: Sendable, Equatable {
  /// Offers above this size are refused: real ones are a few kilobytes.
  public static let maximumSize = 128 * 1024

  public var origin: String
  public var sessionName: String
  public var timing: String
  public var connection: String?
  public var attributes: [SdpAttribute]
  public var media: [MediaDescription]

  public init(
    origin: String = "- 0 2 IN IP4 127.0.0.1", sessionName: String = "-", timing: String = "0 0",
    connection: String? = nil, attributes: [SdpAttribute] = [], media: [MediaDescription] = []
  ) {
    self.origin = origin
    self.sessionName = sessionName
    self.timing = timing
    self.connection = connection
    self.attributes = attributes
    self.media = media
  }

  public init(parsing text: String) throws(SdpError) {
    guard text.utf8.count <= Self.maximumSize else { throw SdpError("larger than \(Self.maximumSize) bytes") }
    var origin: String?
    var sessionName: String?
    var timing: String?
    var connection: String?
    var attributes: [SdpAttribute] = []
    var media: [MediaDescription] = []
    var number = 0
    // "\r\n" is one Character in Swift, so both line ends are separators.
    for raw in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
      number += 1
      var line = Substring(raw)
      if line.last == "\r" { line = line.dropLast() }
      if line.isEmpty {
        // Only a trailing line break may leave an empty line.
        continue
      }
      let bytes = Array(line.utf8)
      guard bytes.count >= 2, bytes[1] == UInt8(ascii: "="), (UInt8(ascii: "a")...UInt8(ascii: "z")).contains(bytes[0])
      else { throw SdpError(line: number, "not a <type>=<value> line") }
      guard !bytes.contains(where: { $0 < 0x20 && $0 != 0x09 }) else {
        throw SdpError(line: number, "control character")
      }
      let type = Character(Unicode.Scalar(bytes[0]))
      let value = String(line.dropFirst(2))
      if number == 1 {
        guard type == "v", value == "0" else { throw SdpError(line: 1, "must be v=0") }
        continue
      }
      switch type {
      case "v":
        throw SdpError(line: number, "a second v= line")
      case "o" where media.isEmpty:
        guard origin == nil, value.split(separator: " ").count == 6 else {
          throw SdpError(line: number, "o= needs six fields, once")
        }
        origin = value
      case "s" where media.isEmpty: sessionName = value
      case "t" where media.isEmpty: timing = value
      case "c":
        if media.isEmpty { connection = value } else { media[media.count - 1].connection = value }
      case "b":
        if !media.isEmpty { media[media.count - 1].bandwidths.append(value) }
      case "a":
        let attribute = Self.attribute(value)
        guard !attribute.name.isEmpty else { throw SdpError(line: number, "empty attribute name") }
        if media.isEmpty { attributes.append(attribute) } else { media[media.count - 1].attributes.append(attribute) }
      case "m":
        let fields = value.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count >= 3, let port = Int(fields[1].split(separator: "/")[0]), (0...65535).contains(port) else {
          throw SdpError(line: number, "m= needs <media> <port> <proto> <fmt>…")
        }
        guard origin != nil, sessionName != nil, timing != nil else {
          throw SdpError(line: number, "m= before the o=, s= and t= lines")
        }
        media.append(
          MediaDescription(
            kind: String(fields[0]), port: port, proto: String(fields[2]), formats: fields.dropFirst(3).map(String.init)
          ))
      case "i", "u", "e", "p", "z", "k", "r":
        continue  // informational lines WebRTC does not use
      default:
        throw SdpError(line: number, "unexpected \(type)= line")
      }
    }
    guard number > 0, let origin, let sessionName, let timing else {
      throw SdpError("missing v=, o=, s= or t= line")
    }
    self.init(
      origin: origin, sessionName: sessionName, timing: timing, connection: connection, attributes: attributes,
      media: media)
  }

  static func attribute(_ text: String) -> SdpAttribute {
    guard let colon = text.firstIndex(of: ":") else { return SdpAttribute(text) }
    return SdpAttribute(String(text[..<colon]), String(text[text.index(after: colon)...]))
  }

  /// The text, CRLF line ends as RFC 8866 asks.
  public var text: String {
    var lines = ["v=0", "o=\(origin)", "s=\(sessionName)"]
    if let connection { lines.append("c=\(connection)") }
    lines.append("t=\(timing)")
    lines += attributes.map(\.line)
    for section in media {
      lines.append("m=\(section.kind) \(section.port) \(section.proto) \(section.formats.joined(separator: " "))")
      if let connection = section.connection { lines.append("c=\(connection)") }
      lines += section.bandwidths.map { "b=\($0)" }
      lines += section.attributes.map(\.line)
    }
    return lines.joined(separator: "\r\n") + "\r\n"
  }

}

/// A session or a media section: both hold `a=` lines and read them the same way.
public protocol SdpAttributeList {
  var attributes: [SdpAttribute] { get }
}

extension SdpAttributeList {
  /// Values of the attributes named `name`, in order.
  public func values(_ name: String) -> [String] { attributes.filter { $0.name == name }.compactMap(\.value) }

  public func has(_ name: String) -> Bool { attributes.contains { $0.name == name } }

  public func first(_ name: String) -> String? { values(name).first }
}

extension SessionDescription: SdpAttributeList {}

extension MediaDescription: SdpAttributeList {}
