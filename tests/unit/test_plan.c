/* test_plan.c — execution plans (docs/PLAN.md): the plan file loader refuses
 * each broken file with one line naming the step; the codec round trips
 * every object type and refuses each rule's violation, every truncation and
 * every flipped byte; the state function gives the same state for every
 * order of the same objects and for every subset in any order, refuses
 * steps out of order, by the wrong signer, and aborts after the point of no
 * return, and shows a missed deadline as late; the execution record
 * verifies, and refuses a missing link and every flipped byte. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/execution.h"
#include "client/plan.h"
#include "envelope/envelope.h"
#include "export/json.h"
#include "negotiation/object.h"
#include "negotiation/plan.h"
#include "util/codec.h"
#include "vault/vault.h"
#include "support.h"

static pl_identity A, B, M, X;

static int setup(void **st)
{
	(void)st;
	if (sodium_init() < 0 || pl_identity_generate(&A) || pl_identity_generate(&B) ||
	    pl_identity_generate(&M) || pl_identity_generate(&X))
		return -1;
	return 0;
}

/* --- the plan file ------------------------------------------------------------ */

/* The 2023 Doha sequence of docs/PLAN.md. */
static const char DOHA[] =
    "{\n"
    "  \"title\": \"Doha, September 2023: five for five and the funds\",\n"
    "  \"steps\": [\n"
    "    {\"id\": \"escrow\", \"title\": \"Funds received in the escrow account in Doha\",\n"
    "     \"performer\": \"United States\", \"confirmers\": [\"mediator\"],\n"
    "     \"deadline\": \"2023-09-15T12:00:00Z\"},\n"
    "    {\"id\": \"house-arrest\", \"title\": \"The five detainees moved from prison to house "
    "arrest\",\n"
    "     \"performer\": \"Iran\", \"confirmers\": [\"mediator\", \"United States\"],\n"
    "     \"deadline\": \"2023-09-15T12:00:00Z\"},\n"
    "    {\"id\": \"aircraft\", \"title\": \"The aircraft arrive in Tehran and in Doha\",\n"
    "     \"performer\": \"mediator\", \"confirmers\": [\"a\", \"b\"],\n"
    "     \"deadline\": \"2023-09-18T06:00:00Z\", \"waits_for\": [\"escrow\", \"house-arrest\"]},\n"
    "    {\"id\": \"identities\", \"title\": \"Identities of the ten people checked\",\n"
    "     \"performer\": \"mediator\", \"confirmers\": [\"a\", \"b\"],\n"
    "     \"deadline\": \"2023-09-18T09:00:00Z\", \"waits_for\": [\"aircraft\"]},\n"
    "    {\"id\": \"handover\", \"title\": \"Simultaneous handover\",\n"
    "     \"performer\": \"mediator\", \"confirmers\": [\"a\", \"b\"],\n"
    "     \"deadline\": \"2023-09-18T12:00:00Z\", \"waits_for\": [\"identities\"],\n"
    "     \"no_return\": true},\n"
    "    {\"id\": \"home\", \"title\": \"Arrival home\",\n"
    "     \"performer\": \"mediator\", \"confirmers\": [\"a\", \"b\"],\n"
    "     \"deadline\": \"2023-09-19T12:00:00Z\", \"waits_for\": [\"handover\"]}\n"
    "  ]\n"
    "}\n";

static int load(pl_plan_body *b, const char *s, pl_err *e)
{
	pl_err_clear(e);
	return pl_plan_load_json(b, s, strlen(s), "United States", "Iran", e);
}

static void test_loader_doha(void **st)
{
	(void)st;
	pl_plan_body *b = malloc(sizeof *b);
	pl_err e;
	assert_int_equal(load(b, DOHA, &e), 0);
	assert_int_equal(b->n_steps, 6);
	assert_int_equal(b->steps[0].performer, PL_ROLE_A);
	assert_int_equal(b->steps[1].performer, PL_ROLE_B);
	assert_int_equal(b->steps[1].confirmers, PL_ROLE_BIT(PL_ROLE_M) | PL_ROLE_BIT(PL_ROLE_A));
	assert_int_equal(b->steps[2].n_waits, 2);
	assert_int_equal(b->steps[2].waits[0], 0);
	assert_int_equal(b->steps[2].waits[1], 1);
	assert_int_equal(b->steps[4].no_return, 1);
	assert_int_equal(b->steps[3].no_return, 0);
	free(b);
}

