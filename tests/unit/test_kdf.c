/*
 * test_kdf.c — pl_hmac_sha256 and pl_hkdf_sha256 against their RFCs:
 * RFC 4231 §4.2–4.3 (HMAC-SHA-256 test cases 1 and 2) and RFC 5869
 * Appendix A.1–A.3 (HKDF-SHA-256 test cases 1–3). The PRK of each HKDF
 * case is checked as HMAC(salt, IKM), the extract step.
 *
 * Must never weaken a vector to make it pass: a failure here means the KDF
 * under every parley key is wrong.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto/kdf.h"
#include "support.h"

/* Decodes a hex constant of exactly n bytes (test-side helper). */
static void fill_range(uint8_t *out, uint8_t from, size_t n)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)(from + i);
}

/* RFC 4231 4.2: key = 20 × 0x0b, data = "Hi There". */
static void test_hmac_rfc4231_case1(void **state)
{
	(void)state;
	uint8_t key[20], mac[32], want[32];
	memset(key, 0x0b, sizeof key);
	pl_test_unhex_n(want, 32,
			"b0344c61d8db38535ca8afceaf0bf12b881dc200c9833da726e9376c2e32cff7");
	pl_hmac_sha256(mac, key, sizeof key, (const uint8_t *)"Hi There", 8);
	assert_memory_equal(mac, want, 32);
}

/* RFC 4231 4.3: key = "Jefe", data = "what do ya want for nothing?". */
static void test_hmac_rfc4231_case2(void **state)
{
	(void)state;
	uint8_t mac[32], want[32];
	const char *data = "what do ya want for nothing?";
	pl_test_unhex_n(want, 32,
			"5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
	pl_hmac_sha256(mac, (const uint8_t *)"Jefe", 4, (const uint8_t *)data, strlen(data));
	assert_memory_equal(mac, want, 32);
}

/* RFC 5869 A.1: basic test case with SHA-256. */
static void test_hkdf_rfc5869_case1(void **state)
{
	(void)state;
	uint8_t ikm[22], salt[13], info[10], prk[32], okm[42], want_prk[32], want[42];
	memset(ikm, 0x0b, sizeof ikm);
	fill_range(salt, 0x00, sizeof salt);
	fill_range(info, 0xf0, sizeof info);
	pl_test_unhex_n(want_prk, 32,
			"077709362c2e32df0ddc3f0dc47bba6390b6c73bb50f9c3122ec844ad7c2b3e5");
	pl_test_unhex_n(want, 42,
			"3cb25f25faacd57a90434f64d0362f2a2d2d0a90cf1a5a4c5db02d56ecc4c5bf"
			"34007208d5b887185865");
	pl_hmac_sha256(prk, salt, sizeof salt, ikm, sizeof ikm);
	assert_memory_equal(prk, want_prk, 32);
	assert_int_equal(
	    pl_hkdf_sha256(okm, sizeof okm, salt, sizeof salt, ikm, sizeof ikm, info, sizeof info),
	    0);
	assert_memory_equal(okm, want, 42);
}

/* RFC 5869 A.2: longer inputs and outputs (three expand blocks). */
static void test_hkdf_rfc5869_case2(void **state)
{
	(void)state;
	uint8_t ikm[80], salt[80], info[80], prk[32], okm[82], want_prk[32], want[82];
	fill_range(ikm, 0x00, sizeof ikm);
	fill_range(salt, 0x60, sizeof salt);
	fill_range(info, 0xb0, sizeof info);
	pl_test_unhex_n(want_prk, 32,
			"06a6b88c5853361a06104c9ceb35b45cef760014904671014a193f40c15fc244");
	pl_test_unhex_n(want, 82,
			"b11e398dc80327a1c8e7f78c596a49344f012eda2d4efad8a050cc4c19afa97c"
			"59045a99cac7827271cb41c65e590e09da3275600c2f09b8367793a9aca3db71"
			"cc30c58179ec3e87c14c01d5c1f3434f1d87");
	pl_hmac_sha256(prk, salt, sizeof salt, ikm, sizeof ikm);
	assert_memory_equal(prk, want_prk, 32);
	assert_int_equal(
	    pl_hkdf_sha256(okm, sizeof okm, salt, sizeof salt, ikm, sizeof ikm, info, sizeof info),
	    0);
	assert_memory_equal(okm, want, 82);
}

/* RFC 5869 A.3: zero-length salt and info (salt defaults to 32 zero bytes). */
static void test_hkdf_rfc5869_case3(void **state)
{
	(void)state;
	static const uint8_t zero_salt[32];
	uint8_t ikm[22], prk[32], okm[42], okm2[42], want_prk[32], want[42];
	memset(ikm, 0x0b, sizeof ikm);
	pl_test_unhex_n(want_prk, 32,
			"19ef24a32c717b167f33a91d6f648bdf96596776afdb6377ac434c1c293ccb04");
	pl_test_unhex_n(want, 42,
			"8da4e775a563c18f715f802a063c5a31b8a11f5c5ee1879ec3454e5f3c738d2d"
			"9d201395faa4b61a96c8");
	pl_hmac_sha256(prk, zero_salt, sizeof zero_salt, ikm, sizeof ikm);
	assert_memory_equal(prk, want_prk, 32);
	assert_int_equal(pl_hkdf_sha256(okm, sizeof okm, NULL, 0, ikm, sizeof ikm, NULL, 0), 0);
	assert_memory_equal(okm, want, 42);
	/* An explicit all-zero salt is the same thing. */
	assert_int_equal(pl_hkdf_sha256(okm2, sizeof okm2, zero_salt, sizeof zero_salt, ikm,
					sizeof ikm, (const uint8_t *)"", 0),
			 0);
	assert_memory_equal(okm2, want, 42);
}

static void test_hkdf_length_limit(void **state)
{
	(void)state;
	static uint8_t big[255 * 32 + 1];
	uint8_t ikm[32] = {1};
	assert_int_equal(pl_hkdf_sha256(big, 255 * 32, NULL, 0, ikm, sizeof ikm, NULL, 0), 0);
	assert_int_equal(pl_hkdf_sha256(big, 255 * 32 + 1, NULL, 0, ikm, sizeof ikm, NULL, 0), -1);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hmac_rfc4231_case1), cmocka_unit_test(test_hmac_rfc4231_case2),
	    cmocka_unit_test(test_hkdf_rfc5869_case1), cmocka_unit_test(test_hkdf_rfc5869_case2),
	    cmocka_unit_test(test_hkdf_rfc5869_case3), cmocka_unit_test(test_hkdf_length_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
