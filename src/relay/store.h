/*
 * store.h — the relay's durable state: DATA/relay.db (SQLite, WAL,
 * synchronous=FULL). The relay's signing key DATA/relay.key is relay/key.h.
 *
 * The relay keeps its transparency log here too (docs/PROTOCOL.md,
 * "Transparency log"): the leaves, every complete subtree's hash (the
 * store pl_merkle_store_append asks for) and every checkpoint it signed,
 * changed in the same transactions as the deposits and acks they record.
 *
 * A pl_store is one SQLite connection and must be used by one thread at a
 * time (the relay's committer thread). Operations run inside a transaction
 * the caller opens with pl_store_begin(); each request's operations are
 * wrapped in a savepoint so a refused request leaves nothing behind while
 * the rest of the batch still commits (group commit).
 */
#ifndef PARLEY_RELAY_STORE_H
#define PARLEY_RELAY_STORE_H

#include <stddef.h>
#include <stdint.h>

#include "auth/auth.h"
#include "identity/identity.h"
#include "log/leaf.h"
#include "log/merkle.h"
#include "relay/mbxidx.h"
#include "relay/proto.h"
#include "session/x3dh.h"
#include "util/err.h"
#include "util/wire.h"

#define PL_STORE_SCHEMA_VERSION 5
#define PL_STORE_MAX_OPK 1000		   /* one-time prekeys kept per mailbox */
#define PL_STORE_LISTING_BUDGET (4u << 20) /* envelope bytes per listing */

/* Results of operations besides 0 (done) and -1 (storage failure). */
enum {
	PL_STORE_OK = 0,
	PL_STORE_FAIL = -1,
	PL_STORE_NOTFOUND = 1,
	PL_STORE_CONFLICT = 2,
	PL_STORE_REPLAY = 3,
	PL_STORE_DENIED = 4,
	PL_STORE_QUOTA = 5, /* the mailbox holds its quota of messages or bytes */
	PL_STORE_FULL = 6,  /* the database is full (the disk, or the store cap) */
	PL_STORE_RATE = 7   /* too many new mailboxes from one address (the committer) */
};

typedef struct pl_store pl_store;

/* WAL checkpoints, in pages (4 KiB). The background checkpointer copies
 * the WAL into the database in steps of about PL_STORE_CKPT_STEP pages,
 * never once per commit: each copy costs two fsyncs, which compete with
 * the commits' own. Once the WAL holds PL_STORE_CKPT_RESTART pages the
 * copy is finished (the committer copies the last <= PL_STORE_CKPT_TAIL
 * pages itself), so the next transaction restarts the WAL from its
 * beginning and it stays near that size. */
#define PL_STORE_CKPT_STEP 4096	    /* 16 MiB not yet copied: wake the checkpointer */
#define PL_STORE_CKPT_RESTART 16000 /* 64 MiB in the WAL: finish the copy */
#define PL_STORE_CKPT_TAIL 256	    /* 1 MiB: the most the committer copies to finish */
#define PL_STORE_CKPT_HARD 64000    /* 256 MiB: the committer copies whatever is left */

enum { PL_STORE_CKPT_NONE, PL_STORE_CKPT_WAKE, PL_STORE_CKPT_INLINE };

/* What a commit that leaves `pages` frames in the WAL, `copied` of them
 * already in the database, asks for: nothing, a wake of the background
 * checkpointer (`background`: one runs), or a checkpoint on the
 * committer's own connection. */
int pl_store_ckpt_plan(int pages, int copied, int background);

/* Opens DATA/relay.db (creating schema on first use) and takes an exclusive
 * lock on DATA/relay.lock so two relays never share a directory. */
int pl_store_open(pl_store **out, const char *dir, pl_err *e);
void pl_store_close(pl_store *s);

/* What the relay bounds (0 = no bound). store_bytes caps relay.db
 * (PRAGMA max_page_count): envelopes may fill it to store_bytes; the log's
 * leaves and checkpoints, which acknowledgments (the way room is freed)
 * also write, may use a reserve above it of store_bytes / 16, at least
 * 1 MiB and at most 64 MiB. Beyond either, a write fails as on a full
 * disk (pl_store_full). The WAL (relay.db-wal) is not counted. */
