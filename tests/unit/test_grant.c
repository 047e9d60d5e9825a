/*
 * test_grant.c — access-token grants: both sides derive the same locator,
 * the contact recovers the token, and every wrong key or tampered byte is
 * refused (docs/PROTOCOL.md, "Access tokens").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "client/grant.h"
#include "crypto/kdf.h"
#include "identity/identity.h"

static pl_identity owner, contact, other;
static const uint8_t zero32[32];

static int setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	return pl_identity_generate(&owner) || pl_identity_generate(&contact) ||
	       pl_identity_generate(&other);
}

static int teardown(void **state)
{
	(void)state;
	pl_identity_wipe(&owner);
	pl_identity_wipe(&contact);
	pl_identity_wipe(&other);
	return 0;
}

static void test_both_sides_same_locator(void **state)
{
	(void)state;
	uint8_t a[32], b[32], c[32], d[32];
	assert_int_equal(pl_grant_locator(a, &owner, contact.pk, owner.pk), 0);
	assert_int_equal(pl_grant_locator(b, &contact, owner.pk, owner.pk), 0);
	assert_memory_equal(a, b, 32);
	/* The other direction (contact's own mailbox) has its own locator. */
	assert_int_equal(pl_grant_locator(c, &owner, contact.pk, contact.pk), 0);
	assert_int_equal(pl_grant_locator(d, &contact, owner.pk, contact.pk), 0);
	assert_memory_equal(c, d, 32);
	assert_memory_not_equal(a, c, 32);
	/* Another contact of the same owner gets another locator. */
	assert_int_equal(pl_grant_locator(c, &owner, other.pk, owner.pk), 0);
	assert_memory_not_equal(a, c, 32);
	/* The owner must be one of the pair. */
	assert_int_equal(pl_grant_locator(c, &owner, contact.pk, other.pk), -1);
}

/* The locator is exactly the formula of PROTOCOL.md, recomputed here. */
static void test_locator_formula(void **state)
{
	(void)state;
	uint8_t xsk[32], xpk[32], peer[32], dh[32], info[64], want[32], got[32];
	const char *label = "parley grant locator v1";
	assert_int_equal(pl_identity_x25519(&owner, xsk, xpk), 0);
	assert_int_equal(pl_ik_to_x25519(peer, contact.pk), 0);
	assert_int_equal(crypto_scalarmult(dh, xsk, peer), 0);
	memcpy(info, label, strlen(label));
	memcpy(info + strlen(label), owner.pk, 32);
	assert_int_equal(pl_hkdf_sha256(want, 32, zero32, 32, dh, 32, info, strlen(label) + 32), 0);
	assert_int_equal(pl_grant_locator(got, &owner, contact.pk, owner.pk), 0);
	assert_memory_equal(got, want, 32);
}

static void test_seal_open(void **state)
{
	(void)state;
	uint8_t token[32], got[32], loc[32], loc2[32], blob[PL_GRANT_BLOB_LEN];
	randombytes_buf(token, sizeof token);
	assert_int_equal(pl_grant_seal(loc, blob, &owner, contact.pk, token), 0);
	assert_int_equal(pl_grant_locator(loc2, &contact, owner.pk, owner.pk), 0);
	assert_memory_equal(loc, loc2, 32);
	assert_int_equal(pl_grant_open(got, &contact, owner.pk, blob, sizeof blob), 0);
	assert_memory_equal(got, token, 32);

	/* Fresh nonce each time: sealing twice gives different blobs. */
	uint8_t blob2[PL_GRANT_BLOB_LEN];
	assert_int_equal(pl_grant_seal(loc2, blob2, &owner, contact.pk, token), 0);
	assert_memory_not_equal(blob, blob2, sizeof blob);
	assert_memory_equal(loc, loc2, 32);
}

static void test_wrong_keys(void **state)
{
	(void)state;
	uint8_t token[32], got[32], loc[32], blob[PL_GRANT_BLOB_LEN];
	randombytes_buf(token, sizeof token);
	assert_int_equal(pl_grant_seal(loc, blob, &owner, contact.pk, token), 0);
	/* Someone else cannot open it, ... */
	memset(got, 0xaa, sizeof got);
	assert_int_equal(pl_grant_open(got, &other, owner.pk, blob, sizeof blob), -1);
	assert_memory_equal(got, zero32, 32);
	/* ... nor the contact believing another owner sent it, ... */
	assert_int_equal(pl_grant_open(got, &contact, other.pk, blob, sizeof blob), -1);
	/* ... nor the owner itself (key is for the pair with the owner's IK as
	 * owner, but open derives as contact of `owner_ik`). */
	assert_int_equal(pl_grant_open(got, &owner, contact.pk, blob, sizeof blob), -1);
	/* An invalid owner key is refused outright. */
	assert_int_equal(pl_grant_open(got, &contact, zero32, blob, sizeof blob), -1);
	uint8_t l[32], b[PL_GRANT_BLOB_LEN];
	assert_int_equal(pl_grant_seal(l, b, &owner, zero32, token), -1);
}

static void test_tamper(void **state)
{
	(void)state;
	uint8_t token[32], got[32], loc[32], blob[PL_GRANT_BLOB_LEN];
	randombytes_buf(token, sizeof token);
	assert_int_equal(pl_grant_seal(loc, blob, &owner, contact.pk, token), 0);
	for (size_t i = 0; i < sizeof blob; i++) {
		blob[i] ^= 0x01;
		assert_int_equal(pl_grant_open(got, &contact, owner.pk, blob, sizeof blob), -1);
		assert_memory_equal(got, zero32, 32);
		blob[i] ^= 0x01;
	}
	for (size_t n = 0; n < sizeof blob; n++)
		assert_int_equal(pl_grant_open(got, &contact, owner.pk, blob, n), -1);
	uint8_t longer[PL_GRANT_BLOB_LEN + 1] = {0};
	memcpy(longer, blob, sizeof blob);
	assert_int_equal(pl_grant_open(got, &contact, owner.pk, longer, sizeof longer), -1);
	assert_int_equal(pl_grant_open(got, &contact, owner.pk, NULL, sizeof blob), -1);
	assert_int_equal(pl_grant_open(got, &contact, owner.pk, blob, sizeof blob), 0);
	assert_memory_equal(got, token, 32);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_both_sides_same_locator),
	    cmocka_unit_test(test_locator_formula),
	    cmocka_unit_test(test_seal_open),
	    cmocka_unit_test(test_wrong_keys),
	    cmocka_unit_test(test_tamper),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
