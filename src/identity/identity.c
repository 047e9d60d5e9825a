/*
 * identity.c — owns a party's Ed25519 identity key and everything derived
 * from a public identity key: its X25519 form, mailbox id, fingerprint and
 * the safety number of a pair (docs/PROTOCOL.md, "Identity").
 *
 * It must never accept a key that is not a canonical, prime-order Ed25519
 * point for DH, and never leave secret key material on the stack.
 *
 * The fingerprint is Signal's displayable-fingerprint algorithm (as in
 * libsignal's NumericFingerprintGenerator), so it is checked against
 * libsignal's published vectors; only the key and identifier differ.
 */
#include "identity/identity.h"

#include <sodium.h>
#include <string.h>

#define FP_DIGITS 30
#define FP_IDENT "parley ed25519 identity"
#define FP_ITERATIONS 5200
#define MAILBOX_TAG "parley mailbox v1"

int pl_identity_generate(pl_identity *id)
{
	if (crypto_sign_keypair(id->pk, id->sk) != 0) {
		sodium_memzero(id, sizeof *id);
		return -1;
	}
	return 0;
}

void pl_identity_wipe(pl_identity *id)
{
	sodium_memzero(id, sizeof *id);
}

int pl_identity_x25519(const pl_identity *id, uint8_t xsk[static PL_X25519_LEN],
		       uint8_t xpk[static PL_X25519_LEN])
{
	uint8_t tsk[PL_X25519_LEN], tpk[PL_X25519_LEN];

	if (crypto_sign_ed25519_pk_to_curve25519(tpk, id->pk) != 0 ||
	    crypto_sign_ed25519_sk_to_curve25519(tsk, id->sk) != 0) {
		sodium_memzero(tsk, sizeof tsk);
		return -1;
	}
	memcpy(xsk, tsk, sizeof tsk);
	memcpy(xpk, tpk, sizeof tpk);
	sodium_memzero(tsk, sizeof tsk);
	return 0;
}

int pl_ik_to_x25519(uint8_t xpk[static PL_X25519_LEN], const uint8_t ik[static PL_IK_LEN])
{
	uint8_t t[PL_X25519_LEN];

	if (crypto_core_ed25519_is_valid_point(ik) != 1 ||
	    crypto_sign_ed25519_pk_to_curve25519(t, ik) != 0)
		return -1;
	memcpy(xpk, t, sizeof t);
	return 0;
}

int pl_ik_validate(const uint8_t ik[static PL_IK_LEN])
{
	uint8_t x[PL_X25519_LEN];

	return pl_ik_to_x25519(x, ik);
}

void pl_mailbox_id(uint8_t out[static PL_MAILBOX_LEN], const uint8_t ik[static PL_IK_LEN])
{
	crypto_generichash_state st;

	crypto_generichash_init(&st, NULL, 0, PL_MAILBOX_LEN);
	crypto_generichash_update(&st, (const uint8_t *)MAILBOX_TAG, sizeof MAILBOX_TAG - 1);
	crypto_generichash_update(&st, ik, PL_IK_LEN);
	crypto_generichash_final(&st, out, PL_MAILBOX_LEN);
}

