import ErizoCore
import Testing

@testable import MediaWorker

/// STUN against the RFC 5769 test vectors, and our own encoder against our parser.
@Suite("STUN messages (RFC 5389, RFC 5769 vectors)")
struct StunMessageTests {
  static func hex(_ text: String) -> [UInt8] {
    let digits = text.filter(\.isHexDigit)
    return stride(from: 0, to: digits.count, by: 2).map {
      let start = digits.index(digits.startIndex, offsetBy: $0)
      return UInt8(digits[start..<digits.index(start, offsetBy: 2)], radix: 16)!
    }
  }

  /// RFC 5769 §2.1: a Binding request with SOFTWARE, PRIORITY, ICE-CONTROLLED, USERNAME,
  /// MESSAGE-INTEGRITY and FINGERPRINT; password "VOkJxbRl1RmTxUk/WvJxBt".
  static let request = hex(
    """
    00 01 00 58 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
    80 22 00 10 53 54 55 4e 20 74 65 73 74 20 63 6c 69 65 6e 74
    00 24 00 04 6e 00 01 ff
    80 29 00 08 93 2f f9 b1 51 26 3b 36
    00 06 00 09 65 76 74 6a 3a 68 36 76 59 20 20 20
    00 08 00 14 9a ea a7 0c bf d8 cb 56 78 1e f2 b5 b2 d3 f2 49 c1 b5 71 a2
    80 28 00 04 e5 7a 3b cf
    """)

  /// RFC 5769 §2.2: the IPv4 response, mapped address 192.0.2.1:32853.
  static let responseIPv4 = hex(
    """
    01 01 00 3c 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
    80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
    00 20 00 08 00 01 a1 47 e1 12 a6 43
    00 08 00 14 2b 91 f5 99 fd 9e 90 c3 8c 74 89 f9 2a f9 ba 53 f0 6b e7 d7
    80 28 00 04 c0 7d 4c 96
    """)

  /// RFC 5769 §2.3: the IPv6 response, [2001:db8:1234:5678:11:2233:4455:6677]:32853.
  static let responseIPv6 = hex(
    """
    01 01 00 48 21 12 a4 42 b7 e7 a7 01 bc 34 d6 86 fa 87 df ae
    80 22 00 0b 74 65 73 74 20 76 65 63 74 6f 72 20
    00 20 00 14 00 02 a1 47 01 13 a9 fa a5 d3 f1 79 bc 25 f4 b5 be d2 b9 d9
    00 08 00 14 a3 82 95 4e 4b e6 7b f1 17 84 c9 7c 82 92 c2 75 bf e3 ed 41
    80 28 00 04 c8 fb 0b 4c
    """)

  static let password = Array("VOkJxbRl1RmTxUk/WvJxBt".utf8)

  @Test func parsesTheSampleRequest() throws {
    let message = try StunMessage(parsing: Self.request)
    #expect(message.type == .bindingRequest)
    #expect(message.type.method == 1 && message.type.isRequest)
    #expect(message.software == "STUN test client")
    #expect(message.priority == 0x6e00_01ff)
    #expect(message.iceControlled == 0x932f_f9b1_5126_3b36)
    #expect(message.username == "evtj:h6vY")
    #expect(message.fingerprintOffset != nil)
    #expect(message.hasValidIntegrity(key: Self.password))
    #expect(!message.hasValidIntegrity(key: Array("wrong".utf8)))
  }

  @Test func parsesTheSampleResponses() throws {
    let v4 = try StunMessage(parsing: Self.responseIPv4)
    #expect(v4.type == .bindingSuccess)
    #expect(v4.xorMappedAddress == .ipv4([192, 0, 2, 1], port: 32853))
    #expect(v4.hasValidIntegrity(key: Self.password))
    let v6 = try StunMessage(parsing: Self.responseIPv6)
    #expect(v6.xorMappedAddress?.description == "[2001:db8:1234:5678:11:2233:4455:6677]:32853")
    #expect(v6.hasValidIntegrity(key: Self.password))
  }

