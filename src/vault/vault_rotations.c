/*
 * vault_rotations.c — the contacts' key rotations this vault applied
 * (client/rotate.h checks each statement before it is recorded).
 *
 * One row of table meta per old key: "rot:" ‖ hex(old IK) →
 *   u8 version=1 ‖ u8 flags ‖ new IK(32) ‖ statement time u64 ‖
 *   applied u64 ‖ trusted u64
 * Keyed by the old key, so a second, different statement from the same key
 * finds the first (a conflict), and a revocation of the old key that comes
 * later finds the rotation it voids. No schema change. Every row read back
 * is decoded strictly; this file never builds SQL from data.
 */
#include "vault/vault_int.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/codec.h"

#define ROT_PREFIX "rot:"
#define ROT_PREFIX_LEN 4
#define ROT_V1 1
#define ROT_REC_LEN (1 + 1 + PL_IK_LEN + 8 + 8 + 8)
#define ROT_FLAGS_ALL (PL_ROT_OLD_VERIFIED | PL_ROT_CONFLICT | PL_ROT_VOID)

static void rot_key(char out[ROT_PREFIX_LEN + PL_KEY_HEX_LEN], const uint8_t ik[static PL_IK_LEN])
{
	memcpy(out, ROT_PREFIX, ROT_PREFIX_LEN);
	pl_hex_encode(out + ROT_PREFIX_LEN, ik, PL_IK_LEN);
}

static int rec_decode(pl_rotation_rec *r, const uint8_t old[static PL_IK_LEN], const uint8_t *p,
		      size_t n)
{
	pl_rd rd;
	pl_rotation_rec t;
	memset(&t, 0, sizeof t);
	if (p == NULL || n != ROT_REC_LEN)
		return -1;
	pl_rd_init(&rd, p, n);
	uint8_t ver = pl_rd_u8(&rd);
	t.flags = pl_rd_u8(&rd);
	pl_rd_copy(&rd, t.new_ik, PL_IK_LEN);
	t.time = pl_rd_u64(&rd);
	t.applied = pl_rd_u64(&rd);
	t.trusted = pl_rd_u64(&rd);
	if (pl_rd_done(&rd) != 0 || ver != ROT_V1 || (t.flags & ~ROT_FLAGS_ALL) != 0 ||
	    t.time == 0 || t.applied == 0)
		return -1;
	memcpy(t.old_ik, old, PL_IK_LEN);
	*r = t;
	return 0;
}

int pl_vault_rotation_put(pl_vault *v, const pl_rotation_rec *r, pl_err *e)
{
	char k[ROT_PREFIX_LEN + PL_KEY_HEX_LEN];
	uint8_t b[ROT_REC_LEN];
	if ((r->flags & ~ROT_FLAGS_ALL) != 0 || r->time == 0 || r->applied == 0)
		return pl_err_set(e, PL_EXIT_ERROR, "internal error: a rotation record is invalid");
	b[0] = ROT_V1;
	b[1] = (uint8_t)r->flags;
	memcpy(b + 2, r->new_ik, PL_IK_LEN);
	pl_be64_put(b + 2 + PL_IK_LEN, r->time);
	pl_be64_put(b + 10 + PL_IK_LEN, r->applied);
	pl_be64_put(b + 18 + PL_IK_LEN, r->trusted);
	rot_key(k, r->old_ik);
	return pl_vault_meta_put(v, k, b, sizeof b, e);
}

int pl_vault_rotation_get(pl_vault *v, const uint8_t old[static PL_IK_LEN], pl_rotation_rec *r,
			  pl_err *e)
{
	char k[ROT_PREFIX_LEN + PL_KEY_HEX_LEN];
	pl_wr w;
	int found;
	rot_key(k, old);
	if (pl_vault_meta_get(v, k, &w, ROT_REC_LEN, &found, e) != 0)
		return -1;
	int rc = !found ? 0 : rec_decode(r, old, w.p, w.n) == 0 ? 1 : -1;
	pl_wr_free(&w);
	if (rc < 0)
		return pl_vault_damaged(v, "a key rotation record is malformed", e);
	return rc;
}

int pl_vault_rotation_to(pl_vault *v, const uint8_t new_ik[static PL_IK_LEN], pl_rotation_rec *r,
			 pl_err *e)
{
	sqlite3_stmt *st;
	if (pl_vault_prep(v, &st, "SELECT k, v FROM meta WHERE substr(k, 1, 4) = 'rot:'", e) != 0)
		return -1;
	int rc, found = 0, bad = 0;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		const char *k = (const char *)sqlite3_column_text(st, 0);
		uint8_t old[PL_IK_LEN];
		pl_rotation_rec t;
		if (k == NULL || strlen(k) != ROT_PREFIX_LEN + 2 * PL_IK_LEN ||
		    pl_hex_decode(old, PL_IK_LEN, k + ROT_PREFIX_LEN) != 0 ||
		    sqlite3_column_type(st, 1) != SQLITE_BLOB ||
		    rec_decode(&t, old, sqlite3_column_blob(st, 1),
			       (size_t)sqlite3_column_bytes(st, 1)) != 0) {
			bad = 1;
			break;
		}
		/* The newest applied wins if a key came back (it cannot be
		 * recorded twice under one old key). */
		if (sodium_memcmp(t.new_ik, new_ik, PL_IK_LEN) == 0 &&
		    (!found || t.applied >= r->applied)) {
			*r = t;
			found = 1;
		}
	}
	sqlite3_finalize(st);
	if (bad)
		return pl_vault_damaged(v, "a key rotation record is malformed", e);
	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		return pl_vault_dberr(v, rc, "read the key rotations", e);
	return found;
}
