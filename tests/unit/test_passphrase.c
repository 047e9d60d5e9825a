/*
 * test_passphrase.c — what a vault passphrase must be and what changing it
 * does: the strength estimate and the refusals built on it, the word
 * generator (shape, word count, entropy, only words of the list), and
 * pl_vault_passphrase_change: afterwards only the new passphrase opens the
 * vault with everything in it, a refused change leaves the old one, and a
 * process killed at any moment of a change leaves exactly one of them
 * working.
 *
 * Vaults here use the test-only cost; the strong cost is checked in the
 * stored parameter record, not by spending seconds deriving it.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "support.h"
#include "vault/vault_int.h"

#define OLD "the old office passphrase"
#define NEW "a new office passphrase 2026"
#define RELAY "http://127.0.0.1:9"

static void test_bits_estimate(void **state)
{
	(void)state;
	/* Two unrelated letters: 2 × log2(26) = 9.4; with both cases 2 × log2(52). */
	assert_int_equal(pl_passphrase_bits("az", 2), 9);
	assert_int_equal(pl_passphrase_bits("aZ", 2), 11);
	/* A letter then its successor: log2(26) + 1. */
	assert_int_equal(pl_passphrase_bits("ab", 2), 5);
	assert_int_equal(pl_passphrase_bits("aaaaaaaaaaaaaaaaaaaa", 20), 4 + 19);
	assert_true(pl_passphrase_bits("abcdefghijklmnopqrstuvwxyz", 26) < PL_PASS_MIN_BITS);
	assert_true(pl_passphrase_bits("98765432109876543210", 20) < PL_PASS_MIN_BITS);
	assert_true(pl_passphrase_bits("correct horse battery staple", 28) >= 100);
	/* A UTF-8 character counts once, not once per byte. */
	assert_int_equal(pl_passphrase_bits("\xc3\xa9", 2), pl_passphrase_bits("\xc3", 1));
	assert_int_equal(pl_passphrase_bits(NULL, 0), 0);
}

static void test_check_refuses_weak(void **state)
{
	(void)state;
	pl_err e;
	static const char *weak[] = {"x",
				     "short",
				     "elevenchars",
				     "aaaaaaaaaaaaaaaaaaaaaaaa",
				     "abcdefghijklmnopq",
				     "123456789012345",
				     "zyxwvutsrqponm"};
	for (size_t i = 0; i < sizeof weak / sizeof *weak; i++) {
		pl_err_clear(&e);
		assert_int_equal(pl_passphrase_check(weak[i], strlen(weak[i]), &e), -1);
		assert_int_equal(e.code, PL_EXIT_USAGE);
		assert_non_null(strstr(e.msg, "use at least"));
	}
	pl_err_clear(&e);
	assert_int_equal(pl_passphrase_check("", 0, &e), -1);
	assert_int_equal(pl_passphrase_check(OLD, strlen(OLD), &e), 0);
	assert_int_equal(pl_passphrase_check("Tq7#vR2m!xKp", 12, &e), 0);

	/* The library refuses too, before anything touches the disk. */
	char dir[256];
	pl_test_tmpdir(dir, sizeof dir, "pass-weak");
	char sub[300];
	snprintf(sub, sizeof sub, "%s/v", dir);
	pl_err_clear(&e);
	assert_int_equal(pl_vault_create_cost(sub, "Oman", RELAY, NULL, 0, "short", 5,
					      PL_VAULT_KDF_TEST_ONLY, &e),
			 -1);
	assert_int_equal(e.code, PL_EXIT_USAGE);
	assert_int_equal(access(sub, F_OK), -1);
	pl_test_rm_rf(dir);
}

/* A word list with 3001 distinct good words and lines the generator must
 * skip. */
static void write_words(const char *path)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("Capital\nit's\nab\ntoolongword\nzz9\n\n", f);
	for (unsigned i = 0; i < 3000; i++)
		fprintf(f, "w%c%c%c\n", 'a' + i % 26, 'a' + (i / 26) % 26, 'a' + (i / 676) % 26);
	fputs("wzzz\nwzzz\n", f); /* a repeat counts once */
	fclose(f);
}

