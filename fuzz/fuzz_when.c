/* fuzz_when.c — the two decoders of what a negotiator types for a move:
 * pl_cli_parse_when (an absolute --expires time) and
 * pl_cli_id_prefix_matches (a shortened item id). No crash, no read past
 * the text; an accepted time is later than now and round-trips through
 * RFC 3339 when it was given in that form; a refusal says why in one line;
 * a prefix is accepted only as 4 to 16 hex digits and matches the id it
 * was cut from. */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "cli/cli.h"
#include "util/codec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 256)
		return 0;
	char *s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	const uint64_t now = 1764979200;
	uint64_t t = 0;
	char why[400] = "";
	int r = pl_cli_parse_when(s, now, &t, why, sizeof why);
	if (r == 0 && t <= now)
		abort();
	if (r != 0 && (why[0] == '\0' || strchr(why, '\n') != NULL))
		abort();
	if (r == 0 && strlen(s) == 20 && s[19] == 'Z' && s[10] == 'T') {
		char back[PL_RFC3339_LEN];
		pl_time_rfc3339(back, t);
		if (strcmp(back, s) != 0 && strstr(s, ":60Z") == NULL)
			abort();
	}
	static const uint8_t ids[2][8] = {{0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0},
					  {0x12, 0x34, 0xff, 0x00, 0x00, 0x00, 0x00, 0x01}};
	size_t idx[2];
	int m = pl_cli_id_prefix_matches(s, ids, 2, idx, 2);
	size_t n = strlen(s);
	if (m >= 0 && (n < 4 || n > 16 || strspn(s, "0123456789abcdefABCDEF") != n))
		abort();
	if (m < 0 && n >= 4 && n <= 16 && strspn(s, "0123456789abcdefABCDEF") == n && n == size)
		abort();
	if (m == 1 && n == size) {
		char hex[17];
		pl_hex_encode(hex, ids[idx[0]], 8);
		if (strncasecmp(hex, s, n) != 0)
			abort();
	}
	free(s);
	return 0;
}
