/*
 * ratchet_floor.c — the libsodium floor for one Double Ratchet message:
 * the least work any Double Ratchet on these primitives must do, so that
 * parley's ratchet can be judged against what the primitives cost rather
 * than against another library's overheads.
 *
 * Per message: a chain-KDF step on each side (MK = HMAC-SHA256(CK, 0x01),
 * CK' = HMAC-SHA256(CK, 0x02), sharing the keyed HMAC state), a 40-byte
 * header written and read back,
 * and one ChaCha20-Poly1305-IETF seal and open of 1024 bytes under AD =
 * 64-byte session AD ‖ header. Per change of direction (Signal spec, done
 * by the receiver of the first message with a new ratchet key): one X25519
 * key pair, two scalar mults and the root KDF (HKDF-SHA256, 64 bytes) after
 * each. No skipped-key store, no state copy for rollback, no wiping beyond
 * what libsodium does: those are the costs a real ratchet adds on top.
 *
 * Usage: ratchet_floor alt|burst COUNT — prints one result line that
 * bench/run.sh parses: "ratchet floor MODE COUNT SECONDS MSGS_PER_S".
 */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define MSG_LEN 1024
#define KEY_LEN 32
#define AD_LEN 64
#define HDR_LEN (32 + 4 + 4)
#define TAG_LEN crypto_aead_chacha20poly1305_ietf_ABYTES
#define MAX_COUNT 1000000

static const uint8_t root_info[] = "parley ratchet root v1";

