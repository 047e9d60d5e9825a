/*
 * grant.c — derives grant locators and keys and seals/opens the token
 * (see grant.h and docs/PROTOCOL.md, "Access tokens").
 *
 * It owns the two HKDF labels and the blob layout. It must never use an
 * all-zero DH output, never return a token that did not authenticate, and
 * never leave the shared secret, derived key or token on the stack.
 */
#include "client/grant.h"

#include <sodium.h>
#include <string.h>

#include "crypto/kdf.h"

#define LOCATOR_INFO "parley grant locator v1"
#define KEY_INFO "parley grant key v1"
#define INFO_MAX (sizeof LOCATOR_INFO - 1 + PL_IK_LEN)

_Static_assert(PL_GRANT_NONCE_LEN == crypto_aead_xchacha20poly1305_ietf_NPUBBYTES, "nonce");
_Static_assert(PL_GRANT_TAG_LEN == crypto_aead_xchacha20poly1305_ietf_ABYTES, "tag");
_Static_assert(sizeof KEY_INFO <= sizeof LOCATOR_INFO, "info buffer");
_Static_assert(PL_GRANT_BLOB_LEN <= PL_PROTO_GRANT_BLOB_MAX, "blob fits a grant body");

/* X25519(my secret, peer's X25519 public); -1 on a bad key or zero output. */
static int grant_dh(uint8_t dh[static PL_X25519_LEN], const pl_identity *me,
		    const uint8_t peer_ik[static PL_IK_LEN])
{
	uint8_t xsk[PL_X25519_LEN], xpk[PL_X25519_LEN], peer_x[PL_X25519_LEN];
	int rc = -1;

	if (pl_ik_to_x25519(peer_x, peer_ik) == 0 && pl_identity_x25519(me, xsk, xpk) == 0 &&
	    crypto_scalarmult(dh, xsk, peer_x) == 0)
		rc = 0;
	sodium_memzero(xsk, sizeof xsk);
	if (rc != 0)
		sodium_memzero(dh, PL_X25519_LEN);
	return rc;
}

/* HKDF(salt = 32 zero bytes, ikm = dh, info = label ‖ owner IK, 32). */
static int grant_kdf(uint8_t out[static 32], const uint8_t dh[static PL_X25519_LEN],
		     const char *label, const uint8_t owner_ik[static PL_IK_LEN])
{
	uint8_t info[INFO_MAX];
	size_t llen = strlen(label);

	memcpy(info, label, llen);
	memcpy(info + llen, owner_ik, PL_IK_LEN);
	return pl_hkdf_sha256(out, 32, NULL, 0, dh, PL_X25519_LEN, info, llen + PL_IK_LEN);
}

/* Locator and (if key is not NULL) key, for the pair (me, peer) and owner. */
static int grant_derive(uint8_t loc[static PL_PROTO_GRANT_LOC_LEN], uint8_t *key,
			const pl_identity *me, const uint8_t peer_ik[static PL_IK_LEN],
			const uint8_t owner_ik[static PL_IK_LEN])
{
	uint8_t dh[PL_X25519_LEN], l[PL_PROTO_GRANT_LOC_LEN];
	int rc = -1;

	if (sodium_memcmp(owner_ik, me->pk, PL_IK_LEN) != 0 &&
	    sodium_memcmp(owner_ik, peer_ik, PL_IK_LEN) != 0)
		return -1;
	if (grant_dh(dh, me, peer_ik) != 0)
		return -1;
	if (grant_kdf(l, dh, LOCATOR_INFO, owner_ik) == 0 &&
	    (key == NULL || grant_kdf(key, dh, KEY_INFO, owner_ik) == 0)) {
		memcpy(loc, l, sizeof l);
		rc = 0;
	} else if (key != NULL) {
		sodium_memzero(key, crypto_aead_xchacha20poly1305_ietf_KEYBYTES);
	}
	sodium_memzero(dh, sizeof dh);
	return rc;
}

int pl_grant_locator(uint8_t loc[static PL_PROTO_GRANT_LOC_LEN], const pl_identity *me,
		     const uint8_t peer_ik[static PL_IK_LEN],
		     const uint8_t owner_ik[static PL_IK_LEN])
{
	return grant_derive(loc, NULL, me, peer_ik, owner_ik);
}

int pl_grant_seal(uint8_t loc[static PL_PROTO_GRANT_LOC_LEN],
		  uint8_t blob[static PL_GRANT_BLOB_LEN], const pl_identity *owner,
		  const uint8_t contact_ik[static PL_IK_LEN],
		  const uint8_t token[static PL_PROTO_TOKEN_LEN])
{
	uint8_t key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES], l[PL_PROTO_GRANT_LOC_LEN];
	uint8_t b[PL_GRANT_BLOB_LEN];
	int rc = -1;

	if (grant_derive(l, key, owner, contact_ik, owner->pk) != 0)
		return -1;
	randombytes_buf(b, PL_GRANT_NONCE_LEN);
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(b + PL_GRANT_NONCE_LEN, NULL, token,
						       PL_PROTO_TOKEN_LEN, NULL, 0, NULL, b,
						       key) == 0) {
		memcpy(loc, l, sizeof l);
		memcpy(blob, b, sizeof b);
		rc = 0;
	}
	sodium_memzero(key, sizeof key);
	return rc;
}

int pl_grant_open(uint8_t token[static PL_PROTO_TOKEN_LEN], const pl_identity *me,
		  const uint8_t owner_ik[static PL_IK_LEN], const uint8_t *blob, size_t bloblen)
{
	uint8_t key[crypto_aead_xchacha20poly1305_ietf_KEYBYTES], l[PL_PROTO_GRANT_LOC_LEN];
	uint8_t t[PL_PROTO_TOKEN_LEN];
	unsigned long long tlen = 0;
	int rc = -1;

	memset(token, 0, PL_PROTO_TOKEN_LEN);
	if (blob == NULL || bloblen != PL_GRANT_BLOB_LEN)
		return -1;
	/* I am the contact: owner_ik is the peer and the owner. */
	if (grant_derive(l, key, me, owner_ik, owner_ik) != 0)
		return -1;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(t, &tlen, NULL, blob + PL_GRANT_NONCE_LEN,
						       bloblen - PL_GRANT_NONCE_LEN, NULL, 0, blob,
						       key) == 0 &&
	    tlen == PL_PROTO_TOKEN_LEN) {
		memcpy(token, t, sizeof t);
		rc = 0;
	}
	sodium_memzero(t, sizeof t);
	sodium_memzero(key, sizeof key);
	return rc;
}
