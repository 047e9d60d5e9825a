/*
 * prove.c — see prove.h. The bundle lists every note and negotiation move we
 * sent to the contact that has a relay receipt, with its deposit leaf proved
 * into one checkpoint; the contact's own logged acks that cover them; and
 * our signed count of what came back in the period.
 *
 * pl_prove_outreach runs named steps over one context: open the relay and
 * take the vault's audited checkpoint, collect our deposits to the contact
 * from their receipts (each leaf proved into the checkpoint), read the
 * contact's own ack leaves from the earliest deposit on (GET /log/mailbox,
 * each proved as it comes), keep the first ack after each deposit that
 * covers it, count replies, build and write. Its cost is our deposits and
 * the contact's acks times log n, never the log's size. It must never put
 * into a bundle a receipt that does not verify under the pinned relay key,
 * a leaf that does not prove, or an ack the contact's key did not sign.
 */
#include "client/prove.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/audit.h"
#include "client/messenger.h"
#include "envelope/envelope.h"
#include "export/outreach.h"
#include "log/leaf.h"
#include "log/receipt.h"
#include "relay/proto.h"
#include "util/codec.h"

typedef struct {
	uint8_t leaf[PL_LEAF_MAX];
	size_t len;
	uint64_t index;
	pl_auth_ack ack;
	uint8_t proof[PL_MERKLE_PROOF_MAX][32];
	size_t prooflen;
	int used;
} fetch_rec;

/* Everything the steps share; prove_free releases it. */
typedef struct {
	pl_vault *v;
	pl_contact ct;
	pl_rc_conn *c;
	uint8_t rpk[32], peer_mbx[32];
	pl_audit_tree t; /* the checkpoint every proof reaches */
	pl_item *items;
	size_t nitems;
	/* our deposits to the contact */
	pl_proof_deposit *deps;
	uint8_t (*leaves)[PL_LEAF_MAX];
	uint8_t (*proofs)[PL_MERKLE_PROOF_MAX][32];
	size_t ndep;
	uint64_t first; /* relay time of the earliest */
	/* the contact's acks in the log; `used` ones go into the bundle */
	fetch_rec *fr;
	size_t nfetch, fcap;
	pl_proof_fetch *fetches;
	size_t nused;
	size_t nfetched;    /* deposits an ack names */
	uint64_t scan_from; /* the earliest deposit's leaf index */
	pl_receipt *rc;
} prove_ctx;

static void prove_free(prove_ctx *p)
{
	if (p->c)
		pl_rc_close(p->c);
	pl_vault_items_free(p->items, p->nitems);
	free(p->deps);
	free(p->leaves);
	free(p->proofs);
	free(p->fr);
	free(p->fetches);
	pl_audit_tree_free(&p->t);
	free(p->rc);
	sodium_memzero(&p->ct, sizeof p->ct);
}

/* The contact, the pinned relay key, and the newest checkpoint the vault
 * has audited (auditing the relay's current one first). */
static int open_checkpoint(prove_ctx *p, const char *contact, pl_err *e)
{
	if (pl_vault_contact_get(p->v, contact, &p->ct, e) != 0)
		return -1;
	pl_mailbox_id(p->peer_mbx, p->ct.ik);
	if (pl_vault_relay_key(p->v, p->rpk) != 0)
		return pl_err_set(e, PL_EXIT_USAGE,
				  "the relay's key is not pinned yet; run parley sync");
	if (pl_msgr_open_relay(p->v, &p->c, e) != 0 ||
	    pl_audit_checkpoint(p->v, p->c, NULL, e) != 0 ||
	    pl_audit_tree_latest(p->v, &p->t, e) != 0)
		return -1;
	return 0;
}

/* One deposit per item we sent the contact whose receipt verifies and lies
 * in the checkpoint, with its leaf and inclusion proof. */
