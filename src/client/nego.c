/*
 * nego.c — the negotiation engine (see nego.h). Objects are stored as items
 * of kind PL_KIND_OBJECT whose body is the exact signed bytes and whose id is
 * the object id; an item's state column carries the state machine of
 * docs/NEGOTIATION.md.
 *
 * What it must never do: accept or apply a received object that does not
 * verify under the sender's pinned key, is not addressed to us, or names an
 * object we do not hold with those exact bytes; write anything for a move it
 * refuses.
 */
#include "client/nego.h"

#include <jansson.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "client/guarantee.h"
#include "client/logq.h"
#include "client/match.h"
#include "client/messenger.h"
#include "client/plan.h"
#include "client/via.h"
#include "envelope/envelope.h"
#include "export/agreement.h"
#include "export/document.h"
#include "export/pdf.h"
#include "log/receipt.h"
#include "export/thread.h"
#include "util/text.h"
#include "util/codec.h"
#include "util/file.h"

/* --- helpers ---------------------------------------------------------------- */

static int is_open(const char *state)
{
	return strcmp(state, "queued") == 0 || strcmp(state, "delivered") == 0 ||
	       strcmp(state, "fetched") == 0 || strcmp(state, "received") == 0;
}

static pl_obj *obj_new(pl_err *e)
{
	pl_obj *o = calloc(1, sizeof *o);
	if (o == NULL)
		pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	return o;
}

/* Decodes (and verifies) the signed object an item holds. */
static int item_obj(const pl_item *it, pl_obj *o, pl_err *e)
{
	if (it->kind != PL_KIND_OBJECT)
		return pl_err_set(e, PL_EXIT_USAGE, "that item is a note, not a negotiation move");
	return pl_obj_decode_signed(o, it->body.p, it->body.n, e);
}

static int expired(const pl_obj *o, uint64_t at)
{
	return o->type == PL_OBJ_PROPOSAL && o->u.proposal.expires != 0 &&
	       at > o->u.proposal.expires;
}

const char *pl_nego_effective_state(const pl_item *it, const pl_obj *o, uint64_t now)
{
	if (o && is_open(it->state) && expired(o, now))
		return "expired";
	return it->state;
}

int pl_nego_find(pl_vault *v, const uint8_t id[static PL_OBJ_ID_LEN], pl_item *it, pl_err *e)
{
	pl_item *items;
	size_t n, found = 0, at = 0;
	if (pl_vault_item_list(v, NULL, &items, &n, e) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (items[i].kind == PL_KIND_ACK || memcmp(items[i].id, id, PL_OBJ_ID_LEN) != 0)
			continue;
		found++;
		at = i;
	}
	char hex[PL_OBJ_ID_HEX_LEN];
	pl_obj_id_hex(hex, id);
	int rc = 0;
	if (found == 0) {
		rc = pl_err_set(e, PL_EXIT_NOTFOUND,
				"no item %s in this vault; see parley inbox or parley thread NAME",
				hex);
	} else if (found > 1) {
		rc = pl_err_set(e, PL_EXIT_SECURITY,
				"two items share the id %s; refusing to guess which one you mean",
				hex);
	} else {
		*it = items[at];
		pl_wr_init(&items[at].body);
		pl_wr_init(&items[at].receipt);
	}
	pl_vault_items_free(items, n);
	return rc;
}

static void person_from_case(pl_person *p, const pl_case *c)
{
	memset(p, 0, sizeof *p);
	memcpy(p->ref, c->ref, PL_OBJ_REF_LEN);
	snprintf(p->name, sizeof p->name, "%s", c->name);
	snprintf(p->held_by, sizeof p->held_by, "%s", c->held_by);
	snprintf(p->nationality, sizeof p->nationality, "%s", c->nationality);
	snprintf(p->born, sizeof p->born, "%s", c->born);
	/* Only the shared fields travel (PL_OBJ_VERSION 2): since, charges,
	 * sentence, the internal humanitarian wording, priority and note stay
	 * in the vault. */
	snprintf(p->humanitarian, sizeof p->humanitarian, "%s", c->summary);
}

static int load_case(pl_vault *v, int64_t id, pl_case *c, pl_err *e)
{
	if (pl_vault_case_get(v, id, c, e) != 0)
		return -1;
	if (c->removed) {
		sodium_memzero(c, sizeof *c);
		return pl_err_set(e, PL_EXIT_USAGE,
				  "case record %lld was removed (parley case remove); add the "
				  "person again with parley case add to name them",
				  (long long)id);
	}
	return 0;
}

static int load_person(pl_vault *v, int64_t id, pl_person *p, pl_err *e)
{
	pl_case c;
	if (load_case(v, id, &c, e) != 0)
		return -1;
	person_from_case(p, &c);
	sodium_memzero(&c, sizeof c);
	return 0;
}

/* 1 iff held_by names party (ASCII case and surrounding blanks ignored). */
static int names_party(const char *held_by, const char *party)
{
	while (*held_by == ' ')
		held_by++;
	size_t n = strlen(held_by), m = strlen(party);
	while (n > 0 && held_by[n - 1] == ' ')
		n--;
	return n == m && strncasecmp(held_by, party, n) == 0;
}

/* The contact (other than skip) that held_by names, or NULL. */
static const char *held_by_contact(const pl_contact *cs, size_t n, const char *held_by,
				   const char *skip)
{
	for (size_t i = 0; i < n; i++)
		if ((skip == NULL || strcmp(cs[i].name, skip) != 0) &&
		    names_party(held_by, cs[i].name))
			return cs[i].name;
	return NULL;
}

/* The sanity checks of a proposal to `to`: nobody twice (same record, or
 * two records of one name), we release only people we hold, they release
 * only people they hold. A record's held by names a party when it equals
 * that party's contact name or our own name; other text (a prison) passes. */
