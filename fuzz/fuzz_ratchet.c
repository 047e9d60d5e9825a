/*
 * fuzz_ratchet.c — libFuzzer target for pl_ratchet_decrypt in an established
 * session (Bob's side, with a receiving chain, stored skipped keys and
 * messages still to come on an old and a new chain).
 *
 * Random bytes almost never authenticate, so the first input byte picks a
 * mode: 0 feeds the rest as a message; any other value XORs the rest onto
 * one of the pending valid messages (bit 7 set: the rest's length is the
 * message length, so it can be truncated or extended).
 * Must never crash, and must abort if a refused message changed the state
 * (compared through pl_ratchet_save) or an accepted one returned a wrong
 * length. After an accepted message the session is restored.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "session/ratchet.h"

#define NPEND 7
#define MAXLEN 256

static pl_ratchet *bob;
static pl_wr saved; /* Bob's state every input starts from */
static uint8_t pend[NPEND][MAXLEN];
static size_t pendlen[NPEND];
static const uint8_t ad[64] = {1, 2, 3, 4, 5, 6, 7, 8};

static void must(int ok)
{
	if (!ok)
		abort();
}

static void send_msg(pl_ratchet *from, uint8_t *out, size_t *outlen, size_t ptlen)
{
	uint8_t pt[64];
	memset(pt, 0x5A, sizeof pt);
	must(ptlen <= sizeof pt);
	must(pl_ratchet_encrypt(from, ad, sizeof ad, pt, ptlen, out, outlen) == 0);
}

static void recv_msg(pl_ratchet *to, const uint8_t *m, size_t n)
{
	uint8_t out[MAXLEN];
	size_t outlen;
	must(pl_ratchet_decrypt(to, ad, sizeof ad, m, n, out, &outlen) == 0);
}

static void init_once(void)
{
	static int done;
	uint8_t sk[32], bsk[32], bpk[32], a[6][MAXLEN], b[MAXLEN];
	size_t alen[6], blen;
	pl_ratchet *alice;

	if (done)
		return;
	must(sodium_init() >= 0);
	memset(sk, 0x11, sizeof sk);
	memset(bsk, 0x22, sizeof bsk);
	must(crypto_scalarmult_base(bpk, bsk) == 0);
	alice = pl_ratchet_new();
	bob = pl_ratchet_new();
	must(alice != NULL && bob != NULL);
	must(pl_ratchet_init_alice(alice, sk, bpk) == 0);
	must(pl_ratchet_init_bob(bob, sk, bsk, bpk) == 0);
	for (int i = 0; i < 6; i++)
		send_msg(alice, a[i], &alen[i], (size_t)(i * 7));
	recv_msg(bob, a[0], alen[0]);
	recv_msg(bob, a[3], alen[3]); /* stores the keys of a[1], a[2] */
	send_msg(bob, b, &blen, 9);
	recv_msg(alice, b, blen);
	/* Pending for Bob: a[1], a[2], a[4], a[5] and a new chain c[0..2]. */
	int k = 0;
	for (int i = 1; i < 6; i++) {
		if (i == 3)
			continue;
		memcpy(pend[k], a[i], alen[i]);
		pendlen[k++] = alen[i];
	}
	for (int i = 0; i < 3; i++, k++)
		send_msg(alice, pend[k], &pendlen[k], (size_t)(3 + i));
	must(k == NPEND);
	pl_ratchet_free(alice);
	pl_wr_init(&saved);
	must(pl_ratchet_save(bob, &saved) == 0);
	done = 1;
}

static int same_as_saved(void)
{
	pl_wr w;
	int same;
	pl_wr_init(&w);
	must(pl_ratchet_save(bob, &w) == 0);
	same = w.n == saved.n && memcmp(w.p, saved.p, w.n) == 0;
	pl_wr_free(&w);
	return same;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	uint8_t msg[MAXLEN], out[MAXLEN];
	const uint8_t *m = msg;
	size_t n, outlen = 0;

	init_once();
	if (size == 0)
		return 0;
	uint8_t mode = data[0];
	data++;
	size--;
	if (mode == 0) {
		m = data;
		n = size;
	} else {
		int k = (mode & 0x7F) % NPEND;
		n = (mode & 0x80) ? (size < MAXLEN ? size : MAXLEN) : pendlen[k];
		for (size_t i = 0; i < n; i++)
			msg[i] =
			    (uint8_t)((i < pendlen[k] ? pend[k][i] : 0) ^ (i < size ? data[i] : 0));
	}
	uint8_t *o = n <= sizeof out ? out : malloc(n);
	must(o != NULL);
	if (pl_ratchet_decrypt(bob, ad, sizeof ad, m, n, o, &outlen) != 0) {
		must(outlen == 0);
		must(same_as_saved());
	} else {
		must(n >= PL_RATCHET_OVERHEAD && outlen == n - PL_RATCHET_OVERHEAD);
		must(pl_ratchet_load(bob, saved.p, saved.n) == 0);
	}
	if (o != out)
		free(o);
	return 0;
}
