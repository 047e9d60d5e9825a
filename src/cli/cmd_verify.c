/* cmd_verify.c — `parley verify FILE [--expect-key KEY]... [--relay-key VKEY]`:
 * checks an exported agreement, thread, proof-of-outreach or relay-evidence file with nothing but
 * the file; needs no vault or passphrase. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "export/verify.h"
#include "util/codec.h"

#define EXPECT_MAX 16

int pl_cmd_verify(pl_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"expect-key", required_argument, NULL, 'k'},
					     {"relay-key", required_argument, NULL, 'r'},
					     {NULL, 0, NULL, 0}};
	const char *relay_key = NULL;
	uint8_t expect[EXPECT_MAX][PL_IK_LEN];
	size_t n_expect = 0;
	int ch;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'r') {
			relay_key = optarg;
			continue;
		}
		if (ch != 'k')
			return pl_cli_usage("verify", "unknown or incomplete option %s",
					    argv[optind - 1]);
		if (n_expect == EXPECT_MAX)
			return pl_cli_usage("verify", "at most %d --expect-key", EXPECT_MAX);
		if (pl_hex_decode(expect[n_expect], PL_IK_LEN, optarg) != 0)
			return pl_cli_usage("verify", "--expect-key takes a key of 64 hex digits "
						      "(parley id prints it)");
		n_expect++;
	}
	if (argc - optind != 1)
		return pl_cli_usage("verify", "verify needs exactly one FILE");
	pl_err e;
	pl_err_clear(&e);
	json_t *summary = NULL;
	pl_verify_opts vo = {.expect = (const uint8_t(*)[PL_IK_LEN])expect,
			     .n_expect = n_expect,
			     .relay_key = relay_key};
	if (pl_verify_file_ex(argv[optind], &vo, &e, cli->json ? NULL : stdout,
			      cli->json ? &summary : NULL) != 0)
		return pl_cli_fail(&e);
	if (cli->json)
		pl_cli_json_out(summary);
	return PL_EXIT_OK;
}
