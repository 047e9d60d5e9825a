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
#include "client/messenger.h"
#include "client/relay_client.h"
#include "crypto/kdf.h"
#include "envelope/envelope.h"
#include "relay/proto.h"
#include "session/message.h"
#include "session/ratchet.h"
#include "session/x3dh.h"
#include "util/codec.h"

#define FETCH_ROUNDS_MAX 64

/* Crash points for the crash tests (tests/integration/test_negotiation.sh):
 * PARLEY_FAULT=after-fetch dies once a listing is fetched and before any of
 * it is processed; after-commit dies after the first envelope's result is
 * committed and before the relay is told. Both must lose and double
 * nothing. */
static void fault_point(const char *name)
{
	const char *f = getenv("PARLEY_FAULT");
	if (f && strcmp(f, name) == 0)
		_exit(99);
}

enum { PROC_OK = 0, PROC_DUP, PROC_REJECT, PROC_PENDING, PROC_ERROR, PROC_ACK };

/* apply_payload's answer for an object nobody can check: keep it sealed. */
#define APPLY_UNHANDLED 2

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
			 const pl_payload *p, int *store, pl_err *e)
{
	*store = 1;
	switch (p->kind) {
	case PL_KIND_ACK:
		*store = 0;
		return apply_ack(v, ct, p, e);
	case PL_KIND_OBJECT:
		if (h == NULL || h->fn == NULL)
			return APPLY_UNHANDLED;
		return h->fn(h->ctx, v, ct, p, e);
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

static int process(pl_vault *v, const pl_msgr_object_handler *h, const uint8_t *env, size_t envlen,
		   uint64_t seq, int is_pending, ack_list *acks, pl_err *e)
{
	uint8_t hash[32], sender[PL_IK_LEN];
	uint8_t *inner = NULL, *pt = NULL;
	size_t innerlen = 0, ptlen = 0;
	const uint8_t *msg;
	size_t msglen;
	pl_session_rec *ss = NULL, fresh;
	size_t ns = 0;
	pl_contact ct;
	int result = PROC_REJECT, used_opk = 0;
	pl_smsg m;
	memset(&m, 0, sizeof m);

	memset(&fresh, 0, sizeof fresh);
	pl_wr_init(&fresh.state);
	memset(&ct, 0, sizeof ct);
	pl_sha256(hash, env, envlen);
	int seen = pl_vault_seen(v, hash);
	if (seen < 0)
		return pl_err_set(e, PL_EXIT_VAULT, "cannot read the vault"), PROC_ERROR;
	if (seen)
		return PROC_DUP;
	if (pl_envelope_open(&inner, &innerlen, sender, &msg, &msglen, pl_vault_identity(v), env,
			     envlen) != 0)
		goto done;
	pl_err ce;
	pl_err_clear(&ce);
	if (pl_vault_contact_by_ik(v, sender, &ct, &ce) != 0) {
		if (ce.code != PL_EXIT_NOTFOUND) {
			*e = ce;
			result = PROC_ERROR;
			goto done;
		}
		/* Not (yet) a contact: keep it sealed; retried when they are added. */
		result = PROC_PENDING;
		if (!is_pending && pl_vault_pending_add(v, hash, env, envlen, e) != 0)
			result = PROC_ERROR;
		goto done;
	}
	if (!ct.verified || ct.key_changed) {
		/* A key not verified in person could be an impostor's: hold the
		 * envelope sealed until the user verifies the contact. */
		result = PROC_PENDING;
		if (!is_pending && pl_vault_pending_add(v, hash, env, envlen, e) != 0)
			result = PROC_ERROR;
		goto done;
	}
	if (pl_smsg_decode(&m, msg, msglen) != 0)
		goto done;
	if (m.type == PL_SMSG_PREKEY && sodium_memcmp(m.ik, sender, PL_IK_LEN) != 0)
		goto done;
	if (pl_vault_sessions_load(v, sender, &ss, &ns, e) != 0) {
		result = PROC_ERROR;
		goto done;
	}
	pt = malloc(m.ratchetlen);
	if (pt == NULL) {
		pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		result = PROC_ERROR;
		goto done;
	}
	pl_session_rec *s = NULL;
	if (m.type == PL_SMSG_PREKEY) {
		for (size_t i = 0; i < ns && s == NULL; i++)
			if (!ss[i].initiator && sodium_memcmp(ss[i].ek, m.ek, 32) == 0)
				s = &ss[i];
		if (s == NULL) {
			pl_err re;
			pl_err_clear(&re);
			if (respond_session(v, &m, &fresh, &used_opk, &re) != 0)
				goto done; /* unknown or used prekey: reject */
			s = &fresh;
		}
		if (try_session(s, &m, pt, &ptlen) != 0)
			goto done;
	} else {
		for (size_t i = 0; i < ns && s == NULL; i++)
			if (try_session(&ss[i], &m, pt, &ptlen) == 0)
				s = &ss[i];
		if (s == NULL)
			goto done;
	}
	pl_payload p;
	if (pl_payload_decode(&p, pt, ptlen) != 0)
		goto done;
	s->replied = 1;
	s->used = pl_now();
	pl_item it;
	memset(&it, 0, sizeof it);
	memcpy(it.id, p.id, sizeof it.id);
	snprintf(it.contact, sizeof it.contact, "%s", ct.name);
	it.dir = PL_DIR_IN;
	it.kind = p.kind;
	it.time = p.time;
	snprintf(it.state, sizeof it.state, "received");
	pl_wr_init(&it.body);
	pl_wr_init(&it.receipt);
	pl_wr_bytes(&it.body, p.body, p.bodylen);
	result = PROC_ERROR;
	if (pl_wr_ok(&it.body) != 0 || pl_vault_begin(v, e) != 0) {
		pl_vault_item_free(&it);
		goto done;
	}
	int store = 1, added = 0;
	int bad =
	    pl_vault_session_save(v, s, e) != 0 ? -1 : apply_payload(v, h, &ct, &p, &store, e);
	if (bad == 1) {
		/* Authentic from the session's point of view but not a valid
		 * move: nothing of it is kept (the rejection path marks it seen). */
		pl_vault_rollback(v);
		pl_vault_item_free(&it);
		result = PROC_REJECT;
		goto done;
	}
	if (bad == APPLY_UNHANDLED) {
		/* Nobody here can check it: keep it sealed, exactly as it came,
		 * for a sync that can. Nothing of this attempt is kept. */
		pl_vault_rollback(v);
		pl_vault_item_free(&it);
		result = PROC_PENDING;
		if (!is_pending && pl_vault_pending_add(v, hash, env, envlen, e) != 0)
			result = PROC_ERROR;
		goto done;
	}
	if (bad == 0 && store)
		added = pl_vault_item_add(v, &it, e);
	if (bad != 0 || added < 0 || (used_opk && pl_vault_opk_delete(v, m.opk_id, e) != 0) ||
	    pl_vault_mark_seen(v, hash, e) != 0 ||
	    (is_pending && pl_vault_pending_remove(v, hash, e) != 0) ||
	    (seq && pl_vault_set_u64(v, "last_seq", seq, e) != 0) || pl_vault_commit(v, e) != 0) {
		pl_vault_rollback(v);
	} else {
		result = !store ? PROC_ACK : added == 1 ? PROC_DUP : PROC_OK;
		if (added == 0 && store)
			remember_ack(acks, ct.name, it.id);
	}
	pl_vault_item_free(&it);
done:
	if (result == PROC_REJECT) {
		/* Remember it so it is not retried; nothing else changes. */
		pl_err me;
		pl_err_clear(&me);
		if (pl_vault_begin(v, &me) == 0) {
			if (pl_vault_mark_seen(v, hash, &me) != 0 ||
			    (is_pending && pl_vault_pending_remove(v, hash, &me) != 0) ||
			    (seq && pl_vault_set_u64(v, "last_seq", seq, &me) != 0) ||
			    pl_vault_commit(v, &me) != 0)
				pl_vault_rollback(v);
		}
	} else if (result == PROC_PENDING && seq && !is_pending) {
		pl_vault_set_u64(v, "last_seq", seq, NULL);
	}
	if (pt) {
		sodium_memzero(pt, m.ratchetlen);
		free(pt);
	}
	if (inner) {
		sodium_memzero(inner, innerlen);
		free(inner);
	}
	pl_wr_free(&fresh.state);
	pl_vault_sessions_free(ss, ns);
	sodium_memzero(&ct, sizeof ct);
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
	case PROC_PENDING:
		r->pending++;
		break;
	default:
		break;
	}
}

static int retry_pending(pl_vault *v, const pl_msgr_object_handler *h, pl_sync_report *r,
			 ack_list *acks, pl_err *e)
{
	pl_wr *envs;
	size_t n;
	if (pl_vault_pending_list(v, &envs, &n, e) != 0)
		return -1;
	int rc = 0;
	for (size_t i = 0; i < n; i++) {
		int res = process(v, h, envs[i].p, envs[i].n, 0, 1, acks, e);
		if (res == PROC_ERROR) {
			rc = -1;
			break;
		}
		count(r, res);
	}
	for (size_t i = 0; i < n; i++)
		pl_wr_free(&envs[i]);
	free(envs);
	return rc;
}

/* *prekeys: the relay's count of our one-time prekeys in the last listing. */
static int fetch_all(pl_vault *v, const pl_msgr_object_handler *h, pl_rc_conn *c, pl_sync_report *r,
		     ack_list *acks, int *drained, int *prekeys, pl_err *e)
{
	*drained = 0;
	const pl_identity *me = pl_vault_identity(v);
	for (int round = 0; round < FETCH_ROUNDS_MAX; round++) {
		uint64_t after = pl_vault_get_u64(v, "last_seq", 0);
		pl_rc_listing rl;
		if (pl_rc_fetch(c, me, after, &rl, e) != 0)
			return -1;
		const pl_proto_listing *l = &rl.list;
		*prekeys = l->prekeys;
		if (l->count > 0)
			fault_point("after-fetch");
		uint32_t count_items = l->count;
		uint64_t top = after;
		int rc = 0;
		for (uint32_t i = 0; i < l->count; i++) {
			if (l->item[i].seq <= after)
				continue; /* the relay repeated itself; already handled */
			int res = process(v, h, l->item[i].env, l->item[i].envlen, l->item[i].seq,
					  0, acks, e);
			if (res == PROC_ERROR) {
				rc = -1;
				break;
			}
			count(r, res);
			top = l->item[i].seq;
			fault_point("after-commit");
		}
		pl_rc_listing_free(&rl);
		if (rc != 0)
			return -1;
		if (top > after && pl_rc_ack(c, me, top, e) != 0)
			return -1;
		if (count_items == 0) {
			*drained = 1;
			return 0;
		}
		if (top == after)
			return 0;
	}
	return 0;
}

/* Queues one ack per contact for what this sync stored. */
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
		if (pl_msgr_queue(v, acks->e[i].contact, PL_KIND_ACK, body,
				  2 + cnt * PL_ITEM_ID_LEN, id, &seq, &qe) != 0 &&
		    qe.code != PL_EXIT_SECURITY) {
			*e = qe;
			rc = -1;
		}
	}
	free(done);
	return rc;
}

