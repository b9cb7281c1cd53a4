internal import ErizoCore
internal import Foundation
internal import HTTPTypes
internal import Hummingbird
internal import Logging
internal import Metrics
internal import NIOCore
internal import ORTC
internal import SDP

/// WHIP (RFC 9725) and WHEP on the controller's HTTP port, with the offer/answer made here (the
/// `SDP` module) and the media through the same agent requests a Socket.IO client makes:
///
/// - `POST /whip` with `Authorization: Bearer <Nuve token>` and an `application/sdp` offer: a peer
///   in the token's room that produces each offered audio/video section; `201` with the answer and
///   `Location: /whip/<id>`.
/// - `POST /whep` (optionally `?peer=<peerId>`): a peer that consumes the room's producers, one per
///   offered receiving section; `201` with the answer, `Location: /whep/<id>`.
/// - `DELETE /whip/<id>`, `/whep/<id>`: the peer leaves (`peerClosed` for the others).
/// - `PATCH`: `405` (ICE-lite, no trickle; a new session replaces ICE restarts). `OPTIONS`: CORS.
///
/// Tokens are single use as in the Socket.IO handshake. A failure after the peer entered the
/// room removes it again, so nothing is left half made in the agent or the worker.
struct WebRtcHTTPEndpoint: Sendable {
  let signaling: ControllerSignaling
  let logger: Logger
  static let maximumOfferSize = SessionDescription.maximumSize

  func respond(to request: Request, clientIP: String) async -> Response? {
    let parts = request.uri.path.split(separator: "/", omittingEmptySubsequences: true)
    guard let first = parts.first, let kind = HTTPMediaSession.Kind(rawValue: String(first)), parts.count <= 2 else {
      return nil
    }
    let resource = parts.count == 2 ? String(parts[1]) : nil
    let response: Response
    switch (request.method, resource) {
    case (.options, _):
      response = Self.reply(.noContent, headers: [.accept: "application/sdp"])
    case (.post, nil):
      response = await create(kind, request: request, clientIP: clientIP)
    case (.delete, let id?):
      response = await delete(kind, id: id)
    case (.patch, _?):
      response = Self.reply(
        .methodNotAllowed, "ICE-lite server without trickle ICE: start a new session instead",
        headers: [.allow: "DELETE, OPTIONS"])
    default:
      response = Self.reply(
        .methodNotAllowed, "use POST /\(kind.rawValue) and DELETE /\(kind.rawValue)/<id>",
        headers: [.allow: resource == nil ? "POST, OPTIONS" : "DELETE, PATCH, OPTIONS"])
    }
    Counter(
      label: "erizo_controller_http_media_requests_total",
      dimensions: [
        ("kind", kind.rawValue), ("method", request.method.rawValue), ("status", String(response.status.code)),
      ]
    ).increment()
    return response
  }

  // MARK: POST

  private func create(_ kind: HTTPMediaSession.Kind, request: Request, clientIP: String) async -> Response {
    let token = request.headers[.authorization].flatMap { authorization in
      authorization.lowercased().hasPrefix("bearer ")
        ? String(authorization.dropFirst(7)).trimmingCharacters(in: .whitespaces) : nil
    }
    guard let token, signaling.signedToken(.string(token)) != nil else {
      return Self.reply(
        .unauthorized, "a Nuve token is required: Authorization: Bearer <token>",
        headers: [.wwwAuthenticate: "Bearer"])
    }
    guard request.headers[.contentType]?.lowercased().hasPrefix("application/sdp") == true else {
      return Self.reply(.unsupportedMediaType, "the offer must be sent as application/sdp")
    }
    let offer: WebRtcOffer
    do {
      let body = try await request.body.collect(upTo: Self.maximumOfferSize)
      offer = try WebRtcOffer(parsing: String(buffer: body))
    } catch let error as SdpError {
      return Self.reply(.badRequest, error.description)
    } catch {
      return Self.reply(.contentTooLarge, "the offer is larger than \(Self.maximumOfferSize) bytes")
    }
    guard !offer.rtpSections.isEmpty else { return Self.reply(.badRequest, "the offer has no audio or video section") }
    // Offers that can never work are refused before the token is used up.
    var slots: [HTTPMediaSession.Slot] = []
    if kind == .whep {
      for index in offer.rtpSections {
        let media = offer.description.media[index]
        guard media.direction == .recvonly || media.direction == .sendrecv,
          let mediaKind = MediaKind(rawValue: media.kind)
        else { continue }
        slots.append(.init(index: index, kind: mediaKind))
      }
      guard !slots.isEmpty else { return Self.reply(.badRequest, "a WHEP offer must receive audio or video") }
    }

    let admission: (roomID: String, userName: String)
    switch await signaling.admit(.string(token)) {
    case .success(let value): admission = value
    case .failure(let error): return Self.reply(error)
    }
    let id = UUID().uuidString.lowercased()
    let peerFilter = request.uri.queryParameters["peer"].map(String.init)
    let session = HTTPMediaSession(
      kind: kind, id: id, roomID: admission.roomID, slots: slots, peerFilter: peerFilter)
    var client = ClientRecord(
      id: id, roomID: admission.roomID, userName: admission.userName, clientIP: clientIP,
      secret: Crypto.lowercaseHex(Crypto.randomBytes(16)), connection: nil,
      displayName: admission.userName.isEmpty ? kind.rawValue.uppercased() : admission.userName)
    client.httpSession = session
    if case .failure(let error) = await signaling.enter(client) { return Self.reply(error) }

    var sessionLogger = logger
    sessionLogger[metadataKey: LogMetadataKey.clientID] = "\(id)"
    sessionLogger[metadataKey: LogMetadataKey.roomID] = "\(admission.roomID)"
    let result: Result<String, Failure> =
      kind == .whip
      ? await publish(offer, client: client) : await play(offer, client: client, session: session)
    switch result {
    case .success(let answer):
      sessionLogger.info("\(kind.rawValue) session started")
      Task { await expireWhenGone(id, logger: sessionLogger) }
      return Self.reply(
        .created, answer,
        headers: [
          .contentType: "application/sdp", .location: "/\(kind.rawValue)/\(id)",
          .eTag: "\"\(id)\"", .accessControlExposeHeaders: "Location, ETag",
        ])
    case .failure(let failure):
      sessionLogger.info("\(kind.rawValue) session refused", metadata: ["reason": "\(failure.reason)"])
      await signaling.teardown(id, disconnect: false)
      return Self.reply(failure.status, failure.reason)
    }
  }

