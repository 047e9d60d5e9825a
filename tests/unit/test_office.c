/*
 * test_office.c — the office's judgement stays in the office (issue 14):
 * a proposal or request carries only a record's shared fields; the sanity
 * checks on a proposal's terms; case remove keeps what a signed move names;
 * case links listed and deleted with their record; contact rename carries
 * the transcript (sealed again under the new name) and the links along.
 * Vaults only: moves are signed and queued, never delivered (no relay).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "client/nego.h"
#include "support.h"
#include "util/wire.h"
#include "vault/vault_int.h"

#define NOTE "do not trade below two"
#define INTERNAL "weeks left, use as leverage"
#define SUMMARY "81 years old, needs cardiac care"

static char dir[256];
static int serial;

typedef struct {
	pl_vault *us, *ir, *ch;
} offices;

static pl_vault *make(const char *sub, const char *name)
{
	char path[32];
	snprintf(path, sizeof path, "%s%d", sub, serial);
	return pl_test_vault_new(dir, path, name, "http://127.0.0.1:9");
}

/* v knows other as a verified contact `name` (no relay: nothing is sent). */
static void know(pl_vault *v, const char *name, pl_vault *other)
{
	pl_contact c;
	pl_err e;
	memset(&c, 0, sizeof c);
	snprintf(c.name, sizeof c.name, "%s", name);
	memcpy(c.ik, pl_vault_identity(other)->pk, PL_IK_LEN);
	c.verified = 1;
	c.added = 1;
	if (pl_vault_contact_put(v, &c, &e) != 0)
		fail_msg("contact put: %s", e.msg);
}

static void open_offices(offices *o)
{
	serial++;
	o->us = make("us", "United States");
	o->ir = make("ir", "Iran");
	o->ch = make("ch", "Switzerland");
	know(o->us, "Iran", o->ir);
	know(o->us, "Switzerland", o->ch);
	know(o->ir, "United States", o->us);
}

static void close_offices(offices *o)
{
	pl_vault_close(o->us);
	pl_vault_close(o->ir);
	pl_vault_close(o->ch);
}

static int64_t add(pl_vault *v, const char *name, const char *held_by)
{
	pl_case c;
	pl_err e;
	memset(&c, 0, sizeof c);
	snprintf(c.name, sizeof c.name, "%s", name);
	snprintf(c.held_by, sizeof c.held_by, "%s", held_by);
	snprintf(c.summary, sizeof c.summary, "%s", SUMMARY);
	snprintf(c.note, sizeof c.note, "%s", NOTE);
	snprintf(c.humanitarian, sizeof c.humanitarian, "%s", INTERNAL);
	snprintf(c.charges, sizeof c.charges, "espionage");
	snprintf(c.since, sizeof c.since, "2016-02-22");
	snprintf(c.born, sizeof c.born, "1936");
	c.priority = 97;
	if (pl_vault_case_add(v, &c, &e) != 0)
		fail_msg("case add: %s", e.msg);
	return c.id;
}

static int propose(pl_vault *v, const char *to, const int64_t *we, size_t nwe, const int64_t *they,
		   size_t nthey, const char *mediator, uint8_t id[static PL_OBJ_ID_LEN], pl_err *e)
{
	pl_nego_terms t;
	int64_t seq;
	memset(&t, 0, sizeof t);
	if (nwe)
		memcpy(t.we, we, nwe * sizeof *we);
	t.n_we = nwe;
	if (nthey)
		memcpy(t.they, they, nthey * sizeof *they);
	t.n_they = nthey;
	t.mediator = mediator;
	pl_err_clear(e);
	return pl_nego_propose(v, to, &t, id, &seq, e);
}

static size_t n_items(pl_vault *v, const char *contact)
{
	pl_item *items;
	size_t n;
	assert_int_equal(pl_vault_item_list(v, contact, &items, &n, NULL), 0);
	pl_vault_items_free(items, n);
	return n;
}

