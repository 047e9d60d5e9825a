/*
 * server.c — parley-relay's HTTP front: command line, routing, limits,
 * owner-auth and token checks, group commit, the transparency log, TLS and
 * clean shutdown.
 *
 * Design. libmicrohttpd runs a small pool of worker threads (poll), so 64
 * connections are not 64 runnable threads. A worker parses and checks each
 * request itself (signatures, body decoding, envelope hash — the CPU work,
 * in parallel), then queues a job for the one committer thread and
 * *suspends* the connection. The committer takes every job queued so far,
 * runs them inside one SQLite transaction (WAL, synchronous=FULL), appends
 * a log leaf for every accepted deposit and ack in that same transaction,
 * computes the new root from the in-memory tree view (relay/tlog.h), signs
 * ONE checkpoint for the batch, stores it in the same transaction, and
 * commits once: one fsync and one Ed25519 signature cover the whole batch.
 * Then it resumes exactly those connections, and their worker builds each
 * answer — a deposit's receipt is the batch's checkpoint with the leaf's
 * inclusion proof, computed from the sealed, immutable view (no I/O).
 * A deposit is therefore acknowledged only after it, its leaf and a
 * checkpoint covering it are durable, and no checkpoint is ever seen for a
 * tree the database could lose. Jobs check before they write, so a refused
 * job leaves nothing behind without a savepoint of its own; a storage
 * failure fails the whole transaction (503), never half of it.
 *
 * It must never acknowledge before COMMIT returned, publish a checkpoint
 * that is not committed, buffer a body past its endpoint's limit, log a
 * token, key or envelope, block a worker thread on the committer, or let
 * one bad request change stored state or stop the relay.
 */
#include "relay/server.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <malloc.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "auth/auth.h"
#include "crypto/kdf.h"
#include "envelope/envelope.h"
#include "log/leaf.h"
#include "log/merkle.h"
#include "log/receipt.h"
#include "relay/proto.h"
#include "relay/store.h"
#include "relay/tlog.h"
#include "session/x3dh.h"
#include "util/codec.h"
#include "util/err.h"

#define PROG "parley-relay"
#define PRUNE_EVERY 60	 /* seconds between nonce-table prunes */
#define DRAIN_WAIT_S 120 /* longest wait for queued jobs at shutdown */
#define QUERY_NUM_MAX 24 /* a u64 in decimal is at most 20 digits */
#define NOLOG_META "nolog"

/* ---- group commit ---------------------------------------------------- */

enum job_kind {
	J_BUNDLE_PUT,
	J_BUNDLE_GET,
	J_TOKEN_PUT,
	J_GRANT_PUT,
	J_GRANT_GET,
	J_DEPOSIT,
	J_LIST,
	J_ACK,
	J_LOG_CHECKPOINT,  /* a = size */
	J_LOG_INCLUSION,   /* a = index, b = size */
	J_LOG_CONSISTENCY, /* a = old, b = size */
	J_LOG_LEAVES	   /* a = start, b = count */
};

typedef struct job {
	struct job *next;
	struct MHD_Connection *con; /* resumed by the committer */
	int kind;
	int authed;			/* owner-signed: record the nonce */
	uint8_t id[32];			/* mailbox or grant locator from the path */
	uint8_t signer[PL_MAILBOX_LEN]; /* mailbox of the signing key */
	uint8_t nonce[PL_AUTH_NONCE_LEN];
	uint8_t hash[32];	/* token hash or envelope hash */
	uint8_t token_hash[32]; /* deposits: SHA-256 of the presented token */
	const pl_proto_bundle_upload *upload;
	const uint8_t *data; /* grant blob or envelope */
	size_t datalen;
	uint64_t seq;  /* ack: seq; list: after; deposit: assigned seq */
	uint64_t time; /* deposit: stored time */
	uint64_t a, b; /* log queries */
	/* ack: what its fetch leaf records of the owner's signature */
	uint8_t owner[PL_IK_LEN];
	uint64_t auth_time;
	uint8_t sig[PL_SIG_LEN];
	/* deposit: its leaf, and the sealed view its receipt comes from */
	uint64_t leaf;
	pl_tlog_view *view; /* one reference, dropped by the answer or request_done */
	int have_proof;	    /* proof computed by the committer (a leaf older than the view) */
	size_t prooflen;
	uint8_t proof[PL_MERKLE_PROOF_MAX][PL_MERKLE_HASH_LEN];
	pl_bundle bundle;
	uint8_t blob[PL_PROTO_GRANT_BLOB_MAX];
	size_t bloblen;
	pl_wr out; /* listing, log bodies */
	int res;
} job;

