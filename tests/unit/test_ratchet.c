/*
 * test_ratchet.c — the Double Ratchet (src/session/ratchet).
 *
 * The KDF chain is checked against an independent computation written here
 * directly on libsodium (HMAC-SHA256, HKDF by hand, ChaCha20-Poly1305-IETF),
 * not through any pl_ function. The rest is behaviour: long and bursty
 * conversations, out-of-order delivery within the bound, refusal beyond it,
 * replays, every single-bit flip and every truncation refused, and after
 * each refusal the saved state is byte-for-byte what it was and the
 * conversation goes on. Save/load round-trips; load is strict.
 *
 * Must never pass by accident: every refusal is checked to leave the state
 * unchanged, and every acceptance to return the right plaintext.
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

#include "session/ratchet.h"

#define MAXPT 200
#define MAXMSG (MAXPT + PL_RATCHET_OVERHEAD)
/* Offset of the skipped-key count in a saved state (version, flags, six
 * 32-byte keys, ns, nr, pn): the format is parley's own, documented in
 * ratchet.c; the test reads it to check the store's bound. */
#define SAVED_COUNT_OFF (1 + 1 + 6 * 32 + 3 * 4)

static const uint8_t AD[64] = {
    'a', 'l', 'i', 'c', 'e', 0, 0, 0, 0, 0, 0, 0,   0,	 0,   0, 0, 0, 0, 0, 0, 0,
    0,	 0,   0,   0,	0,   0, 0, 0, 0, 0, 0, 'b', 'o', 'b', 0, 0, 0, 0, 0, 0, 0,
};

typedef struct {
	uint8_t b[MAXMSG];
	size_t n;
	uint8_t pt[MAXPT];
	size_t ptn;
} msg;

typedef struct {
	pl_ratchet *alice, *bob;
	uint8_t sk[32], bob_sk[32], bob_pk[32];
} pair;

static uint32_t rng_state = 12345;
static uint32_t rnd(void)
{
	rng_state = rng_state * 1103515245u + 12345u;
	return rng_state >> 8;
}

static void pair_init(pair *p)
{
	for (int i = 0; i < 32; i++) {
		p->sk[i] = (uint8_t)(0x11 + i);
		p->bob_sk[i] = (uint8_t)(0x80 + 3 * i);
	}
	assert_int_equal(crypto_scalarmult_base(p->bob_pk, p->bob_sk), 0);
	p->alice = pl_ratchet_new();
	p->bob = pl_ratchet_new();
	assert_non_null(p->alice);
	assert_non_null(p->bob);
	assert_int_equal(pl_ratchet_init_alice(p->alice, p->sk, p->bob_pk), 0);
	assert_int_equal(pl_ratchet_init_bob(p->bob, p->sk, p->bob_sk, p->bob_pk), 0);
}

static void pair_free(pair *p)
{
	pl_ratchet_free(p->alice);
	pl_ratchet_free(p->bob);
}

static void tx(pl_ratchet *from, msg *m, size_t ptn, uint32_t tag)
{
	assert_true(ptn <= MAXPT);
	m->ptn = ptn;
	for (size_t i = 0; i < ptn; i++)
		m->pt[i] = (uint8_t)(tag * 7 + i);
	if (ptn >= 4)
		memcpy(m->pt, &tag, 4);
	assert_int_equal(pl_ratchet_encrypt(from, AD, sizeof AD, m->pt, ptn, m->b, &m->n), 0);
	assert_int_equal(m->n, ptn + PL_RATCHET_OVERHEAD);
}

static void rx_ok(pl_ratchet *to, const msg *m)
{
	uint8_t out[MAXMSG];
	size_t outn = 12345;
	assert_int_equal(pl_ratchet_decrypt(to, AD, sizeof AD, m->b, m->n, out, &outn), 0);
	assert_int_equal(outn, m->ptn);
	assert_memory_equal(out, m->pt, m->ptn);
}

/* The saved state, for comparing before and after a refused message. */
typedef struct {
	pl_wr w;
} snap;

static void snap_take(snap *s, const pl_ratchet *r)
{
	pl_wr_init(&s->w);
	assert_int_equal(pl_ratchet_save(r, &s->w), 0);
}

