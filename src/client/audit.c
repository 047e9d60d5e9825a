/*
 * audit.c — see audit.h. Everything the relay says here is checked against
 * its pinned key and against what it signed before; nothing it says is
 * trusted otherwise, and contradictions are kept, never overwritten.
 */
#include "client/audit.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/evidence.h"
#include "envelope/envelope.h"
#include "log/leaf.h"
#include "log/merkle.h"
#include "log/note.h"
#include "log/receipt.h"
#include "relay/proto.h"

#define SCAN_ROUNDS_MAX 50

static int relay_key(pl_vault *v, uint8_t pk[static 32], pl_err *e)
{
	if (pl_vault_relay_key(v, pk) != 0)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "the relay's key is not pinned yet; run parley "
				  "sync");
	return 0;
}

int pl_audit_fetch_checkpoint(pl_vault *v, pl_rc_conn *c, uint8_t **note, size_t *n, uint64_t *size,
			      uint8_t root[static 32], pl_err *e)
{
	uint8_t pk[32];
	pl_checkpoint cp;
	if (relay_key(v, pk, e) != 0)
		return -1;
	if (pl_rc_get_raw(c, "/log/checkpoint", PL_LEAF_NOTE_MAX * 4, note, n,
			  "the request for its log checkpoint", e) != 0)
		return -1;
	if (pl_leaf_checkpoint_open(&cp, *note, *n, pk) != 0) {
		free(*note);
		*note = NULL;
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "the relay's log checkpoint is not signed by its pinned key; "
				  "nothing was synced");
	}
	*size = cp.size;
	memcpy(root, cp.root, 32);
	return 0;
}

static int get_proof(pl_rc_conn *c, const char *path, uint8_t (*proof)[32], size_t *n,
		     const char *what, pl_err *e)
{
	uint8_t *body;
	size_t len;
	if (pl_rc_get_raw(c, path, PL_PROTO_PROOF_BODY_MAX, &body, &len, what, e) != 0)
		return -1;
	int rc = pl_proto_proof_decode(proof, n, body, len);
	free(body);
	if (rc != 0)
		return pl_err_set(e, PL_EXIT_SECURITY, "the relay sent a malformed %s", what);
	return 0;
}

int pl_audit_inclusion(pl_rc_conn *c, uint64_t index, uint64_t size, uint8_t (*proof)[32],
		       size_t *n, pl_err *e)
{
	char path[96];
	snprintf(path, sizeof path, "/log/proof/inclusion?index=%llu&size=%llu",
		 (unsigned long long)index, (unsigned long long)size);
	return get_proof(c, path, proof, n, "inclusion proof", e);
}

static int consistency(pl_rc_conn *c, uint64_t old, uint64_t size, uint8_t (*proof)[32], size_t *n,
		       pl_err *e)
{
	char path[96];
	snprintf(path, sizeof path, "/log/proof/consistency?old=%llu&size=%llu",
		 (unsigned long long)old, (unsigned long long)size);
	return get_proof(c, path, proof, n, "consistency proof", e);
}

int pl_audit_leaves(pl_rc_conn *c, uint64_t start, uint32_t count, pl_proto_leaves *l,
		    uint8_t **body, pl_err *e)
{
	char path[96];
	size_t len;
	snprintf(path, sizeof path, "/log/leaves?start=%llu&count=%u", (unsigned long long)start,
		 count);
	if (pl_rc_get_raw(c, path, PL_PROTO_LEAVES_BODY_MAX, body, &len, "log leaves", e) != 0)
		return -1;
	if (pl_proto_leaves_decode(l, *body, len) != 0 || l->count != count) {
		free(*body);
		*body = NULL;
		return pl_err_set(e, PL_EXIT_SECURITY, "the relay sent malformed log leaves");
	}
	return 0;
}

/* Is the tree (size2, root2) an extension of (size1, root1)? 1 yes, 0 no
 * (the relay contradicts itself), -1 could not tell (network). */
