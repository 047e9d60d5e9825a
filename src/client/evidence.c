/*
 * evidence.c — see evidence.h. Asks a relay the audit has already caught
 * for the statements that prove it, and writes the vault's evidence file.
 * Everything the relay answers is verified under the pinned key before it
 * is kept; nothing it answers changes what the audit decided.
 */
#include "client/evidence.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/audit.h"
#include "log/leaf.h"
#include "log/merkle.h"
#include "log/note.h"

/* The relay's checkpoint of exactly `size` leaves, verified: a fork if its
 * root is not old's. 1 stored, 0 not. */
static int probe_size(pl_vault *v, pl_rc_conn *c, const uint8_t pk[static 32], const uint8_t *old,
		      size_t oldn, const pl_checkpoint *ocp)
{
	char path[64];
	uint8_t *note = NULL;
	size_t n = 0;
	pl_checkpoint cp;
	int rc = 0;

	snprintf(path, sizeof path, "/log/checkpoint?size=%llu", (unsigned long long)ocp->size);
	if (pl_rc_get_raw(c, path, PL_LEAF_NOTE_MAX * 4, &note, &n,
			  "the request for its checkpoint of an earlier size", NULL) != 0)
		return 0;
	if (pl_leaf_checkpoint_open(&cp, note, n, pk) == 0 && cp.size == ocp->size &&
	    sodium_memcmp(cp.root, ocp->root, 32) != 0)
		rc = pl_vault_evidence_add(v, "signed two different trees of the same size", old,
					   oldn, note, n, NULL) == 0;
	free(note);
	return rc;
}

/* The leaf the relay holds now at the receipt's index, proved in its
 * current tree: a rewrite if it is not the receipt's deposit. 1 stored. */
static int probe_leaf(pl_vault *v, pl_rc_conn *c, const uint8_t pk[static 32], const pl_receipt *r,
		      const uint8_t *fresh, size_t freshn, const pl_checkpoint *fcp)
{
	uint8_t(*proof)[32] = malloc(PL_MERKLE_PROOF_MAX * 32);
	pl_proto_leaves *l = malloc(sizeof *l);
	uint8_t *body = NULL, *sa = NULL, *sb = NULL, mine[PL_LEAF_MAX], mh[32], th[32];
	size_t pn = 0, na = 0, nb = 0, ml;
	pl_leaf dep;
	int rc = 0;

	if (proof == NULL || l == NULL || r->index >= fcp->size)
		goto done;
	pl_receipt_leaf(&dep, r);
	if ((ml = pl_leaf_encode(mine, &dep)) == 0)
		goto done;
	pl_leaf_hash(mh, mine, ml);
	if (pl_audit_leaves(c, r->index, 1, l, &body, NULL) != 0 ||
	    pl_audit_inclusion(c, r->index, fcp->size, proof, &pn, NULL) != 0)
		goto done;
	pl_leaf_hash(th, l->leaf[0].p, l->leaf[0].n);
	if (sodium_memcmp(th, mh, 32) == 0 ||
	    pl_merkle_verify_inclusion(th, r->index, fcp->size, (const uint8_t(*)[32])proof, pn,
				       fcp->root) != 0)
		goto done;
	if (pl_evidence_leaf_side(&sa, &na, pk, r->note, r->notelen, r->index, mine, ml,
				  (const uint8_t(*)[32])r->proof, r->prooflen) != 0 ||
	    pl_evidence_leaf_side(&sb, &nb, pk, fresh, freshn, r->index, l->leaf[0].p, l->leaf[0].n,
				  (const uint8_t(*)[32])proof, pn) != 0)
		goto done;
	rc = pl_vault_evidence_add(v,
				   "holds another leaf at the index of a deposit it proved to this "
				   "vault",
				   sa, na, sb, nb, NULL) == 0;
done:
	free(sa);
	free(sb);
	free(body);
	free(l);
	free(proof);
	return rc;
}

/* The newest receipts this vault holds inside the relay's current tree,
 * tried in turn until one proves a rewrite: bounded, so a caught relay
 * costs a sync a few requests, not one per item. */
