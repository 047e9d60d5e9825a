/*
 * server.c — parley-relay as a program: the command line, startup (the
 * data directory, relay.key, relay.db and its log, TLS files, the listening
 * socket, the committer thread and the HTTP daemon), the wait for SIGTERM
 * or SIGINT, and a clean shutdown.
 *
 * Design. libmicrohttpd runs a small pool of worker threads (poll), so 64
 * connections are not 64 runnable threads. A worker checks each request
 * itself (relay/routes.c) and queues a job for the one committer thread
 * (relay/commit.c), which commits every queued job, its log leaves and one
 * signed checkpoint in one transaction. A deposit is therefore
 * acknowledged only after it, its leaf and a checkpoint covering it are
 * durable, and no checkpoint is ever seen for a tree the database could
 * lose.
 *
 * It must never serve a data directory whose log does not match relay.key
 * or that was served without its log, stop the daemon while a connection
 * is still suspended on the committer, leave the TLS key or the relay's
 * secret key in memory it frees, or print more than one line per error.
 */
#include "relay/server.h"

#include <arpa/inet.h>
#include <errno.h>
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
#include <unistd.h>

#include "envelope/envelope.h"
#include "log/leaf.h"
#include "log/merkle.h"
#include "log/note.h"
#include "relay/key.h"
#include "relay/proto.h"
#include "relay/server_int.h"
#include "relay/store.h"
#include "relay/tlog.h"
#include "util/err.h"
#include "util/file.h"

#define PROG "parley-relay"
#define NOLOG_META "nolog"

/* A printf format: the defaults come from relay/server.h (print_usage). */
static const char usage[] =
    "usage: parley-relay --listen ADDR:PORT --data DIR [--tls-cert FILE --tls-key FILE]\n"
    "                    [--max-conns-per-ip N] [--request-timeout SECONDS]\n"
    "                    [--mailbox-max-messages N] [--mailbox-max-bytes SIZE]\n"
    "                    [--new-mailboxes-per-hour N] [--max-store-mb N]\n"
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
    "Limits (0 turns one off). Each protects honest clients from one that is not:\n"
    "  --max-conns-per-ip N  connections one client address may hold at once\n"
    "                      (default %u; the relay holds %u in all)\n"
    "  --request-timeout SECONDS  time a client has to send a whole request, headers\n"
    "                      and body (default %u, at most %u); a silent connection is\n"
    "                      dropped after %u s whatever this is\n"
    "  --mailbox-max-messages N  messages one mailbox may hold until its owner\n"
    "                      fetches them (default %u); a deposit beyond is refused\n"
    "                      with 507 and the sender's client keeps it queued\n"
    "  --mailbox-max-bytes SIZE  bytes of envelopes one mailbox may hold (default\n"
    "                      %lluM; SIZE is bytes, or a number with K, M or G for KiB,\n"
    "                      MiB or GiB; at least %u, the largest envelope)\n"
    "  --new-mailboxes-per-hour N  new mailboxes one client address may create: N at\n"
    "                      once, then one every 3600/N s (default %u); beyond, 429\n"
    "                      with Retry-After\n"
    "  --max-store-mb N    cap relay.db at N MiB (default: none, the disk is the cap).\n"
    "                      Envelopes may fill it to N; fetches and acks may use a\n"
    "                      reserve of N/16 (1 to 64 MiB) beyond, so room is freed.\n"
    "\n"
    "Deposits are committed to disk, with their log leaf and a signed checkpoint,\n"
    "before their receipt is sent. A full store (the disk, or --max-store-mb) loses\n"
    "nothing stored: deposits are refused with 507, fetches go on. SIGTERM or SIGINT\n"
    "stops the relay after in-flight requests finish.\n"
    "Exit status: 0 after a clean stop, 1 on a runtime failure, 2 on bad usage.\n";

static void print_usage(void)
{
	printf(usage, PL_RELAY_PER_IP_DEFAULT, PL_RELAY_CONN_LIMIT,
	       PL_RELAY_REQUEST_TIMEOUT_DEFAULT, PL_RELAY_REQUEST_TIMEOUT_MAX,
	       PL_RELAY_CONN_TIMEOUT, PL_RELAY_MBX_MSGS_DEFAULT,
	       (unsigned long long)(PL_RELAY_MBX_BYTES_DEFAULT >> 20), (unsigned)PL_ENVELOPE_MAX,
	       PL_RELAY_NEW_MBX_DEFAULT);
}

