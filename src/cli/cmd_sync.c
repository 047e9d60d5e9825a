/*
 * cmd_sync.c — `parley sync`: publish what is pending, deliver the outbox,
 * fetch and process every waiting envelope. Reports counts.
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "client/messenger.h"
#include "client/nego.h"
#include "client/via.h"
#include "util/codec.h"

/* What the negotiation rules decided, on stderr (also after a sync that
 * ended on a security error: what was decided before it stands). */
static void print_nego_report(const pl_nego_report *nr)
{
	if (nr->late_withdrawals)
		fprintf(stderr,
			"parley: warning: %u withdrawal(s) of a proposal you accepted were "
			"refused: the relay's log shows the proposer's key had already fetched "
			"your acceptance before the withdrawal was sent; the agreement stands "
			"(see parley thread NAME)\n",
			nr->late_withdrawals);
	if (nr->disputed)
		fprintf(stderr,
			"parley: warning: %u proposal(s) are now disputed: an acceptance and a "
			"withdrawal crossed in flight; agree on a new proposal\n",
			nr->disputed);
	if (nr->expired)
		fprintf(stderr,
			"parley: %u acceptance(s) reached the relay after the proposal had "
			"expired (by the relay's log time); they make no agreement\n",
			nr->expired);
	if (nr->predated)
		fprintf(stderr,
			"parley: warning: %u acceptance(s) dated before the proposal they accept "
			"were refused (a clock set back, or a forgery)\n",
			nr->predated);
	if (nr->guaranteed)
		fprintf(stderr,
			"parley: %u agreement(s) guaranteed by the mediator they name (see parley "
			"inbox)\n",
			nr->guaranteed);
	if (nr->matches_stopped)
		fprintf(stderr,
			"parley: %u blind match(es): the relay's log proves the other side "
			"fetched our answer and has not answered (parley match show ID)\n",
			nr->matches_stopped);
	if (nr->to_guarantee)
		fprintf(stderr,
			"parley: %u agreement(s) name you as guarantor and await your guarantee "
			"(parley inbox, then parley guarantee ID)\n",
			nr->to_guarantee);
	if (nr->via_unknown)
		fprintf(stderr,
			"parley: warning: %u move(s) passed on by a mediator were refused: they "
			"are from a party you hold no key for; ask the mediator for an "
			"introduction\n",
			nr->via_unknown);
	if (nr->undecided)
		fprintf(stderr,
			"parley: %u move(s) are kept undecided until the relay's log shows when "
			"they were deposited; run parley sync again later\n",
			nr->undecided);
}

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
	pl_nego_report nr;
	memset(&r, 0, sizeof r);
	int rc = pl_nego_sync(v, &r, &nr, &e);
	/* As mediator: tell the authors of moves we forwarded, now that the
	 * relay's receipts are in (a forward delivered only by this sync). */
	unsigned told = 0;
	pl_err ne;
	pl_err_clear(&ne);
	if (rc == 0 && pl_via_notify_forwarded(v, &told, &ne) == 0 && told > 0) {
		pl_sync_report r2;
		memset(&r2, 0, sizeof r2);
		(void)pl_msgr_deliver(v, &r2, &ne); /* what fails stays queued */
	}
	pl_vault_close(v);
	print_nego_report(&nr);
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
		json_object_set_new(j, "revoked", json_integer(r.revoked));
		json_object_set_new(j, "revoke_refused", json_integer(r.revoke_refused));
		json_object_set_new(j, "from_revoked", json_integer(r.from_revoked));
		json_object_set_new(j, "relay_caught", json_integer(r.relay_caught));
		json_object_set_new(j, "acks_sent", json_integer(r.acks_sent));
		json_object_set_new(j, "acks_waiting", json_integer(r.acks_waiting));
		json_object_set_new(j, "pending_opened", json_integer(r.pending_opened));
		json_object_set_new(j, "copy_detected", json_boolean(r.copy_reacted != 0));
		json_t *miss = json_array();
		for (unsigned i = 0; i < r.other_copy && i < PL_SYNC_MISSING_LIST; i++) {
			char t[PL_RFC3339_LEN];
			pl_time_rfc3339(t, r.missing_time[i]);
			json_array_append_new(
			    miss, json_pack("{s:I, s:s, s:s}", "seq", (json_int_t)r.missing_seq[i],
					    "logged", t, "reason",
					    "acknowledged by another copy of this vault"));
		}
		json_object_set_new(j, "missing_other_copy", json_integer(r.other_copy));
		json_object_set_new(j, "missing", miss);
		json_object_set_new(j, "rotated", json_integer(r.rotated));
		json_object_set_new(j, "rotate_replayed", json_integer(r.rotate_replayed));
		json_object_set_new(j, "rotate_refused", json_integer(r.rotate_refused));
		json_object_set_new(j, "rotate_conflict", json_integer(r.rotate_conflict));
		json_object_set_new(j, "rotate_void", json_integer(r.rotate_void));
		json_object_set_new(j, "introduced", json_integer(r.intro_added));
		json_object_set_new(j, "intro_recorded", json_integer(r.intro_recorded));
		json_object_set_new(j, "intro_renamed", json_integer(r.intro_renamed));
		json_object_set_new(j, "intro_replayed", json_integer(r.intro_replayed));
		json_object_set_new(j, "intro_refused", json_integer(r.intro_refused));
		json_t *n =
		    json_pack("{s:I, s:I, s:I, s:I, s:I}", "late_withdrawals",
			      (json_int_t)nr.late_withdrawals, "disputed", (json_int_t)nr.disputed,
			      "expired", (json_int_t)nr.expired, "predated",
			      (json_int_t)nr.predated, "undecided", (json_int_t)nr.undecided);
		json_object_update(j, n);
		json_decref(n);
		json_object_set_new(j, "guaranteed", json_integer(nr.guaranteed));
		json_object_set_new(j, "to_guarantee", json_integer(nr.to_guarantee));
		json_object_set_new(j, "via_unknown", json_integer(nr.via_unknown));
		json_object_set_new(j, "matches_moved", json_integer(nr.matches_moved));
		json_object_set_new(j, "matches_stopped", json_integer(nr.matches_stopped));
		json_object_set_new(j, "forward_notices", json_integer(told));
		pl_cli_json_out(j);
	} else {
		printf("received %u, delivered %u, still queued %u\n", r.received, r.delivered,
		       r.queued);
	}
	pl_cli_copy_warn(&r);
	if (r.other_copy) {
		fprintf(stderr,
			"parley: %u message(s) missing: acknowledged by another copy of this vault "
			"(restored from backup / put back); the relay's log shows this vault's own "
			"key fetched them, so the relay is not blamed and no evidence is kept. "
			"Ask the sender(s) to repeat what matters:\n",
			r.other_copy);
		for (unsigned i = 0; i < r.other_copy && i < PL_SYNC_MISSING_LIST; i++) {
			char t[PL_RFC3339_LEN];
			pl_time_rfc3339(t, r.missing_time[i]);
			fprintf(stderr, "parley:   missing: mailbox seq %llu, logged %s\n",
				(unsigned long long)r.missing_seq[i], t);
		}
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
	if (r.revoked)
		fprintf(stderr,
			"parley: %u contact(s) revoked their key (signed by that key); nothing is "
			"sent to them any more; see parley contact list\n",
			r.revoked);
	if (r.revoke_refused)
		fprintf(stderr,
			"parley: warning: %u revocation(s) were refused (not signed by the "
			"contact's key, or for another key); those contacts are unchanged\n",
			r.revoke_refused);
	if (r.rotated)
		fprintf(
		    stderr,
		    "parley: %u contact(s) changed their identity key (signed by the old and "
		    "the new key); what they send under it stays unread until you decide: see "
		    "parley contact list, then parley contact trust-rotation NAME if the old key "
		    "was verified, or compare the safety number again (parley contact verify "
		    "NAME SAFETY_NUMBER)\n",
		    r.rotated);
	if (r.rotate_conflict)
		fprintf(stderr,
			"parley: warning: %u contact(s)' old key signed two different key changes; "
			"both are refused (the key may be in someone else's hands): %s\n",
			r.rotate_conflict, r.rotate_why);
	if (r.rotate_void)
		fprintf(stderr,
			"parley: warning: %u key change(s) are void: the key they were signed by "
			"was revoked; those contacts are unverified until you compare safety "
			"numbers in person (parley contact verify NAME SAFETY_NUMBER)\n",
			r.rotate_void);
	if (r.rotate_refused)
		fprintf(stderr, "parley: warning: %u key change(s) were refused or ignored: %s\n",
			r.rotate_refused, r.rotate_why);
	if (r.intro_added)
		fprintf(stderr,
			"parley: %u contact(s) were introduced to you by a contact you verified in "
			"person; you can talk with them, and parley contact list says which "
			"assurance each has (compare safety numbers in person to upgrade)\n",
			r.intro_added);
	if (r.intro_recorded)
		fprintf(stderr,
			"parley: %u introduction(s) of contacts you already had were recorded; "
			"those contacts are unchanged\n",
			r.intro_recorded);
	if (r.intro_renamed)
		fprintf(stderr, "parley: warning: %s\n", r.intro_clash);
	if (r.intro_refused)
		fprintf(stderr, "parley: warning: %u introduction(s) were refused: %s\n",
			r.intro_refused, r.intro_why);
	if (r.from_revoked)
		fprintf(stderr,
			"parley: warning: %u envelope(s) under a revoked key were refused "
			"(counted below)\n",
			r.from_revoked);
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
