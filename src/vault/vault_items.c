/*
 * vault_items.c — the transcript (items), the outbox, the set of envelopes
 * already processed and the envelopes kept for a later retry.
 *
 * An item's body is sealed with AD "item" ‖ contact ‖ id ‖ dir, the identity
 * of the row, so bodies cannot be swapped between items; its state and relay
 * receipt are public. Envelopes (outbox, pending) are already sealed to
 * their recipient and are stored as they are. Duplicate deliveries are
 * detected by the (contact, id, dir) key and written nowhere. This file must
 * never store a body unsealed and never build SQL from data.
 */
#include "vault/vault_int.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envelope/envelope.h"
#include "util/codec.h"

/* --- items ------------------------------------------------------------------- */

#define ITEM_COLS "seq, contact, id, dir, kind, time, state, body, receipt"

static void item_ad(pl_wr *ad, const char *contact, const uint8_t id[static 8], int dir)
{
	pl_vault_ad(ad, "item");
	pl_wr_var(ad, (const uint8_t *)contact, strlen(contact));
	pl_wr_bytes(ad, id, 8);
	pl_wr_u8(ad, (uint8_t)dir);
}

static int state_check(const char *state, pl_err *e)
{
	if (state == NULL ||
	    pl_vault_word_ok((const uint8_t *)state, strlen(state), PL_VAULT_STATE_MAX) != 0)
		return pl_err_set(e, PL_EXIT_ERROR,
				  "internal error: an item state must be 1 to %d of [a-z0-9_.-]",
				  PL_VAULT_STATE_MAX);
	return 0;
}

static void item_init(pl_item *it)
{
	memset(it, 0, sizeof *it);
	pl_wr_init(&it->body);
	pl_wr_init(&it->receipt);
}

static int item_row(pl_vault *v, sqlite3_stmt *st, pl_item *it, pl_err *e)
{
	item_init(it);
	it->seq = sqlite3_column_int64(st, 0);
	int64_t dir = sqlite3_column_int64(st, 3), kind = sqlite3_column_int64(st, 4);
	int rtype = sqlite3_column_type(st, 8);
	size_t rlen = (size_t)sqlite3_column_bytes(st, 8);
	if (it->seq < 1 || pl_vault_col_name(st, 1, it->contact, sizeof it->contact) != 0 ||
	    pl_vault_col_fixed(st, 2, it->id, sizeof it->id) != 0 ||
	    sqlite3_column_type(st, 3) != SQLITE_INTEGER ||
	    (dir != PL_DIR_OUT && dir != PL_DIR_IN) ||
	    sqlite3_column_type(st, 4) != SQLITE_INTEGER || kind < 0 || kind > INT32_MAX ||
	    sqlite3_column_type(st, 5) != SQLITE_INTEGER ||
	    pl_vault_col_word(st, 6, it->state, sizeof it->state) != 0 ||
	    sqlite3_column_type(st, 7) != SQLITE_BLOB ||
	    (rtype != SQLITE_NULL && rtype != SQLITE_BLOB) || rlen > PL_VAULT_RECEIPT_MAX)
		return pl_vault_damaged(v, "an item record is malformed", e);
	it->dir = (int)dir;
	it->kind = (int)kind;
	it->time = (uint64_t)sqlite3_column_int64(st, 5);
	if (rtype == SQLITE_BLOB) {
		pl_wr_bytes(&it->receipt, sqlite3_column_blob(st, 8), rlen);
		if (pl_wr_ok(&it->receipt) != 0) {
			pl_vault_item_free(it);
			return pl_err_set(e, PL_EXIT_ERROR, "out of memory reading an item");
		}
		it->has_receipt = 1;
	}
	pl_wr ad;
	item_ad(&ad, it->contact, it->id, it->dir);
	int r = pl_vault_unseal(&it->body, v->kek, &ad, sqlite3_column_blob(st, 7),
				(size_t)sqlite3_column_bytes(st, 7), PL_VAULT_BLOB_MAX);
	pl_wr_free(&ad);
	if (r != 0) {
		char what[96];
		snprintf(what, sizeof what, "the body of item %lld does not open",
			 (long long)it->seq);
		pl_vault_item_free(it);
		return pl_vault_damaged(v, what, e);
	}
	return 0;
}

