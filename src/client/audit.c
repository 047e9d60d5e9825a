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
#include "export/evidence.h"
#include "log/leaf.h"
#include "log/merkle.h"
#include "log/note.h"
#include "log/receipt.h"
#include "relay/proto.h"
#include "util/codec.h"

/* Pages of PL_PROTO_MBXLOG_MAX entries one pass reads: 1,048,576 entries. */
#define MBXLOG_ROUNDS_MAX 4096

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

int pl_audit_tree_latest(pl_vault *v, pl_audit_tree *t, pl_err *e)
{
	uint8_t pk[32];
	pl_checkpoint cp;

	memset(t, 0, sizeof *t);
	if (relay_key(v, pk, e) != 0 ||
	    pl_vault_checkpoint_latest(v, &t->size, &t->note, &t->notelen, e) != 0)
		return -1;
	if (pl_leaf_checkpoint_open(&cp, t->note, t->notelen, pk) != 0 || cp.size != t->size) {
		pl_audit_tree_free(t);
		return pl_err_set(e, PL_EXIT_VAULT,
				  "a checkpoint stored in the vault does not verify");
	}
	memcpy(t->root, cp.root, 32);
	return 0;
}

void pl_audit_tree_free(pl_audit_tree *t)
{
	free(t->note);
	memset(t, 0, sizeof *t);
}

/* What the relay said that does not hold in the tree it signed: kept
 * beside the signed checkpoint, and the audit stops as for a fork. */
static int unproved(pl_vault *v, const pl_audit_tree *t, const char *what, const uint8_t *b,
		    size_t blen, pl_err *e)
{
	pl_err ke;
	pl_err_clear(&ke);
	int kept =
	    (t->keep ? t->keep(t->keep_ctx, what, t->note, t->notelen, b, blen, &ke)
		     : pl_vault_evidence_add(v, what, t->note, t->notelen, b, blen, &ke)) == 0;
	return pl_err_set(e, PL_EXIT_SECURITY,
			  "the relay at %s %s; nothing of that answer was used, and %s",
			  pl_vault_relay_url(v), what,
			  kept ? "what it sent is kept as evidence beside its signed checkpoint "
				 "(parley relay evidence)"
			       : "the evidence could not be stored");
}

/* One page of GET /log/mailbox, strictly decoded; the answer's bytes stay
 * in *body so that a bad one can be kept as evidence. 0, or -1 with e set
 * (PL_EXIT_SECURITY and evidence stored for a malformed answer). */
static int mbxlog_page(pl_vault *v, pl_rc_conn *c, const pl_audit_tree *t, const uint8_t mbx[32],
		       int kind, uint64_t start, pl_proto_mbxlog *m, uint8_t **body, pl_err *e)
{
	char path[200], hex[65];
	size_t n;

	*body = NULL;
	pl_hex_encode(hex, mbx, 32);
	snprintf(path, sizeof path, "/log/mailbox/%s?start=%llu&size=%llu%s", hex,
		 (unsigned long long)start, (unsigned long long)t->size,
		 kind == PL_PROTO_MBXLOG_DEPOSIT ? "&kind=deposit"
		 : kind == PL_PROTO_MBXLOG_ACK	 ? "&kind=ack"
						 : "");
	if (pl_rc_get_raw(c, path, PL_PROTO_MBXLOG_BODY_MAX, body, &n, "the mailbox's log entries",
			  e) != 0)
		return -1;
	if (pl_proto_mbxlog_decode(m, *body, n, mbx, start, t->size, kind) != 0)
		return unproved(v, t,
				"sent a malformed list of a mailbox's log entries (another "
				"mailbox or kind, an index out of range or out of order)",
				*body, n, e);
	return 0;
}

/* The item as the relay sent it: index u64 ‖ var(leaf) ‖ u8 plen ‖ proof. */
static int item_bytes(pl_wr *w, const pl_proto_mbxlog_item *it)
{
	pl_wr_init(w);
	pl_proto_mbxlog_encode_item(w, it->index, it->leaf, it->leaflen, it->proof, it->prooflen);
	return pl_wr_ok(w);
}

