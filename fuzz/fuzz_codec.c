/* fuzz_codec.c — the text decoders of src/util/codec.h (hex keys typed by
 * people, base64, RFC 3339 times): no crash, and what decodes re-encodes to
 * the same text. */
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "util/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 4096)
		return 0;
	char *s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	uint8_t key[32];
	if (pl_hex_decode(key, sizeof key, s) == 0) {
		char back[65];
		pl_hex_encode(back, key, sizeof key);
		if (strcasecmp(back, s) != 0)
			abort();
	}
	uint8_t bin[4096];
	size_t n;
	if (pl_b64_decode(bin, sizeof bin, &n, s, strlen(s)) == 0) {
		char *back = malloc(pl_b64_len(n));
		pl_b64_encode(back, bin, n);
		if (strcmp(back, s) != 0)
			abort();
		free(back);
	}
	uint64_t t;
	if (pl_time_parse_rfc3339(&t, s) == 0) {
		char back[PL_RFC3339_LEN];
		pl_time_rfc3339(back, t);
		if (strcmp(back, s) != 0)
			abort();
	}
	free(s);
	return 0;
}