static void test_only_shared_fields_are_signed(void **st)
{
	(void)st;
	offices o;
	open_offices(&o);
	int64_t namazi = add(o.us, "باقر نمازی", "Iran");
	int64_t sheikh = add(o.us, "احمد شیخ‌زاده", "United States");
	uint8_t id[PL_OBJ_ID_LEN], rid[PL_OBJ_ID_LEN];
	pl_err e;
	assert_int_equal(propose(o.us, "Iran", &sheikh, 1, &namazi, 1, NULL, id, &e), 0);
	int64_t seq;
	pl_err_clear(&e);
	assert_int_equal(pl_nego_request(o.us, "Iran", namazi, PL_REQ_MEDICAL_LEAVE, PL_URG_URGENT,
					 "consult", rid, &seq, &e),
			 0);
	pl_obj *d = malloc(sizeof *d);
	assert_non_null(d);
	const uint8_t *ids[] = {id, rid};
	for (int k = 0; k < 2; k++) {
		pl_item it;
		assert_int_equal(pl_nego_find(o.us, ids[k], &it, NULL), 0);
		/* the exact bytes that would travel */
		assert_null(memmem(it.body.p, it.body.n, NOTE, strlen(NOTE)));
		assert_null(memmem(it.body.p, it.body.n, INTERNAL, strlen(INTERNAL)));
		assert_null(memmem(it.body.p, it.body.n, "espionage", 9));
		assert_null(memmem(it.body.p, it.body.n, "2016-02-22", 10));
		assert_non_null(memmem(it.body.p, it.body.n, SUMMARY, strlen(SUMMARY)));
		assert_int_equal(pl_obj_decode_signed(d, it.body.p, it.body.n, NULL), 0);
		assert_int_equal(d->version, PL_OBJ_VERSION);
		const pl_person *p = k == 0 ? &d->u.proposal.recipient[0] : &d->u.request.person;
		assert_string_equal(p->name, "باقر نمازی");
		assert_string_equal(p->born, "1936");
		assert_string_equal(p->humanitarian, SUMMARY);
		assert_int_equal(p->priority, 0);
		assert_string_equal(p->charges, "");
		pl_vault_item_free(&it);
	}
	free(d);
	close_offices(&o);
}

static void test_sanity_checks(void **st)
{
	(void)st;
	offices o;
	open_offices(&o);
	int64_t namazi = add(o.us, "باقر نمازی", "Iran");
	int64_t dup = add(o.us, "باقر نمازی", "iran ");
	int64_t sheikh = add(o.us, "احمد شیخ‌زاده", "United States");
	int64_t swiss = add(o.us, "A. Swiss-held", "Switzerland");
	int64_t evin = add(o.us, "مراد طاهباز", "Evin prison");
	uint8_t id[PL_OBJ_ID_LEN];
	pl_err e;
	size_t before = n_items(o.us, NULL);
	/* we release a person Iran holds */
	assert_int_equal(propose(o.us, "Iran", &namazi, 1, NULL, 0, NULL, id, &e), -1);
	assert_int_equal(e.code, PL_EXIT_USAGE);
	assert_non_null(strstr(e.msg, "held by Iran, not by you"));
	/* held by compares without case and surrounding blanks */
	assert_int_equal(propose(o.us, "Iran", &dup, 1, NULL, 0, NULL, id, &e), -1);
	/* they release a person we hold */
	assert_int_equal(propose(o.us, "Iran", NULL, 0, &sheikh, 1, NULL, id, &e), -1);
	assert_non_null(strstr(e.msg, "--we-release"));
	/* they release a person a third party holds */
	assert_int_equal(propose(o.us, "Iran", &sheikh, 1, &swiss, 1, NULL, id, &e), -1);
	assert_non_null(strstr(e.msg, "held by Switzerland, not by Iran"));
	/* the mediator is the party proposed to */
	assert_int_equal(
	    propose(o.us, "Switzerland", &sheikh, 1, &namazi, 1, "Switzerland", id, &e), -1);
	assert_non_null(strstr(e.msg, "named as mediator"));
	/* one record twice; one person in two records */
	int64_t two[] = {namazi, namazi};
	assert_int_equal(propose(o.us, "Iran", &sheikh, 1, two, 2, NULL, id, &e), -1);
	int64_t both[] = {namazi, dup};
	assert_int_equal(propose(o.us, "Iran", &sheikh, 1, both, 2, NULL, id, &e), -1);
	assert_non_null(strstr(e.msg, "both name"));
	assert_int_equal(n_items(o.us, NULL), before);
	/* what is sane passes: a prison in held by is not a party */
	int64_t fine[] = {namazi, evin};
	assert_int_equal(propose(o.us, "Iran", &sheikh, 1, fine, 2, "Switzerland", id, &e), 0);
	assert_int_equal(n_items(o.us, NULL), before + 1);
	close_offices(&o);
}

