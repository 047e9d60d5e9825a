/*
 * fuzz_introduction.c — libFuzzer target for pl_introduction_decode, the
 * strict decoder of an introduction statement (the body of a
 * PL_KIND_INTRODUCE payload a mediator sends). Must never crash or read
 * out of bounds; whatever it accepts is within the bounds, names three
 * different keys, and encodes back to exactly the bytes it came from.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "identity/introduction.h"
#include "util/wire.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pl_introduction s;
	if (pl_introduction_decode(&s, data, size) != 0)
		return 0;
	size_t nl = strlen(s.name), ul = strlen(s.url);
	if (size < PL_INTRO_MIN_LEN || size > PL_INTRO_MAX_LEN || s.time == 0 || nl == 0 ||
	    nl > PL_INTRO_NAME_MAX || ul == 0 || ul > PL_INTRO_URL_MAX ||
	    size != PL_INTRO_FIXED_LEN + nl + ul ||
	    memcmp(s.introducer_ik, s.recipient_ik, PL_IK_LEN) == 0 ||
	    memcmp(s.introducer_ik, s.introduced_ik, PL_IK_LEN) == 0 ||
	    memcmp(s.recipient_ik, s.introduced_ik, PL_IK_LEN) == 0 ||
	    memcmp(data, PL_INTRO_LABEL, PL_INTRO_LABEL_LEN) != 0 ||
	    memcmp(data + size - PL_SIG_LEN, s.sig, PL_SIG_LEN) != 0)
		abort();
	return 0;
}
