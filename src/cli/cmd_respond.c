/* cmd_respond.c — `parley respond ID --grant|--deny [--text TEXT]`: the
 * signed answer to a humanitarian request. */
#include <getopt.h>

#include "cli/cli.h"

int pl_cmd_respond(pl_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"grant", no_argument, NULL, 'g'},
					     {"deny", no_argument, NULL, 'd'},
					     {"text", required_argument, NULL, 't'},
					     {NULL, 0, NULL, 0}};
	const char *text = NULL, *via;
	int decision = 0, ch;
	int vr = pl_cli_take_via("respond", &argc, argv, &via);
	if (vr != 0)
		return vr;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'g':
		case 'd': {
			int d = ch == 'g' ? PL_DECISION_GRANT : PL_DECISION_DENY;
			if (decision && decision != d)
				return pl_cli_usage("respond", "give either --grant or --deny");
			decision = d;
			break;
		}
		case 't':
			text = optarg;
			break;
		default:
			return pl_cli_usage("respond", "unknown or incomplete option %s",
					    argv[optind - 1]);
		}
	}
	if (argc - optind != 1 || decision == 0)
		return pl_cli_usage("respond", "respond needs ID and --grant or --deny");
	uint8_t target[PL_OBJ_ID_LEN], id[PL_OBJ_ID_LEN];
	pl_nego_confirm cf;
	int rc = pl_cli_id_arg("respond", argv[optind]);
	if (rc != 0 || (rc = pl_cli_signing(cli, "respond", &cf)) != 0)
		return rc;
	cf.via = via;
	pl_err e;
	pl_err_clear(&e);
	pl_vault *v;
	if (pl_cli_open_vault(cli, &v, &e) != 0)
		return pl_cli_fail(&e);
	int64_t seq;
	if (pl_cli_resolve_id(v, argv[optind], target, &e) != 0 ||
	    pl_nego_answer_ex(v, target, decision, text, &cf, id, &seq, &e) != 0)
		rc = pl_cli_fail(&e);
	else
		rc = pl_cli_move_done(cli, v, "answer", id, seq);
	pl_vault_close(v);
	return rc;
}
