/*
 * msgdir.h — the relay's directory of stored envelopes, in memory: for each
 * mailbox its messages (seq → row id) in seq order, its access token's
 * hash, the last seq it gave out and the bytes it holds, and a map from a 64-bit fingerprint of
 * (mailbox, envelope hash) to row ids, which finds a retried deposit.
 *
 * Why. As SQLite indexes, (mailbox, seq) and (mailbox, hash) are random-key
 * B-trees: every deposit of a group commit dirtied a page of each in a
 * different place, and those pages — not the envelopes — were most of what
 * each commit wrote and synced. Kept here, the message table is written
 * only at its end. The store rebuilds the directory from the message table
 * when it opens (one scan), so the table stays the only truth.
 *
 * The token and the last seq are here for the same reason: read and
 * written in the mailbox table's row, they cost every deposit a SELECT and
 * an UPDATE and the commit a page in a random place. The store writes a
 * token to the table when it is registered and the last seq when messages
 * are acknowledged (deleted); at open, a mailbox's last seq is the larger
 * of the table's and its highest stored message's (relay/store.c).
 *
 * Transactions. Changes follow the store's transaction: adds, tokens and
 * seqs take effect at once (a lookup in the same transaction sees them)
 * and are undone by pl_msgdir_rollback; removals are recorded and applied by
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
		   const uint8_t hash[static PL_MSGDIR_KEY_LEN], uint64_t seq, int64_t id,
		   uint32_t len);
void pl_msgdir_sort(pl_msgdir *d);
/* While loading: a mailbox row (token may be NULL: none registered). Its
 * last seq becomes at least `last`; loaded messages raise it too. */
int pl_msgdir_load_mailbox(pl_msgdir *d, const uint8_t mbx[static PL_MSGDIR_KEY_LEN],
			   const uint8_t *token, uint64_t last);

/* In a transaction: registers (or replaces) the mailbox's token hash,
 * creating the mailbox. -1 (nothing changed) on out of memory. */
int pl_msgdir_set_token(pl_msgdir *d, const uint8_t mbx[static PL_MSGDIR_KEY_LEN],
			const uint8_t token[static PL_MSGDIR_KEY_LEN]);
/* 1 iff the mailbox has a token and its hash equals `token` (compared in
 * constant time). */
int pl_msgdir_token_ok(const pl_msgdir *d, const uint8_t mbx[static PL_MSGDIR_KEY_LEN],
		       const uint8_t token[static PL_MSGDIR_KEY_LEN]);
/* In a transaction, for a deposit: if `token` is the mailbox's, takes the
 * next seq (*seq) and returns 0; 1 if it is not (or no such mailbox); -1
 * (nothing changed) on out of memory or if the seqs ran out. */
int pl_msgdir_next_seq(pl_msgdir *d, const uint8_t mbx[static PL_MSGDIR_KEY_LEN],
		       const uint8_t token[static PL_MSGDIR_KEY_LEN], uint64_t *seq);
/* The last seq the mailbox gave out (0: none, or no such mailbox). */
uint64_t pl_msgdir_last_seq(const pl_msgdir *d, const uint8_t mbx[static PL_MSGDIR_KEY_LEN]);

/* In a transaction: a new message of len bytes, with a seq above every seq
 * the mailbox holds. -1 (nothing changed) on out of memory. */
int pl_msgdir_add(pl_msgdir *d, const uint8_t mbx[static PL_MSGDIR_KEY_LEN],
		  const uint8_t hash[static PL_MSGDIR_KEY_LEN], uint64_t seq, int64_t id,
		  uint32_t len);
/* What the mailbox holds now, in this transaction (messages added count at
 * once, acknowledged ones until the commit): its messages and their bytes.
 * Kept up to date with every change, so that a quota check costs a lookup. */
void pl_msgdir_usage(const pl_msgdir *d, const uint8_t mbx[static PL_MSGDIR_KEY_LEN],
		     uint64_t *msgs, uint64_t *bytes);
/* 1 iff the directory knows the mailbox (a token or a message). */
int pl_msgdir_has(const pl_msgdir *d, const uint8_t mbx[static PL_MSGDIR_KEY_LEN]);
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