int pl_vault_item_id_taken(pl_vault *v, const uint8_t id[static 8], const char *contact, int dir,
			   pl_err *e)
{
	sqlite3_stmt *st;
	if (pl_vault_prep(
		v, &st,
		"SELECT 1 FROM items WHERE id = ?1 AND (contact != ?2 OR dir != ?3) LIMIT 1",
		e) != 0)
		return -1;
	sqlite3_bind_blob(st, 1, id, 8, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, contact, -1, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, dir);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_ROW)
		return 1;
	if (rc == SQLITE_DONE)
		return 0;
	return pl_vault_dberr(v, rc, "look up an item id", e);
}

int pl_vault_item_add(pl_vault *v, pl_item *it, pl_err *e)
{
	pl_wr ad, blob;
	sqlite3_stmt *st;

	if (strnlen(it->contact, sizeof it->contact) == sizeof it->contact)
		return pl_vault_name_check(NULL, e);
	if (pl_vault_name_check(it->contact, e) != 0 || state_check(it->state, e) != 0)
		return -1;
	if ((it->dir != PL_DIR_OUT && it->dir != PL_DIR_IN) || it->kind < 0 ||
	    pl_wr_ok(&it->body) != 0 || it->body.n > PL_VAULT_BLOB_MAX ||
	    (it->has_receipt &&
	     (pl_wr_ok(&it->receipt) != 0 || it->receipt.n > PL_VAULT_RECEIPT_MAX)))
		return pl_err_set(e, PL_EXIT_ERROR,
				  "internal error: an item to store is invalid or too large");
	item_ad(&ad, it->contact, it->id, it->dir);
	int r = pl_vault_seal(&blob, v->kek, &ad, it->body.p, it->body.n);
	pl_wr_free(&ad);
	if (r != 0)
		return pl_err_set(e, PL_EXIT_ERROR, "could not encrypt an item (out of memory)");
	if (pl_vault_prep(v, &st,
			  "INSERT INTO items(contact, id, dir, kind, time, state, body, receipt)"
			  " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
			  " ON CONFLICT(contact, id, dir) DO NOTHING",
			  e) != 0) {
		pl_wr_free(&blob);
		return -1;
	}
	sqlite3_bind_text(st, 1, it->contact, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, it->id, sizeof it->id, SQLITE_STATIC);
	sqlite3_bind_int(st, 3, it->dir);
	sqlite3_bind_int(st, 4, it->kind);
	sqlite3_bind_int64(st, 5, (int64_t)it->time);
	sqlite3_bind_text(st, 6, it->state, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 7, blob.p, (int)blob.n, SQLITE_STATIC);
	if (it->has_receipt)
		sqlite3_bind_blob(st, 8, it->receipt.n ? (const void *)it->receipt.p : "",
				  (int)it->receipt.n, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 8);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	pl_wr_free(&blob);
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		return pl_err_set(e, PL_EXIT_NOTFOUND,
				  "no contact named \"%s\"; add the contact before its messages",
				  it->contact);
	if (rc != SQLITE_DONE)
		return pl_vault_dberr(v, rc, "save an item", e);
	if (sqlite3_changes(v->db) == 0)
		return 1; /* duplicate delivery: nothing written */
	it->seq = sqlite3_last_insert_rowid(v->db);
	return 0;
}

