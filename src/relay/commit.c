/*
 * commit.c — the group committer of parley-relay: the job queue between
 * the HTTP workers and the one committer thread, the batch transaction,
 * and the transparency log's in-memory tree and newest checkpoint.
 *
 * The committer takes every job queued so far, runs them inside one
 * SQLite transaction (WAL, synchronous=FULL), appends a log leaf for every
 * accepted deposit and ack in that same transaction, computes the new root
 * from the in-memory tree view (relay/tlog.h), signs ONE checkpoint for
 * the batch, stores it in the same transaction, and commits once: one
 * fsync and one Ed25519 signature cover the whole batch. Then it resumes
 * exactly those connections; their worker builds each answer
 * (relay/routes.c) from the job's result and the sealed view attached to
 * it. Jobs check before they write, so a refused job leaves nothing behind
 * without a savepoint of its own; a storage failure fails the whole
 * transaction (503), never half of it, and so does a full store (507:
 * the disk, or the operator's cap), after which deposits are refused
 * without a write until an acknowledgment frees room, so that fetches and
 * acks go on. Nothing a refused or failed transaction held is ever
 * acknowledged.
 *
 * It must never mark a job done before COMMIT returned, publish a
 * checkpoint that is not committed, touch a job's connection after
 * resuming it, parse HTTP or build an answer, or leave a queued connection
 * suspended at shutdown.
 */
#include <errno.h>
#include <microhttpd.h>
#include <pthread.h>
#include <string.h>
#include <time.h>

#include "log/leaf.h"
#include "log/merkle.h"
#include "relay/proto.h"
#include "relay/server_int.h"
#include "relay/store.h"
#include "relay/tlog.h"
#include "util/codec.h"
#include "util/wire.h"

#define PRUNE_EVERY 60 /* seconds between nonce-table prunes */

void pl_relay_publish_note(pl_relay *R, uint64_t size, const uint8_t *note, size_t len)
{
	pthread_mutex_lock(&R->log_mu);
	memcpy(R->note, note, len);
	R->notelen = len;
	R->note_size = size;
	pthread_mutex_unlock(&R->log_mu);
}

/* Appends a leaf (index = the tree's size) to the in-memory tree and to the
 * store, in the caller's transaction, and notes it in j for the index by
 * mailbox (which takes it only once the transaction has committed). */
static int log_append(pl_relay *R, pl_relay_job *j, const pl_leaf *l)
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
	j->leaf = index;
	j->leaf_type = l->type;
	j->appended = 1;
	/* On failure the caller rolls back the transaction and the tree. */
	return pl_store_leaf_put(R->store, index, data, n, nodes, cnt);
}

/* Signs the checkpoint of the current tree and stores it (caller's
 * transaction). */
static int log_checkpoint(pl_relay *R, uint8_t note[static PL_LEAF_NOTE_MAX], size_t *len)
{
	uint8_t root[PL_MERKLE_HASH_LEN];

	if (pl_tlog_root(&R->tlog, root) != 0 ||
	    pl_leaf_checkpoint_sign(note, PL_LEAF_NOTE_MAX, len, R->tlog.size, root, R->sk) != 0)
		return PL_STORE_FAIL;
	return pl_store_checkpoint_put(R->store, R->tlog.size, note, *len);
}

/* GET /log/mailbox: the leaves the worker found in the index, each with
 * its inclusion proof in the tree of the signed size j->b. */
