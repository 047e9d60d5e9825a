/*
 * audit.h — the client's watch over the relay's transparency log:
 * every sync checks the newest signed checkpoint against the last one this
 * vault accepted (same size: same root; larger: a consistency proof), checks
 * that every receipt we hold lies inside it, and after fetching reads the
 * deposit leaves of our own mailbox, each proved into that checkpoint, to
 * catch envelopes the relay logged but never handed over (or replaced) and
 * deposit leaves it left out of its answer. A fork or a rewrite is refused; the two conflicting
 * signed statements are kept as evidence (parley relay evidence).
 */
#ifndef PARLEY_CLIENT_AUDIT_H
#define PARLEY_CLIENT_AUDIT_H

#include <stdint.h>

#include "client/relay_client.h"
#include "log/leaf.h"
#include "relay/proto.h"
#include "util/err.h"
#include "vault/vault.h"

typedef struct {
	uint64_t size;	   /* the checkpoint accepted by this sync */
	unsigned receipts; /* receipts newly proved inside it */
	unsigned withheld; /* deposits for us the relay logged but did not hand over */
	/* Deposits for us that never reached this vault but that an
	 * acknowledgment under this vault's own key names: another copy of the
	 * vault (restored from a backup, or put back by hand) fetched them.
	 * Not blamed on the relay, no evidence kept; the first
	 * PL_AUDIT_MISSING_LIST are listed by seq and relay time. */
	unsigned other_copy;
#define PL_AUDIT_MISSING_LIST 32
	uint64_t missing_seq[PL_AUDIT_MISSING_LIST];
	uint64_t missing_time[PL_AUDIT_MISSING_LIST];
} pl_audit_report;

/* Before fetching: checkpoint signature and consistency, receipts. -1 with
 * PL_EXIT_SECURITY (and evidence stored) when the relay contradicts itself. */
int pl_audit_checkpoint(pl_vault *v, pl_rc_conn *c, pl_audit_report *r, pl_err *e);
/* After fetching: deposit leaves for our mailbox in the checkpoint accepted
 * before the fetch, each proved into it, must all have been received, as
 * the bytes the leaf names; their seqs must follow one another. Evidence
 * is stored for each that does not hold. `drained`: the fetch
 * emptied the mailbox, so a logged deposit past what we fetched was
 * withheld; otherwise those are left for the next sync. */
int pl_audit_withheld(pl_vault *v, pl_rc_conn *c, int drained, pl_audit_report *r, pl_err *e);

/* Helpers shared with `parley prove outreach`. */
int pl_audit_inclusion(pl_rc_conn *c, uint64_t index, uint64_t size, uint8_t (*proof)[32],
		       size_t *n, pl_err *e);

/* Reads leaves [start, start+count) (count <= PL_PROTO_LEAVES_MAX) with
 * GET /log/leaves, unproved: for a caller that needs whatever leaf sits at
 * an index (evidence of a rewrite) and proves it itself. *body malloc'd,
 * l's pointers into it. */
int pl_audit_leaves(pl_rc_conn *c, uint64_t start, uint32_t count, pl_proto_leaves *l,
		    uint8_t **body, pl_err *e);

/* Keeps what the relay sent that does not hold in the tree it signed, as
 * pl_vault_evidence_add does (a: the checkpoint note, b: the bytes sent). */
typedef int (*pl_audit_keep_fn)(void *ctx, const char *what, const uint8_t *a, size_t alen,
				const uint8_t *b, size_t blen, pl_err *e);

/* The newest checkpoint the vault accepted, opened under the pinned relay
 * key: every leaf the client relies on is proved into it. NOTFOUND if the
 * vault has none yet. Free with pl_audit_tree_free. */
typedef struct {
	uint64_t size;
	uint8_t root[32];
	uint8_t *note; /* the signed checkpoint note, malloc'd */
	size_t notelen;
	/* Where evidence against this tree goes: NULL (as loaded) writes it
	 * to the vault at once; a reader inside a transaction that may be
	 * rolled back sets its own, to write it afterwards. */
	pl_audit_keep_fn keep;
	void *keep_ctx;
} pl_audit_tree;
int pl_audit_tree_latest(pl_vault *v, pl_audit_tree *t, pl_err *e);
void pl_audit_tree_free(pl_audit_tree *t);

/* Called for each proved leaf, in index order: 0 goes on, 1 stops before
 * this leaf (it is read again next time), -1 fails (e set). */
typedef int (*pl_audit_leaf_fn)(void *ctx, const pl_proto_mbxlog_item *it, const pl_leaf *lf,
				pl_err *e);
/* Reads the leaves of mailbox mbx of one kind (PL_PROTO_MBXLOG_DEPOSIT or
 * _ACK) with index in [start, t->size) through GET /log/mailbox, page by
 * page, and hands each to fn once its inclusion proof verifies against t.
 * A malformed answer or a leaf that does not prove is kept as evidence
 * (t's note and what the relay sent, through t->keep) and fails with
 * PL_EXIT_SECURITY, like a fork. *next: the index to start from next time
 * (below t->size if fn stopped, or after 1,048,576 entries in one pass).
 * Costs one request per 256 of the mailbox's entries, whatever the log's
 * size. */
int pl_audit_mbxlog(pl_vault *v, pl_rc_conn *c, const pl_audit_tree *t, const uint8_t mbx[32],
		    int kind, uint64_t start, pl_audit_leaf_fn fn, void *ctx, uint64_t *next,
		    pl_err *e);
/* The current checkpoint, verified: note (malloc'd) and parsed size/root. */
int pl_audit_fetch_checkpoint(pl_vault *v, pl_rc_conn *c, uint8_t **note, size_t *n, uint64_t *size,
			      uint8_t root[static 32], pl_err *e);

#endif
