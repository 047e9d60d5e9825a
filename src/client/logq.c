/*
 * logq.c — see logq.h. Reads one mailbox's leaves with GET /log/mailbox
 * against the size of a checkpoint the vault accepted and proves each one
 * before looking at it. Self-contained on purpose: the withheld-envelope
 * audit reads leaves its own way, and both can later share one reader.
 *
 * What it must never do: look at a leaf before its proof verified against
 * the accepted checkpoint's root, or drop evidence it was handed.
 */
#include "client/logq.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/audit.h"
#include "client/messenger.h"
#include "log/leaf.h"
#include "log/merkle.h"
#include "relay/proto.h"

/* A mailbox holds at most this many rounds of PL_PROTO_MBXLOG_MAX leaves
 * for one question; past that the question is left undecided. */
#define ROUNDS_MAX 4096
#define EVIDENCE_MAX 16

typedef struct {
	char reason[200];
	uint8_t *a, *b;
	size_t alen, blen;
} evidence;

struct pl_logq {
	pl_vault *v;
	pl_rc_conn *c;
	int own_conn;
	int defer;
	int caught;
	uint8_t pk[32];
	/* the accepted checkpoint the answers are proved against */
	uint8_t *note;
	size_t notelen;
	uint64_t size;
	uint8_t root[32];
	evidence ev[EVIDENCE_MAX];
	size_t nev;
};

int pl_logq_open(pl_logq **out, pl_vault *v, pl_rc_conn *c, int defer, pl_err *e)
{
	*out = NULL;
	pl_logq *q = calloc(1, sizeof *q);
	if (q == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	if (pl_vault_relay_key(v, q->pk) != 0) {
		free(q);
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "the relay's key is not pinned yet; run parley sync");
	}
	q->v = v;
	q->c = c;
	q->defer = defer;
	*out = q;
	return 0;
}

int pl_logq_caught(const pl_logq *q)
{
	return q != NULL && q->caught;
}

int pl_logq_close(pl_logq *q, pl_err *e)
{
	if (q == NULL)
		return 0;
	int rc = 0;
	for (size_t i = 0; i < q->nev; i++) {
		if (rc == 0 &&
		    pl_vault_evidence_add(q->v, q->ev[i].reason, q->ev[i].a, q->ev[i].alen,
					  q->ev[i].b, q->ev[i].blen, e) != 0)
			rc = -1;
		free(q->ev[i].a);
		free(q->ev[i].b);
	}
	if (q->own_conn)
		pl_rc_close(q->c);
	free(q->note);
	free(q);
	return rc;
}

static int conn(pl_logq *q, pl_err *e)
{
	if (q->c != NULL)
		return 0;
	if (pl_msgr_open_relay(q->v, &q->c, e) != 0)
		return -1;
	q->own_conn = 1;
	return 0;
}

/* Loads the newest checkpoint the vault accepted (verified again under the
 * pinned key: the vault is not trusted to hold only good ones). */
static int load_checkpoint(pl_logq *q, pl_err *e)
{
	uint8_t *note;
	size_t n;
	uint64_t size;
	pl_err le;
	pl_err_clear(&le);
	if (pl_vault_checkpoint_latest(q->v, &size, &note, &n, &le) != 0) {
		if (le.code != PL_EXIT_NOTFOUND)
			return *e = le, -1;
		return 0; /* none yet: size 0 */
	}
	pl_checkpoint cp;
	if (pl_leaf_checkpoint_open(&cp, note, n, q->pk) != 0) {
		free(note);
		return pl_err_set(e, PL_EXIT_VAULT,
				  "a checkpoint stored in the vault does not verify");
	}
	free(q->note);
	q->note = note;
	q->notelen = n;
	q->size = cp.size;
	memcpy(q->root, cp.root, 32);
	return 0;
}

