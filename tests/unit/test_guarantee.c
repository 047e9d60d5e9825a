/* test_guarantee.c — guarantees and commitments (docs/NEGOTIATION.md
 * "Guarantee"): the codec of the guarantee object and of version 3
 * commitments and what it refuses; version 1 and 2 objects keep their
 * exact bytes; the mediator's checks of a delivered agreement (a stranger,
 * another mediator, a mismatched acceptance, every byte altered); a party's
 * checks of a guarantee (a stranger, the wrong mediator, a proposal not
 * accepted, a replay, an altered byte); `guarantee` itself; and the
 * three-signature agreement file, refused with any byte flipped. No relay:
 * objects and items are put in place as the engine would have. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/guarantee.h"
#include "client/nego.h"
#include "envelope/envelope.h"
#include "export/agreement.h"
#include "export/json.h"
#include "negotiation/agreed.h"
#include "support.h"
#include "util/codec.h"

static char dir[256];
static pl_vault *I, *U, *S, *W,
    *X; /* Iran, United States, Switzerland, another mediator, a stranger */

static pl_obj *new_obj(void)
{
	pl_obj *o = calloc(1, sizeof *o);
	assert_non_null(o);
	return o;
}

static void add_contact(pl_vault *v, const char *name, pl_vault *other)
{
	pl_contact c;
	pl_err e;
	pl_err_clear(&e);
	memset(&c, 0, sizeof c);
	snprintf(c.name, sizeof c.name, "%s", name);
	memcpy(c.ik, pl_vault_identity(other)->pk, PL_IK_LEN);
	c.verified = 1;
	c.added = pl_now();
	assert_int_equal(pl_vault_contact_put(v, &c, &e), 0);
}

static void person(pl_person *p, const char *name, const char *held, uint8_t tag)
{
	memset(p, 0, sizeof *p);
	memset(p->ref, tag, PL_OBJ_REF_LEN);
	snprintf(p->name, sizeof p->name, "%s", name);
	snprintf(p->held_by, sizeof p->held_by, "%s", held);
}

/* A proposal from I to U naming mediator m, with commitments when commit. */
static void proposal(pl_wr *w, pl_obj *o, pl_vault *m, int commit)
{
	pl_obj_init(o, PL_OBJ_PROPOSAL);
	memcpy(o->recipient_ik, pl_vault_identity(U)->pk, PL_IK_LEN);
	pl_proposal *b = &o->u.proposal;
	b->n_author = b->n_recipient = 1;
	person(&b->author[0], "Ahmad Khalili", "Iran", 1);
	person(&b->recipient[0], "Reza Sadeghi", "United States", 2);
	b->has_mediator = 1;
	memcpy(b->mediator_ik, pl_vault_identity(m)->pk, PL_IK_LEN);
	snprintf(b->mediator_name, sizeof b->mediator_name, "Switzerland");
	if (commit) {
		o->version = PL_OBJ_VERSION_3;
		b->n_commit = 3;
		b->commit[0].who = PL_COMMIT_AUTHOR;
		snprintf(b->commit[0].text, sizeof b->commit[0].text, "transfer the funds");
		b->commit[1].who = PL_COMMIT_RECIPIENT;
		snprintf(b->commit[1].text, sizeof b->commit[1].text, "provide the aircraft");
		b->commit[2].who = PL_COMMIT_MEDIATOR;
		snprintf(b->commit[2].text, sizeof b->commit[2].text, "hold the funds in escrow");
	}
	pl_wr_init(w);
	assert_int_equal(pl_obj_sign(w, o, pl_vault_identity(I), NULL), 0);
}

static void acceptance(pl_wr *w, pl_obj *a, const pl_obj *p, const pl_wr *pw)
{
	pl_obj_init(a, PL_OBJ_RESPONSE);
	a->created = p->created + 1;
	memcpy(a->recipient_ik, pl_vault_identity(I)->pk, PL_IK_LEN);
	a->u.response.kind = PL_RESP_ACCEPT;
	memcpy(a->u.response.target_id, p->id, PL_OBJ_ID_LEN);
	pl_obj_hash(a->u.response.target_hash, pw->p, pw->n);
	pl_wr_init(w);
	assert_int_equal(pl_obj_sign(w, a, pl_vault_identity(U), NULL), 0);
}

