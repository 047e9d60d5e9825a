/*
 * unlock_bench.c — what a person waits for at every unlock: pl_vault_open of
 * a vault at the cost new vaults get (Argon2id, 256 MiB, 3 passes) beside
 * one at libsodium's INTERACTIVE cost (64 MiB, 2 passes; the cost vaults had
 * before, the peer), interleaved, median of ROUNDS each.
 *
 *   unlock_bench DIR [ROUNDS]     (DIR: an empty scratch folder)
 *
 * Must never leave a vault behind in DIR's parent or time anything but the
 * open: both vaults are made before the clock starts.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vault/vault.h"

#define PASS "bench unlock passphrase"
#define MAXR 101

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec * 1e3 + (double)t.tv_nsec / 1e6;
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static int one_open(const char *dir, double *ms)
{
	pl_vault *v;
	pl_err e;
	pl_err_clear(&e);
	double t = now_ms();
	if (pl_vault_open(&v, dir, PASS, strlen(PASS), &e) != 0) {
		fprintf(stderr, "unlock_bench: %s\n", e.msg);
		return -1;
	}
	*ms = now_ms() - t;
	pl_vault_close(v);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: unlock_bench DIR [ROUNDS]\n");
		return 2;
	}
	int rounds = argc > 2 ? atoi(argv[2]) : 5;
	if (rounds < 1 || rounds > MAXR)
		rounds = 5;
	char strong[4096], cheap[4096];
	snprintf(strong, sizeof strong, "%s/strong", argv[1]);
	snprintf(cheap, sizeof cheap, "%s/interactive", argv[1]);
	pl_err e;
	pl_err_clear(&e);
	if (pl_vault_create(strong, "Strong", "http://127.0.0.1:9", NULL, 0, PASS, strlen(PASS),
			    &e) != 0 ||
	    pl_vault_create_cost(cheap, "Interactive", "http://127.0.0.1:9", NULL, 0, PASS,
				 strlen(PASS), PL_VAULT_KDF_TEST_ONLY, &e) != 0) {
		fprintf(stderr, "unlock_bench: %s\n", e.msg);
		return 1;
	}
	double s[MAXR], c[MAXR];
	for (int i = 0; i < rounds; i++)
		if (one_open(strong, &s[i]) != 0 || one_open(cheap, &c[i]) != 0)
			return 1;
	double ms = median(s, rounds), mc = median(c, rounds);
	printf("unlock (pl_vault_open, median of %d): 256 MiB x 3 passes %.0f ms, "
	       "INTERACTIVE 64 MiB x 2 passes %.0f ms, ratio %.1fx\n",
	       rounds, ms, mc, ms / mc);
	return 0;
}
