/*
 * execution.c — the execution record and the view of a plan's state (see
 * execution.h).
 *
 * It must never report a file valid unless every signature in it verified,
 * every attestation's order is proved by objects in the file, and the file
 * is exactly what parley writes for them.
 */
#include "export/execution.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "export/json.h"
#include "util/codec.h"

#define NOT_EXEC "not a valid execution record: "

void pl_exec_state_free(pl_exec_state *s)
{
	if (s == NULL)
		return;
	free(s->plan);
	free(s->objs);
	free(s->h);
	free(s->verdict);
	free(s->proposal);
	free(s->acceptance);
	memset(s, 0, sizeof *s);
}

/* --- the view ----------------------------------------------------------------- */

static const char *role_name(const pl_exec_view *v, int r)
{
	return v && r >= 1 && r <= 3 ? v->names[r - 1] : NULL;
}

static json_t *who_json(const pl_exec_state *s, const pl_exec_view *v, int r)
{
	json_t *j = json_object();
	json_object_set_new(j, "role", json_string(pl_plan_role_str(r)));
	if (role_name(v, r))
		json_object_set_new(j, "name", json_string(role_name(v, r)));
	char fp[PL_FINGERPRINT_LEN];
	const uint8_t *k = pl_plan_role_key(s->plan, r);
	pl_fingerprint(fp, k);
	json_object_set_new(j, "fingerprint", json_string(fp));
	json_object_set_new(j, "key", pl_json_hex(k, PL_IK_LEN));
	return j;
}

/* The common fields of one object: who, ids, times. */
static json_t *obj_json(const pl_exec_state *s, const pl_exec_view *v, size_t i)
{
	const pl_planobj *o = &s->objs[i];
	int r = pl_plan_role_of(s->plan, o->author_ik);
	json_t *j = json_object();
	char hex[17];
	pl_hex_encode(hex, o->id, PL_PLAN_ID_LEN);
	json_object_set_new(j, "id", json_string(hex));
	json_object_set_new(j, "by", json_string(pl_plan_role_str(r)));
	if (role_name(v, r))
		json_object_set_new(j, "name", json_string(role_name(v, r)));
	json_object_set_new(j, "signed_at", pl_json_shown_time(o->created));
	if (v && v->logged && v->logged[i])
		json_object_set_new(j, "logged_at", pl_json_shown_time(v->logged[i]));
	return j;
}

