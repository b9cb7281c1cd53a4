// See include/CSRTPCrypto.h. The libsrtp 2.x contracts implemented here:
// - a cipher's `alloc` makes one block holding the srtp_cipher_t and its state, and sets the type,
//   the algorithm id (libsrtp picks the AEAD path by it) and the key length (key + salt);
// - AES-ICM: `init` gets key || 14-byte salt, `set_iv` gets a 16-byte block that is XORed with
//   salt || 0000 to make the first counter, `encrypt` XORs the keystream that follows (several calls
//   continue it: key derivation uses that);
// - AES-GCM: `init` gets the key (the salt after it is libsrtp's business), `set_iv` a 12-byte IV
//   and the direction, then AAD (possibly in pieces), then data; `get_tag` finishes an encryption;
//   `decrypt` gets the ciphertext with its tag at the end and fails on a bad tag;
// - HMAC-SHA1: `start` begins a MAC, `update` adds data, `compute` adds the last data and writes
//   the first `tag_len` bytes of the MAC.
#define OPENSSL_SUPPRESS_DEPRECATED  // SHA1_Init & co.: a SHA_CTX is copied without allocating
#include "CSRTPCrypto.h"

#include <openssl/evp.h>
#include <openssl/sha.h>
#include <srtp2/auth.h>
#include <srtp2/cipher.h>
#include <srtp2/srtp.h>
#include <stdlib.h>
#include <string.h>

#define ICM_KEY_LENGTH 16
#define ICM_SALT_LENGTH 14
#define GCM_SALT_LENGTH 12
#define GCM_IV_LENGTH 12
#define SHA1_BLOCK 64
#define SHA1_LENGTH 20

// MARK: AES-128 integer counter mode

typedef struct {
  EVP_CIPHER_CTX *context;
  uint8_t offset[16];  // salt || 0000
  uint8_t counter[16];
} icm_state;

extern const srtp_cipher_type_t erizo_aes_icm_128;

static srtp_err_status_t icm_alloc(srtp_cipher_t **result, int key_length, int tag_length) {
  (void)tag_length;
  if (key_length != ICM_KEY_LENGTH + ICM_SALT_LENGTH) return srtp_err_status_bad_param;
  srtp_cipher_t *cipher = calloc(1, sizeof(srtp_cipher_t) + sizeof(icm_state));
  if (cipher == NULL) return srtp_err_status_alloc_fail;
  icm_state *state = (icm_state *)(cipher + 1);
  state->context = EVP_CIPHER_CTX_new();
  if (state->context == NULL) {
    free(cipher);
    return srtp_err_status_alloc_fail;
  }
  cipher->type = &erizo_aes_icm_128;
  cipher->state = state;
  cipher->key_len = key_length;
  cipher->algorithm = SRTP_AES_ICM_128;
  *result = cipher;
  return srtp_err_status_ok;
}

static srtp_err_status_t icm_dealloc(srtp_cipher_t *cipher) {
  if (cipher == NULL) return srtp_err_status_bad_param;
  icm_state *state = cipher->state;
  EVP_CIPHER_CTX_free(state->context);
  OPENSSL_cleanse(cipher, sizeof(srtp_cipher_t) + sizeof(icm_state));
  free(cipher);
  return srtp_err_status_ok;
}

static srtp_err_status_t icm_init(void *raw, const uint8_t *key) {
  icm_state *state = raw;
  memset(state->offset, 0, sizeof state->offset);
  memcpy(state->offset, key + ICM_KEY_LENGTH, ICM_SALT_LENGTH);
  memcpy(state->counter, state->offset, sizeof state->counter);
  // The key is set once here; `set_iv` only moves the counter, which allocates nothing.
  if (EVP_EncryptInit_ex(state->context, EVP_aes_128_ctr(), NULL, key, state->counter) != 1) {
    return srtp_err_status_init_fail;
  }
  return srtp_err_status_ok;
}

static srtp_err_status_t icm_set_iv(void *raw, uint8_t *iv, srtp_cipher_direction_t direction) {
  (void)direction;
  icm_state *state = raw;
  for (int index = 0; index < 16; index++) state->counter[index] = state->offset[index] ^ iv[index];
  if (EVP_EncryptInit_ex(state->context, NULL, NULL, NULL, state->counter) != 1) return srtp_err_status_fail;
  return srtp_err_status_ok;
}

