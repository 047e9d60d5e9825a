/* test_object.c — negotiation objects (docs/NEGOTIATION.md): every type round
 * trips exactly; every truncation and every byte flip of a signed object is
 * refused; the decoder refuses each rule's violation even under a valid
 * signature; and the encoder refuses the same things. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "negotiation/object.h"
#include "util/text.h"

#define TAG_LEN (sizeof PL_OBJ_SIG_TAG - 1)
#define HDR PL_OBJ_HEADER_LEN

static pl_identity A, B, M;
static const int types[] = {PL_OBJ_OUTREACH, PL_OBJ_PROPOSAL, PL_OBJ_RESPONSE, PL_OBJ_REQUEST,
			    PL_OBJ_ANSWER};
#define NTYPES (sizeof types / sizeof types[0])

static int setup(void **st)
{
	(void)st;
	if (sodium_init() < 0 || pl_identity_generate(&A) || pl_identity_generate(&B) ||
	    pl_identity_generate(&M))
		return -1;
	return 0;
}

static void person(pl_person *p, const char *name, uint8_t tag)
{
	memset(p, 0, sizeof *p);
	memset(p->ref, tag, PL_OBJ_REF_LEN);
	snprintf(p->name, sizeof p->name, "%s", name);
	strcpy(p->held_by, "Evin prison");
	strcpy(p->nationality, "FR, IR");
	strcpy(p->born, "1944");
	strcpy(p->humanitarian, "81 years old;\nneeds heart surgery");
}

/* What a version 1 object also carried: since, charges, sentence, priority. */
static void person_v1(pl_person *p)
{
	strcpy(p->since, "2023-05-01");
	strcpy(p->charges, "espionage\nsecond count");
	strcpy(p->sentence, "10 years");
	p->priority = 90;
}

/* A full object of each type from A to B, every optional field set. */
static pl_obj *sample(int type)
{
	pl_obj *o = malloc(sizeof *o);
	assert_non_null(o);
	pl_obj_init(o, (pl_obj_type)type);
	memcpy(o->author_ik, A.pk, PL_IK_LEN);
	memcpy(o->recipient_ik, B.pk, PL_IK_LEN);
	o->created = 1764300000;
	switch (type) {
	case PL_OBJ_OUTREACH:
		strcpy(o->u.outreach.topic, "The detained nationals\nand a channel for talks");
		break;
	case PL_OBJ_PROPOSAL: {
		pl_proposal *b = &o->u.proposal;
		b->n_author = 2;
		person(&b->author[0], "Mahdieh Esfandiari", 1);
		person(&b->author[1], "Ahmad Rahimi", 2);
		b->n_recipient = 1;
		person(&b->recipient[0], "Cécile Kohler", 3);
		b->n_cond = 2;
		strcpy(b->cond[0], "medical check by the ICRC before transfer");
		strcpy(b->cond[1], "no statements to the press for 30 days");
		strcpy(b->place, "Geneva");
		b->sequencing = PL_SEQ_SIMULTANEOUS;
		b->has_mediator = 1;
		memcpy(b->mediator_ik, M.pk, PL_IK_LEN);
		strcpy(b->mediator_name, "Switzerland");
		b->expires = 1764900000;
		memset(b->supersedes_id, 0x42, PL_OBJ_ID_LEN);
		memset(b->supersedes_hash, 0x43, PL_OBJ_HASH_LEN);
		break;
	}
	case PL_OBJ_RESPONSE:
		o->u.response.kind = PL_RESP_REJECT;
		memset(o->u.response.target_id, 7, PL_OBJ_ID_LEN);
		memset(o->u.response.target_hash, 8, PL_OBJ_HASH_LEN);
		strcpy(o->u.response.reason, "Not enough.\nAdd the second name.");
		break;
	case PL_OBJ_REQUEST:
		person(&o->u.request.person, "Louis Arnaud", 9);
		o->u.request.kind = PL_REQ_MEDICAL_LEAVE;
		o->u.request.urgency = PL_URG_CRITICAL;
		strcpy(o->u.request.text, "Cardiology consult,\nwithin 72 hours.");
		break;
	case PL_OBJ_ANSWER:
		memset(o->u.answer.target_id, 5, PL_OBJ_ID_LEN);
		memset(o->u.answer.target_hash, 6, PL_OBJ_HASH_LEN);
		o->u.answer.decision = PL_DECISION_GRANT;
		strcpy(o->u.answer.text, "Granted for 5 days.");
		break;
	}
	return o;
}

static void sign_ok(pl_wr *w, pl_obj *o, const pl_identity *id)
{
	pl_err e;
	pl_err_clear(&e);
	pl_wr_init(w);
	if (pl_obj_sign(w, o, id, &e) != 0)
		fail_msg("sign: %s", e.msg);
}

/* object bytes ‖ Ed25519(id, tag ‖ object): a valid signature over bytes the
 * decoder may refuse, so a refusal is the decoder's doing. */
static void sign_raw(pl_wr *out, const uint8_t *obj, size_t n, const pl_identity *id)
{
	uint8_t *m = malloc(TAG_LEN + n + 1);
	uint8_t sig[PL_SIG_LEN];
	assert_non_null(m);
	memcpy(m, PL_OBJ_SIG_TAG, TAG_LEN);
	memcpy(m + TAG_LEN, obj, n);
	crypto_sign_detached(sig, NULL, m, TAG_LEN + n, id->sk);
	free(m);
	pl_wr_init(out);
	pl_wr_bytes(out, obj, n);
	pl_wr_bytes(out, sig, PL_SIG_LEN);
}

