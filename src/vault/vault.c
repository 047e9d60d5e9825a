/*
 * vault.c — the vault's life cycle: creating the sealed file DIR/vault.pv
 * atomically, opening and unlocking it, saving it at each commit,
 * converting a vault of the earlier unsealed format (DIR/vault.db),
 * transactions, and the small per-vault records (identity, party name,
 * relay, counters, our own mailbox token). Also the SQLite helpers the
 * other vault files share (vault_int.h).
 *
 * Creation builds the whole database in memory, seals it, and has
 * pl_file_publish flush DIR/vault.pv.tmp (created 0600 with O_EXCL) and
 * link it into place: a crash leaves no vault or a complete one, never
 * half of one, and an existing vault is never replaced. Each later commit
 * goes the same way by rename (save_image).
 *
 * The key-encryption key and the identity live in sodium_malloc'd pages that
 * are made read-only once filled and wiped by sodium_free on close. This
 * file must never write a secret anywhere but through pl_vault_seal, never
 * build SQL from data (every value is bound), and never put a secret into
 * an error message.
 */
#include "vault/vault_int.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/codec.h"
#include "util/file.h"

#define VAULT_FILE "vault.pv"
#define VAULT_TMP "vault.pv.tmp"
#define OLD_FILE "vault.db"	/* an unsealed vault of an earlier version */
#define VAULT_APP_ID 0x504c5956 /* "PLYV" in PRAGMA application_id */
#define VAULT_SCHEMA 2		/* PRAGMA user_version */
#define CHECK_TEXT "parley vault key check v1"

/* Version 2 of the schema (migrate() upgrades a version 1 vault). Secret
 * columns (marked "sealed") hold pl_vault_seal blobs; everything else is
 * public or metadata. A contact's relay_* columns say where its mailbox
 * lives when that is not our relay (NULL: ours); relay_history keeps the
 * checkpoints of relays this vault moved away from, and evidence names the
 * relay it is against. The outbox's not_before delays automatic deposits;
 * a pending envelope keeps the sender key found when it was first opened. */
static const char SCHEMA_SQL[] =
    "CREATE TABLE meta(k TEXT PRIMARY KEY NOT NULL, v BLOB NOT NULL);\n"
    "CREATE TABLE counters(k TEXT PRIMARY KEY NOT NULL, v INTEGER NOT NULL);\n"
    "CREATE TABLE spk(id INTEGER PRIMARY KEY, pk BLOB NOT NULL,"
    " sk BLOB NOT NULL /* sealed */, created INTEGER NOT NULL);\n"
    "CREATE TABLE opk(id INTEGER PRIMARY KEY, pk BLOB NOT NULL,"
    " sk BLOB NOT NULL /* sealed */, published INTEGER NOT NULL DEFAULT 0);\n"
    "CREATE TABLE contacts(name TEXT PRIMARY KEY NOT NULL, ik BLOB NOT NULL UNIQUE,"
    " verified INTEGER NOT NULL, key_changed INTEGER NOT NULL,"
    " grant_published INTEGER NOT NULL, token BLOB /* sealed */, added INTEGER NOT NULL,"
    " relay_url TEXT, relay_key BLOB, relay_ca BLOB, relay_time INTEGER);\n"
    "CREATE TABLE sessions(id INTEGER PRIMARY KEY, ik BLOB NOT NULL, ad BLOB NOT NULL,"
    " initiator INTEGER NOT NULL, replied INTEGER NOT NULL, ek BLOB NOT NULL,"
    " spk_id INTEGER NOT NULL, opk_id INTEGER NOT NULL, used INTEGER NOT NULL,"
    " state BLOB NOT NULL /* sealed */);\n"
    "CREATE INDEX sessions_by_ik ON sessions(ik, used);\n"
    "CREATE TABLE items(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
    " contact TEXT NOT NULL REFERENCES contacts(name), id BLOB NOT NULL,"
    " dir INTEGER NOT NULL, kind INTEGER NOT NULL, time INTEGER NOT NULL,"
    " state TEXT NOT NULL, body BLOB NOT NULL /* sealed */, receipt BLOB,"
    " UNIQUE(contact, id, dir));\n"
    "CREATE INDEX items_by_contact ON items(contact, seq);\n"
    "CREATE TABLE outbox(n INTEGER PRIMARY KEY AUTOINCREMENT,"
    " item_seq INTEGER NOT NULL UNIQUE REFERENCES items(seq) ON DELETE CASCADE,"
    " contact TEXT NOT NULL REFERENCES contacts(name), envelope BLOB,"
    " not_before INTEGER NOT NULL DEFAULT 0);\n"
    "CREATE TABLE seen(hash BLOB PRIMARY KEY NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID;\n"
    "CREATE TABLE pending(n INTEGER PRIMARY KEY AUTOINCREMENT, hash BLOB NOT NULL UNIQUE,"
    " env BLOB NOT NULL, added INTEGER NOT NULL, sender BLOB);\n"
    "CREATE TABLE cases(id INTEGER PRIMARY KEY AUTOINCREMENT, ref BLOB NOT NULL UNIQUE,"
    " rec BLOB NOT NULL /* sealed */);\n"
    "CREATE TABLE links(contact TEXT NOT NULL REFERENCES contacts(name), ref BLOB NOT NULL,"
    " case_id INTEGER NOT NULL REFERENCES cases(id), PRIMARY KEY(contact, ref));\n"
    "CREATE TABLE checkpoints(size INTEGER PRIMARY KEY, note BLOB NOT NULL,"
    " at INTEGER NOT NULL);\n"
    "CREATE TABLE evidence(n INTEGER PRIMARY KEY AUTOINCREMENT, reason TEXT NOT NULL,"
    " note_a BLOB NOT NULL, note_b BLOB NOT NULL, at INTEGER NOT NULL, relay_key BLOB);\n"
    "CREATE TABLE receipt_checks(item_seq INTEGER PRIMARY KEY REFERENCES items(seq)"
    " ON DELETE CASCADE, leaf INTEGER NOT NULL, size INTEGER NOT NULL);\n"
    "CREATE TABLE relay_history(n INTEGER PRIMARY KEY AUTOINCREMENT, relay_key BLOB NOT NULL,"
    " url TEXT NOT NULL, size INTEGER NOT NULL, note BLOB NOT NULL, at INTEGER NOT NULL);\n";

/* From version 1: contacts all lived on our relay and all evidence was
 * against the relay pinned then; no automatic deposit waits; pending
 * envelopes have no sender recorded (the next sync opens each once). */
static const char MIGRATE_1_2_SQL[] =
    "ALTER TABLE outbox ADD COLUMN not_before INTEGER NOT NULL DEFAULT 0;\n"
    "ALTER TABLE pending ADD COLUMN sender BLOB;\n"
    "ALTER TABLE contacts ADD COLUMN relay_url TEXT;\n"
    "ALTER TABLE contacts ADD COLUMN relay_key BLOB;\n"
    "ALTER TABLE contacts ADD COLUMN relay_ca BLOB;\n"
    "ALTER TABLE contacts ADD COLUMN relay_time INTEGER;\n"
    "ALTER TABLE evidence ADD COLUMN relay_key BLOB;\n"
    "UPDATE evidence SET relay_key = (SELECT v FROM meta WHERE k = 'relay_key');\n"
    "CREATE TABLE relay_history(n INTEGER PRIMARY KEY AUTOINCREMENT, relay_key BLOB NOT NULL,"
    " url TEXT NOT NULL, size INTEGER NOT NULL, note BLOB NOT NULL, at INTEGER NOT NULL);\n"
    "PRAGMA user_version = 2;\n";

#define STR_(x) #x
#define STR(x) STR_(x)

/* --- SQLite helpers (vault_int.h) ------------------------------------------ */

static const char *vdir(const pl_vault *v)
{
	return (v && v->dir) ? v->dir : "(unknown)";
}

int pl_vault_dberr(pl_vault *v, int rc, const char *what, pl_err *e)
{
	const char *why = (v && v->db) ? sqlite3_errmsg(v->db) : sqlite3_errstr(rc);

	/* A save that failed says why itself (full disk, permissions). */
	if (v && v->save_err[0] && (rc & 0xff) == SQLITE_IOERR)
		return pl_err_set(e, PL_EXIT_ERROR, "could not %s: %s", what, v->save_err);

	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return pl_err_set(e, PL_EXIT_VAULT,
				  "could not %s: the vault at %s is busy in another parley "
				  "process; try again when it has finished",
				  what, vdir(v));
	case SQLITE_FULL:
		return pl_err_set(e, PL_EXIT_ERROR,
				  "could not %s: the disk holding the vault at %s is full; free "
				  "some space and try again",
				  what, vdir(v));
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return pl_err_set(e, PL_EXIT_VAULT,
				  "could not %s: the vault at %s is damaged (%s); restore it from "
				  "a backup",
				  what, vdir(v), why);
	case SQLITE_READONLY:
	case SQLITE_CANTOPEN:
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return pl_err_set(e, PL_EXIT_VAULT,
				  "could not %s in the vault at %s (%s); check the permissions of "
				  "the folder and its files",
				  what, vdir(v), why);
	case SQLITE_IOERR:
		return pl_err_set(e, PL_EXIT_ERROR,
				  "could not %s: I/O error on the vault at %s (%s); check the disk "
				  "and try again",
				  what, vdir(v), why);
	default:
		return pl_err_set(e, PL_EXIT_ERROR, "could not %s in the vault at %s: %s", what,
				  vdir(v), why);
	}
}

int pl_vault_damaged(pl_vault *v, const char *what, pl_err *e)
{
	return pl_err_set(e, PL_EXIT_VAULT,
			  "the vault at %s is damaged: %s; restore it from a backup", vdir(v),
			  what);
}

