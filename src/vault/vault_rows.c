/*
 * vault_rows.c — contacts and ratchet sessions in the vault.
 *
 * A contact's mailbox token and a session's ratchet state are secrets: they
 * are sealed with AD binding them to their row ("contact token" ‖ name ‖ ik,
 * "session" ‖ ik ‖ ek), so a blob copied to another row does not open.
 * Every row read back is decoded strictly (types, sizes, ranges): a damaged
 * vault yields an error naming the problem, never a crash or a half-filled
 * record. This file must never write a token or state unsealed, and never
 * build SQL from data.
 */
#include "vault/vault_int.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/codec.h"

#define SESSIONS_KEPT 3

int pl_vault_name_check(const char *name, pl_err *e)
{
	if (name == NULL || pl_vault_name_ok((const uint8_t *)name, strlen(name)) != 0)
		return pl_err_set(e, PL_EXIT_USAGE,
				  "a name must be 1 to %d bytes of UTF-8 without control "
				  "characters, direction overrides or '/'; choose another name",
				  PL_NAME_MAX);
	return 0;
}

/* --- contacts ---------------------------------------------------------------- */

#define CONTACT_COLS "name, ik, verified, key_changed, grant_published, token, added"

static void token_ad(pl_wr *ad, const char *name, const uint8_t ik[static PL_IK_LEN])
{
	pl_vault_ad(ad, "contact token");
	pl_wr_var(ad, (const uint8_t *)name, strlen(name));
	pl_wr_bytes(ad, ik, PL_IK_LEN);
}

static int col_flag(sqlite3_stmt *st, int i, int *out)
{
	if (sqlite3_column_type(st, i) != SQLITE_INTEGER)
		return -1;
	int64_t x = sqlite3_column_int64(st, i);
	if (x != 0 && x != 1)
		return -1;
	*out = (int)x;
	return 0;
}

static int contact_row(pl_vault *v, sqlite3_stmt *st, pl_contact *c, pl_err *e)
{
	pl_contact t;

	memset(&t, 0, sizeof t);
	if (pl_vault_col_name(st, 0, t.name, sizeof t.name) != 0 ||
	    pl_vault_col_fixed(st, 1, t.ik, sizeof t.ik) != 0 || col_flag(st, 2, &t.verified) ||
	    col_flag(st, 3, &t.key_changed) || col_flag(st, 4, &t.grant_published) ||
	    sqlite3_column_type(st, 6) != SQLITE_INTEGER)
		return pl_vault_damaged(v, "a contact record is malformed", e);
	t.added = (uint64_t)sqlite3_column_int64(st, 6);
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
	if (pl_vault_prep(v, &st, "SELECT " CONTACT_COLS " FROM contacts WHERE name = ?1", e) != 0)
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

	if (pl_vault_prep(v, &st, "SELECT " CONTACT_COLS " FROM contacts WHERE ik = ?1", e) != 0)
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
	if (pl_vault_prep(v, &st, "SELECT " CONTACT_COLS " FROM contacts ORDER BY name", e) != 0)
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

/* --- sessions ---------------------------------------------------------------- */

static void session_ad(pl_wr *ad, const uint8_t ik[static PL_IK_LEN], const uint8_t ek[static 32])
{
	pl_vault_ad(ad, "session");
	pl_wr_bytes(ad, ik, PL_IK_LEN);
	pl_wr_bytes(ad, ek, 32);
}

static int col_u32(sqlite3_stmt *st, int i, uint32_t *out)
{
	if (sqlite3_column_type(st, i) != SQLITE_INTEGER)
		return -1;
	int64_t x = sqlite3_column_int64(st, i);
	if (x < 0 || x > UINT32_MAX)
		return -1;
	*out = (uint32_t)x;
	return 0;
}

/* Row: id, ad, initiator, replied, ek, spk_id, opk_id, used, state. */
static int session_row(pl_vault *v, sqlite3_stmt *st, const uint8_t ik[static PL_IK_LEN],
		       pl_session_rec *s, pl_err *e)
{
	memset(s, 0, sizeof *s);
	pl_wr_init(&s->state);
	memcpy(s->ik, ik, PL_IK_LEN);
	s->rowid = sqlite3_column_int64(st, 0);
	if (s->rowid < 1 || pl_vault_col_fixed(st, 1, s->ad, sizeof s->ad) != 0 ||
	    col_flag(st, 2, &s->initiator) || col_flag(st, 3, &s->replied) ||
	    pl_vault_col_fixed(st, 4, s->ek, sizeof s->ek) != 0 || col_u32(st, 5, &s->spk_id) ||
	    col_u32(st, 6, &s->opk_id) || sqlite3_column_type(st, 7) != SQLITE_INTEGER ||
	    sqlite3_column_type(st, 8) != SQLITE_BLOB)
		return pl_vault_damaged(v, "a session record is malformed", e);
	s->used = (uint64_t)sqlite3_column_int64(st, 7);
	pl_wr ad;
	session_ad(&ad, ik, s->ek);
	int r = pl_vault_unseal(&s->state, v->kek, &ad, sqlite3_column_blob(st, 8),
				(size_t)sqlite3_column_bytes(st, 8), PL_VAULT_BLOB_MAX);
	pl_wr_free(&ad);
	if (r != 0)
		return pl_vault_damaged(v, "a session's ratchet state does not open", e);
	return 0;
}

int pl_vault_sessions_load(pl_vault *v, const uint8_t ik[static PL_IK_LEN], pl_session_rec **out,
			   size_t *n, pl_err *e)
{
	sqlite3_stmt *st;
	pl_session_rec *arr = NULL;
	size_t cap = 0, cnt = 0;
	int rc, r = 0;

	*out = NULL;
	*n = 0;
	if (pl_vault_prep(v, &st,
			  "SELECT id, ad, initiator, replied, ek, spk_id, opk_id, used, state"
			  " FROM sessions WHERE ik = ?1 ORDER BY used DESC, id DESC",
			  e) != 0)
		return -1;
	sqlite3_bind_blob(st, 1, ik, PL_IK_LEN, SQLITE_STATIC);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (pl_vault_grow((void **)&arr, &cap, cnt, sizeof *arr) != 0) {
			r = pl_err_set(e, PL_EXIT_ERROR, "out of memory loading sessions");
			break;
		}
		if ((r = session_row(v, st, ik, &arr[cnt], e)) != 0)
			break;
		cnt++;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = pl_vault_dberr(v, rc, "load the sessions", e);
	sqlite3_finalize(st);
	if (r != 0) {
		pl_vault_sessions_free(arr, cnt);
		return -1;
	}
	*out = arr;
	*n = cnt;
	return 0;
}

void pl_vault_sessions_free(pl_session_rec *s, size_t n)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		pl_wr_free(&s[i].state);
	sodium_memzero(s, n * sizeof *s);
	free(s);
}

