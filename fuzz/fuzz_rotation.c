/*
 * fuzz_rotation.c — libFuzzer target for pl_rotation_decode, the strict
 * decoder of a key rotation statement (the body of a PL_KIND_ROTATE
 * payload a contact sends). Must never crash or read out of bounds;
 * whatever it accepts is exactly PL_ROTATION_LEN bytes naming two
 * different keys, each of which signed its part.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "identity/rotation.h"
#include "util/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pl_rotation r;
	if (pl_rotation_decode(&r, data, size) != 0)
		return 0;
	uint8_t t[PL_ROTATION_TIME_LEN];
	pl_be64_put(t, r.time);
	if (size != PL_ROTATION_LEN || r.time == 0 || memcmp(r.old_ik, r.new_ik, PL_IK_LEN) == 0 ||
	    memcmp(data, PL_ROTATION_LABEL, PL_ROTATION_LABEL_LEN) != 0 ||
	    memcmp(data + PL_ROTATION_OFF_OLD, r.old_ik, PL_IK_LEN) != 0 ||
	    memcmp(data + PL_ROTATION_OFF_NEW, r.new_ik, PL_IK_LEN) != 0 ||
	    memcmp(data + PL_ROTATION_OFF_TIME, t, sizeof t) != 0 ||
	    memcmp(data + PL_ROTATION_OFF_SIG_OLD, r.sig_old, PL_SIG_LEN) != 0 ||
	    memcmp(data + PL_ROTATION_OFF_SIG_NEW, r.sig_new, PL_SIG_LEN) != 0)
		abort();
	return 0;
}
