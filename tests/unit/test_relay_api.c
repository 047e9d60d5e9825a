/*
 * test_relay_api.c — drives the real parley-relay binary over HTTP (libcurl
 * on 127.0.0.1): the whole happy path of docs/PROTOCOL.md's relay API, and
 * every rejection (garbage, truncated, oversized, bad ids, wrong signature,
 * stale time, replay, wrong token, wrong bucket). After each rejection the
 * relay must still answer and the stored state (read from relay.db,
 * read-only, log tables included) must be unchanged.
 * The transparency log: every receipt verifies (checkpoint signature,
 * inclusion proof) and one size never gets two checkpoints; the newest
 * checkpoint verifies with the key `parley-relay --print-key` prints; every
 * leaf is served, proved in the newest checkpoint, and is exactly one
 * receipted deposit or one accepted ack (whose owner signature verifies
 * offline); every checkpoint seen is served again byte for byte and pairs
 * of them (and every stored one, against the newest) are consistent; each
 * /log endpoint's bad parameters (400), unknown sizes (404), methods (405)
 * and bodies (413); the log reopens unchanged after a restart; --no-log.
 * Every wait is bounded; the child is killed at the end and its temporary
 * directory removed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "auth/auth.h"
#include "client/relay_client.h"
#include "identity/identity.h"
#include "log/leaf.h"
#include "log/merkle.h"
#include "log/note.h"
#include "log/receipt.h"
#include "relay/proto.h"
#include "session/x3dh.h"
#include "util/codec.h"
#include "util/wire.h"

#include "support.h"

typedef struct {
	char dir[64];
	pl_test_relay relay;
	uint8_t relay_pk[32];
	pl_identity a, b;
	uint8_t mbx_a[32], mbx_b[32];
	char hex_a[65], hex_b[65];
	uint8_t token[32];
} fixture;

static fixture F;
static unsigned port_override; /* talk to another relay than F's */

/* ---- HTTP ------------------------------------------------------------- */

typedef struct {
	long status;
	uint8_t *body;
	size_t len;
} resp;

static size_t on_data(char *p, size_t sz, size_t nm, void *ud)
{
	resp *r = ud;
	size_t n = sz * nm;
	if (r->len + n > (64u << 20))
		return 0;
	uint8_t *nb = realloc(r->body, r->len + n + 1);
	if (nb == NULL)
		return 0;
	memcpy(nb + r->len, p, n);
	r->body = nb;
	r->len += n;
	r->body[r->len] = 0;
	return n;
}

static void resp_free(resp *r)
{
	free(r->body);
	memset(r, 0, sizeof *r);
}

/* hdrs: NULL-terminated "Name: value" strings. Returns the status (0 on a
 * transport failure). */
static long http(resp *r, const char *method, const char *path, const char *const *hdrs,
		 const void *body, size_t len)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[512];

	memset(r, 0, sizeof *r);
	assert_non_null(c);
	snprintf(url, sizeof url, "http://127.0.0.1:%u%s",
		 port_override ? port_override : F.relay.port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	h = curl_slist_append(h, "Expect:");
	for (size_t i = 0; hdrs != NULL && hdrs[i] != NULL; i++)
		h = curl_slist_append(h, hdrs[i]);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
	}
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &r->status);
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	return r->status;
}

/* Owner-signed request; `now` lets a test sign with a stale clock. */
typedef struct {
	char k[100], t[60], n[60], s[160];
	const char *v[6];
} authh;

static const char *const *auth_headers(authh *h, const pl_identity *id, const char *method,
				       const char *path, const void *body, size_t len, uint64_t now)
{
	pl_auth a;
	assert_int_equal(pl_auth_sign(&a, id, method, path, body, len, now), 0);
	snprintf(h->k, sizeof h->k, "Parley-Key: %s", a.key);
	snprintf(h->t, sizeof h->t, "Parley-Time: %s", a.time);
	snprintf(h->n, sizeof h->n, "Parley-Nonce: %s", a.nonce);
	snprintf(h->s, sizeof h->s, "Parley-Sig: %s", a.sig);
	h->v[0] = h->k;
	h->v[1] = h->t;
	h->v[2] = h->n;
	h->v[3] = h->s;
	h->v[4] = NULL;
	return h->v;
}

static long signed_req(resp *r, const pl_identity *id, const char *method, const char *path,
		       const void *body, size_t len)
{
	authh h;
	return http(r, method, path,
		    auth_headers(&h, id, method, path, body, len, (uint64_t)time(NULL)), body, len);
}

static long deposit(resp *r, const char *mbx_hex, const uint8_t *token, const void *env, size_t len)
{
	char path[128], th[100], hex[65];
	const char *h[2] = {th, NULL};
	snprintf(path, sizeof path, "/v1/deposit/%s", mbx_hex);
	if (token != NULL) {
		pl_hex_encode(hex, token, 32);
		snprintf(th, sizeof th, "Parley-Token: %s", hex);
	}
	return http(r, "POST", path, token ? h : NULL, env, len);
}

/* Listing of a mailbox; returns the count (or -1) and fills l. */
static int list(const pl_identity *id, const char *mbx_hex, uint64_t after, pl_proto_listing *l,
		resp *r)
{
	char path[160];
	snprintf(path, sizeof path, "/v1/mailbox/%s?after=%llu", mbx_hex,
		 (unsigned long long)after);
	if (signed_req(r, id, "GET", path, NULL, 0) != 200)
		return -1;
	if (pl_proto_listing_decode(l, r->body, r->len) != 0)
		return -1;
	return (int)l->count;
}

/* ---- stored state, read-only ----------------------------------------- */

/* SHA-256 over every row of every table except the nonce cache. */
static void state_digest(uint8_t out[32])
{
	static const char *const qs[] = {
	    "SELECT mbx, last_seq, token FROM mailbox ORDER BY mbx",
	    "SELECT mbx, ik, spk_id, spk, spk_sig FROM bundle ORDER BY mbx",
	    "SELECT mbx, id, pub FROM opk ORDER BY mbx, id",
	    "SELECT loc, owner, blob FROM grants ORDER BY loc",
	    "SELECT mbx, seq, time, hash, env, leaf FROM msg ORDER BY mbx, seq",
	    "SELECT idx, data, nodes FROM leaf ORDER BY idx",
	    "SELECT size, note FROM checkpoint ORDER BY size",
	};
	char path[128];
	sqlite3 *db = NULL;
	crypto_hash_sha256_state st;

	snprintf(path, sizeof path, "%s/relay.db", F.dir);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	crypto_hash_sha256_init(&st);
	for (size_t i = 0; i < sizeof qs / sizeof qs[0]; i++) {
		sqlite3_stmt *s;
		assert_int_equal(sqlite3_prepare_v2(db, qs[i], -1, &s, NULL), SQLITE_OK);
		while (sqlite3_step(s) == SQLITE_ROW) {
			for (int c = 0; c < sqlite3_column_count(s); c++) {
				const void *p = sqlite3_column_blob(s, c);
				uint32_t n = (uint32_t)sqlite3_column_bytes(s, c);
				crypto_hash_sha256_update(&st, (const uint8_t *)&n, sizeof n);
				if (n)
					crypto_hash_sha256_update(&st, p, n);
			}
		}
		sqlite3_finalize(s);
		crypto_hash_sha256_update(&st, (const uint8_t *)"|", 1);
	}
	crypto_hash_sha256_final(&st, out);
	sqlite3_close(db);
}