int pl_logq_cover(pl_logq *q, uint64_t size, pl_err *e)
{
	if (q->note == NULL && load_checkpoint(q, e) != 0)
		return -1;
	if (q->note != NULL && q->size >= size)
		return 0;
	if (conn(q, e) != 0 || pl_audit_checkpoint(q->v, q->c, NULL, e) != 0 ||
	    load_checkpoint(q, e) != 0)
		return -1;
	return q->note != NULL && q->size >= size ? 0 : 1;
}

/* Keeps a leaf that did not prove, with the checkpoint it failed against. */
static int caught(pl_logq *q, const uint8_t mbx[32], uint64_t index, const uint8_t *leaf,
		  size_t len, pl_err *e)
{
	char hex[17];
	for (int i = 0; i < 8; i++)
		snprintf(hex + 2 * i, 3, "%02x", mbx[i]);
	char reason[200];
	snprintf(reason, sizeof reason,
		 "served leaf %llu of mailbox %s… with a proof that fails against its checkpoint "
		 "of size %llu",
		 (unsigned long long)index, hex, (unsigned long long)q->size);
	q->caught = 1;
	int kept = 0;
	if (q->defer) {
		if (q->nev < EVIDENCE_MAX) {
			evidence *ev = &q->ev[q->nev];
			ev->a = malloc(q->notelen);
			ev->b = malloc(len ? len : 1);
			if (ev->a && ev->b) {
				memcpy(ev->a, q->note, q->notelen);
				memcpy(ev->b, leaf, len);
				ev->alen = q->notelen;
				ev->blen = len;
				snprintf(ev->reason, sizeof ev->reason, "%s", reason);
				q->nev++;
				kept = 1;
			} else {
				free(ev->a);
				free(ev->b);
			}
		}
	} else {
		pl_err ke;
		pl_err_clear(&ke);
		kept =
		    pl_vault_evidence_add(q->v, reason, q->note, q->notelen, leaf, len, &ke) == 0;
	}
	return pl_err_set(e, PL_EXIT_SECURITY,
			  "the relay at %s %s; nothing it says about its log is trusted%s",
			  pl_vault_relay_url(q->v), reason,
			  kept ? "; the checkpoint and the leaf are kept as evidence (parley relay "
				 "evidence)"
			       : " (the evidence could not be kept)");
}

/* Calls fn on every proved leaf of mailbox mbx of the given kind with index
 * in [from, below), oldest first, until fn returns non-zero (its answer).
 * 0 when fn never did. */
typedef int (*leaf_fn)(void *ctx, uint64_t index, const pl_leaf *l, const uint8_t *bytes,
		       size_t len, const uint8_t (*proof)[32], size_t plen);