json_t *pl_exec_state_json(const pl_exec_state *s, const pl_exec_view *v)
{
	const pl_plan_body *b = &s->plan->u.plan;
	const pl_plan_eval *ev = &s->ev;
	json_t *j = json_object();
	char hex[17];
	pl_hex_encode(hex, s->plan->id, PL_PLAN_ID_LEN);
	json_object_set_new(j, "plan", json_string(hex));
	json_object_set_new(j, "plan_hash", pl_json_hex(s->plan_hash, PL_PLAN_HASH_LEN));
	json_object_set_new(j, "title", json_string(b->title));
	json_object_set_new(j, "status", json_string(pl_plan_status_str(ev->status)));
	json_object_set_new(j, "signed_at", pl_json_shown_time(s->plan->created));
	if (v && v->plan_logged)
		json_object_set_new(j, "logged_at", pl_json_shown_time(v->plan_logged));
	pl_hex_encode(hex, b->proposal_id, PL_PLAN_ID_LEN);
	json_object_set_new(
	    j, "agreement",
	    json_pack("{s:s, s:o, s:o, s:b}", "proposal", hex, "proposal_hash",
		      pl_json_hex(b->proposal_hash, PL_PLAN_HASH_LEN), "acceptance_hash",
		      pl_json_hex(b->acceptance_hash, PL_PLAN_HASH_LEN), "held", s->has_agreement));
	json_t *parts = json_array();
	for (int r = PL_ROLE_A; r <= PL_ROLE_M; r++)
		json_array_append_new(parts, who_json(s, v, r));
	json_object_set_new(j, "participants", parts);
	json_t *acc = json_array();
	for (int r = 0; r < 2; r++)
		if (ev->accept[r] >= 0)
			json_array_append_new(acc, obj_json(s, v, (size_t)ev->accept[r]));
	json_object_set_new(j, "accepted_by", acc);
	json_t *nr = json_array();
	for (unsigned i = 0; i < b->n_steps; i++)
		if (b->steps[i].no_return)
			json_array_append_new(nr, json_string(b->steps[i].id));
	json_object_set_new(j, "no_return_steps", nr);
	json_object_set_new(j, "no_return_passed", json_boolean(ev->no_return));
	json_object_set_new(j, "abort_possible",
			    json_boolean(!ev->no_return && ev->status != PL_PLAN_ABORTED &&
					 ev->status != PL_PLAN_COMPLETED));
	json_t *steps = json_array();
	for (unsigned i = 0; i < b->n_steps; i++) {
		const pl_plan_step *st = &b->steps[i];
		const pl_step_eval *se = &ev->steps[i];
		json_t *js = json_object();
		json_object_set_new(js, "id", json_string(st->id));
		json_object_set_new(js, "title", json_string(st->title));
		json_object_set_new(js, "state", json_string(pl_plan_step_state_str(se->state)));
		json_object_set_new(js, "late", json_boolean(se->late));
		json_object_set_new(js, "performer", json_string(pl_plan_role_str(st->performer)));
		json_t *cf = json_array();
		for (int r = PL_ROLE_A; r <= PL_ROLE_M; r++)
			if (st->confirmers & PL_ROLE_BIT(r))
				json_array_append_new(cf, json_string(pl_plan_role_str(r)));
		json_object_set_new(js, "confirmers", cf);
		json_object_set_new(js, "deadline", pl_json_shown_time(st->deadline));
		json_t *w = json_array();
		for (unsigned k = 0; k < st->n_waits; k++)
			json_array_append_new(w, json_string(b->steps[st->waits[k]].id));
		json_object_set_new(js, "waits_for", w);
		json_object_set_new(js, "no_return", json_boolean(st->no_return));
		json_t *att = json_array();
		int slots[4] = {se->done, se->confirm[0], se->confirm[1], se->confirm[2]};
		for (int k = 0; k < 4; k++) {
			if (slots[k] < 0)
				continue;
			json_t *a = obj_json(s, v, (size_t)slots[k]);
			const pl_plan_attest *t = &s->objs[slots[k]].u.attest;
			json_object_set_new(
			    a, "kind", json_string(t->kind == PL_ATTEST_DONE ? "done" : "confirm"));
			if (t->text[0])
				json_object_set_new(a, "text", json_string(t->text));
			json_array_append_new(att, a);
		}
		json_object_set_new(js, "attestations", att);
		json_array_append_new(steps, js);
	}
	json_object_set_new(j, "steps", steps);
	json_t *ab = json_array();
	size_t unanchored = 0;
	for (size_t i = 0; i < s->n; i++) {
		if (s->verdict[i] == PL_V_UNANCHORED)
			unanchored++;
		if (s->objs[i].type != PL_PLAN_OBJ_ABORT ||
		    (s->verdict[i] != PL_V_COUNTED && s->verdict[i] != PL_V_ABORT_REFUSED))
			continue;
		json_t *a = obj_json(s, v, i);
		json_object_set_new(a, "reason", json_string(s->objs[i].u.abort.reason));
		json_object_set_new(a, "counts", json_boolean(s->verdict[i] == PL_V_COUNTED));
		if (s->verdict[i] == PL_V_ABORT_REFUSED)
			json_object_set_new(a, "refused",
					    json_string("after the point of no return"));
		json_array_append_new(ab, a);
	}
	json_object_set_new(j, "aborts", ab);
	json_object_set_new(j, "waiting_for_earlier", json_integer((json_int_t)unanchored));
	return j;
}

static void who_text(FILE *out, const pl_exec_state *s, const pl_exec_view *v, int r)
{
	const char *n = role_name(v, r);
	if (n)
		fprintf(out, "%s (%s)", n, pl_plan_role_str(r));
	else
		fprintf(out, "%s", pl_plan_role_str(r));
	(void)s;
}

static void times_text(FILE *out, const pl_exec_state *s, const pl_exec_view *v, size_t i)
{
	char t[PL_EXPORT_TIME_BUF];
	pl_export_fmt_time(t, s->objs[i].created);
	fprintf(out, "signed %s", t);
	if (v && v->logged && v->logged[i]) {
		pl_export_fmt_time(t, v->logged[i]);
		fprintf(out, ", logged %s", t);
	}
}

