/*
 * vault_cases.c — the case file: detainee records and the links from a
 * contact's record references to ours. A record names a person and what is
 * known of their detention, so it is sealed whole (AD "case" ‖ ref); only the
 * local id and the random ref are in clear. Rows read back are decoded
 * strictly; this file never builds SQL from data.
 */
#include "vault/vault_int.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "util/codec.h"
#include "util/text.h"

/* Version 2 appends summary, note and removed; version 3 the person
 * identifier; versions 1 and 2 are still read. */
#define CASE_REC_VERSION 3
#define CASE_REC_VERSION_2 2
#define CASE_REC_VERSION_1 1

typedef struct {
	const char *label;
	size_t off, max;
	int required, multiline;
} field;

#define F(member, max, req, ml)                                                                    \
	{                                                                                          \
#member, offsetof(pl_case, member), max, req, ml                                   \
	}
static const field fields[] = {
    F(name, PL_CASE_NAME_MAX, 1, 0),
    F(held_by, PL_CASE_PARTY_MAX, 1, 0),
    F(nationality, PL_CASE_NAT_MAX, 0, 0),
    F(born, PL_CASE_DATE_MAX, 0, 0),
    F(since, PL_CASE_DATE_MAX, 0, 0),
    F(charges, PL_CASE_CHARGES_MAX, 0, 1),
    F(sentence, PL_CASE_SENTENCE_MAX, 0, 1),
    F(humanitarian, PL_CASE_HUMANITARIAN_MAX, 0, 1),
    /* from version 2 */
    F(summary, PL_CASE_SUMMARY_MAX, 0, 1),
    F(note, PL_CASE_NOTE_MAX, 0, 1),
    /* from version 3 */
    F(person_id, PL_CASE_PERSON_ID_MAX, 0, 0),
};
#define NFIELDS (sizeof fields / sizeof fields[0])
#define NFIELDS_V1 8
#define NFIELDS_V2 10

static const char *fstr(const pl_case *c, const field *f)
{
	return (const char *)c + f->off;
}

int pl_case_check(const pl_case *c, pl_err *e)
{
	for (size_t i = 0; i < NFIELDS; i++) {
		const char *s = fstr(c, &fields[i]);
		size_t n = strnlen(s, fields[i].max + 1);
		if (pl_text_ok((const uint8_t *)s, n, fields[i].required, fields[i].max,
			       fields[i].multiline) != 0)
			return pl_err_set(e, PL_EXIT_USAGE,
					  "%s must be %s%zu bytes of text without control "
					  "characters",
					  fields[i].label,
					  fields[i].required ? "1 to " : "at most ", fields[i].max);
	}
	if (c->priority < 0 || c->priority > 100)
		return pl_err_set(e, PL_EXIT_USAGE, "priority must be between 0 and 100");
	return 0;
}

static void case_ad(pl_wr *ad, const uint8_t ref[static PL_CASE_REF_LEN])
{
	pl_vault_ad(ad, "case");
	pl_wr_bytes(ad, ref, PL_CASE_REF_LEN);
}

static void case_encode(pl_wr *w, const pl_case *c)
{
	pl_wr_u8(w, CASE_REC_VERSION);
	for (size_t i = 0; i < NFIELDS_V1; i++) {
		const char *s = fstr(c, &fields[i]);
		pl_wr_var(w, (const uint8_t *)s, strlen(s));
	}
	pl_wr_u8(w, (uint8_t)c->priority);
	pl_wr_u64(w, c->created);
	pl_wr_u64(w, c->updated);
	for (size_t i = NFIELDS_V1; i < NFIELDS_V2; i++) {
		const char *s = fstr(c, &fields[i]);
		pl_wr_var(w, (const uint8_t *)s, strlen(s));
	}
	pl_wr_u8(w, c->removed ? 1 : 0);
	pl_wr_var(w, (const uint8_t *)c->person_id, strlen(c->person_id));
}

