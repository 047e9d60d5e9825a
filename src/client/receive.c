/*
 * receive.c — fetching and processing envelopes (the other half of
 * messenger.h). An envelope becomes an item only after it opened, its
 * session message decrypted under a session bound to the sender's identity
 * key, and its payload decoded; ratchet state, item and "seen" mark are
 * committed in one transaction, and only then is the relay told to drop it.
 *
 * What it must never do: know what a negotiation object means. An object
 * payload goes to the handler the caller passed (pl_msgr_object_handler);
 * without one the envelope is kept sealed and pending, never acked as
 * processed and dropped.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/audit.h"
#include "client/copies.h"
#include "client/introduce.h"
#include "client/messenger.h"
#include "client/move.h"
#include "client/relay_client.h"
#include "client/revoke.h"
#include "client/rotate.h"
#include "crypto/kdf.h"
#include "envelope/envelope.h"
#include "relay/proto.h"
#include "session/message.h"
#include "session/ratchet.h"
#include "session/x3dh.h"
#include "util/codec.h"

#define FETCH_ROUNDS_MAX 64

/* Crash points (pl_fault_point) for the crash tests (tests/integration/test_negotiation.sh):
 * PARLEY_FAULT=after-fetch dies once a listing is fetched and before any of
 * it is processed; after-commit dies once the listing's results are
 * committed (one batch) and before the relay is told. Both must lose and
 * double nothing. */

/* PROC_TAKEN: authentic, but it reuses the id of an item we hold (refused
 * like PROC_REJECT, and counted apart so the user hears of it). */
/* PROC_REVOKED: from a contact whose key was revoked (refused like
 * PROC_REJECT, counted apart). */
/* PROC_OVERFLOW: would be kept pending, but the vault holds as many
 * unread envelopes from unknown or unverified keys as it keeps (dropped,
 * counted apart). */
enum {
	PROC_OK = 0,
	PROC_DUP,
	PROC_REJECT,
	PROC_PENDING,
	PROC_ERROR,
	PROC_ACK,
	PROC_TAKEN,
	PROC_OVERFLOW,
	PROC_REVOKED
};

/* apply_payload's answer for an object nobody can check (yet): keep it
 * sealed. */
#define APPLY_UNHANDLED PL_MSGR_OBJECT_LATER

/* Ids received in this sync, per contact, to acknowledge ("fetched"). */
#define ACKS_MAX 1024
typedef struct {
	size_t n;
	struct {
		char contact[PL_NAME_MAX + 1];
		uint8_t id[PL_ITEM_ID_LEN];
	} e[ACKS_MAX];
} ack_list;

/* An ack from the peer: our outgoing items it names are now "fetched". Ids
 * that are not ours, or items already past that state, are left alone. */
static int apply_ack(pl_vault *v, const pl_contact *ct, const pl_payload *p, pl_err *e)
{
	pl_item *items;
	size_t n;
	size_t count = ((size_t)p->body[0] << 8) | p->body[1];
	if (pl_vault_item_list(v, ct->name, &items, &n, e) != 0)
		return -1;
	int rc = 0;
	for (size_t k = 0; k < count && rc == 0; k++) {
		const uint8_t *id = p->body + 2 + k * PL_ITEM_ID_LEN;
		for (size_t i = 0; i < n; i++) {
			if (items[i].dir != PL_DIR_OUT ||
			    memcmp(items[i].id, id, PL_ITEM_ID_LEN) != 0)
				continue;
			if (strcmp(items[i].state, "delivered") == 0 ||
			    strcmp(items[i].state, "queued") == 0)
				rc =
				    pl_vault_item_set_state(v, items[i].seq, "fetched", NULL, 0, e);
			break;
		}
	}
	pl_vault_items_free(items, n);
	return rc;
}

/* Checks and applies what a payload means beyond being stored, inside the
 * transaction that stores it. Returns 0, or 1 if the payload is invalid
 * (reject), or -1 on a vault error, or APPLY_UNHANDLED for an object when
 * there is no handler. *store says whether it becomes an item. */
