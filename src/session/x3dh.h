/*
 * x3dh.h — X3DH key agreement (Signal spec) from a signed prekey bundle.
 * See docs/PROTOCOL.md for the KDF, AD and bundle encodings.
 */
#ifndef PARLEY_SESSION_X3DH_H
#define PARLEY_SESSION_X3DH_H

#include <stddef.h>
#include <stdint.h>

#include "identity/identity.h"
#include "util/wire.h"

#define PL_X3DH_SK_LEN 32
#define PL_X3DH_AD_LEN 64
#define PL_BUNDLE_MAX_OPK 100

typedef struct {
	uint8_t ik[PL_IK_LEN];
	uint32_t spk_id;
	uint8_t spk[PL_X25519_LEN];
	uint8_t spk_sig[PL_SIG_LEN];
	uint32_t opk_id; /* 0 = no one-time prekey */
	uint8_t opk[PL_X25519_LEN];
} pl_bundle;

/* spk_sig = Ed25519(IK, "parley spk v1" ‖ spk_id ‖ spk). */
int pl_spk_sign(uint8_t sig[static PL_SIG_LEN], const pl_identity *id, uint32_t spk_id,
		const uint8_t spk[static PL_X25519_LEN]);
int pl_bundle_verify(const pl_bundle *b);
void pl_bundle_encode(pl_wr *w, const pl_bundle *b);
/* Strict decoder of a fetched bundle (outside bytes); also verifies spk_sig. */
int pl_bundle_decode(pl_bundle *b, const uint8_t *p, size_t n);

/* Initiator: verifies the bundle, makes an ephemeral key, derives SK. */
int pl_x3dh_initiate(uint8_t sk[static PL_X3DH_SK_LEN], uint8_t ek_pub[static PL_X25519_LEN],
		     const pl_identity *me, const pl_bundle *their);
/* Responder; opk_sk may be NULL when the initiator used no one-time prekey. */
int pl_x3dh_respond(uint8_t sk[static PL_X3DH_SK_LEN], const pl_identity *me,
		    const uint8_t spk_sk[static PL_X25519_LEN], const uint8_t *opk_sk,
		    const uint8_t their_ik[static PL_IK_LEN],
		    const uint8_t their_ek[static PL_X25519_LEN]);
void pl_x3dh_ad(uint8_t ad[static PL_X3DH_AD_LEN], const uint8_t ik_initiator[static PL_IK_LEN],
		const uint8_t ik_responder[static PL_IK_LEN]);

#endif
