public import ErizoCore

/// What a Nuve route answers, before it becomes HTTP: the reference sends plain text (as
/// `text/html`, Express's default for strings) or JSON.
public struct NuveResponse: Sendable, Equatable {
  public enum Body: Sendable, Equatable {
    case text(String)
    case json(JSONValue)
  }

  public var status: Int
  public var body: Body
  public var headers: [String: String] = [:]

  public static func text(_ status: Int, _ text: String) -> NuveResponse {
    NuveResponse(status: status, body: .text(text))
  }
  public static func json(_ value: JSONValue, status: Int = 200) -> NuveResponse {
    NuveResponse(status: status, body: .json(value))
  }

  /// The MAuth challenge: the reference's JSON body plus a real `WWW-Authenticate` header.
  public static let unauthorized = NuveResponse(
    status: 401, body: .json(["WWW-Authenticate": #"MAuth realm="http://marte3.dit.upm.es""#]),
    headers: ["WWW-Authenticate": #"MAuth realm="http://marte3.dit.upm.es""#])
}