typedef struct {
	uint8_t rk[KEY_LEN];
	uint8_t dhs_sk[KEY_LEN], dhs_pk[KEY_LEN];
	uint8_t dhr[KEY_LEN];
	uint8_t cks[KEY_LEN], ckr[KEY_LEN];
	uint32_t ns, nr, pn;
	int have_cks;
} party;

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void be32_put(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static uint32_t be32_get(const uint8_t *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | p[3];
}

/* Root KDF: HKDF(salt = RK, ikm = DH, info, 64) -> RK' || CK. The keyed
 * HMAC state for PRK is made once and copied for both expand blocks. */
static void kdf_rk(uint8_t rk[KEY_LEN], uint8_t ck[KEY_LEN], const uint8_t dh[KEY_LEN])
{
	uint8_t prk[KEY_LEN], t[KEY_LEN];
	crypto_auth_hmacsha256_state keyed, st;
	uint8_t i = 1;

	crypto_auth_hmacsha256_init(&st, rk, KEY_LEN);
	crypto_auth_hmacsha256_update(&st, dh, KEY_LEN);
	crypto_auth_hmacsha256_final(&st, prk);
	crypto_auth_hmacsha256_init(&keyed, prk, sizeof prk);
	st = keyed;
	crypto_auth_hmacsha256_update(&st, root_info, sizeof root_info - 1);
	crypto_auth_hmacsha256_update(&st, &i, 1);
	crypto_auth_hmacsha256_final(&st, t);
	i = 2;
	st = keyed;
	crypto_auth_hmacsha256_update(&st, t, sizeof t);
	crypto_auth_hmacsha256_update(&st, root_info, sizeof root_info - 1);
	crypto_auth_hmacsha256_update(&st, &i, 1);
	crypto_auth_hmacsha256_final(&st, ck);
	memcpy(rk, t, KEY_LEN);
}

/* Chain KDF: MK = HMAC(CK, 0x01), CK' = HMAC(CK, 0x02). Both HMACs share
 * one keyed state (the ipad/opad blocks of CK), the least work the chain
 * step can be done in with libsodium's HMAC-SHA256. */
static void kdf_ck(uint8_t ck[KEY_LEN], uint8_t mk[KEY_LEN])
{
	static const uint8_t one = 1, two = 2;
	crypto_auth_hmacsha256_state keyed, st;

	crypto_auth_hmacsha256_init(&keyed, ck, KEY_LEN);
	st = keyed;
	crypto_auth_hmacsha256_update(&st, &one, 1);
	crypto_auth_hmacsha256_final(&st, mk);
	crypto_auth_hmacsha256_update(&keyed, &two, 1);
	crypto_auth_hmacsha256_final(&keyed, ck);
}

static int encrypt_msg(party *p, const uint8_t ad[AD_LEN], const uint8_t *pt, uint8_t *out)
{
	static const uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
	uint8_t mk[KEY_LEN], fullad[AD_LEN + HDR_LEN];

	if (!p->have_cks)
		return -1;
	kdf_ck(p->cks, mk);
	memcpy(out, p->dhs_pk, KEY_LEN);
	be32_put(out + 32, p->pn);
	be32_put(out + 36, p->ns++);
	memcpy(fullad, ad, AD_LEN);
	memcpy(fullad + AD_LEN, out, HDR_LEN);
	crypto_aead_chacha20poly1305_ietf_encrypt(out + HDR_LEN, NULL, pt, MSG_LEN, fullad,
						  sizeof fullad, NULL, nonce, mk);
	return 0;
}

static int decrypt_msg(party *p, const uint8_t ad[AD_LEN], const uint8_t *msg, uint8_t *out)
{
	static const uint8_t nonce[crypto_aead_chacha20poly1305_ietf_NPUBBYTES];
	uint8_t mk[KEY_LEN], dh[KEY_LEN], fullad[AD_LEN + HDR_LEN];

	if (memcmp(msg, p->dhr, KEY_LEN) != 0) {
		/* DH ratchet step: receiving chain, new key pair, sending chain. */
		memcpy(p->dhr, msg, KEY_LEN);
		p->pn = p->ns;
		p->ns = p->nr = 0;
		if (crypto_scalarmult(dh, p->dhs_sk, p->dhr) != 0)
			return -1;
		kdf_rk(p->rk, p->ckr, dh);
		crypto_box_keypair(p->dhs_pk, p->dhs_sk);
		if (crypto_scalarmult(dh, p->dhs_sk, p->dhr) != 0)
			return -1;
		kdf_rk(p->rk, p->cks, dh);
		p->have_cks = 1;
	}
	if (be32_get(msg + 36) != p->nr)
		return -1; /* the floor has no skipped-key store */
	kdf_ck(p->ckr, mk);
	p->nr++;
	memcpy(fullad, ad, AD_LEN);
	memcpy(fullad + AD_LEN, msg, HDR_LEN);
	return crypto_aead_chacha20poly1305_ietf_decrypt(
	    out, NULL, NULL, msg + HDR_LEN, MSG_LEN + TAG_LEN, fullad, sizeof fullad, nonce, mk);
}

/* Alice knows Bob's first ratchet key, as after X3DH. */
static int establish(party *a, party *b)
{
	uint8_t sk[KEY_LEN], dh[KEY_LEN];

	memset(a, 0, sizeof *a);
	memset(b, 0, sizeof *b);
	randombytes_buf(sk, sizeof sk);
	crypto_box_keypair(b->dhs_pk, b->dhs_sk);
	memcpy(b->rk, sk, KEY_LEN);
	memcpy(a->rk, sk, KEY_LEN);
	memcpy(a->dhr, b->dhs_pk, KEY_LEN);
	crypto_box_keypair(a->dhs_pk, a->dhs_sk);
	if (crypto_scalarmult(dh, a->dhs_sk, a->dhr) != 0)
		return -1;
	kdf_rk(a->rk, a->cks, dh);
	a->have_cks = 1;
	return 0;
}

int main(int argc, char **argv)
{
	static uint8_t pt[MSG_LEN], back[MSG_LEN], wire[HDR_LEN + MSG_LEN + TAG_LEN];
	uint8_t ad[AD_LEN];
	party alice, bob;

	if (argc != 3 || (strcmp(argv[1], "alt") != 0 && strcmp(argv[1], "burst") != 0)) {
		fprintf(stderr, "usage: ratchet_floor alt|burst COUNT\n");
		return 2;
	}
	long count = strtol(argv[2], NULL, 10);
	if (count < 2 || count > MAX_COUNT) {
		fprintf(stderr, "ratchet_floor: COUNT must be 2..%d\n", MAX_COUNT);
		return 2;
	}
	int alt = strcmp(argv[1], "alt") == 0;
	if (sodium_init() < 0 || establish(&alice, &bob) != 0)
		return 1;
	randombytes_buf(ad, sizeof ad);
	randombytes_buf(pt, sizeof pt);

	/* Warm-up: one round trip, so both sides hold both chains. */
	if (encrypt_msg(&alice, ad, pt, wire) || decrypt_msg(&bob, ad, wire, back) ||
	    encrypt_msg(&bob, ad, pt, wire) || decrypt_msg(&alice, ad, wire, back))
		return 1;

	double t0 = now_s();
	for (long i = 0; i < count; i++) {
		party *s = (alt && (i & 1)) ? &bob : &alice;
		party *r = s == &alice ? &bob : &alice;
		pt[0] = (uint8_t)i;
		if (encrypt_msg(s, ad, pt, wire) != 0 || decrypt_msg(r, ad, wire, back) != 0 ||
		    memcmp(pt, back, MSG_LEN) != 0) {
			fprintf(stderr, "ratchet_floor: message %ld failed\n", i);
			return 1;
		}
	}
	double dt = now_s() - t0;
	printf("ratchet floor %s %ld %.6f %.1f\n", argv[1], count, dt, (double)count / dt);
	return 0;
}
