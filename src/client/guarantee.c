/*
 * guarantee.c — the agreement delivered to its mediator, the mediator's
 * guarantee, and what each party does with it (see guarantee.h).
 *
 * An agreement item (PL_KIND_AGREEMENT) lives in the mediator's vault under
 * the party that carried it; its body is the bundle (negotiation/agreed.h)
 * and its state `received` until the mediator guarantees it, then
 * `guaranteed`. A guarantee is an ordinary signed object (type 6) in the
 * thread between the mediator and each party; the party's proposal item
 * carries the state `guaranteed` from then on.
 */
#include "client/guarantee.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/messenger.h"
#include "crypto/kdf.h"
#include "negotiation/agreed.h"
#include "util/codec.h"

int pl_guar_agreed(const char *state)
{
	return strcmp(state, "accepted") == 0 || strcmp(state, "guaranteed") == 0;
}

static int open_state(const char *state)
{
	return strcmp(state, "queued") == 0 || strcmp(state, "delivered") == 0 ||
	       strcmp(state, "fetched") == 0 || strcmp(state, "received") == 0;
}

static int same_bytes(const pl_wr *a, const uint8_t *b, size_t n)
{
	return a->n == n && sodium_memcmp(a->p, b, n) == 0;
}

/* The contact whose key is ik, if we may send to it; 0, 1 none, -1 error. */
static int sendable_by_ik(pl_vault *v, const uint8_t ik[static PL_IK_LEN], pl_contact *c, pl_err *e)
{
	pl_err ce;
	pl_err_clear(&ce);
	if (pl_vault_contact_by_ik(v, ik, c, &ce) != 0) {
		if (ce.code == PL_EXIT_NOTFOUND)
			return 1;
		*e = ce;
		return -1;
	}
	if (pl_msgr_check_sendable(c, NULL) != 0) {
		sodium_memzero(c, sizeof *c);
		return 1;
	}
	return 0;
}

