/* test_match_format.c — the formats of blind matching
 * (negotiation/match.h, export/match.h): round trips of COMMIT, chunks and
 * intent statements; every rejection of the decoders (and the encoders
 * refusing the same); each byte of a COMMIT and of a statement flipped is
 * refused; the match id is symmetric; a package encodes the same from
 * both sides; person identifiers; the packages file's errors; the intent
 * seal; the exported proof of mutual intent and the verify dispatcher.
 * With PARLEY_SEED_DIR set, writes fuzz seeds there. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "support.h"
#include "export/json.h"
#include "export/match.h"
#include "export/verify.h"
#include "negotiation/match.h"

#define T0 1764300000ull

static pl_identity A, B, C;
static uint8_t ID[PL_MATCH_ID_LEN];

static int setup(void **st)
{
	(void)st;
	static const uint8_t s1[32] = {42}, s2[32] = {43}, s3[32] = {44};
	if (sodium_init() < 0 || crypto_sign_seed_keypair(A.pk, A.sk, s1) != 0 ||
	    crypto_sign_seed_keypair(B.pk, B.sk, s2) != 0 ||
	    crypto_sign_seed_keypair(C.pk, C.sk, s3) != 0)
		return -1;
	pl_match_id(ID, PL_MATCH_INTENT, A.pk, B.pk, "prisoner talks");
	return 0;
}

static void seed(const char *dir, const char *name, const void *p, size_t n)
{
	const char *d = getenv("PARLEY_SEED_DIR");
	char path[PATH_MAX];
	if (d == NULL)
		return;
	snprintf(path, sizeof path, "%s/%s/%s", d, dir, name);
	pl_test_write_file(path, p, n);
}

static void commit_of(pl_wr *w, int kind, uint32_t max, uint32_t size, const char *label)
{
	uint8_t c[32];
	memset(c, 7, sizeof c);
	pl_wr_init(w);
	assert_int_equal(pl_match_commit_encode(w, ID, kind, max, size, c, label, T0, B.pk, &A), 0);
}

/* --- COMMIT ---------------------------------------------------------------- */

static void test_commit_round_trip_and_flips(void **st)
{
	(void)st;
	pl_wr w;
	pl_match_msg m;
	commit_of(&w, PL_MATCH_COUNT, 64, 3, "detainees 2026");
	seed("fuzz_match_msg", "commit", w.p, w.n);
	assert_int_equal(pl_match_msg_decode(&m, w.p, w.n), 0);
	assert_int_equal(m.step, PL_MATCH_COMMIT);
	assert_int_equal(m.kind, PL_MATCH_COUNT);
	assert_int_equal(m.max, 64);
	assert_int_equal(m.size, 3);
	assert_string_equal(m.label, "detainees 2026");
	assert_int_equal(m.created, T0);
	assert_memory_equal(m.signer, A.pk, 32);
	assert_memory_equal(m.peer, B.pk, 32);
	assert_memory_equal(m.id, ID, 16);
	/* every byte flipped, every truncation, one byte more: refused */
	for (size_t i = 0; i < w.n; i++) {
		w.p[i] ^= 0x01;
		assert_int_equal(pl_match_msg_decode(&m, w.p, w.n), -1);
		w.p[i] ^= 0x01;
		assert_int_equal(pl_match_msg_decode(&m, w.p, i), -1);
	}
	pl_wr_u8(&w, 0);
	assert_int_equal(pl_match_msg_decode(&m, w.p, w.n), -1);
	pl_wr_free(&w);
	/* signed by another key than the signer it names */
	commit_of(&w, PL_MATCH_COUNT, 64, 3, "x");
	memcpy(w.p + w.n - 64 - 64, C.pk, 32); /* signer */
	assert_int_equal(pl_match_msg_decode(&m, w.p, w.n), -1);
	pl_wr_free(&w);
	/* signer and peer flipped: the signature no longer verifies */
	commit_of(&w, PL_MATCH_COUNT, 64, 3, "x");
	uint8_t t[32];
	memcpy(t, w.p + w.n - 128, 32);
	memcpy(w.p + w.n - 128, w.p + w.n - 96, 32);
	memcpy(w.p + w.n - 96, t, 32);
	assert_int_equal(pl_match_msg_decode(&m, w.p, w.n), -1);
	pl_wr_free(&w);
	/* an intent commit */
	commit_of(&w, PL_MATCH_INTENT, 1, 1, "prisoner talks");
	assert_int_equal(pl_match_msg_decode(&m, w.p, w.n), 0);
	pl_wr_free(&w);
}

static void test_commit_encode_refusals(void **st)
{
	(void)st;
	uint8_t c[32] = {0};
	char longl[PL_MATCH_LABEL_MAX + 2];
	memset(longl, 'a', sizeof longl - 1);
	longl[sizeof longl - 1] = '\0';
	struct {
		int kind;
		uint32_t max, size;
		const char *label;
		uint64_t created;
		const uint8_t *peer;
	} bad[] = {
	    {0, 1, 1, "x", T0, B.pk},
	    {4, 1, 1, "x", T0, B.pk},
	    {PL_MATCH_COUNT, 0, 1, "x", T0, B.pk},
	    {PL_MATCH_COUNT, 1, 0, "x", T0, B.pk},
	    {PL_MATCH_COUNT, PL_MATCH_ELEMS_MAX + 1, 1, "x", T0, B.pk},
	    {PL_MATCH_COUNT, 1, PL_MATCH_ELEMS_MAX + 1, "x", T0, B.pk},
	    {PL_MATCH_INTENT, 2, 1, "x", T0, B.pk},
	    {PL_MATCH_INTENT, 1, 2, "x", T0, B.pk},
	    {PL_MATCH_INTENT, 1, 1, "", T0, B.pk}, /* a topic is needed */
	    {PL_MATCH_COUNT, 1, 1, "two\nlines", T0, B.pk},
	    {PL_MATCH_COUNT, 1, 1, "bell\a", T0, B.pk},
	    {PL_MATCH_COUNT, 1, 1,
	     "\xe2\x80\xae"
	     "rtl",
	     T0, B.pk},					  /* bidi override */
	    {PL_MATCH_COUNT, 1, 1, "\xc0\xaf", T0, B.pk}, /* overlong */
	    {PL_MATCH_COUNT, 1, 1, longl, T0, B.pk},
	    {PL_MATCH_COUNT, 1, 1, "x", 0, B.pk},
	    {PL_MATCH_COUNT, 1, 1, "x", PL_MATCH_TIME_MAX + 1, B.pk},
	    {PL_MATCH_COUNT, 1, 1, "x", T0, A.pk}, /* peer is me */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		pl_wr w;
		pl_wr_init(&w);
		if (pl_match_commit_encode(&w, ID, bad[i].kind, bad[i].max, bad[i].size, c,
					   bad[i].label, bad[i].created, bad[i].peer, &A) != -1)
			fail_msg("case %zu encoded", i);
		assert_int_equal(w.n, 0);
		pl_wr_free(&w);
	}
	/* an empty label is fine for a count, and the longest label */
	pl_wr w;
	commit_of(&w, PL_MATCH_COUNT, 1, 1, "");
	pl_wr_free(&w);
	longl[PL_MATCH_LABEL_MAX] = '\0';
	commit_of(&w, PL_MATCH_PACKAGES, PL_MATCH_ELEMS_MAX, PL_MATCH_ELEMS_MAX, longl);
	pl_match_msg m;
	assert_int_equal(pl_match_msg_decode(&m, w.p, w.n), 0);
	assert_int_equal(strlen(m.label), PL_MATCH_LABEL_MAX);
	pl_wr_free(&w);
}