static void unsigned_bytes(pl_wr *w, const pl_obj *o)
{
	pl_err e;
	pl_err_clear(&e);
	pl_wr_init(w);
	if (pl_obj_encode(w, o, &e) != 0)
		fail_msg("encode: %s", e.msg);
}

/* The decoder (not the signature) refuses obj bytes signed by A. */
static void assert_decoder_refuses(const uint8_t *obj, size_t n)
{
	pl_wr s;
	pl_err e;
	pl_obj *d = malloc(sizeof *d);
	pl_err_clear(&e);
	sign_raw(&s, obj, n, &A);
	assert_int_equal(pl_obj_decode_signed(d, s.p, s.n, &e), -1);
	assert_int_equal(e.code, PL_EXIT_INPUT);
	assert_true(strlen(e.msg) > 0);
	assert_true(sodium_is_zero((const uint8_t *)d, sizeof *d)); /* nothing half-written */
	pl_err_clear(&e);
	assert_int_equal(pl_obj_parse(d, obj, n, &e), -1);
	pl_wr_free(&s);
	free(d);
}

static void assert_decoder_accepts(const uint8_t *obj, size_t n)
{
	pl_wr s;
	pl_err e;
	pl_obj *d = malloc(sizeof *d);
	pl_err_clear(&e);
	sign_raw(&s, obj, n, &A);
	if (pl_obj_decode_signed(d, s.p, s.n, &e) != 0)
		fail_msg("decode: %s", e.msg);
	pl_wr_free(&s);
	free(d);
}

static void assert_encode_refuses(const pl_obj *o)
{
	pl_wr w;
	pl_err e;
	pl_err_clear(&e);
	pl_wr_init(&w);
	pl_wr_u8(&w, 0xee); /* a byte already there must stay the only one */
	assert_int_equal(pl_obj_encode(&w, o, &e), -1);
	assert_int_equal(w.n, 1);
	assert_true(strlen(e.msg) > 0);
	pl_wr_free(&w);
}

/* --- round trips ----------------------------------------------------------- */

static void test_roundtrip_every_type(void **st)
{
	(void)st;
	pl_obj *d = malloc(sizeof *d);
	for (size_t t = 0; t < NTYPES; t++) {
		pl_obj *o = sample(types[t]);
		pl_wr w, again, u;
		pl_err e;
		pl_err_clear(&e);
		sign_ok(&w, o, &A);
		assert_int_equal(pl_obj_decode_signed(d, w.p, w.n, &e), 0);
		assert_memory_equal(d, o, sizeof *o); /* decode ∘ encode = id on structs */
		pl_wr_init(&again);
		assert_int_equal(pl_obj_encode_signed(&again, d, &e), 0);
		assert_int_equal(again.n, w.n); /* encode ∘ decode = id on bytes */
		assert_memory_equal(again.p, w.p, w.n);
		unsigned_bytes(&u, o);
		assert_int_equal(u.n + PL_SIG_LEN, w.n);
		assert_memory_equal(u.p, w.p, u.n);
		assert_int_equal(pl_obj_parse(d, u.p, u.n, &e), 0);
		assert_true(sodium_is_zero(d->sig, PL_SIG_LEN));
		uint8_t h1[32], h2[32];
		pl_obj_hash(h1, w.p, w.n);
		crypto_hash_sha256(h2, w.p, w.n);
		assert_memory_equal(h1, h2, 32);
		pl_wr_free(&w);
		pl_wr_free(&again);
		pl_wr_free(&u);
		free(o);
	}
	free(d);
}

static void test_roundtrip_minimal_and_optional_absent(void **st)
{
	(void)st;
	pl_obj *o = sample(PL_OBJ_PROPOSAL), *d = malloc(sizeof *d);
	pl_proposal *b = &o->u.proposal;
	pl_wr w;
	pl_err e;
	/* only the recipient side, no conditions, no mediator, never expires,
	 * supersedes nothing, empty optional strings */
	b->n_author = 0;
	b->n_recipient = 1;
	memset(&b->recipient[0], 0, sizeof b->recipient[0]);
	strcpy(b->recipient[0].name, "X");
	strcpy(b->recipient[0].held_by, "Y");
	b->n_cond = 0;
	memset(b->cond, 0, sizeof b->cond);
	memset(b->place, 0, sizeof b->place);
	b->sequencing = PL_SEQ_UNSPECIFIED;
	b->has_mediator = 0;
	memset(b->mediator_ik, 0, PL_IK_LEN);
	memset(b->mediator_name, 0, sizeof b->mediator_name);
	b->expires = 0;
	memset(b->supersedes_id, 0, PL_OBJ_ID_LEN);
	memset(b->supersedes_hash, 0, PL_OBJ_HASH_LEN);
	memset(b->author, 0, sizeof b->author);
	sign_ok(&w, o, &A);
	pl_err_clear(&e);
	assert_int_equal(pl_obj_decode_signed(d, w.p, w.n, &e), 0);
	assert_memory_equal(d, o, sizeof *o);
	/* absent mediator: exactly one encoding (no key, no name on the wire) */
	size_t expect = HDR + 1 + (8 + 4 + 1 + 4 + 1 + 3 * 4) + 1 + 1 + 4 + 1 + 1 + 8 + 8 + 32;
	assert_int_equal(w.n, expect + PL_SIG_LEN);
	pl_wr_free(&w);
	free(o);
	free(d);
}

