/*
 * store.c — the relay's SQLite database (store.h).
 *
 * It owns DATA/relay.db and DATA/relay.lock. Every change is
 * made inside the caller's transaction and savepoint, so a crash leaves the
 * old state or the new one, never a mix. It also owns what makes the group
 * commit cheap: the database goes through relay/walbuf.h (WAL writes
 * gathered), WAL checkpoints run in a thread of their own, and retried
 * deposits are found through an in-memory fingerprint map instead of a
 * random-key index (schema version 3, below). It must never decide anything
 * about HTTP: it returns PL_STORE_* codes.
 */
#include "relay/store.h"

#include <errno.h>
#include <pthread.h>
#include <fcntl.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "log/leaf.h"
#include "relay/msgdir.h"
#include "relay/walbuf.h"
#include "util/file.h"

enum {
	Q_NONCE_INS,
	Q_NONCE_PRUNE,
	Q_BUNDLE_PUT,
	Q_OPK_PUT,
	Q_OPK_COUNT,
	Q_BUNDLE_GET,
	Q_BUNDLE_HAS,
	Q_OPK_FIRST,
	Q_OPK_DEL,
	Q_TOKEN_PUT,
	Q_GRANT_OWNER,
	Q_GRANT_PUT,
	Q_GRANT_GET,
	Q_MSG_BY_ID,
	Q_MSG_INS,
	Q_SEQ_SAVE,
	Q_MBX_ALL,
	Q_MSG_SET_LEAF,
	Q_MSG_ROW,
	Q_MSG_DEL_ID,
	Q_MSG_ALL,
	Q_LEAF_PUT,
	Q_LEAF_GET,
	Q_LEAF_RANGE,
	Q_LOG_SIZE,
	Q_NODES_GET,
	Q_CP_PUT,
	Q_CP_GET,
	Q_CP_LATEST,
	Q_META_GET,
	Q_META_PUT,
	Q_BEGIN,
	Q_COMMIT,
	Q_ROLLBACK,
	Q_SAVEPOINT,
	Q_RELEASE,
	Q_ROLLBACK_TO,
	Q_COUNT
};

static const char *const sql_text[Q_COUNT] = {
    [Q_NONCE_INS] = "INSERT OR IGNORE INTO nonce(mbx, nonce, time) VALUES (?1, ?2, ?3)",
    [Q_NONCE_PRUNE] = "DELETE FROM nonce WHERE time < ?1",
    [Q_BUNDLE_PUT] =
	"INSERT INTO bundle(mbx, ik, spk_id, spk, spk_sig) VALUES (?1, ?2, ?3, ?4, ?5) "
	"ON CONFLICT(mbx) DO UPDATE SET ik = ?2, spk_id = ?3, spk = ?4, spk_sig = ?5",
    [Q_OPK_PUT] = "INSERT OR REPLACE INTO opk(mbx, id, pub) VALUES (?1, ?2, ?3)",
    [Q_OPK_COUNT] = "SELECT count(*) FROM opk WHERE mbx = ?1",
    [Q_BUNDLE_GET] = "SELECT ik, spk_id, spk, spk_sig FROM bundle WHERE mbx = ?1",
    [Q_BUNDLE_HAS] = "SELECT 1 FROM bundle WHERE mbx = ?1",
    [Q_OPK_FIRST] = "SELECT id, pub FROM opk WHERE mbx = ?1 ORDER BY id LIMIT 1",
    [Q_OPK_DEL] = "DELETE FROM opk WHERE mbx = ?1 AND id = ?2",
    [Q_TOKEN_PUT] = "INSERT INTO mailbox(mbx, last_seq, token) VALUES (?1, 0, ?2) "
		    "ON CONFLICT(mbx) DO UPDATE SET token = ?2",
    [Q_GRANT_OWNER] = "SELECT owner FROM grants WHERE loc = ?1",
    [Q_GRANT_PUT] = "INSERT INTO grants(loc, owner, blob) VALUES (?1, ?2, ?3) "
		    "ON CONFLICT(loc) DO UPDATE SET blob = ?3",
    [Q_GRANT_GET] = "SELECT blob FROM grants WHERE loc = ?1",
    [Q_MSG_BY_ID] = "SELECT mbx, hash, seq, time, leaf FROM msg WHERE id = ?1",
    [Q_MSG_INS] =
	"INSERT INTO msg(mbx, seq, time, hash, env, leaf) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    /* A mailbox's last seq is written when messages are acknowledged
     * (deleted), not by every deposit: see schema_v5. */
    [Q_SEQ_SAVE] = "UPDATE mailbox SET last_seq = ?2 WHERE mbx = ?1 AND last_seq < ?2",
    [Q_MBX_ALL] = "SELECT mbx, last_seq, token FROM mailbox",
    [Q_MSG_SET_LEAF] = "UPDATE msg SET leaf = ?2 WHERE id = ?1",
    [Q_MSG_ROW] = "SELECT mbx, seq, time, env FROM msg WHERE id = ?1",
    [Q_MSG_DEL_ID] = "DELETE FROM msg WHERE id = ?1",
    /* length() of a blob column reads the record header, not the blob. */
    [Q_MSG_ALL] = "SELECT id, mbx, seq, hash, length(env) FROM msg",
    [Q_LEAF_PUT] = "INSERT INTO leaf(idx, data, nodes) VALUES (?1, ?2, ?3)",
    [Q_LEAF_GET] = "SELECT data FROM leaf WHERE idx = ?1",
    [Q_LEAF_RANGE] = "SELECT idx, data FROM leaf WHERE idx >= ?1 AND idx < ?2 ORDER BY idx",
    [Q_LOG_SIZE] = "SELECT max(idx) FROM leaf",
    [Q_NODES_GET] = "SELECT nodes FROM leaf WHERE idx = ?1",
    [Q_CP_PUT] = "INSERT INTO checkpoint(size, note) VALUES (?1, ?2)",
    [Q_CP_GET] = "SELECT size, note FROM checkpoint WHERE size = ?1",
    [Q_CP_LATEST] = "SELECT size, note FROM checkpoint ORDER BY size DESC LIMIT 1",
    [Q_META_GET] = "SELECT v FROM meta WHERE k = ?1",
    [Q_META_PUT] = "INSERT INTO meta(k, v) VALUES (?1, ?2) ON CONFLICT(k) DO UPDATE SET v = ?2",
    /* Prepared once: the committer runs these for every batch. */
    [Q_BEGIN] = "BEGIN IMMEDIATE",
    [Q_COMMIT] = "COMMIT",
    [Q_ROLLBACK] = "ROLLBACK",
    [Q_SAVEPOINT] = "SAVEPOINT req",
    [Q_RELEASE] = "RELEASE req",
    [Q_ROLLBACK_TO] = "ROLLBACK TO req",
};

static const char schema_v1[] =
    "CREATE TABLE mailbox(mbx BLOB PRIMARY KEY, last_seq INTEGER NOT NULL, token BLOB);"
    "CREATE TABLE bundle(mbx BLOB PRIMARY KEY, ik BLOB NOT NULL, spk_id INTEGER NOT NULL,"
    " spk BLOB NOT NULL, spk_sig BLOB NOT NULL);"
    "CREATE TABLE opk(mbx BLOB NOT NULL, id INTEGER NOT NULL, pub BLOB NOT NULL,"
    " PRIMARY KEY(mbx, id)) WITHOUT ROWID;"
    "CREATE TABLE grants(loc BLOB PRIMARY KEY, owner BLOB NOT NULL, blob BLOB NOT NULL);"
    "CREATE TABLE msg(id INTEGER PRIMARY KEY, mbx BLOB NOT NULL, seq INTEGER NOT NULL,"
    " time INTEGER NOT NULL, hash BLOB NOT NULL, env BLOB NOT NULL,"
    " UNIQUE(mbx, seq), UNIQUE(mbx, hash));"
    "CREATE TABLE nonce(mbx BLOB NOT NULL, nonce BLOB NOT NULL, time INTEGER NOT NULL,"
    " PRIMARY KEY(mbx, nonce)) WITHOUT ROWID;"
    "CREATE INDEX nonce_time ON nonce(time);"
    "PRAGMA user_version = 1;";

