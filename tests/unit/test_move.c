/*
 * test_move.c — relay notices (src/client/move.c):
 *   - the codec: a notice round-trips; every field out of range, a
 *     truncation, a trailing byte and another version are refused;
 *   - the signature: a stranger's key, a tampered URL, key, time or CA
 *     do not verify;
 *   - played for real through two parley-relay processes on 127.0.0.1 and
 *     two vaults driven through the library: alice (on relay A) sends bob
 *     notices over their ratchet session, as a malicious contact could.
 *     One signed by a stranger's key, one with a tampered URL and a replay
 *     of an older genuine notice are refused (counted in the sync report)
 *     and bob keeps depositing to relay A; a genuine one is followed and
 *     bob's next note lands on relay B.
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
#include "client/move.h"
#include "client/relay_client.h"
#include "envelope/envelope.h"
#include "util/codec.h"
#include "support.h"

#define PEM "-----BEGIN CERTIFICATE-----\nMIIB\n-----END CERTIFICATE-----\n"

/* ---- the codec ------------------------------------------------------------ */

static pl_identity signer;
static uint8_t rkey[32];

/* The notice's bytes as they are laid out, for building bad ones. */
static void raw_notice(pl_wr *w, uint8_t version, uint64_t time, const uint8_t key[32],
		       const char *url, const uint8_t *ca, size_t calen, const uint8_t sig[64])
{
	pl_wr_init(w);
	pl_wr_u8(w, version);
	pl_wr_u64(w, time);
	pl_wr_bytes(w, key, 32);
	pl_wr_var(w, (const uint8_t *)url, strlen(url));
	pl_wr_var(w, ca, calen);
	pl_wr_bytes(w, sig, 64);
	assert_int_equal(pl_wr_ok(w), 0);
}

static void make(pl_wr *w, const char *url, const uint8_t *ca, size_t calen)
{
	pl_wr_init(w);
	assert_int_equal(pl_move_notice_encode(w, &signer, 1000, rkey, url, ca, calen), 0);
}

static void test_roundtrip(void **state)
{
	(void)state;
	pl_wr w;
	pl_move_notice n;
	make(&w, "https://relay.example:8443", (const uint8_t *)PEM, strlen(PEM));
	assert_int_equal(pl_move_notice_decode(&n, w.p, w.n), 0);
	assert_int_equal(n.time, 1000);
	assert_string_equal(n.url, "https://relay.example:8443");
	assert_memory_equal(n.relay_key, rkey, 32);
	assert_int_equal(n.calen, strlen(PEM));
	assert_memory_equal(n.ca, PEM, n.calen);
	assert_int_equal(pl_move_notice_verify(&n, signer.pk), 0);
	pl_wr_free(&w);
	make(&w, "http://127.0.0.1:9", NULL, 0);
	assert_int_equal(pl_move_notice_decode(&n, w.p, w.n), 0);
	assert_null(n.ca);
	assert_int_equal(pl_move_notice_verify(&n, signer.pk), 0);
	pl_wr_free(&w);
}

static void test_encode_refuses(void **state)
{
	(void)state;
	pl_wr w;
	uint8_t zero[32] = {0};
	static const char *bad_urls[] = {
	    "", "ftp://x", "http://", "https://a b", "http://x/path", "relay.example"};
	for (size_t i = 0; i < sizeof bad_urls / sizeof *bad_urls; i++) {
		pl_wr_init(&w);
		assert_int_equal(pl_move_notice_encode(&w, &signer, 1, rkey, bad_urls[i], NULL, 0),
				 -1);
		assert_int_not_equal(pl_wr_ok(&w), 0);
		pl_wr_free(&w);
	}
	pl_wr_init(&w);
	assert_int_equal(pl_move_notice_encode(&w, &signer, 0, rkey, "http://127.0.0.1:1", NULL, 0),
			 -1);
	pl_wr_free(&w);
	pl_wr_init(&w);
	assert_int_equal(pl_move_notice_encode(&w, &signer, 1, zero, "http://127.0.0.1:1", NULL, 0),
			 -1);
	pl_wr_free(&w);
	pl_wr_init(&w);
	assert_int_equal(pl_move_notice_encode(&w, &signer, 1, rkey, "http://127.0.0.1:1",
					       (const uint8_t *)"not pem", 7),
			 -1);
	pl_wr_free(&w);
	uint8_t *big = calloc(1, PL_MOVE_CA_MAX + 1);
	assert_non_null(big);
	memcpy(big, PEM, strlen(PEM));
	pl_wr_init(&w);
	assert_int_equal(pl_move_notice_encode(&w, &signer, 1, rkey, "http://127.0.0.1:1", big,
					       PL_MOVE_CA_MAX + 1),
			 -1);
	pl_wr_free(&w);
	free(big);
}

