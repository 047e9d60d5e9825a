/*
 * log_bench.c — the relay log's Merkle proofs at the size the issue asks
 * about: generation and verification of inclusion and consistency proofs
 * for a tree of 1,000,000 leaves, beside the floor of the SHA-256 work
 * each one needs, measured in the same run.
 *
 * The tree is built in memory the way the relay builds it: every leaf goes
 * through pl_merkle_store_append and the complete-subtree hashes it returns
 * are kept in per-level arrays, which the generator reads back through the
 * pl_merkle_source callbacks (a stand-in for the relay's SQLite table, so
 * this measures the hashing and the walk, not the database).
 *
 * The floor for one operation = (SHA-256 calls it cannot avoid) × (the
 * measured time of one SHA-256 over a 65-byte input, 0x01 ‖ left ‖ right,
 * which is two compression-function calls). The calls counted are:
 *   inclusion verify   one per proof element (RFC 9162 §2.1.3.2);
 *   consistency verify what RFC 9162 §2.1.4.2 does: two per element that
 *                      extends both roots, one per element that extends
 *                      only the new one;
 *   proof generation   with every complete subtree stored, only the proof
 *                      elements that are not complete subtrees are
 *                      computed, each from its popcount(size) stored parts
 *                      with popcount − 1 node hashes.
 *
 * Usage: log_bench [LEAVES [OPS]]   (defaults 1000000 and 20000)
 * Link: cc -std=c11 -O2 -DNDEBUG -Isrc bench/log_bench.c
 *       build-bench/libparley.a $(pkg-config --libs libsodium)
 */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "log/merkle.h"

#define H PL_MERKLE_HASH_LEN

typedef struct {
	uint8_t (*leaves)[H];
	uint8_t (*nodes[64])[H];
	uint64_t nnodes[64];
	uint64_t n;
} mem_tree;

static int get_leaf(void *ctx, uint64_t i, uint8_t out[H])
{
	mem_tree *t = ctx;
	if (i >= t->n)
		return -1;
	memcpy(out, t->leaves[i], H);
	return 0;
}

static int get_node(void *ctx, unsigned level, uint64_t i, uint8_t out[H])
{
	mem_tree *t = ctx;
	if (level >= 64 || i >= t->nnodes[level])
		return 0;
	memcpy(out, t->nodes[level][i], H);
	return 1;
}

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t split_point(uint64_t n)
{
	return (uint64_t)1 << (63 - __builtin_clzll(n - 1));
}

static unsigned range_cost(uint64_t n)
{
	return (unsigned)__builtin_popcountll(n) - 1;
}

/* Node hashes the generator cannot avoid, given the complete-subtree store. */
static unsigned gen_floor_inclusion(uint64_t m, uint64_t n)
{
	unsigned c = 0;
	while (n > 1) {
		uint64_t k = split_point(n);
		if (m < k) {
			c += range_cost(n - k);
			n = k;
		} else {
			m -= k;
			n -= k;
		}
	}
	return c;
}

static unsigned gen_floor_consistency(uint64_t m, uint64_t n)
{
	unsigned c = 0;
	int whole = 1;
	if (m == 0 || m == n)
		return 0;
	while (m != n) {
		uint64_t k = split_point(n);
		if (m <= k) {
			c += range_cost(n - k);
			n = k;
		} else {
			m -= k;
			n -= k;
			whole = 0;
		}
	}
	return whole ? c : c + range_cost(m);
}

/* SHA-256 calls of RFC 9162 §2.1.4.2 for 0 < m < n and a proof of len. */
static unsigned verify_floor_consistency(uint64_t m, uint64_t n, size_t len)
{
	unsigned c = 0;
	size_t i = (m & (m - 1)) == 0 ? 0 : 1;
	uint64_t fn = m - 1, sn = n - 1;
	while (fn & 1) {
		fn >>= 1;
		sn >>= 1;
	}
	for (; i < len; i++) {
		if ((fn & 1) || fn == sn) {
			c += 2;
			while (!(fn & 1) && fn) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			c += 1;
		}
		fn >>= 1;
		sn >>= 1;
	}
	return c;
}

