/*
 * test_relay_client.c — the relay HTTP client.
 *
 * Two counterparts: a scripted fake HTTP server on loopback (a thread in
 * this process) that sends exactly the bytes a test chooses, to check every
 * failure classification and the receipt check against forged receipts; and
 * the real $PARLEY_BUILD/parley-relay (port 0, temporary data dir), to check
 * every endpoint end to end. TLS verification is checked against
 * `openssl s_server` with a throwaway self-signed certificate when the
 * openssl program is installed. All traffic stays on 127.0.0.1.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "auth/auth.h"
#include "client/grant.h"
#include "client/relay_client.h"
#include "crypto/kdf.h"
#include "envelope/envelope.h"
#include "log/leaf.h"
#include "log/receipt.h"
#include "relay/proto.h"
#include "session/x3dh.h"
#include "util/codec.h"
#include "support.h"

static pl_identity alice, bob, relay_id;
static void real_stop(void);
static void stop_child(pid_t pid);
static pid_t tls_pid;

/* ---- fake HTTP server ------------------------------------------------- */

#define REQ_MAX (PL_ENVELOPE_MAX + 8192)

static struct {
	pthread_t thread;
	pthread_mutex_t mu;
	int lfd;
	uint16_t port;
	int stop;
	uint8_t *resp;
	size_t resplen;
	char req[REQ_MAX];
	size_t reqlen;
	size_t hdrlen; /* request head length including the blank line */
	unsigned served;
} fake = {.mu = PTHREAD_MUTEX_INITIALIZER};

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

static size_t content_length(const char *head)
{
	const char *p = head;
	while ((p = strchr(p, '\n')) != NULL) {
		p++;
		if (strncasecmp(p, "content-length:", 15) == 0)
			return (size_t)strtoul(p + 15, NULL, 10);
	}
	return 0;
}

static void serve_one(int fd)
{
	char buf[REQ_MAX];
	size_t n = 0, hdr = 0, want = 0;

	for (;;) {
		struct pollfd pfd = {.fd = fd, .events = POLLIN};
		if (poll(&pfd, 1, 5000) <= 0)
			break;
		ssize_t r = read(fd, buf + n, sizeof buf - 1 - n);
		if (r <= 0)
			break;
		n += (size_t)r;
		buf[n] = '\0';
		if (hdr == 0) {
			char *end = strstr(buf, "\r\n\r\n");
			if (end == NULL)
				continue;
			hdr = (size_t)(end - buf) + 4;
			want = hdr + content_length(buf);
		}
		if (n >= want || n == sizeof buf - 1)
			break;
	}
	pthread_mutex_lock(&fake.mu);
	memcpy(fake.req, buf, n);
	fake.req[n < REQ_MAX ? n : REQ_MAX - 1] = '\0';
	fake.reqlen = n;
	fake.hdrlen = hdr;
	fake.served++;
	uint8_t *resp = fake.resp;
	size_t resplen = fake.resplen;
	if (resp)
		write_all(fd, resp, resplen);
	pthread_mutex_unlock(&fake.mu);
	shutdown(fd, SHUT_WR);
	/* Drain so that close sends FIN, not RST. */
	char sink[256];
	struct pollfd pfd = {.fd = fd, .events = POLLIN};
	while (poll(&pfd, 1, 200) > 0 && read(fd, sink, sizeof sink) > 0)
		;
	close(fd);
}

static void *fake_main(void *arg)
{
	(void)arg;
	for (;;) {
		int fd = accept(fake.lfd, NULL, NULL);
		pthread_mutex_lock(&fake.mu);
		int stop = fake.stop;
		pthread_mutex_unlock(&fake.mu);
		if (stop) {
			if (fd >= 0)
				close(fd);
			break;
		}
		if (fd >= 0)
			serve_one(fd);
	}
	return NULL;
}

static int listen_loopback(uint16_t *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
	socklen_t len = sizeof a;
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof a) != 0 || listen(fd, 8) != 0 ||
	    getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
		if (fd >= 0)
			close(fd);
		return -1;
	}
	*port = ntohs(a.sin_port);
	return fd;
}

static void fake_set_raw(const void *p, size_t n)
{
	pthread_mutex_lock(&fake.mu);
	free(fake.resp);
	fake.resp = malloc(n ? n : 1);
	memcpy(fake.resp, p, n);
	fake.resplen = n;
	fake.reqlen = 0;
	pthread_mutex_unlock(&fake.mu);
}

static void fake_set(int status, const char *ctype, const void *body, size_t n)
{
	char head[256];
	int h = snprintf(head, sizeof head,
			 "HTTP/1.1 %d X\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
			 "Connection: close\r\n\r\n",
			 status, ctype, n);
	uint8_t *all = malloc((size_t)h + n + 1);
	memcpy(all, head, (size_t)h);
	if (n)
		memcpy(all + h, body, n);
	fake_set_raw(all, (size_t)h + n);
	free(all);
}

static void fake_set_text(int status, const char *text)
{
	fake_set(status, "text/plain", text, strlen(text));
}

static void fake_set_204(void)
{
	const char *r = "HTTP/1.1 204 No Content\r\nConnection: close\r\n\r\n";
	fake_set_raw(r, strlen(r));
}

/* Value of request header `name` (copied into out), or -1. */
static int req_header(char *out, size_t cap, const char *name)
{
	const char *p = fake.req;
	size_t nl = strlen(name);
	while ((p = strstr(p, "\r\n")) != NULL && (size_t)(p - fake.req) < fake.hdrlen) {
		p += 2;
		if (strncasecmp(p, name, nl) == 0 && p[nl] == ':') {
			const char *v = p + nl + 1;
			while (*v == ' ')
				v++;
			const char *end = strstr(v, "\r\n");
			size_t len = (size_t)(end - v);
			if (len >= cap)
				return -1;
			memcpy(out, v, len);
			out[len] = '\0';
			return 0;
		}
	}
	return -1;
}

/* "METHOD PATH" of the last request. */
static void req_line(char *method, size_t mcap, char *path, size_t pcap)
{
	char m[16], p[256];
	assert_int_equal(sscanf(fake.req, "%15s %255s", m, p), 2);
	snprintf(method, mcap, "%s", m);
	snprintf(path, pcap, "%s", p);
}

static const uint8_t *req_body(size_t *n)
{
	*n = fake.reqlen - fake.hdrlen;
	return (const uint8_t *)fake.req + fake.hdrlen;
}

/* The last request carried a valid owner signature by `id` over its body. */
static void assert_owner_signed(const pl_identity *id)
{
	char key[80], tm[32], nonce[48], sig[160], method[16], path[256];
	uint8_t k[32], mbx[32], want_mbx[32], nn[16];
	size_t bn;
	const uint8_t *body = req_body(&bn);
	const char *why = NULL;

	assert_int_equal(req_header(key, sizeof key, PL_AUTH_HDR_KEY), 0);
	assert_int_equal(req_header(tm, sizeof tm, PL_AUTH_HDR_TIME), 0);
	assert_int_equal(req_header(nonce, sizeof nonce, PL_AUTH_HDR_NONCE), 0);
	assert_int_equal(req_header(sig, sizeof sig, PL_AUTH_HDR_SIG), 0);
	req_line(method, sizeof method, path, sizeof path);
	pl_mailbox_id(want_mbx, id->pk);
	assert_int_equal(pl_auth_verify(k, mbx, nn, NULL, method, path, key, tm, nonce, sig, body,
					bn, pl_now(), &why),
			 0);
	assert_memory_equal(k, id->pk, 32);
	assert_memory_equal(mbx, want_mbx, 32);
}