static int sane_terms(pl_vault *v, const char *to, const pl_nego_terms *t, pl_err *e)
{
	size_t total = t->n_we + t->n_they;
	pl_contact *cs = NULL;
	size_t ncs = 0;
	int rc = -1;
	pl_case *cases = calloc(total ? total : 1, sizeof *cases);
	if (cases == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	size_t loaded = 0;
	for (; loaded < total; loaded++) {
		int64_t id = loaded < t->n_we ? t->we[loaded] : t->they[loaded - t->n_we];
		if (load_case(v, id, &cases[loaded], e) != 0)
			goto out;
	}
	for (size_t i = 0; i < total; i++)
		for (size_t j = 0; j < i; j++)
			if (strcmp(cases[i].name, cases[j].name) == 0) {
				pl_err_set(e, PL_EXIT_USAGE,
					   "records %lld and %lld both name %s; name each person "
					   "once (remove the duplicate with parley case remove)",
					   (long long)cases[j].id, (long long)cases[i].id,
					   cases[i].name);
				goto out;
			}
	if (pl_vault_contact_list(v, &cs, &ncs, e) != 0)
		goto out;
	const char *me = pl_vault_name(v);
	for (size_t i = 0; i < total; i++) {
		const pl_case *c = &cases[i];
		if (i < t->n_we) {
			const char *other = names_party(c->held_by, me)
						? NULL
						: held_by_contact(cs, ncs, c->held_by, NULL);
			if (other) {
				pl_err_set(e, PL_EXIT_USAGE,
					   "record %lld (%s) is held by %s, not by you (%s): you "
					   "cannot release them; name them with --they-release or "
					   "fix the record with parley case edit %lld --held-by",
					   (long long)c->id, c->name, other, me, (long long)c->id);
				goto out;
			}
		} else {
			const char *other = names_party(c->held_by, me)
						? me
						: held_by_contact(cs, ncs, c->held_by, to);
			if (other) {
				pl_err_set(e, PL_EXIT_USAGE,
					   "record %lld (%s) is held by %s, not by %s: %s cannot "
					   "release them; %s or fix the record with parley case "
					   "edit %lld --held-by",
					   (long long)c->id, c->name, other, to, to,
					   other == me
					       ? "name them with --we-release"
					       : "take it up with the party that holds them",
					   (long long)c->id);
				goto out;
			}
		}
	}
	rc = 0;
out:
	for (size_t i = 0; i < loaded; i++)
		sodium_memzero(&cases[i], sizeof cases[i]);
	free(cases);
	if (cs) {
		sodium_memzero(cs, ncs * sizeof *cs);
		free(cs);
	}
	return rc;
}

static int sendable_contact(pl_vault *v, const char *name, pl_contact *c, pl_err *e)
{
	if (pl_msgr_check_identity(v, e) != 0 || pl_vault_contact_get(v, name, c, e) != 0)
		return -1;
	if (pl_msgr_check_sendable(c, e) != 0) {
		sodium_memzero(c, sizeof *c);
		return -1;
	}
	return 0;
}

/* Asks cf (if any) to confirm o, signs it, then in one transaction stores it as an outgoing item,
 * queues it and (if target_seq) moves the target to target_state. */
static int commit_move(pl_vault *v, const char *contact, pl_obj *o, int64_t target_seq,
		       const char *target_state, const pl_nego_confirm *cf,
		       uint8_t id[static PL_OBJ_ID_LEN], int64_t *seq, pl_err *e)
{
	pl_wr sig;
	pl_item it;
	int rc = -1;
	pl_wr_init(&sig);
	memset(&it, 0, sizeof it);
	pl_wr_init(&it.body);
	pl_wr_init(&it.receipt);
	/* Last: every check has passed and o is complete, so what is shown is
	 * exactly what gets signed. */
	if (cf && cf->fn && cf->fn(cf->ctx, v, contact, o, e) != 0)
		goto out;
	if (pl_obj_sign(&sig, o, pl_vault_identity(v), e) != 0)
		goto out;
	if (sig.n > PL_PAYLOAD_MAX_BODY) {
		pl_err_set(e, PL_EXIT_USAGE, "the move is too large to send (%zu bytes)", sig.n);
		goto out;
	}
	pl_contact med; /* proximity talks: the mediator it goes through */
	memset(&med, 0, sizeof med);
	if (cf && cf->via && pl_via_check(v, cf->via, contact, &med, e) != 0)
		goto out;
	if (cf && cf->via && sig.n > PL_CUSTODY_INNER_MAX) {
		pl_err_set(e, PL_EXIT_USAGE, "the move is too large to pass on (%zu bytes)", sig.n);
		goto out;
	}
	memcpy(it.id, o->id, PL_OBJ_ID_LEN);
	snprintf(it.contact, sizeof it.contact, "%s", contact);
	it.dir = PL_DIR_OUT;
	it.kind = PL_KIND_OBJECT;
	it.time = o->created;
	snprintf(it.state, sizeof it.state, "queued");
	pl_wr_bytes(&it.body, sig.p, sig.n);
	if (pl_wr_ok(&it.body) != 0) {
		pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		goto out;
	}
	if (pl_vault_begin(v, e) != 0)
		goto out;
	int added = pl_vault_item_add(v, &it, e);
	if (added != 0 ||
	    (cf && cf->via ? pl_via_queue(v, &med, &it, e)
			   : pl_vault_outbox_add(v, it.seq, contact, e)) != 0 ||
	    (target_seq && pl_vault_item_set_state(v, target_seq, target_state, NULL, 0, e) != 0) ||
	    pl_vault_commit(v, e) != 0) {
		pl_vault_rollback(v);
		if (added == 1)
			pl_err_set(e, PL_EXIT_ERROR, "an item with the same id exists; try again");
		goto out;
	}
	memcpy(id, o->id, PL_OBJ_ID_LEN);
	*seq = it.seq;
	rc = 0;
out:
	sodium_memzero(&med, sizeof med);
	pl_wr_free(&sig);
	pl_vault_item_free(&it);
	return rc;
}

/* --- composing moves -------------------------------------------------------- */

int pl_nego_outreach(pl_vault *v, const char *contact, const char *topic,
		     uint8_t id[static PL_OBJ_ID_LEN], int64_t *seq, pl_err *e)
{
	return pl_nego_outreach_ex(v, contact, topic, NULL, id, seq, e);
}

int pl_nego_outreach_ex(pl_vault *v, const char *contact, const char *topic,
			const pl_nego_confirm *cf, uint8_t id[static PL_OBJ_ID_LEN], int64_t *seq,
			pl_err *e)
{
	pl_contact c;
	if (sendable_contact(v, contact, &c, e) != 0)
		return -1;
	pl_obj *o = obj_new(e);
	int rc = -1;
	if (o == NULL)
		goto out;
	pl_obj_init(o, PL_OBJ_OUTREACH);
	memcpy(o->recipient_ik, c.ik, PL_IK_LEN);
	if (pl_obj_text_ok(topic, 1, PL_OUTREACH_TOPIC_MAX, 1) != 0) {
		pl_err_set(e, PL_EXIT_USAGE, "the topic must be 1 to %d bytes of text",
			   PL_OUTREACH_TOPIC_MAX);
		goto out;
	}
	snprintf(o->u.outreach.topic, sizeof o->u.outreach.topic, "%s", topic);
	rc = commit_move(v, c.name, o, 0, NULL, cf, id, seq, e);
out:
	free(o);
	sodium_memzero(&c, sizeof c);
	return rc;
}

/* The commitments of t into p (a version 3 proposal), checked as the
 * codec will check them. */
static int fill_commitments(pl_proposal *p, const pl_nego_terms *t, pl_err *e)
{
	if (t->n_commit > PL_PROPOSAL_COMMIT_MAX)
		return pl_err_set(e, PL_EXIT_USAGE, "at most %d commitments",
				  PL_PROPOSAL_COMMIT_MAX);
	for (size_t i = 0; i < t->n_commit; i++) {
		if (pl_obj_commit_who_to_str(t->commit_who[i]) == NULL)
			return pl_err_set(e, PL_EXIT_USAGE,
					  "a commitment is taken on by we, they or mediator");
		if (t->commit_who[i] == PL_COMMIT_MEDIATOR && !p->has_mediator)
			return pl_err_set(e, PL_EXIT_USAGE,
					  "a commitment of the mediator needs a mediator; name it "
					  "with --mediator NAME");
		if (pl_obj_text_ok(t->commit[i], 1, PL_COMMIT_TEXT_MAX, 0) != 0)
			return pl_err_set(e, PL_EXIT_USAGE,
					  "each commitment must be one line of 1 to %d bytes",
					  PL_COMMIT_TEXT_MAX);
		p->commit[i].who = t->commit_who[i];
		snprintf(p->commit[i].text, sizeof p->commit[i].text, "%s", t->commit[i]);
	}
	p->n_commit = (uint8_t)t->n_commit;
	return 0;
}

static int fill_terms(pl_vault *v, const char *to, pl_obj *o, const pl_nego_terms *t, pl_err *e)
{
	pl_proposal *p = &o->u.proposal;
	if (t->n_we + t->n_they == 0)
		return pl_err_set(e, PL_EXIT_USAGE,
				  "a proposal must name at least one person that one side or the "
				  "other releases");
	if (t->n_we > PL_PROPOSAL_SIDE_MAX || t->n_they > PL_PROPOSAL_SIDE_MAX)
		return pl_err_set(e, PL_EXIT_USAGE, "at most %d people on each side",
				  PL_PROPOSAL_SIDE_MAX);
	for (size_t i = 0; i < t->n_we + t->n_they; i++) {
		int64_t a = i < t->n_we ? t->we[i] : t->they[i - t->n_we];
		for (size_t j = i + 1; j < t->n_we + t->n_they; j++) {
			int64_t b = j < t->n_we ? t->we[j] : t->they[j - t->n_we];
			if (a == b)
				return pl_err_set(e, PL_EXIT_USAGE,
						  (i < t->n_we) != (j < t->n_we)
						      ? "record %lld is named on both sides; a "
							"person can only be released by one"
						      : "record %lld is named twice",
						  (long long)a);
		}
	}
	if (t->mediator && strcmp(t->mediator, to) == 0)
		return pl_err_set(
		    e, PL_EXIT_USAGE,
		    "%s is named as mediator and is the party you propose to; propose "
		    "to the other party, or drop --mediator %s",
		    to, to);
	if (sane_terms(v, to, t, e) != 0)
		return -1;
	for (size_t i = 0; i < t->n_we; i++)
		if (load_person(v, t->we[i], &p->author[i], e) != 0)
			return -1;
	for (size_t i = 0; i < t->n_they; i++)
		if (load_person(v, t->they[i], &p->recipient[i], e) != 0)
			return -1;
	p->n_author = (uint8_t)t->n_we;
	p->n_recipient = (uint8_t)t->n_they;
	if (t->n_cond > PL_PROPOSAL_COND_MAX)
		return pl_err_set(e, PL_EXIT_USAGE, "at most %d conditions", PL_PROPOSAL_COND_MAX);
	for (size_t i = 0; i < t->n_cond; i++) {
		if (pl_obj_text_ok(t->cond[i], 1, PL_PROPOSAL_COND_LEN, 0) != 0)
			return pl_err_set(e, PL_EXIT_USAGE,
					  "each condition must be one line of 1 to %d bytes",
					  PL_PROPOSAL_COND_LEN);
		snprintf(p->cond[i], sizeof p->cond[i], "%s", t->cond[i]);
	}
	p->n_cond = (uint8_t)t->n_cond;
	if (t->place) {
		if (pl_obj_text_ok(t->place, 0, PL_PROPOSAL_PLACE_MAX, 0) != 0)
			return pl_err_set(e, PL_EXIT_USAGE,
					  "the place must be one line of at most %d bytes",
					  PL_PROPOSAL_PLACE_MAX);
		snprintf(p->place, sizeof p->place, "%s", t->place);
	}
	p->sequencing = (uint8_t)t->sequencing;
	if (t->mediator) {
		pl_contact m;
		if (pl_vault_contact_get(v, t->mediator, &m, e) != 0)
			return -1;
		if (!m.verified || m.key_changed) {
			sodium_memzero(&m, sizeof m);
			return pl_err_set(
			    e, PL_EXIT_SECURITY,
			    "the mediator \"%s\" is not a verified contact; run parley "
			    "contact verify %s SAFETY_NUMBER first",
			    t->mediator, t->mediator);
		}
		p->has_mediator = 1;
		memcpy(p->mediator_ik, m.ik, PL_IK_LEN);
		snprintf(p->mediator_name, sizeof p->mediator_name, "%s", m.name);
		sodium_memzero(&m, sizeof m);
	}
	if (fill_commitments(p, t, e) != 0)
		return -1;
	if (t->n_commit)
		o->version = PL_OBJ_VERSION_3;
	if (t->expires_at && t->expires_at <= o->created)
		return pl_err_set(e, PL_EXIT_USAGE,
				  "the expiry is not in the future; give a later time or a "
				  "duration such as 48h");
	if (t->expires_at)
		p->expires = t->expires_at;
	else if (t->expires_in)
		p->expires = o->created + t->expires_in;
	return 0;
}

int pl_nego_propose(pl_vault *v, const char *contact, const pl_nego_terms *t,
		    uint8_t id[static PL_OBJ_ID_LEN], int64_t *seq, pl_err *e)
{
	return pl_nego_propose_ex(v, contact, t, NULL, id, seq, e);
}

int pl_nego_propose_ex(pl_vault *v, const char *contact, const pl_nego_terms *t,
		       const pl_nego_confirm *cf, uint8_t id[static PL_OBJ_ID_LEN], int64_t *seq,
		       pl_err *e)
{
	pl_contact c;
	if (sendable_contact(v, contact, &c, e) != 0)
		return -1;
	pl_obj *o = obj_new(e);
	int rc = -1;
	if (o == NULL)
		goto out;
	pl_obj_init(o, PL_OBJ_PROPOSAL);
	memcpy(o->recipient_ik, c.ik, PL_IK_LEN);
	if (fill_terms(v, c.name, o, t, e) == 0)
		rc = commit_move(v, c.name, o, 0, NULL, cf, id, seq, e);
out:
	free(o);
	sodium_memzero(&c, sizeof c);
	return rc;
}

/* Loads target item and object and checks it is an open proposal or request
 * received from a contact we may still answer. */
static int answerable(pl_vault *v, const uint8_t target[static PL_OBJ_ID_LEN], int type,
		      pl_item *it, pl_obj *to, pl_contact *c, pl_err *e)
{
	char hex[PL_OBJ_ID_HEX_LEN];
	pl_obj_id_hex(hex, target);
	if (pl_nego_find(v, target, it, e) != 0)
		return -1;
	if (item_obj(it, to, e) != 0)
		return -1;
	const char *what = type == PL_OBJ_PROPOSAL ? "proposal" : "request";
	if (to->type != type)
		return pl_err_set(e, PL_EXIT_REFUSED, "%s is %s %s, not %s %s", hex,
				  pl_text_article(pl_obj_type_to_str(to->type)),
				  pl_obj_type_to_str(to->type), pl_text_article(what), what);
	if (it->dir == PL_DIR_OUT)
		return pl_err_set(e, PL_EXIT_REFUSED,
				  "%s is your own %s; only the other side can answer it%s", hex,
				  what, type == PL_OBJ_PROPOSAL ? " (you may withdraw it)" : "");
	if (!is_open(it->state))
		return pl_err_set(e, PL_EXIT_REFUSED, "%s %s is already %s; nothing changed", what,
				  hex, it->state);
	if (expired(to, pl_now()))
		return pl_err_set(e, PL_EXIT_REFUSED, "proposal %s has expired; nothing changed",
				  hex);
	if (pl_now() < to->created)
		return pl_err_set(
		    e, PL_EXIT_REFUSED,
		    "%s %s is dated later than this computer's clock; an answer dated "
		    "before it would be refused, so check the clock and try again",
		    what, hex);
	return sendable_contact(v, it->contact, c, e);
}

/* A move that answers an earlier item: that item, its object, the contact
 * the move goes to, and the new object. */
typedef struct {
	pl_item it;
	pl_contact c;
	pl_obj *to, *o;
} reply;

/* with_target: the move answers an earlier item, whose object is loaded
 * into r->to (a request answers nothing). */
static int reply_begin(reply *r, int with_target, pl_err *e)
{
	memset(r, 0, sizeof *r);
	r->to = with_target ? obj_new(e) : NULL;
	r->o = !with_target || r->to ? obj_new(e) : NULL;
	return r->o != NULL ? 0 : -1;
}

static void reply_end(reply *r)
{
	pl_vault_item_free(&r->it);
	free(r->to);
	free(r->o);
	sodium_memzero(&r->c, sizeof r->c);
}

/* Starts the new object: its type, addressed to the contact. */
static pl_obj *reply_obj(reply *r, int type)
{
	pl_obj_init(r->o, type);
	memcpy(r->o->recipient_ik, r->c.ik, PL_IK_LEN);
	return r->o;
}

/* Copies an optional free text (what names it in the error). */
static int set_text(char *dst, size_t cap, const char *text, size_t max, const char *what,
		    pl_err *e)
{
	if (text == NULL)
		return 0;
	if (pl_obj_text_ok(text, 0, max, 1) != 0)
		return pl_err_set(e, PL_EXIT_USAGE, "%s must be at most %zu bytes of text", what,
				  max);
	snprintf(dst, cap, "%s", text);
	return 0;
}

int pl_nego_counter(pl_vault *v, const uint8_t target[static PL_OBJ_ID_LEN], const pl_nego_terms *t,
		    uint8_t id[static PL_OBJ_ID_LEN], int64_t *seq, pl_err *e)
{
	return pl_nego_counter_ex(v, target, t, NULL, id, seq, e);
}

int pl_nego_counter_ex(pl_vault *v, const uint8_t target[static PL_OBJ_ID_LEN],
		       const pl_nego_terms *t, const pl_nego_confirm *cf,
		       uint8_t id[static PL_OBJ_ID_LEN], int64_t *seq, pl_err *e)
{
	reply r;
	int rc = -1;
	if (reply_begin(&r, 1, e) != 0 ||
	    answerable(v, target, PL_OBJ_PROPOSAL, &r.it, r.to, &r.c, e) != 0)
		goto out;
	pl_obj *o = reply_obj(&r, PL_OBJ_PROPOSAL);
	memcpy(o->u.proposal.supersedes_id, target, PL_OBJ_ID_LEN);
	pl_obj_hash(o->u.proposal.supersedes_hash, r.it.body.p, r.it.body.n);
	if (fill_terms(v, r.c.name, o, t, e) == 0)
		rc = commit_move(v, r.c.name, o, r.it.seq, "countered", cf, id, seq, e);
out:
	reply_end(&r);
	return rc;
}

/* Checks that `target` is our own open proposal, which we may withdraw. */
static int withdrawable(pl_vault *v, const uint8_t target[static PL_OBJ_ID_LEN], reply *r,
			pl_err *e)
{
	char hex[PL_OBJ_ID_HEX_LEN];
	pl_obj_id_hex(hex, target);
	if (pl_nego_find(v, target, &r->it, e) != 0 || item_obj(&r->it, r->to, e) != 0)
		return -1;
	if (r->to->type != PL_OBJ_PROPOSAL)
		return pl_err_set(e, PL_EXIT_REFUSED,
				  "%s is %s %s; only proposals can be withdrawn", hex,
				  pl_text_article(pl_obj_type_to_str(r->to->type)),
				  pl_obj_type_to_str(r->to->type));
	if (r->it.dir != PL_DIR_OUT)
		return pl_err_set(e, PL_EXIT_REFUSED,
				  "proposal %s is not yours; you can accept, reject or counter it, "
				  "not withdraw it",
				  hex);
	if (!is_open(r->it.state))
		return pl_err_set(e, PL_EXIT_REFUSED, "proposal %s is already %s; nothing changed",
				  hex, r->it.state);
	return sendable_contact(v, r->it.contact, &r->c, e);
}

/* The accepter's copy of the agreement for the mediator the proposal
 * names (client/guarantee.h), best effort: the proposer sends one too on
 * receiving the acceptance, and the accept itself is committed already. */
static void accepted_notify(pl_vault *v, const pl_item *prop, int64_t acc_seq)
{
	pl_item acc;
	if (pl_vault_item_get(v, acc_seq, &acc, NULL) != 0)
		return;
	pl_guar_notify_commit(v, prop->body.p, prop->body.n, acc.body.p, acc.body.n, NULL);
	pl_vault_item_free(&acc);
}

int pl_nego_respond(pl_vault *v, const uint8_t target[static PL_OBJ_ID_LEN], int kind,
		    const char *reason, uint8_t id[static PL_OBJ_ID_LEN], int64_t *seq, pl_err *e)
{
	return pl_nego_respond_ex(v, target, kind, reason, NULL, id, seq, e);
}

int pl_nego_respond_ex(pl_vault *v, const uint8_t target[static PL_OBJ_ID_LEN], int kind,
		       const char *reason, const pl_nego_confirm *cf,
		       uint8_t id[static PL_OBJ_ID_LEN], int64_t *seq, pl_err *e)
{
	reply r;
	int rc = -1;
	if (reply_begin(&r, 1, e) != 0)
		goto out;
	if (kind == PL_RESP_WITHDRAW
		? withdrawable(v, target, &r, e) != 0
		: answerable(v, target, PL_OBJ_PROPOSAL, &r.it, r.to, &r.c, e) != 0)
		goto out;
	pl_obj *o = reply_obj(&r, PL_OBJ_RESPONSE);
	o->u.response.kind = (uint8_t)kind;
	memcpy(o->u.response.target_id, target, PL_OBJ_ID_LEN);
	pl_obj_hash(o->u.response.target_hash, r.it.body.p, r.it.body.n);
	if (set_text(o->u.response.reason, sizeof o->u.response.reason, reason,
		     PL_RESPONSE_REASON_MAX, "the reason", e) != 0)
		goto out;
	const char *st = kind == PL_RESP_ACCEPT	  ? "accepted"
			 : kind == PL_RESP_REJECT ? "rejected"
						  : "withdrawn";
	rc = commit_move(v, r.c.name, o, r.it.seq, st, cf, id, seq, e);
	if (rc == 0 && kind == PL_RESP_ACCEPT)
		accepted_notify(v, &r.it, *seq);
out:
	reply_end(&r);
	return rc;
}

int pl_nego_request(pl_vault *v, const char *contact, int64_t case_id, int kind, int urgency,
		    const char *text, uint8_t id[static PL_OBJ_ID_LEN], int64_t *seq, pl_err *e)
{
	return pl_nego_request_ex(v, contact, case_id, kind, urgency, text, NULL, id, seq, e);
}

int pl_nego_request_ex(pl_vault *v, const char *contact, int64_t case_id, int kind, int urgency,
		       const char *text, const pl_nego_confirm *cf,
		       uint8_t id[static PL_OBJ_ID_LEN], int64_t *seq, pl_err *e)
{
	reply r;
	int rc = -1;
	if (reply_begin(&r, 0, e) != 0 || sendable_contact(v, contact, &r.c, e) != 0)
		goto out;
	pl_obj *o = reply_obj(&r, PL_OBJ_REQUEST);
	if (load_person(v, case_id, &o->u.request.person, e) != 0)
		goto out;
	o->u.request.kind = (uint8_t)kind;
	o->u.request.urgency = (uint8_t)urgency;
	if (set_text(o->u.request.text, sizeof o->u.request.text, text, PL_REQUEST_TEXT_MAX,
		     "the text", e) != 0)
		goto out;
	rc = commit_move(v, r.c.name, o, 0, NULL, cf, id, seq, e);
out:
	reply_end(&r);
	return rc;
}

int pl_nego_answer(pl_vault *v, const uint8_t target[static PL_OBJ_ID_LEN], int decision,
		   const char *text, uint8_t id[static PL_OBJ_ID_LEN], int64_t *seq, pl_err *e)
{
	return pl_nego_answer_ex(v, target, decision, text, NULL, id, seq, e);
}

int pl_nego_answer_ex(pl_vault *v, const uint8_t target[static PL_OBJ_ID_LEN], int decision,
		      const char *text, const pl_nego_confirm *cf, uint8_t id[static PL_OBJ_ID_LEN],
		      int64_t *seq, pl_err *e)
{
	reply r;
	int rc = -1;
	if (reply_begin(&r, 1, e) != 0 ||
	    answerable(v, target, PL_OBJ_REQUEST, &r.it, r.to, &r.c, e) != 0)
		goto out;
	pl_obj *o = reply_obj(&r, PL_OBJ_ANSWER);
	memcpy(o->u.answer.target_id, target, PL_OBJ_ID_LEN);
	pl_obj_hash(o->u.answer.target_hash, r.it.body.p, r.it.body.n);
	o->u.answer.decision = (uint8_t)decision;
	if (set_text(o->u.answer.text, sizeof o->u.answer.text, text, PL_ANSWER_TEXT_MAX,
		     "the text", e) != 0)
		goto out;
	rc = commit_move(v, r.c.name, o, r.it.seq,
			 decision == PL_DECISION_GRANT ? "granted" : "denied", cf, id, seq, e);
out:
	reply_end(&r);
	return rc;
}

/* --- receiving -------------------------------------------------------------- */

/* The item (of `contact`, direction dir) holding object `id` with exactly
 * the signed bytes whose hash is `hash`; -1 if there is none. */
static int find_target(pl_vault *v, const char *contact, int dir, const uint8_t id[PL_OBJ_ID_LEN],
		       const uint8_t hash[PL_OBJ_HASH_LEN], pl_item *out, pl_err *e)
{
	pl_item *items;
	size_t n;
	int rc = 1;
	if (pl_vault_item_list(v, contact, &items, &n, e) != 0)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (items[i].kind != PL_KIND_OBJECT || items[i].dir != dir ||
		    memcmp(items[i].id, id, PL_OBJ_ID_LEN) != 0)
			continue;
		uint8_t h[PL_OBJ_HASH_LEN];
		pl_obj_hash(h, items[i].body.p, items[i].body.n);
		if (sodium_memcmp(h, hash, sizeof h) != 0)
			continue;
		*out = items[i];
		pl_wr_init(&items[i].body);
		pl_wr_init(&items[i].receipt);
		rc = 0;
		break;
	}
	pl_vault_items_free(items, n);
	return rc;
}

