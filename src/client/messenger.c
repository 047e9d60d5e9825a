/*
 * messenger.c — the channel seen from one party (see messenger.h).
 *
 * What it must never do: show or store as received anything that did not
 * open, authenticate and decode; touch the network before the vault holds
 * what the user typed; acknowledge an envelope before its result is
 * committed; keep a plaintext or key in memory longer than the call.
 */
#include "client/messenger.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/audit.h"
#include "client/copies.h"
#include "client/grant.h"
#include "client/relay_client.h"
#include "client/via.h"
#include "crypto/kdf.h"
#include "envelope/envelope.h"
#include "relay/proto.h"
#include "session/message.h"
#include "session/ratchet.h"
#include "session/x3dh.h"
#include "util/codec.h"

int pl_msgr_open_relay(pl_vault *v, pl_rc_conn **c, pl_err *e)
{
	const uint8_t *pem;
	size_t pemlen;
	pl_vault_relay_ca(v, &pem, &pemlen);
	if (pl_rc_open_pem(c, pl_vault_relay_url(v), pem, pemlen,
			   pl_vault_relay_plain_http(v) ? PL_RC_PLAIN_HTTP : 0, e) != 0)
		return -1;
	if (pl_msgr_proxy(v, *c, e) != 0) {
		pl_rc_close(*c);
		*c = NULL;
		return -1;
	}
	return 0;
}

int pl_msgr_proxy(pl_vault *v, pl_rc_conn *c, pl_err *e)
{
	const char *proxy = pl_vault_relay_proxy(v);
	return proxy ? pl_rc_set_proxy(c, proxy, e) : 0;
}

/* Trust on first use: the relay key is pinned the first time; a different
 * key later means another relay or an impostor, and everything stops. */
static int pin_relay(pl_vault *v, pl_rc_conn *c, uint8_t pk[static 32], pl_err *e)
{
	uint8_t got[32];
	if (pl_rc_get_key(c, got, e) != 0)
		return -1;
	if (pl_vault_relay_key(v, pk) == 0) {
		if (sodium_memcmp(pk, got, 32) != 0)
			return pl_err_set(e, PL_EXIT_SECURITY,
					  "the relay at %s presents a different signing key than "
					  "the one pinned in this vault; it may be an impostor. "
					  "Nothing was sent",
					  pl_vault_relay_url(v));
		return 0;
	}
	memcpy(pk, got, 32);
	return pl_vault_set_relay_key(v, pk, e);
}

/* One-time prekeys: each new session a contact starts with us uses one (and
 * the vault deletes it); below OPK_LOW left, the vault makes enough for
 * OPK_TARGET and a publish uploads them, so a first message keeps its
 * forward secrecy instead of falling back to three-DH agreement. Publish
 * counts what the vault holds, an upper bound on what the relay has left;
 * every sync also learns the relay's own count from the mailbox listing
 * (anyone may take prekeys with GET /v1/bundle) and tops up from that
 * (pl_msgr_replenish); either way at most OPK_KEEP stay in the vault. */
#define OPK_LOW 10
#define OPK_TARGET 20
#define OPK_KEEP 500
/* The signed prekey is replaced weekly (as Signal does) and a replaced one
 * is kept five weeks for peers still holding the old bundle. */
#define SPK_MAX_AGE (7 * 86400)
#define SPK_KEEP (35 * 86400)

