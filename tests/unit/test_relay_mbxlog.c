/*
 * test_relay_mbxlog.c — GET /log/mailbox/{mbx} on the real parley-relay
 * (127.0.0.1), through the client call pl_rc_mbxlog: three mailboxes get
 * interleaved deposits and acks (one of them more than a page), and for
 * each mailbox, kind and start the answer must list exactly the leaves the
 * whole log (GET /log/leaves) holds for it, oldest first, paged at 256,
 * every proof verifying against the relay's signed checkpoint of the asked
 * size (the newest and an older one). Bad queries are refused with 400 or
 * 404 (unsigned size, size beyond the newest, start above size, bad hex,
 * bad kind, sloppy numbers, extra parameters) and the relay still answers;
 * after a restart the index is rebuilt and answers byte for byte the same,
 * and new leaves join it. Every wait is bounded; the relay is stopped and
 * its directory removed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/relay_client.h"
#include "crypto/kdf.h"
#include "envelope/envelope.h"
#include "identity/identity.h"
#include "log/leaf.h"
#include "log/merkle.h"
#include "log/note.h"
#include "log/receipt.h"
#include "relay/proto.h"
#include "util/codec.h"

#include "support.h"

#define NBOX 3
#define BIG_DEPOSITS 270 /* mailbox 0: more than one page */

static struct {
	char dir[64], data[128];
	pl_test_relay r;
	uint8_t rpk[32];
	pl_identity id[NBOX];
	uint8_t mbx[NBOX][32];
	uint8_t token[NBOX][32];
	uint64_t last_seq[NBOX];
} F;

static pl_rc_conn *conn(void)
{
	pl_rc_conn *c;
	pl_err e;
	if (pl_rc_open(&c, F.r.url, NULL, &e) != 0)
		fail_msg("open: %s", e.msg);
	return c;
}

static void deposit_as(pl_rc_conn *c, int box, uint64_t *seq)
{
	uint8_t *env = NULL;
	size_t envlen = 0;
	pl_receipt rec;
	pl_err e;

	assert_int_equal(pl_envelope_seal(&env, &envlen, F.id[box].pk, F.id[(box + 1) % NBOX].pk,
					  (const uint8_t *)"x", 1),
			 0);
	if (pl_rc_deposit(c, F.rpk, F.id[box].pk, F.token[box], env, envlen, &rec, &e) != 0)
		fail_msg("deposit: %s", e.msg);
	if (seq != NULL)
		*seq = rec.seq;
	free(env);
}

static void deposit(pl_rc_conn *c, int box)
{
	deposit_as(c, box, &F.last_seq[box]);
}

static void ack(pl_rc_conn *c, int box)
{
	pl_err e;
	pl_auth_ack a;
	memset(&a, 0, sizeof a);
	a.through = F.last_seq[box];
	if (pl_rc_ack(c, &F.id[box], &a, &e) != 0)
		fail_msg("ack: %s", e.msg);
}

/* The newest checkpoint, opened with the relay key. */
static void latest(pl_rc_conn *c, pl_checkpoint *cp, uint8_t note[PL_LEAF_NOTE_MAX])
{
	uint8_t *body;
	size_t n;
	pl_err e;
	if (pl_rc_get_raw(c, "/log/checkpoint", PL_LEAF_NOTE_MAX, &body, &n, "checkpoint", &e) != 0)
		fail_msg("checkpoint: %s", e.msg);
	memcpy(note, body, n);
	free(body);
	assert_int_equal(pl_leaf_checkpoint_open(cp, note, n, F.rpk), 0);
}