static void snap_same(const snap *s, const pl_ratchet *r)
{
	snap now;
	snap_take(&now, r);
	assert_int_equal(now.w.n, s->w.n);
	assert_memory_equal(now.w.p, s->w.p, s->w.n);
	pl_wr_free(&now.w);
}

static void snap_free(snap *s)
{
	pl_wr_free(&s->w);
}

/* Decrypting (msg, len, ad) must fail and leave the state as it was. */
static void rx_refused(pl_ratchet *to, const uint8_t *b, size_t n, const uint8_t *ad, size_t adlen)
{
	snap s;
	uint8_t out[MAXMSG + 8];
	size_t outn = 999;
	snap_take(&s, to);
	assert_int_equal(pl_ratchet_decrypt(to, ad, adlen, b, n, out, &outn), -1);
	assert_int_equal(outn, 0);
	snap_same(&s, to);
	snap_free(&s);
}

static uint32_t saved_count(const pl_ratchet *r)
{
	snap s;
	snap_take(&s, r);
	assert_true(s.w.n >= SAVED_COUNT_OFF + 4);
	uint32_t c = ((uint32_t)s.w.p[SAVED_COUNT_OFF] << 24) |
		     ((uint32_t)s.w.p[SAVED_COUNT_OFF + 1] << 16) |
		     ((uint32_t)s.w.p[SAVED_COUNT_OFF + 2] << 8) | s.w.p[SAVED_COUNT_OFF + 3];
	snap_free(&s);
	return c;
}

/* ---- independent KDF computation -------------------------------------- */

static void hmac(uint8_t out[32], const uint8_t key[32], const uint8_t *a, size_t an,
		 const uint8_t *b, size_t bn, const uint8_t *c, size_t cn)
{
	crypto_auth_hmacsha256_state st;
	crypto_auth_hmacsha256_init(&st, key, 32);
	crypto_auth_hmacsha256_update(&st, a, an);
	crypto_auth_hmacsha256_update(&st, b, bn);
	crypto_auth_hmacsha256_update(&st, c, cn);
	crypto_auth_hmacsha256_final(&st, out);
}

/* HKDF-SHA256 written out from RFC 5869 for the 64-byte root KDF. */
static void root_kdf(uint8_t rk[32], uint8_t ck[32], const uint8_t salt[32], const uint8_t dh[32])
{
	static const char info[] = "parley ratchet root v1";
	const uint8_t one = 1, two = 2;
	uint8_t prk[32];
	hmac(prk, salt, dh, 32, NULL, 0, NULL, 0);
	hmac(rk, prk, (const uint8_t *)info, sizeof info - 1, &one, 1, NULL, 0);
	hmac(ck, prk, rk, 32, (const uint8_t *)info, sizeof info - 1, &two, 1);
}

static void test_first_messages_independent(void **state)
{
	(void)state;
	pair p;
	msg m0, m1;
	uint8_t dh[32], rk[32], ck[32], mk[32], ck1[32], pt[MAXPT], fullad[64 + 40];
	unsigned long long ptn;
	static const uint8_t nonce[12];
	const uint8_t one = 1, two = 2;

	pair_init(&p);
	tx(p.alice, &m0, 17, 100);
	tx(p.alice, &m1, 0, 101);
	/* Header: Alice's ratchet key, pn = 0, n = 0 then 1. */
	assert_memory_equal(m0.b, m1.b, 32);
	static const uint8_t h0[8] = {0, 0, 0, 0, 0, 0, 0, 0}, h1[8] = {0, 0, 0, 0, 0, 0, 0, 1};
	assert_memory_equal(m0.b + 32, h0, 8);
	assert_memory_equal(m1.b + 32, h1, 8);

	/* Bob's side of the first DH ratchet step, by hand. */
	assert_int_equal(crypto_scalarmult(dh, p.bob_sk, m0.b), 0);
	root_kdf(rk, ck, p.sk, dh);
	hmac(mk, ck, &one, 1, NULL, 0, NULL, 0);
	hmac(ck1, ck, &two, 1, NULL, 0, NULL, 0);

	memcpy(fullad, AD, 64);
	memcpy(fullad + 64, m0.b, 40);
	assert_int_equal(crypto_aead_chacha20poly1305_ietf_decrypt(pt, &ptn, NULL, m0.b + 40,
								   m0.n - 40, fullad, sizeof fullad,
								   nonce, mk),
			 0);
	assert_int_equal(ptn, m0.ptn);
	assert_memory_equal(pt, m0.pt, m0.ptn);

	hmac(mk, ck1, &one, 1, NULL, 0, NULL, 0);
	memcpy(fullad + 64, m1.b, 40);
	assert_int_equal(crypto_aead_chacha20poly1305_ietf_decrypt(pt, &ptn, NULL, m1.b + 40,
								   m1.n - 40, fullad, sizeof fullad,
								   nonce, mk),
			 0);
	assert_int_equal(ptn, 0);

	/* The wrong message key (the first one) does not open the second. */
	hmac(mk, ck, &one, 1, NULL, 0, NULL, 0);
	assert_int_equal(crypto_aead_chacha20poly1305_ietf_decrypt(pt, &ptn, NULL, m1.b + 40,
								   m1.n - 40, fullad, sizeof fullad,
								   nonce, mk),
			 -1);

	rx_ok(p.bob, &m0);
	rx_ok(p.bob, &m1);
	pair_free(&p);
}

