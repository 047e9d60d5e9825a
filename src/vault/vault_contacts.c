/*
 * vault_contacts.c — contacts in the vault, and the rule for the names
 * that key them.
 *
 * A contact's mailbox token is a secret: it is sealed with AD binding it to
 * its row ("contact token" ‖ name ‖ ik), so a blob copied to another row
 * does not open. Every row read back is decoded strictly (types, sizes,
 * ranges): a damaged vault yields an error naming the problem, never a crash
 * or a half-filled record. This file must never write a token unsealed, and
 * never build SQL from data.
 */
#include "vault/vault_int.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/codec.h"

int pl_vault_name_check(const char *name, pl_err *e)
{
	if (name == NULL || pl_vault_name_ok((const uint8_t *)name, strlen(name)) != 0)
		return pl_err_set(e, PL_EXIT_USAGE,
				  "a name must be 1 to %d bytes of UTF-8 without control "
				  "characters, direction overrides or '/'; choose another name",
				  PL_NAME_MAX);
	return 0;
}

#define CONTACT_COLS "name, ik, verified, key_changed, grant_published, token, added"
#define CONTACT_READ CONTACT_COLS ", relay_url, relay_key, relay_time"

static void token_ad(pl_wr *ad, const char *name, const uint8_t ik[static PL_IK_LEN])
{
	pl_vault_ad(ad, "contact token");
	pl_wr_var(ad, (const uint8_t *)name, strlen(name));
	pl_wr_bytes(ad, ik, PL_IK_LEN);
}

static int contact_row(pl_vault *v, sqlite3_stmt *st, pl_contact *c, pl_err *e)
{
	pl_contact t;

	memset(&t, 0, sizeof t);
	if (pl_vault_col_name(st, 0, t.name, sizeof t.name) != 0 ||
	    pl_vault_col_fixed(st, 1, t.ik, sizeof t.ik) != 0 ||
	    pl_vault_col_flag(st, 2, &t.verified) || pl_vault_col_flag(st, 3, &t.key_changed) ||
	    pl_vault_col_flag(st, 4, &t.grant_published) ||
	    sqlite3_column_type(st, 6) != SQLITE_INTEGER)
		return pl_vault_damaged(v, "a contact record is malformed", e);
	t.added = (uint64_t)sqlite3_column_int64(st, 6);
	if (sqlite3_column_type(st, 7) != SQLITE_NULL) {
		int n = sqlite3_column_bytes(st, 7);
		if (sqlite3_column_type(st, 7) != SQLITE_TEXT || n <= 0 || n > PL_URL_MAX ||
		    pl_vault_url_ok(sqlite3_column_text(st, 7), (size_t)n, PL_URL_MAX) != 0 ||
		    pl_vault_col_fixed(st, 8, t.relay_key, sizeof t.relay_key) != 0)
			return pl_vault_damaged(v, "a contact's relay is malformed", e);
		memcpy(t.relay_url, sqlite3_column_text(st, 7), (size_t)n);
		t.relay_url[n] = '\0';
		t.has_relay = 1;
	}
	if (sqlite3_column_type(st, 9) == SQLITE_INTEGER)
		t.relay_time = (uint64_t)sqlite3_column_int64(st, 9);
	else if (sqlite3_column_type(st, 9) != SQLITE_NULL)
		return pl_vault_damaged(v, "a contact's relay notice time is malformed", e);
	if (sqlite3_column_type(st, 5) != SQLITE_NULL) {
		pl_wr ad;
		token_ad(&ad, t.name, t.ik);
		int r = sqlite3_column_type(st, 5) == SQLITE_BLOB
			    ? pl_vault_unseal_fixed(t.token, sizeof t.token, v->kek, &ad,
						    sqlite3_column_blob(st, 5),
						    (size_t)sqlite3_column_bytes(st, 5))
			    : -1;
		pl_wr_free(&ad);
		if (r != 0) {
			char what[160];
			snprintf(what, sizeof what,
				 "the mailbox token of contact \"%s\" does not open", t.name);
			sodium_memzero(&t, sizeof t);
			return pl_vault_damaged(v, what, e);
		}
		t.has_token = 1;
	}
	t.revoked = pl_vault_ik_revoked(v, t.ik);
	t.introduced = pl_vault_intro_vouched(v, t.ik);
	*c = t;
	sodium_memzero(&t, sizeof t);
	return 0;
}

