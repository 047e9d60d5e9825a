/*
 * test_relay_crash.c — kill -9 the real parley-relay during a stream of
 * deposits from several threads (and acks of another mailbox, so both kinds
 * of log leaf are being appended), restart it on the same port and data
 * directory, and check that
 *   - every deposit that got a valid receipt is in the mailbox exactly once
 *     (by seq and envelope hash) with unique seqs; deposits cut off without
 *     a receipt are retried and must not be stored twice;
 *   - the log is consistent with every checkpoint ever published (each one
 *     a receipt carried, proved consistent with the newest after restart)
 *     and with every checkpoint stored in relay.db;
 *   - every receipted deposit is one leaf of the log, exactly once, with
 *     the receipt's seq and time.
 * A few rounds, bounded in time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sqlite3.h>

#include "auth/auth.h"
#include "identity/identity.h"
#include "log/leaf.h"
#include "log/merkle.h"
#include "log/note.h"
#include "log/receipt.h"
#include "relay/proto.h"
#include "util/codec.h"

#include "support.h"

#define ROUNDS 8
#define SENDERS 4
#define ENV_LEN 1072
#define MAX_RECEIPTS 200000

static char dir[64];
static pl_test_relay relay;
static uint8_t relay_pk[32];
static pl_identity owner, acker;
static char mbx_hex[65], ack_hex[65];
static uint8_t token[32];

/* Every receipt the relay ever gave, across rounds. */
typedef struct {
	uint64_t seq, time, index;
	uint8_t hash[32];
} rec;

/* Every checkpoint ever published (in a receipt), one per size. */
#define MAX_CPS 20000
typedef struct {
	uint64_t size;
	uint8_t root[32];
} cp_rec;
static cp_rec *cps;
static size_t ncps;
static rec *recs;
static size_t nrecs;
static pthread_mutex_t recs_mu = PTHREAD_MUTEX_INITIALIZER;

/* ---- HTTP ------------------------------------------------------------- */

typedef struct {
	uint8_t buf[8 << 20];
	size_t len;
} sink;

static size_t on_data(char *p, size_t sz, size_t nm, void *ud)
{
	sink *s = ud;
	size_t n = sz * nm;
	if (n > sizeof s->buf - s->len)
		return 0;
	memcpy(s->buf + s->len, p, n);
	s->len += n;
	return n;
}

static long request(CURL *c, sink *s, const char *method, const char *path, struct curl_slist *h,
		    const void *body, size_t len)
{
	char url[256];
	long status = 0;

	s->len = 0;
	snprintf(url, sizeof url, "http://127.0.0.1:%u%s", relay.port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, s);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	} else {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
		curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	}
	if (curl_easy_perform(c) != CURLE_OK)
		return 0;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	return status;
}

static long signed_request(CURL *c, sink *s, const pl_identity *id, const char *method,
			   const char *path, const void *body, size_t len)
{
	pl_auth a;
	char k[100], t[60], n[60], g[160];
	struct curl_slist *h = NULL;
	long st;

	if (pl_auth_sign(&a, id, method, path, body, len, (uint64_t)time(NULL)) != 0)
		return -1;
	snprintf(k, sizeof k, "Parley-Key: %s", a.key);
	snprintf(t, sizeof t, "Parley-Time: %s", a.time);
	snprintf(n, sizeof n, "Parley-Nonce: %s", a.nonce);
	snprintf(g, sizeof g, "Parley-Sig: %s", a.sig);
	h = curl_slist_append(h, "Expect:");
	h = curl_slist_append(h, k);
	h = curl_slist_append(h, t);
	h = curl_slist_append(h, n);
	h = curl_slist_append(h, g);
	st = request(c, s, method, path, h, body, len);
	curl_slist_free_all(h);
	return st;
}

static long owner_request(CURL *c, sink *s, const char *method, const char *path, const void *body,
			  size_t len)
{
	return signed_request(c, s, &owner, method, path, body, len);
}

