/*
 * plan.c — execution plans (see plan.h): codec, signature, the plan file
 * loader and the state function.
 *
 * It must never hand out an object whose signature it has not checked
 * (pl_plan_decode_signed is the door), never sign bytes it would refuse,
 * and never let the order objects arrive in change a plan's state.
 */
#include "negotiation/plan.h"

#include <jansson.h>
#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "negotiation/object.h"
#include "util/codec.h"
#include "util/text.h"

#define TAG_LEN (sizeof PL_PLAN_SIG_TAG - 1)
#define UNSIGNED_MAX (PL_PLAN_SIGNED_MAX - PL_SIG_LEN)
#define WHY_MAX 200

static int is_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;
	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

static int why_set(char *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int why_set(char *why, const char *fmt, ...)
{
	if (why[0] == '\0') {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(why, WHY_MAX, fmt, ap);
		va_end(ap);
	}
	return -1;
}

const char *pl_plan_type_str(int t)
{
	switch (t) {
	case PL_PLAN_OBJ_PLAN:
		return "plan";
	case PL_PLAN_OBJ_ACCEPT:
		return "acceptance";
	case PL_PLAN_OBJ_ATTEST:
		return "attestation";
	case PL_PLAN_OBJ_ABORT:
		return "abort";
	default:
		return NULL;
	}
}

const char *pl_plan_role_str(int r)
{
	return r == PL_ROLE_A ? "a" : r == PL_ROLE_B ? "b" : r == PL_ROLE_M ? "mediator" : NULL;
}

static int step_id_ok(const char *s)
{
	size_t n = strlen(s);
	if (n < 1 || n > PL_PLAN_STEP_ID_MAX || s[0] == '-' || s[0] == '_')
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return -1;
	}
	return 0;
}

static unsigned popcount3(unsigned m)
{
	return (m & 1) + ((m >> 1) & 1) + ((m >> 2) & 1);
}

/* The checks shared by encode and decode. */
static int obj_check(const pl_planobj *o, char *why)
{
	if (o->version != PL_PLAN_VERSION)
		return why_set(why, "version %u is not %d", o->version, PL_PLAN_VERSION);
	if (pl_plan_type_str(o->type) == NULL)
		return why_set(why, "unknown type %u", o->type);
	if (is_zero(o->id, PL_PLAN_ID_LEN))
		return why_set(why, "its id is zero");
	if (pl_ik_validate(o->author_ik) != 0)
		return why_set(why, "the author key is not a valid public key");
	if (o->created > PL_PLAN_TIME_MAX)
		return why_set(why, "its time is after the year 9999");
	const pl_plan_ref *ref = NULL;
	switch (o->type) {
	case PL_PLAN_OBJ_PLAN: {
		const pl_plan_body *b = &o->u.plan;
		if (is_zero(b->proposal_id, PL_PLAN_ID_LEN) ||
		    is_zero(b->proposal_hash, PL_PLAN_HASH_LEN) ||
		    is_zero(b->acceptance_hash, PL_PLAN_HASH_LEN))
			return why_set(why, "it names no agreement");
		if (pl_ik_validate(b->a_ik) != 0 || pl_ik_validate(b->b_ik) != 0)
			return why_set(why, "a party key is not a valid public key");
		if (sodium_memcmp(b->a_ik, b->b_ik, PL_IK_LEN) == 0 ||
		    sodium_memcmp(b->a_ik, o->author_ik, PL_IK_LEN) == 0 ||
		    sodium_memcmp(b->b_ik, o->author_ik, PL_IK_LEN) == 0)
			return why_set(why, "the two parties and the mediator are not three keys");
		if (pl_obj_text_ok(b->title, 1, PL_PLAN_TITLE_MAX, 0) != 0)
			return why_set(why, "the title must be 1 to %d bytes of one-line text",
				       PL_PLAN_TITLE_MAX);
		if (b->n_steps < 1 || b->n_steps > PL_PLAN_STEPS_MAX)
			return why_set(why, "%u steps (1 to %d)", b->n_steps, PL_PLAN_STEPS_MAX);
		for (unsigned i = 0; i < b->n_steps; i++) {
			const pl_plan_step *s = &b->steps[i];
			if (step_id_ok(s->id) != 0)
				return why_set(why, "step %u: its id is not 1 to %d of a-z 0-9 - _",
					       i + 1, PL_PLAN_STEP_ID_MAX);
			for (unsigned j = 0; j < i; j++)
				if (strcmp(b->steps[j].id, s->id) == 0)
					return why_set(why, "step %u: id %s twice", i + 1, s->id);
			if (pl_obj_text_ok(s->title, 1, PL_PLAN_TITLE_MAX, 0) != 0)
				return why_set(why, "step %s: bad title", s->id);
			if (s->performer < PL_ROLE_A || s->performer > PL_ROLE_M)
				return why_set(why, "step %s: bad performer", s->id);
			if (s->confirmers == 0 || s->confirmers > 7 ||
			    (s->confirmers & PL_ROLE_BIT(s->performer)))
				return why_set(why, "step %s: bad confirmers", s->id);
			if (s->deadline == 0 || s->deadline > PL_PLAN_TIME_MAX)
				return why_set(why, "step %s: bad deadline", s->id);
			if (s->no_return > 1)
				return why_set(why, "step %s: bad no-return flag", s->id);
			if (s->n_waits > PL_PLAN_WAITS_MAX)
				return why_set(why, "step %s: waits for too many", s->id);
			for (unsigned k = 0; k < s->n_waits; k++)
				if (s->waits[k] >= i || (k > 0 && s->waits[k] <= s->waits[k - 1]))
					return why_set(why, "step %s: waits out of order", s->id);
		}
		return 0;
	}
	case PL_PLAN_OBJ_ACCEPT:
		ref = &o->u.accept;
		break;
	case PL_PLAN_OBJ_ATTEST: {
		const pl_plan_attest *t = &o->u.attest;
		ref = &t->plan;
		if (t->step >= PL_PLAN_STEPS_MAX)
			return why_set(why, "step %u is out of range", t->step);
		if (t->kind != PL_ATTEST_DONE && t->kind != PL_ATTEST_CONFIRM)
			return why_set(why, "unknown attestation kind %u", t->kind);
		if (pl_obj_text_ok(t->text, 0, PL_PLAN_TEXT_MAX, 1) != 0)
			return why_set(why, "the text must be at most %d bytes of text",
				       PL_PLAN_TEXT_MAX);
		if (t->n_rests > PL_PLAN_RESTS_MAX ||
		    (t->kind == PL_ATTEST_CONFIRM ? t->n_rests != 1 : t->n_rests < 2))
			return why_set(why, "it rests on %u attestations", t->n_rests);
		for (unsigned i = 0; i < t->n_rests; i++) {
			if (is_zero(t->rests[i], PL_PLAN_HASH_LEN))
				return why_set(why, "it rests on a zero hash");
			for (unsigned j = 0; j < i; j++)
				if (memcmp(t->rests[i], t->rests[j], PL_PLAN_HASH_LEN) == 0)
					return why_set(why, "it rests on one object twice");
		}
		break;
	}
	case PL_PLAN_OBJ_ABORT:
		ref = &o->u.abort.plan;
		if (pl_obj_text_ok(o->u.abort.reason, 1, PL_PLAN_TEXT_MAX, 1) != 0)
			return why_set(why, "the reason must be 1 to %d bytes of text",
				       PL_PLAN_TEXT_MAX);
		break;
	}
	if (is_zero(ref->plan_id, PL_PLAN_ID_LEN) || is_zero(ref->plan_hash, PL_PLAN_HASH_LEN))
		return why_set(why, "it names no plan");
	return 0;
}

