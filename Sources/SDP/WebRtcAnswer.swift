public import ErizoCore
public import ORTC

/// Our side of the transport for an answer: ICE-lite credentials and candidates, the DTLS
/// fingerprints and setup, read from mediasoup's `createWebRtcTransport` reply.
public struct LocalTransport: Sendable {
  public struct Candidate: Sendable, Equatable {
    public var foundation: String
    public var priority: UInt32
    public var ip: String
    public var port: Int
    public var proto: String
    public var tcpType: String?
  }

  public var iceUsernameFragment: String
  public var icePassword: String
  public var candidates: [Candidate]
  public var fingerprints: [(algorithm: String, value: String)]
  public var setup: String

  public init(iceParameters: JSONValue, iceCandidates: JSONValue, dtlsParameters: JSONValue, setup: String)
    throws(SdpError)
  {
    guard let ufrag = iceParameters["usernameFragment"]?.stringValue,
      let pwd = iceParameters["password"]?.stringValue
    else { throw SdpError("the transport has no ICE parameters") }
    var candidates: [Candidate] = []
    for item in iceCandidates.arrayValue ?? [] {
      guard let ip = (item["ip"] ?? item["address"])?.stringValue, let port = item["port"]?.intValue,
        let proto = item["protocol"]?.stringValue
      else { continue }
      candidates.append(
        Candidate(
          foundation: item["foundation"]?.stringValue ?? "1",
          priority: UInt32(clamping: item["priority"]?.intValue ?? 1), ip: ip, port: port, proto: proto,
          tcpType: item["tcpType"]?.stringValue))
    }
    guard !candidates.isEmpty else { throw SdpError("the transport has no ICE candidates") }
    let fingerprints = (dtlsParameters["fingerprints"]?.arrayValue ?? []).compactMap {
      item -> (algorithm: String, value: String)? in
      guard let algorithm = item["algorithm"]?.stringValue, let value = item["value"]?.stringValue else { return nil }
      return (algorithm, value)
    }
    guard !fingerprints.isEmpty else { throw SdpError("the transport has no DTLS fingerprint") }
    self.iceUsernameFragment = ufrag
    self.icePassword = pwd
    self.candidates = candidates
    self.fingerprints = fingerprints
    self.setup = setup
  }
}

/// What an answer says about one offered section.
public enum AnswerMedia: Sendable {
  /// We receive these parameters (a WHIP publisher's producer): `recvonly`.
  case receive(RtpParameters)
  /// We send these parameters (a WHEP player's consumer) in the stream `streamID`: `sendonly`.
  case send(RtpParameters, streamID: String, trackID: String)
  /// Declined: port 0, out of the BUNDLE group.
  case reject
}

