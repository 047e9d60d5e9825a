/*
 * test_via.c — proximity talks (client/via.c, negotiation/custody.c): the
 * carry, custody record and notice codecs and everything they refuse; a
 * mediator that alters the inner signature, the author, the recipient or
 * its note after signing; a custody record signed by someone other than the
 * contact that carried it; a stranger's key; replays; the mediator's
 * one-shot forward and hold. Vaults only, no relay: payloads are handed to
 * the object handler as a sync would, inside a transaction.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "client/nego.h"
#include "client/via.h"
#include "crypto/kdf.h"
#include "export/thread.h"
#include "envelope/envelope.h"
#include "negotiation/custody.h"
#include "support.h"
#include "util/codec.h"
#include "util/wire.h"

static char dir[256];
static int serial;

typedef struct {
	pl_vault *us, *ir, *ch;
	pl_identity stranger;
} parties;

static void know(pl_vault *v, const char *name, const uint8_t ik[PL_IK_LEN])
{
	pl_contact c;
	pl_err e;
	memset(&c, 0, sizeof c);
	snprintf(c.name, sizeof c.name, "%s", name);
	memcpy(c.ik, ik, PL_IK_LEN);
	c.verified = 1;
	c.added = 1;
	if (pl_vault_contact_put(v, &c, &e) != 0)
		fail_msg("contact put: %s", e.msg);
}

static void open_parties(parties *p)
{
	char a[32], b[32], c[32];
	serial++;
	snprintf(a, sizeof a, "us%d", serial);
	snprintf(b, sizeof b, "ir%d", serial);
	snprintf(c, sizeof c, "ch%d", serial);
	p->us = pl_test_vault_new(dir, a, "United States", "http://127.0.0.1:9");
	p->ir = pl_test_vault_new(dir, b, "Iran", "http://127.0.0.1:9");
	p->ch = pl_test_vault_new(dir, c, "Switzerland", "http://127.0.0.1:9");
	pl_identity_generate(&p->stranger);
	know(p->us, "Iran", pl_vault_identity(p->ir)->pk);
	know(p->us, "Switzerland", pl_vault_identity(p->ch)->pk);
	know(p->ir, "United States", pl_vault_identity(p->us)->pk);
	know(p->ir, "Switzerland", pl_vault_identity(p->ch)->pk);
	know(p->ch, "United States", pl_vault_identity(p->us)->pk);
	know(p->ch, "Iran", pl_vault_identity(p->ir)->pk);
}

static void close_parties(parties *p)
{
	pl_vault_close(p->us);
	pl_vault_close(p->ir);
	pl_vault_close(p->ch);
	pl_identity_wipe(&p->stranger);
}

/* An outreach signed by `author` for `to`, appended to w; its id in id. */
static void outreach(pl_wr *w, const pl_identity *author, const uint8_t to[PL_IK_LEN],
		     uint8_t id[PL_OBJ_ID_LEN])
{
	pl_obj *o = calloc(1, sizeof *o);
	pl_err e;
	assert_non_null(o);
	pl_obj_init(o, PL_OBJ_OUTREACH);
	memcpy(o->recipient_ik, to, PL_IK_LEN);
	snprintf(o->u.outreach.topic, sizeof o->u.outreach.topic, "talks through Bern");
	if (pl_obj_sign(w, o, author, &e) != 0)
		fail_msg("sign: %s", e.msg);
	if (id)
		memcpy(id, o->id, PL_OBJ_ID_LEN);
	free(o);
}

/* A forwarded body built by hand, without the encoder's checks, so that a
 * malicious mediator's bytes can be played: custody fields of c (hash taken
 * over inner unless keep_hash), signed by signer. */
static void raw_forward(pl_wr *w, pl_custody *c, const pl_identity *signer, const uint8_t *inner,
			size_t n, int keep_hash)
{
	pl_wr body, m;
	pl_wr_init(&body);
	pl_wr_init(&m);
	if (!keep_hash)
		pl_sha256(c->hash, inner, n);
	pl_wr_u8(&body, PL_CUSTODY_VERSION);
	pl_wr_u8(&body, c->what);
	pl_wr_bytes(&body, c->id, PL_OBJ_ID_LEN);
	pl_wr_bytes(&body, c->hash, PL_OBJ_HASH_LEN);
	pl_wr_bytes(&body, c->author_ik, PL_IK_LEN);
	pl_wr_bytes(&body, c->recipient_ik, PL_IK_LEN);
	pl_wr_bytes(&body, c->mediator_ik, PL_IK_LEN);
	pl_wr_u64(&body, c->carried);
	pl_wr_u64(&body, c->forwarded);
	pl_wr_var(&body, (const uint8_t *)c->note, strlen(c->note));
	pl_wr_bytes(&m, (const uint8_t *)PL_CUSTODY_SIG_TAG, strlen(PL_CUSTODY_SIG_TAG));
	pl_wr_bytes(&m, body.p, body.n);
	crypto_sign_detached(c->sig, NULL, m.p, m.n, signer->sk);
	pl_wr_bytes(&body, c->sig, PL_SIG_LEN);
	pl_wr_var(w, body.p, body.n);
	pl_wr_var(w, inner, n);
	assert_int_equal(pl_wr_ok(w), 0);
	pl_wr_free(&body);
	pl_wr_free(&m);
}

