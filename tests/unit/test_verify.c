/* test_verify.c — agreement and thread export files (docs/NEGOTIATION.md
 * "Files"): a written file verifies with the right summary; flipping any
 * byte of it makes verification fail with a reason; expected keys, third
 * parties, other proposals, expiry, removed and reordered entries are all
 * caught. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "support.h"
#include "export/agreement.h"
#include "export/document.h"
#include "export/match.h"
#include "export/thread.h"
#include "export/verify.h"
#include "util/codec.h"

#define T0 1764300000ull

static pl_identity A, B, C, M; /* proposer, accepter, a third party, mediator */

static int setup(void **st)
{
	(void)st;
	if (sodium_init() < 0 || pl_identity_generate(&A) || pl_identity_generate(&B) ||
	    pl_identity_generate(&C) || pl_identity_generate(&M))
		return -1;
	return 0;
}

typedef struct {
	uint8_t *p;
	size_t n;
} buf;

static void buf_free(buf *b)
{
	free(b->p);
	b->p = NULL;
	b->n = 0;
}

static buf take(pl_wr *w)
{
	buf b = {malloc(w->n), w->n};
	assert_non_null(b.p);
	memcpy(b.p, w->p, w->n);
	pl_wr_free(w);
	return b;
}

/* The version proposal() writes: version 1 also carried the author's
 * priority and charges (old files must still verify). */
static unsigned prop_version = PL_OBJ_VERSION;

static void person(pl_person *p, const char *name, uint8_t tag)
{
	memset(p, 0, sizeof *p);
	memset(p->ref, tag, PL_OBJ_REF_LEN);
	snprintf(p->name, sizeof p->name, "%s", name);
	strcpy(p->held_by, "Evin");
	if (prop_version == PL_OBJ_VERSION_1) {
		p->priority = 50;
		strcpy(p->charges, "espionage");
	}
}

/* A proposal from `from` to `to`. */
static buf proposal(const pl_identity *from, const pl_identity *to, uint64_t created,
		    uint64_t expires)
{
	pl_obj *o = malloc(sizeof *o);
	pl_wr w;
	pl_obj_init(o, PL_OBJ_PROPOSAL);
	o->version = (uint8_t)prop_version;
	memcpy(o->recipient_ik, to->pk, PL_IK_LEN);
	o->created = created;
	pl_proposal *b = &o->u.proposal;
	b->n_author = 2;
	person(&b->author[0], "Mahdieh Esfandiari", 1);
	person(&b->author[1], "Ahmad Rahimi", 2);
	b->n_recipient = 1;
	person(&b->recipient[0], "Cécile Kohler", 3);
	b->n_cond = 1;
	strcpy(b->cond[0], "medical check before transfer");
	strcpy(b->place, "Geneva");
	b->sequencing = PL_SEQ_SIMULTANEOUS;
	b->has_mediator = 1;
	memcpy(b->mediator_ik, M.pk, PL_IK_LEN);
	strcpy(b->mediator_name, "Switzerland");
	b->expires = expires;
	pl_wr_init(&w);
	assert_int_equal(pl_obj_sign(&w, o, from, NULL), 0);
	free(o);
	return take(&w);
}

/* A response by `from` to `to` naming the signed proposal p. */
static buf response(const pl_identity *from, const pl_identity *to, const buf *p, int kind,
		    uint64_t created)
{
	pl_obj *o = malloc(sizeof *o), *d = malloc(sizeof *d);
	pl_wr w;
	assert_int_equal(pl_obj_decode_signed(d, p->p, p->n, NULL), 0);
	pl_obj_init(o, PL_OBJ_RESPONSE);
	memcpy(o->recipient_ik, to->pk, PL_IK_LEN);
	o->created = created;
	o->u.response.kind = (uint8_t)kind;
	memcpy(o->u.response.target_id, d->id, PL_OBJ_ID_LEN);
	pl_obj_hash(o->u.response.target_hash, p->p, p->n);
	pl_wr_init(&w);
	assert_int_equal(pl_obj_sign(&w, o, from, NULL), 0);
	free(o);
	free(d);
	return take(&w);
}

static buf dump(json_t *j)
{
	size_t n;
	char *s = pl_export_dumps(j, &n);
	assert_non_null(s);
	json_decref(j);
	return (buf){(uint8_t *)s, n};
}

/* An agreement file without pl_agreement_write's checks, to build bad ones. */
static buf raw_agreement(const buf *p, const buf *a)
{
	char *pb = malloc(pl_b64_len(p->n)), *ab = malloc(pl_b64_len(a->n));
	pl_b64_encode(pb, p->p, p->n);
	pl_b64_encode(ab, a->p, a->n);
	json_t *j = json_pack("{s:s, s:i, s:s, s:s}", "format", "parley-agreement", "version", 1,
			      "proposal", pb, "acceptance", ab);
	free(pb);
	free(ab);
	return dump(j);
}

static buf good_agreement(void)
{
	buf p = proposal(&A, &B, T0, T0 + 3600);
	buf a = response(&B, &A, &p, PL_RESP_ACCEPT, T0 + 60);
	json_t *j;
	pl_err e;
	pl_err_clear(&e);
	if (pl_agreement_write(&j, p.p, p.n, a.p, a.n, &e) != 0)
		fail_msg("write: %s", e.msg);
	buf f = dump(j);
	buf r = raw_agreement(&p, &a); /* the same bytes either way */
	assert_int_equal(r.n, f.n);
	assert_memory_equal(r.p, f.p, f.n);
	buf_free(&r);
	buf_free(&p);
	buf_free(&a);
	return f;
}

/* Verification refuses f, with the code and a message containing want. */
static void agreement_refused(const buf *f, int code, const char *want)
{
	pl_err e;
	pl_err_clear(&e);
	assert_int_equal(pl_agreement_verify(NULL, f->p, f->n, NULL, 0, &e), -1);
	if (code)
		assert_int_equal(e.code, code);
	if (want && strstr(e.msg, want) == NULL)
		fail_msg("expected \"%s\" in \"%s\"", want, e.msg);
}

/* --- agreement -------------------------------------------------------------- */

