/*
 * introduce.h — introductions (docs/PROTOCOL.md, "Introductions"): a
 * mediator that verified two parties in person vouches to each for the
 * other's key, so that two sides that never met can talk.
 *
 * The statement (identity/introduction.h) travels as a payload of kind
 * PL_KIND_INTRODUCE inside the session with the mediator. A receiving
 * client accepts it only from a contact it verified in person (not changed,
 * not revoked, not itself only introduced), signed by that contact's key,
 * naming this vault as recipient, and introducing a key that is neither
 * ours nor the introducer's. It never replaces a known contact's key: the
 * introduced key is added as a new contact, unverified but introduced
 * (sendable), under the name the mediator gave or, if a contact of ours
 * already has that name with another key, under a distinct name, flagged.
 */
#ifndef PARLEY_CLIENT_INTRODUCE_H
#define PARLEY_CLIENT_INTRODUCE_H

#include <stddef.h>
#include <stdint.h>

#include "client/messenger.h"
#include "identity/introduction.h"
#include "util/err.h"
#include "vault/vault.h"

/* What pl_intro_apply did. */
enum {
	PL_INTRO_ADDED = 0, /* a new contact, introduced */
	PL_INTRO_RECORDED,  /* the key was a contact already: the introduction recorded */
	PL_INTRO_REPLAY,    /* this introducer introduced this key before: nothing changed */
	PL_INTRO_KNOWN,	    /* another introducer's introduction stands: nothing changed */
	PL_INTRO_REFUSED    /* not from a verified contact, malformed, not for us, ... */
};

/* Checks an introduction a contact's session carried under the key
 * `carrier` and applies it (see above). *what says which case; name (at
 * least PL_NAME_MAX + 1 bytes) receives the name of the contact added or
 * recorded, *clash is set when the name the introducer gave was another
 * contact's. 0 applied (or nothing to do), 1 refused (e says why, one
 * line; nothing written), -1 vault error. Inside the caller's transaction. */
int pl_intro_apply(pl_vault *v, const pl_contact *ct, const uint8_t carrier[static PL_IK_LEN],
		   const uint8_t *stmt, size_t len, int *what, char *name, int *clash, pl_err *e);

typedef struct {
	uint64_t time;
	unsigned delivered; /* of the two statements, deposited now */
	unsigned queued;    /* outbox items still waiting; parley sync retries */
	char why[PL_ERR_MSG_MAX];
} pl_intro_report;

/* `parley introduce NAME1 NAME2`: refuses (1, e) unless both are different
 * contacts verified in person, unchanged and not revoked, and this vault's
 * relay key is pinned; then queues, in one transaction, NAME1's
 * introduction of NAME2 and NAME2's of NAME1, and delivers them (a failure
 * to deliver is not an error: r says so, the next sync retries). -1 on a
 * vault error. */
int pl_intro_send(pl_vault *v, const char *name1, const char *name2, pl_intro_report *r, pl_err *e);

/* For the views: the introduction recorded for ct (1, *r), 0 none, -1.
 * *vouched (may be NULL) says whether it counts now (its introducer is
 * still verified; ct->introduced is the same), and introducer (at least
 * PL_NAME_MAX + 1 bytes, may be NULL) gets the introducer's current
 * contact name, or the name recorded when it is no longer a contact. */
int pl_intro_of(pl_vault *v, const pl_contact *ct, pl_intro_rec *r, char *introducer, int *vouched,
		pl_err *e);

#endif