static size_t count_items(pl_vault *v)
{
	pl_item *items;
	size_t n;
	assert_int_equal(pl_vault_item_list(v, NULL, &items, &n, NULL), 0);
	pl_vault_items_free(items, n);
	return n;
}

/* Hands a payload of kind to v's object handler as a sync would, from its
 * contact `from`, and keeps what the handler wrote (plus the item receive
 * stores) only if it accepts: the handler's answer, and nothing stored on
 * a refusal. */
static int hand(pl_vault *v, const char *from, int kind, const uint8_t id[8], const pl_wr *body)
{
	pl_contact c;
	pl_payload p;
	pl_msgr_envelope env;
	pl_err e;
	pl_err_clear(&e);
	assert_int_equal(pl_vault_contact_get(v, from, &c, NULL), 0);
	memset(&p, 0, sizeof p);
	p.kind = (uint8_t)kind;
	memcpy(p.id, id, 8);
	p.time = pl_now();
	p.body = body->p;
	p.bodylen = body->n;
	memset(&env, 0, sizeof env);
	env.seq = 1;
	pl_wr_init(&env.receipt);
	size_t before = count_items(v);
	assert_int_equal(pl_vault_begin(v, NULL), 0);
	int rc = pl_nego_objects.fn(NULL, v, &c, &p, &env, &e);
	if (rc == 0) {
		pl_item it;
		memset(&it, 0, sizeof it);
		memcpy(it.id, id, 8);
		snprintf(it.contact, sizeof it.contact, "%s", from);
		it.dir = PL_DIR_IN;
		it.kind = kind;
		it.time = p.time;
		snprintf(it.state, sizeof it.state, "received");
		pl_wr_init(&it.body);
		pl_wr_init(&it.receipt);
		pl_wr_bytes(&it.body, body->p, body->n);
		assert_true(pl_vault_item_add(v, &it, NULL) >= 0);
		pl_vault_item_free(&it);
		assert_int_equal(pl_vault_commit(v, NULL), 0);
	} else {
		pl_vault_rollback(v);
		assert_int_equal(count_items(v), before);
	}
	pl_wr_free(&env.receipt);
	return rc;
}

/* --- codecs ------------------------------------------------------------- */

static void test_carry_codec(void **st)
{
	(void)st;
	pl_identity a, b;
	pl_identity_generate(&a);
	pl_identity_generate(&b);
	pl_wr obj, w;
	pl_wr_init(&obj);
	pl_wr_init(&w);
	outreach(&obj, &a, b.pk, NULL);
	pl_carry k = {PL_CARRY_OBJECT, {0}, obj.p, obj.n}, d;
	memcpy(k.recipient_ik, b.pk, PL_IK_LEN);
	assert_int_equal(pl_carry_encode(&w, &k, NULL), 0);
	assert_int_equal(pl_carry_decode(&d, w.p, w.n, NULL), 0);
	assert_int_equal(d.what, PL_CARRY_OBJECT);
	assert_int_equal(d.innerlen, obj.n);
	assert_memory_equal(d.inner, obj.p, obj.n);
	/* every truncation and a trailing byte are refused */
	for (size_t n = 0; n < w.n; n++)
		assert_int_equal(pl_carry_decode(&d, w.p, n, NULL), -1);
	pl_wr_u8(&w, 0);
	assert_int_equal(pl_carry_decode(&d, w.p, w.n, NULL), -1);
	w.n--;
	/* version, kind, recipient key, object signature */
	w.p[0] = 2;
	assert_int_equal(pl_carry_decode(&d, w.p, w.n, NULL), -1);
	w.p[0] = 1;
	w.p[1] = 3;
	assert_int_equal(pl_carry_decode(&d, w.p, w.n, NULL), -1);
	w.p[1] = PL_CARRY_OBJECT;
	w.p[2] ^= 1; /* recipient no longer the object's (or not a key) */
	assert_int_equal(pl_carry_decode(&d, w.p, w.n, NULL), -1);
	w.p[2] ^= 1;
	w.p[w.n - 1] ^= 1; /* the author's signature */
	pl_err e;
	assert_int_equal(pl_carry_decode(&d, w.p, w.n, &e), -1);
	assert_int_equal(e.code, PL_EXIT_SECURITY);
	w.p[w.n - 1] ^= 1;
	assert_int_equal(pl_carry_decode(&d, w.p, w.n, NULL), 0);
	/* a carry to another key than the object's is never encoded */
	memcpy(k.recipient_ik, a.pk, PL_IK_LEN);
	pl_wr w2;
	pl_wr_init(&w2);
	assert_int_equal(pl_carry_encode(&w2, &k, NULL), -1);
	/* notes: text only, not empty */
	pl_carry n = {PL_CARRY_NOTE, {0}, (const uint8_t *)"see you in Bern", 15};
	memcpy(n.recipient_ik, b.pk, PL_IK_LEN);
	assert_int_equal(pl_carry_encode(&w2, &n, NULL), 0);
	assert_int_equal(pl_carry_decode(&d, w2.p, w2.n, NULL), 0);
	assert_int_equal(d.what, PL_CARRY_NOTE);
	w2.p[w2.n - 1] = 0x07; /* a control character */
	assert_int_equal(pl_carry_decode(&d, w2.p, w2.n, NULL), -1);
	n.innerlen = 0;
	pl_wr_free(&w2);
	pl_wr_init(&w2);
	assert_int_equal(pl_carry_encode(&w2, &n, NULL), -1);
	pl_wr_free(&obj);
	pl_wr_free(&w);
	pl_wr_free(&w2);
	pl_identity_wipe(&a);
	pl_identity_wipe(&b);
}