static void test_sign_sets_author_and_refuses_self(void **st)
{
	(void)st;
	pl_obj *o = sample(PL_OBJ_OUTREACH);
	pl_wr w;
	pl_err e;
	memset(o->author_ik, 0, PL_IK_LEN);
	sign_ok(&w, o, &A);
	assert_memory_equal(o->author_ik, A.pk, PL_IK_LEN);
	pl_wr_free(&w);
	/* signed by B but addressed to B: refused, nothing appended, o unchanged */
	pl_obj before = *o;
	pl_wr_init(&w);
	pl_err_clear(&e);
	assert_int_equal(pl_obj_sign(&w, o, &B, &e), -1);
	assert_int_equal(w.n, 0);
	assert_memory_equal(o, &before, sizeof before);
	assert_non_null(strstr(e.msg, "same key"));
	pl_wr_free(&w);
	free(o);
}

/* --- truncations, flips, trailing bytes ------------------------------------- */

static void test_every_truncation_fails(void **st)
{
	(void)st;
	pl_obj *d = malloc(sizeof *d);
	for (size_t t = 0; t < NTYPES; t++) {
		pl_obj *o = sample(types[t]);
		pl_wr w, u;
		sign_ok(&w, o, &A);
		unsigned_bytes(&u, o);
		for (size_t n = 0; n < w.n; n++)
			assert_int_equal(pl_obj_decode_signed(d, w.p, n, NULL), -1);
		for (size_t n = 0; n < u.n; n++)
			assert_int_equal(pl_obj_parse(d, u.p, n, NULL), -1);
		pl_wr_free(&w);
		pl_wr_free(&u);
		free(o);
	}
	free(d);
}

static void test_every_byte_flip_fails(void **st)
{
	(void)st;
	static const uint8_t flips[] = {0x01, 0x80, 0xff, 0x20};
	pl_obj *d = malloc(sizeof *d);
	for (size_t t = 0; t < NTYPES; t++) {
		pl_obj *o = sample(types[t]);
		pl_wr w;
		sign_ok(&w, o, &A);
		for (size_t i = 0; i < w.n; i++) {
			for (size_t f = 0; f < sizeof flips; f++) {
				pl_err e;
				pl_err_clear(&e);
				w.p[i] ^= flips[f];
				if (pl_obj_decode_signed(d, w.p, w.n, &e) == 0)
					fail_msg("type %d: flip 0x%02x at %zu accepted", types[t],
						 flips[f], i);
				assert_true(e.code == PL_EXIT_INPUT || e.code == PL_EXIT_SECURITY);
				w.p[i] ^= flips[f];
			}
		}
		assert_int_equal(pl_obj_decode_signed(d, w.p, w.n, NULL), 0);
		pl_wr_free(&w);
		free(o);
	}
	free(d);
}

static void test_trailing_bytes(void **st)
{
	(void)st;
	pl_obj *o = sample(PL_OBJ_RESPONSE), *d = malloc(sizeof *d);
	pl_wr u, s;
	pl_err e;
	unsigned_bytes(&u, o);
	pl_wr_u8(&u, 0);
	pl_err_clear(&e);
	assert_int_equal(pl_obj_parse(d, u.p, u.n, &e), -1);
	assert_non_null(strstr(e.msg, "trailing"));
	assert_decoder_refuses(u.p, u.n); /* even when the signature covers them */
	/* and after the signature */
	sign_ok(&s, o, &A);
	pl_wr_u8(&s, 0);
	assert_int_equal(pl_obj_decode_signed(d, s.p, s.n, NULL), -1);
	pl_wr_free(&u);
	pl_wr_free(&s);
	free(o);
	free(d);
}

static void test_signature_errors(void **st)
{
	(void)st;
	pl_obj *o = sample(PL_OBJ_ANSWER), *d = malloc(sizeof *d);
	pl_wr w, u, s;
	pl_err e;
	sign_ok(&w, o, &A);
	/* the same bytes signed by someone else than the author they name */
	unsigned_bytes(&u, o);
	sign_raw(&s, u.p, u.n, &M);
	pl_err_clear(&e);
	assert_int_equal(pl_obj_decode_signed(d, s.p, s.n, &e), -1);
	assert_int_equal(e.code, PL_EXIT_SECURITY);
	assert_non_null(strstr(e.msg, "signature"));
	/* a zero signature */
	memset(w.p + w.n - PL_SIG_LEN, 0, PL_SIG_LEN);
	assert_int_equal(pl_obj_decode_signed(d, w.p, w.n, &e), -1);
	/* a too-long input */
	uint8_t *big = calloc(1, PL_OBJ_SIGNED_MAX + 1);
	assert_int_equal(pl_obj_decode_signed(d, big, PL_OBJ_SIGNED_MAX + 1, &e), -1);
	assert_int_equal(pl_obj_decode_signed(d, NULL, 100, &e), -1);
	free(big);
	pl_wr_free(&w);
	pl_wr_free(&u);
	pl_wr_free(&s);
	free(o);
	free(d);
}

/* --- the decoder's rules, under valid signatures ---------------------------- */