/* --- chunks ---------------------------------------------------------------- */

static uint8_t (*elems(uint32_t n))[32]
{
	uint8_t(*e)[32] = calloc(n ? n : 1, 32);
	assert_non_null(e);
	for (uint32_t i = 0; i < n; i++) {
		pl_be32_put(e[i], i);
		e[i][31] = 0x5a;
	}
	return e;
}

static void test_chunk_round_trips(void **st)
{
	(void)st;
	static const uint32_t totals[] = {1, 2, 1799, 1800, 1801, 3600, 3601, 5000};
	assert_int_equal(pl_match_parts(0), 1);
	assert_int_equal(pl_match_parts(1), 1);
	assert_int_equal(pl_match_parts(1800), 1);
	assert_int_equal(pl_match_parts(1801), 2);
	assert_int_equal(pl_match_parts(PL_MATCH_ELEMS_MAX), 583);
	for (size_t t = 0; t < sizeof totals / sizeof totals[0]; t++) {
		uint32_t total = totals[t];
		uint8_t(*e)[32] = elems(total);
		uint32_t sum = 0, parts = pl_match_parts(total);
		for (int step = PL_MATCH_LIST; step <= PL_MATCH_FINAL; step++) {
			sum = 0;
			for (uint32_t p = 0; p < parts; p++) {
				pl_wr w;
				pl_match_msg m;
				pl_wr_init(&w);
				assert_int_equal(pl_match_chunk_encode(&w, step, ID, p, total,
								       (const uint8_t(*)[32])e,
								       NULL, 0),
						 0);
				assert_true(w.n < 60000);
				assert_int_equal(pl_match_msg_decode(&m, w.p, w.n), 0);
				assert_int_equal(m.step, step);
				assert_int_equal(m.part, p);
				assert_int_equal(m.parts, parts);
				assert_int_equal(m.total, total);
				assert_memory_equal(m.elems, e[(size_t)p * PL_MATCH_CHUNK_ELEMS],
						    (size_t)m.count * 32);
				assert_null(m.sealed);
				sum += m.count;
				if (total == 2 && step == PL_MATCH_LIST)
					seed("fuzz_match_msg", "list", w.p, w.n);
				if (total == 1801 && step == PL_MATCH_FINAL && p == 1)
					seed("fuzz_match_msg", "final-part2", w.p, w.n);
				pl_wr_free(&w);
			}
			assert_int_equal(sum, total);
		}
		/* part >= parts is refused */
		pl_wr w;
		pl_wr_init(&w);
		assert_int_equal(pl_match_chunk_encode(&w, PL_MATCH_LIST, ID, parts, total,
						       (const uint8_t(*)[32])e, NULL, 0),
				 -1);
		assert_int_equal(w.n, 0);
		pl_wr_free(&w);
		free(e);
	}
}

/* The header of a chunk written by hand: magic step id part parts total
 * count, count elements, sealedlen, sealed. */
static size_t raw_chunk(uint8_t *out, const char *magic, uint8_t step, uint32_t part,
			uint32_t parts, uint32_t total, uint32_t count, uint32_t elems_present,
			uint16_t sealedlen, uint32_t sealed_present)
{
	size_t k = 0;
	memcpy(out, magic, 4);
	k += 4;
	out[k++] = step;
	memcpy(out + k, ID, 16);
	k += 16;
	pl_be32_put(out + k, part);
	pl_be32_put(out + k + 4, parts);
	pl_be32_put(out + k + 8, total);
	pl_be32_put(out + k + 12, count);
	k += 16;
	memset(out + k, 0x33, (size_t)elems_present * 32);
	k += (size_t)elems_present * 32;
	out[k++] = (uint8_t)(sealedlen >> 8);
	out[k++] = (uint8_t)sealedlen;
	memset(out + k, 0x44, sealed_present);
	k += sealed_present;
	return k;
}

