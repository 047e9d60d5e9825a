/*
 * relay_client.c — the relay HTTP API over libcurl (see relay_client.h).
 *
 * It owns the HTTP side of talking to a relay: URL checking, TLS policy,
 * timeouts, response caps, owner-auth headers and the classification of
 * every failure into one actionable pl_err. The bytes of every body are
 * proto.h's; this file never parses a body itself.
 *
 * It must never turn off TLS verification, follow a redirect, accept a body
 * larger than the endpoint can legitimately send, report a deposit as done
 * without a receipt whose checkpoint verifies under the pinned relay key
 * and whose inclusion proof covers the deposit, or put a
 * token or secret key in an error message.
 */
#include "client/relay_client.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "crypto/kdf.h"
#include "log/leaf.h"
#include "log/note.h"
#include "util/codec.h"

#define URL_MAX 512
#define PATH_MAX_LEN 128 /* "/v1/mailbox/<64 hex>?after=<20 digits>" and the like */
#define ERROR_BODY_KEEP 1024
#define REASON_MAX 160
#define URL_SHOWN "%.120s" /* how much of the URL an error message shows */

struct pl_rc_conn {
	CURL *curl;
	char url[URL_MAX]; /* scheme://host[:port], no trailing slash */
	char *cafile;
	uint8_t *capem; /* CA certificate(s) in PEM, pinned in the vault */
	size_t capemlen;
	int loopback;
	int plain; /* http://, not https:// */
	long last_status;
	char errbuf[CURL_ERROR_SIZE];
	char *proxy;	     /* socks5h://HOST:PORT or socks5://..., NULL for none */
	char proxy_user[33]; /* random per connection: its own Tor circuit */
	char proxy_pass[33];
};

/* A response body being received; `cap` applies to 2xx bodies, error
 * bodies keep their first ERROR_BODY_KEEP bytes (the reason line). */
typedef struct {
	CURL *curl;
	uint8_t *p;
	size_t n;
	size_t alloc;
	size_t cap;
	int too_big;
} resp_buf;

static void resp_free(resp_buf *r)
{
	free(r->p);
	r->p = NULL;
	r->n = r->alloc = 0;
}

static size_t on_write(char *data, size_t size, size_t nmemb, void *ud)
{
	resp_buf *r = ud;
	size_t len = size * nmemb;
	long status = 0;
	size_t limit = r->cap;

	curl_easy_getinfo(r->curl, CURLINFO_RESPONSE_CODE, &status);
	if (status < 200 || status > 299) {
		/* Error text: keep the start, drop the rest without failing. */
		size_t room = r->n < ERROR_BODY_KEEP ? ERROR_BODY_KEEP - r->n : 0;
		if (len > room)
			len = room;
		limit = ERROR_BODY_KEEP;
		if (len == 0)
			return size * nmemb;
	} else if (len > limit - r->n || r->n > limit) {
		r->too_big = 1;
		return 0; /* aborts the transfer with CURLE_WRITE_ERROR */
	}
	if (r->n + len > r->alloc) {
		size_t a = r->alloc ? r->alloc : 256;
		while (a < r->n + len)
			a *= 2;
		if (a > limit)
			a = limit;
		uint8_t *np = realloc(r->p, a ? a : 1);
		if (np == NULL)
			return 0;
		r->p = np;
		r->alloc = a;
	}
	memcpy(r->p + r->n, data, len);
	r->n += len;
	return size * nmemb;
}

/* Copies s into out (size cap) replacing anything but printable ASCII, up
 * to the first line break: text from the network goes to a terminal. */
static void printable(char *out, size_t cap, const char *s, size_t n)
{
	size_t o = 0;

	for (size_t i = 0; i < n && o + 1 < cap; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '\n' || ch == '\r')
			break;
		out[o++] = (ch >= 0x20 && ch < 0x7f) ? (char)ch : '?';
	}
	while (o > 0 && out[o - 1] == ' ')
		o--;
	out[o] = '\0';
}

static const char *status_hint(long status)
{
	switch (status) {
	case 400:
		return "the relay could not parse the request; check that relay and client "
		       "versions "
		       "match";
	case 401:
		return "the request signature was refused; check that this computer's clock is "
		       "within 5 minutes of the correct time";
	case 403:
		return "the access token was refused; fetch the recipient's grant again";
	case 404:
		return "nothing is stored there yet";
	case 409:
		return "it conflicts with what the relay already holds";
	case 413:
		return "it is larger than the relay accepts";
	case 429:
		return "the relay limits how often this is done from one address; try again "
		       "later";
	case 503:
		return "the relay could not store it; try again later";
	case 507:
		return "anything queued stays queued for the next attempt";
	default:
		return "try again later, or ask the relay's operator";
	}
}

/* An address of this computer: "localhost", an IPv4 address in 127/8 (a
 * name that merely starts with "127." is not), or ::1. */