static void wr_str(pl_wr *w, const char *s)
{
	pl_wr_var(w, (const uint8_t *)s, strlen(s));
}

static void wr_ref(pl_wr *w, const pl_plan_ref *r)
{
	pl_wr_bytes(w, r->plan_id, PL_PLAN_ID_LEN);
	pl_wr_bytes(w, r->plan_hash, PL_PLAN_HASH_LEN);
}

int pl_plan_encode(pl_wr *w, const pl_planobj *o, pl_err *e)
{
	char why[WHY_MAX] = "";
	if (obj_check(o, why) != 0)
		return pl_err_set(e, PL_EXIT_INPUT, "invalid plan object: %s", why);
	pl_wr t;
	pl_wr_init(&t);
	pl_wr_u8(&t, o->version);
	pl_wr_u8(&t, o->type);
	pl_wr_bytes(&t, o->id, PL_PLAN_ID_LEN);
	pl_wr_bytes(&t, o->author_ik, PL_IK_LEN);
	pl_wr_u64(&t, o->created);
	switch (o->type) {
	case PL_PLAN_OBJ_PLAN: {
		const pl_plan_body *b = &o->u.plan;
		pl_wr_bytes(&t, b->proposal_id, PL_PLAN_ID_LEN);
		pl_wr_bytes(&t, b->proposal_hash, PL_PLAN_HASH_LEN);
		pl_wr_bytes(&t, b->acceptance_hash, PL_PLAN_HASH_LEN);
		pl_wr_bytes(&t, b->a_ik, PL_IK_LEN);
		pl_wr_bytes(&t, b->b_ik, PL_IK_LEN);
		wr_str(&t, b->title);
		pl_wr_u8(&t, b->n_steps);
		for (unsigned i = 0; i < b->n_steps; i++) {
			const pl_plan_step *s = &b->steps[i];
			wr_str(&t, s->id);
			wr_str(&t, s->title);
			pl_wr_u8(&t, s->performer);
			pl_wr_u8(&t, s->confirmers);
			pl_wr_u64(&t, s->deadline);
			pl_wr_u8(&t, s->no_return);
			pl_wr_u8(&t, s->n_waits);
			pl_wr_bytes(&t, s->waits, s->n_waits);
		}
		break;
	}
	case PL_PLAN_OBJ_ACCEPT:
		wr_ref(&t, &o->u.accept);
		break;
	case PL_PLAN_OBJ_ATTEST: {
		const pl_plan_attest *a = &o->u.attest;
		wr_ref(&t, &a->plan);
		pl_wr_u8(&t, a->step);
		pl_wr_u8(&t, a->kind);
		wr_str(&t, a->text);
		pl_wr_u8(&t, a->n_rests);
		for (unsigned i = 0; i < a->n_rests; i++)
			pl_wr_bytes(&t, a->rests[i], PL_PLAN_HASH_LEN);
		break;
	}
	case PL_PLAN_OBJ_ABORT:
		wr_ref(&t, &o->u.abort.plan);
		wr_str(&t, o->u.abort.reason);
		break;
	}
	int rc = 0;
	if (pl_wr_ok(&t) != 0)
		rc = pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	else if (t.n > UNSIGNED_MAX)
		rc = pl_err_set(e, PL_EXIT_INPUT, "the plan object is too large (%zu bytes)", t.n);
	else
		pl_wr_bytes(w, t.p, t.n);
	pl_wr_free(&t);
	return rc;
}

static size_t sig_msg(uint8_t *msg, const uint8_t *p, size_t n)
{
	memcpy(msg, PL_PLAN_SIG_TAG, TAG_LEN);
	memcpy(msg + TAG_LEN, p, n);
	return TAG_LEN + n;
}