static void test_decode_refuses(void **state)
{
	(void)state;
	pl_wr good, w;
	pl_move_notice n;
	make(&good, "http://127.0.0.1:1", (const uint8_t *)PEM, strlen(PEM));
	/* every truncation */
	for (size_t k = 0; k < good.n; k++)
		assert_int_equal(pl_move_notice_decode(&n, good.p, k), -1);
	/* a trailing byte */
	uint8_t *more = malloc(good.n + 1);
	assert_non_null(more);
	memcpy(more, good.p, good.n);
	more[good.n] = 0;
	assert_int_equal(pl_move_notice_decode(&n, more, good.n + 1), -1);
	free(more);
	assert_int_equal(pl_move_notice_decode(&n, good.p, good.n), 0);
	uint8_t sig[64];
	memcpy(sig, n.sig, 64);
	uint8_t zero[32] = {0};
	raw_notice(&w, 2, 1000, rkey, "http://127.0.0.1:1", NULL, 0, sig);
	assert_int_equal(pl_move_notice_decode(&n, w.p, w.n), -1); /* version */
	pl_wr_free(&w);
	raw_notice(&w, 1, 0, rkey, "http://127.0.0.1:1", NULL, 0, sig);
	assert_int_equal(pl_move_notice_decode(&n, w.p, w.n), -1); /* time 0 */
	pl_wr_free(&w);
	raw_notice(&w, 1, 1000, zero, "http://127.0.0.1:1", NULL, 0, sig);
	assert_int_equal(pl_move_notice_decode(&n, w.p, w.n), -1); /* relay key */
	pl_wr_free(&w);
	raw_notice(&w, 1, 1000, rkey, "http://127.0.0.1:1\n", NULL, 0, sig);
	assert_int_equal(pl_move_notice_decode(&n, w.p, w.n), -1); /* URL */
	pl_wr_free(&w);
	raw_notice(&w, 1, 1000, rkey, "gopher://127.0.0.1:1", NULL, 0, sig);
	assert_int_equal(pl_move_notice_decode(&n, w.p, w.n), -1);
	pl_wr_free(&w);
	raw_notice(&w, 1, 1000, rkey, "http://127.0.0.1:1", (const uint8_t *)"junk", 4, sig);
	assert_int_equal(pl_move_notice_decode(&n, w.p, w.n), -1); /* CA */
	pl_wr_free(&w);
	pl_wr_free(&good);
}

static void test_signature_binds(void **state)
{
	(void)state;
	pl_identity stranger;
	assert_int_equal(pl_identity_generate(&stranger), 0);
	pl_wr w, t;
	pl_move_notice n, m;
	make(&w, "http://127.0.0.1:1", (const uint8_t *)PEM, strlen(PEM));
	assert_int_equal(pl_move_notice_decode(&n, w.p, w.n), 0);
	assert_int_equal(pl_move_notice_verify(&n, signer.pk), 0);
	assert_int_equal(pl_move_notice_verify(&n, stranger.pk), -1);
	/* each signed field changed, the signature kept */
	raw_notice(&t, 1, 1000, rkey, "http://127.0.0.1:2", n.ca, n.calen, n.sig);
	assert_int_equal(pl_move_notice_decode(&m, t.p, t.n), 0);
	assert_int_equal(pl_move_notice_verify(&m, signer.pk), -1);
	pl_wr_free(&t);
	raw_notice(&t, 1, 1001, rkey, "http://127.0.0.1:1", n.ca, n.calen, n.sig);
	assert_int_equal(pl_move_notice_decode(&m, t.p, t.n), 0);
	assert_int_equal(pl_move_notice_verify(&m, signer.pk), -1);
	pl_wr_free(&t);
	raw_notice(&t, 1, 1000, stranger.pk, "http://127.0.0.1:1", n.ca, n.calen, n.sig);
	assert_int_equal(pl_move_notice_decode(&m, t.p, t.n), 0);
	assert_int_equal(pl_move_notice_verify(&m, signer.pk), -1);
	pl_wr_free(&t);
	raw_notice(&t, 1, 1000, rkey, "http://127.0.0.1:1", NULL, 0, n.sig);
	assert_int_equal(pl_move_notice_decode(&m, t.p, t.n), 0);
	assert_int_equal(pl_move_notice_verify(&m, signer.pk), -1);
	pl_wr_free(&t);
	pl_identity_wipe(&stranger);
	pl_wr_free(&w);
}

/* ---- through real relays -------------------------------------------------- */

static struct {
	pl_test_relay a, b;
	uint8_t akey[32], bkey[32];
	char dir[64];
} net;

typedef struct {
	char dir[128];
	pl_vault *v;
} party;

static party alice, bob;

