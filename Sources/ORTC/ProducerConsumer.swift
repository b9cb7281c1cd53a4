public import ErizoCore

/// How a producer's payload types and SSRCs map to the router's (spec §3.3).
public struct RtpMapping: Sendable, Equatable {
  public struct Codec: Sendable, Equatable {
    public var payloadType: Int
    public var mappedPayloadType: Int
  }

  public struct Encoding: Sendable, Equatable {
    public var rid: String?
    public var ssrc: UInt32?
    public var scalabilityMode: String?
    public var mappedSSRC: UInt32
  }

  public var codecs: [Codec]
  public var encodings: [Encoding]

  public var json: JSONValue {
    [
      "codecs": .array(
        codecs.map { ["payloadType": .int($0.payloadType), "mappedPayloadType": .int($0.mappedPayloadType)] }),
      "encodings": .array(
        encodings.map { encoding in
          var object: [String: JSONValue] = ["mappedSsrc": .int(Int(encoding.mappedSSRC))]
          if let rid = encoding.rid { object["rid"] = .string(rid) }
          if let ssrc = encoding.ssrc { object["ssrc"] = .int(Int(ssrc)) }
          if let mode = encoding.scalabilityMode { object["scalabilityMode"] = .string(mode) }
          return .object(object)
        }),
    ]
  }
}

extension RtpCapabilities {
  /// mediasoup's `getProducerRtpParametersMapping`: every media codec must match a router codec
  /// strictly, and every RTX codec needs the router's RTX for its media codec. `firstMappedSSRC`
  /// is the random 100 000 000…999 999 999 start of the mapped SSRCs. As in mediasoup, an H264
  /// codec's `profile-level-id` is rewritten to the answer negotiated with the router's codec.
  public func producerMapping(
    for parameters: inout RtpParameters, firstMappedSSRC: UInt32 = UInt32.random(in: 100_000_000...999_999_999)
  ) throws(ORTCError) -> RtpMapping {
    var mapped: [Int: RtpCodecCapability] = [:]  // producer PT → router codec
    for index in parameters.codecs.indices where !parameters.codecs[index].isRTX {
      let codec = parameters.codecs[index]
      var answer: RouterCapabilities.StrictMatch?
      guard
        let match = codecs.first(where: {
          answer = RouterCapabilities.strictMatch(codec.capability, $0)
          return answer != nil
        })
      else {
        throw .unsupported("unsupported codec [mimeType:\(codec.mimeType), payloadType:\(codec.payloadType)]")
      }
      if codec.mimeType.lowercased().hasPrefix("video/h264") {
        parameters.codecs[index].parameters["profile-level-id"] = answer?.profileLevelID.map(JSONValue.string)
      }
      mapped[codec.payloadType] = match
    }
    for codec in parameters.codecs where codec.isRTX {
      guard let apt = codec.parameters["apt"]?.intValue, let media = mapped[apt] else {
        throw .typeError("missing media codec found for RTX PT \(codec.payloadType)")
      }
      guard
        let rtx = codecs.first(where: {
          $0.isRTX && $0.parameters["apt"]?.intValue == media.preferredPayloadType
        })
      else { throw .unsupported("no RTX codec for capability codec PT \(media.preferredPayloadType ?? -1)") }
      mapped[codec.payloadType] = rtx
    }
    var ssrc = firstMappedSSRC
    let encodings = (parameters.encodings.isEmpty ? [RtpEncodingParameters()] : parameters.encodings).map {
      encoding -> RtpMapping.Encoding in
      defer { ssrc &+= 1 }
      return RtpMapping.Encoding(
        rid: encoding.rid, ssrc: encoding.ssrc, scalabilityMode: encoding.scalabilityMode, mappedSSRC: ssrc)
    }
    return RtpMapping(
      codecs: parameters.codecs.map {
        RtpMapping.Codec(payloadType: $0.payloadType, mappedPayloadType: mapped[$0.payloadType]!.preferredPayloadType!)
      },
      encodings: encodings)
  }

  /// mediasoup's `getConsumableRtpParameters`: the producer's streams in the router's terms.
  public func consumableParameters(kind: MediaKind, producer parameters: RtpParameters, mapping: RtpMapping)
    -> RtpParameters
  {
    var result = RtpParameters(codecs: [], cname: parameters.cname, reducedSize: true)
    for codec in parameters.codecs where !codec.isRTX {
      guard let mappedPT = mapping.codecs.first(where: { $0.payloadType == codec.payloadType })?.mappedPayloadType,
        let routerCodec = codecs.first(where: { $0.preferredPayloadType == mappedPT })
      else { continue }
      result.codecs.append(
        RtpCodecParameters(
          mimeType: routerCodec.mimeType, payloadType: mappedPT, clockRate: routerCodec.clockRate,
          channels: routerCodec.channels, parameters: codec.parameters, rtcpFeedback: routerCodec.rtcpFeedback))
      if let rtx = codecs.first(where: { $0.isRTX && $0.parameters["apt"]?.intValue == mappedPT }) {
        result.codecs.append(
          RtpCodecParameters(
            mimeType: rtx.mimeType, payloadType: rtx.preferredPayloadType!, clockRate: rtx.clockRate,
            parameters: rtx.parameters, rtcpFeedback: rtx.rtcpFeedback))
      }
    }
    result.headerExtensions =
      headerExtensions
      .filter { $0.kind == kind && ($0.direction == .sendrecv || $0.direction == .sendonly) }
      .map { RtpHeaderExtensionParameters(uri: $0.uri, id: $0.preferredId, encrypt: $0.preferredEncrypt) }
    let encodings = parameters.encodings.isEmpty ? [RtpEncodingParameters()] : parameters.encodings
    result.encodings = zip(encodings, mapping.encodings).map { encoding, mapped in
      var consumable = encoding
      consumable.rid = nil
      consumable.rtxSSRC = nil
      consumable.codecPayloadType = nil
      consumable.ssrc = mapped.mappedSSRC
      return consumable
    }
    return result
  }

