/*
 * cmd_purge.c — `parley purge --notes-before DATE`: the retention policy.
 * Deletes free-text notes dated before DATE, and scrubs their sealed bodies
 * from the vault's files, through pl_vault_purge_notes. It must never touch
 * signed negotiation objects (the record), acks, receipts or a note still
 * waiting in the outbox, and never accept a date it had to guess at.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "client/via.h"
#include "envelope/envelope.h"
#include "util/codec.h"

/* DATE is YYYY-MM-DD (midnight UTC) or YYYY-MM-DDTHH:MM:SSZ, and must come
 * back unchanged from the time it parses to: strptime alone would take
 * 2026-02-30 as 2 March. */
static int parse_date(const char *s, uint64_t *out)
{
	char full[PL_RFC3339_LEN], back[PL_RFC3339_LEN];
	size_t n = strlen(s);
	if (n == 10)
		snprintf(full, sizeof full, "%sT00:00:00Z", s);
	else if (n == PL_RFC3339_LEN - 1)
		memcpy(full, s, sizeof full);
	else
		return -1;
	if (pl_time_parse_rfc3339(out, full) != 0)
		return -1;
	pl_time_rfc3339(back, *out);
	return strcmp(back, full) == 0 ? 0 : -1;
}

/* Notes dated before the cutoff still waiting in the outbox: the purge keeps
 * them, and the user is told. */
static int queued_notes(pl_vault *v, uint64_t before, size_t *n, pl_err *e)
{
	pl_outbox *ob;
	size_t m;
	*n = 0;
	if (pl_vault_outbox_list(v, &ob, &m, e) != 0)
		return -1;
	for (size_t i = 0; i < m; i++) {
		pl_item it;
		if (ob[i].kind != PL_KIND_NOTE)
			continue;
		if (pl_vault_item_get(v, ob[i].item_seq, &it, e) != 0) {
			pl_vault_outbox_free(ob, m);
			return -1;
		}
		if (it.time < before)
			(*n)++;
		pl_vault_item_free(&it);
	}
	pl_vault_outbox_free(ob, m);
	return 0;
}

int pl_cmd_purge(pl_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"notes-before", required_argument, NULL, 'b'},
					     {NULL, 0, NULL, 0}};
	const char *date = NULL;
	int ch;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 'b')
			return pl_cli_usage("purge", "unknown or incomplete option %s",
					    argv[optind - 1]);
		date = optarg;
	}
	if (argc != optind || date == NULL)
		return pl_cli_usage("purge", "purge needs --notes-before DATE");
	uint64_t before;
	if (parse_date(date, &before) != 0)
		return pl_cli_usage("purge",
				    "\"%s\" is not a date: use YYYY-MM-DD (midnight UTC) or "
				    "YYYY-MM-DDTHH:MM:SSZ",
				    date);
	if (before > pl_now())
		return pl_cli_usage("purge",
				    "%s is in the future: a purge removes notes already written, "
				    "so give a date that has passed",
				    date);
	pl_err e;
	pl_err_clear(&e);
	pl_vault *v;
	if (pl_cli_open_vault(cli, &v, &e) != 0)
		return pl_cli_fail(&e);
	size_t kept = 0;
	uint64_t n = 0;
	uint64_t relayed = 0; /* notes a mediator carried or passed on */
	int rc = queued_notes(v, before, &kept, &e);
	if (rc == 0)
		rc = pl_via_purge_notes(v, before, &relayed, &e);
	if (rc == 0)
		rc = pl_vault_purge_notes(v, before, &n, &e);
	pl_vault_close(v);
	if (rc != 0) {
		if (n > 0)
			fprintf(stderr, "parley: %llu notes were deleted\n", (unsigned long long)n);
		return pl_cli_fail(&e);
	}
	if (cli->json) {
		pl_cli_json_out(json_pack("{s:I, s:s, s:I, s:I}", "purged", (json_int_t)n, "before",
					  date, "kept_queued", (json_int_t)kept, "relayed_copies",
					  (json_int_t)relayed));
		return PL_EXIT_OK;
	}
	printf("purged %llu notes sent or received before %s; negotiation moves are kept\n",
	       (unsigned long long)n, date);
	if (relayed > 0)
		printf("also purged %llu copies of notes a mediator carried or passed on\n",
		       (unsigned long long)relayed);
	if (kept > 0)
		printf("kept %zu notes before %s that are still queued for delivery; run parley "
		       "sync, then purge again\n",
		       kept, date);
	return PL_EXIT_OK;
}
