/*
 * test_vault.c — the vault (src/vault): creation and unlocking, file modes,
 * that no secret reaches the disk in clear, every record type's round trip
 * and limits, transactions, and that a damaged vault gives an error rather
 * than a crash or wrong data.
 *
 * Each test works in its own mkdtemp folder and removes it. The tests reach
 * into the vault's private header (vault_int.h) only to recompute the
 * key-encryption key and to check it against the one in memory.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <dirent.h>
#include <sodium.h>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "support.h"
#include "util/codec.h"
#include "vault/vault.h"
#include "vault/vault_int.h"

#define PASS "correct horse battery staple"
#define RELAY "https://relay.example:8443"
#define CA_PEM "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

typedef struct {
	char base[64];
	char dir[128];
	char db[160];
} tdir;

static void tdir_make(tdir *t)
{
	pl_test_tmpdir(t->base, sizeof t->base, "vault");
	snprintf(t->dir, sizeof t->dir, "%s/v", t->base);
	snprintf(t->db, sizeof t->db, "%s/vault.pv", t->dir);
}

static void tdir_clean(tdir *t)
{
	pl_test_rm_rf(t->base);
}

/* What the vault folder holds besides vault.pv: leftovers and intruders. */
static void tdir_file(const tdir *t, const char *name, char *out, size_t cap)
{
	snprintf(out, cap, "%s/%s", t->dir, name);
}

static void make_vault(tdir *t, const char *name)
{
	pl_err e;
	pl_err_clear(&e);
	int r = pl_vault_create_cost(t->dir, name, RELAY, (const uint8_t *)CA_PEM, strlen(CA_PEM),
				     PASS, strlen(PASS), PL_VAULT_KDF_TEST_ONLY, &e);
	if (r != 0)
		fail_msg("create: %s", e.msg);
}

static pl_vault *open_vault(tdir *t)
{
	pl_err e;
	pl_vault *v = NULL;
	if (pl_vault_open(&v, t->dir, PASS, strlen(PASS), &e) != 0)
		fail_msg("open: %s", e.msg);
	return v;
}

/* A contact with a fresh valid identity key. */
static void new_contact(pl_contact *c, const char *name)
{
	pl_identity id;
	memset(c, 0, sizeof *c);
	snprintf(c->name, sizeof c->name, "%s", name);
	assert_int_equal(pl_identity_generate(&id), 0);
	memcpy(c->ik, id.pk, PL_IK_LEN);
	pl_identity_wipe(&id);
}

static void put_contact(pl_vault *v, pl_contact *c, const char *name)
{
	pl_err e;
	new_contact(c, name);
	if (pl_vault_contact_put(v, c, &e) != 0)
		fail_msg("contact_put: %s", e.msg);
}

static int64_t add_item(pl_vault *v, const char *contact, uint8_t idbyte, int dir, const char *body)
{
	pl_item it;
	pl_err e;
	memset(&it, 0, sizeof it);
	snprintf(it.contact, sizeof it.contact, "%s", contact);
	memset(it.id, idbyte, sizeof it.id);
	it.dir = dir;
	it.kind = 1;
	it.time = 1700000000;
	strcpy(it.state, dir == PL_DIR_OUT ? "queued" : "received");
	pl_wr_init(&it.body);
	pl_wr_bytes(&it.body, (const uint8_t *)body, strlen(body));
	int r = pl_vault_item_add(v, &it, &e);
	pl_wr_free(&it.body);
	if (r != 0)
		fail_msg("item_add: %d %s", r, e.msg);
	return it.seq;
}

/* Runs constant SQL on the vault's database behind the vault's back, as
 * someone holding the passphrase (or a bug) could: the seal is made again
 * over the edit, so what is tested is the vault's check of each record. */
static void raw_sql(tdir *t, const char *sql)
{
	pl_test_vault_sql(t->dir, PASS, sql);
}

typedef struct {
	const char *table, *col, *where;
	int at;
} flip_arg;

static void flip_fn(sqlite3 *db, void *arg)
{
	const flip_arg *a = arg;
	sqlite3_stmt *st;
	char sql[256];
	snprintf(sql, sizeof sql, "SELECT %s FROM %s WHERE %s", a->col, a->table, a->where);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	int n = sqlite3_column_bytes(st, 0);
	assert_true(a->at < n);
	uint8_t *b = malloc((size_t)n);
	assert_non_null(b);
	memcpy(b, sqlite3_column_blob(st, 0), (size_t)n);
	sqlite3_finalize(st);
	b[a->at] ^= 0x01;
	snprintf(sql, sizeof sql, "UPDATE %s SET %s = ?1 WHERE %s", a->table, a->col, a->where);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
	sqlite3_bind_blob(st, 1, b, n, SQLITE_TRANSIENT);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	assert_int_equal(sqlite3_changes(db), 1);
	sqlite3_finalize(st);
	free(b);
}

/* Flips one bit of byte `at` of a blob column in the row selected by
 * `where` (constant SQL written by the test), through a bound parameter. */
static void flip_byte(tdir *t, const char *table, const char *col, const char *where, int at)
{
	flip_arg a = {table, col, where, at};
	pl_test_vault_edit(t->dir, PASS, flip_fn, &a);
}

/* Number of files in dir whose raw bytes contain needle. */
static int scan_dir(const char *dir, const void *needle, size_t n)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char p[512];
	int hits = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
		size_t got;
		uint8_t *buf = pl_test_read_file(p, &got);
		if (buf == NULL)
			continue;
		if (memmem(buf, got, needle, n) != NULL)
			hits++;
		free(buf);
	}
	closedir(d);
	return hits;
}

/* --- creation and opening ------------------------------------------------------ */

