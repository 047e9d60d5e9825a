/*
 * fuzz_merkle_proof.c — libFuzzer target for the Merkle proof verifiers
 * (and the generator they are checked against).
 *
 * First byte picks a mode:
 *   0: raw — size1, size2, index (u64 each), leaf, root1, root2 (32 bytes
 *      each), then proof elements of 32 bytes; both verifiers run on
 *      whatever that says. They must return, quickly, whatever the sizes.
 *   1: oracle — over a fixed tree of 200 leaves (with its subtree store),
 *      the input picks sizes, an index, a leaf, a change to the proof's
 *      length and bytes to XOR into the proof. A true proof must verify;
 *      a changed one (other bytes, other length, other leaf) must not,
 *      since with the true root for the claimed size the proof is unique.
 * Must never crash, read out of bounds or accept a changed proof.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log/merkle.h"
#include "util/wire.h"

#define H PL_MERKLE_HASH_LEN
#define N 200

static uint8_t leaves[N][H];
static uint8_t nodes[8][N][H]; /* nodes[l][i], l = 1..7 */
static uint8_t roots[N + 1][H];

static int get_leaf(void *ctx, uint64_t i, uint8_t out[H])
{
	uint64_t lim = *(const uint64_t *)ctx;
	if (i >= lim)
		abort(); /* generation must never read past the size asked for */
	memcpy(out, leaves[i], H);
	return 0;
}

static int get_node(void *ctx, unsigned level, uint64_t i, uint8_t out[H])
{
	(void)ctx;
	if (level < 1 || level >= 8 || ((i + 1) << level) > N)
		return 0;
	memcpy(out, nodes[level][i], H);
	return 1;
}

static void init(void)
{
	uint64_t lim = N;
	pl_merkle_source src = {get_leaf, get_node, &lim};
	pl_merkle_node out[PL_MERKLE_APPEND_MAX];
	size_t cnt;
	if (sodium_init() < 0)
		abort();
	for (uint64_t i = 0; i < N; i++) {
		uint8_t d[8];
		pl_be64_put(d, i);
		pl_merkle_leaf_hash(leaves[i], d, sizeof d);
		lim = i;
		if (pl_merkle_store_append(&src, i, leaves[i], out, &cnt) != 0)
			abort();
		for (size_t j = 0; j < cnt; j++)
			memcpy(nodes[out[j].level][out[j].index], out[j].hash, H);
	}
	for (uint64_t s = 0; s <= N; s++) {
		lim = s;
		if (pl_merkle_root(&src, s, roots[s]) != 0)
			abort();
	}
}

static void raw(const uint8_t *d, size_t n)
{
	if (n < 24 + 3 * H)
		return;
	uint64_t s1 = pl_be64_get(d), s2 = pl_be64_get(d + 8), idx = pl_be64_get(d + 16);
	const uint8_t *leaf = d + 24, *r1 = d + 24 + H, *r2 = d + 24 + 2 * H;
	d += 24 + 3 * H;
	n -= 24 + 3 * H;
	size_t np = n / H;
	uint8_t(*proof)[H] = malloc(np ? np * H : 1);
	if (proof == NULL)
		abort();
	memcpy(proof, d, np * H);
	(void)pl_merkle_verify_inclusion(leaf, idx, s2, (const uint8_t(*)[H])proof, np, r2);
	(void)pl_merkle_verify_consistency(s1, s2, r1, r2, (const uint8_t(*)[H])proof, np);
	free(proof);
}

static void oracle(const uint8_t *d, size_t n)
{
	uint8_t p[PL_MERKLE_PROOF_MAX + 2][H], q[PL_MERKLE_PROOF_MAX + 2][H];
	size_t len;

	if (n < 6)
		return;
	uint64_t size = 1 + d[0] % N, index = d[1] % size, size1 = d[2] % (size + 1);
	uint64_t leaf_pick = d[3] % N;
	int delta = (int)(d[4] % 5) - 2;
	int which = d[5] & 1;
	d += 6;
	n -= 6;
	uint64_t lim = size;
	pl_merkle_source src = {get_leaf, get_node, &lim};

	if (which == 0) {
		if (pl_merkle_prove_inclusion(&src, index, size, p, &len) != 0)
			abort();
	} else {
		if (pl_merkle_prove_consistency(&src, size1, size, p, &len) != 0)
			abort();
	}
	memcpy(q, p, sizeof q);
	long qlen = (long)len + delta;
	if (qlen < 0)
		qlen = 0;
	for (size_t i = 0; i < n && i < (size_t)qlen * H; i++)
		q[i / H][i % H] ^= d[i];
	int same = (size_t)qlen == len && memcmp(q, p, len * H) == 0;
	const uint8_t(*qq)[H] = (const uint8_t(*)[H])q;
	int ok;
	if (which == 0) {
		ok = pl_merkle_verify_inclusion(leaves[leaf_pick], index, size, qq, (size_t)qlen,
						roots[size]) == 0;
		same = same && leaf_pick == index;
	} else {
		ok = pl_merkle_verify_consistency(size1, size, roots[size1], roots[size], qq,
						  (size_t)qlen) == 0;
	}
	if (ok != same)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	if (!ready) {
		init();
		ready = 1;
	}
	if (size < 1)
		return 0;
	if (data[0] & 1)
		oracle(data + 1, size - 1);
	else
		raw(data + 1, size - 1);
	return 0;
}