static int publish_bundle(pl_vault *v, pl_rc_conn *c, pl_err *e)
{
	const pl_identity *id = pl_vault_identity(v);
	pl_prekey opks[PL_PROTO_BUNDLE_MAX_OPK];
	int made, rotated;
	if (pl_vault_opk_top_up(v, -1, OPK_LOW, OPK_TARGET, OPK_KEEP, &made, e) != 0 ||
	    pl_vault_spk_refresh(v, pl_now(), SPK_MAX_AGE, SPK_KEEP, &rotated, e) != 0)
		return -1;
	/* A new signed prekey is not published until the upload below succeeds. */
	if (rotated && pl_vault_set_u64(v, "bundle_published", 0, e) != 0)
		return -1;
	int done = (int)pl_vault_get_u64(v, "bundle_published", 0);
	int n = pl_vault_opk_unpublished(v, opks, PL_PROTO_BUNDLE_MAX_OPK, e);
	if (n < 0)
		return -1;
	if (done && n == 0)
		return 0;
	pl_proto_bundle_upload *u = calloc(1, sizeof *u);
	pl_prekey spk;
	if (u == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	int rc = -1;
	uint32_t max_id = 0;
	if (pl_vault_spk_current(v, &spk, e) != 0)
		goto out;
	memcpy(u->ik, id->pk, 32);
	u->spk_id = spk.id;
	memcpy(u->spk, spk.pk, 32);
	if (pl_spk_sign(u->spk_sig, id, spk.id, spk.pk) != 0) {
		pl_err_set(e, PL_EXIT_ERROR, "could not sign the prekey");
		goto out;
	}
	for (int i = 0; i < n; i++) {
		u->opk[i].id = opks[i].id;
		memcpy(u->opk[i].pub, opks[i].pk, 32);
		if (opks[i].id > max_id)
			max_id = opks[i].id;
	}
	u->opk_count = (uint16_t)n;
	if (pl_rc_publish_bundle(c, id, u, e) != 0)
		goto out;
	if (pl_vault_begin(v, e) != 0)
		goto out;
	if ((n > 0 && pl_vault_opk_mark_published(v, max_id, e) != 0) ||
	    pl_vault_set_u64(v, "bundle_published", 1, e) != 0 || pl_vault_commit(v, e) != 0) {
		pl_vault_rollback(v);
		goto out;
	}
	rc = 0;
out:
	sodium_memzero(opks, sizeof opks);
	sodium_memzero(&spk, sizeof spk);
	free(u);
	return rc;
}

static int publish_token(pl_vault *v, pl_rc_conn *c, pl_err *e)
{
	if (pl_vault_get_u64(v, "token_registered", 0))
		return 0;
	uint8_t token[PL_TOKEN_LEN];
	if (pl_vault_own_token(v, token, e) != 0)
		return -1;
	int rc = pl_rc_put_token(c, pl_vault_identity(v), token, e);
	sodium_memzero(token, sizeof token);
	if (rc != 0)
		return -1;
	return pl_vault_set_u64(v, "token_registered", 1, e);
}

/* A grant whose locator the relay already holds for another mailbox (409)
 * is skipped and counted in *blocked, not fatal: the locator follows from
 * the two keys, so the contact it is meant for can register it first, and
 * that must cost that contact its own grant, not this vault its sync. */
static int publish_grants(pl_vault *v, pl_rc_conn *c, unsigned *blocked, pl_err *e)
{
	pl_contact *cs;
	size_t n;
	if (pl_vault_contact_list(v, &cs, &n, e) != 0)
		return -1;
	uint8_t token[PL_TOKEN_LEN];
	int rc = pl_vault_own_token(v, token, e);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (cs[i].grant_published)
			continue;
		uint8_t loc[PL_PROTO_GRANT_LOC_LEN], blob[PL_GRANT_BLOB_LEN];
		if (pl_grant_seal(loc, blob, pl_vault_identity(v), cs[i].ik, token) != 0) {
			rc = pl_err_set(e, PL_EXIT_SECURITY,
					"cannot derive a grant for \"%s\": their key is unusable",
					cs[i].name);
			break;
		}
		rc = pl_rc_put_grant(c, pl_vault_identity(v), loc, blob, sizeof blob, e);
		sodium_memzero(blob, sizeof blob);
		if (rc != 0 && pl_rc_last_status(c) == 409) {
			if (blocked)
				(*blocked)++;
			pl_err_clear(e);
			rc = 0;
			continue;
		}
		if (rc != 0)
			break;
		cs[i].grant_published = 1;
		rc = pl_vault_contact_put(v, &cs[i], e);
	}
	sodium_memzero(token, sizeof token);
	sodium_memzero(cs, n * sizeof *cs);
	free(cs);
	return rc;
}

int pl_msgr_publish(pl_vault *v, pl_err *e)
{
	return pl_msgr_publish_ex(v, NULL, e);
}

int pl_msgr_publish_ex(pl_vault *v, unsigned *grants_blocked, pl_err *e)
{
	pl_rc_conn *c;
	uint8_t rpk[32];
	if (pl_msgr_open_relay(v, &c, e) != 0)
		return -1;
	int rc = pin_relay(v, c, rpk, e);
	if (rc == 0)
		rc = publish_bundle(v, c, e);
	if (rc == 0)
		rc = publish_token(v, c, e);
	if (rc == 0)
		rc = publish_grants(v, c, grants_blocked, e);
	pl_rc_close(c);
	return rc;
}

int pl_msgr_replenish(pl_vault *v, int relay_left, int *added, pl_err *e)
{
	*added = 0;
	if (pl_vault_opk_top_up(v, relay_left, OPK_LOW, OPK_TARGET, OPK_KEEP, added, e) != 0)
		return -1;
	return *added > 0 ? pl_msgr_publish(v, e) : 0;
}

int pl_msgr_check_sendable(const pl_contact *c, pl_err *e)
{
	if (c->revoked) {
		char when[PL_RFC3339_LEN];
		pl_time_rfc3339(when, c->revoked);
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "%s's key was revoked by its owner on %s; nothing is sent to "
				  "it; verify a new key in person",
				  c->name, when);
	}
	if (c->key_changed)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "the key of \"%s\" changed and is not verified; compare the new "
				  "safety number (parley contact show %s) and run parley contact "
				  "verify %s SAFETY_NUMBER",
				  c->name, c->name, c->name);
	if (!c->verified && !c->introduced)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "contact \"%s\" is unverified; compare the safety number in "
				  "person (parley contact show %s) and run parley contact verify "
				  "%s SAFETY_NUMBER",
				  c->name, c->name, c->name);
	return 0;
}

int pl_msgr_queue(pl_vault *v, const char *contact, int kind, const uint8_t *body, size_t len,
		  uint8_t id[static 8], int64_t *seq, pl_err *e)
{
	return pl_msgr_queue_at(v, contact, kind, body, len, 0, id, seq, e);
}

