/*
 * test_relay_abuse.c — a client that abuses the relay's resources must not
 * stop it serving the others. Each attack runs against the real
 * parley-relay on loopback: the attacker at 127.0.0.2, the honest client
 * at 127.0.0.1 (every 127/8 address is this computer), and the honest
 * client deposits and fetches while the attack goes on.
 *   - trickle: connections that send a header line every 300 ms are cut
 *     at --request-timeout, not kept for ever; without it they stay;
 *   - a mailbox at its quota (messages, then bytes, also after a restart)
 *     refuses deposits with 507 and its reason, other mailboxes work, a
 *     retry of a stored envelope still gets its receipt, and a fetch with
 *     its ack makes room;
 *   - one address creating mailboxes gets 429 with Retry-After beyond
 *     --new-mailboxes-per-hour, while another address creates one;
 *   - a store capped by --max-store-mb fills under concurrent deposits:
 *     every deposit answered 200 is stored, no deposit answered 507 is,
 *     before and after a restart; fetches and acks go on, and an ack makes
 *     room for deposits again.
 * Every loop is bounded in count and time.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <curl/curl.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "auth/auth.h"
#include "identity/identity.h"
#include "relay/proto.h"
#include "session/x3dh.h"
#include "util/codec.h"
#include "util/wire.h"

#include "support.h"

#define HONEST "127.0.0.1"
#define ATTACKER "127.0.0.2"
#define SMALL 1072			 /* the smallest envelope bucket */
#define MEDIUM 16432			 /* the third */
#define RCPT_FIXED (1 + 32 + 8 + 8 + 32) /* a receipt's version ... hash */

static pl_test_relay relay;
static char dir[PATH_MAX], data[PATH_MAX + 8];

static void start(const char *const *args)
{
	pl_test_tmpdir(dir, sizeof dir, "abuse");
	snprintf(data, sizeof data, "%s/data", dir);
	if (pl_test_relay_start(&relay, data, 0, args) != 0)
		fail_msg("the relay did not start");
}

static void restart(const char *const *args)
{
	assert_int_not_equal(pl_test_relay_stop(&relay), -1);
	if (pl_test_relay_start(&relay, data, 0, args) != 0)
		fail_msg("the relay did not start again");
}

static void finish(void)
{
	assert_int_not_equal(pl_test_relay_stop(&relay), -1);
	pl_test_rm_relay_dir(data);
	pl_test_rm_rf(dir);
	dir[0] = '\0';
}

/* After each test, also one that failed: no relay left, nothing in /tmp. */
static int cleanup(void **state)
{
	(void)state;
	if (relay.pid != 0)
		pl_test_relay_kill(&relay);
	if (dir[0] != '\0') {
		pl_test_rm_relay_dir(data);
		pl_test_rm_rf(dir);
		dir[0] = '\0';
	}
	return 0;
}

static uint64_t now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

/* ---- HTTP from a chosen address ---------------------------------------- */

typedef struct {
	long status;
	char body[512]; /* the start of the body, NUL-terminated */
	uint8_t *bin;	/* the whole body */
	size_t len;
	char retry_after[32];
} resp;

static size_t on_body(char *p, size_t sz, size_t nm, void *ud)
{
	resp *r = ud;
	size_t n = sz * nm;
	uint8_t *nb = realloc(r->bin, r->len + n + 1);
	if (nb == NULL)
		return 0;
	memcpy(nb + r->len, p, n);
	r->bin = nb;
	r->len += n;
	size_t keep = r->len < sizeof r->body - 1 ? r->len : sizeof r->body - 1;
	memcpy(r->body, r->bin, keep);
	r->body[keep] = '\0';
	return n;
}

static size_t on_header(char *p, size_t sz, size_t nm, void *ud)
{
	resp *r = ud;
	size_t n = sz * nm;
	static const char name[] = "Retry-After:";
	if (n > sizeof name && strncasecmp(p, name, sizeof name - 1) == 0) {
		size_t i = sizeof name - 1, o = 0;
		while (i < n && p[i] == ' ')
			i++;
		while (i < n && p[i] >= '0' && p[i] <= '9' && o + 1 < sizeof r->retry_after)
			r->retry_after[o++] = p[i++];
		r->retry_after[o] = '\0';
	}
	return n;
}

