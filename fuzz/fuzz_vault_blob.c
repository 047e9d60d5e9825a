/*
 * fuzz_vault_blob.c — libFuzzer target for what the vault reads back from
 * its file: sealed blobs (pl_vault_unseal), the KDF parameter record, the
 * name and text checks, and whole rows of every table as decoded by the
 * vault's readers (contacts, sessions, items, outbox, pending envelopes,
 * prekeys), in an in-memory vault with the real schema.
 *
 * The first input byte picks a mode (low 3 bits):
 *   0  the rest is a sealed blob: must not open (nobody can forge one);
 *   1  the rest is XORed onto a real sealed blob (and, with bit 7 of the
 *      mode byte, the blob is cut to the rest's length): must open iff
 *      nothing changed, and then give the original plaintext;
 *   2  the rest is a KDF record: if accepted it must re-encode to itself;
 *   3  the rest is a name / URL / word: acceptance implies the rules;
 *   4  the rest is a plaintext: seal then unseal must round-trip;
 *   5+ the rest describes one row of a table (see put_row), which is
 *      inserted as is and then read through the vault's API.
 * Must never crash or leak, and aborts if an invariant above fails.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vault/vault_int.h"

static uint8_t key[PL_VAULT_KEY_LEN];
static pl_wr ad, real;
static const char real_pt[] = "the ratchet state of a session";
static pl_vault *mem;

static void must(int ok)
{
	if (!ok)
		abort();
}

static void init_once(void)
{
	static int done;
	pl_err e;
	if (done)
		return;
	must(sodium_init() >= 0);
	memset(key, 0x42, sizeof key);
	/* The real blob is the state of a session with ik = ek = 32 x 0x42, so
	 * a row carrying it decodes all the way through. */
	pl_vault_ad(&ad, "session");
	pl_wr_bytes(&ad, key, 32);
	pl_wr_bytes(&ad, key, 32);
	must(pl_vault_seal(&real, key, &ad, (const uint8_t *)real_pt, sizeof real_pt - 1) == 0);
	must(pl_vault_open_memory(&mem, &e) == 0);
	memcpy(mem->kek, key, sizeof key);
	/* Rows are inserted one table at a time, without their parents. */
	must(sqlite3_exec(mem->db, "PRAGMA foreign_keys = OFF", NULL, NULL, NULL) == SQLITE_OK);
	done = 1;
}

static void mode_raw(const uint8_t *p, size_t n)
{
	pl_wr pt;
	must(pl_vault_unseal(&pt, key, &ad, p, n, PL_VAULT_BLOB_MAX) != 0);
	must(pt.p == NULL);
}

static void mode_xor(uint8_t mode, const uint8_t *p, size_t n)
{
	size_t len = (mode & 0x80) ? n : real.n;
	if (len > real.n + 64)
		len = real.n + 64;
	uint8_t *b = calloc(len ? len : 1, 1);
	must(b != NULL);
	int changed = len != real.n;
	for (size_t i = 0; i < len; i++) {
		uint8_t x = i < n ? p[i] : 0;
		b[i] = (uint8_t)((i < real.n ? real.p[i] : 0) ^ x);
		if (x != 0)
			changed = 1;
	}
	pl_wr pt;
	int r = pl_vault_unseal(&pt, key, &ad, b, len, PL_VAULT_BLOB_MAX);
	if (changed) {
		must(r != 0 && pt.p == NULL);
	} else {
		must(r == 0 && pt.n == sizeof real_pt - 1);
		must(memcmp(pt.p, real_pt, pt.n) == 0);
		pl_wr_free(&pt);
	}
	uint8_t fixed[sizeof real_pt - 1];
	r = pl_vault_unseal_fixed(fixed, sizeof fixed, key, &ad, b, len);
	must(changed ? r != 0 : r == 0);
	free(b);
}

static void mode_kdf(const uint8_t *p, size_t n)
{
	pl_kdf_params k;
	uint8_t rec[PL_KDF_REC_LEN];
	if (pl_vault_kdf_decode(&k, p, n) != 0)
		return;
	must(n == PL_KDF_REC_LEN);
	must(k.ops <= PL_KDF_OPS_MAX && k.mem <= PL_KDF_MEM_MAX);
	pl_vault_kdf_encode(rec, &k);
	must(memcmp(rec, p, n) == 0);
}