/* The signed checkpoint of `size` (GET /log/checkpoint?size=). */
static void checkpoint_of(pl_rc_conn *c, uint64_t size, pl_checkpoint *cp,
			  uint8_t note[PL_LEAF_NOTE_MAX])
{
	char path[64];
	uint8_t *body;
	size_t n;
	pl_err e;
	snprintf(path, sizeof path, "/log/checkpoint?size=%llu", (unsigned long long)size);
	if (pl_rc_get_raw(c, path, PL_LEAF_NOTE_MAX, &body, &n, "checkpoint", &e) != 0)
		fail_msg("checkpoint %llu: %s", (unsigned long long)size, e.msg);
	memcpy(note, body, n);
	free(body);
	assert_int_equal(pl_leaf_checkpoint_open(cp, note, n, F.rpk), 0);
	assert_int_equal(cp->size, size);
}

/* Ground truth: the type and mailbox of every leaf below size, read from
 * the whole log. */
typedef struct {
	uint8_t type;
	uint8_t mbx[32];
} leaf_info;

static leaf_info *all_leaves(pl_rc_conn *c, uint64_t size)
{
	leaf_info *v = calloc(size + 1, sizeof *v);
	assert_non_null(v);
	for (uint64_t at = 0; at < size;) {
		char path[80];
		uint8_t *body;
		size_t n;
		pl_err e;
		uint64_t want = size - at > 1000 ? 1000 : size - at;
		static pl_proto_leaves l;
		snprintf(path, sizeof path, "/log/leaves?start=%llu&count=%llu",
			 (unsigned long long)at, (unsigned long long)want);
		if (pl_rc_get_raw(c, path, PL_PROTO_LEAVES_BODY_MAX, &body, &n, "leaves", &e) != 0)
			fail_msg("leaves: %s", e.msg);
		assert_int_equal(pl_proto_leaves_decode(&l, body, n), 0);
		assert_int_equal(l.count, want);
		for (uint32_t i = 0; i < l.count; i++) {
			pl_leaf lf;
			assert_int_equal(pl_leaf_decode(&lf, l.leaf[i].p, l.leaf[i].n), 0);
			v[at + i].type = lf.type;
			memcpy(v[at + i].mbx, lf.mbx, 32);
		}
		free(body);
		at += want;
	}
	return v;
}

/* Every leaf of box (of `kind`) with index in [start, cp->size) is listed,
 * in order, paged at 256, nothing else, every proof verifying against cp.
 * Returns how many were listed. */
static size_t check_listing(pl_rc_conn *c, const leaf_info *all, int box, uint64_t start, int kind,
			    const pl_checkpoint *cp)
{
	static pl_proto_mbxlog m;
	int want_type = pl_proto_mbxlog_kind_type(kind);
	uint64_t next = start, at = start;
	size_t listed = 0;

	for (int pages = 0; pages < 10; pages++) {
		uint8_t *body = NULL;
		pl_err e;
		if (pl_rc_mbxlog(c, F.mbx[box], at, cp->size, kind, &m, &body, &e) != 0)
			fail_msg("mbxlog: %s", e.msg);
		for (uint32_t i = 0; i < m.count; i++) {
			uint8_t h[32];
			/* No leaf of the mailbox was skipped before this one. */
			for (; next < m.item[i].index; next++)
				assert_false(memcmp(all[next].mbx, F.mbx[box], 32) == 0 &&
					     (want_type == 0 || all[next].type == want_type));
			assert_memory_equal(all[next].mbx, F.mbx[box], 32);
			assert_int_equal(all[next].type, m.item[i].type);
			pl_leaf_hash(h, m.item[i].leaf, m.item[i].leaflen);
			assert_int_equal(pl_merkle_verify_inclusion(h, m.item[i].index, cp->size,
								    m.item[i].proof,
								    m.item[i].prooflen, cp->root),
					 0);
			next++;
			listed++;
		}
		free(body);
		if (m.count < PL_PROTO_MBXLOG_MAX)
			break;
		at = m.item[m.count - 1].index + 1;
	}
	for (; next < cp->size; next++)
		assert_false(memcmp(all[next].mbx, F.mbx[box], 32) == 0 &&
			     (want_type == 0 || all[next].type == want_type));
	return listed;
}