static void resp_free(resp *r)
{
	free(r->bin);
	memset(r, 0, sizeof *r);
}

/* One request from `from`; hdrs NULL-terminated. The status (0: none). */
static long http(resp *r, const char *from, const char *method, const char *path,
		 const char *const *hdrs, const void *body, size_t len)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char url[512], iface[64];

	memset(r, 0, sizeof *r);
	assert_non_null(c);
	snprintf(iface, sizeof iface, "host!%s", from); /* an address, not a device */
	snprintf(url, sizeof url, "http://127.0.0.1:%u%s", relay.port, path);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_INTERFACE, iface);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 20L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
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

static long signed_req(resp *r, const char *from, const pl_identity *id, const char *method,
		       const char *path, const void *body, size_t len)
{
	pl_auth a;
	char k[100], t[60], n[60], s[160];
	const char *h[5] = {k, t, n, s, NULL};

	assert_int_equal(pl_auth_sign(&a, id, method, path, body, len, (uint64_t)time(NULL)), 0);
	snprintf(k, sizeof k, "Parley-Key: %s", a.key);
	snprintf(t, sizeof t, "Parley-Time: %s", a.time);
	snprintf(n, sizeof n, "Parley-Nonce: %s", a.nonce);
	snprintf(s, sizeof s, "Parley-Sig: %s", a.sig);
	return http(r, from, method, path, h, body, len);
}

/* A mailbox: its owner's key, its id in hex and its access token. */
typedef struct {
	pl_identity id;
	char hex[65];
	uint8_t token[32];
} mailbox;

static void mailbox_key(mailbox *m)
{
	uint8_t mbx[32];
	assert_int_equal(pl_identity_generate(&m->id), 0);
	pl_mailbox_id(mbx, m->id.pk);
	pl_hex_encode(m->hex, mbx, sizeof mbx);
	randombytes_buf(m->token, sizeof m->token);
}

/* PUT /v1/token from `from`: the status. */
static long token_put(const char *from, const mailbox *m, resp *r)
{
	uint8_t hash[32], b[PL_PROTO_TOKEN_BODY_LEN];
	char path[128];
	pl_proto_token_hash(hash, m->token);
	pl_proto_token_encode(b, hash);
	snprintf(path, sizeof path, "/v1/token/%s", m->hex);
	return signed_req(r, from, &m->id, "PUT", path, b, sizeof b);
}

static void mailbox_new(const char *from, mailbox *m)
{
	resp r;
	mailbox_key(m);
	assert_int_equal(token_put(from, m, &r), 204);
	resp_free(&r);
}

/* POST /v1/deposit from the honest address: the status. */
static long deposit(const mailbox *m, const void *env, size_t len, resp *r)
{
	char path[128], th[100], hex[65];
	const char *h[2] = {th, NULL};
	snprintf(path, sizeof path, "/v1/deposit/%s", m->hex);
	pl_hex_encode(hex, m->token, 32);
	snprintf(th, sizeof th, "Parley-Token: %s", hex);
	return http(r, HONEST, "POST", path, h, env, len);
}

static long deposit_random(const mailbox *m, size_t len, resp *r)
{
	uint8_t env[MEDIUM];
	assert_true(len <= sizeof env);
	randombytes_buf(env, len);
	return deposit(m, env, len, r);
}

/* The owner's listing (all of it, in pages): its count; hashes and seqs
 * of up to max items in h and seq (may be NULL). -1 if refused. */
