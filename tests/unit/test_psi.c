/*
 * test_psi.c — the hash-to-group and PSI engine of blind matching
 * (src/crypto/h2g.h, src/crypto/psi.h).
 *
 * Known answers, copied with their sources below (hex exactly as published):
 *  - RFC 9380 Appendix K.3, expand_message_xmd(SHA-512), DST
 *    "QUUX-V01-CS02-with-expander-SHA512-256": all ten vectors. (K.1/K.2
 *    are SHA-256; the task named K.2, the SHA-512 ones are K.3.) Copied
 *    from the RFC's source, github.com/cfrg/draft-irtf-cfrg-hash-to-curve,
 *    draft-irtf-cfrg-hash-to-curve.md "expand_message_xmd(SHA-512)" and
 *    poc/vectors/expand_message_xmd_SHA512_38.json (the two agree).
 *  - RFC 9496 Appendix A.3, element derivation from 64-byte uniform
 *    strings (libsodium's crypto_core_ristretto255_from_hash): the seven
 *    vectors and the four non-canonical inputs that all map to one
 *    element. Cross-checked in three independent copies (noble-curves'
 *    "uniform byte string (from RFC)" test, gtank/ristretto255, the
 *    curve25519-dalek test vectors): identical.
 *  - RFC 9380 has NO hash_to_ristretto255 vectors: Appendix B defines it,
 *    Appendix J covers only the curve suites (no "J.?" for ristretto255,
 *    and no DST "QUUX-V01-CS02-with-ristretto255_XMD:SHA-512_R255MAP_RO_"
 *    anywhere in it). The published end-to-end vectors of exactly this
 *    composition are RFC 9497's (OPRF): HashToGroup is hash_to_ristretto255
 *    with expand_message_xmd(SHA-512) and DST "HashToGroup-OPRFV1-" ||
 *    mode || "-ristretto255-SHA512", BlindedElement = Blind *
 *    HashToGroup(Input), and in the OPRF and VOPRF modes EvaluationElement
 *    = skSm * BlindedElement. So Appendix A.1.1-A.1.3 check pl_psi_blind
 *    and pl_psi_reblind as they are, with k = Blind and k = skSm. Copied
 *    from github.com/cfrg/draft-irtf-cfrg-voprf, draft-irtf-cfrg-voprf.md
 *    "ristretto255-SHA512" (the RFC's source).
 *  - One cross-implementation value (not an RFC vector): noble-curves'
 *    ristretto255_hasher.hashToCurve(10 bytes of 0x05, DST
 *    "ristretto255_XMD:SHA-512_R255MAP_RO_").
 *
 * Never weaken a vector to make it pass.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "crypto/h2g.h"
#include "crypto/psi.h"
#include "support.h"

/* ---- RFC 9380 Appendix K.3 -------------------------------------------- */

static const char K3_DST[] = "QUUX-V01-CS02-with-expander-SHA512-256";

/* msg: "" | "abc" | "abcdef0123456789" | "q128_" 128*"q" | "a512_" 512*"a" */
static size_t k3_msg(uint8_t *out, int which)
{
	static const char *lit[] = {"", "abc", "abcdef0123456789"};
	if (which < 3) {
		memcpy(out, lit[which], strlen(lit[which]));
		return strlen(lit[which]);
	}
	int q = which == 3;
	memcpy(out, q ? "q128_" : "a512_", 5);
	memset(out + 5, q ? 'q' : 'a', q ? 128 : 512);
	return 5 + (q ? 128 : 512);
}

static const struct {
	int msg;
	size_t len;
	const char *uniform;
} K3[] = {
    {0, 0x20, "6b9a7312411d92f921c6f68ca0b6380730a1a4d982c507211a90964c394179ba"},
    {1, 0x20, "0da749f12fbe5483eb066a5f595055679b976e93abe9be6f0f6318bce7aca8dc"},
    {2, 0x20, "087e45a86e2939ee8b91100af1583c4938e0f5fc6c9db4b107b83346bc967f58"},
    {3, 0x20, "7336234ee9983902440f6bc35b348352013becd88938d2afec44311caf8356b3"},
    {4, 0x20, "57b5f7e766d5be68a6bfe1768e3c2b7f1228b3e4b3134956dd73a59b954c66f4"},
    {0, 0x80,
     "41b037d1734a5f8df225dd8c7de38f851efdb45c372887be655212d07251b921b052b62eaed99b46f72f2ef4cc9"
     "6bfaf254ebbbec091e1a3b9e4fb5e5b619d2e0c5414800a1d882b62bb5cd1778f098b8eb6cb399d5d9d18f5d5842"
     "cf5d13d7eb00a7cff859b605da678b318bd0e65ebff70bec88c753b159a805d2c89c55961"},
    {1, 0x80,
     "7f1dddd13c08b543f2e2037b14cefb255b44c83cc397c1786d975653e36a6b11bdd7732d8b38adb4a0edc26a0ce"
     "f4bb45217135456e58fbca1703cd6032cb1347ee720b87972d63fbf232587043ed2901bce7f22610c0419751c065"
     "922b488431851041310ad659e4b23520e1772ab29dcdeb2002222a363f0c2b1c972b3efe1"},
    {2, 0x80,
     "3f721f208e6199fe903545abc26c837ce59ac6fa45733f1baaf0222f8b7acb0424814fcb5eecf6c1d38f06e9d0a"
     "6ccfbf85ae612ab8735dfdf9ce84c372a77c8f9e1c1e952c3a61b7567dd0693016af51d2745822663d0c2367e3f"
     "4f0bed827feecc2aaf98c949b5ed0d35c3f1023d64ad1407924288d366ea159f46287e61ac"},
    {3, 0x80,
     "b799b045a58c8d2b4334cf54b78260b45eec544f9f2fb5bd12fb603eaee70db7317bf807c406e26373922b7b892"
     "0fa29142703dd52bdf280084fb7ef69da78afdf80b3586395b433dc66cde048a258e476a561e9deba7060af40ad"
     "f30c64249ca7ddea79806ee5beb9a1422949471d267b21bc88e688e4014087a0b592b695ed"},
    {4, 0x80,
     "05b0bfef265dcee87654372777b7c44177e2ae4c13a27f103340d9cd11c86cb2426ffcad5bd964080c2aee97f03"
     "be1ca18e30a1f14e27bc11ebbd650f305269cc9fb1db08bf90bfc79b42a952b46daf810359e7bc36452684784a6"
     "4952c343c52e5124cd1f71d474d5197fefc571a92929c9084ffe1112cf5eea5192ebff330b"},
};