typedef struct {
	pl_store *store;
	int serving;	   /* set once the daemon runs; read by the MHD logger */
	char startup[512]; /* last MHD message before that, for one error line */
	uint8_t sk[PL_IK_SK_LEN];
	uint8_t pk[PL_IK_LEN];
	int log; /* 0 with --no-log (a benchmark switch) */
	/* committer only */
	pl_tlog tlog;
	uint64_t signed_size;  /* size of the newest committed checkpoint */
	pl_tlog_view *current; /* its view (the relay's reference) */
	uint64_t last_prune;
	/* the newest checkpoint note, for GET /log/checkpoint */
	pthread_mutex_t log_mu;
	uint8_t note[PL_LEAF_NOTE_MAX];
	size_t notelen;
	/* the job queue */
	pthread_mutex_t mu;
	pthread_cond_t work_cv, idle_cv;
	job *head, *tail;
	unsigned long inflight; /* queued or running, not yet resumed */
	int stopping;		/* the committer may exit once the queue is empty */
	int closing;		/* no new jobs: shutting down */
} relay;

static void publish_note(relay *R, const uint8_t *note, size_t len)
{
	pthread_mutex_lock(&R->log_mu);
	memcpy(R->note, note, len);
	R->notelen = len;
	pthread_mutex_unlock(&R->log_mu);
}

/* Appends a leaf (index = the tree's size) to the in-memory tree and to the
 * store, in the caller's transaction. */
static int log_append(relay *R, const pl_leaf *l)
{
	uint8_t data[PL_LEAF_MAX], h[PL_MERKLE_HASH_LEN];
	pl_merkle_node nodes[PL_MERKLE_APPEND_MAX];
	size_t n = pl_leaf_encode(data, l), cnt = 0;
	uint64_t index = R->tlog.size;

	if (n == 0 || index >= PL_STORE_LOG_MAX)
		return PL_STORE_FAIL;
	pl_leaf_hash(h, data, n);
	if (pl_tlog_append(&R->tlog, h, nodes, &cnt) != 0)
		return PL_STORE_FAIL;
	/* On failure the caller rolls back the transaction and the tree. */
	return pl_store_leaf_put(R->store, index, data, n, nodes, cnt);
}

/* Signs the checkpoint of the current tree and stores it (caller's
 * transaction). */
static int log_checkpoint(relay *R, uint8_t note[static PL_LEAF_NOTE_MAX], size_t *len)
{
	uint8_t root[PL_MERKLE_HASH_LEN];

	if (pl_tlog_root(&R->tlog, root) != 0 ||
	    pl_leaf_checkpoint_sign(note, PL_LEAF_NOTE_MAX, len, R->tlog.size, root, R->sk) != 0)
		return PL_STORE_FAIL;
	return pl_store_checkpoint_put(R->store, R->tlog.size, note, *len);
}

static int run_log_read(relay *R, job *j)
{
	pl_store *s = R->store;
	pl_merkle_source src;
	uint8_t note[PL_LEAF_NOTE_MAX], proof[PL_MERKLE_PROOF_MAX][PL_MERKLE_HASH_LEN];
	size_t n = 0;

	/* Only what a committed checkpoint covers is served. */
	pl_store_merkle_source(s, &src);
	switch (j->kind) {
	case J_LOG_CHECKPOINT:
		if (j->a > R->signed_size)
			return PL_STORE_NOTFOUND;
		if (pl_store_checkpoint_get(s, j->a, note, &n) != PL_STORE_OK)
			return PL_STORE_NOTFOUND;
		pl_wr_bytes(&j->out, note, n);
		return pl_wr_ok(&j->out) == 0 ? PL_STORE_OK : PL_STORE_FAIL;
	case J_LOG_INCLUSION:
		if (j->b > R->signed_size)
			return PL_STORE_NOTFOUND;
		if (pl_merkle_prove_inclusion(&src, j->a, j->b, proof, &n) != 0)
			return PL_STORE_FAIL;
		break;
	case J_LOG_CONSISTENCY:
		if (j->b > R->signed_size)
			return PL_STORE_NOTFOUND;
		if (pl_merkle_prove_consistency(&src, j->a, j->b, proof, &n) != 0)
			return PL_STORE_FAIL;
		break;
	case J_LOG_LEAVES:
		if (j->a >= R->signed_size)
			return PL_STORE_NOTFOUND;
		if (j->b > R->signed_size - j->a)
			j->b = R->signed_size - j->a;
		return pl_store_leaves(s, j->a, (uint32_t)j->b, &j->out);
	default:
		return PL_STORE_FAIL;
	}
	return pl_proto_proof_encode(&j->out, (const uint8_t(*)[32])proof, n) == 0 ? PL_STORE_OK
										   : PL_STORE_FAIL;
}

