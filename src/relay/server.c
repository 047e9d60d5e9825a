/*
 * server.c — parley-relay's HTTP front: command line, routing, limits,
 * owner-auth and token checks, group commit, TLS and clean shutdown.
 *
 * Design. libmicrohttpd runs one thread per connection, so a handler may
 * block. Each handler parses and checks its request itself (signatures,
 * body decoding, envelope hash — all CPU work, in parallel), then hands a
 * job to the one committer thread and sleeps on the job's semaphore. The
 * committer takes every job queued so far, runs them all inside one SQLite
 * transaction (WAL, synchronous=FULL) and commits once, so one fsync covers
 * the whole batch; then it posts exactly those jobs' semaphores, and their
 * handlers sign their receipts and answer. A deposit is therefore
 * acknowledged only after it is durable. Jobs check before they write, so a
 * refused job leaves nothing behind without a savepoint of its own; a
 * storage failure fails the whole transaction (503), never half of it.
 *
 * It must never acknowledge before COMMIT returned, never buffer a body
 * past its endpoint's limit, never log a token, key or envelope, and never
 * let one bad request change stored state or stop the relay.
 */
#include "relay/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <malloc.h>
#include <pthread.h>
#include <semaphore.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include "crypto/kdf.h"
#include "envelope/envelope.h"
#include "relay/proto.h"
#include "relay/store.h"
#include "session/x3dh.h"
#include "util/codec.h"
#include "util/err.h"

#define PROG "parley-relay"
#define PRUNE_EVERY 60 /* seconds between nonce-table prunes */

/* ---- group commit ---------------------------------------------------- */

enum job_kind {
	J_BUNDLE_PUT,
	J_BUNDLE_GET,
	J_TOKEN_PUT,
	J_GRANT_PUT,
	J_GRANT_GET,
	J_DEPOSIT,
	J_LIST,
	J_ACK
};

typedef struct job {
	struct job *next;
	int kind;
	int authed;			/* owner-signed: record the nonce */
	uint8_t id[32];			/* mailbox or grant locator from the path */
	uint8_t signer[PL_MAILBOX_LEN]; /* mailbox of the signing key */
	uint8_t nonce[PL_PROTO_NONCE_LEN];
	uint8_t hash[32];	/* token hash or envelope hash */
	uint8_t token_hash[32]; /* deposits: SHA-256 of the presented token */
	const pl_proto_bundle_upload *upload;
	const uint8_t *data; /* grant blob or envelope */
	size_t datalen;
	uint64_t seq;  /* ack: seq; list: after; deposit: assigned seq */
	uint64_t time; /* deposit: stored time */
	pl_bundle bundle;
	uint8_t blob[PL_PROTO_GRANT_BLOB_MAX];
	size_t bloblen;
	pl_wr out; /* listing */
	int res;
	sem_t done; /* posted by the committer once res is final */
} job;

typedef struct {
	pl_store *store;
	int serving;	   /* set once the daemon runs; read by the MHD logger */
	char startup[512]; /* last MHD message before that, for one error line */
	uint8_t sk[PL_IK_SK_LEN];
	uint8_t pk[PL_IK_LEN];
	pthread_mutex_t mu;
	pthread_cond_t work_cv;
	job *head, *tail;
	int stopping;
	uint64_t last_prune;
} relay;