int pl_plan_sign(pl_wr *signed_out, pl_planobj *o, const pl_identity *author, pl_err *e)
{
	uint8_t saved[PL_IK_LEN];
	memcpy(saved, o->author_ik, PL_IK_LEN);
	memcpy(o->author_ik, author->pk, PL_IK_LEN);
	pl_wr t;
	pl_wr_init(&t);
	uint8_t *msg = NULL;
	int rc = -1;
	if (pl_plan_encode(&t, o, e) != 0)
		goto out;
	msg = malloc(TAG_LEN + t.n);
	if (msg == NULL) {
		pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		goto out;
	}
	size_t mlen = sig_msg(msg, t.p, t.n);
	crypto_sign_detached(o->sig, NULL, msg, mlen, author->sk);
	pl_wr_bytes(signed_out, t.p, t.n);
	pl_wr_bytes(signed_out, o->sig, PL_SIG_LEN);
	if (pl_wr_ok(signed_out) != 0) {
		pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		goto out;
	}
	rc = 0;
out:
	if (rc != 0)
		memcpy(o->author_ik, saved, PL_IK_LEN);
	free(msg);
	pl_wr_free(&t);
	return rc;
}

/* A var string into a buffer of max + 1 bytes: text of min..max bytes. */
static void rd_str(pl_rd *r, char *out, size_t min, size_t max, int ml, char *why, const char *what)
{
	size_t n;
	const uint8_t *p = pl_rd_var(r, max, &n);
	out[0] = '\0';
	if (p == NULL)
		return;
	if (pl_text_ok(p, n, min, max, ml) != 0 || memchr(p, 0, n) != NULL) {
		why_set(why, "%s is not %zu to %zu bytes of text", what, min, max);
		pl_rd_fail(r);
		return;
	}
	memcpy(out, p, n);
	out[n] = '\0';
}

static void rd_ref(pl_rd *r, pl_plan_ref *ref)
{
	pl_rd_copy(r, ref->plan_id, PL_PLAN_ID_LEN);
	pl_rd_copy(r, ref->plan_hash, PL_PLAN_HASH_LEN);
}

int pl_plan_parse(pl_planobj *o, const uint8_t *p, size_t n, pl_err *e)
{
	char why[WHY_MAX] = "";
	pl_rd r;
	memset(o, 0, sizeof *o);
	if (p == NULL || n > UNSIGNED_MAX)
		return pl_err_set(e, PL_EXIT_INPUT, "malformed plan object: %zu bytes", n);
	pl_rd_init(&r, p, n);
	o->version = pl_rd_u8(&r);
	o->type = pl_rd_u8(&r);
	pl_rd_copy(&r, o->id, PL_PLAN_ID_LEN);
	pl_rd_copy(&r, o->author_ik, PL_IK_LEN);
	o->created = pl_rd_u64(&r);
	if (o->version != PL_PLAN_VERSION || pl_plan_type_str(o->type) == NULL)
		pl_rd_fail(&r);
	switch (r.err ? 0 : o->type) {
	case PL_PLAN_OBJ_PLAN: {
		pl_plan_body *b = &o->u.plan;
		pl_rd_copy(&r, b->proposal_id, PL_PLAN_ID_LEN);
		pl_rd_copy(&r, b->proposal_hash, PL_PLAN_HASH_LEN);
		pl_rd_copy(&r, b->acceptance_hash, PL_PLAN_HASH_LEN);
		pl_rd_copy(&r, b->a_ik, PL_IK_LEN);
		pl_rd_copy(&r, b->b_ik, PL_IK_LEN);
		rd_str(&r, b->title, 1, PL_PLAN_TITLE_MAX, 0, why, "the title");
		b->n_steps = pl_rd_u8(&r);
		if (b->n_steps > PL_PLAN_STEPS_MAX)
			pl_rd_fail(&r);
		for (unsigned i = 0; i < b->n_steps && !r.err; i++) {
			pl_plan_step *s = &b->steps[i];
			rd_str(&r, s->id, 1, PL_PLAN_STEP_ID_MAX, 0, why, "a step id");
			rd_str(&r, s->title, 1, PL_PLAN_TITLE_MAX, 0, why, "a step title");
			s->performer = pl_rd_u8(&r);
			s->confirmers = pl_rd_u8(&r);
			s->deadline = pl_rd_u64(&r);
			s->no_return = pl_rd_u8(&r);
			s->n_waits = pl_rd_u8(&r);
			if (s->n_waits > PL_PLAN_WAITS_MAX) {
				pl_rd_fail(&r);
				break;
			}
			pl_rd_copy(&r, s->waits, s->n_waits);
		}
		break;
	}
	case PL_PLAN_OBJ_ACCEPT:
		rd_ref(&r, &o->u.accept);
		break;
	case PL_PLAN_OBJ_ATTEST: {
		pl_plan_attest *a = &o->u.attest;
		rd_ref(&r, &a->plan);
		a->step = pl_rd_u8(&r);
		a->kind = pl_rd_u8(&r);
		rd_str(&r, a->text, 0, PL_PLAN_TEXT_MAX, 1, why, "the text");
		a->n_rests = pl_rd_u8(&r);
		if (a->n_rests > PL_PLAN_RESTS_MAX) {
			pl_rd_fail(&r);
			break;
		}
		for (unsigned i = 0; i < a->n_rests; i++)
			pl_rd_copy(&r, a->rests[i], PL_PLAN_HASH_LEN);
		break;
	}
	case PL_PLAN_OBJ_ABORT:
		rd_ref(&r, &o->u.abort.plan);
		rd_str(&r, o->u.abort.reason, 1, PL_PLAN_TEXT_MAX, 1, why, "the reason");
		break;
	default:
		break;
	}
	if (pl_rd_done(&r) != 0) {
		if (why[0] == '\0')
			snprintf(why, sizeof why, "%s",
				 r.err ? "it is truncated or has a bad field"
				       : "trailing bytes after the object");
		memset(o, 0, sizeof *o);
		return pl_err_set(e, PL_EXIT_INPUT, "malformed plan object: %s", why);
	}
	if (obj_check(o, why) != 0) {
		memset(o, 0, sizeof *o);
		return pl_err_set(e, PL_EXIT_INPUT, "malformed plan object: %s", why);
	}
	return 0;
}

