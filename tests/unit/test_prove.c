/* test_prove.c — pl_prove_outreach through the library against a real
 * parley-relay started here: two vaults, each the other's verified contact;
 * "United States" sends three notes to "Iran", Iran fetches (and so acks)
 * the first two and replies once, the third is never fetched. The bundle
 * written must verify offline against the relay's log key, list the three
 * deposits, count the two fetched ones (never the third), carry Iran's
 * acks as fetch leaves and the one reply as the prover's statement; and
 * nothing is written for a contact nothing was sent to. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "client/messenger.h"
#include "client/nego.h"
#include "client/prove.h"
#include "export/outreach.h"
#include "log/leaf.h"
#include "support.h"
#include "util/codec.h"
#include "vault/vault.h"

static char dir[256], relay_dir[300];
static pl_test_relay relay;

static void test_prove_outreach(void **st)
{
	char out[320], none[320], vkey[PL_NOTE_VKEY_MAX];
	uint8_t rpk[32];
	pl_prove_report r;
	pl_outreach_summary s;
	pl_err e;
	size_t n = 0;
	(void)st;

	pl_vault *us = pl_test_vault_new(dir, "us", "United States", relay.url);
	pl_vault *ir = pl_test_vault_new(dir, "ir", "Iran", relay.url);
	pl_test_befriend(us, "Iran", ir);
	pl_test_befriend(ir, "United States", us);
	pl_test_sync(us, NULL);
	pl_test_sync(ir, NULL);

	pl_test_send_note(us, "Iran", "first");
	pl_test_send_note(us, "Iran", "second");
	pl_test_sync(ir, NULL); /* fetches and acks both */
	pl_test_send_note(ir, "United States", "a reply");
	pl_test_sync(us, NULL); /* receives the reply, audits the log */
	pl_test_send_note(us, "Iran", "third, never fetched");

	/* nothing sent to a contact: nothing to prove, no file */
	pl_vault *om = pl_test_vault_new(dir, "om", "Oman", relay.url);
	pl_test_befriend(us, "Oman", om);
	snprintf(none, sizeof none, "%s/none.json", dir);
	memset(&r, 0, sizeof r);
	assert_int_equal(pl_prove_outreach(us, "Oman", none, &r, &e), -1);
	assert_int_equal(e.code, PL_EXIT_NOTFOUND);
	assert_int_equal(access(none, F_OK), -1);

	snprintf(out, sizeof out, "%s/proof.json", dir);
	memset(&r, 0, sizeof r);
	if (pl_prove_outreach(us, "Iran", out, &r, &e) != 0)
		fail_msg("prove: %s", e.msg);
	assert_int_equal(r.deposits, 3);
	assert_int_equal(r.fetched, 2);
	assert_true(r.fetch_leaves >= 1);
	assert_int_equal(r.replies, 1);
	assert_true(r.checkpoint_size >= 3);

	/* the file verifies offline against the relay's log key */
	uint8_t *file = pl_test_read_file(out, &n);
	assert_non_null(file);
	assert_int_equal(pl_vault_relay_key(us, rpk), 0);
	assert_int_equal(pl_leaf_log_vkey_string(vkey, rpk), 0);
	const uint8_t(*expect)[PL_IK_LEN] = (const uint8_t(*)[PL_IK_LEN])pl_vault_identity(ir)->pk;
	if (pl_outreach_proof_verify(&s, file, n, vkey, expect, 1, &e) != 0)
		fail_msg("verify: %s", e.msg);
	assert_false(s.used_embedded_key);
	assert_string_equal(s.prover_name, "United States");
	assert_string_equal(s.peer_name, "Iran");
	assert_memory_equal(s.peer_ik, pl_vault_identity(ir)->pk, PL_IK_LEN);
	assert_int_equal(s.n_deposits, 3);
	assert_int_equal(s.n_fetches, r.fetch_leaves);
	assert_int_equal(s.replies_received, 1);
	/* two fetched, the last deposit (third note) not */
	assert_int_equal(s.n_fetched, 2);
	assert_true(s.items[0].fetched && s.items[1].fetched);
	assert_false(s.items[2].fetched);
	assert_true(s.items[2].seq > s.items[1].seq);
	assert_int_equal(s.all_fetched_by, 0);
	pl_outreach_summary_free(&s);
	free(file);

	pl_vault_close(om);
	pl_vault_close(ir);
	pl_vault_close(us);
}

static int group_setup(void **st)
{
	(void)st;
	if (sodium_init() < 0)
		return -1;
	char tmpl[] = "/tmp/parley-prove.XXXXXX";
	if (mkdtemp(tmpl) == NULL)
		return -1;
	snprintf(dir, sizeof dir, "%s", tmpl);
	snprintf(relay_dir, sizeof relay_dir, "%s/relay", dir);
	return pl_test_relay_start(&relay, relay_dir, 0, NULL);
}

static int group_teardown(void **st)
{
	(void)st;
	pl_test_relay_stop(&relay);
	pl_test_rm_rf(dir);
	return 0;
}

int main(int argc, char **argv)
{
	(void)argc;
	pl_test_relay_bin(argv[0]);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_prove_outreach),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
