public import ErizoCore

/// An error answered to a client as the second argument of an `("error", …)` acknowledgement:
/// `{"errmsg": …, "errcode": …}` with the reference's codes (spec §4.2, §4.3).
public struct ClientError: Error, Sendable, Equatable {
  public let code: Int
  public let message: String
  /// Whether the controller disconnects the client after answering (spec §4.2).
  public let disconnects: Bool

  public init(_ code: Int, _ message: String, disconnects: Bool = false) {
    self.code = code
    self.message = message
    self.disconnects = disconnects
  }

  public var json: JSONValue { ["errmsg": .string(message), "errcode": .int(code)] }

  // `token` (spec §4.2).
  public static let rateLimited = ClientError(1000, "up to  RateLimiter")
  public static let invalidHost = ClientError(1001, "Token has invalid host", disconnects: true)
  public static let unknownToken = ClientError(1002, "Token does not exist", disconnects: true)
  public static let nuveSilent = ClientError(1003, "Token check,Nuve does not respond", disconnects: true)
  public static let authentication = ClientError(1004, "Authentication error", disconnects: true)
  public static let noWorker = ClientError(1005, "get mediasoup worker failed")
  /// Erizo's: a second `token` on an authenticated connection.
  public static let alreadyAuthenticated = ClientError(1007, "already authenticated")

  // Requests (spec §4.3).
  /// Erizo's: a request before a successful `token` (the reference ignored it).
  public static let notAuthenticated = ClientError(1000, "user's room undefuned: send token first")
  public static let rpcTimeout = ClientError(1001, "rpc call timeout")
  public static let throttleRefused = ClientError(1002, "operation NOT allowed")
  public static let unknownRequest = ClientError(1004, "unknown request.method")
  /// Erizo's: a payload that is not `{"data": {…}}` (the reference crashed).
  public static let invalidPayload = ClientError(1006, "invalid payload: expected {\"data\": {…}}")
  public static let agentError = ClientError(2000, "ea error!")

  /// `reconnected` refused: unknown client, expired window or wrong secret.
  public static let reconnectRefused = ClientError(1004, "reconnect refused")
}
