/*
 * terms.c — the terms of signed objects as text for people (see terms.h).
 * It prints what was signed and nothing else, and never the priority.
 */
#include "export/terms.h"

#include <sodium.h>
#include <string.h>

#include "export/json.h"

void pl_terms_text(FILE *out, const char *s, const char *indent)
{
	for (; *s; s++) {
		fputc(*s, out);
		if (*s == '\n')
			fputs(indent, out);
	}
}

static void field(FILE *out, const char *indent, const char *label, const char *v)
{
	char sub[64];
	if (v[0] == '\0')
		return;
	snprintf(sub, sizeof sub, "%s%*s", indent, (int)strlen(label) + 2, "");
	fprintf(out, "%s%s: ", indent, label);
	pl_terms_text(out, v, sub);
	fputc('\n', out);
}

void pl_terms_person(FILE *out, const pl_person *p, const char *lead, const char *indent)
{
	fprintf(out, "%s%s", lead, p->name);
	if (p->nationality[0])
		fprintf(out, ", nationality %s", p->nationality);
	if (p->born[0])
		fprintf(out, ", born %s", p->born);
	if (p->held_by[0])
		fprintf(out, ", held by %s", p->held_by);
	fputc('\n', out);
	field(out, indent, "held since", p->since);
	field(out, indent, "charges", p->charges);
	field(out, indent, "sentence", p->sentence);
	field(out, indent, "humanitarian", p->humanitarian);
}

static void side(FILE *out, const char *who, const pl_person *ps, unsigned n, const char *indent)
{
	char lead[64], sub[64];
	fprintf(out, "%s%s releases:%s\n", indent, who, n == 0 ? " no one" : "");
	snprintf(lead, sizeof lead, "%s  - ", indent);
	snprintf(sub, sizeof sub, "%s    ", indent);
	for (unsigned i = 0; i < n; i++)
		pl_terms_person(out, &ps[i], lead, sub);
}

void pl_terms_proposal(FILE *out, const pl_proposal *b, const char *author, const char *recipient,
		       const char *indent)
{
	char t[PL_EXPORT_TIME_BUF], id[PL_OBJ_ID_HEX_LEN];
	side(out, author, b->author, b->n_author, indent);
	side(out, recipient, b->recipient, b->n_recipient, indent);
	fprintf(out, "%splace: %s\n", indent, b->place[0] ? b->place : "not specified");
	fprintf(out, "%ssequencing: %s\n", indent,
		b->sequencing == PL_SEQ_SIMULTANEOUS ? "simultaneous (both releases at once)"
		: b->sequencing == PL_SEQ_STAGED     ? "staged (in steps, as the conditions say)"
						     : "not specified");
	if (b->has_mediator) {
		char fp[PL_FINGERPRINT_LEN];
		pl_fingerprint(fp, b->mediator_ik);
		fprintf(out, "%smediator: %s (key fingerprint %s)\n", indent, b->mediator_name, fp);
	} else {
		fprintf(out, "%smediator: none\n", indent);
	}
	if (b->n_cond == 0)
		fprintf(out, "%sconditions: none\n", indent);
	for (unsigned i = 0; i < b->n_cond; i++)
		fprintf(out, "%scondition %u: %s\n", indent, i + 1, b->cond[i]);
	pl_terms_commitments(out, b, author, recipient, indent);
	if (b->expires) {
		pl_export_fmt_time(t, b->expires);
		fprintf(out, "%soffer open until: %s\n", indent, t);
	} else {
		fprintf(out, "%soffer open until: no expiry set\n", indent);
	}
	if (!sodium_is_zero(b->supersedes_id, PL_OBJ_ID_LEN)) {
		pl_obj_id_hex(id, b->supersedes_id);
		fprintf(out, "%scounters proposal %s\n", indent, id);
	}
}

void pl_terms_commitments(FILE *out, const pl_proposal *b, const char *author,
			  const char *recipient, const char *indent)
{
	static const int order[] = {PL_COMMIT_AUTHOR, PL_COMMIT_RECIPIENT, PL_COMMIT_MEDIATOR};
	if (b->n_commit == 0)
		return;
	fprintf(out, "%scommitments (each binds the signer it names):\n", indent);
	for (size_t k = 0; k < 3; k++) {
		int any = 0;
		for (unsigned i = 0; i < b->n_commit; i++) {
			if (b->commit[i].who != order[k])
				continue;
			if (!any)
				fprintf(out, "%s  %s%s commits to:\n", indent,
					order[k] == PL_COMMIT_AUTHOR	  ? author
					: order[k] == PL_COMMIT_RECIPIENT ? recipient
									  : b->mediator_name,
					order[k] == PL_COMMIT_MEDIATOR
					    ? " (the mediator, bound once it guarantees)"
					    : "");
			any = 1;
			fprintf(out, "%s    - %s\n", indent, b->commit[i].text);
		}
	}
}

void pl_terms_obj(FILE *out, const pl_obj *o, const char *author, const char *recipient,
		  const char *indent)
{
	char id[PL_OBJ_ID_HEX_LEN], sub[64];
	snprintf(sub, sizeof sub, "%s  ", indent);
	pl_obj_id_hex(id, o->id);
	switch (o->type) {
	case PL_OBJ_OUTREACH:
		fprintf(out, "%soutreach %s, topic: ", indent, id);
		pl_terms_text(out, o->u.outreach.topic, sub);
		fputc('\n', out);
		break;
	case PL_OBJ_PROPOSAL:
		fprintf(out, "%sproposal %s\n", indent, id);
		pl_terms_proposal(out, &o->u.proposal, author, recipient, sub);
		break;
	case PL_OBJ_RESPONSE: {
		char tid[PL_OBJ_ID_HEX_LEN];
		pl_obj_id_hex(tid, o->u.response.target_id);
		const char *k = o->u.response.kind == PL_RESP_ACCEPT   ? "accepts"
				: o->u.response.kind == PL_RESP_REJECT ? "rejects"
								       : "withdraws";
		fprintf(out, "%s%s proposal %s (response %s)\n", indent, k, tid, id);
		field(out, sub, "reason", o->u.response.reason);
		break;
	}
	case PL_OBJ_REQUEST:
		fprintf(out, "%shumanitarian request %s: %s, urgency %s, for\n", indent, id,
			pl_obj_request_kind_to_str(o->u.request.kind),
			pl_obj_urgency_to_str(o->u.request.urgency));
		pl_terms_person(out, &o->u.request.person, sub, sub);
		field(out, sub, "text", o->u.request.text);
		break;
	case PL_OBJ_ANSWER: {
		char tid[PL_OBJ_ID_HEX_LEN];
		pl_obj_id_hex(tid, o->u.answer.target_id);
		fprintf(out, "%s%s request %s (answer %s)\n", indent,
			o->u.answer.decision == PL_DECISION_GRANT ? "grants" : "denies", tid, id);
		field(out, sub, "text", o->u.answer.text);
		break;
	}
	case PL_OBJ_GUARANTEE: {
		char pid[PL_OBJ_ID_HEX_LEN], aid[PL_OBJ_ID_HEX_LEN];
		pl_obj_id_hex(pid, o->u.guarantee.proposal_id);
		pl_obj_id_hex(aid, o->u.guarantee.acceptance_id);
		fprintf(out,
			"%sguarantees, as mediator, the agreement on proposal %s (acceptance %s) "
			"(guarantee %s)\n",
			indent, pid, aid, id);
		field(out, sub, "text", o->u.guarantee.text);
		break;
	}
	default:
		fprintf(out, "%s%s %s\n", indent, pl_obj_type_to_str(o->type), id);
	}
}