static int apply_payload(pl_vault *v, const pl_msgr_object_handler *h, const pl_contact *ct,
			 const uint8_t carrier[static PL_IK_LEN], const pl_payload *p,
			 pl_msgr_envelope *env, int *store, pl_sync_report *r, pl_err *e)
{
	*store = 1;
	switch (p->kind) {
	case PL_KIND_ACK:
		*store = 0;
		return apply_ack(v, ct, p, e);
	case PL_KIND_RELAY: {
		/* Bookkeeping like an ack: it changes where the contact's
		 * mailbox is, and is not part of the transcript. */
		*store = 0;
		pl_err me;
		pl_err_clear(&me);
		int rc = pl_move_follow(v, ct, p, &me);
		if (rc < 0)
			*e = me;
		else if (r && rc == 0)
			r->relay_followed++;
		else if (r)
			r->relay_refused++;
		return rc;
	}
	case PL_KIND_REVOKE: {
		/* Bookkeeping like a relay notice: the key that carried it is
		 * dead from now on, and it is not part of the transcript. */
		*store = 0;
		pl_err re;
		pl_err_clear(&re);
		int rc = pl_revoke_apply(v, ct, p->body, p->bodylen, &re);
		if (rc < 0)
			*e = re;
		else if (r && rc == 0 && sodium_memcmp(ct->ik, carrier, PL_IK_LEN) != 0)
			r->rotate_void++; /* the key it rotated from: the rotation is void */
		else if (r && rc == 0)
			r->revoked++;
		else if (r)
			r->revoke_refused++;
		return rc;
	}
	case PL_KIND_ROTATE: {
		/* Bookkeeping like a revocation: it changes the contact's key,
		 * and is not part of the transcript. A refused one changes
		 * nothing but is not a reason to refuse the envelope: the
		 * session is authentic, and a conflict must be recorded. */
		*store = 0;
		pl_err re;
		pl_err_clear(&re);
		int what = PL_ROTATE_REFUSED;
		int rc = pl_rotate_apply(v, ct, carrier, p->body, p->bodylen, &what, &re);
		if (rc < 0) {
			*e = re;
			return -1;
		}
		if (r) {
			if (what == PL_ROTATE_APPLIED)
				r->rotated++;
			else if (what == PL_ROTATE_REPLAY)
				r->rotate_replayed++;
			else if (what == PL_ROTATE_CONFLICT)
				r->rotate_conflict++;
			else
				r->rotate_refused++;
			if (rc == 1)
				snprintf(r->rotate_why, sizeof r->rotate_why, "%s", re.msg);
		}
		return 0;
	}
	case PL_KIND_INTRODUCE: {
		/* Bookkeeping like a rotation: it may add a contact, and is not
		 * part of the transcript. A refused one changes nothing but the
		 * session is authentic: the envelope is not refused. */
		*store = 0;
		pl_err ie;
		pl_err_clear(&ie);
		int what = PL_INTRO_REFUSED, clash = 0;
		char name[PL_NAME_MAX + 1];
		int rc =
		    pl_intro_apply(v, ct, carrier, p->body, p->bodylen, &what, name, &clash, &ie);
		if (rc < 0) {
			*e = ie;
			return -1;
		}
		if (r) {
			if (what == PL_INTRO_ADDED)
				r->intro_added++;
			else if (what == PL_INTRO_RECORDED)
				r->intro_recorded++;
			else if (what == PL_INTRO_REPLAY || what == PL_INTRO_KNOWN)
				r->intro_replayed++;
			else
				r->intro_refused++;
			if (rc == 1)
				snprintf(r->intro_why, sizeof r->intro_why, "%s", ie.msg);
			if (clash) {
				r->intro_renamed++;
				snprintf(
				    r->intro_clash, sizeof r->intro_clash,
				    "\"%s\" introduced a key under a name your contact with "
				    "another key has; it was added as \"%s\", and your contact "
				    "is unchanged: check with them in person",
				    ct->name, name);
			}
		}
		return 0;
	}
	case PL_KIND_OBJECT:
	case PL_KIND_PLAN:
	case PL_KIND_MATCH:
	case PL_KIND_CARRY:
	case PL_KIND_FORWARDED:
	case PL_KIND_HOLD:
	case PL_KIND_AGREEMENT: {
		if (h == NULL || h->fn == NULL)
			return APPLY_UNHANDLED;
		int hr = h->fn(h->ctx, v, ct, p, env, e);
		if (hr == PL_MSGR_OBJECT_HELD) {
			/* authentic, and what it carries is held already */
			*store = 0;
			return 0;
		}
		return hr;
	}
	default:
		return 0;
	}
}