/* A vault on relay A, its grants published. */
static void party_make(party *p, const char *name)
{
	pl_err e;
	pl_err_clear(&e);
	snprintf(p->dir, sizeof p->dir, "%s/%s", net.dir, name);
	p->v = pl_test_vault_new(net.dir, name, name, net.a.url);
	if (pl_msgr_publish(p->v, &e) != 0)
		fail_msg("cannot make the vault of %s: %s", name, e.msg);
}

static void relay_key_of(const pl_test_relay *r, uint8_t key[32])
{
	pl_rc_conn *c;
	pl_err e;
	assert_int_equal(pl_rc_open(&c, r->url, NULL, &e), 0);
	assert_int_equal(pl_rc_get_key(c, key, &e), 0);
	pl_rc_close(c);
}

static int net_setup(void **state)
{
	(void)state;
	char data[128];
	snprintf(net.dir, sizeof net.dir, "/tmp/parley-move-XXXXXX");
	if (mkdtemp(net.dir) == NULL)
		return -1;
	snprintf(data, sizeof data, "%s/relayA", net.dir);
	if (pl_test_relay_start(&net.a, data, 0, NULL) != 0)
		return 0;
	snprintf(data, sizeof data, "%s/relayB", net.dir);
	if (pl_test_relay_start(&net.b, data, 0, NULL) != 0) {
		pl_test_relay_stop(&net.a);
		return 0;
	}
	relay_key_of(&net.a, net.akey);
	relay_key_of(&net.b, net.bkey);
	party_make(&alice, "alice");
	party_make(&bob, "bob");
	pl_test_befriend(alice.v, "bob", bob.v);
	pl_test_befriend(bob.v, "alice", alice.v);
	return 0;
}

static int net_teardown(void **state)
{
	(void)state;
	if (alice.v)
		pl_vault_close(alice.v);
	if (bob.v)
		pl_vault_close(bob.v);
	pl_test_relay_stop(&net.a);
	pl_test_relay_stop(&net.b);
	if (net.dir[0])
		pl_test_rm_rf(net.dir);
	return 0;
}

/* alice deposits a notice body to bob through their session. */
static void send_notice(const pl_wr *body)
{
	uint8_t id[8];
	int64_t seq;
	pl_err e;
	pl_err_clear(&e);
	assert_int_equal(
	    pl_msgr_queue(alice.v, "bob", PL_KIND_RELAY, body->p, body->n, id, &seq, &e), 0);
	pl_sync_report r;
	memset(&r, 0, sizeof r);
	assert_int_equal(pl_msgr_deliver(alice.v, &r, &e), 0);
	assert_int_equal(r.delivered, 1);
}

static void bob_sync(pl_sync_report *r)
{
	pl_err e;
	pl_err_clear(&e);
	memset(r, 0, sizeof *r);
	if (pl_msgr_sync(bob.v, NULL, r, &e) != 0)
		fail_msg("bob's sync failed: %s", e.msg);
}

/* bob sends alice a note; which relay logged it (A or B)? The one whose
 * log grew. */
static int bob_deposits_to(void)
{
	pl_contact c;
	pl_err e;
	pl_err_clear(&e);
	assert_int_equal(pl_vault_contact_get(bob.v, "alice", &c, &e), 0);
	int on_b = c.has_relay && memcmp(c.relay_key, net.bkey, 32) == 0;
	uint8_t id[8];
	int64_t seq;
	assert_int_equal(
	    pl_msgr_queue(bob.v, "alice", PL_KIND_NOTE, (const uint8_t *)"hi", 2, id, &seq, &e), 0);
	pl_sync_report r;
	memset(&r, 0, sizeof r);
	assert_int_equal(pl_msgr_deliver(bob.v, &r, &e), 0);
	assert_int_equal(r.delivered, 1);
	/* the receipt says which relay signed it */
	pl_item it;
	assert_int_equal(pl_vault_item_get(bob.v, seq, &it, &e), 0);
	assert_true(it.receipt.n > 0);
	pl_receipt rc;
	assert_int_equal(pl_receipt_decode(&rc, it.receipt.p, it.receipt.n), 0);
	int signed_b = pl_receipt_verify(&rc, net.bkey, NULL) == 0;
	int signed_a = pl_receipt_verify(&rc, net.akey, NULL) == 0;
	pl_vault_item_free(&it);
	assert_int_equal(signed_a + signed_b, 1);
	assert_int_equal(signed_b, on_b);
	return signed_b ? 'B' : 'A';
}

static void notice_by(pl_wr *w, const pl_identity *id, uint64_t time, const uint8_t key[32],
		      const char *url)
{
	pl_wr_init(w);
	assert_int_equal(pl_move_notice_encode(w, id, time, key, url, NULL, 0), 0);
}

