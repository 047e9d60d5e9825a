/*
 * cmd_id_revocation.c — `parley id revocation --out FILE`: writes a signed
 * revocation of this vault's key, to be kept apart (another machine, a
 * safe) and used with `parley id revoke --from FILE`, or handed to
 * contacts, if the laptop is lost or seized. It never replaces a file.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "client/messenger.h"
#include "identity/revocation.h"
#include "util/codec.h"
#include "util/file.h"

int pl_cmd_id_revocation(pl_cli *cli, int argc, char **argv)
{
	const char *out = NULL;
	if (argc == 3 && strcmp(argv[1], "--out") == 0)
		out = argv[2];
	else
		return pl_cli_usage("id", "id revocation takes --out FILE");
	pl_err e;
	pl_err_clear(&e);
	pl_vault *v;
	if (pl_cli_open_vault(cli, &v, &e) != 0)
		return pl_cli_fail(&e);
	uint8_t stmt[PL_REVOCATION_LEN];
	int rc = pl_msgr_check_identity(v, &e);
	if (rc == 0 && pl_revocation_make(stmt, pl_vault_identity(v), pl_now()) != 0)
		rc = pl_err_set(&e, PL_EXIT_ERROR, "could not sign the revocation");
	if (rc == 0)
		rc = pl_file_write_atomic(out, stmt, sizeof stmt, PL_FILE_NOREPLACE,
					  "the revocation", &e);
	pl_vault_close(v);
	if (rc != 0)
		return pl_cli_fail(&e);
	if (cli->json)
		pl_cli_json_out(json_pack("{s:s}", "revocation", out));
	else
		printf("wrote a signed revocation of this vault's key to %s\n"
		       "keep it apart from this computer: whoever holds it can revoke the key\n"
		       "(parley id revoke --from %s, or a contact's parley contact revoke NAME "
		       "--statement %s)\n",
		       out, out, out);
	return PL_EXIT_OK;
}