static void test_create_open_close(void **state)
{
	(void)state;
	tdir t;
	tdir_make(&t);
	mode_t old = umask(0); /* the modes must not depend on the umask */
	make_vault(&t, "Oman");
	umask(old);

	struct stat sb;
	assert_int_equal(stat(t.dir, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	assert_int_equal(stat(t.db, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	char tmp[200];
	snprintf(tmp, sizeof tmp, "%s.tmp", t.db);
	assert_int_not_equal(access(tmp, F_OK), 0);

	pl_vault *v = open_vault(&t);
	{ /* a commit puts a new file in place: 0600 again, whatever the umask */
		pl_err e0;
		old = umask(0);
		assert_int_equal(pl_vault_set_u64(v, "test_counter", 7, &e0), 0);
		umask(old);
		assert_int_equal(stat(t.db, &sb), 0);
		assert_int_equal(sb.st_mode & 0777, 0600);
	}
	assert_string_equal(pl_vault_name(v), "Oman");
	assert_string_equal(pl_vault_relay_url(v), RELAY);
	const uint8_t *pem;
	size_t pemlen;
	pl_vault_relay_ca(v, &pem, &pemlen);
	assert_int_equal(pemlen, strlen(CA_PEM));
	assert_memory_equal(pem, CA_PEM, pemlen);
	uint8_t rk[32];
	assert_int_equal(pl_vault_relay_key(v, rk), -1);

	const pl_identity *id = pl_vault_identity(v);
	uint8_t pk[32], pk0[32];
	assert_int_equal(crypto_sign_ed25519_sk_to_pk(pk, id->sk), 0);
	assert_memory_equal(pk, id->pk, 32);
	memcpy(pk0, id->pk, 32);

	uint8_t tok[PL_TOKEN_LEN], tok2[PL_TOKEN_LEN], zero[PL_TOKEN_LEN] = {0};
	pl_err e;
	assert_int_equal(pl_vault_own_token(v, tok, &e), 0);
	assert_memory_not_equal(tok, zero, sizeof tok);

	pl_prekey k;
	assert_int_equal(pl_vault_spk_current(v, &k, &e), 0);
	assert_int_equal(k.id, 1);
	assert_int_equal(crypto_scalarmult_base(pk, k.sk), 0);
	assert_memory_equal(pk, k.pk, 32);

	pl_prekey opk[30];
	assert_int_equal(pl_vault_opk_unpublished(v, opk, 30, &e), 20);
	for (int i = 0; i < 20; i++) {
		assert_int_equal(opk[i].id, (uint32_t)i + 1);
		assert_memory_equal(opk[i].sk, zero, 32); /* public part only */
	}
	pl_vault_close(v);

	/* Same identity and token after reopening; WAL mode persisted. */
	v = open_vault(&t);
	assert_memory_equal(pl_vault_identity(v)->pk, pk0, 32);
	assert_int_equal(pl_vault_own_token(v, tok2, &e), 0);
	assert_memory_equal(tok, tok2, sizeof tok);
	pl_vault_close(v);
	/* Nothing but the sealed file and the lock: no journal, no WAL. */
	char side[200];
	const char *sides[] = {"vault.pv-journal", "vault.pv-wal", "vault.pv.tmp", "vault.db"};
	for (size_t i = 0; i < sizeof sides / sizeof sides[0]; i++) {
		tdir_file(&t, sides[i], side, sizeof side);
		assert_int_not_equal(access(side, F_OK), 0);
	}
	tdir_clean(&t);

	/* The harshest umask still yields 0700 and 0600, and a usable vault. */
	tdir_make(&t);
	old = umask(0777);
	make_vault(&t, "Oman");
	umask(old);
	assert_int_equal(stat(t.dir, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0700);
	assert_int_equal(stat(t.db, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	pl_vault_close(open_vault(&t));
	tdir_clean(&t);
}

static void test_refuse_overwrite(void **state)
{
	(void)state;
	tdir t;
	pl_err e;
	tdir_make(&t);
	make_vault(&t, "Oman");
	pl_vault *v = open_vault(&t);
	uint8_t pk[32];
	memcpy(pk, pl_vault_identity(v)->pk, 32);
	pl_vault_close(v);

	assert_int_equal(pl_vault_create_cost(t.dir, "Other", RELAY, NULL, 0, PASS "!",
					      strlen(PASS) + 1, PL_VAULT_KDF_TEST_ONLY, &e),
			 -1);
	assert_int_equal(e.code, PL_EXIT_VAULT);
	char want[300];
	snprintf(want, sizeof want, "a vault already exists at %s; refusing to overwrite it",
		 t.dir);
	assert_string_equal(e.msg, want);

	v = open_vault(&t);
	assert_memory_equal(pl_vault_identity(v)->pk, pk, 32);
	assert_string_equal(pl_vault_name(v), "Oman");
	pl_vault_close(v);
	tdir_clean(&t);
}

static void test_create_refusals(void **state)
{
	(void)state;
	tdir t;
	pl_err e;
	char want[300], path[200];
	struct stat sb;

	/* The folder is a file: refused, and the file is left as it was. */
	tdir_make(&t);
	pl_test_write_file(t.dir, "keep", 4);
	assert_int_equal(pl_vault_create_cost(t.dir, "Oman", RELAY, NULL, 0, PASS, strlen(PASS),
					      PL_VAULT_KDF_TEST_ONLY, &e),
			 -1);
	assert_int_equal(e.code, PL_EXIT_VAULT);
	snprintf(want, sizeof want, "%s is not a folder; choose another folder for the vault",
		 t.dir);
	assert_string_equal(e.msg, want);
	size_t n;
	uint8_t *b = pl_test_read_file(t.dir, &n);
	assert_non_null(b);
	assert_int_equal(n, 4);
	assert_memory_equal(b, "keep", 4);
	free(b);
	tdir_clean(&t);

	/* The parent is missing: refused, and nothing is made. */
	tdir_make(&t);
	char deep[200];
	snprintf(deep, sizeof deep, "%s/missing/v", t.base);
	assert_int_equal(pl_vault_create_cost(deep, "Oman", RELAY, NULL, 0, PASS, strlen(PASS),
					      PL_VAULT_KDF_TEST_ONLY, &e),
			 -1);
	assert_int_equal(e.code, PL_EXIT_VAULT);
	snprintf(want, sizeof want, "cannot create the vault folder %s: ", deep);
	assert_memory_equal(e.msg, want, strlen(want));
	assert_non_null(strstr(e.msg, "check that its parent exists and is writable"));
	snprintf(path, sizeof path, "%s/missing", t.base);
	assert_int_not_equal(access(path, F_OK), 0);
	tdir_clean(&t);

	/* vault.db is a dangling symbolic link: that counts as a vault, and the
	 * link is not followed or replaced. */
	tdir_make(&t);
	assert_int_equal(mkdir(t.dir, 0700), 0);
	snprintf(path, sizeof path, "%s/elsewhere.db", t.base);
	assert_int_equal(symlink(path, t.db), 0);
	assert_int_equal(pl_vault_create_cost(t.dir, "Oman", RELAY, NULL, 0, PASS, strlen(PASS),
					      PL_VAULT_KDF_TEST_ONLY, &e),
			 -1);
	assert_int_equal(e.code, PL_EXIT_VAULT);
	snprintf(want, sizeof want, "a vault already exists at %s; refusing to overwrite it",
		 t.dir);
	assert_string_equal(e.msg, want);
	assert_int_equal(lstat(t.db, &sb), 0);
	assert_true(S_ISLNK(sb.st_mode));
	assert_int_not_equal(access(path, F_OK), 0);
	tdir_file(&t, "vault.pv.tmp", path, sizeof path);
	assert_int_not_equal(access(path, F_OK), 0);
	tdir_clean(&t);

	/* The temporary name is taken by something create may not remove: it
	 * fails, keeps the folder it did not make, and leaves no vault. */
	tdir_make(&t);
	assert_int_equal(mkdir(t.dir, 0700), 0);
	tdir_file(&t, "vault.pv.tmp", path, sizeof path);
	assert_int_equal(mkdir(path, 0700), 0);
	assert_int_equal(pl_vault_create_cost(t.dir, "Oman", RELAY, NULL, 0, PASS, strlen(PASS),
					      PL_VAULT_KDF_TEST_ONLY, &e),
			 -1);
	assert_int_equal(e.code, PL_EXIT_VAULT);
	snprintf(want, sizeof want, "cannot create %s: ", path);
	assert_memory_equal(e.msg, want, strlen(want));
	assert_non_null(strstr(e.msg, "check the folder's permissions"));
	assert_int_equal(stat(t.dir, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_not_equal(access(t.db, F_OK), 0);
	tdir_clean(&t);
}

/* A create that crashed left its temporary database and journal behind: the
 * next create removes them and makes a whole vault, leaving neither. */
static void test_create_after_crash(void **state)
{
	(void)state;
	tdir t;
	char tmp[200];
	struct stat sb;

	tdir_make(&t);
	assert_int_equal(mkdir(t.dir, 0700), 0);
	tdir_file(&t, "vault.pv.tmp", tmp, sizeof tmp);
	pl_test_write_file(tmp, "half a vault", 12);
	assert_int_equal(chmod(tmp, 0644), 0);
	make_vault(&t, "Oman");
	assert_int_not_equal(access(tmp, F_OK), 0);
	assert_int_equal(stat(t.db, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	pl_vault *v = open_vault(&t);
	assert_string_equal(pl_vault_name(v), "Oman");
	pl_vault_close(v);
	tdir_clean(&t);
}

static void test_wrong_passphrase_and_missing(void **state)
{
	(void)state;
	tdir t;
	pl_err e;
	pl_vault *v = (pl_vault *)&e; /* must be reset to NULL */
	char want[300];
	tdir_make(&t);

	assert_int_equal(pl_vault_open(&v, t.dir, PASS, strlen(PASS), &e), -1);
	assert_null(v);
	assert_int_equal(e.code, PL_EXIT_VAULT);
	snprintf(want, sizeof want, "no vault at %s; create one there first", t.dir);
	assert_string_equal(e.msg, want);

	make_vault(&t, "Oman");
	assert_int_equal(pl_vault_open(&v, t.dir, "wrong", 5, &e), -1);
	assert_null(v);
	assert_int_equal(e.code, PL_EXIT_VAULT);
	snprintf(want, sizeof want, "wrong passphrase for the vault at %s", t.dir);
	assert_string_equal(e.msg, want);
	/* A prefix of the right passphrase is wrong too. */
	assert_int_equal(pl_vault_open(&v, t.dir, PASS, strlen(PASS) - 1, &e), -1);
	assert_string_equal(e.msg, want);
	tdir_clean(&t);
}

static void test_create_rejects_bad_input(void **state)
{
	(void)state;
	tdir t;
	pl_err e;
	tdir_make(&t);
	const char *bad[] = {"",	  "a/b",	  "tab\there",	      "nl\n",
			     "del\x7f",	  "bad\xff utf8", "overlong\xc0\xaf", "rlo\xe2\x80\xae",
			     "c1\xc2\x85"};
	for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
		assert_int_equal(pl_vault_create_cost(t.dir, bad[i], RELAY, NULL, 0, PASS,
						      strlen(PASS), PL_VAULT_KDF_TEST_ONLY, &e),
				 -1);
		assert_int_equal(e.code, PL_EXIT_USAGE);
	}
	char longname[PL_NAME_MAX + 2];
	memset(longname, 'a', sizeof longname - 1);
	longname[PL_NAME_MAX + 1] = '\0';
	assert_int_equal(pl_vault_create_cost(t.dir, longname, RELAY, NULL, 0, PASS, strlen(PASS),
					      PL_VAULT_KDF_TEST_ONLY, &e),
			 -1);
	assert_int_equal(e.code, PL_EXIT_USAGE);
	assert_int_equal(pl_vault_create_cost(t.dir, "Oman", "has space", NULL, 0, PASS,
					      strlen(PASS), PL_VAULT_KDF_TEST_ONLY, &e),
			 -1);
	assert_int_equal(e.code, PL_EXIT_USAGE);
	assert_int_equal(
	    pl_vault_create_cost(t.dir, "Oman", RELAY, NULL, 0, "", 0, PL_VAULT_KDF_TEST_ONLY, &e),
	    -1);
	assert_int_equal(e.code, PL_EXIT_USAGE);
	/* Nothing was left behind. */
	assert_int_not_equal(access(t.dir, F_OK), 0);
	/* Valid names: UTF-8, spaces, punctuation, exactly 64 bytes. */
	longname[PL_NAME_MAX] = '\0';
	assert_int_equal(pl_vault_name_check(longname, &e), 0);
	assert_int_equal(pl_vault_name_check("Islamic Republic of Iran", &e), 0);
	assert_int_equal(pl_vault_name_check("\xc3\x96sterreich (Vienna)", &e), 0);
	assert_int_equal(pl_vault_name_check(NULL, &e), -1);
	tdir_clean(&t);
}

static void test_not_a_vault(void **state)
{
	(void)state;
	tdir t;
	pl_err e;
	pl_vault *v;
	tdir_make(&t);
	assert_int_equal(mkdir(t.dir, 0700), 0);
	FILE *f = fopen(t.db, "wb");
	assert_non_null(f);
	for (int i = 0; i < 3000; i++)
		fputc(i * 7, f);
	fclose(f);
	assert_int_equal(pl_vault_open(&v, t.dir, PASS, strlen(PASS), &e), -1);
	assert_int_equal(e.code, PL_EXIT_VAULT);
	assert_non_null(strstr(e.msg, "is not a parley vault"));
	unlink(t.db);
	/* A valid SQLite file that is not a vault, under either name. */
	char old[200];
	tdir_file(&t, "vault.db", old, sizeof old);
	const char *names[] = {t.db, old};
	for (int i = 0; i < 2; i++) {
		sqlite3 *db;
		assert_int_equal(sqlite3_open(names[i], &db), SQLITE_OK);
		assert_int_equal(sqlite3_exec(db, "CREATE TABLE x(a)", NULL, NULL, NULL),
				 SQLITE_OK);
		sqlite3_close(db);
		assert_int_equal(pl_vault_open(&v, t.dir, PASS, strlen(PASS), &e), -1);
		assert_int_equal(e.code, PL_EXIT_VAULT);
		assert_non_null(strstr(e.msg, "is not a parley vault"));
		unlink(names[i]);
	}
	tdir_clean(&t);
}

/* --- nothing secret in clear ----------------------------------------------------- */

/* The key the passphrase derives (from the sealed file's header) and the
 * data key it unwraps. */
static void keys_of(tdir *t, uint8_t kek[32], uint8_t dek[32])
{
	size_t n;
	pl_vfile_hdr h;
	uint8_t *f = pl_test_read_file(t->db, &n);
	assert_non_null(f);
	assert_int_equal(pl_vfile_hdr_parse(&h, f, n), 0);
	free(f);
	assert_int_equal(h.kdf.ops, crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE);
	assert_int_equal(h.kdf.mem, crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE);
	assert_int_equal(pl_vault_kdf_derive(kek, &h.kdf, PASS, strlen(PASS)), 0);
	assert_int_equal(pl_vfile_hdr_unwrap(&h, kek, dek), 0);
}

#define MARK_STATE "MARKER-ratchet-state-7f3a9c"
#define MARK_BODY "MARKER-item-body-b81d22"
#define MARK_TOKEN "MARKER-contact-token-0123456789a"

typedef struct {
	uint8_t secrets[64][64];
	size_t lens[64];
	int n;
} secret_set;

static void add_secret(secret_set *s, const void *p, size_t n)
{
	assert_true(s->n < 64 && n <= 64);
	memcpy(s->secrets[s->n], p, n);
	s->lens[s->n++] = n;
}

static void assert_nothing_in_clear(const char *dir, const secret_set *s)
{
	for (int i = 0; i < s->n; i++)
		if (scan_dir(dir, s->secrets[i], s->lens[i]) != 0)
			fail_msg("secret %d (%zu bytes) found in clear in %s", i, s->lens[i], dir);
}

static void test_no_secret_in_clear(void **state)
{
	(void)state;
	tdir t;
	pl_err e;
	secret_set s;
	memset(&s, 0, sizeof s);
	tdir_make(&t);
	make_vault(&t, "Oman");
	pl_vault *v = open_vault(&t);

	/* We scan for the real keys: the derived one opens the data key. */
	uint8_t kek[32], data_key[32];
	keys_of(&t, kek, data_key);
	assert_memory_equal(data_key, v->kek, 32);
	const pl_identity *id = pl_vault_identity(v);
	add_secret(&s, kek, 32);
	add_secret(&s, data_key, 32);
	add_secret(&s, id->sk, 64);
	add_secret(&s, id->sk, 32); /* the seed */
	add_secret(&s, PASS, strlen(PASS));
	uint8_t tok[PL_TOKEN_LEN];
	assert_int_equal(pl_vault_own_token(v, tok, &e), 0);
	add_secret(&s, tok, sizeof tok);
	pl_prekey k;
	assert_int_equal(pl_vault_spk_current(v, &k, &e), 0);
	add_secret(&s, k.sk, 32);
	for (uint32_t i = 1; i <= 20; i++) {
		assert_int_equal(pl_vault_opk_get(v, i, &k, &e), 0);
		add_secret(&s, k.sk, 32);
	}
	sodium_memzero(&k, sizeof k);

	/* Positive control: the file's magic is found; and even the public
	 * identity key is not in clear any more (the whole file is sealed). */
	assert_int_equal(scan_dir(t.dir, "PLVAULT", 8), 1);
	add_secret(&s, id->pk, 32);
	add_secret(&s, "Oman", 4);

	pl_contact c;
	new_contact(&c, "Iran");
	c.has_token = 1;
	memcpy(c.token, MARK_TOKEN, PL_TOKEN_LEN);
	assert_int_equal(pl_vault_contact_put(v, &c, &e), 0);
	add_secret(&s, MARK_TOKEN, PL_TOKEN_LEN);
	pl_session_rec sr;
	memset(&sr, 0, sizeof sr);
	memcpy(sr.ik, c.ik, 32);
	sr.used = 5;
	pl_wr_init(&sr.state);
	for (int i = 0; i < 50; i++)
		pl_wr_bytes(&sr.state, (const uint8_t *)MARK_STATE, strlen(MARK_STATE));
	assert_int_equal(pl_vault_session_save(v, &sr, &e), 0);
	pl_wr_free(&sr.state);
	add_secret(&s, MARK_STATE, strlen(MARK_STATE));
	add_item(v, "Iran", 1, PL_DIR_OUT, MARK_BODY " one");
	add_item(v, "Iran", 2, PL_DIR_IN, MARK_BODY " two");
	add_secret(&s, MARK_BODY, strlen(MARK_BODY));

	/* While open, and after. */
	assert_nothing_in_clear(t.dir, &s);
	pl_vault_close(v);
	assert_nothing_in_clear(t.dir, &s);

	/* Updated and pruned sessions do not leave old state behind either. */
	v = open_vault(&t);
	for (int i = 0; i < 5; i++) {
		memset(&sr, 0, sizeof sr);
		memcpy(sr.ik, c.ik, 32);
		sr.ek[0] = (uint8_t)i;
		sr.used = 10 + (uint64_t)i;
		pl_wr_init(&sr.state);
		pl_wr_bytes(&sr.state, (const uint8_t *)MARK_STATE, strlen(MARK_STATE));
		assert_int_equal(pl_vault_session_save(v, &sr, &e), 0);
		pl_wr_free(&sr.state);
	}
	assert_nothing_in_clear(t.dir, &s);
	pl_vault_close(v);
	assert_nothing_in_clear(t.dir, &s);
	sodium_memzero(&s, sizeof s);
	sodium_memzero(kek, sizeof kek);
	sodium_memzero(data_key, sizeof data_key);
	tdir_clean(&t);
}

/* --- records ----------------------------------------------------------------------- */

static void test_contacts(void **state)
{
	(void)state;
	tdir t;
	pl_err e;
	tdir_make(&t);
	make_vault(&t, "Oman");
	pl_vault *v = open_vault(&t);

	pl_contact a, b, got;
	put_contact(v, &b, "United States");
	new_contact(&a, "Iran");
	a.verified = 1;
	a.has_token = 1;
	memset(a.token, 0x5a, sizeof a.token);
	a.added = 1234;
	assert_int_equal(pl_vault_contact_put(v, &a, &e), 0);

	assert_int_equal(pl_vault_contact_get(v, "Iran", &got, &e), 0);
	assert_string_equal(got.name, "Iran");
	assert_memory_equal(got.ik, a.ik, 32);
	assert_int_equal(got.verified, 1);
	assert_int_equal(got.key_changed, 0);
	assert_int_equal(got.has_token, 1);
	assert_memory_equal(got.token, a.token, 32);
	assert_int_equal(got.added, 1234);

	assert_int_equal(pl_vault_contact_by_ik(v, b.ik, &got, &e), 0);
	assert_string_equal(got.name, "United States");
	assert_int_equal(got.has_token, 0);
	assert_int_not_equal(got.added, 0);

	/* Update in place: new key, token dropped, flags changed. */
	pl_contact a2;
	new_contact(&a2, "Iran");
	a2.key_changed = 1;
	a2.grant_published = 1;
	assert_int_equal(pl_vault_contact_put(v, &a2, &e), 0);
	assert_int_equal(pl_vault_contact_get(v, "Iran", &got, &e), 0);
	assert_memory_equal(got.ik, a2.ik, 32);
	assert_int_equal(got.key_changed, 1);
	assert_int_equal(got.grant_published, 1);
	assert_int_equal(got.verified, 0);
	assert_int_equal(got.has_token, 0);
	assert_int_equal(pl_vault_contact_by_ik(v, a.ik, &got, &e), -1);
	assert_int_equal(e.code, PL_EXIT_NOTFOUND);

	pl_contact *list;
	size_t n;
	assert_int_equal(pl_vault_contact_list(v, &list, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_string_equal(list[0].name, "Iran");
	assert_string_equal(list[1].name, "United States");
	sodium_memzero(list, n * sizeof *list);
	free(list);

	/* Refusals. */
	assert_int_equal(pl_vault_contact_get(v, "Nobody", &got, &e), -1);
	assert_int_equal(e.code, PL_EXIT_NOTFOUND);
	assert_non_null(strstr(e.msg, "Nobody"));
	assert_int_equal(pl_vault_contact_get(v, "a/b", &got, &e), -1);
	assert_int_equal(e.code, PL_EXIT_USAGE);
	pl_contact bad;
	new_contact(&bad, "x\ty");
	assert_int_equal(pl_vault_contact_put(v, &bad, &e), -1);
	assert_int_equal(e.code, PL_EXIT_USAGE);
	new_contact(&bad, "Switzerland");
	memcpy(bad.ik, b.ik, 32); /* someone else's key */
	assert_int_equal(pl_vault_contact_put(v, &bad, &e), -1);
	assert_int_equal(e.code, PL_EXIT_USAGE);
	assert_non_null(strstr(e.msg, "United States"));
	memcpy(bad.ik, pl_vault_identity(v)->pk, 32); /* our own key */
	assert_int_equal(pl_vault_contact_put(v, &bad, &e), -1);
	assert_int_equal(e.code, PL_EXIT_USAGE);
	memset(bad.ik, 0, 32); /* not a valid key */
	assert_int_equal(pl_vault_contact_put(v, &bad, &e), -1);
	assert_int_equal(e.code, PL_EXIT_INPUT);
	memset(bad.name, 'a', sizeof bad.name); /* not terminated */
	assert_int_equal(pl_vault_contact_put(v, &bad, &e), -1);
	assert_int_equal(e.code, PL_EXIT_USAGE);
	assert_int_equal(pl_vault_contact_list(v, &list, &n, &e), 0);
	assert_int_equal(n, 2);
	free(list);
	pl_vault_close(v);
	tdir_clean(&t);
}

static void save_session(pl_vault *v, pl_session_rec *s, const uint8_t ik[32], uint8_t tag,
			 uint64_t used)
{
	pl_err e;
	memset(s, 0, sizeof *s);
	memcpy(s->ik, ik, 32);
	memset(s->ad, tag, sizeof s->ad);
	memset(s->ek, tag, sizeof s->ek);
	s->initiator = tag & 1;
	s->spk_id = tag;
	s->opk_id = 100u + tag;
	s->used = used;
	pl_wr_init(&s->state);
	for (int i = 0; i < 100 * tag; i++)
		pl_wr_u8(&s->state, tag);
	if (pl_vault_session_save(v, s, &e) != 0)
		fail_msg("session_save: %s", e.msg);
	pl_wr_free(&s->state);
}

static void test_sessions(void **state)
{
	(void)state;
	tdir t;
	pl_err e;
	tdir_make(&t);
	make_vault(&t, "Oman");
	pl_vault *v = open_vault(&t);
	pl_contact a, b;
	put_contact(v, &a, "Iran");
	put_contact(v, &b, "Qatar");

	pl_session_rec s[5], *list;
	size_t n;
	assert_int_equal(pl_vault_sessions_load(v, a.ik, &list, &n, &e), 0);
	assert_int_equal(n, 0);
	pl_vault_sessions_free(list, n);

	save_session(v, &s[0], a.ik, 1, 100);
	assert_true(s[0].rowid > 0);
	save_session(v, &s[1], a.ik, 2, 300);
	save_session(v, &s[2], a.ik, 3, 200);
	save_session(v, &s[4], b.ik, 9, 50); /* another contact: untouched by pruning */
	assert_int_equal(pl_vault_sessions_load(v, a.ik, &list, &n, &e), 0);
	assert_int_equal(n, 3);
	assert_int_equal(list[0].rowid, s[1].rowid); /* newest used first */
	assert_int_equal(list[1].rowid, s[2].rowid);
	assert_int_equal(list[2].rowid, s[0].rowid);
	assert_int_equal(list[0].state.n, 200);
	assert_int_equal(list[0].state.p[0], 2);
	assert_int_equal(list[0].spk_id, 2);
	assert_int_equal(list[0].opk_id, 102);
	assert_int_equal(list[0].initiator, 0);
	assert_int_equal(list[1].initiator, 1);
	assert_memory_equal(list[0].ik, a.ik, 32);
	assert_int_equal(list[0].ek[0], 2);
	assert_int_equal(list[0].ad[63], 2);
	pl_vault_sessions_free(list, n);

	/* A fourth drops the least recently used (s[0], used 100). */
	save_session(v, &s[3], a.ik, 4, 400);
	assert_int_equal(pl_vault_sessions_load(v, a.ik, &list, &n, &e), 0);
	assert_int_equal(n, 3);
	for (size_t i = 0; i < n; i++)
		assert_int_not_equal(list[i].rowid, s[0].rowid);
	pl_vault_sessions_free(list, n);

	/* Updating keeps the row, and the one just saved is never pruned even
	 * if its clock is older. */
	pl_session_rec u;
	memset(&u, 0, sizeof u);
	u.rowid = s[2].rowid;
	memcpy(u.ik, a.ik, 32);
	memset(u.ek, 3, 32);
	u.replied = 1;
	u.used = 1;
	pl_wr_init(&u.state);
	pl_wr_bytes(&u.state, (const uint8_t *)"new", 3);
	assert_int_equal(pl_vault_session_save(v, &u, &e), 0);
	assert_int_equal(u.rowid, s[2].rowid);
	pl_wr_free(&u.state);
	assert_int_equal(pl_vault_sessions_load(v, a.ik, &list, &n, &e), 0);
	assert_int_equal(n, 3);
	assert_int_equal(list[2].rowid, s[2].rowid);
	assert_int_equal(list[2].replied, 1);
	assert_int_equal(list[2].state.n, 3);
	assert_memory_equal(list[2].state.p, "new", 3);
	pl_vault_sessions_free(list, n);

	/* An update of a row that is gone, or of another contact's row. */
	u.rowid = s[0].rowid;
	pl_wr_init(&u.state);
	assert_int_equal(pl_vault_session_save(v, &u, &e), -1);
	assert_int_equal(e.code, PL_EXIT_NOTFOUND);
	u.rowid = s[4].rowid;
	assert_int_equal(pl_vault_session_save(v, &u, &e), -1);
	assert_int_equal(pl_vault_sessions_load(v, b.ik, &list, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(list[0].state.n, 900);
	pl_vault_sessions_free(list, n);
	pl_vault_close(v);
	tdir_clean(&t);
}

static void test_items(void **state)
{
	(void)state;
	tdir t;
	pl_err e;
	tdir_make(&t);
	make_vault(&t, "Oman");
	pl_vault *v = open_vault(&t);
	pl_contact a, b;
	put_contact(v, &a, "Iran");
	put_contact(v, &b, "Qatar");

	int64_t s1 = add_item(v, "Iran", 1, PL_DIR_OUT, "first offer");
	int64_t s2 = add_item(v, "Qatar", 1, PL_DIR_OUT, "to the mediator");
	int64_t s3 = add_item(v, "Iran", 1, PL_DIR_IN, "same id, other direction");
	int64_t s4 = add_item(v, "Iran", 2, PL_DIR_IN, "");
	assert_true(s1 > 0 && s2 > s1 && s3 > s2 && s4 > s3);

	/* Duplicate delivery: 1, nothing written, seq untouched. */
	pl_item it;
	memset(&it, 0, sizeof it);
	strcpy(it.contact, "Iran");
	memset(it.id, 1, 8);
	it.dir = PL_DIR_IN;
	strcpy(it.state, "received");
	it.seq = -5;
	pl_wr_init(&it.body);
	pl_wr_bytes(&it.body, (const uint8_t *)"replayed", 8);
	assert_int_equal(pl_vault_item_add(v, &it, &e), 1);
	assert_int_equal(it.seq, -5);
	/* Unknown contact, bad state. */
	strcpy(it.contact, "Nobody");
	assert_int_equal(pl_vault_item_add(v, &it, &e), -1);
	assert_int_equal(e.code, PL_EXIT_NOTFOUND);
	strcpy(it.contact, "Iran");
	memset(it.id, 7, 8);
	strcpy(it.state, "Sent!");
	assert_int_equal(pl_vault_item_add(v, &it, &e), -1);
	pl_wr_free(&it.body);

	pl_item *list;
	size_t n;
	assert_int_equal(pl_vault_item_list(v, "Iran", &list, &n, &e), 0);
	assert_int_equal(n, 3);
	assert_int_equal(list[0].seq, s1);
	assert_int_equal(list[1].seq, s3);
	assert_int_equal(list[2].seq, s4);
	assert_int_equal(list[1].body.n, strlen("same id, other direction"));
	assert_memory_equal(list[1].body.p, "same id, other direction", list[1].body.n);
	assert_int_equal(list[1].dir, PL_DIR_IN);
	assert_int_equal(list[1].kind, 1);
	assert_int_equal(list[1].time, 1700000000);
	assert_string_equal(list[1].state, "received");
	assert_int_equal(list[2].body.n, 0);
	assert_int_equal(list[0].has_receipt, 0);
	pl_vault_items_free(list, n);
	assert_int_equal(pl_vault_item_list(v, NULL, &list, &n, &e), 0);
	assert_int_equal(n, 4);
	pl_vault_items_free(list, n);
	assert_int_equal(pl_vault_item_list(v, "Nobody", &list, &n, &e), 0);
	assert_int_equal(n, 0);
	pl_vault_items_free(list, n);

	/* State and receipt. */
	uint8_t receipt[145];
	memset(receipt, 0xab, sizeof receipt);
	assert_int_equal(pl_vault_item_set_state(v, s1, "sent", receipt, sizeof receipt, &e), 0);
	assert_int_equal(pl_vault_item_set_state(v, s1, "delivered", NULL, 0, &e), 0);
	assert_int_equal(pl_vault_item_get(v, s1, &it, &e), 0);
	assert_string_equal(it.state, "delivered");
	assert_int_equal(it.has_receipt, 1);
	assert_int_equal(it.receipt.n, sizeof receipt);
	assert_memory_equal(it.receipt.p, receipt, sizeof receipt);
	assert_memory_equal(it.body.p, "first offer", 11);
	assert_string_equal(it.contact, "Iran");
	pl_vault_item_free(&it);
	assert_int_equal(pl_vault_item_set_state(v, 999, "sent", NULL, 0, &e), -1);
	assert_int_equal(e.code, PL_EXIT_NOTFOUND);
	assert_int_equal(pl_vault_item_set_state(v, s1, "this-state-is-too-long", NULL, 0, &e), -1);
	assert_int_equal(pl_vault_item_get(v, 999, &it, &e), -1);
	assert_int_equal(e.code, PL_EXIT_NOTFOUND);
	pl_vault_close(v);
	tdir_clean(&t);
}

static void test_outbox(void **state)
{
	(void)state;
	tdir t;
	pl_err e;
	tdir_make(&t);
	make_vault(&t, "Oman");
	pl_vault *v = open_vault(&t);
	pl_contact a;
	put_contact(v, &a, "Iran");
	int64_t s1 = add_item(v, "Iran", 1, PL_DIR_OUT, "one");
	int64_t s2 = add_item(v, "Iran", 2, PL_DIR_OUT, "two");

	assert_int_equal(pl_vault_outbox_add(v, s2, "Iran", &e), 0);
	assert_int_equal(pl_vault_outbox_add(v, s1, "Iran", &e), 0);
	assert_int_equal(pl_vault_outbox_add(v, s1, "Iran", &e), 0); /* once only */
	assert_int_equal(pl_vault_outbox_add(v, 999, "Iran", &e), -1);
	assert_int_equal(e.code, PL_EXIT_NOTFOUND);

	pl_outbox *o;
	size_t n;
	assert_int_equal(pl_vault_outbox_list(v, &o, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_int_equal(o[0].item_seq, s2); /* oldest first */
	assert_int_equal(o[1].item_seq, s1);
	assert_string_equal(o[0].contact, "Iran");
	assert_int_equal(o[0].envelope.n, 0);
	pl_vault_outbox_free(o, n);

	uint8_t env[1072];
	memset(env, 0x42, sizeof env);
	assert_int_equal(pl_vault_outbox_set_envelope(v, s1, env, sizeof env, &e), 0);
	assert_int_equal(pl_vault_outbox_set_envelope(v, 999, env, sizeof env, &e), -1);
	assert_int_equal(e.code, PL_EXIT_NOTFOUND);
	assert_int_equal(pl_vault_outbox_list(v, &o, &n, &e), 0);
	assert_int_equal(o[1].envelope.n, sizeof env);
	assert_memory_equal(o[1].envelope.p, env, sizeof env);
	pl_vault_outbox_free(o, n);

	assert_int_equal(pl_vault_outbox_remove(v, s2, &e), 0);
	assert_int_equal(pl_vault_outbox_list(v, &o, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_int_equal(o[0].item_seq, s1);
	pl_vault_outbox_free(o, n);
	pl_vault_close(v);
	tdir_clean(&t);
}

/* Anyone can seal an envelope to a vault's key: the pending ones are
 * bounded in count and in bytes, and one already kept is still "kept". */
static void test_pending_bounded(void **state)
{
	(void)state;
	tdir t;
	pl_err e;
	tdir_make(&t);
	make_vault(&t, "Oman");
	pl_vault *v = open_vault(&t);
	uint8_t h[32], first[32];
	static uint8_t env[64 * 1024];
	memset(env, 0x5a, sizeof env);

	assert_int_equal(pl_vault_begin(v, &e), 0);
	for (uint32_t i = 0; i < PL_VAULT_PENDING_MAX; i++) {
		memset(h, 0, sizeof h);
		memcpy(h, &i, sizeof i);
		if (i == 0)
			memcpy(first, h, 32);
		assert_int_equal(pl_vault_pending_add(v, h, env, 16, &e), 0);
	}
	assert_int_equal(pl_vault_commit(v, &e), 0);
	memset(h, 0xee, sizeof h);
	assert_int_equal(pl_vault_pending_add(v, h, env, 16, &e), 1); /* full: not kept */
	assert_int_equal(pl_vault_pending_has(v, h), 0);
	assert_int_equal(pl_vault_pending_add(v, first, env, 16, &e), 0); /* already kept */
	assert_int_equal(pl_vault_pending_remove(v, first, &e), 0);
	assert_int_equal(pl_vault_pending_add(v, h, env, 16, &e), 0); /* room again */

	/* bytes: a few large envelopes fill it long before the count does */
	uint8_t k[32];
	assert_int_equal(pl_vault_begin(v, &e), 0);
	for (uint32_t i = 0; i < PL_VAULT_PENDING_MAX; i++) {
		memset(k, 0, sizeof k);
		memcpy(k, &i, sizeof i);
		assert_int_equal(pl_vault_pending_remove(v, k, &e), 0);
	}
	assert_int_equal(pl_vault_pending_remove(v, h, &e), 0);
	assert_int_equal(pl_vault_commit(v, &e), 0);
	size_t kept = 0;
	for (uint32_t i = 0; i < 1000; i++) {
		memset(k, 0x33, sizeof k);
		memcpy(k, &i, sizeof i);
		int r = pl_vault_pending_add(v, k, env, sizeof env, &e);
		assert_true(r == 0 || r == 1);
		if (r == 1)
			break;
		kept++;
	}
	assert_int_equal(kept, PL_VAULT_PENDING_BYTES / sizeof env);
	pl_vault_close(v);
	tdir_clean(&t);
}

static void test_seen_pending(void **state)
{
	(void)state;
	tdir t;
	pl_err e;
	tdir_make(&t);
	make_vault(&t, "Oman");
	pl_vault *v = open_vault(&t);

	uint8_t h1[32], h2[32];
	memset(h1, 1, 32);
	memset(h2, 2, 32);
	assert_int_equal(pl_vault_seen(v, h1), 0);
	assert_int_equal(pl_vault_mark_seen(v, h1, &e), 0);
	assert_int_equal(pl_vault_mark_seen(v, h1, &e), 0);
	assert_int_equal(pl_vault_seen(v, h1), 1);
	assert_int_equal(pl_vault_seen(v, h2), 0);

	pl_wr *envs;
	size_t n;
	assert_int_equal(pl_vault_pending_list(v, &envs, &n, &e), 0);
	assert_int_equal(n, 0);
	pl_vault_pending_free(envs, n);
	assert_int_equal(pl_vault_pending_add(v, h2, (const uint8_t *)"env-two", 7, &e), 0);
	assert_int_equal(pl_vault_pending_add(v, h1, (const uint8_t *)"env-one", 7, &e), 0);
	assert_int_equal(pl_vault_pending_add(v, h1, (const uint8_t *)"env-one", 7, &e), 0);
	assert_int_equal(pl_vault_pending_add(v, h1, NULL, 0, &e), -1);
	assert_int_equal(pl_vault_pending_list(v, &envs, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_memory_equal(envs[0].p, "env-two", 7);
	assert_memory_equal(envs[1].p, "env-one", 7);
	pl_vault_pending_free(envs, n);
	assert_int_equal(pl_vault_pending_remove(v, h2, &e), 0);
	assert_int_equal(pl_vault_pending_list(v, &envs, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_memory_equal(envs[0].p, "env-one", 7);
	pl_vault_pending_free(envs, n);

	/* Counters and the relay key. */
	assert_int_equal(pl_vault_get_u64(v, "last_seq", 77), 77);
	assert_int_equal(pl_vault_set_u64(v, "last_seq", UINT64_MAX - 1, &e), 0);
	assert_true(pl_vault_get_u64(v, "last_seq", 0) == UINT64_MAX - 1);
	assert_int_equal(pl_vault_set_u64(v, "Bad Key", 1, &e), -1);
	uint8_t rk[32], got[32];
	pl_identity rid;
	assert_int_equal(pl_identity_generate(&rid), 0);
	memcpy(rk, rid.pk, 32);
	pl_identity_wipe(&rid);
	assert_int_equal(pl_vault_set_relay_key(v, rk, &e), 0);
	assert_int_equal(pl_vault_relay_key(v, got), 0);
	assert_memory_equal(got, rk, 32);
	memset(got, 0, 32);
	assert_int_equal(pl_vault_set_relay_key(v, got, &e), -1);
	pl_vault_close(v);
	v = open_vault(&t);
	assert_int_equal(pl_vault_relay_key(v, got), 0);
	assert_memory_equal(got, rk, 32);
	assert_true(pl_vault_get_u64(v, "last_seq", 0) == UINT64_MAX - 1);
	assert_int_equal(pl_vault_seen(v, h1), 1);
	pl_vault_close(v);
	tdir_clean(&t);
}

static void test_spk_refresh(void **state)
{
	(void)state;
	tdir t;
	pl_err e;
	tdir_make(&t);
	make_vault(&t, "Oman");
	pl_vault *v = open_vault(&t);
	const uint64_t day = 86400, week = 7 * day, keep = 35 * day;
	uint64_t now = pl_now();
	int rotated = -1;
	pl_prekey k;

	/* A fresh signed prekey is kept; a week old, it is replaced. */
	assert_int_equal(pl_vault_spk_refresh(v, now + day, week, keep, &rotated, &e), 0);
	assert_int_equal(rotated, 0);
	assert_int_equal(pl_vault_spk_current(v, &k, &e), 0);
	assert_int_equal(k.id, 1);
	assert_int_equal(pl_vault_spk_refresh(v, now + week + 1, week, keep, &rotated, &e), 0);
	assert_int_equal(rotated, 1);
	assert_int_equal(pl_vault_spk_current(v, &k, &e), 0);
	assert_int_equal(k.id, 2);
	/* the replaced one still answers stale bundles */
	assert_int_equal(pl_vault_spk_get(v, 1, &k, &e), 0);
	/* the new one is fresh: nothing more now */
	assert_int_equal(pl_vault_spk_refresh(v, pl_now(), week, keep, &rotated, &e), 0);
	assert_int_equal(rotated, 0);

	/* Long after: a new current one, and every older one past `keep` gone. */
	assert_int_equal(pl_vault_spk_refresh(v, pl_now() + keep + day, week, keep, &rotated, &e),
			 0);
	assert_int_equal(rotated, 1);
	assert_int_equal(pl_vault_spk_current(v, &k, &e), 0);
	assert_int_equal(k.id, 3);
	assert_int_equal(pl_vault_spk_get(v, 1, &k, &e), -1);
	assert_int_equal(e.code, PL_EXIT_NOTFOUND);
	assert_int_equal(pl_vault_spk_get(v, 2, &k, &e), -1);
	assert_int_equal(pl_vault_spk_get(v, 3, &k, &e), 0);
	sodium_memzero(&k, sizeof k);

	/* A vault whose signed prekeys were deleted behind its back says so. */
	pl_vault_close(v);
	raw_sql(&t, "DELETE FROM spk");
	v = open_vault(&t);
	assert_int_equal(pl_vault_spk_refresh(v, pl_now(), week, keep, &rotated, &e), -1);
	assert_int_equal(e.code, PL_EXIT_VAULT);
	assert_non_null(strstr(e.msg, "is damaged: it has no signed prekey"));
	assert_int_equal(rotated, 0);
	pl_vault_close(v);
	tdir_clean(&t);
}

static void test_opk_lifecycle(void **state)
{
	(void)state;
	tdir t;
	pl_err e;
	tdir_make(&t);
	make_vault(&t, "Oman");
	pl_vault *v = open_vault(&t);

	pl_prekey k[40], one;
	assert_int_equal(pl_vault_opk_unpublished(v, k, 5, &e), 5);
	assert_int_equal(pl_vault_opk_unpublished(v, k, 0, &e), 0);
	assert_int_equal(pl_vault_opk_mark_published(v, 10, &e), 0);
	assert_int_equal(pl_vault_opk_unpublished(v, k, 40, &e), 10);
	assert_int_equal(k[0].id, 11);
	assert_int_equal(k[9].id, 20);

	assert_int_equal(pl_vault_opk_get(v, 5, &one, &e), 0);
	assert_int_equal(one.id, 5);
	uint8_t pk[32];
	assert_int_equal(crypto_scalarmult_base(pk, one.sk), 0);
	assert_memory_equal(pk, one.pk, 32);
	assert_int_equal(pl_vault_opk_delete(v, 5, &e), 0);
	assert_int_equal(pl_vault_opk_get(v, 5, &one, &e), -1);
	assert_int_equal(e.code, PL_EXIT_NOTFOUND);
	assert_int_equal(pl_vault_opk_get(v, 21, &one, &e), -1);
	assert_int_equal(e.code, PL_EXIT_NOTFOUND);

	/* New ones continue the numbering, even after the highest is deleted. */
	assert_int_equal(pl_vault_opk_delete(v, 20, &e), 0);
	assert_int_equal(pl_vault_opk_generate(v, 5, &e), 0);
	assert_int_equal(pl_vault_opk_unpublished(v, k, 40, &e), 14);
	assert_int_equal(k[9].id, 21);
	assert_int_equal(k[13].id, 25);
	assert_int_equal(pl_vault_opk_generate(v, 0, &e), -1);
	assert_int_equal(pl_vault_opk_generate(v, PL_VAULT_OPK_GENERATE_MAX + 1, &e), -1);

	/* Top-up: nothing while at least `low` are left; below it, enough new
	 * ones (unpublished, numbering on) to reach `target`. 23 are left now. */
	int made = -1;
	assert_int_equal(pl_vault_opk_top_up(v, -1, 10, 20, 50, &made, &e), 0);
	assert_int_equal(made, 0);
	for (uint32_t id = 1; id <= 15; id++)
		if (id != 5)
			assert_int_equal(pl_vault_opk_delete(v, id, &e), 0);
	assert_int_equal(pl_vault_opk_top_up(v, -1, 10, 20, 50, &made, &e), 0); /* 9 left */
	assert_int_equal(made, 11);
	assert_int_equal(pl_vault_opk_unpublished(v, k, 40, &e), 20); /* 16-19, 21-36 */
	assert_int_equal(k[0].id, 16);
	assert_int_equal(k[4].id, 21);
	assert_int_equal(k[19].id, 36);
	assert_int_equal(pl_vault_opk_top_up(v, -1, 10, 20, 50, &made, &e), 0);
	assert_int_equal(made, 0);
	assert_int_equal(pl_vault_opk_top_up(v, -1, 10, 5, 50, &made, &e), -1);
	assert_int_equal(pl_vault_opk_top_up(v, -1, 1, PL_VAULT_OPK_GENERATE_MAX + 1,
					     PL_VAULT_OPK_GENERATE_MAX + 1, &made, &e),
			 -1);

	/* Signed prekey rotation keeps the old one reachable. */
	pl_prekey s1, s2, s;
	assert_int_equal(pl_vault_spk_current(v, &s1, &e), 0);
	uint32_t nid = 0;
	assert_int_equal(pl_vault_spk_rotate(v, &nid, &e), 0);
	assert_int_equal(nid, 2);
	assert_int_equal(pl_vault_spk_current(v, &s2, &e), 0);
	assert_int_equal(s2.id, 2);
	assert_memory_not_equal(s2.pk, s1.pk, 32);
	assert_int_equal(pl_vault_spk_get(v, 1, &s, &e), 0);
	assert_memory_equal(s.sk, s1.sk, 32);
	assert_int_equal(pl_vault_spk_get(v, 3, &s, &e), -1);
	assert_int_equal(e.code, PL_EXIT_NOTFOUND);
	sodium_memzero(&s, sizeof s);
	sodium_memzero(&s1, sizeof s1);
	sodium_memzero(&s2, sizeof s2);
	sodium_memzero(&one, sizeof one);
	pl_vault_close(v);
	tdir_clean(&t);
}

/* Topping up from the relay's count: nothing while the relay holds at
 * least `low`; below it, target - relay_left new (unpublished) ones; then
 * at most `keep` in all, the oldest published ones forgotten first and
 * unpublished ones never. */
static void test_opk_top_up_from_relay(void **state)
{
	(void)state;
	tdir t;
	pl_err e;
	pl_prekey k[80], one;
	int made = -1;
	tdir_make(&t);
	make_vault(&t, "Oman");
	pl_vault *v = open_vault(&t);

	assert_int_equal(pl_vault_opk_mark_published(v, 20, &e), 0); /* ids 1-20 */
	assert_int_equal(pl_vault_opk_top_up(v, 10, 10, 20, 50, &made, &e), 0);
	assert_int_equal(made, 0);
	assert_int_equal(pl_vault_opk_unpublished(v, k, 80, &e), 0);
	/* the vault still holds 20, but the relay only 3: 17 more */
	assert_int_equal(pl_vault_opk_top_up(v, 3, 10, 20, 50, &made, &e), 0);
	assert_int_equal(made, 17);
	assert_int_equal(pl_vault_opk_unpublished(v, k, 80, &e), 17);
	assert_int_equal(k[0].id, 21);
	assert_int_equal(k[16].id, 37);
	assert_int_equal(pl_vault_opk_mark_published(v, 37, &e), 0);
	/* drained again: 20 more makes 57, so the 7 oldest go */
	assert_int_equal(pl_vault_opk_top_up(v, 0, 10, 20, 50, &made, &e), 0);
	assert_int_equal(made, 20);
	assert_int_equal(pl_vault_opk_get(v, 7, &one, &e), -1);
	assert_int_equal(e.code, PL_EXIT_NOTFOUND);
	assert_non_null(strstr(e.msg, "forgotten"));
	assert_int_equal(pl_vault_opk_get(v, 8, &one, &e), 0);
	assert_int_equal(pl_vault_opk_unpublished(v, k, 80, &e), 20); /* 38-57 */
	/* unpublished ones are never forgotten, even above `keep` */
	assert_int_equal(pl_vault_opk_top_up(v, 0, 10, 20, 20, &made, &e), 0);
	assert_int_equal(made, 20);
	assert_int_equal(pl_vault_opk_get(v, 37, &one, &e), -1);
	assert_int_equal(pl_vault_opk_unpublished(v, k, 80, &e), 40); /* 38-77 */
	assert_int_equal(k[0].id, 38);
	assert_int_equal(k[39].id, 77);
	/* bounds */
	assert_int_equal(pl_vault_opk_top_up(v, -2, 10, 20, 50, &made, &e), -1);
	assert_int_equal(pl_vault_opk_top_up(v, 0, 10, 20, 19, &made, &e), -1);
	assert_int_equal(pl_vault_opk_top_up(v, 0, 10, 5, 50, &made, &e), -1);
	assert_int_equal(made, 0);
	sodium_memzero(&one, sizeof one);
	sodium_memzero(k, sizeof k);
	pl_vault_close(v);
	tdir_clean(&t);
}

static void test_transactions(void **state)
{
	(void)state;
	tdir t;
	pl_err e;
	tdir_make(&t);
	make_vault(&t, "Oman");
	pl_vault *v = open_vault(&t);
	pl_contact a, got;
	pl_session_rec s;
	pl_item *items;
	size_t n;
	uint8_t h[32] = {9};

	assert_int_equal(pl_vault_begin(v, &e), 0);
	put_contact(v, &a, "Iran");
	add_item(v, "Iran", 1, PL_DIR_OUT, "never");
	save_session(v, &s, a.ik, 1, 10);
	assert_int_equal(pl_vault_set_u64(v, "k", 5, &e), 0);
	assert_int_equal(pl_vault_mark_seen(v, h, &e), 0);
	assert_int_equal(pl_vault_opk_delete(v, 1, &e), 0);
	assert_int_equal(pl_vault_opk_generate(v, 3, &e), 0);
	pl_vault_rollback(v);

	assert_int_equal(pl_vault_contact_get(v, "Iran", &got, &e), -1);
	assert_int_equal(e.code, PL_EXIT_NOTFOUND);
	assert_int_equal(pl_vault_item_list(v, NULL, &items, &n, &e), 0);
	assert_int_equal(n, 0);
	pl_vault_items_free(items, n);
	pl_session_rec *ss;
	assert_int_equal(pl_vault_sessions_load(v, a.ik, &ss, &n, &e), 0);
	assert_int_equal(n, 0);
	pl_vault_sessions_free(ss, n);
	assert_int_equal(pl_vault_get_u64(v, "k", 0), 0);
	assert_int_equal(pl_vault_seen(v, h), 0);
	pl_prekey k[40];
	assert_int_equal(pl_vault_opk_unpublished(v, k, 40, &e), 20);
	assert_int_equal(k[0].id, 1);

	/* Committed work survives a reopen. */
	assert_int_equal(pl_vault_begin(v, &e), 0);
	assert_int_equal(pl_vault_begin(v, &e), -1); /* no nesting */
	put_contact(v, &a, "Iran");
	add_item(v, "Iran", 1, PL_DIR_OUT, "kept");
	assert_int_equal(pl_vault_commit(v, &e), 0);
	pl_vault_close(v);
	v = open_vault(&t);
	assert_int_equal(pl_vault_item_list(v, "Iran", &items, &n, &e), 0);
	assert_int_equal(n, 1);
	pl_vault_items_free(items, n);
	/* Closing with an open transaction discards it. */
	assert_int_equal(pl_vault_begin(v, &e), 0);
	add_item(v, "Iran", 2, PL_DIR_OUT, "dropped");
	pl_vault_close(v);
	v = open_vault(&t);
	assert_int_equal(pl_vault_item_list(v, "Iran", &items, &n, &e), 0);
	assert_int_equal(n, 1);
	pl_vault_items_free(items, n);
	pl_vault_close(v);
	tdir_clean(&t);
}

/* The file's bytes, hashed: whether the vault was written. */
static void file_hash(const tdir *t, uint8_t h[32])
{
	size_t n = 0;
	uint8_t *b = pl_test_read_file(t->db, &n);
	assert_non_null(b);
	crypto_hash_sha256(h, b, n);
	free(b);
}

/* A batch (vault.h): changes inside it are savepoints, the disk is written
 * once at its end, a rollback undoes only its own change, and a batch
 * ended without ok, or never ended, leaves nothing. */
static void test_batch(void **state)
{
	(void)state;
	tdir t;
	pl_err e;
	uint8_t h0[32], h1[32];
	tdir_make(&t);
	make_vault(&t, "Oman");
	pl_vault *v = open_vault(&t);

	assert_int_equal(pl_vault_batch_begin(v, &e), 0);
	assert_int_equal(pl_vault_batch_begin(v, &e), -1); /* no batch in a batch */
	file_hash(&t, h0);
	assert_int_equal(pl_vault_begin(v, &e), 0);
	assert_int_equal(pl_vault_set_u64(v, "kept", 1, &e), 0);
	assert_int_equal(pl_vault_commit(v, &e), 0);
	file_hash(&t, h1);
	assert_memory_equal(h0, h1, 32); /* committed in the batch, not yet on disk */
	assert_int_equal(pl_vault_begin(v, &e), 0);
	assert_int_equal(pl_vault_set_u64(v, "undone", 2, &e), 0);
	pl_vault_rollback(v);
	pl_vault_rollback(v);			      /* nothing open: must not undo the batch */
	assert_int_equal(pl_vault_commit(v, &e), -1); /* nothing open to commit */
	assert_int_equal(pl_vault_get_u64(v, "kept", 0), 1);
	assert_int_equal(pl_vault_get_u64(v, "undone", 0), 0);
	/* a change left open at the end is undone, the committed one kept */
	assert_int_equal(pl_vault_begin(v, &e), 0);
	assert_int_equal(pl_vault_set_u64(v, "left_open", 3, &e), 0);
	assert_int_equal(pl_vault_batch_end(v, 1, &e), 0);
	file_hash(&t, h1);
	assert_memory_not_equal(h0, h1, 32);
	assert_int_equal(pl_vault_batch_end(v, 1, &e), -1); /* no batch now */
	pl_vault_close(v);
	v = open_vault(&t);
	assert_int_equal(pl_vault_get_u64(v, "kept", 0), 1);
	assert_int_equal(pl_vault_get_u64(v, "undone", 0), 0);
	assert_int_equal(pl_vault_get_u64(v, "left_open", 0), 0);

	/* ended without ok: nothing of it */
	assert_int_equal(pl_vault_batch_begin(v, &e), 0);
	assert_int_equal(pl_vault_begin(v, &e), 0);
	assert_int_equal(pl_vault_set_u64(v, "dropped", 4, &e), 0);
	assert_int_equal(pl_vault_commit(v, &e), 0);
	assert_int_equal(pl_vault_batch_end(v, 0, &e), 0);
	assert_int_equal(pl_vault_get_u64(v, "dropped", 0), 0);
	/* outside a batch, begin and commit are plain transactions again */
	assert_int_equal(pl_vault_begin(v, &e), 0);
	assert_int_equal(pl_vault_batch_begin(v, &e), -1); /* no batch in a change */
	assert_int_equal(pl_vault_begin(v, &e), -1);	   /* no nesting */
	pl_vault_rollback(v);
	/* a batch never ended (a crash, a close) leaves nothing */
	assert_int_equal(pl_vault_batch_begin(v, &e), 0);
	assert_int_equal(pl_vault_begin(v, &e), 0);
	assert_int_equal(pl_vault_set_u64(v, "crashed", 5, &e), 0);
	assert_int_equal(pl_vault_commit(v, &e), 0);
	pl_vault_close(v);
	v = open_vault(&t);
	assert_int_equal(pl_vault_get_u64(v, "crashed", 0), 0);
	assert_int_equal(pl_vault_get_u64(v, "kept", 0), 1);
	pl_vault_close(v);
	tdir_clean(&t);
}

/* --- damage ------------------------------------------------------------------------- */

static void test_corrupted_blobs(void **state)
{
	(void)state;
	tdir t;
	pl_err e;
	tdir_make(&t);
	make_vault(&t, "Oman");
	pl_vault *v = open_vault(&t);
	pl_contact a, b, got;
	new_contact(&a, "Iran");
	a.has_token = 1;
	memset(a.token, 3, 32);
	assert_int_equal(pl_vault_contact_put(v, &a, &e), 0);
	put_contact(v, &b, "Qatar");
	pl_session_rec s;
	save_session(v, &s, a.ik, 1, 10);
	int64_t s1 = add_item(v, "Iran", 1, PL_DIR_OUT, "one");
	int64_t s2 = add_item(v, "Iran", 2, PL_DIR_OUT, "two");
	pl_vault_close(v);

	/* A flipped byte in each sealed column. */
	flip_byte(&t, "items", "body", "seq = 1", 30);
	v = open_vault(&t);
	pl_item it;
	assert_int_equal(pl_vault_item_get(v, s1, &it, &e), -1);
	assert_int_equal(e.code, PL_EXIT_VAULT);
	assert_non_null(strstr(e.msg, "damaged"));
	assert_int_equal(pl_vault_item_get(v, s2, &it, &e), 0);
	pl_vault_item_free(&it);
	pl_item *items;
	size_t n;
	assert_int_equal(pl_vault_item_list(v, "Iran", &items, &n, &e), -1);
	assert_null(items);
	pl_vault_close(v);

	/* Blobs swapped between rows do not open (AD binds them to their row). */
	raw_sql(&t, "UPDATE items SET body = (SELECT body FROM items WHERE seq = 2) WHERE seq = 1");
	v = open_vault(&t);
	assert_int_equal(pl_vault_item_get(v, s1, &it, &e), -1);
	assert_int_equal(e.code, PL_EXIT_VAULT);
	pl_vault_close(v);

	raw_sql(&t, "UPDATE sessions SET state = substr(state, 1, length(state) - 1)");
	flip_byte(&t, "opk", "sk", "id = 6", 0); /* the format tag */
	flip_byte(&t, "opk", "sk", "id = 7", 5); /* the nonce */
	raw_sql(&t, "UPDATE contacts SET token = zeroblob(57) WHERE name = 'Iran'");
	raw_sql(&t, "UPDATE contacts SET ik = x'00' WHERE name = 'Qatar'");
	raw_sql(&t, "UPDATE opk SET sk = x'01' || substr(sk, 2) WHERE id = 3");
	raw_sql(&t, "UPDATE opk SET sk = 'text, not a blob' WHERE id = 4");
	raw_sql(&t, "UPDATE spk SET pk = zeroblob(32)");
	v = open_vault(&t);
	pl_session_rec *ss;
	assert_int_equal(pl_vault_sessions_load(v, a.ik, &ss, &n, &e), -1);
	assert_int_equal(e.code, PL_EXIT_VAULT);
	assert_int_equal(pl_vault_contact_get(v, "Iran", &got, &e), -1);
	assert_int_equal(e.code, PL_EXIT_VAULT);
	assert_int_equal(pl_vault_contact_get(v, "Qatar", &got, &e), -1);
	assert_int_equal(e.code, PL_EXIT_VAULT);
	pl_contact *cl;
	assert_int_equal(pl_vault_contact_list(v, &cl, &n, &e), -1);
	pl_prekey k;
	assert_int_equal(pl_vault_opk_get(v, 2, &k, &e), 0);
	assert_int_equal(pl_vault_opk_get(v, 3, &k, &e), -1);
	assert_int_equal(e.code, PL_EXIT_VAULT);
	assert_int_equal(pl_vault_opk_get(v, 4, &k, &e), -1);
	assert_int_equal(e.code, PL_EXIT_VAULT);
	assert_int_equal(pl_vault_opk_get(v, 6, &k, &e), -1);
	assert_int_equal(pl_vault_opk_get(v, 7, &k, &e), -1);
	assert_int_equal(e.code, PL_EXIT_VAULT);
	assert_int_equal(pl_vault_spk_current(v, &k, &e), -1); /* secret does not fit the key */
	assert_int_equal(e.code, PL_EXIT_VAULT);
	pl_vault_close(v);

	/* Item metadata out of range. */
	raw_sql(&t, "UPDATE items SET dir = 7 WHERE seq = 2");
	v = open_vault(&t);
	assert_int_equal(pl_vault_item_get(v, s2, &it, &e), -1);
	assert_int_equal(e.code, PL_EXIT_VAULT);
	pl_vault_close(v);

	/* The identity: damaged, not "wrong passphrase". */
	raw_sql(&t, "UPDATE meta SET v = x'01' || zeroblob(72) WHERE k = 'ik_seed'");
	pl_vault *w = NULL;
	assert_int_equal(pl_vault_open(&w, t.dir, PASS, strlen(PASS), &e), -1);
	assert_null(w);
	assert_int_equal(e.code, PL_EXIT_VAULT);
	assert_non_null(strstr(e.msg, "damaged"));
	/* (The KDF record is in the sealed file's header: test_vault_file.) */
	raw_sql(&t, "PRAGMA user_version = 99");
	assert_int_equal(pl_vault_open(&w, t.dir, PASS, strlen(PASS), &e), -1);
	assert_non_null(strstr(e.msg, "newer parley"));
	tdir_clean(&t);
}

/* --- the pure formats ----------------------------------------------------------------- */

static void test_seal_format(void **state)
{
	(void)state;
	uint8_t key[32], other[32];
	pl_wr ad, ad2, blob, pt;
	randombytes_buf(key, sizeof key);
	randombytes_buf(other, sizeof other);
	pl_vault_ad(&ad, "item");
	pl_wr_u32(&ad, 1);
	pl_vault_ad(&ad2, "item");
	pl_wr_u32(&ad2, 2);

	assert_int_equal(pl_vault_seal(&blob, key, &ad, (const uint8_t *)"hello", 5), 0);
	assert_int_equal(blob.n, PL_SEAL_OVERHEAD + 5);
	assert_int_equal(blob.p[0], PL_SEAL_V1);
	assert_int_equal(pl_vault_unseal(&pt, key, &ad, blob.p, blob.n, 5), 0);
	assert_int_equal(pt.n, 5);
	assert_memory_equal(pt.p, "hello", 5);
	pl_wr_free(&pt);
	assert_int_equal(pl_vault_unseal(&pt, key, &ad, blob.p, blob.n, 4), -1); /* too big */
	assert_int_equal(pl_vault_unseal(&pt, other, &ad, blob.p, blob.n, 5), -1);
	assert_int_equal(pl_vault_unseal(&pt, key, &ad2, blob.p, blob.n, 5), -1);
	assert_int_equal(pl_vault_unseal(&pt, key, &ad, blob.p, blob.n - 1, 5), -1);
	assert_int_equal(pl_vault_unseal(&pt, key, &ad, blob.p, PL_SEAL_OVERHEAD - 1, 5), -1);
	assert_int_equal(pl_vault_unseal(&pt, key, &ad, NULL, 0, 5), -1);
	for (size_t i = 0; i < blob.n; i++) {
		blob.p[i] ^= 0x80;
		assert_int_equal(pl_vault_unseal(&pt, key, &ad, blob.p, blob.n, 5), -1);
		assert_null(pt.p);
		blob.p[i] ^= 0x80;
	}
	uint8_t five[5], six[6];
	assert_int_equal(pl_vault_unseal_fixed(five, 5, key, &ad, blob.p, blob.n), 0);
	assert_int_equal(pl_vault_unseal_fixed(six, 6, key, &ad, blob.p, blob.n), -1);
	pl_wr_free(&blob);
	/* Empty plaintext. */
	assert_int_equal(pl_vault_seal(&blob, key, &ad, NULL, 0), 0);
	assert_int_equal(pl_vault_unseal(&pt, key, &ad, blob.p, blob.n, 0), 0);
	assert_int_equal(pt.n, 0);
	pl_wr_free(&pt);
	pl_wr_free(&blob);
	pl_wr_free(&ad);
	pl_wr_free(&ad2);

	/* KDF record. */
	pl_kdf_params k, d;
	uint8_t rec[PL_KDF_REC_LEN];
	pl_vault_kdf_default(&k);
	pl_vault_kdf_encode(rec, &k);
	assert_int_equal(pl_vault_kdf_decode(&d, rec, sizeof rec), 0);
	assert_memory_equal(&d.salt, &k.salt, sizeof k.salt);
	assert_int_equal(pl_vault_kdf_decode(&d, rec, sizeof rec - 1), -1);
	rec[0] = 2;
	assert_int_equal(pl_vault_kdf_decode(&d, rec, sizeof rec), -1);
	rec[0] = 1;
	rec[1] = 2;
	assert_int_equal(pl_vault_kdf_decode(&d, rec, sizeof rec), -1);
	rec[1] = 1;
	k.mem = PL_KDF_MEM_MAX + 1;
	pl_vault_kdf_encode(rec, &k);
	assert_int_equal(pl_vault_kdf_decode(&d, rec, sizeof rec), -1);
	k.mem = crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE;
	k.ops = 0;
	pl_vault_kdf_encode(rec, &k);
	assert_int_equal(pl_vault_kdf_decode(&d, rec, sizeof rec), -1);
	sodium_memzero(key, sizeof key);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_create_open_close),
	    cmocka_unit_test(test_refuse_overwrite),
	    cmocka_unit_test(test_create_refusals),
	    cmocka_unit_test(test_create_after_crash),
	    cmocka_unit_test(test_wrong_passphrase_and_missing),
	    cmocka_unit_test(test_create_rejects_bad_input),
	    cmocka_unit_test(test_not_a_vault),
	    cmocka_unit_test(test_no_secret_in_clear),
	    cmocka_unit_test(test_contacts),
	    cmocka_unit_test(test_sessions),
	    cmocka_unit_test(test_items),
	    cmocka_unit_test(test_outbox),
	    cmocka_unit_test(test_seen_pending),
	    cmocka_unit_test(test_pending_bounded),
	    cmocka_unit_test(test_opk_lifecycle),
	    cmocka_unit_test(test_opk_top_up_from_relay),
	    cmocka_unit_test(test_spk_refresh),
	    cmocka_unit_test(test_transactions),
	    cmocka_unit_test(test_batch),
	    cmocka_unit_test(test_corrupted_blobs),
	    cmocka_unit_test(test_seal_format),
	};
	return cmocka_run_group_tests_name("vault", tests, NULL, NULL);
}
