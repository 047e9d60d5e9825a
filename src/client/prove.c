/*
 * prove.c — see prove.h. The bundle lists every note and negotiation move we
 * sent to the contact that has a relay receipt, with its deposit leaf proved
 * into one checkpoint; the contact's own logged acks that cover them; and
 * our signed count of what came back in the period.
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

#define SCAN_ROUNDS_MAX 200

typedef struct {
	uint8_t leaf[PL_LEAF_MAX];
	size_t len;
	uint64_t index;
	uint64_t through;
	uint8_t proof[PL_MERKLE_PROOF_MAX][32];
	size_t prooflen;
	int used;
} fetch_rec;

int pl_prove_outreach(pl_vault *v, const char *contact, const char *path, pl_prove_report *r,
		      pl_err *e)
{
	pl_contact ct;
	pl_rc_conn *c = NULL;
	pl_item *items = NULL;
	size_t nitems = 0, ndep = 0, nfetch = 0, fcap = 0;
	pl_proof_deposit *deps = NULL;
	uint8_t(*leaves)[PL_LEAF_MAX] = NULL;
	uint8_t(*proofs)[PL_MERKLE_PROOF_MAX][32] = NULL;
	fetch_rec *fr = NULL;
	pl_proof_fetch *fetches = NULL;
	uint8_t *note = NULL;
	size_t notelen = 0;
	uint64_t size = 0, first = 0;
	pl_proto_leaves *pl = NULL;
	pl_receipt *rc = NULL;
	uint8_t rpk[32], peer_mbx[32];
	int ret = -1;
	unsigned replies = 0;

	if (pl_vault_contact_get(v, contact, &ct, e) != 0)
		return -1;
	pl_mailbox_id(peer_mbx, ct.ik);
	if (pl_vault_relay_key(v, rpk) != 0) {
		pl_err_set(e, PL_EXIT_USAGE, "the relay's key is not pinned yet; run parley sync");
		goto out;
	}
	if (pl_msgr_open_relay(v, &c, e) != 0 || pl_audit_checkpoint(v, c, NULL, e) != 0 ||
	    pl_vault_checkpoint_latest(v, &size, &note, &notelen, e) != 0)
		goto out;
	if (pl_vault_item_list(v, contact, &items, &nitems, e) != 0)
		goto out;
	deps = calloc(nitems ? nitems : 1, sizeof *deps);
	leaves = calloc(nitems ? nitems : 1, sizeof *leaves);
	proofs = calloc(nitems ? nitems : 1, sizeof *proofs);
	rc = calloc(1, sizeof *rc);
	pl = calloc(1, sizeof *pl);
	if (!deps || !leaves || !proofs || !rc || !pl) {
		pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		goto out;
	}
	uint64_t max_seq = 0;
	for (size_t i = 0; i < nitems; i++) {
		pl_item *it = &items[i];
		if (it->dir == PL_DIR_IN) {
			continue;
		}
		if (it->kind == PL_KIND_ACK || it->receipt.n == 0)
			continue;
		if (pl_receipt_decode(rc, it->receipt.p, it->receipt.n) != 0 ||
		    pl_receipt_verify(rc, rpk, NULL) != 0 || rc->index >= size)
			continue; /* not in the log this checkpoint covers (yet) */
		pl_leaf lf;
		pl_receipt_leaf(&lf, rc);
		size_t len = pl_leaf_encode(leaves[ndep], &lf);
		size_t plen;
		if (len == 0 || sodium_memcmp(rc->mbx, peer_mbx, 32) != 0)
			continue;
		if (pl_audit_inclusion(c, rc->index, size, proofs[ndep], &plen, e) != 0)
			goto out;
		pl_proof_deposit *d = &deps[ndep];
		d->leaf = leaves[ndep];
		d->leaf_len = len;
		d->index = rc->index;
		d->proof = (const uint8_t(*)[32])proofs[ndep];
		d->proof_len = plen;
		memcpy(d->envelope_hash, rc->hash, 32);
		d->receipt = it->receipt.p;
		d->receipt_len = it->receipt.n;
		if (first == 0 || rc->time < first)
			first = rc->time;
		if (rc->seq > max_seq)
			max_seq = rc->seq;
		ndep++;
	}
	if (ndep == 0) {
		pl_err_set(e, PL_EXIT_NOTFOUND,
			   "nothing sent to \"%s\" is in the relay's log yet; send, then run "
			   "parley sync",
			   contact);
		goto out;
	}
	/* The peer's logged acks: scan the log for fetches of its mailbox. */
	uint64_t cur = 0;
	for (int round = 0; round < SCAN_ROUNDS_MAX && cur < size; round++) {
		uint32_t count =
		    size - cur > PL_PROTO_LEAVES_MAX ? PL_PROTO_LEAVES_MAX : (uint32_t)(size - cur);
		uint8_t *body;
		if (pl_audit_leaves(c, cur, count, pl, &body, e) != 0)
			goto out;
		for (uint32_t i = 0; i < pl->count; i++) {
			pl_leaf lf;
			if (pl_leaf_decode(&lf, pl->leaf[i].p, pl->leaf[i].n) != 0 ||
			    lf.type != PL_LEAF_FETCH || sodium_memcmp(lf.mbx, peer_mbx, 32) != 0 ||
			    sodium_memcmp(lf.owner, ct.ik, 32) != 0 ||
			    pl_leaf_fetch_verify(&lf) != 0)
				continue;
			if (nfetch == fcap) {
				size_t ncap = fcap ? 2 * fcap : 16;
				fetch_rec *nf = realloc(fr, ncap * sizeof *fr);
				if (nf == NULL) {
					free(body);
					pl_err_set(e, PL_EXIT_ERROR, "out of memory");
					goto out;
				}
				fr = nf;
				fcap = ncap;
			}
			memcpy(fr[nfetch].leaf, pl->leaf[i].p, pl->leaf[i].n);
			fr[nfetch].len = pl->leaf[i].n;
			fr[nfetch].index = cur + i;
			fr[nfetch].through = lf.through;
			fr[nfetch].used = 0;
			nfetch++;
		}
		free(body);
		cur += count;
	}
	/* For each deposit, the first later fetch that covers it. */
	size_t nused = 0;
	for (size_t d = 0; d < ndep; d++) {
		pl_leaf dl;
		if (pl_leaf_decode(&dl, deps[d].leaf, deps[d].leaf_len) != 0)
			continue;
		for (size_t f = 0; f < nfetch; f++) {
			if (fr[f].index > deps[d].index && fr[f].through >= dl.seq) {
				if (!fr[f].used) {
					fr[f].used = 1;
					nused++;
				}
				break;
			}
		}
	}
	fetches = calloc(nused ? nused : 1, sizeof *fetches);
	if (fetches == NULL) {
		pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		goto out;
	}
	size_t k = 0;
	for (size_t f = 0; f < nfetch; f++) {
		if (!fr[f].used)
			continue;
		if (pl_audit_inclusion(c, fr[f].index, size, fr[f].proof, &fr[f].prooflen, e) != 0)
			goto out;
		fetches[k].leaf = fr[f].leaf;
		fetches[k].leaf_len = fr[f].len;
		fetches[k].index = fr[f].index;
		fetches[k].proof = (const uint8_t(*)[32])fr[f].proof;
		fetches[k].proof_len = fr[f].prooflen;
		k++;
	}
	/* What came back from the contact in the period (the prover's word). */
	uint64_t now = pl_now();
	for (size_t i = 0; i < nitems; i++)
		if (items[i].dir == PL_DIR_IN && items[i].time >= first &&
		    (items[i].kind == PL_KIND_NOTE || items[i].kind == PL_KIND_OBJECT))
			replies++;
	char vkey[PL_NOTE_VKEY_MAX];
	json_t *j = NULL;
	if (pl_leaf_log_vkey_string(vkey, rpk) != 0) {
		pl_err_set(e, PL_EXIT_ERROR, "cannot name the relay's log key");
		goto out;
	}
	pl_outreach_input in = {.prover = pl_vault_identity(v),
				.prover_name = pl_vault_name(v),
				.peer_name = ct.name,
				.relay_vkey = vkey,
				.checkpoint_note = note,
				.note_len = notelen,
				.deps = deps,
				.n_deps = ndep,
				.fetches = fetches,
				.n_fetches = k,
				.period_start = first,
				.period_end = now < first ? first : now,
				.replies_received = replies};
	memcpy(in.peer_ik, ct.ik, PL_IK_LEN);
	if (pl_outreach_proof_build(&j, &in, e) != 0)
		goto out;
	ret = pl_export_write_file(path, j, e);
	json_decref(j);
	if (ret == 0 && r) {
		r->deposits = ndep;
		r->fetch_leaves = k;
		r->checkpoint_size = size;
		r->replies = replies;
	}
out:
	if (c)
		pl_rc_close(c);
	pl_vault_items_free(items, nitems);
	free(deps);
	free(leaves);
	free(proofs);
	free(fr);
	free(fetches);
	free(note);
	free(pl);
	free(rc);
	sodium_memzero(&ct, sizeof ct);
	return ret;
}