int pl_vault_item_set_state(pl_vault *v, int64_t seq, const char *state, const uint8_t *receipt,
			    size_t receiptlen, pl_err *e)
{
	sqlite3_stmt *st;

	if (state_check(state, e) != 0)
		return -1;
	if (receipt != NULL && receiptlen > PL_VAULT_RECEIPT_MAX)
		return pl_err_set(e, PL_EXIT_INPUT, "a relay receipt of %zu bytes is too large",
				  receiptlen);
	/* A NULL receipt keeps the one stored. */
	if (pl_vault_prep(v, &st,
			  "UPDATE items SET state = ?1, receipt = COALESCE(?2, receipt)"
			  " WHERE seq = ?3",
			  e) != 0)
		return -1;
	sqlite3_bind_text(st, 1, state, -1, SQLITE_STATIC);
	if (receipt != NULL)
		sqlite3_bind_blob(st, 2, receiptlen ? (const void *)receipt : "", (int)receiptlen,
				  SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 2);
	sqlite3_bind_int64(st, 3, seq);
	int r = pl_vault_exec(v, st, "update an item", e);
	sqlite3_finalize(st);
	if (r == 0 && sqlite3_changes(v->db) == 0)
		return pl_err_set(e, PL_EXIT_NOTFOUND, "no item %lld in the vault", (long long)seq);
	return r;
}