int pl_plan_decode_signed(pl_planobj *o, const uint8_t *p, size_t n, pl_err *e)
{
	if (p == NULL || n < PL_SIG_LEN || n > PL_PLAN_SIGNED_MAX) {
		memset(o, 0, sizeof *o);
		return pl_err_set(e, PL_EXIT_INPUT,
				  "malformed plan object: %zu bytes is not a possible length", n);
	}
	if (pl_plan_parse(o, p, n - PL_SIG_LEN, e) != 0)
		return -1;
	memcpy(o->sig, p + n - PL_SIG_LEN, PL_SIG_LEN);
	uint8_t *msg = malloc(TAG_LEN + n);
	if (msg == NULL) {
		memset(o, 0, sizeof *o);
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	}
	size_t mlen = sig_msg(msg, p, n - PL_SIG_LEN);
	int rc = crypto_sign_verify_detached(o->sig, msg, mlen, o->author_ik);
	free(msg);
	if (rc != 0) {
		const char *tn = pl_plan_type_str(o->type);
		memset(o, 0, sizeof *o);
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "the %s's signature does not verify under its author's key", tn);
	}
	return 0;
}

void pl_plan_obj_init(pl_planobj *o, pl_plan_obj_type type)
{
	memset(o, 0, sizeof *o);
	o->version = PL_PLAN_VERSION;
	o->type = (uint8_t)type;
	do
		randombytes_buf(o->id, PL_PLAN_ID_LEN);
	while (is_zero(o->id, PL_PLAN_ID_LEN));
	o->created = pl_now();
}

void pl_plan_hash(uint8_t out[static PL_PLAN_HASH_LEN], const uint8_t *p, size_t n)
{
	crypto_hash_sha256(out, p, n);
}

int pl_plan_role_of(const pl_planobj *plan, const uint8_t ik[static PL_IK_LEN])
{
	if (sodium_memcmp(ik, plan->u.plan.a_ik, PL_IK_LEN) == 0)
		return PL_ROLE_A;
	if (sodium_memcmp(ik, plan->u.plan.b_ik, PL_IK_LEN) == 0)
		return PL_ROLE_B;
	if (sodium_memcmp(ik, plan->author_ik, PL_IK_LEN) == 0)
		return PL_ROLE_M;
	return 0;
}

const uint8_t *pl_plan_role_key(const pl_planobj *plan, int r)
{
	return r == PL_ROLE_A	? plan->u.plan.a_ik
	       : r == PL_ROLE_B ? plan->u.plan.b_ik
				: plan->author_ik;
}

int pl_plan_step_index(const pl_plan_body *b, const char *id)
{
	for (int i = 0; i < b->n_steps; i++)
		if (strcmp(b->steps[i].id, id) == 0)
			return i;
	return -1;
}

/* --- the plan file ----------------------------------------------------------- */

static int role_from(const char *s, const char *a_name, const char *b_name)
{
	if (strcmp(s, "a") == 0 || strcmp(s, "proposer") == 0 || (a_name && strcmp(s, a_name) == 0))
		return PL_ROLE_A;
	if (strcmp(s, "b") == 0 || strcmp(s, "accepter") == 0 || strcmp(s, "acceptor") == 0 ||
	    (b_name && strcmp(s, b_name) == 0))
		return PL_ROLE_B;
	if (strcmp(s, "mediator") == 0)
		return PL_ROLE_M;
	return 0;
}

static int json_keys_only(const json_t *o, const char *const *keys, size_t n, char *bad, size_t cap)
{
	const char *k;
	json_t *v;
	json_object_foreach((json_t *)o, k, v)
	{
		size_t i = 0;
		while (i < n && strcmp(keys[i], k) != 0)
			i++;
		if (i < n)
			continue;
		snprintf(bad, cap, "%.40s", k);
		for (char *c = bad; *c; c++)
			if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
				*c = '?';
		return -1;
	}
	return 0;
}

/* "step N (\"id\")" for errors. */
static void step_name(char *out, size_t cap, unsigned i, const char *id)
{
	if (id && id[0])
		snprintf(out, cap, "step %u (\"%s\")", i + 1, id);
	else
		snprintf(out, cap, "step %u", i + 1);
}

