/*
 * plan.c — execution plans in the vault (see plan.h). Every plan object is
 * an item of kind PL_KIND_PLAN whose body is its exact signed bytes and
 * whose id is its object id: one outgoing item per recipient for ours, one
 * incoming item for each received. Nothing else is stored: the state is
 * computed each time from the objects held.
 *
 * What it must never do: sign a move the state does not allow, store a
 * received object that does not verify under its sender's pinned key or
 * that names a plan, step or order other than the ones it must, or send a
 * plan object to anyone but the plan's participants.
 */
#include "client/plan.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/guarantee.h"
#include "client/logq.h"
#include "envelope/envelope.h"
#include "export/agreement.h"
#include "export/json.h"
#include "log/receipt.h"
#include "negotiation/agreed.h"
#include "negotiation/object.h"
#include "util/codec.h"
#include "util/file.h"

#define PLAN_ITEMS_MAX PL_EXECUTION_OBJS_MAX

/* What a vault holds of one plan. */
typedef struct {
	pl_exec_state st;
	pl_wr plan_bytes;
	pl_wr *bytes; /* per object */
	uint64_t *logged;
	uint64_t plan_logged;
	size_t cap;
	pl_wr prop, acc; /* the agreement's signed objects, when held */
	char names[3][PL_NAME_MAX + 1];
	int named[3];
	int me; /* this vault's role, 0 if none */
} held;

static void held_free(held *h)
{
	for (size_t i = 0; i < h->st.n; i++)
		pl_wr_free(&h->bytes[i]);
	free(h->bytes);
	free(h->logged);
	pl_wr_free(&h->plan_bytes);
	pl_wr_free(&h->prop);
	pl_wr_free(&h->acc);
	pl_exec_state_free(&h->st);
	memset(h, 0, sizeof *h);
}

static uint64_t receipt_time(const pl_item *it)
{
	pl_receipt *r;
	uint64_t t = 0;
	if (it->receipt.n == 0 || (r = malloc(sizeof *r)) == NULL)
		return 0;
	if (pl_receipt_decode(r, it->receipt.p, it->receipt.n) == 0)
		t = r->time;
	free(r);
	return t;
}

static void min_time(uint64_t *slot, uint64_t t)
{
	if (t && (*slot == 0 || t < *slot))
		*slot = t;
}

static const uint8_t *ref_id(const pl_planobj *o)
{
	return o->type == PL_PLAN_OBJ_ACCEPT   ? o->u.accept.plan_id
	       : o->type == PL_PLAN_OBJ_ATTEST ? o->u.attest.plan.plan_id
	       : o->type == PL_PLAN_OBJ_ABORT  ? o->u.abort.plan.plan_id
					       : NULL;
}

static int held_add(held *h, const pl_planobj *o, const uint8_t *p, size_t n, uint64_t logged,
		    pl_err *e)
{
	uint8_t hash[PL_PLAN_HASH_LEN];
	pl_plan_hash(hash, p, n);
	for (size_t i = 0; i < h->st.n; i++)
		if (memcmp(h->st.h[i], hash, sizeof hash) == 0) {
			min_time(&h->logged[i], logged);
			return 0;
		}
	if (h->st.n >= PLAN_ITEMS_MAX)
		return pl_err_set(e, PL_EXIT_REFUSED,
				  "this plan already has %d objects, as many as one plan keeps",
				  PLAN_ITEMS_MAX);
	if (h->st.n == h->cap) {
		size_t c = h->cap ? 2 * h->cap : 16;
		pl_planobj *no = realloc(h->st.objs, c * sizeof *no);
		if (no)
			h->st.objs = no;
		uint8_t(*nh)[PL_PLAN_HASH_LEN] = realloc(h->st.h, c * sizeof *nh);
		if (nh)
			h->st.h = nh;
		uint8_t *nv = realloc(h->st.verdict, c);
		if (nv)
			h->st.verdict = nv;
		pl_wr *nb = realloc(h->bytes, c * sizeof *nb);
		if (nb)
			h->bytes = nb;
		uint64_t *nl = realloc(h->logged, c * sizeof *nl);
		if (nl)
			h->logged = nl;
		if (!no || !nh || !nv || !nb || !nl)
			return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		h->cap = c;
	}
	size_t i = h->st.n;
	h->st.objs[i] = *o;
	memcpy(h->st.h[i], hash, sizeof hash);
	h->st.verdict[i] = 0;
	h->logged[i] = logged;
	pl_wr_init(&h->bytes[i]);
	pl_wr_bytes(&h->bytes[i], p, n);
	h->st.n++;
	return pl_wr_ok(&h->bytes[i]) == 0 ? 0 : pl_err_set(e, PL_EXIT_ERROR, "out of memory");
}

/* --- the agreement ---------------------------------------------------------------- */

/*
 * The one place that says whether an agreement may carry a plan by this
 * mediator: the acceptance accepts exactly that proposal, between two
 * parties, the proposal names the plan's author as its mediator, and, when
 * the vault holds the agreement, the mediator has guaranteed it (state
 * "guaranteed": its countersignature, client/guarantee.c) before a plan of
 * it is signed, accepted or applied. A receiving vault that holds the
 * agreement only as "accepted" keeps the plan for a later sync (the
 * guarantee travels beside it). prop_state NULL: checked from a file.
 */