static int run_job(pl_store *s, job *j, uint64_t now)
{
	int r;

	if (j->authed) {
		r = pl_store_nonce_use(s, j->signer, j->nonce, now);
		if (r != PL_STORE_OK)
			return r;
	}
	switch (j->kind) {
	case J_BUNDLE_PUT:
		return pl_store_bundle_put(s, j->id, j->upload);
	case J_BUNDLE_GET:
		return pl_store_bundle_take(s, j->id, &j->bundle);
	case J_TOKEN_PUT:
		return pl_store_token_put(s, j->id, j->hash);
	case J_GRANT_PUT:
		return pl_store_grant_put(s, j->id, j->signer, j->data, j->datalen);
	case J_GRANT_GET:
		return pl_store_grant_get(s, j->id, j->blob, &j->bloblen);
	case J_DEPOSIT:
		r = pl_store_token_check(s, j->id, j->token_hash);
		if (r != PL_STORE_OK)
			return r;
		return pl_store_deposit(s, j->id, j->hash, j->data, j->datalen, now, &j->seq,
					&j->time);
	case J_LIST:
		return pl_store_list(s, j->id, j->seq, &j->out);
	case J_ACK:
		return pl_store_ack(s, j->id, j->seq);
	}
	return PL_STORE_FAIL;
}

/* Marks as failed every job from `from` up to (not including) `to` that had
 * succeeded: their transaction is gone. */
static void fail_range(job *from, job *to)
{
	for (job *k = from; k != to; k = k->next)
		if (k->res == PL_STORE_OK)
			k->res = PL_STORE_FAIL;
}

static void run_batch(relay *R, job *batch)
{
	pl_store *s = R->store;
	uint64_t now = pl_now();
	job *first = batch;
	int in_txn;

	in_txn = pl_store_begin(s) == 0;
	if (in_txn && now >= R->last_prune + PRUNE_EVERY) {
		(void)pl_store_nonce_prune(s, now); /* one statement: all or nothing */
		R->last_prune = now;
	}
	for (job *j = batch; j != NULL; j = j->next) {
		if (!in_txn) {
			j->res = PL_STORE_FAIL;
			continue;
		}
		if (j->kind == J_BUNDLE_PUT) {
			/* The only job that may refuse after writing (too many
			 * prekeys): it gets a savepoint of its own. */
			if (pl_store_savepoint(s) != 0) {
				j->res = PL_STORE_FAIL;
			} else {
				j->res = run_job(s, j, now);
				if (j->res == PL_STORE_OK) {
					if (pl_store_release(s) != 0)
						j->res = PL_STORE_FAIL;
				} else {
					pl_store_rollback_savepoint(s);
					/* A signed request that was refused still used its nonce.
					 */
					if (j->res != PL_STORE_REPLAY && j->res != PL_STORE_FAIL)
						(void)pl_store_nonce_use(s, j->signer, j->nonce,
									 now);
				}
			}
		} else {
			/* Every other job checks before it writes, so a refusal leaves
			 * nothing behind; a storage failure may have, so it takes the
			 * transaction down with it (the jobs before it fail too). */
			j->res = run_job(s, j, now);
			if (j->res == PL_STORE_FAIL)
				pl_store_rollback(s);
		}
		/* Also reached when SQLite itself rolled back (full disk, I/O error). */
		if (!pl_store_in_txn(s)) {
			fail_range(first, j->next);
			first = j->next;
			in_txn = pl_store_begin(s) == 0;
		}
	}
	if (in_txn && pl_store_commit(s) != 0)
		fail_range(first, NULL);
}

static void *committer(void *arg)
{
	relay *R = arg;

	pthread_setname_np(pthread_self(), "pl-committer");
	pthread_mutex_lock(&R->mu);
	for (;;) {
		while (R->head == NULL && !R->stopping)
			pthread_cond_wait(&R->work_cv, &R->mu);
		if (R->head == NULL)
			break;
		job *batch = R->head, *last = batch;
		size_t n = 1;
		while (last->next != NULL && n < PL_RELAY_BATCH_MAX) {
			last = last->next;
			n++;
		}
		R->head = last->next;
		if (R->head == NULL)
			R->tail = NULL;
		last->next = NULL;
		pthread_mutex_unlock(&R->mu);

		run_batch(R, batch);

		/* Wake exactly the handlers of this batch; a job lives on its
		 * handler's stack, so read `next` before posting. */
		for (job *j = batch, *next; j != NULL; j = next) {
			next = j->next;
			sem_post(&j->done);
		}
		pthread_mutex_lock(&R->mu);
	}
	pthread_mutex_unlock(&R->mu);
	return NULL;
}