#define PROBE_RECEIPTS_MAX 4
static int probe_receipts(pl_vault *v, pl_rc_conn *c, const uint8_t pk[static 32],
			  const uint8_t *fresh, size_t freshn, const pl_checkpoint *fcp)
{
	pl_item *items = NULL;
	size_t n = 0;
	int tried = 0, rc = 0;
	pl_receipt *r = malloc(sizeof *r);
	if (r == NULL || pl_vault_item_list(v, NULL, &items, &n, NULL) != 0) {
		free(r);
		return 0;
	}
	for (size_t i = n; i-- > 0 && tried < PROBE_RECEIPTS_MAX && !rc;) {
		const pl_item *it = &items[i];
		if (it->dir != PL_DIR_OUT || it->receipt.n == 0 ||
		    pl_receipt_decode(r, it->receipt.p, it->receipt.n) != 0 ||
		    pl_receipt_verify(r, pk, NULL) != 0 || r->index >= fcp->size)
			continue;
		tried++;
		rc = probe_leaf(v, c, pk, r, fresh, freshn, fcp);
	}
	pl_vault_items_free(items, n);
	free(r);
	return rc;
}

int pl_evidence_probe(pl_vault *v, pl_rc_conn *c, const uint8_t relay_pk[static 32],
		      const uint8_t *old, size_t oldn, const pl_receipt *r, const uint8_t *fresh,
		      size_t freshn)
{
	pl_checkpoint ocp, fcp;
	if (pl_leaf_checkpoint_open(&ocp, old, oldn, relay_pk) != 0 ||
	    pl_leaf_checkpoint_open(&fcp, fresh, freshn, relay_pk) != 0)
		return 0;
	/* same size, other root: already a fork, nothing to ask */
	if (ocp.size == fcp.size)
		return 0;
	int stored = ocp.size < fcp.size && probe_size(v, c, relay_pk, old, oldn, &ocp);
	if (r != NULL)
		stored |= pl_receipt_verify(r, relay_pk, NULL) == 0 &&
			  probe_leaf(v, c, relay_pk, r, fresh, freshn, &fcp);
	else
		stored |= probe_receipts(v, c, relay_pk, fresh, freshn, &fcp);
	return stored;
}

int pl_evidence_write(pl_vault *v, const char *path, pl_evidence_counts *c,
		      uint8_t relay_pk[static 32], pl_err *e)
{
	uint8_t pk[32];
	pl_evidence *ev = NULL;
	pl_evidence_row *rows = NULL;
	size_t n = 0;
	json_t *j = NULL;
	int rc = -1;

	if (pl_vault_evidence_list(v, &ev, &n, e) != 0)
		return -1;
	if (n == 0) {
		pl_err_set(e, PL_EXIT_NOTFOUND, "no evidence against the relay is stored");
		goto done;
	}
	/* The file is against the relay most recently caught: after a move
	 * away from it (the way out), that is no longer the pinned one. */
	if (ev[n - 1].has_relay_key) {
		memcpy(pk, ev[n - 1].relay_key, 32);
	} else if (pl_vault_relay_key(v, pk) != 0) {
		pl_err_set(e, PL_EXIT_NOTFOUND,
			   "this vault has not pinned a relay key, so it holds no evidence "
			   "against a relay");
		goto done;
	}
	if ((rows = calloc(n, sizeof *rows)) == NULL) {
		pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		goto done;
	}
	for (size_t i = 0; i < n; i++) {
		rows[i].reason = ev[i].reason;
		rows[i].recorded = ev[i].at;
		rows[i].a = ev[i].a;
		rows[i].alen = ev[i].alen;
		rows[i].b = ev[i].b;
		rows[i].blen = ev[i].blen;
	}
	if (pl_evidence_build(&j, pk, rows, n, c, e) != 0 || pl_export_write_file(path, j, e) != 0)
		goto done;
	memcpy(relay_pk, pk, 32);
	rc = 0;
done:
	json_decref(j);
	free(rows);
	pl_vault_evidence_free(ev, n);
	return rc;
}