static int extends(pl_rc_conn *c, uint64_t size1, const uint8_t root1[32], uint64_t size2,
		   const uint8_t root2[32], pl_err *e)
{
	if (size2 < size1)
		return 0;
	if (size2 == size1)
		return sodium_memcmp(root1, root2, 32) == 0;
	if (size1 == 0)
		return 1;
	uint8_t proof[PL_PROTO_PROOF_MAX][32];
	size_t n;
	pl_err ce;
	pl_err_clear(&ce);
	if (consistency(c, size1, size2, proof, &n, &ce) != 0) {
		if (ce.code == PL_EXIT_SECURITY || ce.code == PL_EXIT_NOTFOUND)
			return 0; /* refusing to prove it is as bad as a bad proof */
		*e = ce;
		return -1;
	}
	return pl_merkle_verify_consistency(size1, size2, root1, root2, (const uint8_t(*)[32])proof,
					    n) == 0;
}

static int contradiction(pl_vault *v, const char *what, const uint8_t *a, size_t alen,
			 const uint8_t *b, size_t blen, pl_err *e)
{
	pl_err ke;
	pl_err_clear(&ke);
	int kept = pl_vault_evidence_add(v, what, a, alen, b, blen, &ke) == 0;
	return pl_err_set(e, PL_EXIT_SECURITY,
			  "the relay at %s %s: it forked or rewrote its log. Nothing more is "
			  "trusted from it; %s",
			  pl_vault_relay_url(v), what,
			  kept ? "both signed checkpoints are kept as evidence (parley relay "
				 "evidence)"
			       : "and the evidence could not be stored");
}

/* The checkpoint just fetched, verified under the pinned relay key; what
 * the relay signed before is checked against it. */
typedef struct {
	uint8_t pk[32];
	uint8_t *note;
	size_t n;
	uint64_t size;
	uint8_t root[32];
} fresh;

/* The tree must extend the last checkpoint the vault kept, if any. */
static int extends_stored(pl_vault *v, pl_rc_conn *c, const fresh *f, pl_err *e)
{
	uint8_t *old = NULL;
	size_t oldn = 0;
	uint64_t oldsize;
	pl_err le;
	int rc = -1;

	pl_err_clear(&le);
	if (pl_vault_checkpoint_latest(v, &oldsize, &old, &oldn, &le) == 0) {
		pl_checkpoint ocp;
		if (pl_leaf_checkpoint_open(&ocp, old, oldn, f->pk) != 0) {
			pl_err_set(e, PL_EXIT_VAULT,
				   "a checkpoint stored in the vault does not verify");
			goto out;
		}
		int ok = extends(c, ocp.size, ocp.root, f->size, f->root, e);
		if (ok < 0)
			goto out;
		if (!ok) {
			contradiction(v,
				      f->size < ocp.size
					  ? "now shows a smaller tree than it signed before"
					  : "signed a tree that does not extend the one it "
					    "signed before",
				      old, oldn, f->note, f->n, e);
			pl_evidence_probe(v, c, f->pk, old, oldn, NULL, f->note, f->n);
			goto out;
		}
	} else if (le.code != PL_EXIT_NOTFOUND) {
		*e = le;
		goto out;
	}
	rc = 0;
out:
	free(old);
	return rc;
}

/* One outgoing item's receipt must lie in the tree; a receipt that has no
 * checkpoint (from before the log, or damaged) has nothing to check. 1 if
 * it was checked and marked so, 0 if there was nothing to check, -1 on
 * failure. */
