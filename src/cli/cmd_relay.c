/*
 * cmd_relay.c — `parley relay evidence`: the signed statements of the relay
 * that contradict each other (a forked or rewritten log, a withheld
 * envelope), as this vault kept them. Each pair is enough to show anyone
 * that the relay lied: both halves carry its signature.
 * `parley relay insecure-http`: the owner's explicit choice to reach a relay
 * on another computer over plain http:// (as `init --insecure-http`).
 * `parley relay set-url URL`: the same relay, at a new address.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "client/relay_client.h"
#include "util/codec.h"

static json_t *blob_json(const uint8_t *p, size_t n)
{
	/* Checkpoints are text notes; leaves are binary: base64 for both. */
	char *b = malloc(pl_b64_len(n));
	if (b == NULL)
		return json_null();
	pl_b64_encode(b, p, n);
	json_t *j = json_string(b);
	free(b);
	return j;
}

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
		 (pl_vault_relay_proxy(v) == NULL ||
		  pl_rc_set_proxy(c, pl_vault_relay_proxy(v), &e) == 0) &&
		 pl_rc_get_key(c, got, &e) == 0) {
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
	if (argc == 3 && strcmp(argv[1], "proxy") == 0)
		return pl_cli_relay_proxy(cli, argv[2]);
	if (argc != 2 || strcmp(argv[1], "evidence") != 0)
		return pl_cli_usage("relay", "use parley relay evidence, parley relay "
					     "set-url URL, parley relay insecure-http or "
					     "parley relay proxy URL|none");
	pl_err e;
	pl_err_clear(&e);
	pl_vault *v;
	if (pl_cli_open_vault(cli, &v, &e) != 0)
		return pl_cli_fail(&e);
	pl_evidence *ev;
	size_t n;
	if (pl_vault_evidence_list(v, &ev, &n, &e) != 0) {
		pl_vault_close(v);
		return pl_cli_fail(&e);
	}
	json_t *arr = cli->json ? json_array() : NULL;
	for (size_t i = 0; i < n; i++) {
		char when[PL_RFC3339_LEN];
		pl_time_rfc3339(when, ev[i].at);
		if (arr) {
			json_t *j = json_pack("{s:I, s:s, s:s}", "n", (json_int_t)ev[i].n, "time",
					      when, "reason", ev[i].reason);
			json_object_set_new(j, "signed_a", blob_json(ev[i].a, ev[i].alen));
			json_object_set_new(j, "signed_b", blob_json(ev[i].b, ev[i].blen));
			json_array_append_new(arr, j);
		} else {
			printf("%lld  %s  the relay %s\n", (long long)ev[i].n, when, ev[i].reason);
			printf("---- first signed statement ----\n%.*s\n", (int)ev[i].alen,
			       (const char *)ev[i].a);
			if (memchr(ev[i].b, 0, ev[i].blen) == NULL &&
			    memcmp(ev[i].b, "parley.relay/", 13) == 0)
				printf("---- second signed statement ----\n%.*s\n", (int)ev[i].blen,
				       (const char *)ev[i].b);
			else
				printf("---- the log leaf (%zu bytes, base64) ----\n", ev[i].blen);
		}
	}
	if (arr)
		pl_cli_json_out(arr);
	else if (n == 0)
		printf("no evidence against the relay: it has never contradicted itself\n");
	pl_vault_evidence_free(ev, n);
	pl_vault_close(v);
	return PL_EXIT_OK;
}