static int plan_agreement_ok(const pl_obj *prop, const uint8_t prop_hash[static 32],
			     const pl_obj *acc, const char *prop_state,
			     const uint8_t mediator[static PL_IK_LEN], pl_err *e)
{
	char hex[PL_OBJ_ID_HEX_LEN];
	pl_obj_id_hex(hex, prop->id);
	if (prop->type != PL_OBJ_PROPOSAL || acc->type != PL_OBJ_RESPONSE ||
	    acc->u.response.kind != PL_RESP_ACCEPT ||
	    memcmp(acc->u.response.target_id, prop->id, PL_OBJ_ID_LEN) != 0 ||
	    sodium_memcmp(acc->u.response.target_hash, prop_hash, 32) != 0 ||
	    sodium_memcmp(acc->author_ik, prop->recipient_ik, PL_IK_LEN) != 0)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "the acceptance does not accept proposal %s; there is no "
				  "agreement to plan",
				  hex);
	if (prop_state && strcmp(prop_state, "guaranteed") != 0)
		return pl_err_set(e, PL_EXIT_REFUSED,
				  "proposal %s is %s, not guaranteed; an execution plan is for an "
				  "agreement its mediator guaranteed (parley guarantee ID)",
				  hex, prop_state);
	if (!prop->u.proposal.has_mediator ||
	    sodium_memcmp(prop->u.proposal.mediator_ik, mediator, PL_IK_LEN) != 0)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "the agreement on proposal %s does not name %s as its mediator; "
				  "only the mediator both parties named writes its plan",
				  hex, "the plan's author");
	return 0;
}

/* The agreement on proposal pid (hash ph), acceptance hash ah (NULL: any
 * acceptance of it), from this vault's negotiation items. 0, or NOTFOUND. */