int pl_plan_load_json(pl_plan_body *b, const char *text, size_t n, const char *a_name,
		      const char *b_name, pl_err *e)
{
	static const char *const top_keys[] = {"title", "steps"};
	static const char *const step_keys[] = {"id",	    "title",	 "performer", "confirmers",
						"deadline", "waits_for", "no_return"};
	json_error_t je;
	char bad[48], sn[64];
	int rc = -1;
	memset(b, 0, sizeof *b);
	json_t *root = json_loadb(text, n, JSON_REJECT_DUPLICATES, &je);
	if (root == NULL) {
		/* jansson quotes the file near the error: printable ASCII only */
		for (char *c = je.text; *c; c++)
			if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
				*c = '?';
		return pl_err_set(e, PL_EXIT_INPUT,
				  "the plan file is not valid JSON (line %d: %.80s); fix it and "
				  "try again",
				  je.line, je.text);
	}
	/* names of waits_for, resolved once every id is known */
	const json_t *waits[PL_PLAN_STEPS_MAX] = {0};
	if (!json_is_object(root)) {
		pl_err_set(e, PL_EXIT_INPUT,
			   "the plan file must be a JSON object with title and steps");
		goto out;
	}
	if (json_keys_only(root, top_keys, 2, bad, sizeof bad) != 0) {
		pl_err_set(e, PL_EXIT_INPUT,
			   "the plan file has an unknown key \"%s\" (known: title, steps)", bad);
		goto out;
	}
	const char *title = json_string_value(json_object_get(root, "title"));
	if (title == NULL || pl_obj_text_ok(title, 1, PL_PLAN_TITLE_MAX, 0) != 0) {
		pl_err_set(e, PL_EXIT_INPUT,
			   "the plan file's \"title\" must be one line of 1 to %d bytes",
			   PL_PLAN_TITLE_MAX);
		goto out;
	}
	snprintf(b->title, sizeof b->title, "%s", title);
	json_t *steps = json_object_get(root, "steps");
	if (!json_is_array(steps) || json_array_size(steps) < 1 ||
	    json_array_size(steps) > PL_PLAN_STEPS_MAX) {
		pl_err_set(e, PL_EXIT_INPUT,
			   "the plan file's \"steps\" must be a list of 1 to %d steps",
			   PL_PLAN_STEPS_MAX);
		goto out;
	}
	b->n_steps = (uint8_t)json_array_size(steps);
	for (unsigned i = 0; i < b->n_steps; i++) {
		json_t *js = json_array_get(steps, i);
		pl_plan_step *s = &b->steps[i];
		const char *id =
		    json_is_object(js) ? json_string_value(json_object_get(js, "id")) : NULL;
		step_name(sn, sizeof sn, i, id && step_id_ok(id) == 0 ? id : NULL);
		if (!json_is_object(js)) {
			pl_err_set(e, PL_EXIT_INPUT, "%s is not a JSON object", sn);
			goto out;
		}
		if (json_keys_only(js, step_keys, 7, bad, sizeof bad) != 0) {
			pl_err_set(e, PL_EXIT_INPUT,
				   "%s has an unknown key \"%s\" (known: id, title, performer, "
				   "confirmers, deadline, waits_for, no_return)",
				   sn, bad);
			goto out;
		}
		if (id == NULL || step_id_ok(id) != 0) {
			pl_err_set(e, PL_EXIT_INPUT,
				   "%s: \"id\" must be 1 to %d of a-z, 0-9, - and _ (not first)",
				   sn, PL_PLAN_STEP_ID_MAX);
			goto out;
		}
		snprintf(s->id, sizeof s->id, "%s", id);
		for (unsigned j = 0; j < i; j++)
			if (strcmp(b->steps[j].id, id) == 0) {
				pl_err_set(e, PL_EXIT_INPUT,
					   "%s: the id \"%s\" is also step %u's; give each step "
					   "its own id",
					   sn, id, j + 1);
				goto out;
			}
		const char *t = json_string_value(json_object_get(js, "title"));
		if (t == NULL || pl_obj_text_ok(t, 1, PL_PLAN_TITLE_MAX, 0) != 0) {
			pl_err_set(e, PL_EXIT_INPUT,
				   "%s: \"title\" must be one line of 1 to %d bytes", sn,
				   PL_PLAN_TITLE_MAX);
			goto out;
		}
		snprintf(s->title, sizeof s->title, "%s", t);
		const char *perf = json_string_value(json_object_get(js, "performer"));
		int pr = perf ? role_from(perf, a_name, b_name) : 0;
		if (pr == 0) {
			pl_err_set(e, PL_EXIT_INPUT,
				   "%s: \"performer\" must be \"a\" (the proposer), \"b\" (the "
				   "accepter), \"mediator\" or a party's name",
				   sn);
			goto out;
		}
		s->performer = (uint8_t)pr;
		json_t *cf = json_object_get(js, "confirmers");
		if (!json_is_array(cf) || json_array_size(cf) < 1 || json_array_size(cf) > 2) {
			pl_err_set(e, PL_EXIT_INPUT,
				   "%s: \"confirmers\" must be a list of one or two participants "
				   "other than the performer",
				   sn);
			goto out;
		}
		for (size_t k = 0; k < json_array_size(cf); k++) {
			const char *c = json_string_value(json_array_get(cf, k));
			int r = c ? role_from(c, a_name, b_name) : 0;
			if (r == 0 || r == pr || (s->confirmers & PL_ROLE_BIT(r))) {
				pl_err_set(e, PL_EXIT_INPUT,
					   "%s: confirmer %zu is %s; name \"a\", \"b\" or "
					   "\"mediator\" once each, not the performer",
					   sn, k + 1,
					   r == 0    ? "unknown"
					   : r == pr ? "the performer"
						     : "named twice");
				goto out;
			}
			s->confirmers |= (uint8_t)PL_ROLE_BIT(r);
		}
		const char *dl = json_string_value(json_object_get(js, "deadline"));
		if (dl == NULL || pl_time_parse_rfc3339(&s->deadline, dl) != 0 ||
		    s->deadline == 0 || s->deadline > PL_PLAN_TIME_MAX) {
			pl_err_set(e, PL_EXIT_INPUT,
				   "%s: \"deadline\" must be an RFC 3339 UTC time such as "
				   "2023-09-18T12:00:00Z",
				   sn);
			goto out;
		}
		json_t *nr = json_object_get(js, "no_return");
		if (nr != NULL && !json_is_boolean(nr)) {
			pl_err_set(e, PL_EXIT_INPUT, "%s: \"no_return\" must be true or false", sn);
			goto out;
		}
		s->no_return = json_is_true(nr) ? 1 : 0;
		json_t *w = json_object_get(js, "waits_for");
		if (w != NULL && (!json_is_array(w) || json_array_size(w) > PL_PLAN_WAITS_MAX)) {
			pl_err_set(e, PL_EXIT_INPUT,
				   "%s: \"waits_for\" must be a list of at most %d step ids", sn,
				   PL_PLAN_WAITS_MAX);
			goto out;
		}
		waits[i] = w;
	}
	/* references: known ids, no cycle, then only earlier steps */
	uint8_t idx[PL_PLAN_STEPS_MAX][PL_PLAN_WAITS_MAX];
	uint8_t nw[PL_PLAN_STEPS_MAX] = {0};
	for (unsigned i = 0; i < b->n_steps; i++) {
		step_name(sn, sizeof sn, i, b->steps[i].id);
		for (size_t k = 0; waits[i] && k < json_array_size(waits[i]); k++) {
			const char *r = json_string_value(json_array_get(waits[i], k));
			int j = r ? pl_plan_step_index(b, r) : -1;
			if (j < 0) {
				char safe[48];
				snprintf(safe, sizeof safe, "%.40s", r ? r : "(not a string)");
				for (char *c = safe; *c; c++)
					if ((unsigned char)*c < 0x20 || (unsigned char)*c >= 0x7f)
						*c = '?';
				pl_err_set(e, PL_EXIT_INPUT,
					   "%s waits for \"%s\", which is no step of this plan", sn,
					   safe);
				goto out;
			}
			for (unsigned q = 0; q < nw[i]; q++)
				if (idx[i][q] == j) {
					pl_err_set(e, PL_EXIT_INPUT, "%s waits for \"%s\" twice",
						   sn, r);
					goto out;
				}
			idx[i][nw[i]++] = (uint8_t)j;
		}
	}
	/* a cycle: depth-first, colours 0 new, 1 on the path, 2 done */
	uint8_t colour[PL_PLAN_STEPS_MAX] = {0}, stack[PL_PLAN_STEPS_MAX], pos[PL_PLAN_STEPS_MAX];
	for (unsigned root_i = 0; root_i < b->n_steps; root_i++) {
		if (colour[root_i])
			continue;
		int top = 0;
		stack[0] = (uint8_t)root_i;
		pos[0] = 0;
		colour[root_i] = 1;
		while (top >= 0) {
			unsigned u = stack[top];
			if (pos[top] < nw[u]) {
				unsigned v = idx[u][pos[top]++];
				if (colour[v] == 1) {
					step_name(sn, sizeof sn, v, b->steps[v].id);
					pl_err_set(
					    e, PL_EXIT_INPUT,
					    "%s is in a cycle of waits_for (it waits, in turn, "
					    "for itself); remove one of the waits",
					    sn);
					goto out;
				}
				if (colour[v] == 0) {
					colour[v] = 1;
					stack[++top] = (uint8_t)v;
					pos[top] = 0;
				}
			} else {
				colour[u] = 2;
				top--;
			}
		}
	}
	for (unsigned i = 0; i < b->n_steps; i++) {
		pl_plan_step *s = &b->steps[i];
		step_name(sn, sizeof sn, i, s->id);
		for (unsigned k = 0; k < nw[i]; k++)
			if (idx[i][k] > i) {
				pl_err_set(
				    e, PL_EXIT_INPUT,
				    "%s waits for \"%s\", listed after it; list the steps in "
				    "an order they can happen in",
				    sn, b->steps[idx[i][k]].id);
				goto out;
			}
		/* canonical: increasing */
		for (unsigned k = 0; k < nw[i]; k++)
			for (unsigned q = k + 1; q < nw[i]; q++)
				if (idx[i][q] < idx[i][k]) {
					uint8_t t = idx[i][k];
					idx[i][k] = idx[i][q];
					idx[i][q] = t;
				}
		s->n_waits = nw[i];
		memcpy(s->waits, idx[i], nw[i]);
	}
	rc = 0;
out:
	json_decref(root);
	if (rc != 0)
		memset(b, 0, sizeof *b);
	return rc;
}