static pl_rc_conn *fake_conn(void)
{
	char url[64];
	pl_rc_conn *c = NULL;
	pl_err e;
	snprintf(url, sizeof url, "http://127.0.0.1:%u", fake.port);
	assert_int_equal(pl_rc_open(&c, url, NULL, &e), 0);
	return c;
}

static int setup(void **state)
{
	(void)state;
	if (sodium_init() < 0 || pl_identity_generate(&alice) || pl_identity_generate(&bob) ||
	    pl_identity_generate(&relay_id))
		return -1;
	fake.lfd = listen_loopback(&fake.port);
	if (fake.lfd < 0)
		return -1;
	return pthread_create(&fake.thread, NULL, fake_main, NULL);
}

static int teardown(void **state)
{
	(void)state;
	pthread_mutex_lock(&fake.mu);
	fake.stop = 1;
	pthread_mutex_unlock(&fake.mu);
	/* Wake accept(). */
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(fake.port)};
	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd >= 0) {
		connect(fd, (struct sockaddr *)&a, sizeof a);
		close(fd);
	}
	pthread_join(fake.thread, NULL);
	/* Children a failed test left behind. */
	real_stop();
	stop_child(tls_pid);
	close(fake.lfd);
	free(fake.resp);
	pl_identity_wipe(&alice);
	pl_identity_wipe(&bob);
	pl_identity_wipe(&relay_id);
	return 0;
}

/* ---- URL handling ----------------------------------------------------- */

static void test_open_urls(void **state)
{
	(void)state;
	static const char *bad[] = {
	    "",
	    "127.0.0.1:8080",
	    "ftp://127.0.0.1/",
	    "file:///etc/passwd",
	    "http://127.0.0.1:8080/v1",
	    "http://127.0.0.1:8080/?x=1",
	    "http://127.0.0.1:8080/#f",
	    "http://user:pw@127.0.0.1:8080",
	    "http://",
	    "http://127.0.0.1:8080/\n",
	};
	pl_rc_conn *c = (pl_rc_conn *)1;
	pl_err e;
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		pl_err_clear(&e);
		assert_int_equal(pl_rc_open(&c, bad[i], NULL, &e), -1);
		assert_null(c);
		assert_int_equal(e.code, PL_EXIT_USAGE);
		assert_true(strlen(e.msg) > 10);
	}
	assert_int_equal(pl_rc_open(&c, NULL, NULL, &e), -1);
	assert_int_equal(e.code, PL_EXIT_USAGE);

	assert_int_equal(pl_rc_open(&c, "http://127.0.0.1:8080/", NULL, &e), 0);
	assert_string_equal(pl_rc_url(c), "http://127.0.0.1:8080");
	assert_int_equal(pl_rc_last_status(c), 0);
	pl_rc_close(c);
	assert_int_equal(pl_rc_open(&c, "HTTPS://Relay.Example:443", "/tmp/ca.pem", &e), 0);
	assert_int_equal(strncmp(pl_rc_url(c), "https://", 8), 0);
	pl_rc_close(c);
	/* A CA file with plain HTTP is a mistake worth saying. */
	assert_int_equal(pl_rc_open(&c, "http://127.0.0.1:8080", "/tmp/ca.pem", &e), -1);
	assert_int_equal(e.code, PL_EXIT_USAGE);
	assert_non_null(strstr(e.msg, "CA file"));
	pl_rc_close(NULL);
}

/* Plain http:// carries the access token in clear: only to this computer,
 * unless the owner allowed it. A name that merely looks like 127.x, or an
 * address outside 127/8, is another computer. */
static void test_plain_http_policy(void **state)
{
	(void)state;
	static const struct {
		const char *url;
		int remote;
	} u[] = {
	    {"http://127.0.0.1:8080", 0},
	    {"http://127.255.3.4", 0},
	    {"http://localhost:1", 0},
	    {"http://[::1]:8443", 0},
	    {"https://relay.example:443", 0},
	    {"https://203.0.113.5", 0},
	    {"http://relay.example:80", 1},
	    {"http://127.evil.example:80", 1},
	    {"http://127.0.0.1.evil.example", 1},
	    {"http://10.0.0.1:8080", 1},
	    {"http://0.0.0.0:8080", 1},
	    {"http://[::ffff:127.0.0.1]:1", 1},
	    {"http://128.0.0.1", 1},
	    {"ftp://127.0.0.1", -1},
	};
	for (size_t i = 0; i < sizeof u / sizeof u[0]; i++) {
		pl_rc_conn *c = NULL;
		pl_err e;
		pl_err_clear(&e);
		if (pl_rc_url_plain_remote(u[i].url) != u[i].remote)
			fail_msg("%s: plain remote should be %d", u[i].url, u[i].remote);
		if (u[i].remote < 0)
			continue;
		int rc = pl_rc_open(&c, u[i].url, NULL, &e);
		if (u[i].remote) {
			assert_int_equal(rc, -1);
			assert_null(c);
			assert_int_equal(e.code, PL_EXIT_SECURITY);
			assert_non_null(strstr(e.msg, "plain http://"));
			assert_int_equal(pl_rc_open_flags(&c, u[i].url, NULL, PL_RC_PLAIN_HTTP, &e),
					 0);
			assert_non_null(c);
			pl_rc_close(c);
			assert_int_equal(pl_rc_open_pem(&c, u[i].url, NULL, 0, 0, &e), -1);
			assert_int_equal(
			    pl_rc_open_pem(&c, u[i].url, NULL, 0, PL_RC_PLAIN_HTTP, &e), 0);
		} else {
			assert_int_equal(rc, 0);
		}
		pl_rc_close(c);
	}
}

/* ---- failure classification against the fake server ---------------- */

static void test_unreachable(void **state)
{
	(void)state;
	uint16_t port;
	int fd = listen_loopback(&port);
	assert_true(fd >= 0);
	close(fd); /* nothing listens there now */
	char url[64];
	snprintf(url, sizeof url, "http://127.0.0.1:%u", port);
	pl_rc_conn *c;
	pl_err e;
	uint8_t pk[32];
	assert_int_equal(pl_rc_open(&c, url, NULL, &e), 0);
	pl_err_clear(&e);
	assert_int_equal(pl_rc_get_key(c, pk, &e), -1);
	assert_int_equal(e.code, PL_EXIT_NETWORK);
	assert_non_null(strstr(e.msg, "is unreachable"));
	assert_non_null(strstr(e.msg, url));
	assert_int_equal(pl_rc_last_status(c), 0);
	pl_rc_close(c);
}