static int collect_deposits(prove_ctx *p, const char *contact, pl_err *e)
{
	size_t n;

	if (pl_vault_item_list(p->v, contact, &p->items, &p->nitems, e) != 0)
		return -1;
	n = p->nitems ? p->nitems : 1;
	p->deps = calloc(n, sizeof *p->deps);
	p->leaves = calloc(n, sizeof *p->leaves);
	p->proofs = calloc(n, sizeof *p->proofs);
	p->rc = calloc(1, sizeof *p->rc);
	if (!p->deps || !p->leaves || !p->proofs || !p->rc)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	for (size_t i = 0; i < p->nitems; i++) {
		pl_item *it = &p->items[i];
		pl_receipt *rc = p->rc;
		pl_leaf lf;
		size_t len, plen;

		if (it->dir == PL_DIR_IN || it->kind == PL_KIND_ACK || it->receipt.n == 0)
			continue;
		if (pl_receipt_decode(rc, it->receipt.p, it->receipt.n) != 0 ||
		    pl_receipt_verify(rc, p->rpk, NULL) != 0 || rc->index >= p->t.size)
			continue; /* not in the log this checkpoint covers (yet) */
		pl_receipt_leaf(&lf, rc);
		len = pl_leaf_encode(p->leaves[p->ndep], &lf);
		if (len == 0 || sodium_memcmp(rc->mbx, p->peer_mbx, 32) != 0)
			continue;
		if (pl_audit_inclusion(p->c, rc->index, p->t.size, p->proofs[p->ndep], &plen, e) !=
		    0)
			return -1;
		uint8_t h[32];
		pl_leaf_hash(h, p->leaves[p->ndep], len);
		if (pl_merkle_verify_inclusion(h, rc->index, p->t.size,
					       (const uint8_t(*)[32])p->proofs[p->ndep], plen,
					       p->t.root) != 0)
			return pl_err_set(
			    e, PL_EXIT_SECURITY,
			    "the relay's proof that a deposit to \"%s\" (leaf %llu) lies "
			    "in its log does not verify; its log cannot be trusted",
			    contact, (unsigned long long)rc->index);
		pl_proof_deposit *d = &p->deps[p->ndep];
		d->leaf = p->leaves[p->ndep];
		d->leaf_len = len;
		d->index = rc->index;
		d->proof = (const uint8_t(*)[32])p->proofs[p->ndep];
		d->proof_len = plen;
		memcpy(d->envelope_hash, rc->hash, 32);
		d->receipt = it->receipt.p;
		d->receipt_len = it->receipt.n;
		if (p->first == 0 || rc->time < p->first)
			p->first = rc->time;
		if (p->ndep == 0 || rc->index < p->scan_from)
			p->scan_from = rc->index;
		p->ndep++;
	}
	if (p->ndep == 0)
		return pl_err_set(
		    e, PL_EXIT_NOTFOUND,
		    "nothing sent to \"%s\" is in the relay's log yet; send, then run "
		    "parley sync",
		    contact);
	return 0;
}

/* Keeps a fetch leaf of the log; -1 when out of memory. */
static int keep_fetch(prove_ctx *p, const pl_proto_mbxlog_item *it, const pl_auth_ack *ack)
{
	if (p->nfetch == p->fcap) {
		size_t ncap = p->fcap ? 2 * p->fcap : 16;
		fetch_rec *nf = realloc(p->fr, ncap * sizeof *p->fr);
		if (nf == NULL)
			return -1;
		p->fr = nf;
		p->fcap = ncap;
	}
	fetch_rec *f = &p->fr[p->nfetch++];
	memcpy(f->leaf, it->leaf, it->leaflen);
	f->len = it->leaflen;
	f->index = it->index;
	f->ack = *ack;
	memcpy(f->proof, it->proof, it->prooflen * 32);
	f->prooflen = it->prooflen;
	f->used = 0;
	return 0;
}

/* One of the contact's logged acks, already proved into the checkpoint:
 * kept if its key is the contact's and its signature verifies. */
static int keep_ack(void *ctx, const pl_proto_mbxlog_item *it, const pl_leaf *lf, pl_err *e)
{
	prove_ctx *p = ctx;

	if (sodium_memcmp(lf->owner, p->ct.ik, 32) != 0 || pl_leaf_ack_verify(lf) != 0)
		return 0;
	if (keep_fetch(p, it, &lf->ack) != 0)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	return 0;
}

/* The contact's logged acks from our earliest deposit on: only its
 * mailbox's ack leaves, each with its proof (GET /log/mailbox), never the
 * whole log. */
static int scan_acks(prove_ctx *p, pl_err *e)
{
	uint64_t next;

	return pl_audit_mbxlog(p->v, p->c, &p->t, p->peer_mbx, PL_PROTO_MBXLOG_ACK, p->scan_from,
			       keep_ack, p, &next, e);
}