static void test_remove_keeps_what_is_signed(void **st)
{
	(void)st;
	offices o;
	open_offices(&o);
	int64_t namazi = add(o.us, "باقر نمازی", "Iran");
	int64_t sheikh = add(o.us, "احمد شیخ‌زاده", "United States");
	int64_t lone = add(o.us, "شیوئه وانگ", "Iran");
	uint8_t id[PL_OBJ_ID_LEN];
	pl_err e;
	assert_int_equal(propose(o.us, "Iran", &sheikh, 1, &namazi, 1, NULL, id, &e), 0);
	pl_case c;
	assert_int_equal(pl_vault_case_get(o.us, namazi, &c, NULL), 0);
	assert_int_equal(pl_nego_case_named(o.us, &c, NULL), 1);
	assert_int_equal(pl_vault_case_get(o.us, lone, &c, NULL), 0);
	assert_int_equal(pl_nego_case_named(o.us, &c, NULL), 0);
	/* a link from their reference to our record, then the record goes */
	uint8_t ref[PL_CASE_REF_LEN];
	memset(ref, 0x5a, sizeof ref);
	assert_int_equal(pl_vault_link_put(o.us, "Iran", ref, lone, NULL), 0);
	pl_case_link *ls;
	size_t n;
	assert_int_equal(pl_vault_links_of(o.us, lone, &ls, &n, NULL), 0);
	assert_int_equal(n, 1);
	assert_string_equal(ls[0].contact, "Iran");
	assert_memory_equal(ls[0].ref, ref, sizeof ref);
	free(ls);
	assert_int_equal(pl_vault_case_delete(o.us, lone, NULL), 0);
	assert_int_equal(pl_vault_case_get(o.us, lone, &c, &e), -1);
	assert_int_equal(e.code, PL_EXIT_NOTFOUND);
	int64_t id_gone;
	assert_int_equal(pl_vault_link_get(o.us, "Iran", ref, &id_gone, NULL), -1);
	/* marked removed: kept, read back, and refused in a new move */
	assert_int_equal(pl_vault_case_get(o.us, namazi, &c, NULL), 0);
	c.removed = 1;
	assert_int_equal(pl_vault_case_update(o.us, &c, NULL), 0);
	assert_int_equal(pl_vault_case_get(o.us, namazi, &c, NULL), 0);
	assert_int_equal(c.removed, 1);
	assert_string_equal(c.note, NOTE);
	assert_string_equal(c.summary, SUMMARY);
	assert_int_equal(propose(o.us, "Iran", &sheikh, 1, &namazi, 1, NULL, id, &e), -1);
	assert_non_null(strstr(e.msg, "was removed"));
	close_offices(&o);
}

static void test_contact_rename(void **st)
{
	(void)st;
	offices o;
	open_offices(&o);
	int64_t namazi = add(o.us, "باقر نمازی", "Iran");
	int64_t sheikh = add(o.us, "احمد شیخ‌زاده", "United States");
	uint8_t id[PL_OBJ_ID_LEN];
	pl_err e;
	assert_int_equal(propose(o.us, "Iran", &sheikh, 1, &namazi, 1, NULL, id, &e), 0);
	uint8_t ref[PL_CASE_REF_LEN];
	memset(ref, 0x33, sizeof ref);
	assert_int_equal(pl_vault_link_put(o.us, "Iran", ref, namazi, NULL), 0);
	size_t n = n_items(o.us, "Iran");
	assert_true(n >= 1);
	const char *fa = "ایران";
	assert_int_equal(pl_vault_contact_rename(o.us, "Iran", "Switzerland", &e), -1);
	assert_int_equal(pl_vault_contact_rename(o.us, "Nobody", fa, &e), -1);
	assert_int_equal(e.code, PL_EXIT_NOTFOUND);
	assert_int_equal(pl_vault_contact_rename(o.us, "Iran", "bad/name", &e), -1);
	assert_int_equal(n_items(o.us, "Iran"), n);
	pl_err_clear(&e);
	if (pl_vault_contact_rename(o.us, "Iran", fa, &e) != 0)
		fail_msg("rename: %s", e.msg);
	/* the bodies open under the new name: the seal was redone */
	assert_int_equal(n_items(o.us, fa), n);
	assert_int_equal(n_items(o.us, "Iran"), 0);
	pl_contact c;
	assert_int_equal(pl_vault_contact_get(o.us, "Iran", &c, &e), -1);
	assert_int_equal(pl_vault_contact_get(o.us, fa, &c, NULL), 0);
	assert_memory_equal(c.ik, pl_vault_identity(o.ir)->pk, PL_IK_LEN);
	int64_t linked;
	assert_int_equal(pl_vault_link_get(o.us, fa, ref, &linked, NULL), 0);
	assert_int_equal(linked, namazi);
	pl_item it;
	assert_int_equal(pl_nego_find(o.us, id, &it, NULL), 0);
	assert_string_equal(it.contact, fa);
	pl_vault_item_free(&it);
	/* the renamed contact can be proposed to */
	assert_int_equal(propose(o.us, fa, &sheikh, 1, NULL, 0, NULL, id, &e), 0);
	close_offices(&o);
}

/* Stores a case record in the version 1 layout (before summary, note and
 * removed), or a version 2 one with removed = `removed`, as an older parley
 * (or a damaged file) would have: sealed under the vault's key. */