static srtp_err_status_t icm_encrypt(void *raw, uint8_t *buffer, unsigned int *length) {
  icm_state *state = raw;
  int written = 0;
  if (*length > (unsigned int)INT32_MAX) return srtp_err_status_bad_param;
  if (EVP_EncryptUpdate(state->context, buffer, &written, buffer, (int)*length) != 1) {
    return srtp_err_status_cipher_fail;
  }
  *length = (unsigned int)written;
  return srtp_err_status_ok;
}

// RFC 3711 B.2: session key, salt, and the first 32 keystream bytes at index 0.
static const uint8_t icm_test_key[ICM_KEY_LENGTH + ICM_SALT_LENGTH] = {
  0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6, 0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c,
  0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd,
};
static uint8_t icm_test_index[16];
static const uint8_t icm_test_zeros[32];
static const uint8_t icm_test_keystream[32] = {
  0xe0, 0x3e, 0xad, 0x09, 0x35, 0xc9, 0x5e, 0x80, 0xe1, 0x66, 0xb1, 0x6d, 0xd9, 0x2b, 0x4e, 0xb4,
  0xd2, 0x35, 0x13, 0x16, 0x2b, 0x02, 0xd0, 0xf7, 0x2a, 0x43, 0xa2, 0xfe, 0x4a, 0x5f, 0x97, 0xab,
};
static const srtp_cipher_test_case_t icm_test = {
  .key_length_octets = sizeof icm_test_key,
  .key = icm_test_key,
  .idx = icm_test_index,
  .plaintext_length_octets = sizeof icm_test_zeros,
  .plaintext = icm_test_zeros,
  .ciphertext_length_octets = sizeof icm_test_keystream,
  .ciphertext = icm_test_keystream,
};

const srtp_cipher_type_t erizo_aes_icm_128 = {
  .alloc = icm_alloc,
  .dealloc = icm_dealloc,
  .init = icm_init,
  .encrypt = icm_encrypt,
  .decrypt = icm_encrypt,
  .set_iv = icm_set_iv,
  .description = "AES-128 counter mode (erizo, OpenSSL EVP)",
  .test_data = &icm_test,
  .id = SRTP_AES_ICM_128,
};

// MARK: AES-GCM

typedef struct {
  EVP_CIPHER_CTX *context;
  int key_size;
  int tag_length;
  int encrypting;
} gcm_state;

extern const srtp_cipher_type_t erizo_aes_gcm_128;
extern const srtp_cipher_type_t erizo_aes_gcm_256;

static srtp_err_status_t gcm_alloc(srtp_cipher_t **result, int key_length, int tag_length) {
  int key_size = key_length - GCM_SALT_LENGTH;
  if (key_size != 16 && key_size != 32) return srtp_err_status_bad_param;
  if (tag_length != 8 && tag_length != 16) return srtp_err_status_bad_param;
  srtp_cipher_t *cipher = calloc(1, sizeof(srtp_cipher_t) + sizeof(gcm_state));
  if (cipher == NULL) return srtp_err_status_alloc_fail;
  gcm_state *state = (gcm_state *)(cipher + 1);
  state->context = EVP_CIPHER_CTX_new();
  if (state->context == NULL) {
    free(cipher);
    return srtp_err_status_alloc_fail;
  }
  state->key_size = key_size;
  state->tag_length = tag_length;
  cipher->type = key_size == 16 ? &erizo_aes_gcm_128 : &erizo_aes_gcm_256;
  cipher->state = state;
  cipher->key_len = key_length;
  cipher->algorithm = key_size == 16 ? SRTP_AES_GCM_128 : SRTP_AES_GCM_256;
  *result = cipher;
  return srtp_err_status_ok;
}

static srtp_err_status_t gcm_dealloc(srtp_cipher_t *cipher) {
  if (cipher == NULL) return srtp_err_status_bad_param;
  gcm_state *state = cipher->state;
  EVP_CIPHER_CTX_free(state->context);
  OPENSSL_cleanse(cipher, sizeof(srtp_cipher_t) + sizeof(gcm_state));
  free(cipher);
  return srtp_err_status_ok;
}