/* Each broken file is refused with one line that names what is wrong. */
static void test_loader_rejects(void **st)
{
	(void)st;
	static const struct {
		const char *json, *want;
	} cases[] = {
	    {"{\"title\": \"t\", \"steps\": [], \"extra\": 1}", "unknown key \"extra\""},
	    {"{\"title\": \"t\", \"steps\": []}", "1 to 64 steps"},
	    {"{\"title\": \"t\"}", "1 to 64 steps"},
	    {"{\"steps\": []}", "\"title\""},
	    {"[1]", "JSON object"},
	    {"{\"title\": \"t\", \"steps\": [", "not valid JSON"},
	    {"{\"title\": \"t\", \"title\": \"u\", \"steps\": []}", "not valid JSON"},
	    {"{\"title\": \"t\", \"steps\": [{\"id\": \"x\", \"title\": \"X\", \"performer\": "
	     "\"a\","
	     " \"confirmers\": [\"b\"], \"deadline\": \"2030-01-01T00:00:00Z\", \"colour\": 1}]}",
	     "step 1 (\"x\") has an unknown key \"colour\""},
	    {"{\"title\": \"t\", \"steps\": [{\"id\": \"x\", \"title\": \"X\", \"performer\": "
	     "\"a\","
	     " \"confirmers\": [\"b\"], \"deadline\": \"2030-01-01T00:00:00Z\"},"
	     " {\"id\": \"x\", \"title\": \"Y\", \"performer\": \"a\","
	     " \"confirmers\": [\"b\"], \"deadline\": \"2030-01-01T00:00:00Z\"}]}",
	     "step 2 (\"x\"): the id \"x\" is also step 1's"},
	    {"{\"title\": \"t\", \"steps\": [{\"id\": \"x\", \"title\": \"X\", \"performer\": "
	     "\"a\","
	     " \"confirmers\": [\"b\"], \"deadline\": \"2030-01-01T00:00:00Z\","
	     " \"waits_for\": [\"nope\"]}]}",
	     "step 1 (\"x\") waits for \"nope\", which is no step"},
	    {"{\"title\": \"t\", \"steps\": [{\"id\": \"x\", \"title\": \"X\", \"performer\": "
	     "\"a\","
	     " \"confirmers\": [\"b\"], \"deadline\": \"2030-01-01T00:00:00Z\","
	     " \"waits_for\": [\"x\"]}]}",
	     "step 1 (\"x\") is in a cycle"},
	    {"{\"title\": \"t\", \"steps\": [{\"id\": \"x\", \"title\": \"X\", \"performer\": "
	     "\"a\","
	     " \"confirmers\": [\"b\"], \"deadline\": \"2030-01-01T00:00:00Z\","
	     " \"waits_for\": [\"y\"]},"
	     " {\"id\": \"y\", \"title\": \"Y\", \"performer\": \"a\","
	     " \"confirmers\": [\"b\"], \"deadline\": \"2030-01-01T00:00:00Z\","
	     " \"waits_for\": [\"x\"]}]}",
	     "in a cycle"},
	    {"{\"title\": \"t\", \"steps\": [{\"id\": \"x\", \"title\": \"X\", \"performer\": "
	     "\"a\","
	     " \"confirmers\": [\"b\"], \"deadline\": \"2030-01-01T00:00:00Z\","
	     " \"waits_for\": [\"y\"]},"
	     " {\"id\": \"y\", \"title\": \"Y\", \"performer\": \"a\","
	     " \"confirmers\": [\"b\"], \"deadline\": \"2030-01-01T00:00:00Z\"}]}",
	     "step 1 (\"x\") waits for \"y\", listed after it"},
	    {"{\"title\": \"t\", \"steps\": [{\"id\": \"x\", \"title\": \"X\", \"performer\": "
	     "\"a\","
	     " \"confirmers\": [\"a\"], \"deadline\": \"2030-01-01T00:00:00Z\"}]}",
	     "step 1 (\"x\"): confirmer 1 is the performer"},
	    {"{\"title\": \"t\", \"steps\": [{\"id\": \"x\", \"title\": \"X\", \"performer\": "
	     "\"Oman\","
	     " \"confirmers\": [\"b\"], \"deadline\": \"2030-01-01T00:00:00Z\"}]}",
	     "step 1 (\"x\"): \"performer\" must be"},
	    {"{\"title\": \"t\", \"steps\": [{\"id\": \"x\", \"title\": \"X\", \"performer\": "
	     "\"a\","
	     " \"confirmers\": [], \"deadline\": \"2030-01-01T00:00:00Z\"}]}",
	     "step 1 (\"x\"): \"confirmers\""},
	    {"{\"title\": \"t\", \"steps\": [{\"id\": \"x\", \"title\": \"X\", \"performer\": "
	     "\"a\","
	     " \"confirmers\": [\"b\", \"Iran\"], \"deadline\": \"2030-01-01T00:00:00Z\"}]}",
	     "named twice"},
	    {"{\"title\": \"t\", \"steps\": [{\"id\": \"x\", \"title\": \"X\", \"performer\": "
	     "\"a\","
	     " \"confirmers\": [\"b\"], \"deadline\": \"tomorrow\"}]}",
	     "step 1 (\"x\"): \"deadline\""},
	    {"{\"title\": \"t\", \"steps\": [{\"id\": \"x\", \"title\": \"X\", \"performer\": "
	     "\"a\","
	     " \"confirmers\": [\"b\"], \"deadline\": \"2030-01-01T00:00:00Z\", \"no_return\": "
	     "1}]}",
	     "\"no_return\" must be true or false"},
	    {"{\"title\": \"t\", \"steps\": [{\"id\": \"X Y\", \"title\": \"X\", \"performer\": "
	     "\"a\","
	     " \"confirmers\": [\"b\"], \"deadline\": \"2030-01-01T00:00:00Z\"}]}",
	     "step 1: \"id\" must be"},
	    {"{\"title\": \"t\", \"steps\": [{\"id\": \"x\", \"title\": \"X\\nY\", \"performer\": "
	     "\"a\", \"confirmers\": [\"b\"], \"deadline\": \"2030-01-01T00:00:00Z\"}]}",
	     "step 1 (\"x\"): \"title\""},
	};
	pl_plan_body *b = malloc(sizeof *b);
	pl_err e;
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		if (load(b, cases[i].json, &e) == 0 || strstr(e.msg, cases[i].want) == NULL ||
		    strchr(e.msg, '\n') != NULL)
			fail_msg("case %zu: got \"%s\", want \"%s\"", i, e.msg, cases[i].want);
		assert_int_equal(e.code, PL_EXIT_INPUT);
	}
	/* bounds: 65 steps */
	char *big = malloc(65 * 200 + 100);
	size_t n = (size_t)sprintf(big, "{\"title\": \"t\", \"steps\": [");
	for (int i = 0; i < 65; i++)
		n += (size_t)sprintf(
		    big + n,
		    "%s{\"id\": \"s%d\", \"title\": \"S\", \"performer\": \"a\", "
		    "\"confirmers\": [\"b\"], \"deadline\": \"2030-01-01T00:00:00Z\"}",
		    i ? ", " : "", i);
	sprintf(big + n, "]}");
	assert_int_not_equal(load(b, big, &e), 0);
	assert_non_null(strstr(e.msg, "1 to 64 steps"));
	/* 64 is fine */
	char *cut = strstr(big, ", {\"id\": \"s64\"");
	strcpy(cut, "]}");
	assert_int_equal(load(b, big, &e), 0);
	assert_int_equal(b->n_steps, 64);
	free(big);
	free(b);
}

/* --- objects ------------------------------------------------------------------------- */

/* The three-step plan of the tests: escrow (a; confirmed by m), handover
 * (m; by a and b; waits for escrow; no return), home (m; by b; waits for
 * handover). */
static void make_plan(pl_planobj *p, uint64_t home_deadline)
{
	pl_plan_obj_init(p, PL_PLAN_OBJ_PLAN);
	pl_plan_body *b = &p->u.plan;
	memset(b->proposal_id, 1, 8);
	memset(b->proposal_hash, 2, 32);
	memset(b->acceptance_hash, 3, 32);
	memcpy(b->a_ik, A.pk, 32);
	memcpy(b->b_ik, B.pk, 32);
	strcpy(b->title, "test plan");
	b->n_steps = 3;
	pl_plan_step *s = b->steps;
	strcpy(s[0].id, "escrow");
	strcpy(s[0].title, "Funds in escrow");
	s[0].performer = PL_ROLE_A;
	s[0].confirmers = PL_ROLE_BIT(PL_ROLE_M);
	s[0].deadline = 4000000000ull;
	strcpy(s[1].id, "handover");
	strcpy(s[1].title, "Handover");
	s[1].performer = PL_ROLE_M;
	s[1].confirmers = PL_ROLE_BIT(PL_ROLE_A) | PL_ROLE_BIT(PL_ROLE_B);
	s[1].deadline = 4000000000ull;
	s[1].no_return = 1;
	s[1].n_waits = 1;
	s[1].waits[0] = 0;
	strcpy(s[2].id, "home");
	strcpy(s[2].title, "Home");
	s[2].performer = PL_ROLE_M;
	s[2].confirmers = PL_ROLE_BIT(PL_ROLE_B);
	s[2].deadline = home_deadline;
	s[2].n_waits = 1;
	s[2].waits[0] = 1;
}

