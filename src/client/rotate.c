/*
 * rotate.c — the rotating vault's sequence and the receiver's checks
 * (rotate.h).
 *
 * What it must never do: pin a new key for a contact on a statement that
 * is not signed by both keys, whose old key is not the one that carried
 * it, or whose old key is revoked; mark a new key verified without the
 * user's word; deposit a statement before the vault holds the new key
 * (contacts would follow a key nobody has); leave the vault without a
 * usable key at any point; touch the network inside a transaction.
 */
#include "client/rotate.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/relay_client.h"
#include "envelope/envelope.h"
#include "util/codec.h"

#define SUCCESSOR_HOPS 8

/* Crash points (pl_fault_point) for the crash test (tests/integration/test_rotate.sh):
 * PARLEY_FAULT=rotate-recorded dies once the next key and the statements
 * are committed, rotate-before-switch once the statements are out and the
 * old mailbox closed and read, rotate-after-switch once the vault uses the
 * new key and before it is published. Each must leave a vault with a
 * usable key that a second run (or a sync) finishes. */

/* ---- receiving ------------------------------------------------------------ */

/* Envelopes already sealed for the contact's old key are sealed again, for
 * the new key, when they go (the old key's mailbox is closed). */
static int reseal_outbox(pl_vault *v, const char *name, pl_err *e)
{
	pl_outbox *ob;
	size_t n;
	if (pl_vault_outbox_list(v, &ob, &n, e) != 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n; i++)
		if (strcmp(ob[i].contact, name) == 0 && ob[i].envelope.n > 0)
			rc = pl_vault_outbox_set_envelope(v, ob[i].item_seq, NULL, 0, e);
	pl_vault_outbox_free(ob, n);
	return rc;
}

/* The contact unverified, its key marked changed: nothing goes to it and
 * nothing from it is read until the user verifies it again. */
static int distrust(pl_vault *v, const pl_contact *ct, pl_err *e)
{
	pl_contact c = *ct;
	c.verified = 0;
	c.key_changed = 1;
	int rc = pl_vault_contact_put(v, &c, e);
	sodium_memzero(&c, sizeof c);
	return rc;
}

static int refuse(int *what, int why)
{
	*what = why;
	return 1;
}

/* The new key must be usable as this contact's: not revoked, not ours
 * (now or before), not another contact's. */
static int new_key_ok(pl_vault *v, const pl_contact *ct, const pl_rotation *s, pl_err *e)
{
	if (pl_vault_ik_revoked(v, s->new_ik))
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "a key rotation from \"%s\" names a revoked key; refused, \"%s\" "
				  "is unchanged",
				  ct->name, ct->name),
		       1;
	int hist = pl_vault_identity_history(v, s->new_ik, e);
	if (hist < 0)
		return -1;
	if (hist || sodium_memcmp(s->new_ik, pl_vault_identity(v)->pk, PL_IK_LEN) == 0)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "a key rotation from \"%s\" names this vault's own key; refused, "
				  "\"%s\" is unchanged",
				  ct->name, ct->name),
		       1;
	pl_contact other;
	pl_err ce;
	pl_err_clear(&ce);
	int rc = pl_vault_contact_by_ik(v, s->new_ik, &other, &ce);
	if (rc == 0) {
		pl_err_set(e, PL_EXIT_SECURITY,
			   "a key rotation from \"%s\" names the key of your contact \"%s\"; "
			   "refused, both are unchanged",
			   ct->name, other.name);
		sodium_memzero(&other, sizeof other);
		return 1;
	}
	if (ce.code != PL_EXIT_NOTFOUND) {
		*e = ce;
		return -1;
	}
	return 0;
}

