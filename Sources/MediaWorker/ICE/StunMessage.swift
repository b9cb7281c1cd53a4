internal import ErizoCore

/// A STUN message (RFC 5389) as ICE uses it: parsed from a datagram, checked for integrity and
/// fingerprint, and built for responses. Sans-IO; the attributes ICE-lite needs are decoded, the
/// rest are skipped.
public struct StunMessage: Sendable, Equatable {
  public static let magicCookie: UInt32 = 0x2112_A442
  public static let headerSize = 20

  /// Class and method in one 14-bit value, as on the wire.
  public struct MessageType: RawRepresentable, Hashable, Sendable {
    public let rawValue: UInt16
    public init(rawValue: UInt16) { self.rawValue = rawValue }
    public static let bindingRequest = MessageType(rawValue: 0x0001)
    public static let bindingIndication = MessageType(rawValue: 0x0011)
    public static let bindingSuccess = MessageType(rawValue: 0x0101)
    public static let bindingError = MessageType(rawValue: 0x0111)
    /// The method (Binding is 1), without the class bits.
    public var method: UInt16 { (rawValue & 0x000F) | ((rawValue & 0x00E0) >> 1) | ((rawValue & 0x3E00) >> 2) }
    public var isRequest: Bool { rawValue & 0x0110 == 0x0000 }
  }

  enum Attribute: UInt16 {
    case mappedAddress = 0x0001
    case username = 0x0006
    case messageIntegrity = 0x0008
    case errorCode = 0x0009
    case xorMappedAddress = 0x0020
    case priority = 0x0024
    case useCandidate = 0x0025
    case software = 0x8022
    case fingerprint = 0x8028
    case iceControlled = 0x8029
    case iceControlling = 0x802A
    case nomination = 0xC001
  }

  public var type: MessageType
  public var transactionID: [UInt8]
  public var username: String?
  public var priority: UInt32?
  public var useCandidate = false
  public var iceControlled: UInt64?
  public var iceControlling: UInt64?
  public var nomination: UInt32?
  public var errorCode: Int?
  public var errorReason: String?
  public var xorMappedAddress: SocketAddress?
  public var software: String?
  /// Where MESSAGE-INTEGRITY starts in the parsed bytes (nil when absent).
  public private(set) var integrityOffset: Int?
  /// Where FINGERPRINT starts in the parsed bytes (nil when absent).
  public private(set) var fingerprintOffset: Int?
  /// The parsed datagram, kept for the integrity check.
  private var raw: [UInt8] = []

  public init(type: MessageType, transactionID: [UInt8]) {
    self.type = type
    self.transactionID = transactionID
  }

  public enum ParseError: Error, Equatable {
    case notStun
    case truncated
    case badAttribute(UInt16)
    case badFingerprint
  }

  /// The RFC 7983 test: at least a header, first two bits zero, the magic cookie in place.
  public static func looksLikeStun(_ bytes: UnsafeRawBufferPointer) -> Bool {
    bytes.count >= headerSize && bytes[0] < 4 && bytes[4] == 0x21 && bytes[5] == 0x12 && bytes[6] == 0xA4
      && bytes[7] == 0x42
  }

