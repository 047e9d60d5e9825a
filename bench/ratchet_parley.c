/*
 * ratchet_parley.c — parley's Double Ratchet (src/session/ratchet.h) on 1 KiB
 * notes in an established session: encrypt, wrap in the session message
 * that travels inside the envelope (src/session/message.h), decode, decrypt.
 * Alternating direction makes every message a DH ratchet step; a one-way
 * burst measures the symmetric chain alone. The point of the figure is its
 * ratio to ratchet_floor.c (the same work on bare libsodium) and to the
 * other libraries measured in the same run.
 *
 * The session is set up as after X3DH (random SK, Bob's signed prekey as
 * his first ratchet key) with a 64-byte AD, the size of the X3DH AD; then
 * one round trip so both sides hold both chains.
 *
 * Usage: ratchet_parley alt|burst COUNT — prints one result line that
 * bench/run.sh parses: "ratchet parley MODE COUNT SECONDS MSGS_PER_S".
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "session/message.h"
#include "session/ratchet.h"
#include "session/x3dh.h"
#include "util/wire.h"

#define MSG_LEN 1024
#define MAX_COUNT 1000000

static double now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sender side to wire bytes and back through the receiver, checked. */
static int one_message(pl_ratchet *s, pl_ratchet *r, const uint8_t ad[static PL_X3DH_AD_LEN],
		       const uint8_t *pt)
{
	static uint8_t rmsg[MSG_LEN + PL_RATCHET_OVERHEAD], back[MSG_LEN + PL_RATCHET_OVERHEAD];
	pl_smsg m = {.type = PL_SMSG_NORMAL}, in;
	size_t n = 0, bn = 0;
	pl_wr w;
	int rc = -1;

	if (pl_ratchet_encrypt(s, ad, PL_X3DH_AD_LEN, pt, MSG_LEN, rmsg, &n) != 0)
		return -1;
	m.ratchet = rmsg;
	m.ratchetlen = n;
	pl_wr_init(&w);
	pl_smsg_encode(&w, &m);
	if (pl_wr_ok(&w) == 0 && pl_smsg_decode(&in, w.p, w.n) == 0 && in.type == PL_SMSG_NORMAL &&
	    pl_ratchet_decrypt(r, ad, PL_X3DH_AD_LEN, in.ratchet, in.ratchetlen, back, &bn) == 0 &&
	    bn == MSG_LEN && memcmp(back, pt, MSG_LEN) == 0)
		rc = 0;
	pl_wr_free(&w);
	return rc;
}

int main(int argc, char **argv)
{
	static uint8_t pt[MSG_LEN];
	uint8_t sk[32], spk_pk[32], spk_sk[32], ad[PL_X3DH_AD_LEN];

	if (argc != 3 || (strcmp(argv[1], "alt") != 0 && strcmp(argv[1], "burst") != 0)) {
		fprintf(stderr, "usage: ratchet_parley alt|burst COUNT\n");
		return 2;
	}
	long count = strtol(argv[2], NULL, 10);
	if (count < 2 || count > MAX_COUNT) {
		fprintf(stderr, "ratchet_parley: COUNT must be 2..%d\n", MAX_COUNT);
		return 2;
	}
	int alt = strcmp(argv[1], "alt") == 0;
	if (sodium_init() < 0)
		return 1;
	randombytes_buf(sk, sizeof sk);
	randombytes_buf(ad, sizeof ad);
	randombytes_buf(pt, sizeof pt);
	crypto_box_keypair(spk_pk, spk_sk);

	pl_ratchet *alice = pl_ratchet_new(), *bob = pl_ratchet_new();
	if (alice == NULL || bob == NULL || pl_ratchet_init_alice(alice, sk, spk_pk) != 0 ||
	    pl_ratchet_init_bob(bob, sk, spk_sk, spk_pk) != 0 ||
	    one_message(alice, bob, ad, pt) != 0 || one_message(bob, alice, ad, pt) != 0) {
		fprintf(stderr, "ratchet_parley: setup failed\n");
		return 1;
	}

	double t0 = now_s();
	for (long i = 0; i < count; i++) {
		pl_ratchet *s = (alt && (i & 1)) ? bob : alice;
		pl_ratchet *r = s == alice ? bob : alice;
		pt[0] = (uint8_t)i;
		if (one_message(s, r, ad, pt) != 0) {
			fprintf(stderr, "ratchet_parley: message %ld failed\n", i);
			return 1;
		}
	}
	double dt = now_s() - t0;
	printf("ratchet parley %s %ld %.6f %.1f\n", argv[1], count, dt, (double)count / dt);

	pl_ratchet_free(alice);
	pl_ratchet_free(bob);
	sodium_memzero(sk, sizeof sk);
	sodium_memzero(spk_sk, sizeof spk_sk);
	return 0;
}