/* Version 2: the transparency log. A message records its deposit leaf
 * (NULL for one stored before the log existed, or by a relay run with
 * --no-log). A node's id is level << 56 | index (levels 1..63; leaves are
 * level 0 and live in `leaf`). Every checkpoint ever signed is kept. */
static const char schema_v2[] =
    "ALTER TABLE msg ADD COLUMN leaf INTEGER;"
    "CREATE TABLE leaf(idx INTEGER PRIMARY KEY, data BLOB NOT NULL);"
    "CREATE TABLE node(id INTEGER PRIMARY KEY, hash BLOB NOT NULL);"
    "CREATE TABLE checkpoint(size INTEGER PRIMARY KEY, note BLOB NOT NULL);"
    "CREATE TABLE meta(k TEXT PRIMARY KEY, v INTEGER NOT NULL);"
    "PRAGMA user_version = 2;";

/* Version 3: fewer pages written per deposit.
 *  - No index on (mbx, hash); `msgfp` (dropped again by version 4).
 *  - No `node` table. The complete subtrees leaf i closes (levels 1..t,
 *    t = trailing zeros of i + 1; pl_merkle_store_append's nodes) are
 *    stored with the leaf, as t hashes, level 1 first: subtree (level l,
 *    index j) is in the row of leaf (j + 1) * 2^l - 1. One row per append
 *    instead of two. fill_leaf_nodes() moves version 2's nodes there. */
static const char schema_v3[] =
    "CREATE TABLE msg3(id INTEGER PRIMARY KEY, mbx BLOB NOT NULL, seq INTEGER NOT NULL,"
    " time INTEGER NOT NULL, hash BLOB NOT NULL, env BLOB NOT NULL, leaf INTEGER,"
    " UNIQUE(mbx, seq));"
    "INSERT INTO msg3(id, mbx, seq, time, hash, env, leaf)"
    " SELECT id, mbx, seq, time, hash, env, leaf FROM msg;"
    "DROP TABLE msg;"
    "ALTER TABLE msg3 RENAME TO msg;"
    "CREATE TABLE msgfp(id INTEGER PRIMARY KEY, fp INTEGER NOT NULL);"
    "ALTER TABLE leaf ADD COLUMN nodes BLOB;"
    "PRAGMA user_version = 3;";

/* Version 4: the message table has no index at all. Which messages a
 * mailbox holds, in seq order, and which envelope a retry repeats, are kept
 * in memory (relay/msgdir.h), rebuilt from this table at start; the
 * (mbx, seq) index cost every deposit a page write in a random place, and
 * `msgfp` one more row. Seqs stay unique per mailbox: they come from
 * mailbox.last_seq. */
static const char schema_v4[] =
    "CREATE TABLE msg4(id INTEGER PRIMARY KEY, mbx BLOB NOT NULL, seq INTEGER NOT NULL,"
    " time INTEGER NOT NULL, hash BLOB NOT NULL, env BLOB NOT NULL, leaf INTEGER);"
    "INSERT INTO msg4(id, mbx, seq, time, hash, env, leaf)"
    " SELECT id, mbx, seq, time, hash, env, leaf FROM msg;"
    "DROP TABLE msg;"
    "ALTER TABLE msg4 RENAME TO msg;"
    "DROP TABLE msgfp;"
    "PRAGMA user_version = 4;";

/* Version 5: the same tables; what changed is what mailbox.last_seq means.
 * A deposit no longer writes it (that was a SELECT, an UPDATE and a page in
 * a random place per deposit): the relay keeps each mailbox's last seq in
 * memory (relay/msgdir.h) and writes it when it deletes acknowledged
 * messages. So the last seq a mailbox gave out is the larger of last_seq
 * and its highest stored message's seq, which is how the store reads it at
 * open. The version is raised so that an older relay, which would take
 * last_seq alone and give out a seq twice, refuses this file. */
static const char schema_v5[] = "PRAGMA user_version = 5;";

/* WAL checkpoints run on a connection of their own in a background
 * thread, so the committer never copies WAL frames into the database on
 * its commit path. pl_store_ckpt_plan() says what each commit asks for
 * (store.h). The committer copies frames itself only to finish a copy that
 * is almost done, so that the WAL can restart, or if the WAL still reaches
 * PL_STORE_CKPT_HARD pages (the checkpointer cannot keep up, or a long
 * reader holds it back). An idle relay is checkpointed every CKPT_IDLE_S
 * seconds. */
#define CKPT_IDLE_S 5

struct pl_store {
	sqlite3 *db;
	sqlite3_stmt *q[Q_COUNT];
	int lockfd;
	pl_msgdir *dir; /* stored envelopes by mailbox and fingerprint */
	pl_mbxidx *idx; /* the log's leaves by mailbox */
	/* the background checkpointer */
	sqlite3 *ckpt_db;
	pthread_t ckpt_th;
	pthread_mutex_t ckpt_mu;
	pthread_cond_t ckpt_cv;
	int ckpt_started, ckpt_want, ckpt_stop;
	int ckpt_copied; /* WAL frames already in the database, as last seen */
	/* limits (pl_store_set_limits) */
	int full;			  /* a statement found the database full since BEGIN */
	uint64_t mbx_msgs, mbx_bytes;	  /* per-mailbox quota, 0 = none */
	sqlite3_stmt *cap_low, *cap_high; /* max_page_count for deposits / the rest */
};

/* Returns the prepared statement, reset and unbound. */
static sqlite3_stmt *q(pl_store *s, int which)
{
	sqlite3_stmt *st = s->q[which];
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	return st;
}