/* What one sync's handler shares between the objects it sees: the log
 * reader (opened at the first question) and what the caller reports. With
 * no context (pl_nego_objects) each question opens its own reader. */
#define DEFERRED_MAX 256
typedef struct {
	pl_logq *q;
	pl_nego_report *r;
	size_t ndef; /* hashes of envelopes left for a later sync */
	uint8_t def[DEFERRED_MAX][32];
} sync_ctx;

static int acceptance_of(pl_vault *v, const pl_item *prop, const uint8_t id[static PL_OBJ_ID_LEN],
			 const char *hex, pl_obj *o, pl_item *acc, pl_err *e);

/* The log reader of this sync (or a fresh one in *tmp). */
static pl_logq *logq_for(sync_ctx *x, pl_vault *v, pl_logq **tmp, pl_err *e)
{
	*tmp = NULL;
	if (x != NULL) {
		if (x->q == NULL && pl_logq_open(&x->q, v, NULL, 1, e) != 0)
			return NULL;
		return x->q;
	}
	return pl_logq_open(tmp, v, NULL, 0, e) == 0 ? *tmp : NULL;
}

/* What a log question that could not be answered means for the object:
 * decided later, unless a leaf failed its proof and nobody can keep the
 * envelope aside (no context: the sync stops). */