static int agreement_in_vault(pl_vault *v, const uint8_t pid[static 8], const uint8_t *ph,
			      const uint8_t *ah, pl_wr *prop, pl_wr *acc, char state[16], pl_err *e)
{
	pl_item *items;
	size_t n;
	pl_obj *o = calloc(1, sizeof *o);
	if (o == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	if (pl_vault_item_list(v, NULL, &items, &n, e) != 0) {
		free(o);
		return -1;
	}
	uint8_t h[32], got_ph[32];
	int have_p = 0, have_a = 0;
	for (size_t i = 0; i < n && !have_p; i++) {
		if (items[i].kind != PL_KIND_OBJECT || memcmp(items[i].id, pid, 8) != 0)
			continue;
		pl_plan_hash(h, items[i].body.p, items[i].body.n);
		if (ph && sodium_memcmp(h, ph, 32) != 0)
			continue;
		memcpy(got_ph, h, 32);
		pl_wr_bytes(prop, items[i].body.p, items[i].body.n);
		snprintf(state, 16, "%s", items[i].state);
		have_p = 1;
	}
	/* The mediator holds the agreement as one item of kind 13 (both
	 * signed objects), checked when it arrived and again here. */
	for (size_t i = 0; i < n && !have_p; i++) {
		const uint8_t *pb, *ab;
		size_t pn, an;
		if (items[i].kind != PL_KIND_AGREEMENT ||
		    pl_agreed_split(items[i].body.p, items[i].body.n, &pb, &pn, &ab, &an) != 0 ||
		    pl_obj_decode_signed(o, pb, pn, NULL) != 0 || memcmp(o->id, pid, 8) != 0)
			continue;
		pl_plan_hash(h, pb, pn);
		if (ph && sodium_memcmp(h, ph, 32) != 0)
			continue;
		pl_plan_hash(got_ph, ab, an);
		if (ah && sodium_memcmp(got_ph, ah, 32) != 0)
			continue;
		pl_wr_bytes(prop, pb, pn);
		pl_wr_bytes(acc, ab, an);
		snprintf(state, 16, "%s", items[i].state);
		have_p = have_a = 1;
	}
	for (size_t i = 0; i < n && have_p && !have_a; i++) {
		if (items[i].kind != PL_KIND_OBJECT ||
		    pl_obj_decode_signed(o, items[i].body.p, items[i].body.n, NULL) != 0 ||
		    o->type != PL_OBJ_RESPONSE || o->u.response.kind != PL_RESP_ACCEPT ||
		    memcmp(o->u.response.target_id, pid, 8) != 0 ||
		    sodium_memcmp(o->u.response.target_hash, got_ph, 32) != 0)
			continue;
		pl_plan_hash(h, items[i].body.p, items[i].body.n);
		if (ah && sodium_memcmp(h, ah, 32) != 0)
			continue;
		pl_wr_bytes(acc, items[i].body.p, items[i].body.n);
		have_a = 1;
	}
	pl_vault_items_free(items, n);
	free(o);
	if (pl_wr_ok(prop) != 0 || pl_wr_ok(acc) != 0)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	if (!have_p || !have_a) {
		pl_wr_free(prop);
		pl_wr_free(acc);
		pl_wr_init(prop);
		pl_wr_init(acc);
		char hex[17];
		pl_hex_encode(hex, pid, 8);
		return pl_err_set(e, PL_EXIT_NOTFOUND,
				  "this vault does not hold the agreement on proposal %s", hex);
	}
	return 0;
}

/* Checks the agreement bytes against plan's naming of them and the rule. */
static int agreement_fits(const pl_planobj *plan, const pl_wr *prop, const pl_wr *acc,
			  const char *state, pl_err *e)
{
	pl_obj *p = calloc(1, sizeof *p), *a = calloc(1, sizeof *a);
	int rc = -1;
	uint8_t ph[32];
	if (p == NULL || a == NULL) {
		pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		goto out;
	}
	if (pl_obj_decode_signed(p, prop->p, prop->n, e) != 0 ||
	    pl_obj_decode_signed(a, acc->p, acc->n, e) != 0)
		goto out;
	pl_plan_hash(ph, prop->p, prop->n);
	if (plan_agreement_ok(p, ph, a, state, plan->author_ik, e) != 0)
		goto out;
	if (sodium_memcmp(p->author_ik, plan->u.plan.a_ik, PL_IK_LEN) != 0 ||
	    sodium_memcmp(a->author_ik, plan->u.plan.b_ik, PL_IK_LEN) != 0) {
		pl_err_set(e, PL_EXIT_SECURITY, "the plan's parties are not the agreement's");
		goto out;
	}
	rc = 0;
out:
	free(p);
	free(a);
	return rc;
}

/* --- loading what the vault holds --------------------------------------------------- */

static void names_for(pl_vault *v, held *h)
{
	for (int r = PL_ROLE_A; r <= PL_ROLE_M; r++) {
		const uint8_t *k = pl_plan_role_key(h->st.plan, r);
		pl_contact c;
		if (sodium_memcmp(k, pl_vault_identity(v)->pk, PL_IK_LEN) == 0) {
			snprintf(h->names[r - 1], sizeof h->names[r - 1], "%s", pl_vault_name(v));
			h->named[r - 1] = 1;
			h->me = r;
		} else if (pl_vault_contact_by_ik(v, k, &c, NULL) == 0) {
			snprintf(h->names[r - 1], sizeof h->names[r - 1], "%s", c.name);
			h->named[r - 1] = 1;
			sodium_memzero(&c, sizeof c);
		}
	}
}

/* Everything this vault holds of plan_id, evaluated at now. */
static int held_load(pl_vault *v, const uint8_t plan_id[static 8], uint64_t now, held *h, pl_err *e)
{
	pl_item *items;
	size_t n;
	memset(h, 0, sizeof *h);
	pl_wr_init(&h->plan_bytes);
	pl_wr_init(&h->prop);
	pl_wr_init(&h->acc);
	pl_planobj *o = malloc(sizeof *o);
	h->st.plan = calloc(1, sizeof *h->st.plan);
	if (o == NULL || h->st.plan == NULL) {
		free(o);
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	}
	if (pl_vault_item_list(v, NULL, &items, &n, e) != 0) {
		free(o);
		return -1;
	}
	int rc = 0, have_plan = 0;
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (items[i].kind != PL_KIND_PLAN ||
		    pl_plan_decode_signed(o, items[i].body.p, items[i].body.n, NULL) != 0)
			continue;
		uint64_t t = receipt_time(&items[i]);
		if (o->type == PL_PLAN_OBJ_PLAN) {
			if (memcmp(o->id, plan_id, 8) != 0)
				continue;
			uint8_t hh[32];
			pl_plan_hash(hh, items[i].body.p, items[i].body.n);
			if (have_plan && memcmp(hh, h->st.plan_hash, 32) != 0) {
				rc =
				    pl_err_set(e, PL_EXIT_SECURITY,
					       "this vault holds two different plans under one id; "
					       "refusing to guess which one counts");
				break;
			}
			if (!have_plan) {
				*h->st.plan = *o;
				memcpy(h->st.plan_hash, hh, 32);
				pl_wr_bytes(&h->plan_bytes, items[i].body.p, items[i].body.n);
				have_plan = 1;
			}
			min_time(&h->plan_logged, t);
		} else if (memcmp(ref_id(o), plan_id, 8) == 0) {
			rc = held_add(h, o, items[i].body.p, items[i].body.n, t, e);
		}
	}
	pl_vault_items_free(items, n);
	free(o);
	if (rc != 0)
		return -1;
	if (!have_plan) {
		char hex[17];
		pl_hex_encode(hex, plan_id, 8);
		return pl_err_set(e, PL_EXIT_NOTFOUND,
				  "no plan %s in this vault; run parley sync, or see parley inbox",
				  hex);
	}
	if (pl_wr_ok(&h->plan_bytes) != 0)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	if (h->st.n == 0 && (h->st.verdict = malloc(1)) == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	pl_plan_evaluate(&h->st.ev, h->st.plan, h->st.plan_hash, h->st.objs,
			 (const uint8_t(*)[32])h->st.h, h->st.n, now, h->st.verdict);
	names_for(v, h);
	char st[16];
	const pl_plan_body *b = &h->st.plan->u.plan;
	if (agreement_in_vault(v, b->proposal_id, b->proposal_hash, b->acceptance_hash, &h->prop,
			       &h->acc, st, NULL) == 0)
		h->st.has_agreement = 1;
	return 0;
}

static void view_of(const held *h, pl_exec_view *view)
{
	for (int r = 0; r < 3; r++)
		view->names[r] = h->named[r] ? h->names[r] : NULL;
	view->logged = h->logged;
	view->plan_logged = h->plan_logged;
}

/* --- sending ---------------------------------------------------------------------- */

/* The two other participants as sendable contacts, in role order. */
static int recipients(pl_vault *v, const pl_planobj *plan, pl_contact out[2], pl_err *e)
{
	int k = 0;
	if (pl_msgr_check_identity(v, e) != 0)
		return -1;
	for (int r = PL_ROLE_A; r <= PL_ROLE_M; r++) {
		const uint8_t *key = pl_plan_role_key(plan, r);
		if (sodium_memcmp(key, pl_vault_identity(v)->pk, PL_IK_LEN) == 0)
			continue;
		if (k == 2)
			break;
		if (pl_vault_contact_by_ik(v, key, &out[k], NULL) != 0) {
			char fp[PL_FINGERPRINT_LEN];
			pl_fingerprint(fp, key);
			return pl_err_set(
			    e, PL_EXIT_SECURITY,
			    "the plan's %s (fingerprint %s) is not one of your "
			    "contacts, and every plan object goes to all three; get an "
			    "introduction (parley introduce, by the mediator) or add "
			    "and verify them in person first",
			    r == PL_ROLE_M   ? "mediator"
			    : r == PL_ROLE_A ? "proposer"
					     : "accepter",
			    fp);
		}
		if (pl_msgr_check_sendable(&out[k], e) != 0)
			return -1;
		k++;
	}
	if (k != 2)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "you are not one of this plan's three participants");
	return 0;
}

