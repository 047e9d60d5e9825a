/*
 * identity.h — a party's Ed25519 identity key, its X25519 form, mailbox id,
 * fingerprint and the safety number of a pair (docs/PROTOCOL.md).
 */
#ifndef PARLEY_IDENTITY_IDENTITY_H
#define PARLEY_IDENTITY_IDENTITY_H

#include <stddef.h>
#include <stdint.h>

#define PL_IK_LEN 32	/* Ed25519 public key */
#define PL_IK_SK_LEN 64 /* Ed25519 secret key (seed ‖ public) */
#define PL_X25519_LEN 32
#define PL_SIG_LEN 64
#define PL_MAILBOX_LEN 32
#define PL_KEY_HEX_LEN 65     /* 64 hex digits + NUL: how keys are written for people */
#define PL_FINGERPRINT_LEN 36 /* "12345 12345 12345 12345 12345 12345" + NUL */
#define PL_SAFETY_LEN 72      /* 12 groups of 5 digits, spaces between, + NUL */

typedef struct {
	uint8_t pk[PL_IK_LEN];
	uint8_t sk[PL_IK_SK_LEN];
} pl_identity;

int pl_identity_generate(pl_identity *id);
void pl_identity_wipe(pl_identity *id);
/* X25519 secret and public key of an identity (for DH and unsealing). */
int pl_identity_x25519(const pl_identity *id, uint8_t xsk[static PL_X25519_LEN],
		       uint8_t xpk[static PL_X25519_LEN]);
/* X25519 form of someone's Ed25519 key; -1 if it is not a valid point. */
int pl_ik_to_x25519(uint8_t xpk[static PL_X25519_LEN], const uint8_t ik[static PL_IK_LEN]);
/* Strict: a valid Ed25519 public key of small order is refused too. */
int pl_ik_validate(const uint8_t ik[static PL_IK_LEN]);

void pl_mailbox_id(uint8_t out[static PL_MAILBOX_LEN], const uint8_t ik[static PL_IK_LEN]);

/* Signal's displayable-fingerprint half: 30 digits (+NUL), no spaces. Public
 * for the known-answer test against libsignal's vectors. */
void pl_fingerprint_digits(char out[static 31], const uint8_t *key, size_t keylen,
			   const uint8_t *ident, size_t identlen, unsigned iterations);
void pl_fingerprint(char out[static PL_FINGERPRINT_LEN], const uint8_t ik[static PL_IK_LEN]);
void pl_safety_number(char out[static PL_SAFETY_LEN], const uint8_t a[static PL_IK_LEN],
		      const uint8_t b[static PL_IK_LEN]);
/* 0 iff `given` is the safety number of a and b; spaces in `given` ignored. */
int pl_safety_number_check(const char *given, const uint8_t a[static PL_IK_LEN],
			   const uint8_t b[static PL_IK_LEN]);

#endif
