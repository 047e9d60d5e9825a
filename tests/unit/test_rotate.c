/*
 * test_rotate.c — key rotation statements (src/identity/rotation.c) and
 * applying them (src/client/rotate.c):
 *   - the codec: a statement round-trips; a flipped byte anywhere, every
 *     truncation, a trailing byte, swapped signatures, a new key that did
 *     not sign, the old key signing for someone else's key, old == new and
 *     time 0 (even correctly signed) are refused;
 *   - the receiver's rules on real vaults (no network): a stranger's key
 *     signing a rotation of the contact's key, a statement carried by
 *     another key than the one it rotates, a revoked key rotating, a new
 *     key that is this vault's or another contact's, a replay (harmless), a
 *     second, different rotation (both refused), a rotation from an
 *     unverified contact (stays unverified), the old key's revocation
 *     arriving afterwards (void), trust-rotation's refusals, and which
 *     envelopes of the old key are still read (pl_rotate_successor);
 *   - played for real through parley-relay on 127.0.0.1 and two vaults:
 *     alice rotates (pl_rotate_self), bob applies it, reads nothing under
 *     the new key until he trusts it, then both ways work; a further
 *     rotation from the trusted new key applies unverified, and the same
 *     statement sent again changes nothing.
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
#include "client/nego.h"
#include "client/revoke.h"
#include "client/rotate.h"
#include "envelope/envelope.h"
#include "identity/revocation.h"
#include "identity/rotation.h"
#include "util/codec.h"
#include "support.h"

static pl_identity ka, kb, kc, ks; /* alice's old, new, another new; a stranger */

/* ---- the codec ---------------------------------------------------------- */

static void test_roundtrip(void **state)
{
	(void)state;
	uint8_t s[PL_ROTATION_LEN];
	pl_rotation r;
	assert_int_equal(PL_ROTATION_LEN, 216);
	assert_int_equal(pl_rotation_make(s, &ka, &kb, 1700000000), 0);
	assert_memory_equal(s, PL_ROTATION_LABEL, PL_ROTATION_LABEL_LEN);
	assert_int_equal(pl_rotation_decode(&r, s, sizeof s), 0);
	assert_memory_equal(r.old_ik, ka.pk, PL_IK_LEN);
	assert_memory_equal(r.new_ik, kb.pk, PL_IK_LEN);
	assert_int_equal(r.time, 1700000000);
	assert_int_equal(pl_rotation_make(s, &ka, &kb, 0), -1);
	assert_int_equal(pl_rotation_make(s, &ka, &ka, 1700000000), -1);
}

/* A statement built by hand from its parts and signers. */
static void forge(uint8_t s[static PL_ROTATION_LEN], const uint8_t *old, const uint8_t *next,
		  uint64_t time, const pl_identity *sign_old, const pl_identity *sign_new)
{
	memcpy(s, PL_ROTATION_LABEL, PL_ROTATION_LABEL_LEN);
	memcpy(s + PL_ROTATION_OFF_OLD, old, PL_IK_LEN);
	memcpy(s + PL_ROTATION_OFF_NEW, next, PL_IK_LEN);
	pl_be64_put(s + PL_ROTATION_OFF_TIME, time);
	crypto_sign_detached(s + PL_ROTATION_OFF_SIG_OLD, NULL, s, PL_ROTATION_SIGNED_LEN,
			     sign_old->sk);
	crypto_sign_detached(s + PL_ROTATION_OFF_SIG_NEW, NULL, s,
			     PL_ROTATION_SIGNED_LEN + PL_SIG_LEN, sign_new->sk);
}

