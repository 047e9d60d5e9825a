/*
 * cmd_contact.c — `parley contact add|show|verify|list|rename|remove|revoke|trust-rotation`. A
 * contact is pinned to one identity key; a new key for a known name marks the contact changed and
 * blocks sending until the new safety number is verified in person.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/render.h"
#include "client/introduce.h"
#include "client/messenger.h"
#include "client/revoke.h"
#include "client/rotate.h"
#include "util/file.h"
#include "util/codec.h"

/* Which assurance the contact's key has: verified in person, introduced
 * by a contact verified in person, or none. */
static const char *assurance(const pl_contact *c)
{
	if (c->revoked)
		return "revoked";
	if (c->key_changed)
		return "key-changed";
	return c->verified ? "verified" : c->introduced ? "introduced" : "unverified";
}

/* The introduction recorded for c: 1 (into r, introducer, given name), 0 none. */
static int intro_view(pl_vault *v, const pl_contact *c, pl_intro_rec *r,
		      char introducer[static PL_NAME_MAX + 1], pl_introduction *s)
{
	pl_err e;
	pl_err_clear(&e);
	if (pl_intro_of(v, c, r, introducer, NULL, &e) != 1 ||
	    pl_introduction_decode(s, r->stmt, r->stmt_len) != 0)
		return 0;
	return 1;
}

static json_t *intro_json(pl_vault *v, const pl_contact *c)
{
	pl_intro_rec r;
	pl_introduction s;
	char who[PL_NAME_MAX + 1], key[PL_KEY_HEX_LEN], fp[PL_FINGERPRINT_LEN],
	    when[PL_RFC3339_LEN];
	if (!intro_view(v, c, &r, who, &s))
		return json_null();
	pl_hex_encode(key, r.introducer_ik, PL_IK_LEN);
	pl_fingerprint(fp, r.introducer_ik);
	pl_time_rfc3339(when, r.time);
	return json_pack("{s:s, s:s, s:s, s:s, s:b, s:s, s:b}", "name", who, "key", key,
			 "fingerprint", fp, "time", when, "counts", c->introduced != 0,
			 "name_given", s.name, "name_clash",
			 (r.flags & PL_INTRO_REC_NAME_CLASH) != 0);
}

static json_t *contact_json(pl_vault *v, const pl_contact *c)
{
	char key[PL_KEY_HEX_LEN], fp[PL_FINGERPRINT_LEN], sn[PL_SAFETY_LEN];
	pl_hex_encode(key, c->ik, PL_IK_LEN);
	pl_fingerprint(fp, c->ik);
	pl_safety_number(sn, pl_vault_identity(v)->pk, c->ik);
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:b, s:b}", "name", c->name, "key", key,
			      "fingerprint", fp, "safety_number", sn, "verified", c->verified,
			      "key_changed", c->key_changed);
	json_object_set_new(j, "assurance", json_string(assurance(c)));
	/* introduced_by: the introducer's name (null: none); the details
	 * (its key, when, the name it gave) in "introduction" */
	json_t *ij = intro_json(v, c);
	json_t *in = json_object_get(ij, "name");
	json_object_set_new(j, "introduced_by", in ? json_incref(in) : json_null());
	json_object_set_new(j, "introduction", ij);
	/* Where its mailbox lives, when that is not our relay. */
	if (c->has_relay) {
		char rk[PL_KEY_HEX_LEN];
		pl_hex_encode(rk, c->relay_key, 32);
		json_object_set_new(j, "relay", json_string(c->relay_url));
		json_object_set_new(j, "relay_key", json_string(rk));
	}
	if (c->revoked) {
		char when[PL_RFC3339_LEN];
		pl_time_rfc3339(when, c->revoked);
		json_object_set_new(j, "revoked", json_string(when));
	}
	/* The signed key rotation that gave it this key, and what it is worth. */
	char note[512];
	const char *state = NULL;
	if (pl_cli_rotation_note(v, c, note, sizeof note, &state) == 1)
		json_object_set_new(j, "rotation",
				    json_pack("{s:s, s:s}", "state", state, "text", note));
	return j;
}

/* KEY CHANGED (SIGNED) when a rotation signed by a verified key waits. */
static const char *rotation_word(pl_vault *v, const pl_contact *c)
{
	char note[512];
	const char *state = NULL;
	if (c->revoked || !c->key_changed ||
	    pl_cli_rotation_note(v, c, note, sizeof note, &state) != 1)
		return NULL;
	return strcmp(state, "signed-by-verified") == 0 ? "KEY CHANGED (SIGNED)" : NULL;
}