static int is_loopback_host(const char *host)
{
	struct in_addr a4;
	struct in6_addr a6;
	char h[INET6_ADDRSTRLEN + 2];
	size_t n = strlen(host);

	if (strcmp(host, "localhost") == 0)
		return 1;
	if (inet_pton(AF_INET, host, &a4) == 1)
		return (ntohl(a4.s_addr) >> 24) == 127;
	if (n >= 2 && n < sizeof h && host[0] == '[' && host[n - 1] == ']') {
		memcpy(h, host + 1, n - 2);
		h[n - 2] = '\0';
		return inet_pton(AF_INET6, h, &a6) == 1 && IN6_IS_ADDR_LOOPBACK(&a6);
	}
	return 0;
}

/* Validates url and writes scheme://host[:port] to c->url. */
static int parse_url(pl_rc_conn *c, const char *url, pl_err *e)
{
	CURLU *u = curl_url();
	char *scheme = NULL, *host = NULL, *port = NULL, *path = NULL, *x = NULL;
	int rc = -1;

	if (u == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	if (strlen(url) >= URL_MAX - 1 || curl_url_set(u, CURLUPART_URL, url, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) != CURLUE_OK ||
	    curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK || host[0] == '\0') {
		pl_err_set(e, PL_EXIT_USAGE,
			   "relay address \"" URL_SHOWN "\" is not a URL; give it as "
			   "http://HOST:PORT or https://HOST:PORT",
			   url);
		goto out;
	}
	if (strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0) {
		pl_err_set(e, PL_EXIT_USAGE,
			   "relay address \"" URL_SHOWN "\" must start with http:// or https://",
			   url);
		goto out;
	}
	if (curl_url_get(u, CURLUPART_PATH, &path, 0) != CURLUE_OK || strcmp(path, "/") != 0 ||
	    curl_url_get(u, CURLUPART_QUERY, &x, 0) != CURLUE_NO_QUERY ||
	    curl_url_get(u, CURLUPART_FRAGMENT, &x, 0) != CURLUE_NO_FRAGMENT ||
	    curl_url_get(u, CURLUPART_USER, &x, 0) != CURLUE_NO_USER) {
		pl_err_set(e, PL_EXIT_USAGE,
			   "relay address \"" URL_SHOWN "\" must be only scheme, host and port "
			   "(no path, query or user name)",
			   url);
		goto out;
	}
	curl_url_get(u, CURLUPART_PORT, &port, 0);
	snprintf(c->url, sizeof c->url, "%s://%s%s%s", scheme, host, port ? ":" : "",
		 port ? port : "");
	c->loopback = is_loopback_host(host);
	c->plain = strcmp(scheme, "http") == 0;
	rc = 0;
out:
	curl_free(scheme);
	curl_free(host);
	curl_free(port);
	curl_free(path);
	curl_free(x);
	curl_url_cleanup(u);
	return rc;
}

int pl_rc_open(pl_rc_conn **out, const char *url, const char *cafile, pl_err *e)
{
	return pl_rc_open_flags(out, url, cafile, 0, e);
}

int pl_rc_url_plain_remote(const char *url)
{
	pl_rc_conn c;
	memset(&c, 0, sizeof c);
	if (url == NULL || parse_url(&c, url, NULL) != 0)
		return -1;
	return c.plain && !c.loopback;
}

int pl_rc_open_flags(pl_rc_conn **out, const char *url, const char *cafile, unsigned flags,
		     pl_err *e)
{
	pl_rc_conn *c;

	*out = NULL;
	if (url == NULL || url[0] == '\0')
		return pl_err_set(e, PL_EXIT_USAGE, "no relay address given");
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return pl_err_set(e, PL_EXIT_ERROR, "could not initialise libcurl");
	c = calloc(1, sizeof *c);
	if (c == NULL) {
		curl_global_cleanup();
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	}
	if (parse_url(c, url, e) != 0)
		goto fail;
	if (c->plain && !c->loopback && !(flags & PL_RC_PLAIN_HTTP)) {
		pl_err_set(e, PL_EXIT_SECURITY,
			   "relay address " URL_SHOWN " is plain http:// to another computer: "
			   "the access token in every deposit would cross the network readable; "
			   "use https://, or allow plain HTTP for this vault explicitly "
			   "if the path to the relay is trusted",
			   c->url);
		goto fail;
	}
	if (cafile != NULL) {
		if (strncmp(c->url, "https://", 8) != 0) {
			pl_err_set(e, PL_EXIT_USAGE,
				   "a CA file was given but relay address " URL_SHOWN
				   " is not https://; use https:// or drop the CA file",
				   c->url);
			goto fail;
		}
		c->cafile = strdup(cafile);
		if (c->cafile == NULL) {
			pl_err_set(e, PL_EXIT_ERROR, "out of memory");
			goto fail;
		}
	}
	c->curl = curl_easy_init();
	if (c->curl == NULL) {
		pl_err_set(e, PL_EXIT_ERROR, "could not initialise libcurl");
		goto fail;
	}
	*out = c;
	return 0;
fail:
	free(c->cafile);
	free(c);
	curl_global_cleanup();
	return -1;
}

/* 1 if h is a host name (letters, digits, '-', '.'), an IPv4 address
 * or a bracketed IPv6 address, as a SOCKS proxy's host must be. */
static int proxy_host_ok(const char *h, size_t n)
{
	char buf[INET6_ADDRSTRLEN + 2];
	struct in6_addr a6;
	if (n == 0 || n > 253)
		return 0;
	if (h[0] == '[') {
		if (n < 3 || h[n - 1] != ']' || n - 2 >= sizeof buf)
			return 0;
		memcpy(buf, h + 1, n - 2);
		buf[n - 2] = '\0';
		return inet_pton(AF_INET6, buf, &a6) == 1;
	}
	for (size_t i = 0; i < n; i++) {
		char ch = h[i];
		if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		      (ch >= '0' && ch <= '9') || ch == '-' || ch == '.'))
			return 0;
	}
	return 1;
}

