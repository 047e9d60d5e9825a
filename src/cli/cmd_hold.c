/*
 * cmd_hold.c — `parley hold ID --reason TEXT` (proximity talks, run by the
 * mediator): keeps a move waiting in the inbox back and tells its author,
 * in a notice the mediator signs, naming the move and the reason. One
 * forward or hold per move.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "client/via.h"
#include "util/codec.h"

int pl_cmd_hold(pl_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"reason", required_argument, NULL, 'r'},
					     {NULL, 0, NULL, 0}};
	const char *reason = NULL;
	int ch;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'r')
			return pl_cli_usage("hold", "unknown or incomplete option %s",
					    argv[optind - 1]);
		reason = optarg;
	}
	if (argc - optind != 1 || reason == NULL || reason[0] == '\0')
		return pl_cli_usage("hold", "hold needs ID and --reason TEXT (the author is told)");
	int rc = pl_cli_id_arg("hold", argv[optind]);
	if (rc != 0)
		return rc;
	pl_err e;
	pl_err_clear(&e);
	pl_vault *v;
	if (pl_cli_open_vault(cli, &v, &e) != 0)
		return pl_cli_fail(&e);
	uint8_t id[8];
	char author[PL_NAME_MAX + 1], hex[17];
	if (pl_cli_resolve_id(v, argv[optind], id, &e) != 0 ||
	    pl_via_hold(v, id, reason, author, &e) != 0) {
		rc = pl_cli_fail(&e);
		pl_vault_close(v);
		return rc;
	}
	pl_hex_encode(hex, id, 8);
	pl_sync_report r;
	memset(&r, 0, sizeof r);
	pl_err de;
	pl_err_clear(&de);
	int ok = pl_msgr_deliver(v, &r, &de) == 0;
	pl_cli_copy_warn(&r);
	if (cli->json) {
		json_t *j = json_pack("{s:s, s:s, s:s}", "id", hex, "author", author, "notice",
				      ok ? "delivered" : "queued");
		pl_cli_json_out(j);
	} else {
		printf("held %s back; %s %s told%s\n", hex, author, ok ? "was" : "will be",
		       ok ? "" : " (queued; run parley sync)");
	}
	pl_vault_close(v);
	return PL_EXIT_OK;
}
