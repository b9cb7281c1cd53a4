public import ErizoCore
public import ORTC

/// The remote side's ICE and DTLS parameters, read from an offer.
public struct RemoteTransport: Sendable, Equatable {
  public var iceUsernameFragment: String
  public var icePassword: String
  /// `(algorithm, value)` pairs, value in upper-case colon-separated hex.
  public var fingerprints: [(algorithm: String, value: String)]
  /// The offer's `a=setup`: `actpass`, `active` or `passive`.
  public var setup: String

  public static func == (lhs: RemoteTransport, rhs: RemoteTransport) -> Bool {
    lhs.iceUsernameFragment == rhs.iceUsernameFragment && lhs.icePassword == rhs.icePassword
      && lhs.setup == rhs.setup && lhs.fingerprints.elementsEqual(rhs.fingerprints) { $0 == $1 }
  }

  /// Our answer's `a=setup`: the offerer is the DTLS client unless it insists on being passive.
  public var answerSetup: String { setup == "passive" ? "active" : "passive" }

  /// mediasoup's `dtlsParameters` for `transport.connect`: the remote's role and fingerprints.
  public var dtlsParameters: JSONValue {
    [
      "role": .string(setup == "passive" ? "server" : "client"),
      "fingerprints": .array(
        fingerprints.map { ["algorithm": .string($0.algorithm), "value": .string($0.value)] }),
    ]
  }
}

/// A WebRTC offer that passed the transport checks: one BUNDLE transport (ICE credentials, DTLS
/// fingerprint and setup, rtcp-mux) shared by its media sections.
public struct WebRtcOffer: Sendable {
  public static let fingerprintAlgorithms: Set<String> = ["sha-1", "sha-224", "sha-256", "sha-384", "sha-512"]

  public let description: SessionDescription
  public let transport: RemoteTransport
  /// Indices of the sections in the BUNDLE group (every section when the offer has one section).
  public let bundled: [Int]

  public init(parsing text: String) throws(SdpError) {
    try self.init(try SessionDescription(parsing: text))
  }