static void test_get_key_fake(void **state)
{
	(void)state;
	pl_rc_conn *c = fake_conn();
	uint8_t body[PL_PROTO_RELAY_KEY_LEN], pk[32];
	pl_err e;

	pl_proto_relay_key_encode(body, relay_id.pk);
	fake_set(200, "application/octet-stream", body, sizeof body);
	assert_int_equal(pl_rc_get_key(c, pk, &e), 0);
	assert_memory_equal(pk, relay_id.pk, 32);
	assert_int_equal(pl_rc_last_status(c), 200);

	/* Wrong length, wrong version, invalid point. */
	memset(pk, 0x55, sizeof pk);
	fake_set(200, "application/octet-stream", body, sizeof body - 1);
	assert_int_equal(pl_rc_get_key(c, pk, &e), -1);
	assert_int_equal(e.code, PL_EXIT_SECURITY);
	assert_non_null(strstr(e.msg, "malformed relay key"));
	assert_int_equal(pk[0], 0x55); /* nothing written */
	body[0] = 2;
	fake_set(200, "application/octet-stream", body, sizeof body);
	assert_int_equal(pl_rc_get_key(c, pk, &e), -1);
	assert_int_equal(e.code, PL_EXIT_SECURITY);
	uint8_t zero[PL_PROTO_RELAY_KEY_LEN] = {1};
	fake_set(200, "application/octet-stream", zero, sizeof zero);
	assert_int_equal(pl_rc_get_key(c, pk, &e), -1);
	assert_int_equal(e.code, PL_EXIT_SECURITY);

	/* More than the endpoint can send. */
	uint8_t big[4096] = {1};
	fake_set(200, "application/octet-stream", big, sizeof big);
	assert_int_equal(pl_rc_get_key(c, pk, &e), -1);
	assert_int_equal(e.code, PL_EXIT_SECURITY);
	assert_non_null(strstr(e.msg, "malformed"));
	pl_rc_close(c);
}

static void test_http_errors(void **state)
{
	(void)state;
	pl_rc_conn *c = fake_conn();
	uint8_t pk[32];
	pl_err e;

	fake_set_text(503, "storage failure: disk full\nsecond line");
	assert_int_equal(pl_rc_get_key(c, pk, &e), -1);
	assert_int_equal(e.code, PL_EXIT_NETWORK);
	assert_int_equal(pl_rc_last_status(c), 503);
	assert_non_null(strstr(e.msg, "HTTP 503: storage failure: disk full"));
	assert_null(strstr(e.msg, "second line"));
	assert_non_null(strstr(e.msg, "try again later"));

	/* Terminal escapes and other bytes from the relay are neutralised. */
	fake_set_text(400, "bad \x1b[31mred\x7f\xc3\xa9");
	assert_int_equal(pl_rc_get_key(c, pk, &e), -1);
	assert_int_equal(e.code, PL_EXIT_NETWORK);
	assert_null(strchr(e.msg, '\x1b'));
	assert_non_null(strstr(e.msg, "bad ?[31mred???"));

	fake_set_text(404, "no such mailbox");
	assert_int_equal(pl_rc_get_key(c, pk, &e), -1);
	assert_int_equal(e.code, PL_EXIT_NOTFOUND);
	assert_int_equal(pl_rc_last_status(c), 404);

	fake_set_text(401, "");
	assert_int_equal(pl_rc_get_key(c, pk, &e), -1);
	assert_int_equal(e.code, PL_EXIT_NETWORK);
	assert_non_null(strstr(e.msg, "no reason given"));
	assert_non_null(strstr(e.msg, "clock"));

	/* A long error body is cut, not treated as malformed. */
	char longtext[5000];
	memset(longtext, 'x', sizeof longtext - 1);
	longtext[sizeof longtext - 1] = '\0';
	fake_set_text(413, longtext);
	assert_int_equal(pl_rc_get_key(c, pk, &e), -1);
	assert_int_equal(e.code, PL_EXIT_NETWORK);
	assert_int_equal(pl_rc_last_status(c), 413);

	const char *redir = "HTTP/1.1 302 Found\r\nLocation: http://127.0.0.1:1/\r\n"
			    "Content-Length: 0\r\nConnection: close\r\n\r\n";
	fake_set_raw(redir, strlen(redir));
	assert_int_equal(pl_rc_get_key(c, pk, &e), -1);
	assert_int_equal(e.code, PL_EXIT_NETWORK);
	assert_non_null(strstr(e.msg, "redirect"));

	/* Not HTTP at all. */
	const char *junk = "SSH-2.0-OpenSSH_9.2\r\n";
	fake_set_raw(junk, strlen(junk));
	assert_int_equal(pl_rc_get_key(c, pk, &e), -1);
	assert_int_equal(e.code, PL_EXIT_SECURITY);
	assert_non_null(strstr(e.msg, "malformed"));

	/* Connection closed without a word. */
	fake_set_raw("", 0);
	assert_int_equal(pl_rc_get_key(c, pk, &e), -1);
	assert_int_equal(e.code, PL_EXIT_NETWORK);

	/* A body announced larger than any listing is refused up front. */
	char huge[200];
	snprintf(huge, sizeof huge,
		 "HTTP/1.1 200 OK\r\nContent-Length: %zu\r\nConnection: close\r\n\r\n",
		 (size_t)PL_RC_RESPONSE_MAX + 1);
	fake_set_raw(huge, strlen(huge));
	pl_rc_listing l;
	assert_int_equal(pl_rc_fetch(c, &alice, 0, &l, &e), -1);
	assert_int_equal(e.code, PL_EXIT_SECURITY);
	assert_non_null(strstr(e.msg, "malformed"));
	pl_rc_close(c);
}

