/*
 * test_revoke.c — revocation statements (src/identity/revocation.c) and
 * applying them (src/client/revoke.c):
 *   - the codec: a statement round-trips; a flipped byte anywhere (label,
 *     key, time, signature), a truncation, a trailing byte, time 0 and a
 *     statement signed by another key than the one it names are refused;
 *   - played for real through parley-relay on 127.0.0.1 and two vaults
 *     driven through the library: alice, a contact of bob, sends him over
 *     their session a revocation signed by a stranger (of the stranger's
 *     key) and one of a third party's key: both are refused, counted, and
 *     alice stays sendable. Her genuine one is applied: bob refuses to
 *     queue for her with the one line, and an envelope she sends after it
 *     is refused, not stored. alice's own revocation (pl_revoke_self)
 *     leaves her vault unable to queue anything.
 * The relay tests are skipped when the relay binary is not there.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "client/messenger.h"
#include "client/revoke.h"
#include "envelope/envelope.h"
#include "identity/revocation.h"
#include "util/codec.h"
#include "support.h"

static pl_identity signer;

static void test_roundtrip(void **state)
{
	(void)state;
	uint8_t s[PL_REVOCATION_LEN];
	pl_revocation r;
	assert_int_equal(pl_revocation_make(s, &signer, 1700000000), 0);
	assert_memory_equal(s, PL_REVOCATION_LABEL, PL_REVOCATION_LABEL_LEN);
	assert_int_equal(pl_revocation_decode(&r, s, sizeof s), 0);
	assert_memory_equal(r.ik, signer.pk, PL_IK_LEN);
	assert_int_equal(r.time, 1700000000);
	assert_int_equal(pl_revocation_make(s, &signer, 0), -1);
}

static void test_refusals(void **state)
{
	(void)state;
	uint8_t s[PL_REVOCATION_LEN + 1], t[PL_REVOCATION_LEN + 1];
	pl_revocation r;
	assert_int_equal(pl_revocation_make(s, &signer, 1700000000), 0);
	/* every byte flipped, one at a time */
	for (size_t i = 0; i < PL_REVOCATION_LEN; i++) {
		memcpy(t, s, PL_REVOCATION_LEN);
		t[i] ^= 0x01;
		assert_int_equal(pl_revocation_decode(&r, t, PL_REVOCATION_LEN), -1);
	}
	/* truncated, or a byte more */
	for (size_t n = 0; n < PL_REVOCATION_LEN; n++)
		assert_int_equal(pl_revocation_decode(&r, s, n), -1);
	s[PL_REVOCATION_LEN] = 0;
	assert_int_equal(pl_revocation_decode(&r, s, PL_REVOCATION_LEN + 1), -1);
	assert_int_equal(pl_revocation_decode(&r, NULL, PL_REVOCATION_LEN), -1);
	/* another key named, signed by the signer: the signature does not
	 * check under the key named */
	pl_identity other;
	assert_int_equal(pl_identity_generate(&other), 0);
	memcpy(t, s, PL_REVOCATION_LEN);
	memcpy(t + PL_REVOCATION_LABEL_LEN, other.pk, PL_IK_LEN);
	assert_int_equal(pl_revocation_decode(&r, t, PL_REVOCATION_LEN), -1);
	/* time 0, even correctly signed */
	uint8_t z[PL_REVOCATION_LEN];
	memcpy(z, s, PL_REVOCATION_LABEL_LEN + PL_IK_LEN);
	memset(z + PL_REVOCATION_LABEL_LEN + PL_IK_LEN, 0, 8);
	crypto_sign_detached(z + PL_REVOCATION_LEN - PL_SIG_LEN, NULL, z,
			     PL_REVOCATION_LEN - PL_SIG_LEN, signer.sk);
	assert_int_equal(pl_revocation_decode(&r, z, sizeof z), -1);
	pl_identity_wipe(&other);
}

/* ---- through a relay ------------------------------------------------------ */

static struct {
	char dir[128];
	pl_test_relay relay;
	pl_vault *alice, *bob;
} net;

static int net_setup(void **state)
{
	(void)state;
	char data[160];
	pl_err e;
	pl_err_clear(&e);
	snprintf(net.dir, sizeof net.dir, "/tmp/parley-revoke-XXXXXX");
	if (mkdtemp(net.dir) == NULL)
		return -1;
	snprintf(data, sizeof data, "%s/relay", net.dir);
	if (pl_test_relay_start(&net.relay, data, 0, NULL) != 0)
		return 0;
	net.alice = pl_test_vault_new(net.dir, "alice", "alice", net.relay.url);
	net.bob = pl_test_vault_new(net.dir, "bob", "bob", net.relay.url);
	if (pl_msgr_publish(net.alice, &e) != 0 || pl_msgr_publish(net.bob, &e) != 0)
		fail_msg("cannot publish: %s", e.msg);
	pl_test_befriend(net.alice, "bob", net.bob);
	pl_test_befriend(net.bob, "alice", net.alice);
	return 0;
}

static int net_teardown(void **state)
{
	(void)state;
	if (net.alice)
		pl_vault_close(net.alice);
	if (net.bob)
		pl_vault_close(net.bob);
	pl_test_relay_stop(&net.relay);
	if (net.dir[0])
		pl_test_rm_rf(net.dir);
	return 0;
}