int pl_rc_proxy_check(const char *proxy, pl_err *e)
{
	static const char *const schemes[] = {"socks5h://", "socks5://"};
	if (proxy == NULL)
		return pl_err_set(e, PL_EXIT_USAGE, "no proxy address given");
	for (int k = 0; k < 2; k++) {
		size_t sl = strlen(schemes[k]);
		if (strncmp(proxy, schemes[k], sl) != 0)
			continue;
		const char *h = proxy + sl, *colon = strrchr(h, ':');
		char *end = NULL;
		unsigned long port = colon ? strtoul(colon + 1, &end, 10) : 0;
		if (colon == NULL || !proxy_host_ok(h, (size_t)(colon - h)) || colon[1] < '0' ||
		    colon[1] > '9' || end == NULL || *end != '\0' || port < 1 || port > 65535 ||
		    strlen(proxy) > 300)
			break;
		return k;
	}
	/* Typed by a person: shown with anything unprintable replaced, so the
	 * error stays one line. */
	char shown[121];
	size_t k = 0;
	for (; proxy[k] && k + 1 < sizeof shown; k++)
		shown[k] = proxy[k] > 0x20 && proxy[k] < 0x7f ? proxy[k] : '?';
	shown[k] = '\0';
	return pl_err_set(e, PL_EXIT_USAGE,
			  "proxy address \"%s\" is not a SOCKS proxy parley accepts; give it as "
			  "socks5h://HOST:PORT (e.g. socks5h://127.0.0.1:9050 for Tor)",
			  shown);
}

