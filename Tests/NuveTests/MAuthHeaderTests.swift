import ErizoCore
import Nuve
import Testing

/// MAuth as the reference parses and signs it (spec §1.2). Expected signatures were computed
/// independently with Python's hmac/hashlib/base64.
@Suite("MAuth header")
struct MAuthHeaderTests {
  @Test func parsesAClientHeader() {
    let header = MAuthHeader(
      parsing:
        "MAuth realm=http://marte3.dit.upm.es,mauth_signature_method=HMAC_SHA1,mauth_username=alice,mauth_role=presenter,mauth_serviceid=5f97aa55aa55aa55aa55aa55,mauth_cnonce=4242,mauth_timestamp=1606200000000,mauth_signature=ODY5OTIzOWY4ZWVmZjJjNWM1N2NmNTZkMzExMGVlYjZiY2VkMmY1Mg=="
    )
    #expect(header.fields["realm"] == "http://marte3.dit.upm.es")
    #expect(header.signatureMethod == "HMAC_SHA1")
    #expect(header.serviceID == "5f97aa55aa55aa55aa55aa55")
    #expect(header.user?.name == "alice" && header.user?.role == "presenter")
    // Base64 padding survives the split on '='.
    #expect(header.signature == "ODY5OTIzOWY4ZWVmZjJjNWM1N2NmNTZkMzExMGVlYjZiY2VkMmY1Mg==")
    #expect(header.signedText == "1606200000000,4242,alice,presenter")
  }

  @Test func quirksAreKept() {
    // An inner '=' is lost; keys lose their first six characters whatever they are.
    let header = MAuthHeader(parsing: "xxxxxxa=b=c,mauth_cnonce=1,mauth_timestamp=2,mauth_username=bob")
    #expect(header.fields["a"] == "bc")
    #expect(header.user == nil, "username without role does not count")
    #expect(header.signedText == "2,1")
  }

  @Test func signaturesMatchIndependentVectors() {
    #expect(
      Crypto.referenceSignature(key: "myServiceKey", message: "1606200000000,4242,alice,presenter")
        == "ODY5OTIzOWY4ZWVmZjJjNWM1N2NmNTZkMzExMGVlYjZiY2VkMmY1Mg==")
    #expect(
      Crypto.referenceSignature(key: "myServiceKey", message: "1606200000000,4242")
        == "YjJiYmFhYTA1MTcxOGVjZDJmYTFlNzc1OGExNmFhNjVjNWEzMjc2OA==")
  }

  @Test func buildRoundTrips() {
    let built = MAuthHeader.build(
      serviceID: "5f97aa55aa55aa55aa55aa55", key: "myServiceKey", timestamp: 1_606_200_000_000, cnonce: 4242,
      user: ("alice", "presenter"))
    let parsed = MAuthHeader(parsing: built)
    #expect(parsed.signature == "ODY5OTIzOWY4ZWVmZjJjNWM1N2NmNTZkMzExMGVlYjZiY2VkMmY1Mg==")
    #expect(parsed.signedText == "1606200000000,4242,alice,presenter")
  }
}

@Suite("Nuve token encoding")
struct NuveTokenTests {
  @Test func encodesLikeTheReference() {
    let token = NuveToken(
      tokenID: "5f97aa55aa55aa55aa55aa55", host: "192.168.94.81:8080", secure: false, eapolicy: nil,
      superserviceKey: "superKey")
    #expect(token.signature == "ZTVhMDYzMjhjMjJkNDlhMmExMGQxNzA3MDQ3YThiNmIyOTExN2E5NQ==")
    #expect(
      token.encoded
        == "eyJ0b2tlbklkIjoiNWY5N2FhNTVhYTU1YWE1NWFhNTVhYTU1IiwiaG9zdCI6IjE5Mi4xNjguOTQuODE6ODA4MCIsInNlY3VyZSI6ZmFsc2UsInNpZ25hdHVyZSI6IlpUVmhNRFl6TWpoak1qSmtORGxoTW1FeE1HUXhOekEzTURRM1lUaGlObUl5T1RFeE4yRTVOUT09In0="
    )
  }

  @Test func eapolicyComesLastAndIsNotSigned() {
    let token = NuveToken(
      tokenID: "5f97aa55aa55aa55aa55aa55", host: "192.168.94.81:8080", secure: true, eapolicy: "TTL-BEST",
      superserviceKey: "superKey")
    #expect(token.signature == "ZTVhMDYzMjhjMjJkNDlhMmExMGQxNzA3MDQ3YThiNmIyOTExN2E5NQ==")
    #expect(
      token.encoded
        == "eyJ0b2tlbklkIjoiNWY5N2FhNTVhYTU1YWE1NWFhNTVhYTU1IiwiaG9zdCI6IjE5Mi4xNjguOTQuODE6ODA4MCIsInNlY3VyZSI6dHJ1ZSwic2lnbmF0dXJlIjoiWlRWaE1EWXpNamhqTWpKa05EbGhNbUV4TUdReE56QTNNRFEzWVRoaU5tSXlPVEV4TjJFNU5RPT0iLCJlYXBvbGljeSI6IlRUTC1CRVNUIn0="
    )
  }
}

@Suite("Crypto")
struct CryptoTests {
  @Test func constantTimeEqual() {
    #expect(Crypto.constantTimeEqual(Array("abc".utf8), Array("abc".utf8)))
    #expect(!Crypto.constantTimeEqual(Array("abc".utf8), Array("abd".utf8)))
    #expect(!Crypto.constantTimeEqual(Array("abc".utf8), Array("ab".utf8)))
  }

  @Test func randomBytesDiffer() {
    #expect(Crypto.randomBytes(16) != Crypto.randomBytes(16))
    #expect(Crypto.randomBytes(24).count == 24)
  }
}