/* --- the state function ------------------------------------------------------ */

const char *pl_plan_step_state_str(int s)
{
	static const char *const n[] = {NULL,	     "waiting", "ready",  "done",
					"confirmed", "late",	"aborted"};
	return s >= 1 && s <= 6 ? n[s] : NULL;
}

const char *pl_plan_status_str(int s)
{
	static const char *const n[] = {NULL, "proposed", "running", "completed", "aborted"};
	return s >= 1 && s <= 4 ? n[s] : NULL;
}

static unsigned rests_needed(const pl_plan_body *b, int step, int kind)
{
	if (kind == PL_ATTEST_CONFIRM)
		return 1;
	unsigned n = 2;
	const pl_plan_step *s = &b->steps[step];
	for (unsigned k = 0; k < s->n_waits; k++)
		n += popcount3(b->steps[s->waits[k]].confirmers);
	return n;
}

int pl_plan_obj_fits(const pl_planobj *plan, const uint8_t plan_hash[static PL_PLAN_HASH_LEN],
		     const pl_planobj *o, pl_err *e)
{
	const pl_plan_body *b = &plan->u.plan;
	const pl_plan_ref *ref = o->type == PL_PLAN_OBJ_ACCEPT	 ? &o->u.accept
				 : o->type == PL_PLAN_OBJ_ATTEST ? &o->u.attest.plan
				 : o->type == PL_PLAN_OBJ_ABORT	 ? &o->u.abort.plan
								 : NULL;
	if (ref == NULL)
		return pl_err_set(e, PL_EXIT_SECURITY, "a plan cannot be part of another plan");
	if (memcmp(ref->plan_id, plan->id, PL_PLAN_ID_LEN) != 0 ||
	    sodium_memcmp(ref->plan_hash, plan_hash, PL_PLAN_HASH_LEN) != 0)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "the %s names another plan, or other bytes of this one",
				  pl_plan_type_str(o->type));
	int role = pl_plan_role_of(plan, o->author_ik);
	if (role == 0)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "the %s is signed by a key that is not one of the plan's three",
				  pl_plan_type_str(o->type));
	if (o->type == PL_PLAN_OBJ_ACCEPT && role == PL_ROLE_M)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "the mediator wrote the plan; only the two parties accept it");
	if (o->type != PL_PLAN_OBJ_ATTEST)
		return 0;
	const pl_plan_attest *t = &o->u.attest;
	if (t->step >= b->n_steps)
		return pl_err_set(e, PL_EXIT_SECURITY, "the attestation names step %u of %u",
				  t->step + 1, b->n_steps);
	const pl_plan_step *s = &b->steps[t->step];
	if (t->kind == PL_ATTEST_DONE && role != s->performer)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "step %s is attested done by %s, not by its performer (%s)",
				  s->id, pl_plan_role_str(role), pl_plan_role_str(s->performer));
	if (t->kind == PL_ATTEST_CONFIRM && !(s->confirmers & PL_ROLE_BIT(role)))
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "step %s is confirmed by %s, who is not one of its confirmers",
				  s->id, pl_plan_role_str(role));
	if (t->n_rests != rests_needed(b, t->step, t->kind))
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "the attestation of step %s rests on %u objects, not the %u its "
				  "place in the plan needs",
				  s->id, t->n_rests, rests_needed(b, t->step, t->kind));
	return 0;
}