/* Steps st once and decodes the contact it finds; NOTFOUND with `missing`. */
static int contact_one(pl_vault *v, sqlite3_stmt *st, pl_contact *c, const char *missing, pl_err *e)
{
	int rc = sqlite3_step(st), r;
	if (rc == SQLITE_ROW)
		r = contact_row(v, st, c, e);
	else if (rc == SQLITE_DONE)
		r = pl_err_set(e, PL_EXIT_NOTFOUND, "%s", missing);
	else
		r = pl_vault_dberr(v, rc, "read a contact", e);
	sqlite3_finalize(st);
	return r;
}

int pl_vault_contact_get(pl_vault *v, const char *name, pl_contact *c, pl_err *e)
{
	sqlite3_stmt *st;
	char missing[200];

	if (pl_vault_name_check(name, e) != 0)
		return -1;
	if (pl_vault_prep(v, &st, "SELECT " CONTACT_READ " FROM contacts WHERE name = ?1", e) != 0)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	snprintf(missing, sizeof missing,
		 "no contact named \"%s\"; see parley contact list, or add one with parley contact "
		 "add",
		 name);
	return contact_one(v, st, c, missing, e);
}

int pl_vault_contact_by_ik(pl_vault *v, const uint8_t ik[static PL_IK_LEN], pl_contact *c,
			   pl_err *e)
{
	sqlite3_stmt *st;
	char hex[PL_KEY_HEX_LEN], missing[200];

	if (pl_vault_prep(v, &st, "SELECT " CONTACT_READ " FROM contacts WHERE ik = ?1", e) != 0)
		return -1;
	sqlite3_bind_blob(st, 1, ik, PL_IK_LEN, SQLITE_STATIC);
	pl_hex_encode(hex, ik, PL_IK_LEN);
	snprintf(missing, sizeof missing, "no contact has the identity key %s", hex);
	return contact_one(v, st, c, missing, e);
}

int pl_vault_contact_put(pl_vault *v, const pl_contact *c, pl_err *e)
{
	size_t nl = strnlen(c->name, sizeof c->name);
	pl_wr ad, blob;
	sqlite3_stmt *st;

	if (nl == sizeof c->name)
		return pl_vault_name_check(NULL, e); /* not terminated: too long */
	if (pl_vault_name_check(c->name, e) != 0)
		return -1;
	if (pl_ik_validate(c->ik) != 0)
		return pl_err_set(e, PL_EXIT_INPUT,
				  "the identity key for \"%s\" is not a valid Ed25519 public key; "
				  "check it and try again",
				  c->name);
	if (sodium_memcmp(c->ik, v->id->pk, PL_IK_LEN) == 0)
		return pl_err_set(e, PL_EXIT_USAGE,
				  "the identity key for \"%s\" is this vault's own key; a contact "
				  "must be another party",
				  c->name);
	pl_wr_init(&blob);
	if (c->has_token) {
		token_ad(&ad, c->name, c->ik);
		int r = pl_vault_seal(&blob, v->kek, &ad, c->token, PL_TOKEN_LEN);
		pl_wr_free(&ad);
		if (r != 0)
			return pl_err_set(e, PL_EXIT_ERROR,
					  "could not encrypt a contact's token (out of memory)");
	}
	if (pl_vault_prep(v, &st,
			  "INSERT INTO contacts(" CONTACT_COLS
			  ") VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)"
			  " ON CONFLICT(name) DO UPDATE SET ik = excluded.ik,"
			  " verified = excluded.verified, key_changed = excluded.key_changed,"
			  " grant_published = excluded.grant_published, token = excluded.token,"
			  " added = excluded.added",
			  e) != 0) {
		pl_wr_free(&blob);
		return -1;
	}
	sqlite3_bind_text(st, 1, c->name, (int)nl, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, c->ik, PL_IK_LEN, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, c->verified != 0);
	sqlite3_bind_int(st, 4, c->key_changed != 0);
	sqlite3_bind_int(st, 5, c->grant_published != 0);
	if (c->has_token)
		sqlite3_bind_blob(st, 6, blob.p, (int)blob.n, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 6);
	sqlite3_bind_int64(st, 7, (int64_t)(c->added ? c->added : pl_now()));
	int rc = sqlite3_step(st), r = 0;
	sqlite3_finalize(st);
	pl_wr_free(&blob);
	if (rc == SQLITE_CONSTRAINT_UNIQUE) {
		pl_contact other;
		pl_err ign;
		if (pl_vault_contact_by_ik(v, c->ik, &other, &ign) == 0) {
			r = pl_err_set(e, PL_EXIT_USAGE,
				       "that identity key already belongs to the contact \"%s\"; "
				       "one key can be only one contact",
				       other.name);
			sodium_memzero(&other, sizeof other);
		} else {
			r = pl_err_set(e, PL_EXIT_USAGE,
				       "that identity key already belongs to another contact");
		}
	} else if (rc != SQLITE_DONE) {
		r = pl_vault_dberr(v, rc, "save the contact", e);
	}
	return r;
}

