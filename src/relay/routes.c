/*
 * routes.c — parley-relay's HTTP side, on libmicrohttpd's worker threads:
 * routing a request target to an endpoint, the per-endpoint body limits,
 * the checks that need no storage (owner signatures, access tokens, body
 * decoding, envelope sizes and hashes), and every answer.
 *
 * A request is handled in two stages. First a worker parses and checks it
 * (the CPU work, in parallel across workers), then queues a job for the
 * committer (relay/commit.c) and suspends the connection. Once the batch
 * is committed the connection is resumed and a worker builds the answer;
 * a deposit's receipt is the batch's checkpoint with the leaf's inclusion
 * proof, computed from the sealed, immutable view (no I/O).
 *
 * Reading a request has a deadline (relay/deadline.h): armed when the
 * request line arrives and when the previous request ends, disarmed once
 * the whole request is read.
 *
 * It must never touch the store or the log's tree (only the committer
 * does), block a worker on the committer, buffer a body past its
 * endpoint's limit, log a token, key or envelope, answer a job before the
 * committer resumed it, or let one bad request stop the relay.
 */
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "crypto/kdf.h"
#include "envelope/envelope.h"
#include "log/leaf.h"
#include "log/merkle.h"
#include "log/receipt.h"
#include "relay/proto.h"
#include "relay/server_int.h"
#include "relay/store.h"
#include "relay/tlog.h"
#include "session/x3dh.h"
#include "util/codec.h"
#include "util/wire.h"

#define QUERY_NUM_MAX 24 /* a u64 in decimal is at most 20 digits */

enum route {
	R_NONE,
	R_RELAY,
	R_BUNDLE_PUT,
	R_BUNDLE_GET,
	R_TOKEN_PUT,
	R_GRANT_PUT,
	R_GRANT_GET,
	R_DEPOSIT,
	R_LIST,
	R_ACK,
	R_LOG_LATEST,
	R_LOG_CHECKPOINT,
	R_LOG_INCLUSION,
	R_LOG_CONSISTENCY,
	R_LOG_LEAVES,
	R_LOG_MAILBOX
};

enum req_state {
	Q_READING, /* headers and body */
	Q_WAITING, /* suspended: a job is queued */
	Q_ANSWERED
};

typedef struct {
	char *target; /* raw request target (path and query), as signed */
	int route;
	int routed;
	int state;
	uint8_t id[32];
	uint64_t after;
	uint64_t qa, qb; /* log query parameters */
	size_t max;	 /* body limit of the route */
	uint8_t *body;
	size_t len, cap;
	int status; /* != 0: answer decided (error) */
	const char *msg;
	pl_proto_bundle_upload *upload;
	int kind;	     /* GET /log/mailbox: PL_MBXIDX_*, -1 for both */
	pl_mbxidx_hit *hits; /* ... the leaves found in the index */
	pl_relay_job j;
} req;

static const char *route_error(req *q, int status, const char *msg)
{
	q->status = status;
	q->msg = msg;
	return NULL;
}

/* Matches "/v1/<name>/<64 hex>[suffix]"; returns what follows the hex. */
static const char *match_id(req *q, const char *path, const char *prefix, const char *what)
{
	size_t pl = strlen(prefix);
	const char *p, *end;

	if (strncmp(path, prefix, pl) != 0)
		return NULL;
	p = path + pl;
	end = p + strcspn(p, "/");
	if (pl_proto_parse_id_hex(q->id, p, (size_t)(end - p)) != 0)
		return route_error(q, 400, what);
	return end;
}

#define MBX_BAD "mailbox id must be 64 lowercase hex digits"

/* The endpoints PREFIX{id}: the route each method takes (R_NONE: not
 * allowed) and the body limit of the writing ones. */
typedef struct {
	const char *prefix, *bad_id;
	int get, put, post;
	size_t put_max, post_max;
} id_route;

static const id_route id_routes[] = {
    {"/v1/bundle/", MBX_BAD, R_BUNDLE_GET, R_BUNDLE_PUT, R_NONE, PL_PROTO_BUNDLE_UPLOAD_MAX, 0},
    {"/v1/token/", MBX_BAD, R_NONE, R_TOKEN_PUT, R_NONE, PL_PROTO_TOKEN_BODY_LEN, 0},
    {"/v1/grant/", "grant locator must be 64 lowercase hex digits", R_GRANT_GET, R_GRANT_PUT,
     R_NONE, PL_PROTO_GRANT_BODY_MAX, 0},
    {"/v1/deposit/", MBX_BAD, R_NONE, R_NONE, R_DEPOSIT, 0, PL_ENVELOPE_MAX},
};

/* match_id over id_routes: the rest of the path after the id, *r its
 * entry; NULL if none matches (with q->status set if one did but its id
 * is malformed). */
static const char *match_id_route(req *q, const char *path, const id_route **r)
{
	for (size_t i = 0; i < sizeof id_routes / sizeof id_routes[0]; i++) {
		const char *rest = match_id(q, path, id_routes[i].prefix, id_routes[i].bad_id);
		if (rest != NULL || q->status) {
			*r = &id_routes[i];
			return rest;
		}
	}
	return NULL;
}