int pl_vault_session_save(pl_vault *v, pl_session_rec *s, pl_err *e)
{
	pl_wr ad, blob;
	sqlite3_stmt *st = NULL;
	int own, ok = 0;
	int64_t rowid = s->rowid;

	if (pl_wr_ok(&s->state) != 0 || s->state.n > PL_VAULT_BLOB_MAX || rowid < 0)
		return pl_err_set(e, PL_EXIT_ERROR,
				  "internal error: a session to save is invalid or too large");
	session_ad(&ad, s->ik, s->ek);
	int r = pl_vault_seal(&blob, v->kek, &ad, s->state.p, s->state.n);
	pl_wr_free(&ad);
	if (r != 0)
		return pl_err_set(e, PL_EXIT_ERROR, "could not encrypt a session (out of memory)");
	if (pl_vault_tx_start(v, &own, e) != 0) {
		pl_wr_free(&blob);
		return -1;
	}
	if (pl_vault_prep(v, &st,
			  rowid == 0
			      ? "INSERT INTO sessions(ik, ad, initiator, replied, ek, spk_id,"
				" opk_id, used, state)"
				" VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)"
			      : "UPDATE sessions SET ad = ?2, initiator = ?3, replied = ?4,"
				" ek = ?5, spk_id = ?6, opk_id = ?7, used = ?8, state = ?9"
				" WHERE id = ?10 AND ik = ?1",
			  e) != 0)
		goto end;
	sqlite3_bind_blob(st, 1, s->ik, PL_IK_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, s->ad, sizeof s->ad, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, s->initiator != 0);
	sqlite3_bind_int(st, 4, s->replied != 0);
	sqlite3_bind_blob(st, 5, s->ek, sizeof s->ek, SQLITE_STATIC);
	sqlite3_bind_int64(st, 6, s->spk_id);
	sqlite3_bind_int64(st, 7, s->opk_id);
	sqlite3_bind_int64(st, 8, (int64_t)s->used);
	sqlite3_bind_blob(st, 9, blob.p, (int)blob.n, SQLITE_STATIC);
	if (rowid != 0)
		sqlite3_bind_int64(st, 10, rowid);
	if (pl_vault_exec(v, st, "save a session", e) != 0)
		goto end;
	if (rowid == 0) {
		rowid = sqlite3_last_insert_rowid(v->db);
	} else if (sqlite3_changes(v->db) != 1) {
		pl_err_set(e, PL_EXIT_NOTFOUND,
			   "the session to update is no longer in the vault; start a new one");
		goto end;
	}
	sqlite3_finalize(st);
	/* Keep the one just saved and the most recently used others. */
	if (pl_vault_prep(v, &st,
			  "DELETE FROM sessions WHERE ik = ?1 AND id <> ?2 AND id NOT IN"
			  " (SELECT id FROM sessions WHERE ik = ?1 AND id <> ?2"
			  " ORDER BY used DESC, id DESC LIMIT ?3)",
			  e) != 0)
		goto end;
	sqlite3_bind_blob(st, 1, s->ik, PL_IK_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, rowid);
	sqlite3_bind_int(st, 3, SESSIONS_KEPT - 1);
	if (pl_vault_exec(v, st, "drop old sessions", e) != 0)
		goto end;
	ok = 1;
end:
	sqlite3_finalize(st);
	pl_wr_free(&blob);
	if (pl_vault_tx_end(v, own, ok, e) != 0)
		return -1;
	s->rowid = rowid;
	return 0;
}
