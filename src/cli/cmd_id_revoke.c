/*
 * cmd_id_revoke.c — `parley id revoke [--from FILE]`: revokes this vault's
 * identity key for good and tells every verified contact through its
 * session. With --from, the statement kept apart (parley id revocation)
 * is sent instead of a new one. Afterwards the vault sends nothing.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "client/revoke.h"
#include "util/codec.h"
#include "util/file.h"

int pl_cmd_id_revoke(pl_cli *cli, int argc, char **argv)
{
	const char *from = NULL;
	if (argc == 3 && strcmp(argv[1], "--from") == 0)
		from = argv[2];
	else if (argc != 1)
		return pl_cli_usage("id", "id revoke takes at most --from FILE");
	pl_err e;
	pl_err_clear(&e);
	uint8_t *stmt = NULL;
	size_t len = 0;
	if (from && pl_file_read(from, PL_REVOCATION_LEN, &stmt, &len, &e) != 0)
		return pl_cli_fail(&e);
	pl_vault *v;
	if (pl_cli_open_vault(cli, &v, &e) != 0) {
		free(stmt);
		return pl_cli_fail(&e);
	}
	pl_revoke_report r;
	int rc = pl_revoke_self(v, stmt, len, &r, &e);
	free(stmt);
	pl_vault_close(v);
	if (rc != 0)
		return pl_cli_fail(&e);
	char when[PL_RFC3339_LEN];
	pl_time_rfc3339(when, r.time);
	if (cli->json)
		pl_cli_json_out(json_pack("{s:s, s:I, s:I, s:I, s:I}", "revoked", when, "told",
					  (json_int_t)r.told, "not_told", (json_int_t)r.not_told,
					  "delivered", (json_int_t)r.delivered, "queued",
					  (json_int_t)r.queued));
	else
		printf("revoked this vault's key on %s; the revocation was queued for %u "
		       "contact(s), %u delivered\nthis vault sends nothing more: create a new "
		       "vault (parley init) and meet your contacts again\n",
		       when, r.told, r.delivered);
	if (r.not_told)
		fprintf(stderr,
			"parley: warning: %u contact(s) are not verified (or revoked) and were not "
			"told; hand them the revocation file (parley contact revoke NAME "
			"--statement FILE)\n",
			r.not_told);
	if (r.queued)
		fprintf(stderr,
			"parley: warning: %u item(s) wait in the outbox%s%s; parley sync "
			"retries the revocation\n",
			r.queued, r.why[0] ? ": " : "", r.why);
	return PL_EXIT_OK;
}
