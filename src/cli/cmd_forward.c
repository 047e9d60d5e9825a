/*
 * cmd_forward.c — `parley forward ID [--note TEXT]` (proximity talks, run
 * by the mediator): passes on a move waiting in the inbox, wrapped in the
 * mediator's custody signature, to the party it is addressed to; then tells
 * its author it was passed on (with the relay's deposit receipt, once the
 * relay gave one). One forward or hold per move.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "client/via.h"
#include "util/codec.h"

int pl_cmd_forward(pl_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"note", required_argument, NULL, 'n'},
					     {NULL, 0, NULL, 0}};
	const char *note = NULL;
	int ch;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'n')
			return pl_cli_usage("forward", "unknown or incomplete option %s",
					    argv[optind - 1]);
		note = optarg;
	}
	if (argc - optind != 1)
		return pl_cli_usage("forward", "forward needs exactly one ID (see parley inbox)");
	int rc = pl_cli_id_arg("forward", argv[optind]);
	if (rc != 0)
		return rc;
	pl_err e;
	pl_err_clear(&e);
	pl_vault *v;
	if (pl_cli_open_vault(cli, &v, &e) != 0)
		return pl_cli_fail(&e);
	uint8_t id[8], fwd[8];
	char to[PL_NAME_MAX + 1], hex[17], fhex[17];
	if (pl_cli_resolve_id(v, argv[optind], id, &e) != 0 ||
	    pl_via_forward(v, id, note, fwd, to, &e) != 0) {
		rc = pl_cli_fail(&e);
		pl_vault_close(v);
		return rc;
	}
	pl_hex_encode(hex, id, 8);
	pl_hex_encode(fhex, fwd, 8);
	/* Deliver the forward; once its receipt is in, tell the author (the
	 * notice carries the receipt), and deliver that too. A relay that is
	 * down leaves both queued for parley sync. */
	pl_sync_report r;
	memset(&r, 0, sizeof r);
	pl_err de;
	pl_err_clear(&de);
	unsigned told = 0;
	int ok = pl_msgr_deliver(v, &r, &de) == 0 && pl_via_notify_forwarded(v, &told, &de) == 0 &&
		 (told == 0 || pl_msgr_deliver(v, &r, &de) == 0);
	pl_cli_copy_warn(&r);
	if (cli->json) {
		json_t *j =
		    json_pack("{s:s, s:s, s:s, s:s, s:b}", "id", hex, "forwarded_as", fhex, "to",
			      to, "state", ok ? "delivered" : "queued", "author_told", told > 0);
		if (!ok && de.msg[0])
			json_object_set_new(j, "reason", json_string(de.msg));
		pl_cli_json_out(j);
	} else {
		printf("forwarded %s to %s under your custody signature%s\n", hex, to,
		       ok ? "" : " (queued; run parley sync to deliver it)");
	}
	if (!ok)
		fprintf(stderr,
			"parley: forward of %s queued, not delivered: %s; run parley sync\n", hex,
			de.msg[0] ? de.msg : "an earlier item is blocked");
	pl_vault_close(v);
	return PL_EXIT_OK;
}