static int count_rows(const char *sql)
{
	char path[128];
	sqlite3 *db = NULL;
	sqlite3_stmt *s;
	int n = -1;

	snprintf(path, sizeof path, "%s/relay.db", F.dir);
	assert_int_equal(sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
	sqlite3_busy_timeout(db, 5000);
	assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
	if (sqlite3_step(s) == SQLITE_ROW)
		n = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	sqlite3_close(db);
	return n;
}

/* ---- what the log must hold ------------------------------------------ */

/* Every checkpoint the test saw (in receipts and at /log/checkpoint), one
 * per size, and every deposit a receipt proved. */
#define SEEN_MAX 4096
typedef struct {
	uint64_t size;
	uint8_t root[32];
	size_t n;
	uint8_t note[PL_LEAF_NOTE_MAX];
} seen_cp;
typedef struct {
	uint64_t index, seq, time;
	uint8_t mbx[32], hash[32];
} seen_dep;
static seen_cp seen[SEEN_MAX];
static seen_dep deps[SEEN_MAX];
static size_t nseen, ndeps;
static unsigned acks_ok; /* acks the relay accepted: each is a fetch leaf */
static pthread_mutex_t seen_mu = PTHREAD_MUTEX_INITIALIZER;

/* A note signed by the relay; a second note of the same size must be the
 * same bytes (one checkpoint per size). Returns its size. */
static uint64_t saw_note(const uint8_t *note, size_t n)
{
	pl_checkpoint c;
	size_t i;

	assert_int_equal(pl_leaf_checkpoint_open(&c, note, n, F.relay_pk), 0);
	pthread_mutex_lock(&seen_mu);
	for (i = 0; i < nseen; i++)
		if (seen[i].size == c.size)
			break;
	if (i < nseen) {
		if (seen[i].n != n || memcmp(seen[i].note, note, n) != 0)
			fail_msg("two different checkpoints of size %llu",
				 (unsigned long long)c.size);
	} else if (nseen < SEEN_MAX) {
		seen[nseen].size = c.size;
		memcpy(seen[nseen].root, c.root, 32);
		seen[nseen].n = n;
		memcpy(seen[nseen].note, note, n);
		nseen++;
	}
	pthread_mutex_unlock(&seen_mu);
	return c.size;
}

/* Decodes and verifies a deposit's receipt (for `hash`) and records it. */
static int check_receipt(pl_receipt *rc, const resp *r, const uint8_t hash[32])
{
	if (pl_receipt_decode(rc, r->body, r->len) != 0 ||
	    pl_receipt_verify(rc, F.relay_pk, hash) != 0)
		return -1;
	saw_note(rc->note, rc->notelen);
	pthread_mutex_lock(&seen_mu);
	size_t i;
	for (i = 0; i < ndeps; i++)
		if (deps[i].index == rc->index)
			break;
	if (i < ndeps) {
		/* a retry: the same leaf, the same deposit */
		if (deps[i].seq != rc->seq || memcmp(deps[i].hash, rc->hash, 32) != 0)
			fail_msg("leaf %llu receipted for two deposits",
				 (unsigned long long)rc->index);
	} else if (ndeps < SEEN_MAX) {
		deps[ndeps].index = rc->index;
		deps[ndeps].seq = rc->seq;
		deps[ndeps].time = rc->time;
		memcpy(deps[ndeps].mbx, rc->mbx, 32);
		memcpy(deps[ndeps].hash, rc->hash, 32);
		ndeps++;
	}
	pthread_mutex_unlock(&seen_mu);
	return 0;
}

/* A deposit that must succeed with a valid receipt. */
static void deposit_ok(const char *mbx_hex, const void *env, size_t len, pl_receipt *rc)
{
	static pl_receipt tmp;
	uint8_t h[32];
	resp r;

	crypto_hash_sha256(h, env, len);
	assert_int_equal(deposit(&r, mbx_hex, F.token, env, len), 200);
	assert_int_equal(check_receipt(rc ? rc : &tmp, &r, h), 0);
	resp_free(&r);
}

static void relay_alive(void)
{
	resp r;
	assert_int_equal(http(&r, "GET", "/v1/relay", NULL, NULL, 0), 200);
	assert_int_equal(r.len, 33);
	assert_memory_equal(r.body + 1, F.relay_pk, 32);
	resp_free(&r);
}

/* Runs a request expected to be refused with `status`; checks a one-line
 * text body, that the relay still serves, and that nothing stored changed. */
#define REFUSED(status, call)                                                                      \
	do {                                                                                       \
		uint8_t before_[32], after_[32];                                                   \
		resp r_;                                                                           \
		state_digest(before_);                                                             \
		long got_ = (call);                                                                \
		if (got_ != (status))                                                              \
			fail_msg("line %d: want %d, got %ld: %s", __LINE__, (status), got_,        \
				 r_.body ? (char *)r_.body : "");                                  \
		assert_non_null(r_.body);                                                          \
		assert_true(r_.len > 1 && r_.body[r_.len - 1] == '\n');                            \
		assert_null(memchr(r_.body, '\n', r_.len - 1));                                    \
		resp_free(&r_);                                                                    \
		relay_alive();                                                                     \
		state_digest(after_);                                                              \
		assert_memory_equal(before_, after_, 32);                                          \
	} while (0)

/* ---- fixtures --------------------------------------------------------- */

static int group_setup(void **state)
{
	(void)state;
	resp r;

	if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return -1;
	memset(&F, 0, sizeof F);
	strcpy(F.dir, "/tmp/parley-relay-api.XXXXXX");
	if (mkdtemp(F.dir) == NULL)
		return -1;
	if (pl_test_relay_start(&F.relay, F.dir, 0, NULL) != 0)
		return -1;
	if (http(&r, "GET", "/v1/relay", NULL, NULL, 0) != 200 ||
	    pl_proto_relay_key_decode(F.relay_pk, r.body, r.len) != 0)
		return -1;
	resp_free(&r);
	pl_identity_generate(&F.a);
	pl_identity_generate(&F.b);
	pl_mailbox_id(F.mbx_a, F.a.pk);
	pl_mailbox_id(F.mbx_b, F.b.pk);
	pl_hex_encode(F.hex_a, F.mbx_a, 32);
	pl_hex_encode(F.hex_b, F.mbx_b, 32);
	randombytes_buf(F.token, sizeof F.token);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	pl_test_relay_stop(&F.relay);
	if (pl_test_rm_relay_dir(F.dir) != 0)
		return -1;
	pl_identity_wipe(&F.a);
	pl_identity_wipe(&F.b);
	curl_global_cleanup();
	return 0;
}

static void make_upload(pl_wr *w, const pl_identity *id, uint32_t spk_id, uint16_t nopk,
			uint32_t first_opk)
{
	static pl_proto_bundle_upload u;
	memset(&u, 0, sizeof u);
	memcpy(u.ik, id->pk, 32);
	u.spk_id = spk_id;
	randombytes_buf(u.spk, 32);
	assert_int_equal(pl_spk_sign(u.spk_sig, id, spk_id, u.spk), 0);
	u.opk_count = nopk;
	for (uint16_t i = 0; i < nopk; i++) {
		u.opk[i].id = first_opk + i;
		randombytes_buf(u.opk[i].pub, 32);
	}
	pl_wr_init(w);
	assert_int_equal(pl_proto_bundle_upload_encode(w, &u), 0);
}

/* ---- happy path ------------------------------------------------------- */

static void test_happy_path(void **state)
{
	(void)state;
	char path[160];
	resp r;
	pl_wr w;
	pl_bundle b;
	uint8_t th[32], tb[PL_PROTO_TOKEN_BODY_LEN], e1[1072], e2[4144], h1[32], h2[32];
	static pl_receipt rc1, rc2, rc3;
	static pl_proto_listing l;

	relay_alive();

	/* publish a bundle with two one-time prekeys */
	snprintf(path, sizeof path, "/v1/bundle/%s", F.hex_a);
	make_upload(&w, &F.a, 1, 2, 10);
	assert_int_equal(signed_req(&r, &F.a, "PUT", path, w.p, w.n), 204);
	resp_free(&r);
	pl_wr_free(&w);
	assert_int_equal(count_rows("SELECT count(*) FROM opk"), 2);

	/* each fetch takes one one-time prekey, then none is left */
	for (uint32_t want = 10; want <= 12; want++) {
		assert_int_equal(http(&r, "GET", path, NULL, NULL, 0), 200);
		assert_int_equal(pl_bundle_decode(&b, r.body, r.len), 0);
		assert_memory_equal(b.ik, F.a.pk, 32);
		assert_int_equal(b.spk_id, 1);
		assert_int_equal(b.opk_id, want == 12 ? 0 : want);
		resp_free(&r);
	}
	assert_int_equal(count_rows("SELECT count(*) FROM opk"), 0);
	/* a new upload replaces the signed prekey and adds prekeys */
	make_upload(&w, &F.a, 2, 3, 20);
	assert_int_equal(signed_req(&r, &F.a, "PUT", path, w.p, w.n), 204);
	resp_free(&r);
	pl_wr_free(&w);
	assert_int_equal(http(&r, "GET", path, NULL, NULL, 0), 200);
	assert_int_equal(pl_bundle_decode(&b, r.body, r.len), 0);
	assert_int_equal(b.spk_id, 2);
	assert_int_equal(b.opk_id, 20);
	resp_free(&r);

	/* register the token */
	pl_proto_token_hash(th, F.token);
	pl_proto_token_encode(tb, th);
	snprintf(path, sizeof path, "/v1/token/%s", F.hex_a);
	assert_int_equal(signed_req(&r, &F.a, "PUT", path, tb, sizeof tb), 204);
	resp_free(&r);

	/* deposit two envelopes; receipts verify under the relay key */
	randombytes_buf(e1, sizeof e1);
	randombytes_buf(e2, sizeof e2);
	crypto_hash_sha256(h1, e1, sizeof e1);
	crypto_hash_sha256(h2, e2, sizeof e2);
	assert_int_equal(deposit(&r, F.hex_a, F.token, e1, sizeof e1), 200);
	assert_int_equal(check_receipt(&rc1, &r, h1), 0);
	assert_int_equal(pl_receipt_verify(&rc1, F.relay_pk, h2), -1);
	assert_memory_equal(rc1.mbx, F.mbx_a, 32);
	assert_true(rc1.seq == 1);
	assert_true(rc1.time + 60 > (uint64_t)time(NULL));
	resp_free(&r);
	assert_int_equal(deposit(&r, F.hex_a, F.token, e2, sizeof e2), 200);
	assert_int_equal(check_receipt(&rc2, &r, h2), 0);
	assert_true(rc2.seq == 2);
	resp_free(&r);
	/* a retried deposit (lost receipt) is stored once: the same seq, time
	 * and leaf, proved in the newest checkpoint */
	assert_int_equal(deposit(&r, F.hex_a, F.token, e1, sizeof e1), 200);
	assert_int_equal(check_receipt(&rc3, &r, h1), 0);
	assert_true(rc3.seq == rc1.seq && rc3.time == rc1.time && rc3.index == rc1.index);
	resp_free(&r);

	/* the owner lists them, with the count of its prekeys left (3
	 * uploaded, one taken) */
	assert_int_equal(list(&F.a, F.hex_a, 0, &l, &r), 2);
	assert_int_equal(l.prekeys, 2);
	assert_true(l.item[0].seq == 1 && l.item[1].seq == 2);
	assert_true(l.item[0].time == rc1.time);
	assert_int_equal(l.item[0].envlen, sizeof e1);
	assert_memory_equal(l.item[0].env, e1, sizeof e1);
	assert_memory_equal(l.item[1].env, e2, sizeof e2);
	resp_free(&r);
	assert_int_equal(list(&F.a, F.hex_a, 1, &l, &r), 1);
	assert_true(l.item[0].seq == 2);
	resp_free(&r);
	/* without a query: everything */
	snprintf(path, sizeof path, "/v1/mailbox/%s", F.hex_a);
	assert_int_equal(signed_req(&r, &F.a, "GET", path, NULL, 0), 200);
	assert_int_equal(pl_proto_listing_decode(&l, r.body, r.len), 0);
	assert_int_equal(l.count, 2);
	resp_free(&r);

	/* ack deletes seq <= 1 */
	{
		uint8_t ack[PL_TEST_ACK_LEN];
		pl_test_ack_body(ack, 1);
		snprintf(path, sizeof path, "/v1/mailbox/%s/ack", F.hex_a);
		assert_int_equal(signed_req(&r, &F.a, "POST", path, ack, sizeof ack), 204);
		resp_free(&r);
		acks_ok++;
	}
	assert_int_equal(list(&F.a, F.hex_a, 0, &l, &r), 1);
	assert_true(l.item[0].seq == 2);
	resp_free(&r);

	/* grants: put by A, fetched by anyone, not overwritten by B */
	{
		uint8_t loc[32], blob[72];
		char lh[65];
		const uint8_t *gb;
		size_t gl;
		randombytes_buf(loc, sizeof loc);
		randombytes_buf(blob, sizeof blob);
		pl_hex_encode(lh, loc, 32);
		snprintf(path, sizeof path, "/v1/grant/%s", lh);
		assert_int_equal(http(&r, "GET", path, NULL, NULL, 0), 404);
		resp_free(&r);
		pl_wr_init(&w);
		assert_int_equal(pl_proto_grant_encode(&w, blob, sizeof blob), 0);
		assert_int_equal(signed_req(&r, &F.a, "PUT", path, w.p, w.n), 204);
		resp_free(&r);
		assert_int_equal(http(&r, "GET", path, NULL, NULL, 0), 200);
		assert_int_equal(pl_proto_grant_decode(&gb, &gl, r.body, r.len), 0);
		assert_int_equal(gl, sizeof blob);
		assert_memory_equal(gb, blob, sizeof blob);
		resp_free(&r);
		/* the owner may replace it; another key may not */
		assert_int_equal(signed_req(&r, &F.a, "PUT", path, w.p, w.n), 204);
		resp_free(&r);
		REFUSED(409, signed_req(&r_, &F.b, "PUT", path, w.p, w.n));
		pl_wr_free(&w);
	}
}

/* ---- rejections ------------------------------------------------------- */

static void test_rejections(void **state)
{
	(void)state;
	char path[200], lpath[200], apath[200];
	uint8_t env[1072], th[32], tb[PL_PROTO_TOKEN_BODY_LEN], garbage[300], wrongtok[32];
	authh h;
	pl_wr w;
	resp r;
	static uint8_t big[70000];
	const uint64_t now = (uint64_t)time(NULL);

	/* B: a mailbox with a token and a bundle, used as the target */
	pl_proto_token_hash(th, F.token);
	pl_proto_token_encode(tb, th);
	snprintf(path, sizeof path, "/v1/token/%s", F.hex_b);
	assert_int_equal(signed_req(&r, &F.b, "PUT", path, tb, sizeof tb), 204);
	resp_free(&r);
	randombytes_buf(env, sizeof env);
	deposit_ok(F.hex_b, env, sizeof env, NULL);
	snprintf(lpath, sizeof lpath, "/v1/mailbox/%s?after=0", F.hex_b);
	snprintf(apath, sizeof apath, "/v1/mailbox/%s/ack", F.hex_b);
	randombytes_buf(garbage, sizeof garbage);
	randombytes_buf(big, sizeof big);
	randombytes_buf(wrongtok, sizeof wrongtok);

	/* unknown paths, methods, ids */
	REFUSED(404, http(&r_, "GET", "/", NULL, NULL, 0));
	REFUSED(404, http(&r_, "GET", "/v2/relay", NULL, NULL, 0));
	REFUSED(404, http(&r_, "GET", "/v1/relay/x", NULL, NULL, 0));
	REFUSED(405, http(&r_, "POST", "/v1/relay", NULL, "x", 1));
	REFUSED(405, http(&r_, "DELETE", path, NULL, NULL, 0));
	REFUSED(400, http(&r_, "GET", "/v1/bundle/abc", NULL, NULL, 0));
	/* every PREFIX/{id} endpoint: the methods it does not take (405), a
	 * path after the id (404), an id that is not 64 hex digits (400) */
	{
		static const struct {
			const char *prefix, *refused[3];
		} eps[] = {
		    {"/v1/bundle/", {"POST", "DELETE", NULL}},
		    {"/v1/token/", {"GET", "POST", "DELETE"}},
		    {"/v1/grant/", {"POST", "DELETE", NULL}},
		    {"/v1/deposit/", {"GET", "PUT", "DELETE"}},
		};
		char ep[200];
		for (size_t i = 0; i < sizeof eps / sizeof eps[0]; i++) {
			snprintf(ep, sizeof ep, "%s%s", eps[i].prefix, F.hex_b);
			for (size_t m = 0; m < 3 && eps[i].refused[m] != NULL; m++)
				REFUSED(405, http(&r_, eps[i].refused[m], ep, NULL, "x", 1));
			snprintf(ep, sizeof ep, "%s%s/x", eps[i].prefix, F.hex_b);
			REFUSED(404, http(&r_, "GET", ep, NULL, NULL, 0));
			snprintf(ep, sizeof ep, "%s%.63s", eps[i].prefix, F.hex_b);
			REFUSED(400, http(&r_, "GET", ep, NULL, NULL, 0));
		}
	}
	{
		char up[200];
		snprintf(up, sizeof up, "/v1/bundle/%s", F.hex_b);
		for (char *c = up + 11; *c; c++)
			if (*c >= 'a' && *c <= 'f')
				*c = (char)(*c - 32);
		REFUSED(400, http(&r_, "GET", up, NULL, NULL, 0));
		snprintf(up, sizeof up, "/v1/bundle/%s0", F.hex_b);
		REFUSED(400, http(&r_, "GET", up, NULL, NULL, 0));
		snprintf(up, sizeof up, "/v1/bundle/%s?x=1", F.hex_b);
		REFUSED(400, http(&r_, "GET", up, NULL, NULL, 0));
		snprintf(up, sizeof up, "/v1/mailbox/%s?after=01", F.hex_b);
		REFUSED(400, signed_req(&r_, &F.b, "GET", up, NULL, 0));
		snprintf(up, sizeof up, "/v1/mailbox/%s?after=-1", F.hex_b);
		REFUSED(400, signed_req(&r_, &F.b, "GET", up, NULL, 0));
	}
	REFUSED(413, http(&r_, "GET", "/v1/relay", NULL, "body", 4));

	/* bundle upload: garbage, truncated, trailing, oversized, foreign IK */
	{
		char bp[200];
		snprintf(bp, sizeof bp, "/v1/bundle/%s", F.hex_b);
		make_upload(&w, &F.b, 1, 3, 1);
		REFUSED(400, signed_req(&r_, &F.b, "PUT", bp, garbage, 200));
		REFUSED(400, signed_req(&r_, &F.b, "PUT", bp, w.p, w.n - 1));
		REFUSED(400, signed_req(&r_, &F.b, "PUT", bp, w.p, 10));
		REFUSED(400, signed_req(&r_, &F.b, "PUT", bp, NULL, 0));
		REFUSED(413, signed_req(&r_, &F.b, "PUT", bp, big, PL_PROTO_BUNDLE_UPLOAD_MAX + 1));
		w.p[40] ^= 1; /* a byte of spk: the signature no longer verifies */
		REFUSED(400, signed_req(&r_, &F.b, "PUT", bp, w.p, w.n));
		pl_wr_free(&w);
		make_upload(&w, &F.a, 1, 1, 1); /* A's bundle into B's mailbox, signed by B */
		REFUSED(400, signed_req(&r_, &F.b, "PUT", bp, w.p, w.n));
		pl_wr_free(&w);
		/* signed by A for B's mailbox */
		make_upload(&w, &F.b, 1, 1, 1);
		REFUSED(401, signed_req(&r_, &F.a, "PUT", bp, w.p, w.n));
		/* too many one-time prekeys in total */
		for (int i = 0; i < 10; i++) {
			pl_wr_free(&w);
			make_upload(&w, &F.b, 1, 100, 1 + 100u * (uint32_t)i);
			assert_int_equal(signed_req(&r, &F.b, "PUT", bp, w.p, w.n), 204);
			resp_free(&r);
		}
		pl_wr_free(&w);
		make_upload(&w, &F.b, 1, 1, 5000);
		REFUSED(409, signed_req(&r_, &F.b, "PUT", bp, w.p, w.n));
		pl_wr_free(&w);
		char sql[160];
		snprintf(sql, sizeof sql, "SELECT count(*) FROM opk WHERE hex(mbx) = upper('%s')",
			 F.hex_b);
		assert_int_equal(count_rows(sql), 1000);
	}

	/* token registration */
	REFUSED(400, signed_req(&r_, &F.b, "PUT", path, tb, sizeof tb - 1));
	garbage[0] = 0x7f; /* never a valid version */
	REFUSED(400, signed_req(&r_, &F.b, "PUT", path, garbage, 33));
	REFUSED(413, signed_req(&r_, &F.b, "PUT", path, garbage, 34));
	REFUSED(413, signed_req(&r_, &F.b, "PUT", path, garbage, 100));
	tb[0] = 2;
	REFUSED(400, signed_req(&r_, &F.b, "PUT", path, tb, sizeof tb));
	tb[0] = 1;

	/* owner auth on the listing: wrong key, stale, future, bad sig, missing */
	REFUSED(401, signed_req(&r_, &F.a, "GET", lpath, NULL, 0));
	REFUSED(401, http(&r_, "GET", lpath,
			  auth_headers(&h, &F.b, "GET", lpath, NULL, 0, now - 400), NULL, 0));
	REFUSED(401, http(&r_, "GET", lpath,
			  auth_headers(&h, &F.b, "GET", lpath, NULL, 0, now + 400), NULL, 0));
	auth_headers(&h, &F.b, "GET", lpath, NULL, 0, now);
	h.s[20] = h.s[20] == '0' ? '1' : '0';
	REFUSED(401, http(&r_, "GET", lpath, h.v, NULL, 0));
	auth_headers(&h, &F.b, "GET", "/v1/relay", NULL, 0, now); /* signed for another path */
	REFUSED(401, http(&r_, "GET", lpath, h.v, NULL, 0));
	auth_headers(&h, &F.b, "GET", lpath, NULL, 0, now);
	h.v[3] = NULL; /* no signature */
	REFUSED(401, http(&r_, "GET", lpath, h.v, NULL, 0));
	REFUSED(401, http(&r_, "GET", lpath, NULL, NULL, 0));

	/* replay: the same signed listing twice */
	auth_headers(&h, &F.b, "GET", lpath, NULL, 0, now);
	assert_int_equal(http(&r, "GET", lpath, h.v, NULL, 0), 200);
	resp_free(&r);
	REFUSED(401, http(&r_, "GET", lpath, h.v, NULL, 0));
	/* replayed token registration and ack */
	{
		uint8_t ack[PL_TEST_ACK_LEN];
		auth_headers(&h, &F.b, "PUT", path, tb, sizeof tb, now);
		assert_int_equal(http(&r, "PUT", path, h.v, tb, sizeof tb), 204);
		resp_free(&r);
		REFUSED(401, http(&r_, "PUT", path, h.v, tb, sizeof tb));
		pl_test_ack_body(ack, 0);
		auth_headers(&h, &F.b, "POST", apath, ack, sizeof ack, now);
		assert_int_equal(http(&r, "POST", apath, h.v, ack, sizeof ack), 204);
		resp_free(&r);
		acks_ok++;
		REFUSED(401, http(&r_, "POST", apath, h.v, ack, sizeof ack));
		/* a body other than the signed one */
		auth_headers(&h, &F.b, "POST", apath, ack, sizeof ack, now);
		ack[8] = 1;
		REFUSED(401, http(&r_, "POST", apath, h.v, ack, sizeof ack));
		/* ack: garbage, beyond the last seq */
		REFUSED(400, signed_req(&r_, &F.b, "POST", apath, ack, sizeof ack - 1));
		REFUSED(400, signed_req(&r_, &F.b, "POST", apath, garbage, 9));
		/* the old ack format (u8 1, through) names no envelope: refused,
		 * never read as naming everything below its seq */
		{
			uint8_t v1[9] = {1, 0, 0, 0, 0, 0, 0, 0, 0};
			REFUSED(400, signed_req(&r_, &F.b, "POST", apath, v1, sizeof v1));
		}
		pl_test_ack_body(ack, 99);
		REFUSED(409, signed_req(&r_, &F.b, "POST", apath, ack, sizeof ack));
	}

	/* deposits: wrong, missing, malformed token; wrong bucket; oversized */
	REFUSED(403, deposit(&r_, F.hex_b, wrongtok, env, sizeof env));
	REFUSED(403, deposit(&r_, F.hex_b, NULL, env, sizeof env));
	{
		const char *bad[] = {"Parley-Token: 00", NULL};
		char dp[200];
		snprintf(dp, sizeof dp, "/v1/deposit/%s", F.hex_b);
		REFUSED(403, http(&r_, "POST", dp, bad, env, sizeof env));
	}
	REFUSED(403, deposit(&r_, F.hex_a, wrongtok, env, sizeof env)); /* A's token differs */
	{
		uint8_t nb[32];
		char nh[65];
		randombytes_buf(nb, 32);
		pl_hex_encode(nh, nb, 32);
		REFUSED(403, deposit(&r_, nh, F.token, env, sizeof env)); /* no such mailbox */
	}
	REFUSED(400, deposit(&r_, F.hex_b, F.token, env, sizeof env - 1));
	REFUSED(400, deposit(&r_, F.hex_b, F.token, env, 1024));
	REFUSED(400, deposit(&r_, F.hex_b, F.token, NULL, 0));
	REFUSED(400, deposit(&r_, F.hex_b, F.token, big, 65584 - 1));
	REFUSED(413, deposit(&r_, F.hex_b, F.token, big, 65584 + 1));
	REFUSED(413, deposit(&r_, F.hex_b, F.token, big, sizeof big));
	/* the largest bucket is accepted */
	deposit_ok(F.hex_b, big, 65584, NULL);

	/* grants */
	{
		char gp[200];
		uint8_t loc[32];
		randombytes_buf(loc, 32);
		char lh[65];
		pl_hex_encode(lh, loc, 32);
		snprintf(gp, sizeof gp, "/v1/grant/%s", lh);
		REFUSED(400, signed_req(&r_, &F.b, "PUT", gp, garbage, 20));
		REFUSED(413, signed_req(&r_, &F.b, "PUT", gp, garbage, 262));
		REFUSED(401, http(&r_, "PUT", gp, NULL, garbage, 20));
		REFUSED(404, http(&r_, "GET", gp, NULL, NULL, 0));
	}
}

/* Garbage below HTTP: raw bytes on a socket, and oversized headers. */
static int raw_exchange(const char *req, size_t len, char *out, size_t cap)
{
	struct sockaddr_in sa = {0};
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	size_t n = 0;
	struct timeval tv = {5, 0};

	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)F.relay.port);
	sa.sin_addr.s_addr = htonl(0x7f000001);
	if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) != 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	if (send(fd, req, len, MSG_NOSIGNAL) < 0) {
		close(fd);
		return 0;
	}
	shutdown(fd, SHUT_WR);
	while (n < cap - 1) {
		ssize_t r = recv(fd, out + n, cap - 1 - n, 0);
		if (r <= 0)
			break;
		n += (size_t)r;
	}
	out[n] = '\0';
	close(fd);
	return (int)n;
}

