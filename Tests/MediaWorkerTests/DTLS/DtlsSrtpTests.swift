import Foundation
import Testing

@testable import MediaWorker

/// Two of our own DTLS sessions shake hands in memory, and the SRTP keys they export protect and
/// unprotect RTP and RTCP in both profiles.
@Suite("DTLS sessions and SRTP")
struct DtlsSrtpTests {
  static let contexts = (try! DtlsContext(), try! DtlsContext())

  /// Runs the handshake to completion (or failure), passing every datagram across; returns what
  /// each side reported.
  static func handshake(
    client: DtlsSession, server: DtlsSession, clientSees: (String, String), serverSees: (String, String),
    dropFirstFlights: Int = 0
  ) -> (client: [DtlsSession.Event], server: [DtlsSession.Event], rounds: Int) {
    var clientEvents = client.setRemoteFingerprint(algorithm: clientSees.0, value: clientSees.1)
    var serverEvents = server.setRemoteFingerprint(algorithm: serverSees.0, value: serverSees.1)
    _ = server.start(role: .server)
    var (toServer, events) = client.start(role: .client)
    clientEvents += events
    var toClient: [[UInt8]] = []
    var dropped = 0
    var rounds = 0
    while rounds < 20, !(toServer.isEmpty && toClient.isEmpty) {
      rounds += 1
      if dropped < dropFirstFlights {
        // Lose this flight: the client's retransmission timer (100 ms first) must resend it.
        dropped += 1
        let wait = client.timeout() ?? .zero
        #expect(wait > .milliseconds(50) && wait <= .milliseconds(100), "\(wait)")
        usleep(UInt32(wait.components.attoseconds / 1_000_000_000_000) + 10_000)
        toServer = client.handleTimeout().outgoing
        continue
      }
      var next: [[UInt8]] = []
      for datagram in toServer {
        let result = datagram.withUnsafeBytes { server.receive($0) }
        next += result.outgoing
        serverEvents += result.events
      }
      toServer = []
      for datagram in next + toClient {
        let result = datagram.withUnsafeBytes { client.receive($0) }
        toServer += result.outgoing
        clientEvents += result.events
      }
      toClient = []
    }
    return (clientEvents, serverEvents, rounds)
  }

  static func sha256(_ context: DtlsContext) -> (String, String) {
    ("sha-256", context.fingerprints.first { $0.algorithm == "sha-256" }!.value)
  }

  @Test func certificateAndFingerprints() {
    let (a, b) = Self.contexts
    #expect(a.fingerprints.map(\.algorithm) == ["sha-1", "sha-224", "sha-256", "sha-384", "sha-512"])
    #expect(Self.sha256(a).1.count == 32 * 3 - 1, "32 bytes as AB:CD:…")
    #expect(Self.sha256(a).1 != Self.sha256(b).1, "each worker has its own certificate")
  }

  @Test func handshakeExportsMatchingKeysWithGCMPreferred() throws {
    let (a, b) = Self.contexts
    let client = try DtlsSession(context: a)
    let server = try DtlsSession(context: b)
    let result = Self.handshake(client: client, server: server, clientSees: Self.sha256(b), serverSees: Self.sha256(a))
    guard case .connected(let clientKeys)? = result.client.last, case .connected(let serverKeys)? = result.server.last
    else {
      Issue.record("not connected: \(result)")
      return
    }
    #expect(clientKeys.profile == .aeadAes128Gcm)
    #expect(clientKeys.local == serverKeys.remote && clientKeys.remote == serverKeys.local)
    #expect(clientKeys.local != clientKeys.remote)
    #expect(clientKeys.local.count == 28)
    #expect(client.state == .connected && server.state == .connected)
    #expect(client.timeout() == nil, "no timer once connected")

    // Application data and close_notify.
    let data = client.send([1, 2, 3])
    let received = data.flatMap { datagram in datagram.withUnsafeBytes { server.receive($0).events } }
    #expect(received == [.applicationData([1, 2, 3])])
    let goodbye = client.close()
    let closing = goodbye.flatMap { datagram in datagram.withUnsafeBytes { server.receive($0).events } }
    #expect(closing == [.closed])
  }