int pl_audit_mbxlog(pl_vault *v, pl_rc_conn *c, const pl_audit_tree *t, const uint8_t mbx[32],
		    int kind, uint64_t start, pl_audit_leaf_fn fn, void *ctx, uint64_t *next,
		    pl_err *e)
{
	pl_proto_mbxlog *m = calloc(1, sizeof *m);
	uint64_t cur = start;
	int rc = 0, stop = 0;

	*next = start;
	if (m == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	for (unsigned round = 0; rc == 0 && !stop && cur < t->size; round++) {
		uint8_t *body = NULL;
		if (round == MBXLOG_ROUNDS_MAX)
			break; /* enough for one pass: *next says where to go on */
		if (mbxlog_page(v, c, t, mbx, kind, cur, m, &body, e) != 0) {
			free(body);
			rc = -1;
			break;
		}
		for (uint32_t i = 0; i < m->count && rc == 0 && !stop; i++) {
			const pl_proto_mbxlog_item *it = &m->item[i];
			uint8_t h[32];
			pl_leaf lf;
			pl_leaf_hash(h, it->leaf, it->leaflen);
			if (pl_merkle_verify_inclusion(h, it->index, t->size, it->proof,
						       it->prooflen, t->root) != 0 ||
			    pl_leaf_decode(&lf, it->leaf, it->leaflen) != 0) {
				pl_wr w;
				char what[160];
				snprintf(what, sizeof what,
					 "sent a log entry (leaf %llu) that does not prove in the "
					 "tree it signed",
					 (unsigned long long)it->index);
				rc = item_bytes(&w, it) == 0
					 ? unproved(v, t, what, w.p, w.n, e)
					 : pl_err_set(e, PL_EXIT_ERROR, "out of memory");
				pl_wr_free(&w);
				break;
			}
			int r = fn(ctx, it, &lf, e);
			if (r < 0)
				rc = -1;
			else if (r > 0)
				stop = 1;
			else
				cur = it->index + 1;
		}
		if (rc == 0 && !stop && m->count < PL_PROTO_MBXLOG_MAX)
			cur = t->size; /* none left below the checkpoint */
		free(body);
	}
	if (rc == 0)
		*next = cur;
	free(m);
	return rc;
}

/* A deposit logged for us that never reached this vault: kept (copied out
 * of the answer's page) until the acknowledgments under our own key are
 * read, which say whether another copy of this vault fetched it. */
typedef struct {
	uint64_t index, seq, time;
	uint8_t hash[32];
	uint8_t leaf[PL_LEAF_MAX];
	size_t leaflen;
	uint8_t proof[PL_PROTO_MBXLOG_PROOF_MAX][32];
	size_t prooflen;
	int other_copy;
} missing_dep;

/* The audit of our own deposits: what it reads and where it stands. */
typedef struct {
	pl_vault *v;
	const pl_audit_tree *t;
	pl_audit_report *r;
	uint64_t last_seq; /* the highest seq we fetched */
	uint64_t proved;   /* the highest seq whose leaf and all before it we read */
	int drained;
	missing_dep *miss; /* deposits never received, judged after the pass */
	size_t nmiss, capmiss;
} withheld_ctx;

/* One withheld deposit: the checkpoint and the entry, proved in it, as
 * the leaf half an evidence file carries (export/evidence.h), so anyone
 * can check that the relay logged it for this mailbox; counted. */
static int keep_withheld(withheld_ctx *x, const pl_proto_mbxlog_item *it, const char *what,
			 pl_err *e)
{
	uint8_t pk[32], *side = NULL;
	size_t n = 0;
	int rc = 0;

	if (relay_key(x->v, pk, e) != 0)
		return -1;
	if (pl_evidence_leaf_side(&side, &n, pk, x->t->note, x->t->notelen, it->index, it->leaf,
				  it->leaflen, it->proof, it->prooflen) != 0)
		rc = pl_err_set(e, PL_EXIT_ERROR,
				"could not record a withheld deposit as evidence (out of memory)");
	else if (pl_vault_evidence_add(x->v, what, x->t->note, x->t->notelen, side, n, e) != 0)
		rc = -1;
	else if (x->r)
		x->r->withheld++;
	free(side);
	return rc;
}

static int grow_missing(withheld_ctx *x)
{
	if (x->nmiss < x->capmiss)
		return 0;
	size_t cap = x->capmiss ? x->capmiss * 2 : 4;
	if (cap > 65536)
		return -1; /* judged in later passes: the scan stops before */
	missing_dep *p = realloc(x->miss, cap * sizeof *p);
	if (p == NULL)
		return -1;
	x->miss = p;
	x->capmiss = cap;
	return 0;
}

static int withheld_one(void *ctx, const pl_proto_mbxlog_item *it, const pl_leaf *lf, pl_err *e)
{
	withheld_ctx *x = ctx;
	char what[200];

	/* A mailbox's seqs are given out one by one, each to one logged
	 * deposit: a seq skipped among the leaves is a deposit's leaf left out
	 * of this answer. (Seqs at or below the last proved are leaves of
	 * envelopes stored before the relay kept its log, logged when sent
	 * again.) Reported once; then this leaf is looked at as any other. */
	if (x->proved > 0 && lf->seq > x->proved + 1) {
		snprintf(what, sizeof what,
			 "withheld the envelopes of this mailbox's seqs %llu..%llu and left "
			 "their log entries out of its answer (the next, leaf %llu, is seq %llu)",
			 (unsigned long long)(x->proved + 1), (unsigned long long)(lf->seq - 1),
			 (unsigned long long)it->index, (unsigned long long)lf->seq);
		if (keep_withheld(x, it, what, e) != 0)
			return -1;
		x->proved = lf->seq - 1;
	}
	if (lf->seq > x->last_seq && !x->drained)
		return 1; /* not fetched yet: looked at again next time */
	if (pl_vault_seen(x->v, lf->hash) != 1 && pl_vault_pending_has(x->v, lf->hash) != 1) {
		/* Logged for us, never handed over; or handed over as other
		 * bytes than the deposit logged (a replaced envelope); or
		 * fetched by another copy of this vault. Judged after the pass. */
		if (it->leaflen > PL_LEAF_MAX || it->prooflen > PL_PROTO_MBXLOG_PROOF_MAX ||
		    grow_missing(x) != 0)
			return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		missing_dep *m = &x->miss[x->nmiss++];
		memset(m, 0, sizeof *m);
		m->index = it->index;
		m->seq = lf->seq;
		m->time = lf->relay_time;
		memcpy(m->hash, lf->hash, 32);
		memcpy(m->leaf, it->leaf, it->leaflen);
		m->leaflen = it->leaflen;
		memcpy(m->proof, it->proof, it->prooflen * 32);
		m->prooflen = it->prooflen;
	}
	if (lf->seq > x->proved)
		x->proved = lf->seq;
	return 0;
}

/* An acknowledgment leaf under this vault's own key (signature checked)
 * marks the missing deposits it names: another copy of this vault fetched
 * them (a vault restored from a backup, or a folder put back by hand). */
static int own_ack_one(void *ctx, const pl_proto_mbxlog_item *it, const pl_leaf *lf, pl_err *e)
{
	withheld_ctx *x = ctx;
	(void)it;
	(void)e;
	if (lf->type != PL_LEAF_ACK ||
	    sodium_memcmp(lf->owner, pl_vault_identity(x->v)->pk, PL_IK_LEN) != 0 ||
	    pl_leaf_ack_verify(lf) != 0)
		return 0;
	for (size_t i = 0; i < x->nmiss; i++)
		if (pl_auth_ack_names(&lf->ack, x->miss[i].seq, x->miss[i].hash))
			x->miss[i].other_copy = 1;
	return 0;
}

/* The missing deposits: the ones our own key acknowledged are listed as
 * fetched by another copy (no evidence: the relay did what that copy
 * asked); the rest were withheld, and kept as evidence. */
static int judge_missing(withheld_ctx *x, pl_rc_conn *c, const uint8_t mbx[32], pl_err *e)
{
	uint64_t next;
	char what[200];

	if (x->nmiss == 0)
		return 0;
	/* An acknowledgment comes after the deposit it names. */
	if (pl_audit_mbxlog(x->v, c, x->t, mbx, PL_PROTO_MBXLOG_ACK, x->miss[0].index, own_ack_one,
			    x, &next, e) != 0)
		return -1;
	for (size_t i = 0; i < x->nmiss; i++) {
		missing_dep *m = &x->miss[i];
		if (m->other_copy) {
			if (x->r) {
				if (x->r->other_copy < PL_AUDIT_MISSING_LIST) {
					x->r->missing_seq[x->r->other_copy] = m->seq;
					x->r->missing_time[x->r->other_copy] = m->time;
				}
				x->r->other_copy++;
			}
			continue;
		}
		pl_proto_mbxlog_item it = {.index = m->index,
					   .type = PL_LEAF_DEPOSIT,
					   .leaf = m->leaf,
					   .leaflen = m->leaflen,
					   .proof = (const uint8_t(*)[32])m->proof,
					   .prooflen = m->prooflen};
		snprintf(what, sizeof what,
			 "withheld the envelope it logged for this mailbox as seq %llu (leaf "
			 "%llu): it was not handed over, or other bytes were",
			 (unsigned long long)m->seq, (unsigned long long)m->index);
		if (keep_withheld(x, &it, what, e) != 0)
			return -1;
	}
	return 0;
}

int pl_audit_withheld(pl_vault *v, pl_rc_conn *c, int drained, pl_audit_report *r, pl_err *e)
{
	pl_audit_tree t;
	uint8_t mbx[32];
	uint64_t next;
	pl_err le;

	pl_err_clear(&le);
	if (pl_audit_tree_latest(v, &t, &le) != 0)
		return le.code == PL_EXIT_NOTFOUND ? 0 : (*e = le, -1);
	pl_mailbox_id(mbx, pl_vault_identity(v)->pk);
	withheld_ctx x = {.v = v,
			  .t = &t,
			  .r = r,
			  .last_seq = pl_vault_get_u64(v, "last_seq", 0),
			  .proved = pl_vault_get_u64(v, "log_seq_proved", 0),
			  .drained = drained};
	uint64_t start = pl_vault_get_u64(v, "log_scanned", 0);
	int rc = pl_audit_mbxlog(v, c, &t, mbx, PL_PROTO_MBXLOG_DEPOSIT, start, withheld_one, &x,
				 &next, e);
	if (rc == 0)
		rc = judge_missing(&x, c, mbx, e);
	free(x.miss);
	if (rc == 0 && (pl_vault_set_u64(v, "log_seq_proved", x.proved, e) != 0 ||
			pl_vault_set_u64(v, "log_scanned", next, e) != 0))
		rc = -1;
	pl_audit_tree_free(&t);
	return rc;
}