static void test_agreement_ok_and_summary(void **st)
{
	(void)st;
	buf f = good_agreement();
	pl_agreement_summary *s = malloc(sizeof *s);
	pl_err e;
	pl_err_clear(&e);
	if (pl_agreement_verify(s, f.p, f.n, NULL, 0, &e) != 0)
		fail_msg("verify: %s", e.msg);
	char fa[PL_FINGERPRINT_LEN], fb[PL_FINGERPRINT_LEN];
	pl_fingerprint(fa, A.pk);
	pl_fingerprint(fb, B.pk);
	assert_memory_equal(s->proposer_ik, A.pk, PL_IK_LEN);
	assert_memory_equal(s->accepter_ik, B.pk, PL_IK_LEN);
	assert_string_equal(s->proposer_fp, fa);
	assert_string_equal(s->accepter_fp, fb);
	const pl_proposal *b = &s->proposal.u.proposal;
	assert_int_equal(b->n_author, 2);
	assert_string_equal(b->author[0].name, "Mahdieh Esfandiari");
	assert_string_equal(b->author[1].name, "Ahmad Rahimi");
	assert_int_equal(b->n_recipient, 1);
	assert_string_equal(b->recipient[0].name, "Cécile Kohler");
	assert_string_equal(b->place, "Geneva");
	assert_int_equal(b->sequencing, PL_SEQ_SIMULTANEOUS);
	assert_int_equal(b->has_mediator, 1);
	assert_memory_equal(b->mediator_ik, M.pk, PL_IK_LEN);
	assert_string_equal(b->mediator_name, "Switzerland");
	assert_string_equal(b->cond[0], "medical check before transfer");
	assert_int_equal(b->expires, T0 + 3600);
	assert_int_equal(s->proposal.created, T0);
	assert_int_equal(s->acceptance.created, T0 + 60);
	assert_int_equal(s->acceptance.u.response.kind, PL_RESP_ACCEPT);

	/* the plain summary and the JSON one through the dispatcher */
	char *text = NULL;
	size_t tl = 0;
	FILE *out = open_memstream(&text, &tl);
	json_t *js = NULL;
	assert_int_equal(pl_verify_bytes(f.p, f.n, NULL, 0, &e, out, &js), 0);
	fclose(out);
	char line[200];
	snprintf(line, sizeof line,
		 "valid agreement between the proposer (%.11s) and the "
		 "accepter (%.11s): both signatures verify\n",
		 fa, fb);
	assert_non_null(strstr(text, line));
	snprintf(line, sizeof line, "  proposer: key fingerprint %s\n", fa);
	assert_non_null(strstr(text, line));
	assert_non_null(strstr(text, "the file carries no names"));
	assert_non_null(strstr(text, "proves only that these two keys signed, not who holds"));
	snprintf(line, sizeof line,
		 "  the proposer (%.11s) releases:\n    - Mahdieh Esfandiari, held by Evin\n    - "
		 "Ahmad Rahimi, held by Evin\n",
		 fa);
	assert_non_null(strstr(text, line));
	snprintf(line, sizeof line, "  the accepter (%.11s) releases:\n    - Cécile Kohler", fb);
	assert_non_null(strstr(text, line));
	assert_non_null(strstr(text, "  place: Geneva\n  sequencing: simultaneous"));
	assert_non_null(strstr(text, "  mediator: Switzerland (key fingerprint "));
	assert_non_null(strstr(text, "  condition 1: medical check before transfer\n"));
	assert_null(strstr(text, "priority"));
	assert_non_null(strstr(text, "proposed 2025-11-28T03:20:00Z"));
	assert_non_null(strstr(text, "accepted 2025-11-28T03:21:00Z: time as stated by the "
				     "accepter's own clock (not proved)"));
	assert_string_equal(json_string_value(json_object_get(js, "time_source")),
			    "the accepter's own clock (not proved)");
	assert_true(json_is_true(json_object_get(js, "valid")));
	assert_string_equal(json_string_value(json_object_get(js, "place")), "Geneva");
	assert_string_equal(
	    json_string_value(json_object_get(json_object_get(js, "proposer"), "fingerprint")), fa);
	assert_int_equal(json_array_size(json_object_get(js, "proposer_releases")), 2);
	json_decref(js);
	free(text);
	free(s);
	buf_free(&f);
}

/* An agreement on a version 1 proposal (which carried the author's
 * priority) still verifies, and its summary shows what was signed; one on
 * a version 2 proposal has no priority anywhere. */
static void test_agreement_version1_still_verifies(void **st)
{
	(void)st;
	pl_agreement_summary *s = malloc(sizeof *s);
	for (int v = 0; v < 2; v++) {
		prop_version = v ? PL_OBJ_VERSION_1 : PL_OBJ_VERSION;
		buf f = good_agreement();
		pl_err e;
		pl_err_clear(&e);
		if (pl_agreement_verify(s, f.p, f.n, NULL, 0, &e) != 0)
			fail_msg("verify version %u: %s", prop_version, e.msg);
		assert_int_equal(s->proposal.version, prop_version);
		assert_int_equal(s->proposal.u.proposal.author[0].priority, v ? 50 : 0);
		json_t *j = pl_agreement_summary_json(s);
		char *txt = json_dumps(j, 0);
		assert_non_null(txt);
		assert_true((strstr(txt, "\"priority\"") != NULL) == (v == 1));
		assert_true((strstr(txt, "espionage") != NULL) == (v == 1));
		free(txt);
		json_decref(j);
		buf_free(&f);
	}
	prop_version = PL_OBJ_VERSION;
	free(s);
}

static void test_agreement_every_byte_flip_fails(void **st)
{
	(void)st;
	static const uint8_t flips[] = {0x01, 0x02, 0x20, 0x80, 0xff};
	buf f = good_agreement();
	int input = 0, security = 0;
	for (size_t i = 0; i < f.n; i++) {
		for (size_t k = 0; k < sizeof flips; k++) {
			pl_err e;
			pl_err_clear(&e);
			f.p[i] ^= flips[k];
			if (pl_agreement_verify(NULL, f.p, f.n, NULL, 0, &e) == 0)
				fail_msg("flip 0x%02x at %zu (of %zu) accepted", flips[k], i, f.n);
			assert_true(e.code == PL_EXIT_INPUT || e.code == PL_EXIT_SECURITY);
			assert_true(strlen(e.msg) > 10);
			input += e.code == PL_EXIT_INPUT;
			security += e.code == PL_EXIT_SECURITY;
			f.p[i] ^= flips[k];
		}
		/* and a few through the dispatcher */
		if (i % 97 == 0) {
			f.p[i] ^= 0x04;
			assert_int_equal(pl_verify_bytes(f.p, f.n, NULL, 0, NULL, NULL, NULL), -1);
			f.p[i] ^= 0x04;
		}
	}
	assert_true(input > 0 && security > 0);
	assert_int_equal(pl_agreement_verify(NULL, f.p, f.n, NULL, 0, NULL), 0);
	/* every truncation but of the final newline (framing), and an extra byte */
	assert_int_equal(pl_agreement_verify(NULL, f.p, f.n - 1, NULL, 0, NULL), 0);
	for (size_t n = 0; n + 1 < f.n; n++)
		assert_int_equal(pl_agreement_verify(NULL, f.p, n, NULL, 0, NULL), -1);
	uint8_t *more = malloc(f.n + 1);
	memcpy(more, f.p, f.n);
	more[f.n] = '\n';
	agreement_refused(&(buf){more, f.n + 1}, PL_EXIT_INPUT, "byte for byte");
	free(more);
	buf_free(&f);
}

static void test_agreement_expected_keys(void **st)
{
	(void)st;
	buf f = good_agreement();
	uint8_t keys[3][PL_IK_LEN];
	pl_err e;
	memcpy(keys[0], A.pk, PL_IK_LEN);
	memcpy(keys[1], B.pk, PL_IK_LEN);
	memcpy(keys[2], C.pk, PL_IK_LEN);
	const uint8_t(*k)[PL_IK_LEN] = (const uint8_t(*)[PL_IK_LEN])keys;
	assert_int_equal(pl_agreement_verify(NULL, f.p, f.n, k, 1, NULL), 0);
	assert_int_equal(pl_agreement_verify(NULL, f.p, f.n, k + 1, 1, NULL), 0);
	assert_int_equal(pl_agreement_verify(NULL, f.p, f.n, k, 2, NULL), 0);
	pl_err_clear(&e);
	assert_int_equal(pl_agreement_verify(NULL, f.p, f.n, k, 3, &e), -1);
	assert_int_equal(e.code, PL_EXIT_SECURITY);
	assert_non_null(strstr(e.msg, "did not sign this agreement"));
	char fc[PL_FINGERPRINT_LEN];
	pl_fingerprint(fc, C.pk);
	assert_non_null(strstr(e.msg, fc));
	/* the mediator is named, but did not sign */
	assert_int_equal(pl_agreement_verify(NULL, f.p, f.n, &M.pk, 1, NULL), -1);
	buf_free(&f);
}