uint64_t pl_msgr_ack_delay(pl_vault *v)
{
	uint64_t lo = pl_vault_get_u64(v, "ack_delay_min", PL_MSGR_ACK_DELAY_MIN);
	uint64_t hi = pl_vault_get_u64(v, "ack_delay_max", PL_MSGR_ACK_DELAY_MAX);
	if (hi > 86400)
		hi = 86400;
	if (lo > hi)
		lo = hi;
	return lo + randombytes_uniform((uint32_t)(hi - lo + 1));
}

int pl_msgr_check_identity(pl_vault *v, pl_err *e)
{
	uint64_t t = pl_vault_ik_revoked(v, pl_vault_identity(v)->pk);
	if (t == 0)
		return 0;
	char when[PL_RFC3339_LEN];
	pl_time_rfc3339(when, t);
	return pl_err_set(e, PL_EXIT_SECURITY,
			  "this vault's identity was revoked on %s; create a new vault (parley "
			  "init) and meet your contacts again",
			  when);
}

int pl_msgr_queue_statement(pl_vault *v, const char *contact, int kind, const uint8_t *stmt,
			    size_t len, uint64_t time, pl_err *e)
{
	pl_item it;
	memset(&it, 0, sizeof it);
	randombytes_buf(it.id, sizeof it.id);
	snprintf(it.contact, sizeof it.contact, "%s", contact);
	it.dir = PL_DIR_OUT;
	it.kind = kind;
	it.time = time;
	snprintf(it.state, sizeof it.state, "queued");
	pl_wr_init(&it.body);
	pl_wr_init(&it.receipt);
	pl_wr_bytes(&it.body, stmt, len);
	int rc = pl_wr_ok(&it.body) != 0	     ? pl_err_set(e, PL_EXIT_ERROR, "out of memory")
		 : pl_vault_item_add(v, &it, e) != 0 ? -1
						     : pl_vault_outbox_add(v, it.seq, contact, e);
	pl_vault_item_free(&it);
	return rc;
}

int pl_msgr_queue_at(pl_vault *v, const char *contact, int kind, const uint8_t *body, size_t len,
		     uint64_t not_before, uint8_t id[static 8], int64_t *seq, pl_err *e)
{
	pl_contact c;
	if (pl_msgr_check_identity(v, e) != 0)
		return -1;
	if (pl_vault_contact_get(v, contact, &c, e) != 0)
		return -1;
	int rc = pl_msgr_check_sendable(&c, e);
	sodium_memzero(&c, sizeof c);
	if (rc != 0)
		return -1;
	if (len > PL_PAYLOAD_MAX_BODY)
		return pl_err_set(e, PL_EXIT_USAGE,
				  "the text is %zu bytes; at most %d fit in one "
				  "note",
				  len, PL_PAYLOAD_MAX_BODY);
	pl_item it;
	memset(&it, 0, sizeof it);
	randombytes_buf(it.id, sizeof it.id);
	snprintf(it.contact, sizeof it.contact, "%s", contact);
	it.dir = PL_DIR_OUT;
	it.kind = kind;
	it.time = pl_now();
	snprintf(it.state, sizeof it.state, "queued");
	pl_wr_init(&it.body);
	pl_wr_init(&it.receipt);
	pl_wr_bytes(&it.body, body, len);
	if (pl_wr_ok(&it.body) != 0) {
		pl_vault_item_free(&it);
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	}
	rc = -1;
	if (pl_vault_begin(v, e) != 0)
		goto out;
	if (pl_vault_item_add(v, &it, e) != 0 ||
	    pl_vault_outbox_add_at(v, it.seq, contact, not_before, e) != 0 ||
	    pl_vault_commit(v, e) != 0) {
		pl_vault_rollback(v);
		goto out;
	}
	memcpy(id, it.id, 8);
	*seq = it.seq;
	rc = 0;
out:
	pl_vault_item_free(&it);
	return rc;
}

/* Picks the session to send on: one that has heard from the peer, else the
 * newest. Returns its index or -1. */
static int pick_send_session(pl_session_rec *s, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (s[i].replied)
			return (int)i;
	return n ? 0 : -1;
}

static int new_initiator_session(pl_vault *v, pl_rc_conn *c, const pl_contact *ct,
				 pl_session_rec *s, pl_err *e)
{
	pl_bundle b;
	uint8_t sk[PL_X3DH_SK_LEN];
	const pl_identity *me = pl_vault_identity(v);
	if (pl_rc_fetch_bundle(c, ct->ik, &b, e) != 0)
		return -1;
	if (sodium_memcmp(b.ik, ct->ik, PL_IK_LEN) != 0)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "the relay returned prekeys of another identity for \"%s\"; "
				  "nothing was sent",
				  ct->name);
	memset(s, 0, sizeof *s);
	if (pl_x3dh_initiate(sk, s->ek, me, &b) != 0)
		return pl_err_set(
		    e, PL_EXIT_SECURITY,
		    "the prekeys published for \"%s\" do not verify; nothing was sent", ct->name);
	pl_ratchet *r = pl_ratchet_new();
	int rc = -1;
	if (r == NULL) {
		pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		goto out;
	}
	if (pl_ratchet_init_alice(r, sk, b.spk) != 0) {
		pl_err_set(e, PL_EXIT_SECURITY, "key agreement with \"%s\" failed", ct->name);
		goto out;
	}
	memcpy(s->ik, ct->ik, PL_IK_LEN);
	pl_x3dh_ad(s->ad, me->pk, ct->ik);
	s->initiator = 1;
	s->spk_id = b.spk_id;
	s->opk_id = b.opk_id;
	s->used = pl_now();
	pl_wr_init(&s->state);
	if (pl_ratchet_save(r, &s->state) != 0 || pl_wr_ok(&s->state) != 0) {
		pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		goto out;
	}
	rc = 0;