static int undecided(sync_ctx *x, const pl_msgr_envelope *env, int r, const pl_err *qe, pl_err *e)
{
	if (r < 0 && qe->code == PL_EXIT_SECURITY) {
		if (x == NULL)
			return *e = *qe, -1;
		if (x->r)
			x->r->log_caught++;
	}
	if (x != NULL && x->ndef < DEFERRED_MAX)
		memcpy(x->def[x->ndef++], env->hash, 32);
	return PL_MSGR_OBJECT_LATER;
}

/* The deposit in our own mailbox of the envelope that carried an object,
 * proved in the relay's log; on success its receipt also goes on the item
 * stored for it. 0, or what undecided() says. */
static int own_deposit(sync_ctx *x, pl_vault *v, pl_msgr_envelope *env, pl_receipt *rc, pl_err *e)
{
	uint8_t mbx[32];
	pl_err qe;
	pl_logq *tmp;
	pl_err_clear(&qe);
	pl_mailbox_id(mbx, pl_vault_identity(v)->pk);
	pl_logq *q = logq_for(x, v, &tmp, &qe);
	int r = q ? pl_logq_deposit(q, mbx, env->hash, env->seq, rc, &qe) : -1;
	if (tmp != NULL && pl_logq_close(tmp, r < 0 ? NULL : &qe) != 0 && r == 0)
		r = -1;
	if (r != 0)
		return undecided(x, env, r, &qe, e);
	uint8_t buf[PL_RECEIPT_MAX];
	size_t n = pl_receipt_encode(buf, rc);
	pl_wr_free(&env->receipt);
	pl_wr_init(&env->receipt);
	pl_wr_bytes(&env->receipt, buf, n);
	if (n == 0 || pl_wr_ok(&env->receipt) != 0)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	return 0;
}

