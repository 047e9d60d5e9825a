/*
 * render.c — showing items (see render.h): the JSON the CLI prints and the
 * plain lines built from it, so the two never disagree.
 *
 * What it must never do: write to the vault, or show a move in a state the
 * negotiation engine did not give it.
 */
#include "cli/render.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client/introduce.h"
#include "client/nego.h"
#include "client/match.h"
#include "client/plan.h"
#include "negotiation/agreed.h"
#include "client/rotate.h"
#include "identity/introduction.h"
#include "client/via.h"
#include "envelope/envelope.h"
#include "cli/cli.h"
#include "util/codec.h"

/* 1 iff every comma-separated item of a (blanks around it and ASCII case
 * ignored) is one of b's. */
static int items_within(const char *a, const char *b)
{
	for (const char *p = a; *p;) {
		const char *end = strchr(p, ',');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		while (n > 0 && *p == ' ')
			p++, n--;
		while (n > 0 && p[n - 1] == ' ')
			n--;
		int found = n == 0;
		for (const char *q = b; *q && !found;) {
			const char *qe = strchr(q, ',');
			size_t m = qe ? (size_t)(qe - q) : strlen(q);
			while (m > 0 && *q == ' ')
				q++, m--;
			while (m > 0 && q[m - 1] == ' ')
				m--;
			found = m == n && strncasecmp(p, q, n) == 0;
			if (!qe)
				break;
			q = qe + 1;
		}
		if (!found)
			return 0;
		if (!end)
			break;
		p = end + 1;
	}
	return 1;
}

/* Two nationality lists name the same countries, in any order. */
static int same_nationality(const char *a, const char *b)
{
	return items_within(a, b) && items_within(b, a);
}

static json_t *person_json(pl_vault *v, const char *contact, const pl_person *p)
{
	char ref[2 * PL_OBJ_REF_LEN + 1];
	pl_hex_encode(ref, p->ref, PL_OBJ_REF_LEN);
	/* What the other side signed about the person; never its priority (a
	 * version 1 object carried the author's priority: not shown). */
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "ref", ref, "name",
			      p->name, "held_by", p->held_by, "nationality", p->nationality, "born",
			      p->born, "since", p->since, "charges", p->charges, "sentence",
			      p->sentence, "humanitarian", p->humanitarian);
	pl_case c;
	int64_t id = 0;
	int linked = 0;
	if (pl_vault_case_by_ref(v, p->ref, &c, NULL) == 0) {
		linked = 1;
	} else if (pl_vault_link_get(v, contact, p->ref, &id, NULL) == 0 &&
		   pl_vault_case_get(v, id, &c, NULL) == 0) {
		linked = 1;
	}
	if (linked) {
		json_object_set_new(j, "linked", json_integer(c.id));
		json_object_set_new(j, "unknown", json_false());
		/* Two vaults may disagree about a person: say so, show ours. */
		int differs = strcmp(c.name, p->name) != 0 || strcmp(c.held_by, p->held_by) != 0 ||
			      (c.born[0] && p->born[0] && strcmp(c.born, p->born) != 0) ||
			      (c.nationality[0] && p->nationality[0] &&
			       !same_nationality(c.nationality, p->nationality));
		json_object_set_new(j, "differs", json_boolean(differs));
		if (differs)
			json_object_set_new(j, "our_record",
					    json_pack("{s:I, s:s, s:s, s:s, s:s}", "id",
						      (json_int_t)c.id, "name", c.name, "held_by",
						      c.held_by, "nationality", c.nationality,
						      "born", c.born));
		sodium_memzero(&c, sizeof c);
	} else {
		json_object_set_new(j, "linked", json_null());
		json_object_set_new(j, "unknown", json_true());
		json_object_set_new(j, "differs", json_false());
	}
	return j;
}

static json_t *persons_json(pl_vault *v, const char *contact, const pl_person *ps, size_t n)
{
	json_t *a = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(a, person_json(v, contact, &ps[i]));
	return a;
}

