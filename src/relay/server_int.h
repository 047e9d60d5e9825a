/*
 * server_int.h — what the three parts of parley-relay share inside
 * src/relay: the relay's state and the job a request hands to the group
 * committer (relay/commit.c), the HTTP callbacks (relay/routes.c) and the
 * command line (relay/server.c, which starts and stops the other two).
 *
 * Nothing outside src/relay and its unit tests includes this header; the
 * program itself sees only relay/server.h. Fields marked "committer only"
 * are never touched by a worker thread once the committer runs.
 */
#ifndef PARLEY_RELAY_SERVER_INT_H
#define PARLEY_RELAY_SERVER_INT_H

#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "auth/auth.h"
#include "identity/identity.h"
#include "log/leaf.h"
#include "log/merkle.h"
#include "relay/mbxidx.h"
#include "relay/deadline.h"
#include "relay/mbxrate.h"
#include "relay/proto.h"
#include "relay/server.h"
#include "relay/store.h"
#include "relay/tlog.h"
#include "session/x3dh.h"
#include "util/err.h"
#include "util/wire.h"

#define PL_RELAY_DRAIN_WAIT_S 120 /* longest wait for queued jobs at shutdown */
/* After the store was found full, deposits are refused without a write
 * (so that they do not roll back the fetches and acks batched with them)
 * until an acknowledgment frees room or this many seconds pass. */
#define PL_RELAY_FULL_RETRY_S 10
#define PL_RELAY_RATE_ADDRS 4096 /* client addresses the new-mailbox limit remembers */

/* ---- the relay and its jobs ------------------------------------------- */

enum pl_relay_job_kind {
	PL_JOB_BUNDLE_PUT,
	PL_JOB_BUNDLE_GET,
	PL_JOB_TOKEN_PUT,
	PL_JOB_GRANT_PUT,
	PL_JOB_GRANT_GET,
	PL_JOB_DEPOSIT,
	PL_JOB_LIST,
	PL_JOB_ACK,
	PL_JOB_LOG_CHECKPOINT,	/* a = size */
	PL_JOB_LOG_INCLUSION,	/* a = index, b = size */
	PL_JOB_LOG_CONSISTENCY, /* a = old, b = size */
	PL_JOB_LOG_LEAVES,	/* a = start, b = count */
	PL_JOB_LOG_MAILBOX	/* b = size, hits[0..nhits) */
};

typedef struct pl_relay_job {
	struct pl_relay_job *next;
	struct MHD_Connection *con; /* resumed by the committer */
	int kind;
	int authed;			/* owner-signed: record the nonce */
	uint8_t id[32];			/* mailbox or grant locator from the path */
	uint8_t signer[PL_MAILBOX_LEN]; /* mailbox of the signing key */
	uint8_t nonce[PL_AUTH_NONCE_LEN];
	uint8_t hash[32];	/* token hash or envelope hash */
	uint8_t token_hash[32]; /* deposits: SHA-256 of the presented token */
	/* token and bundle uploads: the client's address, for the limit on new
	 * mailboxes, and the seconds it must wait when refused */
	uint8_t client[PL_MBXRATE_ADDR_LEN];
	uint64_t retry_after;
	const pl_proto_bundle_upload *upload;
	const uint8_t *data; /* grant blob or envelope */
	size_t datalen;
	uint64_t seq;  /* ack: seq; list: after; deposit: assigned seq */
	uint64_t time; /* deposit: stored time */
	uint64_t a, b; /* log queries */
	/* ack: what its leaf records of the owner's signature and body */
	pl_auth_ack ack;
	uint8_t owner[PL_IK_LEN];
	uint64_t auth_time;
	uint8_t sig[PL_SIG_LEN];
	/* deposit: its leaf, and the sealed view its receipt comes from */
	uint64_t leaf;
	int appended;	   /* deposit or ack: its leaf was appended (at `leaf`) */
	uint8_t leaf_type; /* ... of this type */
	/* GET /log/mailbox: the leaves the worker found in the index */
	const pl_mbxidx_hit *hits;
	size_t nhits;
	pl_tlog_view *view; /* one reference, dropped by the answer or request_done */
	int have_proof;	    /* proof computed by the committer (a leaf older than the view) */
	size_t prooflen;
	uint8_t proof[PL_MERKLE_PROOF_MAX][PL_MERKLE_HASH_LEN];
	pl_bundle bundle;
	uint8_t blob[PL_PROTO_GRANT_BLOB_MAX];
	size_t bloblen;
	pl_wr out; /* listing, log bodies */
	int res;
} pl_relay_job;

