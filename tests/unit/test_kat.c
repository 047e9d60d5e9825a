/*
 * test_kat.c — the public-key primitives parley takes from libsodium, against
 * their RFCs, so a broken or swapped libsodium build is caught here:
 *   RFC 7748 §5.2 X25519 function vectors (both), the iterated test after 1
 *   and 1000 iterations, and the §6.1 Diffie-Hellman example (Alice/Bob);
 *   RFC 8032 §7.1 Ed25519 TEST 1, TEST 2, TEST 3 and TEST SHA(abc).
 *
 * Must never compute an expected value with the code under test: every
 * expected byte is a constant copied from the RFC text.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "support.h"

static void x25519_check(const char *k_hex, const char *u_hex, const char *want_hex)
{
	uint8_t k[32], u[32], out[32], want[32];
	pl_test_unhex_n(k, 32, k_hex);
	pl_test_unhex_n(u, 32, u_hex);
	pl_test_unhex_n(want, 32, want_hex);
	assert_int_equal(crypto_scalarmult(out, k, u), 0);
	assert_memory_equal(out, want, 32);
}

/* RFC 7748 §5.2, first vector. */
static void test_x25519_rfc7748_vector1(void **state)
{
	(void)state;
	x25519_check("a546e36bf0527c9d3b16154b82465edd62144c0ac1fc5a18506a2244ba449ac4",
		     "e6db6867583030db3594c1a424b15f7c726624ec26b3353b10a903a6d0ab1c4c",
		     "c3da55379de9c6908e94ea4df28d084f32eccf03491c71f754b4075577a28552");
}

/* RFC 7748 §5.2, second vector (the u-coordinate has its top bit set, which
 * X25519 must ignore). */
static void test_x25519_rfc7748_vector2(void **state)
{
	(void)state;
	x25519_check("4b66e9d4d1b4673c5ad22691957d6af5c11b6421e0ea01d42ca4169e7918ba0d",
		     "e5210f12786811d3f4b7959d0538ae2c31dbe7106fc03c3efc4cd549c715a493",
		     "95cbde9476e8907d7aade45cb4b873f88b595a68799fa152e6f8f7647aac7957");
}

/* RFC 7748 §5.2 iterated test: k = u = 9; k, u = X25519(k, u), k. */
static void test_x25519_rfc7748_iterated(void **state)
{
	(void)state;
	uint8_t k[32] = {9}, u[32] = {9}, r[32], want1[32], want1000[32];
	pl_test_unhex_n(want1, 32,
			"422c8e7a6227d7bca1350b3e2bb7279f7897b87bb6854b783c60e80311ae3079");
	pl_test_unhex_n(want1000, 32,
			"684cf59ba83309552800ef566f2f4d3c1c3887c49360e3875f2eb94d99532c51");
	for (int i = 1; i <= 1000; i++) {
		assert_int_equal(crypto_scalarmult(r, k, u), 0);
		memcpy(u, k, 32);
		memcpy(k, r, 32);
		if (i == 1)
			assert_memory_equal(k, want1, 32);
	}
	assert_memory_equal(k, want1000, 32);
}

/* RFC 7748 §6.1: Alice and Bob's key pairs and their shared secret. */
static void test_x25519_rfc7748_dh(void **state)
{
	(void)state;
	uint8_t a_sk[32], a_pk[32], b_sk[32], b_pk[32], want_a[32], want_b[32], want_k[32];
	uint8_t pk[32], k1[32], k2[32];
	pl_test_unhex_n(a_sk, 32,
			"77076d0a7318a57d3c16c17251b26645df4c2f87ebc0992ab177fba51db92c2a");
	pl_test_unhex_n(want_a, 32,
			"8520f0098930a754748b7ddcb43ef75a0dbf3a0d26381af4eba4a98eaa9b4e6a");
	pl_test_unhex_n(b_sk, 32,
			"5dab087e624a8a4b79e17f8b83800ee66f3bb1292618b6fd1c2f8b27ff88e0eb");
	pl_test_unhex_n(want_b, 32,
			"de9edb7d7b7dc1b4d35b61c2ece435373f8343c85b78674dadfc7e146f882b4f");
	pl_test_unhex_n(want_k, 32,
			"4a5d9d5ba4ce2de1728e3bf480350f25e07e21c947d19e3376f09b3c1e161742");
	assert_int_equal(crypto_scalarmult_base(pk, a_sk), 0);
	assert_memory_equal(pk, want_a, 32);
	memcpy(a_pk, pk, 32);
	assert_int_equal(crypto_scalarmult_base(pk, b_sk), 0);
	assert_memory_equal(pk, want_b, 32);
	memcpy(b_pk, pk, 32);
	assert_int_equal(crypto_scalarmult(k1, a_sk, b_pk), 0);
	assert_int_equal(crypto_scalarmult(k2, b_sk, a_pk), 0);
	assert_memory_equal(k1, want_k, 32);
	assert_memory_equal(k2, want_k, 32);
}