static void set_time(json_t *j, const char *key, uint64_t t)
{
	if (t == 0) {
		json_object_set_new(j, key, json_null());
		return;
	}
	char s[PL_RFC3339_LEN];
	pl_time_rfc3339(s, t);
	json_object_set_new(j, key, json_string(s));
}

/* The fields every item has; kind "note" until the body says otherwise. */
static json_t *item_head(pl_vault *v, const pl_item *it)
{
	char id[PL_OBJ_ID_HEX_LEN], when[PL_RFC3339_LEN];
	pl_obj_id_hex(id, it->id);
	pl_time_rfc3339(when, it->time);
	const char *from = it->dir == PL_DIR_OUT ? pl_vault_name(v) : it->contact;
	const char *to = it->dir == PL_DIR_OUT ? it->contact : pl_vault_name(v);
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id", id, "kind", "note",
			      "from", from, "to", to, "time", when, "direction",
			      it->dir == PL_DIR_OUT ? "out" : "in", "state", it->state);
	/* The other side's key rests on an introduction, not on the user's
	 * own check: every item with it says so. */
	pl_contact c;
	pl_intro_rec r;
	char who[PL_NAME_MAX + 1];
	pl_err ce;
	pl_err_clear(&ce);
	if (j && pl_vault_contact_get(v, it->contact, &c, &ce) == 0 && !c.verified &&
	    c.introduced && pl_intro_of(v, &c, &r, who, NULL, &ce) == 1)
		json_object_set_new(j, "key_introduced_by", json_string(who));
	sodium_memzero(&c, sizeof c);
	return j;
}

/* A proposal's terms, the people named from the viewer's side. */
static void proposal_json(json_t *j, pl_vault *v, const pl_item *it, const pl_proposal *p)
{
	int mine = it->dir == PL_DIR_OUT;
	json_object_set_new(j, "we_release",
			    mine ? persons_json(v, it->contact, p->author, p->n_author)
				 : persons_json(v, it->contact, p->recipient, p->n_recipient));
	json_object_set_new(j, "they_release",
			    mine ? persons_json(v, it->contact, p->recipient, p->n_recipient)
				 : persons_json(v, it->contact, p->author, p->n_author));
	json_t *conds = json_array();
	for (size_t i = 0; i < p->n_cond; i++)
		json_array_append_new(conds, json_string(p->cond[i]));
	json_object_set_new(j, "conditions", conds);
	json_object_set_new(j, "place", json_string(p->place));
	json_object_set_new(j, "sequencing", json_string(pl_obj_sequencing_to_str(p->sequencing)));
	if (p->has_mediator) {
		char mk[PL_KEY_HEX_LEN];
		pl_hex_encode(mk, p->mediator_ik, PL_IK_LEN);
		json_object_set_new(j, "mediator",
				    json_pack("{s:s, s:s}", "name", p->mediator_name, "key", mk));
	} else {
		json_object_set_new(j, "mediator", json_null());
	}
	json_t *cm = json_array();
	for (size_t i = 0; i < p->n_commit; i++) {
		const char *who = p->commit[i].who == PL_COMMIT_MEDIATOR ? p->mediator_name
				  : (p->commit[i].who == PL_COMMIT_AUTHOR) == mine
				      ? pl_vault_name(v)
				      : it->contact;
		json_array_append_new(cm, json_pack("{s:s, s:s, s:s}", "by", who, "role",
						    pl_obj_commit_who_to_str(p->commit[i].who),
						    "text", p->commit[i].text));
	}
	json_object_set_new(j, "commitments", cm);
	set_time(j, "expires", p->expires);
	static const uint8_t zero[PL_OBJ_ID_LEN];
	if (memcmp(p->supersedes_id, zero, PL_OBJ_ID_LEN) != 0) {
		char sid[PL_OBJ_ID_HEX_LEN];
		pl_obj_id_hex(sid, p->supersedes_id);
		json_object_set_new(j, "supersedes", json_string(sid));
	} else {
		json_object_set_new(j, "supersedes", json_null());
	}
}

