/*
 * introduction.h — a mediator's signed introduction of one of its
 * verified contacts to another (docs/PROTOCOL.md, "Introductions"): the
 * one codec of the statement that `parley introduce` sends.
 *
 * signed    := "parley-introduce-v1"(19) ‖ introducer IK(32) ‖
 *              recipient IK(32) ‖ introduced IK(32) ‖ relay key(32) ‖
 *              time u64 ‖ u8 name_len ‖ name ‖ u16 url_len ‖ url
 * statement := signed ‖ sig(64)     (Ed25519 by the introducer over signed)
 *
 * name: how the introducer knows the introduced party, one line of UTF-8
 * text, 1..PL_INTRO_NAME_MAX bytes. url and relay key: where the
 * introduced party's mailbox lives (an http(s) URL of printable ASCII,
 * 1..PL_INTRO_URL_MAX bytes). The three identity keys differ pairwise.
 * Every length is bounded; nothing may follow the signature.
 */
#ifndef PARLEY_IDENTITY_INTRODUCTION_H
#define PARLEY_IDENTITY_INTRODUCTION_H

#include <stddef.h>
#include <stdint.h>

#include "identity/identity.h"
#include "util/wire.h"

#define PL_INTRO_LABEL "parley-introduce-v1"
#define PL_INTRO_LABEL_LEN 19
#define PL_INTRO_NAME_MAX 64 /* as PL_NAME_MAX */
#define PL_INTRO_URL_MAX 512 /* as PL_URL_MAX */
#define PL_INTRO_FIXED_LEN (PL_INTRO_LABEL_LEN + 4 * 32 + 8 + 1 + 2 + PL_SIG_LEN)
#define PL_INTRO_MIN_LEN (PL_INTRO_FIXED_LEN + 1 + 8) /* a name of 1, "http://x" */
#define PL_INTRO_MAX_LEN (PL_INTRO_FIXED_LEN + PL_INTRO_NAME_MAX + PL_INTRO_URL_MAX)

typedef struct {
	uint8_t introducer_ik[PL_IK_LEN]; /* the signer: the mediator */
	uint8_t recipient_ik[PL_IK_LEN];  /* whom it is for */
	uint8_t introduced_ik[PL_IK_LEN]; /* whose key it vouches for */
	uint8_t relay_key[32];		  /* the introduced party's relay */
	uint64_t time;			  /* when the statement was made, not 0 */
	char name[PL_INTRO_NAME_MAX + 1]; /* the introducer's name for it */
	char url[PL_INTRO_URL_MAX + 1];	  /* the introduced party's relay */
	uint8_t sig[PL_SIG_LEN];
} pl_introduction;

/* Writes the statement into w, signed by introducer (whose public key is
 * its introducer_ik; the other fields from s). -1 (w untouched) if a field
 * is out of range as the decoder would see it. */
int pl_introduction_make(pl_wr *w, const pl_identity *introducer, const pl_introduction *s);
/* Strict: the label, three valid and pairwise different identity keys, a
 * valid relay key, a time that is not 0, a name and a URL as above, the
 * introducer's signature, and no byte more. -1 otherwise (*s untouched). */
int pl_introduction_decode(pl_introduction *s, const uint8_t *p, size_t len);

#endif