int pl_rc_set_proxy(pl_rc_conn *c, const char *proxy, pl_err *e)
{
	uint8_t r[16];
	if (pl_rc_proxy_check(proxy, e) < 0)
		return -1;
	char *p = strdup(proxy);
	if (p == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	free(c->proxy);
	c->proxy = p;
	randombytes_buf(r, sizeof r);
	pl_hex_encode(c->proxy_user, r, sizeof r);
	randombytes_buf(r, sizeof r);
	pl_hex_encode(c->proxy_pass, r, sizeof r);
	return 0;
}

int pl_rc_open_pem(pl_rc_conn **out, const char *url, const uint8_t *pem, size_t pemlen,
		   unsigned flags, pl_err *e)
{
	if (pl_rc_open_flags(out, url, NULL, flags, e) != 0)
		return -1;
	if (pem == NULL || pemlen == 0)
		return 0;
	pl_rc_conn *c = *out;
	if (strncmp(c->url, "https://", 8) != 0) {
		pl_rc_close(c);
		*out = NULL;
		return pl_err_set(e, PL_EXIT_USAGE,
				  "a relay certificate is pinned but relay address " URL_SHOWN
				  " is not https://; use https:// or drop the certificate",
				  url);
	}
	c->capem = malloc(pemlen);
	if (c->capem == NULL) {
		pl_rc_close(c);
		*out = NULL;
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	}
	memcpy(c->capem, pem, pemlen);
	c->capemlen = pemlen;
	return 0;
}

void pl_rc_close(pl_rc_conn *c)
{
	if (c == NULL)
		return;
	curl_easy_cleanup(c->curl);
	free(c->proxy);
	free(c->cafile);
	free(c->capem);
	free(c);
	curl_global_cleanup();
}

const char *pl_rc_url(const pl_rc_conn *c)
{
	return c->url;
}

long pl_rc_last_status(const pl_rc_conn *c)
{
	return c->last_status;
}

static int malformed(const pl_rc_conn *c, const char *what, pl_err *e)
{
	return pl_err_set(e, PL_EXIT_SECURITY,
			  "relay at " URL_SHOWN " sent a malformed %s; it may be faulty or "
			  "compromised, so nothing from this response was used",
			  c->url, what);
}

/* Turns a failed transfer into a pl_err. */
static int transfer_error(pl_rc_conn *c, CURLcode rc, const resp_buf *r, const char *what,
			  pl_err *e)
{
	char detail[REASON_MAX];
	const char *d = c->errbuf[0] ? c->errbuf : curl_easy_strerror(rc);

	printable(detail, sizeof detail, d, strlen(d));
	if (r->too_big || rc == CURLE_FILESIZE_EXCEEDED)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "relay at " URL_SHOWN " sent a malformed response to %s (more "
				  "than %zu bytes); nothing from this response was used",
				  c->url, what, r->cap);
	switch (rc) {
	case CURLE_PEER_FAILED_VERIFICATION:
	case CURLE_SSL_CONNECT_ERROR:
	case CURLE_SSL_CERTPROBLEM:
	case CURLE_SSL_CIPHER:
	case CURLE_SSL_CACERT_BADFILE:
	case CURLE_SSL_ISSUER_ERROR:
	case CURLE_SSL_PINNEDPUBKEYNOTMATCH:
	case CURLE_SSL_INVALIDCERTSTATUS:
	case CURLE_SSL_CRL_BADFILE:
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "TLS verification of relay at " URL_SHOWN " failed (%s); check "
				  "the address, and give the CA file that signed the relay's "
				  "certificate",
				  c->url, detail);
	case CURLE_WEIRD_SERVER_REPLY:
	case CURLE_BAD_CONTENT_ENCODING:
	case CURLE_HTTP2:
	case CURLE_HTTP2_STREAM:
	case CURLE_UNSUPPORTED_PROTOCOL:
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "relay at " URL_SHOWN " sent a malformed HTTP response (%s); "
				  "check that the address is a parley relay",
				  c->url, detail);
	case CURLE_OUT_OF_MEMORY:
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory talking to the relay");
	default:
		break;
	}
	if (c->proxy) {
		long px = 0;
		curl_easy_getinfo(c->curl, CURLINFO_PROXY_ERROR, &px);
		/* No answer from the proxy itself, or it failed its handshake. */
		if (rc == CURLE_COULDNT_RESOLVE_PROXY ||
		    (rc == CURLE_COULDNT_CONNECT && px == CURLPX_OK) ||
		    (rc == CURLE_PROXY && px != CURLPX_REPLY_CONNECTION_REFUSED &&
		     px != CURLPX_REPLY_HOST_UNREACHABLE &&
		     px != CURLPX_REPLY_NETWORK_UNREACHABLE && px != CURLPX_REPLY_TTL_EXPIRED &&
		     px != CURLPX_REPLY_GENERAL_SERVER_FAILURE && px != CURLPX_RESOLVE_HOST))
			return pl_err_set(
			    e, PL_EXIT_NETWORK,
			    "the proxy at " URL_SHOWN " could not be reached (%s); "
			    "check that it (e.g. Tor) is running and that its address "
			    "is right",
			    c->proxy, detail);
		return pl_err_set(e, PL_EXIT_NETWORK,
				  "relay at " URL_SHOWN
				  " is unreachable through the proxy at " URL_SHOWN
				  " (%s); check that the relay is running and that its "
				  "address is right",
				  c->url, c->proxy, detail);
	}
	return pl_err_set(e, PL_EXIT_NETWORK,
			  "relay at " URL_SHOWN " is unreachable (%s); check that it is "
			  "running and that the address is right",
			  c->url, detail);
}

static int status_error(pl_rc_conn *c, long status, const resp_buf *r, const char *what, pl_err *e)
{
	char reason[REASON_MAX];

	if (status >= 300 && status < 400)
		return pl_err_set(e, PL_EXIT_NETWORK,
				  "relay at " URL_SHOWN " answered %s with a redirect (HTTP %ld), "
				  "which parley does not follow; give the relay's final address",
				  c->url, what, status);
	printable(reason, sizeof reason, (const char *)r->p, r->n);
	return pl_err_set(e, status == 404 ? PL_EXIT_NOTFOUND : PL_EXIT_NETWORK,
			  "relay at " URL_SHOWN " refused %s (HTTP %ld: %s); %s", c->url, what,
			  status, reason[0] ? reason : "no reason given", status_hint(status));
}

typedef struct {
	const char *method; /* GET, PUT or POST */
	const char *path;   /* with query; signed as is */
	const pl_identity *signer;
	const uint8_t *token;
	const uint8_t *body;
	size_t bodylen;
	size_t cap;	  /* largest acceptable 2xx body */
	const char *what; /* "the deposit", for messages */
} req;

static struct curl_slist *add_header(struct curl_slist *h, int *bad, const char *name,
				     const char *value)
{
	char line[256];
	struct curl_slist *n;

	if (*bad)
		return h;
	snprintf(line, sizeof line, "%s: %s", name, value);
	n = curl_slist_append(h, line);
	sodium_memzero(line, sizeof line); /* may hold a token */
	if (n == NULL) {
		*bad = 1;
		return h;
	}
	return n;
}

/* The request's headers: owner-auth signature and mailbox token when the
 * request carries them. 0 with the list in *out (caller frees), else -1. */