/* A response's or answer's verdict word (under `key`), target and text. */
static void reply_json(json_t *j, const char *key, const char *verdict,
		       const uint8_t target[PL_OBJ_ID_LEN], const char *text)
{
	char tid[PL_OBJ_ID_HEX_LEN];
	pl_obj_id_hex(tid, target);
	json_object_set_new(j, key, json_string(verdict));
	json_object_set_new(j, "target", json_string(tid));
	json_object_set_new(j, "text", json_string(text));
}

/* The fields of each kind of move. */
static void object_json(json_t *j, pl_vault *v, const pl_item *it, const pl_obj *o)
{
	switch (o->type) {
	case PL_OBJ_OUTREACH:
		json_object_set_new(j, "text", json_string(o->u.outreach.topic));
		break;
	case PL_OBJ_PROPOSAL:
		proposal_json(j, v, it, &o->u.proposal);
		break;
	case PL_OBJ_RESPONSE:
		reply_json(j, "response", pl_obj_response_kind_to_str(o->u.response.kind),
			   o->u.response.target_id, o->u.response.reason);
		break;
	case PL_OBJ_REQUEST: {
		const pl_request *r = &o->u.request;
		json_object_set_new(j, "request", json_string(pl_obj_request_kind_to_str(r->kind)));
		json_object_set_new(j, "urgency", json_string(pl_obj_urgency_to_str(r->urgency)));
		json_object_set_new(j, "detainee", person_json(v, it->contact, &r->person));
		json_object_set_new(j, "text", json_string(r->text));
		break;
	}
	case PL_OBJ_ANSWER:
		reply_json(j, "decision", pl_obj_decision_to_str(o->u.answer.decision),
			   o->u.answer.target_id, o->u.answer.text);
		break;
	case PL_OBJ_GUARANTEE: {
		char a[PL_OBJ_ID_HEX_LEN];
		pl_obj_id_hex(a, o->u.guarantee.acceptance_id);
		reply_json(j, "guarantee", "guarantee", o->u.guarantee.proposal_id,
			   o->u.guarantee.text);
		json_object_set_new(j, "acceptance", json_string(a));
		break;
	}
	default:
		break;
	}
}

/* This vault's own key rotation, as sent to a contact. */
static void rotation_item_json(json_t *j, const pl_item *it)
{
	pl_rotation r;
	char fp[PL_FINGERPRINT_LEN], text[160];
	json_object_set_new(j, "kind", json_string("key rotation"));
	if (pl_rotation_decode(&r, it->body.p, it->body.n) != 0) {
		json_object_set_new(j, "kind", json_string("unreadable"));
		return;
	}
	pl_fingerprint(fp, r.new_ik);
	snprintf(text, sizeof text,
		 "%s identity key changed to fingerprint %s (signed by the old and the new key)",
		 it->dir == PL_DIR_OUT ? "this vault's" : "their", fp);
	json_object_set_new(j, "text", json_string(text));
}

int pl_cli_rotation_note(pl_vault *v, const pl_contact *c, char *out, size_t cap,
			 const char **state)
{
	pl_rotation_rec r;
	pl_err e;
	pl_err_clear(&e);
	int got = pl_rotate_of(v, c, &r, &e);
	if (got <= 0)
		return got;
	char when[PL_RFC3339_LEN], fp[PL_FINGERPRINT_LEN];
	pl_time_rfc3339(when, r.time);
	pl_fingerprint(fp, r.old_ik);
	int n;
	if (r.flags & PL_ROT_VOID) {
		*state = "void";
		n = snprintf(out, cap,
			     "key changed on %s, signed by the old key (%s), but that key was "
			     "revoked: the change is VOID (a seized key could have signed it); "
			     "compare the safety number in person (parley contact verify %s "
			     "SAFETY_NUMBER)",
			     when, fp, c->name);
	} else if (r.flags & PL_ROT_CONFLICT) {
		*state = "conflict";
		n = snprintf(out, cap,
			     "key changed on %s, but the old key (%s) signed two different "
			     "changes: neither is trusted; compare the safety number in person "
			     "(parley contact verify %s SAFETY_NUMBER)",
			     when, fp, c->name);
	} else if (r.trusted && c->verified && !c->key_changed) {
		char t[PL_RFC3339_LEN];
		pl_time_rfc3339(t, r.trusted);
		*state = "trusted";
		n = snprintf(out, cap,
			     "key changed on %s, signed by the key you verified (%s); you "
			     "accepted the change on %s",
			     when, fp, t);
	} else if (c->verified && !c->key_changed) {
		*state = "verified";
		n = snprintf(out, cap,
			     "key changed on %s, signed by the old key (%s); the new key was "
			     "verified in person",
			     when, fp);
	} else if (r.flags & PL_ROT_OLD_VERIFIED) {
		*state = "signed-by-verified";
		n = snprintf(out, cap,
			     "key changed — the change is signed by the key you verified (%s, "
			     "on %s); accept it (parley contact trust-rotation %s) or compare the "
			     "safety number again (parley contact verify %s SAFETY_NUMBER)",
			     fp, when, c->name, c->name);
	} else {
		*state = "unverified";
		n = snprintf(out, cap,
			     "key changed on %s, signed by a key you had not verified (%s); still "
			     "unverified: compare the safety number in person (parley contact "
			     "verify %s SAFETY_NUMBER)",
			     when, fp, c->name);
	}
	return n >= 0 ? 1 : -1;
}