/* 1 iff (created, hash) of i is before j's: the tie-break. */
static int before(const pl_planobj *objs, const uint8_t (*h)[PL_PLAN_HASH_LEN], size_t i, size_t j)
{
	if (objs[i].created != objs[j].created)
		return objs[i].created < objs[j].created;
	return memcmp(h[i], h[j], PL_PLAN_HASH_LEN) < 0;
}

#define V_BUSY 200

typedef struct {
	const pl_planobj *plan;
	const pl_planobj *objs;
	const uint8_t (*h)[PL_PLAN_HASH_LEN];
	size_t n;
	uint8_t *v;
} evalctx;

static long find_hash(const evalctx *c, const uint8_t *hash)
{
	for (size_t i = 0; i < c->n; i++)
		if (memcmp(c->h[i], hash, PL_PLAN_HASH_LEN) == 0)
			return (long)i;
	return -1;
}

static uint8_t eval_attest(evalctx *c, size_t i);

/* What reference k of attestation t must be: type, step, kind, role. */
static void expected(const pl_plan_body *b, const pl_plan_attest *t, unsigned k, int *type,
		     int *step, int *kind, int *role)
{
	*type = PL_PLAN_OBJ_ATTEST;
	if (t->kind == PL_ATTEST_CONFIRM) {
		*step = t->step;
		*kind = PL_ATTEST_DONE;
		*role = b->steps[t->step].performer;
		return;
	}
	if (k < 2) {
		*type = PL_PLAN_OBJ_ACCEPT;
		*role = k == 0 ? PL_ROLE_A : PL_ROLE_B;
		*step = *kind = 0;
		return;
	}
	unsigned at = 2;
	const pl_plan_step *s = &b->steps[t->step];
	for (unsigned w = 0; w < s->n_waits; w++) {
		const pl_plan_step *ws = &b->steps[s->waits[w]];
		for (int r = PL_ROLE_A; r <= PL_ROLE_M; r++) {
			if (!(ws->confirmers & PL_ROLE_BIT(r)))
				continue;
			if (at++ == k) {
				*step = s->waits[w];
				*kind = PL_ATTEST_CONFIRM;
				*role = r;
				return;
			}
		}
	}
	*step = *kind = *role = -1;
}

static uint8_t eval_attest(evalctx *c, size_t i)
{
	if (c->v[i] == V_BUSY)
		return PL_V_INVALID; /* a loop of hashes cannot happen; refuse it anyway */
	if (c->v[i] != 0)
		return c->v[i];
	c->v[i] = V_BUSY;
	const pl_plan_attest *t = &c->objs[i].u.attest;
	const pl_plan_body *b = &c->plan->u.plan;
	uint8_t res = PL_V_COUNTED;
	for (unsigned k = 0; k < t->n_rests && res != PL_V_INVALID; k++) {
		int type, step, kind, role;
		expected(b, t, k, &type, &step, &kind, &role);
		long j = find_hash(c, t->rests[k]);
		if (j < 0) {
			res = PL_V_UNANCHORED;
			continue;
		}
		const pl_planobj *o = &c->objs[j];
		if (o->type != type || pl_plan_role_of(c->plan, o->author_ik) != role ||
		    (type == PL_PLAN_OBJ_ATTEST &&
		     (o->u.attest.step != step || o->u.attest.kind != kind))) {
			res = PL_V_INVALID;
			break;
		}
		uint8_t rv = type == PL_PLAN_OBJ_ATTEST ? eval_attest(c, (size_t)j) : c->v[j];
		if (rv == PL_V_INVALID || rv == V_BUSY)
			res = PL_V_INVALID;
		else if (rv == PL_V_UNANCHORED)
			res = PL_V_UNANCHORED;
	}
	c->v[i] = res;
	return res;
}

