/*
 * test_envelope.c — the sealed-sender envelope and the payload codec:
 * round trips in every bucket, exact sealed sizes, and every rejection the
 * strict openers promise (docs/PROTOCOL.md, "Envelope", "Payload").
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "envelope/envelope.h"
#include "identity/identity.h"
#include "util/wire.h"

#define HDR (1 + PL_IK_LEN + 4)

static pl_identity alice, bob, carol;

static int setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	if (pl_identity_generate(&alice) || pl_identity_generate(&bob) ||
	    pl_identity_generate(&carol))
		return -1;
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	pl_identity_wipe(&alice);
	pl_identity_wipe(&bob);
	pl_identity_wipe(&carol);
	return 0;
}

/* Opens for bob; returns the result and frees whatever was returned. */
static int open_as(const pl_identity *me, const uint8_t *sealed, size_t n)
{
	uint8_t *inner = (uint8_t *)1, sender[PL_IK_LEN];
	size_t innerlen = 99, msglen = 99;
	const uint8_t *msg = (const uint8_t *)1;
	int rc = pl_envelope_open(&inner, &innerlen, sender, &msg, &msglen, me, sealed, n);
	if (rc == 0) {
		sodium_memzero(inner, innerlen);
		free(inner);
	} else {
		/* Nothing half-written on failure. */
		assert_null(inner);
		assert_int_equal(innerlen, 0);
		assert_null(msg);
		assert_int_equal(msglen, 0);
	}
	return rc;
}

/* Seals a hand-made inner for bob, bypassing pl_envelope_seal's checks. */
static uint8_t *seal_raw(const uint8_t *inner, size_t n)
{
	uint8_t xpk[PL_X25519_LEN];
	uint8_t *out = malloc(n + crypto_box_SEALBYTES);
	assert_non_null(out);
	assert_int_equal(pl_ik_to_x25519(xpk, bob.pk), 0);
	assert_int_equal(crypto_box_seal(out, inner, n, xpk), 0);
	return out;
}

/* A well-formed inner of `bucket` bytes from alice with an msglen-byte message. */
static uint8_t *make_inner(size_t bucket, size_t msglen)
{
	uint8_t *in = calloc(1, bucket);
	assert_non_null(in);
	in[0] = 1;
	memcpy(in + 1, alice.pk, PL_IK_LEN);
	pl_be32_put(in + 1 + PL_IK_LEN, (uint32_t)msglen);
	for (size_t i = 0; i < msglen; i++)
		in[HDR + i] = (uint8_t)(i * 7 + 1);
	return in;
}

static void test_size_ok(void **state)
{
	(void)state;
	size_t good[] = {1072, 4144, 16432, 65584};
	for (size_t i = 0; i < 4; i++) {
		assert_true(pl_envelope_size_ok(good[i]));
		assert_false(pl_envelope_size_ok(good[i] - 1));
		assert_false(pl_envelope_size_ok(good[i] + 1));
		assert_false(pl_envelope_size_ok(good[i] - 48));
	}
	assert_false(pl_envelope_size_ok(0));
	assert_false(pl_envelope_size_ok(48));
	assert_false(pl_envelope_size_ok(SIZE_MAX));
	assert_int_equal(PL_ENVELOPE_MAX, 65584);
}

static void roundtrip(size_t msglen, size_t want_bucket)
{
	uint8_t *msg = malloc(msglen ? msglen : 1);
	assert_non_null(msg);
	randombytes_buf(msg, msglen);

	uint8_t *sealed = NULL;
	size_t sealedlen = 0;
	assert_int_equal(pl_envelope_seal(&sealed, &sealedlen, bob.pk, alice.pk, msg, msglen), 0);
	assert_int_equal(sealedlen, want_bucket + 48);
	assert_true(pl_envelope_size_ok(sealedlen));

	uint8_t *inner = NULL, sender[PL_IK_LEN];
	size_t innerlen = 0, outlen = 0;
	const uint8_t *out = NULL;
	assert_int_equal(
	    pl_envelope_open(&inner, &innerlen, sender, &out, &outlen, &bob, sealed, sealedlen), 0);
	assert_int_equal(innerlen, want_bucket);
	assert_memory_equal(sender, alice.pk, PL_IK_LEN);
	assert_int_equal(outlen, msglen);
	if (msglen)
		assert_memory_equal(out, msg, msglen);
	assert_true(out >= inner && out + outlen <= inner + innerlen);
	sodium_memzero(inner, innerlen);
	free(inner);
	free(sealed);
	free(msg);
}