static void test_raw_garbage(void **state)
{
	(void)state;
	char out[4096];
	uint8_t before[32], after[32];
	static char hdr[70000];
	uint8_t rnd[512];

	state_digest(before);
	raw_exchange("GARBAGE\r\n\r\n", 11, out, sizeof out);
	assert_true(out[0] == '\0' || strncmp(out, "HTTP/1.1 4", 10) == 0);
	relay_alive();
	raw_exchange("GET /v1/relay HTTP/1.1\r\nHost: x\r\nContent-Length: x\r\n\r\n", 55, out,
		     sizeof out);
	assert_true(out[0] == '\0' || strncmp(out, "HTTP/1.1 4", 10) == 0);
	relay_alive();
	randombytes_buf(rnd, sizeof rnd);
	raw_exchange((const char *)rnd, sizeof rnd, out, sizeof out);
	relay_alive();
	/* truncated request line and headers, then close */
	raw_exchange("POST /v1/deposit/", 17, out, sizeof out);
	relay_alive();
	/* headers far beyond the connection's memory limit */
	int n = snprintf(hdr, sizeof hdr, "GET /v1/relay HTTP/1.1\r\nHost: x\r\nX-Big: ");
	memset(hdr + n, 'a', 60000);
	memcpy(hdr + n + 60000, "\r\n\r\n", 4);
	raw_exchange(hdr, (size_t)n + 60004, out, sizeof out);
	assert_true(out[0] == '\0' || strncmp(out, "HTTP/1.1 4", 10) == 0);
	assert_null(strstr(out, "200 OK"));
	relay_alive();
	/* a body shorter than its Content-Length, then close */
	raw_exchange("PUT /v1/token/00 HTTP/1.1\r\nHost: x\r\nContent-Length: 33\r\n\r\nabc", 62,
		     out, sizeof out);
	relay_alive();
	/* an oversized chunked body is refused without being stored */
	{
		char dp[300];
		int m = snprintf(dp, sizeof dp,
				 "POST /v1/deposit/%s HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: "
				 "chunked\r\n\r\n",
				 F.hex_b);
		char *body = malloc((size_t)m + 80000);
		assert_non_null(body);
		memcpy(body, dp, (size_t)m);
		int o = m;
		o += sprintf(body + o, "11170\r\n"); /* 70000 bytes */
		memset(body + o, 'x', 70000);
		o += 70000;
		o += sprintf(body + o, "\r\n0\r\n\r\n");
		raw_exchange(body, (size_t)o, out, sizeof out);
		free(body);
		assert_true(out[0] == '\0' || strncmp(out, "HTTP/1.1 413", 12) == 0);
	}
	relay_alive();
	state_digest(after);
	assert_memory_equal(before, after, 32);
}