static void test_custody_codec(void **st)
{
	(void)st;
	pl_identity a, b, m;
	pl_identity_generate(&a);
	pl_identity_generate(&b);
	pl_identity_generate(&m);
	pl_wr obj, w;
	pl_wr_init(&obj);
	pl_wr_init(&w);
	uint8_t id[8];
	outreach(&obj, &a, b.pk, id);
	pl_custody *c = calloc(1, sizeof *c), *d = calloc(1, sizeof *d);
	assert_non_null(c);
	assert_non_null(d);
	c->what = PL_CARRY_OBJECT;
	c->carried = 1000;
	c->forwarded = 2000;
	snprintf(c->note, sizeof c->note, "Switzerland vouches for the sequence");
	assert_int_equal(pl_custody_forward(&w, c, &m, obj.p, obj.n, NULL), 0);
	assert_memory_equal(c->id, id, 8);
	assert_memory_equal(c->author_ik, a.pk, PL_IK_LEN);
	const uint8_t *inner;
	size_t il;
	assert_int_equal(pl_custody_decode(d, NULL, &inner, &il, w.p, w.n, NULL), 0);
	assert_int_equal(il, obj.n);
	assert_string_equal(d->note, c->note);
	assert_memory_equal(d->mediator_ik, m.pk, PL_IK_LEN);
	/* every byte flipped is refused: the record under its signature, the
	 * inner bytes under their hash and the author's signature, lengths by
	 * the strict reader */
	for (size_t i = 0; i < w.n; i++) {
		w.p[i] ^= 0x01;
		assert_int_equal(pl_custody_decode(d, NULL, &inner, &il, w.p, w.n, NULL), -1);
		w.p[i] ^= 0x01;
	}
	for (size_t n = 0; n < w.n; n++)
		assert_int_equal(pl_custody_decode(d, NULL, &inner, &il, w.p, n, NULL), -1);
	/* the record alone: round trip and refusals */
	pl_wr rec;
	pl_wr_init(&rec);
	assert_int_equal(pl_custody_record_encode(&rec, c, NULL), 0);
	assert_int_equal(pl_custody_record_decode(d, rec.p, rec.n, NULL), 0);
	pl_wr_u8(&rec, 0);
	assert_int_equal(pl_custody_record_decode(d, rec.p, rec.n, NULL), -1);
	/* the encoder refuses what the decoder would: carried after forwarded,
	 * author as mediator, a note too long or with a control character */
	pl_wr bad;
	pl_wr_init(&bad);
	c->carried = 3000;
	assert_int_equal(pl_custody_forward(&bad, c, &m, obj.p, obj.n, NULL), -1);
	c->carried = 1000;
	assert_int_equal(pl_custody_forward(&bad, c, &a, obj.p, obj.n, NULL), -1);
	memset(c->note, 'x', PL_CUSTODY_NOTE_MAX + 1);
	c->note[PL_CUSTODY_NOTE_MAX] = '\0';
	assert_int_equal(pl_custody_forward(&bad, c, &m, obj.p, obj.n, NULL), 0);
	pl_wr_free(&bad);
	pl_wr_init(&bad);
	snprintf(c->note, sizeof c->note, "bell\a");
	assert_int_equal(pl_custody_forward(&bad, c, &m, obj.p, obj.n, NULL), -1);
	pl_wr_free(&bad);
	pl_wr_free(&rec);
	pl_wr_free(&obj);
	pl_wr_free(&w);
	free(c);
	free(d);
	pl_identity_wipe(&a);
	pl_identity_wipe(&b);
	pl_identity_wipe(&m);
}