static int exec(pl_store *s, const char *sql)
{
	return sqlite3_exec(s->db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : -1;
}

/* Runs a statement that returns no rows. A full database (the disk, or
 * the operator's cap) is remembered until the next transaction begins, so
 * that the committer can answer "full" rather than "failed". */
static int step_done(pl_store *s, sqlite3_stmt *st)
{
	int rc = sqlite3_step(st);
	sqlite3_reset(st);
	if ((rc & 0xff) == SQLITE_FULL)
		s->full = 1;
	return rc == SQLITE_DONE ? 0 : -1;
}

static void bind_blob(sqlite3_stmt *st, int i, const void *p, size_t n)
{
	sqlite3_bind_blob(st, i, p, (int)n, SQLITE_STATIC);
}

/* Copies an exactly-n-byte blob column; -1 if the stored value is not one. */
static int col_blob(sqlite3_stmt *st, int i, void *out, size_t n)
{
	const void *p = sqlite3_column_blob(st, i);
	if (p == NULL || (size_t)sqlite3_column_bytes(st, i) != n)
		return -1;
	memcpy(out, p, n);
	return 0;
}

/* Version 2 -> 3: every leaf gets the subtree hashes it closed. */
static int fill_leaf_nodes(pl_store *s)
{
	sqlite3_stmt *ls, *ns, *up;
	int rc, ok = 1;

	if (sqlite3_prepare_v2(s->db, "SELECT idx FROM leaf ORDER BY idx", -1, &ls, NULL) !=
	    SQLITE_OK)
		return -1;
	if (sqlite3_prepare_v2(s->db, "SELECT hash FROM node WHERE id = ?1", -1, &ns, NULL) !=
	    SQLITE_OK) {
		sqlite3_finalize(ls);
		return -1;
	}
	if (sqlite3_prepare_v2(s->db, "UPDATE leaf SET nodes = ?2 WHERE idx = ?1", -1, &up, NULL) !=
	    SQLITE_OK) {
		sqlite3_finalize(ls);
		sqlite3_finalize(ns);
		return -1;
	}
	while (ok && (rc = sqlite3_step(ls)) == SQLITE_ROW) {
		uint64_t i = (uint64_t)sqlite3_column_int64(ls, 0);
		unsigned t = (unsigned)__builtin_ctzll(i + 1);
		uint8_t nodes[PL_MERKLE_APPEND_MAX * PL_MERKLE_HASH_LEN];
		if (t == 0 || i + 1 >= PL_STORE_LOG_MAX)
			continue;
		for (unsigned l = 1; l <= t && ok; l++) {
			sqlite3_bind_int64(
			    ns, 1, (sqlite3_int64)((uint64_t)l << 56 | (((i + 1) >> l) - 1)));
			ok = sqlite3_step(ns) == SQLITE_ROW &&
			     col_blob(ns, 0, nodes + (l - 1) * PL_MERKLE_HASH_LEN,
				      PL_MERKLE_HASH_LEN) == 0;
			sqlite3_reset(ns);
		}
		sqlite3_bind_int64(up, 1, (sqlite3_int64)i);
		sqlite3_bind_blob(up, 2, nodes, (int)(t * PL_MERKLE_HASH_LEN), SQLITE_STATIC);
		ok = ok && sqlite3_step(up) == SQLITE_DONE;
		sqlite3_reset(up);
	}
	sqlite3_finalize(ls);
	sqlite3_finalize(ns);
	sqlite3_finalize(up);
	return ok && rc == SQLITE_DONE ? 0 : -1;
}

/* The in-memory directory of mailboxes and stored envelopes, from the
 * mailbox and message tables. */
static int dir_load(pl_store *s)
{
	sqlite3_stmt *st = s->q[Q_MBX_ALL];
	int rc;

	s->dir = pl_msgdir_new();
	if (s->dir == NULL)
		return -1;
	sqlite3_reset(st);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint8_t mbx[PL_MAILBOX_LEN], tok[PL_PROTO_TOKEN_HASH_LEN];
		int64_t last = sqlite3_column_int64(st, 1);
		int has_tok = col_blob(st, 2, tok, sizeof tok) == 0;
		/* A row the relay did not write (edited by hand): no mailbox. */
		if (last < 0 || col_blob(st, 0, mbx, sizeof mbx) != 0)
			continue;
		if (pl_msgdir_load_mailbox(s->dir, mbx, has_tok ? tok : NULL, (uint64_t)last) !=
		    0) {
			rc = SQLITE_NOMEM;
			break;
		}
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE)
		return -1;
	st = s->q[Q_MSG_ALL];
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		uint8_t mbx[PL_MAILBOX_LEN], hash[PL_PROTO_HASH_LEN];
		int64_t id = sqlite3_column_int64(st, 0), seq = sqlite3_column_int64(st, 2);
		/* A row the relay did not write (edited by hand): never listed. */
		int64_t len = sqlite3_column_int64(st, 4);
		if (id <= 0 || seq <= 0 || col_blob(st, 1, mbx, sizeof mbx) != 0 ||
		    col_blob(st, 3, hash, sizeof hash) != 0 || len < 0 || len > UINT32_MAX)
			continue;
		if (pl_msgdir_load(s->dir, mbx, hash, (uint64_t)seq, id, (uint32_t)len) != 0) {
			rc = SQLITE_NOMEM;
			break;
		}
	}
	sqlite3_reset(st);
	pl_msgdir_sort(s->dir);
	return rc == SQLITE_DONE ? 0 : -1;
}

/* The index of the log by mailbox, from the leaf table (one scan). A leaf
 * that does not decode is not indexed: it is never served by mailbox. */
static int idx_load(pl_store *s)
{
	sqlite3_stmt *st = s->q[Q_LEAF_RANGE];
	int rc;

	s->idx = pl_mbxidx_new();
	if (s->idx == NULL)
		return -1;
	sqlite3_reset(st);
	sqlite3_bind_int64(st, 1, 0);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)PL_STORE_LOG_MAX);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		pl_leaf l;
		int64_t i = sqlite3_column_int64(st, 0);
		const void *p = sqlite3_column_blob(st, 1);
		int len = sqlite3_column_bytes(st, 1), kind;
		if (i < 0 || p == NULL || len <= 0 || pl_leaf_decode(&l, p, (size_t)len) != 0 ||
		    (kind = pl_mbxidx_kind_of(l.type)) < 0)
			continue;
		if (pl_mbxidx_add(s->idx, l.mbx, (uint64_t)i, kind) != 0) {
			rc = SQLITE_NOMEM;
			break;
		}
	}
	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	pl_mbxidx_trim(s->idx);
	return rc == SQLITE_DONE ? 0 : -1;
}