int pl_vault_prep(pl_vault *v, sqlite3_stmt **st, const char *sql, pl_err *e)
{
	int rc = sqlite3_prepare_v2(v->db, sql, -1, st, NULL);
	if (rc != SQLITE_OK) {
		*st = NULL;
		return pl_vault_dberr(v, rc, "prepare a query", e);
	}
	return 0;
}

int pl_vault_exec(pl_vault *v, sqlite3_stmt *st, const char *what, pl_err *e)
{
	int rc = sqlite3_step(st);
	if (rc != SQLITE_DONE)
		return pl_vault_dberr(v, rc, what, e);
	return 0;
}

/* Runs constant SQL (no data in it). */
static int run_sql(pl_vault *v, const char *sql, const char *what, pl_err *e)
{
	int rc = sqlite3_exec(v->db, sql, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		return pl_vault_dberr(v, rc, what, e);
	return 0;
}

int pl_vault_tx_start(pl_vault *v, int *own, pl_err *e)
{
	*own = sqlite3_get_autocommit(v->db) != 0;
	return run_sql(v, *own ? "BEGIN IMMEDIATE" : "SAVEPOINT pl_unit", "start a transaction", e);
}

int pl_vault_tx_end(pl_vault *v, int own, int ok, pl_err *e)
{
	if (ok) {
		if (run_sql(v, own ? "COMMIT" : "RELEASE pl_unit", "commit a change", e) == 0)
			return 0;
		ok = 0; /* fall through to undo, keeping the commit error in e */
	}
	if (own) {
		if (!sqlite3_get_autocommit(v->db))
			sqlite3_exec(v->db, "ROLLBACK", NULL, NULL, NULL);
	} else {
		sqlite3_exec(v->db, "ROLLBACK TO pl_unit; RELEASE pl_unit", NULL, NULL, NULL);
	}
	return -1;
}

int pl_vault_grow(void **arr, size_t *cap, size_t n, size_t elem)
{
	if (n < *cap)
		return 0;
	size_t ncap = *cap ? *cap * 2 : 8;
	if (ncap <= n || ncap > SIZE_MAX / elem)
		return -1;
	void *p = calloc(ncap, elem);
	if (p == NULL)
		return -1;
	if (*arr) {
		memcpy(p, *arr, *cap * elem);
		sodium_memzero(*arr, *cap * elem);
		free(*arr);
	}
	*arr = p;
	*cap = ncap;
	return 0;
}

int pl_vault_col_fixed(sqlite3_stmt *st, int i, uint8_t *out, size_t len)
{
	if (sqlite3_column_type(st, i) != SQLITE_BLOB)
		return -1;
	const void *p = sqlite3_column_blob(st, i);
	if ((size_t)sqlite3_column_bytes(st, i) != len || (p == NULL && len != 0))
		return -1;
	if (len)
		memcpy(out, p, len);
	return 0;
}

static int col_text(sqlite3_stmt *st, int i, char *out, size_t cap, int name)
{
	if (sqlite3_column_type(st, i) != SQLITE_TEXT)
		return -1;
	const uint8_t *p = sqlite3_column_text(st, i);
	size_t n = (size_t)sqlite3_column_bytes(st, i);
	if (p == NULL || n >= cap)
		return -1;
	if (name ? pl_vault_name_ok(p, n) != 0 : pl_vault_word_ok(p, n, cap - 1) != 0)
		return -1;
	memcpy(out, p, n);
	out[n] = '\0';
	return 0;
}

int pl_vault_col_flag(sqlite3_stmt *st, int i, int *out)
{
	if (sqlite3_column_type(st, i) != SQLITE_INTEGER)
		return -1;
	int64_t x = sqlite3_column_int64(st, i);
	if (x != 0 && x != 1)
		return -1;
	*out = (int)x;
	return 0;
}

int pl_vault_col_name(sqlite3_stmt *st, int i, char *out, size_t cap)
{
	return col_text(st, i, out, cap, 1);
}

int pl_vault_col_word(sqlite3_stmt *st, int i, char *out, size_t cap)
{
	return col_text(st, i, out, cap, 0);
}

/* --- meta records ----------------------------------------------------------- */

int pl_vault_meta_put(pl_vault *v, const char *k, const uint8_t *p, size_t n, pl_err *e)
{
	sqlite3_stmt *st;
	if (pl_vault_prep(v, &st,
			  "INSERT INTO meta(k, v) VALUES(?1, ?2)"
			  " ON CONFLICT(k) DO UPDATE SET v = excluded.v",
			  e) != 0)
		return -1;
	sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, n ? (const void *)p : "", (int)n, SQLITE_STATIC);
	int r = pl_vault_exec(v, st, "save a vault record", e);
	sqlite3_finalize(st);
	return r;
}

int pl_vault_meta_get(pl_vault *v, const char *k, pl_wr *out, size_t max, int *found, pl_err *e)
{
	sqlite3_stmt *st;

	pl_wr_init(out);
	*found = 0;
	if (pl_vault_prep(v, &st, "SELECT v FROM meta WHERE k = ?1", e) != 0)
		return -1;
	sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st), r = 0;
	if (rc == SQLITE_ROW) {
		size_t n = (size_t)sqlite3_column_bytes(st, 0);
		const uint8_t *p = sqlite3_column_blob(st, 0);
		if (sqlite3_column_type(st, 0) != SQLITE_BLOB || n > max) {
			char what[96];
			snprintf(what, sizeof what, "its %s record has the wrong type or size", k);
			r = pl_vault_damaged(v, what, e);
		} else {
			pl_wr_bytes(out, p, n);
			if (pl_wr_ok(out) != 0)
				r = pl_err_set(e, PL_EXIT_ERROR, "out of memory reading the vault");
			else
				*found = 1;
		}
	} else if (rc != SQLITE_DONE) {
		r = pl_vault_dberr(v, rc, "read a vault record", e);
	}
	sqlite3_finalize(st);
	if (r != 0)
		pl_wr_free(out);
	return r;
}

/* meta k must be exactly len bytes. */
static int meta_get_fixed(pl_vault *v, const char *k, uint8_t *out, size_t len, pl_err *e)
{
	pl_wr w;
	int found;
	if (pl_vault_meta_get(v, k, &w, len, &found, e) != 0)
		return -1;
	if (!found || w.n != len) {
		pl_wr_free(&w);
		char what[96];
		snprintf(what, sizeof what, "its %s record is missing or has the wrong size", k);
		return pl_vault_damaged(v, what, e);
	}
	memcpy(out, w.p, len);
	pl_wr_free(&w);
	return 0;
}

/* AD of a per-vault sealed record: label ‖ our identity key. */
static void own_ad(pl_wr *ad, const char *label, const uint8_t ik[static PL_IK_LEN])
{
	pl_vault_ad(ad, label);
	pl_wr_bytes(ad, ik, PL_IK_LEN);
}

static int meta_put_sealed(pl_vault *v, const char *k, const char *label, const uint8_t *p,
			   size_t n, pl_err *e)
{
	pl_wr ad, blob;
	own_ad(&ad, label, v->seal_ik);
	int r = pl_vault_seal(&blob, v->kek, &ad, p, n);
	pl_wr_free(&ad);
	if (r != 0)
		return pl_err_set(e, PL_EXIT_ERROR,
				  "could not encrypt a vault record (out of memory)");
	r = pl_vault_meta_put(v, k, blob.p, blob.n, e);
	pl_wr_free(&blob);
	return r;
}

static int meta_get_sealed(pl_vault *v, const char *k, const char *label, uint8_t *out, size_t len,
			   pl_err *e)
{
	pl_wr blob, ad;
	int found;

	if (pl_vault_meta_get(v, k, &blob, PL_SEAL_OVERHEAD + len, &found, e) != 0)
		return -1;
	own_ad(&ad, label, v->seal_ik);
	int r = found ? pl_vault_unseal_fixed(out, len, v->kek, &ad, blob.p, blob.n) : -1;
	pl_wr_free(&ad);
	pl_wr_free(&blob);
	if (r != 0) {
		char what[96];
		snprintf(what, sizeof what, "its sealed %s record is missing or does not open", k);
		return pl_vault_damaged(v, what, e);
	}
	return 0;
}

/* --- life cycle ------------------------------------------------------------- */

static int refuse_existing(const char *dir, pl_err *e);

static void vault_free(pl_vault *v)
{
	if (v == NULL)
		return;
	if (v->db)
		sqlite3_close_v2(v->db);
	pl_vfs_db_free(&v->mem);
	pl_vault_lock_release(v); /* only once every write is in the file */
	if (v->kek)
		sodium_free(v->kek); /* zeroes the pages first */
	if (v->id)
		sodium_free(v->id);
	if (v->ca) {
		sodium_memzero(v->ca, v->calen);
		free(v->ca);
	}
	free(v->dir);
	sodium_memzero(v, sizeof *v);
	free(v);
}

static pl_vault *vault_new(const char *dir, pl_err *e)
{
	pl_vault *v = calloc(1, sizeof *v);
	if (v == NULL || (v->dir = strdup(dir)) == NULL ||
	    (v->kek = sodium_malloc(PL_VAULT_KEY_LEN)) == NULL ||
	    (v->id = sodium_malloc(sizeof *v->id)) == NULL) {
		vault_free(v);
		pl_err_set(e, PL_EXIT_ERROR, "out of memory opening the vault at %s", dir);
		return NULL;
	}
	v->lock_fd = -1;
	/* sodium_malloc already tries mlock; make sure the pages start zeroed. */
	sodium_memzero(v->kek, PL_VAULT_KEY_LEN);
	sodium_memzero(v->id, sizeof *v->id);
	return v;
}