static size_t count_of(const leaf_info *all, uint64_t from, uint64_t size, int box, int type)
{
	size_t n = 0;
	for (uint64_t i = from; i < size; i++)
		n += memcmp(all[i].mbx, F.mbx[box], 32) == 0 && (type == 0 || all[i].type == type);
	return n;
}

/* The status of a raw GET, and the relay still answers afterwards. */
static long status_of(pl_rc_conn *c, const char *path)
{
	uint8_t *body = NULL;
	size_t n;
	pl_err e;
	long st;
	(void)pl_rc_get_raw(c, path, PL_PROTO_MBXLOG_BODY_MAX, &body, &n, "probe", &e);
	free(body);
	st = pl_rc_last_status(c);
	uint8_t pk[32];
	assert_int_equal(pl_rc_get_key(c, pk, &e), 0);
	return st;
}

/* The raw answer to a query, for comparison across a restart. */
static uint8_t *raw(pl_rc_conn *c, const char *path, size_t *n)
{
	uint8_t *body = NULL;
	pl_err e;
	if (pl_rc_get_raw(c, path, PL_PROTO_MBXLOG_BODY_MAX, &body, n, "mbxlog", &e) != 0)
		fail_msg("%s: %s", path, e.msg);
	return body;
}

static void *deposit_thread(void *arg)
{
	pl_rc_conn *c = conn();
	for (int i = 0; i < 6; i++)
		deposit_as(c, (int)(intptr_t)arg, NULL);
	pl_rc_close(c);
	return NULL;
}

/* A size at or below `below` for which the relay signed no checkpoint, or
 * 0 if every size is signed (read from relay.db, read-only). */
static uint64_t unsigned_size(uint64_t below)
{
	char path[200];
	sqlite3 *db;
	sqlite3_stmt *st;
	uint64_t prev = 0, gap = 0;

	snprintf(path, sizeof path, "%s/relay.db", F.data);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	assert_int_equal(
	    sqlite3_prepare_v2(db, "SELECT size FROM checkpoint ORDER BY size", -1, &st, NULL),
	    SQLITE_OK);
	while (sqlite3_step(st) == SQLITE_ROW && gap == 0) {
		uint64_t s = (uint64_t)sqlite3_column_int64(st, 0);
		if (s > prev + 1 && prev + 1 <= below)
			gap = prev + 1;
		prev = s;
	}
	sqlite3_finalize(st);
	sqlite3_close(db);
	return gap;
}