/* Encodes o, sets byte off to v, and expects the decoder to refuse. */
static void mutate_refused(const pl_obj *o, size_t off, uint8_t v)
{
	pl_wr u;
	unsigned_bytes(&u, o);
	assert_true(off < u.n);
	u.p[off] = v;
	assert_decoder_refuses(u.p, u.n);
	pl_wr_free(&u);
}

static void test_bad_version_and_type(void **st)
{
	(void)st;
	pl_obj *o = sample(PL_OBJ_OUTREACH);
	mutate_refused(o, 0, 0);
	mutate_refused(o, 0, 3);
	mutate_refused(o, 1, 0);
	mutate_refused(o, 1, 6);
	mutate_refused(o, 1, 0xff);
	pl_obj c = *o;
	c.version = 3;
	assert_encode_refuses(&c);
	c = *o;
	c.type = 9;
	assert_encode_refuses(&c);
	free(o);
}

static void test_bad_enums(void **st)
{
	(void)st;
	pl_obj *o = sample(PL_OBJ_RESPONSE);
	mutate_refused(o, HDR, 0); /* response kind */
	mutate_refused(o, HDR, 4);
	pl_obj *c = sample(PL_OBJ_RESPONSE);
	c->u.response.kind = 4;
	assert_encode_refuses(c);
	c->u.response.kind = 0;
	assert_encode_refuses(c);
	free(c);
	free(o);

	o = sample(PL_OBJ_ANSWER);
	mutate_refused(o, HDR + 40, 0); /* decision */
	mutate_refused(o, HDR + 40, 3);
	c = sample(PL_OBJ_ANSWER);
	c->u.answer.decision = 3;
	assert_encode_refuses(c);
	free(c);
	free(o);

	/* request: kind and urgency follow the person */
	o = sample(PL_OBJ_REQUEST);
	pl_wr u;
	unsigned_bytes(&u, o);
	size_t tlen = strlen(o->u.request.text);
	size_t kind_off = u.n - 4 - tlen - 2;
	assert_int_equal(u.p[kind_off], PL_REQ_MEDICAL_LEAVE);
	assert_int_equal(u.p[kind_off + 1], PL_URG_CRITICAL);
	mutate_refused(o, kind_off, 0);
	mutate_refused(o, kind_off, 5);
	mutate_refused(o, kind_off + 1, 0);
	mutate_refused(o, kind_off + 1, 4);
	pl_wr_free(&u);
	c = sample(PL_OBJ_REQUEST);
	c->u.request.urgency = 0;
	assert_encode_refuses(c);
	c->u.request.urgency = PL_URG_ROUTINE;
	c->u.request.kind = 5;
	assert_encode_refuses(c);
	c->u.request.kind = PL_REQ_RELEASE;
	c->u.request.person.priority = 101;
	assert_encode_refuses(c);
	c->version = PL_OBJ_VERSION_1;
	assert_encode_refuses(c);
	free(c);
	free(o);

	/* proposal: sequencing, has_mediator (at fixed offsets from the end) */
	o = sample(PL_OBJ_PROPOSAL);
	unsigned_bytes(&u, o);
	size_t tail = 8 + 8 + 32;
	size_t med = 1 + 32 + 4 + strlen(o->u.proposal.mediator_name);
	size_t seq_off = u.n - tail - med - 1;
	assert_int_equal(u.p[seq_off], PL_SEQ_SIMULTANEOUS);
	mutate_refused(o, seq_off, 3);
	mutate_refused(o, seq_off + 1, 2); /* has_mediator */
	mutate_refused(o, seq_off + 1, 0); /* 0 but the mediator bytes follow */
	pl_wr_free(&u);
	c = sample(PL_OBJ_PROPOSAL);
	c->u.proposal.sequencing = 3;
	assert_encode_refuses(c);
	c->u.proposal.sequencing = PL_SEQ_STAGED;
	c->u.proposal.has_mediator = 2;
	assert_encode_refuses(c);
	free(c);
	free(o);
}

/* An outreach object with a raw topic, for text rule tests. */
static void raw_outreach(pl_wr *w, const uint8_t *topic, size_t n)
{
	pl_obj *o = sample(PL_OBJ_OUTREACH);
	pl_wr_init(w);
	pl_wr_u8(w, 1);
	pl_wr_u8(w, PL_OBJ_OUTREACH);
	pl_wr_bytes(w, o->id, PL_OBJ_ID_LEN);
	pl_wr_bytes(w, A.pk, PL_IK_LEN);
	pl_wr_bytes(w, B.pk, PL_IK_LEN);
	pl_wr_u64(w, 1764300000);
	pl_wr_var(w, topic, n);
	free(o);
}