/* One RFC 8032 §7.1 Ed25519 case: key from seed, deterministic signature,
 * verification, and rejection of a changed signature and message. */
static void ed25519_check(const char *sk_hex, const char *pk_hex, const uint8_t *msg, size_t mlen,
			  const char *sig_hex)
{
	uint8_t seed[32], want_pk[32], want_sig[64], pk[32], sk[64], sig[64];
	unsigned long long siglen = 0;
	pl_test_unhex_n(seed, 32, sk_hex);
	pl_test_unhex_n(want_pk, 32, pk_hex);
	pl_test_unhex_n(want_sig, 64, sig_hex);
	assert_int_equal(crypto_sign_seed_keypair(pk, sk, seed), 0);
	assert_memory_equal(pk, want_pk, 32);
	assert_int_equal(crypto_sign_detached(sig, &siglen, msg, mlen, sk), 0);
	assert_int_equal(siglen, 64);
	assert_memory_equal(sig, want_sig, 64);
	assert_int_equal(crypto_sign_verify_detached(want_sig, msg, mlen, want_pk), 0);
	sig[37] ^= 0x01;
	assert_int_equal(crypto_sign_verify_detached(sig, msg, mlen, want_pk), -1);
	if (mlen > 0) {
		uint8_t m2[64];
		assert_true(mlen <= sizeof m2);
		memcpy(m2, msg, mlen);
		m2[0] ^= 0x80;
		assert_int_equal(crypto_sign_verify_detached(want_sig, m2, mlen, want_pk), -1);
	}
	sodium_memzero(sk, sizeof sk);
}

static void test_ed25519_rfc8032_test1(void **state)
{
	(void)state;
	ed25519_check("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
		      "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a",
		      (const uint8_t *)"", 0,
		      "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e06522490155"
		      "5fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b");
}

static void test_ed25519_rfc8032_test2(void **state)
{
	(void)state;
	static const uint8_t msg[] = {0x72};
	ed25519_check("4ccd089b28ff96da9db6c346ec114e0f5b8a319f35aba624da8cf6ed4fb8a6fb",
		      "3d4017c3e843895a92b70aa74d1b7ebc9c982ccf2ec4968cc0cd55f12af4660c", msg,
		      sizeof msg,
		      "92a009a9f0d4cab8720e820b5f642540a2b27b5416503f8fb3762223ebdb69da"
		      "085ac1e43e15996e458f3613d0f11d8c387b2eaeb4302aeeb00d291612bb0c00");
}

static void test_ed25519_rfc8032_test3(void **state)
{
	(void)state;
	static const uint8_t msg[] = {0xaf, 0x82};
	ed25519_check("c5aa8df43f9f837bedb7442f31dcb7b166d38535076f094b85ce3a2e0b4458f7",
		      "fc51cd8e6218a1a38da47ed00230f0580816ed13ba3303ac5deb911548908025", msg,
		      sizeof msg,
		      "6291d657deec24024827e69c3abe01a30ce548a284743a445e3680d7db5ac3ac"
		      "18ff9b538d16f290ae67f760984dc6594a7c15e9716ed28dc027beceea1ec40a");
}

/* TEST SHA(abc): the message is the 64-byte SHA-512 of "abc", given in the RFC
 * as hex; it is also recomputed to check the constant. */
static void test_ed25519_rfc8032_sha_abc(void **state)
{
	(void)state;
	uint8_t msg[64], h[64];
	pl_test_unhex_n(msg, 64,
			"ddaf35a193617abacc417349ae20413112e6fa4e89a97ea20a9eeee64b55d39a"
			"2192992a274fc1a836ba3c23a3feebbd454d4423643ce80e2a9ac94fa54ca49f");
	crypto_hash_sha512(h, (const uint8_t *)"abc", 3);
	assert_memory_equal(h, msg, 64);
	ed25519_check("833fe62409237b9d62ec77587520911e9a759cec1d19755b7da901b96dca3d42",
		      "ec172b93ad5e563bf4932c70e1245034c35467ef2efd4d64ebf819683467e2bf", msg,
		      sizeof msg,
		      "dc2a4459e7369633a52b1bf277839a00201009a3efbf3ecb69bea2186c26b589"
		      "09351fc9ac90b3ecfdfbc7c66431e0303dca179c138ac17ad9bef1177331a704");
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_x25519_rfc7748_vector1),
	    cmocka_unit_test(test_x25519_rfc7748_vector2),
	    cmocka_unit_test(test_x25519_rfc7748_iterated),
	    cmocka_unit_test(test_x25519_rfc7748_dh),
	    cmocka_unit_test(test_ed25519_rfc8032_test1),
	    cmocka_unit_test(test_ed25519_rfc8032_test2),
	    cmocka_unit_test(test_ed25519_rfc8032_test3),
	    cmocka_unit_test(test_ed25519_rfc8032_sha_abc),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
