/*
 * fuzz_ratchet_state.c — libFuzzer target for pl_ratchet_load, the strict
 * decoder of saved ratchet states.
 *
 * Random bytes rarely get past the first checks (a state only loads if its
 * ratchet public key matches its secret key), so the first input byte picks
 * a mode: 0 feeds the rest as is; 1 sets the version byte and recomputes the
 * public key from the secret key in the input; 2 and up XOR the rest onto
 * one of three real saved states (fresh Bob, fresh Alice, a running session
 * with stored skipped keys), then recompute the public key if bit 6 is set;
 * with bit 7 set the rest's length is the state's length.
 * Must never crash or leak; must abort if a failed load changed the target
 * state, or an accepted state does not save to exactly the input bytes or
 * cannot be used to encrypt and decrypt without crashing.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "session/ratchet.h"

#define SK_OFF (1 + 1 + 32)
#define PK_OFF (SK_OFF + 32)

static pl_ratchet *r;
static pl_wr fresh, real[3];

static void must(int ok)
{
	if (!ok)
		abort();
}

static void save_into(pl_wr *w, const pl_ratchet *from)
{
	pl_wr_init(w);
	must(pl_ratchet_save(from, w) == 0);
}

static void init_once(void)
{
	static int done;
	uint8_t sk[32], bsk[32], bpk[32], ad[4] = {0}, pt[3] = "abc", m[8][3 + PL_RATCHET_OVERHEAD];
	uint8_t out[64];
	size_t n[8], outn;
	if (done)
		return;
	must(sodium_init() >= 0);
	memset(sk, 0x33, sizeof sk);
	memset(bsk, 0x44, sizeof bsk);
	must(crypto_scalarmult_base(bpk, bsk) == 0);
	pl_ratchet *alice = pl_ratchet_new();
	r = pl_ratchet_new();
	must(r != NULL && alice != NULL);
	must(pl_ratchet_init_bob(r, sk, bsk, bpk) == 0);
	must(pl_ratchet_init_alice(alice, sk, bpk) == 0);
	save_into(&fresh, r);
	save_into(&real[0], r);
	save_into(&real[1], alice);
	for (int i = 0; i < 8; i++)
		must(pl_ratchet_encrypt(alice, ad, sizeof ad, pt, sizeof pt, m[i], &n[i]) == 0);
	must(pl_ratchet_decrypt(r, ad, sizeof ad, m[5], n[5], out, &outn) == 0);
	must(pl_ratchet_decrypt(r, ad, sizeof ad, m[2], n[2], out, &outn) == 0);
	save_into(&real[2], r);
	must(pl_ratchet_load(r, fresh.p, fresh.n) == 0);
	pl_ratchet_free(alice);
	done = 1;
}

static int state_is(const uint8_t *p, size_t n)
{
	pl_wr w;
	int same;
	save_into(&w, r);
	same = w.n == n && memcmp(w.p, p, n) == 0;
	pl_wr_free(&w);
	return same;
}

static void fix_pk(uint8_t *buf, size_t size)
{
	if (size >= PK_OFF + 32 && crypto_scalarmult_base(buf + PK_OFF, buf + SK_OFF) != 0)
		memset(buf + PK_OFF, 0, 32);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	init_once();
	if (size == 0)
		return 0;
	uint8_t mode = data[0];
	data++;
	size--;
	size_t n = size;
	const pl_wr *base = NULL;
	if (mode >= 2) {
		base = &real[(mode & 0x3F) % 3];
		n = (mode & 0x80) ? size : base->n;
	}
	uint8_t *buf = malloc(n ? n : 1);
	must(buf != NULL);
	for (size_t i = 0; i < n; i++)
		buf[i] =
		    (uint8_t)((base && i < base->n ? base->p[i] : 0) ^ (i < size ? data[i] : 0));
	if (mode == 1 && n > 0) {
		buf[0] = 1;
		fix_pk(buf, n);
	}
	if (mode >= 2 && (mode & 0x40))
		fix_pk(buf, n);

	if (pl_ratchet_load(r, buf, n) != 0) {
		must(state_is(fresh.p, fresh.n));
	} else {
		must(state_is(buf, n));
		/* Use it: encrypt (may be refused) and feed the output back
		 * (it is not from the peer), then restore the fresh state. */
		uint8_t ad[8] = {0}, pt[5] = "hello", out[5 + PL_RATCHET_OVERHEAD], back[64];
		size_t on, bn;
		if (pl_ratchet_encrypt(r, ad, sizeof ad, pt, sizeof pt, out, &on) == 0)
			(void)pl_ratchet_decrypt(r, ad, sizeof ad, out, on, back, &bn);
		must(pl_ratchet_load(r, fresh.p, fresh.n) == 0);
	}
	free(buf);
	return 0;
}