typedef struct {
	uint64_t mailbox_msgs, mailbox_bytes; /* per mailbox: PL_STORE_QUOTA beyond */
	uint64_t store_bytes;
} pl_store_limits;
#define PL_STORE_RESERVE_DIV 16
#define PL_STORE_RESERVE_MIN (1u << 20)
#define PL_STORE_RESERVE_MAX (64u << 20)
int pl_store_set_limits(pl_store *s, const pl_store_limits *l, pl_err *e);
/* 1 if a write since the last pl_store_begin failed because the database
 * is full (SQLITE_FULL: the disk, or the cap); SQLite then has rolled the
 * transaction back. */
int pl_store_full(pl_store *s);
/* 1 if the relay holds anything under this mailbox id (a token, a message
 * or a bundle), 0 if it is new, -1 on error. */
int pl_store_mailbox_known(pl_store *s, const uint8_t mbx[static PL_MAILBOX_LEN]);

int pl_store_begin(pl_store *s);
int pl_store_commit(pl_store *s);
void pl_store_rollback(pl_store *s);
/* Per-request savepoint inside a transaction. */
int pl_store_savepoint(pl_store *s);
int pl_store_release(pl_store *s);
void pl_store_rollback_savepoint(pl_store *s);
/* 1 while a transaction is open (SQLite rolls back on some errors by itself). */
int pl_store_in_txn(pl_store *s);

/* Records the nonce for a mailbox; PL_STORE_REPLAY if seen already. */
int pl_store_nonce_use(pl_store *s, const uint8_t mbx[static PL_MAILBOX_LEN],
		       const uint8_t nonce[static PL_AUTH_NONCE_LEN], uint64_t now);
/* Forgets nonces recorded before now - PL_AUTH_NONCE_TTL. */
int pl_store_nonce_prune(pl_store *s, uint64_t now);

/* Replaces the signed prekey and adds the one-time prekeys (replacing any
 * with the same id); PL_STORE_CONFLICT if more than PL_STORE_MAX_OPK would be
 * stored. */
int pl_store_bundle_put(pl_store *s, const uint8_t mbx[static PL_MAILBOX_LEN],
			const pl_proto_bundle_upload *u);
/* The bundle with the lowest-id one-time prekey, which is deleted;
 * opk_id = 0 if none is left. PL_STORE_NOTFOUND if never uploaded. */
int pl_store_bundle_take(pl_store *s, const uint8_t mbx[static PL_MAILBOX_LEN], pl_bundle *b);
/* Number of one-time prekeys held (tests and diagnostics). */
int pl_store_opk_count(pl_store *s, const uint8_t mbx[static PL_MAILBOX_LEN], uint32_t *n);

int pl_store_token_put(pl_store *s, const uint8_t mbx[static PL_MAILBOX_LEN],
		       const uint8_t hash[static PL_PROTO_TOKEN_HASH_LEN]);
/* PL_STORE_OK iff a token is registered and its hash equals `hash`;
 * PL_STORE_DENIED otherwise. */
int pl_store_token_check(pl_store *s, const uint8_t mbx[static PL_MAILBOX_LEN],
			 const uint8_t hash[static PL_PROTO_TOKEN_HASH_LEN]);

/* PL_STORE_CONFLICT if the locator is held by another mailbox's owner. */
int pl_store_grant_put(pl_store *s, const uint8_t loc[static PL_PROTO_GRANT_LOC_LEN],
		       const uint8_t owner[static PL_MAILBOX_LEN], const uint8_t *blob,
		       size_t bloblen);
int pl_store_grant_get(pl_store *s, const uint8_t loc[static PL_PROTO_GRANT_LOC_LEN],
		       uint8_t blob[static PL_PROTO_GRANT_BLOB_MAX], size_t *bloblen);

#define PL_STORE_NO_LEAF UINT64_MAX

/* Appends an envelope to a mailbox if token_hash is its registered token's
 * (PL_STORE_DENIED otherwise, or if the mailbox has none) and the mailbox
 * has room under its quota (PL_STORE_QUOTA otherwise); assigns the
 * next per-mailbox seq. A deposit of an envelope already held (a retry after
 * a lost receipt) returns the stored seq and time instead of a copy.
 * *leaf: in, the index the log's next leaf gets (PL_STORE_NO_LEAF: the log
 * is off); out, the deposit's leaf (PL_STORE_NO_LEAF if it has none). *append
 * is set when the caller must append the deposit's leaf at that index in
 * this transaction: a new deposit, or a retry of one stored before the log. */
