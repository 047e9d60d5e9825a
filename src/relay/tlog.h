/*
 * tlog.h — the relay's Merkle tree in memory: what the committer needs to
 * append leaves, compute the new root and hand out inclusion proofs without
 * reading the database (docs/PROTOCOL.md, "Transparency log").
 *
 * The tree lives in the store (every leaf and complete subtree, written by
 * the committer in the batch's transaction); this keeps only a *view* per
 * group-commit batch: the frontier (the newest complete subtree at each
 * level, which is all the root and the next appends read) and every leaf
 * and complete subtree the batch added. That is exactly what the root and
 * the inclusion proof of any leaf of the batch read (a left sibling of such
 * a leaf's path is either completed in the batch or the frontier at its
 * level; right siblings lie inside the batch), so proofs cost O(log n)
 * hashing and no I/O.
 *
 * Threads. The committer alone appends to the open view. pl_tlog_seal
 * freezes it with the batch's signed checkpoint and opens the next; a
 * sealed view is immutable and reference-counted, so handler threads build
 * their receipts from it in parallel and the last one frees it.
 *
 * Must never: answer a hash it does not hold (a lookup outside the view
 * fails, it is never guessed), grow a view beyond the leaves it was sized
 * for, or change a sealed view.
 */
#ifndef PARLEY_RELAY_TLOG_H
#define PARLEY_RELAY_TLOG_H

#include <stddef.h>
#include <stdint.h>

#include "log/leaf.h"
#include "log/merkle.h"

typedef struct pl_tlog_view pl_tlog_view;

typedef struct {
	uint64_t size;	    /* leaves, including the open batch's */
	size_t max_leaves;  /* per batch */
	pl_tlog_view *open; /* the batch being built (committer only) */
} pl_tlog;

/* Starts from a stored tree of `size` leaves, reading its frontier through
 * src (one lookup per level). */
int pl_tlog_init(pl_tlog *t, const pl_merkle_source *src, uint64_t size, size_t max_leaves);
void pl_tlog_free(pl_tlog *t);

/* Appends leaf hash `leaf` as leaf t->size; fills the complete subtrees it
 * closes (for the store), as pl_merkle_store_append. -1 if the open view is
 * full (max_leaves) or on error, with nothing changed. */
int pl_tlog_append(pl_tlog *t, const uint8_t leaf[static PL_MERKLE_HASH_LEN],
		   pl_merkle_node nodes[static PL_MERKLE_APPEND_MAX], size_t *count);
/* Root of the current tree (open batch included). */
int pl_tlog_root(const pl_tlog *t, uint8_t root[static PL_MERKLE_HASH_LEN]);
/* Drops the open batch's appends (its transaction rolled back). */
void pl_tlog_rollback(pl_tlog *t);
/* Size when the open batch began. */
uint64_t pl_tlog_base(const pl_tlog *t);

/* Freezes the open batch with the checkpoint note signed for t->size and
 * opens the next batch. Returns the sealed view with one reference held by
 * the caller, or NULL (out of memory: nothing changed). */
pl_tlog_view *pl_tlog_seal(pl_tlog *t, const uint8_t *note, size_t notelen);

/* A sealed view: the tree size and checkpoint it stands for, and inclusion
 * proofs of its batch's leaves [base, size). */
void pl_tlog_view_ref(pl_tlog_view *v, unsigned n);
void pl_tlog_view_unref(pl_tlog_view *v);
uint64_t pl_tlog_view_size(const pl_tlog_view *v);
uint64_t pl_tlog_view_base(const pl_tlog_view *v);
const uint8_t *pl_tlog_view_note(const pl_tlog_view *v, size_t *len);
/* -1 if index is not a leaf of the view's batch. */
int pl_tlog_view_prove(const pl_tlog_view *v, uint64_t index,
		       uint8_t proof[static PL_MERKLE_PROOF_MAX][PL_MERKLE_HASH_LEN], size_t *len);

#endif
