/*
 * relay_load.c — the load client of the relay benchmark: N concurrent
 * senders, each a thread with its own keep-alive libcurl handle, posting
 * sealed-envelope-sized deposits to POST /v1/deposit/{mbx} for a fixed
 * time, and reporting deposits/s and p50/p99 latency. bench/run.sh runs the
 * same client against parley-relay and against bench/bare_httpd.c (a
 * libmicrohttpd handler that only answers 200), so the ratio isolates what
 * the relay adds: auth, storage and the durable group commit.
 *
 * Setup (untimed) follows docs/PROTOCOL.md: each sender owns a mailbox,
 * uploads a bundle (PUT /v1/bundle, owner-signed) and registers SHA-256 of
 * a random token (PUT /v1/token, owner-signed), then deposits with
 * Parley-Token. Every envelope is distinct (the relay deduplicates retries
 * by hash), 1024 + 48 bytes: the smallest valid bucket. Only 127.0.0.1.
 *
 * Usage: relay_load BASE_URL SENDERS SECONDS LABEL [--receipt | --receipt-nolog]
 *   BASE_URL         http://127.0.0.1:PORT
 *   --receipt        require a 200 with a receipt that decodes (the real relay);
 *                    each sender's warm-up receipt is verified in full against
 *                    the key GET /v1/relay gives (checkpoint signature, inclusion)
 *   --receipt-nolog  require a 200 with the fixed-size body of parley-relay
 *                    --no-log (the log switched off, for the log's cost)
 * Prints: "relay LABEL SENDERS SECONDS OK ERRORS DEPOSITS_PER_S P50_MS P99_MS".
 */
#include <curl/curl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "auth/auth.h"
#include "identity/identity.h"
#include "log/receipt.h"
#include "relay/proto.h"
#include "session/x3dh.h"
#include "util/wire.h"

#define ENV_LEN (1024 + 48)
#define MAX_SENDERS 256
#define MAX_SECONDS 60
#define MAX_REQUESTS_PER_SENDER 5000000L
#define SAMPLES_TOTAL 4000000L /* latency samples kept, over all senders */
#define BODY_CAP 4096	       /* > PL_RECEIPT_MAX */
#define URL_CAP 256
#define HDR_CAP 256

typedef struct {
	uint8_t buf[BODY_CAP];
	size_t n;
} body;

typedef struct {
	const char *base;
	int want_receipt; /* 0 any 200, 1 a receipt, 2 the --no-log body */
	double seconds;
	pthread_barrier_t *ready;
	const double *t_start; /* written by main before the barrier releases */
	/* results */
	long ok, errors;
	float *lat_ms;
	long nlat, cap;
	int setup_failed;
} sender;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static size_t on_body(char *p, size_t size, size_t nmemb, void *ud)
{
	body *b = ud;
	size_t n = size * nmemb;
	size_t take = n < BODY_CAP - b->n ? n : BODY_CAP - b->n;
	memcpy(b->buf + b->n, p, take);
	b->n += take;
	return n;
}

/* One request on a kept-alive handle; returns the HTTP status or -1. */
static long request(CURL *c, const char *method, const char *url, struct curl_slist *hdrs,
		    const uint8_t *data, size_t n, body *resp)
{
	long status = -1;

	resp->n = 0;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	curl_easy_setopt(c, CURLOPT_POST, 1L);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, (const char *)data);
	curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE, (long)n);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	if (curl_easy_perform(c) != CURLE_OK)
		return -1;
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	return status;
}

static CURL *handle_new(body *resp)
{
	CURL *c = curl_easy_init();
	if (c == NULL)
		return NULL;
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_TCP_NODELAY, 1L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 30L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 5L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, resp);
	return c;
}

/* Headers every request carries; Expect: off, since a 1 KiB body would
 * otherwise cost a 100-continue round trip. */
static struct curl_slist *base_headers(void)
{
	struct curl_slist *h = curl_slist_append(NULL, "Expect:");
	return h ? curl_slist_append(h, "Content-Type: application/octet-stream") : NULL;
}