static int case_decode(pl_case *c, const uint8_t *p, size_t n)
{
	pl_rd r;
	pl_rd_init(&r, p, n);
	unsigned version = pl_rd_u8(&r);
	if (version != CASE_REC_VERSION && version != CASE_REC_VERSION_2 &&
	    version != CASE_REC_VERSION_1)
		return -1;
	for (size_t i = 0; i < NFIELDS_V1; i++) {
		size_t len;
		const uint8_t *s = pl_rd_var(&r, fields[i].max, &len);
		if (s == NULL)
			return -1;
		char *dst = (char *)c + fields[i].off;
		memcpy(dst, s, len);
		dst[len] = '\0';
	}
	c->priority = pl_rd_u8(&r);
	c->created = pl_rd_u64(&r);
	c->updated = pl_rd_u64(&r);
	for (size_t i = NFIELDS_V1; i < NFIELDS_V2 && version != CASE_REC_VERSION_1; i++) {
		size_t len;
		const uint8_t *s = pl_rd_var(&r, fields[i].max, &len);
		if (s == NULL)
			return -1;
		char *dst = (char *)c + fields[i].off;
		memcpy(dst, s, len);
		dst[len] = '\0';
	}
	if (version != CASE_REC_VERSION_1) {
		unsigned removed = pl_rd_u8(&r);
		if (removed > 1)
			return -1;
		c->removed = (int)removed;
	}
	if (version == CASE_REC_VERSION) {
		size_t len;
		const uint8_t *s = pl_rd_var(&r, PL_CASE_PERSON_ID_MAX, &len);
		if (s == NULL)
			return -1;
		memcpy(c->person_id, s, len);
		c->person_id[len] = '\0';
	}
	if (pl_rd_done(&r) != 0 || pl_case_check(c, NULL) != 0)
		return -1;
	return 0;
}

static int case_store(pl_vault *v, const pl_case *c, int insert, pl_err *e)
{
	pl_wr ad, pt, blob;
	sqlite3_stmt *st;
	int rc = -1;
	pl_wr_init(&pt);
	pl_wr_init(&blob);
	case_ad(&ad, c->ref);
	case_encode(&pt, c);
	if (pl_wr_ok(&pt) != 0 || pl_vault_seal(&blob, v->kek, &ad, pt.p, pt.n) != 0) {
		pl_err_set(e, PL_EXIT_ERROR, "out of memory sealing a case record");
		goto out;
	}
	if (pl_vault_prep(v, &st,
			  insert ? "INSERT INTO cases(ref, rec) VALUES (?1, ?2)"
				 : "UPDATE cases SET rec = ?2 WHERE ref = ?1 AND id = ?3",
			  e) != 0)
		goto out;
	sqlite3_bind_blob(st, 1, c->ref, PL_CASE_REF_LEN, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, blob.p, (int)blob.n, SQLITE_STATIC);
	if (!insert)
		sqlite3_bind_int64(st, 3, c->id);
	rc = pl_vault_exec(v, st, insert ? "add a case record" : "update a case record", e);
	if (rc == 0 && !insert && sqlite3_changes(v->db) != 1)
		rc = pl_err_set(e, PL_EXIT_NOTFOUND, "case record %lld is gone", (long long)c->id);
	sqlite3_finalize(st);
out:
	pl_wr_free(&ad);
	pl_wr_free(&pt);
	pl_wr_free(&blob);
	return rc;
}

int pl_vault_case_add(pl_vault *v, pl_case *c, pl_err *e)
{
	if (pl_case_check(c, e) != 0)
		return -1;
	randombytes_buf(c->ref, sizeof c->ref);
	c->created = c->updated = (uint64_t)time(NULL);
	if (case_store(v, c, 1, e) != 0)
		return -1;
	c->id = sqlite3_last_insert_rowid(v->db);
	return 0;
}

static int case_row(pl_vault *v, sqlite3_stmt *st, pl_case *c, pl_err *e)
{
	pl_case t;
	pl_wr ad, pt;
	memset(&t, 0, sizeof t);
	if (sqlite3_column_type(st, 0) != SQLITE_INTEGER ||
	    pl_vault_col_fixed(st, 1, t.ref, sizeof t.ref) != 0 ||
	    sqlite3_column_type(st, 2) != SQLITE_BLOB)
		return pl_vault_damaged(v, "a case record is malformed", e);
	t.id = sqlite3_column_int64(st, 0);
	case_ad(&ad, t.ref);
	int r = pl_vault_unseal(&pt, v->kek, &ad, sqlite3_column_blob(st, 2),
				(size_t)sqlite3_column_bytes(st, 2), 16384);
	pl_wr_free(&ad);
	if (r != 0)
		return pl_vault_damaged(v, "a case record does not open", e);
	r = case_decode(&t, pt.p, pt.n);
	pl_wr_free(&pt);
	if (r != 0) {
		sodium_memzero(&t, sizeof t);
		return pl_vault_damaged(v, "a case record is malformed", e);
	}
	*c = t;
	sodium_memzero(&t, sizeof t);
	return 0;
}