/* A guarantee by `by` of (p, a) addressed to `to`. */
static void guarantee(pl_wr *w, pl_obj *g, pl_vault *by, pl_vault *to, const pl_obj *p,
		      const pl_wr *pw, const pl_obj *a, const pl_wr *aw)
{
	pl_obj_init(g, PL_OBJ_GUARANTEE);
	g->created = a->created + 1;
	memcpy(g->recipient_ik, pl_vault_identity(to)->pk, PL_IK_LEN);
	memcpy(g->u.guarantee.proposal_id, p->id, PL_OBJ_ID_LEN);
	pl_obj_hash(g->u.guarantee.proposal_hash, pw->p, pw->n);
	memcpy(g->u.guarantee.acceptance_id, a->id, PL_OBJ_ID_LEN);
	pl_obj_hash(g->u.guarantee.acceptance_hash, aw->p, aw->n);
	snprintf(g->u.guarantee.text, sizeof g->u.guarantee.text, "Switzerland stands behind it.");
	pl_wr_init(w);
	assert_int_equal(pl_obj_sign(w, g, pl_vault_identity(by), NULL), 0);
}

/* With PARLEY_SEED_DIR set, writes name there (fuzz seeds: run once with
 * it set to fill fuzz/corpus/fuzz_agreed and friends). */
static void seed(const char *name, const void *p, size_t n)
{
	const char *d = getenv("PARLEY_SEED_DIR");
	char path[PATH_MAX];
	if (d == NULL)
		return;
	snprintf(path, sizeof path, "%s/%s", d, name);
	pl_test_write_file(path, p, n);
}

static int64_t put_item(pl_vault *v, const char *contact, int dir_, int kind, const char *state,
			const uint8_t id[8], const pl_wr *body)
{
	pl_item it;
	pl_err e;
	pl_err_clear(&e);
	memset(&it, 0, sizeof it);
	memcpy(it.id, id, 8);
	snprintf(it.contact, sizeof it.contact, "%s", contact);
	it.dir = dir_;
	it.kind = kind;
	it.time = pl_now();
	snprintf(it.state, sizeof it.state, "%s", state);
	pl_wr_init(&it.body);
	pl_wr_init(&it.receipt);
	pl_wr_bytes(&it.body, body->p, body->n);
	assert_int_equal(pl_vault_item_add(v, &it, &e), 0);
	int64_t seq = it.seq;
	pl_vault_item_free(&it);
	return seq;
}

static const char *state_of(pl_vault *v, int64_t seq)
{
	static char st[16];
	pl_item it;
	assert_int_equal(pl_vault_item_get(v, seq, &it, NULL), 0);
	snprintf(st, sizeof st, "%s", it.state);
	pl_vault_item_free(&it);
	return st;
}

/* What the receiving handler says of a payload from contact `from` of v. */
static int receive(pl_vault *v, const char *from, int kind, const uint8_t id[8], const uint8_t *b,
		   size_t n)
{
	pl_contact c;
	pl_payload p;
	pl_msgr_envelope env;
	pl_err e;
	pl_err_clear(&e);
	assert_int_equal(pl_vault_contact_get(v, from, &c, &e), 0);
	memset(&p, 0, sizeof p);
	p.kind = (uint8_t)kind;
	memcpy(p.id, id, 8);
	p.time = pl_now();
	p.body = b;
	p.bodylen = n;
	memset(&env, 0, sizeof env);
	pl_wr_init(&env.receipt);
	int rc = pl_nego_object_received(NULL, v, &c, &p, &env, &e);
	pl_wr_free(&env.receipt);
	return rc;
}

static int setup(void **st)
{
	(void)st;
	if (sodium_init() < 0)
		return -1;
	pl_test_tmpdir(dir, sizeof dir, "guarantee");
	I = pl_test_vault_new(dir, "i", "Iran", "http://127.0.0.1:1");
	U = pl_test_vault_new(dir, "u", "United States", "http://127.0.0.1:1");
	S = pl_test_vault_new(dir, "s", "Switzerland", "http://127.0.0.1:1");
	W = pl_test_vault_new(dir, "w", "Oman", "http://127.0.0.1:1");
	X = pl_test_vault_new(dir, "x", "Stranger", "http://127.0.0.1:1");
	add_contact(I, "United States", U);
	add_contact(I, "Switzerland", S);
	add_contact(I, "Oman", W);
	add_contact(I, "Stranger", X);
	add_contact(U, "Iran", I);
	add_contact(U, "Switzerland", S);
	add_contact(S, "Iran", I);
	add_contact(S, "United States", U);
	add_contact(S, "Stranger", X);
	add_contact(W, "Iran", I);
	add_contact(W, "United States", U);
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	pl_vault_close(I);
	pl_vault_close(U);
	pl_vault_close(S);
	pl_vault_close(W);
	pl_vault_close(X);
	pl_test_rm_rf(dir);
	return 0;
}