static void test_agreement_bindings(void **st)
{
	(void)st;
	buf p = proposal(&A, &B, T0, T0 + 3600);
	buf p2 = proposal(&A, &B, T0, T0 + 3600);
	pl_err e;
	json_t *j;

	/* accepted by a third key */
	buf a = response(&C, &A, &p, PL_RESP_ACCEPT, T0 + 60);
	buf f = raw_agreement(&p, &a);
	agreement_refused(&f, PL_EXIT_SECURITY, "was signed by");
	agreement_refused(&f, 0, "but the proposal was addressed to");
	pl_err_clear(&e);
	assert_int_equal(pl_agreement_write(&j, p.p, p.n, a.p, a.n, &e), -1);
	assert_null(j);
	buf_free(&a);
	buf_free(&f);

	/* the right accepter, but addressed to someone else than the proposer */
	a = response(&B, &C, &p, PL_RESP_ACCEPT, T0 + 60);
	f = raw_agreement(&p, &a);
	agreement_refused(&f, PL_EXIT_SECURITY, "addressed to");
	buf_free(&a);
	buf_free(&f);

	/* an acceptance of another proposal */
	a = response(&B, &A, &p2, PL_RESP_ACCEPT, T0 + 60);
	f = raw_agreement(&p, &a);
	agreement_refused(&f, PL_EXIT_SECURITY, "names a different proposal");
	assert_int_equal(pl_agreement_write(&j, p.p, p.n, a.p, a.n, NULL), -1);
	buf_free(&a);
	buf_free(&f);

	/* a rejection, a withdrawal */
	a = response(&B, &A, &p, PL_RESP_REJECT, T0 + 60);
	f = raw_agreement(&p, &a);
	agreement_refused(&f, PL_EXIT_SECURITY, "not an acceptance");
	buf_free(&a);
	buf_free(&f);
	a = response(&A, &B, &p, PL_RESP_WITHDRAW, T0 + 60);
	f = raw_agreement(&p, &a);
	agreement_refused(&f, PL_EXIT_SECURITY, "not an acceptance");
	buf_free(&a);
	buf_free(&f);

	/* the two fields swapped */
	a = response(&B, &A, &p, PL_RESP_ACCEPT, T0 + 60);
	f = raw_agreement(&a, &p);
	agreement_refused(&f, PL_EXIT_SECURITY, "not a proposal");
	buf_free(&f);
	/* the same object twice */
	f = raw_agreement(&p, &p);
	agreement_refused(&f, PL_EXIT_SECURITY, "not a response");
	buf_free(&f);
	/* a bad acceptance signature is named as such */
	a.p[a.n - 1] ^= 1;
	f = raw_agreement(&p, &a);
	agreement_refused(&f, PL_EXIT_SECURITY, "the acceptance's signature does not verify");
	buf_free(&f);
	a.p[a.n - 1] ^= 1;
	p.p[p.n - 1] ^= 1;
	f = raw_agreement(&p, &a);
	agreement_refused(&f, PL_EXIT_SECURITY, "the proposal's signature does not verify");
	buf_free(&f);
	p.p[p.n - 1] ^= 1;
	buf_free(&a);
	buf_free(&p);
	buf_free(&p2);
}

static void test_agreement_expiry(void **st)
{
	(void)st;
	buf p = proposal(&A, &B, T0, T0 + 3600);
	buf a = response(&B, &A, &p, PL_RESP_ACCEPT, T0 + 3600); /* the last second */
	buf f = raw_agreement(&p, &a);
	assert_int_equal(pl_agreement_verify(NULL, f.p, f.n, NULL, 0, NULL), 0);
	buf_free(&a);
	buf_free(&f);
	a = response(&B, &A, &p, PL_RESP_ACCEPT, T0 + 3601);
	f = raw_agreement(&p, &a);
	agreement_refused(&f, PL_EXIT_SECURITY, "had expired when it was accepted");
	json_t *j;
	assert_int_equal(pl_agreement_write(&j, p.p, p.n, a.p, a.n, NULL), -1);
	buf_free(&a);
	buf_free(&f);
	buf_free(&p);
	/* expires 0 = never */
	p = proposal(&A, &B, T0, 0);
	a = response(&B, &A, &p, PL_RESP_ACCEPT, T0 + 100000000);
	f = raw_agreement(&p, &a);
	assert_int_equal(pl_agreement_verify(NULL, f.p, f.n, NULL, 0, NULL), 0);
	buf_free(&a);
	buf_free(&f);
	buf_free(&p);
}

