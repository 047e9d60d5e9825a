/*
 * json.h — what the three export formats (agreement, thread, proof of
 * outreach) share: their one serialization and atomic write, and the strict
 * JSON field helpers every verifier uses (exact keys, canonical hex and
 * base64, RFC 3339 times, bounded integers, untrusted strings made safe to
 * echo).
 *
 * One rule for times: a file holds RFC 3339 UTC times up to
 * 9999-12-31T23:59:59Z (PL_EXPORT_TIME_MAX), the last one RFC 3339 can
 * write. pl_json_time refuses to write a later time (NULL) and
 * pl_json_time_field refuses to read one, so a builder cannot produce a
 * file its verifier refuses. Only text for people (error messages, printed
 * summaries) shows a later time, as "N (unix seconds)" (pl_export_fmt_time):
 * a signed object may carry any 64-bit time.
 *
 * Helpers never write past a buffer: an encoder given more bytes than it
 * can hold returns NULL. Readers refuse anything parley would not write.
 * Nothing here needs a vault, a relay or a clock.
 */
#ifndef PARLEY_EXPORT_JSON_H
#define PARLEY_EXPORT_JSON_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "identity/identity.h"
#include "util/err.h"

#define PL_EXPORT_VERSION 1
#define PL_EXPORT_FILE_MAX (64u << 20)	      /* bytes; larger files are refused */
#define PL_EXPORT_TIME_MAX 253402300799ull    /* 9999-12-31T23:59:59Z */
#define PL_EXPORT_TIME_BUF 48		      /* pl_export_fmt_time's output */
#define PL_JSON_HEX_MAX 2048		      /* bytes a hex field holds (a log leaf: <= 1452) */
#define PL_JSON_SAFE_MAX 48		      /* pl_json_safe_str's output */
#define PL_JSON_INT_MAX ((uint64_t)INT64_MAX) /* what a JSON integer holds */
#define PL_EXPORT_NAME_MAX 64		      /* a party's name in a file (= PL_NAME_MAX) */

/* The one serialization of an export file (2-space indent, keys in the
 * order built, raw UTF-8, one trailing newline). malloc'd, NUL-terminated;
 * NULL on allocation failure. */
char *pl_export_dumps(const json_t *j, size_t *len);
/* Writes pl_export_dumps(j) to path atomically, replacing a file there
 * (util/file.h), mode 0600: the content of a negotiation is secret. */
int pl_export_write_file(const char *path, const json_t *j, pl_err *e);

/* A time for people: RFC 3339 up to PL_EXPORT_TIME_MAX, else
 * "N (unix seconds)". */
void pl_export_fmt_time(char out[static PL_EXPORT_TIME_BUF], uint64_t t);

/* ---- writing: each returns a new JSON value, or NULL ------------------- */
/* Lowercase hex of p[0..n); NULL if n > PL_JSON_HEX_MAX. */
json_t *pl_json_hex(const uint8_t *p, size_t n);
/* Standard padded base64 of p[0..n). */
json_t *pl_json_b64(const uint8_t *p, size_t n);
/* RFC 3339 UTC; NULL if t > PL_EXPORT_TIME_MAX. */
json_t *pl_json_time(uint64_t t);
/* {"key": hex, "fingerprint": fp} of a party's identity key. */
json_t *pl_json_key(const uint8_t ik[static PL_IK_LEN], const char fp[static PL_FINGERPRINT_LEN]);
/* A time for people in a JSON summary: pl_export_fmt_time as a string. */
json_t *pl_json_shown_time(uint64_t t);
/* json_object_set_new that fails (and releases nothing twice) on a NULL v. */
int pl_json_set(json_t *o, const char *k, json_t *v);

/* ---- reading: 0 iff the value is exactly what parley writes ------------ */
/* Canonical lowercase hex of exactly n bytes (n <= PL_JSON_HEX_MAX). */
int pl_json_hex_field(uint8_t *out, size_t n, const json_t *j);
/* Canonical lowercase hex of 1..max bytes (max <= PL_JSON_HEX_MAX). */
int pl_json_hex_var(uint8_t *out, size_t *n, size_t max, const json_t *j);
/* Canonical base64 of 1..max bytes into a malloc'd *out. */
int pl_json_b64_var(uint8_t **out, size_t *outlen, size_t max, const json_t *j);
/* An RFC 3339 UTC time as parley writes it, at most PL_EXPORT_TIME_MAX. */
int pl_json_time_field(uint64_t *out, const json_t *j);
/* A JSON integer in 0..max. */
int pl_json_uint_field(uint64_t *out, uint64_t max, const json_t *j);

/* 0 iff every key in expect[0..n_expect) is among signers[0..n_signers);
 * else PL_EXIT_SECURITY naming the first that is not ("did not sign this
 * <what>"). */
int pl_export_expect_check(const uint8_t (*expect)[PL_IK_LEN], size_t n_expect,
			   const uint8_t (*signers)[PL_IK_LEN], size_t n_signers, const char *what,
			   pl_err *e);

/* 0 iff s[0..n) is a party's name as a file may carry it: one line of
 * UTF-8 text without control characters, 1..PL_EXPORT_NAME_MAX bytes. */
int pl_export_name_ok(const char *s, size_t n);

/* An untrusted string made safe to put in a message: printable ASCII only,
 * cut at 40 characters. */
void pl_json_safe_str(char out[static PL_JSON_SAFE_MAX], const char *s);

/* ---- whole files; prefix starts every error ("not a parley ... file: ") */
/* Parses file bytes (at most PL_EXPORT_FILE_MAX, duplicate keys refused;
 * one leading UTF-8 byte-order mark is skipped). */
json_t *pl_json_load(const uint8_t *file, size_t n, const char *prefix, pl_err *e);
/* The object j has exactly the keys in names (n of them), each once;
 * where names it in the error ("the file", "entry 3"). */
int pl_json_exact_keys(const json_t *j, const char *const *names, size_t n, const char *prefix,
		       const char *where, pl_err *e);
/* root's "format" is format and its "version" the integer version. */
int pl_json_header_check(const json_t *root, const char *format, int version, const char *prefix,
			 pl_err *e);
/* 0 iff file is exactly pl_export_dumps(j), but for framing that mail and
 * Windows change and that no value can hold: one leading UTF-8 byte-order
 * mark, CR LF for any line end, no final line end (docs/PROTOCOL.md,
 * "Export files"). Every value, every signed byte, compares exactly. */
int pl_json_same_bytes(const json_t *j, const uint8_t *file, size_t n, const char *prefix,
		       pl_err *e);

#endif
