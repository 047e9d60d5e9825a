/*
 * test_vault_file.c — the sealed vault file DIR/vault.pv (vault_file.c,
 * vault_vfs.c, vault.c): its layout; that every commit is on disk when it
 * returns; that a change to any byte of the file, made without the
 * passphrase, is refused and never obeyed (the attack of issue 13: setting
 * verified = 1 in the file); that the raw file shows no contact name, key
 * or item time; that a save that fails breaks nothing already stored; and
 * that an unsealed vault of the earlier format is converted and wiped.
 */
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "support.h"
#include "util/codec.h"
#include "vault/vault.h"
#include "vault/vault_int.h"

#define PASS "correct horse battery staple"
#define RELAY "https://relay.example:8443"
#define ITEM_TIME 1767225600u /* 2026-01-01T00:00:00Z */

typedef struct {
	char base[256];
	char dir[300];
	char pv[320];
} tdir;

static void tdir_make(tdir *t)
{
	pl_test_tmpdir(t->base, sizeof t->base, "vfile");
	snprintf(t->dir, sizeof t->dir, "%s/v", t->base);
	snprintf(t->pv, sizeof t->pv, "%s/vault.pv", t->dir);
}

static void make_vault(tdir *t)
{
	pl_err e;
	pl_err_clear(&e);
	if (pl_vault_create_cost(t->dir, "United States", RELAY, NULL, 0, PASS, strlen(PASS),
				 PL_VAULT_KDF_TEST_ONLY, &e) != 0)
		fail_msg("create: %s", e.msg);
}

static pl_vault *open_ok(tdir *t)
{
	pl_err e;
	pl_vault *v = NULL;
	if (pl_vault_open(&v, t->dir, PASS, strlen(PASS), &e) != 0)
		fail_msg("open: %s", e.msg);
	return v;
}

/* An unverified contact "Iran" with key ik and one note at ITEM_TIME. */
static void add_iran(pl_vault *v, uint8_t ik[PL_IK_LEN])
{
	pl_identity id;
	pl_contact c;
	pl_item it;
	pl_err e;
	assert_int_equal(pl_identity_generate(&id), 0);
	memcpy(ik, id.pk, PL_IK_LEN);
	pl_identity_wipe(&id);
	memset(&c, 0, sizeof c);
	snprintf(c.name, sizeof c.name, "Iran");
	memcpy(c.ik, ik, PL_IK_LEN);
	c.added = 1;
	if (pl_vault_contact_put(v, &c, &e) != 0)
		fail_msg("contact: %s", e.msg);
	memset(&it, 0, sizeof it);
	snprintf(it.contact, sizeof it.contact, "Iran");
	randombytes_buf(it.id, sizeof it.id);
	it.dir = PL_DIR_OUT;
	it.kind = 1;
	it.time = ITEM_TIME;
	strcpy(it.state, "queued");
	pl_wr_init(&it.body);
	pl_wr_bytes(&it.body, (const uint8_t *)"the list of names", 17);
	if (pl_vault_item_add(v, &it, &e) != 0)
		fail_msg("item: %s", e.msg);
	pl_wr_free(&it.body);
}

static int verified(pl_vault *v)
{
	pl_contact c;
	pl_err e;
	if (pl_vault_contact_get(v, "Iran", &c, &e) != 0)
		fail_msg("contact: %s", e.msg);
	return c.verified;
}

/* What `contact verify Iran` stores. */
static int set_verified(pl_vault *v, pl_err *e)
{
	pl_contact c;
	if (pl_vault_contact_get(v, "Iran", &c, e) != 0)
		return -1;
	c.verified = 1;
	return pl_vault_contact_put(v, &c, e);
}

static uint8_t *read_pv(const tdir *t, size_t *n)
{
	uint8_t *f = pl_test_read_file(t->pv, n);
	assert_non_null(f);
	return f;
}

/* --- layout ----------------------------------------------------------------- */