static void test_empty_endpoints_fake(void **state)
{
	(void)state;
	pl_rc_conn *c = fake_conn();
	uint8_t token[32], hash[32], mbx[32];
	char method[16], path[256], hex[65], want[256];
	pl_err e;
	size_t bn;

	randombytes_buf(token, sizeof token);
	fake_set_204();
	assert_int_equal(pl_rc_put_token(c, &alice, token, &e), 0);
	req_line(method, sizeof method, path, sizeof path);
	pl_mailbox_id(mbx, alice.pk);
	pl_hex_encode(hex, mbx, 32);
	snprintf(want, sizeof want, "/v1/token/%s", hex);
	assert_string_equal(method, "PUT");
	assert_string_equal(path, want);
	assert_owner_signed(&alice);
	const uint8_t *body = req_body(&bn);
	assert_int_equal(bn, PL_PROTO_TOKEN_BODY_LEN);
	pl_sha256(hash, token, 32);
	assert_int_equal(body[0], 1);
	assert_memory_equal(body + 1, hash, 32);
	/* The token itself never leaves, raw or in hex. */
	char tok_hex[65];
	pl_hex_encode(tok_hex, token, 32);
	assert_null(memmem(fake.req, fake.reqlen, token, 32));
	assert_null(memmem(fake.req, fake.reqlen, tok_hex, 64));

	fake_set_204();
	pl_auth_ack ack41;
	memset(&ack41, 0, sizeof ack41);
	ack41.through = 41;
	ack41.n = 1;
	ack41.name[0].seq = 40;
	memset(ack41.name[0].hash, 0xab, 32);
	assert_int_equal(pl_rc_ack(c, &alice, &ack41, &e), 0);
	req_line(method, sizeof method, path, sizeof path);
	snprintf(want, sizeof want, "/v1/mailbox/%s/ack", hex);
	assert_string_equal(method, "POST");
	assert_string_equal(path, want);
	assert_owner_signed(&alice);
	body = req_body(&bn);
	assert_int_equal(bn, PL_AUTH_ACK_BODY_MIN + PL_AUTH_ACK_NAME_LEN);
	assert_int_equal(body[0], 2);
	assert_int_equal(pl_be64_get(body + 1), 41);
	assert_int_equal(body[9], 1);
	assert_int_equal(pl_be64_get(body + 10), 40);
	assert_int_equal(body[18], 0xab);
	/* an ack that breaks its rules is not sent */
	ack41.name[0].seq = 42;
	fake.reqlen = 0;
	assert_int_equal(pl_rc_ack(c, &alice, &ack41, &e), -1);
	assert_int_equal(e.code, PL_EXIT_INPUT);
	assert_int_equal(fake.reqlen, 0);
	ack41.name[0].seq = 40;

	/* A 200 with a body where none belongs is malformed. */
	fake_set(200, "application/octet-stream", "x", 1);
	assert_int_equal(pl_rc_ack(c, &alice, &ack41, &e), -1);
	assert_int_equal(e.code, PL_EXIT_SECURITY);
	fake_set(200, "application/octet-stream", "", 0);
	assert_int_equal(pl_rc_ack(c, &alice, &ack41, &e), 0);

	/* Grants: the upload and the fetch. */
	uint8_t loc[32], blob[PL_GRANT_BLOB_LEN], got[PL_PROTO_GRANT_BLOB_MAX];
	size_t gotlen = 0;
	assert_int_equal(pl_grant_seal(loc, blob, &alice, bob.pk, token), 0);
	fake_set_204();
	assert_int_equal(pl_rc_put_grant(c, &alice, loc, blob, sizeof blob, &e), 0);
	req_line(method, sizeof method, path, sizeof path);
	pl_hex_encode(hex, loc, 32);
	snprintf(want, sizeof want, "/v1/grant/%s", hex);
	assert_string_equal(path, want);
	assert_owner_signed(&alice);
	assert_int_equal(pl_rc_put_grant(c, &alice, loc, blob, 0, &e), -1);
	assert_int_equal(e.code, PL_EXIT_INPUT);
	assert_int_equal(pl_rc_put_grant(c, &alice, loc, blob, 257, &e), -1);
	assert_int_equal(e.code, PL_EXIT_INPUT);

	pl_wr w;
	pl_wr_init(&w);
	assert_int_equal(pl_proto_grant_encode(&w, blob, sizeof blob), 0);
	fake_set(200, "application/octet-stream", w.p, w.n);
	assert_int_equal(pl_rc_get_grant(c, loc, got, &gotlen, &e), 0);
	assert_int_equal(gotlen, sizeof blob);
	assert_memory_equal(got, blob, sizeof blob);
	req_line(method, sizeof method, path, sizeof path);
	assert_string_equal(method, "GET");
	assert_string_equal(path, want);
	fake_set(200, "application/octet-stream", w.p, w.n - 1);
	assert_int_equal(pl_rc_get_grant(c, loc, got, &gotlen, &e), -1);
	assert_int_equal(e.code, PL_EXIT_SECURITY);
	pl_wr_free(&w);
	pl_rc_close(c);
}

static void make_upload(pl_proto_bundle_upload *u, const pl_identity *id, uint16_t nopk,
			uint8_t spk_sk[32])
{
	memset(u, 0, sizeof *u);
	memcpy(u->ik, id->pk, 32);
	u->spk_id = 7;
	crypto_box_keypair(u->spk, spk_sk);
	assert_int_equal(pl_spk_sign(u->spk_sig, id, u->spk_id, u->spk), 0);
	u->opk_count = nopk;
	for (uint16_t i = 0; i < nopk; i++) {
		uint8_t sk[32];
		u->opk[i].id = 100u + i;
		crypto_box_keypair(u->opk[i].pub, sk);
		sodium_memzero(sk, sizeof sk);
	}
}

static void test_bundles_fake(void **state)
{
	(void)state;
	pl_rc_conn *c = fake_conn();
	pl_proto_bundle_upload u;
	uint8_t spk_sk[32];
	pl_err e;
	char method[16], path[256];

	make_upload(&u, &bob, 3, spk_sk);
	fake_set_204();
	assert_int_equal(pl_rc_publish_bundle(c, &bob, &u, &e), 0);
	req_line(method, sizeof method, path, sizeof path);
	assert_string_equal(method, "PUT");
	assert_owner_signed(&bob);
	/* Only one's own bundle. */
	assert_int_equal(pl_rc_publish_bundle(c, &alice, &u, &e), -1);
	assert_int_equal(e.code, PL_EXIT_INPUT);

	/* Fetch: a genuine bundle of bob. */
	pl_bundle b = {0}, got;
	memcpy(b.ik, bob.pk, 32);
	b.spk_id = u.spk_id;
	memcpy(b.spk, u.spk, 32);
	memcpy(b.spk_sig, u.spk_sig, 64);
	b.opk_id = u.opk[0].id;
	memcpy(b.opk, u.opk[0].pub, 32);
	pl_wr w;
	pl_wr_init(&w);
	pl_bundle_encode(&w, &b);
	assert_int_equal(pl_wr_ok(&w), 0);
	fake_set(200, "application/octet-stream", w.p, w.n);
	assert_int_equal(pl_rc_fetch_bundle(c, bob.pk, &got, &e), 0);
	assert_memory_equal(&got, &b, sizeof b);

	/* The same bytes asked for as alice's bundle: refused. */
	memset(&got, 0x77, sizeof got);
	assert_int_equal(pl_rc_fetch_bundle(c, alice.pk, &got, &e), -1);
	assert_int_equal(e.code, PL_EXIT_SECURITY);
	assert_non_null(strstr(e.msg, "another identity"));
	assert_int_equal(((uint8_t *)&got)[0], 0x77);

	/* A bad spk signature. */
	w.p[1 + 32 + 4 + 32] ^= 1;
	fake_set(200, "application/octet-stream", w.p, w.n);
	assert_int_equal(pl_rc_fetch_bundle(c, bob.pk, &got, &e), -1);
	assert_int_equal(e.code, PL_EXIT_SECURITY);
	pl_wr_free(&w);
	sodium_memzero(spk_sk, sizeof spk_sk);
	pl_rc_close(c);
}

/* A receipt as the fake relay would make it: the deposit as the one leaf
 * of a log, its checkpoint signed by `signer`. Returns its length. */
