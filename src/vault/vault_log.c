/*
 * vault_log.c — what this party has seen of the relay's transparency log:
 * the signed checkpoints it verified, evidence of a forking or rewriting
 * relay (pairs of signed notes that cannot both be true), and which
 * receipts were proved included. All of it is public material signed by the
 * relay, so nothing here is sealed; it must never be deleted by the client.
 */
#include "vault/vault_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

int pl_vault_checkpoint_put(pl_vault *v, uint64_t size, const uint8_t *note, size_t n, pl_err *e)
{
	sqlite3_stmt *st;
	if (n == 0 || n > PL_LOG_NOTE_MAX || size > INT64_MAX)
		return pl_err_set(e, PL_EXIT_INPUT, "a checkpoint of %zu bytes cannot be stored",
				  n);
	if (pl_vault_prep(v, &st,
			  "INSERT OR IGNORE INTO checkpoints(size, note, at) VALUES (?1, ?2, ?3)",
			  e) != 0)
		return -1;
	sqlite3_bind_int64(st, 1, (int64_t)size);
	sqlite3_bind_blob(st, 2, note, (int)n, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)time(NULL));
	int rc = pl_vault_exec(v, st, "store a checkpoint", e);
	sqlite3_finalize(st);
	return rc;
}

int pl_vault_checkpoint_latest(pl_vault *v, uint64_t *size, uint8_t **note, size_t *n, pl_err *e)
{
	sqlite3_stmt *st;
	*note = NULL;
	*n = 0;
	if (pl_vault_prep(v, &st, "SELECT size, note FROM checkpoints ORDER BY size DESC LIMIT 1",
			  e) != 0)
		return -1;
	int rc = sqlite3_step(st), r;
	if (rc == SQLITE_ROW) {
		int len = sqlite3_column_bytes(st, 1);
		if (sqlite3_column_type(st, 0) != SQLITE_INTEGER ||
		    sqlite3_column_type(st, 1) != SQLITE_BLOB || len <= 0 ||
		    len > PL_LOG_NOTE_MAX) {
			r = pl_vault_damaged(v, "a stored checkpoint is malformed", e);
		} else if ((*note = malloc((size_t)len)) == NULL) {
			r = pl_err_set(e, PL_EXIT_ERROR, "out of memory");
		} else {
			memcpy(*note, sqlite3_column_blob(st, 1), (size_t)len);
			*n = (size_t)len;
			*size = (uint64_t)sqlite3_column_int64(st, 0);
			r = 0;
		}
	} else if (rc == SQLITE_DONE) {
		r = pl_err_set(e, PL_EXIT_NOTFOUND, "no checkpoint of the relay's log seen yet");
	} else {
		r = pl_vault_dberr(v, rc, "read a checkpoint", e);
	}
	sqlite3_finalize(st);
	return r;
}

int pl_vault_evidence_add(pl_vault *v, const char *reason, const uint8_t *a, size_t alen,
			  const uint8_t *b, size_t blen, pl_err *e)
{
	sqlite3_stmt *st;
	if (alen > PL_LOG_NOTE_MAX * 64 || blen > PL_LOG_NOTE_MAX * 64)
		return pl_err_set(e, PL_EXIT_INPUT, "evidence too large to keep");
	/* Evidence is always against the relay this vault uses (the pinned
	 * key), and says so: after a move, the old relay stays caught. */
	if (pl_vault_prep(v, &st,
			  "INSERT INTO evidence(reason, note_a, note_b, at, relay_key)"
			  " VALUES (?1, ?2, ?3, ?4, ?5)",
			  e) != 0)
		return -1;
	sqlite3_bind_text(st, 1, reason, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, a, (int)alen, SQLITE_STATIC);
	sqlite3_bind_blob(st, 3, b, (int)blen, SQLITE_STATIC);
	sqlite3_bind_int64(st, 4, (int64_t)time(NULL));
	if (v->has_relay_key)
		sqlite3_bind_blob(st, 5, v->relay_key, 32, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 5);
	int rc = pl_vault_exec(v, st, "keep evidence", e);
	sqlite3_finalize(st);
	return rc;
}