static int user_version(pl_store *s)
{
	sqlite3_stmt *st;
	int v = -1;

	if (sqlite3_prepare_v2(s->db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		v = sqlite3_column_int(st, 0);
	sqlite3_finalize(st);
	return v;
}

/* Brings the schema to PL_STORE_SCHEMA_VERSION, one step per version, each
 * step in its own transaction. */
static int migrate(pl_store *s, pl_err *e)
{
	static const char *const step[] = {schema_v1, schema_v2, schema_v3, schema_v4, schema_v5};
	int v = user_version(s);

	if (v < 0)
		return pl_err_set(e, PL_EXIT_ERROR, "cannot read relay.db: %s",
				  sqlite3_errmsg(s->db));
	if (v > PL_STORE_SCHEMA_VERSION)
		return pl_err_set(e, PL_EXIT_ERROR,
				  "relay.db has schema version %d; this relay knows version %d", v,
				  PL_STORE_SCHEMA_VERSION);
	for (; v < PL_STORE_SCHEMA_VERSION; v++) {
		if (exec(s, "BEGIN IMMEDIATE") != 0 || exec(s, step[v]) != 0 ||
		    (v == 2 && (fill_leaf_nodes(s) != 0 || exec(s, "DROP TABLE node") != 0)) ||
		    exec(s, "COMMIT") != 0) {
			pl_err_set(e, PL_EXIT_ERROR,
				   "cannot bring relay.db to schema version %d: %s", v + 1,
				   sqlite3_errmsg(s->db));
			exec(s, "ROLLBACK");
			return -1;
		}
	}
	return 0;
}

/* ---- background WAL checkpoints --------------------------------------- */

static void *checkpointer(void *arg)
{
	pl_store *s = arg;
	struct timespec until;

	pthread_setname_np(pthread_self(), "pl-checkpoint");
	pthread_mutex_lock(&s->ckpt_mu);
	while (!s->ckpt_stop) {
		if (!s->ckpt_want) {
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += CKPT_IDLE_S;
			(void)pthread_cond_timedwait(&s->ckpt_cv, &s->ckpt_mu, &until);
			if (s->ckpt_stop)
				break;
		}
		s->ckpt_want = 0;
		pthread_mutex_unlock(&s->ckpt_mu);
		/* PASSIVE: copies what it can without blocking the committer; the
		 * next write transaction restarts the WAL once all is copied. */
		int frames = -1, copied = -1;
		int rc = sqlite3_wal_checkpoint_v2(s->ckpt_db, NULL, SQLITE_CHECKPOINT_PASSIVE,
						   &frames, &copied);
		pthread_mutex_lock(&s->ckpt_mu);
		if (rc == SQLITE_OK && copied >= 0)
			s->ckpt_copied = copied;
	}
	pthread_mutex_unlock(&s->ckpt_mu);
	return NULL;
}

int pl_store_ckpt_plan(int pages, int copied, int background)
{
	int backlog = pages - (copied < pages ? copied : pages);

	if (pages >= PL_STORE_CKPT_HARD)
		return PL_STORE_CKPT_INLINE;
	if (!background)
		return PL_STORE_CKPT_NONE;
	if (pages >= PL_STORE_CKPT_RESTART)
		return backlog <= PL_STORE_CKPT_TAIL ? PL_STORE_CKPT_INLINE : PL_STORE_CKPT_WAKE;
	return backlog >= PL_STORE_CKPT_STEP ? PL_STORE_CKPT_WAKE : PL_STORE_CKPT_NONE;
}

/* Called by SQLite after each commit on the committer's connection, with
 * the number of frames in the WAL. */
static int wal_hook(void *arg, sqlite3 *db, const char *name, int pages)
{
	pl_store *s = arg;
	int plan, rc, frames = -1, copied = -1;

	if (!s->ckpt_started) {
		plan = pl_store_ckpt_plan(pages, 0, 0);
	} else {
		pthread_mutex_lock(&s->ckpt_mu);
		if (s->ckpt_copied > pages)
			s->ckpt_copied = 0; /* the WAL restarted from its beginning */
		plan = pl_store_ckpt_plan(pages, s->ckpt_copied, 1);
		if (plan == PL_STORE_CKPT_WAKE && !s->ckpt_want) {
			s->ckpt_want = 1;
			pthread_cond_signal(&s->ckpt_cv);
		}
		pthread_mutex_unlock(&s->ckpt_mu);
	}
	if (plan == PL_STORE_CKPT_INLINE) {
		rc = sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, &frames,
					       &copied);
		if (s->ckpt_started && rc == SQLITE_OK && copied >= 0) {
			pthread_mutex_lock(&s->ckpt_mu);
			s->ckpt_copied = copied;
			pthread_mutex_unlock(&s->ckpt_mu);
		}
	}
	return SQLITE_OK;
}

static int checkpointer_start(pl_store *s, const char *path)
{
	if (sqlite3_open_v2(path, &s->ckpt_db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) !=
	    SQLITE_OK)
		return -1;
	sqlite3_busy_timeout(s->ckpt_db, 5000);
	if (sqlite3_exec(s->ckpt_db, "PRAGMA synchronous = FULL", NULL, NULL, NULL) != SQLITE_OK)
		return -1;
	if (pthread_mutex_init(&s->ckpt_mu, NULL) != 0)
		return -1;
	if (pthread_cond_init(&s->ckpt_cv, NULL) != 0) {
		pthread_mutex_destroy(&s->ckpt_mu);
		return -1;
	}
	if (pthread_create(&s->ckpt_th, NULL, checkpointer, s) != 0) {
		pthread_cond_destroy(&s->ckpt_cv);
		pthread_mutex_destroy(&s->ckpt_mu);
		return -1;
	}
	s->ckpt_started = 1;
	return 0;
}

/* Takes an exclusive lock on DIR/relay.lock, so two relays never share a
 * directory; the lock lives as long as s->lockfd. */
static int lock_dir(pl_store *s, const char *dir, pl_err *e)
{
	char *path = pl_path_join(dir, "relay.lock");

	if (path == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	s->lockfd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (s->lockfd < 0) {
		pl_err_set(e, PL_EXIT_ERROR, "cannot open %s: %s", path, strerror(errno));
		free(path);
		return -1;
	}
	free(path);
	if (flock(s->lockfd, LOCK_EX | LOCK_NB) != 0)
		return pl_err_set(e, PL_EXIT_ERROR, "data directory %s is in use by another relay",
				  dir);
	return 0;
}

/* journal_mode can silently stay non-WAL (e.g. on some filesystems). */
static int is_wal(pl_store *s)
{
	sqlite3_stmt *st;
	int wal = 0;

	if (sqlite3_prepare_v2(s->db, "PRAGMA journal_mode", -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW) {
			const unsigned char *m = sqlite3_column_text(st, 0);
			wal = m != NULL && strcmp((const char *)m, "wal") == 0;
		}
		sqlite3_finalize(st);
	}
	return wal;
}

/* Opens the database at path through relay/walbuf.h's VFS, in WAL mode
 * with synchronous=FULL and no automatic checkpoints. */
static int db_open(pl_store *s, const char *path, pl_err *e)
{
	if (pl_walbuf_register() != 0)
		return pl_err_set(e, PL_EXIT_ERROR, "cannot set up SQLite for %s", path);
	if (sqlite3_open_v2(path, &s->db,
			    SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
			    PL_WALBUF_VFS) != SQLITE_OK)
		return pl_err_set(e, PL_EXIT_ERROR, "cannot open %s: %s", path,
				  s->db ? sqlite3_errmsg(s->db) : "out of memory");
	sqlite3_busy_timeout(s->db, 5000);
	sqlite3_extended_result_codes(s->db, 1);
	if (exec(s, "PRAGMA journal_mode = WAL") != 0 ||
	    exec(s, "PRAGMA synchronous = FULL") != 0 ||
	    exec(s, "PRAGMA foreign_keys = OFF") != 0 ||
	    exec(s, "PRAGMA cache_size = -16384") != 0 ||
	    exec(s, "PRAGMA wal_autocheckpoint = 0") != 0)
		return pl_err_set(e, PL_EXIT_ERROR, "cannot configure %s: %s", path,
				  sqlite3_errmsg(s->db));
	if (!is_wal(s))
		return pl_err_set(e, PL_EXIT_ERROR, "%s cannot use WAL journaling", path);
	return 0;
}

/* The schema brought up to date, every statement prepared, the mailbox
 * directory loaded, and the background checkpointer started. */
static int db_ready(pl_store *s, const char *path, pl_err *e)
{
	if (migrate(s, e) != 0)
		return -1;
	for (int i = 0; i < Q_COUNT; i++) {
		if (sqlite3_prepare_v3(s->db, sql_text[i], -1, SQLITE_PREPARE_PERSISTENT, &s->q[i],
				       NULL) != SQLITE_OK)
			return pl_err_set(e, PL_EXIT_ERROR, "relay.db: %s", sqlite3_errmsg(s->db));
	}
	if (dir_load(s) != 0 || idx_load(s) != 0)
		return pl_err_set(e, PL_EXIT_ERROR, "cannot read %s: %s", path,
				  sqlite3_errmsg(s->db));
	if (checkpointer_start(s, path) != 0)
		return pl_err_set(e, PL_EXIT_ERROR, "cannot start the checkpointer of %s", path);
	sqlite3_wal_hook(s->db, wal_hook, s);
	return 0;
}

int pl_store_open(pl_store **out, const char *dir, pl_err *e)
{
	pl_store *s;
	char *path;
	int rc;

	*out = NULL;
	s = calloc(1, sizeof *s);
	if (s == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	s->lockfd = -1;
	if (lock_dir(s, dir, e) != 0) {
		pl_store_close(s);
		return -1;
	}
	path = pl_path_join(dir, "relay.db");
	if (path == NULL) {
		pl_store_close(s);
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	}
	rc = db_open(s, path, e) == 0 && db_ready(s, path, e) == 0 ? 0 : -1;
	free(path);
	if (rc != 0) {
		pl_store_close(s);
		return -1;
	}
	*out = s;
	return 0;
}

void pl_store_close(pl_store *s)
{
	if (s == NULL)
		return;
	if (s->ckpt_started) {
		pthread_mutex_lock(&s->ckpt_mu);
		s->ckpt_stop = 1;
		pthread_cond_signal(&s->ckpt_cv);
		pthread_mutex_unlock(&s->ckpt_mu);
		pthread_join(s->ckpt_th, NULL);
		pthread_mutex_destroy(&s->ckpt_mu);
		pthread_cond_destroy(&s->ckpt_cv);
	}
	if (s->ckpt_db)
		sqlite3_close(s->ckpt_db);
	for (int i = 0; i < Q_COUNT; i++)
		sqlite3_finalize(s->q[i]);
	sqlite3_finalize(s->cap_low);
	sqlite3_finalize(s->cap_high);
	if (s->db)
		sqlite3_close(s->db);
	if (s->lockfd >= 0)
		close(s->lockfd);
	pl_msgdir_free(s->dir);
	pl_mbxidx_free(s->idx);
	free(s);
}

int pl_store_begin(pl_store *s)
{
	pl_msgdir_rollback(s->dir); /* a transaction SQLite rolled back by itself */
	s->full = 0;
	return step_done(s, q(s, Q_BEGIN));
}

int pl_store_full(pl_store *s)
{
	return s->full;
}

/* The page cap in force: PRAGMA max_page_count returns a row. */
static int set_cap(sqlite3_stmt *st)
{
	int rc;

	if (st == NULL)
		return 0;
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

int pl_store_set_limits(pl_store *s, const pl_store_limits *l, pl_err *e)
{
	char sql[64];
	int page = 0;
	sqlite3_stmt *st;

	s->mbx_msgs = l->mailbox_msgs;
	s->mbx_bytes = l->mailbox_bytes;
	if (l->store_bytes == 0)
		return 0;
	if (sqlite3_prepare_v2(s->db, "PRAGMA page_size", -1, &st, NULL) == SQLITE_OK) {
		if (sqlite3_step(st) == SQLITE_ROW)
			page = sqlite3_column_int(st, 0);
		sqlite3_finalize(st);
	}
	if (page <= 0)
		return pl_err_set(e, PL_EXIT_ERROR, "cannot read relay.db's page size");
	uint64_t cap = l->store_bytes / (uint64_t)page;
	uint64_t reserve = cap / PL_STORE_RESERVE_DIV;
	if (reserve < PL_STORE_RESERVE_MIN / (uint64_t)page)
		reserve = PL_STORE_RESERVE_MIN / (uint64_t)page;
	if (reserve > PL_STORE_RESERVE_MAX / (uint64_t)page)
		reserve = PL_STORE_RESERVE_MAX / (uint64_t)page;
	if (cap == 0 || cap + reserve > INT32_MAX)
		return pl_err_set(e, PL_EXIT_ERROR, "the store cap is out of range");
	snprintf(sql, sizeof sql, "PRAGMA max_page_count = %llu", (unsigned long long)cap);
	if (sqlite3_prepare_v2(s->db, sql, -1, &s->cap_low, NULL) != SQLITE_OK)
		return pl_err_set(e, PL_EXIT_ERROR, "relay.db: %s", sqlite3_errmsg(s->db));
	snprintf(sql, sizeof sql, "PRAGMA max_page_count = %llu",
		 (unsigned long long)(cap + reserve));
	if (sqlite3_prepare_v2(s->db, sql, -1, &s->cap_high, NULL) != SQLITE_OK ||
	    set_cap(s->cap_high) != 0)
		return pl_err_set(e, PL_EXIT_ERROR, "relay.db: %s", sqlite3_errmsg(s->db));
	return 0;
}

int pl_store_mailbox_known(pl_store *s, const uint8_t mbx[static PL_MAILBOX_LEN])
{
	sqlite3_stmt *st;
	int rc;

	if (pl_msgdir_has(s->dir, mbx))
		return 1;
	st = q(s, Q_BUNDLE_HAS);
	bind_blob(st, 1, mbx, PL_MAILBOX_LEN);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int pl_store_commit(pl_store *s)
{
	if (step_done(s, q(s, Q_COMMIT)) == 0) {
		pl_msgdir_commit(s->dir);
		return 0;
	}
	pl_store_rollback(s);
	return -1;
}

void pl_store_rollback(pl_store *s)
{
	if (!sqlite3_get_autocommit(s->db))
		(void)step_done(s, q(s, Q_ROLLBACK));
	pl_msgdir_rollback(s->dir);
}

int pl_store_savepoint(pl_store *s)
{
	return step_done(s, q(s, Q_SAVEPOINT));
}

int pl_store_release(pl_store *s)
{
	return step_done(s, q(s, Q_RELEASE));
}

void pl_store_rollback_savepoint(pl_store *s)
{
	(void)step_done(s, q(s, Q_ROLLBACK_TO));
	(void)step_done(s, q(s, Q_RELEASE));
}

int pl_store_in_txn(pl_store *s)
{
	return !sqlite3_get_autocommit(s->db);
}

/* ---- nonces ---------------------------------------------------------- */

int pl_store_nonce_use(pl_store *s, const uint8_t mbx[static PL_MAILBOX_LEN],
		       const uint8_t nonce[static PL_AUTH_NONCE_LEN], uint64_t now)
{
	sqlite3_stmt *st = q(s, Q_NONCE_INS);

	bind_blob(st, 1, mbx, PL_MAILBOX_LEN);
	bind_blob(st, 2, nonce, PL_AUTH_NONCE_LEN);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)now);
	if (step_done(s, st) != 0)
		return PL_STORE_FAIL;
	return sqlite3_changes(s->db) == 1 ? PL_STORE_OK : PL_STORE_REPLAY;
}

int pl_store_nonce_prune(pl_store *s, uint64_t now)
{
	sqlite3_stmt *st = q(s, Q_NONCE_PRUNE);

	if (now < PL_AUTH_NONCE_TTL)
		return 0;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)(now - PL_AUTH_NONCE_TTL));
	return step_done(s, st);
}

/* ---- bundles --------------------------------------------------------- */

int pl_store_opk_count(pl_store *s, const uint8_t mbx[static PL_MAILBOX_LEN], uint32_t *n)
{
	sqlite3_stmt *st = q(s, Q_OPK_COUNT);
	int rc;

	*n = 0;
	bind_blob(st, 1, mbx, PL_MAILBOX_LEN);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*n = (uint32_t)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

int pl_store_bundle_put(pl_store *s, const uint8_t mbx[static PL_MAILBOX_LEN],
			const pl_proto_bundle_upload *u)
{
	sqlite3_stmt *st = q(s, Q_BUNDLE_PUT);
	uint32_t n;

	bind_blob(st, 1, mbx, PL_MAILBOX_LEN);
	bind_blob(st, 2, u->ik, PL_IK_LEN);
	sqlite3_bind_int64(st, 3, u->spk_id);
	bind_blob(st, 4, u->spk, PL_X25519_LEN);
	bind_blob(st, 5, u->spk_sig, PL_SIG_LEN);
	if (step_done(s, st) != 0)
		return PL_STORE_FAIL;
	for (size_t i = 0; i < u->opk_count; i++) {
		st = q(s, Q_OPK_PUT);
		bind_blob(st, 1, mbx, PL_MAILBOX_LEN);
		sqlite3_bind_int64(st, 2, u->opk[i].id);
		bind_blob(st, 3, u->opk[i].pub, PL_X25519_LEN);
		if (step_done(s, st) != 0)
			return PL_STORE_FAIL;
	}
	if (pl_store_opk_count(s, mbx, &n) != 0)
		return PL_STORE_FAIL;
	return n > PL_STORE_MAX_OPK ? PL_STORE_CONFLICT : PL_STORE_OK;
}

int pl_store_bundle_take(pl_store *s, const uint8_t mbx[static PL_MAILBOX_LEN], pl_bundle *b)
{
	sqlite3_stmt *st = q(s, Q_BUNDLE_GET);
	int rc;

	memset(b, 0, sizeof *b);
	bind_blob(st, 1, mbx, PL_MAILBOX_LEN);
	rc = sqlite3_step(st);
	if (rc == SQLITE_DONE) {
		sqlite3_reset(st);
		return PL_STORE_NOTFOUND;
	}
	if (rc != SQLITE_ROW || col_blob(st, 0, b->ik, PL_IK_LEN) != 0 ||
	    col_blob(st, 2, b->spk, PL_X25519_LEN) != 0 ||
	    col_blob(st, 3, b->spk_sig, PL_SIG_LEN) != 0) {
		sqlite3_reset(st);
		return PL_STORE_FAIL;
	}
	b->spk_id = (uint32_t)sqlite3_column_int64(st, 1);
	sqlite3_reset(st);

	st = q(s, Q_OPK_FIRST);
	bind_blob(st, 1, mbx, PL_MAILBOX_LEN);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		b->opk_id = (uint32_t)sqlite3_column_int64(st, 0);
		if (col_blob(st, 1, b->opk, PL_X25519_LEN) != 0)
			rc = SQLITE_ERROR;
	}
	sqlite3_reset(st);
	if (rc == SQLITE_DONE)
		return PL_STORE_OK;
	if (rc != SQLITE_ROW)
		return PL_STORE_FAIL;
	st = q(s, Q_OPK_DEL);
	bind_blob(st, 1, mbx, PL_MAILBOX_LEN);
	sqlite3_bind_int64(st, 2, b->opk_id);
	return step_done(s, st) == 0 ? PL_STORE_OK : PL_STORE_FAIL;
}

/* ---- tokens ---------------------------------------------------------- */

int pl_store_token_put(pl_store *s, const uint8_t mbx[static PL_MAILBOX_LEN],
		       const uint8_t hash[static PL_PROTO_TOKEN_HASH_LEN])
{
	sqlite3_stmt *st = q(s, Q_TOKEN_PUT);

	bind_blob(st, 1, mbx, PL_MAILBOX_LEN);
	bind_blob(st, 2, hash, PL_PROTO_TOKEN_HASH_LEN);
	return step_done(s, st) == 0 && pl_msgdir_set_token(s->dir, mbx, hash) == 0 ? PL_STORE_OK
										    : PL_STORE_FAIL;
}

int pl_store_token_check(pl_store *s, const uint8_t mbx[static PL_MAILBOX_LEN],
			 const uint8_t hash[static PL_PROTO_TOKEN_HASH_LEN])
{
	return pl_msgdir_token_ok(s->dir, mbx, hash) ? PL_STORE_OK : PL_STORE_DENIED;
}

/* ---- grants ---------------------------------------------------------- */

int pl_store_grant_put(pl_store *s, const uint8_t loc[static PL_PROTO_GRANT_LOC_LEN],
		       const uint8_t owner[static PL_MAILBOX_LEN], const uint8_t *blob,
		       size_t bloblen)
{
	sqlite3_stmt *st = q(s, Q_GRANT_OWNER);
	uint8_t have[PL_MAILBOX_LEN];
	int rc;

	if (bloblen == 0 || bloblen > PL_PROTO_GRANT_BLOB_MAX)
		return PL_STORE_FAIL;
	bind_blob(st, 1, loc, PL_PROTO_GRANT_LOC_LEN);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		if (col_blob(st, 0, have, sizeof have) != 0)
			rc = SQLITE_ERROR;
		else if (memcmp(have, owner, sizeof have) != 0)
			rc = SQLITE_CONSTRAINT;
	}
	sqlite3_reset(st);
	if (rc == SQLITE_CONSTRAINT)
		return PL_STORE_CONFLICT;
	if (rc != SQLITE_ROW && rc != SQLITE_DONE)
		return PL_STORE_FAIL;
	st = q(s, Q_GRANT_PUT);
	bind_blob(st, 1, loc, PL_PROTO_GRANT_LOC_LEN);
	bind_blob(st, 2, owner, PL_MAILBOX_LEN);
	bind_blob(st, 3, blob, bloblen);
	return step_done(s, st) == 0 ? PL_STORE_OK : PL_STORE_FAIL;
}

