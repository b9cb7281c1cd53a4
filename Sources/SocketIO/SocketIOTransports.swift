internal import ErizoCore
internal import Foundation
public import HTTPTypes
public import Hummingbird
public import HummingbirdWebSocket
internal import Logging
public import NIOCore
internal import Synchronization

extension SocketIOServer {
  public typealias WebSocketHandler = WebSocketDataHandler<HTTP1WebSocketUpgradeChannel.Context>

  /// Whether `path` is the Socket.IO endpoint.
  public func handles(path: String) -> Bool {
    let route = path.split(separator: "?", maxSplits: 1).first.map(String.init) ?? path
    return route == configuration.path || route + "/" == configuration.path
  }

  /// The WebSocket upgrade decision for `HTTPServerBuilder.http1WebSocketUpgrade`: a new session,
  /// or the upgrade of a v4 long-polling session named by `sid`.
  public func shouldUpgrade(_ request: HTTPRequest, channel: any Channel) -> ShouldUpgradeResult<WebSocketHandler> {
    guard let path = request.path, handles(path: path) else { return .dontUpgrade }
    let query = Self.query(of: path)
    let clientIP = Self.clientIP(
      forwardedFor: request.headerFields[HTTPField.Name("x-forwarded-for")!], peer: channel.remoteAddress)
    let version = query["EIO"].flatMap(Int.init).flatMap(EngineIOVersion.init(rawValue:))
    let sessionID = query["sid"]
    let observer = CloseFrameObserver()
    // Added before the upgrade swaps the HTTP handlers for the WebSocket ones, so it sits in front
    // of the frame decoder and sees the client's frames as bytes.
    channel.pipeline.addHandler(observer).whenFailure { [logger] error in
      logger.debug("close frame observer not installed", metadata: ["error": "\(error)"])
    }
    return .upgrade([:]) { [self] inbound, outbound, _ in
      guard let version, query["transport"] == "websocket" else {
        metrics.dropped("bad websocket handshake")
        return
      }
      let messages = MessageReader(inbound.messages(maxSize: configuration.maxPayload).makeAsyncIterator())
      let connection: SocketIOConnection
      if let sessionID {
        guard let upgraded = await upgrade(sessionID, version: version, messages: messages, outbound: outbound) else {
          return
        }
        connection = upgraded
      } else {
        connection = openSession(version: version, clientIP: clientIP, transport: .webSocket)
      }
      await serveWebSocket(connection, messages: messages, outbound: outbound, observer: observer)
    }
  }

  /// The v4 upgrade dance on the new WebSocket: `2probe` → `3probe`, a `noop` to release the
  /// pending poll, then `5` switches the session to this WebSocket.
  private func upgrade(
    _ sessionID: String, version: EngineIOVersion, messages: MessageReader, outbound: WebSocketOutboundWriter
  ) async -> SocketIOConnection? {
    guard let connection = session(sessionID)?.connection, connection.version == version,
      connection.state.withLock({ $0.transport == .polling })
    else {
      metrics.dropped("websocket upgrade of an unknown session")
      return nil
    }
    do {
      guard case .text(let probe)? = try await messages.next(), probe == "2probe" else { return nil }
      try await outbound.write(.text("3probe"))
      connection.send(engine: EngineIOPacket(.noop))
      guard case .text(let upgrade)? = try await messages.next(), upgrade == "5" else { return nil }
    } catch {
      return nil
    }
    connection.switchToWebSocket()
    return connection
  }

  private func serveWebSocket(
    _ connection: SocketIOConnection, messages: MessageReader, outbound: WebSocketOutboundWriter,
    observer: CloseFrameObserver
  ) async {
    await withTaskGroup(of: Void.self) { group in
      group.addTask { [self] in
        do {
          while let message = try await messages.next() {
            switch message {
            case .text(let text): receive(text[...], on: connection)
            case .binary: metrics.dropped("binary")
            }
          }
        } catch {
          logger.debug("websocket read failed", metadata: ["error": "\(error)"])
        }
        // A close frame with 1000, 1001 or no code is a clean close; anything else is a drop that
        // the application may wait out (spec §4.5).
        let clean = observer.closeCode.withLock { $0.map { [1000, 1001, 1005].contains($0) } ?? false }
        closeSession(connection, clean ? .clientClose : .transportClose)
      }
      group.addTask {
        while case .packets(let batch) = await connection.nextOutgoing() {
          do {
            for packet in batch { try await outbound.write(.text(packet)) }
          } catch {
            break
          }
        }
      }
      await group.next()
      group.cancelAll()
    }
    closeSession(connection, .transportClose)
  }

  // MARK: Long-polling (Engine.IO v4)