static const char *status_word(const pl_contact *c)
{
	if (c->revoked)
		return "REVOKED";
	if (c->key_changed)
		return "KEY CHANGED";
	return c->verified ? "verified" : c->introduced ? "introduced" : "unverified";
}

/* One line on the introduction behind c, for contact show. */
static void intro_print(pl_vault *v, const pl_contact *c)
{
	pl_intro_rec r;
	pl_introduction s;
	char who[PL_NAME_MAX + 1], fp[PL_FINGERPRINT_LEN], when[PL_RFC3339_LEN];
	if (!intro_view(v, c, &r, who, &s))
		return;
	pl_fingerprint(fp, r.introducer_ik);
	pl_time_rfc3339(when, r.time);
	printf("introduced:    by %s (fingerprint %s) on %s, ", who, fp, when);
	if (c->verified && !c->key_changed)
		printf("and since verified in person\n");
	else if (c->introduced)
		printf("who vouches for this key; not verified in person by you (compare the "
		       "safety number to upgrade: parley contact verify %s SAFETY_NUMBER)\n",
		       c->name);
	else
		printf("but %s is no longer a contact verified in person: the introduction no "
		       "longer counts\n",
		       who);
	if (r.flags & PL_INTRO_REC_NAME_CLASH)
		printf("warning:       %s introduced this key as \"%s\", the name of your contact "
		       "with another key; check with both in person\n",
		       who, s.name);
}

static int contact_add(pl_cli *cli, pl_vault *v, const char *name, const char *keyhex)
{
	pl_err e;
	pl_err_clear(&e);
	uint8_t ik[PL_IK_LEN];
	if (pl_hex_decode(ik, sizeof ik, keyhex) != 0)
		return pl_cli_usage("contact", "KEY must be 64 hex digits, as printed by parley id "
					       "on the other side");
	if (pl_ik_validate(ik) != 0) {
		pl_err_set(&e, PL_EXIT_INPUT,
			   "KEY is not a valid Ed25519 public key; ask for it "
			   "again");
		return pl_cli_fail(&e);
	}
	if (sodium_memcmp(ik, pl_vault_identity(v)->pk, PL_IK_LEN) == 0) {
		pl_err_set(&e, PL_EXIT_INPUT,
			   "KEY is this vault's own key; add the other side's "
			   "key");
		return pl_cli_fail(&e);
	}
	pl_contact other;
	if (pl_vault_contact_by_ik(v, ik, &other, &e) == 0 && strcmp(other.name, name) != 0) {
		pl_err_set(&e, PL_EXIT_INPUT, "this key already belongs to contact \"%s\"",
			   other.name);
		sodium_memzero(&other, sizeof other);
		return pl_cli_fail(&e);
	}
	sodium_memzero(&other, sizeof other);
	pl_err_clear(&e);

	pl_contact c;
	int changed = 0, existed = 0;
	if (pl_vault_contact_get(v, name, &c, &e) == 0) {
		existed = 1;
		if (sodium_memcmp(c.ik, ik, PL_IK_LEN) != 0) {
			memcpy(c.ik, ik, PL_IK_LEN);
			c.verified = 0;
			c.key_changed = 1;
			c.grant_published = 0;
			c.has_token = 0;
			sodium_memzero(c.token, sizeof c.token);
			changed = 1;
		}
	} else if (e.code == PL_EXIT_NOTFOUND) {
		memset(&c, 0, sizeof c);
		if (strlen(name) > PL_NAME_MAX)
			return pl_cli_usage("contact", "NAME is longer than %d bytes", PL_NAME_MAX);
		strcpy(c.name, name);
		memcpy(c.ik, ik, PL_IK_LEN);
		c.added = pl_now();
	} else {
		return pl_cli_fail(&e);
	}
	pl_err_clear(&e);
	if ((!existed || changed) && pl_vault_contact_put(v, &c, &e) != 0) {
		sodium_memzero(&c, sizeof c);
		return pl_cli_fail(&e);
	}
	pl_err pe;
	pl_err_clear(&pe);
	int published = pl_msgr_publish(v, &pe) == 0;
	if (cli->json) {
		json_t *j = contact_json(v, &c);
		json_object_set_new(j, "published", json_boolean(published));
		pl_cli_json_out(j);
	} else {
		char sn[PL_SAFETY_LEN];
		pl_safety_number(sn, pl_vault_identity(v)->pk, c.ik);
		printf("%s %s\nsafety number: %s\n",
		       existed && !changed ? "already a contact:" : "added", c.name, sn);
		printf("compare it with %s in person, then run: parley contact verify %s "
		       "SAFETY_NUMBER\n",
		       c.name, c.name);
	}
	if (changed)
		fprintf(stderr,
			"parley: warning: the key of \"%s\" changed; sending is blocked until you "
			"compare the new safety number and run parley contact verify %s "
			"SAFETY_NUMBER\n",
			c.name, c.name);
	if (!published)
		fprintf(stderr, "parley: warning: %s; parley sync will retry\n", pe.msg);
	sodium_memzero(&c, sizeof c);
	return PL_EXIT_OK;
}