int pl_vault_contact_list(pl_vault *v, pl_contact **out, size_t *n, pl_err *e)
{
	sqlite3_stmt *st;
	pl_contact *arr = NULL;
	size_t cap = 0, cnt = 0;
	int rc, r = 0;

	*out = NULL;
	*n = 0;
	if (pl_vault_prep(v, &st, "SELECT " CONTACT_READ " FROM contacts ORDER BY name", e) != 0)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (pl_vault_grow((void **)&arr, &cap, cnt, sizeof *arr) != 0) {
			r = pl_err_set(e, PL_EXIT_ERROR, "out of memory listing contacts");
			break;
		}
		if ((r = contact_row(v, st, &arr[cnt], e)) != 0)
			break;
		cnt++;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = pl_vault_dberr(v, rc, "list the contacts", e);
	sqlite3_finalize(st);
	if (r != 0) {
		if (arr)
			sodium_memzero(arr, cap * sizeof *arr);
		free(arr);
		return -1;
	}
	*out = arr;
	*n = cnt;
	return 0;
}

int pl_vault_contact_set_relay(pl_vault *v, const char *name, const char *url,
			       const uint8_t key[static 32], const uint8_t *ca, size_t calen,
			       uint64_t time, pl_err *e)
{
	sqlite3_stmt *st;
	if (url != NULL &&
	    (pl_vault_url_ok((const uint8_t *)url, strlen(url), PL_URL_MAX) != 0 ||
	     pl_ik_validate(key) != 0 || calen > PL_VAULT_CA_MAX || (ca == NULL && calen != 0)))
		return pl_err_set(e, PL_EXIT_INPUT,
				  "the relay given for \"%s\" is not a valid address and key",
				  name);
	if (time > INT64_MAX)
		return pl_err_set(e, PL_EXIT_INPUT, "the relay notice's time is out of range");
	if (pl_vault_prep(v, &st,
			  "UPDATE contacts SET relay_url = ?2, relay_key = ?3, relay_ca = ?4,"
			  " relay_time = ?5 WHERE name = ?1",
			  e) != 0)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	if (url) {
		sqlite3_bind_text(st, 2, url, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 3, key, 32, SQLITE_STATIC);
		if (calen > 0)
			sqlite3_bind_blob(st, 4, ca, (int)calen, SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 4);
	} else {
		sqlite3_bind_null(st, 2);
		sqlite3_bind_null(st, 3);
		sqlite3_bind_null(st, 4);
	}
	sqlite3_bind_int64(st, 5, (int64_t)time);
	int rc = pl_vault_exec(v, st, "record a contact's relay", e);
	sqlite3_finalize(st);
	if (rc == 0 && sqlite3_changes(v->db) != 1)
		return pl_err_set(e, PL_EXIT_NOTFOUND, "no contact named \"%s\"", name);
	return rc;
}

int pl_vault_contact_relay_ca(pl_vault *v, const char *name, pl_wr *pem, pl_err *e)
{
	sqlite3_stmt *st;
	pl_wr_init(pem);
	if (pl_vault_prep(v, &st, "SELECT relay_ca FROM contacts WHERE name = ?1", e) != 0)
		return -1;
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	int rc = sqlite3_step(st), r = 0;
	if (rc == SQLITE_ROW) {
		int t = sqlite3_column_type(st, 0), n = sqlite3_column_bytes(st, 0);
		if (t == SQLITE_BLOB && n > 0 && (size_t)n <= PL_VAULT_CA_MAX) {
			pl_wr_bytes(pem, sqlite3_column_blob(st, 0), (size_t)n);
			if (pl_wr_ok(pem) != 0)
				r = pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		} else if (t != SQLITE_NULL) {
			r = pl_vault_damaged(v, "a contact's relay certificate is malformed", e);
		}
	} else if (rc == SQLITE_DONE) {
		r = pl_err_set(e, PL_EXIT_NOTFOUND, "no contact named \"%s\"", name);
	} else {
		r = pl_vault_dberr(v, rc, "read a contact's relay", e);
	}
	sqlite3_finalize(st);
	if (r != 0)
		pl_wr_free(pem);
	return r;
}

