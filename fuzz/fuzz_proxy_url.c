/* fuzz_proxy_url.c — pl_rc_proxy_check, the decoder of a SOCKS proxy
 * address (typed by people, or read back from a vault): no crash, no read
 * past the text, and what it accepts has the one form it documents. */
#include <stdlib.h>
#include <string.h>

#include "client/relay_client.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size > 1024)
		return 0;
	char *s = malloc(size + 1);
	if (s == NULL)
		return 0;
	memcpy(s, data, size);
	s[size] = '\0';
	pl_err e;
	int r = pl_rc_proxy_check(s, &e);
	if (r == 0 && strncmp(s, "socks5h://", 10) != 0)
		abort();
	if (r == 1 && strncmp(s, "socks5://", 9) != 0)
		abort();
	if (r >= 0 && (strchr(s, '@') || strchr(s, '/') != strstr(s, "//") || strchr(s + 10, '/') ||
		       strchr(s, ' ')))
		abort();
	if (r < 0 && (e.code != PL_EXIT_USAGE || strchr(e.msg, '\n')))
		abort();
	free(s);
	return 0;
}