static int contact_show(pl_cli *cli, pl_vault *v, const char *name)
{
	pl_err e;
	pl_err_clear(&e);
	pl_contact c;
	if (pl_vault_contact_get(v, name, &c, &e) != 0)
		return pl_cli_fail(&e);
	if (cli->json) {
		pl_cli_json_out(contact_json(v, &c));
	} else {
		char key[PL_KEY_HEX_LEN], fp[PL_FINGERPRINT_LEN], sn[PL_SAFETY_LEN];
		pl_hex_encode(key, c.ik, PL_IK_LEN);
		pl_fingerprint(fp, c.ik);
		pl_safety_number(sn, pl_vault_identity(v)->pk, c.ik);
		printf("name:          %s\nkey:           %s\nfingerprint:   %s\n"
		       "safety number: %s\nstatus:        %s\n",
		       c.name, key, fp, sn, status_word(&c));
		if (c.revoked) {
			char when[PL_RFC3339_LEN];
			pl_time_rfc3339(when, c.revoked);
			printf("revoked:       %s, by its owner; nothing is sent to this key "
			       "and nothing from it is accepted\n",
			       when);
		}
		if (c.has_relay) {
			char rfp[PL_FINGERPRINT_LEN];
			pl_fingerprint(rfp, c.relay_key);
			printf("mailbox at:    %s (relay fingerprint %s), not at ours\n",
			       c.relay_url, rfp);
		}
		char note[512];
		const char *state = NULL;
		if (pl_cli_rotation_note(v, &c, note, sizeof note, &state) == 1)
			printf("rotation:      %s\n", note);
		intro_print(v, &c);
	}
	sodium_memzero(&c, sizeof c);
	return PL_EXIT_OK;
}

static int contact_verify(pl_cli *cli, pl_vault *v, const char *name, const char *number)
{
	pl_err e;
	pl_err_clear(&e);
	pl_contact c;
	if (pl_vault_contact_get(v, name, &c, &e) != 0)
		return pl_cli_fail(&e);
	if (pl_safety_number_check(number, pl_vault_identity(v)->pk, c.ik) != 0) {
		sodium_memzero(&c, sizeof c);
		pl_err_set(&e, PL_EXIT_SECURITY,
			   "that is not the safety number of you and \"%s\"; nothing changed. "
			   "Compare again with parley contact show %s",
			   name, name);
		return pl_cli_fail(&e);
	}
	c.verified = 1;
	c.key_changed = 0;
	if (pl_vault_contact_put(v, &c, &e) != 0) {
		sodium_memzero(&c, sizeof c);
		return pl_cli_fail(&e);
	}
	pl_err pe;
	pl_err_clear(&pe);
	int published = pl_msgr_publish(v, &pe) == 0;
	if (cli->json) {
		json_t *j = contact_json(v, &c);
		json_object_set_new(j, "published", json_boolean(published));
		pl_cli_json_out(j);
	} else {
		printf("verified %s\n", c.name);
	}
	if (!published)
		fprintf(stderr, "parley: warning: %s; parley sync will retry\n", pe.msg);
	sodium_memzero(&c, sizeof c);
	return PL_EXIT_OK;
}