/* Marks, for each deposit, the first later ack that names it (its seq and
 * envelope hash: an ack that only runs past its seq does not say the
 * contact's vault got it); counts them. */
static void mark_covering_fetches(prove_ctx *p)
{
	p->nused = 0;
	for (size_t d = 0; d < p->ndep; d++) {
		pl_leaf dl;
		if (pl_leaf_decode(&dl, p->deps[d].leaf, p->deps[d].leaf_len) != 0)
			continue;
		for (size_t f = 0; f < p->nfetch; f++) {
			if (p->fr[f].index > p->deps[d].index &&
			    pl_auth_ack_names(&p->fr[f].ack, dl.seq, dl.hash)) {
				if (!p->fr[f].used) {
					p->fr[f].used = 1;
					p->nused++;
				}
				p->nfetched++;
				break;
			}
		}
	}
}

/* The marked acks, with the proofs they came with. */
static int prove_fetches(prove_ctx *p, pl_err *e)
{
	size_t k = 0;

	p->fetches = calloc(p->nused ? p->nused : 1, sizeof *p->fetches);
	if (p->fetches == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	for (size_t f = 0; f < p->nfetch; f++) {
		fetch_rec *r = &p->fr[f];
		if (!r->used)
			continue;
		p->fetches[k].leaf = r->leaf;
		p->fetches[k].leaf_len = r->len;
		p->fetches[k].index = r->index;
		p->fetches[k].proof = (const uint8_t(*)[32])r->proof;
		p->fetches[k].proof_len = r->prooflen;
		k++;
	}
	return 0;
}

/* What came back from the contact since our first deposit (the prover's
 * word: sealed sender keeps it out of the log). */
static unsigned count_replies(const prove_ctx *p)
{
	unsigned replies = 0;

	for (size_t i = 0; i < p->nitems; i++)
		if (p->items[i].dir == PL_DIR_IN && p->items[i].time >= p->first &&
		    (p->items[i].kind == PL_KIND_NOTE || p->items[i].kind == PL_KIND_OBJECT))
			replies++;
	return replies;
}

/* Builds the bundle (which verifies itself) and writes it to path. */
static int build_and_write(prove_ctx *p, const char *path, unsigned replies, pl_err *e)
{
	char vkey[PL_NOTE_VKEY_MAX];
	json_t *j = NULL;
	uint64_t now = pl_now();

	if (pl_leaf_log_vkey_string(vkey, p->rpk) != 0)
		return pl_err_set(e, PL_EXIT_ERROR, "cannot name the relay's log key");
	pl_outreach_input in = {.prover = pl_vault_identity(p->v),
				.prover_name = pl_vault_name(p->v),
				.peer_name = p->ct.name,
				.relay_vkey = vkey,
				.checkpoint_note = p->t.note,
				.note_len = p->t.notelen,
				.deps = p->deps,
				.n_deps = p->ndep,
				.fetches = p->fetches,
				.n_fetches = p->nused,
				.period_start = p->first,
				.period_end = now < p->first ? p->first : now,
				.replies_received = replies};
	memcpy(in.peer_ik, p->ct.ik, PL_IK_LEN);
	if (pl_outreach_proof_build(&j, &in, e) != 0)
		return -1;
	int rc = pl_export_write_file(path, j, e);
	json_decref(j);
	return rc;
}

int pl_prove_outreach(pl_vault *v, const char *contact, const char *path, pl_prove_report *r,
		      pl_err *e)
{
	prove_ctx p;
	unsigned replies;
	int ret = -1;

	memset(&p, 0, sizeof p);
	p.v = v;
	if (open_checkpoint(&p, contact, e) != 0 || collect_deposits(&p, contact, e) != 0 ||
	    scan_acks(&p, e) != 0)
		goto out;
	mark_covering_fetches(&p);
	if (prove_fetches(&p, e) != 0)
		goto out;
	replies = count_replies(&p);
	if (build_and_write(&p, path, replies, e) != 0)
		goto out;
	if (r) {
		r->deposits = p.ndep;
		r->fetched = p.nfetched;
		r->fetch_leaves = p.nused;
		r->checkpoint_size = p.t.size;
		r->replies = replies;
	}
	ret = 0;
out:
	prove_free(&p);
	return ret;
}