static int run_job(relay *R, job *j, uint64_t now)
{
	pl_store *s = R->store;
	pl_leaf l;
	int r, append = 0;

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
		j->leaf = R->log ? R->tlog.size : PL_STORE_NO_LEAF;
		r = pl_store_deposit(s, j->id, j->token_hash, j->hash, j->data, j->datalen, now,
				     &j->seq, &j->time, &j->leaf, &append);
		if (r != PL_STORE_OK || !append)
			return r;
		memset(&l, 0, sizeof l);
		l.type = PL_LEAF_DEPOSIT;
		memcpy(l.mbx, j->id, PL_MAILBOX_LEN);
		memcpy(l.hash, j->hash, PL_PROTO_HASH_LEN);
		l.seq = j->seq;
		l.relay_time = j->time;
		return log_append(R, &l);
	case J_LIST:
		return pl_store_list(s, j->id, j->seq, &j->out);
	case J_ACK:
		r = pl_store_ack(s, j->id, j->seq);
		if (r != PL_STORE_OK || !R->log)
			return r;
		memset(&l, 0, sizeof l);
		l.type = PL_LEAF_FETCH;
		memcpy(l.mbx, j->id, PL_MAILBOX_LEN);
		memcpy(l.owner, j->owner, PL_IK_LEN);
		l.through = j->seq;
		l.auth_time = j->auth_time;
		memcpy(l.nonce, j->nonce, PL_AUTH_NONCE_LEN);
		memcpy(l.sig, j->sig, PL_SIG_LEN);
		l.relay_time = now;
		return log_append(R, &l);
	default:
		return run_log_read(R, j);
	}
}

/* Marks as failed every job from `from` up to (not including) `to` that had
 * succeeded: their transaction is gone. */
static void fail_range(job *from, job *to)
{
	for (job *k = from; k != to; k = k->next)
		if (k->res == PL_STORE_OK)
			k->res = PL_STORE_FAIL;
}

/* After a committed batch: every accepted deposit gets the sealed view of
 * the newest checkpoint; a leaf older than that view's batch (a retried
 * deposit) gets its proof here, from the store. */
static void attach_receipts(relay *R, job *batch)
{
	pl_merkle_source src;

	pl_store_merkle_source(R->store, &src);
	for (job *j = batch; j != NULL; j = j->next) {
		if (j->kind != J_DEPOSIT || j->res != PL_STORE_OK || !R->log)
			continue;
		if (R->current == NULL || j->leaf >= pl_tlog_view_size(R->current)) {
			j->res = PL_STORE_FAIL;
			continue;
		}
		if (j->leaf < pl_tlog_view_base(R->current)) {
			if (pl_merkle_prove_inclusion(&src, j->leaf, pl_tlog_view_size(R->current),
						      j->proof, &j->prooflen) != 0) {
				j->res = PL_STORE_FAIL;
				continue;
			}
			j->have_proof = 1;
		}
		pl_tlog_view_ref(R->current, 1);
		j->view = R->current;
	}
}

/* The tree in memory no longer matches a committed state (out of memory
 * while sealing): rebuild it from the store. */
static int log_reload(relay *R, const uint8_t *note, size_t notelen)
{
	pl_merkle_source src;
	uint64_t size;
	pl_tlog_view *v;

	pl_tlog_free(&R->tlog);
	pl_store_merkle_source(R->store, &src);
	if (pl_store_log_size(R->store, &size) != 0 ||
	    pl_tlog_init(&R->tlog, &src, size, PL_RELAY_BATCH_MAX) != 0)
		return -1;
	v = pl_tlog_seal(&R->tlog, note, notelen);
	if (v == NULL)
		return -1;
	pl_tlog_view_unref(R->current);
	R->current = v;
	return 0;
}

/* Takes up to max queued jobs (caller holds R->mu); *n gets their number. */
static job *take_locked(relay *R, unsigned long max, unsigned long *n)
{
	job *batch = R->head, *last = batch;

	*n = 0;
	if (batch == NULL || max == 0)
		return NULL;
	*n = 1;
	while (last->next != NULL && *n < max) {
		last = last->next;
		(*n)++;
	}
	R->head = last->next;
	if (R->head == NULL)
		R->tail = NULL;
	last->next = NULL;
	return batch;
}

/* Runs the batch in one transaction. Jobs queued while it runs join it (up
 * to PL_RELAY_BATCH_MAX in all), so a busy relay commits less often and
 * each fsync and signature covers more; *n counts the jobs run. */
