/*
 * evil_relay.c — the tests' malicious relay; see evil_relay.h. A proxy
 * that only rewrites what a test asked it to: it must never change a
 * request on its way to the real relay (the relay's checks stay real), and
 * never wait without a bound.
 */
#include "evil_relay.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <netinet/in.h>
#include <microhttpd.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "log/leaf.h"
#include "relay/proto.h"
#include "util/wire.h"

#define HOOKS_MAX 8
#define PREFIX_MAX 128
#define UPLOAD_MAX (4u << 20)
#define ANSWER_MAX (64u << 20)
#define CONNECT_S 5L
#define REQUEST_S 30L
#define CONN_TIMEOUT_S 30u

typedef struct {
	char prefix[PREFIX_MAX];
	pl_evil_fn fn;
	void *arg;
} hook;

struct pl_evil {
	struct MHD_Daemon *d;
	char url[64];
	char upstream[128];
	pthread_mutex_t mu; /* hooks, the request log, one hook call at a time */
	hook hooks[HOOKS_MAX];
	char **seen; /* targets received, in order */
	size_t nseen, seencap;
};

/* One request being received: its target and body so far. */
typedef struct {
	char *target;
	uint8_t *body;
	size_t n;
	int started; /* the first call (headers only) was seen */
	int too_big;
} pending;

typedef struct {
	uint8_t *p;
	size_t n;
	int over;
} buf;

/* ---- forwarding ----------------------------------------------------------- */

static size_t on_body(char *p, size_t sz, size_t nm, void *arg)
{
	buf *b = arg;
	size_t k = sz * nm;
	if (b->n + k > ANSWER_MAX) {
		b->over = 1;
		return 0;
	}
	uint8_t *nb = realloc(b->p, b->n + k + 1);
	if (nb == NULL)
		return 0;
	memcpy(nb + b->n, p, k);
	b->p = nb;
	b->n += k;
	return k;
}

/* The response headers worth copying back: Content-Type and Parley-*. */
typedef struct {
	char *lines[16];
	size_t n;
} hdrs;

static size_t on_header(char *p, size_t sz, size_t nm, void *arg)
{
	hdrs *h = arg;
	size_t k = sz * nm;
	if (h->n < 16 &&
	    (strncasecmp(p, "Parley-", 7) == 0 || strncasecmp(p, "Content-Type:", 13) == 0)) {
		char *l = strndup(p, k);
		if (l != NULL) {
			l[strcspn(l, "\r\n")] = '\0';
			h->lines[h->n++] = l;
		}
	}
	return k;
}

static enum MHD_Result copy_req_header(void *arg, enum MHD_ValueKind kind, const char *key,
				       const char *value)
{
	struct curl_slist **l = arg;
	char line[512];
	(void)kind;
	if (strncasecmp(key, "Parley-", 7) != 0 && strcasecmp(key, "Content-Type") != 0)
		return MHD_YES;
	if (snprintf(line, sizeof line, "%s: %s", key, value) < (int)sizeof line) {
		struct curl_slist *n = curl_slist_append(*l, line);
		if (n != NULL)
			*l = n;
	}
	return MHD_YES;
}

/* Sends the request to the real relay; status 0 if it did not answer. */
static unsigned forward(pl_evil *x, struct MHD_Connection *con, const char *method,
			const pending *q, buf *out, hdrs *h)
{
	char url[4096];
	struct curl_slist *hl = NULL;
	long status = 0;
	CURL *c = curl_easy_init();

	if (c == NULL ||
	    snprintf(url, sizeof url, "%s%s", x->upstream, q->target) >= (int)sizeof url) {
		if (c)
			curl_easy_cleanup(c);
		return 0;
	}
	MHD_get_connection_values(con, MHD_HEADER_KIND, copy_req_header, &hl);
	hl = curl_slist_append(hl, "Expect:");
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROXY, "");
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, CONNECT_S);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, REQUEST_S);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hl);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, h);
	if (strcmp(method, "GET") == 0) {
		curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
	} else {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, q->body ? (const char *)q->body : "");
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)q->n);
		if (strcmp(method, "POST") != 0)
			curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, method);
	}
	if (curl_easy_perform(c) == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &status);
	curl_slist_free_all(hl);
	curl_easy_cleanup(c);
	return (unsigned)status;
}

