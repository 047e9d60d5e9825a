/*
 * test_x3dh.c — X3DH key agreement and the prekey bundle (src/session/x3dh).
 *
 * Both sides must derive the same SK with and without a one-time prekey; a
 * bundle whose signature, version or length is wrong must never be used.
 * The 3-DH + HKDF construction and the HMAC chain step are also checked
 * against libsignal's known-answer values (with libsignal's own constants,
 * through pl_hkdf_sha256 / pl_hmac_sha256), since parley's X3DH and chain
 * KDF are the same mathematics with different info strings.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto/kdf.h"
#include "session/x3dh.h"
#include "support.h"

typedef struct {
	pl_identity id;
	uint8_t spk_sk[32], spk_pk[32], opk_sk[32], opk_pk[32];
	pl_bundle bundle;
} bob_keys;

static void make_bob(bob_keys *k, int with_opk)
{
	memset(k, 0, sizeof *k);
	assert_int_equal(pl_identity_generate(&k->id), 0);
	crypto_box_keypair(k->spk_pk, k->spk_sk);
	crypto_box_keypair(k->opk_pk, k->opk_sk);
	memcpy(k->bundle.ik, k->id.pk, 32);
	k->bundle.spk_id = 7;
	memcpy(k->bundle.spk, k->spk_pk, 32);
	assert_int_equal(pl_spk_sign(k->bundle.spk_sig, &k->id, 7, k->spk_pk), 0);
	if (with_opk) {
		k->bundle.opk_id = 42;
		memcpy(k->bundle.opk, k->opk_pk, 32);
	}
	assert_int_equal(pl_bundle_verify(&k->bundle), 0);
}

static void agree(int with_opk)
{
	bob_keys bob;
	pl_identity alice;
	uint8_t sk_a[32], sk_b[32], ek[32];
	make_bob(&bob, with_opk);
	assert_int_equal(pl_identity_generate(&alice), 0);
	assert_int_equal(pl_x3dh_initiate(sk_a, ek, &alice, &bob.bundle), 0);
	assert_int_equal(
	    pl_x3dh_respond(sk_b, &bob.id, bob.spk_sk, with_opk ? bob.opk_sk : NULL, alice.pk, ek),
	    0);
	assert_memory_equal(sk_a, sk_b, 32);
	assert_false(sodium_is_zero(sk_a, 32));
	/* The responder must use the one-time prekey exactly when the
	 * initiator did. */
	assert_int_equal(
	    pl_x3dh_respond(sk_b, &bob.id, bob.spk_sk, with_opk ? NULL : bob.opk_sk, alice.pk, ek),
	    0);
	assert_memory_not_equal(sk_a, sk_b, 32);
	/* A second run uses a fresh ephemeral key and so a fresh SK. */
	uint8_t sk_a2[32], ek2[32];
	assert_int_equal(pl_x3dh_initiate(sk_a2, ek2, &alice, &bob.bundle), 0);
	assert_memory_not_equal(ek, ek2, 32);
	assert_memory_not_equal(sk_a, sk_a2, 32);
	pl_identity_wipe(&alice);
	pl_identity_wipe(&bob.id);
}

static void test_agree_with_opk(void **state)
{
	(void)state;
	agree(1);
}

static void test_agree_without_opk(void **state)
{
	(void)state;
	agree(0);
}

