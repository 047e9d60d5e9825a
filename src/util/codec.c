/* codec.c — hex, base64 and time text; see codec.h. */
#include "util/codec.h"

#include <sodium.h>
#include <string.h>
#include <time.h>

void pl_hex_encode(char *out, const uint8_t *in, size_t n)
{
	sodium_bin2hex(out, 2 * n + 1, in, n);
}

int pl_hex_decode(uint8_t *out, size_t n, const char *hex)
{
	size_t got = 0;
	const char *end = NULL;
	if (hex == NULL || strlen(hex) != 2 * n)
		return -1;
	if (sodium_hex2bin(out, n, hex, 2 * n, NULL, &got, &end) != 0 || got != n || *end != '\0') {
		sodium_memzero(out, n);
		return -1;
	}
	return 0;
}

size_t pl_b64_len(size_t n)
{
	return sodium_base64_encoded_len(n, sodium_base64_VARIANT_ORIGINAL);
}

void pl_b64_encode(char *out, const uint8_t *in, size_t n)
{
	sodium_bin2base64(out, pl_b64_len(n), in, n, sodium_base64_VARIANT_ORIGINAL);
}

int pl_b64_decode(uint8_t *out, size_t cap, size_t *outlen, const char *b64, size_t b64len)
{
	const char *end = NULL;
	*outlen = 0;
	/* libsodium 1.0.18 takes any byte >= 0x80 as a base64 character:
	 * check the alphabet first. */
	for (size_t i = 0; i < b64len; i++) {
		char c = b64[i];
		if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
		      c == '+' || c == '/' || c == '='))
			return -1;
	}
	if (sodium_base642bin(out, cap, b64, b64len, NULL, outlen, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != b64 + b64len)
		return -1;
	return 0;
}

void pl_time_rfc3339(char out[static PL_RFC3339_LEN], uint64_t unix_seconds)
{
	time_t t = (time_t)unix_seconds;
	struct tm tm;
	gmtime_r(&t, &tm);
	strftime(out, PL_RFC3339_LEN, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

int pl_time_parse_rfc3339(uint64_t *out, const char *s)
{
	struct tm tm;
	memset(&tm, 0, sizeof tm);
	if (s == NULL || strlen(s) != PL_RFC3339_LEN - 1)
		return -1;
	const char *end = strptime(s, "%Y-%m-%dT%H:%M:%SZ", &tm);
	if (end == NULL || *end != '\0')
		return -1;
	time_t t = timegm(&tm);
	if (t < 0)
		return -1;
	*out = (uint64_t)t;
	return 0;
}

uint64_t pl_now(void)
{
	return (uint64_t)time(NULL);
}
