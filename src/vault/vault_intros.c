/*
 * vault_intros.c — the introductions this vault accepted (client/
 * introduce.h checks each statement before it is recorded).
 *
 * One row of table meta per introduced key: "intro:" ‖ hex(IK) →
 *   u8 version=1 ‖ u8 flags ‖ introducer IK(32) ‖ statement time u64 ‖
 *   applied u64 ‖ u8 name_len ‖ introducer's name ‖ u16 stmt_len ‖ statement
 * The statement is kept as it came (it is the evidence: signed by the
 * introducer) and must decode again, for this key and this introducer.
 * No schema change. Every row read back is decoded strictly; this file
 * never builds SQL from data.
 */
#include "vault/vault_int.h"

#include <sodium.h>
#include <string.h>

#include "identity/introduction.h"
#include "util/codec.h"

#define INTRO_PREFIX "intro:"
#define INTRO_PREFIX_LEN 6
#define INTRO_V1 1
#define INTRO_FLAGS_ALL PL_INTRO_REC_NAME_CLASH
#define INTRO_HEAD_LEN (1 + 1 + PL_IK_LEN + 8 + 8 + 1)
#define INTRO_REC_MAX (INTRO_HEAD_LEN + PL_NAME_MAX + 2 + PL_INTRO_MAX_LEN)

_Static_assert(PL_INTRO_MAX_LEN <= PL_INTRO_REC_STMT_MAX, "an introduction fits its record");

static void intro_key(char out[INTRO_PREFIX_LEN + PL_KEY_HEX_LEN],
		      const uint8_t ik[static PL_IK_LEN])
{
	memcpy(out, INTRO_PREFIX, INTRO_PREFIX_LEN);
	pl_hex_encode(out + INTRO_PREFIX_LEN, ik, PL_IK_LEN);
}

static int rec_decode(pl_intro_rec *r, const uint8_t ik[static PL_IK_LEN], const uint8_t *p,
		      size_t n)
{
	pl_rd rd;
	pl_intro_rec t;
	pl_introduction s;
	memset(&t, 0, sizeof t);
	if (p == NULL || n > INTRO_REC_MAX)
		return -1;
	pl_rd_init(&rd, p, n);
	uint8_t ver = pl_rd_u8(&rd);
	t.flags = pl_rd_u8(&rd);
	pl_rd_copy(&rd, t.introducer_ik, PL_IK_LEN);
	t.time = pl_rd_u64(&rd);
	t.applied = pl_rd_u64(&rd);
	size_t nl = pl_rd_u8(&rd);
	const uint8_t *name = nl <= PL_NAME_MAX ? pl_rd_bytes(&rd, nl) : NULL;
	t.stmt_len = pl_rd_u16(&rd);
	const uint8_t *stmt = t.stmt_len <= PL_INTRO_MAX_LEN ? pl_rd_bytes(&rd, t.stmt_len) : NULL;
	if (pl_rd_done(&rd) != 0 || name == NULL || stmt == NULL || ver != INTRO_V1 ||
	    (t.flags & ~INTRO_FLAGS_ALL) != 0 || t.applied == 0 || pl_vault_name_ok(name, nl) != 0)
		return -1;
	memcpy(t.introducer_name, name, nl);
	memcpy(t.stmt, stmt, t.stmt_len);
	if (pl_introduction_decode(&s, t.stmt, t.stmt_len) != 0 || s.time != t.time ||
	    sodium_memcmp(s.introduced_ik, ik, PL_IK_LEN) != 0 ||
	    sodium_memcmp(s.introducer_ik, t.introducer_ik, PL_IK_LEN) != 0)
		return -1;
	memcpy(t.introduced_ik, ik, PL_IK_LEN);
	*r = t;
	return 0;
}

int pl_vault_intro_put(pl_vault *v, const pl_intro_rec *r, pl_err *e)
{
	char k[INTRO_PREFIX_LEN + PL_KEY_HEX_LEN];
	size_t nl = strnlen(r->introducer_name, sizeof r->introducer_name);
	if ((r->flags & ~INTRO_FLAGS_ALL) != 0 || r->applied == 0 ||
	    r->stmt_len > PL_INTRO_MAX_LEN ||
	    pl_vault_name_ok((const uint8_t *)r->introducer_name, nl) != 0)
		return pl_err_set(e, PL_EXIT_ERROR,
				  "internal error: an introduction record is invalid");
	pl_wr w;
	pl_wr_init(&w);
	pl_wr_u8(&w, INTRO_V1);
	pl_wr_u8(&w, (uint8_t)r->flags);
	pl_wr_bytes(&w, r->introducer_ik, PL_IK_LEN);
	pl_wr_u64(&w, r->time);
	pl_wr_u64(&w, r->applied);
	pl_wr_u8(&w, (uint8_t)nl);
	pl_wr_bytes(&w, (const uint8_t *)r->introducer_name, nl);
	pl_wr_u16(&w, (uint16_t)r->stmt_len);
	pl_wr_bytes(&w, r->stmt, r->stmt_len);
	pl_intro_rec check;
	int rc;
	if (pl_wr_ok(&w) != 0)
		rc = pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	else if (rec_decode(&check, r->introduced_ik, w.p, w.n) != 0)
		rc = pl_err_set(e, PL_EXIT_ERROR,
				"internal error: an introduction record does not decode");
	else {
		intro_key(k, r->introduced_ik);
		rc = pl_vault_meta_put(v, k, w.p, w.n, e);
	}
	pl_wr_free(&w);
	return rc;
}

int pl_vault_intro_get(pl_vault *v, const uint8_t ik[static PL_IK_LEN], pl_intro_rec *r, pl_err *e)
{
	char k[INTRO_PREFIX_LEN + PL_KEY_HEX_LEN];
	pl_wr w;
	int found;
	intro_key(k, ik);
	if (pl_vault_meta_get(v, k, &w, INTRO_REC_MAX, &found, e) != 0)
		return -1;
	int rc = !found ? 0 : rec_decode(r, ik, w.p, w.n) == 0 ? 1 : -1;
	pl_wr_free(&w);
	if (rc < 0)
		return pl_vault_damaged(v, "an introduction record is malformed", e);
	return rc;
}

uint64_t pl_vault_intro_vouched(pl_vault *v, const uint8_t ik[static PL_IK_LEN])
{
	pl_intro_rec r;
	if (pl_vault_intro_get(v, ik, &r, NULL) != 1)
		return 0;
	/* The introducer as it stands now, read directly (not through
	 * contact_row, which calls this). */
	sqlite3_stmt *st;
	if (pl_vault_prep(v, &st, "SELECT verified, key_changed FROM contacts WHERE ik = ?1",
			  NULL) != 0)
		return 0;
	sqlite3_bind_blob(st, 1, r.introducer_ik, PL_IK_LEN, SQLITE_STATIC);
	int verified = 0, changed = 1;
	if (sqlite3_step(st) == SQLITE_ROW &&
	    (pl_vault_col_flag(st, 0, &verified) != 0 || pl_vault_col_flag(st, 1, &changed) != 0))
		verified = 0;
	sqlite3_finalize(st);
	if (!verified || changed || pl_vault_ik_revoked(v, r.introducer_ik))
		return 0;
	return r.time;
}