void pl_vault_evidence_free(pl_evidence *ev, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(ev[i].a);
		free(ev[i].b);
	}
	free(ev);
}

static uint8_t *dup_blob(sqlite3_stmt *st, int i, size_t *n)
{
	int len = sqlite3_column_bytes(st, i);
	uint8_t *p = malloc(len > 0 ? (size_t)len : 1);
	if (p && len > 0)
		memcpy(p, sqlite3_column_blob(st, i), (size_t)len);
	*n = len > 0 ? (size_t)len : 0;
	return p;
}

int pl_vault_evidence_list(pl_vault *v, pl_evidence **out, size_t *n, pl_err *e)
{
	sqlite3_stmt *st;
	pl_evidence *arr = NULL;
	size_t cap = 0, cnt = 0;
	int rc, r = 0;
	*out = NULL;
	*n = 0;
	if (pl_vault_prep(
		v, &st, "SELECT n, reason, note_a, note_b, at, relay_key FROM evidence ORDER BY n",
		e) != 0)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (pl_vault_grow((void **)&arr, &cap, cnt, sizeof *arr) != 0) {
			r = pl_err_set(e, PL_EXIT_ERROR, "out of memory");
			break;
		}
		pl_evidence *ev = &arr[cnt];
		memset(ev, 0, sizeof *ev);
		ev->n = sqlite3_column_int64(st, 0);
		const unsigned char *reason = sqlite3_column_text(st, 1);
		snprintf(ev->reason, sizeof ev->reason, "%s", reason ? (const char *)reason : "");
		ev->a = dup_blob(st, 2, &ev->alen);
		ev->b = dup_blob(st, 3, &ev->blen);
		ev->at = (uint64_t)sqlite3_column_int64(st, 4);
		if (sqlite3_column_bytes(st, 5) == 32) {
			memcpy(ev->relay_key, sqlite3_column_blob(st, 5), 32);
			ev->has_relay_key = 1;
		}
		cnt++;
		if (ev->a == NULL || ev->b == NULL) {
			r = pl_err_set(e, PL_EXIT_ERROR, "out of memory");
			break;
		}
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = pl_vault_dberr(v, rc, "read the evidence", e);
	sqlite3_finalize(st);
	if (r != 0) {
		pl_vault_evidence_free(arr, cnt);
		return -1;
	}
	*out = arr;
	*n = cnt;
	return 0;
}

int pl_vault_receipt_checked(pl_vault *v, int64_t item_seq, uint64_t leaf, uint64_t size, pl_err *e)
{
	sqlite3_stmt *st;
	if (pl_vault_prep(v, &st,
			  "INSERT OR REPLACE INTO receipt_checks(item_seq, leaf, size) VALUES (?1, "
			  "?2, ?3)",
			  e) != 0)
		return -1;
	sqlite3_bind_int64(st, 1, item_seq);
	sqlite3_bind_int64(st, 2, (int64_t)leaf);
	sqlite3_bind_int64(st, 3, (int64_t)size);
	int rc = pl_vault_exec(v, st, "record a receipt check", e);
	sqlite3_finalize(st);
	return rc;
}

int pl_vault_receipt_is_checked(pl_vault *v, int64_t item_seq)
{
	sqlite3_stmt *st;
	if (pl_vault_prep(v, &st, "SELECT 1 FROM receipt_checks WHERE item_seq = ?1", NULL) != 0)
		return -1;
	sqlite3_bind_int64(st, 1, item_seq);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int pl_vault_pending_has(pl_vault *v, const uint8_t hash[static 32])
{
	sqlite3_stmt *st;
	if (pl_vault_prep(v, &st, "SELECT 1 FROM pending WHERE hash = ?1", NULL) != 0)
		return -1;
	sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int pl_vault_relay_caught(pl_vault *v, const uint8_t key[static 32])
{
	sqlite3_stmt *st;
	if (pl_vault_prep(v, &st, "SELECT 1 FROM evidence WHERE relay_key = ?1 LIMIT 1", NULL) != 0)
		return -1;
	sqlite3_bind_blob(st, 1, key, 32, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}