  /// Answers a long-polling request (`GET` waits for packets, `POST` delivers them), or nil when the
  /// path is not the Socket.IO endpoint.
  public func respond(to request: Request, clientIP peer: SocketAddress?) async -> Response? {
    guard handles(path: request.uri.description) else { return nil }
    let query = Self.query(of: request.uri.description)
    if request.method == .options { return Self.pollingResponse(.noContent, "", request: request) }
    guard let version = query["EIO"].flatMap(Int.init).flatMap(EngineIOVersion.init(rawValue:)), version == .v4 else {
      return Self.pollingError(5, "Unsupported protocol version", request: request)
    }
    guard query["transport"] == "polling" else { return Self.pollingError(0, "Transport unknown", request: request) }
    guard let sessionID = query["sid"] else {
      guard request.method == .get else { return Self.pollingError(2, "Bad handshake method", request: request) }
      let clientIP = Self.clientIP(forwardedFor: request.headers[HTTPField.Name("x-forwarded-for")!], peer: peer)
      let connection = openSession(version: version, clientIP: clientIP, transport: .polling)
      return await poll(connection, request: request)
    }
    guard let connection = session(sessionID)?.connection, connection.version == version else {
      return Self.pollingError(1, "Session ID unknown", request: request)
    }
    switch request.method {
    case .get:
      guard connection.state.withLock({ $0.transport == .polling }) else {
        return Self.pollingError(3, "Bad request", request: request)
      }
      return await poll(connection, request: request)
    case .post:
      var request = request
      guard let body = try? await request.collectBody(upTo: configuration.maxPayload) else {
        closeSession(connection, .transportClose)
        return Self.pollingResponse(.contentTooLarge, "payload too large", request: request)
      }
      for packet in EngineIOPollingPayload.decode(String(decoding: body.readableBytesView, as: UTF8.self)) {
        receive(packet, on: connection)
      }
      return Self.pollingResponse(.ok, "ok", request: request)
    default:
      return Self.pollingError(2, "Bad handshake method", request: request)
    }
  }

  private func poll(_ connection: SocketIOConnection, request: Request) async -> Response {
    switch await connection.nextOutgoing() {
    case .packets(let packets):
      return Self.pollingResponse(.ok, EngineIOPollingPayload.encode(packets), request: request)
    case .closed:
      closeSession(connection, connection.closingReason ?? .transportClose)
      return Self.pollingResponse(.ok, EngineIOPacket(.close).encoded, request: request)
    case .busy:
      // Overlapping polls are a protocol error in engine.io: the session ends.
      closeSession(connection, .transportClose)
      return Self.pollingError(3, "Bad request", request: request)
    }
  }

  static func pollingError(_ code: Int, _ message: String, request: Request) -> Response {
    let body: JSONValue = ["code": .int(code), "message": .string(message)]
    var response = pollingResponse(.badRequest, body.jsonText, request: request)
    response.headers[.contentType] = "application/json"
    return response
  }

  static func pollingResponse(_ status: HTTPResponse.Status, _ text: String, request: Request) -> Response {
    var headers: HTTPFields = [.contentType: "text/plain; charset=UTF-8"]
    // Cross-origin polling, as engine.io's `cors` option allows it: echo the origin with credentials.
    if let origin = request.headers[.origin] {
      headers[.accessControlAllowOrigin] = origin
      headers[.accessControlAllowCredentials] = "true"
      headers[.accessControlAllowMethods] = "GET, POST, OPTIONS"
      headers[.accessControlAllowHeaders] = request.headers[.accessControlRequestHeaders] ?? "content-type"
    }
    return Response(status: status, headers: headers, body: .init(byteBuffer: ByteBuffer(string: text)))
  }

  // MARK: Helpers

  /// The query parameters of a request target, percent-decoded.
  static func query(of target: String) -> [String: String] {
    guard let start = target.firstIndex(of: "?") else { return [:] }
    var result: [String: String] = [:]
    for pair in target[target.index(after: start)...].split(separator: "&") {
      let parts = pair.split(separator: "=", maxSplits: 1)
      guard let key = parts.first else { continue }
      let value = parts.count > 1 ? String(parts[1]) : ""
      result[String(key)] = value.removingPercentEncoding ?? value
    }
    return result
  }

  /// The first `x-forwarded-for` entry, else the peer address, without a `::ffff:` prefix.
  static func clientIP(forwardedFor: String?, peer: SocketAddress?) -> String {
    var address =
      forwardedFor?.split(separator: ",").first.map { $0.trimmingCharacters(in: .whitespaces) }
      ?? peer?.ipAddress ?? ""
    if address.hasPrefix("::ffff:") { address.removeFirst(7) }
    return address
  }
}

extension SocketIOConnection {
  /// Makes the WebSocket the session's transport; a poll still waiting is released with a `noop`.
  func switchToWebSocket() {
    let waiter = state.withLock { state -> Waiter? in
      state.transport = .webSocket
      defer { state.waiter = nil }
      return state.waiter
    }
    waiter?.resume(returning: .packets([EngineIOPacket(.noop).encoded]))
  }
}

/// The one iterator of a WebSocket's messages, used first by the upgrade dance and then by the
/// reader task, never by two tasks at once.
final class MessageReader: @unchecked Sendable {
  private var iterator: WebSocketInboundMessageStream.AsyncIterator

  init(_ iterator: WebSocketInboundMessageStream.AsyncIterator) { self.iterator = iterator }

  func next() async throws -> WebSocketMessage? { try await iterator.next() }
}
