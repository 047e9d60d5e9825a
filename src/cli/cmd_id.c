/* cmd_id.c — `parley id`: name, public key and fingerprint of this party;
 * `id revocation`, `id revoke` and `id rotate` have files of their own. */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "util/codec.h"

int pl_cmd_id(pl_cli *cli, int argc, char **argv)
{
	if (argc >= 2 && strcmp(argv[1], "revoke") == 0)
		return pl_cmd_id_revoke(cli, argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "rotate") == 0)
		return pl_cmd_id_rotate(cli, argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "revocation") == 0)
		return pl_cmd_id_revocation(cli, argc - 1, argv + 1);
	if (argc != 1)
		return pl_cli_usage("id", "unknown id subcommand '%s'", argv[1]);
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