static void test_chunk_rejections(void **st)
{
	(void)st;
	uint8_t *buf = malloc(2000 * 32 + 2000);
	pl_match_msg m;
	size_t n;
	uint16_t sl = (uint16_t)pl_match_intent_len("t") + 16;
	/* the good ones first: these bytes are what the decoder takes */
	n = raw_chunk(buf, "PLM1", PL_MATCH_LIST, 0, 1, 3, 3, 3, 0, 0);
	assert_int_equal(pl_match_msg_decode(&m, buf, n), 0);
	n = raw_chunk(buf, "PLM1", PL_MATCH_FINAL, 0, 1, 0, 0, 0, sl, sl);
	assert_int_equal(pl_match_msg_decode(&m, buf, n), 0);
	assert_int_equal(m.sealedlen, sl);
	seed("fuzz_match_msg", "final-intent", buf, n);
	struct {
		const char *what, *magic;
		uint8_t step;
		uint32_t part, parts, total, count, present;
		uint16_t sl;
		uint32_t slp;
	} bad[] = {
	    {"bad magic", "PLM2", PL_MATCH_LIST, 0, 1, 3, 3, 3, 0, 0},
	    {"step 0", "PLM1", 0, 0, 1, 3, 3, 3, 0, 0},
	    {"step 4", "PLM1", 4, 0, 1, 3, 3, 3, 0, 0},
	    {"count > present", "PLM1", PL_MATCH_LIST, 0, 1, 3, 3, 2, 0, 0},
	    {"count mismatch", "PLM1", PL_MATCH_LIST, 0, 1, 3, 2, 2, 0, 0},
	    {"parts wrong", "PLM1", PL_MATCH_LIST, 0, 2, 3, 3, 3, 0, 0},
	    {"part >= parts", "PLM1", PL_MATCH_LIST, 1, 1, 3, 0, 0, 0, 0},
	    {"short middle part", "PLM1", PL_MATCH_LIST, 0, 2, 1801, 1, 1, 0, 0},
	    {"last part sum", "PLM1", PL_MATCH_LIST, 1, 2, 1801, 2, 2, 0, 0},
	    {"empty list", "PLM1", PL_MATCH_LIST, 0, 1, 0, 0, 0, 0, 0},
	    {"too long", "PLM1", PL_MATCH_LIST, 0, 583, PL_MATCH_ELEMS_MAX + 1, 1800, 0, 0, 0},
	    {"sealed in a LIST", "PLM1", PL_MATCH_LIST, 0, 1, 0, 0, 0, sl, sl},
	    {"sealed with elements", "PLM1", PL_MATCH_FINAL, 0, 1, 3, 3, 3, sl, sl},
	    {"empty FINAL unsealed", "PLM1", PL_MATCH_FINAL, 0, 1, 0, 0, 0, 0, 0},
	    {"sealed too short", "PLM1", PL_MATCH_FINAL, 0, 1, 0, 0, 0, PL_MATCH_SEALED_MIN - 1,
	     PL_MATCH_SEALED_MIN - 1},
	    {"sealed too long", "PLM1", PL_MATCH_FINAL, 0, 1, 0, 0, 0, PL_MATCH_SEALED_LEN_MAX + 1,
	     PL_MATCH_SEALED_LEN_MAX + 1},
	    {"sealed truncated", "PLM1", PL_MATCH_FINAL, 0, 1, 0, 0, 0, sl, (uint32_t)sl - 1},
	    {"trailing byte", "PLM1", PL_MATCH_FINAL, 0, 1, 0, 0, 0, sl, (uint32_t)sl + 1},
	    {"a commit step on chunk bytes", "PLM1", PL_MATCH_COMMIT, 0, 1, 3, 3, 3, 0, 0},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		n = raw_chunk(buf, bad[i].magic, bad[i].step, bad[i].part, bad[i].parts,
			      bad[i].total, bad[i].count, bad[i].present, bad[i].sl, bad[i].slp);
		if (pl_match_msg_decode(&m, buf, n) != -1)
			fail_msg("%s: accepted", bad[i].what);
		assert_int_equal(m.step, 0); /* zeroed */
	}
	/* encoders refuse the same */
	uint8_t sealed[PL_MATCH_SEALED_MAX] = {0}, e3[3][32] = {{0}};
	pl_wr w;
	pl_wr_init(&w);
	assert_int_equal(pl_match_chunk_encode(&w, PL_MATCH_LIST, ID, 0, 3, e3, sealed, sl), -1);
	assert_int_equal(pl_match_chunk_encode(&w, PL_MATCH_LIST, ID, 0, 0, NULL, NULL, 0), -1);
	assert_int_equal(pl_match_chunk_encode(&w, PL_MATCH_FINAL, ID, 0, 0, NULL, NULL, 0), -1);
	assert_int_equal(pl_match_chunk_encode(&w, PL_MATCH_FINAL, ID, 0, 3, e3, sealed, sl), -1);
	assert_int_equal(
	    pl_match_chunk_encode(&w, PL_MATCH_FINAL, ID, 0, 0, NULL, sealed, PL_MATCH_SEALED_MAX),
	    -1);
	assert_int_equal(pl_match_chunk_encode(&w, PL_MATCH_COMMIT, ID, 0, 3, e3, NULL, 0), -1);
	assert_int_equal(
	    pl_match_chunk_encode(&w, PL_MATCH_LIST, ID, 0, PL_MATCH_ELEMS_MAX + 1, e3, NULL, 0),
	    -1);
	assert_int_equal(w.n, 0);
	assert_int_equal(pl_match_chunk_encode(&w, PL_MATCH_FINAL, ID, 0, 0, NULL, sealed, sl), 0);
	pl_wr_free(&w);
	/* nothing: NULL, empty */
	assert_int_equal(pl_match_msg_decode(&m, NULL, 0), -1);
	assert_int_equal(pl_match_msg_decode(&m, (const uint8_t *)"PLM1", 4), -1);
	free(buf);
}

/* --- id, ctx, list commitment ------------------------------------------------ */