/* Queues the job and waits until it is committed (or failed). */
static void submit(relay *R, job *j)
{
	j->next = NULL;
	if (sem_init(&j->done, 0, 0) != 0) {
		j->res = PL_STORE_FAIL;
		return;
	}
	pthread_mutex_lock(&R->mu);
	if (R->tail)
		R->tail->next = j;
	else
		R->head = j;
	R->tail = j;
	pthread_cond_signal(&R->work_cv);
	pthread_mutex_unlock(&R->mu);
	while (sem_wait(&j->done) != 0)
		; /* EINTR */
	sem_destroy(&j->done);
}

/* ---- requests -------------------------------------------------------- */

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
	R_ACK
};

typedef struct {
	char *target; /* raw request target (path and query), as signed */
	int route;
	int routed;
	uint8_t id[32];
	uint64_t after;
	size_t max; /* body limit of the route */
	uint8_t *body;
	size_t len, cap;
	int status; /* != 0: answer decided (error) */
	const char *msg;
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

static void parse_route(req *q, const char *method)
{
	const char *t = q->target, *rest;
	char path[256];
	const char *query = NULL;
	size_t plen;
	int get = strcmp(method, "GET") == 0, put = strcmp(method, "PUT") == 0,
	    post = strcmp(method, "POST") == 0;
	const char *mbx_bad = "mailbox id must be 64 lowercase hex digits";

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

	if (strcmp(path, "/v1/relay") == 0) {
		q->route = R_RELAY;
		if (!get)
			goto method;
	} else if ((rest = match_id(q, path, "/v1/bundle/", mbx_bad)) != NULL || q->status) {
		if (q->status)
			return;
		if (*rest)
			goto notfound;
		if (!get && !put)
			goto method;
		q->route = get ? R_BUNDLE_GET : R_BUNDLE_PUT;
		q->max = get ? 0 : PL_PROTO_BUNDLE_UPLOAD_MAX;
	} else if ((rest = match_id(q, path, "/v1/token/", mbx_bad)) != NULL || q->status) {
		if (q->status)
			return;
		if (*rest)
			goto notfound;
		if (!put)
			goto method;
		q->route = R_TOKEN_PUT;
		q->max = PL_PROTO_TOKEN_BODY_LEN;
	} else if ((rest = match_id(q, path, "/v1/grant/",
				    "grant locator must be 64 lowercase hex digits")) != NULL ||
		   q->status) {
		if (q->status)
			return;
		if (*rest)
			goto notfound;
		if (!get && !put)
			goto method;
		q->route = get ? R_GRANT_GET : R_GRANT_PUT;
		q->max = get ? 0 : PL_PROTO_GRANT_BODY_MAX;
	} else if ((rest = match_id(q, path, "/v1/deposit/", mbx_bad)) != NULL || q->status) {
		if (q->status)
			return;
		if (*rest)
			goto notfound;
		if (!post)
			goto method;
		q->route = R_DEPOSIT;
		q->max = PL_ENVELOPE_MAX;
	} else if ((rest = match_id(q, path, "/v1/mailbox/", mbx_bad)) != NULL || q->status) {
		if (q->status)
			return;
		if (strcmp(rest, "/ack") == 0) {
			if (!post)
				goto method;
			q->route = R_ACK;
			q->max = PL_PROTO_ACK_BODY_LEN;
		} else if (*rest == '\0') {
			if (!get)
				goto method;
			q->route = R_LIST;
			q->after = 0;
			if (query != NULL) {
				if (strncmp(query, "after=", 6) != 0 ||
				    pl_proto_parse_u64(&q->after, query + 6) != 0) {
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

static void *uri_logger(void *cls, const char *uri, struct MHD_Connection *con)
{
	(void)cls;
	(void)con;
	req *q = calloc(1, sizeof *q);
	if (q != NULL && uri != NULL)
		q->target = strdup(uri);
	return q;
}

static void request_done(void *cls, struct MHD_Connection *con, void **con_cls,
			 enum MHD_RequestTerminationCode toe)
{
	(void)cls;
	(void)con;
	(void)toe;
	req *q = *con_cls;
	if (q == NULL)
		return;
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

static enum MHD_Result reply_error(struct MHD_Connection *con, unsigned status, const char *msg)
{
	char line[200];
	int n = snprintf(line, sizeof line, "%s\n", msg);
	if (n < 0 || (size_t)n >= sizeof line)
		n = (int)sizeof line - 1;
	return reply(con, status, line, (size_t)n, MHD_RESPMEM_MUST_COPY,
		     "text/plain; charset=utf-8");
}

static enum MHD_Result reply_bytes(struct MHD_Connection *con, const void *p, size_t n)
{
	return reply(con, MHD_HTTP_OK, p, n, MHD_RESPMEM_MUST_COPY, "application/octet-stream");
}

static enum MHD_Result reply_empty(struct MHD_Connection *con)
{
	return reply(con, MHD_HTTP_NO_CONTENT, "", 0, MHD_RESPMEM_PERSISTENT, NULL);
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

/* Checks the owner signature; on failure answers 401 and returns -1. */
static int owner_auth(struct MHD_Connection *con, req *q, job *j, const char *method,
		      const uint8_t *mbx, enum MHD_Result *ret)
{
	uint8_t key[PL_IK_LEN];
	const char *why = NULL;

	if (pl_proto_auth_verify(key, j->signer, j->nonce, mbx, method, q->target,
				 header(con, PL_HDR_KEY), header(con, PL_HDR_TIME),
				 header(con, PL_HDR_NONCE), header(con, PL_HDR_SIG), q->body,
				 q->len, pl_now(), &why) != 0) {
		*ret = reply_error(con, MHD_HTTP_UNAUTHORIZED, why ? why : "bad signature");
		return -1;
	}
	j->authed = 1;
	return 0;
}

static enum MHD_Result handle(relay *R, struct MHD_Connection *con, req *q, const char *method)
{
	pl_proto_bundle_upload *up = NULL;
	enum MHD_Result ret = MHD_NO;
	job j;

	memset(&j, 0, sizeof j);
	memcpy(j.id, q->id, sizeof j.id);
	pl_wr_init(&j.out);

	switch (q->route) {
	case R_RELAY: {
		uint8_t b[PL_PROTO_RELAY_KEY_LEN];
		pl_proto_relay_key_encode(b, R->pk);
		return reply_bytes(con, b, sizeof b);
	}
	case R_BUNDLE_PUT:
		if (owner_auth(con, q, &j, method, q->id, &ret) != 0)
			return ret;
		up = malloc(sizeof *up);
		if (up == NULL)
			return reply_error(con, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory");
		if (pl_proto_bundle_upload_decode(up, q->body, q->len) != 0) {
			ret =
			    reply_error(con, MHD_HTTP_BAD_REQUEST,
					"malformed bundle upload (or bad signed-prekey signature)");
			break;
		}
		{
			uint8_t m[PL_MAILBOX_LEN];
			pl_mailbox_id(m, up->ik);
			if (memcmp(m, q->id, sizeof m) != 0) {
				ret = reply_error(con, MHD_HTTP_BAD_REQUEST,
						  "bundle identity key does not own this mailbox");
				break;
			}
		}
		j.kind = J_BUNDLE_PUT;
		j.upload = up;
		submit(R, &j);
		ret = j.res == PL_STORE_OK
			  ? reply_empty(con)
			  : reply_store(con, j.res, "",
					"too many one-time prekeys stored (at most 1000)");
		break;
	case R_BUNDLE_GET:
		j.kind = J_BUNDLE_GET;
		submit(R, &j);
		if (j.res != PL_STORE_OK) {
			ret = reply_store(con, j.res, "no bundle published for this mailbox", "");
		} else {
			pl_bundle_encode(&j.out, &j.bundle);
			ret = pl_wr_ok(&j.out) == 0 ? reply_bytes(con, j.out.p, j.out.n) : MHD_NO;
		}
		break;
	case R_TOKEN_PUT:
		if (owner_auth(con, q, &j, method, q->id, &ret) != 0)
			return ret;
		if (pl_proto_token_decode(j.hash, q->body, q->len) != 0)
			return reply_error(con, MHD_HTTP_BAD_REQUEST,
					   "malformed token body: want u8 1 and SHA-256(token)");
		j.kind = J_TOKEN_PUT;
		submit(R, &j);
		ret = j.res == PL_STORE_OK ? reply_empty(con) : reply_store(con, j.res, "", "");
		break;
	case R_GRANT_PUT:
		if (owner_auth(con, q, &j, method, NULL, &ret) != 0)
			return ret;
		if (pl_proto_grant_decode(&j.data, &j.datalen, q->body, q->len) != 0)
			return reply_error(con, MHD_HTTP_BAD_REQUEST,
					   "malformed grant body: want u8 1 and var(blob <= 256)");
		j.kind = J_GRANT_PUT;
		submit(R, &j);
		ret = j.res == PL_STORE_OK
			  ? reply_empty(con)
			  : reply_store(con, j.res, "",
					"this grant locator belongs to another mailbox");
		break;
	case R_GRANT_GET:
		j.kind = J_GRANT_GET;
		submit(R, &j);
		if (j.res != PL_STORE_OK) {
			ret = reply_store(con, j.res, "no grant at this locator", "");
		} else if (pl_proto_grant_encode(&j.out, j.blob, j.bloblen) == 0) {
			ret = reply_bytes(con, j.out.p, j.out.n);
		}
		break;
	case R_DEPOSIT: {
		const char *tok = header(con, PL_HDR_TOKEN);
		uint8_t t[PL_PROTO_TOKEN_LEN];
		pl_proto_receipt rc;
		uint8_t out[PL_PROTO_RECEIPT_LEN];

		if (tok == NULL || strlen(tok) != 2 * PL_PROTO_TOKEN_LEN ||
		    pl_hex_decode(t, sizeof t, tok) != 0)
			return reply_error(con, MHD_HTTP_FORBIDDEN, "bad or missing access token");
		pl_proto_token_hash(j.token_hash, t);
		sodium_memzero(t, sizeof t);
		if (!pl_envelope_size_ok(q->len))
			return reply_error(con, MHD_HTTP_BAD_REQUEST,
					   "envelope size is not a bucket size (1072, 4144, "
					   "16432 or 65584 bytes)");
		pl_sha256(j.hash, q->body, q->len);
		j.data = q->body;
		j.datalen = q->len;
		j.kind = J_DEPOSIT;
		submit(R, &j);
		if (j.res != PL_STORE_OK)
			return reply_store(con, j.res, "", "");
		memset(&rc, 0, sizeof rc);
		memcpy(rc.mbx, q->id, PL_MAILBOX_LEN);
		rc.seq = j.seq;
		rc.time = j.time;
		memcpy(rc.hash, j.hash, sizeof rc.hash);
		if (pl_proto_receipt_sign(&rc, R->sk) != 0)
			return reply_error(con, MHD_HTTP_SERVICE_UNAVAILABLE,
					   "cannot sign receipt");
		pl_proto_receipt_encode(out, &rc);
		return reply_bytes(con, out, sizeof out);
	}
	case R_LIST:
		if (owner_auth(con, q, &j, method, q->id, &ret) != 0)
			return ret;
		j.kind = J_LIST;
		j.seq = q->after;
		submit(R, &j);
		if (j.res != PL_STORE_OK) {
			ret = reply_store(con, j.res, "", "");
			break;
		}
		/* Hand the buffer to MHD; ciphertext, so no wipe is needed. */
		ret = reply(con, MHD_HTTP_OK, j.out.p, j.out.n, MHD_RESPMEM_MUST_FREE,
			    "application/octet-stream");
		pl_wr_init(&j.out);
		break;
	case R_ACK:
		if (owner_auth(con, q, &j, method, q->id, &ret) != 0)
			return ret;
		if (pl_proto_ack_decode(&j.seq, q->body, q->len) != 0)
			return reply_error(con, MHD_HTTP_BAD_REQUEST,
					   "malformed ack body: want u8 1 and seq u64");
		j.kind = J_ACK;
		submit(R, &j);
		ret = j.res == PL_STORE_OK
			  ? reply_empty(con)
			  : reply_store(con, j.res, "",
					"seq is beyond the last one assigned in this mailbox");
		break;
	default:
		ret = reply_error(con, MHD_HTTP_NOT_FOUND, "no such endpoint");
	}
	free(up);
	pl_wr_free(&j.out);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *con, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **con_cls)
{
	relay *R = cls;
	req *q = *con_cls;

	(void)url;
	(void)version;
	if (q == NULL)
		return MHD_NO; /* out of memory in uri_logger */
	if (!q->routed) {
		const char *cl = header(con, MHD_HTTP_HEADER_CONTENT_LENGTH);
		uint64_t n = 0;

		parse_route(q, method);
		if (q->status != 0)
			return reply_error(con, (unsigned)q->status, q->msg);
		if (cl != NULL && (pl_proto_parse_u64(&n, cl) != 0 || n > q->max))
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
	if (q->status != 0)
		return reply_error(con, (unsigned)q->status, q->msg);
	return handle(R, con, q, method);
}

/* ---- command line and lifecycle -------------------------------------- */

static const char usage[] =
    "usage: parley-relay --listen ADDR:PORT --data DIR [--tls-cert FILE --tls-key FILE]\n"
    "\n"
    "The parley relay: an untrusted store-and-forward server for sealed envelopes,\n"
    "prekey bundles, access tokens and grants (docs/PROTOCOL.md).\n"
    "\n"
    "  --listen ADDR:PORT  IPv4 address and port to serve; port 0 picks a free port.\n"
    "                      The first line on stdout is \"listening on ADDR:PORT\".\n"
    "  --data DIR          directory for relay.db and relay.key (created if missing)\n"
    "  --tls-cert FILE     serve HTTPS with this PEM certificate (needs --tls-key)\n"
    "  --tls-key FILE      PEM private key of the certificate\n"
    "  --help              show this help\n"
    "\n"
    "Deposits are committed to disk before their signed receipt is sent.\n"
    "SIGTERM or SIGINT stops the relay after in-flight requests finish.\n"
    "Exit status: 0 after a clean stop, 1 on a runtime failure, 2 on bad usage.\n";

typedef struct {
	const char *listen, *data, *cert, *key;
	struct sockaddr_in addr;
} opts;

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int usage_error(const char *fmt, ...)
{
	va_list ap;
	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputs(" (see parley-relay --help)\n", stderr);
	return PL_EXIT_USAGE;
}

static int parse_listen(struct sockaddr_in *sa, const char *s)
{
	char host[INET_ADDRSTRLEN];
	const char *colon = strrchr(s, ':');
	uint64_t port;

	memset(sa, 0, sizeof *sa);
	if (colon == NULL || (size_t)(colon - s) >= sizeof host || colon == s)
		return -1;
	memcpy(host, s, (size_t)(colon - s));
	host[colon - s] = '\0';
	if (pl_proto_parse_u64(&port, colon + 1) != 0 || port > 65535)
		return -1;
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)port);
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

/* 0 = run, 1 = --help shown, else an exit code. */
static int parse_args(opts *o, int argc, char **argv)
{
	memset(o, 0, sizeof *o);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **slot = NULL;
		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			fputs(usage, stdout);
			return 1;
		}
		if (strcmp(a, "--listen") == 0)
			slot = &o->listen;
		else if (strcmp(a, "--data") == 0)
			slot = &o->data;
		else if (strcmp(a, "--tls-cert") == 0)
			slot = &o->cert;
		else if (strcmp(a, "--tls-key") == 0)
			slot = &o->key;
		else
			return usage_error("unknown argument \"%s\"", a);
		if (i + 1 >= argc || argv[i + 1][0] == '\0')
			return usage_error("%s needs a value", a);
		if (*slot != NULL)
			return usage_error("%s given twice", a);
		*slot = argv[++i];
	}
	if (o->listen == NULL)
		return usage_error("--listen ADDR:PORT is required");
	if (o->data == NULL)
		return usage_error("--data DIR is required");
	if (parse_listen(&o->addr, o->listen) != 0)
		return usage_error("--listen wants an IPv4 address and port, like 127.0.0.1:8470; "
				   "got \"%s\"",
				   o->listen);
	if ((o->cert == NULL) != (o->key == NULL))
		return usage_error("--tls-cert and --tls-key go together");
	return 0;
}

/* Reads a whole (small) file, NUL-terminated. */
static char *read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t cap = 0, n = 0;

	if (f == NULL)
		return NULL;
	for (;;) {
		if (cap - n < 4096) {
			if (cap >= (1u << 20))
				break; /* certificates and keys are never this large */
			char *nb = malloc(cap + 8192 + 1);
			if (nb == NULL)
				break;
			if (buf) {
				memcpy(nb, buf, n);
				sodium_memzero(buf, cap);
				free(buf);
			}
			buf = nb;
			cap += 8192;
		}
		size_t r = fread(buf + n, 1, cap - n, f);
		n += r;
		if (r == 0) {
			if (ferror(f))
				break;
			fclose(f);
			buf[n] = '\0';
			*len = cap + 1;
			return buf;
		}
	}
	fclose(f);
	if (buf) {
		sodium_memzero(buf, cap);
		free(buf);
	}
	return NULL;
}

/* MHD's messages, one line each. While the daemon starts, only the last one
 * is kept, so that a failed start gives a single error line. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	relay *R = cls;
	char line[512];
	vsnprintf(line, sizeof line, fmt, ap);
	line[strcspn(line, "\n")] = '\0';
	if (!__atomic_load_n(&R->serving, __ATOMIC_ACQUIRE)) {
		snprintf(R->startup, sizeof R->startup, "%s", line);
		return;
	}
	fprintf(stderr, PROG ": %s\n", line);
}

static int open_listener(const struct sockaddr_in *sa, struct sockaddr_in *bound)
{
	int one = 1;
	socklen_t len = sizeof *bound;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);

	if (fd < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
	    bind(fd, (const struct sockaddr *)sa, sizeof *sa) != 0 || listen(fd, 1024) != 0 ||
	    getsockname(fd, (struct sockaddr *)bound, &len) != 0) {
		int e = errno;
		close(fd);
		errno = e;
		return -1;
	}
	return fd;
}

static int fail(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int fail(const char *fmt, ...)
{
	va_list ap;
	fputs(PROG ": ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return PL_EXIT_ERROR;
}

int pl_relay_main(int argc, char **argv)
{
	opts o;
	relay R;
	pl_err err;
	sigset_t sigs;
	struct sockaddr_in bound;
	struct MHD_Daemon *d = NULL;
	pthread_t th;
	char *cert = NULL, *key = NULL;
	size_t certcap = 0, keycap = 0;
	int rc, lfd = -1, sig = 0, started = 0;
	char ip[INET_ADDRSTRLEN];

	rc = parse_args(&o, argc, argv);
	if (rc != 0)
		return rc == 1 ? PL_EXIT_OK : rc;
	if (sodium_init() < 0)
		return fail("cannot initialise libsodium");
	memset(&R, 0, sizeof R);
	pl_err_clear(&err);
	umask(077); /* the database and key are nobody else's business */
	/* glibc returns freed memory of thread arenas with madvise(), and each
	 * call interrupts every CPU running one of our threads (TLB shootdown);
	 * keep it instead. */
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	if (mkdir(o.data, 0700) != 0 && errno != EEXIST)
		return fail("cannot create data directory %s: %s", o.data, strerror(errno));
	if (o.cert != NULL) {
		cert = read_file(o.cert, &certcap);
		if (cert == NULL)
			return fail("cannot read TLS certificate %s", o.cert);
		key = read_file(o.key, &keycap);
		if (key == NULL) {
			free(cert);
			return fail("cannot read TLS key %s", o.key);
		}
	}

	/* Signals are taken by sigwait below; every thread inherits the mask. */
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGTERM);
	sigaddset(&sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, &sigs, NULL);

	rc = PL_EXIT_ERROR;
	if (pl_relay_key_load(R.sk, R.pk, o.data, &err) != 0 ||
	    pl_store_open(&R.store, o.data, &err) != 0) {
		fail("%s", err.msg);
		goto out;
	}
	lfd = open_listener(&o.addr, &bound);
	if (lfd < 0) {
		fail("cannot listen on %s: %s", o.listen, strerror(errno));
		goto out;
	}
	pthread_mutex_init(&R.mu, NULL);
	pthread_cond_init(&R.work_cv, NULL);
	R.last_prune = 0;
	if (pthread_create(&th, NULL, committer, &R) != 0) {
		fail("cannot start the committer thread");
		goto out;
	}
	started = 1;

	{
		unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_THREAD_PER_CONNECTION |
				 MHD_USE_POLL | MHD_USE_ERROR_LOG;
		if (cert != NULL)
			flags |= MHD_USE_TLS;
		struct MHD_OptionItem tls[] = {
		    {cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, cert},
		    {MHD_OPTION_HTTPS_MEM_KEY, 0, key},
		    {MHD_OPTION_END, 0, NULL},
		};
		d = MHD_start_daemon(
		    flags, 0, NULL, NULL, on_request, &R, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, &R,
		    MHD_OPTION_LISTEN_SOCKET, lfd, MHD_OPTION_CONNECTION_TIMEOUT,
		    (unsigned)PL_RELAY_CONN_TIMEOUT, MHD_OPTION_CONNECTION_LIMIT,
		    (unsigned)PL_RELAY_CONN_LIMIT, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		    (size_t)PL_RELAY_CONN_MEMORY, MHD_OPTION_STRICT_FOR_CLIENT, (int)1,
		    MHD_OPTION_URI_LOG_CALLBACK, uri_logger, NULL, MHD_OPTION_NOTIFY_COMPLETED,
		    request_done, NULL, MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
	}
	if (d == NULL) {
		fail("cannot start the HTTP server%s%s%s",
		     cert ? " (check the TLS certificate and key)" : "", R.startup[0] ? ": " : "",
		     R.startup);
		goto out;
	}
	__atomic_store_n(&R.serving, 1, __ATOMIC_RELEASE);
	lfd = -1; /* the daemon owns it now */

	inet_ntop(AF_INET, &bound.sin_addr, ip, sizeof ip);
	printf("listening on %s:%u\n", ip, (unsigned)ntohs(bound.sin_port));
	fflush(stdout);

	while (sigwait(&sigs, &sig) != 0)
		;
	rc = PL_EXIT_OK;
out:
	/* Stopping the daemon waits for every connection thread; those waiting
	 * on a commit are released by the committer, which still runs. */
	if (d != NULL)
		MHD_stop_daemon(d);
	if (lfd >= 0)
		close(lfd);
	if (started) {
		pthread_mutex_lock(&R.mu);
		R.stopping = 1;
		pthread_cond_signal(&R.work_cv);
		pthread_mutex_unlock(&R.mu);
		pthread_join(th, NULL);
	}
	pl_store_close(R.store);
	sodium_memzero(R.sk, sizeof R.sk);
	if (key) {
		sodium_memzero(key, keycap);
		free(key);
	}
	free(cert);
	return rc;
}
