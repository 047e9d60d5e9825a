/* cmd_id.c — `parley id`: name, public key and fingerprint of this party. */
#include <stdio.h>

#include "cli/cli.h"
#include "util/codec.h"

int pl_cmd_id(pl_cli *cli, int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return pl_cli_usage("id", "id takes no arguments");
	pl_err e;
	pl_err_clear(&e);
	pl_vault *v;
	if (pl_cli_open_vault(cli, &v, &e) != 0)
		return pl_cli_fail(&e);
	const pl_identity *id = pl_vault_identity(v);
	char key[PL_KEY_HEX_LEN], fp[PL_FINGERPRINT_LEN];
	pl_hex_encode(key, id->pk, PL_IK_LEN);
	pl_fingerprint(fp, id->pk);
	if (cli->json)
		pl_cli_json_out(json_pack("{s:s, s:s, s:s, s:s}", "name", pl_vault_name(v), "key",
					  key, "fingerprint", fp, "relay", pl_vault_relay_url(v)));
	else
		printf("name:        %s\nkey:         %s\nfingerprint: %s\nrelay:       %s\n",
		       pl_vault_name(v), key, fp, pl_vault_relay_url(v));
	pl_vault_close(v);
	return PL_EXIT_OK;
}