static void die(const char *what)
{
	fprintf(stderr, "log_bench: %s\n", what);
	exit(1);
}

/* Mean time of one SHA-256 over 65 bytes, chained so nothing is elided. */
static double sha256_65_seconds(void)
{
	uint8_t buf[65] = {0x01};
	const int reps = 2000000;
	double best = 1e9;
	for (int round = 0; round < 3; round++) {
		double t0 = now_s();
		for (int i = 0; i < reps; i++)
			crypto_hash_sha256(buf + 1, buf, sizeof buf);
		double t = (now_s() - t0) / reps;
		if (t < best)
			best = t;
	}
	if (buf[1] == 0 && buf[2] == 0 && buf[3] == 0)
		fprintf(stderr, "(unlikely hash)\n");
	return best;
}

typedef struct {
	const char *name;
	double seconds;
	double calls; /* floor SHA-256 calls, summed */
	double len;   /* proof elements, summed */
	int ops;
} row;

static void print_row(const row *r, double t_hash)
{
	double us = r->seconds / r->ops * 1e6;
	double calls = r->calls / r->ops;
	double floor_us = calls * t_hash * 1e6;
	printf("%-22s %10.2f %8.1f %10.2f %10.3f ", r->name, us, r->len / r->ops, calls, floor_us);
	if (floor_us > 0)
		printf("%8.1f\n", us / floor_us);
	else
		printf("%8s\n", "-");
}