out:
	pl_ratchet_free(r);
	sodium_memzero(sk, sizeof sk);
	return rc;
}

/* The session to send on (pick_send_session), or a new one started from the
 * contact's published prekeys in *fresh. */
static int send_session(pl_vault *v, pl_rc_conn *c, const pl_contact *ct, pl_session_rec *ss,
			size_t ns, pl_session_rec *fresh, pl_session_rec **s, pl_err *e)
{
	int idx = pick_send_session(ss, ns);
	if (idx >= 0) {
		*s = &ss[idx];
		return 0;
	}
	if (new_initiator_session(v, c, ct, fresh, e) != 0)
		return -1;
	*s = fresh;
	return 0;
}

/* Encrypts the item as a payload with session s (its ratchet loaded into r
 * and advanced) and encodes the session message into smsg: a prekey
 * message until the peer has answered a session we started. */
static int encrypt_item(pl_vault *v, const pl_contact *ct, const pl_item *it,
			const pl_session_rec *s, pl_ratchet *r, pl_wr *smsg, pl_err *e)
{
	pl_wr pay;
	pl_wr_init(&pay);
	pl_payload p = {
	    .kind = (uint8_t)it->kind, .time = it->time, .body = it->body.p, .bodylen = it->body.n};
	memcpy(p.id, it->id, sizeof p.id);
	pl_payload_encode(&pay, &p);
	uint8_t *rbuf = malloc(pay.n + PL_RATCHET_OVERHEAD);
	size_t rlen = 0;
	int rc = -1;
	if (pl_wr_ok(&pay) != 0 || rbuf == NULL) {
		pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		goto out;
	}
	if (pl_ratchet_load(r, s->state.p, s->state.n) != 0 ||
	    pl_ratchet_encrypt(r, s->ad, sizeof s->ad, pay.p, pay.n, rbuf, &rlen) != 0) {
		pl_err_set(e, PL_EXIT_SECURITY,
			   "the session with \"%s\" is damaged; cannot "
			   "encrypt",
			   ct->name);
		goto out;
	}
	pl_smsg m;
	memset(&m, 0, sizeof m);
	m.type = (s->initiator && !s->replied) ? PL_SMSG_PREKEY : PL_SMSG_NORMAL;
	memcpy(m.ik, pl_vault_identity(v)->pk, PL_IK_LEN);
	memcpy(m.ek, s->ek, sizeof m.ek);
	m.spk_id = s->spk_id;
	m.opk_id = s->opk_id;
	m.ratchet = rbuf;
	m.ratchetlen = rlen;
	pl_smsg_encode(smsg, &m);
	rc = 0;
out:
	if (rbuf) {
		sodium_memzero(rbuf, pay.n + PL_RATCHET_OVERHEAD);
		free(rbuf);
	}
	pl_wr_free(&pay);
	return rc;
}

/* Records the advanced ratchet state and the envelope it produced in one
 * transaction (own_txn), or in the caller's (deliver_batched), then
 * keeps the envelope in o for the deposit. In a batch the caller keeps
 * nothing in o until its transaction has committed. */
static int commit_sealed(pl_vault *v, pl_session_rec *s, const pl_ratchet *r, pl_outbox *o,
			 const uint8_t *env, size_t envlen, int own_txn, pl_err *e)
{
	pl_wr_free(&s->state);
	if (pl_ratchet_save(r, &s->state) != 0 || pl_wr_ok(&s->state) != 0)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	s->used = pl_now();
	if (own_txn && pl_vault_begin(v, e) != 0)
		return -1;
	if (pl_vault_session_save(v, s, e) != 0 ||
	    pl_vault_outbox_set_envelope(v, o->item_seq, env, envlen, e) != 0 ||
	    (own_txn && pl_vault_commit(v, e) != 0)) {
		if (own_txn)
			pl_vault_rollback(v);
		return -1;
	}
	pl_wr_free(&o->envelope);
	pl_wr_bytes(&o->envelope, env, envlen);
	return pl_wr_ok(&o->envelope);
}

/* Encrypts one outbox item into an envelope and records ratchet state and
 * envelope together: committed on their own (own_txn), or inside the
 * caller's transaction. */
