/*
 * object.c — canonical encoding, strict decoding and signing of negotiation
 * objects (docs/NEGOTIATION.md); see object.h.
 *
 * One rule set, two directions: the decoder only reads the wire (lengths,
 * counts, no NUL bytes) into the fixed-size struct and then runs the same
 * obj_check() that the encoder runs before writing. So the encoder cannot
 * produce bytes the decoder refuses, and every field's rule lives in one
 * place. The decoder never allocates; a signature is checked over a stack
 * copy of tag ‖ object.
 */
#include "negotiation/object.h"

#include <sodium.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "crypto/kdf.h"
#include "util/codec.h"
#include "util/text.h"

#define TAG_LEN (sizeof PL_OBJ_SIG_TAG - 1)
#define OBJ_MAX (PL_OBJ_SIGNED_MAX - PL_SIG_LEN) /* unsigned bytes */
#define WHY_MAX 200

enum { LINE = PL_TEXT_LINE, MULTI = PL_TEXT_MULTILINE };

/* --- name tables ----------------------------------------------------------- */

typedef struct {
	int v;
	const char *s;
} name;

static const name type_names[] = {{PL_OBJ_OUTREACH, "outreach"},
				  {PL_OBJ_PROPOSAL, "proposal"},
				  {PL_OBJ_RESPONSE, "response"},
				  {PL_OBJ_REQUEST, "request"},
				  {PL_OBJ_ANSWER, "answer"},
				  {PL_OBJ_GUARANTEE, "guarantee"},
				  {0, NULL}};
static const name commit_names[] = {{PL_COMMIT_AUTHOR, "author"},
				    {PL_COMMIT_RECIPIENT, "recipient"},
				    {PL_COMMIT_MEDIATOR, "mediator"},
				    {0, NULL}};
static const name seq_names[] = {{PL_SEQ_UNSPECIFIED, "unspecified"},
				 {PL_SEQ_SIMULTANEOUS, "simultaneous"},
				 {PL_SEQ_STAGED, "staged"},
				 {0, NULL}};
static const name resp_names[] = {{PL_RESP_ACCEPT, "accept"},
				  {PL_RESP_REJECT, "reject"},
				  {PL_RESP_WITHDRAW, "withdraw"},
				  {0, NULL}};
static const name req_names[] = {{PL_REQ_MEDICAL_LEAVE, "medical-leave"},
				 {PL_REQ_CONSULAR_ACCESS, "consular-access"},
				 {PL_REQ_PROOF_OF_LIFE, "proof-of-life"},
				 {PL_REQ_RELEASE, "release"},
				 {0, NULL}};
static const name urg_names[] = {{PL_URG_ROUTINE, "routine"},
				 {PL_URG_URGENT, "urgent"},
				 {PL_URG_CRITICAL, "critical"},
				 {0, NULL}};
static const name dec_names[] = {
    {PL_DECISION_GRANT, "grant"}, {PL_DECISION_DENY, "deny"}, {0, NULL}};

static const char *to_str(const name *t, int v)
{
	for (; t->s != NULL; t++)
		if (t->v == v)
			return t->s;
	return NULL;
}

static int from_str(const name *t, const char *s)
{
	if (s == NULL)
		return -1;
	for (; t->s != NULL; t++)
		if (strcmp(t->s, s) == 0)
			return t->v;
	return -1;
}

#define NAME_FNS(fn, table)                                                                        \
	const char *pl_obj_##fn##_to_str(int v)                                                    \
	{                                                                                          \
		return to_str(table, v);                                                           \
	}                                                                                          \
	int pl_obj_##fn##_from_str(const char *s)                                                  \
	{                                                                                          \
		return from_str(table, s);                                                         \
	}
NAME_FNS(type, type_names)
NAME_FNS(sequencing, seq_names)
NAME_FNS(response_kind, resp_names)
NAME_FNS(request_kind, req_names)
NAME_FNS(urgency, urg_names)
NAME_FNS(decision, dec_names)
NAME_FNS(commit_who, commit_names)

/* --- the rules (shared by encode and decode) -------------------------------- */