/* Strict query: exactly "n1=V1" or "n1=V1&n2=V2" in that order, each value
 * a decimal u64 without sign or leading zeros. */
static int parse_query(const char *query, const char *n1, uint64_t *v1, const char *n2,
		       uint64_t *v2)
{
	const char *names[2] = {n1, n2};
	uint64_t *vals[2] = {v1, v2};
	const char *p = query;

	if (p == NULL)
		return -1;
	for (int i = 0; i < 2 && names[i] != NULL; i++) {
		char num[QUERY_NUM_MAX];
		size_t nl = strlen(names[i]), vl;
		if (i > 0 && *p++ != '&')
			return -1;
		if (strncmp(p, names[i], nl) != 0 || p[nl] != '=')
			return -1;
		p += nl + 1;
		vl = strcspn(p, "&");
		if (vl == 0 || vl >= sizeof num)
			return -1;
		memcpy(num, p, vl);
		num[vl] = '\0';
		if (pl_auth_parse_u64(vals[i], num) != 0)
			return -1;
		p += vl;
	}
	return *p == '\0' ? 0 : -1;
}

#define MBXLOG_QUERY_BAD                                                                           \
	"query must be start=I&size=S (decimal, no leading zeros), then optionally "               \
	"&kind=deposit or &kind=ack"

/* GET /log/mailbox/{mbx}?start=I&size=S[&kind=deposit|ack], strictly. */
static void parse_mailbox_query(req *q, const char *query)
{
	char nums[2 * QUERY_NUM_MAX + 16];
	const char *kind = query ? strstr(query, "&kind=") : NULL;
	size_t n = query ? (kind ? (size_t)(kind - query) : strlen(query)) : 0;

	q->kind = -1;
	if (query == NULL || n >= sizeof nums)
		goto bad;
	memcpy(nums, query, n);
	nums[n] = '\0';
	if (parse_query(nums, "start", &q->qa, "size", &q->qb) != 0)
		goto bad;
	if (kind != NULL) {
		kind += strlen("&kind=");
		if (strcmp(kind, "deposit") == 0)
			q->kind = PL_MBXIDX_DEPOSIT;
		else if (strcmp(kind, "ack") == 0)
			q->kind = PL_MBXIDX_ACK;
		else {
			route_error(q, 400, "kind must be deposit or ack");
			return;
		}
	}
	if (q->qa > q->qb)
		route_error(q, 400, "start must not be above size");
	return;
bad:
	route_error(q, 400, MBXLOG_QUERY_BAD);
}

static void parse_log_route(req *q, const char *path, const char *query, int get)
{
	const char *rest;

	if (strcmp(path, "/log/checkpoint") == 0) {
		if (query == NULL) {
			q->route = R_LOG_LATEST;
		} else {
			q->route = R_LOG_CHECKPOINT;
			if (parse_query(query, "size", &q->qa, NULL, NULL) != 0)
				route_error(q, 400,
					    "query must be size=N (decimal, no leading zeros)");
		}
	} else if (strcmp(path, "/log/proof/inclusion") == 0) {
		q->route = R_LOG_INCLUSION;
		if (parse_query(query, "index", &q->qa, "size", &q->qb) != 0)
			route_error(q, 400,
				    "query must be index=I&size=N (decimal, no leading zeros)");
		else if (q->qa >= q->qb)
			route_error(q, 400, "index must be below size");
	} else if (strcmp(path, "/log/proof/consistency") == 0) {
		q->route = R_LOG_CONSISTENCY;
		if (parse_query(query, "old", &q->qa, "size", &q->qb) != 0)
			route_error(q, 400,
				    "query must be old=M&size=N (decimal, no leading zeros)");
		else if (q->qa > q->qb)
			route_error(q, 400, "old must not be above size");
	} else if (strcmp(path, "/log/leaves") == 0) {
		q->route = R_LOG_LEAVES;
		if (parse_query(query, "start", &q->qa, "count", &q->qb) != 0)
			route_error(q, 400,
				    "query must be start=S&count=C (decimal, no leading zeros)");
		else if (q->qb == 0 || q->qb > PL_PROTO_LEAVES_MAX)
			route_error(q, 400, "count must be 1 to 1000");
	} else if ((rest = match_id(q, path, "/log/mailbox/", MBX_BAD)) != NULL || q->status) {
		if (q->status)
			return;
		if (*rest != '\0') {
			q->route = R_NONE;
			route_error(q, 404, "no such endpoint");
			return;
		}
		q->route = R_LOG_MAILBOX;
		parse_mailbox_query(q, query);
	} else {
		q->route = R_NONE;
		route_error(q, 404, "no such endpoint");
		return;
	}
	if (!get) {
		q->route = R_NONE;
		route_error(q, 405, "method not allowed on this endpoint");
	}
}

