/* cmd_prove.c — `parley prove outreach NAME --out FILE`: a bundle anyone can
 * check offline with parley verify, showing what the relay's log proves
 * about what we deposited for NAME and NAME fetched, and what we state
 * (no reply). */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "client/prove.h"

int pl_cmd_prove(pl_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"out", required_argument, NULL, 'o'},
					     {NULL, 0, NULL, 0}};
	const char *out = NULL;
	int ch;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'o')
			return pl_cli_usage("prove", "unknown or incomplete option %s",
					    argv[optind - 1]);
		out = optarg;
	}
	if (argc - optind != 2 || strcmp(argv[optind], "outreach") != 0 || out == NULL)
		return pl_cli_usage("prove", "use prove outreach NAME --out FILE");
	pl_err e;
	pl_err_clear(&e);
	pl_vault *v;
	if (pl_cli_open_vault(cli, &v, &e) != 0)
		return pl_cli_fail(&e);
	pl_prove_report r;
	memset(&r, 0, sizeof r);
	int rc = pl_prove_outreach(v, argv[optind + 1], out, &r, &e);
	pl_vault_close(v);
	if (rc != 0)
		return pl_cli_fail(&e);
	if (cli->json)
		pl_cli_json_out(json_pack("{s:s, s:I, s:I, s:I, s:I, s:I}", "out", out, "deposits",
					  (json_int_t)r.deposits, "fetched", (json_int_t)r.fetched,
					  "fetch_leaves", (json_int_t)r.fetch_leaves,
					  "checkpoint_size", (json_int_t)r.checkpoint_size,
					  "replies", (json_int_t)r.replies));
	else
		printf("wrote %s: %zu deposit(s) proved into the relay's log of size %llu, %zu of "
		       "them named by %s's signed acknowledgements; anyone can check it with "
		       "parley verify %s --relay-key KEY\n",
		       out, r.deposits, (unsigned long long)r.checkpoint_size, r.fetched,
		       argv[optind + 1], out);
	return PL_EXIT_OK;
}
