/*
 * cmd_relay_proxy.c — `parley relay proxy URL|none`: the SOCKS proxy (e.g.
 * Tor) every later connection to the relay goes through, or none. Only
 * socks5h:// and socks5:// are accepted (relay_client.h); a proxy never
 * relaxes the rule that plain http:// to another computer needs the
 * owner's explicit choice. It must never store an address the client
 * would refuse to use.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "client/relay_client.h"

int pl_cli_relay_proxy(pl_cli *cli, const char *url)
{
	pl_err e;
	pl_err_clear(&e);
	int none = strcmp(url, "none") == 0;
	if (!none && pl_rc_proxy_check(url, &e) < 0)
		return pl_cli_fail(&e);
	pl_vault *v;
	if (pl_cli_open_vault(cli, &v, &e) != 0)
		return pl_cli_fail(&e);
	int rc = PL_EXIT_OK;
	if (pl_vault_set_relay_proxy(v, none ? NULL : url, &e) != 0) {
		rc = pl_cli_fail(&e);
	} else if (cli->json) {
		pl_cli_json_out(json_pack("{s:s?}", "proxy", none ? NULL : url));
	} else if (none) {
		printf("the relay at %s is now reached directly, without a proxy\n",
		       pl_vault_relay_url(v));
	} else {
		printf("the relay at %s is now reached through the proxy %s\n",
		       pl_vault_relay_url(v), url);
		if (pl_rc_proxy_check(url, NULL) == 1)
			fprintf(stderr,
				"parley: warning: with socks5:// this computer looks up the "
				"relay's name itself, so its DNS queries show which relay it "
				"uses; use socks5h:// to let the proxy do it\n");
	}
	pl_vault_close(v);
	return rc;
}
