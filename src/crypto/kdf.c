/*
 * kdf.c — SHA-256, HMAC-SHA256 and HKDF-SHA256 (RFC 5869) over libsodium.
 * Intermediate keys are wiped before return.
 */
#include "crypto/kdf.h"

#include <sodium.h>
#include <string.h>

void pl_sha256(uint8_t out[static PL_SHA256_LEN], const uint8_t *in, size_t n)
{
	crypto_hash_sha256(out, in, n);
}

void pl_hmac_sha256(uint8_t out[static PL_SHA256_LEN], const uint8_t *key, size_t keylen,
		    const uint8_t *in, size_t n)
{
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, key, keylen);
	crypto_auth_hmacsha256_update(&st, in, n);
	crypto_auth_hmacsha256_final(&st, out);
	sodium_memzero(&st, sizeof st);
}

int pl_hkdf_sha256(uint8_t *out, size_t outlen, const uint8_t *salt, size_t saltlen,
		   const uint8_t *ikm, size_t ikmlen, const uint8_t *info, size_t infolen)
{
	static const uint8_t zero_salt[PL_SHA256_LEN];
	uint8_t prk[PL_SHA256_LEN], t[PL_SHA256_LEN];
	crypto_auth_hmacsha256_state st;

	if (outlen > 255 * PL_SHA256_LEN)
		return -1;
	if (salt == NULL || saltlen == 0) {
		salt = zero_salt;
		saltlen = sizeof zero_salt;
	}
	pl_hmac_sha256(prk, salt, saltlen, ikm, ikmlen);

	size_t done = 0;
	for (uint8_t i = 1; done < outlen; i++) {
		crypto_auth_hmacsha256_init(&st, prk, sizeof prk);
		if (i > 1)
			crypto_auth_hmacsha256_update(&st, t, sizeof t);
		crypto_auth_hmacsha256_update(&st, info, infolen);
		crypto_auth_hmacsha256_update(&st, &i, 1);
		crypto_auth_hmacsha256_final(&st, t);
		size_t take = outlen - done < sizeof t ? outlen - done : sizeof t;
		memcpy(out + done, t, take);
		done += take;
	}
	sodium_memzero(&st, sizeof st);
	sodium_memzero(prk, sizeof prk);
	sodium_memzero(t, sizeof t);
	return 0;
}