  @Test func aWrongFingerprintFailsTheHandshake() throws {
    let (a, b) = Self.contexts
    let client = try DtlsSession(context: a)
    let server = try DtlsSession(context: b)
    let result = Self.handshake(
      client: client, server: server, clientSees: Self.sha256(a),  // not the server's certificate
      serverSees: Self.sha256(a))
    #expect(result.client.contains(.failed("the peer's certificate does not match its fingerprint")))
    #expect(client.state == .failed)
  }

  @Test func aLateFingerprintIsCheckedWhenItArrives() throws {
    let (a, b) = Self.contexts
    let client = try DtlsSession(context: a)
    let server = try DtlsSession(context: b)
    var events = server.start(role: .server).events
    var toServer = client.start(role: .client).outgoing
    _ = client.setRemoteFingerprint(algorithm: "sha-256", value: Self.sha256(b).1)
    for _ in 0..<10 where !toServer.isEmpty {
      var toClient: [[UInt8]] = []
      for datagram in toServer {
        let result = datagram.withUnsafeBytes { server.receive($0) }
        toClient += result.outgoing
        events += result.events
      }
      toServer = toClient.flatMap { datagram in datagram.withUnsafeBytes { client.receive($0).outgoing } }
    }
    #expect(events.isEmpty && server.state == .connecting, "the server waits for the fingerprint")
    let late = server.setRemoteFingerprint(algorithm: "SHA-256", value: Self.sha256(a).1.lowercased())
    guard case .connected? = late.first else {
      Issue.record("\(late)")
      return
    }
  }

  @Test func aLostFlightIsRetransmitted() throws {
    let (a, b) = Self.contexts
    let client = try DtlsSession(context: a)
    let server = try DtlsSession(context: b)
    #expect(client.timeout() == nil, "no timer before the handshake starts")
    let result = Self.handshake(
      client: client, server: server, clientSees: Self.sha256(b), serverSees: Self.sha256(a), dropFirstFlights: 1)
    guard case .connected? = result.client.last else {
      Issue.record("no connection after a retransmission: \(result)")
      return
    }
  }

  @Test(arguments: SrtpProfile.allCases)
  func srtpRoundTrips(profile: SrtpProfile) throws {
    let key = (0..<profile.masterLength).map { UInt8($0 &* 7 &+ 1) }
    let sender = try SrtpSession(profile: profile, key: key, direction: .outbound)
    let receiver = try SrtpSession(profile: profile, key: key, direction: .inbound)
    // RTP: V=2, PT 96, seq 1000, ts 90000, SSRC 0x11223344, 100 bytes of payload.
    let header: [UInt8] = [0x80, 96, 0x03, 0xE8, 0x00, 0x01, 0x5F, 0x90, 0x11, 0x22, 0x33, 0x44]
    let packet = header + (0..<100).map { UInt8($0) }
    var buffer = [UInt8](repeating: 0, count: 1500)
    buffer.replaceSubrange(0..<packet.count, with: packet)
    let protected = try buffer.withUnsafeMutableBytes { try sender.protectRTP($0, length: packet.count) }
    #expect(protected == packet.count + (profile == .aeadAes128Gcm ? 16 : 10))
    #expect(Array(buffer[12..<packet.count]) != Array(packet[12...]), "the payload is encrypted")
    var copy = buffer
    let plain = try buffer.withUnsafeMutableBytes { try receiver.unprotectRTP($0, length: protected) }
    #expect(Array(buffer[..<plain]) == packet)
    // A replay of the same packet is refused; a damaged one too.
    #expect(throws: SrtpSession.SrtpError.self) {
      try copy.withUnsafeMutableBytes { try receiver.unprotectRTP($0, length: protected) }
    }
    // RTCP: a receiver report with no blocks.
    let report: [UInt8] = [0x80, 201, 0x00, 0x01, 0x11, 0x22, 0x33, 0x44]
    buffer.replaceSubrange(0..<report.count, with: report)
    let protectedReport = try buffer.withUnsafeMutableBytes { try sender.protectRTCP($0, length: report.count) }
    buffer[protectedReport - 1] ^= 0xFF
    #expect(throws: SrtpSession.SrtpError.self) {
      try buffer.withUnsafeMutableBytes { try receiver.unprotectRTCP($0, length: protectedReport) }
    }
    #expect(throws: SrtpSession.SrtpError.setup(-1)) {
      try SrtpSession(profile: profile, key: [1, 2, 3], direction: .inbound)
    }
  }
}
