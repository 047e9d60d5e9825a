/*
 * fuzz_revocation.c — libFuzzer target for pl_revocation_decode, the
 * strict decoder of a revocation statement (a file handed over by hand, or
 * the body of a PL_KIND_REVOKE payload a contact sends). Must never crash
 * or read out of bounds; whatever it accepts is exactly PL_REVOCATION_LEN
 * bytes that a signer with the key it names could have made.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "identity/revocation.h"
#include "util/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pl_revocation r;
	if (pl_revocation_decode(&r, data, size) != 0)
		return 0;
	uint8_t t[8];
	pl_be64_put(t, r.time);
	if (size != PL_REVOCATION_LEN || r.time == 0 ||
	    memcmp(data, PL_REVOCATION_LABEL, PL_REVOCATION_LABEL_LEN) != 0 ||
	    memcmp(data + PL_REVOCATION_LABEL_LEN, r.ik, PL_IK_LEN) != 0 ||
	    memcmp(data + PL_REVOCATION_LABEL_LEN + PL_IK_LEN, t, 8) != 0 ||
	    memcmp(data + PL_REVOCATION_LEN - PL_SIG_LEN, r.sig, PL_SIG_LEN) != 0)
		abort();
	return 0;
}