static void test_bob_cannot_send_first(void **state)
{
	(void)state;
	pair p;
	uint8_t out[64];
	size_t n;
	pair_init(&p);
	assert_int_equal(pl_ratchet_encrypt(p.bob, AD, sizeof AD, (const uint8_t *)"x", 1, out, &n),
			 -1);
	pair_free(&p);
}

static void test_init_rejects(void **state)
{
	(void)state;
	pair p;
	uint8_t zero[32] = {0}, other[32];
	pair_init(&p);
	assert_int_equal(pl_ratchet_init_alice(p.alice, p.sk, zero), -1);
	memcpy(other, p.bob_pk, 32);
	other[0] ^= 1;
	assert_int_equal(pl_ratchet_init_bob(p.bob, p.sk, p.bob_sk, other), -1);
	pair_free(&p);
}

static void test_long_conversation(void **state)
{
	(void)state;
	pair p;
	msg m;
	pair_init(&p);
	rng_state = 1;
	uint32_t tag = 0;
	/* Alice must speak first; after that, random sides and bursts. */
	tx(p.alice, &m, 10, tag++);
	rx_ok(p.bob, &m);
	for (int round = 0; round < 400; round++) {
		int from_alice = rnd() % 2;
		int burst = 1 + (int)(rnd() % 6);
		for (int i = 0; i < burst; i++) {
			tx(from_alice ? p.alice : p.bob, &m, rnd() % MAXPT, tag++);
			rx_ok(from_alice ? p.bob : p.alice, &m);
		}
	}
	assert_int_equal(saved_count(p.alice), 0);
	assert_int_equal(saved_count(p.bob), 0);
	pair_free(&p);
}