static void test_tampered_bundle_rejected(void **state)
{
	(void)state;
	bob_keys bob;
	pl_identity alice;
	uint8_t sk[32], ek[32];
	make_bob(&bob, 1);
	assert_int_equal(pl_identity_generate(&alice), 0);
	for (size_t bit = 0; bit < 8 * PL_SIG_LEN; bit++) {
		pl_bundle b = bob.bundle;
		b.spk_sig[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(pl_bundle_verify(&b), -1);
		memset(sk, 0xAA, sizeof sk);
		assert_int_equal(pl_x3dh_initiate(sk, ek, &alice, &b), -1);
		/* Nothing half-written. */
		for (size_t i = 0; i < sizeof sk; i++)
			assert_int_equal(sk[i], 0xAA);
	}
	pl_bundle b = bob.bundle;
	b.spk[0] ^= 1;
	assert_int_equal(pl_x3dh_initiate(sk, ek, &alice, &b), -1);
	b = bob.bundle;
	b.spk_id++;
	assert_int_equal(pl_x3dh_initiate(sk, ek, &alice, &b), -1);
	b = bob.bundle;
	b.ik[5] ^= 1;
	assert_int_equal(pl_x3dh_initiate(sk, ek, &alice, &b), -1);
	/* "No one-time prekey" with a non-zero key is not a valid bundle. */
	b = bob.bundle;
	b.opk_id = 0;
	assert_int_equal(pl_bundle_verify(&b), -1);
	/* Nor is a one-time prekey id with the all-zero key. */
	b = bob.bundle;
	memset(b.opk, 0, 32);
	assert_int_equal(pl_bundle_verify(&b), -1);
	pl_identity_wipe(&alice);
	pl_identity_wipe(&bob.id);
}

static void test_zero_dh_rejected(void **state)
{
	(void)state;
	bob_keys bob;
	pl_identity alice;
	uint8_t sk[32], ek[32], zero[32] = {0};
	make_bob(&bob, 0);
	assert_int_equal(pl_identity_generate(&alice), 0);
	/* A properly signed but all-zero (small-order) signed prekey. */
	memset(bob.bundle.spk, 0, 32);
	assert_int_equal(pl_spk_sign(bob.bundle.spk_sig, &bob.id, 7, bob.bundle.spk), 0);
	assert_int_equal(pl_bundle_verify(&bob.bundle), 0);
	assert_int_equal(pl_x3dh_initiate(sk, ek, &alice, &bob.bundle), -1);
	/* And the same for a small-order one-time prekey. */
	make_bob(&bob, 1);
	memset(bob.bundle.opk, 0, 32);
	bob.bundle.opk[0] = 1; /* u = 1, order 4 on Curve25519 */
	assert_int_equal(pl_x3dh_initiate(sk, ek, &alice, &bob.bundle), -1);
	/* Responder: an all-zero ephemeral key. */
	assert_int_equal(pl_x3dh_respond(sk, &bob.id, bob.spk_sk, NULL, alice.pk, zero), -1);
	/* Responder: an invalid initiator identity key. */
	uint8_t bad_ik[32] = {1};
	assert_int_equal(pl_x3dh_respond(sk, &bob.id, bob.spk_sk, NULL, bad_ik, bob.spk_pk), -1);
	pl_identity_wipe(&alice);
	pl_identity_wipe(&bob.id);
}

static void encode(const pl_bundle *b, uint8_t *out, size_t *n)
{
	pl_wr w;
	pl_wr_init(&w);
	pl_bundle_encode(&w, b);
	assert_int_equal(pl_wr_ok(&w), 0);
	memcpy(out, w.p, w.n);
	*n = w.n;
	pl_wr_free(&w);
}

static void test_bundle_codec(void **state)
{
	(void)state;
	bob_keys bob;
	uint8_t buf[256], tmp[257];
	size_t n;
	pl_bundle d;
	make_bob(&bob, 1);
	encode(&bob.bundle, buf, &n);
	assert_int_equal(n, 1 + 32 + 4 + 32 + 64 + 4 + 32);
	assert_int_equal(buf[0], 1);
	assert_int_equal(pl_bundle_decode(&d, buf, n), 0);
	assert_memory_equal(&d, &bob.bundle, sizeof d);

	/* Without a one-time prekey. */
	make_bob(&bob, 0);
	encode(&bob.bundle, buf, &n);
	assert_int_equal(pl_bundle_decode(&d, buf, n), 0);
	assert_int_equal(d.opk_id, 0);
	assert_true(sodium_is_zero(d.opk, 32));

	/* Every truncation. */
	for (size_t len = 0; len < n; len++)
		assert_int_equal(pl_bundle_decode(&d, buf, len), -1);
	assert_int_equal(pl_bundle_decode(&d, NULL, 0), -1);
	/* Trailing bytes. */
	memcpy(tmp, buf, n);
	tmp[n] = 0;
	assert_int_equal(pl_bundle_decode(&d, tmp, n + 1), -1);
	/* Versions other than 1. */
	for (int v = 0; v < 256; v++) {
		if (v == 1)
			continue;
		memcpy(tmp, buf, n);
		tmp[0] = (uint8_t)v;
		assert_int_equal(pl_bundle_decode(&d, tmp, n), -1);
	}
	/* Every single-bit change of this no-OPK bundle is refused: the signed
	 * part and signature by the signature, opk_id and opk by the rule that
	 * "none" is opk_id 0 with a zero key (one-time prekeys are unsigned). */
	for (size_t bit = 8; bit < 8 * n; bit++) {
		memcpy(tmp, buf, n);
		tmp[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		memset(&d, 0x55, sizeof d);
		assert_int_equal(pl_bundle_decode(&d, tmp, n), -1);
		/* The output is not half-written on failure. */
		for (size_t i = 0; i < sizeof d.ik; i++)
			assert_int_equal(d.ik[i], 0x55);
	}
	pl_identity_wipe(&bob.id);
}

static void test_ad(void **state)
{
	(void)state;
	uint8_t a[32], b[32], ad[PL_X3DH_AD_LEN];
	memset(a, 0xA1, 32);
	memset(b, 0xB2, 32);
	pl_x3dh_ad(ad, a, b);
	assert_memory_equal(ad, a, 32);
	assert_memory_equal(ad + 32, b, 32);
}

/*
 * libsignal known-answer values, from signalapp/libsignal-protocol-c
 * @ 3a83a4f4 (v2.3.3), tests/test_ratchet.c (GPL-3.0; test values only, with
 * attribution), as transcribed in
 * ../shared/data/ratchet/libsignal-protocol-c-kat.json. Public keys there
 * carry a 0x05 type byte, dropped here.
 *
 * session_init_v3: libsignal's 3-DH. libsignal does not clamp private keys
 * at DH time and Alice's base key is unclamped, so the vector is reproduced
 * from Bob's side only, whose keys are clamped:
 *   DH1 = DH(IKa, SPKb) = X25519(spk_b, ik_a)
 *   DH2 = DH(EKa, IKb)  = X25519(ik_b, ek_a)
 *   DH3 = DH(EKa, SPKb) = X25519(spk_b, ek_a)
 *   RK ‖ CK = HKDF(salt 32×0, 32×0xFF ‖ DH1 ‖ DH2 ‖ DH3, "WhisperText", 64)
 * CK is Bob's first sending chain key. RK is the README's
 * `root_key_derived_here` (computed there, not in libsignal's test).
 */
static void test_libsignal_session_init_v3(void **state)
{
	(void)state;
	uint8_t ik_a[32], ek_a[32], ik_b_sk[32], ik_b_pk[32], spk_sk[32], spk_pk[32];
	uint8_t want_ck[32], want_rk[32], pk[32], ikm[32 * 4], okm[64];
	static const uint8_t salt[32];
	pl_test_unhex_n(ik_a, 32,
			"b4a8455660ada65b401007f615e654041746432e3339c6875149bceefcb42b4a");
	pl_test_unhex_n(ek_a, 32,
			"472d1fb1a9862c3af6beaca8920277e2b26f4a79213ec7c906aeb35e03cf8950");
	pl_test_unhex_n(ik_b_sk, 32,
			"4875cc69ddf8ea0719ec947d61081135868d5fd801f02c0225e516df2156605e");
	pl_test_unhex_n(ik_b_pk, 32,
			"f1f43874f6966956c2dd473f8fa15adeb71d1cb991b2341692324cefb1c5e626");
	pl_test_unhex_n(spk_sk, 32,
			"583900131fb727998b7803fe6ac22cc591f342e4e42a8c8d5d78194209b8d253");
	pl_test_unhex_n(spk_pk, 32,
			"ac248a8f263be6863576eb0362e28c828f0107a3379d34bab1586bf8c770cd67");
	pl_test_unhex_n(want_ck, 32,
			"9797caca53c989bbe229a40ca7727010eb2604fc14945d77958a0aeda088b44d");
	pl_test_unhex_n(want_rk, 32,
			"3e6130d0a8c8e5b8ad65eb8b7d95fa3ab84710d48d92f34dcda43f9909261bca");

	/* Bob's keys are consistent (clamped) X25519 pairs. */
	assert_int_equal(crypto_scalarmult_base(pk, ik_b_sk), 0);
	assert_memory_equal(pk, ik_b_pk, 32);
	assert_int_equal(crypto_scalarmult_base(pk, spk_sk), 0);
	assert_memory_equal(pk, spk_pk, 32);

	memset(ikm, 0xFF, 32);
	assert_int_equal(crypto_scalarmult(ikm + 32, spk_sk, ik_a), 0);
	assert_int_equal(crypto_scalarmult(ikm + 64, ik_b_sk, ek_a), 0);
	assert_int_equal(crypto_scalarmult(ikm + 96, spk_sk, ek_a), 0);
	assert_int_equal(pl_hkdf_sha256(okm, sizeof okm, salt, sizeof salt, ikm, sizeof ikm,
					(const uint8_t *)"WhisperText", 11),
			 0);
	assert_memory_equal(okm, want_rk, 32);
	assert_memory_equal(okm + 32, want_ck, 32);
}

/*
 * chain_key_v3 (same source): the symmetric-key ratchet step parley also
 * uses: MK input = HMAC-SHA256(CK, 0x01), next CK = HMAC-SHA256(CK, 0x02).
 * libsignal then expands the MK input with HKDF(salt 32×0,
 * "WhisperMessageKeys", 80) = cipher key ‖ MAC key ‖ IV.
 */
static void test_libsignal_chain_key_v3(void **state)
{
	(void)state;
	static const uint8_t one = 0x01, two = 0x02, salt[32];
	uint8_t ck[32], want_cipher[32], want_mac[32], want_next[32], mk_in[32], next[32];
	uint8_t okm[80];
	pl_test_unhex_n(ck, 32, "8ab72d6f4cc5ac0d387eaf463378ddb28edd07385b1cb01250c715982e7ad48f");
	pl_test_unhex_n(want_cipher, 32,
			"bf51e9d75e0e31031051f82a2491ffc084fa298b7793bd9db620056febf45217");
	pl_test_unhex_n(want_mac, 32,
			"c6c77d6a73a354337a56435e34607dfe48e3ace14e77314dc6abc172e7a7030b");
	pl_test_unhex_n(want_next, 32,
			"28e8f8fee54b801eef7c5cfb2f17f32c7b334485bbb70fac6ec10342a246d15d");
	pl_hmac_sha256(mk_in, ck, 32, &one, 1);
	pl_hmac_sha256(next, ck, 32, &two, 1);
	assert_memory_equal(next, want_next, 32);
	assert_int_equal(pl_hkdf_sha256(okm, sizeof okm, salt, sizeof salt, mk_in, 32,
					(const uint8_t *)"WhisperMessageKeys", 18),
			 0);
	assert_memory_equal(okm, want_cipher, 32);
	assert_memory_equal(okm + 32, want_mac, 32);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_agree_with_opk),
	    cmocka_unit_test(test_agree_without_opk),
	    cmocka_unit_test(test_tampered_bundle_rejected),
	    cmocka_unit_test(test_zero_dh_rejected),
	    cmocka_unit_test(test_bundle_codec),
	    cmocka_unit_test(test_ad),
	    cmocka_unit_test(test_libsignal_session_init_v3),
	    cmocka_unit_test(test_libsignal_chain_key_v3),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