/* --- codec ------------------------------------------------------------------ */

static void test_codec(void **st)
{
	(void)st;
	pl_obj *p = new_obj(), *a = new_obj(), *g = new_obj(), *d = new_obj();
	pl_wr pw, aw, gw, w;
	proposal(&pw, p, S, 1);
	acceptance(&aw, a, p, &pw);
	guarantee(&gw, g, S, I, p, &pw, a, &aw);
	/* round trips, byte for byte */
	assert_int_equal(pl_obj_decode_signed(d, pw.p, pw.n, NULL), 0);
	assert_int_equal(d->version, PL_OBJ_VERSION_3);
	assert_int_equal(d->u.proposal.n_commit, 3);
	assert_string_equal(d->u.proposal.commit[2].text, "hold the funds in escrow");
	assert_int_equal(pl_obj_decode_signed(d, gw.p, gw.n, NULL), 0);
	assert_int_equal(d->type, PL_OBJ_GUARANTEE);
	pl_wr_init(&w);
	assert_int_equal(pl_obj_encode_signed(&w, d, NULL), 0);
	assert_true(w.n == gw.n && memcmp(w.p, gw.p, w.n) == 0);
	pl_wr_free(&w);
	/* every byte flip and every truncation of the guarantee is refused */
	for (size_t i = 0; i < gw.n; i++) {
		gw.p[i] ^= 1;
		assert_int_not_equal(pl_obj_decode_signed(d, gw.p, gw.n, NULL), 0);
		gw.p[i] ^= 1;
		assert_int_not_equal(pl_obj_decode_signed(d, gw.p, i, NULL), 0);
	}
	/* the encoder refuses what the decoder would */
	*d = *g;
	memset(d->u.guarantee.proposal_hash, 0, PL_OBJ_HASH_LEN);
	pl_wr_init(&w);
	assert_int_not_equal(pl_obj_encode(&w, d, NULL), 0);
	*d = *g;
	memcpy(d->u.guarantee.acceptance_id, d->u.guarantee.proposal_id, PL_OBJ_ID_LEN);
	assert_int_not_equal(pl_obj_encode(&w, d, NULL), 0);
	*d = *g;
	snprintf(d->u.guarantee.text, sizeof d->u.guarantee.text, "bad\x01text");
	assert_int_not_equal(pl_obj_encode(&w, d, NULL), 0);
	*d = *g;
	d->version = PL_OBJ_VERSION_3; /* version 3 is for proposals only */
	assert_int_not_equal(pl_obj_encode(&w, d, NULL), 0);
	/* commitments: version 3 only, at least one, known signer, one line,
	 * a mediator's only with a mediator */
	*d = *p;
	d->version = PL_OBJ_VERSION;
	assert_int_not_equal(pl_obj_encode(&w, d, NULL), 0);
	*d = *p;
	d->u.proposal.n_commit = 0;
	assert_int_not_equal(pl_obj_encode(&w, d, NULL), 0);
	*d = *p;
	d->u.proposal.commit[1].who = 4;
	assert_int_not_equal(pl_obj_encode(&w, d, NULL), 0);
	*d = *p;
	d->u.proposal.commit[0].text[0] = '\0';
	assert_int_not_equal(pl_obj_encode(&w, d, NULL), 0);
	*d = *p;
	snprintf(d->u.proposal.commit[0].text, sizeof d->u.proposal.commit[0].text, "two\nlines");
	assert_int_not_equal(pl_obj_encode(&w, d, NULL), 0);
	*d = *p;
	d->u.proposal.has_mediator = 0;
	memset(d->u.proposal.mediator_ik, 0, PL_IK_LEN);
	d->u.proposal.mediator_name[0] = '\0';
	assert_int_not_equal(pl_obj_encode(&w, d, NULL), 0);
	d->u.proposal.n_commit = 2; /* without the mediator's: fine */
	assert_int_equal(pl_obj_encode(&w, d, NULL), 0);
	*d = *p;
	d->u.proposal.n_commit = PL_PROPOSAL_COMMIT_MAX + 1;
	assert_int_not_equal(pl_obj_encode(&w, d, NULL), 0);
	pl_wr_free(&w);
	/* on the wire: a version 3 proposal with a count of 0 or 17 */
	pl_wr_init(&w);
	*d = *p;
	assert_int_equal(pl_obj_encode(&w, d, NULL), 0);
	size_t at = w.n - (1 + 3 * 4) - strlen("transfer the funds") -
		    strlen("provide the aircraft") - strlen("hold the funds in escrow") - 3;
	assert_int_equal(w.p[at], 3);
	w.p[at] = 0;
	assert_int_not_equal(pl_obj_parse(d, w.p, w.n, NULL), 0);
	w.p[at] = 17;
	assert_int_not_equal(pl_obj_parse(d, w.p, w.n, NULL), 0);
	w.p[at] = 3;
	w.p[0] = 2; /* the same bytes called version 2: trailing bytes */
	assert_int_not_equal(pl_obj_parse(d, w.p, w.n, NULL), 0);
	w.p[0] = 4;
	assert_int_not_equal(pl_obj_parse(d, w.p, w.n, NULL), 0);
	pl_wr_free(&w);
	pl_wr_free(&pw);
	pl_wr_free(&aw);
	pl_wr_free(&gw);
	free(p);
	free(a);
	free(g);
	free(d);
}

