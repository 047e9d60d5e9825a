/*
 * test_match.c — blind matching between two real vaults over a real
 * relay, in one process (client/match.h), where a side that deviates can
 * be played: one that sends a list other than the one it committed to,
 * one that sends two different commitments, and one that stops after
 * learning (it fetches the other's answer and sends none), which the
 * other's view shows from the relay's log. tests/integration/test_match.sh
 * drives the honest outcomes through the CLI.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/match.h"
#include "client/messenger.h"
#include "client/nego.h"
#include "crypto/psi.h"
#include "support.h"
#include "util/codec.h"

typedef struct {
	char dir[128];
	pl_test_relay r;
	pl_vault *a, *b;
} env_t;

static int setup(void **state)
{
	env_t *x = calloc(1, sizeof *x);
	char data[192];
	pl_test_tmpdir(x->dir, sizeof x->dir, "match");
	snprintf(data, sizeof data, "%s/data", x->dir);
	static const char *const args[] = {"--new-mailboxes-per-hour", "0", NULL};
	if (pl_test_relay_start(&x->r, data, 0, args) != 0) {
		pl_test_rm_rf(x->dir);
		free(x);
		return -1;
	}
	x->a = pl_test_vault_new(x->dir, "a", "alice", x->r.url);
	x->b = pl_test_vault_new(x->dir, "b", "bob", x->r.url);
	pl_err e;
	pl_err_clear(&e);
	assert_int_equal(pl_msgr_publish(x->a, &e), 0);
	assert_int_equal(pl_msgr_publish(x->b, &e), 0);
	pl_test_befriend(x->a, "bob", x->b);
	pl_test_befriend(x->b, "alice", x->a);
	*state = x;
	return 0;
}

static int teardown(void **state)
{
	env_t *x = *state;
	pl_vault_close(x->a);
	pl_vault_close(x->b);
	pl_test_relay_stop(&x->r);
	pl_test_rm_rf(x->dir);
	free(x);
	return 0;
}

/* The honest sync: receive, move matches on, deliver. */
static pl_nego_report nsync(pl_vault *v, uint64_t *log_size)
{
	pl_sync_report r;
	pl_nego_report nr;
	pl_err e;
	memset(&r, 0, sizeof r);
	pl_err_clear(&e);
	if (pl_nego_sync(v, &r, &nr, &e) != 0)
		fail_msg("sync: %s", e.msg);
	if (log_size)
		*log_size = r.log_size;
	return nr;
}

/* A sync that stores what arrives and acknowledges it, and moves nothing
 * on: a side that reads and does not answer. */
static void read_only(pl_vault *v)
{
	pl_sync_report r;
	pl_err e;
	memset(&r, 0, sizeof r);
	pl_err_clear(&e);
	pl_msgr_object_handler h = {pl_nego_object_received, NULL};
	if (pl_msgr_sync(v, &h, &r, &e) != 0)
		fail_msg("read-only sync: %s", e.msg);
}

static void deliver(pl_vault *v)
{
	pl_sync_report r;
	pl_err e;
	memset(&r, 0, sizeof r);
	pl_err_clear(&e);
	if (pl_msgr_deliver(v, &r, &e) != 0)
		fail_msg("deliver: %s", e.msg);
}

static json_t *show(pl_vault *v, const uint8_t id[static PL_MATCH_ID_LEN])
{
	json_t *j = NULL;
	pl_err e;
	pl_err_clear(&e);
	if (pl_match_show(v, id, &j, NULL, &e) != 0)
		fail_msg("show: %s", e.msg);
	return j;
}

static const char *state_of(pl_vault *v, const uint8_t id[static PL_MATCH_ID_LEN], char *buf,
			    size_t cap)
{
	json_t *j = show(v, id);
	snprintf(buf, cap, "%s", json_string_value(json_object_get(j, "state")));
	json_decref(j);
	return buf;
}

