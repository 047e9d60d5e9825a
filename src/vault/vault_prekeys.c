/*
 * vault_prekeys.c — the vault's prekeys: signed prekeys (made, rotated,
 * kept for a while for sessions begun from stale bundles, then forgotten)
 * and one-time prekeys (made, marked published once the relay holds them,
 * topped up when the relay runs low, deleted once used).
 *
 * A prekey's secret is sealed with AD binding it to its table, id and
 * public key, and checked against the public key whenever it is opened.
 * One-time prekey ids come from a counter and are never reused. This file
 * must never write a prekey secret unsealed, never build SQL from data, and
 * never forget a one-time prekey the relay has not been given.
 */
#include "vault/vault_int.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "util/codec.h"

#define OPK_INITIAL 20 /* one-time prekeys a new vault starts with */

/* AD of a prekey secret: label ‖ id ‖ public key. */
static void prekey_ad(pl_wr *ad, const char *label, uint32_t id, const uint8_t pk[static 32])
{
	pl_vault_ad(ad, label);
	pl_wr_u32(ad, id);
	pl_wr_bytes(ad, pk, 32);
}

/* Makes an X25519 key pair and stores it sealed in table spk or opk. */
static int prekey_insert(pl_vault *v, int one_time, uint32_t id, pl_err *e)
{
	uint8_t pk[32], sk[32];
	pl_wr ad, blob;
	sqlite3_stmt *st;

	crypto_box_keypair(pk, sk);
	prekey_ad(&ad, one_time ? "opk" : "spk", id, pk);
	int r = pl_vault_seal(&blob, v->kek, &ad, sk, sizeof sk);
	sodium_memzero(sk, sizeof sk);
	pl_wr_free(&ad);
	if (r != 0)
		return pl_err_set(e, PL_EXIT_ERROR, "could not encrypt a prekey (out of memory)");
	r = pl_vault_prep(v, &st,
			  one_time ? "INSERT INTO opk(id, pk, sk, published) VALUES(?1, ?2, ?3, 0)"
				   : "INSERT INTO spk(id, pk, sk, created) VALUES(?1, ?2, ?3, ?4)",
			  e);
	if (r == 0) {
		sqlite3_bind_int64(st, 1, id);
		sqlite3_bind_blob(st, 2, pk, sizeof pk, SQLITE_STATIC);
		sqlite3_bind_blob(st, 3, blob.p, (int)blob.n, SQLITE_STATIC);
		if (!one_time)
			sqlite3_bind_int64(st, 4, (int64_t)pl_now());
		r = pl_vault_exec(v, st, "save a prekey", e);
		sqlite3_finalize(st);
	}
	pl_wr_free(&blob);
	return r;
}

/* Decodes a prekey row (id, pk, sk) and opens its secret; checks that the
 * secret really belongs to the public key. */
static int prekey_row(pl_vault *v, sqlite3_stmt *st, int one_time, int with_sk, pl_prekey *out,
		      pl_err *e)
{
	int64_t id = sqlite3_column_int64(st, 0);
	pl_prekey k;

	memset(&k, 0, sizeof k);
	if (sqlite3_column_type(st, 0) != SQLITE_INTEGER || id < 1 || id > UINT32_MAX ||
	    pl_vault_col_fixed(st, 1, k.pk, sizeof k.pk) != 0)
		return pl_vault_damaged(v, "a prekey record has a bad id or public key", e);
	k.id = (uint32_t)id;
	if (with_sk) {
		pl_wr ad;
		uint8_t chk[32];
		prekey_ad(&ad, one_time ? "opk" : "spk", k.id, k.pk);
		int r = sqlite3_column_type(st, 2) == SQLITE_BLOB
			    ? pl_vault_unseal_fixed(k.sk, sizeof k.sk, v->kek, &ad,
						    sqlite3_column_blob(st, 2),
						    (size_t)sqlite3_column_bytes(st, 2))
			    : -1;
		pl_wr_free(&ad);
		if (r == 0 && (crypto_scalarmult_base(chk, k.sk) != 0 ||
			       sodium_memcmp(chk, k.pk, sizeof chk) != 0))
			r = -1;
		if (r != 0) {
			sodium_memzero(&k, sizeof k);
			char what[96];
			snprintf(what, sizeof what, "the secret of %s prekey %u does not open",
				 one_time ? "one-time" : "signed", (unsigned)id);
			return pl_vault_damaged(v, what, e);
		}
	}
	*out = k;
	sodium_memzero(&k, sizeof k);
	return 0;
}