int pl_rotate_apply(pl_vault *v, const pl_contact *ct, const uint8_t carrier[static PL_IK_LEN],
		    const uint8_t *stmt, size_t len, int *what, pl_err *e)
{
	pl_rotation s;
	pl_rotation_rec prev, rec;
	*what = PL_ROTATE_REFUSED;
	if (pl_rotation_decode(&s, stmt, len) != 0)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "a key rotation from \"%s\" is malformed or not signed by both "
				  "keys; refused, \"%s\" is unchanged",
				  ct->name, ct->name),
		       1;
	if (sodium_memcmp(s.old_ik, carrier, PL_IK_LEN) != 0)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "a key rotation from \"%s\" is for another key than the one that "
				  "sent it; ignored, \"%s\" is unchanged",
				  ct->name, ct->name),
		       refuse(what, PL_ROTATE_IGNORED);
	if (pl_vault_ik_revoked(v, s.old_ik))
		return pl_err_set(
			   e, PL_EXIT_SECURITY,
			   "a key rotation from \"%s\" is signed by a key that was revoked: "
			   "void (whoever seized the key could sign one); \"%s\" is unchanged",
			   ct->name, ct->name),
		       1;
	int got = pl_vault_rotation_get(v, s.old_ik, &prev, e);
	if (got < 0)
		return -1;
	if (got == 1 && sodium_memcmp(prev.new_ik, s.new_ik, PL_IK_LEN) == 0) {
		*what = PL_ROTATE_REPLAY; /* harmless: nothing changes */
		return 0;
	}
	if (got == 1) {
		prev.flags |= PL_ROT_CONFLICT;
		if (pl_vault_rotation_put(v, &prev, e) != 0 || distrust(v, ct, e) != 0)
			return -1;
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "the old key of \"%s\" signed two different key rotations; both "
				  "are refused, as that key may be in someone else's hands: "
				  "compare safety numbers in person (parley contact show %s, "
				  "parley contact verify %s SAFETY_NUMBER)",
				  ct->name, ct->name, ct->name),
		       refuse(what, PL_ROTATE_CONFLICT);
	}
	if (sodium_memcmp(s.old_ik, ct->ik, PL_IK_LEN) != 0)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "a key rotation from \"%s\" is for a key that is not their "
				  "current one; ignored, \"%s\" is unchanged",
				  ct->name, ct->name),
		       refuse(what, PL_ROTATE_IGNORED);
	int ok = new_key_ok(v, ct, &s, e);
	if (ok != 0)
		return ok;
	memset(&rec, 0, sizeof rec);
	memcpy(rec.old_ik, s.old_ik, PL_IK_LEN);
	memcpy(rec.new_ik, s.new_ik, PL_IK_LEN);
	int was_verified = ct->verified && !ct->key_changed;
	rec.flags = was_verified ? PL_ROT_OLD_VERIFIED : 0;
	rec.time = s.time;
	rec.applied = pl_now();
	pl_contact c = *ct;
	memcpy(c.ik, s.new_ik, PL_IK_LEN);
	c.verified = 0;
	c.key_changed = was_verified ? 1 : ct->key_changed;
	c.grant_published = 0; /* our grant is found by the two keys: made again */
	int rc = pl_vault_rotation_put(v, &rec, e) != 0 || pl_vault_contact_put(v, &c, e) != 0 ||
			 reseal_outbox(v, ct->name, e) != 0
		     ? -1
		     : 0;
	sodium_memzero(&c, sizeof c);
	if (rc == 0)
		*what = PL_ROTATE_APPLIED;
	return rc;
}

int pl_rotate_successor(pl_vault *v, const uint8_t old[static PL_IK_LEN], pl_contact *ct, pl_err *e)
{
	uint8_t k[PL_IK_LEN];
	memcpy(k, old, PL_IK_LEN);
	for (int hop = 0; hop < SUCCESSOR_HOPS; hop++) {
		pl_rotation_rec r;
		int got = pl_vault_rotation_get(v, k, &r, e);
		if (got <= 0)
			return got;
		if (!(r.flags & PL_ROT_OLD_VERIFIED) ||
		    (r.flags & (PL_ROT_CONFLICT | PL_ROT_VOID)) || pl_vault_ik_revoked(v, k))
			return 0;
		pl_err ce;
		pl_err_clear(&ce);
		if (pl_vault_contact_by_ik(v, r.new_ik, ct, &ce) == 0)
			return 1;
		if (ce.code != PL_EXIT_NOTFOUND) {
			*e = ce;
			return -1;
		}
		memcpy(k, r.new_ik, PL_IK_LEN);
	}
	return 0;
}

int pl_rotate_void(pl_vault *v, const pl_contact *ct, const uint8_t old[static PL_IK_LEN],
		   pl_err *e)
{
	pl_rotation_rec r;
	int got = pl_vault_rotation_get(v, old, &r, e);
	if (got <= 0)
		return got;
	if (sodium_memcmp(r.new_ik, ct->ik, PL_IK_LEN) != 0)
		return 0;
	r.flags |= PL_ROT_VOID;
	r.trusted = 0;
	if (pl_vault_rotation_put(v, &r, e) != 0 || pl_vault_ik_revoke(v, old, pl_now(), e) != 0 ||
	    distrust(v, ct, e) != 0)
		return -1;
	return 1;
}