static void test_expand_rfc9380_k3(void **state)
{
	(void)state;
	uint8_t msg[600], got[0x80], want[0x80];
	for (size_t i = 0; i < sizeof K3 / sizeof K3[0]; i++) {
		size_t mlen = k3_msg(msg, K3[i].msg);
		pl_test_unhex_n(want, K3[i].len, K3[i].uniform);
		memset(got, 0xa5, sizeof got);
		assert_int_equal(pl_expand_xmd_sha512(got, K3[i].len, msg, mlen,
						      (const uint8_t *)K3_DST, strlen(K3_DST)),
				 0);
		assert_memory_equal(got, want, K3[i].len);
		/* nothing written past outlen */
		for (size_t j = K3[i].len; j < sizeof got; j++)
			assert_int_equal(got[j], 0xa5);
	}
}

/* An output that is not a whole number of 64-byte blocks is the prefix of
 * the longer one (the blocks do not depend on the length except through
 * l_i_b_str, so this checks only the truncation: lengths differ -> differ). */
static void test_expand_lengths_and_errors(void **state)
{
	(void)state;
	const uint8_t *dst = (const uint8_t *)K3_DST;
	size_t dl = strlen(K3_DST);
	static uint8_t big[255 * 64 + 1];
	uint8_t a[100], b[100];

	/* outlen bounds: 1 .. 255*64 */
	assert_int_equal(pl_expand_xmd_sha512(big, 255 * 64, (const uint8_t *)"m", 1, dst, dl), 0);
	memset(big, 0x11, sizeof big);
	assert_int_equal(pl_expand_xmd_sha512(big, 255 * 64 + 1, (const uint8_t *)"m", 1, dst, dl),
			 -1);
	assert_int_equal(pl_expand_xmd_sha512(a, 0, (const uint8_t *)"m", 1, dst, dl), -1);
	assert_int_equal(pl_expand_xmd_sha512(a, 1, (const uint8_t *)"m", 1, dst, dl), 0);

	/* an empty DST is refused and the output wiped */
	memset(a, 0x77, sizeof a);
	assert_int_equal(pl_expand_xmd_sha512(a, 32, (const uint8_t *)"m", 1, dst, 0), -1);
	assert_true(sodium_is_zero(a, 32));
	assert_int_equal(pl_expand_xmd_sha512(a, 32, (const uint8_t *)"m", 1, NULL, 0), -1);

	/* the length is bound in: 99 bytes are not the first 99 of 100 */
	assert_int_equal(pl_expand_xmd_sha512(a, 100, NULL, 0, dst, dl), 0);
	assert_int_equal(pl_expand_xmd_sha512(b, 99, NULL, 0, dst, dl), 0);
	assert_memory_not_equal(a, b, 99);

	/* RFC 9380 §5.3.3: a DST over 255 bytes is replaced by
	 * SHA-512("H2C-OVERSIZE-DST-" || DST); 255 bytes are used as is */
	uint8_t longdst[300], hashed[64];
	for (size_t i = 0; i < sizeof longdst; i++)
		longdst[i] = (uint8_t)('A' + i % 26);
	crypto_hash_sha512_state st;
	crypto_hash_sha512_init(&st);
	crypto_hash_sha512_update(&st, (const uint8_t *)"H2C-OVERSIZE-DST-", 17);
	crypto_hash_sha512_update(&st, longdst, 256);
	crypto_hash_sha512_final(&st, hashed);
	assert_int_equal(pl_expand_xmd_sha512(a, 64, (const uint8_t *)"abc", 3, longdst, 256), 0);
	assert_int_equal(pl_expand_xmd_sha512(b, 64, (const uint8_t *)"abc", 3, hashed, 64), 0);
	assert_memory_equal(a, b, 64);
	assert_int_equal(pl_expand_xmd_sha512(a, 64, (const uint8_t *)"abc", 3, longdst, 255), 0);
	crypto_hash_sha512_init(&st);
	crypto_hash_sha512_update(&st, (const uint8_t *)"H2C-OVERSIZE-DST-", 17);
	crypto_hash_sha512_update(&st, longdst, 255);
	crypto_hash_sha512_final(&st, hashed);
	assert_int_equal(pl_expand_xmd_sha512(b, 64, (const uint8_t *)"abc", 3, hashed, 64), 0);
	assert_memory_not_equal(a, b, 64);
}

/* ---- RFC 9496 Appendix A.3 --------------------------------------------- */