int pl_vault_item_list(pl_vault *v, const char *contact, pl_item **out, size_t *n, pl_err *e)
{
	sqlite3_stmt *st;
	pl_item *arr = NULL;
	size_t cap = 0, cnt = 0;
	int rc, r = 0;

	*out = NULL;
	*n = 0;
	if (contact != NULL && pl_vault_name_check(contact, e) != 0)
		return -1;
	/* A NULL contact lists the whole transcript. */
	if (pl_vault_prep(v, &st,
			  "SELECT " ITEM_COLS " FROM items WHERE ?1 IS NULL OR contact = ?1"
			  " ORDER BY seq",
			  e) != 0)
		return -1;
	if (contact)
		sqlite3_bind_text(st, 1, contact, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (pl_vault_grow((void **)&arr, &cap, cnt, sizeof *arr) != 0) {
			r = pl_err_set(e, PL_EXIT_ERROR, "out of memory listing items");
			break;
		}
		if ((r = item_row(v, st, &arr[cnt], e)) != 0)
			break;
		cnt++;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = pl_vault_dberr(v, rc, "list the items", e);
	sqlite3_finalize(st);
	if (r != 0) {
		pl_vault_items_free(arr, cnt);
		return -1;
	}
	*out = arr;
	*n = cnt;
	return 0;
}

int pl_vault_item_get(pl_vault *v, int64_t seq, pl_item *it, pl_err *e)
{
	sqlite3_stmt *st;

	item_init(it);
	if (pl_vault_prep(v, &st, "SELECT " ITEM_COLS " FROM items WHERE seq = ?1", e) != 0)
		return -1;
	sqlite3_bind_int64(st, 1, seq);
	int rc = sqlite3_step(st), r;
	if (rc == SQLITE_ROW)
		r = item_row(v, st, it, e);
	else if (rc == SQLITE_DONE)
		r = pl_err_set(e, PL_EXIT_NOTFOUND, "no item %lld in the vault", (long long)seq);
	else
		r = pl_vault_dberr(v, rc, "read an item", e);
	sqlite3_finalize(st);
	return r;
}

void pl_vault_item_free(pl_item *it)
{
	if (it == NULL)
		return;
	pl_wr_free(&it->body);
	pl_wr_free(&it->receipt);
	it->has_receipt = 0;
}

void pl_vault_items_free(pl_item *it, size_t n)
{
	if (it == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		pl_vault_item_free(&it[i]);
	sodium_memzero(it, n * sizeof *it);
	free(it);
}

/* --- retention: purging notes ------------------------------------------------- */

int pl_vault_purge_notes(pl_vault *v, uint64_t before, uint64_t *count, pl_err *e)
{
	sqlite3_stmt *st;

	*count = 0;
	if (before > INT64_MAX)
		return pl_err_set(e, PL_EXIT_ERROR, "internal error: a purge date is invalid");
	/* VACUUM cannot run inside a transaction, and the purge must be
	 * committed before its bytes can be scrubbed. */
	if (!sqlite3_get_autocommit(v->db))
		return pl_err_set(e, PL_EXIT_ERROR,
				  "internal error: a purge cannot run inside another change");
	/* Already set when the vault was opened; set again so that the purge
	 * never depends on it: a deleted row's bytes are overwritten in its
	 * page, not only unlinked. */
	if (sqlite3_exec(v->db, "PRAGMA secure_delete = ON", NULL, NULL, NULL) != SQLITE_OK)
		return pl_vault_dberr(v, sqlite3_errcode(v->db), "configure the database", e);
	if (pl_vault_begin(v, e) != 0)
		return -1;
	/* A note still in the outbox (or never deposited) is kept: deleting it
	 * would drop a message the user believes is on its way. Its receipt
	 * checks go with it (ON DELETE CASCADE). */
	if (pl_vault_prep(v, &st,
			  "DELETE FROM items WHERE kind = ?1 AND time < ?2 AND state != 'queued'"
			  " AND seq NOT IN (SELECT item_seq FROM outbox)",
			  e) != 0) {
		pl_vault_rollback(v);
		return -1;
	}
	sqlite3_bind_int(st, 1, PL_KIND_NOTE);
	sqlite3_bind_int64(st, 2, (int64_t)before);
	int r = pl_vault_exec(v, st, "delete notes", e);
	sqlite3_finalize(st);
	uint64_t n = r == 0 ? (uint64_t)sqlite3_changes(v->db) : 0;
	/* The cutoff is kept so that a thread can say notes before it were
	 * purged rather than look as if none had been written. */
	if (r == 0 && pl_vault_get_u64(v, "notes_purged_before", 0) < before)
		r = pl_vault_set_u64(v, "notes_purged_before", before, e);
	if (r == 0)
		r = pl_vault_set_u64(v, "notes_purged", pl_vault_get_u64(v, "notes_purged", 0) + n,
				     e);
	if (r != 0) {
		pl_vault_rollback(v);
		return -1;
	}
	if (pl_vault_commit(v, e) != 0)
		return -1;
	*count = n;
	/* Freed pages stay in the image until VACUUM rebuilds it (the sealed
	 * file it replaces is then overwritten), or the sealed bodies stay
	 * readable to whoever gets the vault and its passphrase. */
	if (sqlite3_exec(v->db, "VACUUM", NULL, NULL, NULL) != SQLITE_OK)
		return pl_err_set(e, PL_EXIT_VAULT,
				  "the notes were deleted but the vault could not be rebuilt (%s), "
				  "so their encrypted bytes may remain in its file; run parley "
				  "purge again",
				  v->save_err[0] ? v->save_err : sqlite3_errmsg(v->db));
	return 0;
}

/* --- outbox ------------------------------------------------------------------ */

int pl_vault_outbox_add(pl_vault *v, int64_t item_seq, const char *contact, pl_err *e)
{
	return pl_vault_outbox_add_at(v, item_seq, contact, 0, e);
}

int pl_vault_outbox_add_at(pl_vault *v, int64_t item_seq, const char *contact, uint64_t not_before,
			   pl_err *e)
{
	sqlite3_stmt *st;

	if (pl_vault_name_check(contact, e) != 0)
		return -1;
	if (not_before > INT64_MAX)
		return pl_err_set(e, PL_EXIT_ERROR, "internal error: a delivery time is invalid");
	/* Adding an item already queued is not an error: it stays queued once. */
	if (pl_vault_prep(v, &st,
			  "INSERT INTO outbox(item_seq, contact, not_before) VALUES(?1, ?2, ?3)"
			  " ON CONFLICT(item_seq) DO NOTHING",
			  e) != 0)
		return -1;
	sqlite3_bind_int64(st, 1, item_seq);
	sqlite3_bind_text(st, 2, contact, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)not_before);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc == SQLITE_CONSTRAINT_FOREIGNKEY)
		return pl_err_set(e, PL_EXIT_NOTFOUND,
				  "cannot queue item %lld for \"%s\": no such item or contact",
				  (long long)item_seq, contact);
	if (rc != SQLITE_DONE)
		return pl_vault_dberr(v, rc, "queue an item", e);
	return 0;
}

