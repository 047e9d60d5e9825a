/*
 * introduce.c — sending introductions and the receiver's checks
 * (introduce.h).
 *
 * What it must never do: vouch for a key the mediator did not verify in
 * person (that would launder it); accept an introduction from anyone but
 * a contact verified in person, or one not signed by that contact's key,
 * or not meant for this vault; replace the key of any existing contact;
 * mark anything verified; touch the network inside a transaction.
 */
#include "client/introduce.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "client/relay_client.h"
#include "envelope/envelope.h"
#include "util/codec.h"

/* ---- receiving ------------------------------------------------------------ */

static int refuse(pl_err *e, const char *from, const char *why)
{
	return pl_err_set(e, PL_EXIT_SECURITY,
			  "an introduction from \"%s\" was refused: %s; no contact was added", from,
			  why);
}

/* A free contact name for an introduced key whose given name is taken:
 * NAME-2 .. NAME-99 if it fits, else "introduced-" and 16 hex digits of
 * the key. 0 found (into out), 1 none free, -1 vault error. */
static int free_name(pl_vault *v, const char *given, const uint8_t ik[static PL_IK_LEN],
		     char out[static PL_NAME_MAX + 1], pl_err *e)
{
	for (int k = 2; k < 100; k++) {
		char cand[PL_NAME_MAX + 8];
		int n = snprintf(cand, sizeof cand, "%s-%d", given, k);
		if (n < 0 || n > PL_NAME_MAX)
			break;
		pl_contact c;
		pl_err ce;
		pl_err_clear(&ce);
		if (pl_vault_contact_get(v, cand, &c, &ce) == 0) {
			sodium_memzero(&c, sizeof c);
			continue;
		}
		if (ce.code != PL_EXIT_NOTFOUND) {
			*e = ce;
			return -1;
		}
		memcpy(out, cand, (size_t)n + 1);
		return 0;
	}
	char hex[PL_KEY_HEX_LEN];
	pl_hex_encode(hex, ik, PL_IK_LEN);
	snprintf(out, PL_NAME_MAX + 1, "introduced-%.16s", hex);
	/* Never a name in use: contact_put would replace that contact. */
	pl_contact c;
	pl_err ce;
	pl_err_clear(&ce);
	if (pl_vault_contact_get(v, out, &c, &ce) == 0) {
		sodium_memzero(&c, sizeof c);
		return 1;
	}
	if (ce.code != PL_EXIT_NOTFOUND) {
		*e = ce;
		return -1;
	}
	return 0;
}

/* The introduced key must be usable as a contact's: not ours (now or
 * before), not revoked. */
static int introduced_ok(pl_vault *v, const pl_contact *ct, const pl_introduction *s, pl_err *e)
{
	if (sodium_memcmp(s->introduced_ik, pl_vault_identity(v)->pk, PL_IK_LEN) == 0)
		return refuse(e, ct->name, "it introduces this vault's own key"), 1;
	int hist = pl_vault_identity_history(v, s->introduced_ik, e);
	if (hist < 0)
		return -1;
	if (hist)
		return refuse(e, ct->name, "it introduces a key this vault used before"), 1;
	if (pl_vault_ik_revoked(v, s->introduced_ik))
		return refuse(e, ct->name, "it introduces a key that was revoked"), 1;
	return 0;
}

/* Where the new contact's mailbox lives: nothing to record when it is our
 * own relay (the same key), else the URL and key the introducer gave, if
 * this vault may use that URL. 0, 1 refused, -1. */
static int relay_ok(pl_vault *v, const pl_contact *ct, const pl_introduction *s, int *same,
		    pl_err *e)
{
	uint8_t ours[32];
	*same = pl_vault_relay_key(v, ours) == 0 && sodium_memcmp(ours, s->relay_key, 32) == 0;
	if (*same)
		return 0;
	int plain = pl_rc_url_plain_remote(s->url);
	if (plain < 0)
		return refuse(e, ct->name, "the relay address it gives is not a relay URL"), 1;
	if (plain == 1 && !pl_vault_relay_plain_http(v))
		return refuse(e, ct->name,
			      "the relay address it gives is plain http:// to another computer, "
			      "which this vault does not allow"),
		       1;
	return 0;
}

