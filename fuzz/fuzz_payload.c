/*
 * fuzz_payload.c — libFuzzer target for pl_payload_decode, the strict
 * decoder of what travels inside a session. Must never crash or read out of
 * bounds, and whatever it accepts must re-encode to exactly the input bytes
 * (one encoding per payload).
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "envelope/envelope.h"
#include "util/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pl_payload p;

	if (pl_payload_decode(&p, data, size) != 0)
		return 0;
	if (p.bodylen > PL_PAYLOAD_MAX_BODY ||
	    (p.bodylen && (p.body < data || p.body + p.bodylen > data + size)))
		abort();
	pl_wr w;
	pl_wr_init(&w);
	pl_payload_encode(&w, &p);
	if (pl_wr_ok(&w) != 0 || w.n != size || memcmp(w.p, data, size) != 0)
		abort();
	pl_wr_free(&w);
	return 0;
}