int pl_vault_outbox_list(pl_vault *v, pl_outbox **out, size_t *n, pl_err *e)
{
	sqlite3_stmt *st;
	pl_outbox *arr = NULL;
	size_t cap = 0, cnt = 0;
	int rc, r = 0;

	*out = NULL;
	*n = 0;
	if (pl_vault_prep(v, &st,
			  "SELECT o.item_seq, o.contact, o.envelope, o.not_before, i.kind"
			  " FROM outbox o JOIN items i ON i.seq = o.item_seq ORDER BY o.n",
			  e) != 0)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (pl_vault_grow((void **)&arr, &cap, cnt, sizeof *arr) != 0) {
			r = pl_err_set(e, PL_EXIT_ERROR, "out of memory listing the outbox");
			break;
		}
		pl_outbox *o = &arr[cnt];
		pl_wr_init(&o->envelope);
		o->item_seq = sqlite3_column_int64(st, 0);
		int t = sqlite3_column_type(st, 2);
		size_t len = (size_t)sqlite3_column_bytes(st, 2);
		int64_t nb = sqlite3_column_int64(st, 3), kind = sqlite3_column_int64(st, 4);
		o->not_before = (uint64_t)nb;
		o->kind = (int)kind;
		if (o->item_seq < 1 ||
		    pl_vault_col_name(st, 1, o->contact, sizeof o->contact) != 0 ||
		    (t != SQLITE_NULL && t != SQLITE_BLOB) || len > PL_VAULT_ENVELOPE_MAX ||
		    sqlite3_column_type(st, 3) != SQLITE_INTEGER || nb < 0 || kind < 0 ||
		    kind > 255) {
			r = pl_vault_damaged(v, "an outbox record is malformed", e);
			break;
		}
		if (t == SQLITE_BLOB)
			pl_wr_bytes(&o->envelope, sqlite3_column_blob(st, 2), len);
		if (pl_wr_ok(&o->envelope) != 0) {
			pl_wr_free(&o->envelope);
			r = pl_err_set(e, PL_EXIT_ERROR, "out of memory listing the outbox");
			break;
		}
		cnt++;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = pl_vault_dberr(v, rc, "list the outbox", e);
	sqlite3_finalize(st);
	if (r != 0) {
		pl_vault_outbox_free(arr, cnt);
		return -1;
	}
	*out = arr;
	*n = cnt;
	return 0;
}

int pl_vault_outbox_set_envelope(pl_vault *v, int64_t item_seq, const uint8_t *env, size_t n,
				 pl_err *e)
{
	sqlite3_stmt *st;

	if ((env == NULL && n != 0) || n > PL_VAULT_ENVELOPE_MAX)
		return pl_err_set(e, PL_EXIT_ERROR,
				  "internal error: an envelope to queue is invalid or too large");
	if (pl_vault_prep(v, &st, "UPDATE outbox SET envelope = ?1 WHERE item_seq = ?2", e) != 0)
		return -1;
	if (n)
		sqlite3_bind_blob(st, 1, env, (int)n, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 1);
	sqlite3_bind_int64(st, 2, item_seq);
	int r = pl_vault_exec(v, st, "save an envelope", e);
	sqlite3_finalize(st);
	if (r == 0 && sqlite3_changes(v->db) == 0)
		return pl_err_set(e, PL_EXIT_NOTFOUND, "item %lld is not in the outbox",
				  (long long)item_seq);
	return r;
}

int pl_vault_outbox_remove(pl_vault *v, int64_t item_seq, pl_err *e)
{
	sqlite3_stmt *st;
	if (pl_vault_prep(v, &st, "DELETE FROM outbox WHERE item_seq = ?1", e) != 0)
		return -1;
	sqlite3_bind_int64(st, 1, item_seq);
	int r = pl_vault_exec(v, st, "remove an item from the outbox", e);
	sqlite3_finalize(st);
	return r;
}