/* ---- concurrency: group commit --------------------------------------- */

#define CONC_THREADS 16
#define CONC_EACH 25

typedef struct {
	int ok;
	uint64_t seq[CONC_EACH];
	uint8_t hash[CONC_EACH][32];
} conc_arg;

static void *conc_worker(void *p)
{
	conc_arg *a = p;
	uint8_t env[1072];
	resp r;
	static __thread pl_receipt rc;

	a->ok = 0;
	for (int i = 0; i < CONC_EACH; i++) {
		randombytes_buf(env, sizeof env);
		crypto_hash_sha256(a->hash[i], env, sizeof env);
		if (deposit(&r, F.hex_a, F.token, env, sizeof env) != 200 ||
		    check_receipt(&rc, &r, a->hash[i]) != 0) {
			resp_free(&r);
			return NULL;
		}
		a->seq[i] = rc.seq;
		resp_free(&r);
	}
	a->ok = 1;
	return NULL;
}

static void test_concurrent_deposits(void **state)
{
	(void)state;
	static conc_arg args[CONC_THREADS];
	pthread_t th[CONC_THREADS];
	static pl_proto_listing l;
	resp r;
	int before, total = 0;
	uint64_t after = 0;

	before = count_rows("SELECT count(*) FROM msg WHERE seq > 0");
	for (int i = 0; i < CONC_THREADS; i++)
		assert_int_equal(pthread_create(&th[i], NULL, conc_worker, &args[i]), 0);
	for (int i = 0; i < CONC_THREADS; i++) {
		pthread_join(th[i], NULL);
		assert_true(args[i].ok);
	}
	assert_int_equal(count_rows("SELECT count(*) FROM msg"), before + CONC_THREADS * CONC_EACH);
	/* seqs are unique, and the listing holds each receipt's envelope */
	for (;;) {
		int n = list(&F.a, F.hex_a, after, &l, &r);
		assert_true(n >= 0);
		for (int k = 0; k < n; k++) {
			uint8_t h[32];
			crypto_hash_sha256(h, l.item[k].env, l.item[k].envlen);
			for (int i = 0; i < CONC_THREADS; i++)
				for (int j = 0; j < CONC_EACH; j++)
					if (args[i].seq[j] == l.item[k].seq) {
						assert_memory_equal(args[i].hash[j], h, 32);
						total++;
					}
			after = l.item[k].seq;
		}
		resp_free(&r);
		if (n == 0)
			break;
	}
	assert_int_equal(total, CONC_THREADS * CONC_EACH);
}