static void test_notice_codec(void **st)
{
	(void)st;
	pl_identity a, b, m;
	pl_identity_generate(&a);
	pl_identity_generate(&b);
	pl_identity_generate(&m);
	pl_custody_notice *x = calloc(1, sizeof *x), *y = calloc(1, sizeof *y);
	assert_non_null(x);
	assert_non_null(y);
	x->status = PL_NOTICE_HELD;
	x->what = PL_CARRY_OBJECT;
	randombytes_buf(x->id, 8);
	randombytes_buf(x->hash, 32);
	memcpy(x->author_ik, a.pk, PL_IK_LEN);
	memcpy(x->recipient_ik, b.pk, PL_IK_LEN);
	x->time = 5000;
	snprintf(x->text, sizeof x->text, "not before the consular visit");
	pl_wr w;
	pl_wr_init(&w);
	assert_int_equal(pl_custody_notice_sign(&w, x, &m, NULL), 0);
	assert_int_equal(pl_custody_notice_decode(y, w.p, w.n, NULL), 0);
	assert_string_equal(y->text, x->text);
	for (size_t i = 0; i < w.n; i++) {
		w.p[i] ^= 0x80;
		assert_int_equal(pl_custody_notice_decode(y, w.p, w.n, NULL), -1);
		w.p[i] ^= 0x80;
	}
	for (size_t n = 0; n < w.n; n++)
		assert_int_equal(pl_custody_notice_decode(y, w.p, n, NULL), -1);
	/* a hold needs a reason; a hold carries no record; a "forwarded"
	 * notice needs the custody record, which must name the same move */
	pl_wr bad;
	pl_wr_init(&bad);
	x->text[0] = '\0';
	assert_int_equal(pl_custody_notice_sign(&bad, x, &m, NULL), -1);
	x->status = PL_NOTICE_FORWARDED;
	assert_int_equal(pl_custody_notice_sign(&bad, x, &m, NULL), -1); /* no record */
	pl_custody *c = calloc(1, sizeof *c);
	assert_non_null(c);
	pl_wr obj, fw, rec;
	pl_wr_init(&obj);
	pl_wr_init(&fw);
	pl_wr_init(&rec);
	outreach(&obj, &a, b.pk, NULL);
	c->what = PL_CARRY_OBJECT;
	c->carried = c->forwarded = 4000;
	assert_int_equal(pl_custody_forward(&fw, c, &m, obj.p, obj.n, NULL), 0);
	assert_int_equal(pl_custody_record_encode(&rec, c, NULL), 0);
	memcpy(x->record, rec.p, rec.n);
	x->recordlen = rec.n;
	assert_int_equal(pl_custody_notice_sign(&bad, x, &m, NULL), -1); /* other id and hash */
	memcpy(x->id, c->id, 8);
	memcpy(x->hash, c->hash, 32);
	pl_wr_free(&bad);
	pl_wr_init(&bad);
	assert_int_equal(pl_custody_notice_sign(&bad, x, &m, NULL), 0);
	assert_int_equal(pl_custody_notice_decode(y, bad.p, bad.n, NULL), 0);
	assert_int_equal(y->recordlen, rec.n);
	pl_wr_free(&bad);
	pl_wr_free(&obj);
	pl_wr_free(&fw);
	pl_wr_free(&rec);
	pl_wr_free(&w);
	free(c);
	free(x);
	free(y);
	pl_identity_wipe(&a);
	pl_identity_wipe(&b);
	pl_identity_wipe(&m);
}

/* --- the recipient --------------------------------------------------------- */

