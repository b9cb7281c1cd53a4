/// Where a RabbitMQ broker is and how to log in, parsed from the forms the reference accepts:
/// `amqp://user:pass@host:port/vhost`, `amqp:user:pass@host:port` (no `//`, as shipped in the
/// reference's config), `user:pass@host:port`, `host:port` and `host`. Spec §6.
public struct AMQPEndpoint: Sendable, Hashable, CustomStringConvertible {
  public var host: String
  public var port: Int
  public var user: String
  public var password: String
  public var virtualHost: String

  public init(
    host: String = "127.0.0.1", port: Int = 5672, user: String = "guest", password: String = "guest",
    virtualHost: String = "/"
  ) {
    self.host = host
    self.port = port
    self.user = user
    self.password = password
    self.virtualHost = virtualHost
  }

  public init(url text: String) throws(ErizoError) {
    var rest = Substring(text.trimmingWhitespace())
    guard !rest.isEmpty else { throw ErizoError(.invalidURL, "empty AMQP URL") }
    var defaultPort = 5672
    for scheme in ["amqps:", "amqp:"] where rest.lowercased().hasPrefix(scheme) {
      if scheme == "amqps:" { defaultPort = 5671 }
      rest = rest.dropFirst(scheme.count)
      if rest.hasPrefix("//") { rest = rest.dropFirst(2) }
      break
    }
    var virtualHost = "/"
    if let slash = rest.firstIndex(of: "/") {
      let path = rest[rest.index(after: slash)...]
      if !path.isEmpty { virtualHost = try Self.percentDecoded(path, in: text) }
      rest = rest[..<slash]
    }
    var user = "guest"
    var password = "guest"
    if let at = rest.lastIndex(of: "@") {
      let credentials = rest[..<at]
      rest = rest[rest.index(after: at)...]
      if let colon = credentials.firstIndex(of: ":") {
        user = try Self.percentDecoded(credentials[..<colon], in: text)
        password = try Self.percentDecoded(credentials[credentials.index(after: colon)...], in: text)
      } else {
        user = try Self.percentDecoded(credentials, in: text)
        password = ""
      }
    }
    var host = String(rest)
    var port = defaultPort
    if host.hasPrefix("[") {  // [::1]:5672
      guard let close = host.firstIndex(of: "]") else { throw ErizoError(.invalidURL, "bad IPv6 host in '\(text)'") }
      let after = host[host.index(after: close)...]
      let inner = String(host[host.index(after: host.startIndex)..<close])
      if after.hasPrefix(":") { port = try Self.port(after.dropFirst(), in: text) }
      host = inner
    } else if let colon = host.lastIndex(of: ":") {
      port = try Self.port(host[host.index(after: colon)...], in: text)
      host = String(host[..<colon])
    }
    guard !host.isEmpty else { throw ErizoError(.invalidURL, "no host in AMQP URL '\(text)'") }
    self.init(host: host, port: port, user: user, password: password, virtualHost: virtualHost)
  }

  private static func port(_ text: Substring, in url: String) throws(ErizoError) -> Int {
    guard let port = Int(text), (1...65535).contains(port) else {
      throw ErizoError(.invalidURL, "bad port '\(text)' in AMQP URL '\(url)'")
    }
    return port
  }

  private static func percentDecoded(_ text: Substring, in url: String) throws(ErizoError) -> String {
    guard text.contains("%") else { return String(text) }
    var bytes: [UInt8] = []
    var iterator = Array(text.utf8).makeIterator()
    while let byte = iterator.next() {
      if byte == UInt8(ascii: "%") {
        guard let high = iterator.next(), let low = iterator.next(),
          let value = UInt8(String(decoding: [high, low], as: UTF8.self), radix: 16)
        else { throw ErizoError(.invalidURL, "bad percent escape in AMQP URL '\(url)'") }
        bytes.append(value)
      } else {
        bytes.append(byte)
      }
    }
    return String(decoding: bytes, as: UTF8.self)
  }

  /// The URL without the password, for logs.
  public var description: String {
    let vhost = virtualHost == "/" ? "" : "/\(virtualHost)"
    return "amqp://\(user)@\(host.contains(":") ? "[\(host)]" : host):\(port)\(vhost)"
  }
}

extension StringProtocol {
  func trimmingWhitespace() -> String {
    var view = Substring(self)
    while let first = view.first, first.isWhitespace { view = view.dropFirst() }
    while let last = view.last, last.isWhitespace { view = view.dropLast() }
    return String(view)
  }
}
