/*
 * test_relay_tlog.c — src/relay/tlog (the relay's per-batch views of its
 * Merkle tree) against merkle.c over a plain array of leaves:
 *   - batches of random sizes (1 up to the view's limit, and empty ones),
 *     some rolled back: after each, the root equals the array's, the nodes
 *     each append reports are exactly pl_merkle_store_append's, and every
 *     leaf of every sealed batch has an inclusion proof that verifies and
 *     equals the array's proof;
 *   - a view refuses leaves outside its batch and appends beyond its limit;
 *   - a view outlives the tree that sealed it (reference counts);
 *   - starting from a stored tree of any size reads only the frontier.
 * Pure computation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "log/merkle.h"
#include "relay/tlog.h"

#define MAXN 1500

typedef struct {
	uint8_t h[MAXN][32];
	uint64_t n;
	unsigned reads; /* lookups through the source */
} arr;

static int arr_leaf(void *ctx, uint64_t i, uint8_t out[32])
{
	arr *a = ctx;
	a->reads++;
	if (i >= a->n)
		return -1;
	memcpy(out, a->h[i], 32);
	return 0;
}

/* Stored complete subtrees, computed on demand from the array. */
static int arr_node(void *ctx, unsigned level, uint64_t index, uint8_t out[32])
{
	arr *a = ctx;
	pl_merkle_source plain = {arr_leaf, NULL, a};
	uint64_t start = index << level, n = (uint64_t)1 << level;
	unsigned r = a->reads;
	if (level >= 63 || start + n > a->n)
		return 0;
	/* the root of the aligned range, from a temporary shifted view */
	static arr sub;
	memcpy(sub.h, a->h[start], n * 32);
	sub.n = n;
	plain.ctx = &sub;
	if (pl_merkle_root(&plain, n, out) != 0)
		return -1;
	a->reads = r + 1;
	return 1;
}