static srtp_err_status_t gcm_init(void *raw, const uint8_t *key) {
  gcm_state *state = raw;
  const EVP_CIPHER *algorithm = state->key_size == 16 ? EVP_aes_128_gcm() : EVP_aes_256_gcm();
  if (EVP_CipherInit_ex(state->context, algorithm, NULL, key, NULL, 1) != 1) return srtp_err_status_init_fail;
  return srtp_err_status_ok;
}

static srtp_err_status_t gcm_set_iv(void *raw, uint8_t *iv, srtp_cipher_direction_t direction) {
  gcm_state *state = raw;
  if (direction != srtp_direction_encrypt && direction != srtp_direction_decrypt) return srtp_err_status_bad_param;
  state->encrypting = direction == srtp_direction_encrypt;
  // Same key and algorithm: only the IV and direction change, which allocates nothing.
  if (EVP_CipherInit_ex(state->context, NULL, NULL, NULL, iv, state->encrypting) != 1) return srtp_err_status_fail;
  return srtp_err_status_ok;
}

static srtp_err_status_t gcm_set_aad(void *raw, const uint8_t *aad, uint32_t length) {
  gcm_state *state = raw;
  int written = 0;
  if (length > (uint32_t)INT32_MAX) return srtp_err_status_bad_param;
  if (EVP_CipherUpdate(state->context, NULL, &written, aad, (int)length) != 1) return srtp_err_status_algo_fail;
  return srtp_err_status_ok;
}

static srtp_err_status_t gcm_encrypt(void *raw, uint8_t *buffer, unsigned int *length) {
  gcm_state *state = raw;
  int written = 0;
  if (!state->encrypting || *length > (unsigned int)INT32_MAX) return srtp_err_status_bad_param;
  if (EVP_CipherUpdate(state->context, buffer, &written, buffer, (int)*length) != 1) {
    return srtp_err_status_cipher_fail;
  }
  *length = (unsigned int)written;
  return srtp_err_status_ok;
}

static srtp_err_status_t gcm_get_tag(void *raw, uint8_t *tag, uint32_t *length) {
  gcm_state *state = raw;
  uint8_t unused[16];
  int written = 0;
  if (!state->encrypting) return srtp_err_status_bad_param;
  if (EVP_CipherFinal_ex(state->context, unused, &written) != 1) return srtp_err_status_algo_fail;
  if (EVP_CIPHER_CTX_ctrl(state->context, EVP_CTRL_GCM_GET_TAG, state->tag_length, tag) != 1) {
    return srtp_err_status_algo_fail;
  }
  *length = (uint32_t)state->tag_length;
  return srtp_err_status_ok;
}

static srtp_err_status_t gcm_decrypt(void *raw, uint8_t *buffer, unsigned int *length) {
  gcm_state *state = raw;
  uint8_t unused[16];
  int written = 0;
  int final = 0;
  if (state->encrypting || *length < (unsigned int)state->tag_length || *length > (unsigned int)INT32_MAX) {
    return srtp_err_status_bad_param;
  }
  int data = (int)*length - state->tag_length;
  if (EVP_CIPHER_CTX_ctrl(state->context, EVP_CTRL_GCM_SET_TAG, state->tag_length, buffer + data) != 1) {
    return srtp_err_status_auth_fail;
  }
  if (EVP_CipherUpdate(state->context, buffer, &written, buffer, data) != 1) return srtp_err_status_cipher_fail;
  if (EVP_CipherFinal_ex(state->context, unused, &final) != 1) return srtp_err_status_auth_fail;
  *length = (unsigned int)data;
  return srtp_err_status_ok;
}