static const struct {
	const char *in, *out;
} A3[] = {
    {"5d1be09e3d0c82fc538112490e35701979d99e06ca3e2b5b54bffe8b4dc772c1"
     "4d98b696a1bbfb5ca32c436cc61c16563790306c79eaca7705668b47dffe5bb6",
     "3066f82a1a747d45120d1740f14358531a8f04bbffe6a819f86dfe50f44a0a46"},
    {"f116b34b8f17ceb56e8732a60d913dd10cce47a6d53bee9204be8b44f6678b27"
     "0102a56902e2488c46120e9276cfe54638286b9e4b3cdb470b542d46c2068d38",
     "f26e5b6f7d362d2d2a94c5d0e7602cb4773c95a2e5c31a64f133189fa76ed61b"},
    {"8422e1bbdaab52938b81fd602effb6f89110e1e57208ad12d9ad767e2e25510c"
     "27140775f9337088b982d83d7fcf0b2fa1edffe51952cbe7365e95c86eaf325c",
     "006ccd2a9e6867e6a2c5cea83d3302cc9de128dd2a9a57dd8ee7b9d7ffe02826"},
    {"ac22415129b61427bf464e17baee8db65940c233b98afce8d17c57beeb7876c2"
     "150d15af1cb1fb824bbd14955f2b57d08d388aab431a391cfc33d5bafb5dbbaf",
     "f8f0c87cf237953c5890aec3998169005dae3eca1fbb04548c635953c817f92a"},
    {"165d697a1ef3d5cf3c38565beefcf88c0f282b8e7dbd28544c483432f1cec767"
     "5debea8ebb4e5fe7d6f6e5db15f15587ac4d4d4a1de7191e0c1ca6664abcc413",
     "ae81e7dedf20a497e10c304a765c1767a42d6e06029758d2d7e8ef7cc4c41179"},
    {"a836e6c9a9ca9f1e8d486273ad56a78c70cf18f0ce10abb1c7172ddd605d7fd2"
     "979854f47ae1ccf204a33102095b4200e5befc0465accc263175485f0e17ea5c",
     "e2705652ff9f5e44d3e841bf1c251cf7dddb77d140870d1ab2ed64f1a9ce8628"},
    {"2cdc11eaeb95daf01189417cdddbf95952993aa9cb9c640eb5058d09702c7462"
     "2c9965a697a3b345ec24ee56335b556e677b30e6f90ac77d781064f866a3c982",
     "80bd07262511cdde4863f8a7434cef696750681cb9510eea557088f76d9e5065"},
    /* non-canonical field encodings (top bit set, >= p): all the same */
    {"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
     "1200000000000000000000000000000000000000000000000000000000000000",
     "304282791023b73128d277bdcb5c7746ef2eac08dde9f2983379cb8e5ef0517f"},
    {"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"
     "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
     "304282791023b73128d277bdcb5c7746ef2eac08dde9f2983379cb8e5ef0517f"},
    {"0000000000000000000000000000000000000000000000000000000000000080"
     "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
     "304282791023b73128d277bdcb5c7746ef2eac08dde9f2983379cb8e5ef0517f"},
    {"0000000000000000000000000000000000000000000000000000000000000000"
     "1200000000000000000000000000000000000000000000000000000000000080",
     "304282791023b73128d277bdcb5c7746ef2eac08dde9f2983379cb8e5ef0517f"},
};

static void test_from_hash_rfc9496_a3(void **state)
{
	(void)state;
	uint8_t in[64], want[32], got[32];
	for (size_t i = 0; i < sizeof A3 / sizeof A3[0]; i++) {
		pl_test_unhex_n(in, 64, A3[i].in);
		pl_test_unhex_n(want, 32, A3[i].out);
		assert_int_equal(crypto_core_ristretto255_from_hash(got, in), 0);
		assert_memory_equal(got, want, 32);
	}
}

/* ---- RFC 9497 Appendix A.1 (ristretto255-SHA512) ----------------------- */

static const char BLIND1[] = "64d37aed22a27f5191de1c1d69fadb899d8862b58eb4220029e036ec4c1f6706";
static const char BLIND2[] = "222a5e897cf59db8145db8d16e597e8facb80ae7d4e26d9881aa6f61d645fc0e";
static const char INPUT2[] = "5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a5a"; /* 17 bytes */