void pl_exec_state_print(FILE *out, const pl_exec_state *s, const pl_exec_view *v)
{
	const pl_plan_body *b = &s->plan->u.plan;
	const pl_plan_eval *ev = &s->ev;
	char hex[17], t[PL_EXPORT_TIME_BUF], fp[PL_FINGERPRINT_LEN];
	pl_hex_encode(hex, s->plan->id, PL_PLAN_ID_LEN);
	fprintf(out, "plan %s: %s\n  status: %s\n", hex, b->title, pl_plan_status_str(ev->status));
	for (int r = PL_ROLE_M; r >= PL_ROLE_A; r--) {
		pl_fingerprint(fp, pl_plan_role_key(s->plan, r));
		fprintf(out, "  %s: ",
			r == PL_ROLE_M	 ? "mediator"
			: r == PL_ROLE_A ? "proposer"
					 : "accepter");
		who_text(out, s, v, r);
		fprintf(out, ", fingerprint %s\n", fp);
	}
	pl_hex_encode(hex, b->proposal_id, PL_PLAN_ID_LEN);
	fprintf(out, "  carries out the agreement on proposal %s%s\n", hex,
		s->has_agreement ? " (held and checked)" : " (named by hash)");
	for (int r = 0; r < 2; r++) {
		fprintf(out, "  accepted by ");
		who_text(out, s, v, r + 1);
		if (ev->accept[r] >= 0) {
			fprintf(out, ": ");
			times_text(out, s, v, (size_t)ev->accept[r]);
			fputc('\n', out);
		} else {
			fprintf(out, ": not yet\n");
		}
	}
	fprintf(out, "  point of no return:");
	int any = 0;
	for (unsigned i = 0; i < b->n_steps; i++)
		if (b->steps[i].no_return) {
			fprintf(out, "%s %s", any ? "," : "", b->steps[i].id);
			any = 1;
		}
	fprintf(out, "%s; %s\n", any ? "" : " none",
		ev->no_return ? "passed, no abort counts any more"
			      : "not passed, any participant may abort");
	for (unsigned i = 0; i < b->n_steps; i++) {
		const pl_plan_step *st = &b->steps[i];
		const pl_step_eval *se = &ev->steps[i];
		pl_export_fmt_time(t, st->deadline);
		fprintf(out, "  %u. %s [%s%s] %s\n     performer ", i + 1, st->id,
			pl_plan_step_state_str(se->state),
			se->late && se->state != PL_STEP_LATE ? ", late" : "", st->title);
		who_text(out, s, v, st->performer);
		fprintf(out, "; confirmers");
		for (int r = PL_ROLE_A; r <= PL_ROLE_M; r++)
			if (st->confirmers & PL_ROLE_BIT(r)) {
				fputc(' ', out);
				who_text(out, s, v, r);
			}
		fprintf(out, "; deadline %s", t);
		if (st->n_waits) {
			fprintf(out, "; waits for");
			for (unsigned k = 0; k < st->n_waits; k++)
				fprintf(out, " %s", b->steps[st->waits[k]].id);
		}
		fprintf(out, "%s\n", st->no_return ? "; point of no return" : "");
		int slots[4] = {se->done, se->confirm[0], se->confirm[1], se->confirm[2]};
		for (int k = 0; k < 4; k++) {
			if (slots[k] < 0)
				continue;
			const pl_plan_attest *a = &s->objs[slots[k]].u.attest;
			fprintf(out, "     %s by ",
				a->kind == PL_ATTEST_DONE ? "done" : "confirmed");
			who_text(out, s, v, pl_plan_role_of(s->plan, s->objs[slots[k]].author_ik));
			fprintf(out, ": ");
			times_text(out, s, v, (size_t)slots[k]);
			if (a->text[0])
				fprintf(out, ": %s", a->text);
			fputc('\n', out);
		}
	}
	size_t unanchored = 0;
	for (size_t i = 0; i < s->n; i++) {
		if (s->verdict[i] == PL_V_UNANCHORED)
			unanchored++;
		if (s->objs[i].type != PL_PLAN_OBJ_ABORT ||
		    (s->verdict[i] != PL_V_COUNTED && s->verdict[i] != PL_V_ABORT_REFUSED))
			continue;
		fprintf(out, "  abort by ");
		who_text(out, s, v, pl_plan_role_of(s->plan, s->objs[i].author_ik));
		fprintf(out, "%s: ",
			s->verdict[i] == PL_V_COUNTED ? ""
						      : " (refused: after the point of no return)");
		times_text(out, s, v, i);
		fprintf(out, ": %s\n", s->objs[i].u.abort.reason);
	}
	if (unanchored)
		fprintf(out,
			"  %zu attestation(s) held wait for earlier ones this vault does not hold "
			"yet; they do not count until those arrive (parley sync)\n",
			unanchored);
	if (v && v->logged)
		fprintf(out,
			"  times: \"signed\" is the signer's own clock; \"logged\" is the relay "
			"log's time of the deposit, where this vault holds the receipt\n");
	else
		fprintf(out,
			"  times: \"signed\" is the signer's own clock, proved by nobody else\n");
}