static int usage_error(const char *msg)
{
	fprintf(stderr, PROG ": %s (see parley-relay --help)\n", msg);
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

/* The flags without a value: where each one is recorded, or NULL. */
static int *flag_slot(pl_relay_opts *o, const char *a)
{
	if (strcmp(a, "--print-key") == 0)
		return &o->print_key;
	if (strcmp(a, "--no-log") == 0)
		return &o->no_log;
	return NULL;
}

/* The options with a value: where it is recorded, or NULL. */
static const char **value_slot(pl_relay_opts *o, const char *a)
{
	if (strcmp(a, "--listen") == 0)
		return &o->listen;
	if (strcmp(a, "--data") == 0)
		return &o->data;
	if (strcmp(a, "--tls-cert") == 0)
		return &o->cert;
	if (strcmp(a, "--tls-key") == 0)
		return &o->key;
	if (strcmp(a, "--max-conns-per-ip") == 0)
		return &o->per_ip_arg;
	if (strcmp(a, "--request-timeout") == 0)
		return &o->timeout_arg;
	if (strcmp(a, "--mailbox-max-messages") == 0)
		return &o->mbx_msgs_arg;
	if (strcmp(a, "--mailbox-max-bytes") == 0)
		return &o->mbx_bytes_arg;
	if (strcmp(a, "--new-mailboxes-per-hour") == 0)
		return &o->new_mbx_arg;
	if (strcmp(a, "--max-store-mb") == 0)
		return &o->store_mb_arg;
	return NULL;
}

/* A number of bytes: decimal, or decimal and one of K, M, G (KiB, MiB,
 * GiB); at most 2^50. */
static int parse_size(uint64_t *out, const char *s)
{
	char num[24];
	size_t n = strlen(s);
	unsigned shift = 0;

	if (n > 0 && strchr("KMG", s[n - 1]) != NULL) {
		shift = s[n - 1] == 'K' ? 10 : s[n - 1] == 'M' ? 20 : 30;
		n--;
	}
	if (n == 0 || n >= sizeof num)
		return -1;
	memcpy(num, s, n);
	num[n] = '\0';
	if (pl_auth_parse_u64(out, num) != 0 || *out > (UINT64_C(1) << (50 - shift)))
		return -1;
	*out <<= shift;
	return 0;
}

/* An optional number option: its default when absent, else a decimal in
 * [0, max]; -1 and one sentence in e if it is not. */
static int num_opt(uint64_t *out, const char *arg, uint64_t def, uint64_t max, const char *name,
		   const char *what, pl_err *e)
{
	*out = def;
	if (arg == NULL)
		return 0;
	if (pl_auth_parse_u64(out, arg) != 0 || *out > max)
		return pl_err_set(e, PL_EXIT_USAGE,
				  "%s wants %s from 0 (no limit) to %llu; got \"%s\"", name, what,
				  (unsigned long long)max, arg);
	return 0;
}

/* The limits (relay/server.h has the defaults and why). */
static int check_limits(pl_relay_opts *o, pl_err *e)
{
	uint64_t n;

	if (num_opt(&n, o->per_ip_arg, PL_RELAY_PER_IP_DEFAULT, PL_RELAY_CONN_LIMIT,
		    "--max-conns-per-ip", "a number", e) != 0)
		return -1;
	o->per_ip = (unsigned)n;
	if (num_opt(&n, o->timeout_arg, PL_RELAY_REQUEST_TIMEOUT_DEFAULT,
		    PL_RELAY_REQUEST_TIMEOUT_MAX, "--request-timeout", "seconds", e) != 0)
		return -1;
	o->request_timeout = (unsigned)n;
	if (num_opt(&o->mbx_msgs, o->mbx_msgs_arg, PL_RELAY_MBX_MSGS_DEFAULT, UINT32_MAX,
		    "--mailbox-max-messages", "a number", e) != 0)
		return -1;
	if (num_opt(&n, o->new_mbx_arg, PL_RELAY_NEW_MBX_DEFAULT, PL_RELAY_NEW_MBX_MAX,
		    "--new-mailboxes-per-hour", "a number", e) != 0)
		return -1;
	o->new_mbx = (unsigned)n;
	if (num_opt(&o->store_mb, o->store_mb_arg, 0, PL_RELAY_STORE_MB_MAX, "--max-store-mb",
		    "a number of MiB", e) != 0)
		return -1;
	o->mbx_bytes = PL_RELAY_MBX_BYTES_DEFAULT;
	if (o->mbx_bytes_arg != NULL && (parse_size(&o->mbx_bytes, o->mbx_bytes_arg) != 0 ||
					 (o->mbx_bytes != 0 && o->mbx_bytes < PL_ENVELOPE_MAX)))
		return pl_err_set(e, PL_EXIT_USAGE,
				  "--mailbox-max-bytes wants 0 (no limit) or a size of at least %u "
				  "bytes, like 65584, 512K or 256M; got \"%s\"",
				  (unsigned)PL_ENVELOPE_MAX, o->mbx_bytes_arg);
	return 0;
}

/* The combinations: what --print-key allows, what serving needs. */
static int check_opts(pl_relay_opts *o, pl_err *e)
{
	if (o->print_key) {
		if (o->listen != NULL || o->cert != NULL || o->key != NULL || o->no_log ||
		    o->per_ip_arg != NULL || o->timeout_arg != NULL || o->mbx_msgs_arg != NULL ||
		    o->mbx_bytes_arg != NULL || o->new_mbx_arg != NULL || o->store_mb_arg != NULL)
			return pl_err_set(e, PL_EXIT_USAGE, "--print-key takes only --data DIR");
		if (o->data == NULL)
			return pl_err_set(e, PL_EXIT_USAGE, "--data DIR is required");
		return 0;
	}
	if (o->listen == NULL)
		return pl_err_set(e, PL_EXIT_USAGE, "--listen ADDR:PORT is required");
	if (o->data == NULL)
		return pl_err_set(e, PL_EXIT_USAGE, "--data DIR is required");
	if (parse_listen(&o->addr, o->listen) != 0)
		return pl_err_set(e, PL_EXIT_USAGE,
				  "--listen wants an IPv4 address and port, like 127.0.0.1:8470; "
				  "got \"%s\"",
				  o->listen);
	if ((o->cert == NULL) != (o->key == NULL))
		return pl_err_set(e, PL_EXIT_USAGE, "--tls-cert and --tls-key go together");
	return check_limits(o, e);
}

int pl_relay_opts_parse(pl_relay_opts *o, int argc, char **argv, pl_err *e)
{
	memset(o, 0, sizeof *o);
	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		const char **slot;
		int *flag;

		if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
			o->help = 1;
			return 0;
		}
		if ((flag = flag_slot(o, a)) != NULL) {
			if (*flag)
				return pl_err_set(e, PL_EXIT_USAGE, "%s given twice", a);
			*flag = 1;
			continue;
		}
		slot = value_slot(o, a);
		if (slot == NULL)
			return pl_err_set(e, PL_EXIT_USAGE, "unknown argument \"%s\"", a);
		if (i + 1 >= argc || argv[i + 1][0] == '\0')
			return pl_err_set(e, PL_EXIT_USAGE, "%s needs a value", a);
		if (*slot != NULL)
			return pl_err_set(e, PL_EXIT_USAGE, "%s given twice", a);
		*slot = argv[++i];
	}
	return check_opts(o, e);
}