static void test_id_ctx_commit(void **st)
{
	(void)st;
	uint8_t a[16], b[16], c[16], ca[81], cb[81];
	pl_match_id(a, PL_MATCH_COUNT, A.pk, B.pk, "x");
	pl_match_id(b, PL_MATCH_COUNT, B.pk, A.pk, "x");
	assert_memory_equal(a, b, 16);
	pl_match_id(c, PL_MATCH_PACKAGES, A.pk, B.pk, "x");
	assert_memory_not_equal(a, c, 16);
	pl_match_id(c, PL_MATCH_COUNT, A.pk, B.pk, "y");
	assert_memory_not_equal(a, c, 16);
	pl_match_id(c, PL_MATCH_COUNT, A.pk, C.pk, "x");
	assert_memory_not_equal(a, c, 16);
	/* the id is BLAKE2b-128 of the spec's bytes */
	const uint8_t *lo = memcmp(A.pk, B.pk, 32) < 0 ? A.pk : B.pk;
	const uint8_t *hi = lo == A.pk ? B.pk : A.pk;
	uint8_t msg[18 + 1 + 64 + 1], want[16];
	memcpy(msg, "parley match id v1", 18);
	msg[18] = PL_MATCH_COUNT;
	memcpy(msg + 19, lo, 32);
	memcpy(msg + 51, hi, 32);
	msg[83] = 'x';
	crypto_generichash(want, 16, msg, sizeof msg, NULL, 0);
	assert_memory_equal(a, want, 16);
	pl_match_ctx(ca, PL_MATCH_COUNT, a, A.pk, B.pk);
	pl_match_ctx(cb, PL_MATCH_COUNT, a, B.pk, A.pk);
	assert_memory_equal(ca, cb, 81);
	assert_int_equal(ca[0], PL_MATCH_COUNT);
	assert_memory_equal(ca + 1, a, 16);
	assert_memory_equal(ca + 17, lo, 32);
	assert_memory_equal(ca + 49, hi, 32);
	/* list commitment: order, signer, id, n all bound */
	uint8_t(*e)[32] = elems(4), h1[32], h2[32];
	pl_match_list_commit(h1, a, A.pk, (const uint8_t(*)[32])e, 4);
	pl_match_list_commit(h2, a, A.pk, (const uint8_t(*)[32])e, 3);
	assert_memory_not_equal(h1, h2, 32);
	pl_match_list_commit(h2, a, B.pk, (const uint8_t(*)[32])e, 4);
	assert_memory_not_equal(h1, h2, 32);
	pl_match_list_commit(h2, c, A.pk, (const uint8_t(*)[32])e, 4);
	assert_memory_not_equal(h1, h2, 32);
	e[3][0] ^= 1;
	pl_match_list_commit(h2, a, A.pk, (const uint8_t(*)[32])e, 4);
	assert_memory_not_equal(h1, h2, 32);
	e[3][0] ^= 1;
	pl_match_list_commit(h2, a, A.pk, (const uint8_t(*)[32])e, 4);
	assert_memory_equal(h1, h2, 32);
	free(e);
}

/* --- intent statement, key, seal ------------------------------------------------ */

static void stmt(pl_wr *w, const pl_identity *me, const uint8_t *peer, const char *topic)
{
	pl_wr_init(w);
	assert_int_equal(pl_match_intent_sign(w, ID, peer, topic, T0, me), 0);
}

static void test_intent_statement(void **st)
{
	(void)st;
	pl_wr w;
	pl_match_intent s;
	stmt(&w, &A, B.pk, "prisoner talks");
	seed("fuzz_match_intent", "statement", w.p, w.n);
	assert_int_equal(w.n, pl_match_intent_len("prisoner talks"));
	assert_int_equal(pl_match_intent_decode(&s, w.p, w.n), 0);
	assert_string_equal(s.topic, "prisoner talks");
	assert_memory_equal(s.signer, A.pk, 32);
	assert_memory_equal(s.peer, B.pk, 32);
	assert_memory_equal(s.id, ID, 16);
	assert_int_equal(s.created, T0);
	for (size_t i = 0; i < w.n; i++) {
		w.p[i] ^= 0x80;
		assert_int_equal(pl_match_intent_decode(&s, w.p, w.n), -1);
		w.p[i] ^= 0x80;
		assert_int_equal(pl_match_intent_decode(&s, w.p, i), -1);
	}
	pl_wr_u8(&w, 0);
	assert_int_equal(pl_match_intent_decode(&s, w.p, w.n), -1);
	pl_wr_free(&w);
	/* signer and peer flipped */
	stmt(&w, &A, B.pk, "t");
	uint8_t t[32];
	memcpy(t, w.p + 21, 32);
	memcpy(w.p + 21, w.p + 53, 32);
	memcpy(w.p + 53, t, 32);
	assert_int_equal(pl_match_intent_decode(&s, w.p, w.n), -1);
	pl_wr_free(&w);
	/* refusals of the signer */
	char longt[PL_MATCH_LABEL_MAX + 2];
	memset(longt, 't', sizeof longt - 1);
	longt[sizeof longt - 1] = '\0';
	pl_wr_init(&w);
	assert_int_equal(pl_match_intent_sign(&w, ID, B.pk, "", T0, &A), -1);
	assert_int_equal(pl_match_intent_sign(&w, ID, B.pk, "a\nb", T0, &A), -1);
	assert_int_equal(pl_match_intent_sign(&w, ID, B.pk, longt, T0, &A), -1);
	assert_int_equal(pl_match_intent_sign(&w, ID, A.pk, "t", T0, &A), -1);
	assert_int_equal(pl_match_intent_sign(&w, ID, B.pk, "t", 0, &A), -1);
	assert_int_equal(w.n, 0);
	longt[PL_MATCH_LABEL_MAX] = '\0';
	assert_int_equal(pl_match_intent_sign(&w, ID, B.pk, longt, T0, &A), 0);
	assert_int_equal(w.n, PL_MATCH_INTENT_MAX);
	assert_true(PL_MATCH_SEALED_LEN_MAX <= PL_MATCH_SEALED_MAX);
	pl_wr_free(&w);
}

