/*
 * respond_common.c — what accept, reject and withdraw share: parse `ID
 * [--reason TEXT]`, make the signed response, deliver it. Each of the three
 * commands is its own file and calls this with its kind.
 */
#include <getopt.h>
#include <string.h>

#include "cli/cli.h"

int pl_cli_response(pl_cli *cli, const char *cmd, int kind, int argc, char **argv)
{
	static const struct option opts[] = {{"reason", required_argument, NULL, 'r'},
					     {NULL, 0, NULL, 0}};
	const char *reason = NULL, *via;
	int ch;
	int vr = pl_cli_take_via(cmd, &argc, argv, &via);
	if (vr != 0)
		return vr;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'r' || kind == PL_RESP_ACCEPT)
			return pl_cli_usage(cmd, "unknown or incomplete option %s",
					    argv[optind - 1]);
		reason = optarg;
	}
	if (argc - optind != 1)
		return pl_cli_usage(cmd, "%s needs exactly one ID", cmd);
	uint8_t target[PL_OBJ_ID_LEN], id[PL_OBJ_ID_LEN];
	pl_nego_confirm cf = {NULL, NULL, NULL};
	int rc = pl_cli_id_arg(cmd, argv[optind]);
	/* a rejection commits to nothing: only acceptance and withdrawal ask */
	if (rc == 0 && kind != PL_RESP_REJECT)
		rc = pl_cli_signing(cli, cmd, &cf);
	if (rc != 0)
		return rc;
	cf.via = via;
	pl_err e;
	pl_err_clear(&e);
	pl_vault *v;
	if (pl_cli_open_vault(cli, &v, &e) != 0)
		return pl_cli_fail(&e);
	int64_t seq;
	if (pl_cli_resolve_id(v, argv[optind], target, &e) != 0 ||
	    pl_nego_respond_ex(v, target, kind, reason, &cf, id, &seq, &e) != 0)
		rc = pl_cli_fail(&e);
	else
		rc = pl_cli_move_done(cli, v, "response", id, seq);
	pl_vault_close(v);
	return rc;
}