static void test_recipient_checks(void **st)
{
	(void)st;
	parties p;
	open_parties(&p);
	const pl_identity *us = pl_vault_identity(p.us), *ir = pl_vault_identity(p.ir),
			  *ch = pl_vault_identity(p.ch);
	pl_wr obj, w;
	pl_wr_init(&obj);
	uint8_t oid[8], fid[8];
	outreach(&obj, us, ir->pk, oid);
	pl_custody *c = calloc(1, sizeof *c);
	assert_non_null(c);

#define RESET()                                                                                    \
	do {                                                                                       \
		memset(c, 0, sizeof *c);                                                           \
		c->what = PL_CARRY_OBJECT;                                                         \
		memcpy(c->id, oid, 8);                                                             \
		memcpy(c->author_ik, us->pk, PL_IK_LEN);                                           \
		memcpy(c->recipient_ik, ir->pk, PL_IK_LEN);                                        \
		memcpy(c->mediator_ik, ch->pk, PL_IK_LEN);                                         \
		c->carried = c->forwarded = pl_now();                                              \
		snprintf(c->note, sizeof c->note, "passed on in good faith");                      \
		pl_wr_free(&w);                                                                    \
		pl_wr_init(&w);                                                                    \
		randombytes_buf(fid, 8);                                                           \
	} while (0)
	pl_wr_init(&w);

	/* the mediator altered the author's signature and signed custody over
	 * the altered bytes: refused, nothing stored */
	RESET();
	pl_wr alt;
	pl_wr_init(&alt);
	pl_wr_bytes(&alt, obj.p, obj.n);
	alt.p[alt.n - 3] ^= 0x20;
	raw_forward(&w, c, ch, alt.p, alt.n, 0);
	assert_int_equal(hand(p.ir, "Switzerland", PL_KIND_FORWARDED, fid, &w), 1);
	pl_wr_free(&alt);

	/* the mediator named another author (itself) than the object's */
	RESET();
	memcpy(c->author_ik, ch->pk, PL_IK_LEN);
	raw_forward(&w, c, ch, obj.p, obj.n, 0);
	assert_int_equal(hand(p.ir, "Switzerland", PL_KIND_FORWARDED, fid, &w), 1);

	/* ... another recipient than the object's */
	RESET();
	memcpy(c->recipient_ik, p.stranger.pk, PL_IK_LEN);
	raw_forward(&w, c, ch, obj.p, obj.n, 0);
	assert_int_equal(hand(p.ir, "Switzerland", PL_KIND_FORWARDED, fid, &w), 1);
	/* ... a move for someone else, passed to us */
	RESET();
	pl_wr other;
	pl_wr_init(&other);
	uint8_t xid[8];
	outreach(&other, us, p.stranger.pk, xid);
	memcpy(c->id, xid, 8);
	memcpy(c->recipient_ik, p.stranger.pk, PL_IK_LEN);
	raw_forward(&w, c, ch, other.p, other.n, 0);
	assert_int_equal(hand(p.ir, "Switzerland", PL_KIND_FORWARDED, fid, &w), 1);
	pl_wr_free(&other);

	/* ... its note after signing */
	RESET();
	raw_forward(&w, c, ch, obj.p, obj.n, 0);
	uint8_t *at = memmem(w.p, w.n, "good faith", 10);
	assert_non_null(at);
	at[0] = 'G';
	assert_int_equal(hand(p.ir, "Switzerland", PL_KIND_FORWARDED, fid, &w), 1);

	/* a custody record signed by another key than the contact carrying it */
	RESET();
	memcpy(c->mediator_ik, p.stranger.pk, PL_IK_LEN);
	raw_forward(&w, c, &p.stranger, obj.p, obj.n, 0);
	assert_int_equal(hand(p.ir, "Switzerland", PL_KIND_FORWARDED, fid, &w), 1);

	/* a move by a stranger, whose key Iran does not hold: refused */
	RESET();
	pl_wr sobj;
	pl_wr_init(&sobj);
	uint8_t sid[8];
	outreach(&sobj, &p.stranger, ir->pk, sid);
	memcpy(c->id, sid, 8);
	memcpy(c->author_ik, p.stranger.pk, PL_IK_LEN);
	raw_forward(&w, c, ch, sobj.p, sobj.n, 0);
	assert_int_equal(hand(p.ir, "Switzerland", PL_KIND_FORWARDED, fid, &w), 1);
	pl_wr_free(&sobj);

	/* the honest forward: accepted and stored under its author */
	RESET();
	assert_int_equal(pl_custody_forward(&w, c, ch, obj.p, obj.n, NULL), 0);
	assert_int_equal(hand(p.ir, "Switzerland", PL_KIND_FORWARDED, fid, &w), 0);
	pl_item it;
	assert_int_equal(pl_nego_find(p.ir, oid, &it, NULL), 0);
	assert_string_equal(it.contact, "United States");
	assert_int_equal(it.kind, PL_KIND_OBJECT);
	assert_int_equal(it.dir, PL_DIR_IN);
	json_t *path = pl_via_path_json(p.ir, &it);
	assert_non_null(path);
	assert_string_equal(json_string_value(json_object_get(path, "mediator")), "Switzerland");
	assert_string_equal(json_string_value(json_object_get(path, "note")),
			    "passed on in good faith");
	json_decref(path);
	pl_vault_item_free(&it);
	/* replayed: the same bytes again (another forward id), and the same
	 * object under a fresh custody record */
	randombytes_buf(fid, 8);
	assert_int_equal(hand(p.ir, "Switzerland", PL_KIND_FORWARDED, fid, &w), 1);
	RESET();
	assert_int_equal(pl_custody_forward(&w, c, ch, obj.p, obj.n, NULL), 0);
	assert_int_equal(hand(p.ir, "Switzerland", PL_KIND_FORWARDED, fid, &w), 1);
	/* a direct contact may not send a forwarded payload in its own name */
	RESET();
	assert_int_equal(pl_custody_forward(&w, c, ch, obj.p, obj.n, NULL), 0);
	assert_int_equal(hand(p.ir, "United States", PL_KIND_FORWARDED, fid, &w), 1);
	/* garbage */
	pl_wr junk;
	pl_wr_init(&junk);
	pl_wr_bytes(&junk, (const uint8_t *)"junk", 4);
	assert_int_equal(hand(p.ir, "Switzerland", PL_KIND_FORWARDED, fid, &junk), 1);
	assert_int_equal(hand(p.ir, "Switzerland", PL_KIND_CARRY, fid, &junk), 1);
	assert_int_equal(hand(p.ir, "Switzerland", PL_KIND_HOLD, fid, &junk), 1);
	pl_wr_free(&junk);
#undef RESET
	pl_wr_free(&w);
	pl_wr_free(&obj);
	free(c);
	close_parties(&p);
}

