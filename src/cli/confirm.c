/*
 * confirm.c — the question asked before a binding move is signed (accept,
 * propose, counter, respond, withdraw). A signature cannot be taken back:
 * one mistyped id once accepted a proposal. So on a terminal the complete
 * terms are shown and a "yes" is needed; scripts say --yes; anything else
 * (stdin not a terminal, no --yes) is refused before the vault is opened.
 *
 * What it must never do: sign on anything but an explicit y or yes, or
 * show terms other than the object that is about to be signed.
 */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "cli/cli.h"
#include "cli/render.h"
#include "client/introduce.h"
#include "client/guarantee.h"
#include "envelope/envelope.h"
#include "util/codec.h"

/* The earlier move a response or answer is about, printed in full. */
static void print_target(FILE *f, pl_vault *v, const uint8_t id[static PL_OBJ_ID_LEN])
{
	pl_item it;
	if (pl_nego_find(v, id, &it, NULL) != 0)
		return;
	pl_cli_item_fprint(f, v, &it, pl_now());
	pl_vault_item_free(&it);
}

/* Whose word the recipient's key rests on, when it is not the user's own
 * check in person: an introduction. */
static void assurance_note(FILE *f, pl_vault *v, const char *contact)
{
	pl_contact c;
	pl_intro_rec r;
	char who[PL_NAME_MAX + 1], fp[PL_FINGERPRINT_LEN];
	pl_err e;
	pl_err_clear(&e);
	if (pl_vault_contact_get(v, contact, &c, &e) != 0)
		return;
	if (!c.verified && c.introduced && pl_intro_of(v, &c, &r, who, NULL, &e) == 1) {
		pl_fingerprint(fp, c.ik);
		fprintf(f,
			"Note: you never verified %s's key (fingerprint %s) in person; %s "
			"introduced it to you and vouches for it. To check it yourself: parley "
			"contact verify %s SAFETY_NUMBER.\n\n",
			contact, fp, who, contact);
	}
	sodium_memzero(&c, sizeof c);
}

static int ask(void *ctx, pl_vault *v, const char *contact, const pl_obj *o, pl_err *e)
{
	const char *cmd = ctx;
	FILE *f = stderr;
	const char *what = "this move";
	fprintf(f, "You are about to sign and send to %s:\n\n", contact);
	assurance_note(f, v, contact);
	if (o->type == PL_OBJ_RESPONSE) {
		int k = o->u.response.kind;
		what = k == PL_RESP_ACCEPT ? "this acceptance" : "this withdrawal";
		fprintf(f, "%s of the proposal:\n",
			k == PL_RESP_ACCEPT   ? "Your acceptance"
			: k == PL_RESP_REJECT ? "Your rejection"
					      : "Your withdrawal");
		print_target(f, v, o->u.response.target_id);
		if (o->u.response.reason[0])
			fprintf(f, "with the reason: %s\n", o->u.response.reason);
		if (k == PL_RESP_ACCEPT)
			fprintf(f, "\nAccepting makes these terms an agreement signed by both "
				   "sides; it cannot be taken back.\n");
	} else if (o->type == PL_OBJ_ANSWER) {
		what = "this answer";
		fprintf(f, "Your %s of the request:\n",
			o->u.answer.decision == PL_DECISION_GRANT ? "grant" : "denial");
		print_target(f, v, o->u.answer.target_id);
		if (o->u.answer.text[0])
			fprintf(f, "with the text: %s\n", o->u.answer.text);
	} else if (o->type == PL_OBJ_GUARANTEE) {
		pl_item it;
		what = "this guarantee";
		fprintf(f, "Your guarantee, as the mediator it names, of the agreement (one signed "
			   "copy to each party):\n");
		if (pl_guar_find_agreement(v, o->u.guarantee.proposal_id, &it, NULL) == 0) {
			pl_cli_item_fprint(f, v, &it, pl_now());
			pl_vault_item_free(&it);
		}
		if (o->u.guarantee.text[0])
			fprintf(f, "with the text: %s\n", o->u.guarantee.text);
		fprintf(f, "\nGuaranteeing binds you to the commitments the terms give the "
			   "mediator; it cannot be taken back.\n");
	} else {
		what = "this proposal";
		pl_cli_obj_print(f, v, contact, o);
		if (o->type == PL_OBJ_PROPOSAL && o->u.proposal.expires == 0)
			fprintf(f, "\nThis proposal never expires: it stays open until it is "
				   "answered or withdrawn (see --expires).\n");
	}
	fprintf(f, "\nSign and send %s? Type y or yes to sign, anything else to stop: ", what);
	fflush(f);
	char line[64];
	if (fgets(line, sizeof line, stdin) == NULL)
		line[0] = '\0';
	size_t n = strcspn(line, "\r\n");
	line[n] = '\0';
	for (size_t i = 0; i < n; i++)
		line[i] = (char)tolower((unsigned char)line[i]);
	if (strcmp(line, "y") == 0 || strcmp(line, "yes") == 0)
		return 0;
	return pl_err_set(e, PL_EXIT_ERROR,
			  "not signed: you did not answer yes; nothing was sent (run parley %s "
			  "again to sign)",
			  cmd);
}

int pl_cli_signing(pl_cli *cli, const char *cmd, pl_nego_confirm *cf)
{
	cf->fn = NULL;
	cf->ctx = (void *)cmd;
	cf->via = NULL;
	if (cli->yes)
		return 0;
	if (!isatty(STDIN_FILENO)) {
		pl_cli_error("%s signs a binding move and there is no terminal to confirm it on "
			     "(stdin is not a terminal); pass --yes to sign without asking",
			     cmd);
		return PL_EXIT_USAGE;
	}
	cf->fn = ask;
	return 0;
}

int pl_cli_confirm(pl_cli *cli, const char *cmd, const char *what, const char *question)
{
	if (cli->yes)
		return 0;
	if (!isatty(STDIN_FILENO)) {
		pl_cli_error("%s would %s and there is no terminal to confirm it on (stdin is not "
			     "a terminal); pass --yes to do it without asking",
			     cmd, what);
		return PL_EXIT_USAGE;
	}
	fprintf(stderr, "%s\n%s? Type y or yes to go on, anything else to stop: ", question, what);
	fflush(stderr);
	char line[64];
	if (fgets(line, sizeof line, stdin) == NULL)
		line[0] = '\0';
	size_t n = strcspn(line, "\r\n");
	line[n] = '\0';
	for (size_t i = 0; i < n; i++)
		line[i] = (char)tolower((unsigned char)line[i]);
	if (strcmp(line, "y") == 0 || strcmp(line, "yes") == 0)
		return 0;
	pl_cli_error("nothing changed: you did not answer yes (run parley %s again, or pass "
		     "--yes)",
		     cmd);
	return PL_EXIT_ERROR;
}
