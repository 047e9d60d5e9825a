/*
 * vault_sessions.c — ratchet sessions in the vault: the last few sessions
 * kept per contact identity key, newest use first.
 *
 * A session's ratchet state is a secret: it is sealed with AD binding it to
 * its row ("session" ‖ ik ‖ ek), so a blob copied to another row does not
 * open. Every row read back is decoded strictly (types, sizes, ranges): a
 * damaged vault yields an error naming the problem, never a crash or a
 * half-filled record. This file must never write a state unsealed, and
 * never build SQL from data.
 */
#include "vault/vault_int.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define SESSIONS_KEPT 3

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
	    pl_vault_col_flag(st, 2, &s->initiator) || pl_vault_col_flag(st, 3, &s->replied) ||
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
