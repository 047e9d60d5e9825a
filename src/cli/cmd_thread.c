/*
 * cmd_thread.c — `parley thread NAME`: the conversation with NAME, oldest
 * first, as stored in the vault (only what verified ever gets there).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "envelope/envelope.h"
#include "util/codec.h"

static const char *kind_name(int kind)
{
	switch (kind) {
	case PL_KIND_NOTE:
		return "note";
	default:
		return "unknown";
	}
}

int pl_cmd_thread(pl_cli *cli, int argc, char **argv)
{
	if (argc != 2)
		return pl_cli_usage("thread", "thread needs NAME");
	pl_err e;
	pl_err_clear(&e);
	pl_vault *v;
	if (pl_cli_open_vault(cli, &v, &e) != 0)
		return pl_cli_fail(&e);
	pl_contact c;
	if (pl_vault_contact_get(v, argv[1], &c, &e) != 0) {
		pl_vault_close(v);
		return pl_cli_fail(&e);
	}
	pl_item *items;
	size_t n;
	if (pl_vault_item_list(v, argv[1], &items, &n, &e) != 0) {
		pl_vault_close(v);
		return pl_cli_fail(&e);
	}
	json_t *arr = cli->json ? json_array() : NULL;
	for (size_t i = 0; i < n; i++) {
		pl_item *it = &items[i];
		if (it->kind == PL_KIND_ACK)
			continue; /* bookkeeping, shown as the "fetched" state instead */
		char id[17], when[PL_RFC3339_LEN];
		pl_hex_encode(id, it->id, sizeof it->id);
		pl_time_rfc3339(when, it->time);
		const char *from = it->dir == PL_DIR_OUT ? pl_vault_name(v) : c.name;
		if (arr) {
			json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s}", "id", id, "kind",
					      kind_name(it->kind), "from", from, "time", when,
					      "direction", it->dir == PL_DIR_OUT ? "out" : "in",
					      "state", it->state);
			if (it->kind == PL_KIND_NOTE)
				json_object_set_new(j, "text",
						    json_stringn((const char *)it->body.p,
								 it->body.n));
			json_array_append_new(arr, j);
		} else {
			printf("%s  %s  %-10s %s [%s]\n    %.*s\n", when, id, from,
			       kind_name(it->kind), it->state, (int)it->body.n,
			       (const char *)it->body.p);
		}
	}
	if (arr)
		pl_cli_json_out(arr);
	else if (n == 0)
		printf("no messages with %s yet\n", c.name);
	pl_vault_items_free(items, n);
	pl_vault_close(v);
	return PL_EXIT_OK;
}
