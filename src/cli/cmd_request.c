/* cmd_request.c — `parley request NAME --detainee ID --kind
 * medical-leave|consular-access|proof-of-life|release --urgency
 * routine|urgent|critical [--text TEXT]`: a humanitarian request, its own
 * track beside the bargaining. */
#include <getopt.h>
#include <stdlib.h>

#include "cli/cli.h"

int pl_cmd_request(pl_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"detainee", required_argument, NULL, 'd'},
					     {"kind", required_argument, NULL, 'k'},
					     {"urgency", required_argument, NULL, 'u'},
					     {"text", required_argument, NULL, 't'},
					     {NULL, 0, NULL, 0}};
	const char *text = NULL, *via;
	long long detainee = 0;
	int kind = -1, urgency = -1, ch;
	int vr = pl_cli_take_via("request", &argc, argv, &via);
	if (vr != 0)
		return vr;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		char *end;
		switch (ch) {
		case 'd':
			detainee = strtoll(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || detainee <= 0)
				return pl_cli_usage("request", "--detainee takes a record ID (see "
							       "parley case list)");
			break;
		case 'k':
			if ((kind = pl_obj_request_kind_from_str(optarg)) < 0)
				return pl_cli_usage("request",
						    "--kind is medical-leave, consular-access, "
						    "proof-of-life or release");
			break;
		case 'u':
			if ((urgency = pl_obj_urgency_from_str(optarg)) < 0)
				return pl_cli_usage("request",
						    "--urgency is routine, urgent or critical");
			break;
		case 't':
			text = optarg;
			break;
		default:
			return pl_cli_usage("request", "unknown or incomplete option %s",
					    argv[optind - 1]);
		}
	}
	if (argc - optind != 1 || detainee == 0 || kind < 0 || urgency < 0)
		return pl_cli_usage("request", "request needs NAME, --detainee ID, --kind KIND and "
					       "--urgency LEVEL");
	pl_err e;
	pl_err_clear(&e);
	pl_vault *v;
	if (pl_cli_open_vault(cli, &v, &e) != 0)
		return pl_cli_fail(&e);
	uint8_t id[PL_OBJ_ID_LEN];
	int64_t seq;
	int rc;
	pl_nego_confirm cf = {NULL, NULL, via};
	if (pl_nego_request_ex(v, argv[optind], detainee, kind, urgency, text, &cf, id, &seq, &e) !=
	    0)
		rc = pl_cli_fail(&e);
	else
		rc = pl_cli_move_done(cli, v, "request", id, seq);
	pl_vault_close(v);
	return rc;
}
