/*
 * test_purge.c — the retention purge (pl_vault_purge_notes): notes before
 * the cutoff go, in both directions, and nothing else does (signed objects,
 * acks, notes after the cutoff, a note still in the outbox); and the sealed
 * body of a purged note is no longer anywhere in the database image or
 * the sealed file. It reads the private header (vault_int.h) only to fetch a
 * sealed body as stored, the bytes an attacker with the files would look
 * for.
 */
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>
#include <sqlite3.h>
#include <unistd.h>

#include "envelope/envelope.h"
#include "support.h"
#include "util/codec.h"
#include "vault/vault.h"
#include "vault/vault_int.h"

#define CUTOFF 1700000000u /* the purge's DATE */

typedef struct {
	char dir[PATH_MAX];
	pl_vault *v, *peer;
	int64_t old_out, old_in, old_queued, new_note, old_obj, old_ack;
} fx;

static int64_t add(pl_vault *v, int kind, int dir, uint64_t time, const char *state,
		   const char *text, int receipt)
{
	pl_item it;
	pl_err e;
	pl_err_clear(&e);
	memset(&it, 0, sizeof it);
	pl_wr_init(&it.body);
	pl_wr_init(&it.receipt);
	snprintf(it.contact, sizeof it.contact, "bob");
	randombytes_buf(it.id, sizeof it.id);
	it.dir = dir;
	it.kind = kind;
	it.time = time;
	snprintf(it.state, sizeof it.state, "%s", state);
	pl_wr_bytes(&it.body, (const uint8_t *)text, strlen(text));
	if (receipt) {
		pl_wr_bytes(&it.receipt, (const uint8_t *)"receipt-bytes", 13);
		it.has_receipt = 1;
	}
	if (pl_vault_item_add(v, &it, &e) != 0)
		fail_msg("item: %s", e.msg);
	pl_vault_item_free(&it);
	return it.seq;
}

static int setup(void **state)
{
	fx *f = calloc(1, sizeof *f);
	assert_non_null(f);
	pl_test_tmpdir(f->dir, sizeof f->dir, "purge");
	f->v = pl_test_vault_new(f->dir, "alice", "alice", "http://127.0.0.1:9");
	f->peer = pl_test_vault_new(f->dir, "bob", "bob", "http://127.0.0.1:9");
	pl_contact c;
	pl_err e;
	pl_err_clear(&e);
	memset(&c, 0, sizeof c);
	snprintf(c.name, sizeof c.name, "bob");
	memcpy(c.ik, pl_vault_identity(f->peer)->pk, PL_IK_LEN);
	c.verified = 1;
	c.added = 1;
	if (pl_vault_contact_put(f->v, &c, &e) != 0)
		fail_msg("contact: %s", e.msg);
	f->old_out = add(f->v, PL_KIND_NOTE, PL_DIR_OUT, CUTOFF - 100, "fetched",
			 "OLD OUTGOING NOTE: meet at the crossing", 1);
	f->old_in = add(f->v, PL_KIND_NOTE, PL_DIR_IN, CUTOFF - 1, "received",
			"OLD INCOMING NOTE: two names added", 0);
	f->old_queued = add(f->v, PL_KIND_NOTE, PL_DIR_OUT, CUTOFF - 50, "queued",
			    "OLD QUEUED NOTE: not delivered yet", 0);
	if (pl_vault_outbox_add(f->v, f->old_queued, "bob", &e) != 0)
		fail_msg("outbox: %s", e.msg);
	f->new_note = add(f->v, PL_KIND_NOTE, PL_DIR_IN, CUTOFF, "received",
			  "NEW NOTE: at the cutoff itself, so kept", 0);
	f->old_obj = add(f->v, PL_KIND_OBJECT, PL_DIR_OUT, CUTOFF - 200, "delivered",
			 "OLD SIGNED OBJECT", 1);
	f->old_ack = add(f->v, PL_KIND_ACK, PL_DIR_OUT, CUTOFF - 200, "delivered", "OLD ACK", 0);
	if (pl_vault_receipt_checked(f->v, f->old_out, 3, 4, &e) != 0 ||
	    pl_vault_receipt_checked(f->v, f->old_obj, 4, 5, &e) != 0)
		fail_msg("receipt check: %s", e.msg);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	fx *f = *state;
	pl_vault_close(f->v);
	pl_vault_close(f->peer);
	pl_test_rm_rf(f->dir);
	free(f);
	return 0;
}