static int run_log_mailbox(pl_relay *R, pl_relay_job *j)
{
	pl_store *s = R->store;
	pl_merkle_source src;
	uint8_t note[PL_LEAF_NOTE_MAX], data[PL_LEAF_MAX];
	uint8_t proof[PL_MERKLE_PROOF_MAX][PL_MERKLE_HASH_LEN];
	size_t n, dn;
	pl_leaf l;
	int r;

	if (j->b > R->signed_size)
		return PL_STORE_NOTFOUND;
	r = pl_store_checkpoint_get(s, j->b, note, &n);
	if (r != PL_STORE_OK)
		return r;
	pl_store_merkle_source(s, &src);
	pl_proto_mbxlog_encode_begin(&j->out, (uint32_t)j->nhits);
	for (size_t i = 0; i < j->nhits; i++) {
		uint64_t at = j->hits[i].index;
		/* The index only ever points at this mailbox's leaves; one that
		 * does not is a damaged index, never served. */
		if (at >= j->b || pl_store_leaf_get(s, at, data, &dn) != PL_STORE_OK ||
		    pl_leaf_decode(&l, data, dn) != 0 ||
		    memcmp(l.mbx, j->id, PL_MAILBOX_LEN) != 0 ||
		    pl_mbxidx_kind_of(l.type) != j->hits[i].kind ||
		    pl_merkle_prove_inclusion(&src, at, j->b, proof, &n) != 0 ||
		    n > PL_PROTO_MBXLOG_PROOF_MAX)
			return PL_STORE_FAIL;
		pl_proto_mbxlog_encode_item(&j->out, at, data, dn, (const uint8_t(*)[32])proof, n);
	}
	return pl_wr_ok(&j->out) == 0 ? PL_STORE_OK : PL_STORE_FAIL;
}

static int run_log_read(pl_relay *R, pl_relay_job *j)
{
	pl_store *s = R->store;
	pl_merkle_source src;
	uint8_t note[PL_LEAF_NOTE_MAX], proof[PL_MERKLE_PROOF_MAX][PL_MERKLE_HASH_LEN];
	size_t n = 0;

	/* Only what a committed checkpoint covers is served. */
	pl_store_merkle_source(s, &src);
	switch (j->kind) {
	case PL_JOB_LOG_CHECKPOINT:
		if (j->a > R->signed_size)
			return PL_STORE_NOTFOUND;
		if (pl_store_checkpoint_get(s, j->a, note, &n) != PL_STORE_OK)
			return PL_STORE_NOTFOUND;
		pl_wr_bytes(&j->out, note, n);
		return pl_wr_ok(&j->out) == 0 ? PL_STORE_OK : PL_STORE_FAIL;
	case PL_JOB_LOG_INCLUSION:
		if (j->b > R->signed_size)
			return PL_STORE_NOTFOUND;
		if (pl_merkle_prove_inclusion(&src, j->a, j->b, proof, &n) != 0)
			return PL_STORE_FAIL;
		break;
	case PL_JOB_LOG_CONSISTENCY:
		if (j->b > R->signed_size)
			return PL_STORE_NOTFOUND;
		if (pl_merkle_prove_consistency(&src, j->a, j->b, proof, &n) != 0)
			return PL_STORE_FAIL;
		break;
	case PL_JOB_LOG_LEAVES:
		if (j->a >= R->signed_size)
			return PL_STORE_NOTFOUND;
		if (j->b > R->signed_size - j->a)
			j->b = R->signed_size - j->a;
		return pl_store_leaves(s, j->a, (uint32_t)j->b, &j->out);
	case PL_JOB_LOG_MAILBOX:
		return run_log_mailbox(R, j);
	default:
		return PL_STORE_FAIL;
	}
	return pl_proto_proof_encode(&j->out, (const uint8_t(*)[32])proof, n) == 0 ? PL_STORE_OK
										   : PL_STORE_FAIL;
}

static uint64_t mono_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000u + (uint64_t)t.tv_nsec / 1000000u;
}

/* A token or bundle upload for a mailbox the relay does not know creates
 * it: counted against the client address's allowance (relay/mbxrate.h). */
static int new_mailbox_allowed(pl_relay *R, pl_relay_job *j)
{
	int known;

	if (R->mbxrate.per_hour == 0)
		return PL_STORE_OK;
	known = pl_store_mailbox_known(R->store, j->id);
	if (known != 0)
		return known > 0 ? PL_STORE_OK : PL_STORE_FAIL;
	j->retry_after = pl_mbxrate_take(&R->mbxrate, j->client, mono_ms());
	return j->retry_after == 0 ? PL_STORE_OK : PL_STORE_RATE;
}