/* Signs o and, in one transaction, stores it as an outgoing item to each
 * of the two others and queues both. */
static int commit_obj(pl_vault *v, const pl_planobj *plan, pl_planobj *o,
		      uint8_t id[static PL_PLAN_ID_LEN], pl_err *e)
{
	pl_contact to[2];
	pl_wr sig;
	int rc = -1;
	memset(to, 0, sizeof to);
	pl_wr_init(&sig);
	if (recipients(v, plan ? plan : o, to, e) != 0)
		goto out;
	if (pl_plan_sign(&sig, o, pl_vault_identity(v), e) != 0)
		goto out;
	if (sig.n > PL_PAYLOAD_MAX_BODY) {
		pl_err_set(e, PL_EXIT_USAGE, "the plan object is too large to send (%zu bytes)",
			   sig.n);
		goto out;
	}
	if (pl_vault_begin(v, e) != 0)
		goto out;
	for (int k = 0; k < 2; k++) {
		pl_item it;
		memset(&it, 0, sizeof it);
		pl_wr_init(&it.body);
		pl_wr_init(&it.receipt);
		memcpy(it.id, o->id, PL_PLAN_ID_LEN);
		memcpy(it.contact, to[k].name, sizeof it.contact);
		it.contact[sizeof it.contact - 1] = '\0';
		it.dir = PL_DIR_OUT;
		it.kind = PL_KIND_PLAN;
		it.time = o->created;
		snprintf(it.state, sizeof it.state, "queued");
		pl_wr_bytes(&it.body, sig.p, sig.n);
		int added = pl_wr_ok(&it.body) != 0 ? -1 : pl_vault_item_add(v, &it, e);
		if (added != 0 || pl_vault_outbox_add(v, it.seq, to[k].name, e) != 0) {
			pl_vault_item_free(&it);
			pl_vault_rollback(v);
			if (added == 1)
				pl_err_set(e, PL_EXIT_ERROR,
					   "an item with the same id exists; try again");
			goto out;
		}
		pl_vault_item_free(&it);
	}
	if (pl_vault_commit(v, e) != 0) {
		pl_vault_rollback(v);
		goto out;
	}
	memcpy(id, o->id, PL_PLAN_ID_LEN);
	rc = 0;
out:
	sodium_memzero(to, sizeof to);
	pl_wr_free(&sig);
	return rc;
}

/* 1 iff s is 4..16 hex digits and a prefix of the id. */
static int id_prefix(const char *s, const uint8_t id[static 8])
{
	char hex[17];
	size_t n = strlen(s);
	if (n < 4 || n > 16)
		return 0;
	pl_hex_encode(hex, id, 8);
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (c >= 'A' && c <= 'F')
			c = (char)(c - 'A' + 'a');
		if (c != hex[i])
			return 0;
	}
	return 1;
}