static int contact_list(pl_cli *cli, pl_vault *v)
{
	pl_err e;
	pl_err_clear(&e);
	pl_contact *cs;
	size_t n;
	if (pl_vault_contact_list(v, &cs, &n, &e) != 0)
		return pl_cli_fail(&e);
	json_t *arr = cli->json ? json_array() : NULL;
	for (size_t i = 0; i < n; i++) {
		if (arr) {
			json_array_append_new(arr, contact_json(v, &cs[i]));
		} else {
			char fp[PL_FINGERPRINT_LEN];
			pl_fingerprint(fp, cs[i].ik);
			const char *rw = rotation_word(v, &cs[i]);
			char by[PL_NAME_MAX + 32] = "";
			pl_intro_rec ir;
			char who[PL_NAME_MAX + 1];
			pl_err ie;
			pl_err_clear(&ie);
			if (cs[i].introduced && !cs[i].verified &&
			    pl_intro_of(v, &cs[i], &ir, who, NULL, &ie) == 1)
				snprintf(by, sizeof by, "  introduced by %s", who);
			pl_cli_pad(cs[i].name, 24);
			printf(" %-12s %s%s%s%s\n", rw ? rw : status_word(&cs[i]), fp,
			       cs[i].has_relay ? "  mailbox at " : "",
			       cs[i].has_relay ? cs[i].relay_url : "", by);
		}
	}
	if (arr)
		pl_cli_json_out(arr);
	else if (n == 0)
		printf("no contacts yet; add one with parley contact add NAME KEY\n");
	sodium_memzero(cs, n * sizeof *cs);
	free(cs);
	return PL_EXIT_OK;
}

/* Refuses to forget a transcript unless told to; then removes the contact,
 * which replaces our access token, and publishes the new one at once so
 * the removed contact is shut out now rather than at the next sync. */
static int contact_remove(pl_cli *cli, pl_vault *v, const char *name, int forget)
{
	pl_err e;
	pl_err_clear(&e);
	pl_item *items;
	size_t n;
	pl_contact c;
	if (pl_vault_contact_get(v, name, &c, &e) != 0)
		return pl_cli_fail(&e);
	sodium_memzero(&c, sizeof c);
	size_t all;
	if (pl_vault_item_list(v, name, &items, &all, &e) != 0)
		return pl_cli_fail(&e);
	n = 0; /* the transcript: what thread shows, not the automatic acks */
	for (size_t i = 0; i < all; i++)
		n += items[i].kind != PL_KIND_ACK && items[i].kind != PL_KIND_RELAY;
	pl_vault_items_free(items, all);
	if (n > 0 && !forget) {
		pl_err_set(&e, PL_EXIT_SECURITY,
			   "\"%s\" has %zu item(s) in this vault, the record of your talks; "
			   "export them first (parley export thread \"%s\" --out FILE), then run "
			   "parley contact remove \"%s\" --forget-transcript",
			   name, n, name, name);
		return pl_cli_fail(&e);
	}
	if (n > 0) {
		/* The record of the talks goes for good: ask, as case remove does. */
		char question[256];
		snprintf(question, sizeof question,
			 "\"%s\" and %zu item(s) of your talks with them will be deleted from this "
			 "vault for good.",
			 name, n);
		int rc = pl_cli_confirm(cli, "contact remove", "delete them", question);
		if (rc != 0)
			return rc;
	}
	if (pl_vault_contact_remove(v, name, &e) != 0)
		return pl_cli_fail(&e);
	pl_err pe;
	pl_err_clear(&pe);
	int published = pl_msgr_publish(v, &pe) == 0;
	if (cli->json)
		pl_cli_json_out(json_pack("{s:s, s:I, s:b}", "removed", name, "items_forgotten",
					  (json_int_t)n, "new_token_published", published));
	else
		printf("removed \"%s\" and %zu item(s); a new access token %s\n", name, n,
		       published ? "is registered and granted to your other contacts"
				 : "is made but not yet registered");
	if (!published)
		fprintf(stderr,
			"parley: warning: %s; until parley sync registers the new token, \"%s\" "
			"can still deposit into your mailbox\n",
			pe.msg, name);
	return PL_EXIT_OK;
}

/* A contact's name is ours alone (nothing is sent): the transcript, queued
 * moves and case links follow it. */
static int contact_rename(pl_cli *cli, pl_vault *v, const char *from, const char *to)
{
	pl_err e;
	pl_err_clear(&e);
	if (pl_vault_contact_rename(v, from, to, &e) != 0)
		return pl_cli_fail(&e);
	if (cli->json)
		pl_cli_json_out(json_pack("{s:s, s:s}", "renamed", from, "name", to));
	else
		printf("renamed \"%s\" to \"%s\"; its transcript and case links follow\n", from,
		       to);
	return PL_EXIT_OK;
}

/* A revocation the contact handed over by hand (their vault is gone, so
 * it could not come through the session): checked like one that did. */