static void store_raw(pl_vault *v, int version, unsigned removed, uint8_t tag)
{
	uint8_t ref[PL_CASE_REF_LEN];
	memset(ref, tag, sizeof ref);
	const char *f[] = {"باقر نمازی", "Iran",      "US,Iran",  "1936",
			   "2016-02-22", "espionage", "10 years", "81, pacemaker"};
	pl_wr pt, ad, blob;
	pl_wr_init(&pt);
	pl_wr_u8(&pt, (uint8_t)version);
	for (size_t i = 0; i < 8; i++)
		pl_wr_var(&pt, (const uint8_t *)f[i], strlen(f[i]));
	pl_wr_u8(&pt, 95);
	pl_wr_u64(&pt, 1700000000);
	pl_wr_u64(&pt, 1700000001);
	if (version == 2) {
		pl_wr_var(&pt, (const uint8_t *)"s", 1);
		pl_wr_var(&pt, (const uint8_t *)"n", 1);
		pl_wr_u8(&pt, (uint8_t)removed);
	}
	pl_vault_ad(&ad, "case");
	pl_wr_bytes(&ad, ref, sizeof ref);
	assert_int_equal(pl_vault_seal(&blob, v->kek, &ad, pt.p, pt.n), 0);
	sqlite3_stmt *st;
	assert_int_equal(
	    sqlite3_prepare_v2(v->db, "INSERT INTO cases(ref, rec) VALUES (?1, ?2)", -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_blob(st, 1, ref, sizeof ref, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, blob.p, (int)blob.n, SQLITE_STATIC);
	assert_int_equal(sqlite3_step(st), SQLITE_DONE);
	sqlite3_finalize(st);
	pl_wr_free(&pt);
	pl_wr_free(&ad);
	pl_wr_free(&blob);
}

/* A record written before the split reads back with an empty summary (so
 * its old humanitarian text, now internal, no longer travels) and is
 * written in the new layout on its next edit; a bad removed mark is
 * refused as damage. */
static void test_old_case_records_still_read(void **st)
{
	(void)st;
	offices o;
	open_offices(&o);
	store_raw(o.us, 1, 0, 0x11);
	int64_t id = sqlite3_last_insert_rowid(o.us->db);
	pl_case c;
	pl_err e;
	pl_err_clear(&e);
	if (pl_vault_case_get(o.us, id, &c, &e) != 0)
		fail_msg("get: %s", e.msg);
	assert_string_equal(c.name, "باقر نمازی");
	assert_string_equal(c.humanitarian, "81, pacemaker");
	assert_int_equal(c.priority, 95);
	assert_string_equal(c.summary, "");
	assert_string_equal(c.note, "");
	assert_int_equal(c.removed, 0);
	snprintf(c.note, sizeof c.note, "%s", NOTE);
	assert_int_equal(pl_vault_case_update(o.us, &c, NULL), 0);
	assert_int_equal(pl_vault_case_get(o.us, id, &c, NULL), 0);
	assert_string_equal(c.note, NOTE);
	assert_int_equal(c.created, 1700000000);
	/* named in a proposal: the old humanitarian text stays home */
	int64_t sheikh = add(o.us, "احمد شیخ‌زاده", "United States");
	uint8_t pid[PL_OBJ_ID_LEN];
	assert_int_equal(propose(o.us, "Iran", &sheikh, 1, &id, 1, NULL, pid, &e), 0);
	pl_item it;
	assert_int_equal(pl_nego_find(o.us, pid, &it, NULL), 0);
	assert_null(memmem(it.body.p, it.body.n, "pacemaker", 9));
	pl_vault_item_free(&it);
	store_raw(o.us, 2, 1, 0x22);
	id = sqlite3_last_insert_rowid(o.us->db);
	assert_int_equal(pl_vault_case_get(o.us, id, &c, NULL), 0);
	assert_int_equal(c.removed, 1);
	store_raw(o.us, 2, 2, 0x33);
	id = sqlite3_last_insert_rowid(o.us->db);
	assert_int_equal(pl_vault_case_get(o.us, id, &c, &e), -1);
	close_offices(&o);
}

static int setup(void **st)
{
	(void)st;
	pl_test_tmpdir(dir, sizeof dir, "office");
	return 0;
}

static int teardown(void **st)
{
	(void)st;
	pl_test_rm_rf(dir);
	return 0;
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_only_shared_fields_are_signed),
	    cmocka_unit_test(test_sanity_checks),
	    cmocka_unit_test(test_remove_keeps_what_is_signed),
	    cmocka_unit_test(test_contact_rename),
	    cmocka_unit_test(test_old_case_records_still_read),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