static int seal_item_tx(pl_vault *v, pl_rc_conn *c, const pl_contact *ct, pl_outbox *o, int own_txn,
			pl_err *e)
{
	pl_item it;
	pl_session_rec *ss = NULL, fresh, *s = NULL;
	size_t ns = 0;
	pl_ratchet *r = NULL;
	pl_wr smsg;
	uint8_t *env = NULL;
	size_t envlen = 0;
	int rc = -1;
	memset(&fresh, 0, sizeof fresh);
	pl_wr_init(&fresh.state);
	pl_wr_init(&smsg);
	if (pl_vault_item_get(v, o->item_seq, &it, e) != 0)
		return -1;
	/* Queued to another contact than its own: a move for it that a
	 * mediator passes on (client/via.h). */
	if (strcmp(o->contact, it.contact) != 0 && pl_via_wrap(v, &it, e) != 0)
		goto out;
	if (pl_vault_sessions_load(v, ct->ik, &ss, &ns, e) != 0 ||
	    send_session(v, c, ct, ss, ns, &fresh, &s, e) != 0)
		goto out;
	r = pl_ratchet_new();
	if (r == NULL) {
		pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		goto out;
	}
	if (encrypt_item(v, ct, &it, s, r, &smsg, e) != 0)
		goto out;
	if (pl_wr_ok(&smsg) != 0 ||
	    pl_envelope_seal(&env, &envlen, ct->ik, pl_vault_identity(v)->pk, smsg.p, smsg.n) !=
		0) {
		pl_err_set(e, PL_EXIT_ERROR, "could not seal the envelope for \"%s\"", ct->name);
		goto out;
	}
	rc = commit_sealed(v, s, r, o, env, envlen, own_txn, e);
out:
	free(env);
	pl_ratchet_free(r);
	pl_wr_free(&smsg);
	pl_wr_free(&fresh.state);
	pl_vault_sessions_free(ss, ns);
	pl_vault_item_free(&it);
	return rc;
}

static int seal_item(pl_vault *v, pl_rc_conn *c, const pl_contact *ct, pl_outbox *o, pl_err *e)
{
	return seal_item_tx(v, c, ct, o, 1, e);
}

/* Gets the contact's mailbox token from the grant they published for us. */
static int fetch_token(pl_vault *v, pl_rc_conn *c, pl_contact *ct, pl_err *e)
{
	uint8_t loc[PL_PROTO_GRANT_LOC_LEN], blob[PL_PROTO_GRANT_BLOB_MAX];
	size_t n = 0;
	const pl_identity *me = pl_vault_identity(v);
	if (pl_grant_locator(loc, me, ct->ik, ct->ik) != 0)
		return pl_err_set(e, PL_EXIT_SECURITY, "the key of \"%s\" is unusable", ct->name);
	pl_err ge;
	pl_err_clear(&ge);
	if (pl_rc_get_grant(c, loc, blob, &n, &ge) != 0) {
		if (ge.code == PL_EXIT_NOTFOUND)
			return pl_err_set(
			    e, PL_EXIT_NETWORK,
			    "\"%s\" has not yet let you write to their mailbox (they "
			    "must add you as a contact and sync); the note stays queued",
			    ct->name);
		*e = ge;
		return -1;
	}
	if (pl_grant_open(ct->token, me, ct->ik, blob, n) != 0)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "the access grant from \"%s\" does not open; it was not made by "
				  "their key. The note stays queued",
				  ct->name);
	ct->has_token = 1;
	return pl_vault_contact_put(v, ct, e);
}

/* Records a deposit's receipt: the item delivered and out of the outbox,
 * in its own transaction (own_txn) or in the caller's. */
static int record_receipt(pl_vault *v, pl_outbox *o, const pl_receipt *rc, int own_txn, pl_err *e)
{
	uint8_t receipt[PL_RECEIPT_MAX];
	size_t rlen = pl_receipt_encode(receipt, rc);
	if (rlen == 0)
		return pl_err_set(e, PL_EXIT_SECURITY, "the relay's receipt cannot be stored");
	/* Only a queued item becomes delivered: a reply may already have
	 * moved it on (e.g. accepted) if an earlier receipt was lost. The
	 * receipt is kept either way. */
	pl_item cur;
	char state[16] = "delivered";
	if (pl_vault_item_get(v, o->item_seq, &cur, e) != 0)
		return -1;
	if (strcmp(cur.state, "queued") != 0)
		snprintf(state, sizeof state, "%s", cur.state);
	pl_vault_item_free(&cur);
	if (own_txn && pl_vault_begin(v, e) != 0)
		return -1;
	if (pl_vault_item_set_state(v, o->item_seq, state, receipt, rlen, e) != 0 ||
	    pl_vault_outbox_remove(v, o->item_seq, e) != 0 ||
	    (own_txn && pl_vault_commit(v, e) != 0)) {
		if (own_txn)
			pl_vault_rollback(v);
		return -1;
	}
	return 0;
}

/* Deposits o's envelope; the receipt is recorded in its own transaction
 * (own_txn) or in the caller's. */