static void mode_text(const uint8_t *p, size_t n)
{
	if (pl_vault_name_ok(p, n) == 0) {
		must(n >= 1 && n <= PL_NAME_MAX);
		for (size_t i = 0; i < n; i++)
			must(p[i] >= 0x20 && p[i] != 0x7f && p[i] != '/' && p[i] != 0xc0 &&
			     p[i] != 0xc1 && p[i] < 0xf5);
	}
	if (pl_vault_url_ok(p, n, PL_URL_MAX) == 0)
		for (size_t i = 0; i < n; i++)
			must(p[i] > 0x20 && p[i] < 0x7f);
	if (pl_vault_word_ok(p, n, PL_VAULT_STATE_MAX) == 0)
		must(n >= 1 && n <= PL_VAULT_STATE_MAX && memchr(p, 0, n) == NULL);
}

static void mode_roundtrip(const uint8_t *p, size_t n)
{
	pl_wr a, blob, pt;
	pl_vault_ad(&a, "item");
	pl_wr_bytes(&a, p, n < 16 ? n : 16);
	must(pl_vault_seal(&blob, key, &a, p, n) == 0);
	must(blob.n == n + PL_SEAL_OVERHEAD && blob.p[0] == PL_SEAL_V1);
	must(pl_vault_unseal(&pt, key, &a, blob.p, blob.n, n) == 0);
	must(pt.n == n && (n == 0 || memcmp(pt.p, p, n) == 0));
	pl_wr_free(&pt);
	if (n > 0)
		must(pl_vault_unseal(&pt, key, &a, blob.p, blob.n, n - 1) != 0);
	pl_wr_free(&blob);
	pl_wr_free(&a);
}

/* One table, its columns, in the order the row description gives them. */
static const struct {
	const char *insert;
	int ncols;
} tables[] = {
    {"INSERT INTO contacts(name, ik, verified, key_changed, grant_published, token, added)"
     " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7)",
     7},
    {"INSERT INTO sessions(id, ik, ad, initiator, replied, ek, spk_id, opk_id, used, state)"
     " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)",
     10},
    {"INSERT INTO items(seq, contact, id, dir, kind, time, state, body, receipt)"
     " VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
     9},
    {"INSERT INTO outbox(n, item_seq, contact, envelope) VALUES(?1, ?2, ?3, ?4)", 4},
    {"INSERT INTO pending(n, hash, env, added) VALUES(?1, ?2, ?3, ?4)", 4},
    {"INSERT INTO opk(id, pk, sk, published) VALUES(?1, ?2, ?3, ?4)", 4},
    {"INSERT INTO spk(id, pk, sk, created) VALUES(?1, ?2, ?3, ?4)", 4},
};
#define NTABLES (sizeof tables / sizeof *tables)

/* Row description: u8 table, then per column u8 type (mod 4: NULL, int64,
 * blob, text) and for int64 8 bytes, for blob and text u8 length and bytes.
 * A blob of length 0xff is the real sealed blob (to get past the size
 * checks into the AEAD, and to open as the state of a session whose ik and
 * ek are 32 x 0x42). Returns the table index or -1. */