extension WebRtcOffer {
  /// The answer to this offer: ICE-lite, one BUNDLE transport, and for each section what `media`
  /// says about it (sections it does not mention are declined).
  public func answer(
    transport: LocalTransport, media: [Int: AnswerMedia], sessionID: UInt64 = .random(in: 1...UInt64(Int64.max))
  ) -> SessionDescription {
    let sha256 = transport.fingerprints.first { $0.algorithm == "sha-256" } ?? transport.fingerprints[0]
    let accepted = description.media.indices.filter {
      if case .reject = media[$0] ?? .reject { return false }
      return true
    }
    var answer = SessionDescription(origin: "- \(sessionID) 2 IN IP4 127.0.0.1", sessionName: "-", timing: "0 0")
    answer.attributes = [SdpAttribute("ice-lite")]
    if !accepted.isEmpty {
      answer.attributes.append(
        SdpAttribute("group", "BUNDLE " + accepted.compactMap { description.media[$0].mid }.joined(separator: " ")))
    }
    answer.attributes.append(SdpAttribute("msid-semantic", " WMS *"))
    let primary = transport.candidates.first { $0.proto == "udp" } ?? transport.candidates[0]
    for (index, offered) in description.media.enumerated() {
      let decision = media[index] ?? .reject
      let parameters: RtpParameters
      switch decision {
      case .reject:
        answer.media.append(
          MediaDescription(
            kind: offered.kind, port: 0, proto: offered.proto, formats: Array(offered.formats.prefix(1)),
            connection: "IN IP4 0.0.0.0",
            attributes: offered.mid.map { [SdpAttribute("mid", $0), SdpAttribute("inactive")] } ?? []))
        continue
      case .receive(let value), .send(let value, _, _):
        parameters = value
      }
      var section = MediaDescription(
        kind: offered.kind, port: primary.port, proto: offered.proto,
        formats: parameters.codecs.map { String($0.payloadType) }, connection: "IN IP4 \(primary.ip)")
      var lines: [SdpAttribute] = [
        SdpAttribute("mid", offered.mid ?? String(index)),
        SdpAttribute("ice-ufrag", transport.iceUsernameFragment), SdpAttribute("ice-pwd", transport.icePassword),
        SdpAttribute("fingerprint", "\(sha256.algorithm) \(sha256.value)"), SdpAttribute("setup", transport.setup),
        SdpAttribute("rtcp-mux"),
      ]
      if offered.has("rtcp-rsize") { lines.append(SdpAttribute("rtcp-rsize")) }
      if case .send = decision {
        lines.append(SdpAttribute("sendonly"))
      } else {
        lines.append(SdpAttribute("recvonly"))
      }
      for ext in parameters.headerExtensions { lines.append(SdpAttribute("extmap", "\(ext.id) \(ext.uri)")) }
      for codec in parameters.codecs {
        let name = codec.mimeType.split(separator: "/").last.map(String.init) ?? codec.mimeType
        let channels = codec.kind == .audio && (codec.channels ?? 1) > 1 ? "/\(codec.channels!)" : ""
        lines.append(SdpAttribute("rtpmap", "\(codec.payloadType) \(name)/\(codec.clockRate)\(channels)"))
        let fmtp = codec.parameters.keys.sorted().compactMap { key -> String? in
          switch codec.parameters[key] {
          case .int(let value)?: "\(key)=\(value)"
          case .string(let value)?: "\(key)=\(value)"
          case .double(let value)?: "\(key)=\(value)"
          default: nil
          }
        }
        if !fmtp.isEmpty { lines.append(SdpAttribute("fmtp", "\(codec.payloadType) \(fmtp.joined(separator: ";"))")) }
        for feedback in codec.rtcpFeedback {
          let value = feedback.parameter.isEmpty ? feedback.type : "\(feedback.type) \(feedback.parameter)"
          lines.append(SdpAttribute("rtcp-fb", "\(codec.payloadType) \(value)"))
        }
      }
      if case .send(_, let streamID, let trackID) = decision {
        lines.append(SdpAttribute("msid", "\(streamID) \(trackID)"))
        let cname = parameters.cname ?? streamID
        for encoding in parameters.encodings {
          guard let ssrc = encoding.ssrc else { continue }
          if let rtx = encoding.rtxSSRC { lines.append(SdpAttribute("ssrc-group", "FID \(ssrc) \(rtx)")) }
          for value in [ssrc] + (encoding.rtxSSRC.map { [$0] } ?? []) {
            lines.append(SdpAttribute("ssrc", "\(value) cname:\(cname)"))
            lines.append(SdpAttribute("ssrc", "\(value) msid:\(streamID) \(trackID)"))
          }
        }
      }
      for candidate in transport.candidates {
        var value =
          "\(candidate.foundation) 1 \(candidate.proto) \(candidate.priority) \(candidate.ip) \(candidate.port) typ host"
        if let tcpType = candidate.tcpType { value += " tcptype \(tcpType)" }
        lines.append(SdpAttribute("candidate", value))
      }
      lines.append(SdpAttribute("end-of-candidates"))
      section.attributes = lines
      answer.media.append(section)
    }
    return answer
  }

  /// The feedback we honour for a publisher: NACK, PLI, FIR and transport-cc (the worker answers
  /// the transport-wide sequence numbers with feedback every 100 ms). REMB is left out: the worker
  /// has no receive-side estimate to send.
  public static let publisherFeedback: Set<String> = ["nack", "nack pli", "ccm fir", "transport-cc"]