int pl_store_grant_get(pl_store *s, const uint8_t loc[static PL_PROTO_GRANT_LOC_LEN],
		       uint8_t blob[static PL_PROTO_GRANT_BLOB_MAX], size_t *bloblen)
{
	sqlite3_stmt *st = q(s, Q_GRANT_GET);
	int rc, res;

	*bloblen = 0;
	bind_blob(st, 1, loc, PL_PROTO_GRANT_LOC_LEN);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const void *p = sqlite3_column_blob(st, 0);
		int n = sqlite3_column_bytes(st, 0);
		if (p != NULL && n > 0 && n <= PL_PROTO_GRANT_BLOB_MAX) {
			memcpy(blob, p, (size_t)n);
			*bloblen = (size_t)n;
			res = PL_STORE_OK;
		} else {
			res = PL_STORE_FAIL;
		}
	} else {
		res = rc == SQLITE_DONE ? PL_STORE_NOTFOUND : PL_STORE_FAIL;
	}
	sqlite3_reset(st);
	return res;
}

/* ---- mailbox --------------------------------------------------------- */

/* The stored message `id` if it is this (mailbox, envelope): 1 and its
 * fields, 0 if not (or gone), -1 on error. */
static int msg_match(pl_store *s, int64_t id, const uint8_t mbx[static PL_MAILBOX_LEN],
		     const uint8_t hash[static PL_PROTO_HASH_LEN], uint64_t *seq, uint64_t *time,
		     uint64_t *leaf, int *has_leaf)
{
	sqlite3_stmt *st = q(s, Q_MSG_BY_ID);
	uint8_t m[PL_MAILBOX_LEN], h[PL_PROTO_HASH_LEN];
	int rc, res = 0;

	sqlite3_bind_int64(st, 1, id);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && col_blob(st, 0, m, sizeof m) == 0 &&
	    col_blob(st, 1, h, sizeof h) == 0 && memcmp(m, mbx, sizeof m) == 0 &&
	    memcmp(h, hash, sizeof h) == 0) {
		*seq = (uint64_t)sqlite3_column_int64(st, 2);
		*time = (uint64_t)sqlite3_column_int64(st, 3);
		*has_leaf = sqlite3_column_type(st, 4) == SQLITE_INTEGER;
		*leaf = *has_leaf ? (uint64_t)sqlite3_column_int64(st, 4) : PL_STORE_NO_LEAF;
		res = 1;
	} else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
		res = -1;
	}
	sqlite3_reset(st);
	return res;
}