static int prekey_one(pl_vault *v, sqlite3_stmt *st, int one_time, pl_prekey *out,
		      const char *missing, pl_err *e)
{
	int rc = sqlite3_step(st), r;
	if (rc == SQLITE_ROW)
		r = prekey_row(v, st, one_time, 1, out, e);
	else if (rc == SQLITE_DONE)
		r = pl_err_set(e, PL_EXIT_NOTFOUND, "%s", missing);
	else
		r = pl_vault_dberr(v, rc, "read a prekey", e);
	sqlite3_finalize(st);
	return r;
}

int pl_vault_spk_current(pl_vault *v, pl_prekey *out, pl_err *e)
{
	sqlite3_stmt *st;
	if (pl_vault_prep(v, &st, "SELECT id, pk, sk FROM spk ORDER BY id DESC LIMIT 1", e) != 0)
		return -1;
	return prekey_one(v, st, 0, out, "the vault has no signed prekey; it is damaged", e);
}

int pl_vault_spk_get(pl_vault *v, uint32_t id, pl_prekey *out, pl_err *e)
{
	sqlite3_stmt *st;
	char missing[128];
	if (pl_vault_prep(v, &st, "SELECT id, pk, sk FROM spk WHERE id = ?1", e) != 0)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	snprintf(missing, sizeof missing,
		 "signed prekey %u is not in the vault; the sender used an unknown prekey",
		 (unsigned)id);
	return prekey_one(v, st, 0, out, missing, e);
}

/* The one integer a one-row query gives. what: the action, for a storage
 * error; missing: what a vault without that row lacks (an aggregate always
 * gives a row). */
static int one_int64(pl_vault *v, const char *sql, const char *what, const char *missing,
		     int64_t *out, pl_err *e)
{
	sqlite3_stmt *st;
	if (pl_vault_prep(v, &st, sql, e) != 0)
		return -1;
	int rc = sqlite3_step(st), r = -1;
	if (rc == SQLITE_ROW) {
		*out = sqlite3_column_int64(st, 0);
		r = 0;
	} else if (rc == SQLITE_DONE) {
		pl_vault_damaged(v, missing, e);
	} else {
		pl_vault_dberr(v, rc, what, e);
	}
	sqlite3_finalize(st);
	return r;
}

int pl_vault_spk_rotate(pl_vault *v, uint32_t *new_id, pl_err *e)
{
	int own, ok;
	int64_t max = 0;

	if (pl_vault_tx_start(v, &own, e) != 0)
		return -1;
	ok = one_int64(v, "SELECT COALESCE(MAX(id), 0) FROM spk", "read the signed prekeys",
		       "its signed prekeys cannot be counted", &max, e) == 0;
	if (ok && (max < 0 || max >= UINT32_MAX)) {
		pl_vault_damaged(v, "its signed prekey ids are out of range", e);
		ok = 0;
	}
	if (ok)
		ok = prekey_insert(v, 0, (uint32_t)max + 1, e) == 0;
	if (pl_vault_tx_end(v, own, ok, e) != 0)
		return -1;
	if (new_id)
		*new_id = (uint32_t)max + 1;
	return 0;
}

int pl_vault_spk_refresh(pl_vault *v, uint64_t now, uint64_t max_age, uint64_t keep, int *rotated,
			 pl_err *e)
{
	sqlite3_stmt *st;
	int own, ok;
	int64_t created = 0;

	*rotated = 0;
	if (pl_vault_tx_start(v, &own, e) != 0)
		return -1;
	ok = one_int64(v, "SELECT created FROM spk ORDER BY id DESC LIMIT 1",
		       "read the signed prekeys", "it has no signed prekey", &created, e) == 0;
	if (ok && created >= 0 && now >= (uint64_t)created + max_age) {
		ok = pl_vault_spk_rotate(v, NULL, e) == 0;
		*rotated = ok;
	}
	/* Older signed prekeys answer sessions begun from stale bundles; after
	 * `keep` their secrets go, so that a later theft of the vault cannot
	 * open those first messages. The current one always stays. */
	if (ok && now > keep) {
		ok = pl_vault_prep(v, &st,
				   "DELETE FROM spk WHERE id < (SELECT MAX(id) FROM spk) AND "
				   "created < ?1",
				   e) == 0;
		if (ok) {
			sqlite3_bind_int64(st, 1, (int64_t)(now - keep));
			ok = pl_vault_exec(v, st, "delete old signed prekeys", e) == 0;
			sqlite3_finalize(st);
		}
	}
	if (pl_vault_tx_end(v, own, ok, e) != 0) {
		*rotated = 0;
		return -1;
	}
	return 0;
}