static void test_out_of_order(void **state)
{
	(void)state;
	pair p;
	static msg a[12], b[5], c[6];
	pair_init(&p);
	for (int i = 0; i < 12; i++)
		tx(p.alice, &a[i], 30, (uint32_t)i);
	/* Reverse order within a chain. */
	for (int i = 5; i >= 0; i--)
		rx_ok(p.bob, &a[i]);
	assert_int_equal(saved_count(p.bob), 0);
	rx_ok(p.bob, &a[9]); /* skips 6, 7, 8 */
	assert_int_equal(saved_count(p.bob), 3);
	/* Bob replies: a DH ratchet step on Alice's side. */
	for (int i = 0; i < 5; i++)
		tx(p.bob, &b[i], 20, (uint32_t)(100 + i));
	rx_ok(p.alice, &b[3]); /* skips 0..2 of the new chain */
	/* Alice's next chain; Bob gets it before the rest of her first chain:
	 * his DH ratchet step stores the skipped 10, 11 under the old key. */
	for (int i = 0; i < 6; i++)
		tx(p.alice, &c[i], 40, (uint32_t)(200 + i));
	rx_ok(p.bob, &c[2]);
	assert_int_equal(saved_count(p.bob), 3 + 2 + 2);
	/* Late ones, in a scrambled order, across both chains. */
	rx_ok(p.bob, &a[11]);
	rx_ok(p.bob, &c[0]);
	rx_ok(p.bob, &a[7]);
	rx_ok(p.bob, &a[6]);
	rx_ok(p.bob, &c[1]);
	rx_ok(p.bob, &a[10]);
	rx_ok(p.bob, &a[8]);
	rx_ok(p.bob, &c[5]);
	rx_ok(p.bob, &c[3]);
	rx_ok(p.bob, &c[4]);
	assert_int_equal(saved_count(p.bob), 0);
	rx_ok(p.alice, &b[0]);
	rx_ok(p.alice, &b[4]);
	rx_ok(p.alice, &b[2]);
	rx_ok(p.alice, &b[1]);
	/* Every one of them, delivered again, is a replay. */
	for (int i = 0; i < 12; i++)
		rx_refused(p.bob, a[i].b, a[i].n, AD, sizeof AD);
	for (int i = 0; i < 6; i++)
		rx_refused(p.bob, c[i].b, c[i].n, AD, sizeof AD);
	for (int i = 0; i < 5; i++)
		rx_refused(p.alice, b[i].b, b[i].n, AD, sizeof AD);
	/* And the conversation continues. */
	msg m;
	tx(p.bob, &m, 5, 999);
	rx_ok(p.alice, &m);
	tx(p.alice, &m, 5, 1000);
	rx_ok(p.bob, &m);
	pair_free(&p);
}

static void test_skip_bound(void **state)
{
	(void)state;
	pair p;
	static msg a[PL_RATCHET_MAX_SKIP + 3];
	pair_init(&p);
	tx(p.alice, &a[0], 8, 0);
	rx_ok(p.bob, &a[0]);
	for (int i = 1; i < PL_RATCHET_MAX_SKIP + 3; i++)
		tx(p.alice, &a[i], 8, (uint32_t)i);
	/* n = 1002 from nr = 1 would skip 1001 keys: refused. */
	rx_refused(p.bob, a[PL_RATCHET_MAX_SKIP + 2].b, a[PL_RATCHET_MAX_SKIP + 2].n, AD,
		   sizeof AD);
	/* n = 1001 skips exactly 1000: accepted. */
	rx_ok(p.bob, &a[PL_RATCHET_MAX_SKIP + 1]);
	assert_int_equal(saved_count(p.bob), PL_RATCHET_MAX_SKIP);
	rx_ok(p.bob, &a[PL_RATCHET_MAX_SKIP + 2]);
	rx_ok(p.bob, &a[1]);
	rx_ok(p.bob, &a[500]);
	assert_int_equal(saved_count(p.bob), PL_RATCHET_MAX_SKIP - 2);
	pair_free(&p);
}

/* pn + n over the bound on a DH ratchet step is refused too. */
static void test_skip_bound_across_ratchet(void **state)
{
	(void)state;
	pair p;
	static msg a[600], b, c[501];
	pair_init(&p);
	for (int i = 0; i < 600; i++)
		tx(p.alice, &a[i], 4, (uint32_t)i);
	rx_ok(p.bob, &a[0]);
	tx(p.bob, &b, 4, 7);
	rx_ok(p.alice, &b);
	for (int i = 0; i < 501; i++)
		tx(p.alice, &c[i], 4, (uint32_t)(1000 + i));
	/* pn = 600, nr = 1: 599 old + 401 new = 1000 is the limit. */
	rx_refused(p.bob, c[402].b, c[402].n, AD, sizeof AD);
	rx_ok(p.bob, &c[401]);
	assert_int_equal(saved_count(p.bob), 1000);
	pair_free(&p);
}