static void test_roundtrip_each_bucket(void **state)
{
	(void)state;
	roundtrip(0, 1024);
	roundtrip(100, 1024);
	roundtrip(1024 - HDR, 1024);
	roundtrip(1024 - HDR + 1, 4096);
	roundtrip(4096 - HDR, 4096);
	roundtrip(4096 - HDR + 1, 16384);
	roundtrip(16384 - HDR, 16384);
	roundtrip(16384 - HDR + 1, 65536);
	roundtrip(65536 - HDR, 65536);
}

static void test_seal_rejects(void **state)
{
	(void)state;
	size_t big = 65536 - HDR + 1;
	uint8_t *msg = calloc(1, big);
	uint8_t *sealed = NULL, zero[PL_IK_LEN] = {0};
	size_t n = 0;
	assert_non_null(msg);
	assert_int_equal(pl_envelope_seal(&sealed, &n, bob.pk, alice.pk, msg, big), -1);
	assert_int_equal(pl_envelope_seal(&sealed, &n, zero, alice.pk, msg, 10), -1);
	assert_int_equal(pl_envelope_seal(&sealed, &n, bob.pk, zero, msg, 10), -1);
	assert_int_equal(pl_envelope_seal(&sealed, &n, bob.pk, alice.pk, NULL, 10), -1);
	assert_null(sealed);
	free(msg);
}

static void test_wrong_recipient(void **state)
{
	(void)state;
	uint8_t *sealed = NULL;
	size_t n = 0;
	assert_int_equal(pl_envelope_seal(&sealed, &n, bob.pk, alice.pk, (const uint8_t *)"hi", 2),
			 0);
	assert_int_equal(open_as(&carol, sealed, n), -1);
	assert_int_equal(open_as(&alice, sealed, n), -1);
	assert_int_equal(open_as(&bob, sealed, n), 0);
	free(sealed);
}

static void test_truncation_and_extension(void **state)
{
	(void)state;
	uint8_t *sealed = NULL;
	size_t n = 0;
	assert_int_equal(
	    pl_envelope_seal(&sealed, &n, bob.pk, alice.pk, (const uint8_t *)"hello", 5), 0);
	for (size_t k = 0; k < n; k++)
		assert_int_equal(open_as(&bob, sealed, k), -1);
	uint8_t *longer = malloc(n + 1);
	assert_non_null(longer);
	memcpy(longer, sealed, n);
	longer[n] = 0;
	assert_int_equal(open_as(&bob, longer, n + 1), -1);
	assert_int_equal(open_as(&bob, NULL, n), -1);
	free(longer);
	free(sealed);
}

static void test_flipped_bytes(void **state)
{
	(void)state;
	uint8_t *sealed = NULL;
	size_t n = 0;
	assert_int_equal(
	    pl_envelope_seal(&sealed, &n, bob.pk, alice.pk, (const uint8_t *)"hello", 5), 0);
	for (size_t i = 0; i < n; i++) {
		for (int bit = 0; bit < 8; bit += 7) {
			sealed[i] ^= (uint8_t)(1u << bit);
			assert_int_equal(open_as(&bob, sealed, n), -1);
			sealed[i] ^= (uint8_t)(1u << bit);
		}
	}
	assert_int_equal(open_as(&bob, sealed, n), 0);
	free(sealed);
}

static void test_handmade_inner_ok(void **state)
{
	(void)state;
	/* The hand-made construction itself is accepted, so the rejections
	 * below are due to the one thing each changes. */
	uint8_t *in = make_inner(1024, 10);
	uint8_t *s = seal_raw(in, 1024);
	assert_int_equal(open_as(&bob, s, 1024 + 48), 0);
	free(s);
	free(in);
}

static void test_nonzero_padding(void **state)
{
	(void)state;
	size_t positions[] = {HDR + 10, HDR + 11, 500, 1023};
	for (size_t i = 0; i < 4; i++) {
		uint8_t *in = make_inner(1024, 10);
		in[positions[i]] = 0x01;
		uint8_t *s = seal_raw(in, 1024);
		assert_int_equal(open_as(&bob, s, 1024 + 48), -1);
		free(s);
		free(in);
	}
}

static void test_bad_version(void **state)
{
	(void)state;
	uint8_t versions[] = {0, 2, 0xff};
	for (size_t i = 0; i < 3; i++) {
		uint8_t *in = make_inner(1024, 10);
		in[0] = versions[i];
		uint8_t *s = seal_raw(in, 1024);
		assert_int_equal(open_as(&bob, s, 1024 + 48), -1);
		free(s);
		free(in);
	}
}