/* alice deposits a revocation payload to bob through their session, as a
 * malicious contact could (the library, not pl_revoke_self). */
static void send_statement(const uint8_t *s, size_t n)
{
	uint8_t id[8];
	int64_t seq;
	pl_err e;
	pl_err_clear(&e);
	assert_int_equal(pl_msgr_queue(net.alice, "bob", PL_KIND_REVOKE, s, n, id, &seq, &e), 0);
	pl_sync_report r;
	memset(&r, 0, sizeof r);
	assert_int_equal(pl_msgr_deliver(net.alice, &r, &e), 0);
	assert_int_equal(r.delivered, 1);
}

static int alice_sendable(void)
{
	pl_contact c;
	pl_err e;
	pl_err_clear(&e);
	assert_int_equal(pl_vault_contact_get(net.bob, "alice", &c, &e), 0);
	return pl_msgr_check_sendable(&c, &e) == 0;
}

static void test_forged_refused_genuine_applied(void **state)
{
	(void)state;
	if (net.relay.pid <= 0)
		skip();
	pl_sync_report r;
	uint8_t s[PL_REVOCATION_LEN];
	pl_identity stranger;
	assert_int_equal(pl_identity_generate(&stranger), 0);

	/* the stranger's revocation of its own key, over alice's session */
	assert_int_equal(pl_revocation_make(s, &stranger, pl_now()), 0);
	send_statement(s, sizeof s);
	pl_test_sync(net.bob, &r);
	assert_int_equal(r.revoke_refused, 1);
	assert_int_equal(r.revoked, 0);
	assert_int_equal(r.rejected, 1);
	assert_true(alice_sendable());
	assert_int_equal(pl_vault_ik_revoked(net.bob, stranger.pk), 0);

	/* alice's genuine statement with its signature damaged */
	assert_int_equal(pl_revocation_make(s, pl_vault_identity(net.alice), pl_now()), 0);
	s[PL_REVOCATION_LEN - 1] ^= 0x80;
	send_statement(s, sizeof s);
	pl_test_sync(net.bob, &r);
	assert_int_equal(r.revoke_refused, 1);
	assert_true(alice_sendable());
	pl_identity_wipe(&stranger);

	/* the genuine one */
	s[PL_REVOCATION_LEN - 1] ^= 0x80;
	send_statement(s, sizeof s);
	pl_test_sync(net.bob, &r);
	assert_int_equal(r.revoked, 1);
	assert_int_equal(r.revoke_refused, 0);
	assert_false(alice_sendable());
	pl_err e;
	pl_err_clear(&e);
	uint8_t id[8];
	int64_t seq;
	assert_int_equal(
	    pl_msgr_queue(net.bob, "alice", PL_KIND_NOTE, (const uint8_t *)"hi", 2, id, &seq, &e),
	    -1);
	assert_int_equal(e.code, PL_EXIT_SECURITY);
	assert_non_null(strstr(e.msg, "alice's key was revoked by its owner on "));
	assert_non_null(strstr(e.msg, "; nothing is sent to it; verify a new key in person"));

	/* later envelopes under the revoked key are refused, not stored */
	assert_int_equal(pl_test_send_note(net.alice, "bob", "still me"), 1);
	pl_test_sync(net.bob, &r);
	assert_int_equal(r.from_revoked, 1);
	assert_int_equal(r.received, 0);
	assert_int_equal(r.pending, 0);
}

static void test_self_revoked_sends_nothing(void **state)
{
	(void)state;
	if (net.relay.pid <= 0)
		skip();
	pl_revoke_report rr;
	pl_err e;
	pl_err_clear(&e);
	uint8_t other[PL_REVOCATION_LEN];
	assert_int_equal(pl_revocation_make(other, &signer, pl_now()), 0);
	assert_int_equal(pl_revoke_self(net.alice, other, sizeof other, &rr, &e), -1);
	assert_int_equal(pl_vault_ik_revoked(net.alice, pl_vault_identity(net.alice)->pk), 0);
	assert_int_equal(pl_revoke_self(net.alice, NULL, 0, &rr, &e), 0);
	assert_int_equal(rr.told, 1);
	uint8_t id[8];
	int64_t seq;
	pl_err_clear(&e);
	assert_int_equal(
	    pl_msgr_queue(net.alice, "bob", PL_KIND_NOTE, (const uint8_t *)"x", 1, id, &seq, &e),
	    -1);
	assert_non_null(strstr(e.msg, "this vault's identity was revoked on "));
	assert_int_equal(pl_revoke_self(net.alice, NULL, 0, &rr, &e), -1);
}

int main(int argc, char **argv)
{
	(void)argc;
	if (sodium_init() < 0)
		return 1;
	pl_test_relay_bin(argv[0]);
	assert_int_equal(pl_identity_generate(&signer), 0);
	const struct CMUnitTest codec[] = {
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_refusals),
	};
	const struct CMUnitTest relays[] = {
	    cmocka_unit_test(test_forged_refused_genuine_applied),
	    cmocka_unit_test(test_self_revoked_sends_nothing),
	};
	int rc = cmocka_run_group_tests(codec, NULL, NULL);
	rc |= cmocka_run_group_tests(relays, net_setup, net_teardown);
	pl_identity_wipe(&signer);
	return rc;
}
