/// Typed readers of the attributes WebRTC puts in a media section (JSEP, RFC 8829). Each returns
/// what it can read and throws on a line it recognises but cannot parse, so a broken `a=rtpmap` is a
/// clear 400 rather than a silently missing codec.
extension MediaDescription {
  public enum Direction: String, Sendable, Equatable {
    case sendrecv, sendonly, recvonly, inactive

    /// The direction seen from the other side.
    public var reversed: Direction {
      switch self {
      case .sendonly: .recvonly
      case .recvonly: .sendonly
      default: self
      }
    }
  }

  public struct RtpMap: Sendable, Equatable {
    public var payloadType: Int
    public var encodingName: String
    public var clockRate: Int
    public var channels: Int?
  }

  public struct Extmap: Sendable, Equatable {
    public var id: Int
    public var direction: Direction?
    public var uri: String
  }

  public struct SsrcAttribute: Sendable, Equatable {
    public var ssrc: UInt32
    public var name: String
    public var value: String?
  }

  public struct SsrcGroup: Sendable, Equatable {
    public var semantics: String
    public var ssrcs: [UInt32]
  }

  public struct Rid: Sendable, Equatable {
    public var id: String
    public var direction: String
    public var restrictions: String?
  }

  public var mid: String? { first("mid") }

  /// The section's direction; `sendrecv` when none is written.
  public var direction: Direction {
    for attribute in attributes where attribute.value == nil {
      if let direction = Direction(rawValue: attribute.name) { return direction }
    }
    return .sendrecv
  }

  /// Whether the section is rejected (port 0, RFC 8843 bundle-only aside).
  public var isRejected: Bool { port == 0 && !has("bundle-only") }

  public func rtpMaps() throws(SdpError) -> [RtpMap] {
    var result: [RtpMap] = []
    for value in values("rtpmap") {
      let parts = value.split(separator: " ", maxSplits: 1)
      guard parts.count == 2, let payloadType = Int(parts[0]), (0...127).contains(payloadType) else {
        throw SdpError("a=rtpmap:\(value): bad payload type")
      }
      let encoding = parts[1].split(separator: "/")
      guard encoding.count >= 2, !encoding[0].isEmpty, let clockRate = Int(encoding[1]), clockRate > 0 else {
        throw SdpError("a=rtpmap:\(value): needs <name>/<clock rate>")
      }
      var channels: Int?
      if encoding.count > 2 {
        guard let value = Int(encoding[2]), value > 0 else { throw SdpError("a=rtpmap:\(value): bad channels") }
        channels = value
      }
      result.append(
        RtpMap(payloadType: payloadType, encodingName: String(encoding[0]), clockRate: clockRate, channels: channels))
    }
    return result
  }

  /// `a=fmtp:<pt> k=v;k=v` as a dictionary per payload type; numbers stay strings here.
  public func formatParameters() -> [Int: [(String, String)]] {
    var result: [Int: [(String, String)]] = [:]
    for value in values("fmtp") {
      let parts = value.split(separator: " ", maxSplits: 1)
      guard parts.count == 2, let payloadType = Int(parts[0]) else { continue }
      for pair in parts[1].split(separator: ";") {
        let trimmed = pair.trimmingSpaces
        guard !trimmed.isEmpty else { continue }
        let keyValue = trimmed.split(separator: "=", maxSplits: 1)
        result[payloadType, default: []].append(
          (String(keyValue[0]).trimmingSpaces, keyValue.count > 1 ? String(keyValue[1]).trimmingSpaces : ""))
      }
    }
    return result
  }

  /// `a=rtcp-fb:<pt|*> <type> [<parameter>]` per payload type (`-1` for `*`).
  public func rtcpFeedback() -> [Int: [(type: String, parameter: String)]] {
    var result: [Int: [(type: String, parameter: String)]] = [:]
    for value in values("rtcp-fb") {
      let parts = value.split(separator: " ", omittingEmptySubsequences: true)
      guard parts.count >= 2 else { continue }
      let key = parts[0] == "*" ? -1 : Int(parts[0])
      guard let key else { continue }
      result[key, default: []].append((String(parts[1]), parts.count > 2 ? parts[2...].joined(separator: " ") : ""))
    }
    return result
  }