void pl_fingerprint_digits(char out[static 31], const uint8_t *key, size_t keylen,
			   const uint8_t *ident, size_t identlen, unsigned iterations)
{
	static const uint8_t version[2] = {0x00, 0x00};
	crypto_hash_sha512_state st;
	uint8_t h[crypto_hash_sha512_BYTES];
	const uint8_t *prev = NULL; /* NULL: h is still the unhashed prefix */

	/* libsignal starts from the bytes version ‖ key ‖ identifier (not their
	 * hash) and then hashes h ‖ key `iterations` times. */
	for (unsigned i = 0; i < iterations; i++) {
		crypto_hash_sha512_init(&st);
		if (prev == NULL) {
			crypto_hash_sha512_update(&st, version, sizeof version);
			crypto_hash_sha512_update(&st, key, keylen);
			crypto_hash_sha512_update(&st, ident, identlen);
		} else {
			crypto_hash_sha512_update(&st, h, sizeof h);
		}
		crypto_hash_sha512_update(&st, key, keylen);
		crypto_hash_sha512_final(&st, h);
		prev = h;
	}
	if (prev == NULL) {
		/* Zero iterations is not a fingerprint anyone uses; hash once so
		 * the output is still defined. */
		crypto_hash_sha512_init(&st);
		crypto_hash_sha512_update(&st, version, sizeof version);
		crypto_hash_sha512_update(&st, key, keylen);
		crypto_hash_sha512_update(&st, ident, identlen);
		crypto_hash_sha512_final(&st, h);
	}
	for (int g = 0; g < FP_DIGITS / 5; g++) {
		const uint8_t *c = h + 5 * g;
		uint64_t v = ((uint64_t)c[0] << 32) | ((uint64_t)c[1] << 24) |
			     ((uint64_t)c[2] << 16) | ((uint64_t)c[3] << 8) | (uint64_t)c[4];
		v %= 100000;
		for (int d = 4; d >= 0; d--) {
			out[5 * g + d] = (char)('0' + v % 10);
			v /= 10;
		}
	}
	out[FP_DIGITS] = '\0';
	sodium_memzero(&st, sizeof st);
}

static void fingerprint_raw(char out[static FP_DIGITS + 1], const uint8_t ik[static PL_IK_LEN])
{
	pl_fingerprint_digits(out, ik, PL_IK_LEN, (const uint8_t *)FP_IDENT, sizeof FP_IDENT - 1,
			      FP_ITERATIONS);
}

/* Writes the digits of `digits` in groups of 5 separated by single spaces. */
static void group_digits(char *out, const char *digits, size_t ndigits)
{
	size_t o = 0;

	for (size_t i = 0; i < ndigits; i++) {
		if (i > 0 && i % 5 == 0)
			out[o++] = ' ';
		out[o++] = digits[i];
	}
	out[o] = '\0';
}

void pl_fingerprint(char out[static PL_FINGERPRINT_LEN], const uint8_t ik[static PL_IK_LEN])
{
	char d[FP_DIGITS + 1];

	fingerprint_raw(d, ik);
	group_digits(out, d, FP_DIGITS);
}

/* The 60 digits of the safety number of a and b, no spaces. */
static void safety_digits(char out[static 2 * FP_DIGITS + 1], const uint8_t a[static PL_IK_LEN],
			  const uint8_t b[static PL_IK_LEN])
{
	char da[FP_DIGITS + 1], db[FP_DIGITS + 1];

	fingerprint_raw(da, a);
	fingerprint_raw(db, b);
	if (strcmp(da, db) <= 0) {
		memcpy(out, da, FP_DIGITS);
		memcpy(out + FP_DIGITS, db, FP_DIGITS);
	} else {
		memcpy(out, db, FP_DIGITS);
		memcpy(out + FP_DIGITS, da, FP_DIGITS);
	}
	out[2 * FP_DIGITS] = '\0';
}

void pl_safety_number(char out[static PL_SAFETY_LEN], const uint8_t a[static PL_IK_LEN],
		      const uint8_t b[static PL_IK_LEN])
{
	char d[2 * FP_DIGITS + 1];

	safety_digits(d, a, b);
	group_digits(out, d, 2 * FP_DIGITS);
}

int pl_safety_number_check(const char *given, const uint8_t a[static PL_IK_LEN],
			   const uint8_t b[static PL_IK_LEN])
{
	char want[2 * FP_DIGITS + 1], got[2 * FP_DIGITS + 1];
	size_t n = 0;

	if (given == NULL)
		return -1;
	for (const char *p = given; *p != '\0'; p++) {
		if (*p == ' ')
			continue;
		if (n == 2 * FP_DIGITS)
			return -1; /* too long */
		got[n++] = *p;
	}
	if (n != 2 * FP_DIGITS)
		return -1;
	safety_digits(want, a, b);
	return sodium_memcmp(want, got, 2 * FP_DIGITS) == 0 ? 0 : -1;
}