/* Logs the request and runs the hook its path matches, if any. */
static void rewrite(pl_evil *x, const char *method, const char *target, unsigned *status, buf *b)
{
	pthread_mutex_lock(&x->mu);
	if (x->nseen == x->seencap) {
		size_t nc = x->seencap ? 2 * x->seencap : 64;
		char **ns = realloc(x->seen, nc * sizeof *ns);
		if (ns != NULL) {
			x->seen = ns;
			x->seencap = nc;
		}
	}
	if (x->nseen < x->seencap) {
		x->seen[x->nseen] = strdup(target);
		if (x->seen[x->nseen] != NULL)
			x->nseen++;
	}
	for (size_t i = 0; i < HOOKS_MAX; i++) {
		hook *k = &x->hooks[i];
		if (k->fn != NULL && strncmp(target, k->prefix, strlen(k->prefix)) == 0) {
			if (b->n == 0) {
				free(b->p);
				b->p = NULL;
			}
			k->fn(k->arg, method, target, status, &b->p, &b->n);
			break;
		}
	}
	pthread_mutex_unlock(&x->mu);
}

static enum MHD_Result reply(struct MHD_Connection *con, unsigned status, buf *b, hdrs *h)
{
	struct MHD_Response *r =
	    b->n ? MHD_create_response_from_buffer(b->n, b->p, MHD_RESPMEM_MUST_FREE)
		 : MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
	if (r == NULL) {
		free(b->p);
		return MHD_NO;
	}
	if (b->n == 0)
		free(b->p);
	for (size_t i = 0; h != NULL && i < h->n; i++) {
		char *colon = strchr(h->lines[i], ':');
		if (colon == NULL)
			continue;
		*colon = '\0';
		const char *v = colon + 1;
		while (*v == ' ')
			v++;
		MHD_add_response_header(r, h->lines[i], v);
	}
	enum MHD_Result ret = MHD_queue_response(con, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *con, const char *url,
				  const char *method, const char *version, const char *data,
				  size_t *size, void **con_cls)
{
	pl_evil *x = cls;
	pending *q = *con_cls;
	(void)url;
	(void)version;

	if (q == NULL)
		return MHD_NO;
	if (!q->started) {
		q->started = 1;
		return MHD_YES;
	}
	if (*size > 0) {
		if (q->n + *size > UPLOAD_MAX) {
			q->too_big = 1;
		} else {
			uint8_t *nb = realloc(q->body, q->n + *size);
			if (nb == NULL)
				return MHD_NO;
			memcpy(nb + q->n, data, *size);
			q->body = nb;
			q->n += *size;
		}
		*size = 0;
		return MHD_YES;
	}
	buf b = {NULL, 0, 0};
	hdrs h;
	unsigned status = 0;
	memset(&h, 0, sizeof h);
	if (!q->too_big)
		status = forward(x, con, method, q, &b, &h);
	if (status == 0 || b.over) {
		free(b.p);
		b.p = NULL;
		b.n = 0;
		status = MHD_HTTP_BAD_GATEWAY;
	}
	rewrite(x, method, q->target, &status, &b);
	enum MHD_Result ret = reply(con, status, &b, &h);
	for (size_t i = 0; i < h.n; i++)
		free(h.lines[i]);
	return ret;
}

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *con)
{
	(void)cls;
	(void)con;
	pending *q = calloc(1, sizeof *q);
	if (q != NULL && (q->target = strdup(uri ? uri : "")) == NULL) {
		free(q);
		q = NULL;
	}
	return q;
}