/* MHD's messages, one line each. While the daemon starts, only the last one
 * is kept, so that a failed start gives a single error line. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
	pl_relay *R = cls;
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

static int print_key(const pl_relay_opts *o)
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
static int log_open(pl_relay *R, int no_log)
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
	pl_relay_publish_note(R, size, note, notelen);
	return 0;
}

/* Worker threads of the HTTP daemon: at least 2, at most 8, one per CPU. */
static unsigned worker_count(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);
	return n < 2 ? 2 : n > 8 ? 8 : (unsigned)n;
}

/* What a serving relay holds from one step of its life to the next. */
typedef struct {
	pl_relay R;
	sigset_t sigs;	     /* SIGTERM and SIGINT, taken by sigwait */
	uint8_t *cert, *key; /* PEM, NUL-terminated; key wiped before free */
	size_t certlen, keylen;
	int lfd;		  /* the listening socket until the daemon owns it */
	struct sockaddr_in bound; /* its address, port 0 resolved */
	struct MHD_Daemon *d;
	unsigned per_ip; /* MHD_OPTION_PER_IP_CONNECTION_LIMIT, 0 = none */
} run_state;

/* Certificates and keys are never this large. */
#define TLS_FILE_MAX (1u << 20)

/* The process-wide settings, the data directory and the TLS files: what
 * comes before any thread or file of the relay's own. */