static void test_text_rules(void **st)
{
	(void)st;
	static const struct {
		const char *s;
		int ok_multi;
	} cases[] = {
	    {"plain", 1},
	    {"two\nlines", 1},
	    {"tab\there", 0},
	    {"cr\rhere", 0},
	    {"del\x7f", 0},
	    {"c1 \xc2\x85 next line", 0},
	    {"bidi \xe2\x80\xae override", 0},
	    {"line sep \xe2\x80\xa8", 0},
	    {"bad utf8 \xc3", 0},
	    {"overlong \xc0\xaf", 0},
	    {"surrogate \xed\xa0\x80", 0},
	    {"ok é 中文 😀", 1},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		pl_wr w;
		const char *s = cases[i].s;
		raw_outreach(&w, (const uint8_t *)s, strlen(s));
		if (cases[i].ok_multi)
			assert_decoder_accepts(w.p, w.n);
		else
			assert_decoder_refuses(w.p, w.n);
		pl_wr_free(&w);
		/* the encoder agrees */
		pl_obj *o = sample(PL_OBJ_OUTREACH);
		snprintf(o->u.outreach.topic, sizeof o->u.outreach.topic, "%s", s);
		if (!cases[i].ok_multi)
			assert_encode_refuses(o);
		/* a one-line field refuses the newline too */
		pl_obj *r = sample(PL_OBJ_REQUEST);
		snprintf(r->u.request.person.name, sizeof r->u.request.person.name, "%s", s);
		if (!cases[i].ok_multi || strchr(s, '\n'))
			assert_encode_refuses(r);
		else
			assert_int_equal(pl_obj_person_check(&r->u.request.person, NULL), 0);
		free(o);
		free(r);
	}
	/* a NUL inside a wire string */
	pl_wr w;
	raw_outreach(&w, (const uint8_t *)"a\0b", 3);
	assert_decoder_refuses(w.p, w.n);
	pl_wr_free(&w);
	/* empty topic (1.. required) */
	raw_outreach(&w, (const uint8_t *)"", 0);
	assert_decoder_refuses(w.p, w.n);
	pl_wr_free(&w);
	assert_int_equal(pl_obj_text_ok("x\ny", 0, 10, PL_TEXT_MULTILINE), 0);
	assert_int_equal(pl_obj_text_ok("x\ny", 0, 10, PL_TEXT_LINE), -1);
	assert_int_equal(pl_obj_text_ok(NULL, 0, 10, PL_TEXT_LINE), -1);
}

static void test_overlong_strings(void **st)
{
	(void)st;
	uint8_t buf[PL_OUTREACH_TOPIC_MAX + 1];
	pl_wr w;
	memset(buf, 'a', sizeof buf);
	raw_outreach(&w, buf, PL_OUTREACH_TOPIC_MAX);
	assert_decoder_accepts(w.p, w.n);
	pl_wr_free(&w);
	raw_outreach(&w, buf, PL_OUTREACH_TOPIC_MAX + 1);
	assert_decoder_refuses(w.p, w.n);
	pl_wr_free(&w);
	/* a length prefix far beyond the data */
	raw_outreach(&w, buf, 10);
	w.p[HDR] = 0x7f;
	assert_decoder_refuses(w.p, w.n);
	pl_wr_free(&w);

	/* every person field one byte over its limit, and an unterminated array */
	static const size_t lim[] = {PL_PERSON_NAME_MAX,	PL_PERSON_HELD_BY_MAX,
				     PL_PERSON_NATIONALITY_MAX, PL_PERSON_BORN_MAX,
				     PL_PERSON_SINCE_MAX,	PL_PERSON_CHARGES_MAX,
				     PL_PERSON_SENTENCE_MAX,	PL_PERSON_HUMANITARIAN_MAX};
	for (size_t f = 0; f < sizeof lim / sizeof lim[0]; f++) {
		pl_obj *o = sample(PL_OBJ_REQUEST);
		o->version = PL_OBJ_VERSION_1; /* the one that carries every field */
		pl_person *p = &o->u.request.person;
		person_v1(p);
		char *fields[] = {p->name,  p->held_by, p->nationality, p->born,
				  p->since, p->charges, p->sentence,	p->humanitarian};
		memset(fields[f], 'x', lim[f]);
		fields[f][lim[f]] = '\0';
		pl_wr ok;
		unsigned_bytes(&ok, o); /* exactly at the limit */
		assert_decoder_accepts(ok.p, ok.n);
		/* one more byte on the wire: splice it in after the length */
		size_t len_off = 0;
		for (size_t i = HDR + 8; i + 4 <= ok.n; i++) {
			if (pl_be32_get(ok.p + i) == lim[f] && ok.p[i + 4] == 'x') {
				len_off = i;
				break;
			}
		}
		assert_true(len_off > 0);
		pl_wr big;
		pl_wr_init(&big);
		pl_wr_bytes(&big, ok.p, len_off);
		pl_wr_u32(&big, (uint32_t)lim[f] + 1);
		pl_wr_u8(&big, 'x');
		pl_wr_bytes(&big, ok.p + len_off + 4, ok.n - len_off - 4);
		assert_decoder_refuses(big.p, big.n);
		pl_wr_free(&big);
		pl_wr_free(&ok);
		fields[f][lim[f]] = 'x'; /* no NUL in the array at all */
		assert_encode_refuses(o);
		free(o);
	}
}

