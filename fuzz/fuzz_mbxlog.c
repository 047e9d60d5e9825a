/*
 * fuzz_mbxlog.c — libFuzzer target for the strict decoder of one
 * mailbox's log entries, GET /log/mailbox (pl_proto_mbxlog_decode in
 * src/relay/proto.c).
 *
 * Input: u8 kind selector (0..3; 3 is not a kind) ‖ start u64 ‖ size u64 ‖
 * body. The asked mailbox is 32 zero bytes, so that leaves naming it are
 * easy to reach.
 *
 * Must never crash or leak, and aborts if an accepted body breaks what the
 * decoder promises: count <= 256, indices strictly increasing in
 * [start, size), every leaf valid, of the asked mailbox and kind, every
 * proof <= 64 hashes, and the body re-encoding to exactly the input.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "log/leaf.h"
#include "relay/proto.h"
#include "util/wire.h"

static uint64_t get64(const uint8_t *p)
{
	uint64_t v = 0;
	for (int i = 0; i < 8; i++)
		v = v << 8 | p[i];
	return v;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static pl_proto_mbxlog m;
	static const uint8_t mbx[32];
	const uint8_t *body;
	uint64_t start, tsize;
	size_t n;
	int kind, want;
	pl_wr w;

	if (size < 17)
		return 0;
	kind = data[0] % 4;
	start = get64(data + 1);
	tsize = get64(data + 9);
	body = data + 17;
	n = size - 17;
	if (pl_proto_mbxlog_decode(&m, body, n, mbx, start, tsize, kind) != 0) {
		if (m.count != 0)
			abort(); /* output left zeroed on failure */
		return 0;
	}
	want = pl_proto_mbxlog_kind_type(kind);
	if (m.count > PL_PROTO_MBXLOG_MAX || want < 0)
		abort();
	pl_wr_init(&w);
	pl_proto_mbxlog_encode_begin(&w, m.count);
	for (uint32_t i = 0; i < m.count; i++) {
		pl_leaf l;
		const pl_proto_mbxlog_item *it = &m.item[i];
		if (it->index < start || it->index >= tsize ||
		    (i > 0 && it->index <= m.item[i - 1].index) ||
		    it->prooflen > PL_PROTO_MBXLOG_PROOF_MAX ||
		    pl_leaf_decode(&l, it->leaf, it->leaflen) != 0 || memcmp(l.mbx, mbx, 32) != 0 ||
		    l.type != it->type || (want != 0 && l.type != want))
			abort();
		pl_proto_mbxlog_encode_item(&w, it->index, it->leaf, it->leaflen, it->proof,
					    it->prooflen);
	}
	if (pl_wr_ok(&w) != 0 || w.n != n || memcmp(w.p, body, n) != 0)
		abort();
	pl_wr_free(&w);
	return 0;
}