static void parse_route(req *q, const char *method)
{
	const char *t = q->target, *rest;
	char path[256];
	const char *query = NULL;
	const id_route *route = NULL;
	size_t plen;
	int get = strcmp(method, "GET") == 0, put = strcmp(method, "PUT") == 0,
	    post = strcmp(method, "POST") == 0;

	q->routed = 1;
	q->route = R_NONE;
	if (t == NULL || t[0] != '/')
		goto notfound;
	plen = strcspn(t, "?");
	if (plen >= sizeof path)
		goto notfound;
	memcpy(path, t, plen);
	path[plen] = '\0';
	if (t[plen] == '?')
		query = t + plen + 1;

	if (strncmp(path, "/log/", 5) == 0) {
		parse_log_route(q, path, query, get);
		return;
	}
	if (strcmp(path, "/v1/relay") == 0) {
		q->route = R_RELAY;
		if (!get)
			goto method;
	} else if ((rest = match_id_route(q, path, &route)) != NULL || q->status) {
		if (q->status)
			return;
		if (*rest)
			goto notfound;
		q->route = get ? route->get : put ? route->put : post ? route->post : R_NONE;
		if (q->route == R_NONE)
			goto method;
		q->max = put ? route->put_max : post ? route->post_max : 0;
	} else if ((rest = match_id(q, path, "/v1/mailbox/", MBX_BAD)) != NULL || q->status) {
		if (q->status)
			return;
		if (strcmp(rest, "/ack") == 0) {
			if (!post)
				goto method;
			q->route = R_ACK;
			q->max = PL_AUTH_ACK_BODY_MAX;
		} else if (*rest == '\0') {
			if (!get)
				goto method;
			q->route = R_LIST;
			q->after = 0;
			if (query != NULL) {
				if (parse_query(query, "after", &q->after, NULL, NULL) != 0) {
					route_error(q, 400, "query must be after=SEQ (decimal)");
					return;
				}
				query = NULL;
			}
		} else {
			goto notfound;
		}
	} else {
		goto notfound;
	}
	if (query != NULL)
		route_error(q, 400, "this endpoint takes no query string");
	return;
notfound:
	q->route = R_NONE;
	route_error(q, 404, "no such endpoint");
	return;
method:
	q->route = R_NONE;
	route_error(q, 405, "method not allowed on this endpoint");
}

void *pl_relay_uri_logger(void *cls, const char *uri, struct MHD_Connection *con)
{
	pl_relay *R = cls;

	/* The request line is in: its headers and body have the timeout. */
	pl_deadlines_arm(&R->deadlines, con);
	req *q = calloc(1, sizeof *q);
	if (q == NULL)
		return NULL;
	pl_wr_init(&q->j.out);
	if (uri != NULL)
		q->target = strdup(uri);
	return q;
}

void pl_relay_request_done(void *cls, struct MHD_Connection *con, void **con_cls,
			   enum MHD_RequestTerminationCode toe)
{
	pl_relay *R = cls;

	(void)toe;
	/* A kept-alive connection has the timeout to send its next request. */
	pl_deadlines_arm(&R->deadlines, con);
	req *q = *con_cls;
	if (q == NULL)
		return;
	pl_tlog_view_unref(q->j.view);
	pl_wr_free(&q->j.out);
	free(q->hits);
	free(q->upload);
	free(q->target);
	free(q->body);
	free(q);
	*con_cls = NULL;
}

/* ---- responses ------------------------------------------------------- */

static enum MHD_Result reply(struct MHD_Connection *con, unsigned status, const void *body,
			     size_t len, enum MHD_ResponseMemoryMode mode, const char *type)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)body, mode);
	enum MHD_Result ret;

	if (r == NULL) {
		if (mode == MHD_RESPMEM_MUST_FREE)
			free((void *)body);
		return MHD_NO;
	}
	if (type != NULL)
		MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	ret = MHD_queue_response(con, status, r);
	MHD_destroy_response(r);
	return ret;
}

#define TEXT_TYPE "text/plain; charset=utf-8"

static enum MHD_Result reply_error(struct MHD_Connection *con, unsigned status, const char *msg)
{
	char line[200];
	int n = snprintf(line, sizeof line, "%s\n", msg);
	if (n < 0 || (size_t)n >= sizeof line)
		n = (int)sizeof line - 1;
	return reply(con, status, line, (size_t)n, MHD_RESPMEM_MUST_COPY, TEXT_TYPE);
}

static enum MHD_Result reply_bytes(struct MHD_Connection *con, const void *p, size_t n)
{
	return reply(con, MHD_HTTP_OK, p, n, MHD_RESPMEM_MUST_COPY, "application/octet-stream");
}

static enum MHD_Result reply_empty(struct MHD_Connection *con)
{
	return reply(con, MHD_HTTP_NO_CONTENT, "", 0, MHD_RESPMEM_PERSISTENT, NULL);
}

/* 429 with Retry-After: the client address created its share of new
 * mailboxes (relay/mbxrate.h). */