int main(int argc, char **argv)
{
	uint64_t n = argc > 1 ? strtoull(argv[1], NULL, 10) : 1000000;
	int ops = argc > 2 ? atoi(argv[2]) : 20000;
	mem_tree t;
	pl_merkle_node nodes[PL_MERKLE_APPEND_MAX];
	size_t cnt;

	if (sodium_init() < 0 || n < 2 || ops < 1)
		die("usage: log_bench [LEAVES >= 2 [OPS >= 1]]");
	memset(&t, 0, sizeof t);
	t.leaves = malloc(n * H);
	if (t.leaves == NULL)
		die("out of memory");
	for (unsigned l = 1; l < 64 && (n >> l) > 0; l++)
		if ((t.nodes[l] = malloc((n >> l) * H)) == NULL)
			die("out of memory");
	pl_merkle_source src = {get_leaf, get_node, &t};

	/* build: leaf hash of the 8-byte index, then the append */
	double t0 = now_s();
	for (uint64_t i = 0; i < n; i++) {
		uint8_t d[8];
		for (int b = 0; b < 8; b++)
			d[b] = (uint8_t)(i >> (56 - 8 * b));
		pl_merkle_leaf_hash(t.leaves[i], d, sizeof d);
		t.n = i;
		if (pl_merkle_store_append(&src, i, t.leaves[i], nodes, &cnt) != 0)
			die("append failed");
		for (size_t j = 0; j < cnt; j++) {
			if (nodes[j].index != t.nnodes[nodes[j].level])
				die("append out of order");
			memcpy(t.nodes[nodes[j].level][nodes[j].index], nodes[j].hash, H);
			t.nnodes[nodes[j].level]++;
		}
	}
	t.n = n;
	double build_s = now_s() - t0;

	uint8_t root[H];
	t0 = now_s();
	for (int i = 0; i < ops; i++)
		if (pl_merkle_root(&src, n, root) != 0)
			die("root failed");
	row r_root = {"root (from store)", now_s() - t0, (double)range_cost(n) * ops, 0, ops};

	uint64_t *idx = malloc((size_t)ops * sizeof *idx);
	uint8_t(*proofs)[PL_MERKLE_PROOF_MAX][H] = malloc((size_t)ops * sizeof *proofs);
	size_t *lens = malloc((size_t)ops * sizeof *lens);
	uint8_t(*roots1)[H] = malloc((size_t)ops * H);
	if (idx == NULL || proofs == NULL || lens == NULL || roots1 == NULL)
		die("out of memory");

	/* inclusion */
	for (int i = 0; i < ops; i++)
		idx[i] = randombytes_uniform((uint32_t)n);
	row r_ig = {"inclusion generate", 0, 0, 0, ops};
	t0 = now_s();
	for (int i = 0; i < ops; i++)
		if (pl_merkle_prove_inclusion(&src, idx[i], n, proofs[i], &lens[i]) != 0)
			die("prove inclusion failed");
	r_ig.seconds = now_s() - t0;
	row r_iv = {"inclusion verify", 0, 0, 0, ops};
	t0 = now_s();
	for (int i = 0; i < ops; i++)
		if (pl_merkle_verify_inclusion(t.leaves[idx[i]], idx[i], n,
					       (const uint8_t(*)[H])proofs[i], lens[i], root) != 0)
			die("inclusion proof did not verify");
	r_iv.seconds = now_s() - t0;
	for (int i = 0; i < ops; i++) {
		r_ig.calls += gen_floor_inclusion(idx[i], n);
		r_ig.len += (double)lens[i];
		r_iv.calls += (double)lens[i];
		r_iv.len += (double)lens[i];
	}

	/* consistency from a random earlier size to the full tree */
	for (int i = 0; i < ops; i++) {
		idx[i] = 1 + randombytes_uniform((uint32_t)(n - 1));
		if (pl_merkle_root(&src, idx[i], roots1[i]) != 0)
			die("root failed");
	}
	row r_cg = {"consistency generate", 0, 0, 0, ops};
	t0 = now_s();
	for (int i = 0; i < ops; i++)
		if (pl_merkle_prove_consistency(&src, idx[i], n, proofs[i], &lens[i]) != 0)
			die("prove consistency failed");
	r_cg.seconds = now_s() - t0;
	row r_cv = {"consistency verify", 0, 0, 0, ops};
	t0 = now_s();
	for (int i = 0; i < ops; i++)
		if (pl_merkle_verify_consistency(idx[i], n, roots1[i], root,
						 (const uint8_t(*)[H])proofs[i], lens[i]) != 0)
			die("consistency proof did not verify");
	r_cv.seconds = now_s() - t0;
	for (int i = 0; i < ops; i++) {
		r_cg.calls += gen_floor_consistency(idx[i], n);
		r_cg.len += (double)lens[i];
		r_cv.calls += verify_floor_consistency(idx[i], n, lens[i]);
		r_cv.len += (double)lens[i];
	}

	double t_hash = sha256_65_seconds();
	printf("log_bench: %llu leaves, %d operations each (random index / old size)\n",
	       (unsigned long long)n, ops);
	printf("build: %.2f s (%.2f us per append, store included)\n", build_s, build_s / n * 1e6);
	printf("SHA-256 of 65 bytes (2 compressions): %.1f ns\n\n", t_hash * 1e9);
	printf("%-22s %10s %8s %10s %10s %8s\n", "operation", "us/op", "elems", "sha256/op",
	       "floor us", "x floor");
	print_row(&r_root, t_hash);
	print_row(&r_ig, t_hash);
	print_row(&r_iv, t_hash);
	print_row(&r_cg, t_hash);
	print_row(&r_cv, t_hash);
	printf("\n(generation reads stored subtree hashes through callbacks: its cost above the\n"
	       " floor is that walk; floor 0 means every proof element was a stored subtree)\n");

	free(idx);
	free(proofs);
	free(lens);
	free(roots1);
	for (unsigned l = 0; l < 64; l++)
		free(t.nodes[l]);
	free(t.leaves);
	return 0;
}
