/*
 * cmd_step.c — `parley step done PLAN STEP [--text TEXT]` (by the step's
 * performer) and `parley step confirm PLAN STEP` (by one of its
 * confirmers): signed attestations sent to the plan's two other
 * participants (docs/PLAN.md).
 */
#include <getopt.h>
#include <string.h>

#include "cli/cli.h"
#include "client/plan.h"

int pl_cmd_step(pl_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"text", required_argument, NULL, 't'},
					     {NULL, 0, NULL, 0}};
	const char *text = NULL;
	int ch;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 't')
			return pl_cli_usage("step", "unknown or incomplete option %s",
					    argv[optind - 1]);
		text = optarg;
	}
	const char *sub = argc - optind == 3 ? argv[optind] : NULL;
	int done = sub && strcmp(sub, "done") == 0;
	if (sub == NULL || (!done && strcmp(sub, "confirm") != 0) || (!done && text))
		return pl_cli_usage("step", "use step done PLAN STEP [--text TEXT] or step "
					    "confirm PLAN STEP");
	pl_err e;
	pl_err_clear(&e);
	pl_vault *v;
	uint8_t pid[8], id[8];
	if (pl_cli_open_vault(cli, &v, &e) != 0)
		return pl_cli_fail(&e);
	int rc;
	if (pl_plan_resolve(v, argv[optind + 1], pid, &e) != 0 ||
	    pl_plan_attest_step(v, pid, argv[optind + 2], done ? PL_ATTEST_DONE : PL_ATTEST_CONFIRM,
				text, id, &e) != 0)
		rc = pl_cli_fail(&e);
	else
		rc = pl_cli_plan_done(cli, v, done ? "step done" : "step confirmation", id);
	pl_vault_close(v);
	return rc;
}