static void remember_ack(ack_list *acks, const char *contact, const uint8_t id[PL_ITEM_ID_LEN])
{
	if (acks == NULL || acks->n >= ACKS_MAX)
		return;
	snprintf(acks->e[acks->n].contact, sizeof acks->e[acks->n].contact, "%s", contact);
	memcpy(acks->e[acks->n].id, id, PL_ITEM_ID_LEN);
	acks->n++;
}

/* Builds the responder side of a session from a prekey message. */
static int respond_session(pl_vault *v, const pl_smsg *m, pl_session_rec *s, int *used_opk,
			   pl_err *e)
{
	pl_prekey spk, opk;
	uint8_t sk[PL_X3DH_SK_LEN];
	int rc = -1;
	*used_opk = 0;
	memset(&opk, 0, sizeof opk);
	if (pl_vault_spk_get(v, m->spk_id, &spk, e) != 0)
		return -1;
	if (m->opk_id != 0) {
		if (pl_vault_opk_get(v, m->opk_id, &opk, e) != 0)
			goto out;
		*used_opk = 1;
	}
	const pl_identity *me = pl_vault_identity(v);
	if (pl_x3dh_respond(sk, me, spk.sk, m->opk_id ? opk.sk : NULL, m->ik, m->ek) != 0) {
		pl_err_set(e, PL_EXIT_SECURITY, "key agreement failed");
		goto out;
	}
	pl_ratchet *r = pl_ratchet_new();
	if (r == NULL || pl_ratchet_init_bob(r, sk, spk.sk, spk.pk) != 0) {
		pl_ratchet_free(r);
		pl_err_set(e, PL_EXIT_SECURITY, "key agreement failed");
		goto out;
	}
	memset(s, 0, sizeof *s);
	memcpy(s->ik, m->ik, PL_IK_LEN);
	memcpy(s->ek, m->ek, sizeof s->ek);
	pl_x3dh_ad(s->ad, m->ik, me->pk);
	s->spk_id = m->spk_id;
	s->opk_id = m->opk_id;
	pl_wr_init(&s->state);
	rc = pl_ratchet_save(r, &s->state) == 0 && pl_wr_ok(&s->state) == 0 ? 0 : -1;
	pl_ratchet_free(r);
	if (rc != 0)
		pl_err_set(e, PL_EXIT_ERROR, "out of memory");
out:
	sodium_memzero(&spk, sizeof spk);
	sodium_memzero(&opk, sizeof opk);
	sodium_memzero(sk, sizeof sk);
	return rc;
}

/* Tries to decrypt m with session s; on success replaces s->state. */
static int try_session(pl_session_rec *s, const pl_smsg *m, uint8_t *out, size_t *outlen)
{
	pl_ratchet *r = pl_ratchet_new();
	int rc = -1;
	if (r == NULL)
		return -1;
	if (pl_ratchet_load(r, s->state.p, s->state.n) == 0 &&
	    pl_ratchet_decrypt(r, s->ad, sizeof s->ad, m->ratchet, m->ratchetlen, out, outlen) ==
		0) {
		pl_wr_free(&s->state);
		rc = pl_ratchet_save(r, &s->state) == 0 && pl_wr_ok(&s->state) == 0 ? 0 : -1;
	}
	pl_ratchet_free(r);
	return rc;
}

/* One sync's receiving: the vault, who checks objects, and the ids stored
 * so far (to acknowledge to their senders). */
typedef struct {
	pl_vault *v;
	const pl_msgr_object_handler *objects;
	ack_list *acks;
	pl_sync_report *r;
} rx;

/* One envelope on its way through process(): what each step found. */
typedef struct {
	const uint8_t *env;
	size_t envlen;
	uint64_t seq;	/* its relay seq; 0 when retried from the pending list */
	int is_pending; /* it came from the pending list */
	uint8_t hash[32];
	uint8_t sender[PL_IK_LEN]; /* claimed by the seal; proved only by the session */
	uint8_t *inner;
	size_t innerlen;
	const uint8_t *msg; /* the session message, inside inner */
	size_t msglen;
	pl_contact ct;
	pl_smsg m;
	pl_session_rec *ss, fresh, *s; /* the sender's sessions, a new one, the one used */
	size_t ns;
	int used_opk;
	uint8_t *pt; /* the decrypted payload */
	size_t ptlen;
	pl_payload p;
} inbound;

static void inbound_init(inbound *in, const uint8_t *env, size_t envlen, uint64_t seq,
			 int is_pending)
{
	memset(in, 0, sizeof *in);
	in->env = env;
	in->envlen = envlen;
	in->seq = seq;
	in->is_pending = is_pending;
	pl_wr_init(&in->fresh.state);
	pl_sha256(in->hash, env, envlen);
}