/* Version 1 and 2 objects signed before commitments existed still decode
 * and re-encode to exactly their bytes. */
static void test_old_versions(void **st)
{
	(void)st;
	static const char *const seeds[] = {"proposal_signed", "proposal_v2_persian",
					    "acceptance_v2", "response_signed"};
	pl_obj *o = new_obj();
	for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
		char path[PATH_MAX];
		size_t n;
		pl_test_vec_path(path, sizeof path, "../../../fuzz/corpus/fuzz_object/%s",
				 seeds[i]);
		uint8_t *b = pl_test_read_file(path, &n);
		assert_non_null(b);
		assert_int_equal(pl_obj_decode_signed(o, b, n, NULL), 0);
		assert_true(o->version == PL_OBJ_VERSION || o->version == PL_OBJ_VERSION_1);
		pl_wr w;
		pl_wr_init(&w);
		assert_int_equal(pl_obj_encode_signed(&w, o, NULL), 0);
		assert_true(w.n == n && memcmp(w.p, b, n) == 0);
		pl_wr_free(&w);
		free(b);
	}
	free(o);
}

/* --- the mediator receives the agreement ------------------------------------ */

static void test_agreement_delivered(void **st)
{
	(void)st;
	pl_obj *p = new_obj(), *a = new_obj(), *p2 = new_obj(), *a2 = new_obj(), *q = new_obj();
	pl_wr pw, aw, p2w, a2w, b, bad;
	uint8_t id[8], id2[8];
	proposal(&pw, p, S, 1);
	acceptance(&aw, a, p, &pw);
	pl_wr_init(&b);
	pl_agreed_encode(&b, pw.p, pw.n, aw.p, aw.n);
	randombytes_buf(id, 8);
	randombytes_buf(id2, 8);
	seed("agreed", b.p, b.n);
	seed("proposal_v3_signed", pw.p, pw.n);

	/* the strict framing */
	const uint8_t *x, *y;
	size_t xn, yn;
	assert_int_equal(pl_agreed_split(b.p, b.n, &x, &xn, &y, &yn), 0);
	assert_int_not_equal(pl_agreed_split(b.p, b.n - 1, &x, &xn, &y, &yn), 0);
	pl_wr_init(&bad);
	pl_wr_bytes(&bad, b.p, b.n);
	pl_wr_u8(&bad, 0);
	assert_int_not_equal(pl_agreed_split(bad.p, bad.n, &x, &xn, &y, &yn), 0);
	pl_wr_free(&bad);

	/* a stranger carrying it, though it is authentic: refused */
	assert_int_equal(receive(S, "Stranger", PL_KIND_AGREEMENT, id, b.p, b.n), 1);
	/* naming another mediator: Oman's vault refuses Switzerland's */
	assert_int_equal(receive(W, "Iran", PL_KIND_AGREEMENT, id, b.p, b.n), 1);
	/* a party the mediator does not know yet: kept for a later sync */
	pl_vault *Z = pl_test_vault_new(dir, "z", "Switzerland too", "http://127.0.0.1:1");
	add_contact(Z, "Iran", I);
	pl_wr zb, zp, za;
	pl_obj *zo = new_obj(), *zq = new_obj();
	proposal(&zp, zo, Z, 0);
	acceptance(&za, zq, zo, &zp);
	pl_wr_init(&zb);
	pl_agreed_encode(&zb, zp.p, zp.n, za.p, za.n);
	assert_int_equal(receive(Z, "Iran", PL_KIND_AGREEMENT, id, zb.p, zb.n),
			 PL_MSGR_OBJECT_LATER);
	add_contact(Z, "United States", U);
	assert_int_equal(receive(Z, "Iran", PL_KIND_AGREEMENT, id, zb.p, zb.n), 0);
	pl_vault_close(Z);
	pl_wr_free(&zb);
	pl_wr_free(&zp);
	pl_wr_free(&za);
	free(zo);
	free(zq);
	/* an acceptance of another proposal */
	proposal(&p2w, p2, S, 0);
	acceptance(&a2w, a2, p2, &p2w);
	pl_wr_init(&bad);
	pl_agreed_encode(&bad, pw.p, pw.n, a2w.p, a2w.n);
	assert_int_equal(receive(S, "Iran", PL_KIND_AGREEMENT, id, bad.p, bad.n), 1);
	pl_wr_free(&bad);
	/* the proposal where the acceptance should be */
	pl_wr_init(&bad);
	pl_agreed_encode(&bad, pw.p, pw.n, pw.p, pw.n);
	assert_int_equal(receive(S, "Iran", PL_KIND_AGREEMENT, id, bad.p, bad.n), 1);
	pl_wr_free(&bad);
	/* every byte altered */
	for (size_t i = 0; i < b.n; i++) {
		b.p[i] ^= 1;
		assert_int_equal(receive(S, "Iran", PL_KIND_AGREEMENT, id, b.p, b.n), 1);
		b.p[i] ^= 1;
	}
	/* the real one, from the accepter: stored */
	assert_int_equal(receive(S, "United States", PL_KIND_AGREEMENT, id, b.p, b.n), 0);
	int64_t seq =
	    put_item(S, "United States", PL_DIR_IN, PL_KIND_AGREEMENT, "received", id, &b);
	/* the proposer's copy of the same agreement: held already */
	assert_int_equal(receive(S, "Iran", PL_KIND_AGREEMENT, id2, b.p, b.n), PL_MSGR_OBJECT_HELD);

	/* guarantee it: two guarantees, the item guaranteed */
	uint8_t gids[2][PL_OBJ_ID_LEN];
	int64_t gseq[2];
	pl_err e;
	pl_err_clear(&e);
	assert_int_equal(pl_guar_guarantee(S, id, "we stand behind it", NULL, gids, gseq, &e), 0);
	assert_string_equal(state_of(S, seq), "guaranteed");
	pl_item g;
	for (int k = 0; k < 2; k++) {
		assert_int_equal(pl_vault_item_get(S, gseq[k], &g, NULL), 0);
		assert_int_equal(pl_obj_decode_signed(q, g.body.p, g.body.n, NULL), 0);
		assert_int_equal(q->type, PL_OBJ_GUARANTEE);
		assert_memory_equal(q->recipient_ik, pl_vault_identity(k ? U : I)->pk, PL_IK_LEN);
		assert_memory_equal(q->u.guarantee.proposal_id, p->id, PL_OBJ_ID_LEN);
		pl_vault_item_free(&g);
	}
	/* twice: refused, nothing more written */
	pl_err_clear(&e);
	assert_int_not_equal(pl_guar_guarantee(S, id, NULL, NULL, gids, gseq, &e), 0);
	assert_int_equal(e.code, PL_EXIT_REFUSED);
	/* an id that is not an agreement */
	pl_err_clear(&e);
	assert_int_not_equal(pl_guar_guarantee(S, gids[0], NULL, NULL, gids, gseq, &e), 0);
	/* an agreement naming another mediator cannot be guaranteed by us */
	pl_wr_init(&bad);
	pl_wr_free(&p2w);
	pl_wr_free(&a2w);
	proposal(&p2w, p2, W, 0);
	acceptance(&a2w, a2, p2, &p2w);
	pl_agreed_encode(&bad, p2w.p, p2w.n, a2w.p, a2w.n);
	uint8_t id3[8];
	randombytes_buf(id3, 8);
	put_item(S, "Iran", PL_DIR_IN, PL_KIND_AGREEMENT, "received", id3, &bad);
	pl_err_clear(&e);
	assert_int_not_equal(pl_guar_guarantee(S, id3, NULL, NULL, gids, gseq, &e), 0);
	assert_int_equal(e.code, PL_EXIT_REFUSED);
	pl_wr_free(&bad);
	pl_wr_free(&pw);
	pl_wr_free(&aw);
	pl_wr_free(&p2w);
	pl_wr_free(&a2w);
	pl_wr_free(&b);
	free(p);
	free(a);
	free(p2);
	free(a2);
	free(q);
}

