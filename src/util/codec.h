/*
 * codec.h — text encodings of binary values: hex (constant-time, via
 * libsodium), base64, and RFC 3339 UTC times. Decoders are strict: exact
 * length, no whitespace, no trailing characters.
 */
#ifndef PARLEY_UTIL_CODEC_H
#define PARLEY_UTIL_CODEC_H

#include <stddef.h>
#include <stdint.h>

/* out must hold 2*n+1 bytes. */
void pl_hex_encode(char *out, const uint8_t *in, size_t n);
/* Decodes exactly n bytes from a string of exactly 2*n hex digits. */
int pl_hex_decode(uint8_t *out, size_t n, const char *hex);

/* Standard base64 with padding; out must hold pl_b64_len(n) bytes. */
size_t pl_b64_len(size_t n);
void pl_b64_encode(char *out, const uint8_t *in, size_t n);
/* Strict standard base64 with padding; writes *outlen <= cap. */
int pl_b64_decode(uint8_t *out, size_t cap, size_t *outlen, const char *b64, size_t b64len);

#define PL_RFC3339_LEN 21 /* "2026-11-28T03:13:43Z" + NUL */
void pl_time_rfc3339(char out[static PL_RFC3339_LEN], uint64_t unix_seconds);
int pl_time_parse_rfc3339(uint64_t *out, const char *s);
uint64_t pl_now(void);

#endif