static void start_count(pl_vault *v, const char *to, const char *label, const char **ids, size_t n,
			uint8_t id[static PL_MATCH_ID_LEN])
{
	char(*arr)[PL_PERSON_ID_MAX + 1] = calloc(n, sizeof *arr);
	for (size_t i = 0; i < n; i++)
		snprintf(arr[i], sizeof arr[i], "%s", ids[i]);
	pl_match_input in = {.kind = PL_MATCH_COUNT, .label = label, .max = 64, .ids = arr, .n = n};
	pl_err e;
	pl_err_clear(&e);
	if (pl_match_start(v, to, &in, id, NULL, NULL, &e) != 0)
		fail_msg("start: %s", e.msg);
	free(arr);
	deliver(v);
}

/* Bob's list as it would be for other people: blinded under a new
 * scalar, sorted, in parts, queued raw as match messages to alice. */
static void send_other_list(pl_vault *b, const uint8_t id[static PL_MATCH_ID_LEN],
			    const uint8_t alice[static PL_IK_LEN], const char **ids, size_t n)
{
	uint8_t k[32], ctx[81];
	uint8_t(*y)[32] = calloc(n, 32);
	pl_psi_elem *pe = calloc(n, sizeof *pe);
	for (size_t i = 0; i < n; i++) {
		pe[i].p = (const uint8_t *)ids[i];
		pe[i].n = strlen(ids[i]);
	}
	pl_psi_keygen(k);
	pl_match_ctx(ctx, PL_MATCH_COUNT, id, pl_vault_identity(b)->pk, alice);
	assert_int_equal(pl_psi_blind(y, pe, n, ctx, sizeof ctx, (const uint8_t *)PL_MATCH_DST,
				      strlen(PL_MATCH_DST), k, NULL, NULL),
			 0);
	pl_psi_sort(y, n, NULL);
	pl_wr w;
	pl_wr_init(&w);
	assert_int_equal(pl_match_chunk_encode(&w, PL_MATCH_LIST, id, 0, (uint32_t)n,
					       (const uint8_t(*)[32])y, NULL, 0),
			 0);
	uint8_t item[8];
	int64_t seq;
	pl_err e;
	pl_err_clear(&e);
	assert_int_equal(pl_msgr_queue(b, "alice", PL_KIND_MATCH, w.p, w.n, item, &seq, &e), 0);
	pl_wr_free(&w);
	deliver(b);
	free(pe);
	free(y);
}

static const char *A_IDS[] = {"IRN:A1", "IRN:A2", "IRN:A3"};
static const char *B_IDS[] = {"IRN:A2", "IRN:A3", "IRN:B9"};
static const char *B_OTHER[] = {"IRN:A1", "IRN:A2", "IRN:A3"};

/* An honest count first: 2 in common, on both sides. */
static void test_count_honest(void **state)
{
	env_t *x = *state;
	uint8_t id[PL_MATCH_ID_LEN], id2[PL_MATCH_ID_LEN];
	char s[32];
	start_count(x->a, "bob", "honest", A_IDS, 3, id);
	start_count(x->b, "alice", "honest", B_IDS, 3, id2);
	assert_memory_equal(id, id2, PL_MATCH_ID_LEN);
	for (int i = 0; i < 3; i++) {
		nsync(x->a, NULL);
		nsync(x->b, NULL);
	}
	assert_string_equal(state_of(x->a, id, s, sizeof s), "done");
	json_t *ja = show(x->a, id), *jb = show(x->b, id);
	assert_int_equal(json_integer_value(json_object_get(ja, "result")), 2);
	assert_int_equal(json_integer_value(json_object_get(jb, "result")), 2);
	json_decref(ja);
	json_decref(jb);
}

/* Bob commits to one list and sends another: alice stops the match,
 * sends no answer, and says why. */
