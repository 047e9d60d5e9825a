/*
 * cmd_sync.c — `parley sync`: publish what is pending, deliver the outbox,
 * fetch and process every waiting envelope. Reports counts.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "client/messenger.h"
#include "client/nego.h"

int pl_cmd_sync(pl_cli *cli, int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return pl_cli_usage("sync", "sync takes no arguments");
	pl_err e;
	pl_err_clear(&e);
	pl_vault *v;
	if (pl_cli_open_vault(cli, &v, &e) != 0)
		return pl_cli_fail(&e);
	pl_sync_report r;
	memset(&r, 0, sizeof r);
	int rc = pl_msgr_sync(v, &pl_nego_objects, &r, &e);
	pl_vault_close(v);
	if (rc != 0)
		return pl_cli_fail(&e);
	if (cli->json) {
		json_t *j = json_pack(
		    "{s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I, s:I}", "received",
		    (json_int_t)r.received, "delivered", (json_int_t)r.delivered, "queued",
		    (json_int_t)r.queued, "rejected", (json_int_t)r.rejected, "duplicate",
		    (json_int_t)r.duplicate, "pending", (json_int_t)r.pending, "log_size",
		    (json_int_t)r.log_size, "receipts_checked", (json_int_t)r.receipts, "withheld",
		    (json_int_t)r.withheld, "prekeys_added", (json_int_t)r.prekeys_added,
		    "id_taken", (json_int_t)r.id_taken, "grants_blocked",
		    (json_int_t)r.grants_blocked, "pending_dropped", (json_int_t)r.pending_dropped);
		json_object_set_new(j, "relay_followed", json_integer(r.relay_followed));
		json_object_set_new(j, "relay_refused", json_integer(r.relay_refused));
		json_object_set_new(j, "relay_caught", json_integer(r.relay_caught));
		json_object_set_new(j, "acks_sent", json_integer(r.acks_sent));
		json_object_set_new(j, "acks_waiting", json_integer(r.acks_waiting));
		json_object_set_new(j, "pending_opened", json_integer(r.pending_opened));
		pl_cli_json_out(j);
	} else {
		printf("received %u, delivered %u, still queued %u\n", r.received, r.delivered,
		       r.queued);
	}
	if (r.grants_blocked)
		fprintf(stderr,
			"parley: warning: the relay holds the place of %u contact(s)' grant for "
			"another mailbox (someone who knows both keys took it first), so those "
			"contacts cannot send to you through this relay; everything else was "
			"synced\n",
			r.grants_blocked);
	if (r.id_taken)
		fprintf(stderr,
			"parley: warning: %u item(s) reused the id of an item this vault already "
			"holds and were refused; a contact may be trying to shadow one of your "
			"items (the envelopes are counted below)\n",
			r.id_taken);
	if (r.relay_followed)
		fprintf(stderr,
			"parley: %u contact(s) moved their mailbox to another relay (signed "
			"notice checked); see parley contact list\n",
			r.relay_followed);
	if (r.relay_refused)
		fprintf(stderr,
			"parley: warning: %u relay notice(s) were refused (not signed by the "
			"contact's key, older than one applied, or unusable); those contacts' "
			"mailboxes stay where they were (counted below)\n",
			r.relay_refused);
	if (r.relay_caught)
		fprintf(stderr,
			"parley: warning: %u item(s) are held: the contact's mailbox is at a relay "
			"this vault caught lying (parley relay evidence); they go once the "
			"contact moves\n",
			r.relay_caught);
	if (r.rejected)
		fprintf(stderr,
			"parley: warning: %u envelope(s) failed to open or verify and were "
			"discarded; they were not shown\n",
			r.rejected);
	if (r.pending_dropped)
		fprintf(stderr,
			"parley: warning: %u envelope(s) from keys that are not verified contacts "
			"were dropped unread: the vault already keeps %d such envelopes (or %u "
			"MiB); see parley pending list, and drop what you do not expect with "
			"parley pending drop\n",
			r.pending_dropped, PL_VAULT_PENDING_MAX, PL_VAULT_PENDING_BYTES >> 20);
	if (r.pending)
		fprintf(stderr,
			"parley: warning: %u envelope(s) from keys that are not verified "
			"contacts are kept unread; add and verify the sender (parley contact "
			"add, parley contact verify) to read them\n",
			r.pending);
	if (r.withheld) {
		fprintf(stderr,
			"parley: the relay withheld %u envelope(s) it logged for you; its signed "
			"log and the leaves are kept as evidence (parley relay evidence)\n",
			r.withheld);
		return PL_EXIT_SECURITY;
	}
	if (r.queued)
		fprintf(stderr,
			"parley: warning: %u note(s) still queued (a contact is "
			"unverified or not reachable yet); run parley sync again later\n",
			r.queued);
	return PL_EXIT_OK;
}