static int why_set(char *why, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int why_set(char *why, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(why, WHY_MAX, fmt, ap);
	va_end(ap);
	return -1;
}

static int is_zero(const uint8_t *p, size_t n)
{
	return sodium_is_zero(p, n);
}

int pl_obj_text_ok(const char *s, size_t min, size_t max, int multiline)
{
	if (s == NULL)
		return -1;
	return pl_text_ok((const uint8_t *)s, strnlen(s, max + 1), min, max, multiline);
}

/* s lives in an array of max + 1 bytes, so strnlen never reads past it. */
static int text_check(char *why, const char *who, const char *what, const char *s, size_t min,
		      size_t max, int ml)
{
	if (pl_obj_text_ok(s, min, max, ml) == 0)
		return 0;
	return why_set(why,
		       "%s%s must be %zu to %zu bytes of %stext (UTF-8, no control characters)",
		       who, what, min, max, ml ? "" : "one-line ");
}

static int person_check(const pl_person *p, unsigned version, const char *who, char *why)
{
	struct {
		const char *what;
		const char *s;
		size_t min, max;
		int ml;
	} f[] = {
	    {"name", p->name, 1, PL_PERSON_NAME_MAX, LINE},
	    {"held by", p->held_by, 1, PL_PERSON_HELD_BY_MAX, LINE},
	    {"nationality", p->nationality, 0, PL_PERSON_NATIONALITY_MAX, LINE},
	    {"born", p->born, 0, PL_PERSON_BORN_MAX, LINE},
	    {"since", p->since, 0, PL_PERSON_SINCE_MAX, LINE},
	    {"charges", p->charges, 0, PL_PERSON_CHARGES_MAX, MULTI},
	    {"sentence", p->sentence, 0, PL_PERSON_SENTENCE_MAX, MULTI},
	    {"humanitarian", p->humanitarian, 0, PL_PERSON_HUMANITARIAN_MAX, MULTI},
	};
	for (size_t i = 0; i < sizeof f / sizeof f[0]; i++)
		if (text_check(why, who, f[i].what, f[i].s, f[i].min, f[i].max, f[i].ml) != 0)
			return -1;
	if (p->priority > PL_PERSON_PRIORITY_MAX)
		return why_set(why, "%spriority %u is above %d", who, p->priority,
			       PL_PERSON_PRIORITY_MAX);
	/* Version 2 has no place for these: they stay in the author's vault. */
	if (version != PL_OBJ_VERSION_1 &&
	    (p->since[0] || p->charges[0] || p->sentence[0] || p->priority != 0))
		return why_set(why,
			       "%ssince, charges, sentence and priority are not carried by a "
			       "version %u object",
			       who, version);
	return 0;
}

int pl_obj_person_check(const pl_person *p, pl_err *e)
{
	char why[WHY_MAX];
	if (person_check(p, PL_OBJ_VERSION_1, "", why) != 0)
		return pl_err_set(e, PL_EXIT_INPUT, "%s", why);
	return 0;
}

static int key_check(char *why, const char *what, const uint8_t ik[static PL_IK_LEN])
{
	if (pl_ik_validate(ik) != 0)
		return why_set(why, "the %s key is not a valid Ed25519 public key", what);
	return 0;
}

static int proposal_check(const pl_obj *o, char *why)
{
	const pl_proposal *b = &o->u.proposal;
	char who[48];

	if (b->n_author > PL_PROPOSAL_SIDE_MAX || b->n_recipient > PL_PROPOSAL_SIDE_MAX)
		return why_set(why, "a side releases more than %d persons", PL_PROPOSAL_SIDE_MAX);
	if (b->n_author + b->n_recipient == 0)
		return why_set(why, "it names no one to release");
	for (int side = 0; side < 2; side++) {
		const pl_person *ps = side ? b->recipient : b->author;
		unsigned np = side ? b->n_recipient : b->n_author;
		for (unsigned i = 0; i < np; i++) {
			snprintf(who, sizeof who, "%s person %u: ", side ? "recipient" : "author",
				 i + 1);
			if (person_check(&ps[i], o->version, who, why) != 0)
				return -1;
		}
	}
	/* No ref twice: no one is on both sides, nor twice on one. */
	for (unsigned i = 0; i < (unsigned)b->n_author + b->n_recipient; i++) {
		const pl_person *pi =
		    i < b->n_author ? &b->author[i] : &b->recipient[i - b->n_author];
		for (unsigned j = 0; j < i; j++) {
			const pl_person *pj =
			    j < b->n_author ? &b->author[j] : &b->recipient[j - b->n_author];
			if (memcmp(pi->ref, pj->ref, PL_OBJ_REF_LEN) == 0)
				return why_set(why, "the same case reference appears twice");
		}
	}
	if (b->n_cond > PL_PROPOSAL_COND_MAX)
		return why_set(why, "more than %d conditions", PL_PROPOSAL_COND_MAX);
	for (unsigned i = 0; i < b->n_cond; i++) {
		snprintf(who, sizeof who, "condition %u ", i + 1);
		if (text_check(why, who, "", b->cond[i], 1, PL_PROPOSAL_COND_LEN, LINE) != 0)
			return -1;
	}
	if (text_check(why, "", "place", b->place, 0, PL_PROPOSAL_PLACE_MAX, LINE) != 0)
		return -1;
	if (pl_obj_sequencing_to_str(b->sequencing) == NULL)
		return why_set(why, "unknown sequencing %u", b->sequencing);
	if (b->has_mediator > 1)
		return why_set(why, "has_mediator is %u, not 0 or 1", b->has_mediator);
	if (b->has_mediator) {
		if (key_check(why, "mediator", b->mediator_ik) != 0)
			return -1;
		if (memcmp(b->mediator_ik, o->author_ik, PL_IK_LEN) == 0 ||
		    memcmp(b->mediator_ik, o->recipient_ik, PL_IK_LEN) == 0)
			return why_set(why, "the mediator is one of the two parties");
		if (text_check(why, "", "mediator name", b->mediator_name, 1, PL_MEDIATOR_NAME_MAX,
			       LINE) != 0)
			return -1;
	}
	if (is_zero(b->supersedes_id, PL_OBJ_ID_LEN) !=
	    is_zero(b->supersedes_hash, PL_OBJ_HASH_LEN))
		return why_set(why, "supersedes id and hash must both be zero or both be set");
	if (!is_zero(b->supersedes_id, PL_OBJ_ID_LEN) &&
	    memcmp(b->supersedes_id, o->id, PL_OBJ_ID_LEN) == 0)
		return why_set(why, "a proposal cannot supersede itself");
	/* Commitments exist in version 3 only, and a version 3 proposal has at
	 * least one: each object has exactly one encoding. */
	if (o->version != PL_OBJ_VERSION_3 && b->n_commit != 0)
		return why_set(why, "commitments are carried only by a version 3 proposal");
	if (o->version == PL_OBJ_VERSION_3 && b->n_commit == 0)
		return why_set(why, "a version 3 proposal carries at least one commitment");
	if (b->n_commit > PL_PROPOSAL_COMMIT_MAX)
		return why_set(why, "more than %d commitments", PL_PROPOSAL_COMMIT_MAX);
	for (unsigned i = 0; i < b->n_commit; i++) {
		if (pl_obj_commit_who_to_str(b->commit[i].who) == NULL)
			return why_set(why, "commitment %u: unknown signer %u", i + 1,
				       b->commit[i].who);
		if (b->commit[i].who == PL_COMMIT_MEDIATOR && !b->has_mediator)
			return why_set(why,
				       "commitment %u is the mediator's, but no mediator is "
				       "named",
				       i + 1);
		snprintf(who, sizeof who, "commitment %u ", i + 1);
		if (text_check(why, who, "", b->commit[i].text, 1, PL_COMMIT_TEXT_MAX, LINE) != 0)
			return -1;
	}
	return 0;
}

static int target_check(char *why, const uint8_t id[static PL_OBJ_ID_LEN],
			const uint8_t hash[static PL_OBJ_HASH_LEN])
{
	if (is_zero(id, PL_OBJ_ID_LEN))
		return why_set(why, "the target id is zero");
	if (is_zero(hash, PL_OBJ_HASH_LEN))
		return why_set(why, "the target hash is zero");
	return 0;
}

static int version_ok(unsigned v)
{
	return v == PL_OBJ_VERSION || v == PL_OBJ_VERSION_1 || v == PL_OBJ_VERSION_3;
}

/* Every rule of docs/NEGOTIATION.md, on the struct. why gets one sentence. */
static int obj_check(const pl_obj *o, char *why)
{
	if (!version_ok(o->version))
		return why_set(why, "version %u is not supported", o->version);
	if (o->version == PL_OBJ_VERSION_3 && o->type != PL_OBJ_PROPOSAL)
		return why_set(why, "version 3 is for proposals with commitments only");
	if (pl_obj_type_to_str(o->type) == NULL)
		return why_set(why, "unknown object type %u", o->type);
	if (is_zero(o->id, PL_OBJ_ID_LEN))
		return why_set(why, "the object id is zero");
	if (key_check(why, "author", o->author_ik) != 0 ||
	    key_check(why, "recipient", o->recipient_ik) != 0)
		return -1;
	if (memcmp(o->author_ik, o->recipient_ik, PL_IK_LEN) == 0)
		return why_set(why, "the author and the recipient are the same key");
	switch (o->type) {
	case PL_OBJ_OUTREACH:
		return text_check(why, "", "topic", o->u.outreach.topic, 1, PL_OUTREACH_TOPIC_MAX,
				  MULTI);
	case PL_OBJ_PROPOSAL:
		return proposal_check(o, why);
	case PL_OBJ_RESPONSE:
		if (pl_obj_response_kind_to_str(o->u.response.kind) == NULL)
			return why_set(why, "unknown response kind %u", o->u.response.kind);
		if (target_check(why, o->u.response.target_id, o->u.response.target_hash) != 0)
			return -1;
		return text_check(why, "", "reason", o->u.response.reason, 0,
				  PL_RESPONSE_REASON_MAX, MULTI);
	case PL_OBJ_REQUEST:
		if (person_check(&o->u.request.person, o->version, "person: ", why) != 0)
			return -1;
		if (pl_obj_request_kind_to_str(o->u.request.kind) == NULL)
			return why_set(why, "unknown request kind %u", o->u.request.kind);
		if (pl_obj_urgency_to_str(o->u.request.urgency) == NULL)
			return why_set(why, "unknown urgency %u", o->u.request.urgency);
		return text_check(why, "", "text", o->u.request.text, 0, PL_REQUEST_TEXT_MAX,
				  MULTI);
	case PL_OBJ_ANSWER:
		if (target_check(why, o->u.answer.target_id, o->u.answer.target_hash) != 0)
			return -1;
		if (pl_obj_decision_to_str(o->u.answer.decision) == NULL)
			return why_set(why, "unknown decision %u", o->u.answer.decision);
		return text_check(why, "", "text", o->u.answer.text, 0, PL_ANSWER_TEXT_MAX, MULTI);
	case PL_OBJ_GUARANTEE: {
		const pl_guarantee *g = &o->u.guarantee;
		if (target_check(why, g->proposal_id, g->proposal_hash) != 0 ||
		    target_check(why, g->acceptance_id, g->acceptance_hash) != 0)
			return -1;
		if (memcmp(g->proposal_id, g->acceptance_id, PL_OBJ_ID_LEN) == 0)
			return why_set(why, "the proposal and the acceptance have the same id");
		return text_check(why, "", "text", g->text, 0, PL_GUARANTEE_TEXT_MAX, MULTI);
	}
	}
	return why_set(why, "unknown object type %u", o->type);
}

/* --- encoding --------------------------------------------------------------- */

static void wr_str(pl_wr *w, const char *s)
{
	pl_wr_var(w, (const uint8_t *)s, strlen(s));
}

static void wr_person(pl_wr *w, const pl_person *p, unsigned version)
{
	pl_wr_bytes(w, p->ref, PL_OBJ_REF_LEN);
	wr_str(w, p->name);
	wr_str(w, p->held_by);
	wr_str(w, p->nationality);
	wr_str(w, p->born);
	if (version != PL_OBJ_VERSION_1) {
		wr_str(w, p->humanitarian); /* the shared summary */
		return;
	}
	wr_str(w, p->since);
	wr_str(w, p->charges);
	wr_str(w, p->sentence);
	wr_str(w, p->humanitarian);
	pl_wr_u8(w, p->priority);
}

/* Writes a checked object. */
static void wr_obj(pl_wr *w, const pl_obj *o)
{
	pl_wr_u8(w, o->version);
	pl_wr_u8(w, o->type);
	pl_wr_bytes(w, o->id, PL_OBJ_ID_LEN);
	pl_wr_bytes(w, o->author_ik, PL_IK_LEN);
	pl_wr_bytes(w, o->recipient_ik, PL_IK_LEN);
	pl_wr_u64(w, o->created);
	switch (o->type) {
	case PL_OBJ_OUTREACH:
		wr_str(w, o->u.outreach.topic);
		break;
	case PL_OBJ_PROPOSAL: {
		const pl_proposal *b = &o->u.proposal;
		pl_wr_u8(w, b->n_author);
		for (unsigned i = 0; i < b->n_author; i++)
			wr_person(w, &b->author[i], o->version);
		pl_wr_u8(w, b->n_recipient);
		for (unsigned i = 0; i < b->n_recipient; i++)
			wr_person(w, &b->recipient[i], o->version);
		pl_wr_u8(w, b->n_cond);
		for (unsigned i = 0; i < b->n_cond; i++)
			wr_str(w, b->cond[i]);
		wr_str(w, b->place);
		pl_wr_u8(w, b->sequencing);
		pl_wr_u8(w, b->has_mediator);
		if (b->has_mediator) {
			pl_wr_bytes(w, b->mediator_ik, PL_IK_LEN);
			wr_str(w, b->mediator_name);
		}
		pl_wr_u64(w, b->expires);
		pl_wr_bytes(w, b->supersedes_id, PL_OBJ_ID_LEN);
		pl_wr_bytes(w, b->supersedes_hash, PL_OBJ_HASH_LEN);
		if (o->version == PL_OBJ_VERSION_3) {
			pl_wr_u8(w, b->n_commit);
			for (unsigned i = 0; i < b->n_commit; i++) {
				pl_wr_u8(w, b->commit[i].who);
				wr_str(w, b->commit[i].text);
			}
		}
		break;
	}
	case PL_OBJ_RESPONSE:
		pl_wr_u8(w, o->u.response.kind);
		pl_wr_bytes(w, o->u.response.target_id, PL_OBJ_ID_LEN);
		pl_wr_bytes(w, o->u.response.target_hash, PL_OBJ_HASH_LEN);
		wr_str(w, o->u.response.reason);
		break;
	case PL_OBJ_REQUEST:
		wr_person(w, &o->u.request.person, o->version);
		pl_wr_u8(w, o->u.request.kind);
		pl_wr_u8(w, o->u.request.urgency);
		wr_str(w, o->u.request.text);
		break;
	case PL_OBJ_ANSWER:
		pl_wr_bytes(w, o->u.answer.target_id, PL_OBJ_ID_LEN);
		pl_wr_bytes(w, o->u.answer.target_hash, PL_OBJ_HASH_LEN);
		pl_wr_u8(w, o->u.answer.decision);
		wr_str(w, o->u.answer.text);
		break;
	case PL_OBJ_GUARANTEE:
		pl_wr_bytes(w, o->u.guarantee.proposal_id, PL_OBJ_ID_LEN);
		pl_wr_bytes(w, o->u.guarantee.proposal_hash, PL_OBJ_HASH_LEN);
		pl_wr_bytes(w, o->u.guarantee.acceptance_id, PL_OBJ_ID_LEN);
		pl_wr_bytes(w, o->u.guarantee.acceptance_hash, PL_OBJ_HASH_LEN);
		wr_str(w, o->u.guarantee.text);
		break;
	}
}

/* Checks and encodes into a fresh writer; on failure tmp is freed. */
static int encode_tmp(pl_wr *tmp, const pl_obj *o, pl_err *e)
{
	char why[WHY_MAX];
	const char *tn = pl_obj_type_to_str(o->type);

	pl_wr_init(tmp);
	if (obj_check(o, why) != 0)
		return pl_err_set(e, PL_EXIT_INPUT, "cannot encode the %s: %s", tn ? tn : "object",
				  why);
	wr_obj(tmp, o);
	if (pl_wr_ok(tmp) != 0) {
		pl_wr_free(tmp);
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory encoding an object");
	}
	if (tmp->n > OBJ_MAX) {
		pl_wr_free(tmp);
		return pl_err_set(e, PL_EXIT_INPUT,
				  "cannot encode the %s: it would be longer than %d bytes signed",
				  tn, PL_OBJ_SIGNED_MAX);
	}
	return 0;
}

/* Appends tmp (and sig) to w all at once, or leaves w as it was. */
static int append(pl_wr *w, const pl_wr *tmp, const uint8_t *sig, pl_err *e)
{
	size_t before = w->n;
	pl_wr_bytes(w, tmp->p, tmp->n);
	if (sig)
		pl_wr_bytes(w, sig, PL_SIG_LEN);
	if (pl_wr_ok(w) != 0) {
		if (w->p && w->n > before)
			sodium_memzero(w->p + before, w->n - before);
		w->n = before;
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory encoding an object");
	}
	return 0;
}

int pl_obj_encode(pl_wr *w, const pl_obj *o, pl_err *e)
{
	pl_wr tmp;
	if (encode_tmp(&tmp, o, e) != 0)
		return -1;
	int rc = append(w, &tmp, NULL, e);
	pl_wr_free(&tmp);
	return rc;
}

int pl_obj_encode_signed(pl_wr *w, const pl_obj *o, pl_err *e)
{
	pl_wr tmp;
	if (encode_tmp(&tmp, o, e) != 0)
		return -1;
	int rc = append(w, &tmp, o->sig, e);
	pl_wr_free(&tmp);
	return rc;
}

/* tag ‖ object, the message an object signature covers. */
static size_t sig_msg(uint8_t msg[static TAG_LEN + OBJ_MAX], const uint8_t *obj, size_t n)
{
	memcpy(msg, PL_OBJ_SIG_TAG, TAG_LEN);
	memcpy(msg + TAG_LEN, obj, n);
	return TAG_LEN + n;
}

int pl_obj_sign(pl_wr *signed_out, pl_obj *o, const pl_identity *author, pl_err *e)
{
	uint8_t msg[TAG_LEN + OBJ_MAX];
	uint8_t sig[PL_SIG_LEN];
	uint8_t saved[PL_IK_LEN];
	pl_wr tmp;

	memcpy(saved, o->author_ik, PL_IK_LEN);
	memcpy(o->author_ik, author->pk, PL_IK_LEN);
	if (encode_tmp(&tmp, o, e) != 0) {
		memcpy(o->author_ik, saved, PL_IK_LEN);
		return -1;
	}
	size_t mlen = sig_msg(msg, tmp.p, tmp.n);
	crypto_sign_detached(sig, NULL, msg, mlen, author->sk);
	sodium_memzero(msg, mlen);
	int rc = append(signed_out, &tmp, sig, e);
	pl_wr_free(&tmp);
	if (rc != 0) {
		memcpy(o->author_ik, saved, PL_IK_LEN);
		return -1;
	}
	memcpy(o->sig, sig, PL_SIG_LEN);
	return 0;
}

/* --- decoding --------------------------------------------------------------- */

typedef struct {
	pl_rd r;
	char why[WHY_MAX]; /* the first failure that has a name */
} dec;

static void dfail(dec *d, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void dfail(dec *d, const char *fmt, ...)
{
	if (!d->r.err && d->why[0] == '\0') {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(d->why, sizeof d->why, fmt, ap);
		va_end(ap);
	}
	pl_rd_fail(&d->r);
}

/* Reads a str into out[max + 1]. Only the wire is checked here (length, no
 * NUL, so that strlen gives the wire length back); the text rules are
 * obj_check's. */
static void rd_str(dec *d, char *out, size_t max, const char *what)
{
	size_t len;
	int was_ok = !d->r.err;
	const uint8_t *p = pl_rd_var(&d->r, max, &len);

	out[0] = '\0';
	if (p == NULL) {
		if (was_ok && d->why[0] == '\0')
			snprintf(d->why, sizeof d->why, "%s is truncated or longer than %zu bytes",
				 what, max);
		return;
	}
	if (memchr(p, 0, len) != NULL) {
		dfail(d, "%s contains a NUL byte", what);
		return;
	}
	memcpy(out, p, len);
	out[len] = '\0';
}

static void rd_person(dec *d, pl_person *p, unsigned version)
{
	pl_rd_copy(&d->r, p->ref, PL_OBJ_REF_LEN);
	rd_str(d, p->name, PL_PERSON_NAME_MAX, "a person's name");
	rd_str(d, p->held_by, PL_PERSON_HELD_BY_MAX, "a person's held by");
	rd_str(d, p->nationality, PL_PERSON_NATIONALITY_MAX, "a person's nationality");
	rd_str(d, p->born, PL_PERSON_BORN_MAX, "a person's born");
	if (version != PL_OBJ_VERSION_1) {
		rd_str(d, p->humanitarian, PL_PERSON_HUMANITARIAN_MAX, "a person's summary");
		return;
	}
	rd_str(d, p->since, PL_PERSON_SINCE_MAX, "a person's since");
	rd_str(d, p->charges, PL_PERSON_CHARGES_MAX, "a person's charges");
	rd_str(d, p->sentence, PL_PERSON_SENTENCE_MAX, "a person's sentence");
	rd_str(d, p->humanitarian, PL_PERSON_HUMANITARIAN_MAX, "a person's humanitarian");
	p->priority = pl_rd_u8(&d->r);
}

static void rd_proposal(dec *d, pl_proposal *b, unsigned version)
{
	b->n_author = pl_rd_u8(&d->r);
	if (b->n_author > PL_PROPOSAL_SIDE_MAX)
		dfail(d, "a side releases more than %d persons", PL_PROPOSAL_SIDE_MAX);
	for (unsigned i = 0; i < b->n_author && !d->r.err; i++)
		rd_person(d, &b->author[i], version);
	b->n_recipient = pl_rd_u8(&d->r);
	if (b->n_recipient > PL_PROPOSAL_SIDE_MAX)
		dfail(d, "a side releases more than %d persons", PL_PROPOSAL_SIDE_MAX);
	for (unsigned i = 0; i < b->n_recipient && !d->r.err; i++)
		rd_person(d, &b->recipient[i], version);
	b->n_cond = pl_rd_u8(&d->r);
	if (b->n_cond > PL_PROPOSAL_COND_MAX)
		dfail(d, "more than %d conditions", PL_PROPOSAL_COND_MAX);
	for (unsigned i = 0; i < b->n_cond && !d->r.err; i++)
		rd_str(d, b->cond[i], PL_PROPOSAL_COND_LEN, "a condition");
	rd_str(d, b->place, PL_PROPOSAL_PLACE_MAX, "the place");
	b->sequencing = pl_rd_u8(&d->r);
	b->has_mediator = pl_rd_u8(&d->r);
	if (b->has_mediator > 1)
		dfail(d, "has_mediator is %u, not 0 or 1", b->has_mediator);
	if (b->has_mediator == 1) {
		pl_rd_copy(&d->r, b->mediator_ik, PL_IK_LEN);
		rd_str(d, b->mediator_name, PL_MEDIATOR_NAME_MAX, "the mediator name");
	}
	b->expires = pl_rd_u64(&d->r);
	pl_rd_copy(&d->r, b->supersedes_id, PL_OBJ_ID_LEN);
	pl_rd_copy(&d->r, b->supersedes_hash, PL_OBJ_HASH_LEN);
	if (version != PL_OBJ_VERSION_3)
		return;
	b->n_commit = pl_rd_u8(&d->r);
	if (b->n_commit > PL_PROPOSAL_COMMIT_MAX)
		dfail(d, "more than %d commitments", PL_PROPOSAL_COMMIT_MAX);
	for (unsigned i = 0; i < b->n_commit && !d->r.err; i++) {
		b->commit[i].who = pl_rd_u8(&d->r);
		rd_str(d, b->commit[i].text, PL_COMMIT_TEXT_MAX, "a commitment");
	}
}

int pl_obj_parse(pl_obj *o, const uint8_t *p, size_t n, pl_err *e)
{
	dec d;
	char why[WHY_MAX];

	memset(o, 0, sizeof *o);
	d.why[0] = '\0';
	pl_rd_init(&d.r, p, n);
	if (n > OBJ_MAX)
		dfail(&d, "it is longer than %d bytes", PL_OBJ_SIGNED_MAX);
	o->version = pl_rd_u8(&d.r);
	if (!version_ok(o->version))
		dfail(&d, "version %u is not supported", o->version);
	o->type = pl_rd_u8(&d.r);
	if (pl_obj_type_to_str(o->type) == NULL)
		dfail(&d, "unknown object type %u", o->type);
	pl_rd_copy(&d.r, o->id, PL_OBJ_ID_LEN);
	pl_rd_copy(&d.r, o->author_ik, PL_IK_LEN);
	pl_rd_copy(&d.r, o->recipient_ik, PL_IK_LEN);
	o->created = pl_rd_u64(&d.r);
	switch (o->type) {
	case PL_OBJ_OUTREACH:
		rd_str(&d, o->u.outreach.topic, PL_OUTREACH_TOPIC_MAX, "the topic");
		break;
	case PL_OBJ_PROPOSAL:
		rd_proposal(&d, &o->u.proposal, o->version);
		break;
	case PL_OBJ_RESPONSE:
		o->u.response.kind = pl_rd_u8(&d.r);
		pl_rd_copy(&d.r, o->u.response.target_id, PL_OBJ_ID_LEN);
		pl_rd_copy(&d.r, o->u.response.target_hash, PL_OBJ_HASH_LEN);
		rd_str(&d, o->u.response.reason, PL_RESPONSE_REASON_MAX, "the reason");
		break;
	case PL_OBJ_REQUEST:
		rd_person(&d, &o->u.request.person, o->version);
		o->u.request.kind = pl_rd_u8(&d.r);
		o->u.request.urgency = pl_rd_u8(&d.r);
		rd_str(&d, o->u.request.text, PL_REQUEST_TEXT_MAX, "the text");
		break;
	case PL_OBJ_ANSWER:
		pl_rd_copy(&d.r, o->u.answer.target_id, PL_OBJ_ID_LEN);
		pl_rd_copy(&d.r, o->u.answer.target_hash, PL_OBJ_HASH_LEN);
		o->u.answer.decision = pl_rd_u8(&d.r);
		rd_str(&d, o->u.answer.text, PL_ANSWER_TEXT_MAX, "the text");
		break;
	case PL_OBJ_GUARANTEE:
		pl_rd_copy(&d.r, o->u.guarantee.proposal_id, PL_OBJ_ID_LEN);
		pl_rd_copy(&d.r, o->u.guarantee.proposal_hash, PL_OBJ_HASH_LEN);
		pl_rd_copy(&d.r, o->u.guarantee.acceptance_id, PL_OBJ_ID_LEN);
		pl_rd_copy(&d.r, o->u.guarantee.acceptance_hash, PL_OBJ_HASH_LEN);
		rd_str(&d, o->u.guarantee.text, PL_GUARANTEE_TEXT_MAX, "the text");
		break;
	}
	if (pl_rd_done(&d.r) != 0) {
		const char *tn = pl_obj_type_to_str(o->type);
		if (d.why[0] == '\0')
			snprintf(d.why, sizeof d.why, "%s",
				 d.r.err ? "it is truncated" : "trailing bytes after the object");
		memset(o, 0, sizeof *o);
		return pl_err_set(e, PL_EXIT_INPUT, "malformed %s: %s", tn ? tn : "object", d.why);
	}
	if (obj_check(o, why) != 0) {
		const char *tn = pl_obj_type_to_str(o->type);
		memset(o, 0, sizeof *o);
		return pl_err_set(e, PL_EXIT_INPUT, "malformed %s: %s", tn, why);
	}
	return 0;
}

int pl_obj_decode_signed(pl_obj *o, const uint8_t *p, size_t n, pl_err *e)
{
	uint8_t msg[TAG_LEN + OBJ_MAX];

	if (n < PL_SIG_LEN || n > PL_OBJ_SIGNED_MAX || p == NULL) {
		memset(o, 0, sizeof *o);
		return pl_err_set(e, PL_EXIT_INPUT,
				  "malformed object: %zu bytes is not a possible "
				  "length of a signed object",
				  n);
	}
	if (pl_obj_parse(o, p, n - PL_SIG_LEN, e) != 0)
		return -1;
	memcpy(o->sig, p + n - PL_SIG_LEN, PL_SIG_LEN);
	size_t mlen = sig_msg(msg, p, n - PL_SIG_LEN);
	int rc = crypto_sign_verify_detached(o->sig, msg, mlen, o->author_ik);
	sodium_memzero(msg, mlen);
	if (rc != 0) {
		const char *tn = pl_obj_type_to_str(o->type);
		memset(o, 0, sizeof *o);
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "the %s's signature does not verify under its author's key", tn);
	}
	return 0;
}

/* --- small helpers ---------------------------------------------------------- */

void pl_obj_init(pl_obj *o, pl_obj_type type)
{
	memset(o, 0, sizeof *o);
	o->version = PL_OBJ_VERSION;
	o->type = (uint8_t)type;
	do
		randombytes_buf(o->id, PL_OBJ_ID_LEN);
	while (is_zero(o->id, PL_OBJ_ID_LEN));
	o->created = pl_now();
}

void pl_obj_hash(uint8_t out[static PL_OBJ_HASH_LEN], const uint8_t *signed_bytes, size_t n)
{
	pl_sha256(out, signed_bytes, n);
}

void pl_obj_id_hex(char out[static PL_OBJ_ID_HEX_LEN], const uint8_t id[static PL_OBJ_ID_LEN])
{
	pl_hex_encode(out, id, PL_OBJ_ID_LEN);
}

int pl_obj_id_parse(uint8_t id[static PL_OBJ_ID_LEN], const char *hex)
{
	return pl_hex_decode(id, PL_OBJ_ID_LEN, hex);
}