static int prepare(const pl_relay_opts *o, run_state *S)
{
	pl_err err;

	pl_err_clear(&err);
	umask(077); /* the database and key are nobody else's business */
	/* glibc returns freed memory of thread arenas with madvise(), and each
	 * call interrupts every CPU running one of our threads (TLB shootdown);
	 * keep it instead. */
	mallopt(M_TRIM_THRESHOLD, 64 << 20);
	if (mkdir(o->data, 0700) != 0 && errno != EEXIST)
		return fail("cannot create data directory %s: %s", o->data, strerror(errno));
	if (o->cert == NULL)
		return 0;
	if (pl_file_read(o->cert, TLS_FILE_MAX, &S->cert, &S->certlen, &err) != 0)
		return fail("cannot read TLS certificate %s", o->cert);
	if (pl_file_read(o->key, TLS_FILE_MAX, &S->key, &S->keylen, &err) != 0) {
		free(S->cert);
		S->cert = NULL;
		return fail("cannot read TLS key %s", o->key);
	}
	return 0;
}

/* Signals are taken by sigwait (wait_for_signal); every thread started
 * after this inherits the mask. */
static void block_signals(sigset_t *sigs)
{
	signal(SIGPIPE, SIG_IGN);
	sigemptyset(sigs);
	sigaddset(sigs, SIGTERM);
	sigaddset(sigs, SIGINT);
	pthread_sigmask(SIG_BLOCK, sigs, NULL);
}

static int open_store_and_key(const pl_relay_opts *o, pl_relay *R)
{
	pl_err err;
	pl_store_limits lim = {o->mbx_msgs, o->mbx_bytes, o->store_mb << 20};

	pl_err_clear(&err);
	pthread_mutex_init(&R->mu, NULL);
	pthread_mutex_init(&R->log_mu, NULL);
	pthread_cond_init(&R->work_cv, NULL);
	pthread_cond_init(&R->idle_cv, NULL);
	if (pl_relay_key_load(R->sk, R->pk, o->data, &err) != 0 ||
	    pl_store_open(&R->store, o->data, &err) != 0 ||
	    pl_store_set_limits(R->store, &lim, &err) != 0)
		return fail("%s", err.msg);
	if (pl_mbxrate_init(&R->mbxrate, o->new_mbx, PL_RELAY_RATE_ADDRS) != 0)
		return fail("out of memory");
	return 0;
}

/* Starts libmicrohttpd's workers on the listening socket. */
static struct MHD_Daemon *daemon_start(run_state *S)
{
	/* poll(), not epoll: every deposit suspends its connection until
	 * the group commit resumes it, and under epoll each suspend and
	 * resume is an epoll_ctl() removing and re-adding the socket
	 * (~6 % of a worker's time at 64 senders). A poll() worker just
	 * leaves suspended sockets out of its next call. Its cost grows
	 * with the connections a worker holds, which PL_RELAY_CONN_LIMIT
	 * bounds; bench/README.md has both measured. */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_POLL | MHD_ALLOW_SUSPEND_RESUME |
			 MHD_USE_ERROR_LOG;
	if (S->cert != NULL)
		flags |= MHD_USE_TLS;
	struct MHD_OptionItem tls[] = {
	    {S->cert ? MHD_OPTION_HTTPS_MEM_CERT : MHD_OPTION_END, 0, S->cert},
	    {MHD_OPTION_HTTPS_MEM_KEY, 0, S->key},
	    {MHD_OPTION_END, 0, NULL},
	};
	return MHD_start_daemon(
	    flags, 0, NULL, NULL, pl_relay_on_request, &S->R, MHD_OPTION_EXTERNAL_LOGGER, mhd_log,
	    &S->R, MHD_OPTION_LISTEN_SOCKET, S->lfd, MHD_OPTION_THREAD_POOL_SIZE, worker_count(),
	    MHD_OPTION_CONNECTION_TIMEOUT, (unsigned)PL_RELAY_CONN_TIMEOUT,
	    MHD_OPTION_CONNECTION_LIMIT, (unsigned)PL_RELAY_CONN_LIMIT,
	    MHD_OPTION_PER_IP_CONNECTION_LIMIT, S->per_ip, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
	    (size_t)PL_RELAY_CONN_MEMORY, MHD_OPTION_STRICT_FOR_CLIENT, (int)1,
	    MHD_OPTION_URI_LOG_CALLBACK, pl_relay_uri_logger, &S->R, MHD_OPTION_NOTIFY_COMPLETED,
	    pl_relay_request_done, &S->R, MHD_OPTION_NOTIFY_CONNECTION, pl_deadlines_notify,
	    &S->R.deadlines, MHD_OPTION_ARRAY, tls, MHD_OPTION_END);
}