static void test_refusals(void **state)
{
	(void)state;
	uint8_t s[PL_ROTATION_LEN + 1], t[PL_ROTATION_LEN + 1];
	pl_rotation r;
	assert_int_equal(pl_rotation_make(s, &ka, &kb, 1700000000), 0);
	/* the hand-built one is the real one: forge is a fair test */
	forge(t, ka.pk, kb.pk, 1700000000, &ka, &kb);
	assert_memory_equal(s, t, PL_ROTATION_LEN);
	for (size_t i = 0; i < PL_ROTATION_LEN; i++)
		for (int bit = 0; bit < 8; bit += 7) {
			memcpy(t, s, PL_ROTATION_LEN);
			t[i] ^= (uint8_t)(1u << bit);
			assert_int_equal(pl_rotation_decode(&r, t, PL_ROTATION_LEN), -1);
		}
	for (size_t n = 0; n < PL_ROTATION_LEN; n++)
		assert_int_equal(pl_rotation_decode(&r, s, n), -1);
	s[PL_ROTATION_LEN] = 0;
	assert_int_equal(pl_rotation_decode(&r, s, PL_ROTATION_LEN + 1), -1);
	assert_int_equal(pl_rotation_decode(&r, NULL, PL_ROTATION_LEN), -1);
	/* the two signatures swapped */
	memcpy(t, s, PL_ROTATION_LEN);
	memcpy(t + PL_ROTATION_OFF_SIG_OLD, s + PL_ROTATION_OFF_SIG_NEW, PL_SIG_LEN);
	memcpy(t + PL_ROTATION_OFF_SIG_NEW, s + PL_ROTATION_OFF_SIG_OLD, PL_SIG_LEN);
	assert_int_equal(pl_rotation_decode(&r, t, PL_ROTATION_LEN), -1);
	/* the keys swapped (each signing its own part): a rotation back */
	forge(t, kb.pk, ka.pk, 1700000000, &ka, &kb);
	assert_int_equal(pl_rotation_decode(&r, t, PL_ROTATION_LEN), -1);
	/* a stranger names alice's key as the old one */
	forge(t, ka.pk, kc.pk, 1700000000, &ks, &kc);
	assert_int_equal(pl_rotation_decode(&r, t, PL_ROTATION_LEN), -1);
	/* alice's key names someone else's key as its successor: that key
	 * did not sign */
	forge(t, ka.pk, ks.pk, 1700000000, &ka, &kc);
	assert_int_equal(pl_rotation_decode(&r, t, PL_ROTATION_LEN), -1);
	/* the new key's signature over the signed part only, not sig_old */
	memcpy(t, s, PL_ROTATION_LEN);
	crypto_sign_detached(t + PL_ROTATION_OFF_SIG_NEW, NULL, t, PL_ROTATION_SIGNED_LEN, kb.sk);
	assert_int_equal(pl_rotation_decode(&r, t, PL_ROTATION_LEN), -1);
	/* old == new and time 0, both correctly signed */
	forge(t, ka.pk, ka.pk, 1700000000, &ka, &ka);
	assert_int_equal(pl_rotation_decode(&r, t, PL_ROTATION_LEN), -1);
	forge(t, ka.pk, kb.pk, 0, &ka, &kb);
	assert_int_equal(pl_rotation_decode(&r, t, PL_ROTATION_LEN), -1);
	/* a revocation is not a rotation, whatever its length */
	uint8_t rv[PL_REVOCATION_LEN];
	assert_int_equal(pl_revocation_make(rv, &ka, 1700000000), 0);
	assert_int_equal(pl_rotation_decode(&r, rv, sizeof rv), -1);
}

/* ---- the receiver's rules, on a real vault ------------------------------ */

static struct {
	char dir[128];
	pl_vault *v;
} loc;

static int loc_setup(void **state)
{
	(void)state;
	pl_test_tmpdir(loc.dir, sizeof loc.dir, "rotate");
	loc.v = pl_test_vault_new(loc.dir, "bob", "bob", "http://127.0.0.1:9");
	return 0;
}

static int loc_teardown(void **state)
{
	(void)state;
	pl_vault_close(loc.v);
	pl_test_rm_rf(loc.dir);
	return 0;
}

static void put_contact(const char *name, const uint8_t ik[static PL_IK_LEN], int verified)
{
	pl_contact c;
	pl_err e;
	pl_err_clear(&e);
	memset(&c, 0, sizeof c);
	snprintf(c.name, sizeof c.name, "%s", name);
	memcpy(c.ik, ik, PL_IK_LEN);
	c.verified = verified;
	c.added = pl_now();
	assert_int_equal(pl_vault_contact_put(loc.v, &c, &e), 0);
}

static pl_contact get(const char *name)
{
	pl_contact c;
	pl_err e;
	pl_err_clear(&e);
	assert_int_equal(pl_vault_contact_get(loc.v, name, &c, &e), 0);
	return c;
}

/* pl_rotate_apply of s carried by `carrier` to contact name; returns what. */
static int apply(const char *name, const uint8_t *carrier, const uint8_t *s, int want_rc)
{
	pl_contact c = get(name);
	pl_err e;
	pl_err_clear(&e);
	int what = -1;
	assert_int_equal(pl_rotate_apply(loc.v, &c, carrier, s, PL_ROTATION_LEN, &what, &e),
			 want_rc);
	if (want_rc == 1) {
		assert_int_equal(e.code, PL_EXIT_SECURITY);
		assert_null(strchr(e.msg, '\n'));
	}
	return what;
}

