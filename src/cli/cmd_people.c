/* cmd_people.c — `parley people`: where each named detainee stands, across
 * every thread, every move carried as mediator, every agreement held and
 * every execution plan of this vault. The mediator's overview (issue 15),
 * useful to a party too. Only signed objects the vault verified count:
 * each is decoded again through its one door (pl_obj_decode_signed). A
 * person is the name and holder the objects give; the two sides' records
 * of one person are matched by those words, not by a shared identifier. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "client/plan.h"
#include "envelope/envelope.h"
#include "negotiation/agreed.h"
#include "negotiation/custody.h"
#include "util/codec.h"

#define PEOPLE_MAX 512

typedef struct {
	char name[PL_PERSON_NAME_MAX + 1];
	char held_by[PL_PERSON_HELD_BY_MAX + 1];
	char nationality[PL_PERSON_NATIONALITY_MAX + 1];
	json_t *moves; /* proposals and requests naming the person */
	json_t *plans; /* plans carrying out an agreement that names them */
} person;

typedef struct {
	pl_vault *v;
	person *p;
	size_t n;
} board;

static void party_name(pl_vault *v, const uint8_t ik[static PL_IK_LEN], char *out, size_t cap)
{
	pl_contact c;
	if (sodium_memcmp(ik, pl_vault_identity(v)->pk, PL_IK_LEN) == 0)
		snprintf(out, cap, "%s (you)", pl_vault_name(v));
	else if (pl_vault_contact_by_ik(v, ik, &c, NULL) == 0)
		snprintf(out, cap, "%s", c.name);
	else
		snprintf(out, cap, "an unknown party");
	sodium_memzero(&c, sizeof c);
}

static person *find_person(board *b, const pl_person *x)
{
	for (size_t i = 0; i < b->n; i++)
		if (strcmp(b->p[i].name, x->name) == 0 && strcmp(b->p[i].held_by, x->held_by) == 0)
			return &b->p[i];
	if (b->n == PEOPLE_MAX)
		return NULL;
	person *p = &b->p[b->n++];
	snprintf(p->name, sizeof p->name, "%s", x->name);
	snprintf(p->held_by, sizeof p->held_by, "%s", x->held_by);
	snprintf(p->nationality, sizeof p->nationality, "%s", x->nationality);
	p->moves = json_array();
	p->plans = json_array();
	return p;
}

/* Adds (or, from a source that knows more, updates) the entry of object id
 * in the person's moves. rank: 1 carried, 2 in a thread, 3 held as the
 * agreement's mediator. */
static void add_move(person *p, const char *id, json_t *entry, int rank)
{
	size_t i;
	json_t *m;
	json_object_set_new(entry, "rank", json_integer(rank));
	json_array_foreach(p->moves, i, m)
	{
		if (strcmp(json_string_value(json_object_get(m, "id")), id) != 0)
			continue;
		if (json_integer_value(json_object_get(m, "rank")) < rank)
			json_array_set(p->moves, i, entry);
		json_decref(entry);
		return;
	}
	json_array_append_new(p->moves, entry);
}

static void add_object(board *b, const pl_obj *o, const char *state, const char *where, int rank)
{
	char id[PL_OBJ_ID_HEX_LEN], author[PL_NAME_MAX + 8], recip[PL_NAME_MAX + 8];
	pl_obj_id_hex(id, o->id);
	party_name(b->v, o->author_ik, author, sizeof author);
	party_name(b->v, o->recipient_ik, recip, sizeof recip);
	if (o->type == PL_OBJ_PROPOSAL) {
		const pl_proposal *pr = &o->u.proposal;
		for (int side = 0; side < 2; side++) {
			size_t n = side == 0 ? pr->n_author : pr->n_recipient;
			const pl_person *ps = side == 0 ? pr->author : pr->recipient;
			for (size_t k = 0; k < n; k++) {
				person *p = find_person(b, &ps[k]);
				if (p == NULL)
					return;
				add_move(p, id,
					 json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "kind",
						   "proposal", "id", id, "state", state,
						   "released_by", side == 0 ? author : recip, "to",
						   side == 0 ? recip : author, "where", where),
					 rank);
			}
		}
	} else if (o->type == PL_OBJ_REQUEST) {
		person *p = find_person(b, &o->u.request.person);
		if (p == NULL)
			return;
		add_move(p, id,
			 json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s}", "kind", "request", "id",
				   id, "state", state, "request",
				   pl_obj_request_kind_to_str(o->u.request.kind), "urgency",
				   pl_obj_urgency_to_str(o->u.request.urgency), "asked_by", author,
				   "where", where),
			 rank);
	}
}

