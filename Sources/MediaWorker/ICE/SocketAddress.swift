/// A transport address as the media plane sees it: the peer of a datagram or a TCP connection.
/// The address is kept inline (two words), so making one for every received datagram, hashing it
/// and comparing it allocate nothing.
public struct SocketAddress: Hashable, Sendable, CustomStringConvertible {
  public enum Family: Sendable { case ipv4, ipv6 }

  public let family: Family
  /// The address bytes in network order, big-endian in `high` then `low` (IPv4: the top 32 bits of
  /// `high`).
  private let high: UInt64
  private let low: UInt64
  public let port: UInt16

  private init(family: Family, high: UInt64, low: UInt64, port: UInt16) {
    self.family = family
    self.high = high
    self.low = low
    self.port = port
  }

  /// An IPv4 address from its four octets (`[127, 0, 0, 1]`).
  public static func ipv4(_ octets: [UInt8], port: UInt16) -> SocketAddress {
    precondition(octets.count == 4, "an IPv4 address has 4 octets")
    return ipv4(address: octets.reduce(0) { $0 << 8 | UInt32($1) }, port: port)
  }

  /// An IPv4 address as a number (`0x7F00_0001` is 127.0.0.1).
  public static func ipv4(address: UInt32, port: UInt16) -> SocketAddress {
    SocketAddress(family: .ipv4, high: UInt64(address) << 32, low: 0, port: port)
  }

  /// An IPv6 address from its sixteen octets.
  public static func ipv6(_ octets: [UInt8], port: UInt16) -> SocketAddress {
    precondition(octets.count == 16, "an IPv6 address has 16 octets")
    let high = octets[..<8].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    let low = octets[8...].reduce(UInt64(0)) { $0 << 8 | UInt64($1) }
    return SocketAddress(family: .ipv6, high: high, low: low, port: port)
  }

  /// The IPv4 address as a number, nil for IPv6.
  public var ipv4Address: UInt32? { family == .ipv4 ? UInt32(truncatingIfNeeded: high >> 32) : nil }

  /// The address bytes: 4 for IPv4, 16 for IPv6.
  public var octets: [UInt8] {
    let count = family == .ipv4 ? 4 : 16
    return (0..<count).map { index in
      let word = index < 8 ? high : low
      return UInt8(truncatingIfNeeded: word >> (56 - 8 * UInt64(index % 8)))
    }
  }

  public var description: String {
    switch family {
    case .ipv4: return "\(octets.map(String.init).joined(separator: ".")):\(port)"
    case .ipv6:
      let bytes = octets
      let groups = stride(from: 0, to: 16, by: 2).map {
        String(UInt16(bytes[$0]) << 8 | UInt16(bytes[$0 + 1]), radix: 16)
      }
      return "[" + groups.joined(separator: ":") + "]:\(port)"
    }
  }

  /// The address part as text (`ip` in mediasoup's tuples).
  public var ip: String {
    let text = description
    switch family {
    case .ipv4: return String(text[..<text.lastIndex(of: ":")!])
    case .ipv6: return String(text.dropFirst().prefix { $0 != "]" })
    }
  }
}