/* --- the file ------------------------------------------------------------------ */

typedef struct {
	const uint8_t *p;
	size_t n;
	uint8_t h[PL_PLAN_HASH_LEN];
} blob;

static int blob_cmp(const void *a, const void *b)
{
	return memcmp(((const blob *)a)->h, ((const blob *)b)->h, PL_PLAN_HASH_LEN);
}

int pl_execution_write(json_t **out, const uint8_t *plan, size_t plan_len,
		       const uint8_t *const *objs, const size_t *lens, size_t n_objs,
		       const uint8_t *proposal, size_t proposal_len, const uint8_t *acceptance,
		       size_t acceptance_len, pl_err *e)
{
	if (n_objs > PL_EXECUTION_OBJS_MAX)
		return pl_err_set(e, PL_EXIT_INPUT,
				  "a plan of more than %d objects cannot be exported",
				  PL_EXECUTION_OBJS_MAX);
	blob *bs = calloc(n_objs ? n_objs : 1, sizeof *bs);
	if (bs == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	for (size_t i = 0; i < n_objs; i++) {
		bs[i].p = objs[i];
		bs[i].n = lens[i];
		pl_plan_hash(bs[i].h, objs[i], lens[i]);
	}
	qsort(bs, n_objs, sizeof *bs, blob_cmp);
	json_t *j = json_object(), *arr = json_array();
	int bad = j == NULL || arr == NULL;
	bad |= pl_json_set(j, "format", json_string(PL_EXECUTION_FORMAT));
	bad |= pl_json_set(j, "version", json_integer(PL_EXPORT_VERSION));
	bad |= pl_json_set(j, "plan", pl_json_b64(plan, plan_len));
	for (size_t i = 0; i < n_objs && !bad; i++) {
		if (i > 0 && memcmp(bs[i].h, bs[i - 1].h, PL_PLAN_HASH_LEN) == 0)
			continue; /* the same object twice is once */
		json_t *b = pl_json_b64(bs[i].p, bs[i].n);
		bad |= b == NULL || json_array_append_new(arr, b) != 0;
	}
	bad |= pl_json_set(j, "objects", arr);
	if (proposal && acceptance && !bad)
		bad |= pl_json_set(j, "agreement",
				   json_pack("{s:o, s:o}", "proposal",
					     pl_json_b64(proposal, proposal_len), "acceptance",
					     pl_json_b64(acceptance, acceptance_len)));
	free(bs);
	if (bad) {
		json_decref(j);
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	}
	*out = j;
	return 0;
}

/* The agreement's two objects: each verifies, and they are the agreement
 * the plan names, between its parties, naming its author as mediator. */
static int agreement_check(pl_exec_state *s, const uint8_t *pp, size_t pn, const uint8_t *ap,
			   size_t an, pl_err *e)
{
	const pl_plan_body *b = &s->plan->u.plan;
	uint8_t h[PL_PLAN_HASH_LEN];
	s->proposal = calloc(1, sizeof *s->proposal);
	s->acceptance = calloc(1, sizeof *s->acceptance);
	if (s->proposal == NULL || s->acceptance == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	pl_err oe;
	if (pl_obj_decode_signed(s->proposal, pp, pn, &oe) != 0 ||
	    pl_obj_decode_signed(s->acceptance, ap, an, &oe) != 0)
		return pl_err_set(e, oe.code, NOT_EXEC "its agreement: %s", oe.msg);
	const pl_obj *p = s->proposal, *a = s->acceptance;
	pl_plan_hash(h, pp, pn);
	if (p->type != PL_OBJ_PROPOSAL || memcmp(p->id, b->proposal_id, PL_PLAN_ID_LEN) != 0 ||
	    sodium_memcmp(h, b->proposal_hash, PL_PLAN_HASH_LEN) != 0)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  NOT_EXEC "its proposal is not the one the plan names");
	if (a->type != PL_OBJ_RESPONSE || a->u.response.kind != PL_RESP_ACCEPT ||
	    memcmp(a->u.response.target_id, p->id, PL_OBJ_ID_LEN) != 0 ||
	    sodium_memcmp(a->u.response.target_hash, h, PL_PLAN_HASH_LEN) != 0)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  NOT_EXEC "its acceptance does not accept its proposal");
	pl_plan_hash(h, ap, an);
	if (sodium_memcmp(h, b->acceptance_hash, PL_PLAN_HASH_LEN) != 0)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  NOT_EXEC "its acceptance is not the one the plan names");
	if (sodium_memcmp(p->author_ik, b->a_ik, PL_IK_LEN) != 0 ||
	    sodium_memcmp(a->author_ik, b->b_ik, PL_IK_LEN) != 0 ||
	    sodium_memcmp(a->author_ik, p->recipient_ik, PL_IK_LEN) != 0)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  NOT_EXEC "the agreement's parties are not the plan's");
	if (!p->u.proposal.has_mediator ||
	    sodium_memcmp(p->u.proposal.mediator_ik, s->plan->author_ik, PL_IK_LEN) != 0)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  NOT_EXEC "the agreement does not name the plan's author as its "
					   "mediator");
	s->has_agreement = 1;
	return 0;
}