// The GCM specification's (McGrew and Viega) test cases 4 (AES-128) and 16 (AES-256): 96-bit IV,
// 20 bytes of AAD, 60 bytes of text. libsrtp's key buffers carry the 12-byte salt after the key.
static const uint8_t gcm_test_key_128[16 + GCM_SALT_LENGTH] = {
  0xfe, 0xff, 0xe9, 0x92, 0x86, 0x65, 0x73, 0x1c, 0x6d, 0x6a, 0x8f, 0x94, 0x67, 0x30, 0x83, 0x08,
};
static const uint8_t gcm_test_key_256[32 + GCM_SALT_LENGTH] = {
  0xfe, 0xff, 0xe9, 0x92, 0x86, 0x65, 0x73, 0x1c, 0x6d, 0x6a, 0x8f, 0x94, 0x67, 0x30, 0x83, 0x08,
  0xfe, 0xff, 0xe9, 0x92, 0x86, 0x65, 0x73, 0x1c, 0x6d, 0x6a, 0x8f, 0x94, 0x67, 0x30, 0x83, 0x08,
};
static uint8_t gcm_test_iv[GCM_IV_LENGTH] = {0xca, 0xfe, 0xba, 0xbe, 0xfa, 0xce, 0xdb, 0xad, 0xde, 0xca, 0xf8, 0x88};
static const uint8_t gcm_test_aad[20] = {
  0xfe, 0xed, 0xfa, 0xce, 0xde, 0xad, 0xbe, 0xef, 0xfe, 0xed, 0xfa, 0xce, 0xde, 0xad, 0xbe, 0xef,
  0xab, 0xad, 0xda, 0xd2,
};
static const uint8_t gcm_test_plaintext[60] = {
  0xd9, 0x31, 0x32, 0x25, 0xf8, 0x84, 0x06, 0xe5, 0xa5, 0x59, 0x09, 0xc5, 0xaf, 0xf5, 0x26, 0x9a,
  0x86, 0xa7, 0xa9, 0x53, 0x15, 0x34, 0xf7, 0xda, 0x2e, 0x4c, 0x30, 0x3d, 0x8a, 0x31, 0x8a, 0x72,
  0x1c, 0x3c, 0x0c, 0x95, 0x95, 0x68, 0x09, 0x53, 0x2f, 0xcf, 0x0e, 0x24, 0x49, 0xa6, 0xb5, 0x25,
  0xb1, 0x6a, 0xed, 0xf5, 0xaa, 0x0d, 0xe6, 0x57, 0xba, 0x63, 0x7b, 0x39,
};
// Ciphertext followed by the 16-byte tag.
static const uint8_t gcm_test_ciphertext_128[76] = {
  0x42, 0x83, 0x1e, 0xc2, 0x21, 0x77, 0x74, 0x24, 0x4b, 0x72, 0x21, 0xb7, 0x84, 0xd0, 0xd4, 0x9c,
  0xe3, 0xaa, 0x21, 0x2f, 0x2c, 0x02, 0xa4, 0xe0, 0x35, 0xc1, 0x7e, 0x23, 0x29, 0xac, 0xa1, 0x2e,
  0x21, 0xd5, 0x14, 0xb2, 0x54, 0x66, 0x93, 0x1c, 0x7d, 0x8f, 0x6a, 0x5a, 0xac, 0x84, 0xaa, 0x05,
  0x1b, 0xa3, 0x0b, 0x39, 0x6a, 0x0a, 0xac, 0x97, 0x3d, 0x58, 0xe0, 0x91, 0x5b, 0xc9, 0x4f, 0xbc,
  0x32, 0x21, 0xa5, 0xdb, 0x94, 0xfa, 0xe9, 0x5a, 0xe7, 0x12, 0x1a, 0x47,
};
static const uint8_t gcm_test_ciphertext_256[76] = {
  0x52, 0x2d, 0xc1, 0xf0, 0x99, 0x56, 0x7d, 0x07, 0xf4, 0x7f, 0x37, 0xa3, 0x2a, 0x84, 0x42, 0x7d,
  0x64, 0x3a, 0x8c, 0xdc, 0xbf, 0xe5, 0xc0, 0xc9, 0x75, 0x98, 0xa2, 0xbd, 0x25, 0x55, 0xd1, 0xaa,
  0x8c, 0xb0, 0x8e, 0x48, 0x59, 0x0d, 0xbb, 0x3d, 0xa7, 0xb0, 0x8b, 0x10, 0x56, 0x82, 0x88, 0x38,
  0xc5, 0xf6, 0x1e, 0x63, 0x93, 0xba, 0x7a, 0x0a, 0xbc, 0xc9, 0xf6, 0x62, 0x76, 0xfc, 0x6e, 0xce,
  0x0f, 0x4e, 0x17, 0x68, 0xcd, 0xdf, 0x88, 0x53, 0xbb, 0x2d, 0x55, 0x1b,
};
static const srtp_cipher_test_case_t gcm_test_128 = {
  .key_length_octets = sizeof gcm_test_key_128,
  .key = gcm_test_key_128,
  .idx = gcm_test_iv,
  .plaintext_length_octets = sizeof gcm_test_plaintext,
  .plaintext = gcm_test_plaintext,
  .ciphertext_length_octets = sizeof gcm_test_ciphertext_128,
  .ciphertext = gcm_test_ciphertext_128,
  .aad_length_octets = sizeof gcm_test_aad,
  .aad = gcm_test_aad,
  .tag_length_octets = 16,
};
static const srtp_cipher_test_case_t gcm_test_256 = {
  .key_length_octets = sizeof gcm_test_key_256,
  .key = gcm_test_key_256,
  .idx = gcm_test_iv,
  .plaintext_length_octets = sizeof gcm_test_plaintext,
  .plaintext = gcm_test_plaintext,
  .ciphertext_length_octets = sizeof gcm_test_ciphertext_256,
  .ciphertext = gcm_test_ciphertext_256,
  .aad_length_octets = sizeof gcm_test_aad,
  .aad = gcm_test_aad,
  .tag_length_octets = 16,
};