static void on_done(void *cls, struct MHD_Connection *con, void **con_cls,
		    enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)con;
	(void)toe;
	pending *q = *con_cls;
	if (q == NULL)
		return;
	free(q->target);
	free(q->body);
	free(q);
	*con_cls = NULL;
}

/* ---- lifecycle, hooks, counts ---------------------------------------------- */

pl_evil *pl_evil_start(const char *upstream)
{
	pl_evil *x = calloc(1, sizeof *x);
	if (x == NULL)
		return NULL;
	if (snprintf(x->upstream, sizeof x->upstream, "%s", upstream) >= (int)sizeof x->upstream ||
	    curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK) {
		free(x);
		return NULL;
	}
	pthread_mutex_init(&x->mu, NULL);
	struct sockaddr_in sa;
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = 0;
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	x->d = MHD_start_daemon(
	    MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION | MHD_USE_POLL, 0, NULL,
	    NULL, on_request, x, MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_URI_LOG_CALLBACK, on_uri,
	    NULL, MHD_OPTION_NOTIFY_COMPLETED, on_done, NULL, MHD_OPTION_CONNECTION_TIMEOUT,
	    CONN_TIMEOUT_S, MHD_OPTION_END);
	const union MHD_DaemonInfo *di =
	    x->d ? MHD_get_daemon_info(x->d, MHD_DAEMON_INFO_BIND_PORT) : NULL;
	if (di == NULL || di->port == 0) {
		fprintf(stderr, "# the evil relay could not listen on 127.0.0.1\n");
		pl_evil_stop(x);
		return NULL;
	}
	snprintf(x->url, sizeof x->url, "http://127.0.0.1:%u", (unsigned)di->port);
	return x;
}

const char *pl_evil_url(const pl_evil *x)
{
	return x->url;
}

void pl_evil_stop(pl_evil *x)
{
	if (x == NULL)
		return;
	if (x->d)
		MHD_stop_daemon(x->d);
	for (size_t i = 0; i < x->nseen; i++)
		free(x->seen[i]);
	free(x->seen);
	pthread_mutex_destroy(&x->mu);
	free(x);
}

void pl_evil_hook(pl_evil *x, const char *prefix, pl_evil_fn fn, void *arg)
{
	pthread_mutex_lock(&x->mu);
	hook *free_slot = NULL;
	for (size_t i = 0; i < HOOKS_MAX; i++) {
		hook *k = &x->hooks[i];
		if (k->fn != NULL && strcmp(k->prefix, prefix) == 0) {
			k->fn = fn;
			k->arg = arg;
			free_slot = NULL;
			goto out;
		}
		if (k->fn == NULL && free_slot == NULL)
			free_slot = k;
	}
	if (fn != NULL && free_slot != NULL) {
		snprintf(free_slot->prefix, PREFIX_MAX, "%s", prefix);
		free_slot->fn = fn;
		free_slot->arg = arg;
	}
out:
	pthread_mutex_unlock(&x->mu);
}

void pl_evil_clear(pl_evil *x)
{
	pthread_mutex_lock(&x->mu);
	memset(x->hooks, 0, sizeof x->hooks);
	pthread_mutex_unlock(&x->mu);
}

unsigned pl_evil_count(pl_evil *x, const char *prefix)
{
	unsigned n = 0;
	pthread_mutex_lock(&x->mu);
	for (size_t i = 0; i < x->nseen; i++)
		n += strncmp(x->seen[i], prefix, strlen(prefix)) == 0;
	pthread_mutex_unlock(&x->mu);
	return n;
}

void pl_evil_count_reset(pl_evil *x)
{
	pthread_mutex_lock(&x->mu);
	for (size_t i = 0; i < x->nseen; i++)
		free(x->seen[i]);
	x->nseen = 0;
	pthread_mutex_unlock(&x->mu);
}

/* ---- ready-made rewrites ----------------------------------------------------- */