static int deposit_item_tx(pl_vault *v, pl_rc_conn *c, const uint8_t rpk[static 32], pl_contact *ct,
			   pl_outbox *o, int own_txn, pl_err *e)
{
	pl_receipt rc;
	for (int attempt = 0; attempt < 2; attempt++) {
		/* fetch_token stores the token: its own write, so a batch
		 * (deliver_batched) has fetched it before its transaction */
		if (!ct->has_token && !own_txn)
			return pl_err_set(e, PL_EXIT_ERROR,
					  "internal error: a batched deposit without a token");
		if (!ct->has_token && fetch_token(v, c, ct, e) != 0)
			return -1;
		pl_err de;
		pl_err_clear(&de);
		if (pl_rc_deposit(c, rpk, ct->ik, ct->token, o->envelope.p, o->envelope.n, &rc,
				  &de) == 0)
			return record_receipt(v, o, &rc, own_txn, e);
		if (pl_rc_last_status(c) != 403 || !ct->has_token || attempt == 1 || !own_txn) {
			*e = de;
			return -1;
		}
		/* The token was refused: they may have rotated it. Fetch the grant again. */
		ct->has_token = 0;
	}
	return -1;
}

static int deposit_item(pl_vault *v, pl_rc_conn *c, const uint8_t rpk[static 32], pl_contact *ct,
			pl_outbox *o, pl_err *e)
{
	return deposit_item_tx(v, c, rpk, ct, o, 1, e);
}

/* Counts a deposited item in the sync report (NULL: none). */
static void count_sent(pl_sync_report *r, const pl_outbox *o)
{
	if (r && o->kind == PL_KIND_ACK)
		r->acks_sent++;
	else if (r)
		r->delivered++;
}

/* A connection to the relay where ct's mailbox lives when that is not
 * ours (ct->has_relay, another key): the key it presents must be the one
 * ct's signed notice (or our own earlier pin) named, or it is an impostor. */
static int open_contact_relay(pl_vault *v, const pl_contact *ct, pl_rc_conn **c, pl_err *e)
{
	pl_wr pem;
	uint8_t got[32];
	if (pl_vault_contact_relay_ca(v, ct->name, &pem, e) != 0)
		return -1;
	int rc = pl_rc_open_pem(c, ct->relay_url, pem.n ? pem.p : NULL, pem.n,
				pl_vault_relay_plain_http(v) ? PL_RC_PLAIN_HTTP : 0, e);
	pl_wr_free(&pem);
	if (rc != 0)
		return -1;
	if (pl_msgr_proxy(v, *c, e) != 0 || pl_rc_get_key(*c, got, e) != 0)
		rc = -1;
	else if (sodium_memcmp(got, ct->relay_key, 32) != 0)
		rc = pl_err_set(e, PL_EXIT_SECURITY,
				"the relay at %s, where the mailbox of \"%s\" lives, presents "
				"another key than the one recorded for it; it may be an impostor. "
				"Nothing was sent to \"%s\"",
				ct->relay_url, ct->name, ct->name);
	if (rc != 0) {
		pl_rc_close(*c);
		*c = NULL;
	}
	return rc;
}

/* Whether the item may go to ct's relay: anything may go to ours (checked
 * by the caller), but a relay this vault caught lying gets only relay
 * notices. Those it can at worst withhold (they are end-to-end
 * authenticated and signed), and they are the way out of it; a note or a
 * move would read "delivered" through a relay this vault no longer
 * believes. 1 may go, 0 held, -1 error. */
static int may_go(pl_vault *v, const pl_contact *ct, const pl_outbox *o, pl_err *e)
{
	int caught = pl_vault_relay_caught(v, ct->relay_key);
	if (caught < 0)
		return pl_err_set(e, PL_EXIT_VAULT, "cannot read the vault");
	if (!caught)
		return 1;
	pl_item it;
	if (pl_vault_item_get(v, o->item_seq, &it, e) != 0)
		return -1;
	int kind = it.kind;
	pl_vault_item_free(&it);
	return kind == PL_KIND_RELAY;
}

/* Seals (unless it already was) and deposits one outbox item, through our
 * relay (c, rpk) or the one the contact's mailbox moved to. An item to a
 * contact who is no longer sendable is left queued: blocked until
 * re-verified, while later items to others go on; so is one held by
 * may_go. */
static int deliver_one(pl_vault *v, pl_rc_conn *c, const uint8_t rpk[static 32], pl_outbox *o,
		       pl_sync_report *r, pl_err *e)
{
	pl_contact ct;
	if (pl_vault_contact_get(v, o->contact, &ct, e) != 0)
		return -1;
	pl_err se;
	pl_err_clear(&se);
	int rc = 0;
	pl_rc_conn *oc = NULL;
	/* A revoked vault's last word is its revocation; anything queued
	 * before it stays queued. */
	int dead = o->kind != PL_KIND_REVOKE && pl_msgr_check_identity(v, NULL) != 0;
	if (!dead && pl_msgr_check_sendable(&ct, &se) == 0) {
		int go = 1;
		if (ct.has_relay && sodium_memcmp(ct.relay_key, rpk, 32) != 0) {
			go = may_go(v, &ct, o, e);
			if (go == 1 && open_contact_relay(v, &ct, &oc, e) != 0)
				go = -1;
			if (go == 0 && r)
				r->relay_caught++;
		}
		pl_rc_conn *via = oc ? oc : c;
		const uint8_t *key = oc ? ct.relay_key : rpk;
		rc = go < 0 ? -1 : 0;
		if (go == 1 && o->envelope.n == 0)
			rc = seal_item(v, via, &ct, o, e);
		if (go == 1 && rc == 0)
			rc = deposit_item(v, via, key, &ct, o, e);
		if (go == 1 && rc == 0)
			count_sent(r, o);
	}
	pl_rc_close(oc);
	sodium_memzero(&ct, sizeof ct);
	return rc;
}