int pl_plan_create(pl_vault *v, const char *agreement_prefix, const char *agreement_file,
		   const char *json, size_t n, uint8_t id[static PL_PLAN_ID_LEN], pl_err *e)
{
	pl_planobj *o = calloc(1, sizeof *o);
	pl_obj *p = calloc(1, sizeof *p), *a = calloc(1, sizeof *a);
	pl_wr prop, acc;
	char state[16] = "";
	int rc = -1;
	pl_wr_init(&prop);
	pl_wr_init(&acc);
	if (o == NULL || p == NULL || a == NULL) {
		pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		goto out;
	}
	if (agreement_file) {
		pl_agreement_summary *s = malloc(sizeof *s);
		uint8_t *buf = NULL;
		size_t bn = 0;
		int r = s == NULL ? pl_err_set(e, PL_EXIT_ERROR, "out of memory")
				  : pl_file_read(agreement_file, PL_EXPORT_FILE_MAX, &buf, &bn, e);
		if (r == 0)
			r = pl_agreement_verify(s, buf, bn, NULL, 0, e);
		if (r == 0 && !id_prefix(agreement_prefix, s->proposal.id) &&
		    !id_prefix(agreement_prefix, s->acceptance.id))
			r = pl_err_set(e, PL_EXIT_USAGE,
				       "the agreement in %s is not %s: its proposal and acceptance "
				       "have other ids",
				       agreement_file, agreement_prefix);
		if (r == 0 && (pl_obj_encode_signed(&prop, &s->proposal, e) != 0 ||
			       pl_obj_encode_signed(&acc, &s->acceptance, e) != 0))
			r = -1;
		free(buf);
		if (s)
			sodium_memzero(s, sizeof *s);
		free(s);
		if (r != 0)
			goto out;
		state[0] = '\0'; /* proved by the file: accepted */
		/* and guaranteed by this vault, the mediator it names */
		pl_item ag;
		uint8_t fpid[PL_OBJ_ID_LEN];
		memcpy(fpid, prop.p + 2, PL_OBJ_ID_LEN); /* checked by the verify above */
		int gr = pl_guar_find_agreement(v, fpid, &ag, e);
		if (gr < 0)
			goto out;
		if (gr == 0) {
			snprintf(state, 16, "%s", ag.state);
			pl_vault_item_free(&ag);
		} else {
			snprintf(state, 16, "%s", "accepted");
		}
	} else {
		/* the id of the proposal or of its acceptance, in this vault */
		pl_item *items;
		size_t ni;
		if (pl_vault_item_list(v, NULL, &items, &ni, e) != 0)
			goto out;
		uint8_t pid[8];
		int found = 0;
		for (size_t i = 0; i < ni && found < 2; i++) {
			const uint8_t *pb, *ab;
			size_t pn, an;
			/* the mediator's agreement item: by its own id or its
			 * proposal's */
			if (items[i].kind == PL_KIND_AGREEMENT &&
			    pl_agreed_split(items[i].body.p, items[i].body.n, &pb, &pn, &ab, &an) ==
				0 &&
			    pl_obj_decode_signed(p, pb, pn, NULL) == 0 &&
			    (id_prefix(agreement_prefix, items[i].id) ||
			     id_prefix(agreement_prefix, p->id))) {
				memcpy(pid, p->id, 8);
				found++;
				continue;
			}
			if (items[i].kind != PL_KIND_OBJECT ||
			    !id_prefix(agreement_prefix, items[i].id) ||
			    pl_obj_decode_signed(p, items[i].body.p, items[i].body.n, NULL) != 0)
				continue;
			if (p->type == PL_OBJ_PROPOSAL) {
				memcpy(pid, p->id, 8);
				found++;
			} else if (p->type == PL_OBJ_RESPONSE &&
				   p->u.response.kind == PL_RESP_ACCEPT) {
				memcpy(pid, p->u.response.target_id, 8);
				found++;
			}
		}
		pl_vault_items_free(items, ni);
		if (found != 1) {
			pl_err_set(e, found ? PL_EXIT_USAGE : PL_EXIT_NOTFOUND,
				   found
				       ? "%s names more than one proposal; give more digits"
				       : "this vault holds no agreement %s; as the mediator, give "
					 "the agreement file a party exported (--agreement FILE)",
				   agreement_prefix);
			goto out;
		}
		if (agreement_in_vault(v, pid, NULL, NULL, &prop, &acc, state, e) != 0)
			goto out;
	}
	if (pl_obj_decode_signed(p, prop.p, prop.n, e) != 0 ||
	    pl_obj_decode_signed(a, acc.p, acc.n, e) != 0)
		goto out;
	pl_plan_obj_init(o, PL_PLAN_OBJ_PLAN);
	pl_plan_body *b = &o->u.plan;
	memcpy(o->author_ik, pl_vault_identity(v)->pk, PL_IK_LEN);
	memcpy(b->proposal_id, p->id, 8);
	pl_plan_hash(b->proposal_hash, prop.p, prop.n);
	pl_plan_hash(b->acceptance_hash, acc.p, acc.n);
	memcpy(b->a_ik, p->author_ik, PL_IK_LEN);
	memcpy(b->b_ik, a->author_ik, PL_IK_LEN);
	if (plan_agreement_ok(p, b->proposal_hash, a, state[0] ? state : NULL,
			      pl_vault_identity(v)->pk, e) != 0)
		goto out;
	/* the parties' names, as this vault knows them, for the plan file */
	char an[PL_NAME_MAX + 1] = "", bn[PL_NAME_MAX + 1] = "";
	pl_contact c;
	if (pl_vault_contact_by_ik(v, b->a_ik, &c, NULL) == 0)
		snprintf(an, sizeof an, "%s", c.name);
	if (pl_vault_contact_by_ik(v, b->b_ik, &c, NULL) == 0)
		snprintf(bn, sizeof bn, "%s", c.name);
	sodium_memzero(&c, sizeof c);
	pl_plan_body loaded;
	if (pl_plan_load_json(&loaded, json, n, an[0] ? an : NULL, bn[0] ? bn : NULL, e) != 0)
		goto out;
	snprintf(b->title, sizeof b->title, "%s", loaded.title);
	b->n_steps = loaded.n_steps;
	memcpy(b->steps, loaded.steps, sizeof b->steps);
	rc = commit_obj(v, NULL, o, id, e);
out:
	pl_wr_free(&prop);
	pl_wr_free(&acc);
	free(o);
	free(p);
	free(a);
	return rc;
}

/* Loads the plan for a move by this vault: held, and we are in it. */
static int move_begin(pl_vault *v, const uint8_t plan_id[static 8], held *h, pl_err *e)
{
	if (held_load(v, plan_id, pl_now(), h, e) != 0)
		return -1;
	if (h->me == 0)
		return pl_err_set(e, PL_EXIT_REFUSED,
				  "you are not one of this plan's participants");
	return 0;
}

int pl_plan_accept(pl_vault *v, const uint8_t plan_id[static PL_PLAN_ID_LEN],
		   uint8_t id[static PL_PLAN_ID_LEN], pl_err *e)
{
	held h;
	pl_planobj *o = calloc(1, sizeof *o);
	int rc = -1;
	if (o == NULL) {
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	}
	if (move_begin(v, plan_id, &h, e) != 0)
		goto out;
	if (h.me == PL_ROLE_M) {
		pl_err_set(e, PL_EXIT_REFUSED,
			   "you wrote this plan; the two parties accept it, not the mediator");
		goto out;
	}
	if (h.st.ev.accept[h.me - 1] >= 0) {
		pl_err_set(e, PL_EXIT_REFUSED,
			   "you have already accepted this plan; nothing changed");
		goto out;
	}
	if (h.st.ev.status == PL_PLAN_ABORTED) {
		pl_err_set(e, PL_EXIT_REFUSED, "the plan was aborted; nothing changed");
		goto out;
	}
	char st[16];
	pl_wr prop, acc;
	pl_wr_init(&prop);
	pl_wr_init(&acc);
	const pl_plan_body *b = &h.st.plan->u.plan;
	int r = agreement_in_vault(v, b->proposal_id, b->proposal_hash, b->acceptance_hash, &prop,
				   &acc, st, e);
	if (r == 0)
		r = agreement_fits(h.st.plan, &prop, &acc, st, e);
	pl_wr_free(&prop);
	pl_wr_free(&acc);
	if (r != 0)
		goto out;
	pl_plan_obj_init(o, PL_PLAN_OBJ_ACCEPT);
	memcpy(o->u.accept.plan_id, plan_id, 8);
	memcpy(o->u.accept.plan_hash, h.st.plan_hash, 32);
	rc = commit_obj(v, h.st.plan, o, id, e);
out:
	held_free(&h);
	free(o);
	return rc;
}

