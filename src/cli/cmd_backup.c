/*
 * cmd_backup.c — `parley backup --out FILE`: a consistent snapshot of the
 * vault, taken while holding it (another parley process using the vault is
 * waited for, as every command waits), sealed under the vault's passphrase
 * with a salt of its own. FILE is new (an existing file is never
 * replaced), written whole or not at all, mode 0600.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "util/codec.h"

int pl_cmd_backup(pl_cli *cli, int argc, char **argv)
{
	const char *out = NULL;
	if (argc == 3 && strcmp(argv[1], "--out") == 0)
		out = argv[2];
	else
		return pl_cli_usage("backup", "backup takes --out FILE");
	pl_err e;
	pl_err_clear(&e);
	pl_vault_kdf_cost cost;
	if (pl_cli_kdf_cost(&cost, &e) != 0)
		return pl_cli_fail(&e);
	if (!pl_vault_exists(cli->vault_dir)) {
		pl_err_set(&e, PL_EXIT_VAULT, "no vault at %s; nothing to back up", cli->vault_dir);
		return pl_cli_fail(&e);
	}
	char *pass;
	size_t len;
	if (pl_cli_passphrase(cli, 0, &pass, &len, &e) != 0)
		return pl_cli_fail(&e);
	pl_vault *v;
	pl_vault_open_opts o = {.cmd = cli->cmd, .wait_ms = 0};
	uint64_t created = 0;
	size_t imglen = 0;
	int rc = pl_vault_open_ex(&v, cli->vault_dir, pass, len, &o, &e);
	if (rc == 0) {
		rc = pl_vault_backup(v, out, pass, len, cost, &created, &imglen, &e);
		pl_vault_close(v);
	}
	pl_cli_passphrase_free(pass, len);
	if (rc != 0)
		return pl_cli_fail(&e);
	pl_cli_kdf_warn(cost);
	char when[PL_RFC3339_LEN];
	pl_time_rfc3339(when, created);
	if (cli->json)
		pl_cli_json_out(json_pack("{s:s, s:s, s:I}", "backup", out, "created", when,
					  "image_bytes", (json_int_t)imglen));
	else
		printf("wrote a backup of the vault as of %s to %s (sealed under the vault's "
		       "passphrase)\nrestore it with parley --vault NEWDIR restore %s; the "
		       "restored vault starts new sessions with every contact\n",
		       when, out, out);
	return PL_EXIT_OK;
}
