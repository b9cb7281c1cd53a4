import CMongoC
import COpenSSL
import CRabbitMQ
import CSRTP
import Testing

/// The four system libraries link and answer from Swift, through their shims.
@Suite("System libraries")
struct SystemLibrariesTests {
  @Test func openSSLIsVersion3WithDTLS() throws {
    #expect(OpenSSL_version_num() >= 0x3000_0000)
    let context = try #require(SSL_CTX_new(DTLS_method()))
    defer { SSL_CTX_free(context) }
    #expect(erizo_SSL_CTX_set_min_proto_version(context, erizo_DTLS1_2_VERSION()) == 1)
    let ssl = try #require(SSL_new(context))
    defer { SSL_free(ssl) }
    #expect(erizo_DTLS_set_link_mtu(ssl, 1200) == 1)
  }

  /// Only the version: initialising libsrtp here would race the SRTP sessions other suites make in
  /// this process (MediaWorker's SrtpSession initialises it once and tests protect/unprotect).
  @Test func libsrtpIsVersion2() {
    let version = String(cString: srtp_get_version_string())
    #expect(version.contains("2."))
  }

  @Test func libmongocBuildsBSON() {
    mongoc_init()
    let document = bson_new()
    defer { bson_destroy(document) }
    #expect(bson_append_utf8(document, "name", -1, "superService", -1))
    #expect(bson_count_keys(document) == 1)
    #expect(String(cString: mongoc_get_version()).hasPrefix("1."))
  }

  @Test func rabbitmqCReportsItsVersion() {
    #expect(String(cString: amqp_version()).hasPrefix("0."))
  }
}