static void test_proposal_rules(void **st)
{
	(void)st;
	pl_obj *o = sample(PL_OBJ_PROPOSAL);
	pl_proposal *b = &o->u.proposal;

	/* empty proposal */
	pl_obj *c = malloc(sizeof *c);
	*c = *o;
	c->u.proposal.n_author = 0;
	c->u.proposal.n_recipient = 0;
	assert_encode_refuses(c);
	pl_wr u;
	{
		/* raw: header, 0 persons, 0 persons, the rest */
		pl_wr_init(&u);
		pl_wr_u8(&u, 1);
		pl_wr_u8(&u, PL_OBJ_PROPOSAL);
		pl_wr_bytes(&u, o->id, 8);
		pl_wr_bytes(&u, A.pk, 32);
		pl_wr_bytes(&u, B.pk, 32);
		pl_wr_u64(&u, 1);
		pl_wr_u8(&u, 0);
		pl_wr_u8(&u, 0);
		pl_wr_u8(&u, 0);
		pl_wr_var(&u, NULL, 0);
		pl_wr_u8(&u, 0);
		pl_wr_u8(&u, 0);
		pl_wr_u64(&u, 0);
		uint8_t z[40] = {0};
		pl_wr_bytes(&u, z, 40);
		assert_decoder_refuses(u.p, u.n);
		pl_wr_free(&u);
	}
	/* the same ref on both sides, and twice on one side */
	*c = *o;
	memcpy(c->u.proposal.recipient[0].ref, c->u.proposal.author[1].ref, PL_OBJ_REF_LEN);
	assert_encode_refuses(c);
	{
		pl_wr good;
		unsigned_bytes(&good, o);
		/* find the recipient's ref (0x03 × 8) and make it the author's 0x01 × 8 */
		uint8_t r3[8], r1[8];
		memset(r3, 3, 8);
		memset(r1, 1, 8);
		uint8_t *at = memmem(good.p + HDR, good.n - HDR, r3, 8);
		assert_non_null(at);
		memcpy(at, r1, 8);
		assert_decoder_refuses(good.p, good.n);
		pl_wr_free(&good);
	}
	*c = *o;
	memcpy(c->u.proposal.author[1].ref, c->u.proposal.author[0].ref, PL_OBJ_REF_LEN);
	assert_encode_refuses(c);
	/* counts over the limits */
	*c = *o;
	c->u.proposal.n_author = PL_PROPOSAL_SIDE_MAX + 1;
	assert_encode_refuses(c);
	*c = *o;
	c->u.proposal.n_cond = PL_PROPOSAL_COND_MAX + 1;
	assert_encode_refuses(c);
	{
		pl_wr good;
		unsigned_bytes(&good, o);
		good.p[HDR] = PL_PROPOSAL_SIDE_MAX + 1;
		assert_decoder_refuses(good.p, good.n);
		pl_wr_free(&good);
	}
	/* an empty condition; a condition with a newline */
	*c = *o;
	c->u.proposal.cond[1][0] = '\0';
	assert_encode_refuses(c);
	*c = *o;
	strcpy(c->u.proposal.cond[1], "a\nb");
	assert_encode_refuses(c);
	/* mediator: invalid key, one of the parties, empty name */
	*c = *o;
	memset(c->u.proposal.mediator_ik, 0, PL_IK_LEN);
	assert_encode_refuses(c);
	*c = *o;
	memcpy(c->u.proposal.mediator_ik, B.pk, PL_IK_LEN);
	assert_encode_refuses(c);
	*c = *o;
	c->u.proposal.mediator_name[0] = '\0';
	assert_encode_refuses(c);
	/* supersedes: id without hash, hash without id, itself */
	*c = *o;
	memset(c->u.proposal.supersedes_hash, 0, PL_OBJ_HASH_LEN);
	assert_encode_refuses(c);
	*c = *o;
	memset(c->u.proposal.supersedes_id, 0, PL_OBJ_ID_LEN);
	assert_encode_refuses(c);
	*c = *o;
	memcpy(c->u.proposal.supersedes_id, c->id, PL_OBJ_ID_LEN);
	assert_encode_refuses(c);
	{
		pl_wr good;
		unsigned_bytes(&good, o);
		memset(good.p + good.n - 40, 0, 8); /* supersedes id zeroed, hash kept */
		assert_decoder_refuses(good.p, good.n);
		pl_wr_free(&good);
	}
	(void)b;
	free(c);
	free(o);
}

static void test_envelope_rules(void **st)
{
	(void)st;
	pl_obj *o = sample(PL_OBJ_OUTREACH);
	pl_obj c;
	/* zero id */
	c = *o;
	memset(c.id, 0, PL_OBJ_ID_LEN);
	assert_encode_refuses(&c);
	{
		pl_wr u;
		unsigned_bytes(&u, o);
		memset(u.p + 2, 0, PL_OBJ_ID_LEN);
		assert_decoder_refuses(u.p, u.n);
		pl_wr_free(&u);
	}
	/* author = recipient */
	c = *o;
	memcpy(c.recipient_ik, c.author_ik, PL_IK_LEN);
	assert_encode_refuses(&c);
	{
		pl_wr u;
		unsigned_bytes(&u, o);
		memcpy(u.p + 2 + 8 + 32, A.pk, PL_IK_LEN);
		assert_decoder_refuses(u.p, u.n);
		pl_wr_free(&u);
	}
	/* a recipient key that is not a valid point / of small order */
	static const uint8_t small_order[32] = {1}; /* the identity point */
	c = *o;
	memcpy(c.recipient_ik, small_order, PL_IK_LEN);
	assert_encode_refuses(&c);
	{
		pl_wr u;
		unsigned_bytes(&u, o);
		memcpy(u.p + 2 + 8 + 32, small_order, PL_IK_LEN);
		assert_decoder_refuses(u.p, u.n);
		pl_wr_free(&u);
	}
	free(o);
}