static void test_intent_seal(void **st)
{
	(void)st;
	uint8_t ya[32], yb[32], sh[32], ka[32], kb[32], kc[32];
	randombytes_buf(ya, 32);
	randombytes_buf(yb, 32);
	randombytes_buf(sh, 32);
	pl_match_intent_key(ka, ID, ya, yb, sh);
	pl_match_intent_key(kb, ID, ya, yb, sh);
	assert_memory_equal(ka, kb, 32);
	pl_match_intent_key(kc, ID, yb, ya, sh);
	assert_memory_not_equal(ka, kc, 32);
	sh[0] ^= 1;
	pl_match_intent_key(kc, ID, ya, yb, sh);
	assert_memory_not_equal(ka, kc, 32);
	pl_wr w;
	stmt(&w, &A, B.pk, "prisoner talks");
	uint8_t *c = malloc(w.n + 16), *m = malloc(w.n);
	/* the fuzz seed: sealed under the key and id fuzz_match_intent opens with */
	static const uint8_t fkey[32] = {9}, fid[16] = {0};
	assert_int_equal(pl_match_seal(c, w.p, w.n, fid, fkey), 0);
	seed("fuzz_match_intent", "sealed", c, w.n + 16);
	assert_int_equal(pl_match_seal(c, w.p, w.n, ID, ka), 0);
	/* equal keys open it */
	assert_int_equal(pl_match_open(m, c, w.n + 16, ID, kb), 0);
	assert_memory_equal(m, w.p, w.n);
	/* an unequal key, another id, a flipped byte, a cut: refused */
	assert_int_equal(pl_match_open(m, c, w.n + 16, ID, kc), -1);
	uint8_t id2[16];
	memcpy(id2, ID, 16);
	id2[0] ^= 1;
	assert_int_equal(pl_match_open(m, c, w.n + 16, id2, kb), -1);
	c[5] ^= 1;
	assert_int_equal(pl_match_open(m, c, w.n + 16, ID, kb), -1);
	c[5] ^= 1;
	assert_int_equal(pl_match_open(m, c, w.n + 15, ID, kb), -1);
	assert_int_equal(pl_match_open(m, c, 15, ID, kb), -1);
	/* a "no" side's random bytes of the same length are not a statement */
	randombytes_buf(c, w.n + 16);
	assert_int_equal(pl_match_open(m, c, w.n + 16, ID, kb), -1);
	free(c);
	free(m);
	pl_wr_free(&w);
}

/* --- person identifiers ------------------------------------------------------ */

static void test_person_id(void **st)
{
	(void)st;
	static const char *const good[][2] = {
	    {"irn: k-123 456", "IRN:K123456"},
	    {"IRN:K12345678", "IRN:K12345678"},
	    {"  usa:123456789  ", "USA:123456789"},
	    {"Gbr:1.2/3-4", "GBR:1234"},
	    {"deu:c01x00t47", "DEU:C01X00T47"},
	    {"IRN:12345678901234567890", "IRN:12345678901234567890"},
	    {"IRN:1", "IRN:1"},
	};
	static const char *const bad[] = {
	    "",		"IRN",		 "IRN:",	  "IRN: - . /",
	    "IR:K1",	"IRNN:K1",	 "IR N:K1",	  "I1N:K1",
	    "IRN K1",	"IRN;K1",	 "IRN:K1:2",	  "IRN:K_1",
	    "IRN:K\t1", "IRN:K\xc3\xa9", "\xc3\xa9RN:K1", "IRN:123456789012345678901",
	    " IRN :K1", "IRN:K1\n",
	};
	char out[PL_PERSON_ID_MAX + 1];
	pl_err e;
	for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
		pl_err_clear(&e);
		if (pl_person_id_normalise(out, good[i][0], &e) != 0)
			fail_msg("%s: %s", good[i][0], e.msg);
		assert_string_equal(out, good[i][1]);
		char again[PL_PERSON_ID_MAX + 1];
		assert_int_equal(pl_person_id_normalise(again, out, NULL), 0);
		assert_string_equal(again, out);
	}
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		pl_err_clear(&e);
		if (pl_person_id_normalise(out, bad[i], &e) != -1)
			fail_msg("\"%s\" accepted as %s", bad[i], out);
		assert_int_equal(e.code, PL_EXIT_INPUT);
		assert_non_null(
		    strstr(e.msg, "is not a person identifier (ISS:DOC, e.g. IRN:K12345678)"));
		for (const char *c = e.msg; *c; c++)
			assert_true((unsigned char)*c >= 0x20 && (unsigned char)*c < 0x7f);
		assert_string_equal(out, "");
	}
	/* a very long input is refused without being echoed whole */
	char *lng = malloc(10000);
	memset(lng, 'A', 9999);
	lng[9999] = '\0';
	assert_int_equal(pl_person_id_normalise(out, lng, &e), -1);
	assert_true(strlen(e.msg) < 200);
	free(lng);
}

/* --- packages ---------------------------------------------------------------- */

static const char PKGS[] =
    "{\"packages\": [\n"
    "  {\"we_release\": [\"usa:123456789\"],\n"
    "   \"they_release\": [\"IRN:K12345678\", \"irn:p-7654321\"]},\n"
    "  {\"they_release\": [\"IRN:T1000001\", \"IRN:K12345678\", \"IRN:P7654321\"],\n"
    "   \"we_release\": [\"USA:555000111\", \"USA:123456789\"]}\n"
    "]}\n";