static void test_agreement_json_strictness(void **st)
{
	(void)st;
	buf p = proposal(&A, &B, T0, 0);
	buf a = response(&B, &A, &p, PL_RESP_ACCEPT, T0 + 1);
	char *pb = malloc(pl_b64_len(p.n)), *ab = malloc(pl_b64_len(a.n));
	pl_b64_encode(pb, p.p, p.n);
	pl_b64_encode(ab, a.p, a.n);
	struct {
		const char *fmt;
		const char *want;
	} cases[] = {
	    {"{\"format\":\"parley-agreement\",\"version\":1,\"proposal\":\"%s\",\"acceptance\":"
	     "\"%s\"}",
	     "byte for byte"},
	    {"{\n  \"version\": 1,\n  \"format\": \"parley-agreement\",\n  \"proposal\": "
	     "\"%s\",\n  \"acceptance\": \"%s\"\n}\n",
	     "byte for byte"},
	    {"{\n  \"format\": \"parley-agreement\",\n  \"version\": 1,\n  \"proposal\": "
	     "\"%s\",\n  \"acceptance\": \"%s\",\n  \"note\": 1\n}\n",
	     "unknown key \"note\""},
	    {"{\n  \"format\": \"parley-agreement\",\n  \"version\": 1,\n  \"proposal\": "
	     "\"%s\",\n  \"acceptance\": \"%s\",\n  \"version\": 1\n}\n",
	     "not valid JSON"},
	    {"{\n  \"format\": \"parley-agreement\",\n  \"version\": 3,\n  \"proposal\": "
	     "\"%s\",\n  \"acceptance\": \"%s\"\n}\n",
	     "version"},
	    {"{\n  \"format\": \"parley-agreement\",\n  \"version\": 2,\n  \"proposal\": "
	     "\"%s\",\n  \"acceptance\": \"%s\"\n}\n",
	     "no \"relay_key\""},
	    {"{\n  \"format\": \"parley-agreement\",\n  \"version\": 1.0,\n  \"proposal\": "
	     "\"%s\",\n  \"acceptance\": \"%s\"\n}\n",
	     "version"},
	    {"{\n  \"format\": \"parley-thread\",\n  \"version\": 1,\n  \"proposal\": "
	     "\"%s\",\n  \"acceptance\": \"%s\"\n}\n",
	     "format"},
	    {"{\n  \"format\": \"parley-agreement\",\n  \"version\": 1,\n  \"proposal\": "
	     "\"%s\"\n}\n%.0s",
	     "no \"acceptance\""},
	    {"[\"%s\", \"%s\"]", "not a JSON object"},
	    {"{\n  \"format\": \"parley-agreement\",\n  \"version\": 1,\n  \"proposal\": "
	     "\"%s \",\n  \"acceptance\": \"%s\"\n}\n",
	     "base64"},
	    {"{\n  \"format\": \"parley-agreement\",\n  \"version\": 1,\n  \"proposal\": "
	     "\"%s\",\n  \"acceptance\": \"%s\"\n}\n garbage",
	     "not valid JSON"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		char *s = NULL;
		assert_true(asprintf(&s, cases[i].fmt, pb, ab) > 0);
		buf f = {(uint8_t *)s, strlen(s)};
		agreement_refused(&f, PL_EXIT_INPUT, cases[i].want);
		free(s);
	}
	/* the canonical text itself passes, and an escaped character does not */
	char *s = NULL;
	assert_true(asprintf(&s,
			     "{\n  \"format\": \"parley-agreement\",\n  \"version\": 1,\n  "
			     "\"proposal\": \"%s\",\n  \"acceptance\": \"%s\"\n}\n",
			     pb, ab) > 0);
	assert_int_equal(pl_agreement_verify(NULL, (uint8_t *)s, strlen(s), NULL, 0, NULL), 0);
	char *slash = strchr(s + 60, '/'); /* base64 may hold '/', which JSON may escape */
	if (slash) {
		char *t = NULL;
		assert_true(asprintf(&t, "%.*s\\/%s", (int)(slash - s), s, slash + 1) > 0);
		agreement_refused(&(buf){(uint8_t *)t, strlen(t)}, PL_EXIT_INPUT, "byte for byte");
		free(t);
	}
	char *f = strstr(s, "parley-agreement");
	f[0] = '\\';
	agreement_refused(&(buf){(uint8_t *)s, strlen(s)}, PL_EXIT_INPUT, NULL);
	free(s);
	/* non-canonical base64: the last character's unused bits set */
	size_t L = strlen(pb);
	if (pb[L - 1] == '=') {
		char *q = strdup(pb);
		size_t at = L - 1;
		while (q[at] == '=')
			at--;
		q[at] = q[at] == 'A' ? 'B' : 'A'; /* differs only in low bits, or not at all */
		buf fb = {0};
		char *t = NULL;
		assert_true(asprintf(&t,
				     "{\n  \"format\": \"parley-agreement\",\n  \"version\": 1,\n  "
				     "\"proposal\": \"%s\",\n  \"acceptance\": \"%s\"\n}\n",
				     q, ab) > 0);
		fb.p = (uint8_t *)t;
		fb.n = strlen(t);
		agreement_refused(&fb, 0, NULL);
		free(t);
		free(q);
	}
	free(pb);
	free(ab);
	buf_free(&p);
	buf_free(&a);
}

static void test_verify_file_and_dispatch(void **st)
{
	(void)st;
	char dir[64], path[256];
	pl_test_tmpdir(dir, sizeof dir, "test-verify");
	snprintf(path, sizeof path, "%s/agreement.json", dir);
	buf p = proposal(&A, &B, T0, 0);
	buf a = response(&B, &A, &p, PL_RESP_ACCEPT, T0 + 1);
	json_t *j;
	pl_err e;
	pl_err_clear(&e);
	assert_int_equal(pl_agreement_write(&j, p.p, p.n, a.p, a.n, &e), 0);
	assert_int_equal(pl_export_write_file(path, j, &e), 0);
	json_decref(j);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	char *text = NULL;
	size_t tl = 0;
	FILE *out = open_memstream(&text, &tl);
	json_t *js = NULL;
	assert_int_equal(pl_verify_file(path, NULL, 0, &e, out, &js), 0);
	fclose(out);
	assert_non_null(strstr(text, "valid agreement between"));
	assert_non_null(js);
	json_decref(js);
	free(text);
	/* a proof of mutual intent (export/match.h) is dispatched too */
	{
		uint8_t id[PL_MATCH_ID_LEN];
		pl_wr sa, sb;
		pl_match_id(id, PL_MATCH_INTENT, A.pk, B.pk, "talks");
		pl_wr_init(&sa);
		pl_wr_init(&sb);
		assert_int_equal(pl_match_intent_sign(&sa, id, B.pk, "talks", T0, &A), 0);
		assert_int_equal(pl_match_intent_sign(&sb, id, A.pk, "talks", T0 + 1, &B), 0);
		snprintf(path, sizeof path, "%s/intent.json", dir);
		assert_int_equal(pl_intent_export_write(path, sa.p, sa.n, sb.p, sb.n, &e), 0);
		out = open_memstream(&text, &tl);
		assert_int_equal(pl_verify_file(path, NULL, 0, &e, out, &js), 0);
		fclose(out);
		assert_true(strncmp(text, "mutual intent: ", 15) == 0);
		assert_non_null(strstr(text, "both committed to talk about \"talks\""));
		assert_string_equal(json_string_value(json_object_get(js, "format")),
				    "parley-intent");
		json_decref(js);
		free(text);
		sa.p[sa.n - 1] ^= 1; /* a statement altered: not written */
		assert_int_equal(pl_intent_export_write(path, sa.p, sa.n, sb.p, sb.n, &e), -1);
		assert_int_equal(e.code, PL_EXIT_SECURITY);
		pl_wr_free(&sa);
		pl_wr_free(&sb);
	}
	/* missing file, not JSON, unknown format, no format */
	snprintf(path, sizeof path, "%s/missing.json", dir);
	assert_int_equal(pl_verify_file(path, NULL, 0, &e, NULL, NULL), -1);
	assert_int_equal(e.code, PL_EXIT_INPUT);
	static const char *bad[] = {"",
				    "not json",
				    "{\"format\": \"parley-other\"}",
				    "{\"version\": 1}",
				    "{\"format\": 7}",
				    "[]",
				    "{\"format\": \"\\u001b[31mred\"}"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		pl_err_clear(&e);
		js = (json_t *)1;
		assert_int_equal(pl_verify_bytes((const uint8_t *)bad[i], strlen(bad[i]), NULL, 0,
						 &e, NULL, &js),
				 -1);
		assert_null(js);
		assert_int_equal(e.code, PL_EXIT_INPUT);
		assert_null(strchr(e.msg, 0x1b)); /* nothing untrusted echoed raw */
	}
	pl_test_rm_rf(dir);
	buf_free(&p);
	buf_free(&a);
}

/* --- thread ----------------------------------------------------------------- */

static buf note_free_thread(void)
{
	pl_thread_export *x;
	json_t *j;
	assert_int_equal(pl_thread_export_begin(&x, &A, B.pk, NULL), 0);
	assert_int_equal(pl_thread_export_finish(x, &j, NULL), 0);
	pl_thread_export_free(x);
	return dump(j);
}

static buf good_thread(void)
{
	pl_thread_export *x;
	pl_err e;
	json_t *j;
	pl_err_clear(&e);
	assert_int_equal(pl_thread_export_begin(&x, &A, B.pk, &e), 0);
	/* outreach A→B, notes, proposal B→A, counter A→B, acceptance B→A */
	pl_obj *o = malloc(sizeof *o);
	pl_wr w;
	pl_obj_init(o, PL_OBJ_OUTREACH);
	memcpy(o->recipient_ik, B.pk, PL_IK_LEN);
	strcpy(o->u.outreach.topic, "the detained nationals");
	pl_wr_init(&w);
	assert_int_equal(pl_obj_sign(&w, o, &A, NULL), 0);
	assert_int_equal(pl_thread_export_add_signed(x, PL_EXPORT_OUT, T0, w.p, w.n, &e), 0);
	pl_wr_free(&w);
	free(o);
	assert_int_equal(
	    pl_thread_export_add_note(x, PL_EXPORT_OUT, T0 + 1, "we are ready\nto talk", &e), 0);
	assert_int_equal(pl_thread_export_add_note(x, PL_EXPORT_IN, T0 + 2, "so are we", &e), 0);
	buf p = proposal(&B, &A, T0 + 3, 0);
	assert_int_equal(pl_thread_export_add_signed(x, PL_EXPORT_IN, T0 + 3, p.p, p.n, &e), 0);
	buf p2 = proposal(&A, &B, T0 + 4, 0);
	assert_int_equal(pl_thread_export_add_signed(x, PL_EXPORT_OUT, T0 + 4, p2.p, p2.n, &e), 0);
	buf a = response(&B, &A, &p2, PL_RESP_ACCEPT, T0 + 5);
	assert_int_equal(pl_thread_export_add_signed(x, PL_EXPORT_IN, T0 + 5, a.p, a.n, &e), 0);
	assert_int_equal(pl_thread_export_add_note(x, PL_EXPORT_OUT, T0 + 6, "", &e), 0);
	/* refusals leave the builder as it was */
	assert_int_equal(pl_thread_export_add_signed(x, PL_EXPORT_OUT, T0 + 7, p.p, p.n, &e), -1);
	assert_int_equal(pl_thread_export_add_signed(x, 3, T0 + 7, p.p, p.n, &e), -1);
	assert_int_equal(pl_thread_export_add_note(x, PL_EXPORT_OUT, T0 + 7, "bell\a", &e), -1);
	assert_int_equal(
	    pl_thread_export_add_note(x, PL_EXPORT_OUT, 253402300800ull, "too late", &e), -1);
	p.p[10] ^= 1;
	assert_int_equal(pl_thread_export_add_signed(x, PL_EXPORT_IN, T0 + 7, p.p, p.n, &e), -1);
	buf c3 = proposal(&C, &A, T0, 0); /* from a third party */
	assert_int_equal(pl_thread_export_add_signed(x, PL_EXPORT_IN, T0 + 7, c3.p, c3.n, &e), -1);
	pl_err_clear(&e);
	if (pl_thread_export_finish(x, &j, &e) != 0)
		fail_msg("finish: %s", e.msg);
	pl_thread_export_free(x);
	buf_free(&p);
	buf_free(&p2);
	buf_free(&a);
	buf_free(&c3);
	return dump(j);
}

static void thread_refused(const buf *f, int code, const char *want)
{
	pl_err e;
	pl_err_clear(&e);
	assert_int_equal(pl_thread_verify(NULL, f->p, f->n, NULL, 0, &e), -1);
	if (code)
		assert_int_equal(e.code, code);
	if (want && strstr(e.msg, want) == NULL)
		fail_msg("expected \"%s\" in \"%s\"", want, e.msg);
}

static void test_thread_ok(void **st)
{
	(void)st;
	buf f = good_thread();
	pl_thread_summary s;
	pl_err e;
	pl_err_clear(&e);
	if (pl_thread_verify(&s, f.p, f.n, NULL, 0, &e) != 0)
		fail_msg("verify: %s", e.msg);
	assert_int_equal(s.n_entries, 7);
	assert_int_equal(s.n_signed, 4);
	assert_int_equal(s.n_notes, 3);
	assert_int_equal(s.first_time, T0);
	assert_int_equal(s.last_time, T0 + 6);
	assert_memory_equal(s.exporter_ik, A.pk, PL_IK_LEN);
	assert_memory_equal(s.peer_ik, B.pk, PL_IK_LEN);
	assert_int_equal(json_array_size(s.entries), 7);
	pl_thread_summary_free(&s);
	/* expected keys: the exporter, the peer (who signed objects in it), not C */
	assert_int_equal(pl_thread_verify(NULL, f.p, f.n, &A.pk, 1, NULL), 0);
	assert_int_equal(pl_thread_verify(NULL, f.p, f.n, &B.pk, 1, NULL), 0);
	assert_int_equal(pl_thread_verify(NULL, f.p, f.n, &C.pk, 1, &e), -1);
	assert_int_equal(e.code, PL_EXIT_SECURITY);
	assert_non_null(strstr(e.msg, "did not sign this thread"));
	char *text = NULL;
	size_t tl = 0;
	FILE *out = open_memstream(&text, &tl);
	json_t *js = NULL;
	assert_int_equal(pl_verify_bytes(f.p, f.n, NULL, 0, &e, out, &js), 0);
	fclose(out);
	assert_non_null(strstr(text, "valid thread exported by the exporter ("));
	assert_non_null(strstr(text, "7 entries"));
	/* the conversation, not only counts: notes, and every term of objects */
	assert_non_null(strstr(text, "note (not signed by itself; in the exporter's signed "
				     "chain):\n    we are ready\n    to talk\n"));
	assert_non_null(strstr(text, "topic: the detained nationals"));
	assert_non_null(strstr(text, "    accepts proposal "));
	assert_non_null(strstr(text, "        - Cécile Kohler, held by Evin\n"));
	assert_non_null(strstr(text, "      condition 1: medical check before transfer\n"));
	assert_non_null(json_object_get(js, "conversation"));
	assert_int_equal(json_integer_value(json_object_get(js, "entries")), 7);
	json_decref(js);
	free(text);
	buf_free(&f);

	/* an empty thread, and one with only notes, where the peer signed nothing */
	f = note_free_thread();
	assert_int_equal(pl_thread_verify(&s, f.p, f.n, NULL, 0, NULL), 0);
	assert_int_equal(s.n_entries, 0);
	pl_thread_summary_free(&s);
	assert_int_equal(pl_thread_verify(NULL, f.p, f.n, &B.pk, 1, NULL), -1);
	buf_free(&f);
}

static void test_thread_every_byte_flip_fails(void **st)
{
	(void)st;
	static const uint8_t flips[] = {0x01, 0x20, 0x80};
	buf f = good_thread();
	for (size_t i = 0; i < f.n; i++) {
		for (size_t k = 0; k < sizeof flips; k++) {
			pl_err e;
			pl_err_clear(&e);
			f.p[i] ^= flips[k];
			if (pl_thread_verify(NULL, f.p, f.n, NULL, 0, &e) == 0)
				fail_msg("flip 0x%02x at %zu (of %zu) accepted", flips[k], i, f.n);
			assert_true(e.code == PL_EXIT_INPUT || e.code == PL_EXIT_SECURITY);
			assert_true(strlen(e.msg) > 10);
			f.p[i] ^= flips[k];
		}
	}
	assert_int_equal(pl_thread_verify(NULL, f.p, f.n, NULL, 0, NULL), 0);
	for (size_t n = 0; n + 1 < f.n; n += 7)
		assert_int_equal(pl_thread_verify(NULL, f.p, n, NULL, 0, NULL), -1);
	buf_free(&f);
}

/* Re-serializes a thread after edit() changed its JSON: any such file is
 * canonical, so only the chain and signatures can catch the change. */
static buf edited(const buf *f, void (*edit)(json_t *root))
{
	json_t *root = json_loadb((const char *)f->p, f->n, 0, NULL);
	assert_non_null(root);
	edit(root);
	return dump(root);
}

static void drop_first(json_t *r)
{
	json_array_remove(json_object_get(r, "entries"), 0);
}
static void drop_middle(json_t *r)
{
	json_array_remove(json_object_get(r, "entries"), 3);
}
static void drop_last(json_t *r)
{
	json_t *a = json_object_get(r, "entries");
	json_array_remove(a, json_array_size(a) - 1);
}
static void swap_two(json_t *r)
{
	json_t *a = json_object_get(r, "entries");
	json_t *x = json_incref(json_array_get(a, 1));
	json_array_remove(a, 1);
	json_array_insert_new(a, 2, x);
}
static void duplicate(json_t *r)
{
	json_t *a = json_object_get(r, "entries");
	json_array_append(a, json_array_get(a, 3));
}
static void change_text(json_t *r)
{
	json_object_set_new(json_array_get(json_object_get(r, "entries"), 1), "text",
			    json_string("we are not ready"));
}
static void change_time(json_t *r)
{
	json_object_set_new(json_array_get(json_object_get(r, "entries"), 3), "time",
			    json_string("2025-11-28T03:20:04Z"));
}
static void change_dir(json_t *r)
{
	json_object_set_new(json_array_get(json_object_get(r, "entries"), 2), "direction",
			    json_string("out"));
}
static void change_kind(json_t *r)
{
	json_object_set_new(json_array_get(json_object_get(r, "entries"), 3), "kind",
			    json_string("outreach"));
}
static void empty_entries(json_t *r)
{
	json_array_clear(json_object_get(r, "entries"));
}
static void swap_keys(json_t *r)
{
	json_t *ex = json_incref(json_object_get(r, "exporter"));
	json_object_set(r, "exporter", json_object_get(r, "peer"));
	json_object_set_new(r, "peer", ex);
}
static void extra_key(json_t *r)
{
	json_object_set_new(json_array_get(json_object_get(r, "entries"), 0), "note",
			    json_string("x"));
}

static void test_thread_edits_fail(void **st)
{
	(void)st;
	buf f = good_thread();
	struct {
		void (*edit)(json_t *);
		int code;
		const char *want;
	} cases[] = {
	    {drop_first, PL_EXIT_SECURITY, "hash chain"},
	    {drop_middle, PL_EXIT_SECURITY, "hash chain"},
	    {drop_last, PL_EXIT_SECURITY, "hash chain"},
	    {swap_two, PL_EXIT_SECURITY, "hash chain"},
	    {duplicate, PL_EXIT_SECURITY, "hash chain"},
	    {change_text, PL_EXIT_SECURITY, "hash chain"},
	    {change_time, PL_EXIT_SECURITY, "hash chain"},
	    {change_dir, PL_EXIT_SECURITY, "hash chain"},
	    {change_kind, PL_EXIT_SECURITY, "holds a signed"},
	    {empty_entries, PL_EXIT_SECURITY, "hash chain"},
	    {swap_keys, PL_EXIT_SECURITY, NULL},
	    {extra_key, PL_EXIT_INPUT, "unknown key"},
	};
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		buf g = edited(&f, cases[i].edit);
		thread_refused(&g, 0, cases[i].want);
		buf_free(&g);
	}
	buf_free(&f);
}