static void test_zero_target(void **st)
{
	(void)st;
	int tt[] = {PL_OBJ_RESPONSE, PL_OBJ_ANSWER};
	for (int k = 0; k < 2; k++) {
		pl_obj *o = sample(tt[k]);
		pl_obj c = *o;
		uint8_t *id =
		    tt[k] == PL_OBJ_RESPONSE ? c.u.response.target_id : c.u.answer.target_id;
		uint8_t *h =
		    tt[k] == PL_OBJ_RESPONSE ? c.u.response.target_hash : c.u.answer.target_hash;
		memset(h, 0, PL_OBJ_HASH_LEN);
		assert_encode_refuses(&c);
		c = *o;
		id = tt[k] == PL_OBJ_RESPONSE ? c.u.response.target_id : c.u.answer.target_id;
		memset(id, 0, PL_OBJ_ID_LEN);
		assert_encode_refuses(&c);
		pl_wr u;
		unsigned_bytes(&u, o);
		size_t off = HDR + (tt[k] == PL_OBJ_RESPONSE ? 1 : 0);
		memset(u.p + off + PL_OBJ_ID_LEN, 0, PL_OBJ_HASH_LEN);
		assert_decoder_refuses(u.p, u.n);
		pl_wr_free(&u);
		free(o);
	}
}

static void test_size_limit(void **st)
{
	(void)st;
	pl_obj *o = sample(PL_OBJ_PROPOSAL);
	pl_proposal *b = &o->u.proposal;
	o->version = PL_OBJ_VERSION_1; /* the version that carried charges */
	/* 64 persons with every field full is well over 60000 bytes */
	b->n_author = PL_PROPOSAL_SIDE_MAX;
	b->n_recipient = PL_PROPOSAL_SIDE_MAX;
	for (int i = 0; i < 2 * PL_PROPOSAL_SIDE_MAX; i++) {
		pl_person *p = i < PL_PROPOSAL_SIDE_MAX ? &b->author[i]
							: &b->recipient[i - PL_PROPOSAL_SIDE_MAX];
		person(p, "n", (uint8_t)(i + 1));
		memset(p->charges, 'c', PL_PERSON_CHARGES_MAX);
		p->charges[PL_PERSON_CHARGES_MAX] = '\0';
		memset(p->humanitarian, 'h', PL_PERSON_HUMANITARIAN_MAX);
		p->humanitarian[PL_PERSON_HUMANITARIAN_MAX] = '\0';
	}
	assert_encode_refuses(o);
	pl_wr w;
	pl_err e;
	pl_wr_init(&w);
	assert_int_equal(pl_obj_sign(&w, o, &A, &e), -1);
	assert_int_equal(w.n, 0);
	/* 32 such persons fit */
	b->n_recipient = 0;
	sign_ok(&w, o, &A);
	assert_true(w.n <= PL_OBJ_SIGNED_MAX);
	pl_obj *d = malloc(sizeof *d);
	assert_int_equal(pl_obj_decode_signed(d, w.p, w.n, NULL), 0);
	pl_wr_free(&w);
	free(d);
	free(o);
}

/* Random mutations of valid objects, re-signed: whatever the decoder
 * accepts re-encodes to the same bytes, and the encoder accepts it. */
static void test_encode_refuses_what_decode_refuses(void **st)
{
	(void)st;
	pl_obj *d = malloc(sizeof *d);
	int accepted = 0, refused = 0;
	for (int round = 0; round < 3000; round++) {
		pl_obj *o = sample(types[round % NTYPES]);
		pl_wr u, s, again;
		unsigned_bytes(&u, o);
		int nmut = 1 + (int)randombytes_uniform(3);
		for (int m = 0; m < nmut; m++) {
			size_t at = randombytes_uniform((uint32_t)u.n);
			if (at < 2 + 8 + 64 && at >= 2 + 8)
				continue; /* keep the keys: mutations there only hit the signature
					   */
			u.p[at] = (uint8_t)randombytes_uniform(256);
		}
		sign_raw(&s, u.p, u.n, &A);
		if (pl_obj_decode_signed(d, s.p, s.n, NULL) == 0) {
			accepted++;
			pl_wr_init(&again);
			assert_int_equal(pl_obj_encode_signed(&again, d, NULL), 0);
			assert_int_equal(again.n, s.n);
			assert_memory_equal(again.p, s.p, s.n);
			pl_wr_free(&again);
		} else {
			refused++;
			assert_int_equal(pl_obj_parse(d, u.p, u.n, NULL), -1);
		}
		pl_wr_free(&u);
		pl_wr_free(&s);
		free(o);
	}
	assert_true(accepted > 0 && refused > 0);
	free(d);
}

/* Version 2 carries only the shared fields: a person with the author's
 * priority, since, charges or sentence is refused before signing, and the
 * signed bytes of a shared-only object hold none of them. A version 1
 * object (which did carry them) still decodes and verifies as signed. */
