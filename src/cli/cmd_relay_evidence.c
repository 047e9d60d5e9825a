/*
 * cmd_relay_evidence.c — `parley relay evidence [--out FILE]`: the signed
 * statements of the relay that contradict each other (a forked or
 * rewritten log, a withheld envelope), as this vault kept them. Without
 * --out it lists them; with --out it writes the relay-evidence file that
 * anyone can check with parley verify (export/evidence.h), which says
 * which statements the relay's signatures prove and which are only this
 * vault's report. It reads the vault only: no relay is contacted.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "client/evidence.h"
#include "log/leaf.h"
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

static int list(pl_cli *cli, pl_vault *v)
{
	pl_err e;
	pl_err_clear(&e);
	pl_evidence *ev;
	size_t n;
	if (pl_vault_evidence_list(v, &ev, &n, &e) != 0)
		return pl_cli_fail(&e);
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
	else
		printf("write them as a file anyone can check: parley relay evidence --out FILE\n");
	pl_vault_evidence_free(ev, n);
	return PL_EXIT_OK;
}

/* No evidence is not a failure: the relay never contradicted itself, and
 * a script that writes the file after every sync should not stop there. */
static int write_file(pl_cli *cli, pl_vault *v, const char *out)
{
	pl_err e;
	pl_err_clear(&e);
	pl_evidence_counts c;
	uint8_t pk[32];
	char vkey[PL_NOTE_VKEY_MAX] = "";
	if (pl_evidence_write(v, out, &c, pk, &e) != 0) {
		if (e.code != PL_EXIT_NOTFOUND)
			return pl_cli_fail(&e);
		if (cli->json)
			pl_cli_json_out(json_pack("{s:n, s:i, s:i, s:s}", "out", "proved", 0,
						  "reported", 0, "message", e.msg));
		else
			printf("%s; no file written\n", e.msg);
		return PL_EXIT_OK;
	}
	pl_leaf_log_vkey_string(vkey, pk);
	if (cli->json) {
		pl_cli_json_out(
		    json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:I}", "format", PL_EVIDENCE_FORMAT,
			      "out", out, "relay_key", vkey, "proved", (json_int_t)c.proved,
			      "reported", (json_int_t)c.reported, "duplicates",
			      (json_int_t)c.duplicates, "skipped", (json_int_t)c.skipped));
		return PL_EXIT_OK;
	}
	printf("wrote %s: %zu statement%s proved by the relay's own signatures, %zu reported "
	       "(not provable offline)\n",
	       out, c.proved, c.proved == 1 ? "" : "s", c.reported);
	if (c.duplicates || c.skipped)
		printf("  left out: %zu repeated, %zu not signed by the pinned relay key or too "
		       "large\n",
		       c.duplicates, c.skipped);
	printf("  against the relay key %s\n  anyone can check it with parley verify %s\n", vkey,
	       out);
	return PL_EXIT_OK;
}

int pl_cmd_relay_evidence(pl_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"out", required_argument, NULL, 'o'},
					     {NULL, 0, NULL, 0}};
	const char *out = NULL;
	int ch;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'o')
			return pl_cli_usage("relay", "unknown or incomplete option %s",
					    argv[optind - 1]);
		out = optarg;
	}
	if (argc != optind)
		return pl_cli_usage("relay", "relay evidence takes no argument but --out FILE");
	pl_err e;
	pl_err_clear(&e);
	pl_vault *v;
	if (pl_cli_open_vault(cli, &v, &e) != 0)
		return pl_cli_fail(&e);
	int rc = out ? write_file(cli, v, out) : list(cli, v);
	pl_vault_close(v);
	return rc;
}
