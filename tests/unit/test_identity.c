/*
 * test_identity.c — identity keys, fingerprints, safety numbers and mailbox
 * ids (src/identity).
 *
 * The fingerprint algorithm is checked against libsignal's own vectors, and
 * parley's use of it (key = IK, identifier "parley ed25519 identity") and the
 * mailbox id against values computed by an independent script (Python
 * hashlib), so a change to either is a test failure, never a silent change of
 * every safety number.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "identity/identity.h"
#include "support.h"

/*
 * libsignal's displayable-fingerprint vectors, from
 * signalapp/libsignal-protocol-c @ 3a83a4f4 (v2.3.3), tests/test_fingerprint.c
 * (GPL-3.0; test values only, with attribution), as transcribed in
 * ../shared/data/ratchet/libsignal-protocol-c-kat.json, group `fingerprint`.
 * libsignal hashes its 33-byte serialised key (0x05 type byte ‖ X25519 key)
 * and the phone number as stable identifier, 5200 iterations.
 */
#define LS_ALICE_KEY "0506863bc66d02b40d27b8d49ca7c09e9239236f9d7d25d6fcca5ce13c7064d868"
#define LS_ALICE_ID "+14152222222"
#define LS_BOB_KEY "05f781b6fb32fed9ba1cf2de978d4d5da28dc34046ae814402b5c0dbd96fda907b"
#define LS_BOB_ID "+14153333333"
#define LS_DISPLAYABLE "300354477692869396892869876765458257569162576843440918079131"

static void test_fingerprint_libsignal_vectors(void **state)
{
	(void)state;
	uint8_t a[33], b[33];
	char fa[31], fb[31], both[61];
	pl_test_unhex_n(a, 33, LS_ALICE_KEY);
	pl_test_unhex_n(b, 33, LS_BOB_KEY);
	pl_fingerprint_digits(fa, a, sizeof a, (const uint8_t *)LS_ALICE_ID, strlen(LS_ALICE_ID),
			      5200);
	pl_fingerprint_digits(fb, b, sizeof b, (const uint8_t *)LS_BOB_ID, strlen(LS_BOB_ID), 5200);
	assert_int_equal(strlen(fa), 30);
	assert_int_equal(strlen(fb), 30);
	/* libsignal's displayable number is the two halves sorted. */
	if (strcmp(fa, fb) <= 0)
		snprintf(both, sizeof both, "%s%s", fa, fb);
	else
		snprintf(both, sizeof both, "%s%s", fb, fa);
	assert_string_equal(both, LS_DISPLAYABLE);
	assert_string_equal(fa, "300354477692869396892869876765");
	assert_string_equal(fb, "458257569162576843440918079131");
	/* One iteration fewer is a different number. */
	pl_fingerprint_digits(fa, a, sizeof a, (const uint8_t *)LS_ALICE_ID, strlen(LS_ALICE_ID),
			      5199);
	assert_string_not_equal(fa, "300354477692869396892869876765");
}

/* RFC 8032 TEST 1 and TEST 2 public keys; expected values from an independent
 * Python (hashlib) computation of docs/PROTOCOL.md's definitions. */
#define K1 "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
#define K2 "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c"

static void test_fingerprint_parley_known_answer(void **state)
{
	(void)state;
	uint8_t k1[32], k2[32];
	char f[PL_FINGERPRINT_LEN], s[PL_SAFETY_LEN];
	pl_test_unhex_n(k1, 32, K1);
	pl_test_unhex_n(k2, 32, K2);
	pl_fingerprint(f, k1);
	assert_string_equal(f, "23642 61624 11428 32664 06033 88265");
	pl_fingerprint(f, k2);
	assert_string_equal(f, "04638 85752 34893 13954 49818 52208");
	pl_safety_number(s, k1, k2);
	assert_string_equal(
	    s, "04638 85752 34893 13954 49818 52208 23642 61624 11428 32664 06033 88265");
	assert_int_equal(strlen(s), PL_SAFETY_LEN - 1);
}