static int list_all(const mailbox *m, uint8_t (*h)[32], uint64_t *seq, size_t max)
{
	static pl_proto_listing l;
	uint64_t after = 0;
	int total = 0;

	for (int page = 0; page < 100; page++) {
		char path[160];
		resp r;
		snprintf(path, sizeof path, "/v1/mailbox/%s?after=%llu", m->hex,
			 (unsigned long long)after);
		if (signed_req(&r, HONEST, &m->id, "GET", path, NULL, 0) != 200 ||
		    pl_proto_listing_decode(&l, r.bin, r.len) != 0) {
			resp_free(&r);
			return -1;
		}
		/* the items point into the body */
		for (uint32_t i = 0; i < l.count; i++, total++) {
			if (h != NULL && (size_t)total < max)
				crypto_hash_sha256(h[total], l.item[i].env, l.item[i].envlen);
			if (seq != NULL && (size_t)total < max)
				seq[total] = l.item[i].seq;
			after = l.item[i].seq;
		}
		resp_free(&r);
		if (l.count == 0)
			return total;
	}
	return -1;
}

static long ack(const mailbox *m, uint64_t through)
{
	uint8_t b[PL_TEST_ACK_LEN];
	char path[128];
	resp r;
	pl_test_ack_body(b, through);
	snprintf(path, sizeof path, "/v1/mailbox/%s/ack", m->hex);
	long st = signed_req(&r, HONEST, &m->id, "POST", path, b, sizeof b);
	resp_free(&r);
	return st;
}

/* The honest client's round: a deposit and a fetch that finds it. */
static void honest_round(const mailbox *m)
{
	resp r;
	int before = list_all(m, NULL, NULL, 0);
	assert_true(before >= 0);
	assert_int_equal(deposit_random(m, SMALL, &r), 200);
	resp_free(&r);
	assert_int_equal(list_all(m, NULL, NULL, 0), before + 1);
}

/* ---- trickle --------------------------------------------------------- */

#define TRICKLERS 20
#define TRICKLE_MS 300

static int connect_from(const char *from)
{
	struct sockaddr_in src, dst;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	memset(&src, 0, sizeof src);
	src.sin_family = AF_INET;
	inet_pton(AF_INET, from, &src.sin_addr);
	memset(&dst, 0, sizeof dst);
	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)relay.port);
	inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
	if (bind(fd, (struct sockaddr *)&src, sizeof src) != 0 ||
	    connect(fd, (struct sockaddr *)&dst, sizeof dst) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* 1 if the relay has ended the connection (EOF or reset). */
static int ended(int fd)
{
	struct pollfd p = {fd, POLLIN, 0};
	char b[256];
	if (poll(&p, 1, 0) <= 0)
		return 0;
	ssize_t n = recv(fd, b, sizeof b, MSG_DONTWAIT);
	return n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK);
}

/* Opens TRICKLERS connections from the attacker, each sending a request
 * line and then one header line every TRICKLE_MS, for at most run_ms;
 * between lines the honest client deposits and fetches. Returns how many
 * the relay ended, and in *last_ms when the last one ended (ms after the
 * request lines were sent). */
static int trickle(const mailbox *honest, unsigned run_ms, uint64_t *last_ms)
{
	int fd[TRICKLERS], gone[TRICKLERS] = {0}, n = 0, ends = 0;
	static const char line[] = "GET /v1/relay HTTP/1.1\r\n";

	for (int i = 0; i < TRICKLERS; i++) {
		fd[i] = connect_from(ATTACKER);
		assert_true(fd[i] >= 0);
		assert_int_equal(send(fd[i], line, sizeof line - 1, MSG_NOSIGNAL),
				 (ssize_t)(sizeof line - 1));
		n++;
	}
	uint64_t t0 = now_ms();
	*last_ms = 0;
	for (int round = 0; now_ms() - t0 < run_ms && round < 1000; round++) {
		char h[64];
		int k = snprintf(h, sizeof h, "X-Slow-%d: %d\r\n", round, round);
		for (int i = 0; i < n; i++) {
			if (gone[i])
				continue;
			if (ended(fd[i]) || send(fd[i], h, (size_t)k, MSG_NOSIGNAL) < 0) {
				gone[i] = 1;
				ends++;
				*last_ms = now_ms() - t0;
			}
		}
		if (ends == n)
			break;
		if (round % 4 == 0)
			honest_round(honest); /* served while the attack goes on */
		struct timespec d = {0, TRICKLE_MS * 1000000L};
		nanosleep(&d, NULL);
	}
	for (int i = 0; i < n; i++)
		close(fd[i]);
	return ends;
}