static void test_bad_sender_ik(void **state)
{
	(void)state;
	/* All zero (small order), the identity point (small order), and a
	 * y-coordinate that is not on the curve. */
	uint8_t bad[3][PL_IK_LEN] = {{0}, {1}, {0}};
	memset(bad[2], 0xff, PL_IK_LEN);
	bad[2][31] = 0x7f;
	for (size_t i = 0; i < 3; i++) {
		uint8_t *in = make_inner(1024, 10);
		memcpy(in + 1, bad[i], PL_IK_LEN);
		uint8_t *s = seal_raw(in, 1024);
		assert_int_equal(open_as(&bob, s, 1024 + 48), -1);
		free(s);
		free(in);
	}
}

static void test_var_length_beyond_inner(void **state)
{
	(void)state;
	uint32_t lens[] = {1024 - HDR + 1, 0x7fffffff, 0xffffffff};
	for (size_t i = 0; i < 3; i++) {
		uint8_t *in = make_inner(1024, 10);
		pl_be32_put(in + 1 + PL_IK_LEN, lens[i]);
		uint8_t *s = seal_raw(in, 1024);
		assert_int_equal(open_as(&bob, s, 1024 + 48), -1);
		free(s);
		free(in);
	}
	/* Exactly filling the bucket is fine. */
	uint8_t *in = make_inner(1024, 1024 - HDR);
	uint8_t *s = seal_raw(in, 1024);
	assert_int_equal(open_as(&bob, s, 1024 + 48), 0);
	free(s);
	free(in);
}

static void test_not_smallest_bucket(void **state)
{
	(void)state;
	/* A message that fits 1024 padded to 4096 is a second encoding of the
	 * same envelope; only the canonical one is accepted. */
	uint8_t *in = make_inner(4096, 10);
	uint8_t *s = seal_raw(in, 4096);
	assert_int_equal(open_as(&bob, s, 4096 + 48), -1);
	free(s);
	free(in);
	in = make_inner(4096, 1024 - HDR + 1);
	s = seal_raw(in, 4096);
	assert_int_equal(open_as(&bob, s, 4096 + 48), 0);
	free(s);
	free(in);
}

static void test_inner_not_a_bucket(void **state)
{
	(void)state;
	uint8_t *in = make_inner(1025, 10);
	uint8_t *s = seal_raw(in, 1025);
	assert_int_equal(open_as(&bob, s, 1025 + 48), -1);
	free(s);
	free(in);
}

/* ---- payload ---- */

static size_t encode_note(uint8_t *buf, size_t cap, const char *text)
{
	pl_payload p = {.kind = PL_KIND_NOTE,
			.id = {1, 2, 3, 4, 5, 6, 7, 8},
			.time = 1764300000,
			.body = (const uint8_t *)text,
			.bodylen = strlen(text)};
	pl_wr w;
	pl_wr_init(&w);
	pl_payload_encode(&w, &p);
	assert_int_equal(pl_wr_ok(&w), 0);
	assert_true(w.n <= cap);
	memcpy(buf, w.p, w.n);
	size_t n = w.n;
	pl_wr_free(&w);
	return n;
}

static void test_payload_roundtrip(void **state)
{
	(void)state;
	uint8_t buf[256];
	size_t n = encode_note(buf, sizeof buf, "We are ready to talk. — Vienna");
	pl_payload p;
	assert_int_equal(pl_payload_decode(&p, buf, n), 0);
	assert_int_equal(p.kind, PL_KIND_NOTE);
	assert_int_equal(p.time, 1764300000);
	assert_memory_equal(p.id, ((uint8_t[]){1, 2, 3, 4, 5, 6, 7, 8}), 8);
	assert_int_equal(p.bodylen, strlen("We are ready to talk. — Vienna"));
	assert_memory_equal(p.body, "We are ready to talk. — Vienna", p.bodylen);
	assert_true(p.body >= buf && p.body + p.bodylen <= buf + n);

	n = encode_note(buf, sizeof buf, "");
	assert_int_equal(n, 1 + 1 + 8 + 8 + 4);
	assert_int_equal(pl_payload_decode(&p, buf, n), 0);
	assert_int_equal(p.bodylen, 0);

	/* A note is shown on terminals: escape sequences and other control
	 * characters are refused (newlines are text). */
	n = encode_note(buf, sizeof buf, "two\nlines");
	assert_int_equal(pl_payload_decode(&p, buf, n), 0);
	n = encode_note(buf, sizeof buf, "x");
	const char *bad[] = {"\x1b", "\t", "\r", "\x7f", "\xe2\x80\xae"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		uint8_t t[256];
		memcpy(t, buf, n);
		size_t bl = strlen(bad[i]);
		memcpy(t + n - 1, bad[i], bl);
		pl_be32_put(t + 18, (uint32_t)bl);
		assert_int_equal(pl_payload_decode(&p, t, n - 1 + bl), -1);
	}
}

