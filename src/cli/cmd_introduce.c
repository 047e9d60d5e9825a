/*
 * cmd_introduce.c — `parley introduce NAME1 NAME2`, run by a mediator both
 * sides verified in person: each of the two gets a signed introduction of
 * the other's key (client/introduce.h), queued in one transaction and
 * delivered like any payload.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "client/introduce.h"
#include "util/codec.h"

int pl_cmd_introduce(pl_cli *cli, int argc, char **argv)
{
	if (argc != 3)
		return pl_cli_usage("introduce", "introduce takes two contact names");
	pl_err e;
	pl_err_clear(&e);
	pl_vault *v;
	if (pl_cli_open_vault(cli, &v, &e) != 0)
		return pl_cli_fail(&e);
	pl_intro_report r;
	int rc = pl_intro_send(v, argv[1], argv[2], &r, &e);
	pl_vault_close(v);
	if (rc != 0)
		return pl_cli_fail(&e);
	char when[PL_RFC3339_LEN];
	pl_time_rfc3339(when, r.time);
	if (cli->json)
		pl_cli_json_out(json_pack("{s:[s, s], s:s, s:I, s:I}", "introduced", argv[1],
					  argv[2], "time", when, "delivered",
					  (json_int_t)r.delivered, "queued", (json_int_t)r.queued));
	else
		printf("introduced \"%s\" and \"%s\" to each other (signed %s); %u delivered, %u "
		       "still queued\nnext: each runs parley sync and sees the other as "
		       "introduced by you\n",
		       argv[1], argv[2], when, r.delivered, r.queued);
	if (r.queued)
		fprintf(stderr,
			"parley: warning: %u item(s) wait in the outbox%s%s; parley sync retries\n",
			r.queued, r.why[0] ? ": " : "", r.why);
	return PL_EXIT_OK;
}
