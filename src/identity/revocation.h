/*
 * revocation.h — a party's signed revocation of its own identity key
 * (docs/PROTOCOL.md, "Revocation"): the one codec of the statement that
 * `parley id revocation` writes to a file and `parley id revoke` sends.
 *
 * statement := "parley-revoke-v1"(16) ‖ IK(32) ‖ time u64 ‖ sig(64)
 * sig       := Ed25519 by IK over the first 56 bytes
 *
 * Whoever holds a statement can revoke the key: it is a real signed
 * statement, not a request, and it never expires.
 */
#ifndef PARLEY_IDENTITY_REVOCATION_H
#define PARLEY_IDENTITY_REVOCATION_H

#include <stddef.h>
#include <stdint.h>

#include "identity/identity.h"

#define PL_REVOCATION_LABEL "parley-revoke-v1"
#define PL_REVOCATION_LABEL_LEN 16
#define PL_REVOCATION_LEN (PL_REVOCATION_LABEL_LEN + PL_IK_LEN + 8 + PL_SIG_LEN)

typedef struct {
	uint8_t ik[PL_IK_LEN]; /* the key revoked, and the one that signed */
	uint64_t time;	       /* when the statement was made */
	uint8_t sig[PL_SIG_LEN];
} pl_revocation;

/* Writes the statement revoking id's key, made at time (not 0). */
int pl_revocation_make(uint8_t out[static PL_REVOCATION_LEN], const pl_identity *id, uint64_t time);
/* Strict: exactly PL_REVOCATION_LEN bytes, the label, a valid key, a time
 * that is not 0, and a signature by that key over the rest. -1 otherwise. */
int pl_revocation_decode(pl_revocation *r, const uint8_t *p, size_t len);

#endif