static void test_payload_max_body(void **state)
{
	(void)state;
	uint8_t *body = malloc(PL_PAYLOAD_MAX_BODY + 1);
	assert_non_null(body);
	memset(body, 'a', PL_PAYLOAD_MAX_BODY + 1);
	pl_payload p = {.kind = PL_KIND_NOTE, .body = body, .bodylen = PL_PAYLOAD_MAX_BODY};
	pl_wr w;
	pl_wr_init(&w);
	pl_payload_encode(&w, &p);
	assert_int_equal(pl_wr_ok(&w), 0);
	pl_payload q;
	assert_int_equal(pl_payload_decode(&q, w.p, w.n), 0);
	assert_int_equal(q.bodylen, PL_PAYLOAD_MAX_BODY);
	pl_wr_free(&w);

	/* The encoder refuses an oversize body... */
	p.bodylen = PL_PAYLOAD_MAX_BODY + 1;
	pl_wr_init(&w);
	pl_payload_encode(&w, &p);
	assert_int_equal(pl_wr_ok(&w), -1);
	pl_wr_free(&w);

	/* ...and the decoder rejects one made by hand. */
	pl_wr_init(&w);
	pl_wr_u8(&w, 1);
	pl_wr_u8(&w, PL_KIND_NOTE);
	pl_wr_bytes(&w, (const uint8_t *)"12345678", 8);
	pl_wr_u64(&w, 1);
	pl_wr_var(&w, body, PL_PAYLOAD_MAX_BODY + 1);
	assert_int_equal(pl_wr_ok(&w), 0);
	assert_int_equal(pl_payload_decode(&q, w.p, w.n), -1);
	pl_wr_free(&w);
	free(body);
}

static void test_payload_rejections(void **state)
{
	(void)state;
	uint8_t buf[256], t[257];
	size_t n = encode_note(buf, sizeof buf, "note");
	pl_payload p;

	memcpy(t, buf, n);
	t[0] = 0;
	assert_int_equal(pl_payload_decode(&p, t, n), -1);
	t[0] = 2;
	assert_int_equal(pl_payload_decode(&p, t, n), -1);

	memcpy(t, buf, n);
	uint8_t kinds[] = {0, PL_KIND_ACK, 5, 0x7f, 0xff}; /* "note" is no ack body; 5: unknown */
	for (size_t i = 0; i < sizeof kinds; i++) {
		t[1] = kinds[i];
		assert_int_equal(pl_payload_decode(&p, t, n), -1);
	}

	memcpy(t, buf, n);
	t[n] = 0;
	assert_int_equal(pl_payload_decode(&p, t, n + 1), -1);

	for (size_t k = 0; k < n; k++)
		assert_int_equal(pl_payload_decode(&p, buf, k), -1);
	assert_int_equal(pl_payload_decode(&p, NULL, 0), -1);
	assert_int_equal(pl_payload_decode(&p, buf, n), 0);

	/* Length field that claims more than there is. */
	memcpy(t, buf, n);
	pl_be32_put(t + 18, 5);
	assert_int_equal(pl_payload_decode(&p, t, n), -1);
}

static void test_payload_ack_body(void **state)
{
	(void)state;
	uint8_t body[2 + 3 * PL_ITEM_ID_LEN];
	memset(body, 0xab, sizeof body);
	body[0] = 0;
	body[1] = 3;
	pl_payload p = {.kind = PL_KIND_ACK, .body = body, .bodylen = sizeof body};
	pl_wr w;
	pl_wr_init(&w);
	pl_payload_encode(&w, &p);
	assert_int_equal(pl_wr_ok(&w), 0);
	pl_payload q;
	assert_int_equal(pl_payload_decode(&q, w.p, w.n), 0);
	assert_int_equal(q.kind, PL_KIND_ACK);
	pl_wr_free(&w);
	size_t bad_lens[] = {0, 1, 2, sizeof body - 1};
	for (size_t i = 0; i < sizeof bad_lens / sizeof bad_lens[0]; i++) {
		p.bodylen = bad_lens[i];
		pl_wr_init(&w);
		pl_payload_encode(&w, &p);
		assert_int_equal(pl_wr_ok(&w), -1);
		pl_wr_free(&w);
	}
	body[1] = 0; /* count 0 */
	p.bodylen = 2;
	pl_wr_init(&w);
	pl_payload_encode(&w, &p);
	assert_int_equal(pl_wr_ok(&w), -1);
	pl_wr_free(&w);
}