static void test_forged_notices_refused(void **state)
{
	(void)state;
	if (net.a.pid <= 0 || net.b.pid <= 0)
		skip();
	pl_sync_report r;
	pl_wr w;
	/* a stranger's key signs a notice sent over alice's session */
	pl_identity stranger;
	assert_int_equal(pl_identity_generate(&stranger), 0);
	notice_by(&w, &stranger, pl_now(), net.bkey, net.b.url);
	send_notice(&w);
	pl_wr_free(&w);
	pl_identity_wipe(&stranger);
	bob_sync(&r);
	assert_int_equal(r.relay_refused, 1);
	assert_int_equal(r.relay_followed, 0);
	assert_int_equal(r.rejected, 1);
	assert_int_equal(bob_deposits_to(), 'A');

	/* alice's own signature, over another URL than the one sent */
	const pl_identity *aid = pl_vault_identity(alice.v);
	pl_move_notice n;
	notice_by(&w, aid, pl_now(), net.bkey, "http://127.0.0.1:1");
	assert_int_equal(pl_move_notice_decode(&n, w.p, w.n), 0);
	pl_wr t;
	raw_notice(&t, 1, n.time, n.relay_key, net.b.url, NULL, 0, n.sig);
	send_notice(&t);
	pl_wr_free(&t);
	pl_wr_free(&w);
	bob_sync(&r);
	assert_int_equal(r.relay_refused, 1);
	assert_int_equal(bob_deposits_to(), 'A');

	/* a genuine notice to B, then a genuine one back to A: bob follows
	 * both; then the first is replayed in a new envelope and refused */
	uint64_t t0 = pl_now() - 100; /* older than the genuine move below */
	pl_wr first, second;
	notice_by(&first, aid, t0, net.bkey, net.b.url);
	notice_by(&second, aid, t0 + 1, net.akey, net.a.url);
	send_notice(&first);
	bob_sync(&r);
	assert_int_equal(r.relay_followed, 1);
	pl_contact c;
	pl_err e;
	assert_int_equal(pl_vault_contact_get(bob.v, "alice", &c, &e), 0);
	assert_true(c.has_relay);
	assert_string_equal(c.relay_url, net.b.url);
	assert_int_equal(c.relay_time, t0);
	send_notice(&second);
	bob_sync(&r);
	assert_int_equal(r.relay_followed, 1);
	assert_int_equal(pl_vault_contact_get(bob.v, "alice", &c, &e), 0);
	assert_false(c.has_relay); /* alice is back on bob's own relay */
	send_notice(&first);
	bob_sync(&r);
	assert_int_equal(r.relay_refused, 1);
	assert_int_equal(r.relay_followed, 0);
	assert_int_equal(pl_vault_contact_get(bob.v, "alice", &c, &e), 0);
	assert_false(c.has_relay);
	assert_int_equal(c.relay_time, t0 + 1);
	assert_int_equal(bob_deposits_to(), 'A');
	pl_wr_free(&first);
	pl_wr_free(&second);
}

/* alice really moves (pl_move_relay): bob follows, and his next note is
 * signed for by relay B and read by alice there. */
static void test_genuine_move_followed(void **state)
{
	(void)state;
	if (net.a.pid <= 0 || net.b.pid <= 0)
		skip();
	pl_move_report mr;
	pl_err e;
	pl_err_clear(&e);
	assert_int_equal(pl_move_relay(alice.v, net.b.url, net.bkey, NULL, 0, 0, &mr, &e), 0);
	assert_int_equal(mr.told, 1);
	assert_true(mr.published);
	assert_int_equal(mr.delivered, 1);
	pl_sync_report r;
	bob_sync(&r);
	assert_int_equal(r.relay_followed, 1);
	assert_int_equal(r.relay_refused, 0);
	assert_int_equal(bob_deposits_to(), 'B');
	memset(&r, 0, sizeof r);
	assert_int_equal(pl_msgr_sync(alice.v, NULL, &r, &e), 0);
	assert_int_equal(r.received, 1);
}

int main(int argc, char **argv)
{
	(void)argc;
	if (sodium_init() < 0)
		return 1;
	pl_test_relay_bin(argv[0]);
	assert_int_equal(pl_identity_generate(&signer), 0);
	pl_identity other;
	assert_int_equal(pl_identity_generate(&other), 0);
	memcpy(rkey, other.pk, 32);
	const struct CMUnitTest codec[] = {
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_encode_refuses),
	    cmocka_unit_test(test_decode_refuses),
	    cmocka_unit_test(test_signature_binds),
	};
	const struct CMUnitTest relays[] = {
	    cmocka_unit_test(test_forged_notices_refused),
	    cmocka_unit_test(test_genuine_move_followed),
	};
	int rc = cmocka_run_group_tests(codec, NULL, NULL);
	rc |= cmocka_run_group_tests(relays, net_setup, net_teardown);
	return rc;
}