static void run_batch(relay *R, job *batch, unsigned long *n)
{
	pl_store *s = R->store;
	uint64_t now = pl_now();
	job *first = batch;
	uint8_t note[PL_LEAF_NOTE_MAX];
	size_t notelen = 0;
	int in_txn, grew = 0;

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
				j->res = run_job(R, j, now);
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
			 * transaction (and the batch's log appends) down with it. */
			j->res = run_job(R, j, now);
			if (j->res == PL_STORE_FAIL)
				pl_store_rollback(s);
		}
		/* Also reached when SQLite itself rolled back (full disk, I/O error). */
		if (!pl_store_in_txn(s)) {
			fail_range(first, j->next);
			pl_tlog_rollback(&R->tlog);
			first = j->next;
			in_txn = pl_store_begin(s) == 0;
		}
		if (j->next == NULL && *n < PL_RELAY_BATCH_MAX) {
			unsigned long k;
			pthread_mutex_lock(&R->mu);
			j->next = take_locked(R, PL_RELAY_BATCH_MAX - *n, &k);
			pthread_mutex_unlock(&R->mu);
			*n += k;
			if (first == NULL)
				first = j->next;
		}
	}
	/* One checkpoint for the batch, in its transaction: it is durable
	 * exactly when the leaves it covers are. */
	if (in_txn && R->log && R->tlog.size != R->signed_size) {
		if (log_checkpoint(R, note, &notelen) != PL_STORE_OK) {
			pl_store_rollback(s);
			fail_range(first, NULL);
			in_txn = 0;
		} else {
			grew = 1;
		}
	}
	if (in_txn && pl_store_commit(s) != 0) {
		fail_range(first, NULL);
		in_txn = 0;
	}
	if (!in_txn || !grew) {
		pl_tlog_rollback(&R->tlog); /* nothing new is committed */
	} else {
		pl_tlog_view *v = pl_tlog_seal(&R->tlog, note, notelen);
		R->signed_size = R->tlog.size;
		publish_note(R, note, notelen);
		if (v != NULL) {
			pl_tlog_view_unref(R->current);
			R->current = v;
		} else if (log_reload(R, note, notelen) != 0) {
			/* Committed, but no receipt can be built now: a retry
			 * finds the deposit and gets one. */
			fail_range(batch, NULL);
		}
	}
	attach_receipts(R, batch);
}