static int setup(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

static void check_root(const pl_tlog *t, arr *a)
{
	pl_merkle_source src = {arr_leaf, NULL, a};
	uint8_t want[32], got[32];
	assert_true(t->size == a->n);
	assert_int_equal(pl_merkle_root(&src, a->n, want), 0);
	assert_int_equal(pl_tlog_root(t, got), 0);
	assert_memory_equal(got, want, 32);
}

static void test_batches(void **state)
{
	(void)state;
	static arr a;
	pl_merkle_source src = {arr_leaf, NULL, &a};
	const size_t limit = 48;
	pl_tlog t;
	uint8_t note[8] = "note\n";
	int sealed = 0, rolled = 0;

	a.n = 0;
	assert_int_equal(pl_tlog_init(&t, &src, 0, limit), 0);
	check_root(&t, &a);
	while (a.n + limit < MAXN) {
		size_t want = randombytes_uniform(5) == 0 ? 0 : 1 + randombytes_uniform(limit);
		uint64_t base = a.n;
		assert_true(pl_tlog_base(&t) == base);
		for (size_t i = 0; i < want; i++) {
			pl_merkle_node nodes[PL_MERKLE_APPEND_MAX], wantn[PL_MERKLE_APPEND_MAX];
			size_t cnt, wcnt;
			uint8_t leaf[32];
			randombytes_buf(leaf, 32);
			a.n = t.size;
			assert_int_equal(pl_merkle_store_append(&src, a.n, leaf, wantn, &wcnt), 0);
			assert_int_equal(pl_tlog_append(&t, leaf, nodes, &cnt), 0);
			assert_int_equal(cnt, wcnt);
			for (size_t k = 0; k < cnt; k++) {
				assert_int_equal(nodes[k].level, wantn[k].level);
				assert_true(nodes[k].index == wantn[k].index);
				assert_memory_equal(nodes[k].hash, wantn[k].hash, 32);
			}
			memcpy(a.h[a.n], leaf, 32);
			a.n++;
			if (i + 1 == want || randombytes_uniform(8) == 0)
				check_root(&t, &a);
		}
		if (want > 0 && randombytes_uniform(4) == 0) {
			/* the transaction failed: back to the batch's start */
			pl_tlog_rollback(&t);
			a.n = base;
			check_root(&t, &a);
			rolled++;
			continue;
		}
		if (want == 0)
			continue; /* nothing to seal: the relay keeps its view */
		pl_tlog_view *v = pl_tlog_seal(&t, note, 5);
		assert_non_null(v);
		sealed++;
		assert_true(pl_tlog_view_size(v) == a.n && pl_tlog_view_base(v) == base);
		size_t nl;
		assert_memory_equal(pl_tlog_view_note(v, &nl), note, 5);
		assert_int_equal(nl, 5);
		uint8_t root[32];
		for (uint64_t i = base; i < a.n; i++) {
			uint8_t p1[PL_MERKLE_PROOF_MAX][32], p2[PL_MERKLE_PROOF_MAX][32];
			size_t n1, n2;
			assert_int_equal(pl_tlog_view_prove(v, i, p1, &n1), 0);
			assert_int_equal(pl_merkle_prove_inclusion(&src, i, a.n, p2, &n2), 0);
			assert_int_equal(n1, n2);
			assert_memory_equal(p1, p2, n1 * 32);
			if (i == base)
				assert_int_equal(pl_merkle_root(&src, a.n, root), 0);
			assert_int_equal(pl_merkle_verify_inclusion(
					     a.h[i], i, a.n, (const uint8_t(*)[32])p1, n1, root),
					 0);
		}
		/* outside the batch: refused, never guessed */
		uint8_t p[PL_MERKLE_PROOF_MAX][32];
		size_t n;
		if (base > 0)
			assert_int_equal(pl_tlog_view_prove(v, base - 1, p, &n), -1);
		assert_int_equal(pl_tlog_view_prove(v, a.n, p, &n), -1);
		/* appends after sealing do not touch the sealed view */
		pl_tlog_view_unref(v);
	}
	assert_true(sealed > 10 && rolled > 0);
	pl_tlog_free(&t);
}

static void test_limits_and_refs(void **state)
{
	(void)state;
	static arr a;
	pl_merkle_source src = {arr_leaf, NULL, &a};
	pl_tlog t;
	pl_merkle_node nodes[PL_MERKLE_APPEND_MAX];
	uint8_t leaf[32] = {1}, root1[32], root2[32], p[PL_MERKLE_PROOF_MAX][32];
	size_t cnt, n;

	a.n = 0;
	assert_int_equal(pl_tlog_init(&t, &src, 0, 3), 0);
	for (int i = 0; i < 3; i++)
		assert_int_equal(pl_tlog_append(&t, leaf, nodes, &cnt), 0);
	assert_int_equal(pl_tlog_append(&t, leaf, nodes, &cnt), -1); /* the view is full */
	assert_true(t.size == 3);
	assert_int_equal(pl_tlog_root(&t, root1), 0);
	pl_tlog_view *v = pl_tlog_seal(&t, (const uint8_t *)"x\n", 2);
	assert_non_null(v);
	pl_tlog_view_ref(v, 2);
	/* the next batch has room again, and the sealed view is unchanged */
	for (int i = 0; i < 3; i++)
		assert_int_equal(pl_tlog_append(&t, leaf, nodes, &cnt), 0);
	pl_tlog_free(&t);
	assert_int_equal(pl_tlog_view_prove(v, 2, p, &n), 0);
	assert_int_equal(pl_merkle_verify_inclusion(leaf, 2, 3, (const uint8_t(*)[32])p, n, root1),
			 0);
	pl_tlog_view_unref(v);
	pl_tlog_view_unref(v);
	assert_int_equal(pl_tlog_view_prove(v, 0, p, &n), 0);
	pl_tlog_view_unref(v); /* the last reference frees it */
	/* a note too long for a view is refused */
	assert_int_equal(pl_tlog_init(&t, &src, 0, 3), 0);
	static uint8_t big[PL_LEAF_NOTE_MAX + 1];
	assert_null(pl_tlog_seal(&t, big, sizeof big));
	assert_null(pl_tlog_seal(&t, big, 0));
	pl_tlog_free(&t);
	(void)root2;
}

static void test_init_from_store(void **state)
{
	(void)state;
	static arr a;
	pl_merkle_source full = {arr_leaf, arr_node, &a};
	pl_merkle_source plain = {arr_leaf, NULL, &a};
	pl_tlog t;
	uint8_t want[32], got[32], leaf[32];
	pl_merkle_node nodes[PL_MERKLE_APPEND_MAX];
	size_t cnt;

	for (uint64_t i = 0; i < 1100; i++)
		randombytes_buf(a.h[i], 32);
	for (uint64_t size = 0; size < 1100; size += 1 + randombytes_uniform(37)) {
		a.n = size;
		a.reads = 0;
		assert_int_equal(pl_tlog_init(&t, &full, size, 16), 0);
		/* one lookup per level at most */
		assert_true(a.reads <= 64);
		assert_int_equal(pl_tlog_root(&t, got), 0);
		assert_int_equal(pl_merkle_root(&plain, size, want), 0);
		assert_memory_equal(got, want, 32);
		/* and appending goes on from there */
		randombytes_buf(leaf, 32);
		assert_int_equal(pl_tlog_append(&t, leaf, nodes, &cnt), 0);
		memcpy(a.h[size], leaf, 32);
		a.n = size + 1;
		assert_int_equal(pl_tlog_root(&t, got), 0);
		assert_int_equal(pl_merkle_root(&plain, size + 1, want), 0);
		assert_memory_equal(got, want, 32);
		pl_tlog_free(&t);
		randombytes_buf(a.h[size], 32);
	}
	/* a source that lacks a stored subtree cannot start a tree */
	a.n = 6;
	assert_int_equal(pl_tlog_init(&t, &plain, 6, 16), -1);
	assert_int_equal(pl_tlog_init(&t, &full, 7, 16), -1); /* beyond the leaves */
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_batches),
	    cmocka_unit_test(test_limits_and_refs),
	    cmocka_unit_test(test_init_from_store),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