static int request_headers(const req *q, struct curl_slist **out, pl_err *e)
{
	struct curl_slist *hdr = NULL;
	char tok[2 * PL_PROTO_TOKEN_LEN + 1];
	pl_auth auth;
	int bad = 0;

	*out = NULL;
	hdr = add_header(hdr, &bad, "Expect", ""); /* no 100-continue round trip */
	if (strcmp(q->method, "GET") != 0)
		hdr = add_header(hdr, &bad, "Content-Type", "application/octet-stream");
	if (q->signer != NULL) {
		if (pl_auth_sign(&auth, q->signer, q->method, q->path, q->body, q->bodylen,
				 pl_now()) != 0) {
			curl_slist_free_all(hdr);
			return pl_err_set(e, PL_EXIT_ERROR,
					  "could not sign the request to the relay");
		}
		hdr = add_header(hdr, &bad, PL_AUTH_HDR_KEY, auth.key);
		hdr = add_header(hdr, &bad, PL_AUTH_HDR_TIME, auth.time);
		hdr = add_header(hdr, &bad, PL_AUTH_HDR_NONCE, auth.nonce);
		hdr = add_header(hdr, &bad, PL_AUTH_HDR_SIG, auth.sig);
	}
	if (q->token != NULL) {
		pl_hex_encode(tok, q->token, PL_PROTO_TOKEN_LEN);
		hdr = add_header(hdr, &bad, PL_HDR_TOKEN, tok);
		sodium_memzero(tok, sizeof tok);
	}
	if (bad) {
		curl_slist_free_all(hdr);
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	}
	*out = hdr;
	return 0;
}

/* Sets the handle up from scratch for one request: no redirects, bounded
 * time and size, verified TLS, no proxy for loopback, the body into r. */
static void handle_setup(pl_rc_conn *c, const req *q, const char *url, struct curl_slist *hdr,
			 resp_buf *r)
{
	CURL *h = c->curl;

	curl_easy_reset(h);
	curl_easy_setopt(h, CURLOPT_URL, url);
	curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, (long)PL_RC_CONNECT_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)PL_RC_TIMEOUT_S);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYPEER, 1L);
	curl_easy_setopt(h, CURLOPT_SSL_VERIFYHOST, 2L);
	if (c->cafile)
		curl_easy_setopt(h, CURLOPT_CAINFO, c->cafile);
	if (c->capem) {
		struct curl_blob blob = {c->capem, c->capemlen, CURL_BLOB_COPY};
		curl_easy_setopt(h, CURLOPT_CAINFO_BLOB, &blob);
	}
	if (c->proxy) {
		/* The chosen proxy for every host, whatever no_proxy says. */
		curl_easy_setopt(h, CURLOPT_PROXY, c->proxy);
		curl_easy_setopt(h, CURLOPT_NOPROXY, "");
		curl_easy_setopt(h, CURLOPT_PROXYUSERNAME, c->proxy_user);
		curl_easy_setopt(h, CURLOPT_PROXYPASSWORD, c->proxy_pass);
	} else if (c->loopback) {
		curl_easy_setopt(h, CURLOPT_PROXY, ""); /* an env proxy must not see loopback */
	}
	curl_easy_setopt(h, CURLOPT_USERAGENT, "parley/1");
	curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdr);
	curl_easy_setopt(h, CURLOPT_ERRORBUFFER, c->errbuf);
	curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)PL_RC_RESPONSE_MAX);
	curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_write);
	curl_easy_setopt(h, CURLOPT_WRITEDATA, r);
	if (strcmp(q->method, "GET") == 0) {
		curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
	} else {
		/* POSTFIELDS must not be NULL, or curl reads the body from stdin. */
		curl_easy_setopt(h, CURLOPT_POSTFIELDS, q->body ? (const char *)q->body : "");
		curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->bodylen);
		if (strcmp(q->method, "POST") != 0)
			curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, q->method);
	}
}

/* Nothing in the handle may keep pointing at our stack or headers. */
static void handle_detach(pl_rc_conn *c)
{
	curl_easy_setopt(c->curl, CURLOPT_HTTPHEADER, NULL);
	curl_easy_setopt(c->curl, CURLOPT_ERRORBUFFER, NULL);
	curl_easy_setopt(c->curl, CURLOPT_WRITEDATA, NULL);
}

/* One request; 0 with a 2xx body in *r (caller frees), else -1 and e set. */
static int relay_call(pl_rc_conn *c, const req *q, resp_buf *r, pl_err *e)
{
	struct curl_slist *hdr = NULL;
	char url[URL_MAX + PATH_MAX_LEN];
	int rc = -1;
	long status = 0;

	memset(r, 0, sizeof *r);
	r->curl = c->curl;
	r->cap = q->cap;
	c->last_status = 0;
	c->errbuf[0] = '\0';
	snprintf(url, sizeof url, "%s%s", c->url, q->path);
	if (request_headers(q, &hdr, e) != 0)
		return -1;
	handle_setup(c, q, url, hdr, r);
	CURLcode cc = curl_easy_perform(c->curl);
	curl_easy_getinfo(c->curl, CURLINFO_RESPONSE_CODE, &status);
	c->last_status = status;
	if (cc != CURLE_OK)
		transfer_error(c, cc, r, q->what, e);
	else if (status < 200 || status > 299)
		status_error(c, status, r, q->what, e);
	else
		rc = 0;
	handle_detach(c);
	curl_slist_free_all(hdr);
	if (rc != 0)
		resp_free(r);
	return rc;
}

