import ErizoCore
import ErizoTesting
import Foundation
import MediaWorker
import SDP

/// A WebRTC client made of the project's own engines on a real UDP socket: ICE (a nominating
/// Binding request, then consent checks every 2 s), the DTLS client role, SRTP. A publisher sends
/// synthetic VP8 packets and, with audio, an Opus-sized packet (10 ms frames) beside each one; a
/// subscriber counts what arrives and how late. Every packet carries its index and send time (the
/// load process's monotonic clock) after two leading payload bytes (the VP8 descriptor), so a
/// subscriber measures loss and added latency without any clock sync.
final class SyntheticPeer {
  enum Direction { case send, receive }

  static let ssrc: UInt32 = 0x5EED_0001
  static let audioSsrc: UInt32 = 0x5EED_0002
  /// The payload type `ForwardingRig.writeVP8` writes.
  static let payloadType: UInt8 = 96
  static let audioPayloadType: UInt8 = 111
  /// An Opus packet of 10 ms at about 64 kbit/s.
  static let audioPacketSize = 92

  let direction: Direction
  /// Sends (or takes) an audio stream besides the video one.
  let audio: Bool
  let socket: Int32
  let localUfrag = Crypto.lowercaseHex(Crypto.randomBytes(4))
  let localPassword = Crypto.lowercaseHex(Crypto.randomBytes(12))
  private let context: DtlsContext
  private let dtls: DtlsSession
  private var remote = sockaddr_in()
  private var remoteUfrag = ""
  private var remotePassword: [UInt8] = []
  private var srtpOut: SrtpSession?
  private var srtpIn: SrtpSession?
  private var nextConsent = ContinuousClock.now
  private var receiveBuffer = [UInt8](repeating: 0, count: 2048)
  private var sendBuffer = [UInt8](repeating: 0, count: 1500)
  /// The WHIP/WHEP resource, for DELETE.
  var location: String?

  private(set) var iceConnected = false
  var connected: Bool { srtpOut != nil && srtpIn != nil }
  /// A publisher: the worker asked for a key frame (PLI or FIR).
  var keyFrameRequested = false

  // What a subscriber counts.
  private(set) var receivedPackets = 0
  /// The SSRCs media arrived on: one per stream (a Socket.IO receive transport carries several).
  private(set) var streamsReceiving: [UInt32] = []
  /// Packets whose index is in the measured window, and their one-way delays in µs.
  private(set) var windowPackets = 0
  private(set) var windowDelays: [UInt32] = []
  var window: Range<UInt32> = 0..<0