/* The connection settings every vault database gets. */
static int db_settings(pl_vault *v, pl_err *e)
{
	sqlite3_extended_result_codes(v->db, 1);
	sqlite3_busy_timeout(v->db, 5000);
	sqlite3_db_config(v->db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
	sqlite3_db_config(v->db, SQLITE_DBCONFIG_TRUSTED_SCHEMA, 0, (int *)NULL);
	/* secure_delete: deleted rows (used prekeys, dropped sessions, purged
	 * notes) are overwritten, so old state does not linger in free pages. */
	return run_sql(v,
		       "PRAGMA foreign_keys = ON; PRAGMA secure_delete = ON;"
		       " PRAGMA temp_store = MEMORY;",
		       "configure the database", e);
}

/* Sets the journal mode and checks SQLite took it. */
static int journal_mode(pl_vault *v, const char *mode, pl_err *e)
{
	sqlite3_stmt *st;
	char sql[48];
	snprintf(sql, sizeof sql, "PRAGMA journal_mode = %s", mode);
	if (pl_vault_prep(v, &st, sql, e) != 0)
		return -1;
	int rc = sqlite3_step(st);
	const char *got = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(st, 0) : NULL;
	int ok = got && strcasecmp(got, mode) == 0;
	sqlite3_finalize(st);
	if (!ok)
		return rc == SQLITE_ROW ? pl_err_set(e, PL_EXIT_VAULT,
						     "could not set up the database of the vault "
						     "at %s (journal mode %s); check the SQLite "
						     "library",
						     vdir(v), mode)
					: pl_vault_dberr(v, rc, "open the database", e);
	/* synchronous is per connection and must follow journal_mode. */
	return run_sql(v, "PRAGMA synchronous = FULL", "configure the database", e);
}

/* Opens an old unsealed vault file (DIR/vault.db, write-ahead log) to
 * convert it. */
static int db_open_old(pl_vault *v, const char *path, pl_err *e)
{
	int rc = sqlite3_open_v2(path, &v->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW, NULL);
	if (rc != SQLITE_OK)
		return pl_vault_dberr(v, rc, "open the database", e);
	return db_settings(v, e) == 0 ? journal_mode(v, "wal", e) : -1;
}

/* Opens the database held in v->mem through the parley-vault VFS: the
 * journal and temporary tables stay in memory, and each commit ends in
 * save_image (once v->mem.save is set). */
static int db_open_mem(pl_vault *v, pl_err *e)
{
	char name[64];
	const char *vfs = pl_vfs_name();
	if (vfs[0] == '\0')
		return pl_err_set(e, PL_EXIT_ERROR,
				  "SQLite refused parley's vault storage layer; check the SQLite "
				  "library");
	v->mem.ctx = v;
	pl_vfs_path(name, sizeof name, &v->mem);
	int rc = sqlite3_open_v2(name, &v->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, vfs);
	if (rc != SQLITE_OK)
		return pl_vault_dberr(v, rc, "open the database", e);
	if (db_settings(v, e) != 0)
		return -1;
	return journal_mode(v, "memory", e);
}

/* Writes all of p[0..n) to fd. */
static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

/* Overwrites with zeros, in place, a file that no longer has a name (the
 * vault file a save replaced), so its blocks do not keep an older state of
 * the vault; a file something else still links to is left alone. Effective
 * on file systems that overwrite in place (ext4, xfs), not on
 * copy-on-write ones or flash that remaps blocks (docs/DESIGN.md). */
static void wipe_unlinked(int fd)
{
	static const uint8_t zero[64 * 1024];
	struct stat sb;
	if (fstat(fd, &sb) == 0 && S_ISREG(sb.st_mode) && sb.st_nlink == 0) {
		off_t left = sb.st_size;
		if (lseek(fd, 0, SEEK_SET) == 0) {
			while (left > 0) {
				size_t k = left > (off_t)sizeof zero ? sizeof zero : (size_t)left;
				if (write_all(fd, zero, k) != 0)
					break;
				left -= (off_t)k;
			}
			fdatasync(fd);
		}
	}
	close(fd);
}

/* Puts the sealed file f[0..n) in place as DIR/vault.pv: written to
 * DIR/vault.pv.tmp, flushed, then renamed over the old file (mode
 * REPLACE) or linked where none exists (NOREPLACE); the replaced file is
 * then wiped. A crash leaves the old file or the new one. */
static int put_file(pl_vault *v, const uint8_t *f, size_t n, pl_file_mode mode, pl_err *e)
{
	char *path = pl_path_join(v->dir, VAULT_FILE), *tmp = pl_path_join(v->dir, VAULT_TMP);
	int fd = -1, old = -1, r = -1;

	if (path == NULL || tmp == NULL) {
		pl_err_set(e, PL_EXIT_ERROR, "out of memory writing the vault at %s", vdir(v));
		goto out;
	}
	unlink(tmp); /* what a crashed save left: the lock says no one else writes */
	fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
	if (fd < 0 || fchmod(fd, 0600) != 0) {
		pl_err_set(e, PL_EXIT_VAULT, "cannot create %s: %s; check the folder's permissions",
			   tmp, strerror(errno));
		goto out;
	}
	if (write_all(fd, f, n) != 0) {
		pl_err_set(e, PL_EXIT_ERROR,
			   "cannot write the vault at %s: %s; free disk space or check the disk",
			   vdir(v), strerror(errno ? errno : ENOSPC));
		unlink(tmp);
		goto out;
	}
	if (mode == PL_FILE_REPLACE)
		old = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (pl_file_publish(fd, tmp, path, mode, "the vault", e) == 0) {
		r = 0;
	} else if (mode == PL_FILE_NOREPLACE && errno == EEXIST) {
		refuse_existing(v->dir, e);
	}
	if (old >= 0) {
		if (r == 0)
			wipe_unlinked(old);
		else
			close(old);
	}
out:
	if (fd >= 0)
		close(fd);
	free(path);
	free(tmp);
	return r;
}

/* Seals the image img[0..n) under v's header and data key and puts it in
 * place. */
static int seal_and_put(pl_vault *v, const uint8_t *img, size_t n, pl_file_mode mode, pl_err *e)
{
	uint8_t *f;
	size_t flen;
	if (pl_vfile_seal(&f, &flen, &v->hdr, v->kek, img, n) != 0)
		return pl_err_set(e, PL_EXIT_ERROR,
				  "could not seal the vault at %s (out of memory or larger than "
				  "2 GiB)",
				  vdir(v));
	int r = put_file(v, f, flen, mode, e);
	free(f); /* ciphertext only */
	return r;
}

/* The VFS's save hook: every commit of an open vault ends here. */
static int save_image(void *ctx, const uint8_t *img, size_t n)
{
	pl_vault *v = ctx;
	pl_err e = {0};
	if (seal_and_put(v, img, n, PL_FILE_REPLACE, &e) == 0)
		return 0;
	snprintf(v->save_err, sizeof v->save_err, "%s; nothing of this change was stored", e.msg);
	return -1;
}

/* What a new vault is made of, as pl_vault_create was given it. */
typedef struct {
	const char *name, *relay_url;
	const uint8_t *ca;
	size_t calen;
	const char *pass;
	size_t passlen;
	pl_vault_kdf_cost cost;
} vault_setup;

/* v->hdr := a new header for pass at params k, wrapping v->kek. */
static int make_header(pl_vault *v, const pl_kdf_params *k, const char *pass, size_t passlen,
		       pl_err *e)
{
	uint8_t *wrap = sodium_malloc(PL_VAULT_KEY_LEN);
	int r = -1;
	if (wrap == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory for the vault key");
	if (pl_vault_kdf_derive(wrap, k, pass, passlen) != 0)
		pl_err_set(e, PL_EXIT_ERROR,
			   "could not derive the vault key from the passphrase (out of "
			   "memory?); close other programs and try again");
	else if (pl_vfile_hdr_make(&v->hdr, k, wrap, v->kek) != 0)
		pl_err_set(e, PL_EXIT_ERROR, "could not seal the vault's data key");
	else
		r = 0;
	sodium_free(wrap);
	return r;
}

/* Fills the new vault's database (in memory). */
static int build(pl_vault *v, const vault_setup *s, pl_err *e)
{
	uint8_t token[PL_TOKEN_LEN];
	int ok = 0;

	if (run_sql(v,
		    "PRAGMA application_id = " STR(VAULT_APP_ID) ";"
								 " PRAGMA user_version = " STR(
								     VAULT_SCHEMA) ";",
		    "initialise the database", e) != 0 ||
	    run_sql(v, "BEGIN IMMEDIATE", "initialise the database", e) != 0)
		return -1;
	uint8_t now[8];
	pl_be64_put(now, pl_now());
	randombytes_buf(token, sizeof token);
	/* The identity seed is the secret; the 64-byte secret key is rebuilt
	 * from it on open and checked against the stored public key. */
	if (run_sql(v, SCHEMA_SQL, "create the tables", e) == 0 &&
	    pl_vault_meta_put(v, "ik", v->id->pk, PL_IK_LEN, e) == 0 &&
	    meta_put_sealed(v, "ik_seed", "identity", v->id->sk, 32, e) == 0 &&
	    meta_put_sealed(v, "check", "key check", (const uint8_t *)CHECK_TEXT,
			    sizeof CHECK_TEXT - 1, e) == 0 &&
	    pl_vault_meta_put(v, "name", (const uint8_t *)s->name, strlen(s->name), e) == 0 &&
	    pl_vault_meta_put(v, "relay_url", (const uint8_t *)s->relay_url, strlen(s->relay_url),
			      e) == 0 &&
	    (s->calen == 0 || pl_vault_meta_put(v, "relay_ca", s->ca, s->calen, e) == 0) &&
	    pl_vault_meta_put(v, "created", now, sizeof now, e) == 0 &&
	    meta_put_sealed(v, "own_token", "own token", token, sizeof token, e) == 0 &&
	    pl_vault_prekeys_init(v, e) == 0)
		ok = 1;
	sodium_memzero(token, sizeof token);
	return pl_vault_tx_end(v, 1, ok, e);
}

/* What both create and open check first. */
static int vault_start(const char *dir, pl_err *e)
{
	if (sodium_init() < 0)
		return pl_err_set(e, PL_EXIT_ERROR, "libsodium could not start; check the system");
	if (dir == NULL || dir[0] == '\0')
		return pl_err_set(e, PL_EXIT_USAGE,
				  "no vault folder given; name the folder of the vault");
	return 0;
}

/* Refuses a setup no vault may be made of, before anything touches the
 * disk. */
static int setup_check(const vault_setup *s, pl_err *e)
{
	if (s->name == NULL || pl_vault_name_ok((const uint8_t *)s->name, strlen(s->name)) != 0)
		return pl_err_set(e, PL_EXIT_USAGE,
				  "the party name must be 1 to %d bytes of UTF-8 without control "
				  "characters or '/'; choose another name",
				  PL_NAME_MAX);
	if (s->relay_url == NULL ||
	    pl_vault_url_ok((const uint8_t *)s->relay_url, strlen(s->relay_url), PL_URL_MAX) != 0)
		return pl_err_set(e, PL_EXIT_USAGE,
				  "the relay URL must be 1 to %d printable characters without "
				  "spaces; check the relay's address",
				  PL_URL_MAX);
	if ((s->ca == NULL && s->calen != 0) || s->calen > PL_VAULT_CA_MAX)
		return pl_err_set(e, PL_EXIT_USAGE,
				  "the relay CA certificate must be at most %u bytes of PEM",
				  PL_VAULT_CA_MAX);
	if (s->pass == NULL || s->passlen == 0)
		return pl_err_set(e, PL_EXIT_USAGE,
				  "the passphrase is empty; choose a passphrase for the vault");
	return pl_passphrase_check(s->pass, s->passlen, e);
}

/* Makes the vault folder DIR with mode 0700 whatever the umask, or takes
 * the existing folder as it is. *made says whether this call made it, so
 * that a failed create removes only a folder of its own. */
static int make_folder(const char *dir, int *made, pl_err *e)
{
	struct stat sb;

	*made = 0;
	if (mkdir(dir, 0700) == 0) {
		*made = 1;
		if (chmod(dir, 0700) != 0)
			return pl_err_set(e, PL_EXIT_VAULT, "cannot set the mode of %s: %s", dir,
					  strerror(errno));
	} else if (errno != EEXIST) {
		return pl_err_set(e, PL_EXIT_VAULT,
				  "cannot create the vault folder %s: %s; check that its parent "
				  "exists and is writable",
				  dir, strerror(errno));
	}
	if (stat(dir, &sb) != 0 || !S_ISDIR(sb.st_mode))
		return pl_err_set(e, PL_EXIT_VAULT,
				  "%s is not a folder; choose another folder for the vault", dir);
	return 0;
}

static int refuse_existing(const char *dir, pl_err *e)
{
	return pl_err_set(e, PL_EXIT_VAULT,
			  "a vault already exists at %s; refusing to overwrite it", dir);
}

/* 1 if anything, even a dangling link, is at DIR/name. */
static int present(const char *dir, const char *name)
{
	struct stat sb;
	char *path = pl_path_join(dir, name);
	int r = path == NULL || lstat(path, &sb) == 0 || errno != ENOENT;
	free(path);
	return r;
}

/* A vault file of either format counts as a vault. */
static int vault_absent(const char *dir, pl_err *e)
{
	if (present(dir, VAULT_FILE) || present(dir, OLD_FILE))
		return refuse_existing(dir, e);
	return 0;
}

/* Builds the whole vault in memory, then puts its sealed file in place,
 * never over an existing one; a folder create made is flushed into its
 * parent too, or a crash could lose the folder with the vault in it. */
static int create_in(const char *dir, const vault_setup *s, int made_dir, pl_err *e)
{
	pl_vault *v = vault_new(dir, e);
	pl_kdf_params k;
	int r = -1;

	if (v == NULL)
		return -1;
	pl_vault_kdf_new(&k, s->cost);
	randombytes_buf(v->kek, PL_VAULT_KEY_LEN);
	int gen = pl_identity_generate(v->id);
	if (gen == 0) /* the sealed records are bound to this first key */
		memcpy(v->seal_ik, v->id->pk, PL_IK_LEN);
	if (gen != 0)
		pl_err_set(e, PL_EXIT_ERROR, "could not generate an identity key");
	else if (make_header(v, &k, s->pass, s->passlen, e) == 0 && db_open_mem(v, e) == 0 &&
		 build(v, s, e) == 0 &&
		 seal_and_put(v, v->mem.buf, v->mem.n, PL_FILE_NOREPLACE, e) == 0) {
		r = 0;
		if (made_dir && pl_file_sync_parent(dir) != 0)
			r = pl_err_set(e, PL_EXIT_ERROR,
				       "the vault is at %s but the folder holding it could not "
				       "be flushed to disk (%s); it may not survive a crash: check "
				       "the disk and try again",
				       dir, strerror(errno));
	}
	vault_free(v);
	return r;
}

int pl_vault_create(const char *dir, const char *name, const char *relay_url,
		    const uint8_t *relay_ca, size_t relay_ca_len, const char *pass, size_t passlen,
		    pl_err *e)
{
	return pl_vault_create_cost(dir, name, relay_url, relay_ca, relay_ca_len, pass, passlen,
				    PL_VAULT_KDF_STRONG, e);
}

int pl_vault_create_cost(const char *dir, const char *name, const char *relay_url,
			 const uint8_t *relay_ca, size_t relay_ca_len, const char *pass,
			 size_t passlen, pl_vault_kdf_cost cost, pl_err *e)
{
	const vault_setup s = {name, relay_url, relay_ca, relay_ca_len, pass, passlen, cost};
	if (vault_start(dir, e) != 0 || setup_check(&s, e) != 0)
		return -1;

	int made_dir = 0;
	if (make_folder(dir, &made_dir, e) == 0 && vault_absent(dir, e) == 0 &&
	    create_in(dir, &s, made_dir, e) == 0)
		return 0;
	/* Nothing of a failed create stays but the vault itself, when only the
	 * flush of its folder failed (rmdir then finds it and fails). */
	if (made_dir)
		rmdir(dir);
	return -1;
}

/* Checks the database is a parley vault of a schema version we know;
 * *version is the one it was written with (migrate() brings it up). */
static int check_header(pl_vault *v, int64_t *version, pl_err *e)
{
	sqlite3_stmt *st;
	int64_t app = 0, ver = 0;

	if (pl_vault_prep(v, &st, "PRAGMA application_id", e) != 0)
		return -1;
	int rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		app = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return pl_vault_dberr(v, rc, "read the vault header", e);
	if (pl_vault_prep(v, &st, "PRAGMA user_version", e) != 0)
		return -1;
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		ver = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	if (rc != SQLITE_ROW)
		return pl_vault_dberr(v, rc, "read the vault header", e);
	if (app != VAULT_APP_ID)
		return pl_err_set(e, PL_EXIT_VAULT,
				  "the database in %s is not a parley vault; choose another "
				  "folder for the vault",
				  vdir(v));
	if (ver > VAULT_SCHEMA)
		return pl_err_set(e, PL_EXIT_VAULT,
				  "the vault at %s was written by a newer parley (schema %lld); "
				  "upgrade parley",
				  vdir(v), (long long)ver);
	if (ver < 1)
		return pl_vault_damaged(v, "its schema version is unknown", e);
	*version = ver;
	return 0;
}

/* Brings a vault of an older schema up to VAULT_SCHEMA in one transaction,
 * after the passphrase was proved (a wrong one changes nothing): it is
 * either still the old version or wholly the new one. */
static int migrate(pl_vault *v, int64_t from, pl_err *e)
{
	if (from == VAULT_SCHEMA)
		return 0;
	if (run_sql(v, "BEGIN IMMEDIATE", "upgrade the vault", e) != 0)
		return -1;
	return pl_vault_tx_end(v, 1, run_sql(v, MIGRATE_1_2_SQL, "upgrade the vault", e) == 0, e);
}

/* Loads the public per-vault records: name, relay URL, CA, relay key. */
static int load_public(pl_vault *v, pl_err *e)
{
	pl_wr w;
	int found;

	if (pl_vault_meta_get(v, "name", &w, PL_NAME_MAX, &found, e) != 0)
		return -1;
	if (!found || pl_vault_name_ok(w.p, w.n) != 0) {
		pl_wr_free(&w);
		return pl_vault_damaged(v, "its party name is missing or invalid", e);
	}
	memcpy(v->name, w.p, w.n);
	v->name[w.n] = '\0';
	pl_wr_free(&w);

	if (pl_vault_meta_get(v, "relay_url", &w, PL_URL_MAX, &found, e) != 0)
		return -1;
	if (!found || pl_vault_url_ok(w.p, w.n, PL_URL_MAX) != 0) {
		pl_wr_free(&w);
		return pl_vault_damaged(v, "its relay URL is missing or invalid", e);
	}
	memcpy(v->relay_url, w.p, w.n);
	v->relay_url[w.n] = '\0';
	pl_wr_free(&w);

	if (pl_vault_meta_get(v, "relay_plain_http", &w, 1, &found, e) != 0)
		return -1;
	if (found && (w.n != 1 || w.p[0] != 1)) {
		pl_wr_free(&w);
		return pl_vault_damaged(v, "its plain-HTTP setting is invalid", e);
	}
	v->relay_plain_http = found;
	pl_wr_free(&w);

	if (pl_vault_meta_get(v, "relay_proxy", &w, PL_URL_MAX, &found, e) != 0)
		return -1;
	if (found && pl_vault_url_ok(w.p, w.n, PL_URL_MAX) != 0) {
		pl_wr_free(&w);
		return pl_vault_damaged(v, "its relay proxy setting is invalid", e);
	}
	if (found) {
		memcpy(v->relay_proxy, w.p, w.n);
		v->relay_proxy[w.n] = '\0';
	}
	pl_wr_free(&w);

	if (pl_vault_meta_get(v, "relay_ca", &w, PL_VAULT_CA_MAX, &found, e) != 0)
		return -1;
	if (found && w.n > 0) {
		v->ca = w.p; /* take the buffer */
		v->calen = w.n;
		pl_wr_init(&w);
	}
	pl_wr_free(&w);

	if (pl_vault_meta_get(v, "relay_key", &w, 32, &found, e) != 0)
		return -1;
	if (found) {
		if (w.n != 32) {
			pl_wr_free(&w);
			return pl_vault_damaged(v, "its pinned relay key has the wrong size", e);
		}
		memcpy(v->relay_key, w.p, 32);
		v->has_relay_key = 1;
	}
	pl_wr_free(&w);
	return 0;
}

/* Opens an old vault's "dek" record with the key derived from the
 * passphrase into v->kek: 1 if opened, 0 if the vault has no such record
 * (made before it existed: the derived key is the data key), -1 if it does
 * not open. */
static int old_unwrap_data_key(pl_vault *v, const uint8_t *wrap, pl_err *e)
{
	pl_wr blob, ad;
	int found;

	if (pl_vault_meta_get(v, "dek", &blob, PL_SEAL_OVERHEAD + PL_VAULT_KEY_LEN, &found, e) != 0)
		return -1;
	if (!found) {
		pl_wr_free(&blob);
		memcpy(v->kek, wrap, PL_VAULT_KEY_LEN);
		return 0;
	}
	own_ad(&ad, "data key", v->seal_ik);
	int r = pl_vault_unseal_fixed(v->kek, PL_VAULT_KEY_LEN, wrap, &ad, blob.p, blob.n);
	pl_wr_free(&ad);
	pl_wr_free(&blob);
	if (r != 0)
		return pl_err_set(e, PL_EXIT_VAULT, "wrong passphrase for the vault at %s",
				  vdir(v));
	return 1;
}

/* v->seal_ik: meta "seal_ik" after a rotation, else the identity key ik. */
static int seal_key_load(pl_vault *v, const uint8_t ik[static PL_IK_LEN], pl_err *e)
{
	pl_wr w;
	int found;
	if (pl_vault_meta_get(v, "seal_ik", &w, PL_IK_LEN, &found, e) != 0)
		return -1;
	if (found && w.n != PL_IK_LEN) {
		pl_wr_free(&w);
		return pl_vault_damaged(v, "its seal_ik record has the wrong size", e);
	}
	memcpy(v->seal_ik, found ? w.p : ik, PL_IK_LEN);
	pl_wr_free(&w);
	return 0;
}

/* Checks the data key in v->kek against the key-check record and loads
 * the identity it seals; tells a wrong passphrase apart from a damaged
 * identity record. */
static int load_identity(pl_vault *v, pl_err *e)
{
	uint8_t ik[PL_IK_LEN], seed[32], chk[sizeof CHECK_TEXT - 1];
	pl_err tmp;
	int r = -1;

	if (meta_get_fixed(v, "ik", ik, sizeof ik, e) != 0)
		return -1;
	memcpy(v->id->pk, ik, sizeof ik);
	if (seal_key_load(v, ik, e) != 0)
		return -1;
	if (meta_get_sealed(v, "check", "key check", chk, sizeof chk, &tmp) != 0 ||
	    sodium_memcmp(chk, CHECK_TEXT, sizeof chk) != 0)
		return pl_err_set(e, PL_EXIT_VAULT, "wrong passphrase for the vault at %s",
				  vdir(v));
	if (meta_get_sealed(v, "ik_seed", "identity", seed, sizeof seed, e) != 0)
		goto out;
	if (crypto_sign_seed_keypair(v->id->pk, v->id->sk, seed) != 0 ||
	    sodium_memcmp(v->id->pk, ik, sizeof ik) != 0) {
		pl_vault_damaged(v, "its identity secret key does not match its public key", e);
		goto out;
	}
	r = 0;
out:
	sodium_memzero(seed, sizeof seed);
	return r;
}

/* Unlocks an old unsealed vault: derives the key from its kdf record and
 * opens its data key. *k receives the record's parameters. */
static int old_unlock(pl_vault *v, const char *pass, size_t passlen, pl_kdf_params *k, pl_err *e)
{
	uint8_t rec[PL_KDF_REC_LEN], ik[PL_IK_LEN];

	if (meta_get_fixed(v, "kdf", rec, sizeof rec, e) != 0 ||
	    meta_get_fixed(v, "ik", ik, sizeof ik, e) != 0)
		return -1;
	if (pl_vault_kdf_decode(k, rec, sizeof rec) != 0)
		return pl_vault_damaged(v, "its passphrase parameters are invalid", e);
	uint8_t *wrap = sodium_malloc(PL_VAULT_KEY_LEN);
	if (wrap == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory for the vault key");
	if (pl_vault_kdf_derive(wrap, k, pass, passlen) != 0) {
		sodium_free(wrap);
		return pl_err_set(e, PL_EXIT_ERROR,
				  "could not derive the vault key from the passphrase (out of "
				  "memory?); close other programs and try again");
	}
	memcpy(v->id->pk, ik, sizeof ik);
	if (seal_key_load(v, ik, e) != 0) {
		sodium_free(wrap);
		return -1;
	}
	int u = old_unwrap_data_key(v, wrap, e);
	sodium_free(wrap);
	return u < 0 ? -1 : load_identity(v, e);
}

/* Overwrites DIR/name with zeros and removes it, if it exists. */
static void wipe_remove(const char *dir, const char *name)
{
	char *path = pl_path_join(dir, name);
	if (path == NULL)
		return;
	int fd = open(path, O_WRONLY | O_NOFOLLOW | O_CLOEXEC);
	if (unlink(path) == 0 && fd >= 0) {
		wipe_unlinked(fd);
		fd = -1;
	}
	if (fd >= 0)
		close(fd);
	free(path);
}

/* Converts an old vault (DIR/vault.db, its records in clear beside their
 * sealed secrets) to the sealed file, under the lock: its image, with the
 * old passphrase records dropped, is sealed under a new header (same cost,
 * fresh salt) into DIR/vault.pv, and only then are the old files wiped and
 * removed. A crash before the new file is in place leaves the old vault;
 * after it, the next open finishes the removal. */
static int convert_old(pl_vault *v, const char *pass, size_t passlen, pl_err *e)
{
	char *old = pl_path_join(v->dir, OLD_FILE);
	pl_kdf_params k;
	int64_t version = 0;
	sqlite3_int64 sz = 0;
	unsigned char *img = NULL;
	int r = -1;

	if (old == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory opening the vault");
	if (db_open_old(v, old, e) != 0 || check_header(v, &version, e) != 0 ||
	    old_unlock(v, pass, passlen, &k, e) != 0)
		goto out;
	img = sqlite3_serialize(v->db, "main", &sz, 0);
	if (img == NULL || sz < 100) {
		pl_vault_dberr(v, SQLITE_NOMEM, "read the old vault", e);
		goto out;
	}
	sqlite3_close_v2(v->db);
	v->db = NULL;
	if (pl_vfs_db_take(&v->mem, img, (size_t)sz) != 0) {
		pl_err_set(e, PL_EXIT_ERROR, "out of memory converting the vault at %s", vdir(v));
		goto out;
	}
	/* The image said "write-ahead log" (bytes 18 and 19); the buffer is a
	 * rollback-journal database. */
	v->mem.buf[18] = v->mem.buf[19] = 1;
	randombytes_buf(k.salt, sizeof k.salt);
	if (db_open_mem(v, e) != 0 || migrate(v, version, e) != 0 ||
	    run_sql(v, "DELETE FROM meta WHERE k IN ('kdf', 'dek'); VACUUM", "convert the vault",
		    e) != 0 ||
	    make_header(v, &k, pass, passlen, e) != 0 ||
	    seal_and_put(v, v->mem.buf, v->mem.n, PL_FILE_NOREPLACE, e) != 0)
		goto out;
	v->converted = 1;
	r = 0;
out:
	if (img) {
		sodium_memzero(img, (size_t)sz);
		sqlite3_free(img);
	}
	if (v->db) {
		sqlite3_close_v2(v->db);
		v->db = NULL;
	}
	pl_vfs_db_free(&v->mem);
	free(old);
	return r;
}

/* Reads DIR/vault.pv whole. */
static int read_file(pl_vault *v, uint8_t **f, size_t *n, pl_err *e)
{
	char *path = pl_path_join(v->dir, VAULT_FILE);
	pl_err tmp;
	struct stat sb;
	int r = -1;

	if (path == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory opening the vault");
	if (lstat(path, &sb) != 0)
		pl_err_set(e, PL_EXIT_VAULT, "no vault at %s; create one there first", vdir(v));
	else if (!S_ISREG(sb.st_mode))
		pl_err_set(e, PL_EXIT_VAULT,
			   "%s is not a regular file; refusing to open it as a vault", path);
	else if (pl_file_read(path,
			      PL_VFILE_HDR_LEN + PL_SEAL_NONCE_LEN +
				  pl_vfile_padded(PL_VFILE_IMAGE_MAX) + PL_SEAL_MAC_LEN,
			      f, n, &tmp) != 0)
		pl_err_set(e, PL_EXIT_VAULT, "cannot read the vault: %s; check its permissions",
			   tmp.msg);
	else
		r = 0;
	free(path);
	return r;
}

static void file_free(uint8_t *f, size_t n)
{
	if (f) {
		sodium_memzero(f, n);
		free(f);
	}
}

/* Reads the vault file, parses its header into *h and unwraps the data
 * key with pass into v->kek. 0, or -1 with e set. */
static int unwrap_file(pl_vault *v, const char *pass, size_t passlen, uint8_t *wrap, uint8_t **f,
		       size_t *flen, pl_vfile_hdr *h, pl_err *e)
{
	if (read_file(v, f, flen, e) != 0)
		return -1;
	if (pl_vfile_hdr_parse(h, *f, *flen) != 0)
		return pl_err_set(e, PL_EXIT_VAULT,
				  "%s/" VAULT_FILE " is not a parley vault or its header is "
				  "damaged; restore the vault from a backup",
				  vdir(v));
	if (pl_vault_kdf_derive(wrap, &h->kdf, pass, passlen) != 0)
		return pl_err_set(e, PL_EXIT_ERROR,
				  "could not derive the vault key from the passphrase (out of "
				  "memory?); close other programs and try again");
	if (pl_vfile_hdr_unwrap(h, wrap, v->kek) != 0)
		return pl_err_set(e, PL_EXIT_VAULT, "wrong passphrase for the vault at %s",
				  vdir(v));
	return 0;
}

/* Unlocks the sealed vault file: the costly key derivation first, beside
 * a process that holds the vault; then, under the lock, the file as it is
 * now is read again, authenticated whole, and its image loaded.
 *
 * The first read happens without the lock, so it may open the file a
 * holder is replacing at that moment, whose old copy the holder
 * overwrites once the new one is in place (put_file): a header that does
 * not parse or does not unwrap there is read again under the lock before
 * anything is said about it. */
static int open_sealed(pl_vault *v, const char *pass, size_t passlen, const char *cmd,
		       unsigned wait_ms, pl_err *e)
{
	uint8_t *f = NULL, *img = NULL;
	size_t flen = 0, n = 0;
	pl_vfile_hdr h;
	int r = -1;
	uint8_t *wrap = sodium_malloc(PL_VAULT_KEY_LEN);

	if (wrap == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory for the vault key");
	if (unwrap_file(v, pass, passlen, wrap, &f, &flen, &h, e) != 0) {
		if (v->lock_fd >= 0 || f == NULL)
			goto out;
		file_free(f, flen);
		f = NULL;
		if (pl_vault_lock_take(v, cmd, wait_ms, e) != 0 ||
		    unwrap_file(v, pass, passlen, wrap, &f, &flen, &h, e) != 0)
			goto out;
	}
	if (v->lock_fd < 0 && pl_vault_lock_take(v, cmd, wait_ms, e) != 0)
		goto out;
	file_free(f, flen);
	f = NULL;
	if (read_file(v, &f, &flen, e) != 0)
		goto out;
	if (flen < PL_VFILE_HDR_LEN || sodium_memcmp(f, h.raw, PL_VFILE_HDR_LEN) != 0) {
		pl_vfile_hdr h2;
		if (pl_vfile_hdr_parse(&h2, f, flen) != 0 ||
		    sodium_memcmp(h2.raw, h.raw,
				  PL_VFILE_HDR_LEN - PL_SEAL_NONCE_LEN - PL_VAULT_KEY_LEN -
				      PL_SEAL_MAC_LEN) != 0 ||
		    pl_vfile_hdr_unwrap(&h2, wrap, v->kek) != 0) {
			pl_err_set(e, PL_EXIT_VAULT,
				   "the passphrase of the vault at %s was changed while this "
				   "command waited for it; run it again with the new passphrase",
				   vdir(v));
			goto out;
		}
		h = h2;
	}
	if (pl_vfile_open(&img, &n, &h, v->kek, f, flen) != 0) {
		pl_err_set(e, PL_EXIT_VAULT,
			   "the vault at %s was changed by someone without its passphrase (its "
			   "file does not authenticate); do not use it: restore it from a "
			   "backup",
			   vdir(v));
		goto out;
	}
	v->hdr = h;
	v->mem.buf = img;
	v->mem.n = v->mem.cap = n;
	img = NULL;
	v->sealed = 1;
	r = 0;
out:
	file_free(f, flen);
	sodium_free(wrap);
	return r;
}

int pl_vault_exists(const char *dir)
{
	return dir != NULL && (present(dir, VAULT_FILE) || present(dir, OLD_FILE));
}

int pl_vault_open(pl_vault **out, const char *dir, const char *pass, size_t passlen, pl_err *e)
{
	return pl_vault_open_ex(out, dir, pass, passlen, NULL, e);
}

int pl_vault_open_ex(pl_vault **out, const char *dir, const char *pass, size_t passlen,
		     const pl_vault_open_opts *o, pl_err *e)
{
	unsigned wait_ms = (o && o->wait_ms) ? o->wait_ms : PL_VAULT_LOCK_WAIT_MS;
	const char *cmd = o ? o->cmd : NULL;
	*out = NULL;
	if (vault_start(dir, e) != 0)
		return -1;
	pl_vault *v = vault_new(dir, e);
	if (v == NULL)
		return -1;
	int r = -1, ok = 1;
	int64_t version = 0;
	/* An old unsealed vault is converted once, under the lock; a vault
	 * file beside it means a conversion was cut short after the new file
	 * was in place, and the old one only needs removing. */
	if (!present(dir, VAULT_FILE) && present(dir, OLD_FILE)) {
		ok = pl_vault_lock_take(v, cmd, wait_ms, e) == 0 &&
		     (present(dir, VAULT_FILE) || convert_old(v, pass, passlen, e) == 0);
	}
	if (ok && open_sealed(v, pass, passlen, cmd, wait_ms, e) == 0) {
		if (present(dir, OLD_FILE) || present(dir, OLD_FILE "-wal")) {
			wipe_remove(dir, OLD_FILE);
			wipe_remove(dir, OLD_FILE "-wal");
			wipe_remove(dir, OLD_FILE "-shm");
			pl_file_sync_parent(v->dir);
		}
		v->mem.save = NULL;
		if (db_open_mem(v, e) == 0 && check_header(v, &version, e) == 0 &&
		    load_identity(v, e) == 0) {
			v->mem.save = save_image;
			if (migrate(v, version, e) == 0 && load_public(v, e) == 0) {
				sodium_mprotect_readonly(v->kek);
				sodium_mprotect_readonly(v->id);
				*out = v;
				v = NULL;
				r = 0;
			}
		}
	}
	vault_free(v);
	return r;
}

int pl_vault_converted(const pl_vault *v)
{
	return v->converted;
}

int pl_vault_passphrase_change(pl_vault *v, const char *pass, size_t passlen,
			       pl_vault_kdf_cost cost, pl_err *e)
{
	pl_kdf_params k;

	if (pass == NULL || passlen == 0)
		return pl_err_set(e, PL_EXIT_USAGE,
				  "the new passphrase is empty; choose a passphrase for the vault");
	if (pl_passphrase_check(pass, passlen, e) != 0)
		return -1;
	if (!v->sealed || v->mem.broken || !sqlite3_get_autocommit(v->db))
		return pl_err_set(e, PL_EXIT_ERROR,
				  "the passphrase of the vault at %s cannot be changed now (a "
				  "change is open or a write failed); run the command again",
				  vdir(v));
	/* One new header (fresh salt, the same data key) and one rename: after
	 * a crash exactly one of the old and the new passphrase opens it. */
	pl_vfile_hdr old = v->hdr;
	pl_vault_kdf_new(&k, cost);
	if (make_header(v, &k, pass, passlen, e) != 0) {
		v->hdr = old;
		return -1;
	}
	if (seal_and_put(v, v->mem.buf, v->mem.n, PL_FILE_REPLACE, e) != 0) {
		v->hdr = old;
		return -1;
	}
	return 0;
}

int pl_vault_open_memory(pl_vault **out, pl_err *e)
{
	*out = NULL;
	if (sodium_init() < 0)
		return pl_err_set(e, PL_EXIT_ERROR, "libsodium could not start; check the system");
	pl_vault *v = vault_new("(memory)", e);
	if (v == NULL)
		return -1;
	int rc =
	    sqlite3_open_v2(":memory:", &v->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL);
	if (rc != SQLITE_OK) {
		pl_vault_dberr(v, rc, "open an in-memory database", e);
		vault_free(v);
		return -1;
	}
	sqlite3_extended_result_codes(v->db, 1);
	sqlite3_db_config(v->db, SQLITE_DBCONFIG_DEFENSIVE, 1, (int *)NULL);
	randombytes_buf(v->kek, PL_VAULT_KEY_LEN);
	if (pl_identity_generate(v->id) == 0)
		memcpy(v->seal_ik, v->id->pk, PL_IK_LEN);
	if (sodium_is_zero(v->seal_ik, PL_IK_LEN) ||
	    run_sql(v, "PRAGMA foreign_keys = ON", "configure the database", e) != 0 ||
	    run_sql(v, SCHEMA_SQL, "create the tables", e) != 0 ||
	    pl_vault_meta_put(v, "name", (const uint8_t *)"memory", 6, e) != 0) {
		vault_free(v);
		return -1;
	}
	memcpy(v->name, "memory", 7);
	*out = v;
	return 0;
}

void pl_vault_close(pl_vault *v)
{
	vault_free(v);
}

int pl_vault_begin(pl_vault *v, pl_err *e)
{
	if (v->batch) {
		if (run_sql(v, "SAVEPOINT pl_batch_unit", "start a change", e) != 0)
			return -1;
		v->batch_depth++;
		return 0;
	}
	return run_sql(v, "BEGIN IMMEDIATE", "start a transaction", e);
}

int pl_vault_commit(pl_vault *v, pl_err *e)
{
	if (v->batch) {
		if (v->batch_depth == 0)
			return pl_err_set(e, PL_EXIT_ERROR,
					  "internal error: a commit without a change in a batch");
		if (run_sql(v, "RELEASE pl_batch_unit", "commit the change", e) != 0) {
			pl_vault_rollback(v);
			return -1;
		}
		v->batch_depth--;
		return 0;
	}
	if (run_sql(v, "COMMIT", "commit the change", e) != 0) {
		pl_vault_rollback(v);
		return -1;
	}
	return 0;
}

void pl_vault_rollback(pl_vault *v)
{
	if (v && v->db && v->batch) {
		if (v->batch_depth > 0) {
			sqlite3_exec(v->db, "ROLLBACK TO pl_batch_unit; RELEASE pl_batch_unit",
				     NULL, NULL, NULL);
			v->batch_depth--;
		}
		return;
	}
	if (v && v->db && !sqlite3_get_autocommit(v->db))
		sqlite3_exec(v->db, "ROLLBACK", NULL, NULL, NULL);
}

int pl_vault_batch_begin(pl_vault *v, pl_err *e)
{
	if (v->batch || !sqlite3_get_autocommit(v->db))
		return pl_err_set(e, PL_EXIT_ERROR,
				  "internal error: a batch inside another change");
	if (run_sql(v, "BEGIN IMMEDIATE", "start a transaction", e) != 0)
		return -1;
	v->batch = 1;
	v->batch_depth = 0;
	return 0;
}

int pl_vault_batch_end(pl_vault *v, int ok, pl_err *e)
{
	if (!v->batch)
		return pl_err_set(e, PL_EXIT_ERROR, "internal error: no batch to end");
	/* a change left open by a failed path is undone, not committed */
	while (v->batch_depth > 0)
		pl_vault_rollback(v);
	v->batch = 0;
	if (ok && run_sql(v, "COMMIT", "commit the changes", e) == 0)
		return 0;
	if (!sqlite3_get_autocommit(v->db))
		sqlite3_exec(v->db, "ROLLBACK", NULL, NULL, NULL);
	return ok ? -1 : 0;
}

/* --- identity and relay ------------------------------------------------------ */

const pl_identity *pl_vault_identity(const pl_vault *v)
{
	return v->id;
}

const char *pl_vault_name(const pl_vault *v)
{
	return v->name;
}

const char *pl_vault_relay_url(const pl_vault *v)
{
	return v->relay_url;
}

int pl_vault_set_relay_url(pl_vault *v, const char *url, pl_err *e)
{
	size_t n = url ? strlen(url) : 0;
	if (url == NULL || pl_vault_url_ok((const uint8_t *)url, n, PL_URL_MAX) != 0)
		return pl_err_set(e, PL_EXIT_USAGE,
				  "the relay URL must be 1 to %d printable characters without "
				  "spaces; check the relay's address",
				  PL_URL_MAX);
	if (pl_vault_meta_put(v, "relay_url", (const uint8_t *)url, n, e) != 0)
		return -1;
	memcpy(v->relay_url, url, n + 1);
	return 0;
}

int pl_vault_relay_plain_http(const pl_vault *v)
{
	return v->relay_plain_http;
}

int pl_vault_allow_relay_plain_http(pl_vault *v, pl_err *e)
{
	static const uint8_t on = 1;
	if (pl_vault_meta_put(v, "relay_plain_http", &on, 1, e) != 0)
		return -1;
	v->relay_plain_http = 1;
	return 0;
}

const char *pl_vault_relay_proxy(const pl_vault *v)
{
	const char *p = v->proxy_run[0] ? v->proxy_run : v->relay_proxy;
	return p[0] && strcmp(p, "none") != 0 ? p : NULL;
}

/* The same text rule as the relay URL: the client checks the scheme. */
static int proxy_text_check(const char *url, pl_err *e)
{
	if (url != NULL && pl_vault_url_ok((const uint8_t *)url, strlen(url), PL_URL_MAX) != 0)
		return pl_err_set(e, PL_EXIT_USAGE,
				  "the proxy address must be 1 to %d printable characters without "
				  "spaces",
				  PL_URL_MAX);
	return 0;
}

int pl_vault_set_relay_proxy(pl_vault *v, const char *url, pl_err *e)
{
	sqlite3_stmt *st;
	if (proxy_text_check(url, e) != 0)
		return -1;
	if (url != NULL) {
		if (pl_vault_meta_put(v, "relay_proxy", (const uint8_t *)url, strlen(url), e) != 0)
			return -1;
		snprintf(v->relay_proxy, sizeof v->relay_proxy, "%s", url);
		return 0;
	}
	if (pl_vault_prep(v, &st, "DELETE FROM meta WHERE k = 'relay_proxy'", e) != 0)
		return -1;
	int r = pl_vault_exec(v, st, "forget the relay proxy", e);
	sqlite3_finalize(st);
	if (r == 0)
		v->relay_proxy[0] = '\0';
	return r;
}

int pl_vault_use_proxy(pl_vault *v, const char *url, pl_err *e)
{
	if (proxy_text_check(url, e) != 0)
		return -1;
	snprintf(v->proxy_run, sizeof v->proxy_run, "%s", url ? url : "");
	return 0;
}

void pl_vault_relay_ca(const pl_vault *v, const uint8_t **pem, size_t *len)
{
	*pem = v->ca;
	*len = v->ca ? v->calen : 0;
}

int pl_vault_relay_key(const pl_vault *v, uint8_t pk[static 32])
{
	if (!v->has_relay_key)
		return -1;
	memcpy(pk, v->relay_key, 32);
	return 0;
}

int pl_vault_set_relay_key(pl_vault *v, const uint8_t pk[static 32], pl_err *e)
{
	if (pl_ik_validate(pk) != 0)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "the relay's key is not a valid Ed25519 public key; check the "
				  "relay URL");
	if (pl_vault_meta_put(v, "relay_key", pk, 32, e) != 0)
		return -1;
	memcpy(v->relay_key, pk, 32);
	v->has_relay_key = 1;
	return 0;
}

uint64_t pl_vault_get_u64(pl_vault *v, const char *key, uint64_t dflt)
{
	sqlite3_stmt *st;
	uint64_t val = dflt;

	if (key == NULL ||
	    pl_vault_word_ok((const uint8_t *)key, strlen(key), PL_VAULT_KEYNAME_MAX) != 0 ||
	    pl_vault_prep(v, &st, "SELECT v FROM counters WHERE k = ?1", NULL) != 0)
		return dflt;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_INTEGER)
		val = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return val;
}

int pl_vault_set_u64(pl_vault *v, const char *key, uint64_t val, pl_err *e)
{
	sqlite3_stmt *st;

	if (key == NULL ||
	    pl_vault_word_ok((const uint8_t *)key, strlen(key), PL_VAULT_KEYNAME_MAX) != 0)
		return pl_err_set(e, PL_EXIT_ERROR,
				  "internal error: a vault counter name must be 1 to %d of "
				  "[a-z0-9_.-]",
				  PL_VAULT_KEYNAME_MAX);
	if (pl_vault_prep(v, &st,
			  "INSERT INTO counters(k, v) VALUES(?1, ?2)"
			  " ON CONFLICT(k) DO UPDATE SET v = excluded.v",
			  e) != 0)
		return -1;
	sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)val);
	int r = pl_vault_exec(v, st, "save a counter", e);
	sqlite3_finalize(st);
	return r;
}

/* Runs one statement with the contact's name as ?1 and key as ?2, where the
 * statement has them (binding an index it lacks is a no-op). */
static int contact_sql(pl_vault *v, const char *sql, const pl_contact *c, pl_err *e)
{
	sqlite3_stmt *st;
	if (pl_vault_prep(v, &st, sql, e) != 0)
		return -1;
	sqlite3_bind_text(st, 1, c->name, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, c->ik, PL_IK_LEN, SQLITE_STATIC);
	int r = pl_vault_exec(v, st, "remove a contact", e);
	sqlite3_finalize(st);
	return r;
}

int pl_vault_contact_remove(pl_vault *v, const char *name, pl_err *e)
{
	static const char *const sql[] = {
	    "DELETE FROM outbox WHERE contact = ?1", "DELETE FROM items WHERE contact = ?1",
	    "DELETE FROM links WHERE contact = ?1",  "DELETE FROM sessions WHERE ik = ?2",
	    "DELETE FROM contacts WHERE name = ?1",  "UPDATE contacts SET grant_published = 0",
	};
	pl_contact c;
	uint8_t token[PL_TOKEN_LEN];
	int own, ok = 0;
	if (pl_vault_contact_get(v, name, &c, e) != 0)
		return -1;
	if (pl_vault_tx_start(v, &own, e) != 0) {
		sodium_memzero(&c, sizeof c);
		return -1;
	}
	randombytes_buf(token, sizeof token);
	for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++)
		if (contact_sql(v, sql[i], &c, e) != 0)
			goto out;
	/* An introduction of its key (vault_intros.c) goes with it. */
	if (contact_sql(v, "DELETE FROM meta WHERE k = 'intro:' || lower(hex(?2))", &c, e) != 0)
		goto out;
	/* The removed contact holds our token: a new one, registered and
	 * granted to everyone else at the next publish, shuts it out. */
	if (meta_put_sealed(v, "own_token", "own token", token, sizeof token, e) != 0 ||
	    pl_vault_set_u64(v, "token_registered", 0, e) != 0)
		goto out;
	ok = 1;
out:
	sodium_memzero(token, sizeof token);
	sodium_memzero(&c, sizeof c);
	return pl_vault_tx_end(v, own, ok, e);
}

int pl_vault_own_token(pl_vault *v, uint8_t token[static PL_TOKEN_LEN], pl_err *e)
{
	return meta_get_sealed(v, "own_token", "own token", token, PL_TOKEN_LEN, e);
}

/* Runs one statement of a relay move with the old relay's URL as ?1, its
 * key as ?2 (NULL if never pinned), its CA as ?3, the new key as ?4. */
static int move_sql(pl_vault *v, const char *sql, const uint8_t newkey[static 32], pl_err *e)
{
	sqlite3_stmt *st;
	if (pl_vault_prep(v, &st, sql, e) != 0)
		return -1;
	sqlite3_bind_text(st, 1, v->relay_url, -1, SQLITE_STATIC);
	if (v->has_relay_key)
		sqlite3_bind_blob(st, 2, v->relay_key, 32, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 2);
	if (v->ca && v->calen)
		sqlite3_bind_blob(st, 3, v->ca, (int)v->calen, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 3);
	sqlite3_bind_blob(st, 4, newkey, 32, SQLITE_STATIC);
	int rc = pl_vault_exec(v, st, "move to another relay", e);
	sqlite3_finalize(st);
	return rc;
}

int pl_vault_relay_move(pl_vault *v, const char *url, const uint8_t key[static 32],
			const uint8_t *ca, size_t calen, int plain_http, pl_err *e)
{
	static const char *const sql[] = {
	    /* Contacts that shared our relay keep their mailboxes there (a
	     * vault that never pinned its relay has nothing to record). */
	    "UPDATE contacts SET relay_url = ?1, relay_key = ?2, relay_ca = ?3"
	    " WHERE relay_url IS NULL AND ?2 IS NOT NULL",
	    "UPDATE contacts SET relay_url = NULL, relay_key = NULL, relay_ca = NULL"
	    " WHERE relay_key = ?4",
	    "INSERT INTO relay_history(relay_key, url, size, note, at)"
	    " SELECT ?2, ?1, size, note, at FROM checkpoints WHERE ?2 IS NOT NULL",
	    "DELETE FROM checkpoints",
	    "DELETE FROM receipt_checks",
	    "DELETE FROM counters WHERE k IN ('last_seq', 'log_scanned', 'bundle_published',"
	    " 'token_registered', 'ack_scanned')",
	    "UPDATE contacts SET grant_published = 0",
	    "UPDATE opk SET published = 0",
	    "DELETE FROM meta WHERE k IN ('relay_ca', 'relay_plain_http')",
	};
	static const uint8_t on = 1;
	size_t n = url ? strlen(url) : 0;
	int own, ok = 0;
	if (url == NULL || pl_vault_url_ok((const uint8_t *)url, n, PL_URL_MAX) != 0)
		return pl_err_set(e, PL_EXIT_USAGE,
				  "the relay URL must be 1 to %d printable characters without "
				  "spaces; check the relay's address",
				  PL_URL_MAX);
	if (pl_ik_validate(key) != 0)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "the new relay's key is not a valid Ed25519 public key; check "
				  "the relay URL");
	if ((ca == NULL && calen != 0) || calen > PL_VAULT_CA_MAX)
		return pl_err_set(e, PL_EXIT_USAGE, "the relay's CA certificate is too large");
	if (v->has_relay_key && sodium_memcmp(v->relay_key, key, 32) == 0)
		return pl_err_set(e, PL_EXIT_USAGE,
				  "the relay at %s has the key this vault already uses: it is the "
				  "same relay; use parley relay set-url for a new address",
				  url);
	uint8_t *newca = NULL;
	if (calen > 0 && (newca = malloc(calen)) == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	if (newca)
		memcpy(newca, ca, calen);
	if (pl_vault_tx_start(v, &own, e) != 0) {
		free(newca);
		return -1;
	}
	for (size_t i = 0; i < sizeof sql / sizeof sql[0]; i++)
		if (move_sql(v, sql[i], key, e) != 0)
			goto out;
	if (pl_vault_meta_put(v, "relay_url", (const uint8_t *)url, n, e) != 0 ||
	    pl_vault_meta_put(v, "relay_key", key, 32, e) != 0 ||
	    (calen > 0 && pl_vault_meta_put(v, "relay_ca", ca, calen, e) != 0) ||
	    (plain_http && pl_vault_meta_put(v, "relay_plain_http", &on, 1, e) != 0))
		goto out;
	ok = 1;
out:
	if (pl_vault_tx_end(v, own, ok, e) != 0) {
		free(newca);
		return -1;
	}
	/* Only once it is committed does the open vault follow. */
	memcpy(v->relay_url, url, n + 1);
	memcpy(v->relay_key, key, 32);
	v->has_relay_key = 1;
	free(v->ca);
	v->ca = newca;
	v->calen = calen;
	v->relay_plain_http = plain_http != 0;
	return 0;
}

/* --- identity rotation -------------------------------------------------------
 * The next identity is stored (sealed seed "ik_next", public "ik_next_pk",
 * the statement "ik_next_stmt") before anything is sent, so a crash at any
 * point leaves a vault with a usable key: the old one until
 * pl_vault_identity_switch commits, the new one after. */

int pl_vault_identity_next_put(pl_vault *v, const pl_identity *next, const uint8_t *stmt, size_t n,
			       pl_err *e)
{
	int own;
	if (pl_vault_tx_start(v, &own, e) != 0)
		return -1;
	int ok = pl_vault_meta_put(v, "ik_next_pk", next->pk, PL_IK_LEN, e) == 0 &&
		 meta_put_sealed(v, "ik_next", "next identity", next->sk, 32, e) == 0 &&
		 pl_vault_meta_put(v, "ik_next_stmt", stmt, n, e) == 0;
	return pl_vault_tx_end(v, own, ok, e);
}

int pl_vault_identity_next(pl_vault *v, pl_identity *next, pl_wr *stmt, size_t max, int *found,
			   pl_err *e)
{
	uint8_t seed[32], pk[PL_IK_LEN];
	pl_wr w;
	int f;
	*found = 0;
	pl_wr_init(stmt);
	if (pl_vault_meta_get(v, "ik_next_pk", &w, PL_IK_LEN, &f, e) != 0)
		return -1;
	if (!f) {
		pl_wr_free(&w);
		return 0;
	}
	int ok = w.n == PL_IK_LEN;
	if (ok)
		memcpy(pk, w.p, PL_IK_LEN);
	pl_wr_free(&w);
	if (!ok)
		return pl_vault_damaged(v, "its next identity record has the wrong size", e);
	if (meta_get_sealed(v, "ik_next", "next identity", seed, sizeof seed, e) != 0)
		return -1;
	int r = crypto_sign_seed_keypair(next->pk, next->sk, seed);
	sodium_memzero(seed, sizeof seed);
	if (r != 0 || sodium_memcmp(next->pk, pk, PL_IK_LEN) != 0) {
		sodium_memzero(next, sizeof *next);
		return pl_vault_damaged(v, "its next identity does not match its public key", e);
	}
	if (pl_vault_meta_get(v, "ik_next_stmt", stmt, max, &f, e) != 0) {
		sodium_memzero(next, sizeof *next);
		return -1;
	}
	if (!f) {
		sodium_memzero(next, sizeof *next);
		return pl_vault_damaged(v, "its next identity has no statement", e);
	}
	*found = 1;
	return 0;
}

int pl_vault_identity_switch(pl_vault *v, uint64_t time, pl_err *e)
{
	/* The per-relay state belongs to the old key's mailbox: the new one
	 * starts empty (as after a relay move), its bundle, token and grants
	 * are published again, and its prekeys are new. */
	static const char *const sql[] = {
	    ("DELETE FROM counters WHERE k IN ('last_seq', 'log_scanned', 'bundle_published',"
	     " 'token_registered')"),
	    "UPDATE contacts SET grant_published = 0",
	    "DELETE FROM opk",
	    "DELETE FROM sessions",
	    "DELETE FROM meta WHERE k IN ('ik_next', 'ik_next_pk', 'ik_next_stmt')",
	};
	pl_identity *next = sodium_malloc(sizeof *next);
	pl_wr stmt;
	int found = 0;
	char hist[8 + 2 * PL_IK_LEN + 1];
	uint8_t when[8];
	if (next == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory for the new identity");
	if (pl_vault_begin(v, e) != 0) {
		sodium_free(next);
		return -1;
	}
	int ok = pl_vault_identity_next(v, next, &stmt, 4096, &found, e) == 0;
	pl_wr_free(&stmt);
	if (ok && !found)
		ok = pl_err_set(e, PL_EXIT_ERROR, "no new identity is waiting in the vault") == 0;
	memcpy(hist, "ik_old:", 7);
	sodium_bin2hex(hist + 7, sizeof hist - 7, v->id->pk, PL_IK_LEN);
	pl_be64_put(when, time);
	/* The first key stays what the sealed records are bound to; the old
	 * seed is overwritten by the new one (secure_delete wipes the page). */
	ok = ok && pl_vault_meta_put(v, "seal_ik", v->seal_ik, PL_IK_LEN, e) == 0 &&
	     pl_vault_meta_put(v, hist, when, sizeof when, e) == 0 &&
	     pl_vault_meta_put(v, "ik", next->pk, PL_IK_LEN, e) == 0 &&
	     meta_put_sealed(v, "ik_seed", "identity", next->sk, 32, e) == 0;
	for (size_t i = 0; ok && i < sizeof sql / sizeof sql[0]; i++)
		ok = run_sql(v, sql[i], "switch to the new identity", e) == 0;
	ok = ok && pl_vault_spk_rotate(v, NULL, e) == 0 && pl_vault_opk_generate(v, 20, e) == 0;
	if (!ok || pl_vault_commit(v, e) != 0) {
		pl_vault_rollback(v);
		sodium_free(next);
		return -1;
	}
	sodium_mprotect_readwrite(v->id);
	memcpy(v->id, next, sizeof *next);
	sodium_mprotect_readonly(v->id);
	sodium_free(next);
	return 0;
}

int pl_vault_identity_history(pl_vault *v, const uint8_t ik[static PL_IK_LEN], pl_err *e)
{
	char k[8 + 2 * PL_IK_LEN + 1];
	pl_wr w;
	int found;
	memcpy(k, "ik_old:", 7);
	sodium_bin2hex(k + 7, sizeof k - 7, ik, PL_IK_LEN);
	if (pl_vault_meta_get(v, k, &w, 8, &found, e) != 0)
		return -1;
	uint64_t t = found && w.n == 8 ? pl_be64_get(w.p) : 0;
	pl_wr_free(&w);
	return t > 0;
}