  /// Header extensions taken from a publisher: what the router knows for the kind, not encrypted ones.
  static let ignoredExtensions: Set<String> = ["urn:ietf:params:rtp-hdrext:encrypt"]

  /// A publisher's section as producer `rtpParameters`: its first codec the router takes (with the
  /// offer's payload type and parameters) and that codec's RTX when offered, the feedback and header
  /// extensions we honour, its SSRC (and its RTX SSRC from the FID group) and CNAME from `a=ssrc`,
  /// and its mid. Simulcast is declined for now (the worker does not forward layers yet). Throws
  /// when no offered codec fits the router.
  public func producerParameters(of index: Int, router: RtpCapabilities) throws(SdpError) -> RtpParameters {
    let media = description.media[index]
    guard let kind = MediaKind(rawValue: media.kind) else { throw SdpError("\(media.kind) is not audio or video") }
    guard media.direction == .sendonly || media.direction == .sendrecv else {
      throw SdpError("media section \(media.mid ?? "") does not send (a=\(media.direction.rawValue))")
    }
    let extmaps = try media.extmaps()
    let headerExtensions = extmaps.compactMap { extmap -> RtpHeaderExtensionParameters? in
      guard extmap.direction != .recvonly, !Self.ignoredExtensions.contains(extmap.uri),
        router.headerExtensions.contains(where: {
          $0.kind == kind && $0.uri == extmap.uri && ($0.direction == .sendrecv || $0.direction == .recvonly)
        })
      else { return nil }
      return RtpHeaderExtensionParameters(uri: extmap.uri, id: extmap.id)
    }
    let ssrcs = try media.ssrcAttributes()
    let groups = try media.ssrcGroups()
    let secondaries = Set(
      groups.filter { $0.semantics == "FID" || $0.semantics == "FEC-FR" }.flatMap { $0.ssrcs.dropFirst() })
    let primary = ssrcs.first { !secondaries.contains($0.ssrc) }?.ssrc
    let repair = groups.first { $0.semantics == "FID" && $0.ssrcs.first == primary && $0.ssrcs.count == 2 }?.ssrcs.last
    let cname = ssrcs.first { $0.ssrc == primary && $0.name == "cname" }?.value
    guard primary != nil || headerExtensions.contains(where: { $0.uri == "urn:ietf:params:rtp-hdrext:sdes:mid" }) else {
      throw SdpError("media section \(media.mid ?? "") has neither a=ssrc nor the sdes:mid header extension")
    }
    let offeredCodecs = try codecs(of: index)
    for offered in offeredCodecs where !offered.isRTX {
      let payloadType = offered.preferredPayloadType ?? 0
      var parameters = RtpParameters(
        mid: media.mid,
        codecs: [
          RtpCodecParameters(
            mimeType: offered.mimeType, payloadType: payloadType, clockRate: offered.clockRate,
            channels: offered.channels, parameters: offered.parameters,
            rtcpFeedback: offered.rtcpFeedback.filter {
              Self.publisherFeedback.contains($0.parameter.isEmpty ? $0.type : "\($0.type) \($0.parameter)")
            })
        ],
        headerExtensions: headerExtensions,
        encodings: [RtpEncodingParameters(ssrc: primary)], cname: cname, reducedSize: media.has("rtcp-rsize"))
      // The router's own check decides, so the answer never promises what `produce` would refuse:
      // with the codec's RTX when offered, else without.
      if let rtx = offeredCodecs.first(where: { $0.isRTX && $0.parameters["apt"] == .int(payloadType) }) {
        var withRtx = parameters
        withRtx.codecs.append(
          RtpCodecParameters(
            mimeType: rtx.mimeType, payloadType: rtx.preferredPayloadType ?? 0, clockRate: rtx.clockRate,
            parameters: ["apt": .int(payloadType)]))
        withRtx.encodings[0].rtxSSRC = repair
        if (try? router.producerMapping(for: &withRtx)) != nil { return withRtx }
      }
      if (try? router.producerMapping(for: &parameters)) != nil { return parameters }
    }
    throw SdpError("media section \(media.mid ?? "") offers no codec this room takes")
  }
}