/* An owner-signed PUT of body to path; 0 iff 2xx. */
static int owner_put(CURL *c, const char *base, const pl_identity *id, const char *path,
		     const uint8_t *data, size_t n, body *resp)
{
	char url[URL_CAP], h[4][HDR_CAP];
	pl_auth a;
	struct curl_slist *hdrs = base_headers();
	int rc = -1;

	if (hdrs == NULL || pl_auth_sign(&a, id, "PUT", path, data, n, (uint64_t)time(NULL)) != 0)
		goto out;
	snprintf(url, sizeof url, "%s%s", base, path);
	snprintf(h[0], HDR_CAP, "%s: %s", PL_AUTH_HDR_KEY, a.key);
	snprintf(h[1], HDR_CAP, "%s: %s", PL_AUTH_HDR_TIME, a.time);
	snprintf(h[2], HDR_CAP, "%s: %s", PL_AUTH_HDR_NONCE, a.nonce);
	snprintf(h[3], HDR_CAP, "%s: %s", PL_AUTH_HDR_SIG, a.sig);
	for (int i = 0; i < 4; i++) {
		struct curl_slist *t = curl_slist_append(hdrs, h[i]);
		if (t == NULL)
			goto out;
		hdrs = t;
	}
	long st = request(c, "PUT", url, hdrs, data, n, resp);
	if (st >= 200 && st < 300)
		rc = 0;
	else
		fprintf(stderr, "relay_load: PUT %s -> %ld %.*s\n", path, st, (int)resp->n,
			(const char *)resp->buf);
out:
	curl_slist_free_all(hdrs);
	return rc;
}

/* A fresh mailbox: identity, bundle with a signed prekey, token. */
static int mailbox_setup(CURL *c, const char *base, char mbx_hex[2 * PL_MAILBOX_LEN + 1],
			 uint8_t token[PL_PROTO_TOKEN_LEN], body *resp)
{
	pl_identity id;
	pl_proto_bundle_upload u;
	uint8_t mbx[PL_MAILBOX_LEN], spk_sk[PL_X25519_LEN], hash[PL_PROTO_TOKEN_HASH_LEN];
	uint8_t tok_body[PL_PROTO_TOKEN_BODY_LEN];
	char path[URL_CAP];
	pl_wr w;
	int rc = -1;

	memset(&u, 0, sizeof u);
	pl_wr_init(&w);
	if (pl_identity_generate(&id) != 0)
		return -1;
	pl_mailbox_id(mbx, id.pk);
	sodium_bin2hex(mbx_hex, 2 * PL_MAILBOX_LEN + 1, mbx, sizeof mbx);

	memcpy(u.ik, id.pk, PL_IK_LEN);
	u.spk_id = 1;
	crypto_box_keypair(u.spk, spk_sk);
	u.opk_count = 0;
	if (pl_spk_sign(u.spk_sig, &id, u.spk_id, u.spk) != 0 ||
	    pl_proto_bundle_upload_encode(&w, &u) != 0 || pl_wr_ok(&w) != 0)
		goto out;
	snprintf(path, sizeof path, "/v1/bundle/%s", mbx_hex);
	if (owner_put(c, base, &id, path, w.p, w.n, resp) != 0)
		goto out;

	randombytes_buf(token, PL_PROTO_TOKEN_LEN);
	pl_proto_token_hash(hash, token);
	pl_proto_token_encode(tok_body, hash);
	snprintf(path, sizeof path, "/v1/token/%s", mbx_hex);
	if (owner_put(c, base, &id, path, tok_body, sizeof tok_body, resp) != 0)
		goto out;
	rc = 0;
out:
	pl_wr_free(&w);
	sodium_memzero(spk_sk, sizeof spk_sk);
	pl_identity_wipe(&id);
	return rc;
}