/* --- the mediator and the author ------------------------------------------ */

static void test_mediator_and_author(void **st)
{
	(void)st;
	parties p;
	open_parties(&p);
	const pl_identity *us = pl_vault_identity(p.us), *ir = pl_vault_identity(p.ir);
	pl_err e;
	/* the author signs for Iran and queues it to Switzerland */
	pl_nego_confirm cf = {NULL, NULL, "Switzerland"};
	uint8_t oid[8];
	int64_t seq;
	assert_int_equal(
	    pl_nego_outreach_ex(p.us, "Iran", "a channel through Bern", &cf, oid, &seq, &e), 0);
	pl_item mine;
	assert_int_equal(pl_nego_find(p.us, oid, &mine, NULL), 0);
	assert_string_equal(mine.contact, "Iran");
	pl_outbox *ob;
	size_t nob;
	assert_int_equal(pl_vault_outbox_list(p.us, &ob, &nob, NULL), 0);
	assert_int_equal(nob, 1);
	assert_string_equal(ob[0].contact, "Switzerland");
	pl_vault_outbox_free(ob, nob);
	/* what goes to the mediator is the carry of the exact signed bytes */
	pl_item wrapped = mine;
	pl_wr_init(&wrapped.body);
	pl_wr_bytes(&wrapped.body, mine.body.p, mine.body.n);
	assert_int_equal(pl_via_wrap(p.us, &wrapped, NULL), 0);
	assert_int_equal(wrapped.kind, PL_KIND_CARRY);
	/* --via the recipient itself, or an unknown mediator, is refused */
	pl_nego_confirm self = {NULL, NULL, "Iran"}, nobody = {NULL, NULL, "Atlantis"};
	uint8_t x[8];
	assert_int_equal(pl_nego_outreach_ex(p.us, "Iran", "t", &self, x, &seq, &e), -1);
	assert_int_equal(e.code, PL_EXIT_USAGE);
	assert_int_equal(pl_nego_outreach_ex(p.us, "Iran", "t", &nobody, x, &seq, &e), -1);

	/* the mediator's side: the carry from its author is kept, waiting */
	pl_wr carry;
	pl_wr_init(&carry);
	pl_wr_bytes(&carry, wrapped.body.p, wrapped.body.n);
	assert_int_equal(hand(p.ch, "Iran", PL_KIND_CARRY, oid, &carry), 1); /* not its author */
	uint8_t other[8];
	randombytes_buf(other, 8);
	assert_int_equal(hand(p.ch, "United States", PL_KIND_CARRY, other, &carry), 1); /* id */
	assert_int_equal(hand(p.ch, "United States", PL_KIND_CARRY, oid, &carry), 0);
	/* a carry for a party the mediator does not know, or for itself */
	pl_wr so, sc;
	pl_wr_init(&so);
	pl_wr_init(&sc);
	uint8_t sid[8];
	outreach(&so, us, p.stranger.pk, sid);
	pl_carry k = {PL_CARRY_OBJECT, {0}, so.p, so.n};
	memcpy(k.recipient_ik, p.stranger.pk, PL_IK_LEN);
	assert_int_equal(pl_carry_encode(&sc, &k, NULL), 0);
	pl_vault_close(p.us); /* the author's key signs; its vault is not needed */
	p.us = NULL;
	assert_int_equal(hand(p.ch, "United States", PL_KIND_CARRY, sid, &sc), 1);
	pl_wr_free(&so);
	pl_wr_free(&sc);

	/* forward once; a second forward or a hold is refused */
	uint8_t fid[8];
	char to[PL_NAME_MAX + 1], author[PL_NAME_MAX + 1];
	assert_int_equal(pl_via_forward(p.ch, oid, "in good faith", fid, to, &e), 0);
	assert_string_equal(to, "Iran");
	assert_int_equal(pl_via_forward(p.ch, oid, NULL, fid, to, &e), -1);
	assert_int_equal(e.code, PL_EXIT_REFUSED);
	assert_non_null(strstr(e.msg, "forwarded or held once"));
	assert_int_equal(pl_via_hold(p.ch, oid, "late", author, &e), -1);
	assert_int_equal(e.code, PL_EXIT_REFUSED);
	/* what it queued for Iran is a forward Iran accepts */
	pl_item *items;
	size_t n;
	assert_int_equal(pl_vault_item_list(p.ch, "Iran", &items, &n, NULL), 0);
	assert_int_equal(n, 1);
	assert_int_equal(items[0].kind, PL_KIND_FORWARDED);
	pl_wr fw;
	pl_wr_init(&fw);
	pl_wr_bytes(&fw, items[0].body.p, items[0].body.n);
	assert_int_equal(hand(p.ir, "Switzerland", PL_KIND_FORWARDED, items[0].id, &fw), 0);
	pl_vault_items_free(items, n);
	pl_wr_free(&fw);
	/* hold of a move that is not a carried one */
	assert_int_equal(pl_via_hold(p.ch, fid, "no", author, &e), -1);
	(void)ir;
	pl_wr_free(&carry);
	pl_vault_item_free(&mine);
	pl_vault_item_free(&wrapped);
	pl_vault_close(p.ir);
	pl_vault_close(p.ch);
	pl_identity_wipe(&p.stranger);
}

