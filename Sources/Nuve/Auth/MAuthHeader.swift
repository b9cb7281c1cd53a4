internal import ErizoCore

/// A parsed `Authorization: MAuth …` header (spec §1.2), with the reference's quirks kept:
/// split on `,`, each pair on `=`; the key is the first segment minus its first 6 characters
/// (`mauth_serviceid` → `serviceid`, `MAuth realm` → `realm`); the value is the remaining segments
/// joined with each empty segment replaced by `=`, so base64 padding survives and an inner `=` is lost.
public struct MAuthHeader: Sendable, Equatable {
  public var fields: [String: String]

  public init(parsing header: String) {
    var fields: [String: String] = [:]
    for pair in header.split(separator: ",", omittingEmptySubsequences: false) {
      let segments = pair.split(separator: "=", omittingEmptySubsequences: false).map(String.init)
      guard let first = segments.first else { continue }
      let key = String(first.dropFirst(6))
      var value = ""
      for segment in segments.dropFirst() { value += segment.isEmpty ? "=" : segment }
      fields[key] = value
    }
    self.fields = fields
  }

  public var signatureMethod: String? { fields["signature_method"] }
  public var serviceID: String? { fields["serviceid"] }
  public var cnonce: String? { fields["cnonce"] }
  public var timestamp: String? { fields["timestamp"] }
  public var signature: String? { fields["signature"] }
  /// Username and role count only when both are present (spec §1.2).
  public var user: (name: String, role: String)? {
    guard let name = fields["username"], let role = fields["role"] else { return nil }
    return (name, role)
  }

  /// The string the signature covers: `timestamp,cnonce[,username,role]`.
  public var signedText: String? {
    guard let timestamp, let cnonce else { return nil }
    var text = "\(timestamp),\(cnonce)"
    if let user { text += ",\(user.name),\(user.role)" }
    return text
  }

  /// Builds the header as the reference's Nuve clients do.
  public static func build(
    serviceID: String, key: String, timestamp: Int, cnonce: Int,
    user: (name: String, role: String)? = nil
  ) -> String {
    Crypto.mauthHeader(serviceID: serviceID, key: key, timestamp: timestamp, cnonce: cnonce, user: user)
  }
}