/* A stored copy of this envelope in this mailbox: its id (> 0), 0 if none,
 * -1 on error. */
#define CANDIDATES_MAX 16 /* fingerprints of one (mailbox, envelope) that collide */

static int64_t find_copy(pl_store *s, const uint8_t mbx[static PL_MAILBOX_LEN],
			 const uint8_t hash[static PL_PROTO_HASH_LEN], uint64_t *seq,
			 uint64_t *time, uint64_t *leaf, int *has_leaf)
{
	int64_t ids[CANDIDATES_MAX];
	size_t n = pl_msgdir_candidates(s->dir, mbx, hash, ids, CANDIDATES_MAX);

	/* More than CANDIDATES_MAX 64-bit collisions cannot happen by chance;
	 * if they did, some retry would be stored twice, which is safe. */
	if (n > CANDIDATES_MAX)
		n = CANDIDATES_MAX;
	for (size_t i = 0; i < n; i++) {
		int r = msg_match(s, ids[i], mbx, hash, seq, time, leaf, has_leaf);
		if (r != 0)
			return r < 0 ? -1 : ids[i];
	}
	return 0;
}

int pl_store_deposit(pl_store *s, const uint8_t mbx[static PL_MAILBOX_LEN],
		     const uint8_t token_hash[static PL_PROTO_TOKEN_HASH_LEN],
		     const uint8_t hash[static PL_PROTO_HASH_LEN], const uint8_t *env,
		     size_t envlen, uint64_t now, uint64_t *seq, uint64_t *time, uint64_t *leaf,
		     int *append)
{
	sqlite3_stmt *st;
	uint64_t next_leaf = *leaf, n = 0;
	int64_t id;
	int has_leaf = 0, r;

	*seq = 0;
	*time = 0;
	*leaf = PL_STORE_NO_LEAF;
	*append = 0;
	id = find_copy(s, mbx, hash, seq, time, leaf, &has_leaf);
	if (id < 0)
		return PL_STORE_FAIL;
	if (id > 0) {
		/* A retry, by a holder of the token only; it stores nothing new,
		 * so a full mailbox still answers it. */
		r = pl_store_token_check(s, mbx, token_hash);
		if (r != PL_STORE_OK) {
			*seq = *time = 0;
			*leaf = PL_STORE_NO_LEAF;
			return r;
		}
		/* Stored before the log existed: it gets its leaf now. */
		if (!has_leaf && next_leaf != PL_STORE_NO_LEAF) {
			st = q(s, Q_MSG_SET_LEAF);
			sqlite3_bind_int64(st, 1, id);
			sqlite3_bind_int64(st, 2, (sqlite3_int64)next_leaf);
			if (step_done(s, st) != 0)
				return PL_STORE_FAIL;
			*leaf = next_leaf;
			*append = 1;
		}
		return PL_STORE_OK;
	}

	/* The token, the quota and the next seq come from memory
	 * (relay/msgdir.h): the mailbox row is not read or written here. The
	 * quota is checked before a seq is taken, so a refusal leaves no gap. */
	if (!pl_msgdir_token_ok(s->dir, mbx, token_hash))
		return PL_STORE_DENIED; /* no such mailbox, or another token */
	if (s->mbx_msgs != 0 || s->mbx_bytes != 0) {
		uint64_t msgs, bytes;
		pl_msgdir_usage(s->dir, mbx, &msgs, &bytes);
		if ((s->mbx_msgs != 0 && msgs >= s->mbx_msgs) ||
		    (s->mbx_bytes != 0 && bytes + envlen > s->mbx_bytes))
			return PL_STORE_QUOTA;
	}
	r = pl_msgdir_next_seq(s->dir, mbx, token_hash, &n);
	if (r != 0)
		return r > 0 ? PL_STORE_DENIED : PL_STORE_FAIL;

	st = q(s, Q_MSG_INS);
	bind_blob(st, 1, mbx, PL_MAILBOX_LEN);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)n);
	sqlite3_bind_int64(st, 3, (sqlite3_int64)now);
	bind_blob(st, 4, hash, PL_PROTO_HASH_LEN);
	bind_blob(st, 5, env, envlen);
	if (next_leaf != PL_STORE_NO_LEAF)
		sqlite3_bind_int64(st, 6, (sqlite3_int64)next_leaf);
	/* Envelopes may fill the store to its cap; the reserve above it is for
	 * the log of fetches and acknowledgments, which free room. */
	if (set_cap(s->cap_low) != 0)
		return PL_STORE_FAIL;
	r = step_done(s, st);
	if (set_cap(s->cap_high) != 0 || r != 0)
		return PL_STORE_FAIL;
	id = sqlite3_last_insert_rowid(s->db);
	if (pl_msgdir_add(s->dir, mbx, hash, n, id, (uint32_t)envlen) != 0)
		return PL_STORE_FAIL;
	*seq = n;
	*time = now;
	if (next_leaf != PL_STORE_NO_LEAF) {
		*leaf = next_leaf;
		*append = 1;
	}
	return PL_STORE_OK;
}

