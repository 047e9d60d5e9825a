/* cmd_inbox.c — `parley inbox`: everything received, from every contact,
 * oldest first, with its state (what is still open awaits an answer). */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/render.h"
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
		if (items[i].dir != PL_DIR_IN || items[i].kind == PL_KIND_ACK)
			continue;
		shown++;
		if (arr)
			json_array_append_new(arr, pl_cli_item_json(v, &items[i], now));
		else
			pl_cli_item_print(v, &items[i], now);
	}
	if (arr)
		pl_cli_json_out(arr);
	else if (shown == 0)
		printf("nothing received yet; run parley sync to fetch\n");
	pl_vault_items_free(items, n);
	pl_vault_close(v);
	return PL_EXIT_OK;
}