const srtp_cipher_type_t erizo_aes_gcm_128 = {
  .alloc = gcm_alloc,
  .dealloc = gcm_dealloc,
  .init = gcm_init,
  .set_aad = gcm_set_aad,
  .encrypt = gcm_encrypt,
  .decrypt = gcm_decrypt,
  .set_iv = gcm_set_iv,
  .get_tag = gcm_get_tag,
  .description = "AES-128 GCM (erizo, OpenSSL EVP)",
  .test_data = &gcm_test_128,
  .id = SRTP_AES_GCM_128,
};

const srtp_cipher_type_t erizo_aes_gcm_256 = {
  .alloc = gcm_alloc,
  .dealloc = gcm_dealloc,
  .init = gcm_init,
  .set_aad = gcm_set_aad,
  .encrypt = gcm_encrypt,
  .decrypt = gcm_decrypt,
  .set_iv = gcm_set_iv,
  .get_tag = gcm_get_tag,
  .description = "AES-256 GCM (erizo, OpenSSL EVP)",
  .test_data = &gcm_test_256,
  .id = SRTP_AES_GCM_256,
};

// MARK: HMAC-SHA1 (RFC 2104)

typedef struct {
  SHA_CTX inner;  // after key ^ ipad
  SHA_CTX outer;  // after key ^ opad
  SHA_CTX running;
} hmac_state;

extern const srtp_auth_type_t erizo_hmac_sha1;

static srtp_err_status_t hmac_alloc(srtp_auth_t **result, int key_length, int tag_length) {
  if (key_length < 0 || key_length > SHA1_BLOCK || tag_length < 0 || tag_length > SHA1_LENGTH) {
    return srtp_err_status_bad_param;
  }
  srtp_auth_t *auth = calloc(1, sizeof(srtp_auth_t) + sizeof(hmac_state));
  if (auth == NULL) return srtp_err_status_alloc_fail;
  auth->type = &erizo_hmac_sha1;
  auth->state = auth + 1;
  auth->out_len = tag_length;
  auth->key_len = key_length;
  auth->prefix_len = 0;
  *result = auth;
  return srtp_err_status_ok;
}

static srtp_err_status_t hmac_dealloc(srtp_auth_t *auth) {
  if (auth == NULL) return srtp_err_status_bad_param;
  OPENSSL_cleanse(auth, sizeof(srtp_auth_t) + sizeof(hmac_state));
  free(auth);
  return srtp_err_status_ok;
}