static void test_thread_resigned_by_other_fails(void **st)
{
	(void)st;
	/* C re-exports A's thread under A's name: the head signature fails. */
	buf f = good_thread();
	json_t *root = json_loadb((const char *)f.p, f.n, 0, NULL);
	uint8_t head[32], sig[64];
	pl_hex_decode(head, 32, json_string_value(json_object_get(root, "head")));
	uint8_t m[sizeof PL_THREAD_SIG_TAG - 1 + 96];
	memcpy(m, PL_THREAD_SIG_TAG, sizeof PL_THREAD_SIG_TAG - 1);
	memcpy(m + sizeof PL_THREAD_SIG_TAG - 1, A.pk, 32);
	memcpy(m + sizeof PL_THREAD_SIG_TAG - 1 + 32, B.pk, 32);
	memcpy(m + sizeof PL_THREAD_SIG_TAG - 1 + 64, head, 32);
	crypto_sign_detached(sig, NULL, m, sizeof m, C.sk);
	char hex[129];
	pl_hex_encode(hex, sig, 64);
	json_object_set_new(root, "signature", json_string(hex));
	buf g = dump(root);
	thread_refused(&g, PL_EXIT_SECURITY, "exporter's signature");
	buf_free(&g);
	/* and signed by A it passes: the test's message layout is the spec's */
	root = json_loadb((const char *)f.p, f.n, 0, NULL);
	crypto_sign_detached(sig, NULL, m, sizeof m, A.sk);
	pl_hex_encode(hex, sig, 64);
	json_object_set_new(root, "signature", json_string(hex));
	g = dump(root);
	assert_int_equal(pl_thread_verify(NULL, g.p, g.n, NULL, 0, NULL), 0);
	buf_free(&g);
	buf_free(&f);
}