  struct Failure: Error {
    let status: HTTPResponse.Status
    let reason: String
  }

  /// The agent requests both kinds make: capabilities, a transport connected with the offer's
  /// DTLS parameters, and `join`.
  private func prepare(_ offer: WebRtcOffer, client: ClientRecord, producing: Bool, capabilities: JSONValue)
    async -> Result<(router: RtpCapabilities, transportID: String, transport: LocalTransport), Failure>
  {
    let router: RtpCapabilities
    switch await call("getRouterRtpCapabilities", [:], client) {
    case .success(let reply):
      guard let parsed = try? RtpCapabilities(json: reply) else {
        return .failure(Failure(status: .badGateway, reason: "the agent sent unreadable router capabilities"))
      }
      router = parsed
    case .failure(let failure): return .failure(failure)
    }
    let transportReply: JSONValue
    switch await call(
      "createWebRtcTransport", ["producing": .bool(producing), "consuming": .bool(!producing)], client)
    {
    case .success(let reply): transportReply = reply
    case .failure(let failure): return .failure(failure)
    }
    client.httpSession?.transportID = transportReply["id"]?.stringValue
    guard let transportID = transportReply["id"]?.stringValue,
      let local = try? LocalTransport(
        iceParameters: transportReply["iceParameters"] ?? .null,
        iceCandidates: transportReply["iceCandidates"] ?? .null,
        dtlsParameters: transportReply["dtlsParameters"] ?? .null, setup: offer.transport.answerSetup)
    else { return .failure(Failure(status: .badGateway, reason: "the agent sent an unusable transport")) }
    if case .failure(let failure) = await call(
      "connectWebRtcTransport",
      ["transportId": .string(transportID), "dtlsParameters": offer.transport.dtlsParameters], client)
    {
      return .failure(failure)
    }
    if case .failure(let failure) = await call(
      "join",
      [
        "displayName": .string(client.displayName), "device": ["name": .string(client.displayName)],
        "rtpCapabilities": capabilities,
      ], client)
    {
      return .failure(failure)
    }
    return .success((router, transportID, local))
  }

  private func publish(_ offer: WebRtcOffer, client: ClientRecord) async -> Result<String, Failure> {
    let prepared: (router: RtpCapabilities, transportID: String, transport: LocalTransport)
    switch await prepare(offer, client: client, producing: true, capabilities: .null) {
    case .success(let value): prepared = value
    case .failure(let failure): return .failure(failure)
    }
    var media: [Int: AnswerMedia] = [:]
    var reasons: [String] = []
    for index in offer.rtpSections {
      do {
        media[index] = .receive(try offer.producerParameters(of: index, router: prepared.router))
      } catch {
        reasons.append(error.description)
      }
    }
    guard !media.isEmpty else {
      return .failure(Failure(status: .notAcceptable, reason: reasons.joined(separator: "; ")))
    }
    for (index, decision) in media.sorted(by: { $0.key < $1.key }) {
      guard case .receive(let parameters) = decision else { continue }
      let kind = offer.description.media[index].kind
      if case .failure(let failure) = await call(
        "produce",
        [
          "transportId": .string(prepared.transportID), "kind": .string(kind), "rtpParameters": parameters.json,
          "appData": ["source": "whip", "mid": .string(parameters.mid ?? "")],
        ], client)
      {
        return .failure(failure)
      }
    }
    return .success(
      offer.answer(transport: prepared.transport, media: media)
        .text)
  }