int pl_rotate_of(pl_vault *v, const pl_contact *ct, pl_rotation_rec *r, pl_err *e)
{
	return pl_vault_rotation_to(v, ct->ik, r, e);
}

int pl_rotate_trust(pl_vault *v, const char *name, pl_err *e)
{
	pl_contact c;
	pl_rotation_rec r;
	if (pl_vault_begin(v, e) != 0)
		return -1;
	int rc = pl_vault_contact_get(v, name, &c, e);
	int got = rc == 0 ? pl_rotate_of(v, &c, &r, e) : -1;
	if (got < 0)
		rc = -1;
	else if (c.revoked)
		rc = pl_err_set(e, PL_EXIT_SECURITY,
				"%s's key was revoked by its owner; nothing can make it trusted; "
				"verify a new key in person",
				name);
	else if (got == 0)
		rc = pl_err_set(e, PL_EXIT_SECURITY,
				"the key of \"%s\" did not come by a signed key rotation; compare "
				"the safety number in person (parley contact show %s, parley "
				"contact verify %s SAFETY_NUMBER)",
				name, name, name);
	else if (r.flags & PL_ROT_VOID)
		rc = pl_err_set(e, PL_EXIT_SECURITY,
				"the key \"%s\" rotated from was revoked, so the rotation is void; "
				"compare the new safety number in person (parley contact verify %s "
				"SAFETY_NUMBER)",
				name, name);
	else if (r.flags & PL_ROT_CONFLICT)
		rc = pl_err_set(
		    e, PL_EXIT_SECURITY,
		    "the old key of \"%s\" signed two different rotations; neither is "
		    "trusted; compare safety numbers in person (parley contact verify %s "
		    "SAFETY_NUMBER)",
		    name, name);
	else if (!(r.flags & PL_ROT_OLD_VERIFIED))
		rc = pl_err_set(e, PL_EXIT_SECURITY,
				"the rotation of \"%s\" was signed by a key you never verified; "
				"compare the safety number in person (parley contact show %s, "
				"parley contact verify %s SAFETY_NUMBER)",
				name, name, name);
	else if (!c.verified || c.key_changed) {
		c.verified = 1;
		c.key_changed = 0;
		r.trusted = pl_now();
		rc = pl_vault_rotation_put(v, &r, e) != 0 || pl_vault_contact_put(v, &c, e) != 0
			 ? -1
			 : 0;
	}
	if (rc == 0)
		rc = pl_vault_commit(v, e);
	if (rc != 0)
		pl_vault_rollback(v);
	sodium_memzero(&c, sizeof c);
	return rc;
}

/* ---- rotating ------------------------------------------------------------- */

/* One transaction: the next identity and its statement, queued for every
 * sendable contact. */
static int record_next(pl_vault *v, const pl_identity *next, const uint8_t *stmt,
		       pl_rotate_report *r, pl_err *e)
{
	pl_contact *cs = NULL;
	size_t n = 0;
	if (pl_vault_begin(v, e) != 0)
		return -1;
	int rc = pl_vault_contact_list(v, &cs, &n, e);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (pl_msgr_check_sendable(&cs[i], NULL) != 0) {
			r->not_told++;
			continue;
		}
		rc = pl_msgr_queue_statement(v, cs[i].name, PL_KIND_ROTATE, stmt, PL_ROTATION_LEN,
					     r->time, e);
		r->told++;
	}
	if (rc == 0)
		rc = pl_vault_identity_next_put(v, next, stmt, PL_ROTATION_LEN, e);
	if (rc == 0)
		rc = pl_vault_commit(v, e);
	if (rc != 0)
		pl_vault_rollback(v);
	if (cs)
		sodium_memzero(cs, n * sizeof *cs);
	free(cs);
	return rc;
}

/* A new random token for the old key's mailbox (signed by the old key):
 * from now on no contact's deposit lands where the new key cannot read;
 * theirs stay queued until they follow the rotation. */
static int close_old_mailbox(pl_vault *v, pl_err *e)
{
	uint8_t dead[PL_TOKEN_LEN];
	pl_rc_conn *c;
	if (pl_msgr_open_relay(v, &c, e) != 0)
		return -1;
	randombytes_buf(dead, sizeof dead);
	int rc = pl_rc_put_token(c, pl_vault_identity(v), dead, e);
	sodium_memzero(dead, sizeof dead);
	pl_rc_close(c);
	return rc;
}