/* A call whose success response must be empty. */
static int relay_call_empty(pl_rc_conn *c, const req *q, pl_err *e)
{
	resp_buf r;
	req q0 = *q;

	q0.cap = 0;
	if (relay_call(c, &q0, &r, e) != 0)
		return -1;
	resp_free(&r);
	return 0;
}

static void mailbox_path(char out[static PATH_MAX_LEN], const char *prefix,
			 const uint8_t ik[static PL_IK_LEN], const char *suffix)
{
	uint8_t mbx[PL_MAILBOX_LEN];
	char hex[2 * PL_MAILBOX_LEN + 1];

	pl_mailbox_id(mbx, ik);
	pl_hex_encode(hex, mbx, sizeof mbx);
	snprintf(out, PATH_MAX_LEN, "%s%s%s", prefix, hex, suffix);
}

int pl_rc_get_key(pl_rc_conn *c, uint8_t relay_pk[static PL_IK_LEN], pl_err *e)
{
	resp_buf r;
	uint8_t pk[PL_IK_LEN];
	req q = {.method = "GET",
		 .path = "/v1/relay",
		 .cap = PL_PROTO_RELAY_KEY_LEN,
		 .what = "the request for its key"};

	if (relay_call(c, &q, &r, e) != 0)
		return -1;
	int rc = pl_proto_relay_key_decode(pk, r.p, r.n);
	resp_free(&r);
	if (rc != 0)
		return malformed(c, "relay key", e);
	memcpy(relay_pk, pk, PL_IK_LEN);
	return 0;
}

int pl_rc_publish_bundle(pl_rc_conn *c, const pl_identity *id, const pl_proto_bundle_upload *u,
			 pl_err *e)
{
	char path[PATH_MAX_LEN];
	pl_wr w;
	int rc;

	if (sodium_memcmp(u->ik, id->pk, PL_IK_LEN) != 0)
		return pl_err_set(e, PL_EXIT_INPUT,
				  "refusing to publish a prekey bundle for another identity");
	pl_wr_init(&w);
	if (pl_proto_bundle_upload_encode(&w, u) != 0 || pl_wr_ok(&w) != 0) {
		pl_wr_free(&w);
		return pl_err_set(e, PL_EXIT_INPUT,
				  "refusing to publish an invalid prekey bundle (too many or "
				  "zero-numbered one-time prekeys)");
	}
	mailbox_path(path, "/v1/bundle/", id->pk, "");
	req q = {.method = "PUT",
		 .path = path,
		 .signer = id,
		 .body = w.p,
		 .bodylen = w.n,
		 .what = "the prekey bundle upload"};
	rc = relay_call_empty(c, &q, e);
	pl_wr_free(&w);
	return rc;
}

int pl_rc_fetch_bundle(pl_rc_conn *c, const uint8_t ik[static PL_IK_LEN], pl_bundle *b, pl_err *e)
{
	char path[PATH_MAX_LEN];
	resp_buf r;
	pl_bundle t;

	mailbox_path(path, "/v1/bundle/", ik, "");
	req q = {.method = "GET",
		 .path = path,
		 .cap = PL_PROTO_BUNDLE_LEN,
		 .what = "the prekey bundle request"};
	if (relay_call(c, &q, &r, e) != 0)
		return -1;
	int rc = pl_bundle_decode(&t, r.p, r.n);
	resp_free(&r);
	if (rc != 0)
		return malformed(c, "or badly signed prekey bundle", e);
	if (sodium_memcmp(t.ik, ik, PL_IK_LEN) != 0)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "relay at " URL_SHOWN " sent the prekey bundle of another "
				  "identity; it may be compromised, so the bundle was not used",
				  c->url);
	*b = t;
	return 0;
}

int pl_rc_put_token(pl_rc_conn *c, const pl_identity *id,
		    const uint8_t token[static PL_PROTO_TOKEN_LEN], pl_err *e)
{
	char path[PATH_MAX_LEN];
	uint8_t hash[PL_PROTO_TOKEN_HASH_LEN], body[PL_PROTO_TOKEN_BODY_LEN];

	pl_proto_token_hash(hash, token);
	pl_proto_token_encode(body, hash);
	mailbox_path(path, "/v1/token/", id->pk, "");
	req q = {.method = "PUT",
		 .path = path,
		 .signer = id,
		 .body = body,
		 .bodylen = sizeof body,
		 .what = "the access token registration"};
	return relay_call_empty(c, &q, e);
}