static const struct {
	int mode;	     /* 0 OPRF, 1 VOPRF, 2 POPRF */
	const char *sk;	     /* skSm, or NULL (POPRF evaluation is not k * B) */
	int input;	     /* 1: "00", 2: INPUT2 */
	const char *blind;   /* Blind */
	const char *blinded; /* BlindedElement */
	const char *eval;    /* EvaluationElement (OPRF, VOPRF) */
} OPRF[] = {
    /* A.1.1 OPRF mode, test vectors 1, 2 */
    {0, "5ebcea5ee37023ccb9fc2d2019f9d7737be85591ae8652ffa9ef0f4d37063b0e", 1, BLIND1,
     "609a0ae68c15a3cf6903766461307e5c8bb2f95e7e6550e1ffa2dc99e412803c",
     "7ec6578ae5120958eb2db1745758ff379e77cb64fe77b0b2d8cc917ea0869c7e"},
    {0, "5ebcea5ee37023ccb9fc2d2019f9d7737be85591ae8652ffa9ef0f4d37063b0e", 2, BLIND1,
     "da27ef466870f5f15296299850aa088629945a17d1f5b7f5ff043f76b3c06418",
     "b4cbf5a4f1eeda5a63ce7b77c7d23f461db3fcab0dd28e4e17cecb5c90d02c25"},
    /* A.1.2 VOPRF mode, test vectors 1, 2, and 3 (its second element) */
    {1, "e6f73f344b79b379f1a0dd37e07ff62e38d9f71345ce62ae3a9bc60b04ccd909", 1, BLIND1,
     "863f330cc1a1259ed5a5998a23acfd37fb4351a793a5b3c090b642ddc439b945",
     "aa8fa048764d5623868679402ff6108d2521884fa138cd7f9c7669a9a014267e"},
    {1, "e6f73f344b79b379f1a0dd37e07ff62e38d9f71345ce62ae3a9bc60b04ccd909", 2, BLIND1,
     "cc0b2a350101881d8a4cba4c80241d74fb7dcbfde4a61fde2f91443c2bf9ef0c",
     "60a59a57208d48aca71e9e850d22674b611f752bed48b36f7a91b372bd7ad468"},
    {1, "e6f73f344b79b379f1a0dd37e07ff62e38d9f71345ce62ae3a9bc60b04ccd909", 2, BLIND2,
     "90a0145ea9da29254c3a56be4fe185465ebb3bf2a1801f7124bbbadac751e654",
     "cc5ac221950a49ceaa73c8db41b82c20372a4c8d63e5dded2db920b7eee36a2a"},
    /* A.1.3 POPRF mode, test vectors 1, 2, and 3 (its second element) */
    {2, NULL, 1, BLIND1, "c8713aa89241d6989ac142f22dba30596db635c772cbf25021fdd8f3d461f715", NULL},
    {2, NULL, 2, BLIND1, "f0f0b209dd4d5f1844dac679acc7761b91a2e704879656cb7c201e82a99ab07d", NULL},
    {2, NULL, 2, BLIND2, "423a01c072e06eb1cce96d23acce06e1ea64a609d7ec9e9023f3049f2d64e50c", NULL},
};

/* "HashToGroup-" || "OPRFV1-" || I2OSP(mode, 1) || "-ristretto255-SHA512" */
static size_t oprf_dst(uint8_t *out, int mode)
{
	static const char a[] = "HashToGroup-OPRFV1-", b[] = "-ristretto255-SHA512";
	memcpy(out, a, sizeof a - 1);
	out[sizeof a - 1] = (uint8_t)mode;
	memcpy(out + sizeof a, b, sizeof b - 1);
	return sizeof a - 1 + 1 + sizeof b - 1;
}

static void test_blind_reblind_rfc9497(void **state)
{
	(void)state;
	uint8_t dst[64], k[32], sk[32], want[32], wante[32], hx[32], got[1][32], ev[1][32];
	uint8_t input[17];
	for (size_t i = 0; i < sizeof OPRF / sizeof OPRF[0]; i++) {
		size_t dl = oprf_dst(dst, OPRF[i].mode), il;
		if (OPRF[i].input == 1) {
			input[0] = 0;
			il = 1;
		} else {
			pl_test_unhex_n(input, 17, INPUT2);
			il = 17;
		}
		pl_test_unhex_n(k, 32, OPRF[i].blind);
		pl_test_unhex_n(want, 32, OPRF[i].blinded);

		/* the engine: ctx empty, element = Input */
		pl_psi_elem e = {input, il};
		assert_int_equal(pl_psi_blind(got, &e, 1, NULL, 0, dst, dl, k, NULL, NULL), 0);
		assert_memory_equal(got[0], want, 32);

		/* the same through pl_hash_to_r255, the input split into prefix
		 * and message at every point */
		for (size_t cut = 0; cut <= il; cut++) {
			assert_int_equal(
			    pl_hash_to_r255(hx, input, cut, input + cut, il - cut, dst, dl), 0);
			assert_int_equal(crypto_scalarmult_ristretto255(got[0], k, hx), 0);
			assert_memory_equal(got[0], want, 32);
		}
		/* and as blind with a prefix: ctx = first byte, element = rest */
		pl_psi_elem rest = {input + 1, il - 1};
		assert_int_equal(pl_psi_blind(got, &rest, 1, input, 1, dst, dl, k, NULL, NULL), 0);
		assert_memory_equal(got[0], want, 32);

		if (OPRF[i].sk == NULL)
			continue;
		pl_test_unhex_n(sk, 32, OPRF[i].sk);
		pl_test_unhex_n(wante, 32, OPRF[i].eval);
		assert_int_equal(pl_psi_reblind(ev, (const uint8_t(*)[32])got, 1, sk, NULL, NULL),
				 0);
		assert_memory_equal(ev[0], wante, 32);
		/* in place */
		assert_int_equal(pl_psi_reblind(got, (const uint8_t(*)[32])got, 1, sk, NULL, NULL),
				 0);
		assert_memory_equal(got[0], wante, 32);
	}
}

/* Not an RFC vector: noble-curves' hashToCurve for ristretto255 (its test
 * "ristretto255_hasher"), an independent implementation of the same suite. */
static void test_h2r_cross_implementation(void **state)
{
	(void)state;
	static const char dst[] = "ristretto255_XMD:SHA-512_R255MAP_RO_";
	uint8_t msg[10], want[32], got[32];
	memset(msg, 5, sizeof msg);
	pl_test_unhex_n(want, 32,
			"be2194e53cc014665821003f8ecf49e99b7cd16f5326e53f234ecd21c448ee6c");
	assert_int_equal(
	    pl_hash_to_r255(got, NULL, 0, msg, sizeof msg, (const uint8_t *)dst, strlen(dst)), 0);
	assert_memory_equal(got, want, 32);
}

/* pl_hash_to_r255(prefix, msg) == from_hash(expand(prefix || msg, 64)) for
 * prefix and message lengths around the 128-byte SHA-512 block, and a DST
 * error is refused with the output wiped. */