static void test_hold_reaches_author(void **st)
{
	(void)st;
	parties p;
	open_parties(&p);
	pl_err e;
	pl_nego_confirm cf = {NULL, NULL, "Switzerland"};
	uint8_t oid[8];
	int64_t seq;
	assert_int_equal(pl_nego_outreach_ex(p.us, "Iran", "a channel", &cf, oid, &seq, &e), 0);
	pl_item mine;
	assert_int_equal(pl_nego_find(p.us, oid, &mine, NULL), 0);
	pl_item wrapped = mine;
	pl_wr_init(&wrapped.body);
	pl_wr_bytes(&wrapped.body, mine.body.p, mine.body.n);
	assert_int_equal(pl_via_wrap(p.us, &wrapped, NULL), 0);
	assert_int_equal(hand(p.ch, "United States", PL_KIND_CARRY, oid, &wrapped.body), 0);
	char author[PL_NAME_MAX + 1];
	assert_int_equal(pl_via_hold(p.ch, oid, "", author, &e), -1); /* a reason is needed */
	assert_int_equal(pl_via_hold(p.ch, oid, "not before the visit", author, &e), 0);
	assert_string_equal(author, "United States");
	uint8_t fid[8];
	char to[PL_NAME_MAX + 1];
	assert_int_equal(pl_via_forward(p.ch, oid, NULL, fid, to, &e), -1);
	pl_item *items;
	size_t n;
	assert_int_equal(pl_vault_item_list(p.ch, "United States", &items, &n, NULL), 0);
	const pl_item *notice = NULL;
	for (size_t i = 0; i < n; i++)
		if (items[i].kind == PL_KIND_HOLD)
			notice = &items[i];
	assert_non_null(notice);
	pl_wr nb;
	pl_wr_init(&nb);
	pl_wr_bytes(&nb, notice->body.p, notice->body.n);
	/* only the mediator the move went through may say it held it */
	assert_int_equal(hand(p.us, "Iran", PL_KIND_HOLD, notice->id, &nb), 1);
	assert_int_equal(hand(p.us, "Switzerland", PL_KIND_HOLD, notice->id, &nb), 0);
	json_t *path = pl_via_path_json(p.us, &mine);
	assert_non_null(path);
	assert_string_equal(json_string_value(json_object_get(path, "state")), "held");
	assert_string_equal(json_string_value(json_object_get(path, "reason")),
			    "not before the visit");
	json_decref(path);
	/* a notice changed after signing is refused */
	nb.p[nb.n - 70] ^= 1;
	uint8_t nid[8];
	randombytes_buf(nid, 8);
	assert_int_equal(hand(p.us, "Switzerland", PL_KIND_HOLD, nid, &nb), 1);
	pl_wr_free(&nb);
	pl_vault_items_free(items, n);
	pl_vault_item_free(&mine);
	pl_vault_item_free(&wrapped);
	close_parties(&p);
}

/* A thread export takes a custody record only for the entry it names, and
 * its verifier refuses one changed after export. */
static void test_thread_custody(void **st)
{
	(void)st;
	pl_identity a, b, m;
	pl_identity_generate(&a);
	pl_identity_generate(&b);
	pl_identity_generate(&m);
	pl_wr obj, other, fw, rec;
	pl_wr_init(&obj);
	pl_wr_init(&other);
	pl_wr_init(&fw);
	pl_wr_init(&rec);
	outreach(&obj, &b, a.pk, NULL);
	outreach(&other, &b, a.pk, NULL);
	pl_custody *c = calloc(1, sizeof *c);
	assert_non_null(c);
	c->what = PL_CARRY_OBJECT;
	c->carried = c->forwarded = 1764800000;
	assert_int_equal(pl_custody_forward(&fw, c, &m, obj.p, obj.n, NULL), 0);
	assert_int_equal(pl_custody_record_encode(&rec, c, NULL), 0);
	pl_thread_export *x;
	pl_err e;
	assert_int_equal(pl_thread_export_begin(&x, &a, b.pk, NULL), 0);
	/* the record of another object, or of the right one in the wrong
	 * direction, is refused */
	assert_int_equal(pl_thread_export_add_signed_via(x, PL_EXPORT_IN, 10, other.p, other.n,
							 rec.p, rec.n, &e),
			 -1);
	assert_int_equal(
	    pl_thread_export_add_note_via(x, PL_EXPORT_IN, 10, "hello", rec.p, rec.n, &e), -1);
	assert_int_equal(
	    pl_thread_export_add_signed_via(x, PL_EXPORT_IN, 10, obj.p, obj.n, rec.p, rec.n, &e),
	    0);
	json_t *j;
	assert_int_equal(pl_thread_export_finish(x, &j, &e), 0);
	size_t len;
	char *s = pl_export_dumps(j, &len);
	assert_non_null(s);
	pl_thread_summary sum;
	memset(&sum, 0, sizeof sum);
	assert_int_equal(pl_thread_verify(&sum, (const uint8_t *)s, len, NULL, 0, &e), 0);
	assert_int_equal(sum.n_custody, 1);
	pl_thread_summary_free(&sum);
	/* the record changed (one base64 character of it) */
	char *at = strstr(s, "\"custody\": \"");
	assert_non_null(at);
	at += 20;
	*at = *at == 'A' ? 'B' : 'A';
	assert_int_equal(pl_thread_verify(&sum, (const uint8_t *)s, len, NULL, 0, &e), -1);
	free(s);
	json_decref(j);
	pl_thread_export_free(x);
	free(c);
	pl_wr_free(&obj);
	pl_wr_free(&other);
	pl_wr_free(&fw);
	pl_wr_free(&rec);
	pl_identity_wipe(&a);
	pl_identity_wipe(&b);
	pl_identity_wipe(&m);
}