int pl_rc_put_grant(pl_rc_conn *c, const pl_identity *id,
		    const uint8_t loc[static PL_PROTO_GRANT_LOC_LEN], const uint8_t *blob,
		    size_t bloblen, pl_err *e)
{
	char path[PATH_MAX_LEN], hex[2 * PL_PROTO_GRANT_LOC_LEN + 1];
	pl_wr w;
	int rc;

	pl_wr_init(&w);
	if (blob == NULL || pl_proto_grant_encode(&w, blob, bloblen) != 0 || pl_wr_ok(&w) != 0) {
		pl_wr_free(&w);
		return pl_err_set(e, PL_EXIT_INPUT,
				  "refusing to publish a grant of %zu bytes (1 to %d allowed)",
				  bloblen, PL_PROTO_GRANT_BLOB_MAX);
	}
	pl_hex_encode(hex, loc, PL_PROTO_GRANT_LOC_LEN);
	snprintf(path, sizeof path, "/v1/grant/%s", hex);
	req q = {.method = "PUT",
		 .path = path,
		 .signer = id,
		 .body = w.p,
		 .bodylen = w.n,
		 .what = "the grant upload"};
	rc = relay_call_empty(c, &q, e);
	pl_wr_free(&w);
	return rc;
}

int pl_rc_get_grant(pl_rc_conn *c, const uint8_t loc[static PL_PROTO_GRANT_LOC_LEN],
		    uint8_t blob[static PL_PROTO_GRANT_BLOB_MAX], size_t *bloblen, pl_err *e)
{
	char path[PATH_MAX_LEN], hex[2 * PL_PROTO_GRANT_LOC_LEN + 1];
	resp_buf r;
	const uint8_t *b = NULL;
	size_t n = 0;

	pl_hex_encode(hex, loc, PL_PROTO_GRANT_LOC_LEN);
	snprintf(path, sizeof path, "/v1/grant/%s", hex);
	req q = {.method = "GET",
		 .path = path,
		 .cap = PL_PROTO_GRANT_BODY_MAX,
		 .what = "the grant request"};
	if (relay_call(c, &q, &r, e) != 0)
		return -1;
	if (pl_proto_grant_decode(&b, &n, r.p, r.n) != 0 || n == 0 || n > PL_PROTO_GRANT_BLOB_MAX) {
		resp_free(&r);
		return malformed(c, "grant", e);
	}
	memcpy(blob, b, n);
	*bloblen = n;
	resp_free(&r);
	return 0;
}