int pl_intro_apply(pl_vault *v, const pl_contact *ct, const uint8_t carrier[static PL_IK_LEN],
		   const uint8_t *stmt, size_t len, int *what, char *name, int *clash, pl_err *e)
{
	pl_introduction s;
	*what = PL_INTRO_REFUSED;
	*clash = 0;
	name[0] = '\0';
	if (ct->revoked || ct->key_changed || !ct->verified)
		return refuse(e, ct->name,
			      ct->revoked	? "their key was revoked"
			      : ct->key_changed ? "their key changed and is not verified"
						: "they are not a contact you verified in person, "
						  "so they cannot vouch for anyone"),
		       1;
	if (sodium_memcmp(ct->ik, carrier, PL_IK_LEN) != 0)
		return refuse(e, ct->name, "it came under a key that is no longer theirs"), 1;
	if (pl_introduction_decode(&s, stmt, len) != 0)
		return refuse(e, ct->name, "it is malformed or not signed"), 1;
	if (sodium_memcmp(s.introducer_ik, ct->ik, PL_IK_LEN) != 0)
		return refuse(e, ct->name, "it is signed by another key than theirs"), 1;
	if (sodium_memcmp(s.recipient_ik, pl_vault_identity(v)->pk, PL_IK_LEN) != 0)
		return refuse(e, ct->name, "it is meant for another recipient"), 1;
	int ok = introduced_ok(v, ct, &s, e);
	if (ok != 0)
		return ok;

	pl_intro_rec rec, prev;
	memset(&rec, 0, sizeof rec);
	memcpy(rec.introduced_ik, s.introduced_ik, PL_IK_LEN);
	memcpy(rec.introducer_ik, ct->ik, PL_IK_LEN);
	snprintf(rec.introducer_name, sizeof rec.introducer_name, "%s", ct->name);
	rec.time = s.time;
	rec.applied = pl_now();
	rec.stmt_len = len;
	memcpy(rec.stmt, stmt, len);

	pl_contact known;
	pl_err ce;
	pl_err_clear(&ce);
	int found = pl_vault_contact_by_ik(v, s.introduced_ik, &known, &ce);
	if (found != 0 && ce.code != PL_EXIT_NOTFOUND) {
		*e = ce;
		return -1;
	}
	int got = pl_vault_intro_get(v, s.introduced_ik, &prev, e);
	if (got < 0) {
		sodium_memzero(&known, sizeof known);
		return -1;
	}
	if (found == 0) {
		/* Known already: the introduction is recorded, the contact is
		 * left exactly as it is (its key, name, verification). */
		snprintf(name, PL_NAME_MAX + 1, "%s", known.name);
		int vouched = known.introduced != 0;
		sodium_memzero(&known, sizeof known);
		if (got == 1 && sodium_memcmp(prev.introducer_ik, ct->ik, PL_IK_LEN) == 0) {
			*what = PL_INTRO_REPLAY;
			return 0;
		}
		if (got == 1 && vouched) {
			*what = PL_INTRO_KNOWN;
			return 0;
		}
		if (pl_vault_intro_put(v, &rec, e) != 0)
			return -1;
		*what = PL_INTRO_RECORDED;
		return 0;
	}

	/* A new key: a new contact, never a new key for a known one. */
	int same = 0;
	ok = relay_ok(v, ct, &s, &same, e);
	if (ok != 0)
		return ok;
	if (pl_vault_name_check(s.name, NULL) != 0)
		return refuse(e, ct->name, "the name it gives is not a valid contact name"), 1;
	pl_contact c;
	memset(&c, 0, sizeof c);
	pl_err_clear(&ce);
	int taken = pl_vault_contact_get(v, s.name, &c, &ce);
	sodium_memzero(&c, sizeof c);
	if (taken != 0 && ce.code != PL_EXIT_NOTFOUND) {
		*e = ce;
		return -1;
	}
	if (taken == 0) {
		/* The name is another key's: never replaced. Added under a
		 * distinct name and flagged, for the user to check. */
		*clash = 1;
		rec.flags |= PL_INTRO_REC_NAME_CLASH;
		int fr = free_name(v, s.name, s.introduced_ik, c.name, e);
		if (fr < 0)
			return -1;
		if (fr == 1)
			return refuse(e, ct->name,
				      "the name it gives is taken and no other name is free"),
			       1;
	} else {
		snprintf(c.name, sizeof c.name, "%s", s.name);
	}
	memcpy(c.ik, s.introduced_ik, PL_IK_LEN);
	c.added = pl_now();
	int rc = pl_vault_contact_put(v, &c, e) != 0 ||
			 (!same && pl_vault_contact_set_relay(v, c.name, s.url, s.relay_key, NULL,
							      0, 0, e) != 0) ||
			 pl_vault_intro_put(v, &rec, e) != 0
		     ? -1
		     : 0;
	if (rc == 0) {
		snprintf(name, PL_NAME_MAX + 1, "%s", c.name);
		*what = PL_INTRO_ADDED;
	}
	sodium_memzero(&c, sizeof c);
	return rc;
}

int pl_intro_of(pl_vault *v, const pl_contact *ct, pl_intro_rec *r, char *introducer, int *vouched,
		pl_err *e)
{
	int got = pl_vault_intro_get(v, ct->ik, r, e);
	if (got <= 0)
		return got;
	if (vouched)
		*vouched = ct->introduced != 0;
	if (introducer) {
		pl_contact m;
		pl_err ce;
		pl_err_clear(&ce);
		if (pl_vault_contact_by_ik(v, r->introducer_ik, &m, &ce) == 0)
			snprintf(introducer, PL_NAME_MAX + 1, "%s", m.name);
		else
			snprintf(introducer, PL_NAME_MAX + 1, "%s", r->introducer_name);
		sodium_memzero(&m, sizeof m);
	}
	return 1;
}