void pl_vault_outbox_free(pl_outbox *o, size_t n)
{
	if (o == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		pl_wr_free(&o[i].envelope);
	free(o);
}

/* --- seen and pending envelopes ------------------------------------------------ */

int pl_vault_seen(pl_vault *v, const uint8_t hash[static 32])
{
	sqlite3_stmt *st;
	if (pl_vault_prep(v, &st, "SELECT 1 FROM seen WHERE hash = ?1", NULL) != 0)
		return -1;
	sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

int pl_vault_mark_seen(pl_vault *v, const uint8_t hash[static 32], pl_err *e)
{
	sqlite3_stmt *st;
	if (pl_vault_prep(v, &st,
			  "INSERT INTO seen(hash, at) VALUES(?1, ?2) ON CONFLICT(hash) DO NOTHING",
			  e) != 0)
		return -1;
	sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)pl_now());
	int r = pl_vault_exec(v, st, "record a processed envelope", e);
	sqlite3_finalize(st);
	return r;
}

int pl_vault_pending_add(pl_vault *v, const uint8_t hash[static 32], const uint8_t *env, size_t n,
			 pl_err *e)
{
	return pl_vault_pending_keep(v, hash, NULL, env, n, e);
}

int pl_vault_pending_keep(pl_vault *v, const uint8_t hash[static 32],
			  const uint8_t sender[PL_IK_LEN], const uint8_t *env, size_t n, pl_err *e)
{
	sqlite3_stmt *st;

	if (env == NULL || n == 0 || n > PL_VAULT_ENVELOPE_MAX)
		return pl_err_set(e, PL_EXIT_INPUT, "an envelope of %zu bytes cannot be kept", n);
	if (pl_vault_prep(v, &st, "SELECT count(*), coalesce(sum(length(env)), 0) FROM pending",
			  e) != 0)
		return -1;
	int full = sqlite3_step(st) == SQLITE_ROW &&
		   (sqlite3_column_int64(st, 0) >= PL_VAULT_PENDING_MAX ||
		    sqlite3_column_int64(st, 1) + (int64_t)n > PL_VAULT_PENDING_BYTES);
	sqlite3_finalize(st);
	if (full && pl_vault_pending_has(v, hash) == 0)
		return 1;
	if (pl_vault_prep(v, &st,
			  "INSERT INTO pending(hash, env, added, sender) VALUES(?1, ?2, ?3, ?4)"
			  " ON CONFLICT(hash) DO NOTHING",
			  e) != 0)
		return -1;
	sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, env, (int)n, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)pl_now());
	if (sender)
		sqlite3_bind_blob(st, 4, sender, PL_IK_LEN, SQLITE_STATIC);
	else
		sqlite3_bind_null(st, 4);
	int r = pl_vault_exec(v, st, "keep an envelope for later", e);
	sqlite3_finalize(st);
	return r;
}

int pl_vault_pending_set_sender(pl_vault *v, const uint8_t hash[static 32],
				const uint8_t sender[static PL_IK_LEN], pl_err *e)
{
	sqlite3_stmt *st;
	if (pl_vault_prep(v, &st, "UPDATE pending SET sender = ?2 WHERE hash = ?1", e) != 0)
		return -1;
	sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, sender, PL_IK_LEN, SQLITE_STATIC);
	int r = pl_vault_exec(v, st, "record the sender of a kept envelope", e);
	sqlite3_finalize(st);
	return r;
}

