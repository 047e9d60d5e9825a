/*
 * cmd_thread.c — `parley thread NAME`: the conversation with NAME, oldest
 * first, as stored in the vault (only what verified ever gets there).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/render.h"
#include "client/introduce.h"
#include "envelope/envelope.h"
#include "util/codec.h"

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
	uint64_t now = pl_now();
	for (size_t i = 0; i < n; i++) {
		if (items[i].kind == PL_KIND_ACK || items[i].kind == PL_KIND_RELAY)
			continue; /* bookkeeping, shown as the "fetched" state instead */
		if (pl_cli_match_part(&items[i]))
			continue; /* parts of blinded lists: parley match show */
		if (arr)
			json_array_append_new(arr, pl_cli_item_json(v, &items[i], now));
		else
			pl_cli_item_print(v, &items[i], now);
	}
	/* A purge leaves no trace in the list itself: say so, or the thread
	 * reads as if nothing had been said before the cutoff. */
	uint64_t purged = pl_vault_get_u64(v, "notes_purged_before", 0);
	if (arr)
		pl_cli_json_out(arr);
	else if (n == 0)
		printf("no messages with %s yet\n", c.name);
	char note[512];
	const char *state = NULL;
	if (!arr && pl_cli_rotation_note(v, &c, note, sizeof note, &state) == 1)
		printf("(%s: %s)\n", c.name, note);
	pl_intro_rec ir;
	char who[PL_NAME_MAX + 1];
	if (!arr && !c.verified && c.introduced && pl_intro_of(v, &c, &ir, who, NULL, &e) == 1)
		printf("(%s: introduced by %s, who vouches for this key; not verified by you in "
		       "person)\n",
		       c.name, who);
	if (!arr && purged > 0) {
		char when[PL_RFC3339_LEN];
		pl_time_rfc3339(when, purged);
		printf("(notes before %s were purged from this vault)\n", when);
	}
	pl_vault_items_free(items, n);
	pl_vault_close(v);
	return PL_EXIT_OK;
}