  public func extmaps() throws(SdpError) -> [Extmap] {
    var result: [Extmap] = []
    for value in values("extmap") {
      let parts = value.split(separator: " ", omittingEmptySubsequences: true)
      guard parts.count >= 2 else { throw SdpError("a=extmap:\(value): needs <id> <uri>") }
      let idAndDirection = parts[0].split(separator: "/", maxSplits: 1)
      guard let id = Int(idAndDirection[0]), (1...255).contains(id) else {
        throw SdpError("a=extmap:\(value): bad id")
      }
      var direction: Direction?
      if idAndDirection.count > 1 {
        guard let parsed = Direction(rawValue: String(idAndDirection[1])) else {
          throw SdpError("a=extmap:\(value): bad direction")
        }
        direction = parsed
      }
      result.append(Extmap(id: id, direction: direction, uri: String(parts[1])))
    }
    return result
  }

  public func ssrcAttributes() throws(SdpError) -> [SsrcAttribute] {
    var result: [SsrcAttribute] = []
    for value in values("ssrc") {
      let parts = value.split(separator: " ", maxSplits: 1)
      guard let ssrc = UInt32(parts[0]) else { throw SdpError("a=ssrc:\(value): bad SSRC") }
      guard parts.count == 2 else {
        result.append(SsrcAttribute(ssrc: ssrc, name: "", value: nil))
        continue
      }
      let attribute = SessionDescription.attribute(String(parts[1]))
      result.append(SsrcAttribute(ssrc: ssrc, name: attribute.name, value: attribute.value))
    }
    return result
  }

  public func ssrcGroups() throws(SdpError) -> [SsrcGroup] {
    var result: [SsrcGroup] = []
    for value in values("ssrc-group") {
      let parts = value.split(separator: " ", omittingEmptySubsequences: true)
      guard parts.count >= 2 else { throw SdpError("a=ssrc-group:\(value): needs <semantics> <ssrc>…") }
      var ssrcs: [UInt32] = []
      for part in parts.dropFirst() {
        guard let ssrc = UInt32(part) else { throw SdpError("a=ssrc-group:\(value): bad SSRC") }
        ssrcs.append(ssrc)
      }
      result.append(SsrcGroup(semantics: String(parts[0]), ssrcs: ssrcs))
    }
    return result
  }

  /// `a=rid:<id> <send|recv> [restrictions]` (RFC 8851).
  public func rids() throws(SdpError) -> [Rid] {
    var result: [Rid] = []
    for value in values("rid") {
      let parts = value.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: true)
      guard parts.count >= 2, parts[1] == "send" || parts[1] == "recv", Self.isValidRid(parts[0]) else {
        throw SdpError("a=rid:\(value): needs <id> send|recv")
      }
      result.append(
        Rid(id: String(parts[0]), direction: String(parts[1]), restrictions: parts.count > 2 ? String(parts[2]) : nil))
    }
    return result
  }

  /// The send streams of `a=simulcast:send a;b;~c` (RFC 8853): each entry's first alternative,
  /// paused ones (`~`) included without the mark.
  public func simulcastSendStreams() throws(SdpError) -> [String]? {
    guard let value = first("simulcast") else { return nil }
    let parts = value.split(separator: " ", omittingEmptySubsequences: true)
    var index = 0
    while index + 1 < parts.count {
      if parts[index] == "send" {
        return parts[index + 1].split(separator: ";").compactMap { entry in
          let first = entry.split(separator: ",").first.map { $0.hasPrefix("~") ? $0.dropFirst() : $0 }
          return first.map(String.init)
        }
      }
      guard parts[index] == "recv" else { throw SdpError("a=simulcast:\(value): expects send/recv lists") }
      index += 2
    }
    if index < parts.count { throw SdpError("a=simulcast:\(value): a direction without streams") }
    return nil
  }

  static func isValidRid(_ text: Substring) -> Bool {
    !text.isEmpty && text.count <= 255
      && text.utf8.allSatisfy {
        ($0 >= 0x30 && $0 <= 0x39) || ($0 | 0x20 >= 0x61 && $0 | 0x20 <= 0x7a) || $0 == 0x2d || $0 == 0x5f
      }
  }
}

extension StringProtocol {
  var trimmingSpaces: String {
    var view = Substring(self)
    while view.first == " " || view.first == "\t" { view = view.dropFirst() }
    while view.last == " " || view.last == "\t" { view = view.dropLast() }
    return String(view)
  }
}
