/*
 * fuzz_move_notice.c — libFuzzer target for pl_move_notice_decode, the
 * strict decoder of a relay notice (the body of a PL_KIND_RELAY payload a
 * contact sends). Must never crash or read out of bounds; whatever it
 * accepts must lay out again as exactly the input bytes (one encoding per
 * notice), and checking its signature must not crash either.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "client/move.h"
#include "util/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pl_move_notice n;

	if (pl_move_notice_decode(&n, data, size) != 0)
		return 0;
	size_t urllen = strnlen(n.url, sizeof n.url);
	if (urllen == 0 || urllen > PL_URL_MAX || n.calen > PL_MOVE_CA_MAX ||
	    (n.calen && (n.ca < data || n.ca + n.calen > data + size)) ||
	    (n.calen == 0 && n.ca != NULL))
		abort();
	pl_wr w;
	pl_wr_init(&w);
	pl_wr_u8(&w, PL_MOVE_VERSION);
	pl_wr_u64(&w, n.time);
	pl_wr_bytes(&w, n.relay_key, 32);
	pl_wr_var(&w, (const uint8_t *)n.url, urllen);
	pl_wr_var(&w, n.ca, n.calen);
	pl_wr_bytes(&w, n.sig, sizeof n.sig);
	if (pl_wr_ok(&w) != 0 || w.n != size || memcmp(w.p, data, size) != 0)
		abort();
	pl_wr_free(&w);
	(void)pl_move_notice_verify(&n, n.relay_key);
	return 0;
}