  public init(_ description: SessionDescription) throws(SdpError) {
    guard !description.media.isEmpty else { throw SdpError("the offer has no media sections") }
    let mids = description.media.map(\.mid)
    for (index, mid) in mids.enumerated() {
      guard let mid, !mid.isEmpty else { throw SdpError("media section \(index) has no a=mid") }
      guard mids.firstIndex(of: mid) == index else { throw SdpError("a=mid:\(mid) appears twice") }
    }
    let bundle = description.values("group").first { $0.hasPrefix("BUNDLE") }
    let bundled: [Int]
    if let bundle {
      let names = bundle.split(separator: " ").dropFirst().map(String.init)
      bundled = names.compactMap { name in mids.firstIndex(of: name) }
      guard bundled.count == names.count else { throw SdpError("a=group:BUNDLE names an unknown mid") }
      let open = description.media.indices.filter { !description.media[$0].isRejected }
      guard Set(open).isSubset(of: Set(bundled)) else {
        throw SdpError("every media section must be in the BUNDLE group (one transport)")
      }
    } else if description.media.count == 1 {
      bundled = [0]
    } else {
      throw SdpError("an offer with several media sections must BUNDLE them")
    }
    guard let first = bundled.first else { throw SdpError("the BUNDLE group is empty") }
    let section = description.media[first]
    guard let ufrag = section.first("ice-ufrag") ?? description.first("ice-ufrag"), !ufrag.isEmpty,
      let pwd = section.first("ice-pwd") ?? description.first("ice-pwd"), !pwd.isEmpty
    else { throw SdpError("missing a=ice-ufrag or a=ice-pwd") }
    guard (4...256).contains(ufrag.utf8.count), (22...256).contains(pwd.utf8.count) else {
      throw SdpError("a=ice-ufrag must be 4-256 and a=ice-pwd 22-256 characters (RFC 8839)")
    }
    var fingerprints: [(algorithm: String, value: String)] = []
    for value in section.values("fingerprint") + description.values("fingerprint") {
      let parts = value.split(separator: " ", omittingEmptySubsequences: true)
      guard parts.count == 2 else { throw SdpError("a=fingerprint:\(value): needs <algorithm> <hex>") }
      let algorithm = parts[0].lowercased()
      guard Self.fingerprintAlgorithms.contains(algorithm) else {
        throw SdpError("a=fingerprint: unsupported hash \(algorithm)")
      }
      let bytes = parts[1].split(separator: ":")
      guard bytes.count >= 20, bytes.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isHexDigit) }) else {
        throw SdpError("a=fingerprint:\(value): not colon-separated hex")
      }
      fingerprints.append((algorithm, parts[1].uppercased()))
    }
    guard !fingerprints.isEmpty else { throw SdpError("missing a=fingerprint (DTLS is required)") }
    let setup = section.first("setup") ?? description.first("setup") ?? "actpass"
    guard ["actpass", "active", "passive"].contains(setup) else { throw SdpError("a=setup:\(setup) is not valid") }
    for index in bundled where !description.media[index].isRejected {
      let media = description.media[index]
      guard media.kind == "application" || media.has("rtcp-mux") else {
        throw SdpError("media section \(media.mid ?? "") needs a=rtcp-mux")
      }
    }
    self.description = description
    self.transport = RemoteTransport(
      iceUsernameFragment: ufrag, icePassword: pwd, fingerprints: fingerprints, setup: setup)
    self.bundled = bundled
  }

  /// Sections that can carry RTP: bundled, not rejected, audio or video over SAVPF.
  public var rtpSections: [Int] {
    bundled.filter { index in
      let media = description.media[index]
      return !media.isRejected && (media.kind == "audio" || media.kind == "video") && media.proto.hasSuffix("SAVPF")
    }
  }

  /// The codecs a section offers, as capabilities with the offer's payload types, in the offer's
  /// order. Static payload types without `a=rtpmap` (0, 8, 9) get their RFC 3551 names.
  public func codecs(of index: Int) throws(SdpError) -> [RtpCodecCapability] {
    let media = description.media[index]
    guard let kind = MediaKind(rawValue: media.kind) else { return [] }
    let maps = try media.rtpMaps()
    let parameters = media.formatParameters()
    let feedback = media.rtcpFeedback()
    var result: [RtpCodecCapability] = []
    for format in media.formats {
      guard let payloadType = Int(format) else { throw SdpError("m=\(media.kind): format \(format) is not a number") }
      var map = maps.first { $0.payloadType == payloadType }
      if map == nil {
        switch payloadType {
        case 0: map = .init(payloadType: 0, encodingName: "PCMU", clockRate: 8000, channels: 1)
        case 8: map = .init(payloadType: 8, encodingName: "PCMA", clockRate: 8000, channels: 1)
        case 9: map = .init(payloadType: 9, encodingName: "G722", clockRate: 8000, channels: 1)
        default: continue
        }
      }
      guard let map else { continue }
      var codecParameters: [String: JSONValue] = [:]
      for (key, value) in parameters[payloadType] ?? [] {
        codecParameters[key] = Int(value).map(JSONValue.int) ?? .string(value)
      }
      let codecFeedback = ((feedback[payloadType] ?? []) + (feedback[-1] ?? [])).map {
        RtcpFeedback($0.type, $0.parameter)
      }
      result.append(
        RtpCodecCapability(
          kind: kind, mimeType: "\(media.kind)/\(map.encodingName)", preferredPayloadType: payloadType,
          clockRate: map.clockRate, channels: kind == .audio ? (map.channels ?? 1) : nil, parameters: codecParameters,
          rtcpFeedback: codecFeedback))
    }
    return result
  }

  /// What a receive-only endpoint (a WHEP player) can take, from every RTP section it offers to
  /// receive on: its codecs at its payload types and its header extensions at its ids.
  public func receiveCapabilities() throws(SdpError) -> RtpCapabilities {
    var capabilities = RtpCapabilities(codecs: [], headerExtensions: [])
    for index in rtpSections {
      let media = description.media[index]
      guard media.direction == .recvonly || media.direction == .sendrecv, let kind = MediaKind(rawValue: media.kind)
      else { continue }
      for codec in try codecs(of: index)
      where !capabilities.codecs.contains(where: {
        $0.kind == kind && $0.preferredPayloadType == codec.preferredPayloadType
      }) {
        capabilities.codecs.append(codec)
      }
      for extmap in try media.extmaps()
      where extmap.direction != .sendonly
        && !capabilities.headerExtensions.contains(where: { $0.kind == kind && $0.uri == extmap.uri })
      {
        capabilities.headerExtensions.append(RtpHeaderExtensionCapability(kind, extmap.uri, id: extmap.id))
      }
    }
    return capabilities
  }
}
