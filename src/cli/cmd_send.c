/*
 * cmd_send.c — `parley send NAME TEXT`: the note is committed to the vault's
 * outbox first, then delivered. If the relay cannot be reached it stays
 * queued (exit 0, and the command says so); `parley sync` delivers it.
 */
#include <stdio.h>
#include <stdlib.h>
#include <sodium.h>
#include <string.h>

#include "cli/cli.h"
#include "client/messenger.h"
#include "client/via.h"
#include "envelope/envelope.h"
#include "util/codec.h"
#include "util/text.h"

int pl_cmd_send(pl_cli *cli, int argc, char **argv)
{
	const char *via;
	int vr = pl_cli_take_via("send", &argc, argv, &via);
	if (vr != 0)
		return vr;
	int a = 1;
	if (a < argc && strcmp(argv[a], "--") == 0)
		a++;
	if (argc - a != 2)
		return pl_cli_usage("send", "send needs NAME and TEXT");
	const char *name = argv[a];
	char *text;
	if (argv[a + 1][0] == '\0')
		return pl_cli_usage("send", "the note is empty");
	/* Tabs and Windows line ends are what keyboards and pasted text
	 * bring: they are made LF and spaces, not refused. */
	pl_err e;
	pl_err_clear(&e);
	if (pl_text_note_normalize(argv[a + 1], &text) != 0) {
		pl_err_set(&e, PL_EXIT_ERROR, "out of memory reading the note");
		return pl_cli_fail(&e);
	}
	if (pl_text_ok((const uint8_t *)text, strlen(text), 1, PL_PAYLOAD_MAX_BODY,
		       PL_TEXT_MULTILINE) != 0) {
		free(text);
		return pl_cli_usage("send",
				    "the note must be UTF-8 text without control characters "
				    "(other than newlines and tabs), at most %d bytes",
				    PL_PAYLOAD_MAX_BODY);
	}
	pl_vault *v;
	if (pl_cli_open_vault(cli, &v, &e) != 0) {
		free(text);
		return pl_cli_fail(&e);
	}
	uint8_t id[8];
	int64_t seq;
	/* --via: the note is handed to the mediator to pass on (deniable:
	 * nobody signs it; the recipient sees it vouched for only by the
	 * mediator's custody signature). */
	int qr = via ? pl_via_send_note(v, name, via, text, id, &seq, &e)
		     : pl_msgr_queue(v, name, PL_KIND_NOTE, (const uint8_t *)text, strlen(text), id,
				     &seq, &e);
	sodium_memzero(text, strlen(text));
	free(text);
	if (qr != 0) {
		pl_vault_close(v);
		return pl_cli_fail(&e);
	}
	char idhex[17];
	pl_hex_encode(idhex, id, sizeof id);
	pl_sync_report r;
	memset(&r, 0, sizeof r);
	pl_err de;
	pl_err_clear(&de);
	int delivered = 0;
	if (pl_msgr_deliver(v, &r, &de) == 0) {
		pl_item it;
		if (pl_vault_item_get(v, seq, &it, NULL) == 0) {
			delivered = strcmp(it.state, "delivered") == 0;
			pl_vault_item_free(&it);
		}
	}
	pl_cli_copy_warn(&r);
	if (cli->json) {
		json_t *j = json_pack("{s:s, s:s, s:s}", "id", idhex, "to", name, "state",
				      delivered ? "delivered" : "queued");
		if (!delivered && de.msg[0])
			json_object_set_new(j, "reason", json_string(de.msg));
		pl_cli_json_out(j);
	} else if (delivered && via) {
		printf("handed %s to %s to pass on to %s (relay receipt kept)\n", idhex, via, name);
	} else if (delivered) {
		printf("delivered %s to %s (relay receipt kept)\n", idhex, name);
	} else {
		printf("queued %s for %s; run parley sync to deliver it\n", idhex, name);
	}
	int rc = PL_EXIT_OK;
	if (!delivered && !de.msg[0] && r.relay_caught) {
		/* held, not failed: the contact's mailbox is on a relay this
		 * vault caught lying, which gets only relay notices */
		fprintf(stderr,
			"parley: note %s queued, not delivered: the mailbox of %s is at a relay "
			"this vault caught lying (parley relay evidence); it goes once %s "
			"moves to another relay\n",
			idhex, name, name);
		rc = PL_EXIT_SECURITY;
	} else if (!delivered && de.code == PL_EXIT_SECURITY) {
		/* the relay was refused: sync would be too, so do not send the
		 * user there; the note waits in the vault */
		fprintf(stderr, "parley: note %s queued, not delivered: %s\n", idhex, de.msg);
		rc = PL_EXIT_SECURITY;
	} else if (!delivered) {
		fprintf(stderr,
			"parley: note %s queued, not delivered: %s; run parley sync to "
			"deliver it\n",
			idhex, de.msg[0] ? de.msg : "an earlier note to this contact is blocked");
	}
	pl_vault_close(v);
	return rc;
}