/* The store keeps at most PL_RATCHET_MAX_STORED keys, evicting the oldest. */
static void test_store_eviction(void **state)
{
	(void)state;
	pair p;
	static msg a[3][PL_RATCHET_MAX_SKIP + 1];
	msg r;
	pair_init(&p);
	for (int chain = 0; chain < 3; chain++) {
		for (int i = 0; i <= PL_RATCHET_MAX_SKIP; i++)
			tx(p.alice, &a[chain][i], 4, (uint32_t)(chain * 10000 + i));
		/* The last of the chain skips 1000 keys. */
		rx_ok(p.bob, &a[chain][PL_RATCHET_MAX_SKIP]);
		tx(p.bob, &r, 4, 1);
		rx_ok(p.alice, &r);
	}
	assert_int_equal(saved_count(p.bob), PL_RATCHET_MAX_STORED);
	/* The first chain's keys were evicted; the others are still there. */
	rx_refused(p.bob, a[0][0].b, a[0][0].n, AD, sizeof AD);
	rx_refused(p.bob, a[0][999].b, a[0][999].n, AD, sizeof AD);
	rx_ok(p.bob, &a[1][0]);
	rx_ok(p.bob, &a[2][999]);
	rx_ok(p.bob, &a[1][999]);
	rx_ok(p.bob, &a[2][0]);
	assert_int_equal(saved_count(p.bob), PL_RATCHET_MAX_STORED - 4);
	pair_free(&p);
}

static void test_replay_rejected(void **state)
{
	(void)state;
	pair p;
	msg m0, m1, r0;
	pair_init(&p);
	tx(p.alice, &m0, 11, 1);
	rx_ok(p.bob, &m0);
	rx_refused(p.bob, m0.b, m0.n, AD, sizeof AD);
	tx(p.alice, &m1, 12, 2);
	rx_ok(p.bob, &m1);
	rx_refused(p.bob, m1.b, m1.n, AD, sizeof AD);
	rx_refused(p.bob, m0.b, m0.n, AD, sizeof AD);
	tx(p.bob, &r0, 13, 3);
	rx_ok(p.alice, &r0);
	rx_refused(p.alice, r0.b, r0.n, AD, sizeof AD);
	/* After more ratchet steps, the old ones are still replays. */
	msg m2;
	tx(p.alice, &m2, 14, 4);
	rx_ok(p.bob, &m2);
	rx_refused(p.bob, m0.b, m0.n, AD, sizeof AD);
	rx_refused(p.alice, r0.b, r0.n, AD, sizeof AD);
	pair_free(&p);
}

/* Every bit flip of m (header, ciphertext, tag) and of the AD is refused
 * without changing the state; then m itself is accepted. */