static srtp_err_status_t hmac_init(void *raw, const uint8_t *key, int key_length) {
  hmac_state *state = raw;
  uint8_t inner_pad[SHA1_BLOCK];
  uint8_t outer_pad[SHA1_BLOCK];
  if (key_length < 0 || key_length > SHA1_BLOCK) return srtp_err_status_bad_param;
  for (int index = 0; index < SHA1_BLOCK; index++) {
    uint8_t byte = index < key_length ? key[index] : 0;
    inner_pad[index] = byte ^ 0x36;
    outer_pad[index] = byte ^ 0x5c;
  }
  if (SHA1_Init(&state->inner) != 1 || SHA1_Update(&state->inner, inner_pad, SHA1_BLOCK) != 1
      || SHA1_Init(&state->outer) != 1 || SHA1_Update(&state->outer, outer_pad, SHA1_BLOCK) != 1) {
    return srtp_err_status_init_fail;
  }
  OPENSSL_cleanse(inner_pad, sizeof inner_pad);
  OPENSSL_cleanse(outer_pad, sizeof outer_pad);
  state->running = state->inner;
  return srtp_err_status_ok;
}

static srtp_err_status_t hmac_start(void *raw) {
  hmac_state *state = raw;
  state->running = state->inner;
  return srtp_err_status_ok;
}

static srtp_err_status_t hmac_update(void *raw, const uint8_t *message, int length) {
  hmac_state *state = raw;
  if (length < 0) return srtp_err_status_bad_param;
  if (SHA1_Update(&state->running, message, (size_t)length) != 1) return srtp_err_status_auth_fail;
  return srtp_err_status_ok;
}

static srtp_err_status_t hmac_compute(void *raw, const uint8_t *message, int length, int tag_length, uint8_t *result) {
  hmac_state *state = raw;
  uint8_t digest[SHA1_LENGTH];
  if (length < 0 || tag_length < 0 || tag_length > SHA1_LENGTH) return srtp_err_status_bad_param;
  if (SHA1_Update(&state->running, message, (size_t)length) != 1 || SHA1_Final(digest, &state->running) != 1) {
    return srtp_err_status_auth_fail;
  }
  SHA_CTX outer = state->outer;
  if (SHA1_Update(&outer, digest, SHA1_LENGTH) != 1 || SHA1_Final(digest, &outer) != 1) {
    return srtp_err_status_auth_fail;
  }
  memcpy(result, digest, (size_t)tag_length);
  return srtp_err_status_ok;
}

// RFC 2202, test case 1.
static const uint8_t hmac_test_key[20] = {
  0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b, 0x0b,
  0x0b, 0x0b, 0x0b, 0x0b,
};
static const uint8_t hmac_test_data[8] = {'H', 'i', ' ', 'T', 'h', 'e', 'r', 'e'};
static const uint8_t hmac_test_tag[20] = {
  0xb6, 0x17, 0x31, 0x86, 0x55, 0x05, 0x72, 0x64, 0xe2, 0x8b, 0xc0, 0xb6, 0xfb, 0x37, 0x8c, 0x8e,
  0xf1, 0x46, 0xbe, 0x00,
};
static const srtp_auth_test_case_t hmac_test = {
  .key_length_octets = sizeof hmac_test_key,
  .key = hmac_test_key,
  .data_length_octets = sizeof hmac_test_data,
  .data = hmac_test_data,
  .tag_length_octets = sizeof hmac_test_tag,
  .tag = hmac_test_tag,
};

const srtp_auth_type_t erizo_hmac_sha1 = {
  .alloc = hmac_alloc,
  .dealloc = hmac_dealloc,
  .init = hmac_init,
  .compute = hmac_compute,
  .update = hmac_update,
  .start = hmac_start,
  .description = "HMAC-SHA1 (erizo, OpenSSL SHA-1 with precomputed pads)",
  .test_data = &hmac_test,
  .id = SRTP_HMAC_SHA1,
};

// MARK: installing

static int installed = 0;

int erizo_srtp_crypto_install(void) {
  if (installed) return srtp_err_status_ok;
  srtp_err_status_t status = srtp_replace_cipher_type(&erizo_aes_icm_128, SRTP_AES_ICM_128);
  if (status == srtp_err_status_ok) status = srtp_replace_cipher_type(&erizo_aes_gcm_128, SRTP_AES_GCM_128);
  if (status == srtp_err_status_ok) status = srtp_replace_cipher_type(&erizo_aes_gcm_256, SRTP_AES_GCM_256);
  if (status == srtp_err_status_ok) status = srtp_replace_auth_type(&erizo_hmac_sha1, SRTP_HMAC_SHA1);
  if (status == srtp_err_status_ok) installed = 1;
  return (int)status;
}

int erizo_srtp_crypto_installed(void) { return installed; }
