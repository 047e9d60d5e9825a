/*
 * test_relay_key.c — DATA/relay.key (relay/key.h): a new key is created
 * with mode 0600 and nothing else left in the folder, holds the layout
 * key.h names, and reloads to the same key pair; a damaged, short, long,
 * wrong-magic, wrong-version, wrong-algorithm, mismatched, readable-by-others
 * or symlinked file is refused with one clear sentence and left as it was;
 * and an existing key is never replaced, not even by an explicit create
 * (the path a relay takes when another process wins the race).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "relay/key.h"
#include "util/err.h"

#include "support.h"

/* snprintf that fails the test instead of truncating. */
#define FMT(buf, ...) assert_in_range(snprintf(buf, sizeof buf, __VA_ARGS__), 1, sizeof buf - 1)

typedef struct {
	char dir[PATH_MAX];
	char path[PATH_MAX];
} fixture;

static int setup(void **st)
{
	fixture *f = calloc(1, sizeof *f);
	assert_non_null(f);
	pl_test_tmpdir(f->dir, sizeof f->dir, "relay-key");
	FMT(f->path, "%s/%s", f->dir, PL_RELAY_KEY_NAME);
	*st = f;
	return 0;
}

static int teardown(void **st)
{
	fixture *f = *st;
	pl_test_rm_rf(f->dir);
	free(f);
	return 0;
}

static int entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	int n = 0;

	assert_non_null(d);
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static uint8_t *read_key_file(const char *path, size_t *n)
{
	uint8_t *p = pl_test_read_file(path, n);
	assert_non_null(p);
	return p;
}

/* A valid key file for the given seed, built from key.h's layout alone. */
static void make_key_file(uint8_t buf[PL_RELAY_KEY_FILE_LEN], const uint8_t seed[32])
{
	uint8_t pk[PL_IK_LEN], sk[PL_IK_SK_LEN], h[32];

	crypto_sign_seed_keypair(pk, sk, seed);
	crypto_generichash(h, sizeof h, pk, sizeof pk, NULL, 0);
	memcpy(buf + PL_RELAY_KEY_MAGIC_OFF, "PLRK", 4);
	buf[PL_RELAY_KEY_VERSION_OFF] = 1;
	buf[PL_RELAY_KEY_ALG_OFF] = 1;
	memcpy(buf + PL_RELAY_KEY_ID_OFF, h, PL_RELAY_KEY_ID_LEN);
	memcpy(buf + PL_RELAY_KEY_SEED_OFF, seed, 32);
	memcpy(buf + PL_RELAY_KEY_PK_OFF, pk, PL_IK_LEN);
}

static void test_layout(void **st)
{
	(void)st;
	/* the documented layout: "PLRK" ‖ version ‖ alg ‖ id(8) ‖ seed(32) ‖ pk(32) */
	assert_int_equal(PL_RELAY_KEY_VERSION_OFF, 4);
	assert_int_equal(PL_RELAY_KEY_ALG_OFF, 5);
	assert_int_equal(PL_RELAY_KEY_ID_OFF, 6);
	assert_int_equal(PL_RELAY_KEY_SEED_OFF, 14);
	assert_int_equal(PL_RELAY_KEY_PK_OFF, 46);
	assert_int_equal(PL_RELAY_KEY_FILE_LEN, 78);
}

