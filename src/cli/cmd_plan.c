/*
 * cmd_plan.c — `parley plan AGREEMENT_ID --file PLAN.json [--agreement
 * FILE]` (the mediator writes the execution plan of an agreement), `parley
 * plan accept PLAN`, `parley plan show PLAN` and `parley plan abort PLAN
 * --reason TEXT` (docs/PLAN.md). The steps themselves are cmd_step.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "client/plan.h"
#include "util/codec.h"
#include "util/file.h"

#define PLAN_FILE_MAX (256u << 10)

int pl_cli_plan_done(pl_cli *cli, pl_vault *v, const char *what, const uint8_t id[static 8])
{
	char hex[17];
	pl_hex_encode(hex, id, 8);
	pl_sync_report r;
	memset(&r, 0, sizeof r);
	pl_err de;
	pl_err_clear(&de);
	int delivered = pl_msgr_deliver(v, &r, &de) == 0;
	pl_item *items;
	size_t n;
	if (delivered && pl_vault_item_list(v, NULL, &items, &n, NULL) == 0) {
		for (size_t i = 0; i < n; i++)
			if (items[i].kind == PL_KIND_PLAN && items[i].dir == PL_DIR_OUT &&
			    memcmp(items[i].id, id, 8) == 0 &&
			    strcmp(items[i].state, "queued") == 0)
				delivered = 0;
		pl_vault_items_free(items, n);
	}
	pl_cli_copy_warn(&r);
	if (cli->json) {
		json_t *j = json_pack("{s:s, s:s, s:s}", "id", hex, "kind", what, "state",
				      delivered ? "delivered" : "queued");
		if (!delivered && de.msg[0])
			json_object_set_new(j, "reason", json_string(de.msg));
		pl_cli_json_out(j);
	} else {
		printf("%s\n", hex);
	}
	if (!delivered)
		fprintf(stderr,
			"parley: %s %s queued, not delivered to both: %s; run parley sync to "
			"deliver it\n",
			what, hex, de.msg[0] ? de.msg : "an earlier item is blocked");
	return PL_EXIT_OK;
}

static int plan_create(pl_cli *cli, const char *agreement, const char *file, const char *agr_file)
{
	pl_err e;
	pl_err_clear(&e);
	uint8_t *buf = NULL, id[8];
	size_t n = 0;
	int rc = pl_cli_id_arg("plan", agreement);
	if (rc != 0)
		return rc;
	if (pl_file_read(file, PLAN_FILE_MAX, &buf, &n, &e) != 0)
		return pl_cli_fail(&e);
	pl_vault *v;
	if (pl_cli_open_vault(cli, &v, &e) != 0) {
		free(buf);
		return pl_cli_fail(&e);
	}
	if (pl_plan_create(v, agreement, agr_file, (const char *)buf, n, id, &e) != 0)
		rc = pl_cli_fail(&e);
	else
		rc = pl_cli_plan_done(cli, v, "plan", id);
	pl_vault_close(v);
	free(buf);
	return rc;
}

int pl_cmd_plan(pl_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"file", required_argument, NULL, 'f'},
					     {"agreement", required_argument, NULL, 'a'},
					     {"reason", required_argument, NULL, 'r'},
					     {NULL, 0, NULL, 0}};
	const char *file = NULL, *agr = NULL, *reason = NULL;
	int ch;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'f')
			file = optarg;
		else if (ch == 'a')
			agr = optarg;
		else if (ch == 'r')
			reason = optarg;
		else
			return pl_cli_usage("plan", "unknown or incomplete option %s",
					    argv[optind - 1]);
	}
	int npos = argc - optind;
	const char *sub = npos >= 1 ? argv[optind] : NULL;
	int is_sub = sub && (strcmp(sub, "accept") == 0 || strcmp(sub, "show") == 0 ||
			     strcmp(sub, "abort") == 0 || strcmp(sub, "resend") == 0);
	if (!is_sub) {
		if (npos != 1 || file == NULL || reason)
			return pl_cli_usage("plan", "use plan AGREEMENT_ID --file PLAN.json "
						    "[--agreement FILE]");
		return plan_create(cli, sub, file, agr);
	}
	if (npos != 2 || file || agr || (reason != NULL) != (strcmp(sub, "abort") == 0))
		return pl_cli_usage("plan",
				    strcmp(sub, "abort") == 0 ? "use plan abort PLAN --reason TEXT"
							      : "use plan %s PLAN",
				    sub);
	pl_err e;
	pl_err_clear(&e);
	pl_vault *v;
	uint8_t pid[8], id[8];
	if (pl_cli_open_vault(cli, &v, &e) != 0)
		return pl_cli_fail(&e);
	int rc;
	if (pl_plan_resolve(v, argv[optind + 1], pid, &e) != 0) {
		rc = pl_cli_fail(&e);
	} else if (strcmp(sub, "show") == 0) {
		json_t *j = NULL;
		if (pl_plan_show(v, pid, cli->json ? &j : NULL, cli->json ? NULL : stdout, &e) != 0)
			rc = pl_cli_fail(&e);
		else {
			if (j)
				pl_cli_json_out(j);
			rc = PL_EXIT_OK;
		}
	} else if (strcmp(sub, "resend") == 0) {
		unsigned n = 0;
		if (pl_plan_resend(v, pid, &n, &e) != 0)
			rc = pl_cli_fail(&e);
		else
			rc = pl_cli_resent(cli, v, n, "plan object(s)");
	} else if (strcmp(sub, "accept") == 0) {
		rc = pl_plan_accept(v, pid, id, &e) != 0
			 ? pl_cli_fail(&e)
			 : pl_cli_plan_done(cli, v, "plan acceptance", id);
	} else {
		rc = pl_plan_abort_plan(v, pid, reason, id, &e) != 0
			 ? pl_cli_fail(&e)
			 : pl_cli_plan_done(cli, v, "plan abort", id);
	}
	pl_vault_close(v);
	return rc;
}
