/*
 * mbxlog_bench.c — what proving outreach costs a client against a relay
 * holding 1,000,000 log leaves, beside the same relay holding 1,000 (the
 * peer, measured in the same run, rounds interleaved): the prover's part
 * of `prove outreach` that talks to the relay, i.e. fetching the newest
 * checkpoint and GET /log/mailbox for the recipient's acknowledgements,
 * every page of it, with each inclusion proof checked against that
 * checkpoint. With an index by mailbox this grows with log n, not n.
 *
 * Each data directory is built through the relay's own store API, the
 * real leaf and subtree layout (pl_tlog_append, pl_store_leaf_put), one
 * transaction and one signed checkpoint per 100,000 leaves, under a relay
 * key created as parley-relay would: filler deposits spread over 50,000
 * mailboxes, and among them, evenly spaced, DEPOSITS deposits into the
 * recipient's mailbox and as many acknowledgement leaves of it. Then the
 * real parley-relay serves each directory on 127.0.0.1 port 0. Also
 * reported: the store's open time (its one scan that builds the index by
 * mailbox) and the index's memory, and the relay's time to listen.
 *
 * Usage: mbxlog_bench RELAY_BIN WORKDIR [BIG_LEAVES [ROUNDS]]
 *        (defaults 1000000 and 15; WORKDIR must exist and is left with the
 *        two data directories, for the caller to remove)
 */
#include <errno.h>
#include <math.h>
#include <signal.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/messenger.h"
#include "client/nego.h"
#include "client/prove.h"
#include "client/relay_client.h"
#include "identity/identity.h"
#include "log/leaf.h"
#include "log/merkle.h"
#include "log/note.h"
#include "relay/key.h"
#include "relay/mbxidx.h"
#include "relay/proto.h"
#include "relay/store.h"
#include "relay/tlog.h"
#include "util/codec.h"
#include "vault/vault.h"

#define BATCH 100000
#define FILLER_MAILBOXES 50000
#define DEPOSITS 8 /* the pair's deposits, and as many acks */
#define SMALL_LEAVES 1000

typedef struct {
	const char *label;
	uint64_t leaves;
	char dir[512];
	double build_s, open_s, listen_s;
	size_t idx_bytes, idx_leaves, idx_boxes;
	pid_t pid;
	char url[64];
	pl_rc_conn *c;
	uint8_t pk[32];
	double *us;	  /* one per round */
	double *prove_us; /* pl_prove_outreach, one per prove round */
	pl_vault *prover, *peer;
	char vdir[600];
} bench_relay;

static uint8_t recipient_mbx[32];