static void test_trickled_headers_are_cut(void **state)
{
	(void)state;
	mailbox m;
	uint64_t last;

	static const char *const two[] = {"--request-timeout", "2", NULL};
	start(two);
	mailbox_new(HONEST, &m);
	int ends = trickle(&m, 10000, &last);
	assert_int_equal(ends, TRICKLERS); /* every one cut ... */
	assert_true(last >= 1500);	   /* ... at its deadline (2 s), not before ... */
	assert_true(last <= 6000);	   /* ... and not much after */
	honest_round(&m);
	finish();

	/* Without the deadline, trickling keeps them all (the idle timeout
	 * never fires): the test above can fail. */
	static const char *const none[] = {"--request-timeout", "0", NULL};
	start(none);
	mailbox_new(HONEST, &m);
	assert_int_equal(trickle(&m, 4000, &last), 0);
	finish();
	pl_identity_wipe(&m.id);
}

/* ---- mailbox quotas -------------------------------------------------- */

static void expect_mailbox_full(const resp *r)
{
	assert_int_equal(r->status, 507);
	assert_non_null(strstr(r->body, "the recipient's mailbox on this relay is full"));
}

static void test_mailbox_quota(void **state)
{
	(void)state;
	mailbox a, b;
	resp r, again;
	uint8_t env[SMALL];

	static const char *const args[] = {"--mailbox-max-messages", "3", NULL};
	start(args);
	mailbox_new(HONEST, &a);
	mailbox_new(HONEST, &b);
	randombytes_buf(env, sizeof env);
	assert_int_equal(deposit(&a, env, sizeof env, &r), 200);
	for (int i = 0; i < 2; i++) {
		resp x;
		assert_int_equal(deposit_random(&a, SMALL, &x), 200);
		resp_free(&x);
	}
	/* full: refused, with the reason the sender's client shows */
	deposit_random(&a, SMALL, &again);
	expect_mailbox_full(&again);
	resp_free(&again);
	assert_int_equal(list_all(&a, NULL, NULL, 0), 3);
	/* a retry of a stored envelope stores nothing: its receipt again */
	assert_int_equal(deposit(&a, env, sizeof env, &again), 200);
	/* the same version, mailbox, seq, time and hash; the checkpoint that
	 * proves it is the newest */
	assert_true(again.len > RCPT_FIXED && r.len > RCPT_FIXED);
	assert_memory_equal(again.bin, r.bin, RCPT_FIXED);
	resp_free(&again);
	resp_free(&r);
	/* another mailbox is served */
	honest_round(&b);
	honest_round(&b);
	honest_round(&b);
	/* the owner fetches and acknowledges: room again */
	assert_int_equal(ack(&a, 3), 204);
	assert_int_equal(deposit_random(&a, SMALL, &r), 200);
	resp_free(&r);
	finish();
	pl_identity_wipe(&a.id);
	pl_identity_wipe(&b.id);
}

static void test_mailbox_byte_quota(void **state)
{
	(void)state;
	mailbox a;
	resp r;

	/* 65584 bytes: three 16432-byte envelopes (49296) fit, a fourth
	 * (65728) does not; a 1072-byte one still does. */
	static const char *const args[] = {"--mailbox-max-bytes", "65584", NULL};
	start(args);
	mailbox_new(HONEST, &a);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(deposit_random(&a, MEDIUM, &r), 200);
		resp_free(&r);
	}
	deposit_random(&a, MEDIUM, &r);
	expect_mailbox_full(&r);
	resp_free(&r);
	/* the quota is counted from relay.db again after a restart */
	restart(args);
	deposit_random(&a, MEDIUM, &r);
	expect_mailbox_full(&r);
	resp_free(&r);
	honest_round(&a); /* 1072 bytes: room for it */
	assert_int_equal(list_all(&a, NULL, NULL, 0), 4);
	finish();
	pl_identity_wipe(&a.id);
}