/* Records a published checkpoint; -1 if another one of its size was seen. */
static int add_cp(const uint8_t *note, size_t n)
{
	pl_checkpoint c;
	int rc = 0;
	size_t i;

	if (pl_leaf_checkpoint_open(&c, note, n, relay_pk) != 0)
		return -1;
	pthread_mutex_lock(&recs_mu);
	for (i = 0; i < ncps; i++)
		if (cps[i].size == c.size)
			break;
	if (i < ncps)
		rc = memcmp(cps[i].root, c.root, 32) == 0 ? 0 : -1;
	else if (ncps < MAX_CPS) {
		cps[ncps].size = c.size;
		memcpy(cps[ncps].root, c.root, 32);
		ncps++;
	}
	pthread_mutex_unlock(&recs_mu);
	return rc;
}

/* One deposit; 1 = valid receipt (out filled), 0 = no answer, -1 = bad answer. */
static int deposit_one(CURL *c, sink *s, struct curl_slist *h, const uint8_t *env,
		       const uint8_t hash[32], rec *out)
{
	char path[128];
	static __thread pl_receipt r;
	long st;

	snprintf(path, sizeof path, "/v1/deposit/%s", mbx_hex);
	st = request(c, s, "POST", path, h, env, ENV_LEN);
	if (st == 0)
		return 0;
	if (st != 200) {
		printf("# deposit answered %ld: %.*s\n", st, (int)(s->len < 200 ? s->len : 200),
		       (const char *)s->buf);
		return -1;
	}
	if (pl_receipt_decode(&r, s->buf, s->len) != 0) {
		printf("# a receipt of %zu bytes did not decode\n", s->len);
		return -1;
	}
	if (pl_receipt_verify(&r, relay_pk, hash) != 0) {
		printf("# receipt for seq %llu did not verify\n", (unsigned long long)r.seq);
		return -1;
	}
	if (add_cp(r.note, r.notelen) != 0) {
		printf("# receipt for seq %llu carries a second checkpoint of its size\n",
		       (unsigned long long)r.seq);
		return -1;
	}
	out->seq = r.seq;
	out->time = r.time;
	out->index = r.index;
	memcpy(out->hash, hash, 32);
	return 1;
}

static struct curl_slist *token_headers(void)
{
	char hex[65], th[100];
	struct curl_slist *h = NULL;
	pl_hex_encode(hex, token, 32);
	snprintf(th, sizeof th, "Parley-Token: %s", hex);
	h = curl_slist_append(h, "Expect:");
	return curl_slist_append(h, th);
}

static void add_rec(const rec *r)
{
	pthread_mutex_lock(&recs_mu);
	if (nrecs < MAX_RECEIPTS)
		recs[nrecs++] = *r;
	pthread_mutex_unlock(&recs_mu);
}

/* ---- senders ---------------------------------------------------------- */

typedef struct {
	int bad;     /* a wrong answer (not a dropped connection) */
	int pending; /* env was sent but no receipt came back */
	uint8_t env[ENV_LEN];
	uint8_t hash[32];
	size_t sent;
} sender;

static void *sender_main(void *p)
{
	sender *me = p;
	CURL *c = curl_easy_init();
	struct curl_slist *h = token_headers();
	sink *s = malloc(sizeof *s);
	rec got;

	me->pending = 0;
	while (c != NULL && s != NULL && me->sent < MAX_RECEIPTS / (ROUNDS * SENDERS)) {
		randombytes_buf(me->env, ENV_LEN);
		crypto_hash_sha256(me->hash, me->env, ENV_LEN);
		int r = deposit_one(c, s, h, me->env, me->hash, &got);
		if (r == 0) {
			me->pending = 1; /* the relay died under us */
			break;
		}
		if (r < 0) {
			me->bad = 1;
			break;
		}
		add_rec(&got);
		me->sent++;
	}
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	free(s);
	return NULL;
}