static void test_layout_and_padding(void **state)
{
	(void)state;
	tdir t;
	tdir_make(&t);
	make_vault(&t);
	size_t n;
	uint8_t *f = read_pv(&t, &n);
	assert_memory_equal(f, "PLVAULT\0", 8);
	assert_int_equal(f[8], PL_VFILE_V1);
	pl_vfile_hdr h;
	assert_int_equal(pl_vfile_hdr_parse(&h, f, n), 0);
	assert_int_equal(h.kdf.ops, crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE);
	size_t body = n - PL_VFILE_HDR_LEN - PL_SEAL_NONCE_LEN - PL_SEAL_MAC_LEN;
	assert_int_equal(body % PL_VFILE_PAD_MIN, 0);
	free(f);

	/* The padding: a step of 64 KiB, or an eighth of the power of two. */
	assert_int_equal(pl_vfile_padded(0), PL_VFILE_PAD_MIN);
	assert_int_equal(pl_vfile_padded(PL_VFILE_PAD_MIN - 8), PL_VFILE_PAD_MIN);
	assert_int_equal(pl_vfile_padded(PL_VFILE_PAD_MIN - 7), 2 * PL_VFILE_PAD_MIN);
	size_t mib = (size_t)1 << 20;
	assert_int_equal(pl_vfile_padded(mib), mib + PL_VFILE_PAD_MIN * 2);
	assert_int_equal(pl_vfile_padded(16 * mib) % (2 * mib), 0);
	for (size_t k = 1; k < 64 * mib; k = k * 3 + 7) {
		size_t p = pl_vfile_padded(k);
		assert_true(p >= k + 8);
		assert_true(p - k - 8 < p / 8 + PL_VFILE_PAD_MIN);
	}

	/* Seal and open round-trip; a wrong key or any other header fails. */
	uint8_t dek[32], wrap[32], other[32], *img, *out;
	size_t ilen, olen;
	randombytes_buf(dek, sizeof dek);
	randombytes_buf(wrap, sizeof wrap);
	randombytes_buf(other, sizeof other);
	pl_kdf_params k;
	pl_vault_kdf_new(&k, PL_VAULT_KDF_TEST_ONLY);
	assert_int_equal(pl_vfile_hdr_make(&h, &k, wrap, dek), 0);
	uint8_t got[32];
	assert_int_equal(pl_vfile_hdr_unwrap(&h, wrap, got), 0);
	assert_memory_equal(got, dek, 32);
	assert_int_equal(pl_vfile_hdr_unwrap(&h, other, got), -1);
	assert_int_equal(pl_vfile_seal(&out, &olen, &h, dek, (const uint8_t *)"image", 5), 0);
	assert_int_equal(pl_vfile_open(&img, &ilen, &h, dek, out, olen), 0);
	assert_int_equal(ilen, 5);
	assert_memory_equal(img, "image", 5);
	free(img);
	assert_int_equal(pl_vfile_open(&img, &ilen, &h, other, out, olen), -1);
	assert_null(img);
	pl_vfile_hdr h2;
	assert_int_equal(pl_vfile_hdr_make(&h2, &k, wrap, dek), 0); /* another nonce */
	assert_int_equal(pl_vfile_open(&img, &ilen, &h2, dek, out, olen), -1);
	free(out);
	pl_test_rm_rf(t.base);
}

/* --- every commit on disk ----------------------------------------------------- */