/* A withdrawal of proposal t (received, accepted by us) deposited in our
 * mailbox at leaf W: 1 if the proposer's key had already acknowledged
 * fetching our acceptance at a leaf F < W (the withdrawal comes too late
 * and is refused), 0 if they crossed, or what undecided() says. */
static int withdrawn_too_late(sync_ctx *x, pl_vault *v, const pl_contact *from, const pl_item *t,
			      pl_msgr_envelope *env, pl_err *e)
{
	pl_item acc;
	pl_obj *scratch = calloc(1, sizeof *scratch);
	pl_receipt *wr = calloc(1, sizeof *wr), *ar = calloc(1, sizeof *ar);
	char hex[PL_OBJ_ID_HEX_LEN];
	int rc = -1;
	memset(&acc, 0, sizeof acc);
	if (scratch == NULL || wr == NULL || ar == NULL) {
		pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		goto out;
	}
	pl_obj_id_hex(hex, t->id);
	pl_err ae;
	pl_err_clear(&ae);
	if (acceptance_of(v, t, t->id, hex, scratch, &acc, &ae) != 0) {
		rc = ae.code == PL_EXIT_NOTFOUND ? 0 : (*e = ae, -1);
		goto out;
	}
	/* Our acceptance never reached the relay: nothing could have fetched it. */
	if (acc.receipt.n == 0 || pl_receipt_decode(ar, acc.receipt.p, acc.receipt.n) != 0) {
		rc = 0;
		goto out;
	}
	rc = own_deposit(x, v, env, wr, e);
	if (rc != 0)
		goto out;
	uint64_t f;
	pl_err qe;
	pl_logq *tmp;
	pl_err_clear(&qe);
	pl_logq *q = logq_for(x, v, &tmp, &qe);
	int r = q ? pl_logq_first_ack(q, from->ik, ar->index, wr->index, ar->seq, ar->hash, &f, &qe)
		  : -1;
	if (tmp != NULL && pl_logq_close(tmp, r < 0 ? NULL : &qe) != 0 && r == 0)
		r = -1;
	if (r < 0)
		rc = undecided(x, env, r, &qe, e);
	else
		rc = r == 0 ? 1 : 0;
out:
	pl_vault_item_free(&acc);
	free(scratch);
	free(wr);
	free(ar);
	return rc;
}

/* Applies a received response or answer to the item it names. Returns 0,
 * 1 (invalid: names nothing of ours with those bytes, or an acceptance
 * dated before its proposal), PL_MSGR_OBJECT_LATER, or -1. */
static int apply_reply(sync_ctx *x, pl_vault *v, const pl_contact *from, const pl_obj *o,
		       pl_msgr_envelope *env, pl_err *e)
{
	pl_item t;
	pl_obj *to = NULL;
	pl_receipt *dep = NULL;
	const uint8_t *tid, *th;
	int dir, want_type;
	const char *st;
	if (o->type == PL_OBJ_RESPONSE) {
		tid = o->u.response.target_id;
		th = o->u.response.target_hash;
		want_type = PL_OBJ_PROPOSAL;
		/* accept/reject answer our proposal; withdraw retracts theirs */
		dir = o->u.response.kind == PL_RESP_WITHDRAW ? PL_DIR_IN : PL_DIR_OUT;
		st = o->u.response.kind == PL_RESP_ACCEPT   ? "accepted"
		     : o->u.response.kind == PL_RESP_REJECT ? "rejected"
							    : "withdrawn";
	} else {
		tid = o->u.answer.target_id;
		th = o->u.answer.target_hash;
		want_type = PL_OBJ_REQUEST;
		dir = PL_DIR_OUT;
		st = o->u.answer.decision == PL_DECISION_GRANT ? "granted" : "denied";
	}
	int r = find_target(v, from->name, dir, tid, th, &t, e);
	if (r != 0)
		return r;
	int rc = 1;
	to = calloc(1, sizeof *to);
	dep = calloc(1, sizeof *dep);
	if (to == NULL || dep == NULL) {
		rc = pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		goto out;
	}
	if (pl_obj_decode_signed(to, t.body.p, t.body.n, NULL) != 0 || to->type != want_type)
		goto out;
	int accept = o->type == PL_OBJ_RESPONSE && o->u.response.kind == PL_RESP_ACCEPT;
	int withdraw = o->type == PL_OBJ_RESPONSE && o->u.response.kind == PL_RESP_WITHDRAW;
	if (accept && o->created < to->created) {
		/* Dated before what it accepts: a clock set back, or a forgery. */
		if (x && x->r)
			x->r->predated++;
		goto out;
	}
	if (accept && (is_open(t.state) || strcmp(t.state, "withdrawn") == 0)) {
		/* The time that counts is the relay's, logged when the envelope
		 * carrying the acceptance was deposited in our mailbox: neither
		 * side controls it. */
		rc = own_deposit(x, v, env, dep, e);
		if (rc != 0)
			goto out;
		if (expired(to, dep->time)) {
			st = "expired"; /* deposited too late: no agreement */
			if (x && x->r)
				x->r->expired++;
		}
	}
	rc = 0;
	if (!is_open(t.state)) {
		/* Crossed in flight: an accept and a withdraw that passed each
		 * other leave one vault with an acceptance, the other with a
		 * withdrawal, so both mark the proposal disputed and neither
		 * exports it. The log tells a crossing from a late withdrawal:
		 * one deposited after the proposer's key had fetched the
		 * acceptance is refused and the agreement stands. Any other
		 * crossing (a reply to what we already rejected, countered or
		 * saw expire) keeps our state. */
		int acc_after_withdraw =
		    accept && strcmp(st, "accepted") == 0 && strcmp(t.state, "withdrawn") == 0;
		int withdraw_after_acc = withdraw && pl_guar_agreed(t.state);
		if (withdraw_after_acc) {
			rc = withdrawn_too_late(x, v, from, &t, env, e);
			if (rc == 1) {
				if (x && x->r)
					x->r->late_withdrawals++;
				rc = 0;
				goto out;
			}
			if (rc != 0)
				goto out;
		}
		if (acc_after_withdraw || withdraw_after_acc) {
			rc = pl_vault_item_set_state(v, t.seq, "disputed", NULL, 0, e);
			if (rc == 0 && x && x->r)
				x->r->disputed++;
		}
		goto out;
	}
	rc = pl_vault_item_set_state(v, t.seq, st, NULL, 0, e);
out:
	free(to);
	free(dep);
	pl_vault_item_free(&t);
	return rc;
}