static void test_create_and_reload(void **st)
{
	fixture *f = *st;
	uint8_t sk[PL_IK_SK_LEN], pk[PL_IK_LEN], sk2[PL_IK_SK_LEN], pk2[PL_IK_LEN], h[32];
	uint8_t *buf;
	size_t n;
	struct stat sb;
	pl_err e;

	pl_err_clear(&e);
	umask(022); /* the file must be 0600 whatever the caller's umask */
	assert_int_equal(pl_relay_key_load(sk, pk, f->dir, &e), 0);
	assert_int_equal(stat(f->path, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(entries(f->dir), 1); /* no temporary file left */

	buf = read_key_file(f->path, &n);
	assert_int_equal(n, PL_RELAY_KEY_FILE_LEN);
	assert_memory_equal(buf + PL_RELAY_KEY_MAGIC_OFF, "PLRK", 4);
	assert_int_equal(buf[PL_RELAY_KEY_VERSION_OFF], 1);
	assert_int_equal(buf[PL_RELAY_KEY_ALG_OFF], 1);
	assert_memory_equal(buf + PL_RELAY_KEY_PK_OFF, pk, PL_IK_LEN);
	assert_memory_equal(buf + PL_RELAY_KEY_SEED_OFF, sk, 32); /* sk = seed ‖ pk */
	crypto_generichash(h, sizeof h, pk, sizeof pk, NULL, 0);
	assert_memory_equal(buf + PL_RELAY_KEY_ID_OFF, h, PL_RELAY_KEY_ID_LEN);
	free(buf);

	/* the pair signs and verifies */
	{
		uint8_t sig[crypto_sign_BYTES];
		crypto_sign_detached(sig, NULL, (const uint8_t *)"x", 1, sk);
		assert_int_equal(crypto_sign_verify_detached(sig, (const uint8_t *)"x", 1, pk), 0);
	}

	/* reloaded: the same key, the file untouched */
	assert_int_equal(pl_relay_key_load(sk2, pk2, f->dir, &e), 0);
	assert_memory_equal(sk2, sk, sizeof sk);
	assert_memory_equal(pk2, pk, sizeof pk);
	assert_int_equal(entries(f->dir), 1);

	/* another directory gets another key */
	{
		char other[PATH_MAX];
		pl_test_tmpdir(other, sizeof other, "relay-key2");
		assert_int_equal(pl_relay_key_load(sk2, pk2, other, &e), 0);
		assert_memory_not_equal(pk2, pk, sizeof pk);
		pl_test_rm_rf(other);
	}
	umask(077);
}

static void test_existing_key_kept(void **st)
{
	fixture *f = *st;
	uint8_t file[PL_RELAY_KEY_FILE_LEN], seed[32], sk[PL_IK_SK_LEN], pk[PL_IK_LEN];
	uint8_t *buf;
	size_t n;
	pl_err e;

	randombytes_buf(seed, sizeof seed);
	make_key_file(file, seed);
	pl_test_write_file(f->path, file, sizeof file);
	assert_int_equal(chmod(f->path, 0600), 0);

	/* loaded as it is */
	pl_err_clear(&e);
	assert_int_equal(pl_relay_key_load(sk, pk, f->dir, &e), 0);
	assert_memory_equal(pk, file + PL_RELAY_KEY_PK_OFF, PL_IK_LEN);
	assert_memory_equal(sk, seed, 32);

	/* a create that finds a key there (another process won the race)
	 * succeeds and keeps that key */
	assert_int_equal(pl_relay_key_create(f->dir, &e), 0);
	assert_string_equal(e.msg, "");
	buf = read_key_file(f->path, &n);
	assert_int_equal(n, sizeof file);
	assert_memory_equal(buf, file, sizeof file);
	free(buf);
	assert_int_equal(entries(f->dir), 1);
	assert_int_equal(pl_relay_key_load(sk, pk, f->dir, &e), 0);
	assert_memory_equal(pk, file + PL_RELAY_KEY_PK_OFF, PL_IK_LEN);
}

/* Writes content (mode 0600) and expects load to refuse it with the
 * "not a parley relay key" sentence, leaving the file as it was. */
static void expect_refused(fixture *f, const uint8_t *content, size_t n, const char *why)
{
	uint8_t sk[PL_IK_SK_LEN], pk[PL_IK_LEN];
	char want[PL_ERR_MSG_MAX];
	uint8_t *buf;
	size_t got;
	pl_err e;

	unlink(f->path);
	pl_test_write_file(f->path, content, n);
	assert_int_equal(chmod(f->path, 0600), 0);
	pl_err_clear(&e);
	memset(pk, 0xAA, sizeof pk);
	if (pl_relay_key_load(sk, pk, f->dir, &e) != -1)
		fail_msg("a key file that is %s was accepted", why);
	assert_int_equal(e.code, PL_EXIT_ERROR);
	FMT(want, "%s is not a parley relay key (version 1, Ed25519) or is damaged", f->path);
	assert_string_equal(e.msg, want);
	buf = read_key_file(f->path, &got);
	assert_int_equal(got, n);
	if (n > 0)
		assert_memory_equal(buf, content, n);
	free(buf);
	assert_int_equal(entries(f->dir), 1);
}

static void test_refused(void **st)
{
	fixture *f = *st;
	uint8_t good[PL_RELAY_KEY_FILE_LEN], bad[PL_RELAY_KEY_FILE_LEN + 1], seed[32];
	uint8_t sk[PL_IK_SK_LEN], pk[PL_IK_LEN];
	pl_err e;

	randombytes_buf(seed, sizeof seed);
	make_key_file(good, seed);

	expect_refused(f, good, 0, "empty");
	expect_refused(f, good, sizeof good - 1, "short");
	memcpy(bad, good, sizeof good);
	bad[sizeof good] = 0;
	expect_refused(f, bad, sizeof good + 1, "long");

	memcpy(bad, good, sizeof good);
	bad[PL_RELAY_KEY_MAGIC_OFF] = 'X';
	expect_refused(f, bad, sizeof good, "of another magic");
	memcpy(bad, good, sizeof good);
	bad[PL_RELAY_KEY_VERSION_OFF] = 2;
	expect_refused(f, bad, sizeof good, "version 2");
	memcpy(bad, good, sizeof good);
	bad[PL_RELAY_KEY_ALG_OFF] = 2;
	expect_refused(f, bad, sizeof good, "of another algorithm");
	memcpy(bad, good, sizeof good);
	bad[PL_RELAY_KEY_ID_OFF] ^= 1;
	expect_refused(f, bad, sizeof good, "of a wrong key id");
	memcpy(bad, good, sizeof good);
	bad[PL_RELAY_KEY_SEED_OFF + 7] ^= 0x10;
	expect_refused(f, bad, sizeof good, "of a damaged seed");
	memcpy(bad, good, sizeof good);
	bad[PL_RELAY_KEY_PK_OFF + PL_IK_LEN - 1] ^= 0x80;
	expect_refused(f, bad, sizeof good, "of a damaged public key");

	/* the good file itself loads: the refusals above were for their damage */
	unlink(f->path);
	pl_test_write_file(f->path, good, sizeof good);
	assert_int_equal(chmod(f->path, 0600), 0);
	pl_err_clear(&e);
	assert_int_equal(pl_relay_key_load(sk, pk, f->dir, &e), 0);

	/* readable by others: refused, and not touched */
	{
		char want[PL_ERR_MSG_MAX];
		struct stat sb;
		assert_int_equal(chmod(f->path, 0640), 0);
		assert_int_equal(pl_relay_key_load(sk, pk, f->dir, &e), -1);
		FMT(want, "%s must be a regular file readable only by its owner (chmod 600)",
		    f->path);
		assert_string_equal(e.msg, want);
		assert_int_equal(stat(f->path, &sb), 0);
		assert_int_equal(sb.st_mode & 0777, 0640);
	}

	/* a symlink to a good key is not followed */
	{
		char target[PATH_MAX];
		FMT(target, "%s/real.key", f->dir);
		assert_int_equal(rename(f->path, target), 0);
		assert_int_equal(chmod(target, 0600), 0);
		assert_int_equal(symlink(target, f->path), 0);
		pl_err_clear(&e);
		assert_int_equal(pl_relay_key_load(sk, pk, f->dir, &e), -1);
		assert_non_null(strstr(e.msg, "cannot open"));
		assert_non_null(strstr(e.msg, f->path));
	}

	/* a folder that does not exist: no key, a sentence naming the file */
	{
		char missing[PATH_MAX];
		FMT(missing, "%s/no/such", f->dir);
		pl_err_clear(&e);
		assert_int_equal(pl_relay_key_load(sk, pk, missing, &e), -1);
		assert_non_null(strstr(e.msg, missing));
	}
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	umask(077);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_layout),
	    cmocka_unit_test_setup_teardown(test_create_and_reload, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_existing_key_kept, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