int pl_plan_attest_step(pl_vault *v, const uint8_t plan_id[static PL_PLAN_ID_LEN], const char *step,
			int kind, const char *text, uint8_t id[static PL_PLAN_ID_LEN], pl_err *e)
{
	held h;
	pl_planobj *o = calloc(1, sizeof *o);
	int rc = -1;
	if (o == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	if (move_begin(v, plan_id, &h, e) != 0)
		goto out;
	const pl_plan_body *b = &h.st.plan->u.plan;
	int s = pl_plan_step_index(b, step);
	if (s < 0) {
		pl_err_set(e, PL_EXIT_USAGE, "the plan has no step \"%.40s\"; see parley plan show",
			   step);
		goto out;
	}
	const pl_plan_step *st = &b->steps[s];
	const pl_step_eval *se = &h.st.ev.steps[s];
	if (kind == PL_ATTEST_DONE && h.me != st->performer) {
		pl_err_set(e, PL_EXIT_REFUSED,
			   "step %s is performed by %s, not by you; you can only attest steps you "
			   "perform",
			   st->id,
			   h.named[st->performer - 1] ? h.names[st->performer - 1]
						      : pl_plan_role_str(st->performer));
		goto out;
	}
	if (kind == PL_ATTEST_CONFIRM && !(st->confirmers & PL_ROLE_BIT(h.me))) {
		pl_err_set(e, PL_EXIT_REFUSED, "you are not among the confirmers of step %s",
			   st->id);
		goto out;
	}
	if (h.st.ev.status == PL_PLAN_ABORTED) {
		pl_err_set(e, PL_EXIT_REFUSED, "the plan was aborted; nothing more is attested");
		goto out;
	}
	if (kind == PL_ATTEST_DONE ? se->done >= 0 : se->confirm[h.me - 1] >= 0) {
		pl_err_set(e, PL_EXIT_REFUSED, "you have already %s step %s; nothing changed",
			   kind == PL_ATTEST_DONE ? "attested" : "confirmed", st->id);
		goto out;
	}
	pl_plan_obj_init(o, PL_PLAN_OBJ_ATTEST);
	pl_plan_attest *t = &o->u.attest;
	memcpy(t->plan.plan_id, plan_id, 8);
	memcpy(t->plan.plan_hash, h.st.plan_hash, 32);
	t->step = (uint8_t)s;
	t->kind = (uint8_t)kind;
	if (text) {
		if (pl_obj_text_ok(text, 0, PL_PLAN_TEXT_MAX, 1) != 0) {
			pl_err_set(e, PL_EXIT_USAGE, "--text must be at most %d bytes of text",
				   PL_PLAN_TEXT_MAX);
			goto out;
		}
		snprintf(t->text, sizeof t->text, "%s", text);
	}
	if (pl_plan_rests_for(&h.st.ev, h.st.plan, s, kind, (const uint8_t(*)[32])h.st.h, t->rests,
			      &t->n_rests, e) != 0)
		goto out;
	rc = commit_obj(v, h.st.plan, o, id, e);
out:
	held_free(&h);
	free(o);
	return rc;
}

int pl_plan_abort_plan(pl_vault *v, const uint8_t plan_id[static PL_PLAN_ID_LEN],
		       const char *reason, uint8_t id[static PL_PLAN_ID_LEN], pl_err *e)
{
	held h;
	pl_planobj *o = calloc(1, sizeof *o);
	int rc = -1;
	if (o == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	if (move_begin(v, plan_id, &h, e) != 0)
		goto out;
	if (h.st.ev.no_return) {
		pl_err_set(e, PL_EXIT_REFUSED,
			   "the plan is past its point of no return (a no-return step is attested "
			   "done); it can no longer be aborted");
		goto out;
	}
	if (h.st.ev.status == PL_PLAN_ABORTED || h.st.ev.status == PL_PLAN_COMPLETED) {
		pl_err_set(e, PL_EXIT_REFUSED, "the plan is already %s; nothing changed",
			   pl_plan_status_str(h.st.ev.status));
		goto out;
	}
	if (reason == NULL || pl_obj_text_ok(reason, 1, PL_PLAN_TEXT_MAX, 1) != 0) {
		pl_err_set(e, PL_EXIT_USAGE, "--reason must be 1 to %d bytes of text",
			   PL_PLAN_TEXT_MAX);
		goto out;
	}
	pl_plan_obj_init(o, PL_PLAN_OBJ_ABORT);
	memcpy(o->u.abort.plan.plan_id, plan_id, 8);
	memcpy(o->u.abort.plan.plan_hash, h.st.plan_hash, 32);
	snprintf(o->u.abort.reason, sizeof o->u.abort.reason, "%s", reason);
	rc = commit_obj(v, h.st.plan, o, id, e);
out:
	held_free(&h);
	free(o);
	return rc;
}

int pl_plan_resend(pl_vault *v, const uint8_t plan_id[static PL_PLAN_ID_LEN], unsigned *n,
		   pl_err *e)
{
	held h;
	pl_item *items = NULL;
	pl_outbox *ob = NULL;
	size_t ni = 0, no = 0;
	int rc = -1;
	*n = 0;
	pl_planobj *o = malloc(sizeof *o);
	if (o == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	if (move_begin(v, plan_id, &h, e) != 0 || pl_msgr_check_identity(v, e) != 0 ||
	    pl_vault_item_list(v, NULL, &items, &ni, e) != 0 ||
	    pl_vault_outbox_list(v, &ob, &no, e) != 0 || pl_vault_begin(v, e) != 0)
		goto out;
	for (size_t i = 0; i < ni; i++) {
		if (items[i].kind != PL_KIND_PLAN || items[i].dir != PL_DIR_OUT ||
		    pl_plan_decode_signed(o, items[i].body.p, items[i].body.n, NULL) != 0)
			continue;
		const uint8_t *pid = o->type == PL_PLAN_OBJ_PLAN ? o->id : ref_id(o);
		if (memcmp(pid, plan_id, 8) != 0)
			continue;
		int queued = 0;
		for (size_t k = 0; k < no && !queued; k++)
			queued = ob[k].item_seq == items[i].seq;
		if (queued)
			continue;
		if (pl_vault_outbox_add(v, items[i].seq, items[i].contact, e) != 0) {
			pl_vault_rollback(v);
			goto out;
		}
		(*n)++;
	}
	if (pl_vault_commit(v, e) != 0) {
		pl_vault_rollback(v);
		goto out;
	}
	rc = 0;
out:
	pl_vault_items_free(items, ni);
	pl_vault_outbox_free(ob, no);
	held_free(&h);
	free(o);
	return rc;
}

/* --- viewing ------------------------------------------------------------------------ */

int pl_plan_resolve(pl_vault *v, const char *s, uint8_t plan_id[static PL_PLAN_ID_LEN], pl_err *e)
{
	pl_item *items;
	size_t n;
	if (strlen(s) < 4 || strlen(s) > 16 || strspn(s, "0123456789abcdefABCDEF") != strlen(s))
		return pl_err_set(e, PL_EXIT_USAGE, "PLAN \"%.40s\" is not 4 to 16 hex digits", s);
	if (pl_vault_item_list(v, NULL, &items, &n, e) != 0)
		return -1;
	int found = 0, other = 0;
	for (size_t i = 0; i < n; i++) {
		if (items[i].kind != PL_KIND_PLAN || !id_prefix(s, items[i].id))
			continue;
		/* only plans (type byte at offset 1), each id once */
		if (items[i].body.n < 2 || items[i].body.p[1] != PL_PLAN_OBJ_PLAN) {
			other++;
			continue;
		}
		if (found && memcmp(plan_id, items[i].id, 8) == 0)
			continue;
		memcpy(plan_id, items[i].id, 8);
		found++;
	}
	pl_vault_items_free(items, n);
	if (found == 1)
		return 0;
	if (found > 1)
		return pl_err_set(e, PL_EXIT_USAGE,
				  "PLAN %s is ambiguous: %d plans begin with it; give more digits",
				  s, found);
	return pl_err_set(e, PL_EXIT_NOTFOUND,
			  other
			      ? "%s is a plan object (an acceptance, attestation or abort), not a "
				"plan; give the plan's id (parley inbox)"
			      : "no plan %s in this vault; run parley sync, or see parley inbox",
			  s);
}

int pl_plan_show(pl_vault *v, const uint8_t plan_id[static PL_PLAN_ID_LEN], json_t **json,
		 FILE *text, pl_err *e)
{
	held h;
	if (held_load(v, plan_id, pl_now(), &h, e) != 0) {
		held_free(&h);
		return -1;
	}
	pl_exec_view view;
	view_of(&h, &view);
	if (json)
		*json = pl_exec_state_json(&h.st, &view);
	if (text)
		pl_exec_state_print(text, &h.st, &view);
	held_free(&h);
	return 0;
}

int pl_plan_export(pl_vault *v, const uint8_t plan_id[static PL_PLAN_ID_LEN], const char *path,
		   pl_err *e)
{
	held h;
	int rc = -1;
	const uint8_t **objs = NULL;
	size_t *lens = NULL, m = 0;
	json_t *j = NULL;
	if (held_load(v, plan_id, pl_now(), &h, e) != 0)
		goto out;
	objs = calloc(h.st.n ? h.st.n : 1, sizeof *objs);
	lens = calloc(h.st.n ? h.st.n : 1, sizeof *lens);
	if (objs == NULL || lens == NULL) {
		pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		goto out;
	}
	/* what counts, and the refused aborts: never what rests on objects
	 * not held (the file must prove every attestation's order) */
	for (size_t i = 0; i < h.st.n; i++) {
		uint8_t vd = h.st.verdict[i];
		if (vd == PL_V_UNANCHORED || vd == PL_V_INVALID)
			continue;
		objs[m] = h.bytes[i].p;
		lens[m++] = h.bytes[i].n;
	}
	if (pl_execution_write(&j, h.plan_bytes.p, h.plan_bytes.n, objs, lens, m,
			       h.st.has_agreement ? h.prop.p : NULL, h.prop.n,
			       h.st.has_agreement ? h.acc.p : NULL, h.acc.n, e) != 0)
		goto out;
	rc = pl_export_write_file(path, j, e);
out:
	json_decref(j);
	free(objs);
	free(lens);
	held_free(&h);
	return rc;
}

/* --- receiving ---------------------------------------------------------------------- */

/* Best effort: the relay log's receipt of env's deposit in our mailbox,
 * kept on the item (its log time is shown beside the signer's). */
static void log_receipt(pl_vault *v, pl_msgr_envelope *env)
{
	pl_logq *q = NULL;
	pl_receipt *rc = calloc(1, sizeof *rc);
	uint8_t mbx[32], buf[PL_RECEIPT_MAX];
	if (rc == NULL || env->seq == 0)
		goto out;
	pl_mailbox_id(mbx, pl_vault_identity(v)->pk);
	if (pl_logq_open(&q, v, NULL, 1, NULL) != 0 ||
	    pl_logq_deposit(q, mbx, env->hash, env->seq, rc, NULL) != 0)
		goto out;
	size_t n = pl_receipt_encode(buf, rc);
	if (n == 0)
		goto out;
	pl_wr_free(&env->receipt);
	pl_wr_init(&env->receipt);
	pl_wr_bytes(&env->receipt, buf, n);
out:
	pl_logq_close(q, NULL);
	free(rc);
}

int pl_plan_received(pl_vault *v, const pl_contact *from, const pl_payload *p,
		     pl_msgr_envelope *env, pl_err *e)
{
	pl_planobj *o = calloc(1, sizeof *o);
	held h;
	int rc = 1, loaded = 0;
	memset(&h, 0, sizeof h);
	if (o == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	/* signed by the sender's pinned key, under the id it travels as */
	if (pl_plan_decode_signed(o, p->body, p->bodylen, NULL) != 0 ||
	    sodium_memcmp(o->author_ik, from->ik, PL_IK_LEN) != 0 ||
	    memcmp(o->id, p->id, PL_PLAN_ID_LEN) != 0)
		goto out;
	const uint8_t *me = pl_vault_identity(v)->pk;
	if (o->type == PL_PLAN_OBJ_PLAN) {
		/* from its mediator, to one of its two parties, of an agreement
		 * we hold with those exact bytes */
		if (sodium_memcmp(o->u.plan.a_ik, me, PL_IK_LEN) != 0 &&
		    sodium_memcmp(o->u.plan.b_ik, me, PL_IK_LEN) != 0)
			goto out;
		pl_wr prop, acc;
		char st[16];
		pl_wr_init(&prop);
		pl_wr_init(&acc);
		pl_err ae;
		pl_err_clear(&ae);
		const pl_plan_body *b = &o->u.plan;
		int r = agreement_in_vault(v, b->proposal_id, b->proposal_hash, b->acceptance_hash,
					   &prop, &acc, st, &ae);
		if (r == 0) {
			pl_err fe;
			pl_err_clear(&fe);
			rc = agreement_fits(o, &prop, &acc, st, &fe) == 0 ? 0 : 1;
			/* accepted here, its guarantee not yet applied: later */
			if (rc == 1 && fe.code == PL_EXIT_REFUSED && strcmp(st, "accepted") == 0)
				rc = PL_MSGR_OBJECT_LATER;
		} else
			rc = ae.code == PL_EXIT_NOTFOUND ? PL_MSGR_OBJECT_LATER : (*e = ae, -1);
		pl_wr_free(&prop);
		pl_wr_free(&acc);
		if (rc == 0) {
			/* one plan per id: other bytes under a held id are refused */
			pl_err le;
			if (held_load(v, o->id, pl_now(), &h, &le) == 0) {
				uint8_t hh[32];
				pl_plan_hash(hh, p->body, p->bodylen);
				if (memcmp(hh, h.st.plan_hash, 32) != 0)
					rc = 1;
			} else if (le.code != PL_EXIT_NOTFOUND) {
				*e = le;
				rc = -1;
			}
			loaded = 1;
		}
		goto done;
	}
	pl_err le;
	if (held_load(v, ref_id(o), pl_now(), &h, &le) != 0) {
		loaded = 1;
		rc = le.code == PL_EXIT_NOTFOUND ? PL_MSGR_OBJECT_LATER : (*e = le, -1);
		goto out;
	}
	loaded = 1;
	if (pl_plan_role_of(h.st.plan, me) == 0 ||
	    pl_plan_obj_fits(h.st.plan, h.st.plan_hash, o, NULL) != 0)
		goto out;
	size_t before = h.st.n;
	if (held_add(&h, o, p->body, p->bodylen, 0, NULL) != 0)
		goto out;
	if (h.st.n == before) {
		rc = 0; /* the same bytes again: a duplicate delivery */
		goto done;
	}
	uint8_t *vd = realloc(h.st.verdict, h.st.n);
	if (vd == NULL) {
		rc = pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		goto out;
	}
	h.st.verdict = vd;
	pl_plan_evaluate(&h.st.ev, h.st.plan, h.st.plan_hash, h.st.objs,
			 (const uint8_t(*)[32])h.st.h, h.st.n, pl_now(), h.st.verdict);
	uint8_t verdict = h.st.verdict[before];
	rc = verdict == PL_V_INVALID ? 1 : verdict == PL_V_UNANCHORED ? PL_MSGR_OBJECT_LATER : 0;
done:
	if (rc == 0)
		log_receipt(v, env);
out:
	if (loaded)
		held_free(&h);
	free(o);
	return rc;
}

void pl_plan_item_text(const pl_item *it, char *out, size_t cap)
{
	pl_planobj *o = malloc(sizeof *o);
	if (o == NULL || pl_plan_decode_signed(o, it->body.p, it->body.n, NULL) != 0) {
		snprintf(out, cap, "an unreadable plan object");
		free(o);
		return;
	}
	char hex[17];
	const uint8_t *pid = o->type == PL_PLAN_OBJ_PLAN ? o->id : ref_id(o);
	pl_hex_encode(hex, pid, 8);
	if (o->type == PL_PLAN_OBJ_PLAN)
		snprintf(out, cap, "execution plan %s: %s (%u steps); see parley plan show %s", hex,
			 o->u.plan.title, o->u.plan.n_steps, hex);
	else if (o->type == PL_PLAN_OBJ_ATTEST)
		snprintf(out, cap, "%s of step %u of plan %s; see parley plan show %s",
			 o->u.attest.kind == PL_ATTEST_DONE ? "done" : "confirmation",
			 o->u.attest.step + 1, hex, hex);
	else
		snprintf(out, cap, "%s of plan %s; see parley plan show %s",
			 pl_plan_type_str(o->type), hex, hex);
	free(o);
}