static void test_commit_is_on_disk(void **state)
{
	(void)state;
	tdir t;
	tdir_make(&t);
	make_vault(&t);
	pl_vault *v = open_ok(&t);
	uint8_t ik[PL_IK_LEN];
	size_t n0, n1;
	uint8_t *f0 = read_pv(&t, &n0);
	add_iran(v, ik);
	uint8_t *f1 = read_pv(&t, &n1);
	/* A new file, sealed again (fresh nonce), before close. */
	assert_true(n0 != n1 || memcmp(f0, f1, n0) != 0);
	free(f0);
	free(f1);
	/* A second handle (after this one closes) sees it. */
	pl_vault_close(v);
	v = open_ok(&t);
	assert_int_equal(verified(v), 0);
	pl_contact c;
	pl_err e;
	assert_int_equal(pl_vault_contact_get(v, "Iran", &c, &e), 0);
	assert_memory_equal(c.ik, ik, PL_IK_LEN);
	/* An undone change leaves the file as it was. */
	f0 = read_pv(&t, &n0);
	assert_int_equal(pl_vault_begin(v, &e), 0);
	assert_int_equal(set_verified(v, &e), 0);
	pl_vault_rollback(v);
	f1 = read_pv(&t, &n1);
	assert_int_equal(n0, n1);
	assert_memory_equal(f0, f1, n0);
	free(f0);
	free(f1);
	assert_int_equal(verified(v), 0);
	pl_vault_close(v);
	pl_test_rm_rf(t.base);
}

/* --- changes without the passphrase ---------------------------------------------- */

/* Opens with the one-line error, PL_EXIT_VAULT, and the file unchanged. */
static void assert_refused(tdir *t, const char *why)
{
	pl_vault *v = NULL;
	pl_err e;
	size_t n0, n1;
	uint8_t *f0 = read_pv(t, &n0);
	assert_int_equal(pl_vault_open(&v, t->dir, PASS, strlen(PASS), &e), -1);
	assert_null(v);
	assert_int_equal(e.code, PL_EXIT_VAULT);
	assert_null(strchr(e.msg, '\n'));
	if (why && strstr(e.msg, why) == NULL)
		fail_msg("expected \"%s\" in: %s", why, e.msg);
	uint8_t *f1 = read_pv(t, &n1);
	assert_int_equal(n0, n1);
	assert_memory_equal(f0, f1, n0);
	free(f0);
	free(f1);
}