static void test_stranger_and_carrier(void **state)
{
	(void)state;
	uint8_t s[PL_ROTATION_LEN];
	put_contact("alice", ka.pk, 1);
	/* a stranger's key signing a rotation of alice's key */
	forge(s, ka.pk, ks.pk, pl_now(), &ks, &ks);
	assert_int_equal(apply("alice", ka.pk, s, 1), PL_ROTATE_REFUSED);
	/* the stranger's real rotation of its own key, carried by alice's
	 * session: it does not rotate the key that carried it */
	assert_int_equal(pl_rotation_make(s, &ks, &kc, pl_now()), 0);
	assert_int_equal(apply("alice", ka.pk, s, 1), PL_ROTATE_IGNORED);
	/* alice's genuine statement carried by the stranger's key (a
	 * contact forwarding it) */
	assert_int_equal(pl_rotation_make(s, &ka, &kb, pl_now()), 0);
	assert_int_equal(apply("alice", ks.pk, s, 1), PL_ROTATE_IGNORED);
	/* a new key that is this vault's own, or another contact's */
	assert_int_equal(pl_rotation_make(s, &ka, pl_vault_identity(loc.v), pl_now()), 0);
	assert_int_equal(apply("alice", ka.pk, s, 1), PL_ROTATE_REFUSED);
	put_contact("carol", kc.pk, 1);
	assert_int_equal(pl_rotation_make(s, &ka, &kc, pl_now()), 0);
	assert_int_equal(apply("alice", ka.pk, s, 1), PL_ROTATE_REFUSED);
	pl_contact c = get("alice");
	assert_memory_equal(c.ik, ka.pk, PL_IK_LEN);
	assert_int_equal(c.verified, 1);
	assert_int_equal(c.key_changed, 0);
	pl_err e;
	pl_err_clear(&e);
	assert_int_equal(pl_vault_contact_remove(loc.v, "carol", &e), 0);
}

static void test_apply_replay_conflict(void **state)
{
	(void)state;
	uint8_t s[PL_ROTATION_LEN], s2[PL_ROTATION_LEN], s3[PL_ROTATION_LEN];
	pl_err e;
	pl_err_clear(&e);
	pl_contact c;
	assert_int_equal(pl_rotation_make(s, &ka, &kb, pl_now()), 0);
	assert_int_equal(apply("alice", ka.pk, s, 0), PL_ROTATE_APPLIED);
	c = get("alice");
	assert_memory_equal(c.ik, kb.pk, PL_IK_LEN);
	assert_int_equal(c.verified, 0);
	assert_int_equal(c.key_changed, 1);
	pl_rotation_rec r;
	assert_int_equal(pl_rotate_of(loc.v, &c, &r, &e), 1);
	assert_int_equal(r.flags, PL_ROT_OLD_VERIFIED);
	assert_memory_equal(r.old_ik, ka.pk, PL_IK_LEN);
	/* what the old key sealed before is still alice's */
	pl_contact succ;
	assert_int_equal(pl_rotate_successor(loc.v, ka.pk, &succ, &e), 1);
	assert_string_equal(succ.name, "alice");
	assert_int_equal(pl_rotate_successor(loc.v, ks.pk, &succ, &e), 0);

	/* a replay (the same statement, or the same move made again later)
	 * changes nothing, even after the user trusted it */
	assert_int_equal(pl_rotate_trust(loc.v, "alice", &e), 0);
	assert_int_equal(apply("alice", ka.pk, s, 0), PL_ROTATE_REPLAY);
	assert_int_equal(pl_rotation_make(s2, &ka, &kb, pl_now() + 5), 0);
	assert_int_equal(apply("alice", ka.pk, s2, 0), PL_ROTATE_REPLAY);
	c = get("alice");
	assert_int_equal(c.verified, 1);
	assert_int_equal(c.key_changed, 0);

	/* a second, different rotation of the old key (whoever else holds
	 * it): both refused, the contact unverified, trust refused, and the
	 * old key's envelopes no longer read */
	assert_int_equal(pl_rotation_make(s3, &ka, &kc, pl_now()), 0);
	assert_int_equal(apply("alice", ka.pk, s3, 1), PL_ROTATE_CONFLICT);
	c = get("alice");
	assert_memory_equal(c.ik, kb.pk, PL_IK_LEN);
	assert_int_equal(c.verified, 0);
	assert_int_equal(c.key_changed, 1);
	assert_int_equal(pl_rotate_trust(loc.v, "alice", &e), -1);
	assert_int_equal(e.code, PL_EXIT_SECURITY);
	assert_non_null(strstr(e.msg, "two different rotations"));
	assert_int_equal(pl_rotate_successor(loc.v, ka.pk, &succ, &e), 0);
	/* and the first one, sent again, does not undo the conflict */
	assert_int_equal(apply("alice", ka.pk, s, 0), PL_ROTATE_REPLAY);
	assert_int_equal(pl_rotate_trust(loc.v, "alice", &e), -1);
	pl_err_clear(&e);
	assert_int_equal(pl_vault_contact_remove(loc.v, "alice", &e), 0);
}