  @Test func encodesTheSameAddressAndChecksAsTheVectors() throws {
    // Our encoder pads with zeros where the vector pads SOFTWARE with spaces, so the integrity and
    // fingerprint differ; the XOR-MAPPED-ADDRESS attribute must match byte for byte.
    var response = StunMessage(type: .bindingSuccess, transactionID: Array(Self.responseIPv4[8..<20]))
    response.xorMappedAddress = .ipv4([192, 0, 2, 1], port: 32853)
    let bytes = response.encoded(integrityKey: Self.password)
    #expect(Array(bytes[20..<32]) == Array(Self.responseIPv4[36..<48]))
    let parsed = try StunMessage(parsing: bytes)
    #expect(parsed.xorMappedAddress == response.xorMappedAddress)
    #expect(parsed.hasValidIntegrity(key: Self.password))
    #expect(parsed.fingerprintOffset == bytes.count - 8)
  }

  @Test func rejectsDamage() {
    var flipped = Self.request
    flipped[30] ^= 0x01
    #expect(throws: StunMessage.ParseError.badFingerprint) { try StunMessage(parsing: flipped) }
    #expect(throws: StunMessage.ParseError.truncated) { try StunMessage(parsing: Array(Self.request.dropLast(4))) }
    #expect(throws: StunMessage.ParseError.notStun) { try StunMessage(parsing: [0x80] + Self.request.dropFirst()) }
    var longer = Self.request
    longer[3] = 0x5c  // length claims 4 more bytes than present
    #expect(throws: StunMessage.ParseError.truncated) { try StunMessage(parsing: longer) }
    var badPriority = Self.request
    badPriority[43] = 0x05  // PRIORITY with length 5
    #expect(throws: (any Error).self) { try StunMessage(parsing: badPriority) }
  }
}

/// ICE-lite with a manual clock.
@Suite("ICE-lite server")
struct IceServerTests {
  let start = ContinuousClock.now
  let tuple = TransportTuple(localSocket: 0, remote: .ipv4([127, 0, 0, 1], port: 5000), proto: .udp)
  let other = TransportTuple(localSocket: 0, remote: .ipv4([127, 0, 0, 1], port: 5001), proto: .udp)

  func request(
    username: String = "local:remote", password: String = "localpassword", useCandidate: Bool = false,
    controlled: Bool = false, nomination: UInt32? = nil, priority: Bool = true, fingerprint: Bool = true
  ) throws -> StunMessage {
    var message = StunMessage(type: .bindingRequest, transactionID: Crypto.randomBytes(12))
    message.username = username
    message.priority = priority ? 12345 : nil
    message.useCandidate = useCandidate
    message.iceControlling = controlled ? nil : 42
    message.iceControlled = controlled ? 42 : nil
    message.nomination = nomination
    return try StunMessage(parsing: message.encoded(integrityKey: Array(password.utf8), fingerprint: fingerprint))
  }