static void test_h2r_matches_expand(void **state)
{
	(void)state;
	static const char dst[] = "parley-match-v1-ristretto255_XMD:SHA-512_R255MAP_RO_";
	static const size_t lens[] = {0, 1, 47, 81, 111, 112, 127, 128, 129, 200, 256, 300};
	uint8_t buf[600], u[64], want[32], got[32];
	randombytes_buf(buf, sizeof buf);
	for (size_t a = 0; a < sizeof lens / sizeof lens[0]; a++)
		for (size_t b = 0; b < sizeof lens / sizeof lens[0]; b++) {
			size_t pl = lens[a], ml = lens[b];
			assert_int_equal(pl_expand_xmd_sha512(u, 64, buf, pl + ml,
							      (const uint8_t *)dst, strlen(dst)),
					 0);
			crypto_core_ristretto255_from_hash(want, u);
			assert_int_equal(pl_hash_to_r255(got, buf, pl, buf + pl, ml,
							 (const uint8_t *)dst, strlen(dst)),
					 0);
			assert_memory_equal(got, want, 32);
			assert_true(crypto_core_ristretto255_is_valid_point(got));
		}
	memset(got, 0x55, sizeof got);
	assert_int_equal(pl_hash_to_r255(got, buf, 3, buf, 3, (const uint8_t *)dst, 0), -1);
	assert_true(sodium_is_zero(got, 32));
}

/* ---- the PSI engine ----------------------------------------------------- */

static const uint8_t DST[] = "parley-match-v1-ristretto255_XMD:SHA-512_R255MAP_RO_";
#define DSTLEN (sizeof DST - 1)

/* n elements "e<i>-<tag>" of varying length in buf; e[i] points into it. */
static void make_elems(pl_psi_elem *e, char (*buf)[40], size_t n, size_t from, const char *tag)
{
	for (size_t i = 0; i < n; i++) {
		int len = snprintf(buf[i], sizeof buf[i], "e%zu-%s", from + i, tag);
		e[i].p = (const uint8_t *)buf[i];
		e[i].n = (size_t)len;
	}
}

static void test_blind_commutes(void **state)
{
	(void)state;
	enum { N = 24 };
	pl_psi_elem e[N];
	char buf[N][40];
	uint8_t k1[32], k2[32], ctx[81], a[N][32], b[N][32];
	make_elems(e, buf, N, 0, "x");
	e[0].n = 0; /* the empty element is an element */
	randombytes_buf(ctx, sizeof ctx);
	pl_psi_keygen(k1);
	pl_psi_keygen(k2);
	assert_memory_not_equal(k1, k2, 32);

	assert_int_equal(pl_psi_blind(a, e, N, ctx, sizeof ctx, DST, DSTLEN, k1, NULL, NULL), 0);
	assert_int_equal(pl_psi_blind(b, e, N, ctx, sizeof ctx, DST, DSTLEN, k2, NULL, NULL), 0);
	for (size_t i = 0; i < N; i++) {
		assert_true(crypto_core_ristretto255_is_valid_point(a[i]));
		assert_memory_not_equal(a[i], b[i], 32);
		if (i > 0)
			assert_memory_not_equal(a[i], a[i - 1], 32);
	}
	assert_int_equal(pl_psi_reblind(a, (const uint8_t(*)[32])a, N, k2, NULL, NULL), 0);
	assert_int_equal(pl_psi_reblind(b, (const uint8_t(*)[32])b, N, k1, NULL, NULL), 0);
	for (size_t i = 0; i < N; i++)
		assert_memory_equal(a[i], b[i], 32); /* k2*(k1*H(x)) == k1*(k2*H(x)) */

	/* the context separates: another ctx gives other values */
	uint8_t c[N][32];
	ctx[80] ^= 1;
	assert_int_equal(pl_psi_blind(c, e, N, ctx, sizeof ctx, DST, DSTLEN, k1, NULL, NULL), 0);
	assert_int_equal(pl_psi_reblind(c, (const uint8_t(*)[32])c, N, k2, NULL, NULL), 0);
	for (size_t i = 0; i < N; i++)
		assert_memory_not_equal(a[i], c[i], 32);
	sodium_memzero(k1, sizeof k1);
	sodium_memzero(k2, sizeof k2);
}

/*
 * One full run of the protocol between A (na elements) and B (nb), sharing
 * `common` elements, as MATCH-SPEC describes it: each blinds and sorts its
 * list, reblinds the other's, and A finds its own elements whose doubly
 * blinded value is among B's (packages), and the count (count mode).
 */
