/*
 * fuzz_leaf.c — libFuzzer target for the relay log's leaves (src/log/leaf.c).
 * The first input byte selects the mode:
 *
 *   even: the rest is leaf bytes. A leaf that decodes must re-encode to
 *         exactly the input, hash as its bytes do, and (for a fetch leaf)
 *         never verify unless the fixed owner key signed it.
 *   odd:  the rest sets a fetch leaf's fields (through, times, nonce, a bit
 *         to flip); the owner signs a real ack with them, and the leaf must
 *         verify, then fail once any signed field has a bit flipped — or,
 *         for the relay time, exactly when it leaves the 300 s window.
 *
 * Must never crash or leak.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "log/leaf.h"
#include "util/codec.h"
#include "util/wire.h"

static pl_identity owner;

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

static void fuzz_bytes(const uint8_t *p, size_t n)
{
	pl_leaf l;
	uint8_t out[PL_LEAF_MAX], h1[32], h2[32];
	size_t m;

	if (pl_leaf_decode(&l, p, n) != 0)
		return;
	m = pl_leaf_encode(out, &l);
	if (m != n || memcmp(out, p, n) != 0)
		abort();
	pl_leaf_hash(h1, p, n);
	if (pl_leaf_hash_of(h2, &l) != 0 || memcmp(h1, h2, 32) != 0)
		abort();
	if (pl_leaf_ack_verify(&l) == 0 &&
	    (l.type != PL_LEAF_ACK || memcmp(l.owner, owner.pk, 32) != 0))
		abort();
}

/* The ack the owner would sign, as an ack leaf naming up to three
 * envelopes below its through-seq. */
static void fuzz_signed(const uint8_t *p, size_t n)
{
	uint8_t in[8 + 8 + 2 + 16 + 2 + 1] = {0}, body[PL_AUTH_ACK_BODY_MAX], mbx[32],
					out[PL_LEAF_MAX];
	size_t bodylen;
	char path[160], hex[65];
	pl_auth a;
	pl_leaf l, t;

	memcpy(in, p, n < sizeof in ? n : sizeof in);
	memset(&l, 0, sizeof l);
	l.type = PL_LEAF_ACK;
	pl_mailbox_id(mbx, owner.pk);
	memcpy(l.mbx, mbx, 32);
	memcpy(l.owner, owner.pk, 32);
	l.ack.through = get64(in);
	for (unsigned k = 0; k < in[36] % 4 && k < l.ack.through; k++) {
		l.ack.name[k].seq = k + 1;
		memcpy(l.ack.name[k].hash, in + k, 32 - k);
		l.ack.n = k + 1;
	}
	l.auth_time = get64(in + 8) >> 1; /* any time */
	/* relay time within +-1000 s of it, so both sides of the window occur */
	l.relay_time = l.auth_time + ((uint64_t)(in[16] << 8 | in[17]) % 2001) - 1000;
	if (l.relay_time > l.auth_time + 1000 || l.auth_time < 1000)
		l.relay_time = l.auth_time; /* wrapped: keep it simple */
	pl_hex_encode(hex, mbx, 32);
	snprintf(path, sizeof path, "/v1/mailbox/%s/ack", hex);
	bodylen = pl_auth_ack_encode(body, &l.ack);
	if (bodylen == 0 ||
	    pl_auth_sign(&a, &owner, "POST", path, body, bodylen, l.auth_time) != 0 ||
	    pl_hex_decode(l.nonce, 16, a.nonce) != 0 || pl_hex_decode(l.sig, 64, a.sig) != 0)
		abort();
	uint64_t d =
	    l.relay_time > l.auth_time ? l.relay_time - l.auth_time : l.auth_time - l.relay_time;
	int in_window = d <= PL_AUTH_WINDOW;
	if ((pl_leaf_ack_verify(&l) == 0) != in_window)
		abort();
	if (!in_window)
		return;
	/* flip one bit of the encoded leaf (after version and type) */
	size_t len = pl_leaf_encode(out, &l);
	unsigned bit = (unsigned)(in[34] << 8 | in[35]) % (unsigned)((len - 2) * 8);
	size_t byte = 2 + bit / 8;
	out[byte] ^= (uint8_t)(1u << (bit % 8));
	if (pl_leaf_decode(&t, out, len) != 0) {
		/* only the body has rules; every other field takes any value */
		if (byte < PL_LEAF_ACK_FIXED)
			abort();
		return;
	}
	int relay_time_field = byte >= PL_LEAF_ACK_FIXED - 8 && byte < PL_LEAF_ACK_FIXED;
	int ok = pl_leaf_ack_verify(&t) == 0;
	if (relay_time_field) {
		uint64_t e = t.relay_time > t.auth_time ? t.relay_time - t.auth_time
							: t.auth_time - t.relay_time;
		if (ok != (e <= PL_AUTH_WINDOW))
			abort();
	} else if (ok) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;

	if (!init) {
		uint8_t seed[crypto_sign_SEEDBYTES];
		if (sodium_init() < 0)
			abort();
		memset(seed, 0x17, sizeof seed);
		crypto_sign_seed_keypair(owner.pk, owner.sk, seed);
		init = 1;
	}
	if (size == 0)
		return 0;
	if ((data[0] & 1) == 0)
		fuzz_bytes(data + 1, size - 1);
	else
		fuzz_signed(data + 1, size - 1);
	return 0;
}