  /// Parses a datagram. A FINGERPRINT, when present, must be correct; integrity is checked
  /// separately with the key (`hasValidIntegrity(key:)`).
  public init(parsing bytes: [UInt8]) throws(ParseError) {
    guard bytes.withUnsafeBytes({ Self.looksLikeStun($0) }) else { throw .notStun }
    let length = Int(bytes[2]) << 8 | Int(bytes[3])
    guard length % 4 == 0, bytes.count == Self.headerSize + length else { throw .truncated }
    type = MessageType(rawValue: UInt16(bytes[0]) << 8 | UInt16(bytes[1]))
    transactionID = Array(bytes[8..<20])
    raw = bytes
    var offset = Self.headerSize
    while offset < bytes.count {
      guard offset + 4 <= bytes.count else { throw .truncated }
      let code = UInt16(bytes[offset]) << 8 | UInt16(bytes[offset + 1])
      let valueLength = Int(bytes[offset + 2]) << 8 | Int(bytes[offset + 3])
      let start = offset + 4
      guard start + valueLength <= bytes.count else { throw .truncated }
      let value = bytes[start..<start + valueLength]
      // Nothing but FINGERPRINT may follow MESSAGE-INTEGRITY, and nothing may follow FINGERPRINT.
      if fingerprintOffset != nil { throw .badAttribute(code) }
      if integrityOffset != nil, code != Attribute.fingerprint.rawValue {
        offset = start + (valueLength + 3) & ~3
        continue
      }
      switch Attribute(rawValue: code) {
      case .username:
        guard let text = String(validating: value, as: UTF8.self) else { throw .badAttribute(code) }
        username = text
      case .priority:
        guard valueLength == 4 else { throw .badAttribute(code) }
        priority = Self.uint32(value)
      case .useCandidate:
        guard valueLength == 0 else { throw .badAttribute(code) }
        useCandidate = true
      case .iceControlled, .iceControlling:
        guard valueLength == 8 else { throw .badAttribute(code) }
        let tie = UInt64(Self.uint32(value.prefix(4))) << 32 | UInt64(Self.uint32(value.suffix(4)))
        if code == Attribute.iceControlled.rawValue { iceControlled = tie } else { iceControlling = tie }
      case .nomination:
        guard valueLength == 4 else { throw .badAttribute(code) }
        nomination = Self.uint32(value) & 0x00FF_FFFF
      case .messageIntegrity:
        guard valueLength == 20 else { throw .badAttribute(code) }
        integrityOffset = offset
      case .fingerprint:
        guard valueLength == 4 else { throw .badAttribute(code) }
        fingerprintOffset = offset
        let expected = CRC32.checksum(bytes[..<offset], lengthOverride: offset + 8 - Self.headerSize) ^ 0x5354_554E
        guard Self.uint32(value) == expected else { throw .badFingerprint }
      case .errorCode:
        guard valueLength >= 4 else { throw .badAttribute(code) }
        errorCode = Int(value[value.startIndex + 2] & 0x07) * 100 + Int(value[value.startIndex + 3])
        errorReason = String(decoding: value.dropFirst(4), as: UTF8.self)
      case .xorMappedAddress:
        guard let address = Self.decodeXORAddress(value, transactionID: transactionID) else {
          throw .badAttribute(code)
        }
        xorMappedAddress = address
      case .software:
        software = String(decoding: value, as: UTF8.self)
      case .mappedAddress, nil:
        // Unknown comprehension-optional attributes (≥ 0x8000) are ignored; so are unknown
        // comprehension-required ones in requests ICE-lite answers (it has no use for them).
        break
      }
      offset = start + (valueLength + 3) & ~3
    }
  }

  /// True when MESSAGE-INTEGRITY is present and matches HMAC-SHA1 with `key` (for ICE, the local
  /// password as UTF-8), computed with the length field covering the attribute (RFC 5389 §15.4).
  public func hasValidIntegrity(key: [UInt8]) -> Bool {
    guard let integrityOffset else { return false }
    var covered = Array(raw[..<integrityOffset])
    let length = integrityOffset + 24 - Self.headerSize
    covered[2] = UInt8(length >> 8)
    covered[3] = UInt8(length & 0xFF)
    let expected = Crypto.hmacSHA1(key: key, message: covered)
    return Crypto.constantTimeEqual(expected, Array(raw[integrityOffset + 4..<integrityOffset + 24]))
  }