static void run_psi(size_t na, size_t nb, size_t common)
{
	pl_psi_elem *ea = calloc(na + 1, sizeof *ea), *eb = calloc(nb + 1, sizeof *eb);
	char(*ba)[40] = calloc(na + 1, sizeof *ba), (*bb)[40] = calloc(nb + 1, sizeof *bb);
	uint8_t(*ya)[32] = calloc(na + 1, 32), (*yb)[32] = calloc(nb + 1, 32);
	uint8_t(*za)[32] = calloc(nb + 1, 32), (*zb)[32] = calloc(na + 1, 32);
	uint32_t *perm = calloc(na + 1, sizeof *perm);
	uint8_t ka[32], kb[32], ctx[81];
	assert_non_null(ea);
	assert_non_null(eb);
	assert_non_null(ba);
	assert_non_null(bb);
	assert_non_null(ya);
	assert_non_null(yb);
	assert_non_null(za);
	assert_non_null(zb);
	assert_non_null(perm);

	/* A: e0..e(na-1); B: the last `common` of A's, then its own */
	make_elems(ea, ba, na, 0, "s");
	make_elems(eb, bb, common, na - common, "s");
	make_elems(eb + common, bb + common, nb - common, 1000000, "b");
	randombytes_buf(ctx, sizeof ctx);
	pl_psi_keygen(ka);
	pl_psi_keygen(kb);

	/* LIST: Y = k * H(x), sorted; A keeps its order in perm */
	assert_int_equal(pl_psi_blind(ya, ea, na, ctx, sizeof ctx, DST, DSTLEN, ka, NULL, NULL), 0);
	assert_int_equal(pl_psi_blind(yb, eb, nb, ctx, sizeof ctx, DST, DSTLEN, kb, NULL, NULL), 0);
	pl_psi_sort(ya, na, perm);
	pl_psi_sort(yb, nb, NULL);
	assert_true(pl_psi_strictly_ascending((const uint8_t(*)[32])ya, na));
	assert_true(pl_psi_strictly_ascending((const uint8_t(*)[32])yb, nb));

	/* FINAL: B sends Z = kb * Y_A in A's order; A computes ka * Y_B */
	assert_int_equal(pl_psi_reblind(zb, (const uint8_t(*)[32])ya, na, kb, NULL, NULL), 0);
	assert_int_equal(pl_psi_reblind(za, (const uint8_t(*)[32])yb, nb, ka, NULL, NULL), 0);
	pl_psi_set *s = pl_psi_set_new((const uint8_t(*)[32])za, nb);
	assert_non_null(s);
	size_t hits = 0;
	for (size_t t = 0; t < na; t++) {
		int in = pl_psi_set_has(s, zb[t]);
		/* A's element at sorted position t is ea[perm[t]]: a common one
		 * iff its index is >= na - common */
		assert_int_equal(in, perm[t] >= na - common);
		hits += (size_t)in;
	}
	assert_int_equal(hits, common);
	pl_psi_set_free(s);

	/* count mode: B's Z sorted (hides which); the count is the same, and
	 * the other way round too */
	pl_psi_sort(zb, na, NULL);
	assert_true(pl_psi_strictly_ascending((const uint8_t(*)[32])zb, na));
	s = pl_psi_set_new((const uint8_t(*)[32])zb, na);
	assert_non_null(s);
	hits = 0;
	for (size_t t = 0; t < nb; t++)
		hits += (size_t)pl_psi_set_has(s, za[t]);
	assert_int_equal(hits, common);
	pl_psi_set_free(s);

	sodium_memzero(ka, sizeof ka);
	sodium_memzero(kb, sizeof kb);
	free(ea);
	free(eb);
	free(ba);
	free(bb);
	free(ya);
	free(yb);
	free(za);
	free(zb);
	free(perm);
}

static void test_intersection(void **state)
{
	(void)state;
	run_psi(0, 0, 0);     /* both empty */
	run_psi(0, 7, 0);     /* one empty */
	run_psi(9, 0, 0);     /* the other */
	run_psi(1, 1, 1);     /* one each, equal */
	run_psi(1, 1, 0);     /* one each, different */
	run_psi(60, 70, 0);   /* disjoint */
	run_psi(50, 50, 50);  /* identical */
	run_psi(120, 90, 37); /* partial */
	run_psi(40, 90, 40);  /* A a subset of B */
}

/* RFC 9496 A.2 bad encodings (as copied in the independent test suites
 * named above): non-canonical, negative, non-square, s = -1; plus the
 * identity, which decodes but must be refused. */
static const char *BAD[] = {
    "00ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "0100000000000000000000000000000000000000000000000000000000000000",
    "26948d35ca62e643e26a83177332e6b6afeb9d08e4268b650f1f5bbd8d81d371",
    "3eb858e78f5a7254d8c9731174a94f76755fd3941c0ac93735c07ba14579630e",
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "0000000000000000000000000000000000000000000000000000000000000000",
};

static void test_reblind_refuses(void **state)
{
	(void)state;
	enum { N = 5 };
	pl_psi_elem e[N];
	char buf[N][40];
	uint8_t k[32], y[N][32], out[N][32], zero[32] = {0};
	make_elems(e, buf, N, 0, "r");
	pl_psi_keygen(k);
	assert_int_equal(pl_psi_blind(y, e, N, NULL, 0, DST, DSTLEN, k, NULL, NULL), 0);
	assert_int_equal(pl_psi_reblind(out, (const uint8_t(*)[32])y, N, k, NULL, NULL), 0);

	for (size_t b = 0; b < sizeof BAD / sizeof BAD[0]; b++) {
		uint8_t bad[32], in[N][32];
		pl_test_unhex_n(bad, 32, BAD[b]);
		if (b + 1 < sizeof BAD / sizeof BAD[0])
			assert_false(crypto_core_ristretto255_is_valid_point(bad));
		/* at the start, middle and end of a list: refused, out wiped */
		for (size_t at = 0; at < N; at += 2) {
			memcpy(in, y, sizeof in);
			memcpy(in[at], bad, 32);
			memset(out, 0x33, sizeof out);
			assert_int_equal(
			    pl_psi_reblind(out, (const uint8_t(*)[32])in, N, k, NULL, NULL), -1);
			assert_true(sodium_is_zero(&out[0][0], sizeof out));
			/* in place too */
			assert_int_equal(
			    pl_psi_reblind(in, (const uint8_t(*)[32])in, N, k, NULL, NULL), -1);
			assert_true(sodium_is_zero(&in[0][0], sizeof in));
		}
	}
	/* k = 0 (never from keygen) makes every product the identity */
	memset(out, 0x33, sizeof out);
	assert_int_equal(pl_psi_reblind(out, (const uint8_t(*)[32])y, N, zero, NULL, NULL), -1);
	assert_true(sodium_is_zero(&out[0][0], sizeof out));
	memset(out, 0x33, sizeof out);
	assert_int_equal(pl_psi_blind(out, e, N, NULL, 0, DST, DSTLEN, zero, NULL, NULL), -1);
	assert_true(sodium_is_zero(&out[0][0], sizeof out));
	/* an empty DST */
	memset(out, 0x33, sizeof out);
	assert_int_equal(pl_psi_blind(out, e, N, NULL, 0, DST, 0, k, NULL, NULL), -1);
	assert_true(sodium_is_zero(&out[0][0], sizeof out));
	/* n = 0 is fine, with NULL arrays */
	assert_int_equal(pl_psi_blind(NULL, NULL, 0, NULL, 0, DST, DSTLEN, k, NULL, NULL), 0);
	assert_int_equal(pl_psi_reblind(NULL, NULL, 0, k, NULL, NULL), 0);
	sodium_memzero(k, sizeof k);
}

