/*
 * fuzz_custody.c — libFuzzer target for the proximity-talks decoders
 * (src/negotiation/custody.c). The first byte picks the format, the rest is
 * the input:
 *   0  carry (pl_carry_decode): accepted input re-encodes to itself;
 *   1  forwarded body (pl_custody_decode): accepted input re-encodes, as
 *      var(record) ‖ var(inner), to itself;
 *   2  custody record (pl_custody_record_decode): re-encodes to itself;
 *   3  notice (pl_custody_notice_decode): decodes the same way twice.
 * Seeds in fuzz/corpus/custody are valid inputs of each (signed by fixed
 * keys). Must never crash, leak or read out of bounds.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "negotiation/custody.h"

static pl_custody c, c2;
static pl_custody_notice x, x2;
static pl_obj o;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (sodium_init() < 0)
		abort();
	return 0;
}

static void same(const pl_wr *w, const uint8_t *p, size_t n)
{
	if (pl_wr_ok(w) != 0 || w->n != n || memcmp(w->p, p, n) != 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	pl_wr w;
	pl_wr_init(&w);
	switch (data[0] & 3) {
	case 0: {
		pl_carry k;
		if (pl_carry_decode(&k, p, n, NULL) == 0) {
			if (pl_carry_encode(&w, &k, NULL) != 0)
				abort();
			same(&w, p, n);
		}
		break;
	}
	case 1: {
		const uint8_t *inner;
		size_t il;
		if (pl_custody_decode(&c, &o, &inner, &il, p, n, NULL) == 0) {
			pl_wr rec;
			pl_wr_init(&rec);
			if (pl_custody_record_encode(&rec, &c, NULL) != 0)
				abort();
			pl_wr_var(&w, rec.p, rec.n);
			pl_wr_var(&w, inner, il);
			pl_wr_free(&rec);
			same(&w, p, n);
		}
		break;
	}
	case 2:
		if (pl_custody_record_decode(&c, p, n, NULL) == 0) {
			if (pl_custody_record_encode(&w, &c, NULL) != 0)
				abort();
			same(&w, p, n);
			if (pl_custody_record_decode(&c2, w.p, w.n, NULL) != 0 ||
			    memcmp(&c, &c2, sizeof c) != 0)
				abort();
		}
		break;
	default:
		if (pl_custody_notice_decode(&x, p, n, NULL) == 0 &&
		    (pl_custody_notice_decode(&x2, p, n, NULL) != 0 ||
		     memcmp(&x, &x2, sizeof x) != 0))
			abort();
		break;
	}
	pl_wr_free(&w);
	return 0;
}