int pl_rc_receipt_check(pl_receipt *receipt, const uint8_t *body, size_t bodylen,
			const uint8_t relay_pk[static PL_IK_LEN],
			const uint8_t mbx[static PL_MAILBOX_LEN],
			const uint8_t hash[static PL_PROTO_HASH_LEN], const char *url, pl_err *e)
{
	pl_receipt *t = malloc(sizeof *t); /* ~3 KiB: not on the stack */
	pl_checkpoint cp;
	int rc = -1;

	if (t == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	/* A receipt is the relay log's signed checkpoint of the commit that
	 * made the deposit durable, and the deposit's leaf (rebuilt here from
	 * mailbox, envelope hash, seq and time) proved inside it. */
	if (pl_receipt_decode(t, body, bodylen) != 0)
		pl_err_set(e, PL_EXIT_SECURITY,
			   "relay at " URL_SHOWN " sent a malformed receipt; the deposit is "
			   "not proven, so it was not marked delivered",
			   url);
	else if (pl_leaf_checkpoint_open(&cp, t->note, t->notelen, relay_pk) != 0)
		pl_err_set(e, PL_EXIT_SECURITY,
			   "relay at " URL_SHOWN
			   " sent a receipt whose checkpoint does not verify under "
			   "its pinned key; the deposit is not proven, so it was not marked "
			   "delivered",
			   url);
	else if (pl_receipt_verify(t, relay_pk, NULL) != 0)
		pl_err_set(e, PL_EXIT_SECURITY,
			   "relay at " URL_SHOWN
			   " sent a receipt whose inclusion proof does not verify against its "
			   "signed checkpoint; the deposit is not proven, so it was not marked "
			   "delivered",
			   url);
	else if (sodium_memcmp(t->mbx, mbx, PL_MAILBOX_LEN) != 0)
		pl_err_set(e, PL_EXIT_SECURITY,
			   "relay at " URL_SHOWN " sent a receipt for another mailbox; the "
			   "deposit is not proven, so it was not marked delivered",
			   url);
	else if (sodium_memcmp(t->hash, hash, PL_PROTO_HASH_LEN) != 0)
		pl_err_set(e, PL_EXIT_SECURITY,
			   "relay at " URL_SHOWN " sent a receipt for different bytes than "
			   "were deposited; the deposit is not proven, so it was not marked "
			   "delivered",
			   url);
	else
		rc = 0;
	if (rc == 0)
		memcpy(receipt, t, sizeof *t);
	free(t);
	return rc;
}

int pl_rc_deposit(pl_rc_conn *c, const uint8_t relay_pk[static PL_IK_LEN],
		  const uint8_t recipient_ik[static PL_IK_LEN],
		  const uint8_t token[static PL_PROTO_TOKEN_LEN], const uint8_t *env, size_t envlen,
		  pl_receipt *receipt, pl_err *e)
{
	char path[PATH_MAX_LEN];
	uint8_t mbx[PL_MAILBOX_LEN], hash[PL_PROTO_HASH_LEN];
	resp_buf r;

	if (env == NULL || !pl_envelope_size_ok(envlen))
		return pl_err_set(e, PL_EXIT_INPUT,
				  "refusing to deposit an envelope of %zu bytes, which is not a "
				  "padded envelope size",
				  envlen);
	pl_mailbox_id(mbx, recipient_ik);
	pl_sha256(hash, env, envlen);
	mailbox_path(path, "/v1/deposit/", recipient_ik, "");
	req q = {.method = "POST",
		 .path = path,
		 .token = token,
		 .body = env,
		 .bodylen = envlen,
		 .cap = PL_RECEIPT_MAX,
		 .what = "the deposit"};
	if (relay_call(c, &q, &r, e) != 0)
		return -1;
	int rc = pl_rc_receipt_check(receipt, r.p, r.n, relay_pk, mbx, hash, c->url, e);
	resp_free(&r);
	return rc;
}

int pl_rc_fetch(pl_rc_conn *c, const pl_identity *id, uint64_t after, pl_rc_listing *out, pl_err *e)
{
	char path[PATH_MAX_LEN], suffix[40];
	resp_buf r;
	pl_rc_listing *t = malloc(sizeof *t); /* ~8 KiB of items: not on the stack */

	if (t == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	snprintf(suffix, sizeof suffix, "?after=%llu", (unsigned long long)after);
	mailbox_path(path, "/v1/mailbox/", id->pk, suffix);
	req q = {.method = "GET",
		 .path = path,
		 .signer = id,
		 .cap = PL_RC_RESPONSE_MAX,
		 .what = "the mailbox listing request"};
	if (relay_call(c, &q, &r, e) != 0) {
		free(t);
		return -1;
	}
	int bad = pl_proto_listing_decode(&t->list, r.p, r.n) != 0;
	/* Sequence numbers increase strictly (checked by the decoder), so the
	 * first one says whether the relay honoured `after`. */
	if (!bad && t->list.count > 0 && t->list.item[0].seq <= after)
		bad = 1;
	if (bad) {
		resp_free(&r);
		free(t);
		return malformed(c, "mailbox listing", e);
	}
	t->buf = r.p;
	t->len = r.n;
	*out = *t;
	free(t);
	return 0;
}

void pl_rc_listing_free(pl_rc_listing *l)
{
	if (l == NULL)
		return;
	free(l->buf);
	memset(l, 0, sizeof *l);
}

int pl_rc_ack(pl_rc_conn *c, const pl_identity *id, const pl_auth_ack *a, pl_err *e)
{
	char path[PATH_MAX_LEN];
	uint8_t body[PL_AUTH_ACK_BODY_MAX];
	size_t bodylen = pl_auth_ack_encode(body, a);

	if (bodylen == 0)
		return pl_err_set(e, PL_EXIT_INPUT,
				  "refusing to send an acknowledgement that breaks its own rules");
	mailbox_path(path, "/v1/mailbox/", id->pk, "/ack");
	req q = {.method = "POST",
		 .path = path,
		 .signer = id,
		 .body = body,
		 .bodylen = bodylen,
		 .what = "the acknowledgement"};
	return relay_call_empty(c, &q, e);
}

int pl_rc_get_raw(pl_rc_conn *c, const char *path, size_t cap, uint8_t **body, size_t *n,
		  const char *what, pl_err *e)
{
	resp_buf r;
	req q = {.method = "GET", .path = path, .cap = cap, .what = what};
	*body = NULL;
	*n = 0;
	if (relay_call(c, &q, &r, e) != 0)
		return -1;
	*body = r.p;
	*n = r.n;
	r.p = NULL;
	resp_free(&r);
	return 0;
}

int pl_rc_mbxlog(pl_rc_conn *c, const uint8_t mbx[32], uint64_t start, uint64_t size, int kind,
		 pl_proto_mbxlog *out, uint8_t **body, pl_err *e)
{
	char path[200], hex[65];
	const char *k = kind == PL_PROTO_MBXLOG_DEPOSIT ? "&kind=deposit"
			: kind == PL_PROTO_MBXLOG_ACK	? "&kind=ack"
							: "";
	size_t n;

	*body = NULL;
	memset(out, 0, sizeof *out);
	if (pl_proto_mbxlog_kind_type(kind) < 0 || start > size)
		return pl_err_set(e, PL_EXIT_ERROR,
				  "internal error: bad mailbox log query (kind %d, start %llu, "
				  "size %llu)",
				  kind, (unsigned long long)start, (unsigned long long)size);
	pl_hex_encode(hex, mbx, 32);
	snprintf(path, sizeof path, "/log/mailbox/%s?start=%llu&size=%llu%s", hex,
		 (unsigned long long)start, (unsigned long long)size, k);
	if (pl_rc_get_raw(c, path, PL_PROTO_MBXLOG_BODY_MAX, body, &n, "the mailbox's log entries",
			  e) != 0)
		return -1;
	if (pl_proto_mbxlog_decode(out, *body, n, mbx, start, size, kind) != 0) {
		free(*body);
		*body = NULL;
		/* Also a leaf of another mailbox, kind or range than asked. */
		return malformed(c, "list of a mailbox's log entries", e);
	}
	return 0;
}