/* A signed object: bytes, decoded form and hash. */
typedef struct {
	uint8_t p[4096];
	size_t n;
	uint8_t h[32];
	pl_planobj *o;
} sobj;

static void sign_into(sobj *s, pl_planobj *o, const pl_identity *by)
{
	pl_wr w;
	pl_wr_init(&w);
	pl_err e;
	if (pl_plan_sign(&w, o, by, &e) != 0)
		fail_msg("sign: %s", e.msg);
	assert_true(w.n <= sizeof s->p);
	memcpy(s->p, w.p, w.n);
	s->n = w.n;
	pl_wr_free(&w);
	pl_plan_hash(s->h, s->p, s->n);
	s->o = malloc(sizeof *s->o);
	assert_int_equal(pl_plan_decode_signed(s->o, s->p, s->n, &e), 0);
}

static pl_planobj *obj_new(int type, const sobj *plan)
{
	pl_planobj *o = calloc(1, sizeof *o);
	pl_plan_obj_init(o, type);
	pl_plan_ref *r = type == PL_PLAN_OBJ_ACCEPT   ? &o->u.accept
			 : type == PL_PLAN_OBJ_ATTEST ? &o->u.attest.plan
						      : &o->u.abort.plan;
	memcpy(r->plan_id, plan->o->id, 8);
	memcpy(r->plan_hash, plan->h, 32);
	return o;
}

static void attest(sobj *out, const sobj *plan, const pl_identity *by, int step, int kind,
		   const sobj *const *rests, int nr, uint64_t created)
{
	pl_planobj *o = obj_new(PL_PLAN_OBJ_ATTEST, plan);
	o->u.attest.step = (uint8_t)step;
	o->u.attest.kind = (uint8_t)kind;
	o->u.attest.n_rests = (uint8_t)nr;
	for (int i = 0; i < nr; i++)
		memcpy(o->u.attest.rests[i], rests[i]->h, 32);
	if (created)
		o->created = created;
	sign_into(out, o, by);
	free(o);
}

enum { ACC_A, ACC_B, DONE_E, CONF_E, DONE_H, CONF_HA, CONF_HB, DONE_HOME, CONF_HOME, NOBJ };
static sobj plan_s, objs[NOBJ];

/* The whole run of the three-step plan, each object a second after the last. */
static void build_run(uint64_t home_deadline)
{
	pl_planobj *p = calloc(1, sizeof *p);
	make_plan(p, home_deadline);
	sign_into(&plan_s, p, &M);
	free(p);
	uint64_t t = 1700000000;
	pl_planobj *o = obj_new(PL_PLAN_OBJ_ACCEPT, &plan_s);
	o->created = t++;
	sign_into(&objs[ACC_A], o, &A);
	free(o);
	o = obj_new(PL_PLAN_OBJ_ACCEPT, &plan_s);
	o->created = t++;
	sign_into(&objs[ACC_B], o, &B);
	free(o);
	const sobj *r1[] = {&objs[ACC_A], &objs[ACC_B]};
	attest(&objs[DONE_E], &plan_s, &A, 0, PL_ATTEST_DONE, r1, 2, t++);
	const sobj *r2[] = {&objs[DONE_E]};
	attest(&objs[CONF_E], &plan_s, &M, 0, PL_ATTEST_CONFIRM, r2, 1, t++);
	const sobj *r3[] = {&objs[ACC_A], &objs[ACC_B], &objs[CONF_E]};
	attest(&objs[DONE_H], &plan_s, &M, 1, PL_ATTEST_DONE, r3, 3, t++);
	const sobj *r4[] = {&objs[DONE_H]};
	attest(&objs[CONF_HA], &plan_s, &A, 1, PL_ATTEST_CONFIRM, r4, 1, t++);
	attest(&objs[CONF_HB], &plan_s, &B, 1, PL_ATTEST_CONFIRM, r4, 1, t++);
	const sobj *r5[] = {&objs[ACC_A], &objs[ACC_B], &objs[CONF_HA], &objs[CONF_HB]};
	attest(&objs[DONE_HOME], &plan_s, &M, 2, PL_ATTEST_DONE, r5, 4, t++);
	const sobj *r6[] = {&objs[DONE_HOME]};
	attest(&objs[CONF_HOME], &plan_s, &B, 2, PL_ATTEST_CONFIRM, r6, 1, t++);
}

static void free_run(void)
{
	free(plan_s.o);
	plan_s.o = NULL;
	for (int i = 0; i < NOBJ; i++) {
		free(objs[i].o);
		objs[i].o = NULL;
	}
}

/* Evaluates the objects sel[0..n) (pointers into any array) at now, and
 * writes a summary that does not depend on their order: plan status, each
 * step's state and late flag and the hashes of the attestations that count,
 * and each object's verdict by hash. */
static void eval_summary(const sobj *const *sel, size_t n, uint64_t now, char *out, size_t cap,
			 uint8_t *verdict_out)
{
	pl_planobj *os = calloc(n ? n : 1, sizeof *os);
	uint8_t(*hs)[32] = calloc(n ? n : 1, 32);
	uint8_t *vd = calloc(n ? n : 1, 1);
	pl_plan_eval *ev = malloc(sizeof *ev);
	for (size_t i = 0; i < n; i++) {
		os[i] = *sel[i]->o;
		memcpy(hs[i], sel[i]->h, 32);
	}
	pl_plan_evaluate(ev, plan_s.o, plan_s.h, os, (const uint8_t(*)[32])hs, n, now, vd);
	size_t k = (size_t)snprintf(out, cap, "status %d no_return %d counted %zu;", ev->status,
				    ev->no_return, ev->counted);
	for (int s = 0; s < 3; s++) {
		k += (size_t)snprintf(out + k, cap - k, " step %d: %d/%d", s, ev->steps[s].state,
				      ev->steps[s].late);
		int slots[4] = {ev->steps[s].done, ev->steps[s].confirm[0], ev->steps[s].confirm[1],
				ev->steps[s].confirm[2]};
		for (int q = 0; q < 4; q++)
			k += (size_t)snprintf(out + k, cap - k, " %02x",
					      slots[q] < 0 ? 0 : hs[slots[q]][0]);
	}
	/* verdicts in the order of objs[] (by identity, not position) */
	for (int j = 0; j < NOBJ; j++)
		for (size_t i = 0; i < n; i++)
			if (sel[i] == &objs[j]) {
				k += (size_t)snprintf(out + k, cap - k, " v%d=%d", j, vd[i]);
				if (verdict_out)
					verdict_out[j] = vd[i];
			}
	free(os);
	free(hs);
	free(vd);
	free(ev);
}