/* --- a party receives the guarantee ------------------------------------------ */

static void test_guarantee_received(void **st)
{
	(void)st;
	pl_obj *p = new_obj(), *a = new_obj(), *g = new_obj(), *p2 = new_obj(), *a2 = new_obj();
	pl_wr pw, aw, gw, p2w, a2w;
	proposal(&pw, p, S, 1);
	acceptance(&aw, a, p, &pw);
	/* Iran's vault: its proposal, accepted, and the acceptance */
	int64_t ps =
	    put_item(I, "United States", PL_DIR_OUT, PL_KIND_OBJECT, "accepted", p->id, &pw);
	put_item(I, "United States", PL_DIR_IN, PL_KIND_OBJECT, "received", a->id, &aw);
	/* a guarantee by a stranger (a contact of Iran, not the mediator named) */
	guarantee(&gw, g, X, I, p, &pw, a, &aw);
	assert_int_equal(receive(I, "Stranger", PL_KIND_OBJECT, g->id, gw.p, gw.n), 1);
	pl_wr_free(&gw);
	/* by the wrong mediator */
	guarantee(&gw, g, W, I, p, &pw, a, &aw);
	assert_int_equal(receive(I, "Oman", PL_KIND_OBJECT, g->id, gw.p, gw.n), 1);
	pl_wr_free(&gw);
	/* by the mediator, carried by another contact (not its signer) */
	guarantee(&gw, g, S, I, p, &pw, a, &aw);
	assert_int_equal(receive(I, "Oman", PL_KIND_OBJECT, g->id, gw.p, gw.n), 1);
	/* every byte altered */
	for (size_t i = 0; i < gw.n; i++) {
		gw.p[i] ^= 1;
		assert_int_equal(receive(I, "Switzerland", PL_KIND_OBJECT, g->id, gw.p, gw.n), 1);
		gw.p[i] ^= 1;
	}
	assert_string_equal(state_of(I, ps), "accepted");
	/* the real one */
	seed("guarantee_signed", gw.p, gw.n);
	assert_int_equal(receive(I, "Switzerland", PL_KIND_OBJECT, g->id, gw.p, gw.n), 0);
	assert_string_equal(state_of(I, ps), "guaranteed");
	put_item(I, "Switzerland", PL_DIR_IN, PL_KIND_OBJECT, "received", g->id, &gw);
	/* the same guarantee again: a duplicate, accepted as such */
	assert_int_equal(receive(I, "Switzerland", PL_KIND_OBJECT, g->id, gw.p, gw.n), 0);
	/* a second, different guarantee of the same agreement: refused */
	pl_wr g2w;
	pl_obj *g2 = new_obj();
	guarantee(&g2w, g2, S, I, p, &pw, a, &aw);
	assert_int_equal(receive(I, "Switzerland", PL_KIND_OBJECT, g2->id, g2w.p, g2w.n), 1);
	assert_string_equal(state_of(I, ps), "guaranteed");
	/* the guarantee is found for the export */
	pl_item found;
	uint8_t ph[PL_OBJ_HASH_LEN];
	pl_obj_hash(ph, pw.p, pw.n);
	assert_int_equal(pl_guar_find(I, p->id, ph, pl_vault_identity(S)->pk, &found, NULL), 0);
	assert_memory_equal(found.id, g->id, 8);
	pl_vault_item_free(&found);

	/* a proposal not accepted: rejected is refused; still open waits */
	proposal(&p2w, p2, S, 0);
	acceptance(&a2w, a2, p2, &p2w);
	int64_t ps2 =
	    put_item(I, "United States", PL_DIR_OUT, PL_KIND_OBJECT, "rejected", p2->id, &p2w);
	pl_wr_free(&g2w);
	guarantee(&g2w, g2, S, I, p2, &p2w, a2, &a2w);
	assert_int_equal(receive(I, "Switzerland", PL_KIND_OBJECT, g2->id, g2w.p, g2w.n), 1);
	assert_string_equal(state_of(I, ps2), "rejected");
	pl_err e;
	pl_err_clear(&e);
	assert_int_equal(pl_vault_item_set_state(I, ps2, "delivered", NULL, 0, &e), 0);
	assert_int_equal(receive(I, "Switzerland", PL_KIND_OBJECT, g2->id, g2w.p, g2w.n),
			 PL_MSGR_OBJECT_LATER);
	assert_string_equal(state_of(I, ps2), "delivered");
	/* a guarantee of a proposal we never saw */
	pl_obj *p3 = new_obj();
	pl_wr p3w, g3w;
	proposal(&p3w, p3, S, 0);
	guarantee(&g3w, g2, S, I, p3, &p3w, a2, &a2w);
	assert_int_equal(receive(I, "Switzerland", PL_KIND_OBJECT, g2->id, g3w.p, g3w.n), 1);

	/* the export: three signatures; every byte flipped is refused */
	json_t *j;
	pl_err_clear(&e);
	assert_int_equal(pl_agreement_write(&j, pw.p, pw.n, aw.p, aw.n, &e), 0);
	pl_wr wrong;
	guarantee(&wrong, g2, W, I, p, &pw, a, &aw);
	assert_int_not_equal(pl_agreement_add_guarantee(j, wrong.p, wrong.n, &e), 0);
	assert_int_not_equal(pl_agreement_add_guarantee(j, g3w.p, g3w.n, &e), 0);
	assert_int_equal(pl_agreement_add_guarantee(j, gw.p, gw.n, &e), 0);
	size_t n;
	char *file = pl_export_dumps(j, &n);
	json_decref(j);
	assert_non_null(file);
	seed("agreement_guaranteed", file, n);
	pl_agreement_summary *s = malloc(sizeof *s);
	assert_non_null(s);
	assert_int_equal(pl_agreement_verify(s, (uint8_t *)file, n, NULL, 0, &e), 0);
	assert_true(s->guaranteed);
	assert_int_equal(s->proposal.u.proposal.n_commit, 3);
	for (size_t i = 0; i < n; i++) {
		char was = file[i];
		file[i] ^= was == '\n' ? 0x20 : 0x01;
		assert_int_not_equal(pl_agreement_verify(s, (uint8_t *)file, n, NULL, 0, NULL), 0);
		file[i] = was;
	}
	assert_int_equal(pl_agreement_verify(s, (uint8_t *)file, n, NULL, 0, &e), 0);
	free(s);
	free(file);

	pl_wr_free(&wrong);
	pl_wr_free(&pw);
	pl_wr_free(&aw);
	pl_wr_free(&gw);
	pl_wr_free(&g2w);
	pl_wr_free(&p2w);
	pl_wr_free(&a2w);
	pl_wr_free(&p3w);
	pl_wr_free(&g3w);
	free(p);
	free(a);
	free(g);
	free(g2);
	free(p2);
	free(a2);
	free(p3);
}

int main(int argc, char **argv)
{
	(void)argc;
	if (pl_test_find_vecdir(argv[0], "../../../fuzz/corpus/fuzz_object/proposal_signed",
				"test_guarantee") != 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_codec),
	    cmocka_unit_test(test_old_versions),
	    cmocka_unit_test(test_agreement_delivered),
	    cmocka_unit_test(test_guarantee_received),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