static void test_tamper_refused(void **state)
{
	(void)state;
	tdir t;
	tdir_make(&t);
	make_vault(&t);
	pl_vault *v = open_ok(&t);
	uint8_t ik[PL_IK_LEN];
	add_iran(v, ik);
	pl_vault_close(v);
	size_t n;
	uint8_t *good = read_pv(&t, &n);

	/* The attacker's tool does not even see a database. */
	sqlite3 *db;
	assert_int_equal(sqlite3_open_v2(t.pv, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
	assert_int_not_equal(
	    sqlite3_exec(db, "UPDATE contacts SET verified = 1", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	/* One bit flipped: in the header's passphrase parameters or wrapped
	 * key it reads as a wrong passphrase (they cannot be told apart), in
	 * the body as a change made without the passphrase; in the magic or
	 * format it is not a vault. The header's fields one by one (not the
	 * memory cost, whose flips would make each try cost up to 4 GiB), and
	 * 40 places spread over the body. */
	static const size_t head[] = {0, 7, 8, 9, 10, 18, 27, 42, 43, 66, 67, 98, 99, 114};
	size_t offs[sizeof head / sizeof head[0] + 40], m = 0;
	for (size_t i = 0; i < sizeof head / sizeof head[0]; i++)
		offs[m++] = head[i];
	for (size_t i = 0; i < 40; i++)
		offs[m++] = PL_VFILE_HDR_LEN + (n - PL_VFILE_HDR_LEN - 1) * i / 39;
	for (size_t i = 0; i < m; i++) {
		uint8_t *f = malloc(n);
		assert_non_null(f);
		memcpy(f, good, n);
		f[offs[i]] ^= (uint8_t)(1u << (i % 8));
		pl_test_write_file(t.pv, f, n);
		free(f);
		const char *why = offs[i] < 9			 ? "is not a parley vault"
				  : offs[i] < PL_VFILE_HDR_LEN ? NULL
							       : "changed by someone without its "
								 "passphrase";
		assert_refused(&t, why);
	}
	/* Cut short, grown, emptied. */
	pl_test_write_file(t.pv, good, n - 1);
	assert_refused(&t, "without its passphrase");
	uint8_t *big = calloc(1, n + 16);
	memcpy(big, good, n);
	pl_test_write_file(t.pv, big, n + 16);
	assert_refused(&t, "without its passphrase");
	free(big);
	pl_test_write_file(t.pv, good, 0);
	assert_refused(&t, "is not a parley vault");

	/* Another vault's file under the same passphrase: its own data key. */
	tdir t2;
	tdir_make(&t2);
	make_vault(&t2);
	size_t n2;
	uint8_t *other = read_pv(&t2, &n2);
	uint8_t *mix = malloc(n2);
	memcpy(mix, good, PL_VFILE_HDR_LEN);
	memcpy(mix + PL_VFILE_HDR_LEN, other + PL_VFILE_HDR_LEN, n2 - PL_VFILE_HDR_LEN);
	pl_test_write_file(t.pv, mix, n2);
	assert_refused(&t, "without its passphrase");
	free(mix);
	free(other);
	pl_test_rm_rf(t2.base);

	/* Put back whole, the good file opens and the contact is unverified. */
	pl_test_write_file(t.pv, good, n);
	v = open_ok(&t);
	assert_int_equal(verified(v), 0);
	pl_vault_close(v);
	free(good);
	pl_test_rm_rf(t.base);
}

/* --- what the raw files show ------------------------------------------------------ */

static int dir_has(const char *dir, const void *needle, size_t nn)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	char p[PATH_MAX + 300];
	int hits = 0;
	assert_non_null(d);
	while ((de = readdir(d)) != NULL) {
		if (de->d_name[0] == '.')
			continue;
		snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
		size_t n;
		uint8_t *b = pl_test_read_file(p, &n);
		if (b && memmem(b, n, needle, nn))
			hits++;
		free(b);
	}
	closedir(d);
	return hits;
}

static void test_nothing_in_clear(void **state)
{
	(void)state;
	tdir t;
	tdir_make(&t);
	make_vault(&t);
	pl_vault *v = open_ok(&t);
	uint8_t ik[PL_IK_LEN];
	add_iran(v, ik);
	/* The same values are in the image, so the scan could find them. */
	uint8_t be4[4], be8[8];
	pl_be32_put(be4, ITEM_TIME);
	pl_be64_put(be8, ITEM_TIME);
	assert_non_null(memmem(v->mem.buf, v->mem.n, "Iran", 4));
	assert_non_null(memmem(v->mem.buf, v->mem.n, ik, sizeof ik));
	assert_non_null(memmem(v->mem.buf, v->mem.n, be4, 4));
	const char *needles[] = {"Iran", "United States", "relay.example", "queued", "contacts"};
	for (int pass = 0; pass < 2; pass++) {
		for (size_t i = 0; i < sizeof needles / sizeof needles[0]; i++)
			if (dir_has(t.dir, needles[i], strlen(needles[i])))
				fail_msg("\"%s\" is readable in the vault folder", needles[i]);
		assert_int_equal(dir_has(t.dir, ik, sizeof ik), 0);
		assert_int_equal(dir_has(t.dir, pl_vault_identity(v)->pk, PL_IK_LEN), 0);
		assert_int_equal(dir_has(t.dir, be4, 4), 0);
		assert_int_equal(dir_has(t.dir, be8, 8), 0);
		assert_int_equal(dir_has(t.dir, "1767225600", 10), 0);
		assert_int_equal(dir_has(t.dir, "SQLite format 3", 15), 0);
		/* positive control: the magic */
		assert_int_equal(dir_has(t.dir, "PLVAULT", 7), 1);
		if (pass == 0) {
			pl_vault_close(v);
			v = open_ok(&t);
		}
	}
	pl_vault_close(v);
	pl_test_rm_rf(t.base);
}

/* --- a save that fails -------------------------------------------------------------- */

static void test_save_failure(void **state)
{
	(void)state;
	tdir t;
	tdir_make(&t);
	make_vault(&t);
	pl_vault *v = open_ok(&t);
	uint8_t ik[PL_IK_LEN];
	add_iran(v, ik);
	size_t n0, n1;
	uint8_t *f0 = read_pv(&t, &n0);
	/* The temporary name is taken by a folder: the save cannot write. */
	char tmp[PATH_MAX + 32];
	snprintf(tmp, sizeof tmp, "%s/vault.pv.tmp", t.dir);
	assert_int_equal(mkdir(tmp, 0700), 0);
	pl_err e;
	pl_err_clear(&e);
	assert_int_equal(set_verified(v, &e), -1);
	assert_non_null(strstr(e.msg, "nothing of this change was stored"));
	assert_null(strchr(e.msg, '\n'));
	/* The vault does not go on as if it had: later writes fail too. */
	assert_int_equal(pl_vault_set_u64(v, "x", 1, &e), -1);
	assert_int_equal(verified(v), 0);
	pl_vault_close(v);
	uint8_t *f1 = read_pv(&t, &n1);
	assert_int_equal(n0, n1);
	assert_memory_equal(f0, f1, n0);
	free(f0);
	free(f1);
	assert_int_equal(rmdir(tmp), 0);
	v = open_ok(&t);
	assert_int_equal(verified(v), 0);
	assert_int_equal(set_verified(v, &e), 0);
	pl_vault_close(v);
	v = open_ok(&t);
	assert_int_equal(verified(v), 1);
	pl_vault_close(v);
	pl_test_rm_rf(t.base);
}

/* --- the earlier, unsealed format ------------------------------------------------------ */

static void test_old_vault_converted(void **state)
{
	(void)state;
	tdir t;
	tdir_make(&t);
	assert_int_equal(mkdir(t.dir, 0700), 0);
	size_t n;
	char *sql = (char *)pl_test_read_vec("../vault/legacy-interactive.sql", &n);
	char old[PATH_MAX + 32];
	snprintf(old, sizeof old, "%s/vault.db", t.dir);
	sqlite3 *db;
	assert_int_equal(sqlite3_open(old, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "PRAGMA journal_mode = WAL", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	free(sql);
	assert_true(pl_vault_exists(t.dir));

	/* A wrong passphrase converts nothing. */
	pl_vault *v = NULL;
	pl_err e;
	assert_int_equal(pl_vault_open(&v, t.dir, "wrong wrong wrong", 17, &e), -1);
	assert_int_equal(access(old, F_OK), 0);
	assert_int_not_equal(access(t.pv, F_OK), 0);

	v = open_ok(&t);
	assert_true(pl_vault_converted(v));
	assert_string_equal(pl_vault_name(v), "Legacy");
	assert_int_not_equal(access(old, F_OK), 0);
	char wal[PATH_MAX + 40];
	snprintf(wal, sizeof wal, "%s-wal", old);
	assert_int_not_equal(access(wal, F_OK), 0);
	assert_int_equal(access(t.pv, F_OK), 0);
	/* its passphrase records are gone from the image */
	pl_wr w;
	int found = 1;
	assert_int_equal(pl_vault_meta_get(v, "kdf", &w, 64, &found, &e), 0);
	assert_false(found);
	pl_wr_free(&w);
	/* the cost is kept, the salt is new */
	assert_int_equal(v->hdr.kdf.ops, crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE);
	pl_vault_close(v);
	v = open_ok(&t);
	assert_false(pl_vault_converted(v));
	assert_string_equal(pl_vault_name(v), "Legacy");
	pl_vault_close(v);
	assert_int_equal(dir_has(t.dir, "Legacy", 6), 0);
	pl_test_rm_rf(t.base);
}

int main(int argc, char **argv)
{
	(void)argc;
	if (pl_test_find_vecdir(argv[0], "../vault/legacy-interactive.sql", "test_vault_file") !=
	    0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_layout_and_padding), cmocka_unit_test(test_commit_is_on_disk),
	    cmocka_unit_test(test_tamper_refused),     cmocka_unit_test(test_nothing_in_clear),
	    cmocka_unit_test(test_save_failure),       cmocka_unit_test(test_old_vault_converted),
	};
	return cmocka_run_group_tests_name("vault_file", tests, NULL, NULL);
}