static int deposit_ok(const sender *s, long st, const body *resp)
{
	static __thread pl_receipt r;

	if (st != 200)
		return 0;
	if (s->want_receipt == 1)
		return pl_receipt_decode(&r, resp->buf, resp->n) == 0;
	if (s->want_receipt == 2)
		return resp->n == PL_RECEIPT_FIXED_LEN + 5;
	return 1;
}

/* The warm-up receipt, in full: GET /v1/relay for the key, then the
 * checkpoint signature and the inclusion proof. */
static int receipt_verifies(CURL *c, const char *base, const body *receipt)
{
	static __thread pl_receipt r;
	uint8_t pk[PL_IK_LEN];
	char url[URL_CAP];
	body key;
	long st = -1;

	if (pl_receipt_decode(&r, receipt->buf, receipt->n) != 0)
		return -1;
	snprintf(url, sizeof url, "%s/v1/relay", base);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &key);
	key.n = 0;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, NULL);
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
	if (st != 200 || pl_proto_relay_key_decode(pk, key.buf, key.n) != 0)
		return -1;
	return pl_receipt_verify(&r, pk, NULL);
}

static void *sender_main(void *arg)
{
	sender *s = arg;
	char mbx_hex[2 * PL_MAILBOX_LEN + 1], url[URL_CAP], tok_hdr[HDR_CAP];
	char tok_hex[2 * PL_PROTO_TOKEN_LEN + 1];
	uint8_t token[PL_PROTO_TOKEN_LEN], env[ENV_LEN];
	struct curl_slist *hdrs = NULL;
	body resp;
	CURL *c = handle_new(&resp);
	uint64_t seq = 0;

	s->setup_failed = 1;
	randombytes_buf(env, sizeof env);
	if (c != NULL && mailbox_setup(c, s->base, mbx_hex, token, &resp) == 0) {
		sodium_bin2hex(tok_hex, sizeof tok_hex, token, sizeof token);
		snprintf(url, sizeof url, "%s/v1/deposit/%s", s->base, mbx_hex);
		snprintf(tok_hdr, sizeof tok_hdr, "%s: %s", PL_HDR_TOKEN, tok_hex);
		hdrs = base_headers();
		struct curl_slist *t = hdrs ? curl_slist_append(hdrs, tok_hdr) : NULL;
		if (t != NULL) {
			hdrs = t;
			/* One untimed deposit: the connection is warm before the clock. */
			memcpy(env, &seq, sizeof seq);
			seq++;
			long st = request(c, "POST", url, hdrs, env, sizeof env, &resp);
			s->setup_failed = !deposit_ok(s, st, &resp);
			if (s->setup_failed)
				fprintf(stderr, "relay_load: warm-up deposit -> %ld\n", st);
			else if (s->want_receipt == 1 && receipt_verifies(c, s->base, &resp) != 0) {
				fprintf(stderr,
					"relay_load: the warm-up receipt does not verify\n");
				s->setup_failed = 1;
			}
			curl_easy_setopt(c, CURLOPT_WRITEDATA, &resp);
		}
	}
	pthread_barrier_wait(s->ready);
	/* Main stamps the start after the barrier; wait for it to be visible. */
	pthread_barrier_wait(s->ready);
	if (s->setup_failed)
		goto out;

	double t0 = *s->t_start, deadline = t0 + s->seconds;
	for (long i = 0; i < MAX_REQUESTS_PER_SENDER; i++) {
		double a = now_s();
		if (a >= deadline)
			break;
		memcpy(env, &seq, sizeof seq); /* distinct envelope, same size */
		seq++;
		long st = request(c, "POST", url, hdrs, env, sizeof env, &resp);
		double b = now_s();
		if (b > deadline)
			break; /* finished outside the window: not counted */
		if (deposit_ok(s, st, &resp)) {
			s->ok++;
			if (s->nlat < s->cap)
				s->lat_ms[s->nlat++] = (float)((b - a) * 1e3);
		} else {
			s->errors++;
		}
	}
out:
	curl_slist_free_all(hdrs);
	if (c != NULL)
		curl_easy_cleanup(c);
	return NULL;
}