static void test_codec_round_trip(void **st)
{
	(void)st;
	build_run(4000000000ull);
	const sobj *all[] = {&plan_s, &objs[ACC_A], &objs[DONE_H], &objs[CONF_HA]};
	for (size_t i = 0; i < 4; i++) {
		pl_wr w;
		pl_wr_init(&w);
		pl_err e;
		assert_int_equal(pl_plan_encode(&w, all[i]->o, &e), 0);
		assert_int_equal(w.n + PL_SIG_LEN, all[i]->n);
		assert_memory_equal(w.p, all[i]->p, w.n);
		pl_wr_free(&w);
	}
	pl_planobj *o = obj_new(PL_PLAN_OBJ_ABORT, &plan_s);
	strcpy(o->u.abort.reason, "the aircraft did not come");
	sobj ab;
	sign_into(&ab, o, &B);
	assert_string_equal(ab.o->u.abort.reason, "the aircraft did not come");
	free(ab.o);
	free(o);
	free_run();
}

/* Every truncation and every flipped byte of signed objects is refused. */
static void test_codec_flips(void **st)
{
	(void)st;
	build_run(4000000000ull);
	const sobj *all[] = {&plan_s, &objs[ACC_A], &objs[DONE_H]};
	pl_planobj *o = malloc(sizeof *o);
	for (size_t k = 0; k < 3; k++) {
		uint8_t buf[4096];
		pl_err e;
		for (size_t n = 0; n < all[k]->n; n++)
			assert_int_not_equal(pl_plan_decode_signed(o, all[k]->p, n, &e), 0);
		for (size_t i = 0; i < all[k]->n; i++) {
			memcpy(buf, all[k]->p, all[k]->n);
			buf[i] ^= 0x01;
			if (pl_plan_decode_signed(o, buf, all[k]->n, &e) == 0)
				fail_msg("object %zu: flip at %zu accepted", k, i);
			assert_true(e.code == PL_EXIT_INPUT || e.code == PL_EXIT_SECURITY);
		}
		memcpy(buf, all[k]->p, all[k]->n);
		buf[all[k]->n] = 0;
		assert_int_not_equal(pl_plan_decode_signed(o, buf, all[k]->n + 1, &e), 0);
	}
	free(o);
	free_run();
}

/* Domain separation: the same bytes signed as a negotiation object, or
 * with the plan tag over other bytes, do not verify. */
static void test_codec_domain(void **st)
{
	(void)st;
	build_run(4000000000ull);
	uint8_t msg[4200], buf[4200];
	size_t n = objs[ACC_A].n - PL_SIG_LEN;
	memcpy(msg, PL_OBJ_SIG_TAG, strlen(PL_OBJ_SIG_TAG));
	memcpy(msg + strlen(PL_OBJ_SIG_TAG), objs[ACC_A].p, n);
	memcpy(buf, objs[ACC_A].p, n);
	crypto_sign_detached(buf + n, NULL, msg, strlen(PL_OBJ_SIG_TAG) + n, A.sk);
	pl_planobj *o = malloc(sizeof *o);
	pl_err e;
	assert_int_not_equal(pl_plan_decode_signed(o, buf, n + PL_SIG_LEN, &e), 0);
	assert_int_equal(e.code, PL_EXIT_SECURITY);
	/* and a plan object is no negotiation object */
	pl_obj *no = malloc(sizeof *no);
	assert_int_not_equal(pl_obj_decode_signed(no, objs[ACC_A].p, objs[ACC_A].n, &e), 0);
	free(no);
	free(o);
	free_run();
}

/* The encoder (and so the decoder under a valid signature) refuses each
 * rule's violation. */