/* --- the parties' names ----------------------------------------------------- */

static const char *const US = "United States", *const IR = "جمهوری اسلامی ایران";

/* good_agreement with names added by `by` (A the proposer, B the accepter). */
static buf named_agreement(const pl_identity *by)
{
	buf f = good_agreement();
	json_t *j = json_loadb((const char *)f.p, f.n, JSON_PRESERVE_ORDER, NULL);
	assert_non_null(j);
	pl_err e;
	pl_err_clear(&e);
	if (pl_agreement_add_names(j, by, by == &A ? US : IR, by == &A ? IR : US, &e) != 0)
		fail_msg("names: %s", e.msg);
	buf_free(&f);
	return dump(j);
}

/* text of the plain summary of f verified with expect[0..n) */
static char *summary_text(const buf *f, const uint8_t (*expect)[PL_IK_LEN], size_t n)
{
	char *text = NULL;
	size_t tl = 0;
	pl_err e;
	pl_err_clear(&e);
	FILE *out = open_memstream(&text, &tl);
	if (pl_verify_bytes(f->p, f->n, expect, n, &e, out, NULL) != 0)
		fail_msg("verify: %s", e.msg);
	fclose(out);
	return text;
}

static void test_agreement_names(void **st)
{
	(void)st;
	char fa[PL_FINGERPRINT_LEN], fb[PL_FINGERPRINT_LEN], line[300];
	pl_fingerprint(fa, A.pk);
	pl_fingerprint(fb, B.pk);
	for (int k = 0; k < 2; k++) {
		buf f = named_agreement(k == 0 ? &A : &B);
		pl_agreement_summary *s = malloc(sizeof *s);
		assert_int_equal(pl_agreement_verify(s, f.p, f.n, NULL, 0, NULL), 0);
		assert_int_equal(s->names_by,
				 k == 0 ? PL_AGREEMENT_PROPOSER : PL_AGREEMENT_ACCEPTER);
		assert_string_equal(s->proposer_name, US);
		assert_string_equal(s->accepter_name, IR);
		free(s);
		char *text = summary_text(&f, NULL, 0);
		snprintf(line, sizeof line, "valid agreement between %s and %s: both", US, IR);
		assert_non_null(strstr(text, line));
		snprintf(line, sizeof line, "  proposer: %s, key fingerprint %s\n", US, fa);
		assert_non_null(strstr(text, line));
		snprintf(line, sizeof line, "  accepter: %s, key fingerprint %s\n", IR, fb);
		assert_non_null(strstr(text, line));
		snprintf(line, sizeof line, "the names are %s's labels (the %s who exported",
			 k == 0 ? US : IR, k == 0 ? "proposer" : "accepter");
		assert_non_null(strstr(text, line));
		assert_non_null(strstr(text, "this proves only that these two keys signed, not who "
					     "holds them"));
		snprintf(line, sizeof line, "  %s releases:\n    - Mahdieh Esfandiari", US);
		assert_non_null(strstr(text, line));
		free(text);
		/* with --expect-key: which party matched */
		text = summary_text(&f, &B.pk, 1);
		snprintf(line, sizeof line, "--expect-key matched the accepter, %s: the keys", IR);
		assert_non_null(strstr(text, line));
		assert_null(strstr(text, "proves only"));
		free(text);
		uint8_t both[2][PL_IK_LEN];
		memcpy(both[0], A.pk, PL_IK_LEN);
		memcpy(both[1], B.pk, PL_IK_LEN);
		text = summary_text(&f, (const uint8_t(*)[PL_IK_LEN])both, 2);
		snprintf(line, sizeof line, "matched the proposer, %s, and the accepter, %s:", US,
			 IR);
		assert_non_null(strstr(text, line));
		free(text);
		/* the names are signed: a swapped or edited name, or the other
		 * signer claimed, fails; every byte flip fails */
		json_t *j = json_loadb((const char *)f.p, f.n, JSON_PRESERVE_ORDER, NULL);
		json_t *nm = json_object_get(j, "names");
		json_object_set_new(nm, "proposer", json_string(IR));
		json_object_set_new(nm, "accepter", json_string(US));
		buf g = dump(json_incref(j));
		agreement_refused(&g, PL_EXIT_SECURITY, "names does not verify");
		buf_free(&g);
		json_object_set_new(nm, "proposer", json_string("United Kingdom"));
		json_object_set_new(nm, "accepter", json_string(IR));
		g = dump(json_incref(j));
		agreement_refused(&g, PL_EXIT_SECURITY, "names does not verify");
		buf_free(&g);
		json_object_set_new(nm, "proposer", json_string(US));
		json_object_set_new(j, "names_signed_by",
				    json_string(k == 0 ? "accepter" : "proposer"));
		g = dump(json_incref(j));
		agreement_refused(&g, PL_EXIT_SECURITY, "names does not verify");
		buf_free(&g);
		json_object_set_new(j, "names_signed_by", json_string("mediator"));
		g = dump(json_incref(j));
		agreement_refused(&g, PL_EXIT_INPUT, "names_signed_by");
		buf_free(&g);
		json_object_set_new(j, "names_signed_by",
				    json_string(k == 0 ? "proposer" : "accepter"));
		json_object_del(j, "names_signature");
		g = dump(json_incref(j));
		agreement_refused(&g, PL_EXIT_INPUT, "names_signature");
		buf_free(&g);
		json_decref(j);
		for (size_t i = 0; i < f.n; i += 3) {
			f.p[i] ^= 0x01;
			if (pl_agreement_verify(NULL, f.p, f.n, NULL, 0, NULL) == 0)
				fail_msg("flip at %zu accepted", i);
			f.p[i] ^= 0x01;
		}
		buf_free(&f);
	}
	/* a third party cannot name them; nor is a bad name written */
	buf f = good_agreement();
	json_t *j = json_loadb((const char *)f.p, f.n, JSON_PRESERVE_ORDER, NULL);
	pl_err e;
	pl_err_clear(&e);
	assert_int_equal(pl_agreement_add_names(j, &C, "Canada", US, &e), -1);
	assert_non_null(strstr(e.msg, "only one of the two parties"));
	assert_int_equal(pl_agreement_add_names(j, &A, "two\nlines", IR, &e), -1);
	assert_int_equal(pl_agreement_add_names(j, &A, "", IR, &e), -1);
	assert_null(json_object_get(j, "names"));
	json_decref(j);
	buf_free(&f);
}