int64_t pl_vault_pending_count(pl_vault *v)
{
	sqlite3_stmt *st;
	int64_t n = -1;
	if (pl_vault_prep(v, &st, "SELECT count(*) FROM pending", NULL) != 0)
		return -1;
	if (sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int64(st, 0);
	sqlite3_finalize(st);
	return n;
}

static int pending_select(pl_vault *v, const char *sql, pl_wr **envs, size_t *n, pl_err *e);

int pl_vault_pending_list(pl_vault *v, pl_wr **envs, size_t *n, pl_err *e)
{
	return pending_select(v, "SELECT env FROM pending ORDER BY n", envs, n, e);
}

int pl_vault_pending_retryable(pl_vault *v, pl_wr **envs, size_t *n, pl_err *e)
{
	return pending_select(
	    v,
	    "SELECT p.env FROM pending p WHERE p.sender IS NULL OR EXISTS"
	    " (SELECT 1 FROM contacts c WHERE c.ik = p.sender AND c.key_changed = 0"
	    " AND (c.verified = 1 OR EXISTS (SELECT 1 FROM meta m WHERE"
	    " m.k = 'intro:' || lower(hex(c.ik))))) ORDER BY p.n",
	    envs, n, e);
}

static int pending_select(pl_vault *v, const char *sql, pl_wr **envs, size_t *n, pl_err *e)
{
	sqlite3_stmt *st;
	pl_wr *arr = NULL;
	size_t cap = 0, cnt = 0;
	int rc, r = 0;

	*envs = NULL;
	*n = 0;
	if (pl_vault_prep(v, &st, sql, e) != 0)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (pl_vault_grow((void **)&arr, &cap, cnt, sizeof *arr) != 0) {
			r = pl_err_set(e, PL_EXIT_ERROR, "out of memory listing kept envelopes");
			break;
		}
		size_t len = (size_t)sqlite3_column_bytes(st, 0);
		pl_wr_init(&arr[cnt]);
		if (sqlite3_column_type(st, 0) != SQLITE_BLOB || len == 0 ||
		    len > PL_VAULT_ENVELOPE_MAX) {
			r = pl_vault_damaged(v, "a kept envelope is malformed", e);
			break;
		}
		pl_wr_bytes(&arr[cnt], sqlite3_column_blob(st, 0), len);
		if (pl_wr_ok(&arr[cnt]) != 0) {
			pl_wr_free(&arr[cnt]);
			r = pl_err_set(e, PL_EXIT_ERROR, "out of memory listing kept envelopes");
			break;
		}
		cnt++;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = pl_vault_dberr(v, rc, "list the kept envelopes", e);
	sqlite3_finalize(st);
	if (r != 0) {
		pl_vault_pending_free(arr, cnt);
		return -1;
	}
	*envs = arr;
	*n = cnt;
	return 0;
}

int pl_vault_pending_remove(pl_vault *v, const uint8_t hash[static 32], pl_err *e)
{
	sqlite3_stmt *st;
	if (pl_vault_prep(v, &st, "DELETE FROM pending WHERE hash = ?1", e) != 0)
		return -1;
	sqlite3_bind_blob(st, 1, hash, 32, SQLITE_STATIC);
	int r = pl_vault_exec(v, st, "drop a kept envelope", e);
	sqlite3_finalize(st);
	return r;
}

void pl_vault_pending_free(pl_wr *envs, size_t n)
{
	if (envs == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		pl_wr_free(&envs[i]);
	free(envs);
}

int pl_vault_items_rename(pl_vault *v, const char *from, const char *to, pl_err *e)
{
	pl_item *items;
	size_t n;
	int r = 0;
	if (pl_vault_item_list(v, from, &items, &n, e) != 0)
		return -1;
	for (size_t i = 0; i < n && r == 0; i++) {
		pl_wr ad, blob;
		sqlite3_stmt *st;
		item_ad(&ad, to, items[i].id, items[i].dir);
		int s = pl_vault_seal(&blob, v->kek, &ad, items[i].body.p, items[i].body.n);
		pl_wr_free(&ad);
		if (s != 0) {
			r = pl_err_set(e, PL_EXIT_ERROR,
				       "could not encrypt an item (out of memory)");
			break;
		}
		if (pl_vault_prep(v, &st, "UPDATE items SET contact = ?1, body = ?2 WHERE seq = ?3",
				  e) != 0) {
			pl_wr_free(&blob);
			r = -1;
			break;
		}
		sqlite3_bind_text(st, 1, to, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, blob.p, (int)blob.n, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, items[i].seq);
		r = pl_vault_exec(v, st, "rename a contact's items", e);
		sqlite3_finalize(st);
		pl_wr_free(&blob);
	}
	pl_vault_items_free(items, n);
	return r;
}