/* ---- the transparency log ------------------------------------------- */

/* GET a proof body; returns its length (or -1) in *n. */
static long get_proof(const char *path, uint8_t (*proof)[32], size_t *n)
{
	resp r;
	long st = http(&r, "GET", path, NULL, NULL, 0);
	if (st == 200 && pl_proto_proof_decode(proof, n, r.body, r.len) != 0)
		st = -1;
	resp_free(&r);
	return st;
}

static int consistent(const seen_cp *a, const seen_cp *b)
{
	char path[160];
	uint8_t proof[PL_PROTO_PROOF_MAX][32];
	size_t n;

	snprintf(path, sizeof path, "/log/proof/consistency?old=%llu&size=%llu",
		 (unsigned long long)a->size, (unsigned long long)b->size);
	if (get_proof(path, proof, &n) != 200)
		return -1;
	return pl_merkle_verify_consistency(a->size, b->size, a->root, b->root,
					    (const uint8_t(*)[32])proof, n);
}

static int cmp_seen(const void *x, const void *y)
{
	const seen_cp *a = x, *b = y;
	return a->size < b->size ? -1 : a->size > b->size;
}

/* The verifier key parley-relay --print-key prints for F.dir. */
static void printed_vkey(pl_note_vkey *v)
{
	char cmd[PATH_MAX + 200], line[PL_NOTE_VKEY_MAX + 2];
	FILE *p;

	snprintf(cmd, sizeof cmd, "timeout 30 '%s' --print-key --data '%s'",
		 pl_test_relay_bin(NULL), F.dir);
	p = popen(cmd, "r");
	assert_non_null(p);
	assert_non_null(fgets(line, sizeof line, p));
	assert_null(fgets(cmd, sizeof cmd, p)); /* one line */
	assert_int_equal(pclose(p), 0);
	line[strcspn(line, "\n")] = '\0';
	assert_int_equal(pl_note_vkey_parse(v, line, strlen(line)), 0);
}