/* Acks of another mailbox, over and over: fetch leaves among the deposits. */
static volatile int acking;
static unsigned long acks;

static void *acker_main(void *p)
{
	(void)p;
	CURL *c = curl_easy_init();
	sink *s = malloc(sizeof *s);
	char path[128];
	uint8_t body[PL_TEST_ACK_LEN];

	snprintf(path, sizeof path, "/v1/mailbox/%s/ack", ack_hex);
	pl_test_ack_body(body, 0);
	for (int i = 0; c != NULL && s != NULL && i < 100000 && acking; i++) {
		long st = signed_request(c, s, &acker, "POST", path, body, sizeof body);
		if (st != 204)
			break; /* the relay died under us */
		acks++;
	}
	curl_easy_cleanup(c);
	free(s);
	return NULL;
}

/* ---- checks ----------------------------------------------------------- */

static int cmp_seq(const void *a, const void *b)
{
	const rec *x = a, *y = b;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int cmp_hash(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

/* Reads the whole mailbox and checks it against every receipt. */
static void check_mailbox(void)
{
	CURL *c = curl_easy_init();
	sink *s = malloc(sizeof *s);
	static pl_proto_listing l;
	rec *have = malloc(sizeof(rec) * (MAX_RECEIPTS + 1024));
	size_t nhave = 0;
	uint64_t after = 0;
	char path[160];

	assert_non_null(c);
	assert_non_null(s);
	assert_non_null(have);
	for (int pages = 0; pages < 10000; pages++) {
		snprintf(path, sizeof path, "/v1/mailbox/%s?after=%llu", mbx_hex,
			 (unsigned long long)after);
		assert_int_equal(owner_request(c, s, "GET", path, NULL, 0), 200);
		assert_int_equal(pl_proto_listing_decode(&l, s->buf, s->len), 0);
		if (l.count == 0)
			break;
		for (uint32_t i = 0; i < l.count; i++) {
			assert_true(nhave < MAX_RECEIPTS + 1024);
			have[nhave].seq = l.item[i].seq;
			crypto_hash_sha256(have[nhave].hash, l.item[i].env, l.item[i].envlen);
			nhave++;
			after = l.item[i].seq;
		}
	}
	/* The listing is sorted by seq and strictly increasing (the decoder checks). */
	pthread_mutex_lock(&recs_mu);
	qsort(recs, nrecs, sizeof *recs, cmp_seq);
	for (size_t i = 0; i < nrecs; i++) {
		rec key = recs[i];
		rec *got = bsearch(&key, have, nhave, sizeof *have, cmp_seq);
		if (got == NULL)
			fail_msg("receipted seq %llu is missing", (unsigned long long)key.seq);
		/* same envelope under the seq; a seq receipted twice must be a retry
		 * of the same envelope */
		assert_memory_equal(got->hash, key.hash, 32);
	}
	pthread_mutex_unlock(&recs_mu);
	/* each envelope appears once: sort the hashes and look for neighbours */
	{
		uint8_t(*hs)[32] = malloc(32 * (nhave ? nhave : 1));
		assert_non_null(hs);
		for (size_t i = 0; i < nhave; i++)
			memcpy(hs[i], have[i].hash, 32);
		qsort(hs, nhave, 32, cmp_hash);
		for (size_t i = 1; i < nhave; i++)
			assert_memory_not_equal(hs[i - 1], hs[i], 32);
		free(hs);
	}
	printf("# mailbox holds %zu envelopes, %zu receipts checked\n", nhave, nrecs);
	free(have);
	free(s);
	curl_easy_cleanup(c);
}

/* Leaf hashes of the whole log, as a merkle.h source. */
typedef struct {
	uint8_t (*h)[32];
	uint64_t n;
} leaf_arr;

static int arr_leaf(void *ctx, uint64_t i, uint8_t out[32])
{
	leaf_arr *a = ctx;
	if (i >= a->n)
		return -1;
	memcpy(out, a->h[i], 32);
	return 0;
}

static int consistent(CURL *c, sink *s, uint64_t size1, const uint8_t root1[32], uint64_t size2,
		      const uint8_t root2[32])
{
	char path[160];
	uint8_t proof[PL_PROTO_PROOF_MAX][32];
	size_t n;

	snprintf(path, sizeof path, "/log/proof/consistency?old=%llu&size=%llu",
		 (unsigned long long)size1, (unsigned long long)size2);
	if (request(c, s, "GET", path, NULL, NULL, 0) != 200 ||
	    pl_proto_proof_decode(proof, &n, s->buf, s->len) != 0)
		return -1;
	return pl_merkle_verify_consistency(size1, size2, root1, root2, (const uint8_t(*)[32])proof,
					    n);
}

static int cmp_index(const void *a, const void *b)
{
	const rec *x = a, *y = b;
	return x->index < y->index ? -1 : x->index > y->index;
}

/* After a restart: the newest checkpoint is consistent with every one
 * ever published and every one stored; the leaves hash to its root; every
 * receipted deposit is its leaf, once. */
static void check_log(void)
{
	CURL *c = curl_easy_init();
	sink *s = malloc(sizeof *s);
	static pl_proto_leaves lv;
	pl_checkpoint cp;
	leaf_arr la = {NULL, 0};
	uint8_t root[32], mbx[32];
	uint64_t size, stored = 0, mine = 0;
	char path[160];

	assert_non_null(c);
	assert_non_null(s);
	assert_int_equal(request(c, s, "GET", "/log/checkpoint", NULL, NULL, 0), 200);
	assert_int_equal(pl_leaf_checkpoint_open(&cp, s->buf, s->len, relay_pk), 0);
	size = cp.size;
	memcpy(root, cp.root, 32);

	/* every published checkpoint */
	pthread_mutex_lock(&recs_mu);
	for (size_t i = 0; i < ncps; i++) {
		if (cps[i].size > size)
			fail_msg("a published checkpoint of size %llu is beyond the log (%llu)",
				 (unsigned long long)cps[i].size, (unsigned long long)size);
		if (consistent(c, s, cps[i].size, cps[i].root, size, root) != 0)
			fail_msg("published checkpoint %llu is not consistent with the log",
				 (unsigned long long)cps[i].size);
	}
	pthread_mutex_unlock(&recs_mu);

	/* every stored checkpoint */
	{
		char db[128];
		sqlite3 *d = NULL;
		sqlite3_stmt *st;
		snprintf(db, sizeof db, "%s/relay.db", dir);
		assert_int_equal(sqlite3_open_v2(db, &d, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
		sqlite3_busy_timeout(d, 5000);
		assert_int_equal(
		    sqlite3_prepare_v2(d, "SELECT note FROM checkpoint", -1, &st, NULL), SQLITE_OK);
		while (sqlite3_step(st) == SQLITE_ROW) {
			pl_checkpoint o;
			assert_int_equal(
			    pl_leaf_checkpoint_open(&o, sqlite3_column_blob(st, 0),
						    (size_t)sqlite3_column_bytes(st, 0), relay_pk),
			    0);
			if (consistent(c, s, o.size, o.root, size, root) != 0)
				fail_msg("stored checkpoint %llu is not consistent with the log",
					 (unsigned long long)o.size);
			stored++;
		}
		sqlite3_finalize(st);
		sqlite3_close(d);
	}

	/* all leaves: they hash to the root; each receipted deposit is one */
	la.h = malloc(32 * (size ? size : 1));
	uint8_t(*ours)[32] = malloc(32 * (size ? size : 1));
	assert_non_null(la.h);
	assert_non_null(ours);
	pl_mailbox_id(mbx, owner.pk);
	pthread_mutex_lock(&recs_mu);
	qsort(recs, nrecs, sizeof *recs, cmp_index);
	size_t r = 0;
	for (uint64_t start = 0; start < size;) {
		snprintf(path, sizeof path, "/log/leaves?start=%llu&count=%d",
			 (unsigned long long)start, PL_PROTO_LEAVES_MAX);
		assert_int_equal(request(c, s, "GET", path, NULL, NULL, 0), 200);
		assert_int_equal(pl_proto_leaves_decode(&lv, s->buf, s->len), 0);
		assert_true(lv.count > 0);
		for (uint32_t i = 0; i < lv.count; i++) {
			uint64_t idx = start + i;
			pl_leaf l;
			assert_int_equal(pl_leaf_decode(&l, lv.leaf[i].p, lv.leaf[i].n), 0);
			pl_leaf_hash(la.h[idx], lv.leaf[i].p, lv.leaf[i].n);
			if (l.type == PL_LEAF_ACK) {
				assert_int_equal(pl_leaf_ack_verify(&l), 0);
				continue;
			}
			if (memcmp(l.mbx, mbx, 32) != 0)
				continue;
			memcpy(ours[mine++], l.hash, 32);
			/* receipts of this leaf (a retried deposit has two) */
			while (r < nrecs && recs[r].index < idx)
				fail_msg("receipted leaf %llu is not a deposit of ours",
					 (unsigned long long)recs[r].index);
			for (; r < nrecs && recs[r].index == idx; r++) {
				assert_memory_equal(l.hash, recs[r].hash, 32);
				assert_true(l.seq == recs[r].seq && l.relay_time == recs[r].time);
			}
		}
		start += lv.count;
	}
	if (r != nrecs)
		fail_msg("receipted leaf %llu is beyond the log",
			 (unsigned long long)recs[r].index);
	pthread_mutex_unlock(&recs_mu);
	/* no envelope was logged twice */
	qsort(ours, mine, 32, cmp_hash);
	for (uint64_t i = 1; i < mine; i++)
		assert_memory_not_equal(ours[i - 1], ours[i], 32);
	free(ours);
	la.n = size;
	{
		uint8_t got[32];
		pl_merkle_source src = {arr_leaf, NULL, &la};
		assert_int_equal(pl_merkle_root(&src, size, got), 0);
		assert_memory_equal(got, root, 32);
	}
	printf("# log of %llu leaves (%llu our deposits) consistent with %zu published and "
	       "%llu stored checkpoints\n",
	       (unsigned long long)size, (unsigned long long)mine, ncps,
	       (unsigned long long)stored);
	free(la.h);
	free(s);
	curl_easy_cleanup(c);
}

/* ---- the test --------------------------------------------------------- */

static void register_token(void)
{
	CURL *c = curl_easy_init();
	sink *s = malloc(sizeof *s);
	uint8_t th[32], body[PL_PROTO_TOKEN_BODY_LEN];
	char path[128];

	assert_non_null(c);
	assert_non_null(s);
	pl_proto_token_hash(th, token);
	pl_proto_token_encode(body, th);
	snprintf(path, sizeof path, "/v1/token/%s", mbx_hex);
	assert_int_equal(owner_request(c, s, "PUT", path, body, sizeof body), 204);
	assert_int_equal(request(c, s, "GET", "/v1/relay", NULL, NULL, 0), 200);
	assert_int_equal(pl_proto_relay_key_decode(relay_pk, s->buf, s->len), 0);
	free(s);
	curl_easy_cleanup(c);
}

/* The mailbox keeps every deposit of every round (the checks read them
 * all back), so it may hold more than the default cap of 10000 messages,
 * beyond which a deposit is rightly refused with 507. */
static const char *const relay_args[] = {"--mailbox-max-messages", "1000000", "--mailbox-max-bytes",
					 "1G", NULL};

/* Restarts on the same port; the old socket may linger for a moment. */
static void restart(unsigned fixed)
{
	for (int i = 0; i < 50; i++) {
		if (pl_test_relay_start(&relay, dir, fixed, relay_args) == 0) {
			assert_int_equal(relay.port, fixed);
			return;
		}
		usleep(100000);
	}
	fail_msg("relay did not restart on port %u", fixed);
}

static void test_kill9_during_deposits(void **state)
{
	(void)state;
	static sender snd[SENDERS];
	pthread_t th[SENDERS];
	unsigned fixed;
	time_t t0 = time(NULL);

	assert_int_equal(pl_test_relay_start(&relay, dir, 0, relay_args), 0);
	fixed = relay.port;
	register_token();
	for (int round = 0; round < ROUNDS && time(NULL) - t0 < 40; round++) {
		size_t before = nrecs;
		pthread_t ath;
		memset(snd, 0, sizeof snd);
		acking = 1;
		for (int i = 0; i < SENDERS; i++)
			assert_int_equal(pthread_create(&th[i], NULL, sender_main, &snd[i]), 0);
		assert_int_equal(pthread_create(&ath, NULL, acker_main, NULL), 0);
		/* a random moment: 50..550 ms into the stream */
		usleep(50000 + randombytes_uniform(500000));
		pl_test_relay_kill(&relay);
		for (int i = 0; i < SENDERS; i++) {
			pthread_join(th[i], NULL);
			assert_false(snd[i].bad);
		}
		acking = 0;
		pthread_join(ath, NULL);
		printf("# round %d: %zu receipts and %lu acks before kill -9\n", round + 1,
		       nrecs - before, acks);
		restart(fixed);
		/* every receipted deposit survived, once */
		check_mailbox();
		/* deposits cut off without a receipt: the sender retries them; the
		 * relay must not store a second copy */
		{
			CURL *c = curl_easy_init();
			sink *s = malloc(sizeof *s);
			struct curl_slist *h = token_headers();
			rec got;
			for (int i = 0; i < SENDERS; i++) {
				if (!snd[i].pending)
					continue;
				assert_int_equal(
				    deposit_one(c, s, h, snd[i].env, snd[i].hash, &got), 1);
				add_rec(&got);
			}
			curl_slist_free_all(h);
			free(s);
			curl_easy_cleanup(c);
		}
		check_mailbox();
		check_log();
	}
	assert_true(nrecs > 0);
	/* a clean stop after all that */
	{
		int st = pl_test_relay_stop(&relay);
		assert_true(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	}
}

static int setup(void **state)
{
	(void)state;
	if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return -1;
	strcpy(dir, "/tmp/parley-relay-crash.XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	recs = calloc(MAX_RECEIPTS, sizeof *recs);
	cps = calloc(MAX_CPS, sizeof *cps);
	if (recs == NULL || cps == NULL)
		return -1;
	pl_identity_generate(&owner);
	pl_identity_generate(&acker);
	{
		uint8_t m[32];
		pl_mailbox_id(m, owner.pk);
		pl_hex_encode(mbx_hex, m, 32);
		pl_mailbox_id(m, acker.pk);
		pl_hex_encode(ack_hex, m, 32);
	}
	randombytes_buf(token, sizeof token);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	char path[128], line[512];
	FILE *f;
	int bad = 0;

	pl_test_relay_kill(&relay);
	snprintf(path, sizeof path, "%s.err", dir);
	f = fopen(path, "r");
	if (f != NULL) {
		while (fgets(line, sizeof line, f) != NULL)
			if (strstr(line, "Sanitizer") || strstr(line, "runtime error")) {
				printf("# relay: %s", line);
				bad = 1;
			}
		fclose(f);
	}
	if (pl_test_rm_relay_dir(dir) != 0)
		bad = 1;
	free(recs);
	free(cps);
	pl_identity_wipe(&owner);
	pl_identity_wipe(&acker);
	curl_global_cleanup();
	return bad ? -1 : 0;
}

int main(int argc, char **argv)
{
	(void)argc;
	pl_test_relay_bin(argv[0]);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_kill9_during_deposits),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
