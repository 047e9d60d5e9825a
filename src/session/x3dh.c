/*
 * x3dh.c — owns X3DH key agreement (Signal's X3DH specification) and the
 * prekey bundle format: signing and verifying the signed prekey, the strict
 * bundle decoder, and the derivation of the shared secret SK on both sides
 * (docs/PROTOCOL.md, "X3DH" and "bundle").
 *
 * It must never derive SK from an unverified bundle, from an identity key
 * that fails pl_ik_validate, or from an all-zero DH output, and never leave
 * DH outputs, ephemeral secrets or SK candidates behind on the stack.
 */
#include "session/x3dh.h"

#include <sodium.h>
#include <string.h>

#include "crypto/kdf.h"

#define BUNDLE_VERSION 1
#define SPK_TAG "parley spk v1"
#define X3DH_INFO "parley X3DH v1"
#define SPK_MSG_LEN (sizeof SPK_TAG - 1 + 4 + PL_X25519_LEN)
/* 32×0xFF ‖ DH1 ‖ DH2 ‖ DH3 [‖ DH4] */
#define IKM_MAX (5 * 32)

static void spk_message(uint8_t m[static SPK_MSG_LEN], uint32_t spk_id,
			const uint8_t spk[static PL_X25519_LEN])
{
	memcpy(m, SPK_TAG, sizeof SPK_TAG - 1);
	pl_be32_put(m + sizeof SPK_TAG - 1, spk_id);
	memcpy(m + sizeof SPK_TAG - 1 + 4, spk, PL_X25519_LEN);
}

int pl_spk_sign(uint8_t sig[static PL_SIG_LEN], const pl_identity *id, uint32_t spk_id,
		const uint8_t spk[static PL_X25519_LEN])
{
	uint8_t m[SPK_MSG_LEN];

	spk_message(m, spk_id, spk);
	return crypto_sign_detached(sig, NULL, m, sizeof m, id->sk) == 0 ? 0 : -1;
}

static int opk_is_zero(const uint8_t opk[static PL_X25519_LEN])
{
	return sodium_is_zero(opk, PL_X25519_LEN);
}

int pl_bundle_verify(const pl_bundle *b)
{
	uint8_t m[SPK_MSG_LEN];

	if (pl_ik_validate(b->ik) != 0)
		return -1;
	/* "No one-time prekey" is spelled exactly one way, and a one-time
	 * prekey (unsigned, per the X3DH spec) is never the all-zero point. */
	if ((b->opk_id == 0) != (opk_is_zero(b->opk) != 0))
		return -1;
	spk_message(m, b->spk_id, b->spk);
	return crypto_sign_verify_detached(b->spk_sig, m, sizeof m, b->ik) == 0 ? 0 : -1;
}

void pl_bundle_encode(pl_wr *w, const pl_bundle *b)
{
	pl_wr_u8(w, BUNDLE_VERSION);
	pl_wr_bytes(w, b->ik, PL_IK_LEN);
	pl_wr_u32(w, b->spk_id);
	pl_wr_bytes(w, b->spk, PL_X25519_LEN);
	pl_wr_bytes(w, b->spk_sig, PL_SIG_LEN);
	pl_wr_u32(w, b->opk_id);
	pl_wr_bytes(w, b->opk, PL_X25519_LEN);
}

int pl_bundle_decode(pl_bundle *b, const uint8_t *p, size_t n)
{
	pl_bundle t;
	pl_rd r;

	pl_rd_init(&r, p, n);
	if (pl_rd_u8(&r) != BUNDLE_VERSION)
		pl_rd_fail(&r);
	pl_rd_copy(&r, t.ik, PL_IK_LEN);
	t.spk_id = pl_rd_u32(&r);
	pl_rd_copy(&r, t.spk, PL_X25519_LEN);
	pl_rd_copy(&r, t.spk_sig, PL_SIG_LEN);
	t.opk_id = pl_rd_u32(&r);
	pl_rd_copy(&r, t.opk, PL_X25519_LEN);
	if (pl_rd_done(&r) != 0 || pl_bundle_verify(&t) != 0)
		return -1;
	*b = t;
	return 0;
}