static int scan(pl_logq *q, const uint8_t mbx[32], int kind, uint64_t from, uint64_t below,
		leaf_fn fn, void *ctx, pl_err *e)
{
	pl_proto_mbxlog *m = malloc(sizeof *m);
	if (m == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	if (below > q->size)
		below = q->size;
	uint64_t start = from;
	int rc = 0;
	for (int round = 0; round < ROUNDS_MAX && rc == 0 && start < below; round++) {
		uint8_t *body = NULL;
		if (conn(q, e) != 0 ||
		    pl_rc_mbxlog(q->c, mbx, start, q->size, kind, m, &body, e) != 0) {
			free(body);
			rc = -1;
			break;
		}
		for (uint32_t i = 0; i < m->count && rc == 0; i++) {
			const pl_proto_mbxlog_item *it = &m->item[i];
			uint8_t h[PL_MERKLE_HASH_LEN];
			pl_leaf_hash(h, it->leaf, it->leaflen);
			if (pl_merkle_verify_inclusion(h, it->index, q->size, it->proof,
						       it->prooflen, q->root) != 0) {
				rc = caught(q, mbx, it->index, it->leaf, it->leaflen, e);
				break;
			}
			if (it->index >= below)
				break;
			pl_leaf l;
			if (pl_leaf_decode(&l, it->leaf, it->leaflen) != 0)
				continue; /* the decoder of the answer already refused these */
			rc = fn(ctx, it->index, &l, it->leaf, it->leaflen, it->proof, it->prooflen);
		}
		uint32_t got = m->count;
		uint64_t last = got ? m->item[got - 1].index : 0;
		free(body);
		if (rc != 0 || got < PL_PROTO_MBXLOG_MAX)
			break;
		start = last + 1;
	}
	free(m);
	return rc;
}

typedef struct {
	pl_logq *q;
	const uint8_t *hash;
	uint64_t seq;
	pl_receipt *out;
} dep_ctx;

static int dep_fn(void *ctx, uint64_t index, const pl_leaf *l, const uint8_t *bytes, size_t len,
		  const uint8_t (*proof)[32], size_t plen)
{
	(void)bytes;
	(void)len;
	dep_ctx *d = ctx;
	if (l->type != PL_LEAF_DEPOSIT || sodium_memcmp(l->hash, d->hash, 32) != 0 ||
	    (d->seq != 0 && l->seq != d->seq) || plen > PL_RECEIPT_PROOF_MAX ||
	    d->q->notelen > PL_RECEIPT_NOTE_MAX)
		return 0;
	pl_receipt *r = d->out;
	memset(r, 0, sizeof *r);
	memcpy(r->mbx, l->mbx, 32);
	r->seq = l->seq;
	r->time = l->relay_time;
	memcpy(r->hash, l->hash, 32);
	r->index = index;
	r->notelen = d->q->notelen;
	memcpy(r->note, d->q->note, d->q->notelen);
	r->prooflen = plen;
	memcpy(r->proof, proof, plen * 32);
	return 1;
}

int pl_logq_deposit(pl_logq *q, const uint8_t mbx[static 32], const uint8_t hash[static 32],
		    uint64_t seq, pl_receipt *out, pl_err *e)
{
	dep_ctx d = {q, hash, seq, out};
	if (q->note == NULL && load_checkpoint(q, e) != 0)
		return -1;
	uint64_t from = 0;
	for (int pass = 0; pass < 2; pass++) {
		uint64_t upto = q->size;
		int r = scan(q, mbx, PL_PROTO_MBXLOG_DEPOSIT, from, upto, dep_fn, &d, e);
		if (r < 0)
			return -1;
		if (r == 1)
			return pl_receipt_verify(out, q->pk, hash) == 0
				   ? 0
				   : pl_err_set(
					 e, PL_EXIT_ERROR,
					 "internal error: a proved deposit leaf did not make "
					 "a receipt that verifies");
		if (pass == 1)
			break;
		/* Not in the tree the vault accepted: ask for a newer one. */
		int c = pl_logq_cover(q, upto + 1, e);
		if (c < 0)
			return -1;
		if (c == 1)
			break;
		from = upto;
	}
	return 1;
}

typedef struct {
	const uint8_t *owner;
	uint64_t seq;
	const uint8_t *hash;
	uint64_t index;
} ack_ctx;

static int ack_fn(void *ctx, uint64_t index, const pl_leaf *l, const uint8_t *bytes, size_t len,
		  const uint8_t (*proof)[32], size_t plen)
{
	(void)bytes;
	(void)len;
	(void)proof;
	(void)plen;
	ack_ctx *a = ctx;
	if (l->type != PL_LEAF_ACK || sodium_memcmp(l->owner, a->owner, 32) != 0 ||
	    pl_leaf_ack_verify(l) != 0 || !pl_auth_ack_names(&l->ack, a->seq, a->hash))
		return 0;
	a->index = index;
	return 1;
}

int pl_logq_first_ack(pl_logq *q, const uint8_t owner[static 32], uint64_t from, uint64_t below,
		      uint64_t seq, const uint8_t hash[static 32], uint64_t *index, pl_err *e)
{
	uint8_t mbx[32];
	ack_ctx a = {owner, seq, hash, 0};
	if (q->note == NULL && load_checkpoint(q, e) != 0)
		return -1;
	pl_mailbox_id(mbx, owner);
	int r = scan(q, mbx, PL_PROTO_MBXLOG_ACK, from, below, ack_fn, &a, e);
	if (r < 0)
		return -1;
	if (r == 1) {
		*index = a.index;
		return 0;
	}
	return 1;
}