int pl_msgr_seal_kind(pl_vault *v, int kind, unsigned *unsealed, pl_err *e)
{
	pl_outbox *ob;
	size_t n;
	*unsealed = 0;
	if (pl_vault_outbox_list(v, &ob, &n, e) != 0)
		return -1;
	pl_rc_conn *c = NULL;
	int rc = 0;
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (ob[i].kind != kind || ob[i].envelope.n > 0)
			continue;
		pl_contact ct;
		if (pl_vault_contact_get(v, ob[i].contact, &ct, e) != 0) {
			rc = -1;
			break;
		}
		pl_rc_conn *oc = NULL;
		if (pl_msgr_check_sendable(&ct, NULL) != 0) {
			(*unsealed)++;
		} else if (ct.has_relay) {
			rc = open_contact_relay(v, &ct, &oc, e);
			if (rc == 0)
				rc = seal_item(v, oc, &ct, &ob[i], e);
		} else {
			if (c == NULL)
				rc = pl_msgr_open_relay(v, &c, e);
			if (rc == 0)
				rc = seal_item(v, c, &ct, &ob[i], e);
		}
		pl_rc_close(oc);
		sodium_memzero(&ct, sizeof ct);
	}
	pl_rc_close(c);
	pl_vault_outbox_free(ob, n);
	return rc;
}

void pl_msgr_outbox_count(pl_vault *v, pl_sync_report *r)
{
	pl_outbox *left;
	size_t nleft;
	if (r == NULL || pl_vault_outbox_list(v, &left, &nleft, NULL) != 0)
		return;
	r->queued = r->acks_waiting = 0;
	for (size_t i = 0; i < nleft; i++) {
		if (left[i].kind == PL_KIND_ACK)
			r->acks_waiting++;
		else
			r->queued++;
	}
	pl_vault_outbox_free(left, nleft);
}

/* Which items go out now: due ones, and acknowledgments to a contact that
 * a due item of another kind goes to anyway. */
static void mark_eligible(const pl_outbox *ob, size_t n, uint64_t now, uint8_t *go)
{
	for (size_t i = 0; i < n; i++)
		go[i] = ob[i].not_before <= now;
	for (size_t i = 0; i < n; i++) {
		if (go[i] || ob[i].kind != PL_KIND_ACK)
			continue;
		for (size_t j = 0; j < n && !go[i]; j++)
			if (ob[j].kind != PL_KIND_ACK && ob[j].not_before <= now &&
			    strcmp(ob[j].contact, ob[i].contact) == 0)
				go[i] = 1;
	}
}

/* Many items to one contact (a long blind-match list travels in dozens of
 * parts) are sealed BATCH_MAX at a time in one transaction, then deposited
 * and their receipts recorded in one more: every commit seals and writes
 * the whole vault, so one commit per part made a long list cost n^2.
 * The rule that makes a ratchet key never encrypt twice holds: no envelope
 * is deposited before the transaction holding its ratchet state has
 * committed, and a batch that fails to commit forgets its envelopes (the
 * ratchet state is rolled back with them). A crash after deposits and
 * before their receipts are recorded leaves the envelopes in the outbox:
 * the next sync deposits the same bytes again, which the relay stores once
 * and receipts again. Crash points (pl_fault_point) for
 * tests/integration/test_crash.sh: PARLEY_FAULT=batch-sealed dies once a
 * batch's envelopes are committed and before any is deposited,
 * batch-deposited once they are deposited and before the receipts are
 * recorded. Neither may lose, double or re-encrypt anything. */
#define BATCH_MAX 64

/* Seals and deposits what it can of one contact's eligible items, in
 * batches; clears go[i] for each one delivered. Anything it cannot do (a
 * lone item, a contact on another relay, a refused deposit, a failure) is
 * left to deliver_one, which does it one by one and reports the error. */