/* The listening socket, the committer and the HTTP daemon; then the
 * "listening on" line, the first on stdout. */
static int start_serving(const pl_relay_opts *o, run_state *S)
{
	char ip[INET_ADDRSTRLEN];

	S->lfd = open_listener(&o->addr, &S->bound);
	if (S->lfd < 0)
		return fail("cannot listen on %s: %s", o->listen, strerror(errno));
	S->R.last_prune = 0;
	if (pl_relay_commit_start(&S->R) != 0)
		return fail("cannot start the committer thread");
	if (pl_deadlines_start(&S->R.deadlines, o->request_timeout) != 0)
		return fail("cannot start the request-deadline thread");
	S->d = daemon_start(S);
	if (S->d == NULL)
		return fail("cannot start the HTTP server%s%s%s",
			    S->cert ? " (check the TLS certificate and key)" : "",
			    S->R.startup[0] ? ": " : "", S->R.startup);
	__atomic_store_n(&S->R.serving, 1, __ATOMIC_RELEASE);
	S->lfd = -1; /* the daemon owns it now */

	inet_ntop(AF_INET, &S->bound.sin_addr, ip, sizeof ip);
	printf("listening on %s:%u\n", ip, (unsigned)ntohs(S->bound.sin_port));
	fflush(stdout);
	return 0;
}

static void wait_for_signal(const sigset_t *sigs)
{
	int sig = 0;

	while (sigwait(sigs, &sig) != 0)
		;
}

/* Stop accepting, answer what is queued (the committer still runs and
 * resumes every suspended connection), then stop the daemon, the
 * committer and the store. Undoes whatever part of the start happened. */
static void shut_down(run_state *S)
{
	pl_relay *R = &S->R;

	if (S->d != NULL) {
		MHD_socket ls = MHD_quiesce_daemon(S->d);
		if (pl_relay_drain(R) != 0) {
			/* MHD cannot stop with connections suspended; a committer
			 * stuck this long means the disk is: leave by exit. */
			fail("requests still waiting for storage after %d s; exiting",
			     PL_RELAY_DRAIN_WAIT_S);
			_exit(PL_EXIT_ERROR);
		}
		MHD_stop_daemon(S->d);
		if (ls != MHD_INVALID_SOCKET)
			close(ls);
	}
	pl_deadlines_stop(&R->deadlines); /* every connection is closed */
	if (S->lfd >= 0)
		close(S->lfd);
	pl_relay_commit_stop(R);
	pl_tlog_view_unref(R->current);
	pl_tlog_free(&R->tlog);
	pl_store_close(R->store);
	pl_mbxrate_free(&R->mbxrate);
	sodium_memzero(R->sk, sizeof R->sk);
	if (S->key) {
		sodium_memzero(S->key, S->keylen + 1);
		free(S->key);
	}
	free(S->cert);
}

/* Serves until SIGTERM or SIGINT; the exit code. */
static int serve(const pl_relay_opts *o)
{
	run_state S;
	int rc;

	memset(&S, 0, sizeof S);
	S.lfd = -1;
	S.per_ip = o->per_ip;
	rc = prepare(o, &S);
	if (rc != 0)
		return rc;
	block_signals(&S.sigs);
	rc = PL_EXIT_ERROR;
	if (open_store_and_key(o, &S.R) == 0 && log_open(&S.R, o->no_log) == 0 &&
	    start_serving(o, &S) == 0) {
		wait_for_signal(&S.sigs);
		rc = PL_EXIT_OK;
	}
	shut_down(&S);
	return rc;
}

int pl_relay_main(int argc, char **argv)
{
	pl_relay_opts o;
	pl_err err;

	pl_err_clear(&err);
	if (pl_relay_opts_parse(&o, argc, argv, &err) != 0)
		return usage_error(err.msg);
	if (o.help) {
		print_usage();
		return PL_EXIT_OK;
	}
	if (sodium_init() < 0)
		return fail("cannot initialise libsodium");
	if (o.print_key)
		return print_key(&o);
	return serve(&o);
}