static void test_log_endpoints(void **state)
{
	(void)state;
	static pl_proto_leaves lv;
	static uint8_t note[PL_LEAF_NOTE_MAX];
	uint8_t proof[PL_PROTO_PROOF_MAX][32], root[32];
	char path[200];
	pl_note_vkey vk;
	pl_checkpoint cp;
	uint64_t size;
	unsigned fetches = 0, deposits = 0;
	resp r;

	/* the newest checkpoint verifies with the printed key */
	assert_int_equal(http(&r, "GET", "/log/checkpoint", NULL, NULL, 0), 200);
	printed_vkey(&vk);
	assert_int_equal(pl_checkpoint_open(&cp, r.body, r.len, &vk), PL_NOTE_VERIFIED);
	size = saw_note(r.body, r.len);
	memcpy(root, cp.root, 32);
	assert_true(size == cp.size && size >= 2 + ndeps);
	resp_free(&r);

	/* every leaf, in pages; each one proved in the newest checkpoint */
	for (uint64_t start = 0; start < size;) {
		uint32_t want = 1 + (uint32_t)randombytes_uniform(PL_PROTO_LEAVES_MAX);
		snprintf(path, sizeof path, "/log/leaves?start=%llu&count=%u",
			 (unsigned long long)start, want);
		assert_int_equal(http(&r, "GET", path, NULL, NULL, 0), 200);
		assert_int_equal(pl_proto_leaves_decode(&lv, r.body, r.len), 0);
		assert_int_equal(lv.count, size - start < want ? size - start : want);
		for (uint32_t i = 0; i < lv.count; i++) {
			uint64_t idx = start + i;
			uint8_t h[32];
			size_t n;
			pl_leaf l;
			assert_int_equal(pl_leaf_decode(&l, lv.leaf[i].p, lv.leaf[i].n), 0);
			pl_leaf_hash(h, lv.leaf[i].p, lv.leaf[i].n);
			snprintf(path, sizeof path, "/log/proof/inclusion?index=%llu&size=%llu",
				 (unsigned long long)idx, (unsigned long long)size);
			assert_int_equal(get_proof(path, proof, &n), 200);
			assert_int_equal(pl_merkle_verify_inclusion(
					     h, idx, size, (const uint8_t(*)[32])proof, n, root),
					 0);
			if (l.type == PL_LEAF_ACK) {
				/* the owner's signature verifies offline */
				assert_int_equal(pl_leaf_ack_verify(&l), 0);
				fetches++;
				continue;
			}
			/* a deposit leaf is exactly what its receipt said */
			size_t k;
			for (k = 0; k < ndeps; k++)
				if (deps[k].index == idx)
					break;
			if (k == ndeps)
				fail_msg("deposit leaf %llu has no receipt",
					 (unsigned long long)idx);
			assert_memory_equal(l.mbx, deps[k].mbx, 32);
			assert_memory_equal(l.hash, deps[k].hash, 32);
			assert_true(l.seq == deps[k].seq && l.relay_time == deps[k].time);
			deposits++;
		}
		start += lv.count;
		resp_free(&r);
	}
	assert_int_equal(deposits, ndeps);
	assert_int_equal(fetches, acks_ok);
	assert_int_equal(deposits + fetches, size);

	/* every checkpoint seen is served again byte for byte, and each pair
	 * is consistent (a sample of pairs if many were seen) */
	qsort(seen, nseen, sizeof seen[0], cmp_seen);
	for (size_t i = 0; i < nseen; i++) {
		snprintf(path, sizeof path, "/log/checkpoint?size=%llu",
			 (unsigned long long)seen[i].size);
		assert_int_equal(http(&r, "GET", path, NULL, NULL, 0), 200);
		assert_int_equal(r.len, seen[i].n);
		assert_memory_equal(r.body, seen[i].note, r.len);
		resp_free(&r);
	}
	{
		size_t step = nseen > 40 ? nseen / 40 : 1, pairs = 0;
		for (size_t i = 0; i < nseen; i += step)
			for (size_t j = i; j < nseen; j += step) {
				if (consistent(&seen[i], &seen[j]) != 0)
					fail_msg("checkpoints %llu and %llu are not consistent",
						 (unsigned long long)seen[i].size,
						 (unsigned long long)seen[j].size);
				pairs++;
			}
		for (size_t i = 0; i < nseen; i++)
			assert_int_equal(consistent(&seen[i], &seen[nseen - 1]), 0);
		printf("# %zu checkpoints seen, %zu pairs proved consistent, log size %llu\n",
		       nseen, pairs + nseen, (unsigned long long)size);
	}
	/* a proof that does not match: an older root against a newer size */
	if (nseen >= 2) {
		seen_cp a = seen[0], b = seen[nseen - 1];
		if (a.size > 0 && a.size < b.size) {
			memcpy(a.root, b.root, 32);
			assert_int_not_equal(consistent(&a, &b), 0);
		}
	}
	/* inclusion in an older signed size */
	if (nseen >= 2 && seen[1].size > 0) {
		size_t n;
		uint8_t h[32];
		snprintf(path, sizeof path, "/log/leaves?start=0&count=1");
		assert_int_equal(http(&r, "GET", path, NULL, NULL, 0), 200);
		assert_int_equal(pl_proto_leaves_decode(&lv, r.body, r.len), 0);
		pl_leaf_hash(h, lv.leaf[0].p, lv.leaf[0].n);
		resp_free(&r);
		snprintf(path, sizeof path, "/log/proof/inclusion?index=0&size=%llu",
			 (unsigned long long)seen[1].size);
		assert_int_equal(get_proof(path, proof, &n), 200);
		assert_int_equal(pl_merkle_verify_inclusion(h, 0, seen[1].size,
							    (const uint8_t(*)[32])proof, n,
							    seen[1].root),
				 0);
	}
	/* edge sizes: old 0 and old = size give empty proofs */
	{
		size_t n = 99;
		snprintf(path, sizeof path, "/log/proof/consistency?old=0&size=%llu",
			 (unsigned long long)size);
		assert_int_equal(get_proof(path, proof, &n), 200);
		assert_int_equal(n, 0);
		snprintf(path, sizeof path, "/log/proof/consistency?old=%llu&size=%llu",
			 (unsigned long long)size, (unsigned long long)size);
		assert_int_equal(get_proof(path, proof, &n), 200);
		assert_int_equal(n, 0);
	}
	/* every stored checkpoint is consistent with the newest */
	{
		char db[128];
		sqlite3 *d = NULL;
		sqlite3_stmt *st;
		uint64_t missing = 0;
		uint64_t prev = 0;
		snprintf(db, sizeof db, "%s/relay.db", F.dir);
		assert_int_equal(sqlite3_open_v2(db, &d, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
		sqlite3_busy_timeout(d, 5000);
		assert_int_equal(
		    sqlite3_prepare_v2(d, "SELECT size, note FROM checkpoint ORDER BY size", -1,
				       &st, NULL),
		    SQLITE_OK);
		while (sqlite3_step(st) == SQLITE_ROW) {
			uint64_t sz = (uint64_t)sqlite3_column_int64(st, 0);
			size_t n = (size_t)sqlite3_column_bytes(st, 1);
			seen_cp c;
			assert_true(n <= sizeof note);
			memcpy(note, sqlite3_column_blob(st, 1), n);
			assert_int_equal(pl_leaf_checkpoint_open(&cp, note, n, F.relay_pk), 0);
			assert_true(cp.size == sz);
			c.size = sz;
			memcpy(c.root, cp.root, 32);
			assert_int_equal(consistent(&c, &seen[nseen - 1]), 0);
			if (sz > prev + 1 && missing == 0)
				missing = prev + 1; /* a size inside a batch: never signed */
			prev = sz;
		}
		sqlite3_finalize(st);
		sqlite3_close(d);
		if (missing != 0) {
			snprintf(path, sizeof path, "/log/checkpoint?size=%llu",
				 (unsigned long long)missing);
			REFUSED(404, http(&r_, "GET", path, NULL, NULL, 0));
		}
	}

	/* rejections: syntax 400, beyond the log 404, method 405, body 413 */
	{
		char big[80], beyond[80], ex[120];
		snprintf(beyond, sizeof beyond, "%llu", (unsigned long long)size + 1);
		snprintf(big, sizeof big, "18446744073709551616");
		const char *bad400[] = {
		    "/log/checkpoint?size=",
		    "/log/checkpoint?size=01",
		    "/log/checkpoint?size=-1",
		    "/log/checkpoint?size=+1",
		    "/log/checkpoint?size=1&size=1",
		    "/log/checkpoint?size=1&x=2",
		    "/log/checkpoint?sizes=1",
		    "/log/checkpoint?size=1%30",
		    "/log/checkpoint?",
		    "/log/checkpoint?size=18446744073709551616",
		    "/log/checkpoint?size=999999999999999999999999",
		    "/log/proof/inclusion",
		    "/log/proof/inclusion?index=0",
		    "/log/proof/inclusion?size=2&index=0",
		    "/log/proof/inclusion?index=1&size=1",
		    "/log/proof/inclusion?index=0&size=0",
		    "/log/proof/inclusion?index=00&size=1",
		    "/log/proof/inclusion?index=0&size=1&",
		    "/log/proof/inclusion?index=0&&size=1",
		    "/log/proof/inclusion?index=%200&size=1",
		    "/log/proof/consistency?old=2&size=1",
		    "/log/proof/consistency?old=0",
		    "/log/proof/consistency?size=1&old=0",
		    "/log/leaves?start=0",
		    "/log/leaves?start=0&count=0",
		    "/log/leaves?start=0&count=1001",
		    "/log/leaves?count=1&start=0",
		    "/log/leaves?start=0&count=1x",
		};
		for (size_t i = 0; i < sizeof bad400 / sizeof bad400[0]; i++) {
			uint8_t before[32], after[32];
			long got = http(&r, "GET", bad400[i], NULL, NULL, 0);
			if (got != 400)
				fail_msg("%s: want 400, got %ld", bad400[i], got);
			assert_true(r.len > 1 && r.body[r.len - 1] == '\n');
			assert_null(memchr(r.body, '\n', r.len - 1));
			resp_free(&r);
			state_digest(before);
			relay_alive();
			state_digest(after);
			assert_memory_equal(before, after, 32);
		}
		snprintf(ex, sizeof ex, "/log/checkpoint?size=%s", beyond);
		REFUSED(404, http(&r_, "GET", ex, NULL, NULL, 0));
		REFUSED(404, http(&r_, "GET", "/log/checkpoint?size=18446744073709551615", NULL,
				  NULL, 0));
		snprintf(ex, sizeof ex, "/log/proof/inclusion?index=0&size=%s", beyond);
		REFUSED(404, http(&r_, "GET", ex, NULL, NULL, 0));
		snprintf(ex, sizeof ex, "/log/proof/consistency?old=1&size=%s", beyond);
		REFUSED(404, http(&r_, "GET", ex, NULL, NULL, 0));
		snprintf(ex, sizeof ex, "/log/leaves?start=%llu&count=1", (unsigned long long)size);
		REFUSED(404, http(&r_, "GET", ex, NULL, NULL, 0));
		REFUSED(404, http(&r_, "GET", "/log/leaves?start=18446744073709551615&count=1",
				  NULL, NULL, 0));
		REFUSED(404, http(&r_, "GET", "/log", NULL, NULL, 0));
		REFUSED(404, http(&r_, "GET", "/log/", NULL, NULL, 0));
		REFUSED(404, http(&r_, "GET", "/log/checkpoint/1", NULL, NULL, 0));
		REFUSED(404, http(&r_, "GET", "/log/proof", NULL, NULL, 0));
		REFUSED(405, http(&r_, "POST", "/log/checkpoint", NULL, "x", 1));
		REFUSED(405, http(&r_, "PUT", "/log/leaves?start=0&count=1", NULL, "x", 1));
		REFUSED(413, http(&r_, "GET", "/log/checkpoint", NULL, "x", 1));
		(void)big;
	}
}

/* A mailbox never gives a seq twice, across restarts: neither after its
 * messages were acknowledged (deleted), nor while they wait. The relay
 * keeps the last seq in memory and writes it only at acks (schema 5). */
static void ack_through(uint64_t seq)
{
	uint8_t ack[PL_TEST_ACK_LEN];
	char path[128];
	resp r;

	pl_test_ack_body(ack, seq);
	snprintf(path, sizeof path, "/v1/mailbox/%s/ack", F.hex_a);
	assert_int_equal(signed_req(&r, &F.a, "POST", path, ack, sizeof ack), 204);
	resp_free(&r);
	acks_ok++;
}

static uint64_t deposit_seq(void)
{
	static pl_receipt rc;
	uint8_t env[1072];

	randombytes_buf(env, sizeof env);
	deposit_ok(F.hex_a, env, sizeof env, &rc);
	return rc.seq;
}

static void test_seq_survives_restart(void **state)
{
	(void)state;
	static pl_proto_listing l;
	resp r;
	uint64_t s1 = deposit_seq(), s2 = deposit_seq(), s3 = deposit_seq();

	assert_true(s2 == s1 + 1 && s3 == s2 + 1);
	/* every message acknowledged: the mailbox table alone remembers s3 */
	ack_through(s3);
	assert_int_equal(list(&F.a, F.hex_a, 0, &l, &r), 0);
	resp_free(&r);
	{
		char sql[160];
		snprintf(sql, sizeof sql, "SELECT count(*) FROM msg WHERE mbx = X'%s'", F.hex_a);
		assert_int_equal(count_rows(sql), 0);
		snprintf(sql, sizeof sql,
			 "SELECT count(*) FROM mailbox WHERE mbx = X'%s' AND last_seq = %llu",
			 F.hex_a, (unsigned long long)s3);
		assert_int_equal(count_rows(sql), 1);
	}
	pl_test_relay_stop(&F.relay);
	assert_int_equal(pl_test_relay_start(&F.relay, F.dir, 0, NULL), 0);
	relay_alive();
	uint64_t s4 = deposit_seq(), s5 = deposit_seq();
	assert_true(s4 == s3 + 1 && s5 == s4 + 1);
	/* acking past the last seq given out is refused */
	{
		uint8_t ack[PL_TEST_ACK_LEN];
		char path[128];
		pl_test_ack_body(ack, s5 + 1);
		snprintf(path, sizeof path, "/v1/mailbox/%s/ack", F.hex_a);
		assert_int_equal(signed_req(&r, &F.a, "POST", path, ack, sizeof ack), 409);
		resp_free(&r);
	}
	/* unacknowledged messages carry the count over a restart by themselves */
	pl_test_relay_stop(&F.relay);
	assert_int_equal(pl_test_relay_start(&F.relay, F.dir, 0, NULL), 0);
	relay_alive();
	assert_true(deposit_seq() == s5 + 1);
	assert_int_equal(list(&F.a, F.hex_a, s3, &l, &r), 3);
	assert_true(l.item[0].seq == s4 && l.item[2].seq == s5 + 1);
	resp_free(&r);
}

/* Restart on the same data: the key and the stored state survive. */
static void test_restart_keeps_state(void **state)
{
	(void)state;
	uint8_t before[32], after[32], pk[32];
	static pl_proto_listing l;
	resp r;
	int n1, n2;

	static uint8_t note[PL_LEAF_NOTE_MAX];
	size_t notelen;

	n1 = list(&F.a, F.hex_a, 0, &l, &r);
	resp_free(&r);
	assert_int_equal(http(&r, "GET", "/log/checkpoint", NULL, NULL, 0), 200);
	assert_true(r.len <= sizeof note);
	memcpy(note, r.body, r.len);
	notelen = r.len;
	resp_free(&r);
	state_digest(before);
	memcpy(pk, F.relay_pk, 32);
	pl_test_relay_stop(&F.relay);
	assert_int_equal(pl_test_relay_start(&F.relay, F.dir, 0, NULL), 0);
	relay_alive(); /* same key */
	assert_memory_equal(pk, F.relay_pk, 32);
	state_digest(after);
	assert_memory_equal(before, after, 32);
	/* the log reopens where it was: the same newest checkpoint */
	assert_int_equal(http(&r, "GET", "/log/checkpoint", NULL, NULL, 0), 200);
	assert_int_equal(r.len, notelen);
	assert_memory_equal(r.body, note, notelen);
	resp_free(&r);
	/* and a deposit after the restart extends it */
	{
		uint8_t env[1072];
		static pl_receipt rc;
		seen_cp a, b;
		pl_checkpoint c;
		randombytes_buf(env, sizeof env);
		deposit_ok(F.hex_a, env, sizeof env, &rc);
		assert_int_equal(pl_leaf_checkpoint_open(&c, note, notelen, F.relay_pk), 0);
		a.size = c.size;
		memcpy(a.root, c.root, 32);
		assert_int_equal(pl_leaf_checkpoint_open(&c, rc.note, rc.notelen, F.relay_pk), 0);
		b.size = c.size;
		memcpy(b.root, c.root, 32);
		assert_true(b.size == a.size + 1 && rc.index == a.size);
		assert_int_equal(consistent(&a, &b), 0);
		state_digest(before);
	}
	n2 = list(&F.a, F.hex_a, 0, &l, &r);
	resp_free(&r);
	assert_int_equal(n1, n2);
	/* a second relay on the same data directory is refused */
	{
		char cmd[PATH_MAX + 256];
		snprintf(cmd, sizeof cmd,
			 "timeout 30 '%s' --listen 127.0.0.1:0 --data '%s' >/dev/null 2>&1",
			 pl_test_relay_bin(NULL), F.dir);
		int st = system(cmd);
		/* refused at once, not stopped by timeout(1) (124) */
		assert_true(WIFEXITED(st) && WEXITSTATUS(st) != 0 && WEXITSTATUS(st) != 124);
	}
}

/* --no-log, the benchmark switch: deposits are stored, nothing is logged,
 * the receipt is one no client accepts; the directory stays marked. */
static void test_no_log(void **state)
{
	(void)state;
	fixture G;
	resp r;
	char path[200], cmd[PATH_MAX + 256];
	uint8_t th[32], tb[PL_PROTO_TOKEN_BODY_LEN], env[1072], h[32];
	static pl_receipt rc;
	pl_err e;
	int st;

	memset(&G, 0, sizeof G);
	strcpy(G.dir, "/tmp/parley-relay-nolog.XXXXXX");
	assert_non_null(mkdtemp(G.dir));
	assert_int_equal(
	    pl_test_relay_start(&G.relay, G.dir, 0, (const char *const[]){"--no-log", NULL}), 0);
	port_override = G.relay.port;
	pl_proto_token_hash(th, F.token);
	pl_proto_token_encode(tb, th);
	snprintf(path, sizeof path, "/v1/token/%s", F.hex_a);
	assert_int_equal(signed_req(&r, &F.a, "PUT", path, tb, sizeof tb), 204);
	resp_free(&r);
	randombytes_buf(env, sizeof env);
	crypto_hash_sha256(h, env, sizeof env);
	assert_int_equal(deposit(&r, F.hex_a, F.token, env, sizeof env), 200);
	assert_int_equal(r.len, PL_RECEIPT_FIXED_LEN + 5);
	assert_int_equal(pl_receipt_decode(&rc, r.body, r.len), -1);
	assert_int_equal(
	    pl_rc_receipt_check(&rc, r.body, r.len, F.relay_pk, F.mbx_a, h, "http://127.0.0.1", &e),
	    -1);
	assert_int_equal(e.code, PL_EXIT_SECURITY);
	resp_free(&r);
	assert_int_equal(http(&r, "GET", "/log/checkpoint", NULL, NULL, 0), 404);
	resp_free(&r);
	assert_int_equal(http(&r, "GET", "/log/leaves?start=0&count=1", NULL, NULL, 0), 404);
	resp_free(&r);
	port_override = 0;
	st = pl_test_relay_stop(&G.relay);
	assert_true(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	/* the marked directory is refused by a relay with its log */
	snprintf(cmd, sizeof cmd,
		 "timeout 30 '%s' --listen 127.0.0.1:0 --data '%s' >/dev/null 2>'%s.err2'",
		 pl_test_relay_bin(NULL), G.dir, G.dir);
	st = system(cmd);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	/* --no-log on a directory with a log is refused */
	pl_test_relay_stop(&F.relay);
	snprintf(cmd, sizeof cmd,
		 "timeout 30 '%s' --listen 127.0.0.1:0 --data '%s' --no-log >/dev/null 2>/dev/null",
		 pl_test_relay_bin(NULL), F.dir);
	st = system(cmd);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) == 1);
	assert_int_equal(pl_test_relay_start(&F.relay, F.dir, 0, NULL), 0);
	relay_alive();
	assert_int_equal(pl_test_rm_relay_dir(G.dir), 0);
}

/* Last: SIGTERM stops the relay with status 0, and its stderr holds no
 * sanitizer report (the child's errors would otherwise go unnoticed). */
static void test_clean_stop(void **state)
{
	(void)state;
	char path[128], line[512];
	int bad = 0;
	FILE *f;

	int st = pl_test_relay_stop(&F.relay);
	assert_true(st != -1 && WIFEXITED(st) && WEXITSTATUS(st) == 0);
	snprintf(path, sizeof path, "%s.err", F.dir);
	f = fopen(path, "r");
	if (f != NULL) {
		while (fgets(line, sizeof line, f) != NULL) {
			printf("# relay: %s", line);
			if (strstr(line, "Sanitizer") || strstr(line, "runtime error"))
				bad = 1;
		}
		fclose(f);
	}
	assert_false(bad);
}

int main(int argc, char **argv)
{
	(void)argc;
	pl_test_relay_bin(argv[0]);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_happy_path),		cmocka_unit_test(test_rejections),
	    cmocka_unit_test(test_raw_garbage),		cmocka_unit_test(test_concurrent_deposits),
	    cmocka_unit_test(test_log_endpoints),	cmocka_unit_test(test_no_log),
	    cmocka_unit_test(test_restart_keeps_state), cmocka_unit_test(test_seq_survives_restart),
	    cmocka_unit_test(test_clean_stop),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