/* The signed object an item holds, whatever way it came: 0 and *o, or -1. */
static int item_object(const pl_item *it, pl_obj *o)
{
	const uint8_t *pb = it->body.p, *ab;
	size_t pn = it->body.n, an;
	if (it->kind == PL_KIND_CARRY) {
		pl_carry c;
		if (pl_carry_decode(&c, it->body.p, it->body.n, NULL) != 0 ||
		    c.what != PL_CARRY_OBJECT)
			return -1;
		pb = c.inner;
		pn = c.innerlen;
	} else if (it->kind == PL_KIND_AGREEMENT) {
		if (pl_agreed_split(it->body.p, it->body.n, &pb, &pn, &ab, &an) != 0)
			return -1;
	} else if (it->kind != PL_KIND_OBJECT) {
		return -1;
	}
	return pl_obj_decode_signed(o, pb, pn, NULL);
}

static void gather_objects(board *b, const pl_item *items, size_t n, pl_obj *o, uint64_t now)
{
	for (size_t i = 0; i < n; i++) {
		const pl_item *it = &items[i];
		if (item_object(it, o) != 0)
			continue;
		char where[PL_NAME_MAX + 48];
		int rank = 2;
		const char *state = it->state;
		if (it->kind == PL_KIND_CARRY) {
			snprintf(where, sizeof where, "carried by you from %s", it->contact);
			rank = 1;
		} else if (it->kind == PL_KIND_AGREEMENT) {
			snprintf(where, sizeof where, "agreement naming you as mediator");
			rank = 3;
		} else {
			snprintf(where, sizeof where, "thread with %s", it->contact);
			state = pl_nego_effective_state(it, o, now);
		}
		add_object(b, o, state, where, rank);
	}
}

/* Each plan this vault holds, beside every person its agreement names. */
static void gather_plans(board *b, const pl_item *items, size_t n)
{
	uint8_t seen[64][PL_PLAN_ID_LEN];
	size_t ns = 0;
	for (size_t i = 0; i < n && ns < 64; i++) {
		if (items[i].kind != PL_KIND_PLAN)
			continue;
		int dup = 0;
		for (size_t k = 0; k < ns && !dup; k++)
			dup = memcmp(seen[k], items[i].id, PL_PLAN_ID_LEN) == 0;
		json_t *j = NULL;
		pl_err e;
		pl_err_clear(&e);
		if (dup || pl_plan_show(b->v, items[i].id, &j, NULL, &e) != 0)
			continue; /* an acceptance or attestation, not a plan */
		memcpy(seen[ns++], items[i].id, PL_PLAN_ID_LEN);
		const char *prop =
		    json_string_value(json_object_get(json_object_get(j, "agreement"), "proposal"));
		const char *next = NULL, *next_state = NULL;
		size_t k, confirmed = 0;
		json_t *st, *steps = json_object_get(j, "steps");
		json_array_foreach(steps, k, st)
		{
			const char *s = json_string_value(json_object_get(st, "state"));
			if (s && strcmp(s, "confirmed") == 0)
				confirmed++;
			else if (next == NULL) {
				next = json_string_value(json_object_get(st, "id"));
				next_state = s;
			}
		}
		for (size_t p = 0; prop && p < b->n; p++) {
			size_t m;
			json_t *mv;
			json_array_foreach(b->p[p].moves, m, mv)
			{
				const char *id = json_string_value(json_object_get(mv, "id"));
				if (id == NULL || strcmp(id, prop) != 0)
					continue;
				json_t *e2 = json_pack(
				    "{s:s, s:s, s:s, s:I, s:I}", "plan",
				    json_string_value(json_object_get(j, "plan")), "agreement",
				    prop, "status", json_string_value(json_object_get(j, "status")),
				    "steps_confirmed", (json_int_t)confirmed, "steps",
				    (json_int_t)json_array_size(steps));
				if (next) {
					json_object_set_new(e2, "next_step", json_string(next));
					json_object_set_new(
					    e2, "next_step_state",
					    json_string(next_state ? next_state : ""));
				}
				json_array_append_new(b->p[p].plans, e2);
				break;
			}
		}
		json_decref(j);
	}
}