/* ---- new mailboxes per address --------------------------------------- */

static void test_mailbox_creation_flood(void **state)
{
	(void)state;
	mailbox m, honest, extra;
	resp r;
	int refused = 0;

	static const char *const args[] = {"--new-mailboxes-per-hour", "5", NULL};
	start(args);
	for (int i = 0; i < 5; i++) {
		mailbox_new(ATTACKER, &m);
		pl_identity_wipe(&m.id);
	}
	/* the flood goes on: every further one refused, with a time to wait */
	for (int i = 0; i < 10; i++) {
		mailbox_key(&m);
		if (token_put(ATTACKER, &m, &r) == 429) {
			refused++;
			assert_non_null(strstr(r.body, "too many new mailboxes from this address"));
			uint64_t secs = 0;
			assert_int_equal(pl_auth_parse_u64(&secs, r.retry_after), 0);
			assert_true(secs >= 1 && secs <= 3600 / 5);
		}
		resp_free(&r);
		pl_identity_wipe(&m.id);
	}
	assert_int_equal(refused, 10);
	/* a bundle upload creates a mailbox as well */
	{
		static pl_proto_bundle_upload u;
		pl_wr w;
		char path[128];
		mailbox_key(&m);
		memset(&u, 0, sizeof u);
		memcpy(u.ik, m.id.pk, 32);
		u.spk_id = 1;
		randombytes_buf(u.spk, 32);
		assert_int_equal(pl_spk_sign(u.spk_sig, &m.id, 1, u.spk), 0);
		pl_wr_init(&w);
		assert_int_equal(pl_proto_bundle_upload_encode(&w, &u), 0);
		snprintf(path, sizeof path, "/v1/bundle/%s", m.hex);
		assert_int_equal(signed_req(&r, ATTACKER, &m.id, "PUT", path, w.p, w.n), 429);
		resp_free(&r);
		pl_wr_free(&w);
		pl_identity_wipe(&m.id);
	}
	/* another address creates its mailbox, deposits and fetches */
	mailbox_new(HONEST, &honest);
	honest_round(&honest);
	/* and a known mailbox may change its token from any address */
	randombytes_buf(honest.token, sizeof honest.token);
	assert_int_equal(token_put(ATTACKER, &honest, &r), 204);
	resp_free(&r);
	honest_round(&honest);
	finish();

	/* With the limit off the same flood is served: the test can fail. */
	static const char *const off[] = {"--new-mailboxes-per-hour", "0", NULL};
	start(off);
	for (int i = 0; i < 16; i++) {
		mailbox_new(ATTACKER, &extra);
		pl_identity_wipe(&extra.id);
	}
	finish();
	pl_identity_wipe(&honest.id);
}

/* ---- a full store ---------------------------------------------------- */

#define FILLERS 4
#define FILL_MAX 150 /* attempts per filler: 1 MiB holds about 60 */

typedef struct {
	const mailbox *m;
	int ok, full, other;
	uint8_t hash[FILL_MAX][32]; /* of the deposits answered 200 */
	uint8_t refused[FILL_MAX][32];
	int nrefused;
} filler;

static void *fill(void *p)
{
	filler *f = p;
	uint8_t env[MEDIUM];
	resp r;

	for (int i = 0; i < FILL_MAX && f->full < 5; i++) {
		randombytes_buf(env, sizeof env);
		long st = deposit(f->m, env, sizeof env, &r);
		if (st == 200) {
			crypto_hash_sha256(f->hash[f->ok++], env, sizeof env);
		} else if (st == 507 && strstr(r.body, "the relay's disk is full; nothing was "
						       "stored") != NULL) {
			crypto_hash_sha256(f->refused[f->nrefused++], env, sizeof env);
			f->full++;
		} else {
			f->other++;
		}
		resp_free(&r);
	}
	return NULL;
}

static int has(uint8_t (*set)[32], int n, const uint8_t h[32])
{
	for (int i = 0; i < n; i++)
		if (memcmp(set[i], h, 32) == 0)
			return 1;
	return 0;
}