static size_t make_receipt(uint8_t out[PL_RECEIPT_MAX], const pl_identity *signer,
			   const uint8_t mbx[32], const uint8_t hash[32])
{
	static pl_receipt r;
	pl_leaf l;
	uint8_t root[32];
	size_t n;

	memset(&r, 0, sizeof r);
	memcpy(r.mbx, mbx, 32);
	r.seq = 12;
	r.time = pl_now();
	memcpy(r.hash, hash, 32);
	memset(&l, 0, sizeof l);
	l.type = PL_LEAF_DEPOSIT;
	memcpy(l.mbx, mbx, 32);
	memcpy(l.hash, hash, 32);
	l.seq = r.seq;
	l.relay_time = r.time;
	assert_int_equal(pl_leaf_hash_of(root, &l), 0);
	assert_int_equal(
	    pl_leaf_checkpoint_sign(r.note, sizeof r.note, &r.notelen, 1, root, signer->sk), 0);
	n = pl_receipt_encode(out, &r);
	assert_true(n > 0);
	return n;
}

static void test_deposit_fake(void **state)
{
	(void)state;
	pl_rc_conn *c = fake_conn();
	uint8_t token[32], mbx[32], hash[32], rb[PL_RECEIPT_MAX], other[32];
	uint8_t *env = NULL;
	size_t envlen = 0, bn;
	pl_receipt rec;
	pl_err e;
	size_t rn;
	char tok_hex[65], got_tok[80], sig[200], method[16], path[256], want[256], hex[65];

	randombytes_buf(token, sizeof token);
	assert_int_equal(
	    pl_envelope_seal(&env, &envlen, bob.pk, alice.pk, (const uint8_t *)"hello", 5), 0);
	pl_mailbox_id(mbx, bob.pk);
	pl_sha256(hash, env, envlen);

	rn = make_receipt(rb, &relay_id, mbx, hash);
	fake_set(200, "application/octet-stream", rb, rn);
	assert_int_equal(pl_rc_deposit(c, relay_id.pk, bob.pk, token, env, envlen, &rec, &e), 0);
	assert_int_equal(rec.seq, 12);
	assert_memory_equal(rec.hash, hash, 32);
	req_line(method, sizeof method, path, sizeof path);
	pl_hex_encode(hex, mbx, 32);
	snprintf(want, sizeof want, "/v1/deposit/%s", hex);
	assert_string_equal(method, "POST");
	assert_string_equal(path, want);
	pl_hex_encode(tok_hex, token, 32);
	assert_int_equal(req_header(got_tok, sizeof got_tok, PL_HDR_TOKEN), 0);
	assert_string_equal(got_tok, tok_hex);
	assert_int_equal(req_header(sig, sizeof sig, PL_AUTH_HDR_SIG), -1); /* anonymous */
	assert_int_equal(req_header(sig, sizeof sig, PL_AUTH_HDR_KEY), -1);
	const uint8_t *body = req_body(&bn);
	assert_int_equal(bn, envlen);
	assert_memory_equal(body, env, envlen);

	/* A receipt for other bytes. */
	memcpy(other, hash, 32);
	other[0] ^= 1;
	rn = make_receipt(rb, &relay_id, mbx, other);
	fake_set(200, "application/octet-stream", rb, rn);
	memset(&rec, 0x33, sizeof rec);
	assert_int_equal(pl_rc_deposit(c, relay_id.pk, bob.pk, token, env, envlen, &rec, &e), -1);
	assert_int_equal(e.code, PL_EXIT_SECURITY);
	assert_non_null(strstr(e.msg, "different bytes"));
	assert_int_equal(rec.seq, 0x3333333333333333ull);

	/* For another mailbox. */
	pl_mailbox_id(other, alice.pk);
	rn = make_receipt(rb, &relay_id, other, hash);
	fake_set(200, "application/octet-stream", rb, rn);
	assert_int_equal(pl_rc_deposit(c, relay_id.pk, bob.pk, token, env, envlen, &rec, &e), -1);
	assert_int_equal(e.code, PL_EXIT_SECURITY);
	assert_non_null(strstr(e.msg, "another mailbox"));

	/* Signed by a key other than the pinned one. */
	rn = make_receipt(rb, &alice, mbx, hash);
	fake_set(200, "application/octet-stream", rb, rn);
	assert_int_equal(pl_rc_deposit(c, relay_id.pk, bob.pk, token, env, envlen, &rec, &e), -1);
	assert_int_equal(e.code, PL_EXIT_SECURITY);
	assert_non_null(strstr(e.msg, "does not verify"));

	/* Truncated. */
	rn = make_receipt(rb, &relay_id, mbx, hash);
	fake_set(200, "application/octet-stream", rb, rn - 1);
	assert_int_equal(pl_rc_deposit(c, relay_id.pk, bob.pk, token, env, envlen, &rec, &e), -1);
	assert_int_equal(e.code, PL_EXIT_SECURITY);
	assert_non_null(strstr(e.msg, "malformed receipt"));

	/* The relay refusing the token. */
	fake_set_text(403, "bad token");
	assert_int_equal(pl_rc_deposit(c, relay_id.pk, bob.pk, token, env, envlen, &rec, &e), -1);
	assert_int_equal(e.code, PL_EXIT_NETWORK);
	assert_int_equal(pl_rc_last_status(c), 403);
	assert_null(strstr(e.msg, tok_hex)); /* never in a message */

	/* Not a padded envelope: refused before anything is sent. */
	pthread_mutex_lock(&fake.mu);
	unsigned served = fake.served;
	pthread_mutex_unlock(&fake.mu);
	assert_int_equal(pl_rc_deposit(c, relay_id.pk, bob.pk, token, env, envlen - 1, &rec, &e),
			 -1);
	assert_int_equal(e.code, PL_EXIT_INPUT);
	pthread_mutex_lock(&fake.mu);
	assert_int_equal(fake.served, served);
	pthread_mutex_unlock(&fake.mu);
	free(env);
	pl_rc_close(c);
}

/* The receipt check on its own, every field. */
static void test_receipt_check(void **state)
{
	(void)state;
	uint8_t mbx[32], hash[32], rb[PL_RECEIPT_MAX];
	pl_receipt r;
	pl_err e;
	size_t rn;

	randombytes_buf(hash, 32);
	pl_mailbox_id(mbx, bob.pk);
	rn = make_receipt(rb, &relay_id, mbx, hash);
	assert_int_equal(pl_rc_receipt_check(&r, rb, rn, relay_id.pk, mbx, hash, "http://x", &e),
			 0);
	for (size_t i = 0; i < rn; i++) {
		rb[i] ^= 0x10;
		assert_int_equal(
		    pl_rc_receipt_check(&r, rb, rn, relay_id.pk, mbx, hash, "http://x", &e), -1);
		assert_int_equal(e.code, PL_EXIT_SECURITY);
		rb[i] ^= 0x10;
	}
	for (size_t n = 0; n < rn; n++)
		assert_int_equal(
		    pl_rc_receipt_check(&r, rb, n, relay_id.pk, mbx, hash, "http://x", &e), -1);
	uint8_t longer[PL_RECEIPT_MAX + 1] = {0};
	memcpy(longer, rb, rn);
	assert_int_equal(
	    pl_rc_receipt_check(&r, longer, rn + 1, relay_id.pk, mbx, hash, "http://x", &e), -1);
	assert_int_equal(pl_rc_receipt_check(&r, rb, rn, alice.pk, mbx, hash, "http://x", &e), -1);
	hash[31] ^= 1;
	assert_int_equal(pl_rc_receipt_check(&r, rb, rn, relay_id.pk, mbx, hash, "http://x", &e),
			 -1);
	hash[31] ^= 1;
	mbx[0] ^= 1;
	assert_int_equal(pl_rc_receipt_check(&r, rb, rn, relay_id.pk, mbx, hash, "http://x", &e),
			 -1);
}