static void test_revoked_and_void(void **state)
{
	(void)state;
	uint8_t s[PL_ROTATION_LEN], rv[PL_REVOCATION_LEN];
	pl_err e;
	pl_err_clear(&e);
	pl_identity o1, n1, o2, n2;
	assert_int_equal(pl_identity_generate(&o1), 0);
	assert_int_equal(pl_identity_generate(&n1), 0);
	assert_int_equal(pl_identity_generate(&o2), 0);
	assert_int_equal(pl_identity_generate(&n2), 0);

	/* revoked before: a seized key rotating to the thief's key is void */
	put_contact("dave", o1.pk, 1);
	assert_int_equal(pl_vault_ik_revoke(loc.v, o1.pk, pl_now(), &e), 0);
	assert_int_equal(pl_rotation_make(s, &o1, &n1, pl_now()), 0);
	assert_int_equal(apply("dave", o1.pk, s, 1), PL_ROTATE_REFUSED);
	pl_contact c = get("dave");
	assert_memory_equal(c.ik, o1.pk, PL_IK_LEN);
	assert_true(c.revoked > 0);

	/* revoked after: the revocation of the old key voids the rotation */
	put_contact("erin", o2.pk, 1);
	assert_int_equal(pl_rotation_make(s, &o2, &n2, pl_now()), 0);
	assert_int_equal(apply("erin", o2.pk, s, 0), PL_ROTATE_APPLIED);
	assert_int_equal(pl_rotate_trust(loc.v, "erin", &e), 0);
	c = get("erin");
	assert_int_equal(c.verified, 1);
	assert_int_equal(pl_revocation_make(rv, &o2, pl_now()), 0);
	assert_int_equal(pl_revoke_apply(loc.v, &c, rv, sizeof rv, &e), 0);
	c = get("erin");
	assert_memory_equal(c.ik, n2.pk, PL_IK_LEN);
	assert_int_equal(c.verified, 0);
	assert_int_equal(c.key_changed, 1);
	assert_true(pl_vault_ik_revoked(loc.v, o2.pk) > 0);
	pl_rotation_rec r;
	assert_int_equal(pl_rotate_of(loc.v, &c, &r, &e), 1);
	assert_true(r.flags & PL_ROT_VOID);
	assert_int_equal(pl_rotate_trust(loc.v, "erin", &e), -1);
	assert_non_null(strstr(e.msg, "void"));
	pl_contact succ;
	assert_int_equal(pl_rotate_successor(loc.v, o2.pk, &succ, &e), 0);
	/* in-person verification of the new key is still possible */
	c.verified = 1;
	c.key_changed = 0;
	assert_int_equal(pl_vault_contact_put(loc.v, &c, &e), 0);
	/* a stranger's revocation of some other key voids nothing */
	uint8_t rs[PL_REVOCATION_LEN];
	assert_int_equal(pl_revocation_make(rs, &ks, pl_now()), 0);
	c = get("erin");
	assert_int_equal(pl_revoke_apply(loc.v, &c, rs, sizeof rs, &e), 1);
	assert_int_equal(get("erin").verified, 1);
	pl_identity_wipe(&o1);
	pl_identity_wipe(&n1);
	pl_identity_wipe(&o2);
	pl_identity_wipe(&n2);
}