static void test_mailbox_log(void **state)
{
	(void)state;
	pl_rc_conn *c;
	pl_err e;
	pl_checkpoint cp, old;
	uint8_t note[PL_LEAF_NOTE_MAX], oldnote[PL_LEAF_NOTE_MAX];
	char path[300], hex[65];

	snprintf(F.dir, sizeof F.dir, "/tmp/parley-mbxlog.XXXXXX");
	assert_non_null(mkdtemp(F.dir));
	snprintf(F.data, sizeof F.data, "%s/data", F.dir);
	if (pl_test_relay_start(&F.r, F.data, 0, NULL) != 0) {
		pl_test_rm_rf(F.dir);
		print_message("# parley-relay not available in $PARLEY_BUILD; skipped\n");
		skip();
	}
	c = conn();
	assert_int_equal(pl_rc_get_key(c, F.rpk, &e), 0);
	for (int b = 0; b < NBOX; b++) {
		assert_int_equal(pl_identity_generate(&F.id[b]), 0);
		pl_mailbox_id(F.mbx[b], F.id[b].pk);
		randombytes_buf(F.token[b], 32);
		if (pl_rc_put_token(c, &F.id[b], F.token[b], &e) != 0)
			fail_msg("token: %s", e.msg);
	}

	/* Interleaved deposits and acks; mailbox 0 gets more than a page. */
	for (int i = 0; i < BIG_DEPOSITS; i++) {
		deposit(c, 0);
		if (i % 40 == 7)
			deposit(c, 1);
		if (i % 50 == 9)
			ack(c, 0);
		if (i % 90 == 11) {
			deposit(c, 2);
			ack(c, 2);
		}
	}
	ack(c, 1);
	latest(c, &old, oldnote); /* an older signed size */
	/* Concurrent deposits, so that batches of several leaves leave sizes
	 * with no checkpoint of their own. */
	uint64_t gap = 0;
	for (int round = 0; round < 5 && gap == 0; round++) {
		pthread_t th[6];
		for (int t = 0; t < 6; t++)
			assert_int_equal(pthread_create(&th[t], NULL, deposit_thread,
							(void *)(intptr_t)(t % NBOX)),
					 0);
		for (int t = 0; t < 6; t++)
			pthread_join(th[t], NULL);
		latest(c, &cp, note);
		gap = unsigned_size(cp.size);
	}
	ack(c, 0);
	ack(c, 2);
	latest(c, &cp, note);
	leaf_info *all = all_leaves(c, cp.size);

	/* Exactly each mailbox's leaves, in every kind, paged at 256. */
	for (int b = 0; b < NBOX; b++) {
		assert_int_equal(check_listing(c, all, b, 0, PL_PROTO_MBXLOG_ANY, &cp),
				 count_of(all, 0, cp.size, b, 0));
		assert_int_equal(check_listing(c, all, b, 0, PL_PROTO_MBXLOG_DEPOSIT, &cp),
				 count_of(all, 0, cp.size, b, PL_LEAF_DEPOSIT));
		assert_int_equal(check_listing(c, all, b, 0, PL_PROTO_MBXLOG_ACK, &cp),
				 count_of(all, 0, cp.size, b, PL_PROTO_MBXLOG_ACK_LEAF));
		assert_true(count_of(all, 0, cp.size, b, PL_PROTO_MBXLOG_ACK_LEAF) >= 1);
	}
	assert_true(count_of(all, 0, cp.size, 0, PL_LEAF_DEPOSIT) > PL_PROTO_MBXLOG_MAX);
	/* A start in the middle, and an older signed size. */
	assert_int_equal(check_listing(c, all, 0, cp.size / 2, PL_PROTO_MBXLOG_ANY, &cp),
			 count_of(all, cp.size / 2, cp.size, 0, 0));
	checkpoint_of(c, old.size, &old, oldnote);
	assert_int_equal(check_listing(c, all, 0, 100, PL_PROTO_MBXLOG_ANY, &old),
			 count_of(all, 100, old.size, 0, 0));
	assert_int_equal(check_listing(c, all, 2, 0, PL_PROTO_MBXLOG_ACK, &old),
			 count_of(all, 0, old.size, 2, PL_PROTO_MBXLOG_ACK_LEAF));
	/* A mailbox nobody used: an empty answer, not an error. */
	{
		static pl_proto_mbxlog m;
		uint8_t nobody[32], *body;
		randombytes_buf(nobody, sizeof nobody);
		if (pl_rc_mbxlog(c, nobody, 0, cp.size, PL_PROTO_MBXLOG_ANY, &m, &body, &e) != 0)
			fail_msg("mbxlog: %s", e.msg);
		assert_int_equal(m.count, 0);
		free(body);
	}

	/* Bad queries. */
	pl_hex_encode(hex, F.mbx[0], 32);
#define PROBE(want, fmt, ...)                                                                      \
	do {                                                                                       \
		snprintf(path, sizeof path, fmt, __VA_ARGS__);                                     \
		assert_int_equal(status_of(c, path), want);                                        \
	} while (0)
	if (gap != 0)
		PROBE(404, "/log/mailbox/%s?start=0&size=%llu", hex, (unsigned long long)gap);
	else
		print_message("# every size got its own checkpoint; unsigned size not probed\n");
	PROBE(404, "/log/mailbox/%s?start=0&size=%llu", hex, (unsigned long long)cp.size + 1);
	PROBE(400, "/log/mailbox/%s?start=%llu&size=%llu", hex, (unsigned long long)cp.size,
	      (unsigned long long)cp.size - 1);
	PROBE(400, "/log/mailbox/%s?start=0&size=%llu&kind=fetch", hex,
	      (unsigned long long)cp.size);
	PROBE(400, "/log/mailbox/%s?start=0&size=%llu&kind=", hex, (unsigned long long)cp.size);
	PROBE(400, "/log/mailbox/%s?start=0&size=%llu&kind=ack&kind=ack", hex,
	      (unsigned long long)cp.size);
	PROBE(400, "/log/mailbox/%s?start=00&size=%llu", hex, (unsigned long long)cp.size);
	PROBE(400, "/log/mailbox/%s?size=%llu&start=0", hex, (unsigned long long)cp.size);
	PROBE(400, "/log/mailbox/%s?start=0&size=%llu&x=1", hex, (unsigned long long)cp.size);
	PROBE(400, "/log/mailbox/%s?start=-1&size=%llu", hex, (unsigned long long)cp.size);
	PROBE(400, "/log/mailbox/%s%s", hex, "");
	PROBE(400, "/log/mailbox/%.63s?start=0&size=%llu", hex, (unsigned long long)cp.size);
	hex[strcspn(hex, "abcdef")] -= 'a' - 'A'; /* one upper-case digit */
	PROBE(400, "/log/mailbox/%s?start=0&size=%llu", hex, (unsigned long long)cp.size);
	hex[0] = 'g';
	PROBE(400, "/log/mailbox/%s?start=0&size=%llu", hex, (unsigned long long)cp.size);
	pl_hex_encode(hex, F.mbx[0], 32);
	PROBE(404, "/log/mailbox/%s/x?start=0&size=1", hex);

	/* A restart rebuilds the index: the same answers, byte for byte. */
	size_t n1, n2, n3;
	snprintf(path, sizeof path, "/log/mailbox/%s?start=0&size=%llu", hex,
		 (unsigned long long)cp.size);
	uint8_t *before = raw(c, path, &n1);
	snprintf(path, sizeof path, "/log/mailbox/%s?start=0&size=%llu&kind=ack", hex,
		 (unsigned long long)old.size);
	uint8_t *before_old = raw(c, path, &n3);
	pl_rc_close(c);
	assert_true(pl_test_relay_stop(&F.r) != -1);
	assert_int_equal(pl_test_relay_start(&F.r, F.data, 0, NULL), 0);
	c = conn();
	uint8_t *after = raw(c, path, &n2);
	assert_int_equal(n2, n3);
	assert_memory_equal(after, before_old, n2);
	free(after);
	snprintf(path, sizeof path, "/log/mailbox/%s?start=0&size=%llu", hex,
		 (unsigned long long)cp.size);
	after = raw(c, path, &n2);
	assert_int_equal(n1, n2);
	assert_memory_equal(before, after, n1);
	free(before);
	free(before_old);
	free(after);
	/* And new leaves join it. */
	deposit(c, 1);
	ack(c, 1);
	latest(c, &cp, note);
	free(all);
	all = all_leaves(c, cp.size);
	for (int b = 0; b < NBOX; b++)
		assert_int_equal(check_listing(c, all, b, 0, PL_PROTO_MBXLOG_ANY, &cp),
				 count_of(all, 0, cp.size, b, 0));
	free(all);
	pl_rc_close(c);
	pl_test_relay_stop(&F.r);
	assert_int_equal(pl_test_rm_relay_dir(F.data), 0);
	pl_test_rm_rf(F.dir);
}

int main(int argc, char **argv)
{
	(void)argc;
	if (sodium_init() < 0)
		return 1;
	pl_test_relay_bin(argv[0]);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mailbox_log),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