/* Appends DH(sk, pk) to ikm at *off; -1 if the output is all zero. */
static int dh_append(uint8_t ikm[static IKM_MAX], size_t *off, const uint8_t sk[static 32],
		     const uint8_t pk[static 32])
{
	if (crypto_scalarmult(ikm + *off, sk, pk) != 0)
		return -1;
	*off += 32;
	return 0;
}

static int derive_sk(uint8_t sk[static PL_X3DH_SK_LEN], const uint8_t *ikm, size_t ikmlen)
{
	static const uint8_t salt[32];

	return pl_hkdf_sha256(sk, PL_X3DH_SK_LEN, salt, sizeof salt, ikm, ikmlen,
			      (const uint8_t *)X3DH_INFO, sizeof X3DH_INFO - 1);
}

int pl_x3dh_initiate(uint8_t sk[static PL_X3DH_SK_LEN], uint8_t ek_pub[static PL_X25519_LEN],
		     const pl_identity *me, const pl_bundle *their)
{
	uint8_t ikm[IKM_MAX], ika_sk[32], ika_pk[32], ikb[32], ek_sk[32], ek_pk[32];
	uint8_t out[PL_X3DH_SK_LEN];
	size_t off = 32;
	int rc = -1;

	if (pl_bundle_verify(their) != 0 || pl_ik_to_x25519(ikb, their->ik) != 0)
		return -1;
	if (pl_identity_x25519(me, ika_sk, ika_pk) != 0)
		goto out;
	crypto_box_keypair(ek_pk, ek_sk);
	memset(ikm, 0xFF, 32);
	if (dh_append(ikm, &off, ika_sk, their->spk) != 0 || /* DH1 */
	    dh_append(ikm, &off, ek_sk, ikb) != 0 ||	     /* DH2 */
	    dh_append(ikm, &off, ek_sk, their->spk) != 0)    /* DH3 */
		goto out;
	if (their->opk_id != 0 && dh_append(ikm, &off, ek_sk, their->opk) != 0) /* DH4 */
		goto out;
	if (derive_sk(out, ikm, off) != 0)
		goto out;
	memcpy(sk, out, sizeof out);
	memcpy(ek_pub, ek_pk, sizeof ek_pk);
	rc = 0;
out:
	sodium_memzero(ikm, sizeof ikm);
	sodium_memzero(ika_sk, sizeof ika_sk);
	sodium_memzero(ek_sk, sizeof ek_sk);
	sodium_memzero(out, sizeof out);
	return rc;
}

int pl_x3dh_respond(uint8_t sk[static PL_X3DH_SK_LEN], const pl_identity *me,
		    const uint8_t spk_sk[static PL_X25519_LEN], const uint8_t *opk_sk,
		    const uint8_t their_ik[static PL_IK_LEN],
		    const uint8_t their_ek[static PL_X25519_LEN])
{
	uint8_t ikm[IKM_MAX], ikb_sk[32], ikb_pk[32], ika[32];
	uint8_t out[PL_X3DH_SK_LEN];
	size_t off = 32;
	int rc = -1;

	if (pl_ik_to_x25519(ika, their_ik) != 0)
		return -1;
	if (pl_identity_x25519(me, ikb_sk, ikb_pk) != 0)
		goto out;
	memset(ikm, 0xFF, 32);
	if (dh_append(ikm, &off, spk_sk, ika) != 0 ||	   /* DH1 */
	    dh_append(ikm, &off, ikb_sk, their_ek) != 0 || /* DH2 */
	    dh_append(ikm, &off, spk_sk, their_ek) != 0)   /* DH3 */
		goto out;
	if (opk_sk != NULL && dh_append(ikm, &off, opk_sk, their_ek) != 0) /* DH4 */
		goto out;
	if (derive_sk(out, ikm, off) != 0)
		goto out;
	memcpy(sk, out, sizeof out);
	rc = 0;
out:
	sodium_memzero(ikm, sizeof ikm);
	sodium_memzero(ikb_sk, sizeof ikb_sk);
	sodium_memzero(out, sizeof out);
	return rc;
}

void pl_x3dh_ad(uint8_t ad[static PL_X3DH_AD_LEN], const uint8_t ik_initiator[static PL_IK_LEN],
		const uint8_t ik_responder[static PL_IK_LEN])
{
	memcpy(ad, ik_initiator, PL_IK_LEN);
	memcpy(ad + PL_IK_LEN, ik_responder, PL_IK_LEN);
}