static int case_one(pl_vault *v, sqlite3_stmt *st, pl_case *c, const char *missing, pl_err *e)
{
	int rc = sqlite3_step(st), r;
	if (rc == SQLITE_ROW)
		r = case_row(v, st, c, e);
	else if (rc == SQLITE_DONE)
		r = pl_err_set(e, PL_EXIT_NOTFOUND, "%s", missing);
	else
		r = pl_vault_dberr(v, rc, "read a case record", e);
	sqlite3_finalize(st);
	return r;
}

int pl_vault_case_get(pl_vault *v, int64_t id, pl_case *c, pl_err *e)
{
	sqlite3_stmt *st;
	char missing[160];
	if (pl_vault_prep(v, &st, "SELECT id, ref, rec FROM cases WHERE id = ?1", e) != 0)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	snprintf(missing, sizeof missing,
		 "no case record %lld; see parley case list, or add one with parley case add",
		 (long long)id);
	return case_one(v, st, c, missing, e);
}

int pl_vault_case_by_ref(pl_vault *v, const uint8_t ref[static PL_CASE_REF_LEN], pl_case *c,
			 pl_err *e)
{
	sqlite3_stmt *st;
	char hex[2 * PL_CASE_REF_LEN + 1], missing[120];
	if (pl_vault_prep(v, &st, "SELECT id, ref, rec FROM cases WHERE ref = ?1", e) != 0)
		return -1;
	sqlite3_bind_blob(st, 1, ref, PL_CASE_REF_LEN, SQLITE_STATIC);
	pl_hex_encode(hex, ref, PL_CASE_REF_LEN);
	snprintf(missing, sizeof missing, "no case record with reference %s", hex);
	return case_one(v, st, c, missing, e);
}

int pl_vault_case_update(pl_vault *v, pl_case *c, pl_err *e)
{
	pl_case old;
	if (pl_case_check(c, e) != 0 || pl_vault_case_get(v, c->id, &old, e) != 0)
		return -1;
	int same_ref = memcmp(old.ref, c->ref, PL_CASE_REF_LEN) == 0;
	c->created = old.created;
	sodium_memzero(&old, sizeof old);
	if (!same_ref)
		return pl_err_set(e, PL_EXIT_USAGE, "a case record's reference cannot change");
	c->updated = (uint64_t)time(NULL);
	return case_store(v, c, 0, e);
}

int pl_vault_case_list(pl_vault *v, pl_case **out, size_t *n, pl_err *e)
{
	sqlite3_stmt *st;
	pl_case *arr = NULL;
	size_t cap = 0, cnt = 0;
	int rc, r = 0;
	*out = NULL;
	*n = 0;
	if (pl_vault_prep(v, &st, "SELECT id, ref, rec FROM cases ORDER BY id", e) != 0)
		return -1;
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (pl_vault_grow((void **)&arr, &cap, cnt, sizeof *arr) != 0) {
			r = pl_err_set(e, PL_EXIT_ERROR, "out of memory listing cases");
			break;
		}
		if (case_row(v, st, &arr[cnt], e) != 0) {
			r = -1;
			break;
		}
		cnt++;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = pl_vault_dberr(v, rc, "list case records", e);
	sqlite3_finalize(st);
	if (r != 0) {
		if (arr) {
			sodium_memzero(arr, cap * sizeof *arr);
			free(arr);
		}
		return -1;
	}
	*out = arr;
	*n = cnt;
	return 0;
}

