/*
 * rotate.h — moving this vault to a new identity key, and applying a
 * contact's move (docs/PROTOCOL.md, "Key rotation").
 *
 * The statement (identity/rotation.h) travels to every sendable contact as
 * a payload of kind PL_KIND_ROTATE inside the existing ratchet session
 * (under the old key, the one the contact knows). A contact's client that
 * accepts it pins the new key under the same name, never as verified: a
 * change signed by a key the user had verified waits for the user's
 * decision (contact trust-rotation, or contact verify in person); one from
 * an unverified key stays unverified. A rotation whose old key is revoked
 * (before or after) is void, and two different ones from one key are both
 * refused: the old key may be in a thief's hands.
 */
#ifndef PARLEY_CLIENT_ROTATE_H
#define PARLEY_CLIENT_ROTATE_H

#include <stddef.h>
#include <stdint.h>

#include "client/messenger.h"
#include "identity/rotation.h"
#include "util/err.h"
#include "vault/vault.h"

/* What pl_rotate_apply did. */
enum {
	PL_ROTATE_APPLIED = 0, /* the contact's key is now the new one */
	PL_ROTATE_REPLAY,      /* the same rotation again: nothing changed */
	PL_ROTATE_IGNORED,     /* for a key that is not the contact's: nothing changed */
	PL_ROTATE_REFUSED,     /* malformed, revoked key, unusable new key */
	PL_ROTATE_CONFLICT     /* a second, different rotation of one key: both refused */
};

/* Checks a statement a contact's session carried under the key `carrier`
 * (the sealed sender, proved by the session) and applies it: decodes
 * strictly (both signatures), the old key must be the carrier and must
 * not be revoked, and must be the contact's current key (or the old key
 * of a rotation applied before: a replay, or a conflict). The contact then
 * has the new key, unverified; envelopes kept for it are re-sealed to the
 * new key. *what says which case; 0 applied or replay, 1 not applied (e
 * says why, one line), -1 vault error. Inside the caller's transaction. */
int pl_rotate_apply(pl_vault *v, const pl_contact *ct, const uint8_t carrier[static PL_IK_LEN],
		    const uint8_t *stmt, size_t len, int *what, pl_err *e);

/* The contact that the key old rotated to (following up to 8 rotations),
 * for an envelope that old sealed before its holder's contacts learnt of
 * the rotation: only while the rotation was from a verified key, is not
 * void or in conflict, and old is not revoked. 1 found (*ct), 0 not, -1. */
int pl_rotate_successor(pl_vault *v, const uint8_t old[static PL_IK_LEN], pl_contact *ct,
			pl_err *e);

/* A revocation of old arrived for contact ct whose key is no longer old:
 * if ct's key came from old by a rotation, the rotation is made void (old
 * recorded revoked, the contact unverified with its key marked changed). 1
 * voided, 0 not a rotation of old (nothing done), -1 vault error. */
int pl_rotate_void(pl_vault *v, const pl_contact *ct, const uint8_t old[static PL_IK_LEN],
		   pl_err *e);

/* The rotation that gave ct its current key (1, *r), or 0 if none, -1. */
int pl_rotate_of(pl_vault *v, const pl_contact *ct, pl_rotation_rec *r, pl_err *e);

/* `contact trust-rotation NAME`: accepts the contact's signed key change
 * as verified. Refused (1 and e) unless its current key came by a rotation
 * signed by a key the user had verified, not void, not in conflict. */
int pl_rotate_trust(pl_vault *v, const char *name, pl_err *e);

typedef struct {
	unsigned told;	   /* contacts the statement was queued for */
	unsigned not_told; /* contacts skipped: not verified, key changed, revoked */
	unsigned delivered;
	unsigned queued; /* items still waiting; the next parley sync retries */
	int resumed;	 /* an interrupted rotation was finished */
	int published;	 /* the new key's bundle, token and grants are at the relay */
	uint64_t time;	 /* the statement's time */
	uint8_t old_ik[PL_IK_LEN], new_ik[PL_IK_LEN];
	pl_sync_report sync; /* the last fetch of the old key's mailbox */
	char why[PL_ERR_MSG_MAX];
} pl_rotate_report;

/* `parley id rotate`: makes the next identity and the statement and, in
 * one transaction, stores both with the statement queued for every
 * sendable contact; seals those under the old key's sessions; delivers;
 * closes the old key's mailbox at the relay (a new random token, so no
 * contact's deposit lands where the new key cannot read) and reads it one
 * last time; then switches the vault to the new key in one transaction
 * (pl_vault_identity_switch) and publishes the new key's bundle, token and
 * grants, and delivers again. Any failure before the switch leaves the
 * vault on its old key with the next one stored: running it again goes on
 * where it stopped. sync is the read of the mailbox (pl_nego_sync for the
 * CLI). */
typedef int (*pl_rotate_sync_fn)(pl_vault *v, pl_sync_report *r, pl_err *e);
int pl_rotate_self(pl_vault *v, pl_rotate_sync_fn sync, pl_rotate_report *r, pl_err *e);

#endif