static void test_safety_number_symmetric_and_check(void **state)
{
	(void)state;
	pl_identity a, b, c;
	char ab[PL_SAFETY_LEN], ba[PL_SAFETY_LEN], ac[PL_SAFETY_LEN], nospace[61];
	assert_int_equal(pl_identity_generate(&a), 0);
	assert_int_equal(pl_identity_generate(&b), 0);
	assert_int_equal(pl_identity_generate(&c), 0);
	pl_safety_number(ab, a.pk, b.pk);
	pl_safety_number(ba, b.pk, a.pk);
	pl_safety_number(ac, a.pk, c.pk);
	assert_string_equal(ab, ba);
	assert_string_not_equal(ab, ac);
	/* 12 groups of 5 digits, single spaces. */
	for (size_t i = 0; i < PL_SAFETY_LEN - 1; i++) {
		if (i % 6 == 5)
			assert_int_equal(ab[i], ' ');
		else
			assert_true(ab[i] >= '0' && ab[i] <= '9');
	}

	assert_int_equal(pl_safety_number_check(ab, a.pk, b.pk), 0);
	assert_int_equal(pl_safety_number_check(ab, b.pk, a.pk), 0);
	size_t n = 0;
	for (const char *p = ab; *p; p++)
		if (*p != ' ')
			nospace[n++] = *p;
	nospace[n] = '\0';
	assert_int_equal(n, 60);
	assert_int_equal(pl_safety_number_check(nospace, a.pk, b.pk), 0);
	assert_int_equal(pl_safety_number_check(" 1", a.pk, b.pk), -1);
	assert_int_equal(pl_safety_number_check("", a.pk, b.pk), -1);
	assert_int_equal(pl_safety_number_check(ac, a.pk, b.pk), -1);

	/* Any single wrong digit is refused. */
	for (size_t i = 0; i < 60; i++) {
		char bad[61];
		memcpy(bad, nospace, sizeof bad);
		bad[i] = bad[i] == '9' ? '0' : (char)(bad[i] + 1);
		assert_int_equal(pl_safety_number_check(bad, a.pk, b.pk), -1);
	}
	/* A digit too many or too few is refused. */
	char longer[63];
	snprintf(longer, sizeof longer, "%s0", nospace);
	assert_int_equal(pl_safety_number_check(longer, a.pk, b.pk), -1);
	nospace[59] = '\0';
	assert_int_equal(pl_safety_number_check(nospace, a.pk, b.pk), -1);

	pl_identity_wipe(&a);
	pl_identity_wipe(&b);
	pl_identity_wipe(&c);
	assert_true(sodium_is_zero(a.sk, sizeof a.sk));
}

static void test_mailbox_id(void **state)
{
	(void)state;
	uint8_t k1[32], k2[32], m1[32], m1b[32], m2[32], want[32];
	pl_test_unhex_n(k1, 32, K1);
	pl_test_unhex_n(k2, 32, K2);
	pl_test_unhex_n(want, 32,
			"fc13d6d1b24e67f745d0f6dcf08f12329f29afb55b581ee776f27e6979ff028a");
	pl_mailbox_id(m1, k1);
	pl_mailbox_id(m1b, k1);
	pl_mailbox_id(m2, k2);
	assert_memory_equal(m1, want, 32);
	assert_memory_equal(m1, m1b, 32);
	assert_memory_not_equal(m1, m2, 32);
}

static void test_identity_x25519(void **state)
{
	(void)state;
	pl_identity a, b;
	uint8_t ask[32], apk[32], bsk[32], bpk[32], apk2[32], s1[32], s2[32];
	assert_int_equal(pl_identity_generate(&a), 0);
	assert_int_equal(pl_identity_generate(&b), 0);
	assert_int_equal(pl_ik_validate(a.pk), 0);
	assert_int_equal(pl_identity_x25519(&a, ask, apk), 0);
	assert_int_equal(pl_identity_x25519(&b, bsk, bpk), 0);
	assert_int_equal(pl_ik_to_x25519(apk2, a.pk), 0);
	assert_memory_equal(apk, apk2, 32);
	assert_int_equal(crypto_scalarmult_base(apk2, ask), 0);
	assert_memory_equal(apk, apk2, 32);
	assert_int_equal(crypto_scalarmult(s1, ask, bpk), 0);
	assert_int_equal(crypto_scalarmult(s2, bsk, apk), 0);
	assert_memory_equal(s1, s2, 32);
	pl_identity_wipe(&a);
	pl_identity_wipe(&b);
}

static void test_ik_validate_rejects(void **state)
{
	(void)state;
	/* Small-order points (orders 1, 2, 4, 4, 8, 8) and non-canonical
	 * encodings (y = p, y = p + 1). */
	static const char *bad[] = {
	    "0100000000000000000000000000000000000000000000000000000000000000",
	    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	    "0000000000000000000000000000000000000000000000000000000000000000",
	    "0000000000000000000000000000000000000000000000000000000000000080",
	    "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
	    "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
	    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	    "eeffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
	};
	uint8_t k[32], x[32];
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		pl_test_unhex_n(k, 32, bad[i]);
		assert_int_equal(pl_ik_validate(k), -1);
		assert_int_equal(pl_ik_to_x25519(x, k), -1);
	}
	/* A valid key plus a point of order 8 is on the curve but outside the
	 * prime-order subgroup. */
	pl_identity a;
	uint8_t t[32], mixed[32];
	assert_int_equal(pl_identity_generate(&a), 0);
	pl_test_unhex_n(t, 32, bad[4]);
	assert_int_equal(crypto_core_ed25519_add(mixed, a.pk, t), 0);
	assert_int_equal(pl_ik_validate(mixed), -1);
	/* A y with no x on the curve: search a few small y values for one. */
	int found = 0;
	for (uint8_t y = 2; y < 50 && !found; y++) {
		memset(k, 0, sizeof k);
		k[0] = y;
		if (crypto_core_ed25519_is_valid_point(k) == 0 &&
		    crypto_sign_ed25519_pk_to_curve25519(x, k) != 0) {
			assert_int_equal(pl_ik_validate(k), -1);
			found = 1;
		}
	}
	assert_true(found);
	pl_identity_wipe(&a);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fingerprint_libsignal_vectors),
	    cmocka_unit_test(test_fingerprint_parley_known_answer),
	    cmocka_unit_test(test_safety_number_symmetric_and_check),
	    cmocka_unit_test(test_mailbox_id),
	    cmocka_unit_test(test_identity_x25519),
	    cmocka_unit_test(test_ik_validate_rejects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