static void test_version2_carries_only_shared_fields(void **st)
{
	(void)st;
	pl_obj *o = sample(PL_OBJ_PROPOSAL), *d = malloc(sizeof *d);
	assert_non_null(d);
	assert_int_equal(o->version, PL_OBJ_VERSION);
	pl_wr w;
	sign_ok(&w, o, &A);
	assert_null(memmem(w.p, w.n, "espionage", 9));
	assert_int_equal(pl_obj_decode_signed(d, w.p, w.n, NULL), 0);
	assert_int_equal(d->u.proposal.author[0].priority, 0);
	assert_string_equal(d->u.proposal.author[0].humanitarian,
			    "81 years old;\nneeds heart surgery");
	pl_wr_free(&w);
	for (int f = 0; f < 4; f++) {
		pl_obj c = *o;
		pl_person *p = &c.u.proposal.recipient[0];
		if (f == 0)
			p->priority = 1;
		else if (f == 1)
			strcpy(p->since, "2023");
		else if (f == 2)
			strcpy(p->charges, "x");
		else
			strcpy(p->sentence, "x");
		assert_encode_refuses(&c);
	}
	/* version 1, every field: signs (old software did), decodes as signed */
	o->version = PL_OBJ_VERSION_1;
	for (unsigned i = 0; i < o->u.proposal.n_author; i++)
		person_v1(&o->u.proposal.author[i]);
	person_v1(&o->u.proposal.recipient[0]);
	sign_ok(&w, o, &A);
	assert_non_null(memmem(w.p, w.n, "espionage", 9));
	memset(d, 0, sizeof *d);
	assert_int_equal(pl_obj_decode_signed(d, w.p, w.n, NULL), 0);
	assert_int_equal(d->version, PL_OBJ_VERSION_1);
	assert_int_equal(d->u.proposal.author[1].priority, 90);
	assert_string_equal(d->u.proposal.recipient[0].charges, "espionage\nsecond count");
	assert_memory_equal(d, o, sizeof *o);
	w.p[w.n - 1] ^= 1;
	assert_int_not_equal(pl_obj_decode_signed(d, w.p, w.n, NULL), 0);
	pl_wr_free(&w);
	free(o);
	free(d);
}

static void test_names(void **st)
{
	(void)st;
	static const char *const req[] = {"medical-leave", "consular-access", "proof-of-life",
					  "release"};
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pl_obj_request_kind_from_str(req[i]), i + 1);
		assert_string_equal(pl_obj_request_kind_to_str(i + 1), req[i]);
	}
	assert_int_equal(pl_obj_urgency_from_str("routine"), PL_URG_ROUTINE);
	assert_int_equal(pl_obj_urgency_from_str("urgent"), PL_URG_URGENT);
	assert_int_equal(pl_obj_urgency_from_str("critical"), PL_URG_CRITICAL);
	assert_int_equal(pl_obj_sequencing_from_str("simultaneous"), PL_SEQ_SIMULTANEOUS);
	assert_int_equal(pl_obj_sequencing_from_str("staged"), PL_SEQ_STAGED);
	assert_int_equal(pl_obj_sequencing_from_str("unspecified"), PL_SEQ_UNSPECIFIED);
	assert_int_equal(pl_obj_response_kind_from_str("accept"), PL_RESP_ACCEPT);
	assert_int_equal(pl_obj_response_kind_from_str("withdraw"), PL_RESP_WITHDRAW);
	assert_int_equal(pl_obj_decision_from_str("grant"), PL_DECISION_GRANT);
	assert_int_equal(pl_obj_decision_from_str("deny"), PL_DECISION_DENY);
	assert_int_equal(pl_obj_type_from_str("proposal"), PL_OBJ_PROPOSAL);
	assert_string_equal(pl_obj_type_to_str(PL_OBJ_ANSWER), "answer");
	assert_int_equal(pl_obj_request_kind_from_str("Medical-Leave"), -1);
	assert_int_equal(pl_obj_request_kind_from_str(""), -1);
	assert_int_equal(pl_obj_request_kind_from_str(NULL), -1);
	assert_int_equal(pl_obj_urgency_from_str("urgent "), -1);
	assert_null(pl_obj_urgency_to_str(0));
	assert_null(pl_obj_decision_to_str(3));
	assert_string_equal(pl_obj_type_to_str(PL_OBJ_GUARANTEE), "guarantee");
	assert_null(pl_obj_type_to_str(7));
	uint8_t id[8], back[8];
	char hex[PL_OBJ_ID_HEX_LEN];
	randombytes_buf(id, 8);
	pl_obj_id_hex(hex, id);
	assert_int_equal(strlen(hex), 16);
	assert_int_equal(pl_obj_id_parse(back, hex), 0);
	assert_memory_equal(id, back, 8);
	assert_int_equal(pl_obj_id_parse(back, "0123"), -1);
	assert_int_equal(pl_obj_id_parse(back, "0123456789abcdefg"), -1);
	assert_int_equal(pl_obj_id_parse(back, "0123456789abcdeg"), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_roundtrip_every_type),
	    cmocka_unit_test(test_roundtrip_minimal_and_optional_absent),
	    cmocka_unit_test(test_sign_sets_author_and_refuses_self),
	    cmocka_unit_test(test_every_truncation_fails),
	    cmocka_unit_test(test_every_byte_flip_fails),
	    cmocka_unit_test(test_trailing_bytes),
	    cmocka_unit_test(test_signature_errors),
	    cmocka_unit_test(test_bad_version_and_type),
	    cmocka_unit_test(test_bad_enums),
	    cmocka_unit_test(test_text_rules),
	    cmocka_unit_test(test_overlong_strings),
	    cmocka_unit_test(test_proposal_rules),
	    cmocka_unit_test(test_envelope_rules),
	    cmocka_unit_test(test_zero_target),
	    cmocka_unit_test(test_size_limit),
	    cmocka_unit_test(test_encode_refuses_what_decode_refuses),
	    cmocka_unit_test(test_version2_carries_only_shared_fields),
	    cmocka_unit_test(test_names),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