static void test_listing_fake(void **state)
{
	(void)state;
	pl_rc_conn *c = fake_conn();
	uint8_t *env1 = NULL, *env2 = NULL;
	size_t n1, n2;
	pl_rc_listing l;
	pl_err e;
	char method[16], path[256], want[256], hex[65];
	uint8_t mbx[32];

	assert_int_equal(pl_envelope_seal(&env1, &n1, alice.pk, bob.pk, (const uint8_t *)"a", 1),
			 0);
	assert_int_equal(pl_envelope_seal(&env2, &n2, alice.pk, bob.pk, (const uint8_t *)"b", 1),
			 0);
	pl_wr w;
	pl_wr_init(&w);
	pl_proto_listing_encode_begin(&w, 7, 2);
	pl_proto_listing_encode_item(&w, 5, 1000, env1, n1);
	pl_proto_listing_encode_item(&w, 9, 1001, env2, n2);
	assert_int_equal(pl_wr_ok(&w), 0);
	fake_set(200, "application/octet-stream", w.p, w.n);
	assert_int_equal(pl_rc_fetch(c, &alice, 4, &l, &e), 0);
	assert_int_equal(l.list.count, 2);
	assert_int_equal(l.list.prekeys, 7);
	assert_int_equal(l.list.item[0].seq, 5);
	assert_int_equal(l.list.item[1].seq, 9);
	assert_int_equal(l.list.item[1].envlen, n2);
	assert_memory_equal(l.list.item[1].env, env2, n2);
	pl_rc_listing_free(&l);
	assert_null(l.buf);
	req_line(method, sizeof method, path, sizeof path);
	pl_mailbox_id(mbx, alice.pk);
	pl_hex_encode(hex, mbx, 32);
	snprintf(want, sizeof want, "/v1/mailbox/%s?after=4", hex);
	assert_string_equal(method, "GET");
	assert_string_equal(path, want);
	assert_owner_signed(&alice);

	/* The relay ignoring `after` is caught. */
	assert_int_equal(pl_rc_fetch(c, &alice, 5, &l, &e), -1);
	assert_int_equal(e.code, PL_EXIT_SECURITY);
	assert_non_null(strstr(e.msg, "malformed mailbox listing"));

	/* Trailing byte. */
	pl_wr_u8(&w, 0);
	fake_set(200, "application/octet-stream", w.p, w.n);
	assert_int_equal(pl_rc_fetch(c, &alice, 0, &l, &e), -1);
	assert_int_equal(e.code, PL_EXIT_SECURITY);
	pl_wr_free(&w);

	/* Empty listing. */
	pl_wr_init(&w);
	pl_proto_listing_encode_begin(&w, 0, 0);
	fake_set(200, "application/octet-stream", w.p, w.n);
	assert_int_equal(pl_rc_fetch(c, &alice, 0, &l, &e), 0);
	assert_int_equal(l.list.count, 0);
	pl_rc_listing_free(&l);
	pl_wr_free(&w);
	free(env1);
	free(env2);
	pl_rc_close(c);
}

/* ---- TLS against openssl s_server ------------------------------------ */

/* Starts argv with stdout to the file `out`; waits (at most 10 s) for a
 * line starting with `prefix` there and copies it to line. A file, not a
 * pipe, so the child can keep writing after we stop reading. */