int pl_store_deposit(pl_store *s, const uint8_t mbx[static PL_MAILBOX_LEN],
		     const uint8_t token_hash[static PL_PROTO_TOKEN_HASH_LEN],
		     const uint8_t hash[static PL_PROTO_HASH_LEN], const uint8_t *env,
		     size_t envlen, uint64_t now, uint64_t *seq, uint64_t *time, uint64_t *leaf,
		     int *append);
/* Encodes the listing of envelopes with seq > after, at most
 * PL_PROTO_LISTING_MAX and about PL_STORE_LISTING_BUDGET bytes, with the
 * count of one-time prekeys the mailbox has left, into w. */
int pl_store_list(pl_store *s, const uint8_t mbx[static PL_MAILBOX_LEN], uint64_t after, pl_wr *w);
/* Deletes envelopes with seq <= `seq`; PL_STORE_CONFLICT if seq is beyond
 * the last seq ever assigned in the mailbox. */
int pl_store_ack(pl_store *s, const uint8_t mbx[static PL_MAILBOX_LEN], uint64_t seq);

/* ---- transparency log ----------------------------------------------- */
/* Leaves are 0..size-1 without gaps, fewer than 2^56. Each leaf row also
 * holds the complete subtrees the leaf closed (pl_merkle_store_append's
 * nodes), so every complete subtree is stored. */
#define PL_STORE_LOG_BITS 56
#define PL_STORE_LOG_MAX ((uint64_t)1 << PL_STORE_LOG_BITS)

/* Number of leaves (highest index + 1). */
int pl_store_log_size(pl_store *s, uint64_t *size);
/* nodes[0..count) must be exactly the subtrees leaf `index` closes (levels
 * 1..count, count = trailing zeros of index + 1), as pl_merkle_store_append
 * gives them. */
int pl_store_leaf_put(pl_store *s, uint64_t index, const uint8_t *data, size_t n,
		      const pl_merkle_node *nodes, size_t count);
/* PL_STORE_NOTFOUND beyond the log. */
int pl_store_leaf_get(pl_store *s, uint64_t index, uint8_t data[static PL_LEAF_MAX], size_t *n);
/* A stored complete subtree hash, level >= 1; PL_STORE_NOTFOUND if none. */
int pl_store_node_get(pl_store *s, unsigned level, uint64_t index,
		      uint8_t hash[static PL_MERKLE_HASH_LEN]);
/* A merkle.h source over this store (leaf hashes from the stored leaves). */
void pl_store_merkle_source(pl_store *s, pl_merkle_source *src);
/* Encodes the leaves body (proto.h) of leaves [start, start + count), all
 * of which must exist (count <= PL_PROTO_LEAVES_MAX), into w. */
int pl_store_leaves(pl_store *s, uint64_t start, uint32_t count, pl_wr *w);
/* The log's index by mailbox (relay/mbxidx.h), built when the store
 * opened; safe to read from any thread. The store never adds to it after
 * opening: the committer does, once a batch's leaves are committed. */
pl_mbxidx *pl_store_mbxidx(pl_store *s);
/* Signed checkpoints, by tree size (one per size). */
int pl_store_checkpoint_put(pl_store *s, uint64_t size, const uint8_t *note, size_t n);
int pl_store_checkpoint_get(pl_store *s, uint64_t size, uint8_t note[static PL_LEAF_NOTE_MAX],
			    size_t *n);
/* The checkpoint of the largest size; PL_STORE_NOTFOUND if none. */
int pl_store_checkpoint_latest(pl_store *s, uint64_t *size, uint8_t note[static PL_LEAF_NOTE_MAX],
			       size_t *n);
/* Small integer settings (e.g. "nolog": the relay once ran without its log). */
int pl_store_meta_get(pl_store *s, const char *key, int64_t *v);
int pl_store_meta_put(pl_store *s, const char *key, int64_t v);

#endif