/* ---- sort, order, set --------------------------------------------------- */

static void check_sorted(uint8_t (*orig)[32], size_t n, int pool, unsigned depth)
{
	uint8_t(*v)[32] = malloc((n + 1) * 32), (*w)[32] = malloc((n + 1) * 32);
	uint32_t *perm = malloc((n + 1) * sizeof *perm);
	uint8_t *seen = calloc(n + 1, 1);
	assert_non_null(v);
	assert_non_null(w);
	assert_non_null(perm);
	assert_non_null(seen);
	memcpy(v, orig, n * 32);
	memcpy(w, orig, n * 32);
	if (depth == ~0u)
		pl_psi_sort(v, n, perm);
	else
		pl_psi_sort_depth(v, n, perm, depth);
	pl_psi_sort(w, n, NULL);
	for (size_t j = 0; j < n; j++) {
		if (j > 0)
			assert_true(memcmp(v[j - 1], v[j], 32) <= 0);
		assert_true(perm[j] < n);
		assert_false(seen[perm[j]]);
		seen[perm[j]] = 1;
		assert_memory_equal(v[j], orig[perm[j]], 32);
	}
	/* the same order without perm */
	if (n > 0)
		assert_memory_equal(v, w, n * 32);
	/* strictly ascending exactly when no two values are equal */
	if (!pool)
		assert_true(pl_psi_strictly_ascending((const uint8_t(*)[32])v, n));
	free(v);
	free(w);
	free(perm);
	free(seen);
}

static void test_sort_perm(void **state)
{
	(void)state;
	static const size_t ns[] = {0, 1, 2, 3, 16, 17, 18, 100, 1000, 5000};
	enum { MAXN = 5000 };
	uint8_t(*v)[32] = malloc(MAXN * 32);
	assert_non_null(v);
	for (size_t t = 0; t < sizeof ns / sizeof ns[0]; t++) {
		size_t n = ns[t];
		/* random, distinct */
		randombytes_buf(v, n * 32);
		check_sorted(v, n, 0, ~0u);
		/* heapsort alone, and a shallow limit (the fallback midway) */
		check_sorted(v, n, 0, 0);
		check_sorted(v, n, 0, 2);
		/* few values, many duplicates, equal first 8 bytes */
		for (size_t i = 0; i < n; i++) {
			memset(v[i], 0x42, 32);
			v[i][31] = (uint8_t)randombytes_uniform(4);
			v[i][9] = (uint8_t)randombytes_uniform(3);
		}
		check_sorted(v, n, 1, ~0u);
		check_sorted(v, n, 1, 0);
		/* all equal */
		for (size_t i = 0; i < n; i++)
			memset(v[i], 7, 32);
		check_sorted(v, n, 1, ~0u);
		/* ascending, descending, organ pipe */
		for (size_t i = 0; i < n; i++) {
			memset(v[i], 0, 32);
			uint32_t x = (uint32_t)i;
			v[i][0] = (uint8_t)(x >> 24);
			v[i][1] = (uint8_t)(x >> 16);
			v[i][2] = (uint8_t)(x >> 8);
			v[i][3] = (uint8_t)x;
		}
		check_sorted(v, n, 0, ~0u);
		for (size_t i = 0; i < n / 2; i++) {
			uint8_t t8[32];
			memcpy(t8, v[i], 32);
			memcpy(v[i], v[n - 1 - i], 32);
			memcpy(v[n - 1 - i], t8, 32);
		}
		check_sorted(v, n, 0, ~0u);
		for (size_t i = 0; i < n; i++) {
			size_t x = i < n / 2 ? i : n - 1 - i;
			memset(v[i], 0, 32);
			v[i][2] = (uint8_t)(x >> 8);
			v[i][3] = (uint8_t)x;
			v[i][31] = (uint8_t)(i < n / 2);
		}
		check_sorted(v, n, 1, ~0u);
	}
	free(v);
}

static void test_strictly_ascending(void **state)
{
	(void)state;
	uint8_t v[4][32];
	memset(v, 0, sizeof v);
	assert_true(pl_psi_strictly_ascending(NULL, 0));
	assert_true(pl_psi_strictly_ascending((const uint8_t(*)[32])v, 1));
	for (int i = 0; i < 4; i++)
		v[i][31] = (uint8_t)i;
	assert_true(pl_psi_strictly_ascending((const uint8_t(*)[32])v, 4));
	v[2][31] = 1; /* a duplicate */
	assert_false(pl_psi_strictly_ascending((const uint8_t(*)[32])v, 4));
	v[2][31] = 0; /* a step down */
	assert_false(pl_psi_strictly_ascending((const uint8_t(*)[32])v, 4));
	v[2][31] = 2;
	v[3][0] = 0x01; /* order is memcmp: the first byte dominates */
	v[0][0] = 0x00;
	v[1][0] = 0x80;
	assert_false(pl_psi_strictly_ascending((const uint8_t(*)[32])v, 4));
	v[1][0] = 0x00;
	assert_true(pl_psi_strictly_ascending((const uint8_t(*)[32])v, 4));
}