static enum MHD_Result reply_rate(struct MHD_Connection *con, uint64_t secs)
{
	char line[160], after[24];
	int n = snprintf(line, sizeof line,
			 "too many new mailboxes from this address; try again in %llu s\n",
			 (unsigned long long)secs);
	struct MHD_Response *r;
	enum MHD_Result ret;

	if (n < 0 || (size_t)n >= sizeof line)
		return MHD_NO;
	r = MHD_create_response_from_buffer((size_t)n, line, MHD_RESPMEM_MUST_COPY);
	if (r == NULL)
		return MHD_NO;
	snprintf(after, sizeof after, "%llu", (unsigned long long)secs);
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, TEXT_TYPE);
	MHD_add_response_header(r, MHD_HTTP_HEADER_RETRY_AFTER, after);
	ret = MHD_queue_response(con, MHD_HTTP_TOO_MANY_REQUESTS, r);
	MHD_destroy_response(r);
	return ret;
}

/* The client's address as 16 bytes (IPv4 mapped into IPv6). */
static void client_addr(struct MHD_Connection *con, uint8_t out[static PL_MBXRATE_ADDR_LEN])
{
	const union MHD_ConnectionInfo *i =
	    MHD_get_connection_info(con, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
	const struct sockaddr *sa = i != NULL ? i->client_addr : NULL;

	memset(out, 0, PL_MBXRATE_ADDR_LEN);
	if (sa != NULL && sa->sa_family == AF_INET) {
		out[10] = out[11] = 0xff;
		memcpy(out + 12, &((const struct sockaddr_in *)sa)->sin_addr, 4);
	} else if (sa != NULL && sa->sa_family == AF_INET6) {
		memcpy(out, &((const struct sockaddr_in6 *)sa)->sin6_addr, 16);
	}
}

/* Hands the writer's buffer to MHD (the bodies are public: no wipe). */
static enum MHD_Result reply_wr(struct MHD_Connection *con, pl_wr *w, const char *type)
{
	enum MHD_Result ret;

	if (pl_wr_ok(w) != 0)
		return MHD_NO;
	ret = reply(con, MHD_HTTP_OK, w->p, w->n, MHD_RESPMEM_MUST_FREE, type);
	pl_wr_init(w);
	return ret;
}

/* Maps a store result that is not PL_STORE_OK. */
static enum MHD_Result reply_store(struct MHD_Connection *con, int res, const char *notfound,
				   const char *conflict)
{
	switch (res) {
	case PL_STORE_NOTFOUND:
		return reply_error(con, MHD_HTTP_NOT_FOUND, notfound);
	case PL_STORE_CONFLICT:
		return reply_error(con, MHD_HTTP_CONFLICT, conflict);
	case PL_STORE_REPLAY:
		return reply_error(con, MHD_HTTP_UNAUTHORIZED,
				   "replayed request: this Parley-Nonce was already used");
	case PL_STORE_DENIED:
		return reply_error(con, MHD_HTTP_FORBIDDEN, "bad or missing access token");
	case PL_STORE_QUOTA:
		return reply_error(con, MHD_HTTP_INSUFFICIENT_STORAGE,
				   "the recipient's mailbox on this relay is full; nothing was "
				   "stored; try again after they sync");
	case PL_STORE_FULL:
		return reply_error(con, MHD_HTTP_INSUFFICIENT_STORAGE,
				   "the relay's disk is full; nothing was stored; try again later");
	default:
		return reply_error(con, MHD_HTTP_SERVICE_UNAVAILABLE,
				   "relay storage failure; try again later");
	}
}

/* ---- handlers -------------------------------------------------------- */

static const char *header(struct MHD_Connection *con, const char *name)
{
	return MHD_lookup_connection_value(con, MHD_HEADER_KIND, name);
}

/* Queues the request's job and suspends the connection; the committer
 * resumes it once the job's result is final. */
static enum MHD_Result submit(pl_relay *R, struct MHD_Connection *con, req *q, int kind)
{
	q->j.kind = kind;
	/* Set before the job is queued: the worker that runs the resumed
	 * connection reads it. */
	q->state = Q_WAITING;
	if (pl_relay_submit(R, con, &q->j) != 0) {
		q->state = Q_READING;
		return reply_error(con, MHD_HTTP_SERVICE_UNAVAILABLE,
				   "the relay is shutting down; try again later");
	}
	return MHD_YES;
}

/* Checks the owner signature; on failure answers 401 and returns -1. */
static int owner_auth(struct MHD_Connection *con, req *q, const char *method, const uint8_t *mbx,
		      enum MHD_Result *ret)
{
	pl_relay_job *j = &q->j;
	const char *why = NULL;

	if (pl_auth_verify(j->owner, j->signer, j->nonce, mbx, method, q->target,
			   header(con, PL_AUTH_HDR_KEY), header(con, PL_AUTH_HDR_TIME),
			   header(con, PL_AUTH_HDR_NONCE), header(con, PL_AUTH_HDR_SIG), q->body,
			   q->len, pl_now(), &why) != 0) {
		*ret = reply_error(con, MHD_HTTP_UNAUTHORIZED, why ? why : "bad signature");
		return -1;
	}
	j->authed = 1;
	return 0;
}

/* The fields of a verified Parley-Time and Parley-Sig, for a fetch leaf. */
static int auth_fields(struct MHD_Connection *con, pl_relay_job *j)
{
	const char *t = header(con, PL_AUTH_HDR_TIME), *s = header(con, PL_AUTH_HDR_SIG);

	if (pl_auth_parse_u64(&j->auth_time, t) != 0 || s == NULL || strlen(s) != 2 * PL_SIG_LEN ||
	    pl_hex_decode(j->sig, PL_SIG_LEN, s) != 0)
		return -1;
	return 0;
}

static enum MHD_Result reply_latest(pl_relay *R, struct MHD_Connection *con)
{
	uint8_t note[PL_LEAF_NOTE_MAX];
	size_t n;

	pthread_mutex_lock(&R->log_mu);
	n = R->notelen;
	memcpy(note, R->note, n);
	pthread_mutex_unlock(&R->log_mu);
	if (n == 0)
		return reply_error(con, MHD_HTTP_SERVICE_UNAVAILABLE, "no checkpoint yet");
	return reply(con, MHD_HTTP_OK, note, n, MHD_RESPMEM_MUST_COPY, TEXT_TYPE);
}

static enum MHD_Result handle_bundle_put(pl_relay *R, struct MHD_Connection *con, req *q,
					 const char *method)
{
	uint8_t m[PL_MAILBOX_LEN];
	enum MHD_Result ret = MHD_NO;

	if (owner_auth(con, q, method, q->id, &ret) != 0)
		return ret;
	q->upload = malloc(sizeof *q->upload);
	if (q->upload == NULL)
		return reply_error(con, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory");
	if (pl_proto_bundle_upload_decode(q->upload, q->body, q->len) != 0)
		return reply_error(con, MHD_HTTP_BAD_REQUEST,
				   "malformed bundle upload (or bad signed-prekey signature)");
	pl_mailbox_id(m, q->upload->ik);
	if (memcmp(m, q->id, sizeof m) != 0)
		return reply_error(con, MHD_HTTP_BAD_REQUEST,
				   "bundle identity key does not own this mailbox");
	q->j.upload = q->upload;
	client_addr(con, q->j.client);
	return submit(R, con, q, PL_JOB_BUNDLE_PUT);
}

/* A deposit carries no signature: its access token (only its hash is
 * kept) and the envelope's size and hash are checked here. */
static enum MHD_Result handle_deposit(pl_relay *R, struct MHD_Connection *con, req *q)
{
	pl_relay_job *j = &q->j;
	const char *tok = header(con, PL_HDR_TOKEN);
	uint8_t t[PL_PROTO_TOKEN_LEN];

	if (tok == NULL || strlen(tok) != 2 * PL_PROTO_TOKEN_LEN ||
	    pl_hex_decode(t, sizeof t, tok) != 0)
		return reply_error(con, MHD_HTTP_FORBIDDEN, "bad or missing access token");
	pl_proto_token_hash(j->token_hash, t);
	sodium_memzero(t, sizeof t);
	if (!pl_envelope_size_ok(q->len))
		return reply_error(con, MHD_HTTP_BAD_REQUEST,
				   "envelope size is not a bucket size (1072, 4144, "
				   "16432 or 65584 bytes)");
	pl_sha256(j->hash, q->body, q->len);
	j->data = q->body;
	j->datalen = q->len;
	return submit(R, con, q, PL_JOB_DEPOSIT);
}

/* An ack's leaf records the owner's signature and the envelopes it names,
 * so its fields are kept besides the seq. A version-1 body ("through seq
 * N", naming nothing) is refused rather than read as naming everything. */
static enum MHD_Result handle_ack(pl_relay *R, struct MHD_Connection *con, req *q,
				  const char *method)
{
	pl_relay_job *j = &q->j;
	enum MHD_Result ret = MHD_NO;

	if (owner_auth(con, q, method, q->id, &ret) != 0)
		return ret;
	if (q->len > 0 && q->body[0] == 1)
		return reply_error(con, MHD_HTTP_BAD_REQUEST,
				   "ack format 1 names no envelope and is no longer accepted; "
				   "upgrade parley");
	if (pl_auth_ack_decode(&j->ack, q->body, q->len) != 0)
		return reply_error(con, MHD_HTTP_BAD_REQUEST,
				   "malformed ack body: want u8 2, through u64, u8 n <= 32 and n "
				   "named envelopes (seq u64, SHA-256) in increasing seq order");
	j->seq = j->ack.through;
	if (auth_fields(con, j) != 0) /* verified above, so this cannot fail */
		return reply_error(con, MHD_HTTP_UNAUTHORIZED, "bad signature");
	return submit(R, con, q, PL_JOB_ACK);
}

/* GET /log/mailbox: the worker finds the mailbox's leaves in the index by
 * mailbox (the part that grows with the log, done in memory); the
 * committer reads them and their proofs. A size beyond the published
 * checkpoint is refused here: below it, the index misses no leaf. */
static enum MHD_Result handle_mailbox_log(pl_relay *R, struct MHD_Connection *con, req *q)
{
	pl_relay_job *j = &q->j;
	pl_mbxidx *x = pl_store_mbxidx(R->store);
	uint64_t published;

	pthread_mutex_lock(&R->log_mu);
	published = R->notelen ? R->note_size : 0;
	pthread_mutex_unlock(&R->log_mu);
	if (q->qb > published)
		return reply_error(con, MHD_HTTP_NOT_FOUND,
				   "size is beyond the relay's newest checkpoint");
	if (pl_mbxidx_ok(x) != 0)
		return reply_error(con, MHD_HTTP_SERVICE_UNAVAILABLE,
				   "the relay's index by mailbox is incomplete (out of memory); "
				   "the relay must be restarted");
	q->hits = malloc(PL_PROTO_MBXLOG_MAX * sizeof *q->hits);
	if (q->hits == NULL)
		return reply_error(con, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory");
	j->nhits = pl_mbxidx_find(x, q->id, q->qa, q->qb, q->kind, q->hits, PL_PROTO_MBXLOG_MAX);
	j->hits = q->hits;
	j->b = q->qb;
	return submit(R, con, q, PL_JOB_LOG_MAILBOX);
}

/* First stage, on a worker: everything that needs no storage. Answers at
 * once, or queues a job and suspends the connection. */
static enum MHD_Result handle(pl_relay *R, struct MHD_Connection *con, req *q, const char *method)
{
	pl_relay_job *j = &q->j;
	enum MHD_Result ret = MHD_NO;

	memcpy(j->id, q->id, sizeof j->id);
	if (q->route >= R_LOG_LATEST && !R->log)
		return reply_error(
		    con, MHD_HTTP_NOT_FOUND,
		    "this relay runs without its log (--no-log, a benchmark switch)");
	switch (q->route) {
	case R_RELAY: {
		uint8_t b[PL_PROTO_RELAY_KEY_LEN];
		pl_proto_relay_key_encode(b, R->pk);
		return reply_bytes(con, b, sizeof b);
	}
	case R_BUNDLE_PUT:
		return handle_bundle_put(R, con, q, method);
	case R_BUNDLE_GET:
		return submit(R, con, q, PL_JOB_BUNDLE_GET);
	case R_TOKEN_PUT:
		if (owner_auth(con, q, method, q->id, &ret) != 0)
			return ret;
		if (pl_proto_token_decode(j->hash, q->body, q->len) != 0)
			return reply_error(con, MHD_HTTP_BAD_REQUEST,
					   "malformed token body: want u8 1 and SHA-256(token)");
		client_addr(con, j->client);
		return submit(R, con, q, PL_JOB_TOKEN_PUT);
	case R_GRANT_PUT:
		if (owner_auth(con, q, method, NULL, &ret) != 0)
			return ret;
		if (pl_proto_grant_decode(&j->data, &j->datalen, q->body, q->len) != 0)
			return reply_error(con, MHD_HTTP_BAD_REQUEST,
					   "malformed grant body: want u8 1 and var(blob <= 256)");
		return submit(R, con, q, PL_JOB_GRANT_PUT);
	case R_GRANT_GET:
		return submit(R, con, q, PL_JOB_GRANT_GET);
	case R_DEPOSIT:
		return handle_deposit(R, con, q);
	case R_LIST:
		if (owner_auth(con, q, method, q->id, &ret) != 0)
			return ret;
		j->seq = q->after;
		return submit(R, con, q, PL_JOB_LIST);
	case R_ACK:
		return handle_ack(R, con, q, method);
	case R_LOG_LATEST:
		return reply_latest(R, con);
	case R_LOG_CHECKPOINT:
		j->a = q->qa;
		return submit(R, con, q, PL_JOB_LOG_CHECKPOINT);
	case R_LOG_INCLUSION:
		j->a = q->qa;
		j->b = q->qb;
		return submit(R, con, q, PL_JOB_LOG_INCLUSION);
	case R_LOG_CONSISTENCY:
		j->a = q->qa;
		j->b = q->qb;
		return submit(R, con, q, PL_JOB_LOG_CONSISTENCY);
	case R_LOG_LEAVES:
		j->a = q->qa;
		j->b = q->qb;
		return submit(R, con, q, PL_JOB_LOG_LEAVES);
	case R_LOG_MAILBOX:
		return handle_mailbox_log(R, con, q);
	default:
		return reply_error(con, MHD_HTTP_NOT_FOUND, "no such endpoint");
	}
}

/* Where the fields of a receipt (docs/PROTOCOL.md; the codec is
 * pl_receipt_encode) lie, for the one receipt written here by hand:
 * u8 version ‖ mbx(32) ‖ seq u64 ‖ time u64 ‖ hash(32) ‖ leaf index u64 ‖
 * u32 note length ‖ note ‖ u8 proof length ‖ proof. */
#define RCPT_VERSION_OFF 0
#define RCPT_MBX_OFF (RCPT_VERSION_OFF + 1)
#define RCPT_SEQ_OFF (RCPT_MBX_OFF + PL_MAILBOX_LEN)
#define RCPT_TIME_OFF (RCPT_SEQ_OFF + 8)
#define RCPT_HASH_OFF (RCPT_TIME_OFF + 8)
#define RCPT_INDEX_OFF (RCPT_HASH_OFF + PL_PROTO_HASH_LEN)
#define RCPT_NOTELEN_OFF (RCPT_INDEX_OFF + 8)
#define RCPT_PROOFLEN_OFF (RCPT_NOTELEN_OFF + 4) /* with an empty note */
#define RCPT_NOLOG_LEN (RCPT_PROOFLEN_OFF + 1)	 /* and no proof */
_Static_assert(RCPT_NOTELEN_OFF == PL_RECEIPT_FIXED_LEN, "receipt fixed fields");

/* The receipt of a relay that keeps no log (--no-log, a benchmark switch):
 * the fixed fields, leaf index PL_STORE_NO_LEAF, an empty note and no
 * proof. The encoder refuses an empty note, and clients refuse this
 * receipt, which is right for a relay without a log. Returns its length. */
static size_t nolog_receipt(uint8_t out[static RCPT_NOLOG_LEN], const pl_receipt *rc)
{
	out[RCPT_VERSION_OFF] = PL_RECEIPT_VERSION;
	memcpy(out + RCPT_MBX_OFF, rc->mbx, PL_MAILBOX_LEN);
	pl_be64_put(out + RCPT_SEQ_OFF, rc->seq);
	pl_be64_put(out + RCPT_TIME_OFF, rc->time);
	memcpy(out + RCPT_HASH_OFF, rc->hash, PL_PROTO_HASH_LEN);
	pl_be64_put(out + RCPT_INDEX_OFF, PL_STORE_NO_LEAF);
	pl_be32_put(out + RCPT_NOTELEN_OFF, 0);
	out[RCPT_PROOFLEN_OFF] = 0;
	return RCPT_NOLOG_LEN;
}

/* The receipt of a committed deposit: the batch's checkpoint and the
 * leaf's inclusion proof in it. */
static enum MHD_Result answer_deposit(pl_relay *R, struct MHD_Connection *con, pl_relay_job *j)
{
	uint8_t out[PL_RECEIPT_MAX];
	pl_receipt rc;
	const uint8_t *note;
	size_t n;

	memset(&rc, 0, sizeof rc);
	memcpy(rc.mbx, j->id, PL_MAILBOX_LEN);
	rc.seq = j->seq;
	rc.time = j->time;
	memcpy(rc.hash, j->hash, PL_PROTO_HASH_LEN);
	if (!R->log)
		return reply_bytes(con, out, nolog_receipt(out, &rc));
	if (j->view == NULL)
		return reply_store(con, PL_STORE_FAIL, "", "");
	rc.index = j->leaf;
	note = pl_tlog_view_note(j->view, &rc.notelen);
	memcpy(rc.note, note, rc.notelen);
	if (j->have_proof) {
		rc.prooflen = j->prooflen;
		memcpy(rc.proof, j->proof, j->prooflen * sizeof j->proof[0]);
	} else {
		uint8_t proof[PL_MERKLE_PROOF_MAX][PL_MERKLE_HASH_LEN];
		if (pl_tlog_view_prove(j->view, j->leaf, proof, &rc.prooflen) != 0 ||
		    rc.prooflen > PL_RECEIPT_PROOF_MAX)
			return reply_store(con, PL_STORE_FAIL, "", "");
		memcpy(rc.proof, proof, rc.prooflen * sizeof proof[0]);
	}
	pl_tlog_view_unref(j->view);
	j->view = NULL;
	n = pl_receipt_encode(out, &rc);
	if (n == 0)
		return reply_store(con, PL_STORE_FAIL, "", "");
	return reply_bytes(con, out, n);
}

/* Second stage, on a worker after the committer resumed the connection. */
static enum MHD_Result answer(pl_relay *R, struct MHD_Connection *con, req *q)
{
	pl_relay_job *j = &q->j;

	if (j->res == PL_STORE_RATE)
		return reply_rate(con, j->retry_after);
	switch (j->kind) {
	case PL_JOB_BUNDLE_PUT:
		return j->res == PL_STORE_OK
			   ? reply_empty(con)
			   : reply_store(con, j->res, "",
					 "too many one-time prekeys stored (at most 1000)");
	case PL_JOB_BUNDLE_GET:
		if (j->res != PL_STORE_OK)
			return reply_store(con, j->res, "no bundle published for this mailbox", "");
		pl_bundle_encode(&j->out, &j->bundle);
		return reply_wr(con, &j->out, "application/octet-stream");
	case PL_JOB_TOKEN_PUT:
		return j->res == PL_STORE_OK ? reply_empty(con) : reply_store(con, j->res, "", "");
	case PL_JOB_GRANT_PUT:
		return j->res == PL_STORE_OK
			   ? reply_empty(con)
			   : reply_store(con, j->res, "",
					 "this grant locator belongs to another mailbox");
	case PL_JOB_GRANT_GET:
		if (j->res != PL_STORE_OK)
			return reply_store(con, j->res, "no grant at this locator", "");
		if (pl_proto_grant_encode(&j->out, j->blob, j->bloblen) != 0)
			return MHD_NO;
		return reply_wr(con, &j->out, "application/octet-stream");
	case PL_JOB_DEPOSIT:
		if (j->res != PL_STORE_OK)
			return reply_store(con, j->res, "", "");
		return answer_deposit(R, con, j);
	case PL_JOB_LIST:
		if (j->res != PL_STORE_OK)
			return reply_store(con, j->res, "", "");
		return reply_wr(con, &j->out, "application/octet-stream");
	case PL_JOB_ACK:
		return j->res == PL_STORE_OK
			   ? reply_empty(con)
			   : reply_store(con, j->res, "",
					 "seq is beyond the last one assigned in this mailbox");
	case PL_JOB_LOG_CHECKPOINT:
		if (j->res != PL_STORE_OK)
			return reply_store(con, j->res,
					   "the relay has signed no checkpoint of that size", "");
		return reply_wr(con, &j->out, TEXT_TYPE);
	case PL_JOB_LOG_INCLUSION:
	case PL_JOB_LOG_CONSISTENCY:
		if (j->res != PL_STORE_OK)
			return reply_store(con, j->res,
					   "size is beyond the relay's newest checkpoint", "");
		return reply_wr(con, &j->out, "application/octet-stream");
	case PL_JOB_LOG_LEAVES:
		if (j->res != PL_STORE_OK)
			return reply_store(con, j->res,
					   "start is beyond the relay's newest checkpoint", "");
		return reply_wr(con, &j->out, "application/octet-stream");
	case PL_JOB_LOG_MAILBOX:
		if (j->res != PL_STORE_OK)
			return reply_store(con, j->res,
					   "the relay has signed no checkpoint of that size", "");
		return reply_wr(con, &j->out, "application/octet-stream");
	}
	return reply_store(con, PL_STORE_FAIL, "", "");
}

enum MHD_Result pl_relay_on_request(void *cls, struct MHD_Connection *con, const char *url,
				    const char *method, const char *version,
				    const char *upload_data, size_t *upload_data_size,
				    void **con_cls)
{
	pl_relay *R = cls;
	req *q = *con_cls;

	(void)url;
	(void)version;
	if (q == NULL)
		return MHD_NO; /* out of memory in uri_logger */
	if (q->state == Q_WAITING) {
		q->state = Q_ANSWERED;
		return answer(R, con, q);
	}
	if (q->state == Q_ANSWERED)
		return MHD_NO; /* MHD never calls again after a response; be safe */
	if (!q->routed) {
		const char *cl = header(con, MHD_HTTP_HEADER_CONTENT_LENGTH);
		uint64_t n = 0;

		parse_route(q, method);
		if (q->status != 0)
			return reply_error(con, (unsigned)q->status, q->msg);
		if (cl != NULL && (pl_auth_parse_u64(&n, cl) != 0 || n > q->max))
			return reply_error(con, MHD_HTTP_CONTENT_TOO_LARGE,
					   "request body too large for this endpoint");
		if (cl != NULL && n > 0) {
			q->body = malloc((size_t)n);
			if (q->body == NULL)
				return reply_error(con, MHD_HTTP_SERVICE_UNAVAILABLE,
						   "out of memory");
			q->cap = (size_t)n;
		}
		return MHD_YES;
	}
	if (*upload_data_size != 0) {
		size_t n = *upload_data_size;
		*upload_data_size = 0;
		if (q->status != 0)
			return MHD_YES; /* discarding an oversize chunked body */
		if (n > q->max - q->len) {
			/* Only a chunked body gets here (Content-Length was checked). */
			free(q->body);
			q->body = NULL;
			q->len = q->cap = 0;
			q->status = MHD_HTTP_CONTENT_TOO_LARGE;
			q->msg = "request body too large for this endpoint";
			return MHD_YES;
		}
		if (q->len + n > q->cap) {
			uint8_t *b = malloc(q->max);
			if (b == NULL)
				return MHD_NO;
			if (q->len)
				memcpy(b, q->body, q->len);
			free(q->body);
			q->body = b;
			q->cap = q->max;
		}
		memcpy(q->body + q->len, upload_data, n);
		q->len += n;
		return MHD_YES;
	}
	/* The whole request is read: what follows is the relay's own time. */
	pl_deadlines_disarm(con);
	if (q->status != 0)
		return reply_error(con, (unsigned)q->status, q->msg);
	return handle(R, con, q, method);
}
