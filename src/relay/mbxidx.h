/*
 * mbxidx.h — the relay's index of its log by mailbox, in memory: for each
 * mailbox, the indices of its deposit leaves and of its owner's
 * acknowledgement leaves, oldest first. It answers GET /log/mailbox/{mbx}
 * (docs/PROTOCOL.md) at a cost in proportion to the mailbox's own leaves,
 * not to the log's size.
 *
 * Why in memory. A SQLite index on (mailbox, leaf) would cost every deposit
 * a page written in a random place of a random-key B-tree, which is what
 * the group commit took out of the hot path (relay/msgdir.h). The leaf
 * table stays the only truth: the store builds this index from it when it
 * opens (one scan), and the committer adds a batch's leaves once that
 * batch has committed, never before, so a rolled-back batch leaves nothing
 * here.
 *
 * Memory: 8 bytes per indexed leaf (arrays grow by a quarter, trimmed after
 * the load) plus a fixed amount per mailbox.
 *
 * Threads. One writer (the store while opening, then the committer) and
 * any number of readers (the HTTP workers), under a read-write lock held
 * only to append one index or to copy out one page of a lookup.
 *
 * Must never: list an index for a mailbox whose leaf it is not, miss one
 * the writer added, or hold an index out of order (adds must come in
 * increasing leaf index per mailbox and kind).
 */
#ifndef PARLEY_RELAY_MBXIDX_H
#define PARLEY_RELAY_MBXIDX_H

#include <stddef.h>
#include <stdint.h>

#define PL_MBXIDX_KEY_LEN 32

/* Which of a mailbox's lists: its deposit leaves or its acknowledgement
 * leaves. */
enum { PL_MBXIDX_DEPOSIT = 0, PL_MBXIDX_ACK = 1, PL_MBXIDX_KINDS = 2 };

typedef struct pl_mbxidx pl_mbxidx;

typedef struct {
	uint64_t index; /* leaf index */
	int kind;	/* PL_MBXIDX_DEPOSIT or PL_MBXIDX_ACK */
} pl_mbxidx_hit;

/* The list a leaf of this type goes to; -1 if none (not indexed). */
int pl_mbxidx_kind_of(uint8_t leaf_type);

pl_mbxidx *pl_mbxidx_new(void);
void pl_mbxidx_free(pl_mbxidx *x);

/* Writer: leaf `index` is of this kind for mailbox mbx. It must be above
 * every index the mailbox already has of that kind. -1 (nothing changed)
 * on out of memory or an index out of order; the index is then marked
 * broken (pl_mbxidx_ok) since it would answer incompletely. */
int pl_mbxidx_add(pl_mbxidx *x, const uint8_t mbx[static PL_MBXIDX_KEY_LEN], uint64_t index,
		  int kind);
/* Writer, after loading: gives back the slack of the load's growth. */
void pl_mbxidx_trim(pl_mbxidx *x);

/* Any thread: 0 while every add succeeded. */
int pl_mbxidx_ok(pl_mbxidx *x);
/* Any thread: mbx's leaves with index in [start, end), oldest first, of
 * one kind or of both (kind < 0): up to max of them into hits; returns how
 * many were written. */
size_t pl_mbxidx_find(pl_mbxidx *x, const uint8_t mbx[static PL_MBXIDX_KEY_LEN], uint64_t start,
		      uint64_t end, int kind, pl_mbxidx_hit *hits, size_t max);
/* Any thread: indexed leaves, mailboxes, and bytes held (diagnostics). */
void pl_mbxidx_stats(pl_mbxidx *x, size_t *leaves, size_t *mailboxes, size_t *bytes);

#endif