/* The proposer's copy of the agreement for the mediator its proposal names,
 * queued with the acceptance that made it (a first delivery only, and only
 * once the proposal is accepted in this vault). */
static int acceptance_notify(pl_vault *v, const pl_contact *from, const pl_obj *o,
			     const pl_payload *p, pl_err *e)
{
	pl_item t;
	pl_item *items;
	size_t n;
	int held = 0, rc = 0;
	if (pl_vault_item_list(v, from->name, &items, &n, e) != 0)
		return -1;
	for (size_t i = 0; i < n && !held; i++)
		held = items[i].dir == PL_DIR_IN && memcmp(items[i].id, p->id, PL_OBJ_ID_LEN) == 0;
	pl_vault_items_free(items, n);
	if (held || find_target(v, from->name, PL_DIR_OUT, o->u.response.target_id,
				o->u.response.target_hash, &t, NULL) != 0)
		return 0;
	if (strcmp(t.state, "accepted") == 0)
		rc = pl_guar_notify(v, t.body.p, t.body.n, p->body, p->bodylen, e) < 0 ? -1 : 0;
	pl_vault_item_free(&t);
	return rc;
}

int pl_nego_object_received(void *ctx, pl_vault *v, const pl_contact *from, const pl_payload *p,
			    pl_msgr_envelope *env, pl_err *e)
{
	sync_ctx *x = ctx;
	if (p->kind == PL_KIND_PLAN) /* execution plans: client/plan.c */
		return pl_plan_received(v, from, p, env, e);
	if (p->kind == PL_KIND_MATCH) /* blind matching: client/match.c */
		return pl_match_received(v, from, p, e);
	if (p->kind == PL_KIND_AGREEMENT) {
		int ar = pl_guar_agreement_received(v, from, p, e);
		if (ar == 0 && x && x->r)
			x->r->to_guarantee++;
		return ar;
	}
	if (p->kind != PL_KIND_OBJECT) /* carried, forwarded, custody notices */
		return pl_via_received(ctx, v, from, p, env, e);
	pl_obj *o = calloc(1, sizeof *o);
	int rc = 1;
	if (o == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	/* Signed by the sender's pinned key, for us, under the id it travels as. */
	if (pl_obj_decode_signed(o, p->body, p->bodylen, NULL) == 0 &&
	    sodium_memcmp(o->author_ik, from->ik, PL_IK_LEN) == 0 &&
	    sodium_memcmp(o->recipient_ik, pl_vault_identity(v)->pk, PL_IK_LEN) == 0 &&
	    memcmp(o->id, p->id, PL_OBJ_ID_LEN) == 0)
		rc = pl_nego_object_apply(ctx, v, from, o, p->body, p->bodylen, env, e);
	free(o);
	return rc;
}

int pl_nego_object_apply(void *ctx, pl_vault *v, const pl_contact *from, const pl_obj *o,
			 const uint8_t *sb, size_t sn, pl_msgr_envelope *env, pl_err *e)
{
	sync_ctx *x = ctx;
	int rc = 1;
	/* the object as a payload of its own (direct or passed on) */
	pl_payload q = {.kind = PL_KIND_OBJECT, .time = 0, .body = sb, .bodylen = sn};
	const pl_payload *p = &q;
	memcpy(q.id, o->id, PL_OBJ_ID_LEN);
	switch (o->type) {
	case PL_OBJ_OUTREACH:
	case PL_OBJ_REQUEST:
		rc = 0;
		break;
	case PL_OBJ_PROPOSAL: {
		static const uint8_t zero[PL_OBJ_ID_LEN];
		rc = 0;
		if (memcmp(o->u.proposal.supersedes_id, zero, PL_OBJ_ID_LEN) != 0) {
			pl_item t;
			int r = find_target(v, from->name, PL_DIR_OUT, o->u.proposal.supersedes_id,
					    o->u.proposal.supersedes_hash, &t, e);
			if (r != 0) {
				rc = r; /* a counter of something we never proposed */
				break;
			}
			if (is_open(t.state))
				rc = pl_vault_item_set_state(v, t.seq, "countered", NULL, 0, e);
			pl_vault_item_free(&t);
		}
		break;
	}
	case PL_OBJ_RESPONSE:
	case PL_OBJ_ANSWER:
		rc = apply_reply(x, v, from, o, env, e);
		if (rc == 0 && o->type == PL_OBJ_RESPONSE && o->u.response.kind == PL_RESP_ACCEPT)
			rc = acceptance_notify(v, from, o, p, e);
		break;
	case PL_OBJ_GUARANTEE: {
		int applied = 0;
		rc = pl_guar_guarantee_received(v, from, o, p, &applied, e);
		if (rc == 0 && applied && x && x->r)
			x->r->guaranteed++;
		break;
	}
	default:
		break;
	}
	return rc;
}

const pl_msgr_object_handler pl_nego_objects = {pl_nego_object_received, NULL};

void pl_nego_count_via_unknown(void *ctx)
{
	sync_ctx *x = ctx;
	if (x && x->r)
		x->r->via_unknown++;
}

/* Our acceptances the relay logged after the proposal's expiry (their
 * deposit receipt says when) make no agreement: the proposer's vault,
 * judging by the same log time, marks the proposal expired too. */
int pl_nego_settle(pl_vault *v, pl_nego_report *nr, pl_err *e)
{
	pl_item *items;
	size_t n;
	pl_obj *o = obj_new(e), *to = obj_new(e);
	pl_receipt *rc = calloc(1, sizeof *rc);
	int ret = -1;
	if (o == NULL || to == NULL || rc == NULL) {
		free(o);
		free(to);
		free(rc);
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	}
	if (pl_vault_item_list(v, NULL, &items, &n, e) != 0)
		goto done;
	ret = 0;
	for (size_t i = 0; i < n && ret == 0; i++) {
		if (items[i].kind != PL_KIND_OBJECT || items[i].dir != PL_DIR_OUT ||
		    items[i].receipt.n == 0 ||
		    pl_obj_decode_signed(o, items[i].body.p, items[i].body.n, NULL) != 0 ||
		    o->type != PL_OBJ_RESPONSE || o->u.response.kind != PL_RESP_ACCEPT ||
		    pl_receipt_decode(rc, items[i].receipt.p, items[i].receipt.n) != 0)
			continue;
		pl_item t;
		if (find_target(v, items[i].contact, PL_DIR_IN, o->u.response.target_id,
				o->u.response.target_hash, &t, NULL) != 0)
			continue;
		uint8_t mbx[32];
		/* A receipt for another mailbox (the mediator's, for an
		 * acceptance sent through it) does not date the acceptance. */
		if (pl_guar_agreed(t.state) &&
		    pl_obj_decode_signed(to, t.body.p, t.body.n, NULL) == 0 &&
		    (pl_mailbox_id(mbx, to->author_ik), sodium_memcmp(mbx, rc->mbx, 32) == 0) &&
		    expired(to, rc->time)) {
			ret = pl_vault_item_set_state(v, t.seq, "expired", NULL, 0, e);
			if (ret == 0 && nr)
				nr->expired++;
		}
		pl_vault_item_free(&t);
	}
	pl_vault_items_free(items, n);
done:
	free(o);
	free(to);
	free(rc);
	return ret;
}

int pl_nego_sync(pl_vault *v, pl_sync_report *r, pl_nego_report *nr, pl_err *e)
{
	sync_ctx *x = calloc(1, sizeof *x);
	pl_nego_report local;
	if (x == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	if (nr == NULL)
		nr = &local;
	memset(nr, 0, sizeof *nr);
	x->r = nr;
	pl_msgr_object_handler h = {pl_nego_object_received, x};
	int rc = pl_msgr_sync(v, &h, r, e);
	/* Evidence from the log is written now, outside the transactions that
	 * may have rolled back the envelope it came with. */
	pl_err ce;
	pl_err_clear(&ce);
	if (pl_logq_close(x->q, &ce) != 0 && rc == 0) {
		*e = ce;
		rc = -1;
	}
	if (rc == 0)
		rc = pl_nego_settle(v, nr, e);
	/* Blind matches move on with what arrived; their answers are due at
	 * once, so they go out with this sync. */
	if (rc == 0 && (rc = pl_match_advance(v, NULL, NULL, &nr->matches_moved, e)) == 0 &&
	    nr->matches_moved > 0) {
		pl_sync_report r2;
		pl_err de;
		memset(&r2, 0, sizeof r2);
		pl_err_clear(&de);
		if (pl_msgr_deliver(v, &r2, &de) == 0 && r) {
			r->delivered += r2.delivered;
			r->queued = r2.queued;
		}
	}
	if (rc == 0 && r && r->log_size > 0) {
		pl_err we;
		pl_err_clear(&we);
		(void)pl_match_watch(v, r->log_size, &nr->matches_stopped, &we);
	}
	/* Envelopes left for a later sync are ours to report, not "pending
	 * from unknown keys". */
	for (size_t i = 0; rc == 0 && i < x->ndef; i++) {
		int dup = 0;
		for (size_t j = 0; j < i && !dup; j++)
			dup = memcmp(x->def[i], x->def[j], 32) == 0;
		if (dup || pl_vault_pending_has(v, x->def[i]) != 1)
			continue;
		nr->undecided++;
		if (r && r->pending > 0)
			r->pending--;
	}
	if (rc == 0 && nr->log_caught)
		rc = pl_err_set(
		    e, PL_EXIT_SECURITY,
		    "the relay at %s served log leaves whose proofs fail; the moves they "
		    "concern are left undecided and the leaves are kept as evidence "
		    "(parley relay evidence)",
		    pl_vault_relay_url(v));
	free(x);
	return rc;
}

/* --- exports ---------------------------------------------------------------- */

/* The proposal the acceptance `acc` (whose object is o) accepts, from the
 * other direction of the same thread; NOTFOUND if this vault lacks it. */
static int accepted_proposal(pl_vault *v, const pl_item *acc, const pl_obj *o, const char *hex,
			     pl_item *prop, pl_err *e)
{
	int dir = acc->dir == PL_DIR_OUT ? PL_DIR_IN : PL_DIR_OUT;
	if (find_target(v, acc->contact, dir, o->u.response.target_id, o->u.response.target_hash,
			prop, e) != 0)
		return pl_err_set(e, PL_EXIT_NOTFOUND,
				  "the proposal accepted by %s is not in this vault", hex);
	return 0;
}

/* The acceptance, from the other side of the thread, of the accepted (or
 * disputed) proposal `prop` with object id `id`, naming its exact bytes;
 * NOTFOUND if there is none. o is scratch space. */
static int acceptance_of(pl_vault *v, const pl_item *prop, const uint8_t id[static PL_OBJ_ID_LEN],
			 const char *hex, pl_obj *o, pl_item *acc, pl_err *e)
{
	if (!pl_guar_agreed(prop->state) && strcmp(prop->state, "disputed") != 0)
		return pl_err_set(e, PL_EXIT_NOTFOUND,
				  "proposal %s is %s, not accepted; there is no agreement to "
				  "export",
				  hex, prop->state);
	uint8_t h[PL_OBJ_HASH_LEN];
	pl_obj_hash(h, prop->body.p, prop->body.n);
	pl_item *items;
	size_t n;
	if (pl_vault_item_list(v, prop->contact, &items, &n, e) != 0)
		return -1;
	int found = 0;
	for (size_t i = 0; i < n && !found; i++) {
		if (items[i].kind != PL_KIND_OBJECT || items[i].dir == prop->dir ||
		    pl_obj_decode_signed(o, items[i].body.p, items[i].body.n, NULL) != 0)
			continue;
		if (o->type == PL_OBJ_RESPONSE && o->u.response.kind == PL_RESP_ACCEPT &&
		    memcmp(o->u.response.target_id, id, PL_OBJ_ID_LEN) == 0 &&
		    sodium_memcmp(o->u.response.target_hash, h, sizeof h) == 0) {
			*acc = items[i];
			pl_wr_init(&items[i].body);
			pl_wr_init(&items[i].receipt);
			found = 1;
		}
	}
	pl_vault_items_free(items, n);
	if (!found)
		return pl_err_set(e, PL_EXIT_NOTFOUND, "the acceptance of %s is not in this vault",
				  hex);
	return 0;
}

/* Adds to j the guarantee this vault received of the agreement on proposal
 * prop from the mediator it names, if there is one. */
static int agreement_guarantee(pl_vault *v, json_t *j, const pl_item *prop, pl_err *e)
{
	pl_obj *P = obj_new(e);
	pl_item g;
	uint8_t ph[PL_OBJ_HASH_LEN];
	int rc = -1;
	if (P == NULL || pl_obj_decode_signed(P, prop->body.p, prop->body.n, e) != 0)
		goto out;
	rc = 0;
	if (!P->u.proposal.has_mediator)
		goto out;
	pl_obj_hash(ph, prop->body.p, prop->body.n);
	int r = pl_guar_find(v, P->id, ph, P->u.proposal.mediator_ik, &g, e);
	if (r != 0) {
		rc = r < 0 ? -1 : 0;
		goto out;
	}
	rc = pl_agreement_add_guarantee(j, g.body.p, g.body.n, e);
	pl_vault_item_free(&g);
out:
	free(P);
	return rc;
}

/* The agreement file's JSON (named by this vault), for the writers below. */
static int agreement_build(pl_vault *v, const uint8_t id[static PL_OBJ_ID_LEN], json_t **out,
			   pl_err *e)
{
	pl_item it, prop, acc;
	pl_obj *o = obj_new(e);
	int rc = -1;
	char hex[PL_OBJ_ID_HEX_LEN];
	pl_obj_id_hex(hex, id);
	memset(&it, 0, sizeof it);
	memset(&prop, 0, sizeof prop);
	memset(&acc, 0, sizeof acc);
	if (o == NULL || pl_nego_settle(v, NULL, e) != 0 || pl_nego_find(v, id, &it, e) != 0 ||
	    item_obj(&it, o, e) != 0)
		goto out;
	if (o->type == PL_OBJ_RESPONSE && o->u.response.kind == PL_RESP_ACCEPT) {
		if (accepted_proposal(v, &it, o, hex, &prop, e) != 0)
			goto out;
		acc = it;
		memset(&it, 0, sizeof it);
	} else if (o->type == PL_OBJ_PROPOSAL) {
		if (acceptance_of(v, &it, id, hex, o, &acc, e) != 0)
			goto out;
		prop = it;
		memset(&it, 0, sizeof it);
	} else {
		pl_err_set(
		    e, PL_EXIT_USAGE, "%s is %s %s; name an accepted proposal or its acceptance",
		    hex, pl_text_article(pl_obj_type_to_str(o->type)), pl_obj_type_to_str(o->type));
		goto out;
	}
	if (strcmp(prop.state, "disputed") == 0) {
		pl_err_set(e, PL_EXIT_NOTFOUND,
			   "there is no agreement to export: the acceptance and a withdrawal of "
			   "this proposal crossed in flight, so each side holds a different last "
			   "move (see parley thread %s); agree on a new proposal",
			   prop.contact);
		goto out;
	}
	if (!pl_guar_agreed(prop.state)) {
		pl_err_set(e, PL_EXIT_NOTFOUND,
			   "the proposal is %s, not accepted; there is no agreement to export",
			   prop.state);
		goto out;
	}
	json_t *j;
	if (pl_via_agreement_check(v, &prop, &acc, e) != 0)
		goto out;
	if (acc.receipt.n == 0 && acc.dir == PL_DIR_OUT) {
		pl_err_set(e, PL_EXIT_NOTFOUND,
			   "your acceptance has not reached the relay yet, so the time that "
			   "counts is not known; run parley sync, then export again");
		goto out;
	}
	if (acc.receipt.n == 0) {
		/* Received before acceptances were judged on the relay's log
		 * time: the file says its time is the accepter's own. */
		if (pl_agreement_write(&j, prop.body.p, prop.body.n, acc.body.p, acc.body.n, e) !=
		    0)
			goto out;
	} else {
		uint8_t pk[32];
		if (pl_vault_relay_key(v, pk) != 0) {
			pl_err_set(e, PL_EXIT_SECURITY,
				   "the relay's key is not pinned yet; run parley sync");
			goto out;
		}
		if (pl_agreement_write_proved(&j, prop.body.p, prop.body.n, acc.body.p, acc.body.n,
					      acc.receipt.p, acc.receipt.n, pk, e) != 0)
			goto out;
	}
	/* the mediator's guarantee, when it gave one */
	if (agreement_guarantee(v, j, &prop, e) != 0) {
		json_decref(j);
		goto out;
	}
	/* the parties by the names this vault knows them by, signed by it */
	if (pl_agreement_add_names(j, pl_vault_identity(v), pl_vault_name(v), prop.contact, e) !=
		0 ||
	    pl_via_agreement_custody(v, j, &prop, &acc, e) != 0) {
		json_decref(j);
		goto out;
	}
	*out = j;
	rc = 0;
out:
	pl_vault_item_free(&it);
	pl_vault_item_free(&prop);
	pl_vault_item_free(&acc);
	free(o);
	return rc;
}

int pl_nego_export_agreement(pl_vault *v, const uint8_t id[static PL_OBJ_ID_LEN], const char *path,
			     pl_err *e)
{
	json_t *j;
	if (agreement_build(v, id, &j, e) != 0)
		return -1;
	int rc = pl_export_write_file(path, j, e);
	json_decref(j);
	return rc;
}

/* The PDF's check command names the text document beside it: the PDF's
 * own name with .txt for .pdf. */
static void txt_name(char out[static PL_DOC_NAME_MAX + 1], const char *path)
{
	const char *base = strrchr(path, '/');
	base = base ? base + 1 : path;
	size_t n = strlen(base);
	if (n > 4 && strcmp(base + n - 4, ".pdf") == 0 && n <= PL_DOC_NAME_MAX)
		snprintf(out, PL_DOC_NAME_MAX + 1, "%.*s.txt", (int)(n - 4), base);
	else
		snprintf(out, PL_DOC_NAME_MAX + 1, "agreement.txt");
}

int pl_nego_export_agreement_doc(pl_vault *v, const uint8_t id[static PL_OBJ_ID_LEN],
				 const char *path, int pdf, pl_err *e)
{
	json_t *j;
	size_t n, dl = 0;
	char *doc = NULL, *app = NULL, name[PL_DOC_NAME_MAX + 1];
	int rc;
	if (agreement_build(v, id, &j, e) != 0)
		return -1;
	char *s = pl_export_dumps(j, &n);
	json_decref(j);
	if (s == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	const char *base = strrchr(path, '/');
	if (pdf) {
		txt_name(name, path);
		rc = pl_document_render_parts(&doc, &app, (const uint8_t *)s, n, name, e);
		if (rc == 0)
			rc = pl_pdf_write(path, "Agreement on the release of detained persons", doc,
					  app, e);
		dl = doc ? strlen(doc) : 0;
	} else {
		rc =
		    pl_document_render(&doc, &dl, (const uint8_t *)s, n, base ? base + 1 : path, e);
		if (rc == 0)
			rc =
			    pl_file_write_atomic(path, doc, dl, PL_FILE_REPLACE, "the document", e);
	}
	if (doc)
		sodium_memzero(doc, dl);
	sodium_memzero(s, n);
	free(doc);
	free(app);
	free(s);
	return rc;
}

int pl_nego_export_thread(pl_vault *v, const char *contact, const char *path, pl_err *e)
{
	pl_contact c;
	pl_item *items = NULL;
	size_t n = 0;
	pl_thread_export *x = NULL;
	int rc = -1;
	if (pl_vault_contact_get(v, contact, &c, e) != 0)
		return -1;
	if (pl_vault_item_list(v, contact, &items, &n, e) != 0 ||
	    pl_thread_export_begin(&x, pl_vault_identity(v), c.ik, e) != 0 ||
	    pl_thread_export_set_names(x, pl_vault_name(v), c.name, e) != 0)
		goto out;
	for (size_t i = 0; i < n; i++) {
		int dir = items[i].dir == PL_DIR_OUT ? PL_EXPORT_OUT : PL_EXPORT_IN;
		int r = 0;
		pl_wr rec; /* proximity talks: the mediator's custody record, if any */
		pl_wr_init(&rec);
		if (items[i].kind == PL_KIND_OBJECT || items[i].kind == PL_KIND_NOTE)
			(void)pl_via_custody_record(v, &items[i], &rec);
		if (items[i].kind == PL_KIND_OBJECT) {
			r = pl_thread_export_add_signed_via(x, dir, items[i].time, items[i].body.p,
							    items[i].body.n, rec.p, rec.n, e);
		} else if (items[i].kind == PL_KIND_NOTE) {
			char *t = malloc(items[i].body.n + 1);
			if (t == NULL) {
				pl_wr_free(&rec);
				pl_err_set(e, PL_EXIT_ERROR, "out of memory");
				goto out;
			}
			memcpy(t, items[i].body.p, items[i].body.n);
			t[items[i].body.n] = '\0';
			r = pl_thread_export_add_note_via(x, dir, items[i].time, t, rec.p, rec.n,
							  e);
			sodium_memzero(t, items[i].body.n);
			free(t);
		}
		pl_wr_free(&rec);
		if (r != 0)
			goto out;
	}
	json_t *j;
	if (pl_thread_export_finish(x, &j, e) != 0)
		goto out;
	rc = pl_export_write_file(path, j, e);
	json_decref(j);
out:
	pl_thread_export_free(x);
	pl_vault_items_free(items, n);
	sodium_memzero(&c, sizeof c);
	return rc;
}

int pl_nego_ref_contact(pl_vault *v, const uint8_t ref[static PL_CASE_REF_LEN],
			char contact[static PL_NAME_MAX + 1], pl_err *e)
{
	pl_item *items;
	size_t n;
	pl_obj *o = obj_new(e);
	if (o == NULL || pl_vault_item_list(v, NULL, &items, &n, e) != 0) {
		free(o);
		return -1;
	}
	int found = 0;
	for (size_t i = 0; i < n && !found; i++) {
		if (items[i].kind != PL_KIND_OBJECT || items[i].dir != PL_DIR_IN ||
		    pl_obj_decode_signed(o, items[i].body.p, items[i].body.n, NULL) != 0)
			continue;
		const pl_person *ps = NULL;
		size_t np = 0;
		if (o->type == PL_OBJ_PROPOSAL) {
			for (size_t k = 0; k < o->u.proposal.n_author && !found; k++)
				found =
				    memcmp(o->u.proposal.author[k].ref, ref, PL_OBJ_REF_LEN) == 0;
			ps = o->u.proposal.recipient;
			np = o->u.proposal.n_recipient;
		} else if (o->type == PL_OBJ_REQUEST) {
			ps = &o->u.request.person;
			np = 1;
		}
		for (size_t k = 0; k < np && !found; k++)
			found = memcmp(ps[k].ref, ref, PL_OBJ_REF_LEN) == 0;
		if (found)
			snprintf(contact, PL_NAME_MAX + 1, "%s", items[i].contact);
	}
	pl_vault_items_free(items, n);
	free(o);
	if (!found)
		return pl_err_set(e, PL_EXIT_NOTFOUND,
				  "no proposal or request you received names that reference; see "
				  "parley inbox");
	return 0;
}

/* 1 iff person p of an object exchanged with contact is our record c. */
static int is_case(pl_vault *v, const char *contact, const pl_person *p, const pl_case *c)
{
	int64_t id;
	if (memcmp(p->ref, c->ref, PL_OBJ_REF_LEN) == 0)
		return 1;
	return pl_vault_link_get(v, contact, p->ref, &id, NULL) == 0 && id == c->id;
}

int pl_nego_case_named(pl_vault *v, const pl_case *c, pl_err *e)
{
	pl_item *items;
	size_t n;
	pl_obj *o = obj_new(e);
	if (o == NULL || pl_vault_item_list(v, NULL, &items, &n, e) != 0) {
		free(o);
		return -1;
	}
	int found = 0;
	for (size_t i = 0; i < n && !found; i++) {
		if (items[i].kind != PL_KIND_OBJECT ||
		    pl_obj_decode_signed(o, items[i].body.p, items[i].body.n, NULL) != 0)
			continue;
		if (o->type == PL_OBJ_PROPOSAL) {
			const pl_proposal *b = &o->u.proposal;
			for (size_t k = 0; k < b->n_author && !found; k++)
				found = is_case(v, items[i].contact, &b->author[k], c);
			for (size_t k = 0; k < b->n_recipient && !found; k++)
				found = is_case(v, items[i].contact, &b->recipient[k], c);
		} else if (o->type == PL_OBJ_REQUEST) {
			found = is_case(v, items[i].contact, &o->u.request.person, c);
		}
	}
	pl_vault_items_free(items, n);
	free(o);
	return found;
}