/* The counters row of a revoked key: "revoked:" and its hex. */
static void revoked_key(char out[8 + PL_KEY_HEX_LEN], const uint8_t ik[static PL_IK_LEN])
{
	memcpy(out, "revoked:", 8);
	pl_hex_encode(out + 8, ik, PL_IK_LEN);
}

uint64_t pl_vault_ik_revoked(pl_vault *v, const uint8_t ik[static PL_IK_LEN])
{
	sqlite3_stmt *st;
	char k[8 + PL_KEY_HEX_LEN];
	uint64_t val = 0;
	revoked_key(k, ik);
	if (pl_vault_prep(v, &st, "SELECT v FROM counters WHERE k = ?1", NULL) != 0)
		return 0;
	sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
	if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_INTEGER &&
	    sqlite3_column_int64(st, 0) > 0)
		val = (uint64_t)sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return val;
}

int pl_vault_ik_revoke(pl_vault *v, const uint8_t ik[static PL_IK_LEN], uint64_t time, pl_err *e)
{
	sqlite3_stmt *st;
	char k[8 + PL_KEY_HEX_LEN];
	if (time == 0 || time > INT64_MAX)
		return pl_err_set(e, PL_EXIT_INPUT, "a revocation's time is out of range");
	revoked_key(k, ik);
	if (pl_vault_prep(v, &st, "INSERT OR IGNORE INTO counters(k, v) VALUES(?1, ?2)", e) != 0)
		return -1;
	sqlite3_bind_text(st, 1, k, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)time);
	int rc = pl_vault_exec(v, st, "record a revoked key", e);
	sqlite3_finalize(st);
	return rc;
}

static int rename_sql(pl_vault *v, const char *sql, const char *from, const char *to,
		      const pl_wr *token, pl_err *e)
{
	sqlite3_stmt *st;
	if (pl_vault_prep(v, &st, sql, e) != 0)
		return -1;
	sqlite3_bind_text(st, 1, from, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, to, -1, SQLITE_STATIC);
	if (token && token->n)
		sqlite3_bind_blob(st, 3, token->p, (int)token->n, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 3);
	int r = pl_vault_exec(v, st, "rename a contact", e);
	sqlite3_finalize(st);
	return r;
}

int pl_vault_contact_rename(pl_vault *v, const char *from, const char *to, pl_err *e)
{
	pl_contact c, other;
	pl_wr ad, token;
	int own, ok = 0;
	if (pl_vault_name_check(to, e) != 0 || pl_vault_contact_get(v, from, &c, e) != 0)
		return -1;
	pl_wr_init(&token);
	if (strcmp(from, to) == 0) {
		sodium_memzero(&c, sizeof c);
		return pl_err_set(e, PL_EXIT_USAGE, "\"%s\" already has that name", from);
	}
	if (pl_vault_contact_get(v, to, &other, NULL) == 0) {
		sodium_memzero(&c, sizeof c);
		sodium_memzero(&other, sizeof other);
		return pl_err_set(e, PL_EXIT_USAGE,
				  "there is already a contact named \"%s\"; choose another name",
				  to);
	}
	if (c.has_token) {
		token_ad(&ad, to, c.ik);
		int r = pl_vault_seal(&token, v->kek, &ad, c.token, PL_TOKEN_LEN);
		pl_wr_free(&ad);
		if (r != 0) {
			sodium_memzero(&c, sizeof c);
			return pl_err_set(e, PL_EXIT_ERROR,
					  "could not encrypt a contact's token (out of memory)");
		}
	}
	sodium_memzero(&c, sizeof c);
	if (pl_vault_tx_start(v, &own, e) != 0) {
		pl_wr_free(&token);
		return -1;
	}
	/* The children move after the contact: checked at commit. */
	if (rename_sql(v, "PRAGMA defer_foreign_keys = ON", NULL, NULL, NULL, e) != 0 ||
	    rename_sql(v, "UPDATE contacts SET name = ?2, token = ?3 WHERE name = ?1", from, to,
		       &token, e) != 0 ||
	    pl_vault_items_rename(v, from, to, e) != 0 ||
	    rename_sql(v, "UPDATE outbox SET contact = ?2 WHERE contact = ?1", from, to, NULL, e) !=
		0 ||
	    rename_sql(v, "UPDATE links SET contact = ?2 WHERE contact = ?1", from, to, NULL, e) !=
		0)
		goto out;
	ok = 1;
out:
	pl_wr_free(&token);
	return pl_vault_tx_end(v, own, ok, e);
}