static void inbound_free(inbound *in)
{
	if (in->pt) {
		sodium_memzero(in->pt, in->m.ratchetlen);
		free(in->pt);
	}
	if (in->inner) {
		sodium_memzero(in->inner, in->innerlen);
		free(in->inner);
	}
	pl_wr_free(&in->fresh.state);
	pl_vault_sessions_free(in->ss, in->ns);
	sodium_memzero(&in->ct, sizeof in->ct);
}

/* The seen mark, the pending list and the relay position after an
 * envelope is done with, inside the caller's transaction. */
static int mark_processed(pl_vault *v, const inbound *in, pl_err *e)
{
	if (pl_vault_mark_seen(v, in->hash, e) != 0 ||
	    (in->is_pending && pl_vault_pending_remove(v, in->hash, e) != 0) ||
	    (in->seq && pl_vault_set_u64(v, "last_seq", in->seq, e) != 0))
		return -1;
	return 0;
}

/* Keeps the envelope sealed, exactly as it came, with the key its seal
 * claims: later syncs open it again only once that key is a verified
 * contact (pl_vault_pending_retryable). One kept before senders were
 * recorded gets its sender now. */
static int keep_pending(pl_vault *v, const inbound *in, pl_err *e)
{
	if (in->is_pending)
		return pl_vault_pending_set_sender(v, in->hash, in->sender, e) == 0 ? PROC_PENDING
										    : PROC_ERROR;
	int r = pl_vault_pending_keep(v, in->hash, in->sender, in->env, in->envlen, e);
	return r < 0 ? PROC_ERROR : r == 1 ? PROC_OVERFLOW : PROC_PENDING;
}

/* Opens the seal: the key it claims is the sender's, and the session
 * message inside. Anything that does not open is rejected. */
static int open_sealed(pl_vault *v, inbound *in)
{
	if (pl_envelope_open(&in->inner, &in->innerlen, in->sender, &in->msg, &in->msglen,
			     pl_vault_identity(v), in->env, in->envlen) != 0)
		return PROC_REJECT;
	return PROC_OK;
}

/* The verified contact with the claimed key; anyone else's envelope waits,
 * sealed, among the pending ones. */
static int identify_sender(pl_vault *v, inbound *in, pl_err *e)
{
	pl_err ce;
	pl_err_clear(&ce);
	if (pl_vault_contact_by_ik(v, in->sender, &in->ct, &ce) != 0) {
		if (ce.code != PL_EXIT_NOTFOUND) {
			*e = ce;
			return PROC_ERROR;
		}
		/* A key a verified contact rotated away from: what it sealed
		 * before its holder moved is that contact's, read under the
		 * sessions of the old key (client/rotate.h). */
		int succ = pl_rotate_successor(v, in->sender, &in->ct, &ce);
		if (succ < 0) {
			*e = ce;
			return PROC_ERROR;
		}
		if (succ == 1 && !in->ct.revoked)
			return PROC_OK;
		/* Not (yet) a contact: keep it sealed; retried when they are added. */
		return keep_pending(v, in, e);
	}
	if ((!in->ct.verified && !in->ct.introduced) || in->ct.key_changed) {
		/* A key not verified in person (nor introduced by a contact
		 * that was) could be an impostor's: hold the envelope sealed
		 * until the user verifies the contact. */
		return keep_pending(v, in, e);
	}
	if (in->ct.revoked) {
		/* Whoever holds the key now may not be its owner: refused, not
		 * kept (nothing could ever make it trustworthy again). */
		return PROC_REVOKED;
	}
	return PROC_OK;
}

/* A prekey message: the responder session of its key agreement if we have
 * it, else a new one from our prekeys; NULL if that fails or it does not
 * decrypt. */
static pl_session_rec *prekey_session(pl_vault *v, inbound *in)
{
	pl_session_rec *s = NULL;
	for (size_t i = 0; i < in->ns && s == NULL; i++)
		if (!in->ss[i].initiator && sodium_memcmp(in->ss[i].ek, in->m.ek, 32) == 0)
			s = &in->ss[i];
	if (s == NULL) {
		pl_err re;
		pl_err_clear(&re);
		if (respond_session(v, &in->m, &in->fresh, &in->used_opk, &re) != 0)
			return NULL; /* unknown or used prekey: reject */
		s = &in->fresh;
	}
	return try_session(s, &in->m, in->pt, &in->ptlen) == 0 ? s : NULL;
}