/* The path a note or move took (proximity talks): "path" is {"route":
 * "direct"} or the mediator's part (client/via.h). */
static void path_json(json_t *j, pl_vault *v, const pl_item *it)
{
	json_t *p = pl_via_path_json(v, it);
	json_object_set_new(j, "path", p ? p : json_pack("{s:s}", "route", "direct"));
	/* A move the mediator held back never reached its recipient: its
	 * author must not read "delivered" (which was only to the mediator). */
	const char *st = json_string_value(json_object_get(j, "state"));
	const char *pst = p ? json_string_value(json_object_get(p, "state")) : NULL;
	if (st != NULL && pst != NULL && strcmp(pst, "held") == 0 &&
	    (strcmp(st, "queued") == 0 || strcmp(st, "delivered") == 0 ||
	     strcmp(st, "fetched") == 0))
		json_object_set_new(j, "state", json_string("held"));
}

/* The JSON of an item whose object o is already decoded. */
static json_t *obj_item_json(pl_vault *v, const pl_item *it, const pl_obj *o, uint64_t now)
{
	json_t *j = item_head(v, it);
	json_object_set_new(j, "kind", json_string(pl_obj_type_to_str(o->type)));
	json_object_set_new(j, "state", json_string(pl_nego_effective_state(it, o, now)));
	object_json(j, v, it, o);
	return j;
}

/* An agreement delivered to us as the mediator it names (kind 13): the
 * parties by the names we know them by and the full terms. */