void pl_evil_listing_replace(void *arg, const char *method, const char *target, unsigned *status,
			     uint8_t **body, size_t *len)
{
	pl_evil_listing_arg *a = arg;
	pl_proto_listing *l;
	(void)target;

	if (strcmp(method, "GET") != 0 || *status != 200 || *body == NULL ||
	    (l = malloc(sizeof *l)) == NULL)
		return;
	if (pl_proto_listing_decode(l, *body, *len) != 0) {
		free(l);
		return;
	}
	pl_wr w;
	pl_wr_init(&w);
	uint32_t keep = 0;
	for (uint32_t i = 0; i < l->count; i++)
		keep += !(a->drop && l->item[i].seq == a->seq);
	pl_proto_listing_encode_begin(&w, l->prekeys, keep);
	for (uint32_t i = 0; i < l->count; i++) {
		pl_proto_listing_item *it = &l->item[i];
		if (it->seq != a->seq) {
			pl_proto_listing_encode_item(&w, it->seq, it->time, it->env, it->envlen);
			continue;
		}
		a->hits++;
		if (a->drop)
			continue;
		uint8_t *junk = malloc(it->envlen);
		if (junk == NULL)
			continue;
		randombytes_buf(junk, it->envlen);
		pl_proto_listing_encode_item(&w, it->seq, it->time, junk, it->envlen);
		free(junk);
	}
	free(l);
	if (pl_wr_ok(&w) != 0) {
		pl_wr_free(&w);
		return;
	}
	free(*body);
	*body = w.p;
	*len = w.n;
}

void pl_evil_mbxlog_doctor(void *arg, const char *method, const char *target, unsigned *status,
			   uint8_t **body, size_t *len)
{
	pl_evil_mbxlog_arg *a = arg;
	pl_rd r;
	pl_wr w;
	uint32_t n, keep = 0;
	(void)target;

	if (strcmp(method, "GET") != 0 || *status != 200 || *body == NULL)
		return;
	pl_wr_init(&w);
	/* two passes over the answer: count what is kept, then write it */
	for (int pass = 0; pass < 2; pass++) {
		pl_rd_init(&r, *body, *len);
		if (pl_rd_u8(&r) != 1)
			return;
		n = pl_rd_u32(&r);
		if (pass == 1)
			pl_proto_mbxlog_encode_begin(&w, keep);
		for (uint32_t i = 0; i < n && r.err == 0; i++) {
			size_t ll, pl;
			uint64_t index = pl_rd_u64(&r);
			const uint8_t *leaf = pl_rd_var(&r, PL_LEAF_MAX, &ll);
			pl = pl_rd_u8(&r);
			const uint8_t *proof = pl_rd_bytes(&r, pl * 32);
			pl_leaf lf;
			uint8_t out[PL_LEAF_MAX];
			size_t outlen = ll;
			if (r.err != 0 || pl_leaf_decode(&lf, leaf, ll) != 0) {
				pl_wr_free(&w);
				return;
			}
			int hit = lf.type == PL_LEAF_DEPOSIT && lf.seq == a->seq;
			if (pass == 0) {
				keep += !(hit && a->how == PL_EVIL_DROP);
				continue;
			}
			if (hit)
				a->hits++;
			if (hit && a->how == PL_EVIL_DROP)
				continue;
			memcpy(out, leaf, ll);
			if (hit) {
				if (a->how == PL_EVIL_OTHER_MBX)
					randombytes_buf(lf.mbx, sizeof lf.mbx);
				else
					randombytes_buf(lf.hash, sizeof lf.hash);
				outlen = pl_leaf_encode(out, &lf);
			}
			pl_proto_mbxlog_encode_item(&w, index, out, outlen,
						    (const uint8_t(*)[32])proof, pl);
		}
		if (pass == 1 && (r.err != 0 || pl_wr_ok(&w) != 0)) {
			pl_wr_free(&w);
			return;
		}
	}
	free(*body);
	*body = w.p;
	*len = w.n;
}