static void test_unverified_and_not_current(void **state)
{
	(void)state;
	uint8_t s[PL_ROTATION_LEN];
	pl_err e;
	pl_err_clear(&e);
	pl_identity o, n, m;
	assert_int_equal(pl_identity_generate(&o), 0);
	assert_int_equal(pl_identity_generate(&n), 0);
	assert_int_equal(pl_identity_generate(&m), 0);
	put_contact("frank", o.pk, 0);
	/* a rotation of a key that is not (yet) the contact's: the second
	 * link of a chain that came first is ignored */
	assert_int_equal(pl_rotation_make(s, &n, &m, pl_now()), 0);
	assert_int_equal(apply("frank", n.pk, s, 1), PL_ROTATE_IGNORED);
	/* from an unverified key: applied, still unverified, no key-changed
	 * mark (there was nothing verified to change), trust refused */
	assert_int_equal(pl_rotation_make(s, &o, &n, pl_now()), 0);
	assert_int_equal(apply("frank", o.pk, s, 0), PL_ROTATE_APPLIED);
	pl_contact c = get("frank");
	assert_memory_equal(c.ik, n.pk, PL_IK_LEN);
	assert_int_equal(c.verified, 0);
	assert_int_equal(c.key_changed, 0);
	assert_int_equal(pl_rotate_trust(loc.v, "frank", &e), -1);
	assert_non_null(strstr(e.msg, "never verified"));
	assert_int_equal(get("frank").verified, 0);
	pl_contact succ;
	assert_int_equal(pl_rotate_successor(loc.v, o.pk, &succ, &e), 0);
	/* now the chain's next link applies, still unverified */
	assert_int_equal(pl_rotation_make(s, &n, &m, pl_now()), 0);
	assert_int_equal(apply("frank", n.pk, s, 0), PL_ROTATE_APPLIED);
	assert_memory_equal(get("frank").ik, m.pk, PL_IK_LEN);
	/* a contact whose key did not come by rotation has nothing to trust */
	put_contact("gina", ks.pk, 0);
	assert_int_equal(pl_rotate_trust(loc.v, "gina", &e), -1);
	assert_non_null(strstr(e.msg, "did not come by a signed key rotation"));
	pl_identity_wipe(&o);
	pl_identity_wipe(&n);
	pl_identity_wipe(&m);
}

/* ---- through a relay ---------------------------------------------------- */

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
	pl_test_tmpdir(net.dir, sizeof net.dir, "rotate-net");
	snprintf(data, sizeof data, "%s/relay", net.dir);
	if (pl_test_relay_start(&net.relay, data, 0, NULL) != 0)
		return 0;
	net.alice = pl_test_vault_new(net.dir, "alice", "alice", net.relay.url);
	net.bob = pl_test_vault_new(net.dir, "bob", "bob", net.relay.url);
	pl_vault_set_u64(net.alice, "ack_delay_max", 0, &e);
	pl_vault_set_u64(net.bob, "ack_delay_max", 0, &e);
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

static int read_sync(pl_vault *v, pl_sync_report *r, pl_err *e)
{
	pl_nego_report nr;
	memset(r, 0, sizeof *r);
	return pl_nego_sync(v, r, &nr, e);
}

static int has_note(pl_vault *v, const char *contact, const char *text)
{
	pl_item *it;
	size_t n;
	pl_err e;
	pl_err_clear(&e);
	assert_int_equal(pl_vault_item_list(v, contact, &it, &n, &e), 0);
	int found = 0;
	for (size_t i = 0; i < n; i++)
		found |= it[i].kind == PL_KIND_NOTE && it[i].body.n == strlen(text) &&
			 memcmp(it[i].body.p, text, it[i].body.n) == 0;
	pl_vault_items_free(it, n);
	return found;
}

