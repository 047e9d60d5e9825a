/* fuzz_smsg.c — the session-message decoder on arbitrary bytes; a decoded
 * message must re-encode to exactly the input (the format is canonical). */
#include <stdlib.h>
#include <string.h>

#include "session/message.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pl_smsg m;
	if (pl_smsg_decode(&m, data, size) != 0)
		return 0;
	pl_wr w;
	pl_wr_init(&w);
	pl_smsg_encode(&w, &m);
	if (pl_wr_ok(&w) != 0 || w.n != size || memcmp(w.p, data, size) != 0)
		abort();
	pl_wr_free(&w);
	return 0;
}
