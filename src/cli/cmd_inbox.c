/* cmd_inbox.c — `parley inbox`: everything received, from every contact,
 * oldest first, with its state (what is still open awaits an answer). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/render.h"
#include <stdlib.h>
#include <sodium.h>
#include "envelope/envelope.h"
#include "util/codec.h"

int pl_cmd_inbox(pl_cli *cli, int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return pl_cli_usage("inbox", "inbox takes no arguments");
	pl_err e;
	pl_err_clear(&e);
	pl_vault *v;
	if (pl_cli_open_vault(cli, &v, &e) != 0)
		return pl_cli_fail(&e);
	pl_item *items;
	size_t n;
	if (pl_vault_item_list(v, NULL, &items, &n, &e) != 0) {
		pl_vault_close(v);
		return pl_cli_fail(&e);
	}
	uint64_t now = pl_now();
	json_t *arr = cli->json ? json_array() : NULL;
	size_t shown = 0;
	for (size_t i = 0; i < n; i++) {
		/* a forwarded payload shows as the move it brought (under its
		 * author, with its path) */
		if (items[i].dir != PL_DIR_IN || items[i].kind == PL_KIND_ACK ||
		    items[i].kind == PL_KIND_FORWARDED || pl_cli_match_part(&items[i]))
			continue;
		shown++;
		if (arr)
			json_array_append_new(arr, pl_cli_item_json(v, &items[i], now));
		else
			pl_cli_item_print(v, &items[i], now);
	}
	/* Key changes are not items: each contact's is shown from the vault's
	 * record of it, after what was received. */
	pl_contact *cs = NULL;
	size_t nc = 0;
	if (pl_vault_contact_list(v, &cs, &nc, &e) == 0) {
		for (size_t i = 0; i < nc; i++) {
			char note[512];
			const char *state = NULL;
			if (pl_cli_rotation_note(v, &cs[i], note, sizeof note, &state) != 1)
				continue;
			shown++;
			if (arr)
				json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:s, s:s}",
								     "kind", "key rotation", "from",
								     cs[i].name, "direction", "in",
								     "state", state, "text", note));
			else {
				pl_cli_pad(cs[i].name, 14);
				printf(" key rotation [%s]\n    %s\n", state, note);
			}
		}
		sodium_memzero(cs, nc * sizeof *cs);
		free(cs);
	}
	if (arr)
		pl_cli_json_out(arr);
	else if (shown == 0)
		printf("nothing received yet; run parley sync to fetch\n");
	pl_vault_items_free(items, n);
	pl_vault_close(v);
	return PL_EXIT_OK;
}