static void test_rotate_through_relay(void **state)
{
	(void)state;
	if (net.relay.pid <= 0)
		skip();
	pl_err e;
	pl_err_clear(&e);
	pl_sync_report r;
	uint8_t old[PL_IK_LEN];
	memcpy(old, pl_vault_identity(net.alice)->pk, PL_IK_LEN);
	assert_int_equal(pl_test_send_note(net.alice, "bob", "before"), 1);
	pl_test_sync(net.bob, &r);
	assert_int_equal(r.received, 1);

	pl_rotate_report rr;
	assert_int_equal(pl_rotate_self(net.alice, read_sync, &rr, &e), 0);
	assert_int_equal(rr.told, 1);
	assert_int_equal(rr.published, 1);
	assert_memory_equal(rr.old_ik, old, PL_IK_LEN);
	assert_memory_equal(rr.new_ik, pl_vault_identity(net.alice)->pk, PL_IK_LEN);
	assert_memory_not_equal(old, rr.new_ik, PL_IK_LEN);
	assert_int_equal(pl_vault_identity_history(net.alice, old, &e), 1);

	pl_test_sync(net.bob, &r);
	assert_int_equal(r.rotated, 1);
	pl_contact c;
	assert_int_equal(pl_vault_contact_get(net.bob, "alice", &c, &e), 0);
	assert_memory_equal(c.ik, rr.new_ik, PL_IK_LEN);
	assert_int_equal(c.key_changed, 1);

	/* under the new key: unread until bob decides */
	assert_int_equal(pl_test_send_note(net.alice, "bob", "new key"), 1);
	pl_test_sync(net.bob, &r);
	assert_int_equal(r.received, 0);
	assert_false(has_note(net.bob, "alice", "new key"));
	assert_int_equal(pl_rotate_trust(net.bob, "alice", &e), 0);
	pl_test_sync(net.bob, &r);
	assert_true(has_note(net.bob, "alice", "new key"));

	/* both ways afterwards */
	assert_int_equal(pl_test_send_note(net.bob, "alice", "to the new key"), 1);
	pl_test_sync(net.alice, &r);
	assert_true(has_note(net.alice, "bob", "to the new key"));

	/* a second rotation, from the new key (which bob now trusts) to kc,
	 * sent over the session by hand; then the same statement again, as a
	 * replaying client (or a copy of alice's vault) would send it */
	uint8_t again[PL_ROTATION_LEN];
	assert_int_equal(pl_rotation_make(again, pl_vault_identity(net.alice), &kc, pl_now()), 0);
	uint8_t id[8];
	int64_t seq;
	assert_int_equal(
	    pl_msgr_queue(net.alice, "bob", PL_KIND_ROTATE, again, sizeof again, id, &seq, &e), 0);
	pl_sync_report dr;
	memset(&dr, 0, sizeof dr);
	assert_int_equal(pl_msgr_deliver(net.alice, &dr, &e), 0);
	pl_test_sync(net.bob, &r);
	/* that one is a real second rotation (to kc): applied, unverified */
	assert_int_equal(r.rotated, 1);
	assert_int_equal(pl_vault_contact_get(net.bob, "alice", &c, &e), 0);
	assert_memory_equal(c.ik, kc.pk, PL_IK_LEN);
	assert_int_equal(c.verified, 0);
	/* and the same statement once more is a replay */
	assert_int_equal(
	    pl_msgr_queue(net.alice, "bob", PL_KIND_ROTATE, again, sizeof again, id, &seq, &e), 0);
	memset(&dr, 0, sizeof dr);
	assert_int_equal(pl_msgr_deliver(net.alice, &dr, &e), 0);
	pl_test_sync(net.bob, &r);
	assert_int_equal(r.rotated, 0);
	assert_int_equal(r.rotate_replayed, 1);
}

int main(int argc, char **argv)
{
	(void)argc;
	if (sodium_init() < 0)
		return 1;
	pl_test_relay_bin(argv[0]);
	assert_int_equal(pl_identity_generate(&ka), 0);
	assert_int_equal(pl_identity_generate(&kb), 0);
	assert_int_equal(pl_identity_generate(&kc), 0);
	assert_int_equal(pl_identity_generate(&ks), 0);
	const struct CMUnitTest codec[] = {
	    cmocka_unit_test(test_roundtrip),
	    cmocka_unit_test(test_refusals),
	};
	const struct CMUnitTest rules[] = {
	    cmocka_unit_test(test_stranger_and_carrier),
	    cmocka_unit_test(test_apply_replay_conflict),
	    cmocka_unit_test(test_revoked_and_void),
	    cmocka_unit_test(test_unverified_and_not_current),
	};
	const struct CMUnitTest relays[] = {
	    cmocka_unit_test(test_rotate_through_relay),
	};
	int rc = cmocka_run_group_tests(codec, NULL, NULL);
	rc |= cmocka_run_group_tests(rules, loc_setup, loc_teardown);
	rc |= cmocka_run_group_tests(relays, net_setup, net_teardown);
	pl_identity_wipe(&ka);
	pl_identity_wipe(&kb);
	pl_identity_wipe(&kc);
	pl_identity_wipe(&ks);
	return rc;
}
