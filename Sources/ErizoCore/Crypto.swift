internal import COpenSSL

internal import struct Foundation.Data

/// The few primitives the control plane needs, from the system OpenSSL.
public enum Crypto {
  /// HMAC-SHA1 of `message` keyed with `key` (20 bytes).
  public static func hmacSHA1(key: [UInt8], message: [UInt8]) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: 20)
    var length: UInt32 = 0
    _ = key.withUnsafeBufferPointer { keyBuffer in
      message.withUnsafeBufferPointer { messageBuffer in
        HMAC(
          EVP_sha1(), keyBuffer.baseAddress, Int32(keyBuffer.count), messageBuffer.baseAddress, messageBuffer.count,
          &out, &length)
      }
    }
    return Array(out.prefix(Int(length)))
  }

  /// Bytes from the OS CSPRNG (through OpenSSL's DRBG, seeded by getrandom).
  public static func randomBytes(_ count: Int) -> [UInt8] {
    var bytes = [UInt8](repeating: 0, count: count)
    guard RAND_bytes(&bytes, Int32(count)) == 1 else { fatalError("RAND_bytes failed") }
    return bytes
  }

  /// Equality that takes the same time wherever the inputs differ.
  public static func constantTimeEqual(_ lhs: [UInt8], _ rhs: [UInt8]) -> Bool {
    guard lhs.count == rhs.count else { return false }
    var difference: UInt8 = 0
    for index in lhs.indices { difference |= lhs[index] ^ rhs[index] }
    return difference == 0
  }

  public static func lowercaseHex(_ bytes: [UInt8]) -> String {
    let digits = Array("0123456789abcdef".utf8)
    var out = [UInt8]()
    out.reserveCapacity(bytes.count * 2)
    for byte in bytes {
      out.append(digits[Int(byte >> 4)])
      out.append(digits[Int(byte & 0x0F)])
    }
    return String(decoding: out, as: UTF8.self)
  }

  public static func base64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }

  /// The reference's signature form for MAuth and tokens: base64 of the lowercase hex of HMAC-SHA1.
  public static func referenceSignature(key: String, message: String) -> String {
    base64(Array(lowercaseHex(hmacSHA1(key: Array(key.utf8), message: Array(message.utf8))).utf8))
  }

  /// The `Authorization` header of a Nuve REST call signed as the reference's clients sign it
  /// (spec §1.3): `timestamp,cnonce[,username,role]` under the service key.
  public static func mauthHeader(
    serviceID: String, key: String, timestamp: Int, cnonce: Int, user: (name: String, role: String)? = nil
  ) -> String {
    var signed = "\(timestamp),\(cnonce)"
    var header = "MAuth realm=http://marte3.dit.upm.es,mauth_signature_method=HMAC_SHA1"
    if let user {
      signed += ",\(user.name),\(user.role)"
      header += ",mauth_username=\(user.name),mauth_role=\(user.role)"
    }
    header += ",mauth_serviceid=\(serviceID),mauth_cnonce=\(cnonce),mauth_timestamp=\(timestamp)"
    return header + ",mauth_signature=\(referenceSignature(key: key, message: signed))"
  }
}