static void test_thread_names(void **st)
{
	(void)st;
	pl_thread_export *x;
	json_t *j;
	pl_err e;
	pl_err_clear(&e);
	assert_int_equal(pl_thread_export_begin(&x, &A, B.pk, &e), 0);
	assert_int_equal(pl_thread_export_set_names(x, US, IR, &e), 0);
	assert_int_equal(pl_thread_export_set_names(x, US, "bad\tname", &e), -1);
	assert_int_equal(pl_thread_export_add_note(x, PL_EXPORT_IN, T0, "سلام", &e), 0);
	buf p = proposal(&B, &A, T0 + 3, 0);
	assert_int_equal(pl_thread_export_add_signed(x, PL_EXPORT_IN, T0 + 3, p.p, p.n, &e), 0);
	assert_int_equal(pl_thread_export_finish(x, &j, &e), 0);
	pl_thread_export_free(x);
	buf_free(&p);
	buf f = dump(j);
	assert_non_null(memmem(f.p, f.n, "\"version\": 2", 12));
	pl_thread_summary s;
	assert_int_equal(pl_thread_verify(&s, f.p, f.n, NULL, 0, &e), 0);
	assert_int_equal(s.named, 1);
	assert_string_equal(s.exporter_name, US);
	assert_string_equal(s.peer_name, IR);
	pl_thread_summary_free(&s);
	char *text = summary_text(&f, NULL, 0);
	char line[300];
	snprintf(line, sizeof line, "valid thread exported by %s with %s: every signature", US, IR);
	assert_non_null(strstr(text, line));
	assert_non_null(strstr(text, "proves only that these keys signed, not who holds them"));
	snprintf(line, sizeof line,
		 "  2025-11-28T03:20:00Z  %s to %s, note (its sender did not sign it; as the "
		 "exporter received it):\n    سلام\n",
		 IR, US);
	assert_non_null(strstr(text, line));
	snprintf(line, sizeof line, "%s to %s, signed by %s:\n    proposal ", IR, US, IR);
	assert_non_null(strstr(text, line));
	snprintf(line, sizeof line, "      %s releases:\n        - Mahdieh Esfandiari", IR);
	assert_non_null(strstr(text, line));
	free(text);
	text = summary_text(&f, &A.pk, 1);
	snprintf(line, sizeof line, "--expect-key matched the exporter, %s: the keys", US);
	assert_non_null(strstr(text, line));
	free(text);
	/* the names are under the exporter's signature */
	json_t *r = json_loadb((const char *)f.p, f.n, JSON_PRESERVE_ORDER, NULL);
	json_object_set_new(r, "peer_name", json_string("Iraq"));
	buf g = dump(r);
	thread_refused(&g, PL_EXIT_SECURITY, "signature on the thread does not verify");
	buf_free(&g);
	r = json_loadb((const char *)f.p, f.n, JSON_PRESERVE_ORDER, NULL);
	json_object_del(r, "peer_name");
	g = dump(r);
	thread_refused(&g, PL_EXIT_INPUT, "peer_name");
	buf_free(&g);
	for (size_t i = 0; i < f.n; i++) {
		f.p[i] ^= 0x01;
		if (pl_thread_verify(NULL, f.p, f.n, NULL, 0, NULL) == 0)
			fail_msg("flip at %zu accepted", i);
		f.p[i] ^= 0x01;
	}
	buf_free(&f);
}

/* --- framing: what mail and Windows do to a file ---------------------------- */

enum { CRLF = 1, NO_FINAL_LF = 2, BOM = 4 };

/* f as a mail client or Windows editor may hand it back. */
static buf reframe(const buf *f, int how)
{
	buf r = {malloc(2 * f->n + 3), 0};
	assert_non_null(r.p);
	if (how & BOM) {
		memcpy(r.p, "\xef\xbb\xbf", 3);
		r.n = 3;
	}
	for (size_t i = 0; i < f->n; i++) {
		if (f->p[i] == '\n' && (how & NO_FINAL_LF) && i + 1 == f->n)
			break;
		if (f->p[i] == '\n' && (how & CRLF))
			r.p[r.n++] = '\r';
		r.p[r.n++] = f->p[i];
	}
	return r;
}

/* verifies f through its own verifier and the dispatcher, or refuses it */
static int verifies(const buf *f, int thread, pl_err *e)
{
	int rc = thread ? pl_thread_verify(NULL, f->p, f->n, NULL, 0, e)
			: pl_agreement_verify(NULL, f->p, f->n, NULL, 0, e);
	int rd = pl_verify_bytes(f->p, f->n, NULL, 0, NULL, NULL, NULL);
	assert_int_equal(rc, rd);
	return rc;
}

static void framing_one(const buf *f, int thread)
{
	static const uint8_t flips[] = {0x01, 0x20, 0x80};
	pl_err e;
	/* the LF of the final CR LF lost (a shell's "$(cat f)" does that) */
	buf c = reframe(f, CRLF | BOM);
	c.n--;
	pl_err_clear(&e);
	if (verifies(&c, thread, &e) != 0)
		fail_msg("final CR without LF refused: %s", e.msg);
	buf_free(&c);
	for (int how = 1; how < 8; how++) {
		buf r = reframe(f, how);
		pl_err_clear(&e);
		if (verifies(&r, thread, &e) != 0)
			fail_msg("framing %d refused: %s", how, e.msg);
		/* what was signed still counts: every byte flip of the
		 * converted file fails (for time, every 13th byte but in the last) */
		for (size_t i = 0; i < r.n; i += (how == 7 ? 1 : 13))
			for (size_t k = 0; k < sizeof flips; k++) {
				r.p[i] ^= flips[k];
				if (verifies(&r, thread, NULL) == 0)
					fail_msg("framing %d, flip 0x%02x at %zu accepted", how,
						 flips[k], i);
				r.p[i] ^= flips[k];
			}
		buf_free(&r);
	}
	/* and what is not framing is refused */
	static const char *const bad[] = {"two marks",	   "lone CR",	     "CR CR LF",
					  "extra newline", "trailing space", "mark inside",
					  "CR at end"};
	for (size_t b = 0; b < sizeof bad / sizeof bad[0]; b++) {
		buf r = reframe(f, b == 0 || b == 5 ? BOM : CRLF);
		uint8_t *p = malloc(r.n + 4);
		size_t n = r.n;
		memcpy(p, r.p, r.n);
		switch (b) {
		case 0: /* a second mark */
			memmove(p + 3, p, n);
			n += 3;
			break;
		case 1: /* the LF of the first CR LF gone */
			memmove(p + 2, p + 3, n - 3);
			n--;
			break;
		case 2: /* CR CR LF */
			memmove(p + 2, p + 1, n - 1);
			p[1] = '\r';
			n++;
			break;
		case 3:
			p[n++] = '\r';
			p[n++] = '\n';
			break;
		case 4:
			p[n - 2] = ' ';
			p[n - 1] = '\n';
			break;
		case 5: /* a mark after the first line */
			memmove(p + 8, p + 5, n - 5);
			memcpy(p + 5, "\xef\xbb\xbf", 3);
			n += 3;
			break;
		case 6: /* the final LF lost after two CRs */
			p[n - 1] = '\r';
			break;
		}
		buf m = {p, n};
		pl_err_clear(&e);
		if (verifies(&m, thread, &e) == 0)
			fail_msg("%s accepted", bad[b]);
		assert_int_equal(e.code, PL_EXIT_INPUT);
		buf_free(&m);
		buf_free(&r);
	}
}