static void print_person(const person *p)
{
	size_t i;
	json_t *m;
	printf("%s (held by %s%s%s)\n", p->name, p->held_by, p->nationality[0] ? ", " : "",
	       p->nationality);
	json_array_foreach(p->moves, i, m)
	{
		const char *kind = json_string_value(json_object_get(m, "kind"));
		if (strcmp(kind, "proposal") == 0)
			printf("  proposal %s [%s]: released by %s to %s; %s\n",
			       json_string_value(json_object_get(m, "id")),
			       json_string_value(json_object_get(m, "state")),
			       json_string_value(json_object_get(m, "released_by")),
			       json_string_value(json_object_get(m, "to")),
			       json_string_value(json_object_get(m, "where")));
		else
			printf("  %s request %s [%s], %s, asked by %s; %s\n",
			       json_string_value(json_object_get(m, "request")),
			       json_string_value(json_object_get(m, "id")),
			       json_string_value(json_object_get(m, "state")),
			       json_string_value(json_object_get(m, "urgency")),
			       json_string_value(json_object_get(m, "asked_by")),
			       json_string_value(json_object_get(m, "where")));
	}
	json_array_foreach(p->plans, i, m)
	{
		const char *next = json_string_value(json_object_get(m, "next_step"));
		printf("  plan %s [%s] for proposal %s: %lld of %lld steps confirmed",
		       json_string_value(json_object_get(m, "plan")),
		       json_string_value(json_object_get(m, "status")),
		       json_string_value(json_object_get(m, "agreement")),
		       (long long)json_integer_value(json_object_get(m, "steps_confirmed")),
		       (long long)json_integer_value(json_object_get(m, "steps")));
		if (next)
			printf("; next: %s (%s)", next,
			       json_string_value(json_object_get(m, "next_step_state")));
		printf("\n");
	}
}

int pl_cmd_people(pl_cli *cli, int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return pl_cli_usage("people", "people takes no arguments");
	pl_err e;
	pl_err_clear(&e);
	pl_vault *v;
	if (pl_cli_open_vault(cli, &v, &e) != 0)
		return pl_cli_fail(&e);
	pl_item *items = NULL;
	size_t n = 0;
	board b = {.v = v, .p = calloc(PEOPLE_MAX, sizeof(person)), .n = 0};
	pl_obj *o = calloc(1, sizeof *o);
	if (b.p == NULL || o == NULL || pl_vault_item_list(v, NULL, &items, &n, &e) != 0) {
		free(b.p);
		free(o);
		pl_vault_close(v);
		if (e.msg[0] == '\0')
			pl_err_set(&e, PL_EXIT_ERROR, "out of memory");
		return pl_cli_fail(&e);
	}
	gather_objects(&b, items, n, o, pl_now());
	gather_plans(&b, items, n);
	json_t *arr = cli->json ? json_array() : NULL;
	for (size_t i = 0; i < b.n; i++) {
		size_t k;
		json_t *m;
		json_array_foreach(b.p[i].moves, k, m) json_object_del(m, "rank");
		if (arr)
			json_array_append_new(arr,
					      json_pack("{s:s, s:s, s:s, s:O, s:O}", "name",
							b.p[i].name, "held_by", b.p[i].held_by,
							"nationality", b.p[i].nationality, "moves",
							b.p[i].moves, "plans", b.p[i].plans));
		else
			print_person(&b.p[i]);
		json_decref(b.p[i].moves);
		json_decref(b.p[i].plans);
	}
	if (arr)
		pl_cli_json_out(arr);
	else if (b.n == 0)
		printf("no signed move in this vault names anyone yet\n");
	pl_vault_items_free(items, n);
	free(b.p);
	free(o);
	pl_vault_close(v);
	return PL_EXIT_OK;
}