/* Prefixes e's sentence with what is left to do. */
static int unfinished(pl_err *e)
{
	char msg[PL_ERR_MSG_MAX];
	snprintf(msg, sizeof msg, "%s", e->msg);
	int code = e->code ? e->code : PL_EXIT_ERROR;
	return pl_err_set(e, code,
			  "the key rotation is not finished (this vault still uses its old key, "
			  "the new one is stored): %s; run parley id rotate again",
			  msg);
}

int pl_rotate_self(pl_vault *v, pl_rotate_sync_fn sync, pl_rotate_report *r, pl_err *e)
{
	memset(r, 0, sizeof *r);
	if (pl_msgr_check_identity(v, e) != 0)
		return -1;
	memcpy(r->old_ik, pl_vault_identity(v)->pk, PL_IK_LEN);
	pl_identity *next = sodium_malloc(sizeof *next);
	if (next == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory for the new identity");
	uint8_t stmt[PL_ROTATION_LEN];
	pl_rotation s;
	pl_wr kept;
	int found = 0, rc = -1;
	if (pl_vault_identity_next(v, next, &kept, PL_ROTATION_LEN, &found, e) != 0)
		goto out;
	if (found) {
		r->resumed = 1;
		int bad = kept.n != PL_ROTATION_LEN ||
			  pl_rotation_decode(&s, kept.p, kept.n) != 0 ||
			  sodium_memcmp(s.old_ik, r->old_ik, PL_IK_LEN) != 0 ||
			  sodium_memcmp(s.new_ik, next->pk, PL_IK_LEN) != 0;
		if (!bad)
			memcpy(stmt, kept.p, PL_ROTATION_LEN);
		pl_wr_free(&kept);
		if (bad) {
			pl_err_set(e, PL_EXIT_VAULT,
				   "the vault's stored key rotation does not match its key; "
				   "restore the vault from a backup");
			goto out;
		}
	} else {
		pl_wr_free(&kept);
		uint64_t now = pl_now();
		if (pl_identity_generate(next) != 0 ||
		    pl_rotation_make(stmt, pl_vault_identity(v), next, now) != 0 ||
		    pl_rotation_decode(&s, stmt, sizeof stmt) != 0) {
			pl_err_set(e, PL_EXIT_ERROR, "could not make and sign the new key");
			goto out;
		}
		r->time = now;
		if (record_next(v, next, stmt, r, e) != 0)
			goto out;
		pl_fault_point("rotate-recorded");
	}
	r->time = s.time;
	memcpy(r->new_ik, s.new_ik, PL_IK_LEN);

	/* Under the old key, while it is still ours: the statements sealed
	 * (so they go out under sessions the contacts know), delivered as far
	 * as the relay takes them, the old mailbox closed and read a last
	 * time. Any failure here leaves the vault on its old key. */
	unsigned unsealed = 0;
	pl_sync_report dr;
	pl_err ne;
	memset(&dr, 0, sizeof dr);
	pl_err_clear(&ne);
	if (pl_msgr_seal_kind(v, PL_KIND_ROTATE, &unsealed, e) != 0 ||
	    close_old_mailbox(v, e) != 0 || sync(v, &r->sync, e) != 0) {
		unfinished(e);
		goto out;
	}
	pl_fault_point("rotate-before-switch");
	if (pl_vault_identity_switch(v, r->time, e) != 0) {
		unfinished(e);
		goto out;
	}
	rc = 0;
	pl_fault_point("rotate-after-switch");
	/* The new key: its bundle, token and grants at the relay; then the
	 * statements not yet deposited. Failures wait for the next sync. */
	if (pl_msgr_publish(v, &ne) == 0)
		r->published = 1;
	else
		snprintf(r->why, sizeof r->why, "%s", ne.msg);
	pl_err_clear(&ne);
	if (pl_msgr_deliver(v, &dr, &ne) != 0 && !r->why[0])
		snprintf(r->why, sizeof r->why, "%s", ne.msg);
	pl_msgr_outbox_count(v, &dr);
	r->delivered = dr.delivered + r->sync.delivered;
	r->queued = dr.queued;
out:
	sodium_memzero(stmt, sizeof stmt);
	sodium_free(next);
	return rc;
}