static void test_generate(void **state)
{
	(void)state;
	char dir[256], path[300], out[256];
	unsigned words, listlen, bits;
	pl_err e;

	pl_test_tmpdir(dir, sizeof dir, "pass-gen");
	snprintf(path, sizeof path, "%s/words", dir);
	write_words(path);
	pl_err_clear(&e);
	int differ = 0;
	char first[256] = "";
	for (int round = 0; round < 20; round++) {
		assert_int_equal(
		    pl_passphrase_generate(out, sizeof out, path, &words, &listlen, &bits, &e), 0);
		assert_int_equal(listlen, 3001);
		/* log2(3001) = 11.55: 6 words give 69 bits, over the 64 needed. */
		assert_int_equal(words, 6);
		assert_int_equal(bits, 69);
		assert_int_equal(strlen(out), 6 * 4 + 5);
		for (int w = 0; w < 6; w++) {
			const char *p = out + w * 5;
			assert_int_equal(p[0], 'w');
			for (int c = 1; c < 4; c++)
				assert_true(p[c] >= 'a' && p[c] <= 'z');
			assert_int_equal(p[4], w < 5 ? '-' : '\0');
		}
		assert_int_equal(pl_passphrase_check(out, strlen(out), &e), 0);
		if (round == 0)
			memcpy(first, out, sizeof first);
		else if (strcmp(first, out) != 0)
			differ = 1;
	}
	assert_true(differ);

	/* Too small a list, a missing one, no room: refused, out wiped. */
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs("one\ntwo\nsix\n", f);
	fclose(f);
	assert_int_equal(pl_passphrase_generate(out, sizeof out, path, &words, &listlen, &bits, &e),
			 -1);
	assert_non_null(strstr(e.msg, "usable words"));
	snprintf(path, sizeof path, "%s/absent", dir);
	assert_int_equal(pl_passphrase_generate(out, sizeof out, path, &words, &listlen, &bits, &e),
			 -1);
	snprintf(path, sizeof path, "%s/words", dir);
	write_words(path);
	assert_int_equal(pl_passphrase_generate(out, 10, path, &words, &listlen, &bits, &e), -1);
	assert_int_equal(out[0], '\0');

	/* The system list, when installed (wamerican): 6 words, >= 64 bits. */
	if (access(PL_WORDS_PATH, R_OK) == 0) {
		assert_int_equal(pl_passphrase_generate(out, sizeof out, PL_WORDS_PATH, &words,
							&listlen, &bits, &e),
				 0);
		print_message("# %s: %u words of 3-8 letters a-z, %u words = %u bits\n",
			      PL_WORDS_PATH, listlen, words, bits);
		assert_true(words >= 6 && bits >= 64);
	}
	pl_test_rm_rf(dir);
}

static pl_vault *open_with(const char *dir, const char *pass, pl_err *e)
{
	pl_vault *v = NULL;
	pl_err_clear(e);
	if (pl_vault_open(&v, dir, pass, strlen(pass), e) != 0)
		return NULL;
	return v;
}

static void make_vault(char *dir, size_t cap, char *sub, size_t subcap, const char *tag)
{
	pl_err e;
	pl_test_tmpdir(dir, cap, tag);
	snprintf(sub, subcap, "%s/v", dir);
	pl_err_clear(&e);
	assert_int_equal(pl_vault_create_cost(sub, "Oman", RELAY, NULL, 0, OLD, strlen(OLD),
					      PL_VAULT_KDF_TEST_ONLY, &e),
			 0);
}

/* The KDF parameters in the open vault's sealed-file header. */
static void kdf_of(pl_vault *v, pl_kdf_params *k)
{
	*k = v->hdr.kdf;
}