static void test_payload_encode_refuses_unknown_kind(void **state)
{
	(void)state;
	pl_payload p = {.kind = 0x42, .body = (const uint8_t *)"x", .bodylen = 1};
	pl_wr w;
	pl_wr_init(&w);
	pl_payload_encode(&w, &p);
	assert_int_equal(pl_wr_ok(&w), -1);
	assert_int_equal(w.n, 0);
	pl_wr_free(&w);
}

static void test_note_must_be_utf8(void **state)
{
	(void)state;
	static const char *bad[] = {
	    "\x80",		/* lone continuation */
	    "\xc0\xaf",		/* overlong '/' */
	    "\xe0\x80\xaf",	/* overlong */
	    "\xed\xa0\x80",	/* surrogate U+D800 */
	    "\xf4\x90\x80\x80", /* above U+10FFFF */
	    "\xf8\x88\x80\x80\x80",
	    "abc\xe2\x82", /* truncated sequence */
	    "\xff",
	};
	uint8_t good[256];
	size_t gn = encode_note(good, sizeof good, "\xf0\x9f\x95\x8a\xef\xb8\x8f peace \xc3\xa9");
	pl_payload p;
	assert_int_equal(pl_payload_decode(&p, good, gn), 0);

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		pl_wr w;
		pl_wr_init(&w);
		pl_wr_u8(&w, 1);
		pl_wr_u8(&w, PL_KIND_NOTE);
		pl_wr_bytes(&w, (const uint8_t *)"12345678", 8);
		pl_wr_u64(&w, 1);
		pl_wr_var(&w, (const uint8_t *)bad[i], strlen(bad[i]));
		assert_int_equal(pl_payload_decode(&p, w.p, w.n), -1);
		pl_wr_free(&w);

		pl_payload q = {.kind = PL_KIND_NOTE,
				.body = (const uint8_t *)bad[i],
				.bodylen = strlen(bad[i])};
		pl_wr_init(&w);
		pl_payload_encode(&w, &q);
		assert_int_equal(pl_wr_ok(&w), -1);
		pl_wr_free(&w);
	}
}

/* A payload sealed in an envelope, the way a note travels (minus the session). */
static void test_payload_in_envelope(void **state)
{
	(void)state;
	uint8_t buf[256];
	size_t n = encode_note(buf, sizeof buf, "offer 3");
	uint8_t *sealed = NULL;
	size_t sn = 0;
	assert_int_equal(pl_envelope_seal(&sealed, &sn, bob.pk, alice.pk, buf, n), 0);
	uint8_t *inner = NULL, sender[PL_IK_LEN];
	size_t innerlen = 0, mlen = 0;
	const uint8_t *m = NULL;
	assert_int_equal(pl_envelope_open(&inner, &innerlen, sender, &m, &mlen, &bob, sealed, sn),
			 0);
	pl_payload p;
	assert_int_equal(pl_payload_decode(&p, m, mlen), 0);
	assert_memory_equal(p.body, "offer 3", 7);
	sodium_memzero(inner, innerlen);
	free(inner);
	free(sealed);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_size_ok),
	    cmocka_unit_test(test_roundtrip_each_bucket),
	    cmocka_unit_test(test_seal_rejects),
	    cmocka_unit_test(test_wrong_recipient),
	    cmocka_unit_test(test_truncation_and_extension),
	    cmocka_unit_test(test_flipped_bytes),
	    cmocka_unit_test(test_handmade_inner_ok),
	    cmocka_unit_test(test_nonzero_padding),
	    cmocka_unit_test(test_bad_version),
	    cmocka_unit_test(test_bad_sender_ik),
	    cmocka_unit_test(test_var_length_beyond_inner),
	    cmocka_unit_test(test_not_smallest_bucket),
	    cmocka_unit_test(test_inner_not_a_bucket),
	    cmocka_unit_test(test_payload_roundtrip),
	    cmocka_unit_test(test_payload_max_body),
	    cmocka_unit_test(test_payload_rejections),
	    cmocka_unit_test(test_payload_encode_refuses_unknown_kind),
	    cmocka_unit_test(test_payload_ack_body),
	    cmocka_unit_test(test_note_must_be_utf8),
	    cmocka_unit_test(test_payload_in_envelope),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
