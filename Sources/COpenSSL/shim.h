// OpenSSL 3 as Swift sees it. Function-like macros are wrapped as prefixed static inline functions.
#ifndef ERIZO_COPENSSL_SHIM_H
#define ERIZO_COPENSSL_SHIM_H

#include <openssl/bio.h>
#include <openssl/ec.h>
#include <openssl/srtp.h>
#include <openssl/x509v3.h>
#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/opensslv.h>
#include <openssl/rand.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

static inline long erizo_DTLSv1_get_timeout(SSL *ssl, struct timeval *tv) { return DTLSv1_get_timeout(ssl, tv); }
static inline long erizo_DTLSv1_handle_timeout(SSL *ssl) { return DTLSv1_handle_timeout(ssl); }
static inline long erizo_DTLS_set_link_mtu(SSL *ssl, long mtu) { return DTLS_set_link_mtu(ssl, mtu); }
static inline long erizo_SSL_set_mtu(SSL *ssl, long mtu) { return SSL_set_mtu(ssl, mtu); }
static inline size_t erizo_BIO_ctrl_pending(BIO *bio) { return BIO_ctrl_pending(bio); }
static inline long erizo_BIO_set_mem_eof_return(BIO *bio, long value) { return BIO_set_mem_eof_return(bio, value); }
static inline int erizo_SSL_CTX_set_min_proto_version(SSL_CTX *ctx, int version) {
  return (int)SSL_CTX_set_min_proto_version(ctx, version);
}
static inline uint64_t erizo_SSL_OP_NO_QUERY_MTU(void) { return SSL_OP_NO_QUERY_MTU; }
static inline uint64_t erizo_SSL_OP_NO_TICKET(void) { return SSL_OP_NO_TICKET; }
static inline uint64_t erizo_SSL_OP_CIPHER_SERVER_PREFERENCE(void) { return SSL_OP_CIPHER_SERVER_PREFERENCE; }
static inline uint64_t erizo_SSL_OP_SINGLE_ECDH_USE(void) { return SSL_OP_SINGLE_ECDH_USE; }
static inline int erizo_DTLS1_2_VERSION(void) { return DTLS1_2_VERSION; }
static inline long erizo_SSL_CTX_disable_session_cache(SSL_CTX *ctx) {
  return SSL_CTX_set_session_cache_mode(ctx, SSL_SESS_CACHE_OFF);
}
static inline long erizo_SSL_CTX_set_read_ahead(SSL_CTX *ctx, long on) { return SSL_CTX_set_read_ahead(ctx, on); }

/* The peer must present a certificate, but no chain is verified: WebRTC checks the certificate's
   fingerprint against the one signalled instead (RFC 8122). */
static int erizo_accept_any_certificate(int preverify, X509_STORE_CTX *store) {
  (void)preverify;
  (void)store;
  return 1;
}
static inline void erizo_SSL_CTX_require_peer_certificate(SSL_CTX *ctx) {
  SSL_CTX_set_verify(ctx, SSL_VERIFY_PEER | SSL_VERIFY_FAIL_IF_NO_PEER_CERT, erizo_accept_any_certificate);
}

/* DTLS retransmission: 100 ms first, doubling, at most 4 s (OpenSSL's default starts at 1 s). */
static unsigned int erizo_dtls_timer(SSL *ssl, unsigned int previous_us) {
  (void)ssl;
  if (previous_us == 0) return 100000;
  unsigned int next = previous_us * 2;
  return next > 4000000 ? 4000000 : next;
}
static inline void erizo_SSL_use_fast_dtls_timer(SSL *ssl) { DTLS_set_timer_cb(ssl, erizo_dtls_timer); }

/* A self-signed EC P-256 certificate as mediasoup makes one: X.509 v3, random serial, valid from ten
   years ago to ten years ahead, CN `mediasoup<6 digits>`, signed with SHA-256. Returns 1 on success. */
static inline int erizo_generate_certificate(EVP_PKEY **key_out, X509 **cert_out, const char *common_name) {
  EVP_PKEY *key = NULL;
  X509 *cert = NULL;
  EVP_PKEY_CTX *kctx = EVP_PKEY_CTX_new_id(EVP_PKEY_EC, NULL);
  if (!kctx) return 0;
  if (EVP_PKEY_keygen_init(kctx) <= 0 || EVP_PKEY_CTX_set_ec_paramgen_curve_nid(kctx, NID_X9_62_prime256v1) <= 0 ||
      EVP_PKEY_keygen(kctx, &key) <= 0) {
    EVP_PKEY_CTX_free(kctx);
    return 0;
  }
  EVP_PKEY_CTX_free(kctx);
  cert = X509_new();
  if (!cert) goto fail;
  unsigned char serial[8];
  if (RAND_bytes(serial, sizeof serial) != 1) goto fail;
  serial[0] &= 0x7f;
  BIGNUM *number = BN_bin2bn(serial, sizeof serial, NULL);
  if (!number || !BN_to_ASN1_INTEGER(number, X509_get_serialNumber(cert))) {
    BN_free(number);
    goto fail;
  }
  BN_free(number);
  if (X509_set_version(cert, 2) != 1) goto fail;
  X509_gmtime_adj(X509_getm_notBefore(cert), -315360000L);
  X509_gmtime_adj(X509_getm_notAfter(cert), 315360000L);
  if (X509_set_pubkey(cert, key) != 1) goto fail;
  X509_NAME *name = X509_get_subject_name(cert);
  if (X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC, (const unsigned char *)common_name, -1, -1, 0) != 1)
    goto fail;
  if (X509_set_issuer_name(cert, name) != 1) goto fail;
  if (X509_sign(cert, key, EVP_sha256()) <= 0) goto fail;
  *key_out = key;
  *cert_out = cert;
  return 1;
fail:
  X509_free(cert);
  EVP_PKEY_free(key);
  return 0;
}

#endif