static void flips_then_ok(pl_ratchet *to, const msg *m)
{
	uint8_t t[MAXMSG], ad[sizeof AD];
	for (size_t bit = 0; bit < 8 * m->n; bit++) {
		memcpy(t, m->b, m->n);
		t[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		rx_refused(to, t, m->n, AD, sizeof AD);
	}
	for (size_t bit = 0; bit < 8 * sizeof AD; bit += 7) {
		memcpy(ad, AD, sizeof AD);
		ad[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		rx_refused(to, m->b, m->n, ad, sizeof ad);
	}
	rx_refused(to, m->b, m->n, AD, sizeof AD - 1);
	rx_refused(to, m->b, m->n, NULL, 0);
	rx_ok(to, m);
}

static void test_bit_flips_rejected(void **state)
{
	(void)state;
	pair p;
	msg a0, a1, a2, a3, b0;
	pair_init(&p);
	tx(p.alice, &a0, 20, 1);
	tx(p.alice, &a1, 21, 2);
	tx(p.alice, &a2, 22, 3);
	tx(p.alice, &a3, 0, 4);
	flips_then_ok(p.bob, &a0); /* DH ratchet step (Bob's first) */
	flips_then_ok(p.bob, &a2); /* current chain, skipping one */
	flips_then_ok(p.bob, &a1); /* from the skipped store */
	flips_then_ok(p.bob, &a3); /* empty plaintext */
	tx(p.bob, &b0, 23, 5);
	flips_then_ok(p.alice, &b0); /* DH ratchet step on Alice's side */
	pair_free(&p);
}

static void test_truncations_rejected(void **state)
{
	(void)state;
	pair p;
	msg a0, a1;
	uint8_t t[MAXMSG + 1];
	pair_init(&p);
	tx(p.alice, &a0, 30, 1);
	tx(p.alice, &a1, 31, 2);
	for (int round = 0; round < 2; round++) {
		const msg *m = round == 0 ? &a0 : &a1;
		for (size_t len = 0; len < m->n; len++)
			rx_refused(p.bob, m->b, len, AD, sizeof AD);
		memcpy(t, m->b, m->n);
		t[m->n] = 0;
		rx_refused(p.bob, t, m->n + 1, AD, sizeof AD);
		rx_ok(p.bob, m);
	}
	rx_refused(p.bob, NULL, 0, AD, sizeof AD);
	pair_free(&p);
}

static void test_bad_dh_rejected(void **state)
{
	(void)state;
	pair p;
	msg a0;
	uint8_t t[MAXMSG];
	pair_init(&p);
	tx(p.alice, &a0, 30, 1);
	/* Small-order ratchet keys (u = 0, u = 1) give an all-zero DH. */
	for (int u = 0; u < 2; u++) {
		memcpy(t, a0.b, a0.n);
		memset(t, 0, 32);
		t[0] = (uint8_t)u;
		rx_refused(p.bob, t, a0.n, AD, sizeof AD);
	}
	rx_ok(p.bob, &a0);
	memcpy(t, a0.b, a0.n);
	memset(t, 0, 32);
	rx_refused(p.bob, t, a0.n, AD, sizeof AD);
	/* A message under Bob's own signed prekey, which he never sends under. */
	memcpy(t, a0.b, a0.n);
	memcpy(t, p.bob_pk, 32);
	rx_refused(p.alice, t, a0.n, AD, sizeof AD);
	pair_free(&p);
}

static void test_large_ad(void **state)
{
	(void)state;
	pair p;
	static uint8_t ad[3000];
	uint8_t out[MAXMSG], pt[10] = "0123456789", c[10 + PL_RATCHET_OVERHEAD];
	size_t cn, on;
	pair_init(&p);
	for (size_t i = 0; i < sizeof ad; i++)
		ad[i] = (uint8_t)i;
	assert_int_equal(pl_ratchet_encrypt(p.alice, ad, sizeof ad, pt, sizeof pt, c, &cn), 0);
	ad[2999] ^= 1;
	assert_int_equal(pl_ratchet_decrypt(p.bob, ad, sizeof ad, c, cn, out, &on), -1);
	ad[2999] ^= 1;
	assert_int_equal(pl_ratchet_decrypt(p.bob, ad, sizeof ad, c, cn, out, &on), 0);
	assert_int_equal(on, sizeof pt);
	assert_memory_equal(out, pt, sizeof pt);
	pair_free(&p);
}

static void reload(pl_ratchet **r)
{
	snap s;
	snap_take(&s, *r);
	pl_ratchet *n = pl_ratchet_new();
	assert_non_null(n);
	assert_int_equal(pl_ratchet_load(n, s.w.p, s.w.n), 0);
	snap_same(&s, n);
	snap_free(&s);
	pl_ratchet_free(*r);
	*r = n;
}

static void test_save_load_roundtrip(void **state)
{
	(void)state;
	pair p;
	static msg a[8], b[3];
	msg m;
	pair_init(&p);
	/* Fresh states (Bob has no chains yet, Alice only a sending one). */
	reload(&p.alice);
	reload(&p.bob);
	for (int i = 0; i < 8; i++)
		tx(p.alice, &a[i], 16, (uint32_t)i);
	rx_ok(p.bob, &a[4]);
	reload(&p.bob);
	rx_ok(p.bob, &a[1]);
	for (int i = 0; i < 3; i++)
		tx(p.bob, &b[i], 16, (uint32_t)(50 + i));
	rx_ok(p.alice, &b[2]);
	reload(&p.alice);
	reload(&p.bob);
	rx_ok(p.alice, &b[0]);
	rx_ok(p.bob, &a[0]);
	rx_ok(p.bob, &a[7]);
	rx_refused(p.bob, a[4].b, a[4].n, AD, sizeof AD);
	rx_ok(p.alice, &b[1]);
	tx(p.alice, &m, 16, 77);
	reload(&p.alice);
	rx_ok(p.bob, &m);
	tx(p.bob, &m, 16, 78);
	rx_ok(p.alice, &m);
	pair_free(&p);
}

static void load_refused(pl_ratchet *target, const uint8_t *b, size_t n)
{
	snap s;
	snap_take(&s, target);
	assert_int_equal(pl_ratchet_load(target, b, n), -1);
	snap_same(&s, target);
	snap_free(&s);
}

static void test_load_rejects(void **state)
{
	(void)state;
	pair p;
	msg a[4];
	snap good, fresh;
	uint8_t *t;
	pair_init(&p);
	for (int i = 0; i < 4; i++)
		tx(p.alice, &a[i], 16, (uint32_t)i);
	rx_ok(p.bob, &a[3]); /* three skipped keys stored */
	snap_take(&good, p.bob);
	snap_take(&fresh, p.alice);
	size_t n = good.w.n;
	assert_int_equal(n, SAVED_COUNT_OFF + 4 + 3 * 68);
	t = malloc(n + 1);
	assert_non_null(t);

	load_refused(p.alice, NULL, 0);
	/* Every truncation. */
	for (size_t len = 0; len < n; len++)
		load_refused(p.alice, good.w.p, len);
	/* Trailing byte. */
	memcpy(t, good.w.p, n);
	t[n] = 0;
	load_refused(p.alice, t, n + 1);
	/* Bad versions. */
	for (int v = 0; v < 256; v++) {
		if (v == 1)
			continue;
		memcpy(t, good.w.p, n);
		t[0] = (uint8_t)v;
		load_refused(p.alice, t, n);
	}
	/* Flags other than the three states the ratchet can be in. */
	for (int f = 0; f < 256; f++) {
		if (f == 0x07)
			continue;
		memcpy(t, good.w.p, n);
		t[1] = (uint8_t)f;
		load_refused(p.alice, t, n);
	}
	/* Counts that do not match the bytes, or exceed the bound. */
	static const uint32_t counts[] = {0, 2, 4, 2001, 0xFFFFFFFFu};
	for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
		memcpy(t, good.w.p, n);
		t[SAVED_COUNT_OFF] = (uint8_t)(counts[i] >> 24);
		t[SAVED_COUNT_OFF + 1] = (uint8_t)(counts[i] >> 16);
		t[SAVED_COUNT_OFF + 2] = (uint8_t)(counts[i] >> 8);
		t[SAVED_COUNT_OFF + 3] = (uint8_t)counts[i];
		load_refused(p.alice, t, n);
	}
	/* A ratchet public key that is not the secret key's. */
	memcpy(t, good.w.p, n);
	t[2 + 64] ^= 1;
	load_refused(p.alice, t, n);
	/* Two skipped entries with the same (dh, n) would allow a replay. */
	memcpy(t, good.w.p, n);
	memcpy(t + SAVED_COUNT_OFF + 4 + 68, t + SAVED_COUNT_OFF + 4, 36);
	load_refused(p.alice, t, n);
	/* Random garbage of assorted lengths. */
	for (int i = 0; i < 200; i++) {
		size_t len = rnd() % (n + 1);
		randombytes_buf(t, len);
		if (len > 0)
			t[0] = 1;
		load_refused(p.alice, t, len);
	}
	/* The good one still loads, into a used state. */
	assert_int_equal(pl_ratchet_load(p.alice, good.w.p, good.w.n), 0);
	snap_same(&good, p.alice);
	free(t);
	snap_free(&good);
	snap_free(&fresh);
	pair_free(&p);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_first_messages_independent),
	    cmocka_unit_test(test_bob_cannot_send_first),
	    cmocka_unit_test(test_init_rejects),
	    cmocka_unit_test(test_long_conversation),
	    cmocka_unit_test(test_out_of_order),
	    cmocka_unit_test(test_skip_bound),
	    cmocka_unit_test(test_skip_bound_across_ratchet),
	    cmocka_unit_test(test_store_eviction),
	    cmocka_unit_test(test_replay_rejected),
	    cmocka_unit_test(test_bit_flips_rejected),
	    cmocka_unit_test(test_truncations_rejected),
	    cmocka_unit_test(test_bad_dh_rejected),
	    cmocka_unit_test(test_large_ad),
	    cmocka_unit_test(test_save_load_roundtrip),
	    cmocka_unit_test(test_load_rejects),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
