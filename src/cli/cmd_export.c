/* cmd_export.c — `parley export agreement ID --out FILE` and `parley export
 * thread NAME --out FILE`: files anyone can check with parley verify. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

int pl_cmd_export(pl_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"out", required_argument, NULL, 'o'},
					     {NULL, 0, NULL, 0}};
	const char *out = NULL;
	int ch;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'o')
			return pl_cli_usage("export", "unknown or incomplete option %s",
					    argv[optind - 1]);
		out = optarg;
	}
	if (argc - optind != 2 || out == NULL ||
	    (strcmp(argv[optind], "agreement") != 0 && strcmp(argv[optind], "thread") != 0))
		return pl_cli_usage("export", "use export agreement ID --out FILE or export thread "
					      "NAME --out FILE");
	int agreement = strcmp(argv[optind], "agreement") == 0;
	uint8_t id[PL_OBJ_ID_LEN];
	int rc;
	if (agreement && (rc = pl_cli_id_arg("export", argv[optind + 1])) != 0)
		return rc;
	pl_err e;
	pl_err_clear(&e);
	pl_vault *v;
	if (pl_cli_open_vault(cli, &v, &e) != 0)
		return pl_cli_fail(&e);
	rc = agreement ? (pl_cli_resolve_id(v, argv[optind + 1], id, &e) != 0
			      ? -1
			      : pl_nego_export_agreement(v, id, out, &e))
		       : pl_nego_export_thread(v, argv[optind + 1], out, &e);
	pl_vault_close(v);
	if (rc != 0)
		return pl_cli_fail(&e);
	if (cli->json)
		pl_cli_json_out(json_pack("{s:s, s:s}", "format",
					  agreement ? "parley-agreement" : "parley-thread", "out",
					  out));
	else
		printf("wrote %s; anyone can check it with parley verify %s\n", out, out);
	return PL_EXIT_OK;
}