static json_t *agreement_item_json(pl_vault *v, const pl_item *it)
{
	json_t *j = item_head(v, it);
	pl_obj *P = calloc(1, sizeof *P), *A = calloc(1, sizeof *A);
	uint8_t ph[PL_OBJ_HASH_LEN], ah[PL_OBJ_HASH_LEN];
	json_object_set_new(j, "kind", json_string("agreement"));
	if (P == NULL || A == NULL ||
	    pl_agreed_decode(P, A, ph, ah, it->body.p, it->body.n, NULL) != 0) {
		json_object_set_new(j, "kind", json_string("unreadable"));
		free(P);
		free(A);
		return j;
	}
	char names[2][PL_NAME_MAX + PL_FINGERPRINT_LEN + 1];
	for (int i = 0; i < 2; i++) {
		pl_contact c;
		const uint8_t *ik = i ? P->recipient_ik : P->author_ik;
		if (pl_vault_contact_by_ik(v, ik, &c, NULL) == 0)
			snprintf(names[i], sizeof names[i], "%s", c.name);
		else
			pl_fingerprint(names[i], ik);
		sodium_memzero(&c, sizeof c);
	}
	int done = strcmp(it->state, "guaranteed") == 0;
	json_object_set_new(j, "state", json_string(done ? "guaranteed" : "awaiting guarantee"));
	json_object_set_new(j, "proposer", json_string(names[0]));
	json_object_set_new(j, "accepter", json_string(names[1]));
	char pid[PL_OBJ_ID_HEX_LEN], aid[PL_OBJ_ID_HEX_LEN], text[600];
	pl_obj_id_hex(pid, P->id);
	pl_obj_id_hex(aid, A->id);
	json_object_set_new(j, "proposal", json_string(pid));
	json_object_set_new(j, "acceptance", json_string(aid));
	snprintf(text, sizeof text, "agreement between %s and %s naming you as guarantor — %s",
		 names[0], names[1],
		 done ? "you guaranteed it" : "awaiting your guarantee (parley guarantee ID)");
	json_object_set_new(j, "text", json_string(text));
	/* the terms from the proposer's side: it "sends" them to the accepter */
	pl_item pi;
	memset(&pi, 0, sizeof pi);
	snprintf(pi.contact, sizeof pi.contact, "%.*s", (int)sizeof pi.contact - 1, names[1]);
	pi.dir = PL_DIR_OUT;
	json_t *t = json_pack("{s:s, s:s, s:s, s:s}", "from", names[0], "to", names[1], "direction",
			      "out", "state", done ? "guaranteed" : "accepted");
	proposal_json(t, v, &pi, &P->u.proposal);
	/* commitments named from the proposer's side */
	json_t *cm = json_object_get(t, "commitments");
	size_t k;
	json_t *c;
	json_array_foreach(cm, k, c)
	{
		const char *role = json_string_value(json_object_get(c, "role"));
		if (role && strcmp(role, "author") == 0)
			json_object_set_new(c, "by", json_string(names[0]));
	}
	json_object_set_new(j, "terms", t);
	free(P);
	free(A);
	return j;
}

json_t *pl_cli_item_json(pl_vault *v, const pl_item *it, uint64_t now)
{
	if (it->kind == PL_KIND_AGREEMENT)
		return agreement_item_json(v, it);
	/* proximity talks: carried, forwarded and custody notices */
	json_t *vj = pl_via_item_json(v, it, pl_cli_item_json, now);
	if (vj != NULL)
		return vj;
	if (it->kind == PL_KIND_ROTATE) {
		json_t *j = item_head(v, it);
		rotation_item_json(j, it);
		return j;
	}
	if (it->kind == PL_KIND_INTRODUCE) {
		/* Sent by this vault (received ones are not stored as items). */
		json_t *j = item_head(v, it);
		pl_introduction s;
		char fp[PL_FINGERPRINT_LEN], text[200];
		json_object_set_new(j, "kind", json_string("introduction"));
		if (pl_introduction_decode(&s, it->body.p, it->body.n) != 0) {
			json_object_set_new(j, "kind", json_string("unreadable"));
			return j;
		}
		pl_fingerprint(fp, s.introduced_ik);
		snprintf(text, sizeof text, "introduction of %s (fingerprint %s), signed by %s",
			 s.name, fp, it->dir == PL_DIR_OUT ? "this vault" : "them");
		json_object_set_new(j, "text", json_string(text));
		return j;
	}
	if (it->kind == PL_KIND_MATCH) {
		json_t *j = item_head(v, it);
		char text[256];
		pl_match_item_text(it, text, sizeof text);
		json_object_set_new(j, "kind", json_string("blind match"));
		json_object_set_new(j, "text", json_string(text));
		return j;
	}
	if (it->kind == PL_KIND_PLAN) {
		json_t *j = item_head(v, it);
		char text[512];
		pl_plan_item_text(it, text, sizeof text);
		json_object_set_new(j, "kind", json_string("plan"));
		json_object_set_new(j, "text", json_string(text));
		return j;
	}
	if (it->kind == PL_KIND_NOTE) {
		json_t *j = item_head(v, it);
		json_object_set_new(j, "text", json_stringn((const char *)it->body.p, it->body.n));
		path_json(j, v, it);
		return j;
	}
	if (it->kind == PL_KIND_RESTORED && it->body.n == PL_RESTORED_LEN) {
		/* Checked on receipt (payload_kind_ok): how ‖ date. */
		json_t *j = item_head(v, it);
		char when[PL_RFC3339_LEN], text[200];
		uint64_t date = pl_be64_get(it->body.p + 1);
		int copy = it->body.p[0] == PL_RESTORED_COPY;
		pl_time_rfc3339(when, date);
		snprintf(text, sizeof text, "%s %s; messages after it may be missing",
			 copy ? "put back an older copy of its vault, from"
			      : "restored from a backup of",
			 date ? when : "an unknown date");
		json_object_set_new(j, "kind", json_string("restored"));
		json_object_set_new(j, "restored_from", date ? json_string(when) : json_null());
		json_object_set_new(j, "how", json_string(copy ? "copy" : "backup"));
		json_object_set_new(j, "text", json_string(text));
		return j;
	}
	pl_obj *o = calloc(1, sizeof *o);
	if (o == NULL || pl_obj_decode_signed(o, it->body.p, it->body.n, NULL) != 0) {
		json_t *j = item_head(v, it);
		json_object_set_new(j, "kind", json_string("unreadable"));
		free(o);
		return j;
	}
	json_t *j = obj_item_json(v, it, o, now);
	path_json(j, v, it);
	free(o);
	return j;
}