typedef struct pl_relay {
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
	pl_mbxrate mbxrate;  /* new mailboxes per client address */
	uint64_t full_until; /* deposits refused as "full" until then (pl_now) */
	/* request deadlines (workers and the reaper thread) */
	pl_deadlines deadlines;
	/* the newest checkpoint note, for GET /log/checkpoint, and its size:
	 * published after the index by mailbox holds every leaf below it */
	pthread_mutex_t log_mu;
	uint8_t note[PL_LEAF_NOTE_MAX];
	size_t notelen;
	uint64_t note_size;
	/* the job queue */
	pthread_t committer;
	int committing; /* the committer thread runs */
	pthread_mutex_t mu;
	pthread_cond_t work_cv, idle_cv;
	pl_relay_job *head, *tail;
	unsigned long inflight; /* queued or running, not yet resumed */
	int stopping;		/* the committer may exit once the queue is empty */
	int closing;		/* no new jobs: shutting down */
} pl_relay;

/* ---- the group committer (commit.c) ----------------------------------- */

/* Makes note, the checkpoint of `size` leaves, the answer of GET
 * /log/checkpoint (any thread). Every leaf below size must already be in
 * the store's index by mailbox. */
void pl_relay_publish_note(pl_relay *R, uint64_t size, const uint8_t *note, size_t len);
/* Starts the committer thread over R's queue; -1 if it cannot. */
int pl_relay_commit_start(pl_relay *R);
/* Lets the committer finish what is queued, then joins it. */
void pl_relay_commit_stop(pl_relay *R);
/* Queues j (its kind set) and suspends con, whose request j lives in, until
 * the committer has run it and resumes con. -1, with nothing queued or
 * suspended, once the relay is closing. */
int pl_relay_submit(pl_relay *R, struct MHD_Connection *con, pl_relay_job *j);
/* Takes no new jobs from now on and waits (at most PL_RELAY_DRAIN_WAIT_S)
 * until every queued one is answered; -1 if some are still waiting. */
int pl_relay_drain(pl_relay *R);

/* ---- the HTTP routes (routes.c), libmicrohttpd's callbacks ------------ */

/* MHD_AccessHandlerCallback; cls is the pl_relay. */
enum MHD_Result pl_relay_on_request(void *cls, struct MHD_Connection *con, const char *url,
				    const char *method, const char *version,
				    const char *upload_data, size_t *upload_data_size,
				    void **con_cls);
/* MHD_OPTION_URI_LOG_CALLBACK: allocates the request's state. */
void *pl_relay_uri_logger(void *cls, const char *uri, struct MHD_Connection *con);
/* MHD_OPTION_NOTIFY_COMPLETED: frees it. */
void pl_relay_request_done(void *cls, struct MHD_Connection *con, void **con_cls,
			   enum MHD_RequestTerminationCode toe);

/* ---- the command line (server.c) -------------------------------------- */

typedef struct {
	const char *listen, *data, *cert, *key; /* pointers into argv */
	const char *per_ip_arg;			/* --max-conns-per-ip, as given */
	unsigned per_ip; /* parsed; PL_RELAY_PER_IP_DEFAULT when not given, 0 = no limit */
	/* the other limits, as given and parsed (defaults in relay/server.h;
	 * 0 = no limit for each) */
	const char *timeout_arg, *mbx_msgs_arg, *mbx_bytes_arg, *new_mbx_arg, *store_mb_arg;
	unsigned request_timeout;     /* seconds */
	uint64_t mbx_msgs, mbx_bytes; /* per mailbox */
	unsigned new_mbx;	      /* per client address and hour */
	uint64_t store_mb;	      /* MiB */
	int help;		      /* --help or -h: show the usage, nothing else */
	int print_key, no_log;
	struct sockaddr_in addr; /* --listen, parsed (not with --print-key) */
} pl_relay_opts;

/* Parses argv[1..argc) into o, printing nothing. --help stops the parse
 * (o->help set) wherever it stands; an argument before it may still be
 * refused. A refused command line returns -1 with e's code PL_EXIT_USAGE
 * and one sentence naming the offending argument. */
int pl_relay_opts_parse(pl_relay_opts *o, int argc, char **argv, pl_err *e);

#endif