int pl_vault_opk_unpublished(pl_vault *v, pl_prekey *out, int max, pl_err *e)
{
	sqlite3_stmt *st;
	int n = 0, rc;

	if (max <= 0)
		return 0;
	if (pl_vault_prep(v, &st, "SELECT id, pk FROM opk WHERE published = 0 ORDER BY id LIMIT ?1",
			  e) != 0)
		return -1;
	sqlite3_bind_int(st, 1, max);
	while (n < max && (rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (prekey_row(v, st, 1, 0, &out[n], e) != 0) {
			sqlite3_finalize(st);
			return -1;
		}
		n++;
	}
	if (n < max && rc != SQLITE_DONE) {
		sqlite3_finalize(st);
		return pl_vault_dberr(v, rc, "read the one-time prekeys", e);
	}
	sqlite3_finalize(st);
	return n;
}

int pl_vault_opk_mark_published(pl_vault *v, uint32_t up_to_id, pl_err *e)
{
	sqlite3_stmt *st;
	if (pl_vault_prep(v, &st, "UPDATE opk SET published = 1 WHERE id <= ?1", e) != 0)
		return -1;
	sqlite3_bind_int64(st, 1, up_to_id);
	int r = pl_vault_exec(v, st, "mark prekeys published", e);
	sqlite3_finalize(st);
	return r;
}

int pl_vault_opk_get(pl_vault *v, uint32_t id, pl_prekey *out, pl_err *e)
{
	sqlite3_stmt *st;
	char missing[160];
	if (pl_vault_prep(v, &st, "SELECT id, pk, sk FROM opk WHERE id = ?1", e) != 0)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	snprintf(missing, sizeof missing,
		 "one-time prekey %u is not in the vault (already used, never made, or "
		 "forgotten as one of the oldest of many taken from the relay); the "
		 "message may be a replay",
		 (unsigned)id);
	return prekey_one(v, st, 1, out, missing, e);
}

int pl_vault_opk_delete(pl_vault *v, uint32_t id, pl_err *e)
{
	sqlite3_stmt *st;
	if (pl_vault_prep(v, &st, "DELETE FROM opk WHERE id = ?1", e) != 0)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	int r = pl_vault_exec(v, st, "delete a used prekey", e);
	sqlite3_finalize(st);
	return r;
}

/* Body of pl_vault_opk_generate without its own transaction. Ids come from
 * a counter, never from MAX(id), so a used and deleted id is never reused. */
static int opk_generate(pl_vault *v, int n, pl_err *e)
{
	uint8_t b[4];
	pl_wr w;
	int found;
	uint32_t next = 1;

	if (pl_vault_meta_get(v, "opk_next", &w, 4, &found, e) != 0)
		return -1;
	if (found) {
		if (w.n != 4) {
			pl_wr_free(&w);
			return pl_vault_damaged(v, "its prekey counter has the wrong size", e);
		}
		next = pl_be32_get(w.p);
	}
	pl_wr_free(&w);
	if (next == 0 || (uint64_t)next + (uint64_t)n > UINT32_MAX)
		return pl_vault_damaged(v, "its prekey counter is out of range", e);
	for (int i = 0; i < n; i++)
		if (prekey_insert(v, 1, next + (uint32_t)i, e) != 0)
			return -1;
	pl_be32_put(b, next + (uint32_t)n);
	return pl_vault_meta_put(v, "opk_next", b, sizeof b, e);
}

int pl_vault_opk_top_up(pl_vault *v, int relay_left, int low, int target, int keep, int *made,
			pl_err *e)
{
	int own, ok = 1;
	int64_t left = relay_left, have = 0;

	*made = 0;
	if (relay_left < -1 || low < 0 || target < low || target > PL_VAULT_OPK_GENERATE_MAX ||
	    keep < target)
		return pl_err_set(e, PL_EXIT_USAGE, "prekey top-up bounds out of range");
	if (relay_left >= low)
		return 0;
	if (pl_vault_tx_start(v, &own, e) != 0)
		return -1;
	if (relay_left < 0)
		ok = one_int64(v, "SELECT count(*) FROM opk", "read the one-time prekeys",
			       "its one-time prekeys cannot be counted", &left, e) == 0;
	if (ok && left < low) {
		ok = opk_generate(v, target - (int)left, e) == 0;
		if (ok)
			ok = one_int64(v, "SELECT count(*) FROM opk", "read the one-time prekeys",
				       "its one-time prekeys cannot be counted", &have, e) == 0;
		if (ok && have > keep) {
			sqlite3_stmt *st;
			ok = pl_vault_prep(v, &st,
					   "DELETE FROM opk WHERE id IN (SELECT id FROM opk WHERE "
					   "published = 1 ORDER BY id LIMIT ?1)",
					   e) == 0;
			if (ok) {
				sqlite3_bind_int64(st, 1, have - keep);
				ok = pl_vault_exec(v, st, "forget old one-time prekeys", e) == 0;
				sqlite3_finalize(st);
			}
		}
		if (ok)
			*made = target - (int)left;
	}
	if (pl_vault_tx_end(v, own, ok, e) != 0) {
		*made = 0;
		return -1;
	}
	return 0;
}

int pl_vault_opk_generate(pl_vault *v, int n, pl_err *e)
{
	int own;

	if (n < 1 || n > PL_VAULT_OPK_GENERATE_MAX)
		return pl_err_set(e, PL_EXIT_USAGE, "can make 1 to %d one-time prekeys at a time",
				  PL_VAULT_OPK_GENERATE_MAX);
	if (pl_vault_tx_start(v, &own, e) != 0)
		return -1;
	int ok = opk_generate(v, n, e) == 0;
	return pl_vault_tx_end(v, own, ok, e);
}

int pl_vault_prekeys_init(pl_vault *v, pl_err *e)
{
	if (prekey_insert(v, 0, 1, e) != 0)
		return -1;
	return opk_generate(v, OPK_INITIAL, e);
}

int pl_vault_prekeys_jump(pl_vault *v, uint32_t spk_jump, uint32_t opk_jump, uint32_t *spk_id,
			  pl_err *e)
{
	int own, ok;
	int64_t max = 0;
	uint8_t b[4];
	pl_wr w;
	int found;
	uint32_t next = 1;

	if (pl_vault_tx_start(v, &own, e) != 0)
		return -1;
	ok = one_int64(v, "SELECT COALESCE(MAX(id), 0) FROM spk", "read the signed prekeys",
		       "its signed prekeys cannot be counted", &max, e) == 0;
	if (ok && (max < 0 || (uint64_t)max + spk_jump >= UINT32_MAX)) {
		pl_vault_damaged(v, "its signed prekey ids are out of range", e);
		ok = 0;
	}
	if (ok)
		ok = prekey_insert(v, 0, (uint32_t)max + spk_jump, e) == 0;
	if (ok)
		ok = pl_vault_meta_get(v, "opk_next", &w, 4, &found, e) == 0;
	if (ok) {
		if (found && w.n == 4)
			next = pl_be32_get(w.p);
		else if (found)
			ok = pl_vault_damaged(v, "its prekey counter has the wrong size", e) == 0;
		pl_wr_free(&w);
	}
	if (ok && (next == 0 || (uint64_t)next + opk_jump + OPK_INITIAL >= UINT32_MAX))
		ok = pl_vault_damaged(v, "its prekey counter is out of range", e) == 0;
	if (ok) {
		pl_be32_put(b, next + opk_jump);
		ok = pl_vault_meta_put(v, "opk_next", b, sizeof b, e) == 0 &&
		     opk_generate(v, OPK_INITIAL, e) == 0;
	}
	if (pl_vault_tx_end(v, own, ok, e) != 0)
		return -1;
	if (spk_id)
		*spk_id = (uint32_t)max + spk_jump;
	return 0;
}
