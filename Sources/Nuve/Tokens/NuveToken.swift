internal import ErizoCore

/// The token a client receives (spec §2.2): compact JSON with keys in the order `tokenId`, `host`,
/// `secure`, `signature`, then `eapolicy` when defined; base64 (standard, padded). The signature is
/// base64(lowercase-hex(HMAC-SHA1(superservice key, "<tokenId>,<host>"))); `eapolicy` is not signed.
public struct NuveToken: Sendable, Equatable {
  public var tokenID: String
  public var host: String
  public var secure: Bool
  public var signature: String
  public var eapolicy: String?

  public init(tokenID: String, host: String, secure: Bool, eapolicy: String?, superserviceKey: String) {
    self.tokenID = tokenID
    self.host = host
    self.secure = secure
    self.eapolicy = eapolicy
    self.signature = Self.signature(tokenID: tokenID, host: host, key: superserviceKey)
  }

  public static func signature(tokenID: String, host: String, key: String) -> String {
    Crypto.referenceSignature(key: key, message: "\(tokenID),\(host)")
  }

  /// The compact JSON in the reference's key order.
  public var json: String {
    var out: [UInt8] = []
    out.append(contentsOf: #"{"tokenId":"#.utf8)
    JSONValue.string(tokenID).write(into: &out)
    out.append(contentsOf: #","host":"#.utf8)
    JSONValue.string(host).write(into: &out)
    out.append(contentsOf: #","secure":"#.utf8)
    out.append(contentsOf: (secure ? "true" : "false").utf8)
    out.append(contentsOf: #","signature":"#.utf8)
    JSONValue.string(signature).write(into: &out)
    if let eapolicy {
      out.append(contentsOf: #","eapolicy":"#.utf8)
      JSONValue.string(eapolicy).write(into: &out)
    }
    out.append(UInt8(ascii: "}"))
    return String(decoding: out, as: UTF8.self)
  }

  /// What Nuve returns as the HTTP body.
  public var encoded: String { Crypto.base64(Array(json.utf8)) }
}
