/*
 * logq.c — see logq.h. Reads one mailbox's leaves through the client's one
 * reader of GET /log/mailbox (pl_audit_mbxlog), which proves each against
 * a checkpoint the vault accepted before handing it here; what it adds is
 * where evidence goes while the caller's transaction may still roll back.
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
#include "relay/proto.h"

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
	pl_audit_tree t; /* the accepted checkpoint; t.note NULL until loaded */
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
	pl_audit_tree_free(&q->t);
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

/* What the reader caught against our checkpoint: written at once, or held
 * for pl_logq_close when a rollback could take it away with the envelope. */
static int keep(void *ctx, const char *what, const uint8_t *a, size_t alen, const uint8_t *b,
		size_t blen, pl_err *e)
{
	pl_logq *q = ctx;
	q->caught = 1;
	if (!q->defer)
		return pl_vault_evidence_add(q->v, what, a, alen, b, blen, e);
	if (q->nev == EVIDENCE_MAX)
		return pl_err_set(e, PL_EXIT_ERROR, "too much evidence held at once");
	evidence *ev = &q->ev[q->nev];
	ev->a = malloc(alen ? alen : 1);
	ev->b = malloc(blen ? blen : 1);
	if (ev->a == NULL || ev->b == NULL) {
		free(ev->a);
		free(ev->b);
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	}
	memcpy(ev->a, a, alen);
	memcpy(ev->b, b, blen);
	ev->alen = alen;
	ev->blen = blen;
	snprintf(ev->reason, sizeof ev->reason, "%s", what);
	q->nev++;
	return 0;
}

/* Loads the newest checkpoint the vault accepted (verified again under the
 * pinned key: the vault is not trusted to hold only good ones). */
static int load_checkpoint(pl_logq *q, pl_err *e)
{
	pl_audit_tree t;
	pl_err le;
	pl_err_clear(&le);
	if (pl_audit_tree_latest(q->v, &t, &le) != 0)
		return le.code == PL_EXIT_NOTFOUND ? 0 : (*e = le, -1); /* none yet: size 0 */
	pl_audit_tree_free(&q->t);
	q->t = t;
	q->t.keep = keep;
	q->t.keep_ctx = q;
	return 0;
}

int pl_logq_cover(pl_logq *q, uint64_t size, pl_err *e)
{
	if (q->t.note == NULL && load_checkpoint(q, e) != 0)
		return -1;
	if (q->t.note != NULL && q->t.size >= size)
		return 0;
	if (conn(q, e) != 0 || pl_audit_checkpoint(q->v, q->c, NULL, e) != 0 ||
	    load_checkpoint(q, e) != 0)
		return -1;
	return q->t.note != NULL && q->t.size >= size ? 0 : 1;
}

/* Hands fn the proved leaves of mailbox mbx of one kind from index `from`
 * on, oldest first, until fn stops; no request when the accepted tree has
 * none from there. */
static int scan(pl_logq *q, const uint8_t mbx[32], int kind, uint64_t from, pl_audit_leaf_fn fn,
		void *ctx, pl_err *e)
{
	uint64_t next;
	if (from >= q->t.size)
		return 0;
	if (conn(q, e) != 0)
		return -1;
	return pl_audit_mbxlog(q->v, q->c, &q->t, mbx, kind, from, fn, ctx, &next, e);
}

typedef struct {
	pl_logq *q;
	const uint8_t *hash;
	uint64_t seq;
	pl_receipt *out;
	int found;
} dep_ctx;

static int dep_fn(void *ctx, const pl_proto_mbxlog_item *it, const pl_leaf *l, pl_err *e)
{
	(void)e;
	dep_ctx *d = ctx;
	const pl_audit_tree *t = &d->q->t;
	if (l->type != PL_LEAF_DEPOSIT || sodium_memcmp(l->hash, d->hash, 32) != 0 ||
	    (d->seq != 0 && l->seq != d->seq) || it->prooflen > PL_RECEIPT_PROOF_MAX ||
	    t->notelen > PL_RECEIPT_NOTE_MAX)
		return 0;
	pl_receipt *r = d->out;
	memset(r, 0, sizeof *r);
	memcpy(r->mbx, l->mbx, 32);
	r->seq = l->seq;
	r->time = l->relay_time;
	memcpy(r->hash, l->hash, 32);
	r->index = it->index;
	r->notelen = t->notelen;
	memcpy(r->note, t->note, t->notelen);
	r->prooflen = it->prooflen;
	memcpy(r->proof, it->proof, it->prooflen * 32);
	d->found = 1;
	return 1;
}

int pl_logq_deposit(pl_logq *q, const uint8_t mbx[static 32], const uint8_t hash[static 32],
		    uint64_t seq, pl_receipt *out, pl_err *e)
{
	dep_ctx d = {q, hash, seq, out, 0};
	if (q->t.note == NULL && load_checkpoint(q, e) != 0)
		return -1;
	uint64_t from = 0;
	for (int pass = 0; pass < 2; pass++) {
		uint64_t upto = q->t.size;
		if (scan(q, mbx, PL_PROTO_MBXLOG_DEPOSIT, from, dep_fn, &d, e) != 0)
			return -1;
		if (d.found)
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
	uint64_t below;
	uint64_t index;
	int found;
} ack_ctx;

static int ack_fn(void *ctx, const pl_proto_mbxlog_item *it, const pl_leaf *l, pl_err *e)
{
	(void)e;
	ack_ctx *a = ctx;
	if (it->index >= a->below)
		return 1; /* past the range asked about: none in it */
	if (l->type != PL_LEAF_ACK || sodium_memcmp(l->owner, a->owner, 32) != 0 ||
	    pl_leaf_ack_verify(l) != 0 || !pl_auth_ack_names(&l->ack, a->seq, a->hash))
		return 0;
	a->index = it->index;
	a->found = 1;
	return 1;
}

int pl_logq_first_ack(pl_logq *q, const uint8_t owner[static 32], uint64_t from, uint64_t below,
		      uint64_t seq, const uint8_t hash[static 32], uint64_t *index, pl_err *e)
{
	uint8_t mbx[32];
	ack_ctx a = {owner, seq, hash, below, 0, 0};
	if (q->t.note == NULL && load_checkpoint(q, e) != 0)
		return -1;
	pl_mailbox_id(mbx, owner);
	if (from < below && scan(q, mbx, PL_PROTO_MBXLOG_ACK, from, ack_fn, &a, e) != 0)
		return -1;
	if (a.found) {
		*index = a.index;
		return 0;
	}
	return 1;
}