static void test_change(void **state)
{
	(void)state;
	char dir[256], sub[300];
	pl_err e;
	uint8_t pk[PL_IK_LEN], token[PL_TOKEN_LEN];

	make_vault(dir, sizeof dir, sub, sizeof sub, "pass-change");
	pl_vault *v = open_with(sub, OLD, &e);
	assert_non_null(v);
	memcpy(pk, pl_vault_identity(v)->pk, sizeof pk);
	assert_int_equal(pl_vault_own_token(v, token, &e), 0);
	pl_kdf_params before, after;
	kdf_of(v, &before);
	assert_int_equal(before.mem, crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE);

	/* A weak new passphrase changes nothing. */
	assert_int_equal(pl_vault_passphrase_change(v, "weak", 4, PL_VAULT_KDF_TEST_ONLY, &e), -1);
	assert_int_equal(e.code, PL_EXIT_USAGE);
	assert_int_equal(pl_vault_passphrase_change(v, "", 0, PL_VAULT_KDF_TEST_ONLY, &e), -1);
	kdf_of(v, &after);
	assert_memory_equal(before.salt, after.salt, PL_KDF_SALT_LEN);

	assert_int_equal(
	    pl_vault_passphrase_change(v, NEW, strlen(NEW), PL_VAULT_KDF_TEST_ONLY, &e), 0);
	kdf_of(v, &after);
	assert_memory_not_equal(before.salt, after.salt, PL_KDF_SALT_LEN);
	pl_vault_close(v);

	assert_null(open_with(sub, OLD, &e));
	assert_int_equal(e.code, PL_EXIT_VAULT);
	assert_non_null(strstr(e.msg, "wrong passphrase"));
	v = open_with(sub, NEW, &e);
	assert_non_null(v);
	/* Everything sealed before the change still opens. */
	assert_memory_equal(pl_vault_identity(v)->pk, pk, sizeof pk);
	uint8_t token2[PL_TOKEN_LEN];
	assert_int_equal(pl_vault_own_token(v, token2, &e), 0);
	assert_memory_equal(token, token2, sizeof token);
	pl_vault_close(v);
	pl_test_rm_rf(dir);
}

/* The strong cost is what a vault gets unless a caller asks otherwise. */
static void test_strong_cost_recorded(void **state)
{
	(void)state;
	pl_kdf_params k;
	pl_vault_kdf_default(&k);
	assert_int_equal(k.ops, 3);
	assert_int_equal(k.mem, 256ull << 20);
	assert_true(k.mem > crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE);
	pl_vault_kdf_new(&k, PL_VAULT_KDF_TEST_ONLY);
	assert_int_equal(k.mem, crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE);
}

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* Runs one change in a child; returns its pid. */
static pid_t change_in_child(const char *sub)
{
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		pl_err e;
		pl_vault *v = open_with(sub, OLD, &e);
		int r =
		    v ? pl_vault_passphrase_change(v, NEW, strlen(NEW), PL_VAULT_KDF_TEST_ONLY, &e)
		      : -1;
		_exit(r == 0 ? 0 : 1);
	}
	return pid;
}

/* SIGKILL at spread-out moments of a change: afterwards exactly one of the
 * two passphrases opens the vault. */
static void test_change_killed(void **state)
{
	(void)state;
	char dir[256], sub[300];
	pl_err e;

	/* How long a whole change takes here, to spread the kills over it. */
	make_vault(dir, sizeof dir, sub, sizeof sub, "pass-kill");
	double t0 = now_s();
	pid_t pid = change_in_child(sub);
	assert_int_equal(pl_test_wait(pid, 20000), 0);
	double whole = now_s() - t0;
	pl_test_rm_rf(dir);

	int olds = 0, news = 0;
	const int rounds = 6;
	for (int i = 0; i < rounds; i++) {
		make_vault(dir, sizeof dir, sub, sizeof sub, "pass-kill");
		pid = change_in_child(sub);
		/* From the derivations to past the end of the change. */
		double at = whole * (0.4 + 1.0 * i / (rounds - 1));
		struct timespec ts = {(time_t)at, (long)((at - (double)(time_t)at) * 1e9)};
		nanosleep(&ts, NULL);
		kill(pid, SIGKILL);
		int st;
		assert_int_equal(waitpid(pid, &st, 0), pid);
		/* One open at a time: a second open in this process would wait
		 * out the first one's lock (30 s) and fail for that reason. */
		pl_vault *o = open_with(sub, OLD, &e);
		int old_ok = o != NULL;
		pl_vault_close(o);
		pl_vault *n = open_with(sub, NEW, &e);
		int new_ok = n != NULL;
		assert_true(new_ok || e.code == PL_EXIT_VAULT);
		pl_vault_close(n);
		assert_true(old_ok != new_ok);
		olds += old_ok;
		news += new_ok;
		pl_test_rm_rf(dir);
	}
	print_message("# killed %d changes: %d left the old passphrase, %d the new\n", rounds, olds,
		      news);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bits_estimate),
	    cmocka_unit_test(test_check_refuses_weak),
	    cmocka_unit_test(test_generate),
	    cmocka_unit_test(test_change),
	    cmocka_unit_test(test_strong_cost_recorded),
	    cmocka_unit_test(test_change_killed),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
