/* cmd_outreach.c — `parley outreach NAME --topic TEXT`: a signed invitation
 * to talk about a topic. */
#include <getopt.h>

#include "cli/cli.h"

int pl_cmd_outreach(pl_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"topic", required_argument, NULL, 't'},
					     {NULL, 0, NULL, 0}};
	const char *topic = NULL, *via;
	int ch;
	int vr = pl_cli_take_via("outreach", &argc, argv, &via);
	if (vr != 0)
		return vr;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 't')
			return pl_cli_usage("outreach", "unknown or incomplete option %s",
					    argv[optind - 1]);
		topic = optarg;
	}
	if (argc - optind != 1 || topic == NULL)
		return pl_cli_usage("outreach", "outreach needs NAME and --topic TEXT");
	pl_err e;
	pl_err_clear(&e);
	pl_vault *v;
	if (pl_cli_open_vault(cli, &v, &e) != 0)
		return pl_cli_fail(&e);
	uint8_t id[PL_OBJ_ID_LEN];
	int64_t seq;
	int rc;
	pl_nego_confirm cf = {NULL, NULL, via};
	if (pl_nego_outreach_ex(v, argv[optind], topic, &cf, id, &seq, &e) != 0)
		rc = pl_cli_fail(&e);
	else
		rc = pl_cli_move_done(cli, v, "outreach", id, seq);
	pl_vault_close(v);
	return rc;
}