  /// Serialises the message, adding MESSAGE-INTEGRITY (when `integrityKey` is given) and FINGERPRINT.
  public func encoded(integrityKey: [UInt8]? = nil, fingerprint: Bool = true) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(128)
    Self.append16(&out, type.rawValue)
    Self.append16(&out, 0)
    Self.append32(&out, Self.magicCookie)
    out.append(contentsOf: transactionID)
    func attribute(_ code: Attribute, _ value: [UInt8]) {
      Self.append16(&out, code.rawValue)
      Self.append16(&out, UInt16(value.count))
      out.append(contentsOf: value)
      while out.count % 4 != 0 { out.append(0) }
    }
    if let username { attribute(.username, Array(username.utf8)) }
    if let priority { attribute(.priority, Self.bytes32(priority)) }
    if useCandidate { attribute(.useCandidate, []) }
    if let iceControlled { attribute(.iceControlled, Self.bytes64(iceControlled)) }
    if let iceControlling { attribute(.iceControlling, Self.bytes64(iceControlling)) }
    if let nomination { attribute(.nomination, Self.bytes32(nomination & 0x00FF_FFFF)) }
    if let errorCode {
      attribute(
        .errorCode, [0, 0, UInt8(errorCode / 100), UInt8(errorCode % 100)] + Array((errorReason ?? "").utf8))
    }
    if let xorMappedAddress { attribute(.xorMappedAddress, Self.encodeXORAddress(xorMappedAddress, transactionID)) }
    if let software { attribute(.software, Array(software.utf8)) }
    func setLength(_ length: Int) {
      out[2] = UInt8(length >> 8)
      out[3] = UInt8(length & 0xFF)
    }
    if let integrityKey {
      setLength(out.count + 24 - Self.headerSize)
      attribute(.messageIntegrity, Crypto.hmacSHA1(key: integrityKey, message: out))
    }
    if fingerprint {
      setLength(out.count + 8 - Self.headerSize)
      attribute(.fingerprint, Self.bytes32(CRC32.checksum(out[...], lengthOverride: nil) ^ 0x5354_554E))
    }
    setLength(out.count - Self.headerSize)
    return out
  }

  // MARK: helpers

  static func uint32(_ bytes: ArraySlice<UInt8>) -> UInt32 {
    bytes.prefix(4).reduce(0) { $0 << 8 | UInt32($1) }
  }
  static func append16(_ out: inout [UInt8], _ value: UInt16) {
    out.append(UInt8(value >> 8))
    out.append(UInt8(value & 0xFF))
  }
  static func append32(_ out: inout [UInt8], _ value: UInt32) { out.append(contentsOf: bytes32(value)) }
  static func bytes32(_ value: UInt32) -> [UInt8] {
    [UInt8(value >> 24), UInt8(value >> 16 & 0xFF), UInt8(value >> 8 & 0xFF), UInt8(value & 0xFF)]
  }
  static func bytes64(_ value: UInt64) -> [UInt8] {
    bytes32(UInt32(value >> 32)) + bytes32(UInt32(value & 0xFFFF_FFFF))
  }

  static func decodeXORAddress(_ value: ArraySlice<UInt8>, transactionID: [UInt8]) -> SocketAddress? {
    let bytes = Array(value)
    guard bytes.count >= 8 else { return nil }
    let port = (UInt16(bytes[2]) << 8 | UInt16(bytes[3])) ^ 0x2112
    let cookie = bytes32(magicCookie)
    switch bytes[1] {
    case 0x01 where bytes.count == 8:
      return .ipv4((0..<4).map { bytes[4 + $0] ^ cookie[$0] }, port: port)
    case 0x02 where bytes.count == 20:
      let mask = cookie + transactionID
      return .ipv6((0..<16).map { bytes[4 + $0] ^ mask[$0] }, port: port)
    default:
      return nil
    }
  }

  static func encodeXORAddress(_ address: SocketAddress, _ transactionID: [UInt8]) -> [UInt8] {
    let port = address.port ^ 0x2112
    if let ipv4 = address.ipv4Address {
      let masked = ipv4 ^ magicCookie
      return [
        0, 0x01, UInt8(port >> 8), UInt8(port & 0xFF), UInt8(masked >> 24), UInt8(masked >> 16 & 0xFF),
        UInt8(masked >> 8 & 0xFF), UInt8(masked & 0xFF),
      ]
    }
    let octets = address.octets
    let mask = bytes32(magicCookie) + transactionID
    return [0, 0x02, UInt8(port >> 8), UInt8(port & 0xFF)] + (0..<16).map { octets[$0] ^ mask[$0] }
  }
}

/// CRC-32 (ISO-HDLC, the one STUN's FINGERPRINT uses), table-driven.
enum CRC32 {
  static let table: [UInt32] = (0..<256).map { index in
    var value = UInt32(index)
    for _ in 0..<8 { value = value & 1 != 0 ? 0xEDB8_8320 ^ (value >> 1) : value >> 1 }
    return value
  }

  /// The checksum of `bytes`; with `lengthOverride`, the STUN length field (bytes 2–3) is read as
  /// that value instead of what the bytes hold.
  static func checksum(_ bytes: ArraySlice<UInt8>, lengthOverride: Int?) -> UInt32 {
    var crc: UInt32 = 0xFFFF_FFFF
    for (position, byte) in bytes.enumerated() {
      var value = byte
      if let lengthOverride, position == 2 { value = UInt8(lengthOverride >> 8) }
      if let lengthOverride, position == 3 { value = UInt8(lengthOverride & 0xFF) }
      crc = table[Int((crc ^ UInt32(value)) & 0xFF)] ^ (crc >> 8)
    }
    return crc ^ 0xFFFF_FFFF
  }
}