  init(direction: Direction, audio: Bool, context: DtlsContext) throws {
    self.direction = direction
    self.audio = audio
    self.context = context
    dtls = try DtlsSession(context: context)
    socket = Glibc.socket(AF_INET, Int32(SOCK_DGRAM.rawValue), 0)
    guard socket >= 0 else { throw LoadError("socket: \(String(cString: strerror(errno)))") }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    let bound = withUnsafePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        bind(socket, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
    guard bound == 0 else { throw LoadError("bind: \(String(cString: strerror(errno)))") }
    _ = fcntl(socket, F_SETFL, fcntl(socket, F_GETFL) | O_NONBLOCK)
    var size: Int32 = 1 << 20
    _ = setsockopt(socket, SOL_SOCKET, SO_RCVBUF, &size, socklen_t(MemoryLayout<Int32>.size))
  }

  deinit { close(socket) }

  /// The offer: a VP8 video section and, with audio, an Opus one; send-only (WHIP) or receive-only
  /// (WHEP), BUNDLE, rtcp-mux, DTLS client (`a=setup:active`), no candidates (the server is ICE-lite
  /// and answers ours).
  var offer: String {
    let fingerprint = context.fingerprints.first { $0.algorithm == "sha-256" }!
    var lines = [
      "v=0", "o=- \(UInt32.random(in: 1...UInt32.max)) 2 IN IP4 127.0.0.1", "s=-", "t=0 0",
      audio ? "a=group:BUNDLE 0 1" : "a=group:BUNDLE 0", "a=msid-semantic: WMS load",
    ]
    func section(_ kind: String, mid: Int, payloadType: UInt8, codec: [String], ssrc: UInt32) -> [String] {
      var section = [
        "m=\(kind) 9 UDP/TLS/RTP/SAVPF \(payloadType)", "c=IN IP4 0.0.0.0", "a=rtcp:9 IN IP4 0.0.0.0",
        "a=ice-ufrag:\(localUfrag)", "a=ice-pwd:\(localPassword)",
        "a=fingerprint:\(fingerprint.algorithm) \(fingerprint.value)", "a=setup:active", "a=mid:\(mid)",
        "a=extmap:4 urn:ietf:params:rtp-hdrext:sdes:mid", direction == .send ? "a=sendonly" : "a=recvonly",
        "a=rtcp-mux", "a=rtcp-rsize",
      ]
      section += codec
      if direction == .send { section += ["a=msid:load \(kind)", "a=ssrc:\(ssrc) cname:load"] }
      return section
    }
    let video = Self.payloadType
    lines += section(
      "video", mid: 0, payloadType: video,
      codec: [
        "a=rtpmap:\(video) VP8/90000", "a=rtcp-fb:\(video) nack", "a=rtcp-fb:\(video) nack pli",
        "a=rtcp-fb:\(video) ccm fir",
      ], ssrc: Self.ssrc)
    if audio {
      let opus = Self.audioPayloadType
      lines += section(
        "audio", mid: 1, payloadType: opus,
        codec: ["a=rtpmap:\(opus) opus/48000/2", "a=fmtp:\(opus) minptime=10;useinbandfec=1"], ssrc: Self.audioSsrc)
    }
    return lines.joined(separator: "\r\n") + "\r\n"
  }

  /// Reads the server's ICE credentials, fingerprint and first UDP candidate from its answer.
  func apply(answer text: String) throws {
    let answer = try WebRtcOffer(parsing: text)
    guard let fingerprint = answer.transport.fingerprints.first else { throw LoadError("no fingerprint") }
    let candidates = answer.description.media.first?.values("candidate") ?? []
    guard
      let udp = candidates.map({ $0.split(separator: " ") }).first(where: {
        $0.count >= 6 && $0[2].lowercased() == "udp"
      }), let port = UInt16(udp[5])
    else { throw LoadError("the answer has no UDP candidate") }
    setRemote(
      ufrag: answer.transport.iceUsernameFragment, password: answer.transport.icePassword,
      fingerprint: (fingerprint.algorithm, fingerprint.value), address: String(udp[4]), port: port)
  }

  /// Reads the same from a `createWebRtcTransport` reply (mediasoup-signal over Socket.IO).
  func apply(transport options: JSONValue) throws {
    guard let ufrag = options["iceParameters"]?["usernameFragment"]?.stringValue,
      let password = options["iceParameters"]?["password"]?.stringValue,
      let fingerprint = options["dtlsParameters"]?["fingerprints"]?.arrayValue?.first,
      let algorithm = fingerprint["algorithm"]?.stringValue, let value = fingerprint["value"]?.stringValue
    else { throw LoadError("createWebRtcTransport: no ICE or DTLS parameters") }
    let udp = options["iceCandidates"]?.arrayValue?.first { $0["protocol"]?.stringValue == "udp" }
    guard let address = udp?["ip"]?.stringValue ?? udp?["address"]?.stringValue,
      let port = udp?["port"]?.intValue.flatMap(UInt16.init(exactly:))
    else { throw LoadError("createWebRtcTransport: no UDP candidate") }
    setRemote(ufrag: ufrag, password: password, fingerprint: (algorithm, value), address: address, port: port)
  }

  private func setRemote(
    ufrag: String, password: String, fingerprint: (algorithm: String, value: String), address: String, port: UInt16
  ) {
    remoteUfrag = ufrag
    remotePassword = Array(password.utf8)
    _ = dtls.setRemoteFingerprint(algorithm: fingerprint.algorithm, value: fingerprint.value)
    remote.sin_family = sa_family_t(AF_INET)
    remote.sin_addr.s_addr = inet_addr(address)
    remote.sin_port = port.bigEndian
  }

  /// `connectWebRtcTransport`'s `dtlsParameters`: this peer is the DTLS client.
  var dtlsParameters: JSONValue {
    [
      "role": "client",
      "fingerprints": .array(
        context.fingerprints.map { ["algorithm": .string($0.algorithm), "value": .string($0.value)] }),
    ]
  }

  /// `produce`'s `rtpParameters` for the Opus stream a publisher with audio sends.
  static var audioRtpParameters: JSONValue {
    [
      "codecs": [
        [
          "mimeType": "audio/opus", "payloadType": .int(Int(audioPayloadType)), "clockRate": 48000, "channels": 2,
          "parameters": ["minptime": 10, "useinbandfec": 1], "rtcpFeedback": [],
        ]
      ],
      "headerExtensions": [], "encodings": [["ssrc": .int(Int(audioSsrc))]],
      "rtcp": ["cname": "load", "reducedSize": true],
    ]
  }

  /// `produce`'s `rtpParameters` for the one VP8 stream a publisher sends (no header extensions:
  /// the worker finds the stream by its SSRC).
  static var videoRtpParameters: JSONValue {
    let feedback: JSONValue = [
      ["type": "nack"], ["type": "nack", "parameter": "pli"], ["type": "ccm", "parameter": "fir"],
    ]
    return [
      "codecs": [
        [
          "mimeType": "video/VP8", "payloadType": .int(Int(payloadType)), "clockRate": 90000, "parameters": [:],
          "rtcpFeedback": feedback,
        ]
      ],
      "headerExtensions": [], "encodings": [["ssrc": .int(Int(ssrc))]], "rtcp": ["cname": "load", "reducedSize": true],
    ]
  }

  /// Sends a Binding request now; the nominating one starts ICE, later ones keep consent.
  func checkConnectivity(now: ContinuousClock.Instant) {
    var request = StunMessage(type: .bindingRequest, transactionID: Crypto.randomBytes(12))
    request.username = "\(remoteUfrag):\(localUfrag)"
    request.priority = 1_853_817_087
    request.iceControlling = 0x4C4F_4144
    request.useCandidate = true
    send(request.encoded(integrityKey: remotePassword))
    nextConsent = now + .seconds(iceConnected ? 2 : 0.25)
  }

  /// Timers: ICE retries and consent, DTLS retransmission.
  func tick(now: ContinuousClock.Instant) {
    if now >= nextConsent { checkConnectivity(now: now) }
    if let wait = dtls.timeout(), wait <= .zero {
      for datagram in dtls.handleTimeout().outgoing { send(datagram) }
    }
  }

  /// Reads every datagram waiting on the socket.
  func readable(now: ContinuousClock.Instant, origin: ContinuousClock.Instant) {
    while true {
      let count = receiveBuffer.withUnsafeMutableBytes { recv(socket, $0.baseAddress, $0.count, 0) }
      guard count > 0 else { return }
      let first = receiveBuffer[0]
      switch first {
      case 0...3:
        guard let message = try? StunMessage(parsing: Array(receiveBuffer[..<count])),
          message.type == .bindingSuccess, !iceConnected
        else { continue }
        iceConnected = true
        for datagram in dtls.start(role: .client).outgoing { send(datagram) }
      case 20...63:
        let result = receiveBuffer.withUnsafeBytes { dtls.receive(UnsafeRawBufferPointer(rebasing: $0[..<count])) }
        for datagram in result.outgoing { send(datagram) }
        for case .connected(let keys) in result.events {
          srtpOut = try? SrtpSession(profile: keys.profile, key: keys.local, direction: .outbound)
          srtpIn = try? SrtpSession(profile: keys.profile, key: keys.remote, direction: .inbound)
        }
      case 128...191:
        media(count: count, now: now, origin: origin)
      default:
        continue
      }
    }
  }

  private func media(count: Int, now: ContinuousClock.Instant, origin: ContinuousClock.Instant) {
    guard let srtpIn else { return }
    let isRtcp = receiveBuffer[1] >= 192 && receiveBuffer[1] <= 223
    if isRtcp {
      // A publisher takes any PLI/FIR as a key-frame request; reports are not needed here.
      guard direction == .send else { return }
      guard
        let length = receiveBuffer.withUnsafeMutableBytes({ buffer in
          try? srtpIn.unprotectRTCP(UnsafeMutableRawBufferPointer(rebasing: buffer[..<count]), length: count)
        })
      else { return }
      receiveBuffer.withUnsafeBytes { buffer in
        let bytes = UnsafeRawBufferPointer(rebasing: buffer[..<length])
        for header in Rtcp.packets(bytes) ?? [] where header.type == 206 || header.type == 205 {
          keyFrameRequested = keyFrameRequested || header.type == 206
        }
      }
      return
    }
    guard direction == .receive else { return }
    receiveBuffer.withUnsafeMutableBytes { buffer in
      let slice = UnsafeMutableRawBufferPointer(rebasing: buffer[..<count])
      guard let length = try? srtpIn.unprotectRTP(slice, length: count),
        let packet = RtpPacket.parse(UnsafeRawBufferPointer(rebasing: buffer[..<length])),
        packet.payloadRange.count >= 14
      else { return }
      receivedPackets += 1
      if !streamsReceiving.contains(packet.ssrc) { streamsReceiving.append(packet.ssrc) }
      let at = packet.payloadRange.lowerBound + 2
      let index = UInt32(bigEndian: buffer.loadUnaligned(fromByteOffset: at, as: UInt32.self))
      guard window.contains(index) else { return }
      let sentAt = UInt64(bigEndian: buffer.loadUnaligned(fromByteOffset: at + 4, as: UInt64.self))
      let nowNanoseconds = UInt64((now - origin) / .nanoseconds(1))
      windowPackets += 1
      windowDelays.append(UInt32(min(nowNanoseconds &- sentAt, UInt64(UInt32.max) * 1000) / 1000))
    }
  }

  /// Starts counting a new window of packet indices.
  func beginWindow(_ range: Range<UInt32>) {
    window = range
    windowPackets = 0
    windowDelays.removeAll(keepingCapacity: true)
  }

  /// A publisher's packet `index` of `size` bytes (VP8; a key frame when `key`), stamped with the
  /// send time, protected and sent.
  func sendVideo(index: UInt32, sequence: UInt16, timestamp: UInt32, key: Bool, size: Int, sentAt: UInt64) {
    guard let srtpOut else { return }
    sendBuffer.withUnsafeMutableBytes { out in
      ForwardingRig.writeVP8(
        into: out, sequence: sequence, timestamp: timestamp, ssrc: Self.ssrc, key: key, size: size)
      out.storeBytes(of: index.bigEndian, toByteOffset: 14, as: UInt32.self)
      out.storeBytes(of: sentAt.bigEndian, toByteOffset: 18, as: UInt64.self)
      guard let length = try? srtpOut.protectRTP(out, length: size) else { return }
      sendRaw(UnsafeRawBufferPointer(rebasing: out[..<length]))
    }
  }

  /// A publisher's audio packet `index`, stamped like the video ones, protected and sent.
  func sendAudio(index: UInt32, sentAt: UInt64) {
    guard let srtpOut, audio else { return }
    let size = Self.audioPacketSize
    sendBuffer.withUnsafeMutableBytes { out in
      out.storeBytes(of: UInt8(0x80), toByteOffset: 0, as: UInt8.self)
      out.storeBytes(of: Self.audioPayloadType, toByteOffset: 1, as: UInt8.self)
      out.storeBytes(of: UInt16(truncatingIfNeeded: index).bigEndian, toByteOffset: 2, as: UInt16.self)
      out.storeBytes(of: (index &* 480).bigEndian, toByteOffset: 4, as: UInt32.self)
      out.storeBytes(of: Self.audioSsrc.bigEndian, toByteOffset: 8, as: UInt32.self)
      for offset in 12..<size { out[offset] = 0 }
      out.storeBytes(of: index.bigEndian, toByteOffset: 14, as: UInt32.self)
      out.storeBytes(of: sentAt.bigEndian, toByteOffset: 18, as: UInt64.self)
      guard let length = try? srtpOut.protectRTP(out, length: size) else { return }
      sendRaw(UnsafeRawBufferPointer(rebasing: out[..<length]))
    }
  }

  private func send(_ datagram: [UInt8]) {
    datagram.withUnsafeBytes { sendRaw($0) }
  }

  private func sendRaw(_ bytes: UnsafeRawBufferPointer) {
    _ = withUnsafePointer(to: &remote) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
        sendto(socket, bytes.baseAddress, bytes.count, 0, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
      }
    }
  }
}

struct LoadError: Error, CustomStringConvertible {
  let description: String
  init(_ description: String) { self.description = description }
}
