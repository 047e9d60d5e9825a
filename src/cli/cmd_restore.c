/*
 * cmd_restore.c — `parley --vault NEWDIR restore FILE`: a backup becomes a
 * vault in a new folder (never over an existing vault). Before the vault
 * is put in place it drops every ratchet session, makes new prekeys and
 * queues a notice to each contact (client/copies.h); then, if the relay
 * can be reached, it publishes the new prekeys and delivers the notices.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "cli/cli.h"
#include "client/copies.h"
#include "client/messenger.h"
#include "util/codec.h"
#include "util/file.h"

int pl_cmd_restore(pl_cli *cli, int argc, char **argv)
{
	if (argc != 2 || argv[1][0] == '-')
		return pl_cli_usage("restore", "restore takes one backup FILE");
	const char *file = argv[1];
	pl_err e;
	pl_err_clear(&e);
	if (pl_vault_exists(cli->vault_dir)) {
		pl_err_set(&e, PL_EXIT_VAULT,
			   "a vault already exists at %s; restore into a new folder (--vault "
			   "NEWDIR)",
			   cli->vault_dir);
		return pl_cli_fail(&e);
	}
	uint8_t *bytes;
	size_t n;
	if (pl_file_read(file, PL_BACKUP_FILE_MAX, &bytes, &n, &e) != 0)
		return pl_cli_fail(&e);
	char *pass;
	size_t len;
	if (pl_cli_passphrase(cli, 0, &pass, &len, &e) != 0) {
		free(bytes);
		return pl_cli_fail(&e);
	}
	uint64_t created = 0;
	pl_copies_report cr;
	memset(&cr, 0, sizeof cr);
	int rc = pl_copies_restore(cli->vault_dir, bytes, n, pass, len, &created, &cr, &e);
	free(bytes);
	if (rc != 0) {
		pl_cli_passphrase_free(pass, len);
		return pl_cli_fail(&e);
	}
	/* Best effort: the new bundle and the notices go out now if the relay
	 * answers; otherwise the next sync does it (nothing is encrypted
	 * under an old session either way). */
	pl_vault *v;
	pl_vault_open_opts o = {.cmd = cli->cmd, .wait_ms = 0};
	pl_sync_report r;
	memset(&r, 0, sizeof r);
	pl_err ne;
	pl_err_clear(&ne);
	int sent = pl_vault_open_ex(&v, cli->vault_dir, pass, len, &o, &ne) == 0;
	pl_cli_passphrase_free(pass, len);
	if (sent) {
		if (cli->proxy && pl_vault_use_proxy(v, cli->proxy, &ne) != 0)
			sent = 0;
		if (sent && (pl_msgr_publish(v, &ne) != 0 || pl_msgr_deliver(v, &r, &ne) != 0))
			sent = 0;
		pl_vault_close(v);
	}
	char when[PL_RFC3339_LEN];
	pl_time_rfc3339(when, created);
	if (cli->json) {
		json_t *j =
		    json_pack("{s:s, s:s, s:I, s:I, s:b, s:I}", "vault", cli->vault_dir,
			      "backup_created", when, "sessions_dropped", (json_int_t)cr.sessions,
			      "notices_queued", (json_int_t)cr.notified, "published", sent,
			      "delivered", (json_int_t)r.delivered);
		pl_cli_json_out(j);
	} else {
		printf("restored the vault as of %s into %s: %u session(s) dropped, new prekeys "
		       "made, %u contact(s) to be told that messages after %s may be missing\n",
		       when, cli->vault_dir, cr.sessions, cr.notified, when);
	}
	if (!sent)
		fprintf(stderr,
			"parley: warning: the restored vault could not reach its relay yet (%s); "
			"run parley sync to publish its new prekeys and send the notices\n",
			ne.msg[0] ? ne.msg : "no detail");
	return PL_EXIT_OK;
}