/* ---- sending -------------------------------------------------------------- */

/* Only a contact verified in person may be vouched for, or told. */
static int vouchable(const pl_contact *c, pl_err *e)
{
	if (c->revoked)
		return pl_err_set(
		    e, PL_EXIT_SECURITY,
		    "\"%s\"'s key was revoked; an introduction cannot vouch for it or "
		    "go to it; verify a new key in person first",
		    c->name);
	if (c->key_changed || !c->verified)
		return pl_err_set(
		    e, PL_EXIT_SECURITY,
		    "\"%s\" is %s; you can only introduce contacts you verified in person "
		    "(vouching for a key you never checked would launder it): compare the "
		    "safety number (parley contact show %s) and run parley contact verify %s "
		    "SAFETY_NUMBER",
		    c->name,
		    c->key_changed  ? "a key that changed and is not verified"
		    : c->introduced ? "only introduced to you, not verified in person"
				    : "not verified",
		    c->name, c->name);
	return 0;
}

/* The statement to `to` vouching for `about`. */
static int make_one(pl_vault *v, const pl_contact *to, const pl_contact *about,
		    const uint8_t ours[static 32], uint64_t now, pl_wr *w, pl_err *e)
{
	pl_introduction s;
	memset(&s, 0, sizeof s);
	memcpy(s.recipient_ik, to->ik, PL_IK_LEN);
	memcpy(s.introduced_ik, about->ik, PL_IK_LEN);
	memcpy(s.relay_key, about->has_relay ? about->relay_key : ours, 32);
	snprintf(s.url, sizeof s.url, "%s",
		 about->has_relay ? about->relay_url : pl_vault_relay_url(v));
	snprintf(s.name, sizeof s.name, "%s", about->name);
	s.time = now;
	if (pl_introduction_make(w, pl_vault_identity(v), &s) != 0 || pl_wr_ok(w) != 0)
		return pl_err_set(e, PL_EXIT_ERROR,
				  "could not make the introduction of \"%s\" (its relay address "
				  "may be too long); nothing was sent",
				  about->name);
	return 0;
}

int pl_intro_send(pl_vault *v, const char *name1, const char *name2, pl_intro_report *r, pl_err *e)
{
	memset(r, 0, sizeof *r);
	if (pl_msgr_check_identity(v, e) != 0)
		return 1;
	pl_contact a, b;
	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	uint8_t ours[32];
	pl_wr wa, wb;
	pl_wr_init(&wa);
	pl_wr_init(&wb);
	int rc = 1;
	if (pl_vault_contact_get(v, name1, &a, e) != 0 ||
	    pl_vault_contact_get(v, name2, &b, e) != 0)
		goto out;
	if (sodium_memcmp(a.ik, b.ik, PL_IK_LEN) == 0) {
		pl_err_set(e, PL_EXIT_USAGE,
			   "\"%s\" and \"%s\" are one contact; name two different contacts", name1,
			   name2);
		goto out;
	}
	if (vouchable(&a, e) != 0 || vouchable(&b, e) != 0)
		goto out;
	if (pl_vault_relay_key(v, ours) != 0) {
		pl_err_set(e, PL_EXIT_NETWORK,
			   "this vault has not met its relay yet; run parley sync, then parley "
			   "introduce again");
		goto out;
	}
	r->time = pl_now();
	if (make_one(v, &a, &b, ours, r->time, &wa, e) != 0 ||
	    make_one(v, &b, &a, ours, r->time, &wb, e) != 0)
		goto out;
	rc = -1;
	if (pl_vault_begin(v, e) != 0)
		goto out;
	if (pl_msgr_queue_statement(v, a.name, PL_KIND_INTRODUCE, wa.p, wa.n, r->time, e) != 0 ||
	    pl_msgr_queue_statement(v, b.name, PL_KIND_INTRODUCE, wb.p, wb.n, r->time, e) != 0 ||
	    pl_vault_commit(v, e) != 0) {
		pl_vault_rollback(v);
		goto out;
	}
	rc = 0;
	pl_sync_report dr;
	pl_err ne;
	memset(&dr, 0, sizeof dr);
	pl_err_clear(&ne);
	if (pl_msgr_deliver(v, &dr, &ne) != 0)
		snprintf(r->why, sizeof r->why, "%s", ne.msg);
	pl_msgr_outbox_count(v, &dr);
	r->delivered = dr.delivered;
	r->queued = dr.queued;
out:
	pl_wr_free(&wa);
	pl_wr_free(&wb);
	sodium_memzero(&a, sizeof a);
	sodium_memzero(&b, sizeof b);
	return rc;
}
