/*
 * rotation.h — a party's signed move from one identity key to the next
 * (docs/PROTOCOL.md, "Key rotation"): the one codec of the statement that
 * `parley id rotate` sends to every contact.
 *
 * signed    := "parley-rotate-v1"(16) ‖ old IK(32) ‖ new IK(32) ‖ time u64
 * statement := signed ‖ sig_old(64) ‖ sig_new(64)                (216 bytes)
 * sig_old   := Ed25519 by the old key over signed
 * sig_new   := Ed25519 by the new key over signed ‖ sig_old
 *
 * The old key's signature says its holder hands over to the new key; the
 * new key's signature proves the holder has the new secret too (nobody can
 * name someone else's key as a successor) and, covering sig_old, fixes the
 * order of the two signatures. The version is in the label.
 */
#ifndef PARLEY_IDENTITY_ROTATION_H
#define PARLEY_IDENTITY_ROTATION_H

#include <stddef.h>
#include <stdint.h>

#include "identity/identity.h"

#define PL_ROTATION_LABEL "parley-rotate-v1"
#define PL_ROTATION_LABEL_LEN 16
#define PL_ROTATION_TIME_LEN 8
#define PL_ROTATION_SIGNED_LEN (PL_ROTATION_LABEL_LEN + 2 * PL_IK_LEN + PL_ROTATION_TIME_LEN)
#define PL_ROTATION_OFF_OLD PL_ROTATION_LABEL_LEN
#define PL_ROTATION_OFF_NEW (PL_ROTATION_OFF_OLD + PL_IK_LEN)
#define PL_ROTATION_OFF_TIME (PL_ROTATION_OFF_NEW + PL_IK_LEN)
#define PL_ROTATION_OFF_SIG_OLD PL_ROTATION_SIGNED_LEN
#define PL_ROTATION_OFF_SIG_NEW (PL_ROTATION_OFF_SIG_OLD + PL_SIG_LEN)
#define PL_ROTATION_LEN (PL_ROTATION_SIGNED_LEN + 2 * PL_SIG_LEN)

typedef struct {
	uint8_t old_ik[PL_IK_LEN]; /* the key handed over, first signer */
	uint8_t new_ik[PL_IK_LEN]; /* its successor, second signer */
	uint64_t time;		   /* when the statement was made */
	uint8_t sig_old[PL_SIG_LEN];
	uint8_t sig_new[PL_SIG_LEN];
} pl_rotation;

/* Writes the statement by which old hands over to next, made at time (not
 * 0). -1 if the keys are the same or a signature fails. */
int pl_rotation_make(uint8_t out[static PL_ROTATION_LEN], const pl_identity *old,
		     const pl_identity *next, uint64_t time);
/* Strict: exactly PL_ROTATION_LEN bytes, the label, two valid keys that
 * differ, a time that is not 0, sig_old by the old key and sig_new by the
 * new key as above. -1 otherwise (and *r untouched). */
int pl_rotation_decode(pl_rotation *r, const uint8_t *p, size_t len);

#endif