int pl_execution_verify(pl_exec_state *s, const uint8_t *file, size_t n, uint64_t now,
			const uint8_t (*expect)[PL_IK_LEN], size_t n_expect, pl_err *e)
{
	static const char *const keys[] = {"format", "version", "plan", "objects", "agreement"};
	static const char *const akeys[] = {"proposal", "acceptance"};
	memset(s, 0, sizeof *s);
	uint8_t *pb = NULL, *ag[2] = {NULL, NULL};
	uint8_t **ob = NULL;
	size_t pn = 0, agn[2] = {0, 0}, *on = NULL, cnt = 0;
	json_t *canon = NULL;
	int rc = -1;
	json_t *root = pl_json_load(file, n, NOT_EXEC, e);
	if (root == NULL)
		return -1;
	json_t *jag = json_object_get(root, "agreement");
	if (pl_json_exact_keys(root, keys, jag ? 5 : 4, NOT_EXEC, "the file", e) != 0 ||
	    pl_json_header_check(root, PL_EXECUTION_FORMAT, PL_EXPORT_VERSION, NOT_EXEC, e) != 0)
		goto out;
	s->plan = calloc(1, sizeof *s->plan);
	if (s->plan == NULL) {
		pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		goto out;
	}
	if (pl_json_b64_var(&pb, &pn, PL_PLAN_SIGNED_MAX, json_object_get(root, "plan")) != 0) {
		pl_err_set(e, PL_EXIT_INPUT, NOT_EXEC "\"plan\" is not canonical base64");
		goto out;
	}
	pl_err oe;
	if (pl_plan_decode_signed(s->plan, pb, pn, &oe) != 0) {
		pl_err_set(e, oe.code, NOT_EXEC "its plan: %s", oe.msg);
		goto out;
	}
	if (s->plan->type != PL_PLAN_OBJ_PLAN) {
		pl_err_set(e, PL_EXIT_INPUT, NOT_EXEC "its \"plan\" is %s, not a plan",
			   pl_plan_type_str(s->plan->type));
		goto out;
	}
	pl_plan_hash(s->plan_hash, pb, pn);
	json_t *arr = json_object_get(root, "objects");
	if (!json_is_array(arr) || json_array_size(arr) > PL_EXECUTION_OBJS_MAX) {
		pl_err_set(e, PL_EXIT_INPUT, NOT_EXEC "\"objects\" is not a list of at most %d",
			   PL_EXECUTION_OBJS_MAX);
		goto out;
	}
	cnt = json_array_size(arr);
	size_t m = cnt ? cnt : 1;
	s->objs = calloc(m, sizeof *s->objs);
	s->h = calloc(m, sizeof *s->h);
	s->verdict = calloc(m, 1);
	ob = calloc(m, sizeof *ob);
	on = calloc(m, sizeof *on);
	if (s->objs == NULL || s->h == NULL || s->verdict == NULL || ob == NULL || on == NULL) {
		pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		goto out;
	}
	for (size_t i = 0; i < cnt; i++) {
		if (pl_json_b64_var(&ob[i], &on[i], PL_PLAN_SIGNED_MAX, json_array_get(arr, i)) !=
		    0) {
			pl_err_set(e, PL_EXIT_INPUT, NOT_EXEC "object %zu is not canonical base64",
				   i + 1);
			goto out;
		}
		s->n = i + 1;
		if (pl_plan_decode_signed(&s->objs[i], ob[i], on[i], &oe) != 0) {
			pl_err_set(e, oe.code, NOT_EXEC "object %zu: %s", i + 1, oe.msg);
			goto out;
		}
		pl_plan_hash(s->h[i], ob[i], on[i]);
		if (i > 0 && memcmp(s->h[i - 1], s->h[i], PL_PLAN_HASH_LEN) >= 0) {
			pl_err_set(e, PL_EXIT_INPUT,
				   NOT_EXEC
				   "object %zu is out of order (sorted by hash, each once)",
				   i + 1);
			goto out;
		}
		if (pl_plan_obj_fits(s->plan, s->plan_hash, &s->objs[i], &oe) != 0) {
			pl_err_set(e, oe.code, NOT_EXEC "object %zu: %s", i + 1, oe.msg);
			goto out;
		}
	}
	if (jag) {
		if (!json_is_object(jag) ||
		    pl_json_exact_keys(jag, akeys, 2, NOT_EXEC, "\"agreement\"", e) != 0) {
			if (!json_is_object(jag))
				pl_err_set(e, PL_EXIT_INPUT,
					   NOT_EXEC "\"agreement\" is not an object");
			goto out;
		}
		for (int k = 0; k < 2; k++)
			if (pl_json_b64_var(&ag[k], &agn[k], PL_OBJ_SIGNED_MAX,
					    json_object_get(jag, akeys[k])) != 0) {
				pl_err_set(e, PL_EXIT_INPUT,
					   NOT_EXEC "the agreement's %s is not canonical base64",
					   akeys[k]);
				goto out;
			}
		if (agreement_check(s, ag[0], agn[0], ag[1], agn[1], e) != 0)
			goto out;
	}
	pl_plan_evaluate(&s->ev, s->plan, s->plan_hash, s->objs, (const uint8_t(*)[32])s->h, s->n,
			 now, s->verdict);
	for (size_t i = 0; i < s->n; i++) {
		if (s->verdict[i] == PL_V_UNANCHORED || s->verdict[i] == PL_V_INVALID) {
			const pl_planobj *o = &s->objs[i];
			pl_err_set(
			    e, PL_EXIT_SECURITY, NOT_EXEC "object %zu (%s of step %s) %s", i + 1,
			    pl_plan_type_str(o->type), s->plan->u.plan.steps[o->u.attest.step].id,
			    s->verdict[i] == PL_V_UNANCHORED
				? "rests on objects not in the file: its order is not proved"
				: "rests on objects that are not what it needs: out of order");
			goto out;
		}
	}
	if (pl_execution_write(&canon, pb, pn, (const uint8_t *const *)ob, on, s->n, ag[0], agn[0],
			       ag[1], agn[1], e) != 0 ||
	    pl_json_same_bytes(canon, file, n, NOT_EXEC, e) != 0)
		goto out;
	uint8_t signers[3][PL_IK_LEN];
	for (int r = 0; r < 3; r++)
		memcpy(signers[r], pl_plan_role_key(s->plan, r + 1), PL_IK_LEN);
	if (pl_export_expect_check(expect, n_expect, (const uint8_t(*)[PL_IK_LEN])signers, 3,
				   "execution record", e) != 0)
		goto out;
	rc = 0;
out:
	json_decref(canon);
	json_decref(root);
	free(pb);
	for (size_t i = 0; ob && i < cnt; i++)
		free(ob[i]);
	free(ob);
	free(on);
	free(ag[0]);
	free(ag[1]);
	if (rc != 0)
		pl_exec_state_free(s);
	return rc;
}