static void test_list_changed_after_commitment(void **state)
{
	env_t *x = *state;
	uint8_t id[PL_MATCH_ID_LEN], id2[PL_MATCH_ID_LEN];
	char s[32];
	start_count(x->a, "bob", "changed", A_IDS, 3, id);
	start_count(x->b, "alice", "changed", B_IDS, 3, id2); /* committed to B_IDS */
	/* Bob never moves on honestly: it sends a list of other people. */
	read_only(x->b);
	send_other_list(x->b, id, pl_vault_identity(x->a)->pk, B_OTHER, 3);
	nsync(x->a, NULL);
	nsync(x->a, NULL);
	json_t *j = show(x->a, id);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "broken");
	const char *why = json_string_value(json_object_get(j, "why"));
	assert_non_null(why);
	assert_non_null(strstr(why, "changed their input after committing"));
	assert_true(json_is_null(json_object_get(j, "result")));
	json_decref(j);
	/* alice answered nothing: bob never gets a result */
	read_only(x->b);
	assert_string_not_equal(state_of(x->b, id, s, sizeof s), "done");
}

/* Two different signed commitments from bob for one match. */
static void test_two_commitments(void **state)
{
	env_t *x = *state;
	uint8_t id[PL_MATCH_ID_LEN], commit[32];
	char s[32];
	start_count(x->a, "bob", "twice", A_IDS, 3, id);
	/* bob commits twice, to different sizes */
	for (uint32_t size = 2; size <= 3; size++) {
		pl_wr w;
		pl_wr_init(&w);
		randombytes_buf(commit, sizeof commit);
		assert_int_equal(pl_match_commit_encode(
				     &w, id, PL_MATCH_COUNT, 64, size, commit, "twice", pl_now(),
				     pl_vault_identity(x->a)->pk, pl_vault_identity(x->b)),
				 0);
		uint8_t item[8];
		int64_t seq;
		pl_err e;
		pl_err_clear(&e);
		assert_int_equal(
		    pl_msgr_queue(x->b, "alice", PL_KIND_MATCH, w.p, w.n, item, &seq, &e), 0);
		pl_wr_free(&w);
	}
	deliver(x->b);
	nsync(x->a, NULL);
	assert_string_equal(state_of(x->a, id, s, sizeof s), "broken");
}

/* Alice reads bob's answer and sends none: bob's view shows, from the
 * relay's log, that alice fetched it. */
static void test_stop_after_learning_shown(void **state)
{
	env_t *x = *state;
	uint8_t id[PL_MATCH_ID_LEN], id2[PL_MATCH_ID_LEN];
	char s[32];
	start_count(x->a, "bob", "stop", A_IDS, 3, id);
	start_count(x->b, "alice", "stop", B_IDS, 3, id2);
	nsync(x->a, NULL); /* alice: bob's commitment; alice's list goes */
	nsync(x->b, NULL); /* bob: alice's list; bob's list and answer go */
	assert_string_equal(state_of(x->b, id, s, sizeof s), "answered");
	/* alice fetches bob's list and answer (acknowledged to the relay),
	 * computes her result, and never sends her answer */
	read_only(x->a);
	unsigned moved = 0;
	pl_err e;
	pl_err_clear(&e);
	assert_int_equal(pl_match_advance(x->a, NULL, NULL, &moved, &e), 0);
	assert_string_equal(state_of(x->a, id, s, sizeof s), "done");
	json_t *j = show(x->b, id);
	assert_null(json_object_get(j, "they_fetched_our_answer_at_leaf"));
	json_decref(j);
	uint64_t size = 0;
	pl_nego_report nr = nsync(x->b, &size);
	assert_int_equal(nr.matches_stopped, 1);
	j = show(x->b, id);
	assert_string_equal(json_string_value(json_object_get(j, "state")), "answered");
	json_t *leaf = json_object_get(j, "they_fetched_our_answer_at_leaf");
	assert_true(json_is_integer(leaf));
	assert_true((uint64_t)json_integer_value(leaf) < size);
	assert_true(json_is_null(json_object_get(j, "result")));
	json_decref(j);
}

int main(int argc, char **argv)
{
	(void)argc;
	if (sodium_init() < 0)
		return 1;
	pl_test_relay_bin(argv[0]);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_count_honest, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_list_changed_after_commitment, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_two_commitments, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_stop_after_learning_shown, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