int pl_msgr_sync(pl_vault *v, const pl_msgr_object_handler *objects, pl_sync_report *r, pl_err *e)
{
	if (pl_msgr_publish(v, e) != 0)
		return -1;
	if (pl_msgr_deliver(v, r, e) != 0)
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
	int drained = 0, prekeys = -1, added = 0;
	int rc = fetch_all(v, objects, c, r, acks, &drained, &prekeys, e);
	if (rc == 0)
		rc = pl_audit_withheld(v, c, drained, &ar, e);
	pl_rc_close(c);
	if (rc == 0 && prekeys >= 0)
		rc = pl_msgr_replenish(v, prekeys, &added, e);
	if (r)
		r->prekeys_added = (unsigned)added;
	if (r) {
		r->log_size = ar.size;
		r->receipts = ar.receipts;
		r->withheld = ar.withheld;
	}
	if (rc == 0)
		rc = retry_pending(v, objects, r, acks, e);
	if (rc == 0 && acks->n > 0) {
		rc = queue_acks(v, acks, e);
		pl_sync_report dr;
		memset(&dr, 0, sizeof dr);
		if (rc == 0)
			rc = pl_msgr_deliver(v, &dr, e);
		if (r)
			r->queued = dr.queued;
	}
	free(acks);
	if (rc == 0 && r) {
		pl_wr *envs;
		size_t n;
		if (pl_vault_pending_list(v, &envs, &n, NULL) == 0) {
			r->pending = (unsigned)n;
			for (size_t i = 0; i < n; i++)
				pl_wr_free(&envs[i]);
			free(envs);
		}
	}
	return rc;
}