/* --- plain text ------------------------------------------------------------ */

static const char *str(json_t *j, const char *key)
{
	const char *s = json_string_value(json_object_get(j, key));
	return s ? s : "";
}

/* A time as stored (RFC 3339 UTC) and in the reader's zone. */
static void print_time(FILE *f, const char *rfc3339)
{
	uint64_t t;
	char buf[128];
	if (pl_time_parse_rfc3339(&t, rfc3339) != 0) {
		fputs(rfc3339, f);
		return;
	}
	pl_cli_time_text(buf, sizeof buf, t);
	fputs(buf, f);
}

/* Free text that may hold several lines: each further line indented. */
static void print_text(FILE *f, const char *label, const char *text)
{
	if (text == NULL || *text == '\0')
		return;
	fprintf(f, "\n    %s: ", label);
	for (const char *p = text; *p; p++) {
		if (*p == '\n')
			fprintf(f, "\n    %*s", (int)strlen(label) + 2, "");
		else
			fputc(*p, f);
	}
}

/* One person of a move, everything the other side signed about them. */
static void print_person(FILE *f, json_t *p, const char *indent)
{
	fprintf(f, "%s%s", indent, str(p, "name"));
	static const char *const fields[][2] = {
	    {"nationality", "nationality"},  {"born", "born"},
	    {"held_by", "held by"},	     {"since", "since"},
	    {"charges", "charges"},	     {"sentence", "sentence"},
	    {"humanitarian", "humanitarian"}};
	const char *sep = " (";
	for (size_t i = 0; i < sizeof fields / sizeof fields[0]; i++) {
		const char *x = str(p, fields[i][0]);
		if (*x == '\0')
			continue;
		fprintf(f, "%s%s: %s", sep, fields[i][1], x);
		sep = "; ";
	}
	if (strcmp(sep, "; ") == 0)
		fputc(')', f);
	if (json_is_true(json_object_get(p, "unknown")))
		fputs(" [not in your case file]", f);
	json_t *ours = json_object_get(p, "our_record");
	if (json_is_object(ours)) {
		fprintf(f, " [described differently: your record %lld says %s, held by %s",
			(long long)json_integer_value(json_object_get(ours, "id")),
			str(ours, "name"), str(ours, "held_by"));
		if (*str(ours, "nationality"))
			fprintf(f, ", nationality %s", str(ours, "nationality"));
		if (*str(ours, "born"))
			fprintf(f, ", born %s", str(ours, "born"));
		fputc(']', f);
	}
}

static void print_release(FILE *f, const char *party, json_t *arr)
{
	size_t i;
	json_t *p;
	fprintf(f, "\n    %s releases:", party);
	if (json_array_size(arr) == 0)
		fputs(" nobody", f);
	json_array_foreach(arr, i, p)
	{
		fputc('\n', f);
		print_person(f, p, "      - ");
	}
}