int pl_store_list(pl_store *s, const uint8_t mbx[static PL_MAILBOX_LEN], uint64_t after, pl_wr *w)
{
	uint64_t seqs[PL_PROTO_LISTING_MAX];
	int64_t ids[PL_PROTO_LISTING_MAX];
	size_t n = pl_msgdir_list(s->dir, mbx, after, seqs, ids, PL_PROTO_LISTING_MAX);
	uint32_t count = 0, opks;
	size_t bytes = 0, start = w->n;
	int res = PL_STORE_OK;

	if (pl_store_opk_count(s, mbx, &opks) != 0)
		return PL_STORE_FAIL;
	pl_proto_listing_encode_begin(w, opks > UINT16_MAX ? UINT16_MAX : (uint16_t)opks, 0);
	for (size_t i = 0; i < n && res == PL_STORE_OK; i++) {
		sqlite3_stmt *st = q(s, Q_MSG_ROW);
		uint8_t m[PL_MAILBOX_LEN];
		int rc;

		sqlite3_bind_int64(st, 1, ids[i]);
		rc = sqlite3_step(st);
		if (rc == SQLITE_ROW && col_blob(st, 0, m, sizeof m) == 0 &&
		    memcmp(m, mbx, sizeof m) == 0 &&
		    (uint64_t)sqlite3_column_int64(st, 1) == seqs[i]) {
			const void *env = sqlite3_column_blob(st, 3);
			size_t len = (size_t)sqlite3_column_bytes(st, 3);
			if (count > 0 && bytes + len > PL_STORE_LISTING_BUDGET) {
				sqlite3_reset(st);
				break;
			}
			pl_proto_listing_encode_item(
			    w, seqs[i], (uint64_t)sqlite3_column_int64(st, 2), env, len);
			bytes += len;
			count++;
		} else if (rc != SQLITE_ROW && rc != SQLITE_DONE) {
			res = PL_STORE_FAIL;
		}
		/* Otherwise acknowledged earlier in this transaction: gone. */
		sqlite3_reset(st);
	}
	if (res != PL_STORE_OK || pl_wr_ok(w) != 0) {
		w->n = start;
		return PL_STORE_FAIL;
	}
	pl_be32_put(w->p + start + PL_PROTO_LISTING_COUNT_OFF, count);
	return PL_STORE_OK;
}

int pl_store_ack(pl_store *s, const uint8_t mbx[static PL_MAILBOX_LEN], uint64_t seq)
{
	sqlite3_stmt *st;
	uint64_t last = pl_msgdir_last_seq(s->dir, mbx), after = 0, seqs[PL_PROTO_LISTING_MAX];
	int64_t ids[PL_PROTO_LISTING_MAX];

	if (seq > last)
		return PL_STORE_CONFLICT;
	/* Every message with seq <= `seq`, a page of ids at a time; the
	 * directory drops them when the transaction commits. Bounded: each
	 * page moves `after` past its last seq. */
	for (;;) {
		size_t n = pl_msgdir_list(s->dir, mbx, after, seqs, ids, PL_PROTO_LISTING_MAX);
		size_t i;
		for (i = 0; i < n && seqs[i] <= seq; i++) {
			st = q(s, Q_MSG_DEL_ID);
			sqlite3_bind_int64(st, 1, ids[i]);
			if (step_done(s, st) != 0)
				return PL_STORE_FAIL;
		}
		if (i < PL_PROTO_LISTING_MAX)
			break;
		after = seqs[i - 1];
	}
	/* Deleted messages no longer tell which seqs were given out: the
	 * mailbox row does, from now on (schema_v5). */
	if (last > 0) {
		st = q(s, Q_SEQ_SAVE);
		bind_blob(st, 1, mbx, PL_MAILBOX_LEN);
		sqlite3_bind_int64(st, 2, (sqlite3_int64)last);
		if (step_done(s, st) != 0)
			return PL_STORE_FAIL;
	}
	return pl_msgdir_remove_through(s->dir, mbx, seq) == 0 ? PL_STORE_OK : PL_STORE_FAIL;
}

/* ---- transparency log ------------------------------------------------ */

int pl_store_log_size(pl_store *s, uint64_t *size)
{
	sqlite3_stmt *st = q(s, Q_LOG_SIZE);
	int rc;

	*size = 0;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_INTEGER)
		*size = (uint64_t)sqlite3_column_int64(st, 0) + 1;
	sqlite3_reset(st);
	return rc == SQLITE_ROW ? 0 : -1;
}

