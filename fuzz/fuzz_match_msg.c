/*
 * fuzz_match_msg.c — libFuzzer target for the messages of blind matching
 * (src/negotiation/match.c, pl_match_msg_decode). Whatever the decoder
 * accepts must re-encode to exactly the input: a chunk through
 * pl_match_chunk_encode_part, a COMMIT signed by the fixed key of the
 * seeds (fuzz/corpus/fuzz_match_msg, written by test_match_format with
 * PARLEY_SEED_DIR) through pl_match_commit_encode (Ed25519 is
 * deterministic), a COMMIT of another signer re-signed by the fixed key
 * and decoded again (encode refuses nothing decode accepts).
 *
 * Must never crash, leak or read out of bounds.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "negotiation/match.h"

static pl_identity fixed, other;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const uint8_t s1[32] = {42}, s2[32] = {43};
	(void)argc;
	(void)argv;
	if (sodium_init() < 0 || crypto_sign_seed_keypair(fixed.pk, fixed.sk, s1) != 0 ||
	    crypto_sign_seed_keypair(other.pk, other.sk, s2) != 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pl_match_msg m, d;
	if (pl_match_msg_decode(&m, data, size) != 0)
		return 0;
	pl_wr w;
	pl_wr_init(&w);
	if (m.step == PL_MATCH_COMMIT) {
		const pl_identity *me = &fixed;
		const uint8_t *peer = m.peer;
		int same = memcmp(m.signer, fixed.pk, 32) == 0;
		if (!same && memcmp(m.peer, fixed.pk, 32) == 0)
			peer = other.pk;
		if (pl_match_commit_encode(&w, m.id, m.kind, m.max, m.size, m.commit, m.label,
					   m.created, peer, me) != 0 ||
		    pl_match_msg_decode(&d, w.p, w.n) != 0 || d.kind != m.kind || d.max != m.max ||
		    d.size != m.size || strcmp(d.label, m.label) != 0)
			abort();
		if (same && memcmp(peer, m.peer, 32) == 0 &&
		    (w.n != size || memcmp(w.p, data, size)))
			abort();
	} else {
		if (pl_match_chunk_encode_part(&w, m.step, m.id, m.part, m.total, m.elems, m.sealed,
					       m.sealedlen) != 0 ||
		    w.n != size || memcmp(w.p, data, size) != 0)
			abort();
		if (m.count != pl_match_part_count(m.part, m.total) || m.part >= m.parts)
			abort();
	}
	pl_wr_free(&w);
	return 0;
}