static void deliver_batched(pl_vault *v, pl_rc_conn *c, const uint8_t rpk[static 32], pl_outbox *ob,
			    size_t n, size_t first, uint8_t *go, pl_sync_report *r)
{
	pl_contact ct;
	size_t idx[BATCH_MAX];
	if (pl_vault_contact_get(v, ob[first].contact, &ct, NULL) != 0)
		return;
	if (pl_msgr_check_identity(v, NULL) != 0 || pl_msgr_check_sendable(&ct, NULL) != 0 ||
	    (ct.has_relay && sodium_memcmp(ct.relay_key, rpk, 32) != 0) ||
	    (!ct.has_token && fetch_token(v, c, &ct, NULL) != 0))
		goto out;
	for (size_t from = first;;) {
		size_t k = 0;
		for (size_t i = from; k < BATCH_MAX && i < n; i++)
			if (go[i] && strcmp(ob[i].contact, ct.name) == 0)
				idx[k++] = i;
		if (k < 2)
			break;
		from = idx[k - 1] + 1;
		/* 1. Seal every one not sealed yet, in one transaction. */
		uint8_t fresh[BATCH_MAX] = {0};
		size_t unsealed = 0;
		for (size_t j = 0; j < k; j++)
			unsealed += ob[idx[j]].envelope.n == 0;
		int ok = unsealed == 0 || pl_vault_begin(v, NULL) == 0;
		for (size_t j = 0; ok && unsealed && j < k; j++) {
			if (ob[idx[j]].envelope.n > 0)
				continue;
			fresh[j] = 1;
			ok = seal_item_tx(v, c, &ct, &ob[idx[j]], 0, NULL) == 0;
		}
		if (ok && unsealed && pl_vault_commit(v, NULL) != 0)
			ok = 0;
		if (!ok) {
			pl_vault_rollback(v);
			/* their ratchet state is gone with the transaction: these
			 * envelopes must never be deposited */
			for (size_t j = 0; j < k; j++)
				if (fresh[j]) {
					pl_wr_free(&ob[idx[j]].envelope);
					pl_wr_init(&ob[idx[j]].envelope);
				}
			break;
		}
		pl_fault_point("batch-sealed");
		/* 2. Deposit them, and record the receipts in one transaction. */
		size_t done = 0;
		if (pl_vault_begin(v, NULL) != 0)
			break;
		while (done < k && deposit_item_tx(v, c, rpk, &ct, &ob[idx[done]], 0, NULL) == 0)
			done++;
		pl_fault_point("batch-deposited");
		if (pl_vault_commit(v, NULL) != 0) {
			pl_vault_rollback(v); /* deposited, not recorded: sent again, stored once */
			break;
		}
		for (size_t j = 0; j < done; j++) {
			go[idx[j]] = 0;
			count_sent(r, &ob[idx[j]]);
		}
		if (done < k)
			break; /* deliver_one tries again and says why */
	}
out:
	sodium_memzero(&ct, sizeof ct);
}

/* The eligible items of one contact (the first one still to do, and every
 * later one to the same contact), in outbox order, over a connection of
 * their own: deposits to two contacts do not share a connection. */
static int deliver_contact(pl_vault *v, const uint8_t rpk[static 32], pl_outbox *ob, size_t n,
			   size_t first, uint8_t *go, pl_sync_report *r, pl_err *e)
{
	pl_rc_conn *c;
	if (pl_msgr_open_relay(v, &c, e) != 0)
		return -1;
	int rc = 0;
	deliver_batched(v, c, rpk, ob, n, first, go, r);
	for (size_t i = first; rc == 0 && i < n; i++) {
		if (!go[i] || strcmp(ob[i].contact, ob[first].contact) != 0)
			continue;
		go[i] = 0;
		rc = deliver_one(v, c, rpk, &ob[i], r, e);
	}
	pl_rc_close(c);
	return rc;
}

int pl_msgr_deliver(pl_vault *v, pl_sync_report *r, pl_err *e)
{
	pl_outbox *ob;
	size_t n;
	if (pl_vault_outbox_list(v, &ob, &n, e) != 0)
		return -1;
	if (n == 0) {
		pl_vault_outbox_free(ob, n);
		return 0;
	}
	uint8_t *go = calloc(n, 1);
	if (go == NULL) {
		pl_vault_outbox_free(ob, n);
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	}
	mark_eligible(ob, n, pl_now(), go);
	size_t todo = 0;
	for (size_t i = 0; i < n; i++)
		todo += go[i];
	pl_rc_conn *c;
	uint8_t rpk[32];
	int rc = todo ? pl_msgr_open_relay(v, &c, e) : 0;
	if (rc == 0 && todo) {
		rc = pin_relay(v, c, rpk, e);
		/* The same check as a sync: nothing is handed to a relay whose
		 * log contradicts what it signed before (a fork, a rollback),
		 * or a note would read "delivered" through a relay this vault
		 * no longer believes. */
		pl_audit_report ar;
		if (rc == 0)
			rc = pl_audit_checkpoint(v, c, &ar, e);
		/* Before anything is encrypted: is this vault an older copy of
		 * itself (the log shows our key fetching what we never got)? */
		pl_copies_report cr;
		memset(&cr, 0, sizeof cr);
		if (rc == 0)
			rc = pl_copies_check(v, c, 1, &cr, e);
		pl_rc_close(c);
		if (rc == 0 && cr.reacted) {
			pl_copies_note(r, &cr);
			free(go);
			pl_vault_outbox_free(ob, n);
			/* Again with the notices queued and the new bundle out. */
			if (pl_msgr_publish(v, e) != 0)
				return -1;
			return pl_msgr_deliver(v, r, e);
		}
		for (size_t i = 0; rc == 0 && i < n; i++)
			if (go[i])
				rc = deliver_contact(v, rpk, ob, n, i, go, r, e);
	}
	pl_msgr_outbox_count(v, r);
	free(go);
	pl_vault_outbox_free(ob, n);
	return rc;
}