int pl_vault_link_put(pl_vault *v, const char *contact, const uint8_t ref[static PL_CASE_REF_LEN],
		      int64_t case_id, pl_err *e)
{
	sqlite3_stmt *st;
	pl_case c;
	if (pl_vault_name_check(contact, e) != 0 || pl_vault_case_get(v, case_id, &c, e) != 0)
		return -1;
	sodium_memzero(&c, sizeof c);
	if (pl_vault_prep(v, &st,
			  "INSERT OR REPLACE INTO links(contact, ref, case_id) VALUES (?1, ?2, ?3)",
			  e) != 0)
		return -1;
	sqlite3_bind_text(st, 1, contact, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, ref, PL_CASE_REF_LEN, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, case_id);
	int rc = pl_vault_exec(v, st, "link a case record", e);
	sqlite3_finalize(st);
	return rc;
}

int pl_vault_link_get(pl_vault *v, const char *contact, const uint8_t ref[static PL_CASE_REF_LEN],
		      int64_t *case_id, pl_err *e)
{
	sqlite3_stmt *st;
	if (pl_vault_name_check(contact, e) != 0)
		return -1;
	if (pl_vault_prep(v, &st, "SELECT case_id FROM links WHERE contact = ?1 AND ref = ?2", e) !=
	    0)
		return -1;
	sqlite3_bind_text(st, 1, contact, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, ref, PL_CASE_REF_LEN, SQLITE_STATIC);
	int rc = sqlite3_step(st), r;
	if (rc == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_INTEGER) {
		*case_id = sqlite3_column_int64(st, 0);
		r = 0;
	} else if (rc == SQLITE_DONE) {
		r = pl_err_set(e, PL_EXIT_NOTFOUND, "that reference is not linked to a record");
	} else if (rc == SQLITE_ROW) {
		r = pl_vault_damaged(v, "a case link is malformed", e);
	} else {
		r = pl_vault_dberr(v, rc, "read a case link", e);
	}
	sqlite3_finalize(st);
	return r;
}

int pl_vault_links_of(pl_vault *v, int64_t case_id, pl_case_link **out, size_t *n, pl_err *e)
{
	sqlite3_stmt *st;
	pl_case_link *arr = NULL;
	size_t cap = 0, cnt = 0;
	int rc, r = 0;
	*out = NULL;
	*n = 0;
	if (pl_vault_prep(v, &st,
			  "SELECT contact, ref FROM links WHERE case_id = ?1 ORDER BY contact, ref",
			  e) != 0)
		return -1;
	sqlite3_bind_int64(st, 1, case_id);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (pl_vault_grow((void **)&arr, &cap, cnt, sizeof *arr) != 0) {
			r = pl_err_set(e, PL_EXIT_ERROR, "out of memory listing links");
			break;
		}
		if (pl_vault_col_name(st, 0, arr[cnt].contact, sizeof arr[cnt].contact) != 0 ||
		    pl_vault_col_fixed(st, 1, arr[cnt].ref, PL_CASE_REF_LEN) != 0) {
			r = pl_vault_damaged(v, "a case link is malformed", e);
			break;
		}
		cnt++;
	}
	if (r == 0 && rc != SQLITE_DONE)
		r = pl_vault_dberr(v, rc, "list case links", e);
	sqlite3_finalize(st);
	if (r != 0) {
		free(arr);
		return -1;
	}
	*out = arr;
	*n = cnt;
	return 0;
}

static int delete_one(pl_vault *v, const char *sql, int64_t id, pl_err *e)
{
	sqlite3_stmt *st;
	if (pl_vault_prep(v, &st, sql, e) != 0)
		return -1;
	sqlite3_bind_int64(st, 1, id);
	int rc = pl_vault_exec(v, st, "remove a case record", e);
	sqlite3_finalize(st);
	return rc;
}

int pl_vault_case_delete(pl_vault *v, int64_t id, pl_err *e)
{
	pl_case c;
	if (pl_vault_case_get(v, id, &c, e) != 0)
		return -1;
	sodium_memzero(&c, sizeof c);
	int own;
	if (pl_vault_tx_start(v, &own, e) != 0)
		return -1;
	int ok = delete_one(v, "DELETE FROM links WHERE case_id = ?1", id, e) == 0 &&
		 delete_one(v, "DELETE FROM cases WHERE id = ?1", id, e) == 0;
	return pl_vault_tx_end(v, own, ok, e);
}