  func errorCode(_ response: [UInt8]?) throws -> Int? {
    try StunMessage(parsing: try #require(response)).errorCode
  }

  @Test func answersAndNominates() throws {
    var ice = IceServer(usernameFragment: "local", password: "localpassword")
    let first = ice.handle(try request(), from: tuple, now: start)
    #expect(first.events == [.selectedTupleChanged(tuple), .stateChanged(.connected)])
    let response = try StunMessage(parsing: try #require(first.response))
    #expect(response.type == .bindingSuccess)
    #expect(response.xorMappedAddress == tuple.remote)
    #expect(response.hasValidIntegrity(key: Array("localpassword".utf8)))
    let nominated = ice.handle(try request(useCandidate: true), from: other, now: start)
    #expect(nominated.events == [.selectedTupleChanged(other), .stateChanged(.completed)])
    #expect(ice.tuples == [tuple, other])
  }

  @Test func refusesBadRequestsWithTheRightCodes() throws {
    var ice = IceServer(usernameFragment: "local", password: "localpassword")
    #expect(try errorCode(ice.handle(try request(password: "nope"), from: tuple, now: start).response) == 401)
    #expect(try errorCode(ice.handle(try request(username: "other:remote"), from: tuple, now: start).response) == 401)
    #expect(try errorCode(ice.handle(try request(priority: false), from: tuple, now: start).response) == 400)
    #expect(try errorCode(ice.handle(try request(fingerprint: false), from: tuple, now: start).response) == 400)
    #expect(try errorCode(ice.handle(try request(controlled: true), from: tuple, now: start).response) == 487)
    #expect(ice.state == .new && ice.tuples.isEmpty, "no refused request validates a tuple")
  }

  @Test func dataOnlyFromValidatedTuplesAndSwitching() throws {
    var ice = IceServer(usernameFragment: "local", password: "localpassword")
    #expect(!ice.dataReceived(on: tuple).accepted, "nothing before ICE")
    _ = ice.handle(try request(useCandidate: true), from: tuple, now: start)
    _ = ice.handle(try request(), from: other, now: start)
    #expect(ice.selectedTuple == tuple)
    let switched = ice.dataReceived(on: other)
    #expect(switched.accepted && switched.events == [.selectedTupleChanged(other)])
    let stranger = TransportTuple(localSocket: 0, remote: .ipv4([127, 0, 0, 1], port: 9), proto: .udp)
    #expect(!ice.dataReceived(on: stranger).accepted)
  }

  @Test func renominationMovesTheSelection() throws {
    var ice = IceServer(usernameFragment: "local", password: "localpassword")
    _ = ice.handle(try request(nomination: 1), from: tuple, now: start)
    _ = ice.handle(try request(nomination: 1), from: other, now: start)
    #expect(ice.selectedTuple == tuple, "an equal nomination does not move it")
    _ = ice.handle(try request(nomination: 2), from: other, now: start)
    #expect(ice.selectedTuple == other)
  }

  @Test func consentExpiresAndRestartKeepsOldCredentialsUntilUsed() throws {
    var ice = IceServer(usernameFragment: "local", password: "localpassword", consentTimeout: .seconds(30))
    _ = ice.handle(try request(useCandidate: true), from: tuple, now: start)
    #expect(ice.tick(now: start + .seconds(29)).isEmpty)
    _ = ice.handle(try request(), from: tuple, now: start + .seconds(20))
    #expect(ice.tick(now: start + .seconds(45)).isEmpty, "each valid request restarts the timer")
    #expect(ice.tick(now: start + .seconds(51)) == [.stateChanged(.disconnected)])
    #expect(ice.tuples.isEmpty && ice.selectedTuple == nil)

    ice.restart(usernameFragment: "fresh", password: "freshpassword")
    #expect(
      ice.handle(try request(), from: tuple, now: start + .seconds(60)).events.contains(.stateChanged(.connected)))
    let new = ice.handle(try request(username: "fresh:remote", password: "freshpassword"), from: tuple, now: start)
    #expect(try StunMessage(parsing: try #require(new.response)).type == .bindingSuccess)
    #expect(try errorCode(ice.handle(try request(), from: tuple, now: start).response) == 401, "old ones retired")
  }

  @Test func tupleLimitAndTCPClose() throws {
    var ice = IceServer(usernameFragment: "local", password: "localpassword")
    _ = ice.handle(try request(useCandidate: true), from: tuple, now: start)
    for port in 6000..<6010 {
      let extra = TransportTuple(localSocket: 0, remote: .ipv4([127, 0, 0, 1], port: UInt16(port)), proto: .udp)
      _ = ice.handle(try request(), from: extra, now: start)
    }
    #expect(ice.tuples.count == IceServer.maximumTuples)
    #expect(ice.tuples.contains(tuple), "the selected tuple is never evicted")
    for candidate in ice.tuples where candidate != tuple { _ = ice.removeTuple(candidate) }
    #expect(ice.removeTuple(tuple) == [.stateChanged(.disconnected)])
  }

  @Test func credentialsAreLowercaseAlphanumeric() {
    let value = IceServer.randomCredential()
    #expect(value.count == 32)
    #expect(value.allSatisfy { $0.isNumber || ("a"..."z").contains($0) })
    #expect(value != IceServer.randomCredential())
  }
}
