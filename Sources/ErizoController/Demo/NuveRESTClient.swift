internal import ErizoCore
internal import Foundation
internal import NIOCore
internal import NIOHTTP1
internal import NIOPosix
internal import Synchronization

/// Nuve's REST API as an application server calls it (MAuth as the superservice), for the demo
/// page's token endpoint. Plain HTTP/1.1, one connection per call: a few calls per joining tab.
struct NuveRESTClient: Sendable {
  struct Failure: Error, CustomStringConvertible {
    let description: String
  }

  let host: String
  let port: Int
  let serviceID: String
  let key: String

  /// `http://host:port` only: Nuve beside the controller.
  init?(url: String, serviceID: String, key: String) {
    guard url.hasPrefix("http://") else { return nil }
    let authority = url.dropFirst(7).split(separator: "/", maxSplits: 1).first.map(String.init) ?? ""
    let parts = authority.split(separator: ":")
    guard let host = parts.first, !host.isEmpty else { return nil }
    self.host = String(host)
    self.port = parts.count > 1 ? Int(parts[1]) ?? 80 : 80
    self.serviceID = serviceID
    self.key = key
  }

  /// The room named `name`, made if Nuve has none.
  func room(named name: String) async throws -> String {
    let rooms = try await call(.GET, "/rooms/")
    if let existing = rooms.arrayValue?.first(where: { $0["name"]?.stringValue == name }),
      let id = existing["_id"]?.stringValue
    {
      return id
    }
    let made = try await call(.POST, "/rooms/", body: ["name": .string(name)])
    guard let id = made["_id"]?.stringValue else { throw Failure(description: "Nuve made no room") }
    return id
  }

  /// A token for `user` in `roomID` (the base64 text clients send).
  func token(roomID: String, user: String, role: String = "presenter") async throws -> String {
    let reply = try await call(.POST, "/rooms/\(roomID)/tokens/", user: (user, role), raw: true)
    guard let text = reply.stringValue, !text.isEmpty else { throw Failure(description: "Nuve made no token") }
    return text
  }

  private func call(
    _ method: HTTPMethod, _ path: String, body: JSONValue? = nil, user: (name: String, role: String)? = nil,
    raw: Bool = false
  ) async throws -> JSONValue {
    let header = Crypto.mauthHeader(
      serviceID: serviceID, key: key, timestamp: Int(Date().timeIntervalSince1970 * 1000),
      cnonce: Int.random(in: 0..<99_999),
      user: user)
    let payload = body?.serialized() ?? []
    let (status, bytes) = try await Self.exchange(
      host: host, port: port, method: method, path: path, authorization: header, body: payload)
    guard (200..<300).contains(status) else {
      throw Failure(description: "Nuve answered \(status) to \(method.rawValue) \(path)")
    }
    if raw { return .string(String(decoding: bytes, as: UTF8.self)) }
    guard let json = try? JSONValue(parsing: bytes) else {
      throw Failure(description: "Nuve's answer to \(path) is not JSON")
    }
    return json
  }

  static func exchange(
    host: String, port: Int, method: HTTPMethod, path: String, authorization: String, body: [UInt8]
  ) async throws -> (Int, [UInt8]) {
    let collector = ResponseCollector()
    let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
      .connectTimeout(.seconds(5))
      .channelInitializer { channel in
        channel.eventLoop.makeCompletedFuture {
          try channel.pipeline.syncOperations.addHTTPClientHandlers()
          try channel.pipeline.syncOperations.addHandler(collector)
        }
      }
      .connect(host: host, port: port).get()
    var head = HTTPRequestHead(version: .http1_1, method: method, uri: path)
    head.headers.add(name: "Host", value: "\(host):\(port)")
    head.headers.add(name: "Authorization", value: authorization)
    head.headers.add(name: "Content-Type", value: "application/json")
    head.headers.add(name: "Content-Length", value: String(body.count))
    head.headers.add(name: "Connection", value: "close")
    channel.write(HTTPClientRequestPart.head(head), promise: nil)
    channel.write(HTTPClientRequestPart.body(.byteBuffer(ByteBuffer(bytes: body))), promise: nil)
    try await channel.writeAndFlush(HTTPClientRequestPart.end(nil)).get()
    let result = try await collector.result.futureResult.get()
    try? await channel.close().get()
    return result
  }

  /// Gathers one response and completes when it ends (or the connection closes early).
  final class ResponseCollector: ChannelInboundHandler, Sendable {
    typealias InboundIn = HTTPClientResponsePart
    private struct Partial {
      var status = 0
      var body: [UInt8] = []
    }
    let result: EventLoopPromise<(Int, [UInt8])>
    private let partial = Mutex(Partial())

    init() {
      result = MultiThreadedEventLoopGroup.singleton.next().makePromise()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
      switch unwrapInboundIn(data) {
      case .head(let head): partial.withLock { $0.status = Int(head.status.code) }
      case .body(var buffer):
        let bytes = buffer.readBytes(length: buffer.readableBytes) ?? []
        partial.withLock { $0.body += bytes }
      case .end:
        let done = partial.withLock { ($0.status, $0.body) }
        result.succeed(done)
      }
    }

    func channelInactive(context: ChannelHandlerContext) {
      result.fail(Failure(description: "Nuve closed the connection"))
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
      result.fail(error)
      context.close(promise: nil)
    }
  }
}
