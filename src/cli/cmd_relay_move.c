/*
 * cmd_relay_move.c — `parley relay move URL [--relay-cert FILE]
 * [--insecure-http]`: moves this vault's mailbox to another relay (another
 * key: another operator), pinning the new relay's key on first use and
 * showing its fingerprint, and tells every verified contact with a signed
 * relay notice. It is the way out of a relay this vault caught lying, so
 * it never asks the old relay for anything.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "client/move.h"
#include "client/messenger.h"
#include "client/relay_client.h"
#include "util/codec.h"
#include "util/file.h"

/* The new relay's CA certificate, sent to every contact in the notice:
 * PEM, at most what fits one. */
static int read_move_cert(const char *path, uint8_t **out, size_t *len, pl_err *e)
{
	if (pl_file_read(path, PL_MOVE_CA_MAX, out, len, e) != 0)
		return -1;
	if (*len > 0 && memmem(*out, *len, "-----BEGIN CERTIFICATE-----", 27) != NULL)
		return 0;
	free(*out);
	*out = NULL;
	*len = 0;
	return pl_err_set(e, PL_EXIT_INPUT, "%s is empty or not a PEM certificate", path);
}

static void print_report(pl_cli *cli, const char *url, const uint8_t key[static 32],
			 const pl_move_report *r)
{
	char hex[PL_KEY_HEX_LEN], fp[PL_FINGERPRINT_LEN];
	pl_hex_encode(hex, key, 32);
	pl_fingerprint(fp, key);
	if (cli->json) {
		pl_cli_json_out(
		    json_pack("{s:s, s:s, s:s, s:b, s:I, s:I, s:I, s:I}", "relay", url, "relay_key",
			      hex, "fingerprint", fp, "published", r->published, "told",
			      (json_int_t)r->told, "not_told", (json_int_t)r->not_told, "delivered",
			      (json_int_t)r->delivered, "queued", (json_int_t)r->queued));
	} else {
		printf("moved this vault's mailbox to %s\nrelay key:   %s\nfingerprint: %s\n"
		       "compare the fingerprint with the relay's operator; relay notices "
		       "queued for %u contact(s), %u delivered\n",
		       url, hex, fp, r->told, r->delivered);
	}
	if (r->not_told)
		fprintf(stderr,
			"parley: warning: %u contact(s) are not verified and were not told; "
			"verify them, then tell them the new address yourself\n",
			r->not_told);
	if (!r->published || r->queued)
		fprintf(stderr,
			"parley: warning: %s; the move is recorded and parley sync will "
			"finish it\n",
			r->why[0] ? r->why : "some notices are still queued");
}

int pl_cmd_relay_move(pl_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"relay-cert", required_argument, NULL, 'c'},
					     {"insecure-http", no_argument, NULL, 'i'},
					     {NULL, 0, NULL, 0}};
	const char *cert = NULL;
	int ch, plain_ok = 0;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'c')
			cert = optarg;
		else if (ch == 'i')
			plain_ok = 1;
		else
			return pl_cli_usage("relay", "unknown or incomplete option %s",
					    argv[optind - 1]);
	}
	if (optind + 1 != argc)
		return pl_cli_usage("relay", "relay move needs exactly one URL");
	const char *url = argv[optind];
	if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
		return pl_cli_usage("relay", "the relay URL must start with http:// or https://");
	if (strlen(url) > PL_URL_MAX)
		return pl_cli_usage("relay", "the relay URL is longer than %d bytes", PL_URL_MAX);
	pl_err e;
	pl_err_clear(&e);
	int remote_plain = pl_rc_url_plain_remote(url) == 1;
	if (remote_plain && !plain_ok) {
		pl_err_set(&e, PL_EXIT_SECURITY,
			   "%s is plain http:// to another computer: anyone on the network path "
			   "could read the access token of every deposit; use https://, or pass "
			   "--insecure-http if that path is trusted",
			   url);
		return pl_cli_fail(&e);
	}
	uint8_t *pem = NULL;
	size_t pemlen = 0;
	if (cert && read_move_cert(cert, &pem, &pemlen, &e) != 0)
		return pl_cli_fail(&e);
	pl_vault *v;
	if (pl_cli_open_vault(cli, &v, &e) != 0) {
		free(pem);
		return pl_cli_fail(&e);
	}
	pl_rc_conn *c = NULL;
	uint8_t key[32];
	pl_move_report r;
	int rc = PL_EXIT_OK;
	/* Trust on first use, as init: the key the new relay presents now is
	 * pinned, and its fingerprint shown for the owner to compare. */
	if (pl_rc_open_pem(&c, url, pem, pemlen, remote_plain ? PL_RC_PLAIN_HTTP : 0, &e) != 0 ||
	    pl_msgr_proxy(v, c, &e) != 0 || pl_rc_get_key(c, key, &e) != 0 ||
	    pl_move_relay(v, pl_rc_url(c), key, pem, pemlen, remote_plain, &r, &e) != 0)
		rc = pl_cli_fail(&e);
	else
		print_report(cli, pl_rc_url(c), key, &r);
	pl_rc_close(c);
	free(pem);
	pl_vault_close(v);
	return rc;
}
