/*
 * fuzz_plan.c — libFuzzer target for execution plans (src/negotiation/plan.c,
 * src/export/execution.c). Each input is tried as:
 *
 *   - unsigned plan object bytes (pl_plan_parse): whatever it accepts must
 *     re-encode to exactly the input, and re-signed under a fixed key must
 *     decode back to the same bytes (encode refuses nothing decode accepts);
 *     an accepted plan is evaluated with no objects, an accepted other
 *     object is evaluated against a fixed plan;
 *   - signed bytes (pl_plan_decode_signed);
 *   - a plan file (pl_plan_load_json): whatever it loads must encode;
 *   - an execution record (pl_execution_verify).
 *
 * Must never crash, leak or read out of bounds.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "export/execution.h"
#include "negotiation/plan.h"

static pl_identity signer, pa, pb;
static pl_planobj o, d, fixed;
static uint8_t fixed_hash[32];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const uint8_t s1[crypto_sign_SEEDBYTES] = {42}, s2[crypto_sign_SEEDBYTES] = {43},
			     s3[crypto_sign_SEEDBYTES] = {44};
	(void)argc;
	(void)argv;
	if (sodium_init() < 0 || crypto_sign_seed_keypair(signer.pk, signer.sk, s1) != 0 ||
	    crypto_sign_seed_keypair(pa.pk, pa.sk, s2) != 0 ||
	    crypto_sign_seed_keypair(pb.pk, pb.sk, s3) != 0)
		abort();
	/* a fixed two-step plan the objects are evaluated against */
	pl_plan_obj_init(&fixed, PL_PLAN_OBJ_PLAN);
	memset(fixed.id, 7, sizeof fixed.id);
	memset(fixed.u.plan.proposal_id, 1, 8);
	memset(fixed.u.plan.proposal_hash, 2, 32);
	memset(fixed.u.plan.acceptance_hash, 3, 32);
	memcpy(fixed.u.plan.a_ik, pa.pk, 32);
	memcpy(fixed.u.plan.b_ik, pb.pk, 32);
	strcpy(fixed.u.plan.title, "fuzz");
	fixed.u.plan.n_steps = 2;
	for (int i = 0; i < 2; i++) {
		pl_plan_step *s = &fixed.u.plan.steps[i];
		strcpy(s->id, i ? "b" : "a");
		strcpy(s->title, "t");
		s->performer = PL_ROLE_M;
		s->confirmers = PL_ROLE_BIT(PL_ROLE_A) | PL_ROLE_BIT(PL_ROLE_B);
		s->deadline = 2000000000;
		s->no_return = (uint8_t)i;
		s->n_waits = (uint8_t)i;
		s->waits[0] = 0;
	}
	pl_wr w;
	pl_wr_init(&w);
	if (pl_plan_sign(&w, &fixed, &signer, NULL) != 0)
		abort();
	pl_plan_hash(fixed_hash, w.p, w.n);
	pl_wr_free(&w);
	return 0;
}

static void same(const pl_wr *w, const uint8_t *p, size_t n)
{
	if (pl_wr_ok(w) != 0 || w->n != n || memcmp(w->p, p, n) != 0)
		abort();
}

static void unsigned_input(const uint8_t *data, size_t size)
{
	pl_wr w;
	if (pl_plan_parse(&o, data, size, NULL) != 0)
		return;
	pl_wr_init(&w);
	if (pl_plan_encode(&w, &o, NULL) != 0)
		abort();
	same(&w, data, size);
	pl_wr_free(&w);
	pl_wr_init(&w);
	if (pl_plan_sign(&w, &o, &signer, NULL) != 0 ||
	    pl_plan_decode_signed(&d, w.p, w.n, NULL) != 0)
		abort();
	pl_wr_free(&w);
	static pl_plan_eval ev;
	uint8_t h[32] = {0}, v = 0;
	if (o.type == PL_PLAN_OBJ_PLAN)
		pl_plan_evaluate(&ev, &o, h, NULL, NULL, 0, 1900000000, &v);
	else
		pl_plan_evaluate(&ev, &fixed, fixed_hash, &o, (const uint8_t(*)[32])h, 1,
				 1900000000, &v);
}

static void signed_input(const uint8_t *data, size_t size)
{
	pl_wr w;
	if (pl_plan_decode_signed(&o, data, size, NULL) != 0)
		return;
	pl_wr_init(&w);
	if (pl_plan_encode(&w, &o, NULL) != 0)
		abort();
	pl_wr_bytes(&w, o.sig, PL_SIG_LEN);
	same(&w, data, size);
	pl_wr_free(&w);
}

static void plan_file(const uint8_t *data, size_t size)
{
	static pl_plan_body b;
	if (pl_plan_load_json(&b, (const char *)data, size, "United States", "Iran", NULL) != 0)
		return;
	o = fixed;
	o.u.plan = b;
	memcpy(o.u.plan.a_ik, pa.pk, 32);
	memcpy(o.u.plan.b_ik, pb.pk, 32);
	memset(o.u.plan.proposal_id, 1, 8);
	memset(o.u.plan.proposal_hash, 2, 32);
	memset(o.u.plan.acceptance_hash, 3, 32);
	pl_wr w;
	pl_wr_init(&w);
	if (pl_plan_encode(&w, &o, NULL) != 0)
		abort();
	pl_wr_free(&w);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned_input(data, size);
	signed_input(data, size);
	plan_file(data, size);
	pl_exec_state s;
	if (pl_execution_verify(&s, data, size, 1900000000, NULL, 0, NULL) == 0)
		pl_exec_state_free(&s);
	return 0;
}
