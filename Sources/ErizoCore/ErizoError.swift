/// The control plane's one error type: a stable code, a human message, and where it was raised.
///
/// Modelled on swift-service-lifecycle's `ServiceGroupError`: the code is an extensible struct so
/// new codes do not break users, and equality compares codes only. Each edge (HTTP, Socket.IO,
/// AMQP reply) maps codes to its own shape.
public struct ErizoError: Error, Sendable, CustomStringConvertible {
  public struct Code: Hashable, Sendable, CustomStringConvertible {
    public let rawValue: String
    public init(_ rawValue: String) { self.rawValue = rawValue }
    public var description: String { rawValue }

    /// An RPC call got no reply within its timeout, or its connection was lost while waiting.
    public static let rpcTimeout = Code("rpc.timeout")
    /// The bus has no connection to the broker right now.
    public static let busUnavailable = Code("bus.unavailable")
    /// A bus message could not be decoded or is not a valid envelope.
    public static let malformedMessage = Code("bus.malformed-message")
    /// The bus has been shut down.
    public static let busClosed = Code("bus.closed")
    /// Text that should have been JSON was not.
    public static let malformedJSON = Code("json.malformed")
    /// A configuration key is not known.
    public static let unknownConfigKey = Code("config.unknown-key")
    /// A configuration value has the wrong type or is out of range.
    public static let invalidConfigValue = Code("config.invalid-value")
    /// A configuration file could not be read.
    public static let unreadableConfig = Code("config.unreadable")
    /// A broker or server URL could not be parsed.
    public static let invalidURL = Code("url.invalid")
    /// An AMQP operation failed.
    public static let amqp = Code("amqp.error")
    /// The thing asked for does not exist.
    public static let notFound = Code("not-found")
    /// The database cannot be reached or failed.
    public static let storeUnavailable = Code("store.unavailable")
    /// A media worker cannot be started or does not answer.
    public static let workerUnavailable = Code("worker.unavailable")
    /// The operation was cancelled.
    public static let cancelled = Code("cancelled")
  }

  public let code: Code
  public let message: String
  public let file: String
  public let line: Int

  public init(_ code: Code, _ message: String, file: String = #fileID, line: Int = #line) {
    self.code = code
    self.message = message
    self.file = file
    self.line = line
  }

  public var description: String { "\(code): \(message)" }
}

extension ErizoError: Equatable {
  public static func == (lhs: ErizoError, rhs: ErizoError) -> Bool { lhs.code == rhs.code }
}