static double now_s(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static void die(const char *what, const char *why)
{
	fprintf(stderr, "mbxlog_bench: %s: %s\n", what, why);
	exit(1);
}

/* Leaf i of a log of n leaves: the pair's leaves evenly spaced (a deposit,
 * then an ack a little later), the rest filler deposits. */
static void make_leaf(pl_leaf *l, uint64_t i, uint64_t n)
{
	uint64_t step = n / (DEPOSITS + 1);

	memset(l, 0, sizeof *l);
	l->relay_time = 1800000000 + i;
	l->type = PL_LEAF_DEPOSIT;
	l->seq = i + 1;
	memcpy(l->hash, &i, sizeof i);
	for (unsigned k = 1; k <= DEPOSITS; k++) {
		if (i == k * step || i == k * step + 3) {
			memcpy(l->mbx, recipient_mbx, 32);
			if (i == k * step + 3) {
				/* the recipient's ack naming the deposit 3 leaves
				 * back (unsigned: the relay serves leaves as they
				 * are, and this times the prover's reads) */
				l->type = PL_PROTO_MBXLOG_ACK_LEAF;
				l->seq = 0;
				memset(l->hash, 0, sizeof l->hash);
				memset(l->owner, 0xb0, sizeof l->owner);
				l->auth_time = l->relay_time;
				l->ack.through = k * step + 1;
				l->ack.n = 1;
				l->ack.name[0].seq = k * step + 1;
				uint64_t d = k * step;
				memcpy(l->ack.name[0].hash, &d, sizeof d);
			}
			return;
		}
	}
	uint64_t box = (i * 2654435761u) % FILLER_MAILBOXES;
	memcpy(l->mbx, &box, sizeof box);
	l->mbx[31] = 0xf1;
}

/* Writes the data directory of r->leaves leaves through the store API. */
static void build(bench_relay *r)
{
	pl_err e;
	pl_store *s;
	pl_tlog t;
	pl_merkle_source src;
	uint8_t sk[64], data[PL_LEAF_MAX], h[32], root[32], note[PL_LEAF_NOTE_MAX];
	pl_merkle_node nodes[PL_MERKLE_APPEND_MAX];
	size_t cnt, notelen;
	double t0 = now_s();

	if (mkdir(r->dir, 0700) != 0 || pl_relay_key_create(r->dir, &e) != 0 ||
	    pl_relay_key_load(sk, r->pk, r->dir, &e) != 0)
		die(r->dir, "cannot create the relay key");
	if (pl_store_open(&s, r->dir, &e) != 0)
		die(r->dir, e.msg);
	pl_store_merkle_source(s, &src);
	if (pl_tlog_init(&t, &src, 0, BATCH) != 0)
		die(r->dir, "tlog");
	for (uint64_t i = 0; i < r->leaves;) {
		if (pl_store_begin(s) != 0)
			die(r->dir, "begin");
		for (uint64_t k = 0; k < BATCH && i < r->leaves; k++, i++) {
			pl_leaf l;
			make_leaf(&l, i, r->leaves);
			size_t n = pl_leaf_encode(data, &l);
			pl_leaf_hash(h, data, n);
			if (n == 0 || pl_tlog_append(&t, h, nodes, &cnt) != 0 ||
			    pl_store_leaf_put(s, i, data, n, nodes, cnt) != PL_STORE_OK)
				die(r->dir, "append");
		}
		if (pl_tlog_root(&t, root) != 0 ||
		    pl_leaf_checkpoint_sign(note, sizeof note, &notelen, t.size, root, sk) != 0 ||
		    pl_store_checkpoint_put(s, t.size, note, notelen) != PL_STORE_OK ||
		    pl_store_commit(s) != 0)
			die(r->dir, "commit");
		pl_tlog_view_unref(pl_tlog_seal(&t, note, notelen));
	}
	pl_tlog_free(&t);
	pl_store_close(s);
	sodium_memzero(sk, sizeof sk);
	r->build_s = now_s() - t0;
	/* What a relay start pays for the index: the store's open. */
	t0 = now_s();
	if (pl_store_open(&s, r->dir, &e) != 0)
		die(r->dir, e.msg);
	r->open_s = now_s() - t0;
	pl_mbxidx_stats(pl_store_mbxidx(s), &r->idx_leaves, &r->idx_boxes, &r->idx_bytes);
	pl_store_close(s);
}

static void start(bench_relay *r, const char *bin)
{
	int fds[2];
	char line[128] = {0};
	unsigned port = 0;
	double t0 = now_s();
	FILE *f;

	if (pipe(fds) != 0)
		die("pipe", strerror(errno));
	r->pid = fork();
	if (r->pid < 0)
		die("fork", strerror(errno));
	if (r->pid == 0) {
		/* Whatever ends this bench (a timeout, a failure) ends the relay. */
		prctl(PR_SET_PDEATHSIG, SIGTERM);
		dup2(fds[1], 1);
		close(fds[0]);
		close(fds[1]);
		execl(bin, bin, "--listen", "127.0.0.1:0", "--data", r->dir, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	if (f == NULL || fgets(line, sizeof line, f) == NULL ||
	    sscanf(line, "listening on 127.0.0.1:%u", &port) != 1)
		die(r->label, "the relay did not start");
	fclose(f);
	r->listen_s = now_s() - t0;
	snprintf(r->url, sizeof r->url, "http://127.0.0.1:%u", port);
	pl_err e;
	if (pl_rc_open(&r->c, r->url, NULL, &e) != 0)
		die(r->label, e.msg);
}

static void stop(bench_relay *r)
{
	if (r->c)
		pl_rc_close(r->c);
	if (r->pid > 0) {
		kill(r->pid, SIGTERM);
		waitpid(r->pid, NULL, 0);
	}
}

/* The prover's relay work: the newest checkpoint, then every page of the
 * recipient's acknowledgement leaves, each proof checked against it.
 * Returns how many acks were proved, -1 on any failure. */
static int query_acks(bench_relay *r)
{
	static pl_proto_mbxlog m;
	uint8_t *body;
	size_t n;
	pl_err e;
	pl_checkpoint cp;
	uint64_t at = 0;
	int proved = 0;

	if (pl_rc_get_raw(r->c, "/log/checkpoint", PL_LEAF_NOTE_MAX, &body, &n, "checkpoint", &e) !=
	    0)
		return -1;
	uint8_t note[PL_LEAF_NOTE_MAX];
	memcpy(note, body, n);
	free(body);
	if (pl_leaf_checkpoint_open(&cp, note, n, r->pk) != 0)
		return -1;
	for (;;) {
		if (pl_rc_mbxlog(r->c, recipient_mbx, at, cp.size, PL_PROTO_MBXLOG_ACK, &m, &body,
				 &e) != 0)
			return -1;
		for (uint32_t i = 0; i < m.count; i++) {
			uint8_t h[32];
			pl_leaf_hash(h, m.item[i].leaf, m.item[i].leaflen);
			if (pl_merkle_verify_inclusion(h, m.item[i].index, cp.size, m.item[i].proof,
						       m.item[i].prooflen, cp.root) != 0) {
				free(body);
				return -1;
			}
			proved++;
		}
		uint32_t count = m.count;
		if (count > 0)
			at = m.item[count - 1].index + 1;
		free(body);
		if (count < PL_PROTO_MBXLOG_MAX)
			return proved;
	}
}

/* The timed operation. Once `prove outreach` reads /log/mailbox, this is
 * the one line to change: time pl_prove_outreach(...) on a vault of the
 * pair instead. */
static int prover_work(bench_relay *r)
{
	return query_acks(r);
}

/* ---- the whole command: pl_prove_outreach on a real vault pair --------- */
#define PASS "bench passphrase"
#define NOTES 8

static pl_vault *vault(bench_relay *r, const char *sub, const char *name)
{
	char path[700];
	pl_vault *v = NULL;
	pl_err e;
	snprintf(path, sizeof path, "%s/%s", r->vdir, sub);
	/* The passphrase cost is not what this bench measures. */
	if (pl_vault_create_cost(path, name, r->url, NULL, 0, PASS, strlen(PASS),
				 PL_VAULT_KDF_TEST_ONLY, &e) != 0 ||
	    pl_vault_open(&v, path, PASS, strlen(PASS), &e) != 0)
		die(name, e.msg);
	return v;
}

static void befriend(pl_vault *v, const char *name, pl_vault *other)
{
	pl_contact c;
	pl_err e;
	memset(&c, 0, sizeof c);
	snprintf(c.name, sizeof c.name, "%s", name);
	memcpy(c.ik, pl_vault_identity(other)->pk, PL_IK_LEN);
	c.verified = 1;
	c.added = pl_now();
	if (pl_vault_contact_put(v, &c, &e) != 0 || pl_msgr_publish(v, &e) != 0)
		die(name, e.msg);
}

static void sync_vault(pl_vault *v)
{
	pl_sync_report rep;
	pl_err e;
	memset(&rep, 0, sizeof rep);
	if (pl_msgr_sync(v, &pl_nego_objects, &rep, &e) != 0)
		die("sync", e.msg);
}

/* The prover sends NOTES notes to the peer, who fetches (and so names
 * them in its signed acks): real deposits and acks on top of the log. */
static void pair(bench_relay *r)
{
	pl_err e;
	snprintf(r->vdir, sizeof r->vdir, "%s-vaults", r->dir);
	if (mkdir(r->vdir, 0700) != 0 && errno != EEXIST)
		die(r->vdir, strerror(errno));
	r->prover = vault(r, "us", "United States");
	r->peer = vault(r, "ir", "Iran");
	befriend(r->prover, "Iran", r->peer);
	befriend(r->peer, "United States", r->prover);
	sync_vault(r->prover);
	sync_vault(r->peer);
	for (int i = 0; i < NOTES; i++) {
		uint8_t id[8];
		int64_t seq;
		pl_sync_report rep;
		memset(&rep, 0, sizeof rep);
		if (pl_msgr_queue(r->prover, "Iran", PL_KIND_NOTE, (const uint8_t *)"note", 4, id,
				  &seq, &e) != 0 ||
		    pl_msgr_deliver(r->prover, &rep, &e) != 0)
			die("send", e.msg);
	}
	sync_vault(r->peer);
}

/* One `prove outreach`; returns the deposits it proved fetched. */
static int prove_once(bench_relay *r, int round)
{
	char out[700];
	pl_prove_report rep;
	pl_err e;
	snprintf(out, sizeof out, "%s/proof-%d.json", r->vdir, round);
	memset(&rep, 0, sizeof rep);
	if (pl_prove_outreach(r->prover, "Iran", out, &rep, &e) != 0) {
		fprintf(stderr, "mbxlog_bench: prove: %s\n", e.msg);
		return -1;
	}
	unlink(out);
	if ((int)rep.fetched != NOTES)
		fprintf(stderr, "mbxlog_bench: prove: %zu deposits, %zu fetched, %zu ack leaves\n",
			rep.deposits, rep.fetched, rep.fetch_leaves);
	return (int)rep.fetched;
}

static int cmp_d(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_d);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

int main(int argc, char **argv)
{
	uint64_t big = argc > 3 ? strtoull(argv[3], NULL, 10) : 1000000;
	int rounds = argc > 4 ? atoi(argv[4]) : 15;
	bench_relay R[2] = {{.label = "small", .leaves = SMALL_LEAVES},
			    {.label = "big", .leaves = big}};

	if (argc < 3 || big < 2 * SMALL_LEAVES || rounds < 1) {
		fprintf(stderr, "usage: mbxlog_bench RELAY_BIN WORKDIR [BIG_LEAVES [ROUNDS]]\n");
		return 2;
	}
	if (sodium_init() < 0)
		return 1;
	randombytes_buf(recipient_mbx, sizeof recipient_mbx);
	for (int k = 0; k < 2; k++) {
		snprintf(R[k].dir, sizeof R[k].dir, "%s/mbx-%llu", argv[2],
			 (unsigned long long)R[k].leaves);
		build(&R[k]);
		R[k].us = calloc((size_t)rounds, sizeof(double));
		if (R[k].us == NULL)
			die("memory", "out of memory");
	}
	for (int k = 0; k < 2; k++)
		start(&R[k], argv[1]);
	/* One warm-up each, then rounds interleaved. */
	for (int k = 0; k < 2; k++)
		if (prover_work(&R[k]) != DEPOSITS)
			die(R[k].label, "the prover's query failed or found the wrong acks");
	for (int i = 0; i < rounds; i++) {
		for (int k = 0; k < 2; k++) {
			double t0 = now_s();
			if (prover_work(&R[k]) != DEPOSITS)
				die(R[k].label, "the prover's query failed");
			R[k].us[i] = (now_s() - t0) * 1e6;
		}
	}
	/* The whole command on a real pair, fewer rounds (it also audits the
	 * checkpoint and writes the bundle). */
	int prove_rounds = rounds < 5 ? rounds : 5;
	for (int k = 0; k < 2; k++) {
		pair(&R[k]);
		R[k].prove_us = calloc((size_t)prove_rounds, sizeof(double));
		if (R[k].prove_us == NULL)
			die("memory", "out of memory");
		if (prove_once(&R[k], -1) != NOTES)
			die(R[k].label, "prove outreach failed or proved the wrong fetches");
	}
	for (int i = 0; i < prove_rounds; i++) {
		for (int k = 0; k < 2; k++) {
			double t0 = now_s();
			if (prove_once(&R[k], i) != NOTES)
				die(R[k].label, "prove outreach failed");
			R[k].prove_us[i] = (now_s() - t0) * 1e6;
		}
	}
	double pmed[2];
	for (int k = 0; k < 2; k++) {
		pmed[k] = median(R[k].prove_us, prove_rounds);
		pl_vault_close(R[k].prover);
		pl_vault_close(R[k].peer);
		free(R[k].prove_us);
	}
	for (int k = 0; k < 2; k++)
		stop(&R[k]);
	double med[2];
	for (int k = 0; k < 2; k++)
		med[k] = median(R[k].us, rounds);
	printf("%-10s %10s %10s %10s %12s %10s | %12s\n", "leaves", "build s", "open s", "listen s",
	       "index B/leaf", "mailboxes", "prover us");
	for (int k = 0; k < 2; k++)
		printf("%-10llu %10.2f %10.3f %10.3f %12.1f %10zu | %12.0f\n",
		       (unsigned long long)R[k].leaves, R[k].build_s, R[k].open_s, R[k].listen_s,
		       R[k].idx_leaves ? (double)R[k].idx_bytes / (double)R[k].idx_leaves : 0.0,
		       R[k].idx_boxes, med[k]);
	printf(
	    "prover at %llu leaves / at %d leaves: %.2fx (log2 ratio of sizes: %.2fx; a whole-log "
	    "read would be %.0fx)\n",
	    (unsigned long long)big, SMALL_LEAVES, med[1] / med[0],
	    log2((double)big) / log2((double)SMALL_LEAVES), (double)big / SMALL_LEAVES);
	printf("(median of %d interleaved rounds; prover = newest checkpoint + GET /log/mailbox "
	       "kind=ack, %d acks, every proof checked)\n",
	       rounds, DEPOSITS);
	printf("prove outreach (pl_prove_outreach, %d notes, all fetched): %.0f us at %llu leaves, "
	       "%.0f us at %d leaves (the peer): %.2fx (median of %d interleaved rounds)\n",
	       NOTES, pmed[1], (unsigned long long)big, pmed[0], SMALL_LEAVES, pmed[1] / pmed[0],
	       prove_rounds);
	for (int k = 0; k < 2; k++)
		free(R[k].us);
	return 0;
}
