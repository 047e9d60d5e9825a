/*
 * cmd_guarantee.c — `parley guarantee ID [--text TEXT] [--yes]`: the
 * mediator a proposal names countersigns the agreement it was delivered
 * (client/guarantee.h); one signed guarantee goes to each party.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "client/guarantee.h"
#include "util/codec.h"

int pl_cmd_guarantee(pl_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"text", required_argument, NULL, 't'},
					     {NULL, 0, NULL, 0}};
	const char *text = NULL;
	int ch;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 't')
			return pl_cli_usage("guarantee", "unknown or incomplete option %s",
					    argv[optind - 1]);
		text = optarg;
	}
	if (argc - optind != 1)
		return pl_cli_usage("guarantee", "guarantee needs exactly one ID");
	pl_nego_confirm cf = {NULL, NULL, NULL};
	int rc = pl_cli_id_arg("guarantee", argv[optind]);
	if (rc == 0)
		rc = pl_cli_signing(cli, "guarantee", &cf);
	if (rc != 0)
		return rc;
	pl_err e;
	pl_err_clear(&e);
	pl_vault *v;
	if (pl_cli_open_vault(cli, &v, &e) != 0)
		return pl_cli_fail(&e);
	uint8_t target[PL_OBJ_ID_LEN], ids[2][PL_OBJ_ID_LEN];
	int64_t seqs[2];
	if (pl_cli_resolve_id(v, argv[optind], target, &e) != 0 ||
	    pl_guar_guarantee(v, target, text, &cf, ids, seqs, &e) != 0) {
		rc = pl_cli_fail(&e);
	} else {
		/* Both guarantees are queued; delivering the first delivers
		 * whatever is due, the second included. */
		char hex[PL_OBJ_ID_HEX_LEN];
		pl_obj_id_hex(hex, ids[1]);
		rc = pl_cli_move_done(cli, v, "guarantee", ids[0], seqs[0]);
		if (!cli->json)
			printf("%s\n", hex);
	}
	pl_vault_close(v);
	return rc;
}