static void test_codec_rejects(void **st)
{
	(void)st;
	build_run(4000000000ull);
	pl_planobj *o = malloc(sizeof *o);
	pl_err e;
	pl_wr w;
#define REFUSED(setup_stmt)                                                                        \
	do {                                                                                       \
		setup_stmt;                                                                        \
		pl_wr_init(&w);                                                                    \
		if (pl_plan_encode(&w, o, &e) == 0)                                                \
			fail_msg("accepted: %s", #setup_stmt);                                     \
		assert_int_equal(w.n, 0);                                                          \
		pl_wr_free(&w);                                                                    \
	} while (0)
	REFUSED((*o = *plan_s.o, o->version = 2));
	REFUSED((*o = *plan_s.o, o->type = 9));
	REFUSED((*o = *plan_s.o, memset(o->id, 0, 8)));
	REFUSED((*o = *plan_s.o, memcpy(o->u.plan.b_ik, A.pk, 32)));
	REFUSED((*o = *plan_s.o, memcpy(o->u.plan.a_ik, M.pk, 32)));
	REFUSED((*o = *plan_s.o, memset(o->u.plan.acceptance_hash, 0, 32)));
	REFUSED((*o = *plan_s.o, o->u.plan.n_steps = 0));
	REFUSED((*o = *plan_s.o, o->u.plan.n_steps = 65));
	REFUSED((*o = *plan_s.o, strcpy(o->u.plan.steps[1].id, "escrow")));
	REFUSED((*o = *plan_s.o, strcpy(o->u.plan.steps[1].id, "Hand Over")));
	REFUSED((*o = *plan_s.o, o->u.plan.steps[0].confirmers |= PL_ROLE_BIT(PL_ROLE_A)));
	REFUSED((*o = *plan_s.o, o->u.plan.steps[0].confirmers = 0));
	REFUSED((*o = *plan_s.o, o->u.plan.steps[0].performer = 4));
	REFUSED((*o = *plan_s.o, o->u.plan.steps[0].deadline = 0));
	REFUSED((*o = *plan_s.o, o->u.plan.steps[0].no_return = 2));
	REFUSED((*o = *plan_s.o, o->u.plan.steps[1].waits[0] = 1)); /* itself */
	REFUSED((*o = *plan_s.o, o->u.plan.steps[1].waits[0] = 2)); /* later */
	REFUSED((*o = *plan_s.o, o->u.plan.steps[2].n_waits = 2,
		 o->u.plan.steps[2].waits[1] = 0)); /* not increasing */
	REFUSED((*o = *plan_s.o, strcpy(o->u.plan.title, "two\nlines")));
	REFUSED(
	    (*o = *objs[CONF_HA].o, o->u.attest.n_rests = 2, memset(o->u.attest.rests[1], 7, 32)));
	REFUSED((*o = *objs[DONE_H].o, memcpy(o->u.attest.rests[2], o->u.attest.rests[0], 32)));
	REFUSED((*o = *objs[DONE_H].o, memset(o->u.attest.rests[2], 0, 32)));
	REFUSED((*o = *objs[DONE_H].o, o->u.attest.kind = 3));
	REFUSED((*o = *objs[DONE_H].o, strcpy(o->u.attest.text, "bell\a")));
	REFUSED((*o = *objs[ACC_A].o, memset(o->u.accept.plan_hash, 0, 32)));
	REFUSED((*o = *objs[ACC_A].o, o->type = PL_PLAN_OBJ_ABORT, o->u.abort.reason[0] = 0));
	free(o);
	free_run();
}

/* --- the state function -------------------------------------------------------------- */

static void shuffle(const sobj **a, size_t n)
{
	for (size_t i = n; i > 1; i--) {
		size_t j = randombytes_uniform((uint32_t)i);
		const sobj *t = a[i - 1];
		a[i - 1] = a[j];
		a[j] = t;
	}
}

static void test_state_full_run(void **st)
{
	(void)st;
	build_run(4000000000ull);
	pl_plan_eval *ev = malloc(sizeof *ev);
	pl_planobj os[NOBJ];
	uint8_t hs[NOBJ][32], vd[NOBJ];
	for (int i = 0; i < NOBJ; i++) {
		os[i] = *objs[i].o;
		memcpy(hs[i], objs[i].h, 32);
	}
	pl_plan_evaluate(ev, plan_s.o, plan_s.h, os, (const uint8_t(*)[32])hs, NOBJ, 1700000100,
			 vd);
	assert_int_equal(ev->status, PL_PLAN_COMPLETED);
	assert_int_equal(ev->counted, NOBJ);
	assert_true(ev->no_return);
	for (int s = 0; s < 3; s++)
		assert_int_equal(ev->steps[s].state, PL_STEP_CONFIRMED);
	/* before anything: waiting, then ready once both accepted */
	pl_plan_evaluate(ev, plan_s.o, plan_s.h, os, (const uint8_t(*)[32])hs, 1, 1700000100, vd);
	assert_int_equal(ev->status, PL_PLAN_PROPOSED);
	assert_int_equal(ev->steps[0].state, PL_STEP_WAITING);
	pl_plan_evaluate(ev, plan_s.o, plan_s.h, os, (const uint8_t(*)[32])hs, 2, 1700000100, vd);
	assert_int_equal(ev->status, PL_PLAN_RUNNING);
	assert_int_equal(ev->steps[0].state, PL_STEP_READY);
	assert_int_equal(ev->steps[1].state, PL_STEP_WAITING);
	pl_plan_evaluate(ev, plan_s.o, plan_s.h, os, (const uint8_t(*)[32])hs, 3, 1700000100, vd);
	assert_int_equal(ev->steps[0].state, PL_STEP_DONE);
	free(ev);
	free_run();
}

/* The same objects in any order give the same state; so does every subset,
 * in any order; and an object counts only when all it rests on is there. */
static void test_state_order_independent(void **st)
{
	(void)st;
	build_run(4000000000ull);
	const sobj *sel[NOBJ];
	char ref[2048], got[2048];
	for (int i = 0; i < NOBJ; i++)
		sel[i] = &objs[i];
	eval_summary(sel, NOBJ, 1700000100, ref, sizeof ref, NULL);
	for (int r = 0; r < 300; r++) {
		shuffle(sel, NOBJ);
		eval_summary(sel, NOBJ, 1700000100, got, sizeof got, NULL);
		assert_string_equal(ref, got);
	}
	/* every subset, three orders each */
	static const int deps[NOBJ][4] = {
	    [ACC_A] = {-1},
	    [ACC_B] = {-1},
	    [DONE_E] = {ACC_A, ACC_B, -1},
	    [CONF_E] = {DONE_E, -1},
	    [DONE_H] = {ACC_A, ACC_B, CONF_E, -1},
	    [CONF_HA] = {DONE_H, -1},
	    [CONF_HB] = {DONE_H, -1},
	    [DONE_HOME] = {ACC_A, ACC_B, CONF_HA, CONF_HB},
	    [CONF_HOME] = {DONE_HOME, -1},
	};
	for (unsigned mask = 0; mask < (1u << NOBJ); mask++) {
		const sobj *sub[NOBJ];
		size_t n = 0;
		for (int i = 0; i < NOBJ; i++)
			if (mask & (1u << i))
				sub[n++] = &objs[i];
		uint8_t vd[NOBJ];
		eval_summary(sub, n, 1700000100, ref, sizeof ref, vd);
		for (int r = 0; r < 3; r++) {
			shuffle(sub, n);
			eval_summary(sub, n, 1700000100, got, sizeof got, NULL);
			if (strcmp(ref, got) != 0)
				fail_msg("subset %#x: %s vs %s", mask, ref, got);
		}
		/* counted iff everything it rests on (transitively) is present */
		int counted[NOBJ];
		for (int j = 0; j < NOBJ; j++) {
			counted[j] = (mask >> j) & 1;
			for (int k = 0; k < 4 && deps[j][k] >= 0 && counted[j]; k++)
				if (!counted[deps[j][k]])
					counted[j] = 0;
			if (mask & (1u << j))
				assert_int_equal(vd[j],
						 counted[j] ? PL_V_COUNTED : PL_V_UNANCHORED);
		}
	}
	free_run();
}

static uint8_t verdict_of(const sobj *extra, const sobj *const *base, size_t nb, uint64_t now,
			  pl_plan_eval *ev)
{
	pl_planobj *os = calloc(nb + 1, sizeof *os);
	uint8_t(*hs)[32] = calloc(nb + 1, 32);
	uint8_t vd[NOBJ + 2];
	for (size_t i = 0; i < nb; i++) {
		os[i] = *base[i]->o;
		memcpy(hs[i], base[i]->h, 32);
	}
	size_t n = nb;
	if (extra) {
		os[n] = *extra->o;
		memcpy(hs[n++], extra->h, 32);
	}
	pl_plan_evaluate(ev, plan_s.o, plan_s.h, os, (const uint8_t(*)[32])hs, n, now, vd);
	free(os);
	free(hs);
	return extra ? vd[nb] : 0;
}

/* Out of order, wrong signers and other plans' objects never count. */
static void test_state_refuses(void **st)
{
	(void)st;
	build_run(4000000000ull);
	pl_plan_eval *ev = malloc(sizeof *ev);
	const sobj *base[] = {&objs[ACC_A], &objs[ACC_B], &objs[DONE_E]};
	sobj bad;
	/* handover done resting on the escrow's done instead of its
	 * confirmation: out of order */
	const sobj *r1[] = {&objs[ACC_A], &objs[ACC_B], &objs[DONE_E]};
	attest(&bad, &plan_s, &M, 1, PL_ATTEST_DONE, r1, 3, 0);
	assert_int_equal(verdict_of(&bad, base, 3, 1700000100, ev), PL_V_INVALID);
	assert_int_equal(ev->steps[1].state, PL_STEP_WAITING);
	free(bad.o);
	/* resting on a confirmation that does not exist: never counts */
	sobj fake;
	memset(&fake, 0, sizeof fake);
	memset(fake.h, 0x5a, 32);
	const sobj *r2[] = {&objs[ACC_A], &objs[ACC_B], &fake};
	attest(&bad, &plan_s, &M, 1, PL_ATTEST_DONE, r2, 3, 0);
	assert_int_equal(verdict_of(&bad, base, 3, 1700000100, ev), PL_V_UNANCHORED);
	free(bad.o);
	/* what the client asks before signing: refused */
	uint8_t rests[PL_PLAN_RESTS_MAX][32], nr;
	pl_err e;
	verdict_of(NULL, base, 3, 1700000100, ev);
	uint8_t hs3[3][32];
	for (int i = 0; i < 3; i++)
		memcpy(hs3[i], base[i]->h, 32);
	assert_int_not_equal(pl_plan_rests_for(ev, plan_s.o, 1, PL_ATTEST_DONE,
					       (const uint8_t(*)[32])hs3, rests, &nr, &e),
			     0);
	assert_int_equal(e.code, PL_EXIT_REFUSED);
	assert_non_null(strstr(e.msg, "step handover waits for step escrow"));
	assert_int_equal(pl_plan_rests_for(ev, plan_s.o, 0, PL_ATTEST_CONFIRM,
					   (const uint8_t(*)[32])hs3, rests, &nr, &e),
			 0);
	assert_int_equal(nr, 1);
	assert_memory_equal(rests[0], objs[DONE_E].h, 32);
	/* nothing starts before both accepted */
	verdict_of(NULL, base, 1, 1700000100, ev);
	assert_int_not_equal(pl_plan_rests_for(ev, plan_s.o, 0, PL_ATTEST_DONE,
					       (const uint8_t(*)[32])hs3, rests, &nr, &e),
			     0);
	/* the escrow done signed by b, not its performer a */
	const sobj *r3[] = {&objs[ACC_A], &objs[ACC_B]};
	attest(&bad, &plan_s, &B, 0, PL_ATTEST_DONE, r3, 2, 0);
	assert_int_equal(verdict_of(&bad, base, 2, 1700000100, ev), PL_V_INVALID);
	assert_int_equal(ev->steps[0].state, PL_STEP_READY);
	assert_int_not_equal(pl_plan_obj_fits(plan_s.o, plan_s.h, bad.o, &e), 0);
	assert_non_null(strstr(e.msg, "not by its performer"));
	free(bad.o);
	/* confirmed by a, who is not its confirmer */
	const sobj *r4[] = {&objs[DONE_E]};
	attest(&bad, &plan_s, &A, 0, PL_ATTEST_CONFIRM, r4, 1, 0);
	assert_int_equal(verdict_of(&bad, base, 3, 1700000100, ev), PL_V_INVALID);
	free(bad.o);
	/* a stranger's key */
	attest(&bad, &plan_s, &X, 0, PL_ATTEST_CONFIRM, r4, 1, 0);
	assert_int_equal(verdict_of(&bad, base, 3, 1700000100, ev), PL_V_INVALID);
	free(bad.o);
	/* the mediator's acceptance */
	pl_planobj *o = obj_new(PL_PLAN_OBJ_ACCEPT, &plan_s);
	sign_into(&bad, o, &M);
	assert_int_equal(verdict_of(&bad, base, 3, 1700000100, ev), PL_V_INVALID);
	free(bad.o);
	free(o);
	/* another plan's hash */
	sobj other = plan_s;
	other.h[0] ^= 1;
	o = obj_new(PL_PLAN_OBJ_ACCEPT, &other);
	sign_into(&bad, o, &A);
	assert_int_equal(verdict_of(&bad, base, 0, 1700000100, ev), PL_V_INVALID);
	assert_int_equal(ev->accept[0], -1);
	free(bad.o);
	free(o);
	/* the wrong number of rests for its place */
	attest(&bad, &plan_s, &A, 0, PL_ATTEST_DONE,
	       (const sobj *const[]){&objs[ACC_A], &objs[ACC_B], &objs[CONF_E]}, 3, 0);
	assert_int_equal(verdict_of(&bad, base, 2, 1700000100, ev), PL_V_INVALID);
	free(bad.o);
	/* the same step attested twice: the earlier counts, whatever the order */
	attest(&bad, &plan_s, &A, 0, PL_ATTEST_DONE, r3, 2, 1600000000);
	assert_int_equal(verdict_of(&bad, base, 3, 1700000100, ev), PL_V_COUNTED);
	assert_int_equal(ev->steps[0].done, 3);
	free(bad.o);
	free(ev);
	free_run();
}

static void test_state_abort(void **st)
{
	(void)st;
	build_run(4000000000ull);
	pl_plan_eval *ev = malloc(sizeof *ev);
	pl_planobj *o = obj_new(PL_PLAN_OBJ_ABORT, &plan_s);
	strcpy(o->u.abort.reason, "the funds did not arrive");
	sobj ab;
	sign_into(&ab, o, &B);
	free(o);
	/* before the point of no return: it stops the plan */
	const sobj *before[] = {&objs[ACC_A], &objs[ACC_B], &objs[DONE_E], &objs[CONF_E]};
	assert_int_equal(verdict_of(&ab, before, 4, 1700000100, ev), PL_V_COUNTED);
	assert_int_equal(ev->status, PL_PLAN_ABORTED);
	assert_int_equal(ev->steps[0].state, PL_STEP_CONFIRMED);
	assert_int_equal(ev->steps[1].state, PL_STEP_ABORTED);
	assert_int_equal(ev->steps[2].state, PL_STEP_ABORTED);
	/* after it: refused, whatever the order they came in */
	const sobj *after[] = {&objs[ACC_A], &objs[ACC_B], &objs[DONE_E], &objs[CONF_E],
			       &objs[DONE_H]};
	assert_int_equal(verdict_of(&ab, after, 5, 1700000100, ev), PL_V_ABORT_REFUSED);
	assert_int_equal(ev->status, PL_PLAN_RUNNING);
	assert_int_equal(ev->abort, -1);
	assert_int_equal(ev->steps[1].state, PL_STEP_DONE);
	/* an abort by a stranger never counts */
	o = obj_new(PL_PLAN_OBJ_ABORT, &plan_s);
	strcpy(o->u.abort.reason, "x");
	sobj ax;
	sign_into(&ax, o, &X);
	free(o);
	assert_int_equal(verdict_of(&ax, before, 4, 1700000100, ev), PL_V_INVALID);
	assert_int_equal(ev->status, PL_PLAN_RUNNING);
	free(ax.o);
	free(ab.o);
	free(ev);
	free_run();
}

static void test_state_deadline(void **st)
{
	(void)st;
	build_run(1700000050); /* home is due at 1700000050 */
	pl_plan_eval *ev = malloc(sizeof *ev);
	const sobj *upto[] = {&objs[ACC_A],  &objs[ACC_B],   &objs[DONE_E], &objs[CONF_E],
			      &objs[DONE_H], &objs[CONF_HA], &objs[CONF_HB]};
	verdict_of(NULL, upto, 7, 1700000040, ev);
	assert_int_equal(ev->steps[2].state, PL_STEP_READY);
	verdict_of(NULL, upto, 7, 1700000051, ev);
	assert_int_equal(ev->steps[2].state, PL_STEP_LATE);
	assert_true(ev->steps[2].late);
	assert_int_equal(ev->steps[1].state, PL_STEP_CONFIRMED);
	assert_false(ev->steps[1].late);
	/* confirmed after its deadline (the signer's clock): confirmed, late */
	const sobj *all[NOBJ];
	for (int i = 0; i < NOBJ; i++)
		all[i] = &objs[i];
	free_run();
	build_run(1700000003);
	for (int i = 0; i < NOBJ; i++)
		all[i] = &objs[i];
	verdict_of(NULL, all, NOBJ, 1800000000, ev);
	assert_int_equal(ev->steps[2].state, PL_STEP_CONFIRMED);
	assert_true(ev->steps[2].late);
	free(ev);
	free_run();
}

/* --- the execution record ------------------------------------------------------------ */

static void agreement(pl_wr *prop, pl_wr *acc)
{
	pl_obj *p = calloc(1, sizeof *p), *a = calloc(1, sizeof *a);
	pl_err e;
	pl_obj_init(p, PL_OBJ_PROPOSAL);
	memcpy(p->recipient_ik, B.pk, 32);
	p->u.proposal.n_author = 1;
	strcpy(p->u.proposal.author[0].name, "Mehrdad Ansari");
	strcpy(p->u.proposal.author[0].held_by, "United States");
	memset(p->u.proposal.author[0].ref, 4, PL_OBJ_REF_LEN);
	p->u.proposal.has_mediator = 1;
	memcpy(p->u.proposal.mediator_ik, M.pk, 32);
	strcpy(p->u.proposal.mediator_name, "Switzerland");
	if (pl_obj_sign(prop, p, &A, &e) != 0)
		fail_msg("%s", e.msg);
	pl_obj_init(a, PL_OBJ_RESPONSE);
	memcpy(a->recipient_ik, A.pk, 32);
	a->u.response.kind = PL_RESP_ACCEPT;
	memcpy(a->u.response.target_id, p->id, 8);
	pl_obj_hash(a->u.response.target_hash, prop->p, prop->n);
	if (pl_obj_sign(acc, a, &B, &e) != 0)
		fail_msg("%s", e.msg);
	/* the plan names this agreement */
	free(plan_s.o);
	pl_planobj *pl = calloc(1, sizeof *pl);
	make_plan(pl, 4000000000ull);
	memcpy(pl->u.plan.proposal_id, p->id, 8);
	pl_plan_hash(pl->u.plan.proposal_hash, prop->p, prop->n);
	pl_plan_hash(pl->u.plan.acceptance_hash, acc->p, acc->n);
	sign_into(&plan_s, pl, &M);
	free(pl);
	free(p);
	free(a);
}

static void test_execution_record(void **st)
{
	(void)st;
	build_run(4000000000ull);
	pl_wr prop, acc;
	pl_wr_init(&prop);
	pl_wr_init(&acc);
	/* a plan over a real agreement, and objects of the first five moves */
	agreement(&prop, &acc);
	pl_planobj *o = obj_new(PL_PLAN_OBJ_ACCEPT, &plan_s);
	sobj s[4];
	sign_into(&s[0], o, &A);
	free(o);
	o = obj_new(PL_PLAN_OBJ_ACCEPT, &plan_s);
	sign_into(&s[1], o, &B);
	free(o);
	const sobj *r1[] = {&s[0], &s[1]};
	attest(&s[2], &plan_s, &A, 0, PL_ATTEST_DONE, r1, 2, 0);
	const sobj *r2[] = {&s[2]};
	attest(&s[3], &plan_s, &M, 0, PL_ATTEST_CONFIRM, r2, 1, 0);
	const uint8_t *ps[4] = {s[3].p, s[1].p, s[2].p, s[0].p};
	size_t ns[4] = {s[3].n, s[1].n, s[2].n, s[0].n};
	json_t *j;
	pl_err e;
	assert_int_equal(
	    pl_execution_write(&j, plan_s.p, plan_s.n, ps, ns, 4, prop.p, prop.n, acc.p, acc.n, &e),
	    0);
	size_t n;
	char *file = pl_export_dumps(j, &n);
	json_decref(j);
	pl_exec_state es;
	uint8_t expect[1][32];
	memcpy(expect[0], M.pk, 32);
	if (pl_execution_verify(&es, (uint8_t *)file, n, 1700000100, (const uint8_t(*)[32])expect,
				1, &e) != 0)
		fail_msg("%s", e.msg);
	assert_true(es.has_agreement);
	assert_int_equal(es.n, 4);
	assert_int_equal(es.ev.steps[0].state, PL_STEP_CONFIRMED);
	assert_int_equal(es.ev.steps[1].state, PL_STEP_READY);
	pl_exec_state_free(&es);
	/* a stranger's key expected: refused */
	memcpy(expect[0], X.pk, 32);
	assert_int_not_equal(pl_execution_verify(&es, (uint8_t *)file, n, 1700000100,
						 (const uint8_t(*)[32])expect, 1, &e),
			     0);
	/* every flipped byte refused, each with one line */
	for (size_t i = 0; i < n; i++) {
		char c = file[i];
		file[i] = (char)(c == '\n' ? ' ' : c ^ 1);
		if (pl_execution_verify(&es, (uint8_t *)file, n, 1700000100, NULL, 0, &e) == 0)
			fail_msg("flip at %zu accepted", i);
		assert_null(strchr(e.msg, '\n'));
		file[i] = c;
	}
	free(file);
	/* without the escrow's done, its confirmation's order is not proved */
	const uint8_t *ps3[3] = {s[0].p, s[1].p, s[3].p};
	size_t ns3[3] = {s[0].n, s[1].n, s[3].n};
	assert_int_equal(
	    pl_execution_write(&j, plan_s.p, plan_s.n, ps3, ns3, 3, NULL, 0, NULL, 0, &e), 0);
	file = pl_export_dumps(j, &n);
	json_decref(j);
	assert_int_not_equal(pl_execution_verify(&es, (uint8_t *)file, n, 1700000100, NULL, 0, &e),
			     0);
	assert_non_null(strstr(e.msg, "its order is not proved"));
	free(file);
	/* the agreement of another mediator (the plan's author differs) */
	for (int i = 0; i < 4; i++)
		free(s[i].o);
	pl_wr_free(&prop);
	pl_wr_free(&acc);
	free_run();
}

/* --- a receiving vault ------------------------------------------------------------- */

static void hold(pl_vault *v, const char *contact, int dir, const sobj *s)
{
	pl_item it;
	pl_err e;
	memset(&it, 0, sizeof it);
	pl_wr_init(&it.body);
	pl_wr_init(&it.receipt);
	memcpy(it.id, s->o->id, 8);
	snprintf(it.contact, sizeof it.contact, "%s", contact);
	it.dir = dir;
	it.kind = PL_KIND_PLAN;
	it.time = s->o->created;
	strcpy(it.state, dir == PL_DIR_IN ? "received" : "delivered");
	pl_wr_bytes(&it.body, s->p, s->n);
	if (pl_vault_item_add(v, &it, &e) != 0)
		fail_msg("%s", e.msg);
	pl_vault_item_free(&it);
}

/* What the receiving handler says of s arriving from contact c. */
static int arrive(pl_vault *v, const pl_contact *c, const sobj *s)
{
	pl_payload p;
	pl_msgr_envelope env;
	pl_err e;
	memset(&p, 0, sizeof p);
	memset(&env, 0, sizeof env);
	pl_wr_init(&env.receipt);
	p.kind = PL_KIND_PLAN;
	memcpy(p.id, s->o->id, 8);
	p.body = s->p;
	p.bodylen = s->n;
	pl_err_clear(&e);
	int rc = pl_plan_received(v, c, &p, &env, &e);
	pl_wr_free(&env.receipt);
	return rc;
}

/* Iran's vault receives the plan's objects: each is checked as the
 * client checks its own moves. */
static void test_receiver(void **st)
{
	(void)st;
	char dir[256];
	pl_test_tmpdir(dir, sizeof dir, "plan-recv");
	pl_vault *v = pl_test_vault_new(dir, "iran", "Iran", "http://127.0.0.1:9");
	pl_identity saved = B;
	B = *pl_vault_identity(v); /* the vault is b */
	pl_contact ca, cm;
	pl_err e;
	memset(&ca, 0, sizeof ca);
	memset(&cm, 0, sizeof cm);
	strcpy(ca.name, "United States");
	memcpy(ca.ik, A.pk, 32);
	ca.verified = 1;
	strcpy(cm.name, "Switzerland");
	memcpy(cm.ik, M.pk, 32);
	cm.verified = 1;
	assert_int_equal(pl_vault_contact_put(v, &ca, &e), 0);
	assert_int_equal(pl_vault_contact_put(v, &cm, &e), 0);
	build_run(4000000000ull);
	/* before the plan: kept for later */
	assert_int_equal(arrive(v, &ca, &objs[ACC_A]), PL_MSGR_OBJECT_LATER);
	hold(v, "Switzerland", PL_DIR_IN, &plan_s);
	assert_int_equal(arrive(v, &ca, &objs[ACC_A]), 0);
	hold(v, "United States", PL_DIR_IN, &objs[ACC_A]);
	/* not from its author: refused */
	assert_int_equal(arrive(v, &cm, &objs[DONE_E]), 1);
	/* resting on our own acceptance, not held yet: later */
	assert_int_equal(arrive(v, &ca, &objs[DONE_E]), PL_MSGR_OBJECT_LATER);
	hold(v, "United States", PL_DIR_OUT, &objs[ACC_B]);
	assert_int_equal(arrive(v, &ca, &objs[DONE_E]), 0);
	hold(v, "United States", PL_DIR_IN, &objs[DONE_E]);
	/* the handover done resting on the escrow's done, not its
	 * confirmation: out of order, refused */
	sobj bad;
	const sobj *r1[] = {&objs[ACC_A], &objs[ACC_B], &objs[DONE_E]};
	attest(&bad, &plan_s, &M, 1, PL_ATTEST_DONE, r1, 3, 0);
	assert_int_equal(arrive(v, &cm, &bad), 1);
	free(bad.o);
	/* the escrow confirmed by a, not its confirmer: refused */
	const sobj *r2[] = {&objs[DONE_E]};
	attest(&bad, &plan_s, &A, 0, PL_ATTEST_CONFIRM, r2, 1, 0);
	assert_int_equal(arrive(v, &ca, &bad), 1);
	free(bad.o);
	/* our own move out of order is refused before anything is signed */
	uint8_t pid[8], id[8];
	memcpy(pid, plan_s.o->id, 8);
	assert_int_not_equal(
	    pl_plan_attest_step(v, pid, "handover", PL_ATTEST_CONFIRM, NULL, id, &e), 0);
	assert_int_equal(e.code, PL_EXIT_REFUSED);
	assert_int_not_equal(pl_plan_attest_step(v, pid, "escrow", PL_ATTEST_DONE, NULL, id, &e),
			     0);
	assert_non_null(strstr(e.msg, "performed by United States"));
	/* the run goes on; after the handover is done no abort counts */
	assert_int_equal(arrive(v, &cm, &objs[CONF_E]), 0);
	hold(v, "Switzerland", PL_DIR_IN, &objs[CONF_E]);
	assert_int_equal(arrive(v, &cm, &objs[DONE_H]), 0);
	hold(v, "Switzerland", PL_DIR_IN, &objs[DONE_H]);
	pl_planobj *o = obj_new(PL_PLAN_OBJ_ABORT, &plan_s);
	strcpy(o->u.abort.reason, "too late");
	sobj ab;
	sign_into(&ab, o, &A);
	free(o);
	assert_int_equal(arrive(v, &ca, &ab), 0);
	hold(v, "United States", PL_DIR_IN, &ab);
	json_t *j;
	assert_int_equal(pl_plan_show(v, pid, &j, NULL, &e), 0);
	assert_string_equal(json_string_value(json_object_get(j, "status")), "running");
	json_t *a0 = json_array_get(json_object_get(j, "aborts"), 0);
	assert_true(json_is_false(json_object_get(a0, "counts")));
	assert_string_equal(json_string_value(json_object_get(
				json_array_get(json_object_get(j, "steps"), 1), "state")),
			    "done");
	json_decref(j);
	/* and our own abort is refused */
	assert_int_not_equal(pl_plan_abort_plan(v, pid, "no", id, &e), 0);
	assert_non_null(strstr(e.msg, "point of no return"));
	free(ab.o);
	free_run();
	B = saved;
	pl_vault_close(v);
	pl_test_rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_loader_doha),	     cmocka_unit_test(test_loader_rejects),
	    cmocka_unit_test(test_codec_round_trip), cmocka_unit_test(test_codec_flips),
	    cmocka_unit_test(test_codec_domain),     cmocka_unit_test(test_codec_rejects),
	    cmocka_unit_test(test_state_full_run),   cmocka_unit_test(test_state_order_independent),
	    cmocka_unit_test(test_state_refuses),    cmocka_unit_test(test_state_abort),
	    cmocka_unit_test(test_state_deadline),   cmocka_unit_test(test_execution_record),
	    cmocka_unit_test(test_receiver),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