int pl_guar_notify(pl_vault *v, const uint8_t *pb, size_t pn, const uint8_t *ab, size_t an,
		   pl_err *e)
{
	pl_obj *P = calloc(1, sizeof *P);
	pl_contact m;
	pl_wr w;
	int rc = 0;
	pl_wr_init(&w);
	if (P == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	if (pl_obj_decode_signed(P, pb, pn, NULL) != 0 || P->type != PL_OBJ_PROPOSAL ||
	    !P->u.proposal.has_mediator || pl_msgr_check_identity(v, NULL) != 0)
		goto out;
	int r = sendable_by_ik(v, P->u.proposal.mediator_ik, &m, e);
	if (r != 0) {
		rc = r < 0 ? -1 : 0;
		goto out;
	}
	pl_agreed_encode(&w, pb, pn, ab, an);
	if (pl_wr_ok(&w) == 0 && w.n <= PL_PAYLOAD_MAX_BODY) {
		rc = pl_msgr_queue_statement(v, m.name, PL_KIND_AGREEMENT, w.p, w.n, pl_now(), e);
		if (rc == 0)
			rc = 1;
	}
	sodium_memzero(&m, sizeof m);
out:
	pl_wr_free(&w);
	free(P);
	return rc;
}

int pl_guar_notify_commit(pl_vault *v, const uint8_t *pb, size_t pn, const uint8_t *ab, size_t an,
			  pl_err *e)
{
	if (pl_vault_begin(v, e) != 0)
		return -1;
	int rc = pl_guar_notify(v, pb, pn, ab, an, e);
	if (rc < 0 || pl_vault_commit(v, e) != 0) {
		pl_vault_rollback(v);
		return -1;
	}
	return rc;
}

int pl_guar_agreement_received(pl_vault *v, const pl_contact *from, const pl_payload *p, pl_err *e)
{
	pl_obj *P = calloc(1, sizeof *P), *A = calloc(1, sizeof *A);
	uint8_t ph[PL_OBJ_HASH_LEN], ah[PL_OBJ_HASH_LEN];
	const uint8_t *me = pl_vault_identity(v)->pk;
	pl_item *items = NULL;
	size_t n = 0;
	int rc = 1;
	if (P == NULL || A == NULL) {
		rc = pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		goto out;
	}
	if (pl_agreed_decode(P, A, ph, ah, p->body, p->bodylen, NULL) != 0)
		goto out;
	const pl_proposal *b = &P->u.proposal;
	/* It names us, and comes from one of the two who signed it. */
	if (!b->has_mediator || sodium_memcmp(b->mediator_ik, me, PL_IK_LEN) != 0)
		goto out;
	if (sodium_memcmp(from->ik, P->author_ik, PL_IK_LEN) != 0 &&
	    sodium_memcmp(from->ik, P->recipient_ik, PL_IK_LEN) != 0)
		goto out;
	if (b->expires != 0 && A->created > b->expires)
		goto out;
	/* Both parties are contacts whose keys we hold (and not revoked). */
	for (int i = 0; i < 2; i++) {
		pl_contact c;
		pl_err ce;
		pl_err_clear(&ce);
		if (pl_vault_contact_by_ik(v, i ? P->recipient_ik : P->author_ik, &c, &ce) != 0) {
			/* not (yet) a contact: kept sealed, tried again at every
			 * sync, so adding and verifying it lets it in */
			rc = ce.code == PL_EXIT_NOTFOUND ? PL_MSGR_OBJECT_LATER : (*e = ce, -1);
			goto out;
		}
		int revoked = c.revoked;
		sodium_memzero(&c, sizeof c);
		if (revoked)
			goto out;
	}
	/* One agreement per proposal: the other party's copy is held already. */
	if (pl_vault_item_list(v, NULL, &items, &n, e) != 0) {
		rc = -1;
		goto out;
	}
	const uint8_t *pb, *ab;
	size_t pn, an;
	pl_agreed_split(p->body, p->bodylen, &pb, &pn, &ab, &an);
	rc = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		const uint8_t *qb, *xb;
		size_t qn, xn;
		if (items[i].kind == PL_KIND_AGREEMENT && items[i].dir == PL_DIR_IN &&
		    pl_agreed_split(items[i].body.p, items[i].body.n, &qb, &qn, &xb, &xn) == 0 &&
		    qn == pn && sodium_memcmp(qb, pb, pn) == 0 &&
		    memcmp(items[i].id, p->id, PL_OBJ_ID_LEN) != 0)
			rc = PL_MSGR_OBJECT_HELD;
	}
out:
	pl_vault_items_free(items, n);
	free(P);
	free(A);
	return rc;
}

/* The object item of any thread with id and exactly the signed bytes whose
 * hash is h (dir -1: either); 0, 1 none, -1 error. */
static int find_obj(pl_vault *v, const char *contact, int dir, const uint8_t id[PL_OBJ_ID_LEN],
		    const uint8_t h[PL_OBJ_HASH_LEN], pl_item *out, pl_err *e)
{
	pl_item *items;
	size_t n;
	int rc = 1;
	if (pl_vault_item_list(v, contact, &items, &n, e) != 0)
		return -1;
	for (size_t i = 0; i < n && rc == 1; i++) {
		uint8_t x[PL_OBJ_HASH_LEN];
		if (items[i].kind != PL_KIND_OBJECT || (dir >= 0 && items[i].dir != dir) ||
		    memcmp(items[i].id, id, PL_OBJ_ID_LEN) != 0)
			continue;
		pl_obj_hash(x, items[i].body.p, items[i].body.n);
		if (sodium_memcmp(x, h, sizeof x) != 0)
			continue;
		*out = items[i];
		pl_wr_init(&items[i].body);
		pl_wr_init(&items[i].receipt);
		rc = 0;
	}
	pl_vault_items_free(items, n);
	return rc;
}

