/*
 * fuzz_agreed.c — libFuzzer target for the agreement bundle a mediator
 * receives (payload kind 13, src/negotiation/agreed.c): the strict framing
 * of var(proposal) ‖ var(acceptance), then both signed objects and how they
 * bind. Whatever it accepts must split into two parts that re-encode to
 * exactly the input and bind (the acceptance names the proposal's hash).
 *
 * Must never crash, leak or read out of bounds.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "negotiation/agreed.h"

static pl_obj P, A;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (sodium_init() < 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *pb, *ab;
	size_t pn, an;
	uint8_t ph[PL_OBJ_HASH_LEN], ah[PL_OBJ_HASH_LEN];
	if (pl_agreed_split(data, size, &pb, &pn, &ab, &an) == 0) {
		pl_wr w;
		pl_wr_init(&w);
		pl_agreed_encode(&w, pb, pn, ab, an);
		if (pl_wr_ok(&w) != 0 || w.n != size || memcmp(w.p, data, size) != 0)
			abort();
		pl_wr_free(&w);
	}
	if (pl_agreed_decode(&P, &A, ph, ah, data, size, NULL) != 0)
		return 0;
	if (P.type != PL_OBJ_PROPOSAL || A.type != PL_OBJ_RESPONSE ||
	    memcmp(A.u.response.target_hash, ph, PL_OBJ_HASH_LEN) != 0 ||
	    memcmp(A.author_ik, P.recipient_ik, PL_IK_LEN) != 0)
		abort();
	return 0;
}