static void *committer(void *arg)
{
	relay *R = arg;

	/* It runs at the workers' priority. Raised (nice -10, as it once was),
	 * every job a worker queued woke it at once and it preempted that
	 * worker: more context switches, smaller batches, and ~10 us more
	 * relay CPU per deposit at 64 senders (bench/README.md). */
	pthread_setname_np(pthread_self(), "pl-committer");
	pthread_mutex_lock(&R->mu);
	for (;;) {
		while (R->head == NULL && !R->stopping)
			pthread_cond_wait(&R->work_cv, &R->mu);
		if (R->head == NULL)
			break;
		unsigned long n;
		job *batch = take_locked(R, PL_RELAY_BATCH_MAX, &n);
		pthread_mutex_unlock(&R->mu);

		run_batch(R, batch, &n);

		/* Resume exactly the connections of this batch. A job lives in
		 * its connection's request, which may be freed as soon as the
		 * connection is resumed: read `next` first, touch nothing after. */
		for (job *j = batch, *next; j != NULL; j = next) {
			next = j->next;
			MHD_resume_connection(j->con);
		}
		pthread_mutex_lock(&R->mu);
		R->inflight -= n;
		if (R->inflight == 0)
			pthread_cond_broadcast(&R->idle_cv);
	}
	pthread_mutex_unlock(&R->mu);
	return NULL;
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
	R_ACK,
	R_LOG_LATEST,
	R_LOG_CHECKPOINT,
	R_LOG_INCLUSION,
	R_LOG_CONSISTENCY,
	R_LOG_LEAVES
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
	job j;
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

static void parse_log_route(req *q, const char *path, const char *query, int get)
{
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
			q->max = PL_AUTH_ACK_BODY_LEN;
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

static void *uri_logger(void *cls, const char *uri, struct MHD_Connection *con)
{
	(void)cls;
	(void)con;
	req *q = calloc(1, sizeof *q);
	if (q == NULL)
		return NULL;
	pl_wr_init(&q->j.out);
	if (uri != NULL)
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
	pl_tlog_view_unref(q->j.view);
	pl_wr_free(&q->j.out);
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
static enum MHD_Result submit(relay *R, struct MHD_Connection *con, req *q, int kind)
{
	job *j = &q->j;

	j->kind = kind;
	j->con = con;
	j->next = NULL;
	pthread_mutex_lock(&R->mu);
	if (R->closing) {
		pthread_mutex_unlock(&R->mu);
		return reply_error(con, MHD_HTTP_SERVICE_UNAVAILABLE,
				   "the relay is shutting down; try again later");
	}
	/* Suspend before the committer can see the job, so that its resume
	 * always finds the connection suspended. */
	MHD_suspend_connection(con);
	q->state = Q_WAITING;
	if (R->tail)
		R->tail->next = j;
	else
		R->head = j;
	R->tail = j;
	R->inflight++;
	pthread_cond_signal(&R->work_cv);
	pthread_mutex_unlock(&R->mu);
	return MHD_YES;
}

/* Checks the owner signature; on failure answers 401 and returns -1. */
static int owner_auth(struct MHD_Connection *con, req *q, const char *method, const uint8_t *mbx,
		      enum MHD_Result *ret)
{
	job *j = &q->j;
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
static int auth_fields(struct MHD_Connection *con, job *j)
{
	const char *t = header(con, PL_AUTH_HDR_TIME), *s = header(con, PL_AUTH_HDR_SIG);

	if (pl_auth_parse_u64(&j->auth_time, t) != 0 || s == NULL || strlen(s) != 2 * PL_SIG_LEN ||
	    pl_hex_decode(j->sig, PL_SIG_LEN, s) != 0)
		return -1;
	return 0;
}

static enum MHD_Result reply_latest(relay *R, struct MHD_Connection *con)
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

/* First stage, on a worker: everything that needs no storage. Answers at
 * once, or queues a job and suspends the connection. */
static enum MHD_Result handle(relay *R, struct MHD_Connection *con, req *q, const char *method)
{
	job *j = &q->j;
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
	case R_BUNDLE_PUT: {
		uint8_t m[PL_MAILBOX_LEN];
		if (owner_auth(con, q, method, q->id, &ret) != 0)
			return ret;
		q->upload = malloc(sizeof *q->upload);
		if (q->upload == NULL)
			return reply_error(con, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory");
		if (pl_proto_bundle_upload_decode(q->upload, q->body, q->len) != 0)
			return reply_error(
			    con, MHD_HTTP_BAD_REQUEST,
			    "malformed bundle upload (or bad signed-prekey signature)");
		pl_mailbox_id(m, q->upload->ik);
		if (memcmp(m, q->id, sizeof m) != 0)
			return reply_error(con, MHD_HTTP_BAD_REQUEST,
					   "bundle identity key does not own this mailbox");
		j->upload = q->upload;
		return submit(R, con, q, J_BUNDLE_PUT);
	}
	case R_BUNDLE_GET:
		return submit(R, con, q, J_BUNDLE_GET);
	case R_TOKEN_PUT:
		if (owner_auth(con, q, method, q->id, &ret) != 0)
			return ret;
		if (pl_proto_token_decode(j->hash, q->body, q->len) != 0)
			return reply_error(con, MHD_HTTP_BAD_REQUEST,
					   "malformed token body: want u8 1 and SHA-256(token)");
		return submit(R, con, q, J_TOKEN_PUT);
	case R_GRANT_PUT:
		if (owner_auth(con, q, method, NULL, &ret) != 0)
			return ret;
		if (pl_proto_grant_decode(&j->data, &j->datalen, q->body, q->len) != 0)
			return reply_error(con, MHD_HTTP_BAD_REQUEST,
					   "malformed grant body: want u8 1 and var(blob <= 256)");
		return submit(R, con, q, J_GRANT_PUT);
	case R_GRANT_GET:
		return submit(R, con, q, J_GRANT_GET);
	case R_DEPOSIT: {
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
		return submit(R, con, q, J_DEPOSIT);
	}
	case R_LIST:
		if (owner_auth(con, q, method, q->id, &ret) != 0)
			return ret;
		j->seq = q->after;
		return submit(R, con, q, J_LIST);
	case R_ACK:
		if (owner_auth(con, q, method, q->id, &ret) != 0)
			return ret;
		if (pl_auth_ack_decode(&j->seq, q->body, q->len) != 0)
			return reply_error(con, MHD_HTTP_BAD_REQUEST,
					   "malformed ack body: want u8 1 and seq u64");
		if (auth_fields(con, j) != 0) /* verified above, so this cannot fail */
			return reply_error(con, MHD_HTTP_UNAUTHORIZED, "bad signature");
		return submit(R, con, q, J_ACK);
	case R_LOG_LATEST:
		return reply_latest(R, con);
	case R_LOG_CHECKPOINT:
		j->a = q->qa;
		return submit(R, con, q, J_LOG_CHECKPOINT);
	case R_LOG_INCLUSION:
		j->a = q->qa;
		j->b = q->qb;
		return submit(R, con, q, J_LOG_INCLUSION);
	case R_LOG_CONSISTENCY:
		j->a = q->qa;
		j->b = q->qb;
		return submit(R, con, q, J_LOG_CONSISTENCY);
	case R_LOG_LEAVES:
		j->a = q->qa;
		j->b = q->qb;
		return submit(R, con, q, J_LOG_LEAVES);
	default:
		return reply_error(con, MHD_HTTP_NOT_FOUND, "no such endpoint");
	}
}

/* The receipt of a committed deposit: the batch's checkpoint and the
 * leaf's inclusion proof in it. */
static enum MHD_Result answer_deposit(relay *R, struct MHD_Connection *con, job *j)
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
	if (!R->log) {
		/* --no-log: the fixed fields and no checkpoint; clients refuse
		 * this, which is right for a relay that keeps no log. */
		n = PL_RECEIPT_FIXED_LEN;
		out[0] = PL_RECEIPT_VERSION;
		memcpy(out + 1, rc.mbx, PL_MAILBOX_LEN);
		pl_be64_put(out + 33, rc.seq);
		pl_be64_put(out + 41, rc.time);
		memcpy(out + 49, rc.hash, PL_PROTO_HASH_LEN);
		pl_be64_put(out + 81, PL_STORE_NO_LEAF);
		memset(out + n, 0, 5);
		return reply_bytes(con, out, n + 5);
	}
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
static enum MHD_Result answer(relay *R, struct MHD_Connection *con, req *q)
{
	job *j = &q->j;

	switch (j->kind) {
	case J_BUNDLE_PUT:
		return j->res == PL_STORE_OK
			   ? reply_empty(con)
			   : reply_store(con, j->res, "",
					 "too many one-time prekeys stored (at most 1000)");
	case J_BUNDLE_GET:
		if (j->res != PL_STORE_OK)
			return reply_store(con, j->res, "no bundle published for this mailbox", "");
		pl_bundle_encode(&j->out, &j->bundle);
		return reply_wr(con, &j->out, "application/octet-stream");
	case J_TOKEN_PUT:
		return j->res == PL_STORE_OK ? reply_empty(con) : reply_store(con, j->res, "", "");
	case J_GRANT_PUT:
		return j->res == PL_STORE_OK
			   ? reply_empty(con)
			   : reply_store(con, j->res, "",
					 "this grant locator belongs to another mailbox");
	case J_GRANT_GET:
		if (j->res != PL_STORE_OK)
			return reply_store(con, j->res, "no grant at this locator", "");
		if (pl_proto_grant_encode(&j->out, j->blob, j->bloblen) != 0)
			return MHD_NO;
		return reply_wr(con, &j->out, "application/octet-stream");
	case J_DEPOSIT:
		if (j->res != PL_STORE_OK)
			return reply_store(con, j->res, "", "");
		return answer_deposit(R, con, j);
	case J_LIST:
		if (j->res != PL_STORE_OK)
			return reply_store(con, j->res, "", "");
		return reply_wr(con, &j->out, "application/octet-stream");
	case J_ACK:
		return j->res == PL_STORE_OK
			   ? reply_empty(con)
			   : reply_store(con, j->res, "",
					 "seq is beyond the last one assigned in this mailbox");
	case J_LOG_CHECKPOINT:
		if (j->res != PL_STORE_OK)
			return reply_store(con, j->res,
					   "the relay has signed no checkpoint of that size", "");
		return reply_wr(con, &j->out, TEXT_TYPE);
	case J_LOG_INCLUSION:
	case J_LOG_CONSISTENCY:
		if (j->res != PL_STORE_OK)
			return reply_store(con, j->res,
					   "size is beyond the relay's newest checkpoint", "");
		return reply_wr(con, &j->out, "application/octet-stream");
	case J_LOG_LEAVES:
		if (j->res != PL_STORE_OK)
			return reply_store(con, j->res,
					   "start is beyond the relay's newest checkpoint", "");
		return reply_wr(con, &j->out, "application/octet-stream");
	}
	return reply_store(con, PL_STORE_FAIL, "", "");
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
	if (q->status != 0)
		return reply_error(con, (unsigned)q->status, q->msg);
	return handle(R, con, q, method);
}

/* ---- command line and lifecycle -------------------------------------- */

static const char usage[] =
    "usage: parley-relay --listen ADDR:PORT --data DIR [--tls-cert FILE --tls-key FILE]\n"
    "       parley-relay --print-key --data DIR\n"
    "\n"
    "The parley relay: an untrusted store-and-forward server for sealed envelopes,\n"
    "prekey bundles, access tokens and grants, with a transparency log of every\n"
    "deposit and fetch (docs/PROTOCOL.md).\n"
    "\n"
    "  --listen ADDR:PORT  IPv4 address and port to serve; port 0 picks a free port.\n"
    "                      The first line on stdout is \"listening on ADDR:PORT\".\n"
    "  --data DIR          directory for relay.db and relay.key (created if missing)\n"
    "  --tls-cert FILE     serve HTTPS with this PEM certificate (needs --tls-key)\n"
    "  --tls-key FILE      PEM private key of the certificate\n"
    "  --print-key         print the log's C2SP verifier key (name+keyid+base64) and\n"
    "                      exit; creates relay.key in DIR if there is none yet\n"
    "  --no-log            BENCHMARK SWITCH: keep no transparency log. Receipts then\n"
    "                      carry no checkpoint and every client refuses them; the data\n"
    "                      directory is marked and no relay with its log will serve it.\n"
    "  --help              show this help\n"
    "\n"
    "Deposits are committed to disk, with their log leaf and a signed checkpoint,\n"
    "before their receipt is sent. SIGTERM or SIGINT stops the relay after\n"
    "in-flight requests finish.\n"
    "Exit status: 0 after a clean stop, 1 on a runtime failure, 2 on bad usage.\n";

typedef struct {
	const char *listen, *data, *cert, *key;
	int print_key, no_log;
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
	if (pl_auth_parse_u64(&port, colon + 1) != 0 || port > 65535)
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
		if (strcmp(a, "--print-key") == 0 || strcmp(a, "--no-log") == 0) {
			int *flag = a[2] == 'p' ? &o->print_key : &o->no_log;
			if (*flag)
				return usage_error("%s given twice", a);
			*flag = 1;
			continue;
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
	if (o->print_key) {
		if (o->listen != NULL || o->cert != NULL || o->key != NULL || o->no_log)
			return usage_error("--print-key takes only --data DIR");
		if (o->data == NULL)
			return usage_error("--data DIR is required");
		return 0;
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

static int print_key(const opts *o)
{
	uint8_t sk[PL_IK_SK_LEN], pk[PL_IK_LEN];
	char vkey[PL_NOTE_VKEY_MAX];
	pl_err err;
	int rc;

	pl_err_clear(&err);
	umask(077);
	if (mkdir(o->data, 0700) != 0 && errno != EEXIST)
		return fail("cannot create data directory %s: %s", o->data, strerror(errno));
	if (pl_relay_key_load(sk, pk, o->data, &err) != 0)
		return fail("%s", err.msg);
	sodium_memzero(sk, sizeof sk);
	if (pl_leaf_log_vkey_string(vkey, pk) != 0)
		return fail("cannot format the verifier key");
	rc = printf("%s\n", vkey) < 0 || fflush(stdout) != 0;
	return rc ? fail("cannot write to stdout") : PL_EXIT_OK;
}

/* Opens the log: its size, the frontier in memory, the newest checkpoint
 * (checked against the tree and the key), and a first checkpoint if the
 * tree has none for its size. Or, with --no-log, marks the directory. */
static int log_open(relay *R, int no_log)
{
	pl_store *s = R->store;
	pl_merkle_source src;
	pl_checkpoint cp;
	uint8_t note[PL_LEAF_NOTE_MAX], root[PL_MERKLE_HASH_LEN];
	uint64_t size, cpsize = 0;
	size_t notelen = 0;
	int64_t nolog = 0;
	int r;

	if (pl_store_log_size(s, &size) != 0)
		return fail("cannot read the log in relay.db");
	r = pl_store_meta_get(s, NOLOG_META, &nolog);
	if (r == PL_STORE_FAIL)
		return fail("cannot read relay.db");
	if (no_log) {
		if (size > 0)
			return fail("--no-log (a benchmark switch) refused: this data directory "
				    "has a transparency log of %llu leaves",
				    (unsigned long long)size);
		if (pl_store_begin(s) != 0 || pl_store_meta_put(s, NOLOG_META, 1) != PL_STORE_OK ||
		    pl_store_commit(s) != 0) {
			pl_store_rollback(s);
			return fail("cannot write relay.db");
		}
		R->log = 0;
		return 0;
	}
	if (nolog != 0)
		return fail("this data directory was served with --no-log (a benchmark switch), "
			    "so its log is incomplete; use a fresh directory");
	R->log = 1;
	pl_store_merkle_source(s, &src);
	if (pl_tlog_init(&R->tlog, &src, size, PL_RELAY_BATCH_MAX) != 0 ||
	    pl_tlog_root(&R->tlog, root) != 0)
		return fail("the log in relay.db is damaged (a stored subtree is missing)");
	r = pl_store_checkpoint_latest(s, &cpsize, note, &notelen);
	if (r == PL_STORE_FAIL)
		return fail("cannot read the log's checkpoints in relay.db");
	if (r == PL_STORE_OK) {
		uint8_t old[PL_MERKLE_HASH_LEN];
		if (pl_leaf_checkpoint_open(&cp, note, notelen, R->pk) != 0 || cp.size != cpsize)
			return fail("the newest checkpoint in relay.db is not signed by relay.key; "
				    "was relay.key replaced?");
		if (cpsize > size || pl_merkle_root(&src, cpsize, old) != 0 ||
		    sodium_memcmp(old, cp.root, sizeof old) != 0)
			return fail("the log in relay.db does not match its newest checkpoint; "
				    "relay.db is damaged");
	}
	if (r == PL_STORE_NOTFOUND || cpsize < size) {
		/* A new log (size 0), or leaves no checkpoint covers yet. */
		if (pl_leaf_checkpoint_sign(note, sizeof note, &notelen, size, root, R->sk) != 0 ||
		    pl_store_begin(s) != 0 ||
		    pl_store_checkpoint_put(s, size, note, notelen) != PL_STORE_OK ||
		    pl_store_commit(s) != 0) {
			pl_store_rollback(s);
			return fail("cannot write the log's first checkpoint to relay.db");
		}
	}
	R->current = pl_tlog_seal(&R->tlog, note, notelen);
	if (R->current == NULL)
		return fail("out of memory");
	R->signed_size = size;
	publish_note(R, note, notelen);
	return 0;
}

/* Worker threads of the HTTP daemon: at least 2, at most 8, one per CPU. */
static unsigned worker_count(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 2 ? 2 : n > 8 ? 8 : (unsigned)n;
}

/* Stops taking jobs and waits (bounded) until every queued one is answered,
 * so that no connection is left suspended when the daemon stops. */
static int drain(relay *R)
{
	struct timespec until;
	int ok = 1;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += DRAIN_WAIT_S;
	pthread_mutex_lock(&R->mu);
	R->closing = 1;
	while (R->inflight > 0 && ok)
		ok = pthread_cond_timedwait(&R->idle_cv, &R->mu, &until) != ETIMEDOUT;
	ok = R->inflight == 0;
	pthread_mutex_unlock(&R->mu);
	return ok ? 0 : -1;
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
	if (o.print_key)
		return print_key(&o);
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
	pthread_mutex_init(&R.mu, NULL);
	pthread_mutex_init(&R.log_mu, NULL);
	pthread_cond_init(&R.work_cv, NULL);
	pthread_cond_init(&R.idle_cv, NULL);
	if (pl_relay_key_load(R.sk, R.pk, o.data, &err) != 0 ||
	    pl_store_open(&R.store, o.data, &err) != 0) {
		fail("%s", err.msg);
		goto out;
	}
	if (log_open(&R, o.no_log) != 0)
		goto out;
	lfd = open_listener(&o.addr, &bound);
	if (lfd < 0) {
		fail("cannot listen on %s: %s", o.listen, strerror(errno));
		goto out;
	}
	R.last_prune = 0;
	if (pthread_create(&th, NULL, committer, &R) != 0) {
		fail("cannot start the committer thread");
		goto out;
	}
	started = 1;

	{
		/* poll(), not epoll: every deposit suspends its connection until
		 * the group commit resumes it, and under epoll each suspend and
		 * resume is an epoll_ctl() removing and re-adding the socket
		 * (~6 % of a worker's time at 64 senders). A poll() worker just
		 * leaves suspended sockets out of its next call. Its cost grows
		 * with the connections a worker holds, which PL_RELAY_CONN_LIMIT
		 * bounds; bench/README.md has both measured. */
		unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL |
				 MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG;
		if (cert != NULL)
			flags |= MHD_USE_TLS;
		struct MHD_OptionItem tls[] = {
		    {cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, cert},
		    {MHD_OPTION_HTTPS_MEM_KEY, 0, key},
		    {MHD_OPTION_END, 0, NULL},
		};
		d = MHD_start_daemon(
		    flags, 0, NULL, NULL, on_request, &R, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, &R,
		    MHD_OPTION_LISTEN_SOCKET, lfd, MHD_OPTION_THREAD_POOL_SIZE, worker_count(),
		    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)PL_RELAY_CONN_TIMEOUT,
		    MHD_OPTION_CONNECTION_LIMIT, (unsigned)PL_RELAY_CONN_LIMIT,
		    MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)PL_RELAY_CONN_MEMORY,
		    MHD_OPTION_STRICT_FOR_CLIENT, (int)1, MHD_OPTION_URI_LOG_CALLBACK, uri_logger,
		    NULL, MHD_OPTION_NOTIFY_COMPLETED, request_done, NULL, MHD_OPTION_ARRAY, tls,
		    MHD_OPTION_END);
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
	/* Stop accepting, answer what is queued (the committer still runs and
	 * resumes every suspended connection), then stop the daemon. */
	if (d != NULL) {
		MHD_socket ls = MHD_quiesce_daemon(d);
		if (drain(&R) != 0) {
			/* MHD cannot stop with connections suspended; a committer
			 * stuck this long means the disk is: leave by exit. */
			fail("requests still waiting for storage after %d s; exiting",
			     DRAIN_WAIT_S);
			_exit(PL_EXIT_ERROR);
		}
		MHD_stop_daemon(d);
		if (ls != MHD_INVALID_SOCKET)
			close(ls);
	}
	if (lfd >= 0)
		close(lfd);
	if (started) {
		pthread_mutex_lock(&R.mu);
		R.stopping = 1;
		pthread_cond_signal(&R.work_cv);
		pthread_mutex_unlock(&R.mu);
		pthread_join(th, NULL);
	}
	pl_tlog_view_unref(R.current);
	pl_tlog_free(&R.tlog);
	pl_store_close(R.store);
	sodium_memzero(R.sk, sizeof R.sk);
	if (key) {
		sodium_memzero(key, keycap);
		free(key);
	}
	free(cert);
	return rc;
}
