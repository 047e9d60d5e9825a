/*
 * commit_bench.c — what a sealed vault costs per change: one commit through
 * the vault (pl_vault_set_u64: the image sealed whole, written, flushed,
 * renamed, the folder flushed, the old file overwritten) beside the peer,
 * one commit of the same row in a plain SQLite file of the same content in
 * WAL mode with synchronous=FULL (how the vault stored itself before, in
 * clear). Both on the same disk, interleaved, median of ROUNDS, for a new
 * vault and one grown to about 4 MB of items.
 *
 *   commit_bench DIR [ROUNDS]     (DIR: an empty scratch folder)
 */
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "vault/vault_int.h"

#define PASS "bench commit passphrase"
#define MAXR 201

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

/* Grows the vault by n items of 60 KB to one contact. */
static int grow(pl_vault *v, int n, pl_err *e)
{
	pl_contact c;
	memset(&c, 0, sizeof c);
	snprintf(c.name, sizeof c.name, "Iran");
	uint8_t sk[64];
	crypto_sign_keypair(c.ik, sk);
	sodium_memzero(sk, sizeof sk);
	if (pl_vault_contact_put(v, &c, e) != 0)
		return -1;
	static uint8_t body[60000];
	for (int i = 0; i < n; i++) {
		pl_item it;
		memset(&it, 0, sizeof it);
		snprintf(it.contact, sizeof it.contact, "Iran");
		randombytes_buf(it.id, sizeof it.id);
		randombytes_buf(body, sizeof body);
		it.dir = PL_DIR_OUT;
		it.kind = 1;
		it.time = 1767225600;
		strcpy(it.state, "delivered");
		pl_wr_init(&it.body);
		pl_wr_bytes(&it.body, body, sizeof body);
		int r = pl_vault_item_add(v, &it, e);
		pl_wr_free(&it.body);
		if (r != 0)
			return -1;
	}
	return 0;
}

/* The peer: the same image as a plain SQLite file in WAL mode. */
static sqlite3 *plain_copy(pl_vault *v, const char *path)
{
	FILE *f = fopen(path, "wb");
	if (f == NULL || fwrite(v->mem.buf, 1, v->mem.n, f) != v->mem.n) {
		if (f)
			fclose(f);
		return NULL;
	}
	fclose(f);
	sqlite3 *db;
	if (sqlite3_open(path, &db) != SQLITE_OK ||
	    sqlite3_exec(db, "PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL", NULL, NULL,
			 NULL) != SQLITE_OK)
		return NULL;
	return db;
}

static int run(const char *dir, const char *label, int items, int rounds)
{
	pl_vault *v;
	pl_err e;
	pl_err_clear(&e);
	if (pl_vault_create_cost(dir, "Bench", "http://127.0.0.1:9", NULL, 0, PASS, strlen(PASS),
				 PL_VAULT_KDF_TEST_ONLY, &e) != 0 ||
	    pl_vault_open(&v, dir, PASS, strlen(PASS), &e) != 0 || grow(v, items, &e) != 0) {
		fprintf(stderr, "commit_bench: %s\n", e.msg);
		return -1;
	}
	char plain[4200];
	snprintf(plain, sizeof plain, "%s.plain.db", dir);
	sqlite3 *db = plain_copy(v, plain);
	sqlite3_stmt *st;
	if (db == NULL ||
	    sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO counters(k, v) VALUES('bench', ?1)", -1,
			       &st, NULL) != SQLITE_OK) {
		fprintf(stderr, "commit_bench: cannot make the plain peer\n");
		return -1;
	}
	double s[MAXR], p[MAXR];
	for (int i = 0; i < rounds; i++) {
		double t = now_ms();
		if (pl_vault_set_u64(v, "bench", (uint64_t)i, &e) != 0) {
			fprintf(stderr, "commit_bench: %s\n", e.msg);
			return -1;
		}
		s[i] = now_ms() - t;
		t = now_ms();
		sqlite3_bind_int64(st, 1, i);
		if (sqlite3_step(st) != SQLITE_DONE) {
			fprintf(stderr, "commit_bench: %s\n", sqlite3_errmsg(db));
			return -1;
		}
		sqlite3_reset(st);
		p[i] = now_ms() - t;
	}
	size_t bytes = v->mem.n;
	double ms = median(s, rounds), mp = median(p, rounds);
	printf("commit, %s (%zu KB image, median of %d): sealed vault.pv %.2f ms, plain SQLite "
	       "WAL synchronous=FULL %.2f ms, ratio %.1fx\n",
	       label, bytes / 1024, rounds, ms, mp, ms / mp);
	sqlite3_finalize(st);
	sqlite3_close(db);
	pl_vault_close(v);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc < 2) {
		fprintf(stderr, "usage: commit_bench DIR [ROUNDS]\n");
		return 2;
	}
	int rounds = argc > 2 ? atoi(argv[2]) : 21;
	if (rounds < 1 || rounds > MAXR)
		rounds = 21;
	char a[4096], b[4096];
	snprintf(a, sizeof a, "%s/new", argv[1]);
	snprintf(b, sizeof b, "%s/grown", argv[1]);
	return run(a, "a new vault", 0, rounds) == 0 &&
		       run(b, "a vault of 64 items of 60 KB", 64, rounds) == 0
		   ? 0
		   : 1;
}