static int put_row(const uint8_t *p, size_t n)
{
	pl_rd r;
	sqlite3_stmt *st;

	sqlite3_exec(mem->db,
		     "DELETE FROM contacts; DELETE FROM sessions; DELETE FROM items;"
		     " DELETE FROM outbox; DELETE FROM pending; DELETE FROM opk; DELETE FROM spk;",
		     NULL, NULL, NULL);
	pl_rd_init(&r, p, n);
	size_t t = pl_rd_u8(&r) % NTABLES;
	must(sqlite3_prepare_v2(mem->db, tables[t].insert, -1, &st, NULL) == SQLITE_OK);
	for (int c = 1; c <= tables[t].ncols; c++) {
		uint8_t type = pl_rd_u8(&r) % 4;
		if (type == 1) {
			sqlite3_bind_int64(st, c, (int64_t)pl_rd_u64(&r));
		} else if (type >= 2) {
			uint8_t len = pl_rd_u8(&r);
			const uint8_t *b = len == 0xff ? real.p : pl_rd_bytes(&r, len);
			size_t blen = len == 0xff ? real.n : len;
			if (b == NULL)
				sqlite3_bind_null(st, c);
			else if (type == 2)
				sqlite3_bind_blob(st, c, blen ? (const void *)b : "", (int)blen,
						  SQLITE_TRANSIENT);
			else
				sqlite3_bind_text(st, c, (const char *)b, (int)blen,
						  SQLITE_TRANSIENT);
		}
	}
	int rc = sqlite3_step(st);
	sqlite3_finalize(st);
	return rc == SQLITE_DONE ? (int)t : -1;
}

static void mode_row(const uint8_t *p, size_t n)
{
	pl_err e;
	size_t cnt;
	int t = put_row(p, n);
	switch (t) {
	case 0: {
		pl_contact *c;
		if (pl_vault_contact_list(mem, &c, &cnt, &e) == 0) {
			for (size_t i = 0; i < cnt; i++)
				must(pl_vault_name_ok((const uint8_t *)c[i].name,
						      strlen(c[i].name)) == 0);
			free(c);
		}
		break;
	}
	case 1: {
		pl_session_rec *s;
		sqlite3_stmt *st;
		uint8_t ik[PL_IK_LEN] = {0};
		must(sqlite3_prepare_v2(mem->db, "SELECT ik FROM sessions", -1, &st, NULL) ==
		     SQLITE_OK);
		if (sqlite3_step(st) == SQLITE_ROW)
			pl_vault_col_fixed(st, 0, ik, sizeof ik);
		sqlite3_finalize(st);
		if (pl_vault_sessions_load(mem, ik, &s, &cnt, &e) == 0) {
			for (size_t i = 0; i < cnt; i++)
				must(s[i].state.n == sizeof real_pt - 1 &&
				     memcmp(s[i].state.p, real_pt, s[i].state.n) == 0);
			pl_vault_sessions_free(s, cnt);
		}
		break;
	}
	case 2: {
		pl_item *it;
		if (pl_vault_item_list(mem, NULL, &it, &cnt, &e) == 0) {
			for (size_t i = 0; i < cnt; i++)
				must(strlen(it[i].state) <= PL_VAULT_STATE_MAX &&
				     (it[i].dir == PL_DIR_IN || it[i].dir == PL_DIR_OUT));
			pl_vault_items_free(it, cnt);
		}
		break;
	}
	case 3: {
		pl_outbox *o;
		if (pl_vault_outbox_list(mem, &o, &cnt, &e) == 0)
			pl_vault_outbox_free(o, cnt);
		break;
	}
	case 4: {
		pl_wr *w;
		if (pl_vault_pending_list(mem, &w, &cnt, &e) == 0)
			pl_vault_pending_free(w, cnt);
		break;
	}
	case 5: {
		pl_prekey k[4];
		int got = pl_vault_opk_unpublished(mem, k, 4, &e);
		must(got >= -1 && got <= 4);
		for (int i = 0; i < got; i++)
			pl_vault_opk_get(mem, k[i].id, &k[0], &e);
		sodium_memzero(k, sizeof k);
		break;
	}
	case 6: {
		pl_prekey k;
		pl_vault_spk_current(mem, &k, &e);
		sodium_memzero(&k, sizeof k);
		break;
	}
	default:
		break;
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	init_once();
	if (size < 1)
		return 0;
	uint8_t mode = data[0];
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	switch (mode & 7) {
	case 0:
		mode_raw(p, n);
		break;
	case 1:
		mode_xor(mode, p, n);
		break;
	case 2:
		mode_kdf(p, n);
		break;
	case 3:
		mode_text(p, n);
		break;
	case 4:
		mode_roundtrip(p, n);
		break;
	default:
		mode_row(p, n);
		break;
	}
	return 0;
}