static void test_framing_agreement(void **st)
{
	(void)st;
	buf f = good_agreement();
	assert_int_equal(f.p[1], '\n'); /* "{\n": the CR LF cases above hit it */
	framing_one(&f, 0);
	buf_free(&f);
}

static void test_framing_thread(void **st)
{
	(void)st;
	buf f = good_thread();
	/* the note "we are ready\nto talk" is escaped: no raw LF inside it */
	assert_non_null(memmem(f.p, f.n, "we are ready\\nto talk", 21));
	framing_one(&f, 1);
	buf_free(&f);
}

/* --- the document for people ------------------------------------------------- */

static void test_document(void **st)
{
	(void)st;
	buf f = named_agreement(&B);
	char *doc = NULL, line[400], ka[2 * PL_IK_LEN + 1], kb[2 * PL_IK_LEN + 1];
	size_t dl = 0;
	pl_err e;
	pl_err_clear(&e);
	if (pl_document_render(&doc, &dl, f.p, f.n, "deal-2026.txt", &e) != 0)
		fail_msg("render: %s", e.msg);
	assert_int_equal(strlen(doc), dl);
	pl_hex_encode(ka, A.pk, PL_IK_LEN);
	pl_hex_encode(kb, B.pk, PL_IK_LEN);
	snprintf(line, sizeof line, "Between %s and %s.\n", US, IR);
	assert_non_null(strstr(doc, line));
	assert_non_null(strstr(doc, "1. United States releases:\n   - Mahdieh Esfandiari, held by "
				    "Evin\n   - Ahmad Rahimi, held by Evin\n"));
	snprintf(line, sizeof line, "2. %s releases:\n   - Cécile Kohler", IR);
	assert_non_null(strstr(doc, line));
	assert_non_null(strstr(doc, "3. Place: Geneva\n"));
	assert_non_null(strstr(doc, "4. Sequencing: simultaneous"));
	assert_non_null(strstr(doc, "   a) medical check before transfer\n"));
	assert_non_null(strstr(doc, "6. Mediator: Switzerland\n      key fingerprint "));
	assert_non_null(strstr(doc, "   Proposed: 2025-11-28T03:20:00Z"));
	assert_non_null(strstr(doc, "   Offer open until: 2025-11-28T04:20:00Z\n"));
	assert_non_null(strstr(doc, "   Accepted: 2025-11-28T03:21:00Z"));
	snprintf(line, sizeof line,
		 "    parley verify deal-2026.txt \\\n      --expect-key %s \\\n      "
		 "--expect-key %s\n",
		 ka, kb);
	assert_non_null(strstr(doc, line));
	assert_null(strstr(doc, "priority"));
	/* it verifies, through the dispatcher too, and says so */
	buf d = {(uint8_t *)doc, dl};
	pl_agreement_summary *s = malloc(sizeof *s);
	assert_int_equal(pl_document_verify(s, d.p, d.n, NULL, NULL, 0, &e), 0);
	assert_string_equal(s->accepter_name, IR);
	free(s);
	char *text = summary_text(&d, NULL, 0);
	assert_non_null(strstr(text, "valid agreement document: its text is exactly"));
	free(text);
	/* framing tolerated */
	buf r = reframe(&d, CRLF | BOM | NO_FINAL_LF);
	assert_int_equal(pl_verify_bytes(r.p, r.n, NULL, 0, NULL, NULL, NULL), 0);
	buf_free(&r);
	/* any change to the text fails: every byte of the readable part (the
	 * file name of the command aside, which only names the file) */
	const char *arm = strstr(doc, PL_DOC_BEGIN);
	size_t body = (size_t)(arm - doc), fails = 0;
	for (size_t i = 0; i < dl; i += (i < body ? 1 : 7)) {
		d.p[i] ^= 0x01;
		if (pl_verify_bytes(d.p, d.n, NULL, 0, NULL, NULL, NULL) == 0) {
			const char *at = strstr(doc, "parley verify ");
			if (!(at && (size_t)(at - doc) + 14 <= i && i < (size_t)(at - doc) + 27))
				fail_msg("flip at %zu accepted: %.40s", i, doc + i - 10);
		} else {
			fails++;
		}
		d.p[i] ^= 0x01;
	}
	assert_true(fails > body);
	/* a document whose text is for another agreement fails */
	buf g = good_agreement();
	char *doc2 = NULL;
	size_t dl2;
	assert_int_equal(pl_document_render(&doc2, &dl2, g.p, g.n, NULL, &e), 0);
	assert_non_null(strstr(doc2, "parley verify agreement.txt \\\n"));
	char *mix = malloc(dl + dl2);
	const char *arm2 = strstr(doc2, PL_DOC_BEGIN);
	memcpy(mix, doc2, (size_t)(arm2 - doc2));
	memcpy(mix + (arm2 - doc2), arm, dl - body);
	pl_err_clear(&e);
	assert_int_equal(pl_verify_bytes((uint8_t *)mix, (size_t)(arm2 - doc2) + dl - body, NULL, 0,
					 &e, NULL, NULL),
			 -1);
	assert_int_equal(e.code, PL_EXIT_SECURITY);
	assert_non_null(strstr(e.msg, "not what its signed agreement says"));
	/* no armor, or text after it */
	memcpy(mix, doc, dl);
	memcpy(mix + dl, "x\n", 2);
	assert_int_equal(pl_verify_bytes((uint8_t *)mix, dl + 2, NULL, 0, NULL, NULL, NULL), -1);
	free(mix);
	free(doc2);
	buf_free(&g);
	free(doc);
	buf_free(&f);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_agreement_ok_and_summary),
	    cmocka_unit_test(test_agreement_version1_still_verifies),
	    cmocka_unit_test(test_agreement_every_byte_flip_fails),
	    cmocka_unit_test(test_agreement_expected_keys),
	    cmocka_unit_test(test_agreement_bindings),
	    cmocka_unit_test(test_agreement_expiry),
	    cmocka_unit_test(test_agreement_json_strictness),
	    cmocka_unit_test(test_verify_file_and_dispatch),
	    cmocka_unit_test(test_thread_ok),
	    cmocka_unit_test(test_thread_every_byte_flip_fails),
	    cmocka_unit_test(test_thread_edits_fail),
	    cmocka_unit_test(test_thread_resigned_by_other_fails),
	    cmocka_unit_test(test_agreement_names),
	    cmocka_unit_test(test_thread_names),
	    cmocka_unit_test(test_document),
	    cmocka_unit_test(test_framing_agreement),
	    cmocka_unit_test(test_framing_thread),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