  private func play(_ offer: WebRtcOffer, client: ClientRecord, session: HTTPMediaSession) async -> Result<
    String, Failure
  > {
    let capabilities: RtpCapabilities
    do {
      capabilities = try offer.receiveCapabilities()
    } catch {
      return .failure(Failure(status: .badRequest, reason: error.description))
    }
    let transport: LocalTransport
    switch await prepare(offer, client: client, producing: false, capabilities: capabilities.json) {
    case .success(let prepared): transport = prepared.transport
    case .failure(let failure): return .failure(failure)
    }
    // The agent now sends `newConsumer` for every producer in the room; wait for them (for as many
    // as the peer asked for, or the room's other publishers, have made).
    let state = signaling.state
    let expecting: Int
    if let peer = session.peerFilter {
      expecting = await state.client(id: peer)?.producers ?? 0
    } else {
      expecting = await state.publishers(inRoom: session.roomID).filter { $0.id != client.id }.reduce(0) {
        $0 + $1.producers
      }
    }
    let slots = await session.settle(expecting: expecting)
    var media: [Int: AnswerMedia] = [:]
    for slot in slots {
      guard let consumer = slot.consumer else { continue }
      // The agent numbers its consumers' mids itself, so they need not be the offer's: without the
      // mid extension in the answer the player routes by the SSRCs the answer lists.
      var parameters = consumer.parameters
      parameters.headerExtensions.removeAll { $0.uri == "urn:ietf:params:rtp-hdrext:sdes:mid" }
      media[slot.index] = .send(parameters, streamID: consumer.peerID, trackID: consumer.consumerID)
    }
    guard !media.isEmpty else {
      return .failure(
        Failure(
          status: .conflict,
          reason: session.peerFilter == nil
            ? "nothing is published in this room that the offer can receive"
            : "that peer publishes nothing the offer can receive"))
    }
    return .success(
      offer.answer(transport: transport, media: media).text)
  }

  /// One request through the controller's relay, as the latest client record.
  private func call(_ method: String, _ data: JSONValue, _ client: ClientRecord) async -> Result<JSONValue, Failure> {
    let current = await signaling.state.client(id: client.id) ?? client
    switch await signaling.perform(method, data, client: current) {
    case .success(("success", let payload)):
      // Replies come as clients get them: `{data: …}`.
      return .success(payload["data"] ?? payload)
    case .success((_, let payload)):
      let reason = payload["errmsg"]?.stringValue ?? payload.stringValue ?? "the agent refused \(method)"
      return .failure(Failure(status: .badRequest, reason: "\(method): \(reason)"))
    case .failure(let error):
      return .failure(Failure(status: Self.status(error), reason: "\(method): \(error.message)"))
    }
  }

  /// A client that goes away without DELETE leaves its session behind; this ends it once its
  /// transport has had no connected ICE tuple for `idleLimit` (never connected, or consent lost).
  private func expireWhenGone(_ id: String, logger: Logger, period: Duration = .seconds(5), idleLimit: Int = 6) async {
    var idle = 0
    while idle < idleLimit {
      try? await Task.sleep(for: period)
      guard let client = await signaling.state.client(id: id) else { return }  // deleted, or its room closed
      guard let transportID = client.httpSession?.transportID else { return }
      switch await call("getTransportStats", ["transportId": .string(transportID)], client) {
      case .success(let reply):
        let stats = reply.arrayValue?.first ?? reply
        let state = stats["iceState"]?.stringValue
        idle = state == "connected" || state == "completed" ? 0 : idle + 1
      case .failure:
        idle += 1
      }
    }
    logger.info("session without a connected ICE tuple: ending it")
    await signaling.teardown(id, disconnect: false)
  }

  // MARK: DELETE

  private func delete(_ kind: HTTPMediaSession.Kind, id: String) async -> Response {
    guard let client = await signaling.state.client(id: id), client.httpSession?.kind == kind else {
      return Self.reply(.notFound, "no such \(kind.rawValue) session")
    }
    await signaling.teardown(id, disconnect: false)
    logger.info(
      "\(kind.rawValue) session ended",
      metadata: [LogMetadataKey.clientID: "\(id)", LogMetadataKey.roomID: "\(client.roomID)"])
    return Self.reply(.ok)
  }

  // MARK: Responses

  static func status(_ error: ClientError) -> HTTPResponse.Status {
    switch error {
    case .authentication, .unknownToken: .unauthorized
    case .invalidHost: .forbidden
    case .rateLimited: .tooManyRequests
    case .noWorker, .nuveSilent, .rpcTimeout: .serviceUnavailable
    default: error.code == 1005 ? .serviceUnavailable : .badGateway
    }
  }

  static func reply(_ error: ClientError) -> Response {
    reply(status(error), "\(error.message) (errcode \(error.code))")
  }

  static func reply(_ status: HTTPResponse.Status, _ body: String = "", headers extra: HTTPFields = [:]) -> Response {
    var headers: HTTPFields = [
      .accessControlAllowOrigin: "*", .accessControlAllowMethods: "POST, DELETE, PATCH, OPTIONS",
      .accessControlAllowHeaders: "Authorization, Content-Type, If-Match",
    ]
    if !body.isEmpty { headers[.contentType] = "text/plain; charset=utf-8" }
    for field in extra { headers[field.name] = field.value }
    return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: body)))
  }
}
