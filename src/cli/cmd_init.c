/*
 * cmd_init.c — `parley init --name NAME --relay URL [--relay-cert FILE]
 * [--proxy URL] [--generate-passphrase]`: creates the vault (keeping the
 * SOCKS proxy, if given, for every later connection), then (if the relay
 * answers) pins the relay's key and publishes this party's prekeys and
 * mailbox token. Never overwrites a vault, and never makes one under a
 * passphrase that pl_passphrase_check refuses. A generated passphrase is
 * printed once, on stdout, and nowhere else.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "client/messenger.h"
#include "client/relay_client.h"
#include "util/codec.h"
#include "util/file.h"

#define CERT_MAX (256 * 1024)

/* The relay's CA certificate: a non-empty PEM file of at most CERT_MAX
 * bytes. */
static int read_cert(const char *path, uint8_t **out, size_t *len, pl_err *e)
{
	if (pl_file_read(path, CERT_MAX, out, len, e) != 0)
		return -1;
	int r = 0;
	if (*len == 0)
		r = pl_err_set(e, PL_EXIT_INPUT, "%s is empty or larger than %d bytes", path,
			       CERT_MAX);
	else if (memmem(*out, *len, "-----BEGIN CERTIFICATE-----", 27) == NULL)
		r = pl_err_set(e, PL_EXIT_INPUT, "%s is not a PEM certificate", path);
	if (r != 0) {
		free(*out);
		*out = NULL;
		*len = 0;
	}
	return r;
}

int pl_cmd_init(pl_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"name", required_argument, NULL, 'n'},
					     {"relay", required_argument, NULL, 'r'},
					     {"relay-cert", required_argument, NULL, 'c'},
					     {"insecure-http", no_argument, NULL, 'i'},
					     {"generate-passphrase", no_argument, NULL, 'g'},
					     {NULL, 0, NULL, 0}};
	const char *name = NULL, *relay = NULL, *cert = NULL;
	int ch, plain_ok = 0, generate = 0;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'n':
			name = optarg;
			break;
		case 'r':
			relay = optarg;
			break;
		case 'c':
			cert = optarg;
			break;
		case 'i':
			plain_ok = 1;
			break;
		case 'g':
			generate = 1;
			break;
		default:
			return pl_cli_usage("init", "unknown or incomplete option %s",
					    argv[optind - 1]);
		}
	}
	if (optind != argc)
		return pl_cli_usage("init", "unexpected argument '%s'", argv[optind]);
	if (name == NULL || relay == NULL)
		return pl_cli_usage("init", "init needs --name NAME and --relay URL");
	if (strncmp(relay, "http://", 7) != 0 && strncmp(relay, "https://", 8) != 0)
		return pl_cli_usage("init", "the relay URL must start with http:// or https://");
	if (strlen(relay) > PL_URL_MAX)
		return pl_cli_usage("init", "the relay URL is longer than %d bytes", PL_URL_MAX);
	if (pl_rc_url_plain_remote(relay) == 1 && !plain_ok) {
		pl_err pe;
		pl_err_set(&pe, PL_EXIT_SECURITY,
			   "%s is plain http:// to another computer: anyone on the network path "
			   "could read the access token of every deposit; use https://, or pass "
			   "--insecure-http if that path is trusted",
			   relay);
		return pl_cli_fail(&pe);
	}

	pl_err e;
	pl_err_clear(&e);
	uint8_t *pem = NULL;
	size_t pemlen = 0;
	if (cert && read_cert(cert, &pem, &pemlen, &e) != 0)
		return pl_cli_fail(&e);
	char *pass;
	size_t plen;
	unsigned words = 0, bits = 0;
	pl_vault_kdf_cost cost;
	if (pl_cli_kdf_cost(&cost, &e) != 0) {
		free(pem);
		return pl_cli_fail(&e);
	}
	if (generate ? pl_cli_generate_passphrase(&pass, &plen, &words, &bits, &e) != 0
		     : pl_cli_passphrase(cli, 1, &pass, &plen, &e) != 0) {
		free(pem);
		return pl_cli_fail(&e);
	}
	if (pl_cli_passphrase_strong("init", pass, plen, &e) != 0) {
		pl_cli_passphrase_free(pass, plen);
		free(pem);
		return pl_cli_fail(&e);
	}
	int rc =
	    pl_vault_create_cost(cli->vault_dir, name, relay, pem, pemlen, pass, plen, cost, &e);
	free(pem);
	if (rc != 0) {
		pl_cli_passphrase_free(pass, plen);
		return pl_cli_fail(&e);
	}
	pl_cli_kdf_warn(cost);
	pl_vault *v;
	rc = pl_vault_open(&v, cli->vault_dir, pass, plen, &e);
	if (rc != 0) {
		pl_cli_passphrase_free(pass, plen);
		return pl_cli_fail(&e);
	}
	/* Shown before anything else can fail, as the vault exists now; with
	 * --json it is a member of the one document printed at the end. */
	if (generate && !cli->json)
		pl_cli_show_passphrase(pass, words, bits);

	if (plain_ok && pl_rc_url_plain_remote(relay) == 1 &&
	    pl_vault_allow_relay_plain_http(v, &e) != 0)
		goto fail;
	/* --proxy (checked by the dispatcher) is kept for every later command. */
	if (cli->proxy && strcmp(cli->proxy, "none") != 0 &&
	    pl_vault_set_relay_proxy(v, cli->proxy, &e) != 0)
		goto fail;
	pl_cli_proxy_warn(v);
	pl_err pe;
	pl_err_clear(&pe);
	int published = pl_msgr_publish(v, &pe) == 0;
	const pl_identity *id = pl_vault_identity(v);
	char key[PL_KEY_HEX_LEN], fp[PL_FINGERPRINT_LEN];
	pl_hex_encode(key, id->pk, PL_IK_LEN);
	pl_fingerprint(fp, id->pk);
	if (cli->json) {
		json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:b}", "vault", cli->vault_dir,
				      "name", name, "key", key, "fingerprint", fp, "relay", relay,
				      "published", published);
		if (generate) {
			json_object_set_new(j, "passphrase", json_string(pass));
			json_object_set_new(j, "passphrase_words", json_integer(words));
			json_object_set_new(j, "passphrase_bits", json_integer(bits));
		}
		pl_cli_json_out(j);
	} else {
		printf("created vault %s for %s\nkey:         %s\nfingerprint: %s\n",
		       cli->vault_dir, name, key, fp);
		if (published)
			printf("published prekeys to %s\n", relay);
	}
	pl_cli_passphrase_free(pass, plen);
	if (!published)
		fprintf(stderr,
			"parley: warning: %s; the vault is ready, parley sync will "
			"publish later\n",
			pe.msg);
	pl_vault_close(v);
	return PL_EXIT_OK;
fail:
	pl_cli_passphrase_free(pass, plen);
	pl_vault_close(v);
	return pl_cli_fail(&e);
}