static int contact_revoke(pl_cli *cli, pl_vault *v, const char *name, const char *path)
{
	pl_err e;
	pl_err_clear(&e);
	pl_contact c;
	uint8_t *stmt = NULL;
	size_t len = 0;
	if (pl_vault_contact_get(v, name, &c, &e) != 0)
		return pl_cli_fail(&e);
	int rc = pl_file_read(path, PL_REVOCATION_LEN, &stmt, &len, &e) != 0
		     ? -1
		     : pl_revoke_apply(v, &c, stmt, len, &e);
	free(stmt);
	sodium_memzero(&c, sizeof c);
	if (rc != 0)
		return pl_cli_fail(&e);
	if (pl_vault_contact_get(v, name, &c, &e) != 0)
		return pl_cli_fail(&e);
	if (cli->json)
		pl_cli_json_out(contact_json(v, &c));
	else if (!c.revoked)
		printf("that revokes the key %s rotated away from: their key change is void; %s "
		       "is unverified until you compare the safety number in person (parley "
		       "contact verify %s SAFETY_NUMBER)\n",
		       c.name, c.name, c.name);
	else
		printf("revoked %s: nothing is sent to their key and nothing from it is "
		       "accepted\n",
		       c.name);
	sodium_memzero(&c, sizeof c);
	return PL_EXIT_OK;
}

/* A key change signed by the key the user verified, accepted as enough
 * (client/rotate.h says when it is refused). */
static int contact_trust_rotation(pl_cli *cli, pl_vault *v, const char *name)
{
	pl_err e;
	pl_err_clear(&e);
	pl_contact c;
	if (pl_rotate_trust(v, name, &e) != 0 || pl_vault_contact_get(v, name, &c, &e) != 0)
		return pl_cli_fail(&e);
	pl_err pe;
	pl_err_clear(&pe);
	int published = pl_msgr_publish(v, &pe) == 0;
	if (cli->json) {
		json_t *j = contact_json(v, &c);
		json_object_set_new(j, "published", json_boolean(published));
		pl_cli_json_out(j);
	} else {
		char fp[PL_FINGERPRINT_LEN];
		pl_fingerprint(fp, c.ik);
		printf("trusted the new key of %s (fingerprint %s) on the signature of the key you "
		       "verified; parley sync reads what they sent under it\n"
		       "this does not protect against a seized key: if you doubt it, compare the "
		       "safety number in person (parley contact show %s)\n",
		       c.name, fp, c.name);
	}
	if (!published)
		fprintf(stderr, "parley: warning: %s; parley sync will retry\n", pe.msg);
	sodium_memzero(&c, sizeof c);
	return PL_EXIT_OK;
}

int pl_cmd_contact(pl_cli *cli, int argc, char **argv)
{
	if (argc < 2)
		return pl_cli_usage("contact", "contact needs a subcommand: add, show, verify, "
					       "list, rename, remove, revoke or trust-rotation");
	const char *sub = argv[1];
	int want;
	int forget =
	    argc == 4 && strcmp(sub, "remove") == 0 && strcmp(argv[3], "--forget-transcript") == 0;
	if (strcmp(sub, "add") == 0 || strcmp(sub, "verify") == 0 || strcmp(sub, "rename") == 0)
		want = 4;
	else if (strcmp(sub, "remove") == 0)
		want = forget ? 4 : 3;
	else if (strcmp(sub, "show") == 0 || strcmp(sub, "trust-rotation") == 0)
		want = 3;
	else if (strcmp(sub, "list") == 0)
		want = 2;
	else if (strcmp(sub, "revoke") == 0)
		want = argc == 5 && strcmp(argv[3], "--statement") == 0 ? 5 : -1;
	else
		return pl_cli_usage("contact", "unknown contact subcommand '%s'", sub);
	if (argc != want)
		return pl_cli_usage("contact", "wrong number of arguments for contact %s", sub);
	pl_err e;
	pl_err_clear(&e);
	pl_vault *v;
	if (pl_cli_open_vault(cli, &v, &e) != 0)
		return pl_cli_fail(&e);
	int rc;
	if (sub[0] == 'a')
		rc = contact_add(cli, v, argv[2], argv[3]);
	else if (strcmp(sub, "revoke") == 0)
		rc = contact_revoke(cli, v, argv[2], argv[4]);
	else if (strcmp(sub, "trust-rotation") == 0)
		rc = contact_trust_rotation(cli, v, argv[2]);
	else if (strcmp(sub, "rename") == 0)
		rc = contact_rename(cli, v, argv[2], argv[3]);
	else if (sub[0] == 'r')
		rc = contact_remove(cli, v, argv[2], forget);
	else if (sub[0] == 's')
		rc = contact_show(cli, v, argv[2]);
	else if (sub[0] == 'v')
		rc = contact_verify(cli, v, argv[2], argv[3]);
	else
		rc = contact_list(cli, v);
	pl_vault_close(v);
	return rc;
}
