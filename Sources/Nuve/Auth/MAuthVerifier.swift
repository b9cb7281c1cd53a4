public import ErizoCore

public import struct Foundation.Date

/// Who a request comes from once MAuth succeeded.
public struct NuveCaller: Sendable {
  public let service: ServiceRecord
  public let user: (name: String, role: String)?
  public let isSuperservice: Bool
}

/// Verifies MAuth (spec §1.2) with Erizo's fixes: a timestamp window against the server clock,
/// a per-service cnonce cache in the store (shared by replicas), and constant-time comparison.
public struct MAuthVerifier: Sendable {
  let store: any NuveStore
  let superserviceID: String
  let window: Duration

  public init(store: any NuveStore, superserviceID: String, window: Duration) {
    self.store = store
    self.superserviceID = superserviceID
    self.window = window
  }

  /// Forgets nonces the window already rejects (run periodically, off the request path).
  public func forgetOldNonces(now: Date = Date()) async throws(ErizoError) {
    try await store.deleteNonces(before: Int(now.timeIntervalSince1970 * 1000) - Int(window.components.seconds) * 1000)
  }

  /// The caller, or nil for any failure (which the reference answers with one 401).
  public func verify(header: String?, now: Date = Date()) async throws(ErizoError) -> NuveCaller? {
    guard let header, header.hasPrefix("MAuth ") else { return nil }
    let parsed = MAuthHeader(parsing: header)
    guard parsed.signatureMethod == "HMAC_SHA1", let serviceID = parsed.serviceID, ObjectID.isValid(serviceID),
      let timestampText = parsed.timestamp, let timestamp = Int(timestampText), let cnonceText = parsed.cnonce,
      let cnonce = Int(cnonceText), let signature = parsed.signature, let signed = parsed.signedText
    else { return nil }
    let nowMilliseconds = Int(now.timeIntervalSince1970 * 1000)
    let windowMilliseconds = Int(window.components.seconds) * 1000
    guard abs(nowMilliseconds - timestamp) <= windowMilliseconds else { return nil }
    guard let service = try await store.service(id: serviceID) else { return nil }
    let expected = Crypto.referenceSignature(key: service.key, message: signed)
    guard Crypto.constantTimeEqual(Array(expected.utf8), Array(signature.utf8)) else { return nil }
    guard try await store.recordNonce(serviceID: serviceID, timestamp: timestamp, cnonce: cnonce) else { return nil }
    return NuveCaller(service: service, user: parsed.user, isSuperservice: serviceID == superserviceID)
  }
}