/* A note passed on through a mediator: shown as vouched for by the
 * mediator only, and purged with the notes, copies included. */
static void test_note_via_and_purge(void **st)
{
	(void)st;
	parties p;
	open_parties(&p);
	pl_err e;
	uint8_t nid[8];
	int64_t seq;
	assert_int_equal(pl_via_send_note(p.us, "Iran", "Iran", "x", nid, &seq, &e), -1);
	assert_int_equal(
	    pl_via_send_note(p.us, "Iran", "Switzerland", "arriving Tuesday", nid, &seq, &e), 0);
	pl_item mine;
	assert_int_equal(pl_vault_item_get(p.us, seq, &mine, NULL), 0);
	assert_int_equal(mine.kind, PL_KIND_NOTE);
	assert_int_equal(pl_via_wrap(p.us, &mine, NULL), 0);
	assert_int_equal(mine.kind, PL_KIND_CARRY);
	assert_int_equal(hand(p.ch, "United States", PL_KIND_CARRY, nid, &mine.body), 0);
	uint8_t fid[8];
	char to[PL_NAME_MAX + 1];
	assert_int_equal(pl_via_forward(p.ch, nid, NULL, fid, to, &e), 0);
	pl_item *items;
	size_t n;
	assert_int_equal(pl_vault_item_list(p.ch, "Iran", &items, &n, NULL), 0);
	assert_int_equal(n, 1);
	pl_wr fw;
	pl_wr_init(&fw);
	pl_wr_bytes(&fw, items[0].body.p, items[0].body.n);
	assert_int_equal(hand(p.ir, "Switzerland", PL_KIND_FORWARDED, items[0].id, &fw), 0);
	pl_vault_items_free(items, n);
	pl_wr_free(&fw);
	assert_int_equal(pl_vault_item_list(p.ir, "United States", &items, &n, NULL), 0);
	assert_int_equal(n, 1);
	assert_int_equal(items[0].kind, PL_KIND_NOTE);
	json_t *path = pl_via_path_json(p.ir, &items[0]);
	assert_non_null(path);
	assert_non_null(
	    strstr(json_string_value(json_object_get(path, "vouched_by")), "only the mediator"));
	json_decref(path);
	pl_vault_items_free(items, n);
	/* purge: the forwarded copy goes with the note; the mediator's carried
	 * copy too, while its forward still waiting in the outbox stays */
	uint64_t relayed = 0, notes = 0;
	assert_int_equal(pl_via_purge_notes(p.ir, pl_now() + 10, &relayed, &e), 0);
	assert_int_equal(relayed, 1);
	assert_int_equal(pl_vault_purge_notes(p.ir, pl_now() + 10, &notes, &e), 0);
	assert_int_equal(notes, 1);
	assert_int_equal(count_items(p.ir), 0);
	assert_int_equal(pl_via_purge_notes(p.ch, pl_now() + 10, &relayed, &e), 0);
	assert_int_equal(relayed, 1);
	assert_int_equal(count_items(p.ch), 1);
	pl_vault_item_free(&mine);
	close_parties(&p);
}

static int setup(void **st)
{
	(void)st;
	pl_test_tmpdir(dir, sizeof dir, "via");
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	pl_test_rm_rf(dir);
	return 0;
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_carry_codec),		cmocka_unit_test(test_custody_codec),
	    cmocka_unit_test(test_notice_codec),	cmocka_unit_test(test_recipient_checks),
	    cmocka_unit_test(test_mediator_and_author), cmocka_unit_test(test_hold_reaches_author),
	    cmocka_unit_test(test_thread_custody),	cmocka_unit_test(test_note_via_and_purge),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
