/*
 * cmd_id_rotate.c — `parley id rotate`: moves this vault to a new identity
 * key (a lost key's backup, a staff change), tells every verified contact
 * with a statement signed by the old and the new key, closes the old key's
 * mailbox after reading it a last time, and publishes the new key. Not for
 * a seized key: whoever holds it could sign a rotation too (revoke it).
 */
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "client/nego.h"
#include "client/rotate.h"
#include "util/codec.h"

static int nego_read(pl_vault *v, pl_sync_report *r, pl_err *e)
{
	pl_nego_report nr;
	memset(r, 0, sizeof *r);
	return pl_nego_sync(v, r, &nr, e);
}

int pl_cmd_id_rotate(pl_cli *cli, int argc, char **argv)
{
	(void)argv;
	if (argc != 1)
		return pl_cli_usage("id", "id rotate takes no arguments");
	pl_err e;
	pl_err_clear(&e);
	pl_vault *v;
	if (pl_cli_open_vault(cli, &v, &e) != 0)
		return pl_cli_fail(&e);
	pl_rotate_report r;
	char name[PL_NAME_MAX + 1];
	snprintf(name, sizeof name, "%s", pl_vault_name(v));
	int rc = pl_rotate_self(v, nego_read, &r, &e);
	pl_vault_close(v);
	if (rc != 0)
		return pl_cli_fail(&e);
	char when[PL_RFC3339_LEN], oldfp[PL_FINGERPRINT_LEN], newfp[PL_FINGERPRINT_LEN];
	char newkey[PL_KEY_HEX_LEN];
	pl_time_rfc3339(when, r.time);
	pl_fingerprint(oldfp, r.old_ik);
	pl_fingerprint(newfp, r.new_ik);
	pl_hex_encode(newkey, r.new_ik, PL_IK_LEN);
	if (cli->json) {
		pl_cli_json_out(
		    json_pack("{s:s, s:s, s:s, s:b, s:I, s:I, s:I, s:I, s:I, s:b}", "rotated", when,
			      "key", newkey, "fingerprint", newfp, "resumed", r.resumed, "told",
			      (json_int_t)r.told, "not_told", (json_int_t)r.not_told, "received",
			      (json_int_t)r.sync.received, "delivered", (json_int_t)r.delivered,
			      "queued", (json_int_t)r.queued, "published", r.published));
	} else {
		printf("this vault now uses a new identity key (fingerprint %s); the old key (%s) "
		       "is wiped and kept only as history\n",
		       newfp, oldfp);
		if (r.resumed)
			printf("(an interrupted rotation was finished)\n");
		else
			printf("a change signed by the old and the new key was queued for %u "
			       "contact(s)\n",
			       r.told);
		printf("the old key's mailbox was read a last time (%u new item(s)) and closed: "
		       "contacts that have not seen the change keep what they send queued until "
		       "they do\n",
		       r.sync.received);
		printf("your sessions start again under the new key; %u item(s) delivered, %u "
		       "still queued\n",
		       r.delivered, r.queued);
		printf("next: ask each contact to run parley sync and then either parley contact "
		       "trust-rotation \"%s\" (enough for a lost key, not for a seized one), or "
		       "compare the new safety number with you in person (parley contact "
		       "verify); until then they read nothing you send\n",
		       name);
	}
	if (!r.published)
		fprintf(stderr,
			"parley: warning: the new key is not yet published at the relay (%s); run "
			"parley sync\n",
			r.why[0] ? r.why : "unknown reason");
	if (r.not_told)
		fprintf(
		    stderr,
		    "parley: warning: %u contact(s) are not verified (or their key changed) and "
		    "were not told; give them your new key (parley id) and compare safety "
		    "numbers in person\n",
		    r.not_told);
	if (r.queued)
		fprintf(stderr,
			"parley: warning: %u item(s) wait in the outbox%s%s; parley sync retries\n",
			r.queued, r.why[0] ? ": " : "", r.why);
	return PL_EXIT_OK;
}