static int receipt_in_tree(pl_vault *v, pl_rc_conn *c, const fresh *f, const pl_item *it, pl_err *e)
{
	if (it->dir != PL_DIR_OUT || it->receipt.n == 0 ||
	    pl_vault_receipt_is_checked(v, it->seq) == 1)
		return 0;
	pl_receipt *rc2 = calloc(1, sizeof *rc2);
	pl_checkpoint rcp;
	if (rc2 == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	if (pl_receipt_decode(rc2, it->receipt.p, it->receipt.n) != 0 ||
	    pl_receipt_verify(rc2, f->pk, NULL) != 0 ||
	    pl_leaf_checkpoint_open(&rcp, rc2->note, rc2->notelen, f->pk) != 0) {
		free(rc2);
		return 0;
	}
	int rc = -1;
	int ok = rcp.size > f->size ? 0 : extends(c, rcp.size, rcp.root, f->size, f->root, e);
	if (ok == 0) {
		contradiction(v, "signed a receipt in a tree its current log does not contain",
			      rc2->note, rc2->notelen, f->note, f->n, e);
		pl_evidence_probe(v, c, f->pk, rc2->note, rc2->notelen, rc2, f->note, f->n);
	} else if (ok > 0 && pl_vault_receipt_checked(v, it->seq, rc2->index, f->size, e) == 0)
		rc = 1;
	free(rc2);
	return rc;
}

/* Every receipt we hold must lie in this tree. */
static int receipts_in_tree(pl_vault *v, pl_rc_conn *c, const fresh *f, pl_audit_report *r,
			    pl_err *e)
{
	pl_item *items = NULL;
	size_t nitems = 0;
	int rc = 0;

	if (pl_vault_item_list(v, NULL, &items, &nitems, e) != 0)
		return -1;
	for (size_t i = 0; i < nitems && rc == 0; i++) {
		int checked = receipt_in_tree(v, c, f, &items[i], e);
		if (checked < 0)
			rc = -1;
		else if (checked && r)
			r->receipts++;
	}
	pl_vault_items_free(items, nitems);
	return rc;
}

int pl_audit_checkpoint(pl_vault *v, pl_rc_conn *c, pl_audit_report *r, pl_err *e)
{
	fresh f;
	int rc = -1;

	memset(&f, 0, sizeof f);
	if (relay_key(v, f.pk, e) != 0 ||
	    pl_audit_fetch_checkpoint(v, c, &f.note, &f.n, &f.size, f.root, e) != 0)
		return -1;
	if (extends_stored(v, c, &f, e) == 0 && receipts_in_tree(v, c, &f, r, e) == 0 &&
	    pl_vault_checkpoint_put(v, f.size, f.note, f.n, e) == 0) {
		if (r)
			r->size = f.size;
		rc = 0;
	}
	free(f.note);
	return rc;
}

int pl_audit_withheld(pl_vault *v, pl_rc_conn *c, int drained, pl_audit_report *r, pl_err *e)
{
	uint8_t *note = NULL;
	size_t notelen = 0;
	uint64_t size;
	uint8_t mbx[32];
	pl_err le;
	pl_err_clear(&le);
	if (pl_vault_checkpoint_latest(v, &size, &note, &notelen, &le) != 0)
		return le.code == PL_EXIT_NOTFOUND ? 0 : (*e = le, -1);
	pl_mailbox_id(mbx, pl_vault_identity(v)->pk);
	uint64_t last_seq = pl_vault_get_u64(v, "last_seq", 0);
	uint64_t cur = pl_vault_get_u64(v, "log_scanned", 0), stop = size;
	pl_proto_leaves *l = calloc(1, sizeof *l);
	int rc = 0;
	if (l == NULL) {
		free(note);
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	}
	for (int round = 0; round < SCAN_ROUNDS_MAX && cur < stop && rc == 0; round++) {
		uint32_t count =
		    stop - cur > PL_PROTO_LEAVES_MAX ? PL_PROTO_LEAVES_MAX : (uint32_t)(stop - cur);
		uint8_t *body;
		if (pl_audit_leaves(c, cur, count, l, &body, e) != 0) {
			rc = -1;
			break;
		}
		uint64_t next = cur + count;
		for (uint32_t i = 0; i < l->count; i++) {
			pl_leaf lf;
			if (pl_leaf_decode(&lf, l->leaf[i].p, l->leaf[i].n) != 0 ||
			    lf.type != PL_LEAF_DEPOSIT || sodium_memcmp(lf.mbx, mbx, 32) != 0)
				continue;
			if (lf.seq > last_seq && !drained) {
				next = cur + i; /* not fetched yet: look again next time */
				break;
			}
			if (pl_vault_seen(v, lf.hash) == 1 || pl_vault_pending_has(v, lf.hash) == 1)
				continue;
			/* Logged for us, never handed over (maybe kept as pending). */
			char what[160];
			snprintf(what, sizeof what,
				 "withheld the envelope it logged for this mailbox as seq %llu "
				 "(leaf %llu)",
				 (unsigned long long)lf.seq, (unsigned long long)(cur + i));
			if (pl_vault_evidence_add(v, what, note, notelen, l->leaf[i].p,
						  l->leaf[i].n, e) != 0) {
				rc = -1;
				break;
			}
			if (r)
				r->withheld++;
		}
		free(body);
		if (rc == 0 && pl_vault_set_u64(v, "log_scanned", next, e) != 0)
			rc = -1;
		if (next < cur + count)
			break;
		cur = next;
	}
	free(l);
	free(note);
	return rc;
}
