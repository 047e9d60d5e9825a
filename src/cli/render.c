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

#include "client/nego.h"
#include "client/rotate.h"
#include "envelope/envelope.h"
#include "util/codec.h"

static json_t *person_json(pl_vault *v, const char *contact, const pl_person *p)
{
	char ref[2 * PL_OBJ_REF_LEN + 1];
	pl_hex_encode(ref, p->ref, PL_OBJ_REF_LEN);
	json_t *j =
	    json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:i}", "ref", ref, "name",
		      p->name, "held_by", p->held_by, "nationality", p->nationality, "born",
		      p->born, "since", p->since, "charges", p->charges, "sentence", p->sentence,
		      "humanitarian", p->humanitarian, "priority", (int)p->priority);
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
		int differs = strcmp(c.name, p->name) != 0 || strcmp(c.held_by, p->held_by) != 0;
		json_object_set_new(j, "differs", json_boolean(differs));
		if (differs)
			json_object_set_new(j, "our_record",
					    json_pack("{s:I, s:s, s:s}", "id", (json_int_t)c.id,
						      "name", c.name, "held_by", c.held_by));
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
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "id", id, "kind", "note", "from",
			 from, "to", to, "time", when, "direction",
			 it->dir == PL_DIR_OUT ? "out" : "in", "state", it->state);
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

json_t *pl_cli_item_json(pl_vault *v, const pl_item *it, uint64_t now)
{
	json_t *j = item_head(v, it);
	if (it->kind == PL_KIND_ROTATE) {
		rotation_item_json(j, it);
		return j;
	}
	if (it->kind == PL_KIND_NOTE) {
		json_object_set_new(j, "text", json_stringn((const char *)it->body.p, it->body.n));
		return j;
	}
	pl_obj *o = calloc(1, sizeof *o);
	if (o == NULL || pl_obj_decode_signed(o, it->body.p, it->body.n, NULL) != 0) {
		json_object_set_new(j, "kind", json_string("unreadable"));
		free(o);
		return j;
	}
	json_object_set_new(j, "kind", json_string(pl_obj_type_to_str(o->type)));
	json_object_set_new(j, "state", json_string(pl_nego_effective_state(it, o, now)));
	object_json(j, v, it, o);
	free(o);
	return j;
}

static void print_names(json_t *arr)
{
	size_t i;
	json_t *p;
	if (json_array_size(arr) == 0) {
		printf("nobody");
		return;
	}
	json_array_foreach(arr, i, p)
	{
		printf("%s%s%s", i ? ", " : "", json_string_value(json_object_get(p, "name")),
		       json_is_true(json_object_get(p, "unknown")) ? " (unknown to you)" : "");
	}
}

void pl_cli_item_print(pl_vault *v, const pl_item *it, uint64_t now)
{
	json_t *j = pl_cli_item_json(v, it, now);
	const char *kind = json_string_value(json_object_get(j, "kind"));
	printf("%s  %s  %-14s %-9s [%s]", json_string_value(json_object_get(j, "time")),
	       json_string_value(json_object_get(j, "id")),
	       json_string_value(json_object_get(j, "from")), kind,
	       json_string_value(json_object_get(j, "state")));
	if (strcmp(kind, "proposal") == 0) {
		printf("\n    we release: ");
		print_names(json_object_get(j, "we_release"));
		printf("\n    they release: ");
		print_names(json_object_get(j, "they_release"));
		const char *place = json_string_value(json_object_get(j, "place"));
		if (place && *place)
			printf("\n    place: %s", place);
		json_t *exp = json_object_get(j, "expires");
		if (json_is_string(exp))
			printf("\n    expires: %s", json_string_value(exp));
		json_t *sup = json_object_get(j, "supersedes");
		if (json_is_string(sup))
			printf("\n    counters: %s", json_string_value(sup));
		if (strcmp(json_string_value(json_object_get(j, "state")), "disputed") == 0)
			printf("\n    DISPUTED: an acceptance and a withdrawal crossed in flight; "
			       "the two sides hold different last moves and there is no "
			       "agreement. Agree on a new proposal.");
	} else if (strcmp(kind, "response") == 0) {
		printf("\n    %s %s", json_string_value(json_object_get(j, "response")),
		       json_string_value(json_object_get(j, "target")));
	} else if (strcmp(kind, "request") == 0) {
		printf("\n    %s (%s) for %s", json_string_value(json_object_get(j, "request")),
		       json_string_value(json_object_get(j, "urgency")),
		       json_string_value(json_object_get(json_object_get(j, "detainee"), "name")));
	} else if (strcmp(kind, "answer") == 0) {
		printf("\n    %s %s", json_string_value(json_object_get(j, "decision")),
		       json_string_value(json_object_get(j, "target")));
	}
	const char *text = json_string_value(json_object_get(j, "text"));
	if (text && *text)
		printf("\n    %s", text);
	putchar('\n');
	json_decref(j);
}