void pl_plan_evaluate(pl_plan_eval *ev, const pl_planobj *plan,
		      const uint8_t plan_hash[static PL_PLAN_HASH_LEN], const pl_planobj *objs,
		      const uint8_t (*hashes)[PL_PLAN_HASH_LEN], size_t n, uint64_t now,
		      uint8_t *verdict)
{
	const pl_plan_body *b = &plan->u.plan;
	memset(ev, 0, sizeof *ev);
	ev->accept[0] = ev->accept[1] = ev->abort = -1;
	for (int s = 0; s < PL_PLAN_STEPS_MAX; s++) {
		ev->steps[s].done = -1;
		for (int r = 0; r < 3; r++)
			ev->steps[s].confirm[r] = -1;
	}
	for (size_t i = 0; i < n; i++)
		verdict[i] =
		    pl_plan_obj_fits(plan, plan_hash, &objs[i], NULL) == 0 ? 0 : PL_V_INVALID;
	/* acceptances: the earliest of each party counts */
	for (size_t i = 0; i < n; i++) {
		if (verdict[i] != 0 || objs[i].type != PL_PLAN_OBJ_ACCEPT)
			continue;
		int r = pl_plan_role_of(plan, objs[i].author_ik) - 1;
		verdict[i] = PL_V_COUNTED;
		if (ev->accept[r] < 0 || before(objs, hashes, i, (size_t)ev->accept[r]))
			ev->accept[r] = (int)i;
	}
	for (int r = 0; r < 2; r++)
		for (size_t i = 0; i < n; i++)
			if (objs[i].type == PL_PLAN_OBJ_ACCEPT && verdict[i] == PL_V_COUNTED &&
			    pl_plan_role_of(plan, objs[i].author_ik) - 1 == r &&
			    (int)i != ev->accept[r])
				verdict[i] = PL_V_DUPLICATE;
	/* attestations: in order iff what they rest on is */
	evalctx c = {plan, objs, hashes, n, verdict};
	for (size_t i = 0; i < n; i++)
		if (verdict[i] == 0 && objs[i].type == PL_PLAN_OBJ_ATTEST)
			eval_attest(&c, i);
	/* the one that counts per step, kind and role: the earliest */
	for (size_t i = 0; i < n; i++) {
		if (objs[i].type != PL_PLAN_OBJ_ATTEST || verdict[i] != PL_V_COUNTED)
			continue;
		const pl_plan_attest *t = &objs[i].u.attest;
		pl_step_eval *se = &ev->steps[t->step];
		int *slot = t->kind == PL_ATTEST_DONE
				? &se->done
				: &se->confirm[pl_plan_role_of(plan, objs[i].author_ik) - 1];
		if (*slot < 0 || before(objs, hashes, i, (size_t)*slot))
			*slot = (int)i;
		if (t->kind == PL_ATTEST_DONE && b->steps[t->step].no_return)
			ev->no_return = 1;
	}
	for (size_t i = 0; i < n; i++) {
		if (objs[i].type != PL_PLAN_OBJ_ATTEST || verdict[i] != PL_V_COUNTED)
			continue;
		const pl_plan_attest *t = &objs[i].u.attest;
		const pl_step_eval *se = &ev->steps[t->step];
		int slot = t->kind == PL_ATTEST_DONE
			       ? se->done
			       : se->confirm[pl_plan_role_of(plan, objs[i].author_ik) - 1];
		if (slot != (int)i)
			verdict[i] = PL_V_DUPLICATE;
	}
	/* aborts: none counts once a no-return step is done */
	for (size_t i = 0; i < n; i++) {
		if (verdict[i] != 0 || objs[i].type != PL_PLAN_OBJ_ABORT)
			continue;
		verdict[i] = ev->no_return ? PL_V_ABORT_REFUSED : PL_V_COUNTED;
		if (!ev->no_return && (ev->abort < 0 || before(objs, hashes, i, (size_t)ev->abort)))
			ev->abort = (int)i;
	}
	int all = 1;
	for (unsigned s = 0; s < b->n_steps; s++) {
		pl_step_eval *se = &ev->steps[s];
		const pl_plan_step *st = &b->steps[s];
		int confirmed = 1;
		uint64_t last = 0;
		for (int r = PL_ROLE_A; r <= PL_ROLE_M; r++) {
			if (!(st->confirmers & PL_ROLE_BIT(r)))
				continue;
			if (se->confirm[r - 1] < 0)
				confirmed = 0;
			else if (objs[se->confirm[r - 1]].created > last)
				last = objs[se->confirm[r - 1]].created;
		}
		int ready = ev->accept[0] >= 0 && ev->accept[1] >= 0;
		for (unsigned k = 0; k < st->n_waits; k++)
			if (ev->steps[st->waits[k]].state != PL_STEP_CONFIRMED)
				ready = 0;
		if (confirmed) {
			se->state = PL_STEP_CONFIRMED;
			se->late = last > st->deadline;
		} else {
			all = 0;
			se->late = now > st->deadline;
			se->state = ev->abort >= 0  ? PL_STEP_ABORTED
				    : se->late	    ? PL_STEP_LATE
				    : se->done >= 0 ? PL_STEP_DONE
				    : ready	    ? PL_STEP_READY
						    : PL_STEP_WAITING;
		}
	}
	ev->status = ev->abort >= 0				? PL_PLAN_ABORTED
		     : all					? PL_PLAN_COMPLETED
		     : ev->accept[0] >= 0 && ev->accept[1] >= 0 ? PL_PLAN_RUNNING
								: PL_PLAN_PROPOSED;
	for (size_t i = 0; i < n; i++)
		if (verdict[i] == PL_V_COUNTED)
			ev->counted++;
}

int pl_plan_rests_for(const pl_plan_eval *ev, const pl_planobj *plan, int step, int kind,
		      const uint8_t (*hashes)[PL_PLAN_HASH_LEN],
		      uint8_t rests[PL_PLAN_RESTS_MAX][PL_PLAN_HASH_LEN], uint8_t *n, pl_err *e)
{
	const pl_plan_body *b = &plan->u.plan;
	const pl_plan_step *s = &b->steps[step];
	*n = 0;
	if (kind == PL_ATTEST_CONFIRM) {
		if (ev->steps[step].done < 0)
			return pl_err_set(e, PL_EXIT_REFUSED,
					  "step %s is not attested done yet; nothing to confirm",
					  s->id);
		memcpy(rests[(*n)++], hashes[ev->steps[step].done], PL_PLAN_HASH_LEN);
		return 0;
	}
	for (int r = 0; r < 2; r++) {
		if (ev->accept[r] < 0)
			return pl_err_set(
			    e, PL_EXIT_REFUSED,
			    "the plan has not been accepted by %s yet; nothing starts "
			    "before both parties accept it",
			    r == 0 ? "a (the proposer)" : "b (the accepter)");
		memcpy(rests[(*n)++], hashes[ev->accept[r]], PL_PLAN_HASH_LEN);
	}
	for (unsigned w = 0; w < s->n_waits; w++) {
		const pl_step_eval *we = &ev->steps[s->waits[w]];
		const pl_plan_step *ws = &b->steps[s->waits[w]];
		for (int r = PL_ROLE_A; r <= PL_ROLE_M; r++) {
			if (!(ws->confirmers & PL_ROLE_BIT(r)))
				continue;
			if (we->confirm[r - 1] < 0)
				return pl_err_set(e, PL_EXIT_REFUSED,
						  "step %s waits for step %s, not yet confirmed by "
						  "%s; attest the steps in order",
						  s->id, ws->id, pl_plan_role_str(r));
			memcpy(rests[(*n)++], hashes[we->confirm[r - 1]], PL_PLAN_HASH_LEN);
		}
	}
	return 0;
}