static void print_proposal(FILE *f, json_t *j)
{
	int out = strcmp(str(j, "direction"), "out") == 0;
	/* the author (from) releases what the JSON calls we_release when it is
	 * ours, they_release when it is theirs */
	print_release(f, str(j, "from"), json_object_get(j, out ? "we_release" : "they_release"));
	print_release(f, str(j, "to"), json_object_get(j, out ? "they_release" : "we_release"));
	json_t *conds = json_object_get(j, "conditions");
	size_t i;
	json_t *c;
	fputs("\n    conditions:", f);
	if (json_array_size(conds) == 0)
		fputs(" none", f);
	json_array_foreach(conds, i, c) fprintf(f, "\n      %zu. %s", i + 1, json_string_value(c));
	const char *place = str(j, "place");
	fprintf(f, "\n    place: %s", *place ? place : "not stated");
	const char *seq = str(j, "sequencing");
	fprintf(f, "\n    sequencing: %s",
		strcmp(seq, "simultaneous") == 0
		    ? "simultaneous (both sides release at the same time)"
		: strcmp(seq, "staged") == 0 ? "staged (in steps, one side after the other)"
					     : "not stated");
	json_t *m = json_object_get(j, "mediator");
	if (json_is_object(m))
		fprintf(f, "\n    mediator: %s (key %s)", str(m, "name"), str(m, "key"));
	else
		fputs("\n    mediator: none", f);
	json_t *exp = json_object_get(j, "expires");
	fputs("\n    expires: ", f);
	if (json_is_string(exp))
		print_time(f, json_string_value(exp));
	else
		fputs("never", f);
	json_t *sup = json_object_get(j, "supersedes");
	if (json_is_string(sup))
		fprintf(f, "\n    counters: proposal %s", json_string_value(sup));
	json_t *cm = json_object_get(j, "commitments");
	if (json_array_size(cm) > 0) {
		fputs("\n    commitments:", f);
		json_array_foreach(cm, i, c)
		{
			const char *role = str(c, "role");
			fprintf(f, "\n      - %s%s: %s", str(c, "by"),
				strcmp(role, "mediator") == 0
				    ? " (the mediator, bound once it guarantees)"
				    : "",
				str(c, "text"));
		}
	}
	if (strcmp(str(j, "state"), "guaranteed") == 0 && json_is_object(m))
		fprintf(f,
			"\n    GUARANTEED by %s, the mediator named: it countersigned the "
			"agreement",
			str(m, "name"));
	if (strcmp(str(j, "state"), "disputed") == 0)
		fprintf(f, "\n    DISPUTED: an acceptance and a withdrawal crossed in flight; "
			   "the two sides hold different last moves and there is no "
			   "agreement. Agree on a new proposal.");
}

/* Proximity talks: the path of a move that went through a mediator, and
 * what a mediator carries. A direct move prints nothing more. */
static void print_path(FILE *f, json_t *j)
{
	json_t *c = json_object_get(j, "carried");
	if (json_is_object(c)) {
		fprintf(f, "\n    carried for %s: %s", str(c, "to"), str(c, "text"));
		return;
	}
	json_t *p = json_object_get(j, "path");
	if (!json_is_object(p) || strcmp(str(p, "route"), "via") != 0)
		return;
	fprintf(f, "\n    path: via %s (the mediator reads what it carries)", str(p, "mediator"));
	if (json_is_string(json_object_get(p, "carried"))) {
		fputs("; carried ", f);
		print_time(f, str(p, "carried"));
	}
	const char *st = str(p, "state");
	if (strcmp(st, "held") == 0) {
		fprintf(f, "\n    HELD by %s on ", str(p, "mediator"));
		print_time(f, str(p, "held"));
		fprintf(f, ": %s", str(p, "reason"));
	} else if (json_is_string(json_object_get(p, "forwarded"))) {
		fputs("; forwarded ", f);
		print_time(f, str(p, "forwarded"));
	} else {
		fprintf(f, "; waiting with %s (not passed on yet)", str(p, "mediator"));
	}
	if (*str(p, "note"))
		fprintf(f, "\n    mediator's note: %s", str(p, "note"));
	if (json_is_string(json_object_get(p, "vouched_by")))
		fprintf(f, "\n    vouched for by %s", str(p, "vouched_by"));
}