static int cmp_float(const void *a, const void *b)
{
	float x = *(const float *)a, y = *(const float *)b;
	return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
	int want = 0;
	if (argc == 6 && strcmp(argv[5], "--receipt") == 0)
		want = 1;
	else if (argc == 6 && strcmp(argv[5], "--receipt-nolog") == 0)
		want = 2;
	if (argc < 5 || argc > 6 || (argc == 6 && want == 0)) {
		fprintf(stderr, "usage: relay_load BASE_URL SENDERS SECONDS LABEL [--receipt | "
				"--receipt-nolog]\n");
		return 2;
	}
	const char *base = argv[1];
	long n = strtol(argv[2], NULL, 10);
	double secs = strtod(argv[3], NULL);
	if (strncmp(base, "http://127.0.0.1:", 17) != 0 || strlen(base) > 64) {
		fprintf(stderr, "relay_load: BASE_URL must be http://127.0.0.1:PORT\n");
		return 2;
	}
	if (n < 1 || n > MAX_SENDERS || !(secs > 0 && secs <= MAX_SECONDS)) {
		fprintf(stderr, "relay_load: SENDERS 1..%d, SECONDS (0, %d]\n", MAX_SENDERS,
			MAX_SECONDS);
		return 2;
	}
	if (sodium_init() < 0 || curl_global_init(CURL_GLOBAL_DEFAULT) != 0)
		return 1;

	sender *s = calloc((size_t)n, sizeof *s);
	pthread_t *th = calloc((size_t)n, sizeof *th);
	pthread_barrier_t ready;
	double t_start = 0;
	if (s == NULL || th == NULL || pthread_barrier_init(&ready, NULL, (unsigned)n + 1) != 0)
		return 1;
	for (long i = 0; i < n; i++) {
		s[i].base = base;
		s[i].want_receipt = want;
		s[i].seconds = secs;
		s[i].ready = &ready;
		s[i].t_start = &t_start;
		s[i].cap = SAMPLES_TOTAL / n;
		s[i].lat_ms = malloc((size_t)s[i].cap * sizeof(float));
		if (s[i].lat_ms == NULL || pthread_create(&th[i], NULL, sender_main, &s[i]) != 0)
			return 1;
	}
	pthread_barrier_wait(&ready); /* all set up */
	t_start = now_s();
	pthread_barrier_wait(&ready); /* go */

	long ok = 0, errors = 0, nlat = 0, failed = 0;
	for (long i = 0; i < n; i++) {
		pthread_join(th[i], NULL);
		ok += s[i].ok;
		errors += s[i].errors;
		nlat += s[i].nlat;
		failed += s[i].setup_failed;
	}
	if (failed > 0) {
		fprintf(stderr, "relay_load: %ld of %ld senders failed to set up\n", failed, n);
		return 1;
	}
	float *all = malloc((size_t)(nlat > 0 ? nlat : 1) * sizeof(float));
	if (all == NULL)
		return 1;
	long k = 0;
	for (long i = 0; i < n; i++) {
		memcpy(all + k, s[i].lat_ms, (size_t)s[i].nlat * sizeof(float));
		k += s[i].nlat;
		free(s[i].lat_ms);
	}
	qsort(all, (size_t)nlat, sizeof(float), cmp_float);
	double p50 = nlat ? all[(nlat - 1) / 2] : 0, p99 = nlat ? all[(nlat - 1) * 99 / 100] : 0;
	/* The window is the configured duration: nothing finishing after it counts. */
	printf("relay %s %ld %.2f %ld %ld %.1f %.3f %.3f\n", argv[4], n, secs, ok, errors,
	       (double)ok / secs, p50, p99);
	free(all);
	free(s);
	free(th);
	pthread_barrier_destroy(&ready);
	curl_global_cleanup();
	return errors > 0 ? 3 : 0;
}