static void test_set(void **state)
{
	(void)state;
	enum { N = 3000, SAME = 4096 };
	uint8_t(*v)[32] = malloc((N + SAME) * 32), probe[32], zero[32] = {0};
	assert_non_null(v);

	/* n = 0: a set with nothing in it */
	pl_psi_set *s = pl_psi_set_new(NULL, 0);
	assert_non_null(s);
	randombytes_buf(probe, sizeof probe);
	assert_false(pl_psi_set_has(s, probe));
	assert_false(pl_psi_set_has(s, zero));
	pl_psi_set_free(s);
	assert_false(pl_psi_set_has(NULL, probe));
	pl_psi_set_free(NULL);

	/* members found, others not; duplicates are one member */
	randombytes_buf(v, N * 32);
	memcpy(v[N - 1], v[0], 32);
	s = pl_psi_set_new((const uint8_t(*)[32])v, N);
	assert_non_null(s);
	for (size_t i = 0; i < N; i++)
		assert_true(pl_psi_set_has(s, v[i]));
	for (size_t i = 0; i < N; i++) {
		memcpy(probe, v[i], 32);
		probe[31] ^= 0x01; /* one bit off */
		assert_false(pl_psi_set_has(s, probe));
		randombytes_buf(probe, sizeof probe);
		assert_false(pl_psi_set_has(s, probe));
	}
	assert_false(pl_psi_set_has(s, zero));
	pl_psi_set_free(s);

	/* the all-zero value (the empty-slot marker) can be a member */
	memset(v[5], 0, 32);
	s = pl_psi_set_new((const uint8_t(*)[32])v, N);
	assert_non_null(s);
	assert_true(pl_psi_set_has(s, zero));
	assert_true(pl_psi_set_has(s, v[4]));
	pl_psi_set_free(s);

	/* values a peer chose to share their first 8 bytes: still a set (and,
	 * since the index is a keyed hash of all 32 bytes, no long walk) */
	for (size_t i = 0; i < SAME; i++) {
		randombytes_buf(v[i], 32);
		memset(v[i], 0xab, 8);
	}
	s = pl_psi_set_new((const uint8_t(*)[32])v, SAME);
	assert_non_null(s);
	for (size_t i = 0; i < SAME; i++)
		assert_true(pl_psi_set_has(s, v[i]));
	memcpy(probe, v[0], 32);
	probe[20] ^= 0x10;
	assert_false(pl_psi_set_has(s, probe));
	pl_psi_set_free(s);
	free(v);
}

struct prog {
	size_t calls, last, total, maxgap;
	int bad;
};

static void on_progress(void *ctx, size_t done, size_t total)
{
	struct prog *p = ctx;
	if (done < p->last || done > total || (p->calls > 0 && total != p->total))
		p->bad = 1;
	if (done - p->last > p->maxgap)
		p->maxgap = done - p->last;
	p->calls++;
	p->last = done;
	p->total = total;
}

static void test_progress(void **state)
{
	(void)state;
	enum { N = 2500 };
	pl_psi_elem *e = calloc(N, sizeof *e);
	char(*buf)[40] = calloc(N, sizeof *buf);
	uint8_t(*y)[32] = calloc(N, 32), k[32];
	assert_non_null(e);
	assert_non_null(buf);
	assert_non_null(y);
	make_elems(e, buf, N, 0, "p");
	pl_psi_keygen(k);

	struct prog p = {0};
	assert_int_equal(pl_psi_blind(y, e, N, NULL, 0, DST, DSTLEN, k, on_progress, &p), 0);
	assert_false(p.bad);
	assert_int_equal(p.last, N);
	assert_int_equal(p.total, N);
	assert_int_equal(p.maxgap, N / 100); /* every 1 % (25) */
	assert_int_equal(p.calls, 100);

	memset(&p, 0, sizeof p);
	assert_int_equal(pl_psi_reblind(y, (const uint8_t(*)[32])y, 7, k, on_progress, &p), 0);
	assert_false(p.bad);
	assert_int_equal(p.calls, 7); /* under 100: every element */
	assert_int_equal(p.last, 7);

	memset(&p, 0, sizeof p);
	assert_int_equal(pl_psi_reblind(NULL, NULL, 0, k, on_progress, &p), 0);
	assert_int_equal(p.calls, 1); /* once, with 0 of 0 */
	assert_int_equal(p.last, 0);
	assert_int_equal(p.total, 0);
	free(e);
	free(buf);
	free(y);
	sodium_memzero(k, sizeof k);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_expand_rfc9380_k3),
	    cmocka_unit_test(test_expand_lengths_and_errors),
	    cmocka_unit_test(test_from_hash_rfc9496_a3),
	    cmocka_unit_test(test_blind_reblind_rfc9497),
	    cmocka_unit_test(test_h2r_cross_implementation),
	    cmocka_unit_test(test_h2r_matches_expand),
	    cmocka_unit_test(test_blind_commutes),
	    cmocka_unit_test(test_intersection),
	    cmocka_unit_test(test_reblind_refuses),
	    cmocka_unit_test(test_sort_perm),
	    cmocka_unit_test(test_strictly_ascending),
	    cmocka_unit_test(test_set),
	    cmocka_unit_test(test_progress),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