static int run_job(pl_relay *R, pl_relay_job *j, uint64_t now)
{
	pl_store *s = R->store;
	pl_leaf l;
	int r, append = 0;

	if (j->authed) {
		r = pl_store_nonce_use(s, j->signer, j->nonce, now);
		if (r != PL_STORE_OK)
			return r;
	}
	if (j->kind == PL_JOB_BUNDLE_PUT || j->kind == PL_JOB_TOKEN_PUT) {
		r = new_mailbox_allowed(R, j);
		if (r != PL_STORE_OK)
			return r;
	}
	switch (j->kind) {
	case PL_JOB_BUNDLE_PUT:
		return pl_store_bundle_put(s, j->id, j->upload);
	case PL_JOB_BUNDLE_GET:
		return pl_store_bundle_take(s, j->id, &j->bundle);
	case PL_JOB_TOKEN_PUT:
		return pl_store_token_put(s, j->id, j->hash);
	case PL_JOB_GRANT_PUT:
		return pl_store_grant_put(s, j->id, j->signer, j->data, j->datalen);
	case PL_JOB_GRANT_GET:
		return pl_store_grant_get(s, j->id, j->blob, &j->bloblen);
	case PL_JOB_DEPOSIT:
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
		return log_append(R, j, &l);
	case PL_JOB_LIST:
		return pl_store_list(s, j->id, j->seq, &j->out);
	case PL_JOB_ACK:
		r = pl_store_ack(s, j->id, j->seq);
		if (r != PL_STORE_OK || !R->log)
			return r;
		memset(&l, 0, sizeof l);
		l.type = PL_LEAF_ACK;
		memcpy(l.mbx, j->id, PL_MAILBOX_LEN);
		memcpy(l.owner, j->owner, PL_IK_LEN);
		l.ack = j->ack;
		l.auth_time = j->auth_time;
		memcpy(l.nonce, j->nonce, PL_AUTH_NONCE_LEN);
		memcpy(l.sig, j->sig, PL_SIG_LEN);
		l.relay_time = now;
		return log_append(R, j, &l);
	default:
		return run_log_read(R, j);
	}
}

/* Marks as failed (res: PL_STORE_FAIL, or PL_STORE_FULL) every job from
 * `from` up to (not including) `to` that had succeeded: their transaction
 * is gone. */
static void fail_range(pl_relay_job *from, pl_relay_job *to, int res)
{
	for (pl_relay_job *k = from; k != to; k = k->next)
		if (k->res == PL_STORE_OK)
			k->res = res;
}

/* Why the open transaction failed: the store full (and from now on
 * deposits are refused without a write, for a while), or anything else. */
static int failure(pl_relay *R, uint64_t now)
{
	if (!pl_store_full(R->store))
		return PL_STORE_FAIL;
	R->full_until = now + PL_RELAY_FULL_RETRY_S;
	return PL_STORE_FULL;
}

/* After a committed batch: every accepted deposit gets the sealed view of
 * the newest checkpoint; a leaf older than that view's batch (a retried
 * deposit) gets its proof here, from the store. */
