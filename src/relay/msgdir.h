/*
 * msgdir.h — the relay's directory of stored envelopes, in memory: for each
 * mailbox its messages (seq → row id) in seq order, and a map from a 64-bit
 * fingerprint of (mailbox, envelope hash) to row ids, which finds a retried
 * deposit.
 *
 * Why. As SQLite indexes, (mailbox, seq) and (mailbox, hash) are random-key
 * B-trees: every deposit of a group commit dirtied a page of each in a
 * different place, and those pages — not the envelopes — were most of what
 * each commit wrote and synced. Kept here, the message table is written
 * only at its end. The store rebuilds the directory from the message table
 * when it opens (one scan), so the table stays the only truth.
 *
 * Transactions. Changes follow the store's transaction: adds take effect
 * at once (a lookup in the same transaction sees them) and are undone by
 * pl_msgdir_rollback; removals are recorded and applied by
 * pl_msgdir_commit, so until then a removed message is still listed and the
 * caller, reading its row, finds it gone. Readers always confirm against
 * the table: the directory may point at a row that is gone, never miss one
 * the relay wrote.
 *
 * One thread at a time (the store's). Must never lose an entry for a row
 * that exists, or keep memory it cannot account for (removed entries are
 * reclaimed).
 */
#ifndef PARLEY_RELAY_MSGDIR_H
#define PARLEY_RELAY_MSGDIR_H

#include <stddef.h>
#include <stdint.h>

#define PL_MSGDIR_KEY_LEN 32

typedef struct pl_msgdir pl_msgdir;

pl_msgdir *pl_msgdir_new(void);
void pl_msgdir_free(pl_msgdir *d);

/* While loading (outside transactions): add in any order, then sort. */
int pl_msgdir_load(pl_msgdir *d, const uint8_t mbx[static PL_MSGDIR_KEY_LEN],
		   const uint8_t hash[static PL_MSGDIR_KEY_LEN], uint64_t seq, int64_t id);
void pl_msgdir_sort(pl_msgdir *d);

/* In a transaction: a new message, with a seq above every seq the mailbox
 * holds. -1 (nothing changed) on out of memory. */
int pl_msgdir_add(pl_msgdir *d, const uint8_t mbx[static PL_MSGDIR_KEY_LEN],
		  const uint8_t hash[static PL_MSGDIR_KEY_LEN], uint64_t seq, int64_t id);
/* In a transaction: mbx's messages with seq <= through go at commit. */
int pl_msgdir_remove_through(pl_msgdir *d, const uint8_t mbx[static PL_MSGDIR_KEY_LEN],
			     uint64_t through);
void pl_msgdir_commit(pl_msgdir *d);
void pl_msgdir_rollback(pl_msgdir *d);

/* Row ids that may hold this envelope in this mailbox (the caller reads
 * each row to be sure): writes up to max to ids[], returns how many there
 * are in all. */
size_t pl_msgdir_candidates(const pl_msgdir *d, const uint8_t mbx[static PL_MSGDIR_KEY_LEN],
			    const uint8_t hash[static PL_MSGDIR_KEY_LEN], int64_t *ids, size_t max);
/* mbx's messages with seq > after, in seq order: up to max (seq, id). */
size_t pl_msgdir_list(const pl_msgdir *d, const uint8_t mbx[static PL_MSGDIR_KEY_LEN],
		      uint64_t after, uint64_t *seqs, int64_t *ids, size_t max);
/* Messages held (for tests and diagnostics). */
size_t pl_msgdir_count(const pl_msgdir *d);

#endif