int pl_guar_guarantee_received(pl_vault *v, const pl_contact *from, const pl_obj *o,
			       const pl_payload *p, int *applied, pl_err *e)
{
	const pl_guarantee *g = &o->u.guarantee;
	pl_item prop, acc;
	pl_obj *P = calloc(1, sizeof *P);
	int rc = 1;
	memset(&prop, 0, sizeof prop);
	memset(&acc, 0, sizeof acc);
	if (P == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	int r = find_obj(v, NULL, -1, g->proposal_id, g->proposal_hash, &prop, e);
	if (r != 0) {
		rc = r; /* a guarantee of nothing we hold */
		goto out;
	}
	/* Only the mediator the proposal names may guarantee it. */
	if (pl_obj_decode_signed(P, prop.body.p, prop.body.n, NULL) != 0 ||
	    P->type != PL_OBJ_PROPOSAL || !P->u.proposal.has_mediator ||
	    sodium_memcmp(P->u.proposal.mediator_ik, o->author_ik, PL_IK_LEN) != 0 ||
	    sodium_memcmp(from->ik, o->author_ik, PL_IK_LEN) != 0)
		goto out;
	/* A replay of the guarantee we hold is an ordinary duplicate. */
	{
		pl_item *items;
		size_t n;
		if (pl_vault_item_list(v, from->name, &items, &n, e) != 0) {
			rc = -1;
			goto out;
		}
		int dup = 0;
		for (size_t i = 0; i < n && !dup; i++)
			dup = items[i].kind == PL_KIND_OBJECT && items[i].dir == PL_DIR_IN &&
			      memcmp(items[i].id, p->id, PL_OBJ_ID_LEN) == 0 &&
			      same_bytes(&items[i].body, p->body, p->bodylen);
		pl_vault_items_free(items, n);
		if (dup) {
			rc = 0;
			goto out;
		}
	}
	r = find_obj(v, prop.contact, prop.dir == PL_DIR_OUT ? PL_DIR_IN : PL_DIR_OUT,
		     g->acceptance_id, g->acceptance_hash, &acc, e);
	if (r < 0) {
		rc = -1;
		goto out;
	}
	if (r == 1) {
		/* The acceptance has not reached us (or is not decided) yet. */
		rc = open_state(prop.state) ? PL_MSGR_OBJECT_LATER : 1;
		goto out;
	}
	if (strcmp(prop.state, "accepted") == 0) {
		rc = pl_vault_item_set_state(v, prop.seq, "guaranteed", NULL, 0, e);
		*applied = rc == 0;
	} else if (open_state(prop.state))
		rc = PL_MSGR_OBJECT_LATER;
	/* guaranteed already (a second guarantee), expired, disputed: refused */
out:
	pl_vault_item_free(&prop);
	pl_vault_item_free(&acc);
	free(P);
	return rc;
}

/* Adds a signed object of ours for contact to the transcript and outbox,
 * inside the caller's transaction. */
static int add_out(pl_vault *v, const char *contact, const pl_obj *o, const pl_wr *sig,
		   int64_t *seq, pl_err *e)
{
	pl_item it;
	memset(&it, 0, sizeof it);
	pl_wr_init(&it.body);
	pl_wr_init(&it.receipt);
	memcpy(it.id, o->id, PL_OBJ_ID_LEN);
	snprintf(it.contact, sizeof it.contact, "%s", contact);
	it.dir = PL_DIR_OUT;
	it.kind = PL_KIND_OBJECT;
	it.time = o->created;
	snprintf(it.state, sizeof it.state, "queued");
	pl_wr_bytes(&it.body, sig->p, sig->n);
	int rc = -1;
	if (pl_wr_ok(&it.body) != 0)
		pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	else if (pl_vault_item_add(v, &it, e) == 0 &&
		 pl_vault_outbox_add(v, it.seq, contact, e) == 0)
		rc = 0;
	else if (e->msg[0] == '\0')
		pl_err_set(e, PL_EXIT_ERROR, "an item with the same id exists; try again");
	*seq = it.seq;
	pl_vault_item_free(&it);
	return rc;
}

int pl_guar_guarantee(pl_vault *v, const uint8_t id[static PL_OBJ_ID_LEN], const char *text,
		      const pl_nego_confirm *cf, uint8_t ids[2][PL_OBJ_ID_LEN], int64_t seqs[2],
		      pl_err *e)
{
	pl_item it;
	pl_obj *P = calloc(1, sizeof *P), *A = calloc(1, sizeof *A);
	pl_obj *G = calloc(2, sizeof *G);
	pl_contact c[2];
	pl_wr s[2];
	uint8_t ph[PL_OBJ_HASH_LEN], ah[PL_OBJ_HASH_LEN];
	char hex[PL_OBJ_ID_HEX_LEN];
	int rc = -1;
	memset(&it, 0, sizeof it);
	memset(c, 0, sizeof c);
	pl_wr_init(&s[0]);
	pl_wr_init(&s[1]);
	pl_obj_id_hex(hex, id);
	if (P == NULL || A == NULL || G == NULL) {
		pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		goto out;
	}
	if (pl_msgr_check_identity(v, e) != 0 || pl_nego_find(v, id, &it, e) != 0)
		goto out;
	if (it.kind != PL_KIND_AGREEMENT || it.dir != PL_DIR_IN) {
		pl_err_set(e, PL_EXIT_REFUSED,
			   "%s is not an agreement delivered to you as mediator; parley inbox "
			   "lists the agreements that name you",
			   hex);
		goto out;
	}
	if (strcmp(it.state, "guaranteed") == 0) {
		pl_err_set(e, PL_EXIT_REFUSED,
			   "agreement %s is already guaranteed; nothing changed", hex);
		goto out;
	}
	if (pl_agreed_decode(P, A, ph, ah, it.body.p, it.body.n, e) != 0)
		goto out;
	if (!P->u.proposal.has_mediator ||
	    sodium_memcmp(P->u.proposal.mediator_ik, pl_vault_identity(v)->pk, PL_IK_LEN) != 0) {
		pl_err_set(e, PL_EXIT_REFUSED,
			   "agreement %s names another key as mediator; only the mediator it "
			   "names can guarantee it",
			   hex);
		goto out;
	}
	if (text && pl_obj_text_ok(text, 0, PL_GUARANTEE_TEXT_MAX, 1) != 0) {
		pl_err_set(e, PL_EXIT_USAGE, "the text must be at most %d bytes of text",
			   PL_GUARANTEE_TEXT_MAX);
		goto out;
	}
	for (int i = 0; i < 2; i++) {
		const uint8_t *ik = i ? P->recipient_ik : P->author_ik;
		int r = sendable_by_ik(v, ik, &c[i], e);
		if (r < 0)
			goto out;
		if (r == 1) {
			char fp[PL_FINGERPRINT_LEN];
			pl_fingerprint(fp, ik);
			pl_err_set(e, PL_EXIT_SECURITY,
				   "the %s (key fingerprint %s) is not a verified contact you can "
				   "send to; verify it (parley contact verify) and guarantee again",
				   i ? "accepter" : "proposer", fp);
			goto out;
		}
		pl_obj_init(&G[i], PL_OBJ_GUARANTEE);
		memcpy(G[i].recipient_ik, ik, PL_IK_LEN);
		pl_guarantee *g = &G[i].u.guarantee;
		memcpy(g->proposal_id, P->id, PL_OBJ_ID_LEN);
		memcpy(g->proposal_hash, ph, PL_OBJ_HASH_LEN);
		memcpy(g->acceptance_id, A->id, PL_OBJ_ID_LEN);
		memcpy(g->acceptance_hash, ah, PL_OBJ_HASH_LEN);
		if (text)
			snprintf(g->text, sizeof g->text, "%s", text);
	}
	G[1].created = G[0].created;
	if (cf && cf->fn && cf->fn(cf->ctx, v, c[0].name, &G[0], e) != 0)
		goto out;
	for (int i = 0; i < 2; i++)
		if (pl_obj_sign(&s[i], &G[i], pl_vault_identity(v), e) != 0)
			goto out;
	if (pl_vault_begin(v, e) != 0)
		goto out;
	if (add_out(v, c[0].name, &G[0], &s[0], &seqs[0], e) != 0 ||
	    add_out(v, c[1].name, &G[1], &s[1], &seqs[1], e) != 0 ||
	    pl_vault_item_set_state(v, it.seq, "guaranteed", NULL, 0, e) != 0 ||
	    pl_vault_commit(v, e) != 0) {
		pl_vault_rollback(v);
		goto out;
	}
	memcpy(ids[0], G[0].id, PL_OBJ_ID_LEN);
	memcpy(ids[1], G[1].id, PL_OBJ_ID_LEN);
	rc = 0;
out:
	pl_vault_item_free(&it);
	pl_wr_free(&s[0]);
	pl_wr_free(&s[1]);
	sodium_memzero(c, sizeof c);
	free(P);
	free(A);
	free(G);
	return rc;
}

int pl_guar_find(pl_vault *v, const uint8_t pid[static PL_OBJ_ID_LEN],
		 const uint8_t ph[static PL_OBJ_HASH_LEN], const uint8_t mik[static PL_IK_LEN],
		 pl_item *g, pl_err *e)
{
	pl_item *items;
	size_t n;
	pl_obj *o = calloc(1, sizeof *o);
	int rc = 1;
	if (o == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	if (pl_vault_item_list(v, NULL, &items, &n, e) != 0) {
		free(o);
		return -1;
	}
	for (size_t i = 0; i < n && rc == 1; i++) {
		if (items[i].kind != PL_KIND_OBJECT || items[i].dir != PL_DIR_IN ||
		    pl_obj_decode_signed(o, items[i].body.p, items[i].body.n, NULL) != 0 ||
		    o->type != PL_OBJ_GUARANTEE ||
		    memcmp(o->u.guarantee.proposal_id, pid, PL_OBJ_ID_LEN) != 0 ||
		    sodium_memcmp(o->u.guarantee.proposal_hash, ph, PL_OBJ_HASH_LEN) != 0 ||
		    sodium_memcmp(o->author_ik, mik, PL_IK_LEN) != 0)
			continue;
		*g = items[i];
		pl_wr_init(&items[i].body);
		pl_wr_init(&items[i].receipt);
		rc = 0;
	}
	pl_vault_items_free(items, n);
	free(o);
	return rc;
}

int pl_guar_find_agreement(pl_vault *v, const uint8_t pid[static PL_OBJ_ID_LEN], pl_item *it,
			   pl_err *e)
{
	pl_item *items;
	size_t n;
	int rc = 1;
	if (pl_vault_item_list(v, NULL, &items, &n, e) != 0)
		return -1;
	for (size_t i = 0; i < n && rc == 1; i++) {
		const uint8_t *pb, *ab;
		size_t pn, an;
		/* the proposal's id sits at bytes 2..10 of its encoding */
		if (items[i].kind != PL_KIND_AGREEMENT ||
		    pl_agreed_split(items[i].body.p, items[i].body.n, &pb, &pn, &ab, &an) != 0 ||
		    pn < 2 + PL_OBJ_ID_LEN || memcmp(pb + 2, pid, PL_OBJ_ID_LEN) != 0)
			continue;
		*it = items[i];
		pl_wr_init(&items[i].body);
		pl_wr_init(&items[i].receipt);
		rc = 0;
	}
	pl_vault_items_free(items, n);
	return rc;
}