/* Exactly the deposits answered 200 are listed: none lost, and none that
 * was refused stored. f[FILLERS] is the filler that ran after a restart. */
static void check_stored(const mailbox *m, filler *f, int acked_through_items)
{
	static uint8_t listed[(FILLERS + 1) * FILL_MAX][32];
	int total = 0, n = list_all(m, listed, NULL, (FILLERS + 1) * FILL_MAX);
	assert_true(n >= 0);
	for (int k = 0; k <= FILLERS; k++) {
		total += f[k].ok;
		for (int i = 0; i < f[k].nrefused; i++)
			assert_false(has(listed, n, f[k].refused[i]));
	}
	assert_int_equal(n + acked_through_items, total);
	for (int i = 0; i < n; i++) {
		int found = 0;
		for (int k = 0; k <= FILLERS && !found; k++)
			found = has(f[k].hash, f[k].ok, listed[i]);
		assert_true(found);
	}
}

static void test_full_store(void **state)
{
	(void)state;
	static filler f[FILLERS + 1];
	pthread_t th[FILLERS];
	mailbox m;
	resp r;
	static uint64_t seq[(FILLERS + 1) * FILL_MAX];

	static const char *const args[] = {"--max-store-mb", "1", "--mailbox-max-bytes", "0", NULL};
	start(args);
	mailbox_new(HONEST, &m);
	memset(f, 0, sizeof f);
	for (int k = 0; k <= FILLERS; k++)
		f[k].m = &m;
	for (int k = 0; k < FILLERS; k++)
		assert_int_equal(pthread_create(&th[k], NULL, fill, &f[k]), 0);
	for (int k = 0; k < FILLERS; k++)
		pthread_join(th[k], NULL);
	int ok = 0;
	for (int k = 0; k < FILLERS; k++) {
		assert_int_equal(f[k].other, 0);
		assert_int_equal(f[k].full, 5); /* every filler met the full store */
		ok += f[k].ok;
	}
	assert_true(ok >= 20); /* about 60 fit in 1 MiB */
	/* full: fetches go on, and nothing acknowledged is lost */
	check_stored(&m, f, 0);
	assert_int_equal(http(&r, HONEST, "GET", "/log/checkpoint", NULL, NULL, 0), 200);
	resp_free(&r);
	/* after a restart too; and a batch that found the store full may have
	 * left room for a few deposits of its own: they go in now, one by one,
	 * until the store is full again */
	restart(args);
	check_stored(&m, f, 0);
	fill(&f[FILLERS]);
	assert_int_equal(f[FILLERS].other, 0);
	assert_int_equal(f[FILLERS].full, 5);
	assert_true(f[FILLERS].ok < 10);
	ok += f[FILLERS].ok;
	check_stored(&m, f, 0);
	/* the owner fetches and acknowledges half: room for deposits again */
	int n = list_all(&m, NULL, seq, (FILLERS + 1) * FILL_MAX);
	assert_int_equal(n, ok);
	assert_int_equal(ack(&m, seq[n / 2 - 1]), 204);
	assert_int_equal(list_all(&m, NULL, NULL, 0), n - n / 2);
	assert_int_equal(deposit_random(&m, MEDIUM, &r), 200);
	resp_free(&r);
	finish();
	pl_identity_wipe(&m.id);
}

int main(int argc, char **argv)
{
	(void)argc;
	if (pl_test_relay_bin(argv[0]) == NULL || sodium_init() < 0)
		return 1;
	curl_global_init(CURL_GLOBAL_DEFAULT);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_trickled_headers_are_cut, cleanup),
	    cmocka_unit_test_teardown(test_mailbox_quota, cleanup),
	    cmocka_unit_test_teardown(test_mailbox_byte_quota, cleanup),
	    cmocka_unit_test_teardown(test_mailbox_creation_flood, cleanup),
	    cmocka_unit_test_teardown(test_full_store, cleanup),
	};
	int rc = cmocka_run_group_tests(tests, NULL, NULL);
	curl_global_cleanup();
	return rc;
}