  /// mediasoup's `canConsume`: some consumable codec matches these (remote) capabilities strictly,
  /// and the first match is not RTX.
  public func canConsume(_ consumable: RtpParameters) -> Bool {
    let matching = consumable.codecs.filter { codec in
      codecs.contains { RouterCapabilities.strictMatch($0, codec.capability) != nil }
    }
    guard let first = matching.first else { return false }
    return !first.isRTX
  }

  /// mediasoup's `getConsumerRtpParameters` for a WebRTC consumer with these remote capabilities:
  /// router extension ids (kept only when the remote lists the same id), remote feedback, one
  /// encoding with a new SSRC. Unlike mediasoup, the payload types are the remote's own (its
  /// `preferredPayloadType` for the matching codec, RTX paired by `apt`): mediasoup-client lists the
  /// router's types in its capabilities, so for it nothing changes, and an SDP answerer (WHEP)
  /// sends with the types its offerer chose, as RFC 3264 asks.
  public func consumerParameters(
    consumable: RtpParameters, enableRTX: Bool = true, ssrc: UInt32 = UInt32.random(in: 100_000_000...999_999_999)
  ) throws(ORTCError) -> RtpParameters {
    var result = RtpParameters(codecs: [], cname: consumable.cname, reducedSize: true)
    for codec in consumable.codecs where !codec.isRTX {
      guard let remote = codecs.first(where: { RouterCapabilities.strictMatch($0, codec.capability) != nil }) else {
        continue
      }
      var chosen = codec
      chosen.payloadType = remote.preferredPayloadType ?? codec.payloadType
      chosen.rtcpFeedback = remote.rtcpFeedback.filter { enableRTX || $0.type != "nack" || !$0.parameter.isEmpty }
      result.codecs.append(chosen)
      guard enableRTX,
        let rtx = consumable.codecs.first(where: { $0.isRTX && $0.parameters["apt"]?.intValue == codec.payloadType }),
        let remoteRTX = codecs.first(where: { $0.isRTX && $0.parameters["apt"]?.intValue == chosen.payloadType })
      else { continue }
      var chosenRTX = rtx
      chosenRTX.payloadType = remoteRTX.preferredPayloadType ?? rtx.payloadType
      chosenRTX.parameters["apt"] = .int(chosen.payloadType)
      chosenRTX.rtcpFeedback = remoteRTX.rtcpFeedback
      result.codecs.append(chosenRTX)
    }
    guard result.codecs.contains(where: { !$0.isRTX }) else { throw .unsupported("no compatible media codecs") }
    result.headerExtensions = consumable.headerExtensions.filter { ext in
      headerExtensions.contains { $0.uri == ext.uri && $0.preferredId == ext.id }
    }
    // Feedback pruning by the congestion control the extensions allow.
    let uris = Set(result.headerExtensions.map(\.uri))
    let transportCC = "http://www.ietf.org/id/draft-holmer-rmcat-transport-wide-cc-extensions-01"
    let absSendTime = "http://www.webrtc.org/experiments/rtp-hdrext/abs-send-time"
    for index in result.codecs.indices {
      if uris.contains(transportCC) {
        result.codecs[index].rtcpFeedback.removeAll { $0.type == "goog-remb" }
      } else if uris.contains(absSendTime) {
        result.codecs[index].rtcpFeedback.removeAll { $0.type == "transport-cc" }
      } else {
        result.codecs[index].rtcpFeedback.removeAll { $0.type == "transport-cc" || $0.type == "goog-remb" }
      }
    }
    var encoding = RtpEncodingParameters(ssrc: ssrc)
    if result.codecs.contains(where: \.isRTX) { encoding.rtxSSRC = ssrc &+ 1 }
    let producerEncodings = consumable.encodings
    if producerEncodings.count > 1 {
      let temporal = ScalabilityMode(producerEncodings[0].scalabilityMode).temporalLayers
      encoding.scalabilityMode = "L\(producerEncodings.count)T\(temporal)"
    } else {
      encoding.scalabilityMode = producerEncodings.first?.scalabilityMode
    }
    encoding.maxBitrate = producerEncodings.compactMap(\.maxBitrate).max()
    result.encodings = [encoding]
    return result
  }
}