int pl_store_leaf_put(pl_store *s, uint64_t index, const uint8_t *data, size_t n,
		      const pl_merkle_node *nodes, size_t count)
{
	sqlite3_stmt *st = q(s, Q_LEAF_PUT);
	uint8_t buf[PL_MERKLE_APPEND_MAX * PL_MERKLE_HASH_LEN];

	if (index >= PL_STORE_LOG_MAX || n == 0 || n > PL_LEAF_MAX ||
	    count != (size_t)__builtin_ctzll(index + 1))
		return PL_STORE_FAIL;
	for (size_t k = 0; k < count; k++) {
		if (nodes[k].level != k + 1 || nodes[k].index != ((index + 1) >> (k + 1)) - 1)
			return PL_STORE_FAIL;
		memcpy(buf + k * PL_MERKLE_HASH_LEN, nodes[k].hash, PL_MERKLE_HASH_LEN);
	}
	sqlite3_bind_int64(st, 1, (sqlite3_int64)index);
	bind_blob(st, 2, data, n);
	if (count > 0)
		bind_blob(st, 3, buf, count * PL_MERKLE_HASH_LEN);
	return step_done(s, st) == 0 ? PL_STORE_OK : PL_STORE_FAIL;
}

int pl_store_leaf_get(pl_store *s, uint64_t index, uint8_t data[static PL_LEAF_MAX], size_t *n)
{
	sqlite3_stmt *st = q(s, Q_LEAF_GET);
	int rc, res = PL_STORE_FAIL;

	*n = 0;
	if (index >= PL_STORE_LOG_MAX)
		return PL_STORE_NOTFOUND;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)index);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const void *p = sqlite3_column_blob(st, 0);
		int len = sqlite3_column_bytes(st, 0);
		if (p != NULL && len > 0 && len <= PL_LEAF_MAX) {
			memcpy(data, p, (size_t)len);
			*n = (size_t)len;
			res = PL_STORE_OK;
		}
	} else if (rc == SQLITE_DONE) {
		res = PL_STORE_NOTFOUND;
	}
	sqlite3_reset(st);
	return res;
}

int pl_store_node_get(pl_store *s, unsigned level, uint64_t index,
		      uint8_t hash[static PL_MERKLE_HASH_LEN])
{
	sqlite3_stmt *st;
	int rc, res = PL_STORE_NOTFOUND;

	/* Subtree (level, index) was closed by leaf (index + 1) * 2^level - 1. */
	if (level == 0 || level >= PL_STORE_LOG_BITS || index >= (PL_STORE_LOG_MAX >> level))
		return PL_STORE_NOTFOUND;
	st = q(s, Q_NODES_GET);
	sqlite3_bind_int64(st, 1, (sqlite3_int64)(((index + 1) << level) - 1));
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW) {
		const uint8_t *p = sqlite3_column_blob(st, 0);
		size_t len = (size_t)sqlite3_column_bytes(st, 0);
		if (p != NULL && len >= (size_t)level * PL_MERKLE_HASH_LEN) {
			memcpy(hash, p + (level - 1) * PL_MERKLE_HASH_LEN, PL_MERKLE_HASH_LEN);
			res = PL_STORE_OK;
		}
	} else if (rc != SQLITE_DONE) {
		res = PL_STORE_FAIL;
	}
	sqlite3_reset(st);
	return res;
}

static int src_leaf(void *ctx, uint64_t index, uint8_t out[PL_MERKLE_HASH_LEN])
{
	uint8_t data[PL_LEAF_MAX];
	size_t n;

	if (pl_store_leaf_get(ctx, index, data, &n) != PL_STORE_OK)
		return -1;
	pl_leaf_hash(out, data, n);
	return 0;
}

static int src_node(void *ctx, unsigned level, uint64_t index, uint8_t out[PL_MERKLE_HASH_LEN])
{
	int r = pl_store_node_get(ctx, level, index, out);
	return r == PL_STORE_OK ? 1 : r == PL_STORE_NOTFOUND ? 0 : -1;
}

void pl_store_merkle_source(pl_store *s, pl_merkle_source *src)
{
	src->get_leaf = src_leaf;
	src->get_node = src_node;
	src->ctx = s;
}

int pl_store_leaves(pl_store *s, uint64_t start, uint32_t count, pl_wr *w)
{
	sqlite3_stmt *st = q(s, Q_LEAF_RANGE);
	uint64_t want = start;
	size_t at = w->n;
	uint32_t got = 0;
	int rc;

	if (count > PL_PROTO_LEAVES_MAX || start >= PL_STORE_LOG_MAX)
		return PL_STORE_FAIL;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)start);
	sqlite3_bind_int64(st, 2, (sqlite3_int64)(start + count));
	pl_proto_leaves_encode_begin(w, count);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const void *p = sqlite3_column_blob(st, 1);
		int len = sqlite3_column_bytes(st, 1);
		/* A gap would be a damaged log: never serve around one. */
		if ((uint64_t)sqlite3_column_int64(st, 0) != want || p == NULL || len <= 0 ||
		    len > PL_LEAF_MAX) {
			rc = SQLITE_CORRUPT;
			break;
		}
		pl_wr_var(w, p, (size_t)len);
		want++;
		got++;
	}
	sqlite3_reset(st);
	if (rc != SQLITE_DONE || got != count || pl_wr_ok(w) != 0) {
		w->n = at;
		return PL_STORE_FAIL;
	}
	return PL_STORE_OK;
}

pl_mbxidx *pl_store_mbxidx(pl_store *s)
{
	return s->idx;
}

int pl_store_checkpoint_put(pl_store *s, uint64_t size, const uint8_t *note, size_t n)
{
	sqlite3_stmt *st = q(s, Q_CP_PUT);

	if (size > PL_STORE_LOG_MAX || n == 0 || n > PL_LEAF_NOTE_MAX)
		return PL_STORE_FAIL;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)size);
	bind_blob(st, 2, note, n);
	return step_done(s, st) == 0 ? PL_STORE_OK : PL_STORE_FAIL;
}

static int checkpoint_row(sqlite3_stmt *st, uint64_t *size, uint8_t note[static PL_LEAF_NOTE_MAX],
			  size_t *n)
{
	int rc = sqlite3_step(st), res = PL_STORE_FAIL;

	if (rc == SQLITE_ROW) {
		const void *p = sqlite3_column_blob(st, 1);
		int len = sqlite3_column_bytes(st, 1);
		if (p != NULL && len > 0 && len <= PL_LEAF_NOTE_MAX) {
			*size = (uint64_t)sqlite3_column_int64(st, 0);
			memcpy(note, p, (size_t)len);
			*n = (size_t)len;
			res = PL_STORE_OK;
		}
	} else if (rc == SQLITE_DONE) {
		res = PL_STORE_NOTFOUND;
	}
	sqlite3_reset(st);
	return res;
}

int pl_store_checkpoint_get(pl_store *s, uint64_t size, uint8_t note[static PL_LEAF_NOTE_MAX],
			    size_t *n)
{
	sqlite3_stmt *st = q(s, Q_CP_GET);
	uint64_t got;

	*n = 0;
	if (size > PL_STORE_LOG_MAX)
		return PL_STORE_NOTFOUND;
	sqlite3_bind_int64(st, 1, (sqlite3_int64)size);
	return checkpoint_row(st, &got, note, n);
}

int pl_store_checkpoint_latest(pl_store *s, uint64_t *size, uint8_t note[static PL_LEAF_NOTE_MAX],
			       size_t *n)
{
	*size = 0;
	*n = 0;
	return checkpoint_row(q(s, Q_CP_LATEST), size, note, n);
}

int pl_store_meta_get(pl_store *s, const char *key, int64_t *v)
{
	sqlite3_stmt *st = q(s, Q_META_GET);
	int rc;

	*v = 0;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		*v = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return rc == SQLITE_ROW	   ? PL_STORE_OK
	       : rc == SQLITE_DONE ? PL_STORE_NOTFOUND
				   : PL_STORE_FAIL;
}

int pl_store_meta_put(pl_store *s, const char *key, int64_t v)
{
	sqlite3_stmt *st = q(s, Q_META_PUT);

	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, v);
	return step_done(s, st) == 0 ? PL_STORE_OK : PL_STORE_FAIL;
}
