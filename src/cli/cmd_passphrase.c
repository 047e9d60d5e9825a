/*
 * cmd_passphrase.c — `parley passphrase change [--new-passphrase-file FILE |
 * --generate-passphrase]`: opens the vault with the current passphrase (as
 * every command does), then puts it under a new one in one transaction.
 * Never accepts a new passphrase that pl_passphrase_check refuses, never
 * takes the new one from PARLEY_PASSPHRASE (that names the current one), and
 * prints a generated passphrase once, on stdout, and nowhere else.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"

static int change(pl_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"new-passphrase-file", required_argument, NULL, 'f'},
					     {"generate-passphrase", no_argument, NULL, 'g'},
					     {NULL, 0, NULL, 0}};
	const char *file = NULL;
	int ch, generate = 0;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'f':
			file = optarg;
			break;
		case 'g':
			generate = 1;
			break;
		default:
			return pl_cli_usage("passphrase", "unknown or incomplete option %s",
					    argv[optind - 1]);
		}
	}
	if (optind != argc)
		return pl_cli_usage("passphrase", "unexpected argument '%s'", argv[optind]);
	if (file && generate)
		return pl_cli_usage("passphrase", "give --new-passphrase-file or "
						  "--generate-passphrase, not both");

	pl_err e;
	pl_err_clear(&e);
	pl_vault_kdf_cost cost;
	pl_vault *v;
	if (pl_cli_kdf_cost(&cost, &e) != 0 || pl_cli_open_vault(cli, &v, &e) != 0)
		return pl_cli_fail(&e);
	char *pass;
	size_t plen;
	unsigned words = 0, bits = 0;
	if (generate ? pl_cli_generate_passphrase(&pass, &plen, &words, &bits, &e) != 0
		     : pl_cli_new_passphrase(file, &pass, &plen, &e) != 0) {
		pl_vault_close(v);
		return pl_cli_fail(&e);
	}
	int rc = pl_cli_passphrase_strong("passphrase change", pass, plen, &e) == 0 &&
		 pl_vault_passphrase_change(v, pass, plen, cost, &e) == 0;
	pl_vault_close(v);
	if (!rc) {
		pl_cli_passphrase_free(pass, plen);
		return pl_cli_fail(&e);
	}
	pl_cli_kdf_warn(cost);
	if (cli->json) {
		json_t *j = json_pack("{s:b}", "changed", 1);
		if (generate) {
			json_object_set_new(j, "passphrase", json_string(pass));
			json_object_set_new(j, "passphrase_words", json_integer(words));
			json_object_set_new(j, "passphrase_bits", json_integer(bits));
		}
		pl_cli_json_out(j);
	} else {
		if (generate)
			pl_cli_show_passphrase(pass, words, bits);
		printf("the vault at %s now opens with the new passphrase only\n", cli->vault_dir);
	}
	pl_cli_passphrase_free(pass, plen);
	return PL_EXIT_OK;
}

int pl_cmd_passphrase(pl_cli *cli, int argc, char **argv)
{
	if (argc < 2)
		return pl_cli_usage("passphrase", "passphrase needs a subcommand: change");
	if (strcmp(argv[1], "change") == 0)
		return change(cli, argc - 1, argv + 1);
	return pl_cli_usage("passphrase", "unknown passphrase subcommand '%s'", argv[1]);
}
