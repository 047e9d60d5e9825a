/*
 * kdf.h — the KDFs parley builds from libsodium: SHA-256, HMAC-SHA256 and
 * HKDF-SHA256 (RFC 5869). Nothing here is a new primitive; libsodium 1.0.18
 * has HMAC-SHA256 but not HKDF, so HKDF is written on top of it.
 */
#ifndef PARLEY_CRYPTO_KDF_H
#define PARLEY_CRYPTO_KDF_H

#include <stddef.h>
#include <stdint.h>

#define PL_SHA256_LEN 32

void pl_sha256(uint8_t out[static PL_SHA256_LEN], const uint8_t *in, size_t n);
void pl_hmac_sha256(uint8_t out[static PL_SHA256_LEN], const uint8_t *key, size_t keylen,
		    const uint8_t *in, size_t n);
/* RFC 5869; outlen <= 255*32. salt may be NULL (= 32 zero bytes). 0 or -1. */
int pl_hkdf_sha256(uint8_t *out, size_t outlen, const uint8_t *salt, size_t saltlen,
		   const uint8_t *ikm, size_t ikmlen, const uint8_t *info, size_t infolen);

#endif