static pid_t spawn_until(char *const argv[], const char *out, const char *prefix, char *line,
			 size_t cap)
{
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		int fd = open(out, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int devnull = open("/dev/null", O_RDWR);
		if (fd < 0 || devnull < 0)
			_exit(127);
		dup2(devnull, 0);
		dup2(fd, 1);
		dup2(devnull, 2);
		execvp(argv[0], argv);
		_exit(127);
	}
	for (int i = 0; i < 200; i++) {
		FILE *f = fopen(out, "r");
		char buf[512];
		while (f != NULL && fgets(buf, sizeof buf, f) != NULL) {
			if (strncmp(buf, prefix, strlen(prefix)) == 0 && strchr(buf, '\n')) {
				size_t len = (size_t)(strchr(buf, '\n') - buf);
				if (len >= cap)
					len = cap - 1;
				memcpy(line, buf, len);
				line[len] = '\0';
				fclose(f);
				return pid;
			}
		}
		if (f != NULL)
			fclose(f);
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return -1;
		usleep(50000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
	return -1;
}

static void stop_child(pid_t pid)
{
	if (pid <= 0)
		return;
	kill(pid, SIGTERM);
	pl_test_wait(pid, 5000);
}

static int have_program(const char *name)
{
	char cmd[256];
	snprintf(cmd, sizeof cmd, "command -v %s >/dev/null 2>&1", name);
	return system(cmd) == 0;
}

static void test_tls_verification(void **state)
{
	(void)state;
	if (!have_program("openssl"))
		skip();
	char dir[] = "/tmp/parley-tls.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char cmd[1024], cert[128], key[128], other[128], otherkey[128];
	snprintf(cert, sizeof cert, "%s/cert.pem", dir);
	snprintf(key, sizeof key, "%s/key.pem", dir);
	snprintf(other, sizeof other, "%s/other.pem", dir);
	snprintf(otherkey, sizeof otherkey, "%s/otherkey.pem", dir);
	snprintf(cmd, sizeof cmd,
		 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
		 "-keyout %s -out %s -days 1 -subj /CN=127.0.0.1 "
		 "-addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1 && "
		 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
		 "-keyout %s -out %s -days 1 -subj /CN=127.0.0.1 "
		 "-addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1",
		 key, cert, otherkey, other);
	if (system(cmd) != 0) {
		pl_test_rm_rf(dir);
		skip();
	}
	char *argv[] = {"openssl", "s_server", "-accept", "127.0.0.1:0", "-cert",
			cert,	   "-key",     key,	  "-www",	 NULL};
	char line[256], out[128];
	snprintf(out, sizeof out, "%s/out", dir);
	pid_t pid = tls_pid = spawn_until(argv, out, "ACCEPT", line, sizeof line);
	if (pid < 0) {
		pl_test_rm_rf(dir);
		skip();
	}
	const char *colon = strrchr(line, ':');
	assert_non_null(colon);
	char url[64];
	snprintf(url, sizeof url, "https://127.0.0.1:%s", colon + 1);

	pl_rc_conn *c;
	pl_err e;
	uint8_t pk[32];

	/* System store: the self-signed certificate is not trusted. */
	assert_int_equal(pl_rc_open(&c, url, NULL, &e), 0);
	assert_int_equal(pl_rc_get_key(c, pk, &e), -1);
	assert_int_equal(e.code, PL_EXIT_SECURITY);
	assert_non_null(strstr(e.msg, "TLS verification"));
	pl_rc_close(c);

	/* Another CA file: still refused. */
	assert_int_equal(pl_rc_open(&c, url, other, &e), 0);
	assert_int_equal(pl_rc_get_key(c, pk, &e), -1);
	assert_int_equal(e.code, PL_EXIT_SECURITY);
	assert_non_null(strstr(e.msg, "TLS verification"));
	pl_rc_close(c);

	/* The right CA file: TLS passes, and s_server's HTML page is then a
	 * malformed relay key, which shows the handshake went through. */
	assert_int_equal(pl_rc_open(&c, url, cert, &e), 0);
	assert_int_equal(pl_rc_get_key(c, pk, &e), -1);
	assert_int_equal(e.code, PL_EXIT_SECURITY);
	assert_non_null(strstr(e.msg, "malformed"));
	assert_null(strstr(e.msg, "TLS"));
	pl_rc_close(c);

	/* Right certificate, wrong name: localhost is not in the SAN. */
	snprintf(url, sizeof url, "https://localhost:%s", colon + 1);
	assert_int_equal(pl_rc_open(&c, url, cert, &e), 0);
	assert_int_equal(pl_rc_get_key(c, pk, &e), -1);
	assert_int_equal(e.code, PL_EXIT_SECURITY);
	assert_non_null(strstr(e.msg, "TLS verification"));
	pl_rc_close(c);

	stop_child(pid);
	tls_pid = 0;
	pl_test_rm_rf(dir);
}

/* ---- the real relay --------------------------------------------------- */

static struct {
	char dir[64]; /* holds data/ and data.err */
	pl_test_relay r;
} real;

/* Starts the relay; over HTTPS when cert and key are given. */
static int real_start_tls(const char *cert, const char *key)
{
	const char *const tls[] = {"--tls-cert", cert, "--tls-key", key, NULL};
	char data[128];
	snprintf(real.dir, sizeof real.dir, "/tmp/parley-rc.XXXXXX");
	if (mkdtemp(real.dir) == NULL)
		return -1;
	snprintf(data, sizeof data, "%s/data", real.dir);
	if (pl_test_relay_start(&real.r, data, 0, cert ? tls : NULL) != 0) {
		pl_test_rm_rf(real.dir);
		real.dir[0] = '\0';
		return -1;
	}
	return 0;
}

static int real_start(void)
{
	return real_start_tls(NULL, NULL);
}

static void real_stop(void)
{
	if (real.r.pid <= 0)
		return;
	pl_test_relay_stop(&real.r);
	pl_test_rm_rf(real.dir);
}

static void test_real_relay(void **state)
{
	(void)state;
	if (real_start() != 0) {
		print_message("# parley-relay not available in $PARLEY_BUILD; skipped\n");
		skip();
	}
	pl_rc_conn *c;
	pl_err e;
	uint8_t rpk[32], token[32], bad_token[32], loc[32], blob[PL_GRANT_BLOB_LEN];
	uint8_t got[PL_PROTO_GRANT_BLOB_MAX], token_b[32], mbx[32], hash[32];
	size_t gotlen = 0;

	assert_int_equal(pl_rc_open(&c, real.r.url, NULL, &e), 0);
	pl_err_clear(&e);
	if (pl_rc_get_key(c, rpk, &e) != 0)
		fail_msg("get key: %s", e.msg);
	assert_int_equal(pl_ik_validate(rpk), 0);

	/* Bob publishes prekeys; alice fetches them, one one-time prekey each. */
	pl_proto_bundle_upload u;
	uint8_t spk_sk[32];
	make_upload(&u, &bob, 2, spk_sk);
	if (pl_rc_publish_bundle(c, &bob, &u, &e) != 0)
		fail_msg("publish: %s", e.msg);
	pl_bundle b1, b2, b3;
	if (pl_rc_fetch_bundle(c, bob.pk, &b1, &e) != 0)
		fail_msg("fetch bundle: %s", e.msg);
	assert_int_equal(pl_rc_fetch_bundle(c, bob.pk, &b2, &e), 0);
	assert_int_equal(pl_rc_fetch_bundle(c, bob.pk, &b3, &e), 0);
	assert_memory_equal(b1.ik, bob.pk, 32);
	assert_memory_equal(b1.spk, u.spk, 32);
	assert_true(b1.opk_id == 100 || b1.opk_id == 101);
	assert_true(b2.opk_id == 100 || b2.opk_id == 101);
	assert_int_not_equal(b1.opk_id, b2.opk_id);
	assert_int_equal(b3.opk_id, 0); /* used up */
	/* Nobody published for alice. */
	assert_int_equal(pl_rc_fetch_bundle(c, alice.pk, &b1, &e), -1);
	assert_int_equal(e.code, PL_EXIT_NOTFOUND);

	/* Bob registers a token and grants it to alice. */
	randombytes_buf(token, sizeof token);
	if (pl_rc_put_token(c, &bob, token, &e) != 0)
		fail_msg("put token: %s", e.msg);
	assert_int_equal(pl_grant_seal(loc, blob, &bob, alice.pk, token), 0);
	if (pl_rc_put_grant(c, &bob, loc, blob, sizeof blob, &e) != 0)
		fail_msg("put grant: %s", e.msg);
	assert_int_equal(pl_grant_locator(loc, &alice, bob.pk, bob.pk), 0);
	if (pl_rc_get_grant(c, loc, got, &gotlen, &e) != 0)
		fail_msg("get grant: %s", e.msg);
	assert_int_equal(pl_grant_open(token_b, &alice, bob.pk, got, gotlen), 0);
	assert_memory_equal(token_b, token, 32);
	loc[0] ^= 1;
	assert_int_equal(pl_rc_get_grant(c, loc, got, &gotlen, &e), -1);
	assert_int_equal(e.code, PL_EXIT_NOTFOUND);

	/* Alice deposits for bob. */
	uint8_t *env = NULL;
	size_t envlen = 0;
	pl_receipt rec;
	assert_int_equal(
	    pl_envelope_seal(&env, &envlen, bob.pk, alice.pk, (const uint8_t *)"ready", 5), 0);
	randombytes_buf(bad_token, sizeof bad_token);
	assert_int_equal(pl_rc_deposit(c, rpk, bob.pk, bad_token, env, envlen, &rec, &e), -1);
	assert_int_equal(e.code, PL_EXIT_NETWORK);
	assert_int_equal(pl_rc_last_status(c), 403);
	if (pl_rc_deposit(c, rpk, bob.pk, token_b, env, envlen, &rec, &e) != 0)
		fail_msg("deposit: %s", e.msg);
	pl_mailbox_id(mbx, bob.pk);
	pl_sha256(hash, env, envlen);
	assert_memory_equal(rec.mbx, mbx, 32);
	assert_memory_equal(rec.hash, hash, 32);
	assert_int_equal(pl_receipt_verify(&rec, rpk, hash), 0);
	uint64_t first_seq = rec.seq;
	/* A retry of the same envelope (a lost receipt) gets the same receipt. */
	pl_receipt again;
	assert_int_equal(pl_rc_deposit(c, rpk, bob.pk, token_b, env, envlen, &again, &e), 0);
	assert_int_equal(again.seq, first_seq);
	/* A genuine receipt checked against the wrong pinned key is refused. */
	assert_int_equal(pl_rc_deposit(c, alice.pk, bob.pk, token_b, env, envlen, &rec, &e), -1);
	assert_int_equal(e.code, PL_EXIT_SECURITY);
	assert_non_null(strstr(e.msg, "does not verify"));
	/* A second, larger envelope. */
	uint8_t *env2 = NULL, *big = calloc(1, 5000);
	size_t env2len = 0;
	assert_non_null(big);
	assert_int_equal(pl_envelope_seal(&env2, &env2len, bob.pk, alice.pk, big, 5000), 0);
	assert_int_equal(env2len, 16384 + 48);
	if (pl_rc_deposit(c, rpk, bob.pk, token_b, env2, env2len, &rec, &e) != 0)
		fail_msg("deposit 2: %s", e.msg);
	assert_true(rec.seq > first_seq);

	/* Bob lists, opens, acknowledges. */
	pl_rc_listing l;
	if (pl_rc_fetch(c, &bob, 0, &l, &e) != 0)
		fail_msg("fetch: %s", e.msg);
	assert_int_equal(l.list.count, 2);
	assert_int_equal(l.list.item[0].seq, first_seq);
	assert_int_equal(l.list.item[0].envlen, envlen);
	assert_memory_equal(l.list.item[0].env, env, envlen);
	assert_int_equal(l.list.item[1].envlen, env2len);
	assert_memory_equal(l.list.item[1].env, env2, env2len);
	{
		uint8_t *inner = NULL, sender[32];
		size_t innerlen = 0, mlen = 0;
		const uint8_t *m = NULL;
		assert_int_equal(pl_envelope_open(&inner, &innerlen, sender, &m, &mlen, &bob,
						  l.list.item[0].env, l.list.item[0].envlen),
				 0);
		assert_memory_equal(sender, alice.pk, 32);
		assert_int_equal(mlen, 5);
		assert_memory_equal(m, "ready", 5);
		sodium_memzero(inner, innerlen);
		free(inner);
	}
	uint64_t last = l.list.item[1].seq;
	pl_rc_listing_free(&l);
	assert_int_equal(pl_rc_fetch(c, &bob, first_seq, &l, &e), 0);
	assert_int_equal(l.list.count, 1);
	pl_rc_listing_free(&l);
	pl_auth_ack acklast;
	memset(&acklast, 0, sizeof acklast);
	acklast.through = last;
	if (pl_rc_ack(c, &bob, &acklast, &e) != 0)
		fail_msg("ack: %s", e.msg);
	assert_int_equal(pl_rc_fetch(c, &bob, 0, &l, &e), 0);
	assert_int_equal(l.list.count, 0);
	pl_rc_listing_free(&l);
	/* Alice's own mailbox is empty. */
	assert_int_equal(pl_rc_fetch(c, &alice, 0, &l, &e), 0);
	assert_int_equal(l.list.count, 0);
	pl_rc_listing_free(&l);

	/* The relay gone: unreachable. */
	real_stop();
	assert_int_equal(pl_rc_get_key(c, rpk, &e), -1);
	assert_int_equal(e.code, PL_EXIT_NETWORK);
	assert_non_null(strstr(e.msg, "unreachable"));
	free(env);
	free(env2);
	free(big);
	sodium_memzero(spk_sk, sizeof spk_sk);
	pl_rc_close(c);
}

/* The relay's own TLS: verified with its certificate as CA file, refused
 * against the system store; plain HTTP to the TLS port does not work. */
static void test_real_relay_tls(void **state)
{
	(void)state;
	if (!have_program("openssl"))
		skip();
	char dir[] = "/tmp/parley-rtls.XXXXXX";
	assert_non_null(mkdtemp(dir));
	char cmd[1024], cert[128], key[128];
	snprintf(cert, sizeof cert, "%s/cert.pem", dir);
	snprintf(key, sizeof key, "%s/key.pem", dir);
	snprintf(cmd, sizeof cmd,
		 "openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes "
		 "-keyout %s -out %s -days 1 -subj /CN=127.0.0.1 "
		 "-addext subjectAltName=IP:127.0.0.1 >/dev/null 2>&1",
		 key, cert);
	if (system(cmd) != 0 || real_start_tls(cert, key) != 0) {
		pl_test_rm_rf(dir);
		print_message("# parley-relay or openssl not available; skipped\n");
		skip();
	}
	pl_rc_conn *c;
	pl_err e;
	uint8_t pk[32], pk2[32];

	assert_int_equal(pl_rc_open(&c, real.r.url, cert, &e), 0);
	if (pl_rc_get_key(c, pk, &e) != 0)
		fail_msg("get key over TLS: %s", e.msg);
	assert_int_equal(pl_ik_validate(pk), 0);
	pl_rc_close(c);

	assert_int_equal(pl_rc_open(&c, real.r.url, NULL, &e), 0);
	assert_int_equal(pl_rc_get_key(c, pk2, &e), -1);
	assert_int_equal(e.code, PL_EXIT_SECURITY);
	assert_non_null(strstr(e.msg, "TLS verification"));
	pl_rc_close(c);

	char plain[80];
	snprintf(plain, sizeof plain, "http://%s", real.r.url + strlen("https://"));
	assert_int_equal(pl_rc_open(&c, plain, NULL, &e), 0);
	assert_int_equal(pl_rc_get_key(c, pk2, &e), -1);
	assert_int_not_equal(e.code, PL_EXIT_OK);
	pl_rc_close(c);

	real_stop();
	pl_test_rm_rf(dir);
}

int main(int argc, char **argv)
{
	(void)argc;
	pl_test_relay_bin(argv[0]);
	signal(SIGPIPE, SIG_IGN);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_open_urls),	     cmocka_unit_test(test_plain_http_policy),
	    cmocka_unit_test(test_unreachable),	     cmocka_unit_test(test_get_key_fake),
	    cmocka_unit_test(test_http_errors),	     cmocka_unit_test(test_empty_endpoints_fake),
	    cmocka_unit_test(test_bundles_fake),     cmocka_unit_test(test_deposit_fake),
	    cmocka_unit_test(test_receipt_check),    cmocka_unit_test(test_listing_fake),
	    cmocka_unit_test(test_tls_verification), cmocka_unit_test(test_real_relay),
	    cmocka_unit_test(test_real_relay_tls),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
