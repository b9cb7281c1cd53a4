internal import ErizoCore
internal import Foundation

/// The token a client sends with `token` (spec §2.2): the object itself, or the base64 text Nuve
/// returned.
struct ClientToken: Sendable, Equatable {
  let tokenID: String
  let host: String
  let signature: String
  let eaPolicy: String?

  init?(_ value: JSONValue?) {
    var value = value
    if case .string(let text)? = value, let data = Data(base64Encoded: text), let json = try? JSONValue(parsing: data) {
      value = json
    }
    guard let tokenID = value?["tokenId"]?.stringValue, !tokenID.isEmpty,
      let host = value?["host"]?.stringValue, let signature = value?["signature"]?.stringValue
    else { return nil }
    self.tokenID = tokenID
    self.host = host
    self.signature = signature
    self.eaPolicy = value?["eapolicy"]?.stringValue
  }

  /// Whether the signature is the superservice key's over `"<tokenId>,<host>"`, compared in
  /// constant time.
  func isSigned(with key: String) -> Bool {
    let expected = Crypto.referenceSignature(key: key, message: "\(tokenID),\(host)")
    return Crypto.constantTimeEqual(Array(expected.utf8), Array(signature.utf8))
  }
}

/// A global token bucket for `token` requests (`controller.tokenRateLimit` per second; 0 = off).
struct TokenBucket: Sendable {
  let ratePerSecond: Double
  var available: Double
  var updated: ContinuousClock.Instant

  init(ratePerSecond: Int, now: ContinuousClock.Instant = .now) {
    self.ratePerSecond = Double(ratePerSecond)
    self.available = Double(ratePerSecond)
    self.updated = now
  }

  mutating func take(now: ContinuousClock.Instant = .now) -> Bool {
    guard ratePerSecond > 0 else { return true }
    let elapsed = now - updated
    let seconds = Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) / 1e18
    available = min(ratePerSecond, available + seconds * ratePerSecond)
    updated = now
    guard available >= 1 else { return false }
    available -= 1
    return true
  }
}