static void attach_receipts(pl_relay *R, pl_relay_job *batch)
{
	pl_merkle_source src;

	pl_store_merkle_source(R->store, &src);
	for (pl_relay_job *j = batch; j != NULL; j = j->next) {
		if (j->kind != PL_JOB_DEPOSIT || j->res != PL_STORE_OK || !R->log)
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
static int log_reload(pl_relay *R, const uint8_t *note, size_t notelen)
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
static pl_relay_job *take_locked(pl_relay *R, unsigned long max, unsigned long *n)
{
	pl_relay_job *batch = R->head, *last = batch;

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

/* The only job that may refuse after writing (too many prekeys): it gets
 * a savepoint of its own. */
static void run_savepointed(pl_relay *R, pl_relay_job *j, uint64_t now)
{
	pl_store *s = R->store;

	if (pl_store_savepoint(s) != 0) {
		j->res = PL_STORE_FAIL;
		return;
	}
	j->res = run_job(R, j, now);
	if (j->res == PL_STORE_OK) {
		if (pl_store_release(s) != 0)
			j->res = PL_STORE_FAIL;
		return;
	}
	pl_store_rollback_savepoint(s);
	/* A signed request that was refused still used its nonce. */
	if (j->res != PL_STORE_REPLAY && j->res != PL_STORE_FAIL)
		(void)pl_store_nonce_use(s, j->signer, j->nonce, now);
}

/* Runs one job in the open transaction. */
static void run_in_txn(pl_relay *R, pl_relay_job *j, uint64_t now)
{
	if (j->kind == PL_JOB_DEPOSIT && now < R->full_until) {
		j->res = PL_STORE_FULL;
		return;
	}
	if (j->kind == PL_JOB_BUNDLE_PUT) {
		run_savepointed(R, j, now);
	} else {
		/* Every other job checks before it writes, so a refusal leaves
		 * nothing behind. */
		j->res = run_job(R, j, now);
	}
	/* A storage failure may have left writes behind, so it takes the
	 * transaction (and the batch's log appends) down with it. */
	if (j->res == PL_STORE_FAIL) {
		j->res = failure(R, now);
		pl_store_rollback(R->store);
	}
}

/* Appends the jobs queued meanwhile after the batch's last job j, up to
 * PL_RELAY_BATCH_MAX in all; *n counts them. */
static void join_queued(pl_relay *R, pl_relay_job *j, unsigned long *n)
{
	unsigned long k;

	if (*n >= PL_RELAY_BATCH_MAX)
		return;
	pthread_mutex_lock(&R->mu);
	j->next = take_locked(R, PL_RELAY_BATCH_MAX - *n, &k);
	pthread_mutex_unlock(&R->mu);
	*n += k;
}

/* After the batch's transaction committed: its leaves go into the index by
 * mailbox, before its checkpoint is published, so that a lookup below a
 * published size misses none. Only jobs that still succeed were in the
 * committed transaction (fail_range marked the others). */
static void index_batch(pl_relay *R, pl_relay_job *batch)
{
	pl_mbxidx *x = pl_store_mbxidx(R->store);

	for (pl_relay_job *j = batch; j != NULL; j = j->next) {
		int kind = pl_mbxidx_kind_of(j->leaf_type);
		if (j->res != PL_STORE_OK || !j->appended || kind < 0)
			continue;
		/* On failure the index marks itself broken and the mailbox
		 * endpoint refuses to answer, rather than answer incompletely. */
		(void)pl_mbxidx_add(x, j->id, j->leaf, kind);
	}
}

/* Ends the batch's transaction: one checkpoint for the batch, in it, so
 * that it is durable exactly when the leaves it covers are, and one
 * COMMIT. Then the tree is sealed (and the checkpoint published) or rolled
 * back. Jobs from `first` on fail if the transaction does; `batch` is the
 * whole batch. */
static void commit_batch(pl_relay *R, pl_relay_job *batch, pl_relay_job *first, int in_txn,
			 uint64_t now)
{
	pl_store *s = R->store;
	uint8_t note[PL_LEAF_NOTE_MAX];
	size_t notelen = 0;
	int grew = 0;

	if (in_txn && R->log && R->tlog.size != R->signed_size) {
		if (log_checkpoint(R, note, &notelen) != PL_STORE_OK) {
			pl_store_rollback(s);
			fail_range(first, NULL, failure(R, now));
			in_txn = 0;
		} else {
			grew = 1;
		}
	}
	if (in_txn && pl_store_commit(s) != 0) {
		fail_range(first, NULL, failure(R, now));
		in_txn = 0;
	}
	if (!in_txn || !grew) {
		pl_tlog_rollback(&R->tlog); /* nothing new is committed */
		return;
	}
	index_batch(R, batch);
	pl_tlog_view *v = pl_tlog_seal(&R->tlog, note, notelen);
	R->signed_size = R->tlog.size;
	pl_relay_publish_note(R, R->signed_size, note, notelen);
	if (v != NULL) {
		pl_tlog_view_unref(R->current);
		R->current = v;
	} else if (log_reload(R, note, notelen) != 0) {
		/* Committed, but no receipt can be built now: a retry
		 * finds the deposit and gets one. */
		fail_range(batch, NULL, PL_STORE_FAIL);
	}
}

/* Runs the batch in one transaction. Jobs queued while it runs join it (up
 * to PL_RELAY_BATCH_MAX in all), so a busy relay commits less often and
 * each fsync and signature covers more; *n counts the jobs run. */
static void run_batch(pl_relay *R, pl_relay_job *batch, unsigned long *n)
{
	pl_store *s = R->store;
	uint64_t now = pl_now();
	pl_relay_job *first = batch; /* the first job of the open transaction */
	int in_txn;

	in_txn = pl_store_begin(s) == 0;
	if (in_txn && now >= R->last_prune + PRUNE_EVERY) {
		(void)pl_store_nonce_prune(s, now); /* one statement: all or nothing */
		R->last_prune = now;
	}
	for (pl_relay_job *j = batch; j != NULL; j = j->next) {
		if (!in_txn) {
			j->res = PL_STORE_FAIL;
			continue;
		}
		run_in_txn(R, j, now);
		/* Also reached when SQLite itself rolled back (full disk, I/O error). */
		if (!pl_store_in_txn(s)) {
			fail_range(first, j->next,
				   j->res == PL_STORE_FULL ? PL_STORE_FULL : PL_STORE_FAIL);
			pl_tlog_rollback(&R->tlog);
			first = j->next;
			in_txn = pl_store_begin(s) == 0;
		}
		if (j->next == NULL) {
			join_queued(R, j, n);
			if (first == NULL)
				first = j->next;
		}
	}
	commit_batch(R, batch, first, in_txn, now);
	attach_receipts(R, batch);
	/* An acknowledgment deleted messages: deposits may find room again. */
	for (pl_relay_job *j = batch; j != NULL && R->full_until != 0; j = j->next)
		if (j->kind == PL_JOB_ACK && j->res == PL_STORE_OK)
			R->full_until = 0;
}

static void *committer(void *arg)
{
	pl_relay *R = arg;

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
		pl_relay_job *batch = take_locked(R, PL_RELAY_BATCH_MAX, &n);
		pthread_mutex_unlock(&R->mu);

		run_batch(R, batch, &n);

		/* Resume exactly the connections of this batch. A job lives in
		 * its connection's request, which may be freed as soon as the
		 * connection is resumed: read `next` first, touch nothing after. */
		for (pl_relay_job *j = batch, *next; j != NULL; j = next) {
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

int pl_relay_commit_start(pl_relay *R)
{
	if (pthread_create(&R->committer, NULL, committer, R) != 0)
		return -1;
	R->committing = 1;
	return 0;
}

void pl_relay_commit_stop(pl_relay *R)
{
	if (!R->committing)
		return;
	pthread_mutex_lock(&R->mu);
	R->stopping = 1;
	pthread_cond_signal(&R->work_cv);
	pthread_mutex_unlock(&R->mu);
	pthread_join(R->committer, NULL);
	R->committing = 0;
}

int pl_relay_submit(pl_relay *R, struct MHD_Connection *con, pl_relay_job *j)
{
	j->con = con;
	j->next = NULL;
	pthread_mutex_lock(&R->mu);
	if (R->closing) {
		pthread_mutex_unlock(&R->mu);
		return -1;
	}
	/* Suspend before the committer can see the job, so that its resume
	 * always finds the connection suspended. */
	MHD_suspend_connection(con);
	if (R->tail)
		R->tail->next = j;
	else
		R->head = j;
	R->tail = j;
	R->inflight++;
	pthread_cond_signal(&R->work_cv);
	pthread_mutex_unlock(&R->mu);
	return 0;
}

/* Bounded, so that a stuck disk cannot hold the relay forever; and complete
 * otherwise, so that no connection is left suspended when the daemon stops. */
int pl_relay_drain(pl_relay *R)
{
	struct timespec until;
	int ok = 1;

	clock_gettime(CLOCK_REALTIME, &until);
	until.tv_sec += PL_RELAY_DRAIN_WAIT_S;
	pthread_mutex_lock(&R->mu);
	R->closing = 1;
	while (R->inflight > 0 && ok)
		ok = pthread_cond_timedwait(&R->idle_cv, &R->mu, &until) != ETIMEDOUT;
	ok = R->inflight == 0;
	pthread_mutex_unlock(&R->mu);
	return ok ? 0 : -1;
}