static void print_item_json(FILE *f, json_t *j)
{
	const char *kind = str(j, "kind");
	print_time(f, str(j, "time"));
	fprintf(f, "  %s  %s -> %s  %s [%s]", str(j, "id"), str(j, "from"), str(j, "to"), kind,
		str(j, "state"));
	if (json_object_get(j, "key_introduced_by"))
		fprintf(f, " (key introduced by %s, not verified in person)",
			str(j, "key_introduced_by"));
	if (strcmp(kind, "proposal") == 0) {
		print_proposal(f, j);
	} else if (strcmp(kind, "response") == 0) {
		const char *r = str(j, "response");
		fprintf(f, "\n    %s proposal %s",
			strcmp(r, "accept") == 0     ? "accepts"
			: strcmp(r, "reject") == 0   ? "rejects"
			: strcmp(r, "withdraw") == 0 ? "withdraws"
						     : r,
			str(j, "target"));
		print_text(f, "reason", str(j, "text"));
	} else if (strcmp(kind, "request") == 0) {
		fprintf(f, "\n    asks for %s (%s) for:\n", str(j, "request"), str(j, "urgency"));
		print_person(f, json_object_get(j, "detainee"), "      ");
		print_text(f, "text", str(j, "text"));
	} else if (strcmp(kind, "answer") == 0) {
		const char *d = str(j, "decision");
		fprintf(f, "\n    %s request %s",
			strcmp(d, "grant") == 0	 ? "grants"
			: strcmp(d, "deny") == 0 ? "denies"
						 : d,
			str(j, "target"));
		print_text(f, "text", str(j, "text"));
	} else if (strcmp(kind, "outreach") == 0) {
		print_text(f, "topic", str(j, "text"));
	} else if (strcmp(kind, "agreement") == 0) {
		fprintf(f, "\n    %s", str(j, "text"));
		fprintf(f, "\n    proposal %s by %s, accepted by %s (acceptance %s); terms:",
			str(j, "proposal"), str(j, "proposer"), str(j, "accepter"),
			str(j, "acceptance"));
		print_proposal(f, json_object_get(j, "terms"));
	} else if (strcmp(kind, "guarantee") == 0) {
		fprintf(
		    f,
		    "\n    guarantees, as mediator, the agreement on proposal %s (acceptance %s)",
		    str(j, "target"), str(j, "acceptance"));
		print_text(f, "text", str(j, "text"));
	} else {
		print_text(f, "text", str(j, "text"));
	}
	print_path(f, j);
	fputc('\n', f);
}

void pl_cli_item_fprint(FILE *f, pl_vault *v, const pl_item *it, uint64_t now)
{
	json_t *j = pl_cli_item_json(v, it, now);
	print_item_json(f, j);
	json_decref(j);
}

void pl_cli_item_print(pl_vault *v, const pl_item *it, uint64_t now)
{
	pl_cli_item_fprint(stdout, v, it, now);
}

void pl_cli_obj_print(FILE *f, pl_vault *v, const char *contact, const pl_obj *o)
{
	pl_item it;
	memset(&it, 0, sizeof it);
	memcpy(it.id, o->id, PL_OBJ_ID_LEN);
	snprintf(it.contact, sizeof it.contact, "%s", contact);
	it.dir = PL_DIR_OUT;
	it.kind = PL_KIND_OBJECT;
	it.time = o->created;
	snprintf(it.state, sizeof it.state, "not yet signed");
	json_t *j = obj_item_json(v, &it, o, o->created);
	print_item_json(f, j);
	json_decref(j);
}

int pl_cli_match_part(const pl_item *it)
{
	pl_match_msg m;
	return it->kind == PL_KIND_MATCH &&
	       (pl_match_msg_decode(&m, it->body.p, it->body.n) != 0 || m.step != PL_MATCH_COMMIT);
}
