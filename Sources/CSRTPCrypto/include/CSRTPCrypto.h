// Erizo's crypto for libsrtp2: AES-128 counter mode, AES-GCM (128 and 256) and HMAC-SHA1 on
// OpenSSL, plugged into libsrtp's crypto kernel in place of the ones the library was built with.
//
// Why: Debian's libsrtp2 is built on NSS, whose PK11 calls allocate on every packet (5 allocations
// per AES-GCM protect, 14 per AES-CM + HMAC-SHA1 one). These keep one OpenSSL context per key and
// only re-key the IV per packet, and run HMAC from precomputed SHA-1 pad states, so protecting and
// unprotecting allocate nothing. libsrtp keeps doing SRTP itself (key derivation, replay
// protection, rollover counters, packet layout); only the primitives change.
#ifndef ERIZO_CSRTPCRYPTO_H
#define ERIZO_CSRTPCRYPTO_H

/// Replaces libsrtp's AES-ICM-128, AES-GCM-128/256 and HMAC-SHA1 with erizo's. Call after
/// `srtp_init()` and before making sessions; once per process (later calls change nothing). Each
/// replacement must first pass libsrtp's self-test with its known-answer vectors (RFC 3711 B.2,
/// the GCM specification's test cases 4 and 16, RFC 2202); returns 0, or the libsrtp status of the
/// first one that did not (the library's own implementation then stays for it).
int erizo_srtp_crypto_install(void);

/// 1 when every replacement is installed.
int erizo_srtp_crypto_installed(void);

#endif