static int has_item(pl_vault *v, int64_t seq)
{
	pl_item it;
	pl_err e;
	pl_err_clear(&e);
	int r = pl_vault_item_get(v, seq, &it, &e);
	if (r == 0) {
		pl_vault_item_free(&it);
		return 1;
	}
	assert_int_equal(e.code, PL_EXIT_NOTFOUND);
	return 0;
}

static void test_purge_keeps_all_but_old_notes(void **state)
{
	fx *f = *state;
	pl_err e;
	pl_err_clear(&e);
	uint64_t n = 99;
	assert_int_equal(pl_vault_purge_notes(f->v, CUTOFF, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_false(has_item(f->v, f->old_out));
	assert_false(has_item(f->v, f->old_in));
	assert_true(has_item(f->v, f->old_queued));
	assert_true(has_item(f->v, f->new_note));
	assert_true(has_item(f->v, f->old_obj));
	assert_true(has_item(f->v, f->old_ack));
	/* The object keeps its receipt and its proof; the queued note stays
	 * queued. */
	pl_item it;
	assert_int_equal(pl_vault_item_get(f->v, f->old_obj, &it, &e), 0);
	assert_true(it.has_receipt);
	assert_memory_equal(it.receipt.p, "receipt-bytes", 13);
	pl_vault_item_free(&it);
	assert_int_equal(pl_vault_receipt_is_checked(f->v, f->old_obj), 1);
	pl_outbox *ob;
	size_t m;
	assert_int_equal(pl_vault_outbox_list(f->v, &ob, &m, &e), 0);
	assert_int_equal(m, 1);
	assert_int_equal(ob[0].item_seq, f->old_queued);
	pl_vault_outbox_free(ob, m);
	assert_int_equal(pl_vault_get_u64(f->v, "notes_purged_before", 0), CUTOFF);
	assert_int_equal(pl_vault_get_u64(f->v, "notes_purged", 0), 2);

	/* Once delivered (out of the outbox), the old note goes at the next
	 * purge; a purge with nothing left deletes nothing. */
	assert_int_equal(pl_vault_item_set_state(f->v, f->old_queued, "delivered", NULL, 0, &e), 0);
	assert_int_equal(pl_vault_outbox_remove(f->v, f->old_queued, &e), 0);
	assert_int_equal(pl_vault_purge_notes(f->v, CUTOFF, &n, &e), 0);
	assert_int_equal(n, 1);
	assert_false(has_item(f->v, f->old_queued));
	assert_int_equal(pl_vault_purge_notes(f->v, CUTOFF, &n, &e), 0);
	assert_int_equal(n, 0);
	assert_true(has_item(f->v, f->new_note));
	assert_int_equal(pl_vault_get_u64(f->v, "notes_purged", 0), 3);
	/* An earlier cutoff does not move the recorded one back. */
	assert_int_equal(pl_vault_purge_notes(f->v, CUTOFF - 1000, &n, &e), 0);
	assert_int_equal(pl_vault_get_u64(f->v, "notes_purged_before", 0), CUTOFF);
}

static void test_purge_refused_inside_a_change(void **state)
{
	fx *f = *state;
	pl_err e;
	pl_err_clear(&e);
	uint64_t n = 7;
	assert_int_equal(pl_vault_begin(f->v, &e), 0);
	assert_int_equal(pl_vault_purge_notes(f->v, CUTOFF, &n, &e), -1);
	assert_int_equal(n, 0);
	pl_vault_rollback(f->v);
	assert_true(has_item(f->v, f->old_out));
	pl_err_clear(&e);
	assert_int_equal(pl_vault_purge_notes(f->v, (uint64_t)INT64_MAX + 1, &n, &e), -1);
	assert_true(has_item(f->v, f->old_out));
}

/* Where needle occurs in the file, or 0 if nowhere (a missing file holds
 * nothing). */
static int file_has(const char *path, const uint8_t *needle, size_t nn)
{
	size_t len = 0;
	FILE *fp = fopen(path, "rb");
	if (fp == NULL)
		return 0;
	fclose(fp);
	uint8_t *p = pl_test_read_file(path, &len);
	int found = 0;
	for (size_t i = 0; p && len >= nn && i <= len - nn && !found; i++)
		found = memcmp(p + i, needle, nn) == 0;
	free(p);
	return found;
}

/* The bytes are in the vault's database image, free pages included (what
 * whoever has the file and the passphrase could read), or in the raw file. */
static int vault_files_have(const fx *f, const uint8_t *needle, size_t nn)
{
	char pv[PATH_MAX + 32];
	snprintf(pv, sizeof pv, "%s/alice/vault.pv", f->dir);
	int found = f->v && memmem(f->v->mem.buf, f->v->mem.n, needle, nn) != NULL;
	return found || file_has(pv, needle, nn);
}

/* The sealed body of item seq as stored (what the files would show). */
static size_t stored_body(pl_vault *v, int64_t seq, uint8_t *out, size_t cap)
{
	sqlite3_stmt *st;
	assert_int_equal(
	    sqlite3_prepare_v2(v->db, "SELECT body FROM items WHERE seq = ?1", -1, &st, NULL),
	    SQLITE_OK);
	sqlite3_bind_int64(st, 1, seq);
	assert_int_equal(sqlite3_step(st), SQLITE_ROW);
	size_t n = (size_t)sqlite3_column_bytes(st, 0);
	assert_true(n >= 32 && n <= cap);
	memcpy(out, sqlite3_column_blob(st, 0), n);
	sqlite3_finalize(st);
	return n;
}

static void test_purged_bytes_gone_from_files(void **state)
{
	fx *f = *state;
	uint8_t out_blob[512], in_blob[512], kept_blob[512];
	size_t on = stored_body(f->v, f->old_out, out_blob, sizeof out_blob);
	size_t in = stored_body(f->v, f->old_in, in_blob, sizeof in_blob);
	size_t kn = stored_body(f->v, f->old_obj, kept_blob, sizeof kept_blob);
	/* Before: the bodies are in the files (in the WAL or the database), or
	 * the scan below could not fail. */
	assert_true(vault_files_have(f, out_blob, on));
	assert_true(vault_files_have(f, in_blob, in));
	pl_err e;
	pl_err_clear(&e);
	uint64_t n;
	assert_int_equal(pl_vault_purge_notes(f->v, CUTOFF, &n, &e), 0);
	assert_int_equal(n, 2);
	assert_false(vault_files_have(f, out_blob, on));
	assert_false(vault_files_have(f, in_blob, in));
	/* A kept object's sealed body is still there, so the scan sees the
	 * files it should. */
	assert_true(vault_files_have(f, kept_blob, kn));
	/* And after close, and the vault still opens and reads. */
	pl_vault_close(f->v);
	f->v = NULL;
	assert_false(vault_files_have(f, out_blob, on));
	assert_false(vault_files_have(f, in_blob, in));
	char path[PATH_MAX + 16];
	snprintf(path, sizeof path, "%s/alice", f->dir);
	assert_int_equal(pl_vault_open(&f->v, path, PL_TEST_PASS, strlen(PL_TEST_PASS), &e), 0);
	pl_item *items;
	size_t m;
	assert_int_equal(pl_vault_item_list(f->v, "bob", &items, &m, &e), 0);
	assert_int_equal(m, 4);
	pl_vault_items_free(items, m);
}

int main(int argc, char **argv)
{
	(void)argc;
	pl_test_relay_bin(argv[0]);
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_purge_keeps_all_but_old_notes, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_purge_refused_inside_a_change, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_purged_bytes_gone_from_files, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