static void test_packages_load_and_elem(void **st)
{
	(void)st;
	pl_match_package *p;
	size_t n;
	pl_err e;
	pl_err_clear(&e);
	seed("fuzz_match_packages", "two", PKGS, sizeof PKGS - 1);
	if (pl_match_packages_load(&p, &n, PKGS, sizeof PKGS - 1, &e) != 0)
		fail_msg("%s", e.msg);
	assert_int_equal(n, 2);
	assert_int_equal(p[0].nwe, 1);
	assert_int_equal(p[0].nthey, 2);
	assert_string_equal(p[0].we[0], "USA:123456789");
	assert_string_equal(p[0].they[1], "IRN:P7654321");
	assert_int_equal(p[1].nwe, 2);
	assert_int_equal(p[1].nthey, 3);
	/* the other side's view: we and they swapped; same element bytes */
	for (size_t i = 0; i < n; i++) {
		pl_match_package o = {p[i].nthey, p[i].nwe, p[i].they, p[i].we};
		pl_wr wa, wb;
		pl_wr_init(&wa);
		pl_wr_init(&wb);
		assert_int_equal(pl_match_package_elem(&wa, &p[i], A.pk, B.pk), 0);
		assert_int_equal(pl_match_package_elem(&wb, &o, B.pk, A.pk), 0);
		assert_int_equal(wa.n, wb.n);
		assert_memory_equal(wa.p, wb.p, wa.n);
		assert_memory_equal(wa.p, "pkg", 3);
		/* but not the same as the same view from the other key */
		pl_wr wc;
		pl_wr_init(&wc);
		assert_int_equal(pl_match_package_elem(&wc, &p[i], B.pk, A.pk), 0);
		assert_true(wc.n != wa.n || memcmp(wc.p, wa.p, wa.n) != 0);
		/* rendered back from each side's view */
		json_t *ja = pl_match_package_elem_json(wa.p, wa.n, A.pk, B.pk);
		json_t *jb = pl_match_package_elem_json(wb.p, wb.n, B.pk, A.pk);
		assert_non_null(ja);
		assert_non_null(jb);
		assert_true(json_equal(json_object_get(ja, "we_release"),
				       json_object_get(jb, "they_release")));
		assert_int_equal(json_array_size(json_object_get(ja, "we_release")), p[i].nwe);
		assert_int_equal(json_array_size(json_object_get(ja, "they_release")), p[i].nthey);
		json_t *jp = pl_match_package_json(&p[i]);
		char *s = json_dumps(jp, JSON_COMPACT);
		assert_non_null(strstr(s, "\"we_release\""));
		free(s);
		json_decref(jp);
		/* a tampered element is not rendered */
		wa.p[wa.n - 1] = 'a';
		assert_null(pl_match_package_elem_json(wa.p, wa.n, A.pk, B.pk));
		assert_null(pl_match_package_elem_json(wa.p, wa.n - 1, A.pk, B.pk));
		json_decref(ja);
		json_decref(jb);
		pl_wr_free(&wa);
		pl_wr_free(&wb);
		pl_wr_free(&wc);
	}
	/* the element of package 1, by hand: ids sorted, low key's first */
	pl_wr w;
	pl_wr_init(&w);
	assert_int_equal(pl_match_package_elem(&w, &p[0], A.pk, B.pk), 0);
	int a_low = memcmp(A.pk, B.pk, 32) < 0;
	const char *want_we = "\x01\x0dUSA:123456789";
	const char *want_they = "\x02\x0dIRN:K12345678\x0cIRN:P7654321";
	uint8_t want[80];
	size_t k = 0;
	memcpy(want, "pkg", 3);
	k = 3;
	const char *first = a_low ? want_we : want_they, *second = a_low ? want_they : want_we;
	size_t fl = a_low ? 15 : 28, sl = a_low ? 28 : 15;
	memcpy(want + k, first, fl);
	k += fl;
	memcpy(want + k, second, sl);
	k += sl;
	assert_int_equal(w.n, k);
	assert_memory_equal(w.p, want, k);
	pl_wr_free(&w);
	pl_match_packages_free(p, n);
}

static void pkg_refused(const char *json, const char *want)
{
	pl_match_package *p = (pl_match_package *)1;
	size_t n = 99;
	pl_err e;
	pl_err_clear(&e);
	assert_int_equal(pl_match_packages_load(&p, &n, json, strlen(json), &e), -1);
	assert_null(p);
	assert_int_equal(n, 0);
	assert_int_equal(e.code, PL_EXIT_INPUT);
	if (strstr(e.msg, want) == NULL)
		fail_msg("expected \"%s\" in \"%s\"", want, e.msg);
	assert_null(strchr(e.msg, '\n'));
}

static void test_packages_rejections(void **st)
{
	(void)st;
	pkg_refused("{\"packages\": [], }", "not valid JSON (line 1");
	pkg_refused("[]", "must be a JSON object");
	pkg_refused("{\"packages\": [], \"extra\": 1}", "unknown key \"extra\" (known: packages)");
	pkg_refused("{\"packages\": []}", "a list of 1 to 1048576 packages");
	pkg_refused("{\"packages\": 3}", "a list of 1 to 1048576 packages");
	pkg_refused("{\"packages\": [1], \"packages\": [1]}", "not valid JSON");
	pkg_refused("{\"packages\": [7]}", "package 1 is not a JSON object");
	pkg_refused("{\"packages\": [{\"we_release\": [\"USA:1\"], \"they_release\": "
		    "[\"IRN:1\"], \"note\": \"x\"}]}",
		    "package 1 has an unknown key \"note\"");
	pkg_refused("{\"packages\": [{\"we_release\": [\"USA:1\"]}]}",
		    "package 1: \"they_release\" must be a list of 1 to 64");
	pkg_refused("{\"packages\": [{\"we_release\": [], \"they_release\": [\"IRN:1\"]}]}",
		    "package 1: \"we_release\" must be a list of 1 to 64");
	pkg_refused("{\"packages\": [{\"we_release\": [\"USA:1\"], \"they_release\": [\"IRN:1\"]},"
		    "{\"we_release\": [\"USA:1\"], \"they_release\": [\"IRN:K1\"]},"
		    "{\"we_release\": [\"USA:1\"], \"they_release\": [\"IRN:K2\", \"IR K1\"]}]}",
		    "package 3: they_release[1] \"IR K1\" is not a person identifier (ISS:DOC, "
		    "e.g. IRN:K12345678)");
	pkg_refused("{\"packages\": [{\"we_release\": [\"USA:1\", 5], \"they_release\": "
		    "[\"IRN:1\"]}]}",
		    "package 1: we_release[1] is not a string");
	pkg_refused("{\"packages\": [{\"we_release\": [\"USA:1\", \"usa: 1\"], \"they_release\": "
		    "[\"IRN:1\"]}]}",
		    "package 1: we_release[1] is USA:1 again (we_release[0])");
	pkg_refused("{\"packages\": [{\"we_release\": [\"USA:1\"], \"they_release\": "
		    "[\"IRN:1\", \"usa:1\"]}]}",
		    "package 1: USA:1 is in both we_release[0] and they_release[1]");
	pkg_refused("{\"packages\": [{\"we_release\": [\"USA:1\", \"USA:2\"], \"they_release\": "
		    "[\"IRN:1\"]}, {\"we_release\": [\"USA:9\"], \"they_release\": [\"IRN:1\"]}, "
		    "{\"we_release\": [\"usa:2\", \"USA:1\"], \"they_release\": [\"irn:1\"]}]}",
		    "package 3 is the same as package 1");
	pkg_refused("{\"packages\": [{\"we_release\": [\"USA:1\"], \"they_release\": "
		    "[\"IRN:\\u0000\"]}]}",
		    "not valid JSON");
	/* too many people on one side */
	char *big = malloc(64 * 20 + 200);
	strcpy(big, "{\"packages\": [{\"we_release\": [\"USA:1\"], \"they_release\": [");
	for (int i = 0; i < 65; i++)
		sprintf(big + strlen(big), "%s\"IRN:%d\"", i ? "," : "", i);
	strcat(big, "]}]}");
	pkg_refused(big, "package 1: \"they_release\" must be a list of 1 to 64");
	/* 64 is fine */
	char *c = strstr(big, ",\"IRN:64\"");
	strcpy(c, "]}]}");
	pl_match_package *p;
	size_t n;
	pl_err e;
	pl_err_clear(&e);
	if (pl_match_packages_load(&p, &n, big, strlen(big), &e) != 0)
		fail_msg("%s", e.msg);
	assert_int_equal(p[0].nthey, 64);
	pl_match_packages_free(p, n);
	free(big);
	/* packages built by hand that the loader refuses are not encoded */
	char we[2][PL_PERSON_ID_MAX + 1] = {"USA:1", "USA:1"},
				      they[1][PL_PERSON_ID_MAX + 1] = {"irn:1"};
	pl_match_package bad = {2, 1, we, they};
	pl_wr w;
	pl_wr_init(&w);
	assert_int_equal(pl_match_package_elem(&w, &bad, A.pk, B.pk), -1); /* twice, lower */
	bad.nwe = 1;
	assert_int_equal(pl_match_package_elem(&w, &bad, A.pk, B.pk), -1); /* not normalised */
	strcpy(they[0], "USA:1");
	assert_int_equal(pl_match_package_elem(&w, &bad, A.pk, B.pk), -1); /* both sides */
	strcpy(they[0], "IRN:1");
	assert_int_equal(pl_match_package_elem(&w, &bad, A.pk, A.pk), -1); /* no peer */
	assert_int_equal(w.n, 0);
	assert_int_equal(pl_match_package_elem(&w, &bad, A.pk, B.pk), 0);
	pl_wr_free(&w);
}

