/*
 * test_relay_msgdir.c — src/relay/msgdir (the relay's in-memory directory of
 * stored envelopes) against a plain model, over thousands of random
 * transactions on a few mailboxes: adds, acknowledged prefixes, commits and
 * rollbacks. After each step every mailbox lists exactly the model's
 * messages in seq order from any starting point, every stored envelope is
 * among the candidates of its (mailbox, hash), and the count matches;
 * removals show only after commit, adds vanish on rollback; loading out of
 * order and sorting gives the same directory. Each mailbox's token and last
 * seq: refused without the token, seqs in order, undone by rollback, and
 * loaded as the larger of the stored last seq and the highest message.
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

#include "relay/msgdir.h"

#define BOXES 5
#define MAXMSG 6000

typedef struct {
	int box;
	uint64_t seq;
	int64_t id;
	uint8_t hash[32];
	int live;    /* committed state */
	int pending; /* 1 added in the open transaction, -1 removed in it, 2 both */
} msg;

static uint8_t key[BOXES][32];
static msg m[MAXMSG];
static size_t nm;
static uint64_t last_seq[BOXES];

static int setup(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

/* What the directory should show now: committed and not removed, plus
 * this transaction's adds; its removes still show until commit. */
static int visible(const msg *x)
{
	return x->live || x->pending == 1 || x->pending == 2;
}

static void check(const pl_msgdir *d)
{
	static uint64_t seqs[MAXMSG];
	static int64_t ids[MAXMSG];
	size_t total = 0;

	for (int b = 0; b < BOXES; b++) {
		size_t want = 0, n;
		uint64_t after = randombytes_uniform(4) == 0 && last_seq[b] > 0
				     ? randombytes_uniform((uint32_t)last_seq[b])
				     : 0;
		for (size_t i = 0; i < nm; i++)
			if (m[i].box == b && visible(&m[i]) && m[i].seq > after)
				want++;
		n = pl_msgdir_list(d, key[b], after, seqs, ids, MAXMSG);
		assert_int_equal(n, want);
		for (size_t i = 0; i < n; i++) {
			assert_true(seqs[i] > after);
			if (i > 0)
				assert_true(seqs[i] > seqs[i - 1]);
			size_t k;
			for (k = 0; k < nm; k++)
				if (m[k].id == ids[i])
					break;
			assert_true(k < nm && m[k].box == b && m[k].seq == seqs[i] &&
				    visible(&m[k]));
		}
	}
	for (size_t i = 0; i < nm; i++) {
		int64_t c[16];
		size_t n;
		if (!visible(&m[i]))
			continue;
		total++;
		n = pl_msgdir_candidates(d, key[m[i].box], m[i].hash, c, 16);
		assert_true(n >= 1 && n <= 16);
		size_t k;
		for (k = 0; k < n && c[k] != m[i].id; k++)
			;
		assert_true(k < n);
	}
	assert_int_equal(pl_msgdir_count(d), total);
}

static void test_random_transactions(void **state)
{
	(void)state;
	pl_msgdir *d = pl_msgdir_new();
	int64_t next_id = 1;
	int commits = 0, rollbacks = 0;

	assert_non_null(d);
	for (int b = 0; b < BOXES; b++)
		randombytes_buf(key[b], 32);
	for (int step = 0; step < 3000 && nm + 10 < MAXMSG; step++) {
		int ops = 1 + (int)randombytes_uniform(6);
		for (int o = 0; o < ops; o++) {
			int b = (int)randombytes_uniform(BOXES);
			if (randombytes_uniform(4) != 0) {
				msg *x = &m[nm++];
				memset(x, 0, sizeof *x);
				x->box = b;
				x->seq = ++last_seq[b];
				x->id = next_id++;
				randombytes_buf(x->hash, 32);
				if (randombytes_uniform(8) == 0 &&
				    nm > 1) /* the same envelope again */
					memcpy(x->hash,
					       m[randombytes_uniform((uint32_t)nm - 1)].hash, 32);
				x->pending = 1;
				assert_int_equal(
				    pl_msgdir_add(d, key[b], x->hash, x->seq, x->id, 1072), 0);
			} else if (last_seq[b] > 0) {
				uint64_t through = randombytes_uniform((uint32_t)last_seq[b] + 1);
				assert_int_equal(pl_msgdir_remove_through(d, key[b], through), 0);
				for (size_t i = 0; i < nm; i++)
					if (m[i].box == b && m[i].live && m[i].seq <= through &&
					    m[i].pending == 0)
						m[i].pending = -1;
				/* an ack in the same transaction as adds removes them too,
				 * at commit: model that */
				for (size_t i = 0; i < nm; i++)
					if (m[i].box == b && m[i].pending == 1 &&
					    m[i].seq <= through)
						m[i].pending = 2;
			}
		}
		if (randombytes_uniform(5) == 0) {
			pl_msgdir_rollback(d);
			rollbacks++;
			for (size_t i = 0; i < nm; i++) {
				if (m[i].pending == 1 || m[i].pending == 2) {
					/* never existed: seqs are not reused in the model,
					 * like the relay (the seq update rolled back too) */
					m[i].pending = 0;
					m[i].live = 0;
				} else {
					m[i].pending = 0;
				}
			}
		} else {
			pl_msgdir_commit(d);
			commits++;
			for (size_t i = 0; i < nm; i++) {
				if (m[i].pending == 1)
					m[i].live = 1;
				else if (m[i].pending == -1 || m[i].pending == 2)
					m[i].live = 0;
				m[i].pending = 0;
			}
		}
		check(d);
	}
	assert_true(commits > 100 && rollbacks > 10);

	/* the same content, loaded in random order and sorted */
	{
		pl_msgdir *e = pl_msgdir_new();
		static size_t order[MAXMSG];
		static uint64_t s1[MAXMSG], s2[MAXMSG];
		static int64_t i1[MAXMSG], i2[MAXMSG];
		for (size_t i = 0; i < nm; i++)
			order[i] = i;
		for (size_t i = nm; i > 1; i--) {
			size_t j = randombytes_uniform((uint32_t)i), t = order[i - 1];
			order[i - 1] = order[j];
			order[j] = t;
		}
		for (size_t i = 0; i < nm; i++) {
			msg *x = &m[order[i]];
			if (x->live)
				assert_int_equal(
				    pl_msgdir_load(e, key[x->box], x->hash, x->seq, x->id, 1072),
				    0);
		}
		pl_msgdir_sort(e);
		for (int b = 0; b < BOXES; b++) {
			size_t n1 = pl_msgdir_list(d, key[b], 0, s1, i1, MAXMSG);
			size_t n2 = pl_msgdir_list(e, key[b], 0, s2, i2, MAXMSG);
			assert_int_equal(n1, n2);
			assert_memory_equal(s1, s2, n1 * sizeof s1[0]);
			assert_memory_equal(i1, i2, n1 * sizeof i1[0]);
		}
		assert_int_equal(pl_msgdir_count(e), pl_msgdir_count(d));
		pl_msgdir_free(e);
	}
	pl_msgdir_free(d);
}

static void test_unknown_mailbox(void **state)
{
	(void)state;
	pl_msgdir *d = pl_msgdir_new();
	uint8_t k[32] = {1}, h[32] = {2};
	uint64_t s;
	int64_t id;

	assert_int_equal(pl_msgdir_list(d, k, 0, &s, &id, 1), 0);
	assert_int_equal(pl_msgdir_candidates(d, k, h, &id, 1), 0);
	assert_int_equal(pl_msgdir_remove_through(d, k, 10), 0);
	pl_msgdir_commit(d);
	assert_int_equal(pl_msgdir_add(d, k, h, 1, 0, 1072), -1); /* ids are > 0 */
	assert_int_equal(pl_msgdir_count(d), 0);
	pl_msgdir_free(d);
}

/* Each mailbox's token hash and last seq: a deposit needs the token, takes
 * the next seq; both follow the transaction (rollback restores them), and
 * loading takes the larger of the stored last seq and the highest message. */
static void test_mailbox_state(void **state)
{
	(void)state;
	pl_msgdir *d = pl_msgdir_new();
	uint8_t a[32] = {1}, b[32] = {2}, c[32] = {3}, t1[32] = {7}, t2[32] = {8}, h[32] = {9};
	uint64_t s = 99;

	assert_non_null(d);
	/* no mailbox: refused, nothing taken */
	assert_int_equal(pl_msgdir_next_seq(d, a, t1, &s), 1);
	assert_true(s == 0 && pl_msgdir_last_seq(d, a) == 0);
	assert_int_equal(pl_msgdir_token_ok(d, a, t1), 0);

	/* a token registered in a transaction that rolls back is gone */
	assert_int_equal(pl_msgdir_set_token(d, a, t1), 0);
	assert_int_equal(pl_msgdir_token_ok(d, a, t1), 1);
	assert_int_equal(pl_msgdir_token_ok(d, a, t2), 0);
	assert_int_equal(pl_msgdir_next_seq(d, a, t2, &s), 1);
	assert_int_equal(pl_msgdir_next_seq(d, a, t1, &s), 0);
	assert_true(s == 1);
	assert_int_equal(pl_msgdir_next_seq(d, a, t1, &s), 0);
	assert_true(s == 2 && pl_msgdir_last_seq(d, a) == 2);
	pl_msgdir_rollback(d);
	assert_int_equal(pl_msgdir_token_ok(d, a, t1), 0);
	assert_true(pl_msgdir_last_seq(d, a) == 0);
	assert_int_equal(pl_msgdir_next_seq(d, a, t1, &s), 1);

	/* committed: seqs continue; a rolled-back seq is given again */
	assert_int_equal(pl_msgdir_set_token(d, a, t1), 0);
	assert_int_equal(pl_msgdir_next_seq(d, a, t1, &s), 0);
	assert_int_equal(pl_msgdir_next_seq(d, a, t1, &s), 0);
	pl_msgdir_commit(d);
	assert_int_equal(pl_msgdir_next_seq(d, a, t1, &s), 0);
	assert_true(s == 3);
	pl_msgdir_rollback(d);
	assert_true(pl_msgdir_last_seq(d, a) == 2);
	assert_int_equal(pl_msgdir_next_seq(d, a, t1, &s), 0);
	assert_true(s == 3);
	pl_msgdir_commit(d);

	/* a replaced token: the new one only; rolled back: the old one again */
	assert_int_equal(pl_msgdir_set_token(d, a, t2), 0);
	assert_int_equal(pl_msgdir_token_ok(d, a, t1), 0);
	assert_int_equal(pl_msgdir_next_seq(d, a, t2, &s), 0);
	assert_true(s == 4);
	pl_msgdir_rollback(d);
	assert_int_equal(pl_msgdir_token_ok(d, a, t1), 1);
	assert_int_equal(pl_msgdir_token_ok(d, a, t2), 0);
	assert_true(pl_msgdir_last_seq(d, a) == 3);
	pl_msgdir_free(d);

	/* loading: the larger of the row's last seq and the highest message */
	d = pl_msgdir_new();
	assert_non_null(d);
	assert_int_equal(pl_msgdir_load_mailbox(d, a, t1, 5), 0);
	assert_int_equal(pl_msgdir_load(d, a, h, 9, 1, 1072), 0);
	assert_int_equal(pl_msgdir_load(d, a, h, 4, 2, 1072), 0);
	pl_msgdir_sort(d);
	assert_true(pl_msgdir_last_seq(d, a) == 9);
	assert_int_equal(pl_msgdir_next_seq(d, a, t1, &s), 0);
	assert_true(s == 10);
	/* a message loaded before its mailbox row: the row cannot lower it */
	assert_int_equal(pl_msgdir_load(d, b, h, 12, 3, 1072), 0);
	assert_int_equal(pl_msgdir_load_mailbox(d, b, NULL, 7), 0);
	assert_true(pl_msgdir_last_seq(d, b) == 12);
	assert_int_equal(pl_msgdir_next_seq(d, b, t1, &s), 1); /* no token */
	/* seqs are SQLite integers: past INT64_MAX none is given */
	assert_int_equal(pl_msgdir_load_mailbox(d, c, t1, (uint64_t)INT64_MAX), 0);
	pl_msgdir_sort(d); /* c holds no message: nothing to sort (UBSan: no qsort(NULL)) */
	assert_int_equal(pl_msgdir_next_seq(d, c, t1, &s), -1);
	assert_true(s == 0 && pl_msgdir_last_seq(d, c) == (uint64_t)INT64_MAX);
	pl_msgdir_free(d);
}

static void expect_usage(const pl_msgdir *d, const uint8_t *mbx, uint64_t msgs, uint64_t bytes)
{
	uint64_t m, b;
	pl_msgdir_usage(d, mbx, &m, &b);
	assert_true(m == msgs);
	assert_true(b == bytes);
}

/* What a mailbox holds, for its quota: added messages count at once, a
 * rollback takes them back, acknowledged ones go at the commit, and a
 * loaded directory counts what it loaded. */
static void test_usage(void **state)
{
	(void)state;
	pl_msgdir *d = pl_msgdir_new();
	uint8_t a[32] = {1}, b[32] = {2}, t[32] = {7}, h1[32] = {9}, h2[32] = {10}, h3[32] = {11};
	uint64_t s;

	assert_non_null(d);
	expect_usage(d, a, 0, 0); /* unknown */
	assert_int_equal(pl_msgdir_has(d, a), 0);
	assert_int_equal(pl_msgdir_set_token(d, a, t), 0);
	assert_int_equal(pl_msgdir_has(d, a), 1);
	assert_int_equal(pl_msgdir_next_seq(d, a, t, &s), 0);
	assert_int_equal(pl_msgdir_add(d, a, h1, s, 1, 1072), 0);
	assert_int_equal(pl_msgdir_next_seq(d, a, t, &s), 0);
	assert_int_equal(pl_msgdir_add(d, a, h2, s, 2, 65584), 0);
	expect_usage(d, a, 2, 1072 + 65584);
	pl_msgdir_commit(d);
	expect_usage(d, a, 2, 1072 + 65584);
	assert_int_equal(pl_msgdir_next_seq(d, a, t, &s), 0);
	assert_int_equal(pl_msgdir_add(d, a, h3, s, 3, 4144), 0);
	expect_usage(d, a, 3, 1072 + 65584 + 4144);
	pl_msgdir_rollback(d);
	expect_usage(d, a, 2, 1072 + 65584);
	/* acknowledged through seq 1: still counted until the commit */
	assert_int_equal(pl_msgdir_remove_through(d, a, 1), 0);
	expect_usage(d, a, 2, 1072 + 65584);
	pl_msgdir_commit(d);
	expect_usage(d, a, 1, 65584);
	expect_usage(d, b, 0, 0);
	pl_msgdir_free(d);

	d = pl_msgdir_new();
	assert_non_null(d);
	assert_int_equal(pl_msgdir_load(d, b, h1, 5, 1, 16432), 0);
	assert_int_equal(pl_msgdir_load(d, b, h2, 2, 2, 1072), 0);
	pl_msgdir_sort(d);
	expect_usage(d, b, 2, 16432 + 1072);
	assert_int_equal(pl_msgdir_remove_through(d, b, 2), 0);
	pl_msgdir_commit(d);
	expect_usage(d, b, 1, 16432);
	pl_msgdir_free(d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_random_transactions),
	    cmocka_unit_test(test_unknown_mailbox),
	    cmocka_unit_test(test_mailbox_state),
	    cmocka_unit_test(test_usage),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
