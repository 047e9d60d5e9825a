/*
 * cmd_relay.c — `parley relay evidence [--out FILE]` (cmd_relay_evidence.c).
 * `parley relay insecure-http`: the owner's explicit choice to reach a relay
 * on another computer over plain http:// (as `init --insecure-http`).
 * `parley relay set-url URL`: the same relay, at a new address.
 * `parley relay move URL`: another relay (cmd_relay_move.c).
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "client/messenger.h"
#include "client/relay_client.h"
#include "util/codec.h"

static int relay_insecure_http(pl_cli *cli)
{
	pl_err e;
	pl_err_clear(&e);
	pl_vault *v;
	if (pl_cli_open_vault(cli, &v, &e) != 0)
		return pl_cli_fail(&e);
	const char *url = pl_vault_relay_url(v);
	int rc = PL_EXIT_OK;
	if (pl_rc_url_plain_remote(url) != 1)
		printf("%s is https:// or on this computer: nothing to allow\n", url);
	else if (pl_vault_allow_relay_plain_http(v, &e) != 0)
		rc = pl_cli_fail(&e);
	else
		printf("plain http:// to %s allowed for this vault: the access token of every "
		       "deposit crosses the network readable\n",
		       url);
	pl_vault_close(v);
	return rc;
}

/* The same relay (the key this vault pinned) at a new address: checked
 * by asking the new address for its key before anything is recorded. */
static int relay_set_url(pl_cli *cli, const char *url)
{
	pl_err e;
	pl_err_clear(&e);
	pl_vault *v;
	if (pl_cli_open_vault(cli, &v, &e) != 0)
		return pl_cli_fail(&e);
	uint8_t pinned[32], got[32];
	const uint8_t *pem;
	size_t pemlen;
	pl_rc_conn *c = NULL;
	int ok = 0;
	pl_vault_relay_ca(v, &pem, &pemlen);
	unsigned flags = pl_vault_relay_plain_http(v) ? PL_RC_PLAIN_HTTP : 0;
	if (pl_vault_relay_key(v, pinned) != 0)
		pl_err_set(&e, PL_EXIT_SECURITY,
			   "this vault has not pinned a relay key yet, so the new address cannot "
			   "be checked; run parley sync with the old address first");
	else if (pl_rc_url_plain_remote(url) == 1 && !flags)
		pl_err_set(&e, PL_EXIT_SECURITY,
			   "%s is plain http:// to another computer; use https://, or first run "
			   "parley relay insecure-http if that path is trusted",
			   url);
	else if (pl_rc_open_pem(&c, url, pem, pemlen, flags, &e) == 0 &&
		 pl_msgr_proxy(v, c, &e) == 0 && pl_rc_get_key(c, got, &e) == 0) {
		if (sodium_memcmp(got, pinned, 32) != 0)
			pl_err_set(
			    &e, PL_EXIT_SECURITY,
			    "the relay at %s has another key than the one this vault pinned: "
			    "it is another relay (or an impostor), not a new address of "
			    "yours; nothing was changed",
			    url);
		else
			ok = pl_vault_set_relay_url(v, pl_rc_url(c), &e) == 0;
	}
	int rc = PL_EXIT_OK;
	if (!ok)
		rc = pl_cli_fail(&e);
	else if (cli->json)
		pl_cli_json_out(json_pack("{s:s}", "relay", pl_rc_url(c)));
	else
		printf("the relay is now reached at %s (same key)\n", pl_rc_url(c));
	pl_rc_close(c);
	pl_vault_close(v);
	return rc;
}

int pl_cmd_relay(pl_cli *cli, int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "insecure-http") == 0)
		return relay_insecure_http(cli);
	if (argc == 3 && strcmp(argv[1], "set-url") == 0)
		return relay_set_url(cli, argv[2]);
	if (argc >= 2 && strcmp(argv[1], "move") == 0)
		return pl_cmd_relay_move(cli, argc - 1, argv + 1);
	if (argc >= 2 && strcmp(argv[1], "evidence") == 0)
		return pl_cmd_relay_evidence(cli, argc - 1, argv + 1);
	if (argc == 3 && strcmp(argv[1], "proxy") == 0)
		return pl_cli_relay_proxy(cli, argv[2]);
	return pl_cli_usage("relay", "use parley relay evidence [--out FILE], parley relay "
				     "set-url URL, parley relay move URL, parley relay "
				     "insecure-http or parley relay proxy URL|none");
}