/* A normal message: the first of the sender's sessions it decrypts under. */
static pl_session_rec *known_session(inbound *in)
{
	for (size_t i = 0; i < in->ns; i++)
		if (try_session(&in->ss[i], &in->m, in->pt, &in->ptlen) == 0)
			return &in->ss[i];
	return NULL;
}

/* Decrypts the session message under a session bound to the sender's key
 * (which is what authenticates the envelope), then decodes the payload. */
static int decrypt_message(pl_vault *v, inbound *in, pl_err *e)
{
	if (pl_smsg_decode(&in->m, in->msg, in->msglen) != 0)
		return PROC_REJECT;
	if (in->m.type == PL_SMSG_PREKEY && sodium_memcmp(in->m.ik, in->sender, PL_IK_LEN) != 0)
		return PROC_REJECT;
	if (pl_vault_sessions_load(v, in->sender, &in->ss, &in->ns, e) != 0)
		return PROC_ERROR;
	in->pt = malloc(in->m.ratchetlen);
	if (in->pt == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory"), PROC_ERROR;
	in->s = in->m.type == PL_SMSG_PREKEY ? prekey_session(v, in) : known_session(in);
	if (in->s == NULL || pl_payload_decode(&in->p, in->pt, in->ptlen) != 0)
		return PROC_REJECT;
	return PROC_OK;
}

/* The item a received payload becomes; 0, or -1 out of memory. */
static int make_item(const inbound *in, pl_item *it)
{
	memset(it, 0, sizeof *it);
	memcpy(it->id, in->p.id, sizeof it->id);
	snprintf(it->contact, sizeof it->contact, "%s", in->ct.name);
	it->dir = PL_DIR_IN;
	it->kind = in->p.kind;
	it->time = in->p.time;
	snprintf(it->state, sizeof it->state, "received");
	pl_wr_init(&it->body);
	pl_wr_init(&it->receipt);
	pl_wr_bytes(&it->body, in->p.body, in->p.bodylen);
	return pl_wr_ok(&it->body);
}

/* Inside the open transaction, after the session and the payload's meaning
 * are written: the item (unless the payload is only an ack), the used
 * one-time prekey, the seen mark; then commits. */
static int store_item(rx *x, inbound *in, pl_item *it, int store, pl_err *e)
{
	int added = store ? pl_vault_item_add(x->v, it, e) : 0;
	if (added < 0 || (in->used_opk && pl_vault_opk_delete(x->v, in->m.opk_id, e) != 0) ||
	    mark_processed(x->v, in, e) != 0 || pl_vault_commit(x->v, e) != 0) {
		pl_vault_rollback(x->v);
		return PROC_ERROR;
	}
	if (added == 0 && store)
		remember_ack(x->acks, in->ct.name, it->id);
	return !store ? PROC_ACK : added == 1 ? PROC_DUP : PROC_OK;
}

/* Commits what the envelope brought in one transaction: the session's new
 * ratchet state, what the payload changes (an ack, a negotiation move),
 * its item and the seen mark; or, for a payload that is invalid or that
 * nobody here can check, nothing of it. */
static int commit_received(rx *x, inbound *in, pl_err *e)
{
	pl_item it;
	in->s->replied = 1;
	in->s->used = pl_now();
	if (make_item(in, &it) != 0) {
		pl_vault_item_free(&it);
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory"), PROC_ERROR;
	}
	if (pl_vault_begin(x->v, e) != 0) {
		pl_vault_item_free(&it);
		return PROC_ERROR;
	}
	int store = 1, result;
	pl_msgr_envelope env;
	env.seq = in->seq;
	memcpy(env.hash, in->hash, sizeof env.hash);
	pl_wr_init(&env.receipt);
	int taken = pl_vault_item_id_taken(x->v, it.id, it.contact, PL_DIR_IN, e);
	int bad = taken != 0 || pl_vault_session_save(x->v, in->s, e) != 0
		      ? -1
		      : apply_payload(x->v, x->objects, &in->ct, in->sender, &in->p, &env, &store,
				      x->r, e);
	if (bad == 0 && env.receipt.n > 0) {
		pl_wr_free(&it.receipt);
		it.receipt = env.receipt;
		it.has_receipt = 1;
		pl_wr_init(&env.receipt);
	}
	pl_wr_free(&env.receipt);
	if (taken == 1) {
		pl_vault_rollback(x->v);
		result = PROC_TAKEN;
	} else if (bad == 1) {
		/* Authentic from the session's point of view but not a valid
		 * move: nothing of it is kept (the rejection path marks it seen). */
		pl_vault_rollback(x->v);
		result = PROC_REJECT;
	} else if (bad == APPLY_UNHANDLED) {
		/* Nobody here can check it: nothing of this attempt is kept. */
		pl_vault_rollback(x->v);
		result = keep_pending(x->v, in, e);
	} else if (bad != 0) {
		pl_vault_rollback(x->v);
		result = PROC_ERROR;
	} else {
		result = store_item(x, in, &it, store, e);
	}
	pl_vault_item_free(&it);
	return result;
}

/* What a rejected or pending envelope leaves behind. A rejected one is
 * remembered so it is not retried, and nothing else changes; a pending one
 * moves the relay position past it (it is kept in the vault). */
static void settle(pl_vault *v, const inbound *in, int result)
{
	if (result == PROC_REJECT || result == PROC_TAKEN || result == PROC_OVERFLOW ||
	    result == PROC_REVOKED) {
		pl_err me;
		pl_err_clear(&me);
		if (pl_vault_begin(v, &me) == 0 &&
		    (mark_processed(v, in, &me) != 0 || pl_vault_commit(v, &me) != 0))
			pl_vault_rollback(v);
	} else if (result == PROC_PENDING && in->seq && !in->is_pending) {
		pl_vault_set_u64(v, "last_seq", in->seq, NULL);
	}
}

/* One envelope: seen before → duplicate; else open the seal, identify the
 * sender, decrypt, decode, commit, and settle what is not committed. */
static int process(rx *x, const uint8_t *env, size_t envlen, uint64_t seq, int is_pending,
		   pl_err *e)
{
	inbound in;
	inbound_init(&in, env, envlen, seq, is_pending);
	int seen = pl_vault_seen(x->v, in.hash);
	if (seen < 0)
		return pl_err_set(e, PL_EXIT_VAULT, "cannot read the vault"), PROC_ERROR;
	if (seen)
		return PROC_DUP;
	int result = open_sealed(x->v, &in);
	if (result == PROC_OK)
		result = identify_sender(x->v, &in, e);
	if (result == PROC_OK)
		result = decrypt_message(x->v, &in, e);
	if (result == PROC_OK)
		result = commit_received(x, &in, e);
	settle(x->v, &in, result);
	inbound_free(&in);
	return result;
}

static void count(pl_sync_report *r, int result)
{
	if (r == NULL)
		return;
	switch (result) {
	case PROC_OK:
		r->received++;
		break;
	case PROC_DUP:
		r->duplicate++;
		break;
	case PROC_REJECT:
		r->rejected++;
		break;
	case PROC_TAKEN:
		r->rejected++;
		r->id_taken++;
		break;
	case PROC_REVOKED:
		r->rejected++;
		r->from_revoked++;
		break;
	case PROC_OVERFLOW:
		r->pending_dropped++;
		break;
	case PROC_PENDING:
		r->pending++;
		break;
	default:
		break;
	}
}

/* Opens again only the kept envelopes whose sender is now a verified
 * contact (or not known yet): a stranger's stay sealed and cost nothing. */
static int retry_pending(rx *x, pl_sync_report *r, pl_err *e)
{
	pl_wr *envs;
	size_t n;
	if (pl_vault_pending_retryable(x->v, &envs, &n, e) != 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		int res = process(x, envs[i].p, envs[i].n, 0, 1, e);
		if (res == PROC_ERROR) {
			rc = -1;
			break;
		}
		count(r, res);
		if (r)
			r->pending_opened++;
	}
	for (size_t i = 0; i < n; i++)
		pl_wr_free(&envs[i]);
	free(envs);
	return rc;
}

/* Whether a result leaves the envelope held by this vault (stored, applied
 * or kept pending): only those are named in the signed acknowledgement, so
 * the log says "fetched" for exactly what reached the vault. A duplicate is
 * not named: its first arrival was (unless it was refused), and naming it
 * again could let a relay that replays a refused envelope have it named. */
static int held(int result)
{
	return result == PROC_OK || result == PROC_ACK || result == PROC_PENDING;
}

/* Acknowledges a listing's envelopes through `top`, naming the held ones,
 * in as many signed acks as it takes (at most PL_AUTH_ACK_NAMES_MAX names
 * each, every ack but the last running through its last name). */
static int ack_listing(pl_rc_conn *c, const pl_identity *me, const pl_auth_ack_name *names,
		       size_t n, uint64_t top, pl_err *e)
{
	pl_auth_ack a;
	size_t i = 0;
	do {
		memset(&a, 0, sizeof a);
		while (i < n && a.n < PL_AUTH_ACK_NAMES_MAX)
			a.name[a.n++] = names[i++];
		a.through = i < n ? a.name[a.n - 1].seq : top;
		if (pl_rc_ack(c, me, &a, e) != 0)
			return -1;
	} while (i < n);
	return 0;
}

/* *prekeys: the relay's count of our one-time prekeys in the last listing. */
static int fetch_all(rx *x, pl_rc_conn *c, pl_sync_report *r, int *drained, int *prekeys, pl_err *e)
{
	*drained = 0;
	const pl_identity *me = pl_vault_identity(x->v);
	pl_auth_ack_name *names = malloc(PL_PROTO_LISTING_MAX * sizeof *names);
	if (names == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	int rc = 0;
	for (int round = 0; round < FETCH_ROUNDS_MAX && rc == 0; round++) {
		uint64_t after = pl_vault_get_u64(x->v, "last_seq", 0);
		pl_rc_listing rl;
		if (pl_rc_fetch(c, me, after, &rl, e) != 0) {
			rc = -1;
			break;
		}
		const pl_proto_listing *l = &rl.list;
		*prekeys = l->prekeys;
		if (l->count > 0)
			pl_fault_point("after-fetch");
		uint32_t count_items = l->count;
		uint64_t top = after;
		size_t nnames = 0;
		/* The whole listing is one batch (vault.h): each envelope's
		 * result is its own change, as before, and the disk is written
		 * once for all of them (a list of many parts was one vault
		 * write per part). The relay hears of none before the batch is
		 * on disk; a crash before loses the batch, and the next sync
		 * fetches the same envelopes again. */
		if (l->count > 0 && pl_vault_batch_begin(x->v, e) != 0) {
			pl_rc_listing_free(&rl);
			rc = -1;
			break;
		}
		for (uint32_t i = 0; i < l->count; i++) {
			if (l->item[i].seq <= after)
				continue; /* the relay repeated itself; already handled */
			int res =
			    process(x, l->item[i].env, l->item[i].envlen, l->item[i].seq, 0, e);
			if (res == PROC_ERROR) {
				rc = -1;
				break;
			}
			count(r, res);
			if (held(res)) {
				names[nnames].seq = l->item[i].seq;
				pl_sha256(names[nnames].hash, l->item[i].env, l->item[i].envlen);
				nnames++;
			}
			top = l->item[i].seq;
		}
		/* What was processed before a failure is kept, as when each
		 * envelope committed on its own. */
		if (l->count > 0) {
			pl_err be;
			pl_err_clear(&be);
			if (pl_vault_batch_end(x->v, 1, &be) != 0) {
				if (rc == 0)
					*e = be;
				rc = -1;
			}
		}
		pl_rc_listing_free(&rl);
		if (rc != 0)
			break;
		if (top > after)
			pl_fault_point("after-commit");
		if (top > after && ack_listing(c, me, names, nnames, top, e) != 0) {
			rc = -1;
			break;
		}
		if (count_items == 0) {
			*drained = 1;
			break;
		}
		if (top == after)
			break;
	}
	free(names);
	return rc;
}

/* Queues one ack per contact for what this sync stored, each not to be
 * deposited before a random delay (pl_msgr_ack_delay): the relay must not
 * see a deposit into the sender's mailbox follow our fetch. */
static int queue_acks(pl_vault *v, const ack_list *acks, pl_err *e)
{
	uint8_t body[2 + PL_ACK_MAX * PL_ITEM_ID_LEN];
	uint8_t *done = calloc(acks->n ? acks->n : 1, 1);
	if (done == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	int rc = 0;
	/* Each pass takes up to PL_ACK_MAX ids of one contact; any left over
	 * start a later pass. */
	for (size_t i = 0; i < acks->n && rc == 0; i++) {
		if (done[i])
			continue;
		size_t cnt = 0;
		for (size_t j = i; j < acks->n && cnt < PL_ACK_MAX; j++) {
			if (done[j] || strcmp(acks->e[j].contact, acks->e[i].contact) != 0)
				continue;
			memcpy(body + 2 + cnt * PL_ITEM_ID_LEN, acks->e[j].id, PL_ITEM_ID_LEN);
			cnt++;
			done[j] = 1;
		}
		body[0] = (uint8_t)(cnt >> 8);
		body[1] = (uint8_t)cnt;
		uint8_t id[PL_ITEM_ID_LEN];
		int64_t seq;
		pl_err qe;
		pl_err_clear(&qe);
		/* An ack to a contact that is no longer sendable is dropped. */
		if (pl_msgr_queue_at(v, acks->e[i].contact, PL_KIND_ACK, body,
				     2 + cnt * PL_ITEM_ID_LEN, pl_now() + pl_msgr_ack_delay(v), id,
				     &seq, &qe) != 0 &&
		    qe.code != PL_EXIT_SECURITY) {
			*e = qe;
			rc = -1;
		}
	}
	free(done);
	return rc;
}

/* Owner-signed requests (publish; fetch and ack) and deposits each use
 * connections of their own (pl_msgr_open_relay), and what is queued is
 * delivered after the fetch; acknowledgments of this fetch wait for a
 * later command. */
int pl_msgr_sync(pl_vault *v, const pl_msgr_object_handler *objects, pl_sync_report *r, pl_err *e)
{
	if (pl_msgr_publish_ex(v, r ? &r->grants_blocked : NULL, e) != 0)
		return -1;
	pl_rc_conn *c;
	if (pl_msgr_open_relay(v, &c, e) != 0)
		return -1;
	/* The relay's log first: a relay that contradicts what it signed
	 * before is refused before anything else is taken from it. */
	pl_audit_report ar;
	memset(&ar, 0, sizeof ar);
	if (pl_audit_checkpoint(v, c, &ar, e) != 0) {
		pl_rc_close(c);
		return -1;
	}
	ack_list *acks = calloc(1, sizeof *acks);
	if (acks == NULL) {
		pl_rc_close(c);
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	}
	rx x = {v, objects, acks, r};
	int drained = 0, prekeys = -1, added = 0;
	int rc = fetch_all(&x, c, r, &drained, &prekeys, e);
	if (rc == 0)
		rc = pl_audit_withheld(v, c, drained, &ar, e);
	/* An older copy of this vault (put back by hand) is found before
	 * anything is encrypted (client/copies.h), and re-keys. After the
	 * fetch: what waited for us still opened under the sessions it was
	 * sent on. */
	pl_copies_report cr;
	memset(&cr, 0, sizeof cr);
	if (rc == 0 && (pl_copies_check(v, c, 0, &cr, e) != 0 ||
			(cr.reacted && pl_msgr_publish_ex(v, NULL, e) != 0)))
		rc = -1;
	pl_copies_note(r, &cr);
	pl_rc_close(c);
	if (rc == 0 && prekeys >= 0)
		rc = pl_msgr_replenish(v, prekeys, &added, e);
	if (r)
		r->prekeys_added = (unsigned)added;
	if (r) {
		r->log_size = ar.size;
		r->receipts = ar.receipts;
		r->withheld = ar.withheld;
		r->other_copy = ar.other_copy;
		for (unsigned i = 0; i < ar.other_copy && i < PL_SYNC_MISSING_LIST; i++) {
			r->missing_seq[i] = ar.missing_seq[i];
			r->missing_time[i] = ar.missing_time[i];
		}
	}
	/* A contact an introduction just added gets our grant now, so that
	 * it can write to us before our next sync. */
	if (rc == 0 && r && r->intro_added > 0)
		rc = pl_msgr_publish_ex(v, &r->grants_blocked, e);
	if (rc == 0)
		rc = retry_pending(&x, r, e);
	if (rc == 0)
		rc = pl_msgr_deliver(v, r, e);
	/* What was stored is acknowledged even if a later step failed; the
	 * acks go out with a later command (deliver ran already). */
	if (acks->n > 0) {
		pl_err qe;
		pl_err_clear(&qe);
		if (queue_acks(v, acks, &qe) != 0 && rc == 0) {
			*e = qe;
			rc = -1;
		}
	}
	free(acks);
	pl_msgr_outbox_count(v, r);
	if (rc == 0 && r) {
		int64_t kept = pl_vault_pending_count(v);
		if (kept >= 0)
			r->pending = (unsigned)kept;
	}
	return rc;
}