/* --- the exported proof of mutual intent ------------------------------------------ */

static uint8_t *dumpj(json_t *j, size_t *n)
{
	char *s = pl_export_dumps(j, n);
	assert_non_null(s);
	json_decref(j);
	return (uint8_t *)s;
}

static uint8_t *intent_file(const pl_wr *a, const pl_wr *b, size_t *n)
{
	json_t *j;
	pl_err e;
	pl_err_clear(&e);
	if (pl_intent_export_json(&j, a->p, a->n, b->p, b->n, &e) != 0)
		fail_msg("%s", e.msg);
	return dumpj(j, n);
}

static void intent_refused(const uint8_t *f, size_t n, const char *want)
{
	pl_err e;
	pl_err_clear(&e);
	assert_int_equal(pl_intent_verify(NULL, f, n, &e), -1);
	if (want && strstr(e.msg, want) == NULL)
		fail_msg("expected \"%s\" in \"%s\"", want, e.msg);
	json_t *js = (json_t *)1;
	assert_int_equal(pl_verify_bytes(f, n, NULL, 0, NULL, NULL, &js), -1);
	assert_null(js);
}

static void test_intent_export(void **st)
{
	(void)st;
	pl_wr sa, sb, sc, sd;
	stmt(&sa, &A, B.pk, "prisoner talks");
	stmt(&sb, &B, A.pk, "prisoner talks");
	size_t n, n2;
	uint8_t *f = intent_file(&sa, &sb, &n), *f2 = intent_file(&sb, &sa, &n2);
	seed("fuzz_match_intent", "file.json", f, n);
	seed("fuzz_verify", "intent", f, n);
	/* both sides' exports are the same file */
	assert_int_equal(n, n2);
	assert_memory_equal(f, f2, n);
	pl_intent_summary s;
	pl_err e;
	pl_err_clear(&e);
	if (pl_intent_verify(&s, f, n, &e) != 0)
		fail_msg("%s", e.msg);
	assert_string_equal(s.stmt[0].topic, "prisoner talks");
	assert_true(memcmp(s.stmt[0].signer, s.stmt[1].signer, 32) < 0);
	/* through the dispatcher, written to a file */
	char dir[64], path[256];
	pl_test_tmpdir(dir, sizeof dir, "test-match-format");
	snprintf(path, sizeof path, "%s/intent.json", dir);
	assert_int_equal(pl_intent_export_write(path, sa.p, sa.n, sb.p, sb.n, &e), 0);
	char *text = NULL;
	size_t tl = 0;
	FILE *out = open_memstream(&text, &tl);
	json_t *js = NULL;
	if (pl_verify_file(path, NULL, 0, &e, out, &js) != 0)
		fail_msg("%s", e.msg);
	fclose(out);
	char fa[PL_FINGERPRINT_LEN], fb[PL_FINGERPRINT_LEN], line[300], hex[33];
	pl_fingerprint(fa, A.pk);
	pl_fingerprint(fb, B.pk);
	for (int i = 0; i < 16; i++)
		sprintf(hex + 2 * i, "%02x", ID[i]);
	int a_low = memcmp(A.pk, B.pk, 32) < 0;
	snprintf(line, sizeof line,
		 "mutual intent: %.11s and %.11s both committed to talk about \"prisoner talks\" "
		 "(match %s)\n",
		 a_low ? fa : fb, a_low ? fb : fa, hex);
	assert_memory_equal(text, line, strlen(line));
	assert_non_null(strstr(text, fa));
	assert_non_null(strstr(text, fb));
	assert_non_null(strstr(text, "not who holds them"));
	assert_string_equal(json_string_value(json_object_get(js, "format")), "parley-intent");
	assert_string_equal(json_string_value(json_object_get(js, "match")), hex);
	assert_int_equal(json_array_size(json_object_get(js, "parties")), 2);
	json_decref(js);
	free(text);
	/* --expect-key: both signers accepted, a stranger not */
	pl_verify_opts o = {(const uint8_t(*)[32])A.pk, 1, NULL};
	assert_int_equal(pl_verify_bytes_ex(f, n, &o, &e, NULL, NULL), 0);
	o.expect = (const uint8_t(*)[32])C.pk;
	assert_int_equal(pl_verify_bytes_ex(f, n, &o, &e, NULL, NULL), -1);
	assert_int_equal(e.code, PL_EXIT_SECURITY);
	o.expect = (const uint8_t(*)[32])B.pk;
	o.relay_key = "x";
	assert_int_equal(pl_verify_bytes_ex(f, n, &o, &e, NULL, NULL), -1);
	assert_int_equal(e.code, PL_EXIT_USAGE);
	/* every byte of the file flipped: refused */
	for (size_t i = 0; i < n; i++) {
		f[i] ^= 0x01;
		assert_int_equal(pl_intent_verify(NULL, f, n, NULL), -1);
		f[i] ^= 0x01;
	}
	pl_wr_free(&sb);
	free(f2);
	/* statements that do not pair are neither written nor verified */
	stmt(&sc, &C, A.pk, "prisoner talks"); /* a third party */
	pl_err_clear(&e);
	json_t *j;
	assert_int_equal(pl_intent_export_json(&j, sa.p, sa.n, sc.p, sc.n, &e), -1);
	assert_non_null(strstr(e.msg, "do not name each other's signer"));
	stmt(&sd, &B, A.pk, "other topic");
	assert_int_equal(pl_intent_export_json(&j, sa.p, sa.n, sd.p, sd.n, &e), -1);
	assert_non_null(strstr(e.msg, "different matches or topics"));
	assert_int_equal(pl_intent_export_json(&j, sa.p, sa.n, sa.p, sa.n, &e), -1);
	pl_wr_free(&sd);
	uint8_t id2[16];
	memcpy(id2, ID, 16);
	id2[3] ^= 1;
	pl_wr_init(&sd);
	assert_int_equal(pl_match_intent_sign(&sd, id2, A.pk, "prisoner talks", T0, &B), 0);
	assert_int_equal(pl_intent_export_json(&j, sa.p, sa.n, sd.p, sd.n, &e), -1);
	/* a file with one statement swapped for another's, or altered and
	 * re-encoded in canonical base64 */
	json_t *root = json_loadb((const char *)f, n, 0, NULL);
	json_t *arr = json_object_get(root, "statements");
	const pl_wr *subs[] = {&sc, &sd, &sa};
	for (size_t k = 0; k < 3; k++) {
		json_t *r2 = json_deep_copy(root);
		json_t *a2 = json_object_get(r2, "statements");
		int slot = subs[k] == &sa ? (a_low ? 1 : 0) : (a_low ? 1 : 0);
		json_array_set_new(a2, (size_t)slot, pl_json_b64(subs[k]->p, subs[k]->n));
		size_t bn;
		uint8_t *bf = dumpj(r2, &bn);
		intent_refused(bf, bn, "not a valid proof of mutual intent");
		free(bf);
	}
	/* the two in the wrong order */
	{
		json_t *r2 = json_deep_copy(root);
		json_t *a2 = json_object_get(r2, "statements");
		json_t *x = json_incref(json_array_get(a2, 0));
		json_array_remove(a2, 0);
		json_array_append_new(a2, x);
		size_t bn;
		uint8_t *bf = dumpj(r2, &bn);
		intent_refused(bf, bn, "out of order");
		free(bf);
	}
	/* altered: a statement with a byte changed (signature broken) */
	{
		json_t *r2 = json_deep_copy(root);
		json_t *a2 = json_object_get(r2, "statements");
		pl_wr alt;
		stmt(&alt, &A, B.pk, "prisoner talks");
		alt.p[alt.n - 70] ^= 1; /* in created */
		json_array_set_new(a2, a_low ? 0 : 1, pl_json_b64(alt.p, alt.n));
		size_t bn;
		uint8_t *bf = dumpj(r2, &bn);
		intent_refused(bf, bn, "signature does not verify");
		free(bf);
		pl_wr_free(&alt);
	}
	/* the readable fields must say what the statements say */
	{
		json_t *r2 = json_deep_copy(root);
		json_object_set_new(r2, "topic", json_string("other"));
		size_t bn;
		uint8_t *bf = dumpj(r2, &bn);
		intent_refused(bf, bn, "\"topic\" is not what the statements say");
		free(bf);
		r2 = json_deep_copy(root);
		json_object_set_new(r2, "extra", json_true());
		bf = dumpj(r2, &bn);
		intent_refused(bf, bn, NULL);
		free(bf);
		r2 = json_deep_copy(root);
		json_array_remove(json_object_get(r2, "statements"), 1);
		bf = dumpj(r2, &bn);
		intent_refused(bf, bn, "not a list of two");
		free(bf);
		r2 = json_deep_copy(root);
		json_object_set_new(r2, "version", json_integer(2));
		bf = dumpj(r2, &bn);
		intent_refused(bf, bn, NULL);
		free(bf);
	}
	/* not canonical: spaces changed */
	{
		uint8_t *bf = malloc(n + 1);
		memcpy(bf, f, n);
		bf[n] = '\n';
		intent_refused(bf, n + 1, "byte for byte");
		free(bf);
	}
	(void)arr;
	json_decref(root);
	pl_test_rm_rf(dir);
	free(f);
	pl_wr_free(&sa);
	pl_wr_free(&sc);
	pl_wr_free(&sd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_commit_round_trip_and_flips),
	    cmocka_unit_test(test_commit_encode_refusals),
	    cmocka_unit_test(test_chunk_round_trips),
	    cmocka_unit_test(test_chunk_rejections),
	    cmocka_unit_test(test_id_ctx_commit),
	    cmocka_unit_test(test_intent_statement),
	    cmocka_unit_test(test_intent_seal),
	    cmocka_unit_test(test_person_id),
	    cmocka_unit_test(test_packages_load_and_elem),
	    cmocka_unit_test(test_packages_rejections),
	    cmocka_unit_test(test_intent_export),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
