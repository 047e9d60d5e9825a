/* test_wire.c — the strict reader and writer, text codecs and the
 * session-message decoder: what they accept and, above all, what they refuse. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "session/message.h"
#include "session/ratchet.h"
#include "util/codec.h"
#include "util/wire.h"

static void test_reader_sticky_and_trailing(void **st)
{
	(void)st;
	const uint8_t b[] = {1, 0, 0, 0, 2, 0xaa, 0xbb, 0xcc};
	pl_rd r;
	pl_rd_init(&r, b, sizeof b);
	assert_int_equal(pl_rd_u8(&r), 1);
	size_t len;
	const uint8_t *p = pl_rd_var(&r, 10, &len);
	assert_non_null(p);
	assert_int_equal(len, 2);
	assert_int_equal(p[0], 0xaa);
	assert_int_equal(pl_rd_done(&r), -1); /* one trailing byte */
	assert_int_equal(pl_rd_u8(&r), 0xcc);
	assert_int_equal(pl_rd_done(&r), 0);
	assert_int_equal(pl_rd_u32(&r), 0); /* past the end */
	assert_int_equal(pl_rd_done(&r), -1);
	assert_int_equal(pl_rd_u8(&r), 0); /* sticky */
}

static void test_reader_var_limits(void **st)
{
	(void)st;
	const uint8_t b[] = {0, 0, 0, 5, 1, 2, 3};
	pl_rd r;
	size_t len = 99;
	pl_rd_init(&r, b, sizeof b);
	assert_null(pl_rd_var(&r, 100, &len)); /* claims 5, has 3 */
	assert_int_equal(len, 0);
	pl_rd_init(&r, b, sizeof b);
	assert_null(pl_rd_var(&r, 4, &len)); /* over the maximum */
	assert_int_equal(pl_rd_done(&r), -1);
}

static void test_writer_roundtrip(void **st)
{
	(void)st;
	pl_wr w;
	pl_wr_init(&w);
	for (int i = 0; i < 1000; i++)
		pl_wr_u64(&w, (uint64_t)i * 0x0102030405060708ULL);
	assert_int_equal(pl_wr_ok(&w), 0);
	assert_int_equal(w.n, 8000);
	pl_rd r;
	pl_rd_init(&r, w.p, w.n);
	for (int i = 0; i < 1000; i++)
		assert_true(pl_rd_u64(&r) == (uint64_t)i * 0x0102030405060708ULL);
	assert_int_equal(pl_rd_done(&r), 0);
	pl_wr_free(&w);
	assert_null(w.p);
}

static void test_hex_strict(void **st)
{
	(void)st;
	uint8_t k[4];
	assert_int_equal(pl_hex_decode(k, 4, "0a0B0c0d"), 0);
	assert_int_equal(k[1], 0x0b);
	assert_int_equal(pl_hex_decode(k, 4, "0a0b0c"), -1);
	assert_int_equal(pl_hex_decode(k, 4, "0a0b0c0d0e"), -1);
	assert_int_equal(pl_hex_decode(k, 4, "0a0b0c0g"), -1);
	assert_int_equal(pl_hex_decode(k, 4, " a0b0c0d"), -1);
	assert_int_equal(pl_hex_decode(k, 4, "0a:b0c0d"), -1);
	assert_int_equal(pl_hex_decode(k, 4, NULL), -1);
}

static void test_b64_strict(void **st)
{
	(void)st;
	uint8_t out[16];
	size_t n;
	assert_int_equal(pl_b64_decode(out, sizeof out, &n, "aGVsbG8=", 8), 0);
	assert_int_equal(n, 5);
	assert_memory_equal(out, "hello", 5);
	assert_int_equal(pl_b64_decode(out, sizeof out, &n, "aGVsbG8", 7), -1);
	assert_int_equal(pl_b64_decode(out, sizeof out, &n, "aGVs bG8=", 9), -1);
	assert_int_equal(pl_b64_decode(out, sizeof out, &n, "aGVsbG8=x", 9), -1);
	assert_int_equal(pl_b64_decode(out, 2, &n, "aGVsbG8=", 8), -1);
	/* bytes >= 0x80 are not base64 (libsodium 1.0.18 would skip them) */
	assert_int_equal(pl_b64_decode(out, sizeof out, &n,
				       "aGVs\xc3\xa9"
				       "bG8=",
				       10),
			 -1);
	assert_int_equal(pl_b64_decode(out, sizeof out, &n, "aGVsbG8\x80=", 9), -1);
}

static void test_time(void **st)
{
	(void)st;
	char s[PL_RFC3339_LEN];
	pl_time_rfc3339(s, 1764299623);
	assert_string_equal(s, "2025-11-28T03:13:43Z");
	uint64_t t;
	assert_int_equal(pl_time_parse_rfc3339(&t, s), 0);
	assert_true(t == 1764299623);
	assert_int_equal(pl_time_parse_rfc3339(&t, "2025-11-28T03:13:43"), -1);
	assert_int_equal(pl_time_parse_rfc3339(&t, "2025-11-28 03:13:43Z"), -1);
	assert_int_equal(pl_time_parse_rfc3339(&t, "2025-11-28T03:13:43+01"), -1);
}

static void make_smsg(pl_wr *w, int type, size_t rlen)
{
	uint8_t ratchet[200];
	memset(ratchet, 7, sizeof ratchet);
	pl_smsg m;
	memset(&m, 0, sizeof m);
	m.type = (uint8_t)type;
	memset(m.ik, 1, sizeof m.ik);
	memset(m.ek, 2, sizeof m.ek);
	m.spk_id = 1;
	m.opk_id = 3;
	m.ratchet = ratchet;
	m.ratchetlen = rlen;
	pl_wr_init(w);
	pl_smsg_encode(w, &m);
}

static void test_smsg(void **st)
{
	(void)st;
	pl_wr w;
	pl_smsg m;
	for (int type = PL_SMSG_PREKEY; type <= PL_SMSG_NORMAL; type++) {
		make_smsg(&w, type, 100);
		assert_int_equal(pl_smsg_decode(&m, w.p, w.n), 0);
		assert_int_equal(m.type, type);
		assert_int_equal(m.ratchetlen, 100);
		if (type == PL_SMSG_PREKEY) {
			assert_int_equal(m.opk_id, 3);
			assert_int_equal(m.ek[0], 2);
		}
		for (size_t cut = 0; cut < w.n; cut++)
			assert_int_equal(pl_smsg_decode(&m, w.p, cut), -1);
		uint8_t *longer = malloc(w.n + 1);
		memcpy(longer, w.p, w.n);
		longer[w.n] = 0;
		assert_int_equal(pl_smsg_decode(&m, longer, w.n + 1), -1);
		longer[0] = 2; /* version */
		assert_int_equal(pl_smsg_decode(&m, longer, w.n), -1);
		longer[0] = 1;
		longer[1] = 3; /* type */
		assert_int_equal(pl_smsg_decode(&m, longer, w.n), -1);
		free(longer);
		pl_wr_free(&w);
	}
	make_smsg(&w, PL_SMSG_NORMAL, PL_RATCHET_OVERHEAD - 1); /* too short to be a message */
	assert_int_equal(pl_smsg_decode(&m, w.p, w.n), -1);
	pl_wr_free(&w);
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_reader_sticky_and_trailing),
	    cmocka_unit_test(test_reader_var_limits),
	    cmocka_unit_test(test_writer_roundtrip),
	    cmocka_unit_test(test_hex_strict),
	    cmocka_unit_test(test_b64_strict),
	    cmocka_unit_test(test_time),
	    cmocka_unit_test(test_smsg),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
