/*
 * json.c — the export formats' serialization, atomic write and strict field
 * helpers (see json.h).
 *
 * It owns the one byte form of an export file and the one rule for times
 * in it. It must never write past a buffer, never accept a value parley
 * would not write (non-canonical hex or base64, a time past 9999, a
 * missing or unknown key), and never echo an untrusted string raw.
 */
#include "export/json.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/codec.h"
#include "util/file.h"
#include "util/text.h"

/* ---- serialization ----------------------------------------------------- */

char *pl_export_dumps(const json_t *j, size_t *len)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (s == NULL)
		return NULL;
	size_t n = strlen(s);
	char *out = realloc(s, n + 2);
	if (out == NULL) {
		free(s);
		return NULL;
	}
	out[n] = '\n';
	out[n + 1] = '\0';
	if (len)
		*len = n + 1;
	return out;
}

int pl_export_write_file(const char *path, const json_t *j, pl_err *e)
{
	size_t len;
	char *s = pl_export_dumps(j, &len);
	if (s == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	int rc = pl_file_write_atomic(path, s, len, PL_FILE_REPLACE, "the export", e);
	sodium_memzero(s, len);
	free(s);
	return rc;
}

void pl_export_fmt_time(char out[static PL_EXPORT_TIME_BUF], uint64_t t)
{
	if (t <= PL_EXPORT_TIME_MAX)
		pl_time_rfc3339(out, t);
	else
		snprintf(out, PL_EXPORT_TIME_BUF, "%llu (unix seconds)", (unsigned long long)t);
}

/* ---- writing ----------------------------------------------------------- */

json_t *pl_json_hex(const uint8_t *p, size_t n)
{
	char buf[2 * PL_JSON_HEX_MAX + 1];
	if (n > PL_JSON_HEX_MAX)
		return NULL;
	pl_hex_encode(buf, p, n);
	return json_string(buf);
}

json_t *pl_json_b64(const uint8_t *p, size_t n)
{
	char *buf = malloc(pl_b64_len(n));
	if (buf == NULL)
		return NULL;
	pl_b64_encode(buf, p, n);
	json_t *j = json_string(buf);
	free(buf);
	return j;
}

json_t *pl_json_time(uint64_t t)
{
	char buf[PL_RFC3339_LEN];
	if (t > PL_EXPORT_TIME_MAX)
		return NULL;
	pl_time_rfc3339(buf, t);
	return json_string(buf);
}

json_t *pl_json_shown_time(uint64_t t)
{
	char buf[PL_EXPORT_TIME_BUF];
	pl_export_fmt_time(buf, t);
	return json_string(buf);
}

int pl_json_set(json_t *o, const char *k, json_t *v)
{
	return v == NULL || json_object_set_new(o, k, v) != 0 ? -1 : 0;
}

json_t *pl_json_key(const uint8_t ik[static PL_IK_LEN], const char fp[static PL_FINGERPRINT_LEN])
{
	json_t *j = json_object();
	if (j == NULL || pl_json_set(j, "key", pl_json_hex(ik, PL_IK_LEN)) != 0 ||
	    pl_json_set(j, "fingerprint", json_string(fp)) != 0) {
		json_decref(j);
		return NULL;
	}
	return j;
}

/* ---- reading ----------------------------------------------------------- */

int pl_json_hex_field(uint8_t *out, size_t n, const json_t *j)
{
	char back[2 * PL_JSON_HEX_MAX + 1];
	const char *s = json_string_value(j);
	if (s == NULL || n > PL_JSON_HEX_MAX || json_string_length(j) != 2 * n ||
	    pl_hex_decode(out, n, s) != 0)
		return -1;
	pl_hex_encode(back, out, n);
	return strcmp(back, s) == 0 ? 0 : -1;
}

int pl_json_hex_var(uint8_t *out, size_t *n, size_t max, const json_t *j)
{
	size_t sl = json_string_length(j);
	if (!json_is_string(j) || sl == 0 || sl % 2 != 0 || sl / 2 > max)
		return -1;
	*n = sl / 2;
	return pl_json_hex_field(out, *n, j);
}

int pl_json_b64_var(uint8_t **out, size_t *outlen, size_t max, const json_t *j)
{
	const char *s = json_string_value(j);
	size_t sl = json_string_length(j);
	*out = NULL;
	*outlen = 0;
	if (s == NULL || sl == 0 || sl + 1 > pl_b64_len(max))
		return -1;
	uint8_t *buf = malloc(sl);
	char *back = malloc(sl + 1);
	size_t n = 0;
	int ok = buf != NULL && back != NULL && pl_b64_decode(buf, sl, &n, s, sl) == 0 && n > 0 &&
		 n <= max && pl_b64_len(n) == sl + 1;
	if (ok) {
		pl_b64_encode(back, buf, n);
		ok = memcmp(back, s, sl) == 0;
	}
	free(back);
	if (!ok) {
		free(buf);
		return -1;
	}
	*out = buf;
	*outlen = n;
	return 0;
}

int pl_json_time_field(uint64_t *out, const json_t *j)
{
	char back[PL_RFC3339_LEN];
	const char *s = json_string_value(j);
	if (s == NULL || pl_time_parse_rfc3339(out, s) != 0 || *out > PL_EXPORT_TIME_MAX)
		return -1;
	pl_time_rfc3339(back, *out);
	return strcmp(back, s) == 0 ? 0 : -1;
}

int pl_json_uint_field(uint64_t *out, uint64_t max, const json_t *j)
{
	if (!json_is_integer(j) || json_integer_value(j) < 0 ||
	    (uint64_t)json_integer_value(j) > max)
		return -1;
	*out = (uint64_t)json_integer_value(j);
	return 0;
}

int pl_export_expect_check(const uint8_t (*expect)[PL_IK_LEN], size_t n_expect,
			   const uint8_t (*signers)[PL_IK_LEN], size_t n_signers, const char *what,
			   pl_err *e)
{
	for (size_t i = 0; i < n_expect; i++) {
		size_t k = 0;
		while (k < n_signers && sodium_memcmp(expect[i], signers[k], PL_IK_LEN) != 0)
			k++;
		if (k == n_signers) {
			char fp[PL_FINGERPRINT_LEN];
			char hex[PL_KEY_HEX_LEN];
			pl_fingerprint(fp, expect[i]);
			pl_hex_encode(hex, expect[i], PL_IK_LEN);
			return pl_err_set(e, PL_EXIT_SECURITY,
					  "key %.16s... (fingerprint %s) did not sign this %s", hex,
					  fp, what);
		}
	}
	return 0;
}

int pl_export_name_ok(const char *s, size_t n)
{
	return s != NULL && strlen(s) == n &&
		       pl_text_ok((const uint8_t *)s, n, 1, PL_EXPORT_NAME_MAX, PL_TEXT_LINE) == 0
		   ? 0
		   : -1;
}

void pl_json_safe_str(char out[static PL_JSON_SAFE_MAX], const char *s)
{
	size_t i = 0;
	for (; s[i] != '\0' && i < 40; i++)
		out[i] = (s[i] >= 0x20 && s[i] < 0x7f && s[i] != '"') ? s[i] : '?';
	if (s[i] != '\0') {
		memcpy(out + i, "...", 3);
		i += 3;
	}
	out[i] = '\0';
}

/* ---- whole files ------------------------------------------------------- */

/* A UTF-8 byte-order mark, which Windows editors put before a file. */
#define BOM "\xef\xbb\xbf"

/* 0 iff file[0..n) is canon[0..len) (what pl_export_dumps wrote) after only
 * the changes mail and Windows make to framing: one byte-order mark before
 * it, any line end written CR LF, the final line end dropped (or only its
 * LF). canon has no
 * CR byte, no byte-order mark, and its line feeds are all outside strings
 * (JSON escapes them inside), so these are not changes to any value: the
 * file still decodes to the very same JSON, byte for byte the same
 * strings. Anything else (a lone CR, two marks, a space) differs. */
static int same_but_framing(const char *canon, size_t len, const uint8_t *file, size_t n)
{
	size_t i = 0;
	if (n >= sizeof BOM - 1 && memcmp(file, BOM, sizeof BOM - 1) == 0)
		i = sizeof BOM - 1;
	for (size_t j = 0; j < len; j++) {
		if (canon[j] == '\n') {
			if (i < n && file[i] == '\n')
				i++;
			else if (i + 1 < n && file[i] == '\r' && file[i + 1] == '\n')
				i += 2;
			else if (j + 1 == len && i + 1 == n && file[i] == '\r')
				i++; /* CR LF whose LF was cut */
			else if (!(j + 1 == len && i == n))
				return -1;
		} else if (i < n && file[i] == (uint8_t)canon[j]) {
			i++;
		} else {
			return -1;
		}
	}
	return i == n ? 0 : -1;
}

json_t *pl_json_load(const uint8_t *file, size_t n, const char *prefix, pl_err *e)
{
	json_error_t jerr;
	if (file == NULL || n > PL_EXPORT_FILE_MAX) {
		pl_err_set(e, PL_EXIT_INPUT, "%sit is larger than %u bytes", prefix,
			   PL_EXPORT_FILE_MAX);
		return NULL;
	}
	if (n >= sizeof BOM - 1 && memcmp(file, BOM, sizeof BOM - 1) == 0) {
		file += sizeof BOM - 1;
		n -= sizeof BOM - 1;
	}
	json_t *root = json_loadb((const char *)file, n, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL)
		pl_err_set(e, PL_EXIT_INPUT, "%snot valid JSON (line %d, column %d)", prefix,
			   jerr.line, jerr.column);
	return root;
}

int pl_json_exact_keys(const json_t *j, const char *const *names, size_t n, const char *prefix,
		       const char *where, pl_err *e)
{
	const char *key;
	json_t *v;
	char safe[PL_JSON_SAFE_MAX];

	if (!json_is_object(j))
		return pl_err_set(e, PL_EXIT_INPUT, "%s%s is not a JSON object", prefix, where);
	json_object_foreach((json_t *)j, key, v)
	{
		size_t i = 0;
		while (i < n && strcmp(names[i], key) != 0)
			i++;
		if (i == n) {
			pl_json_safe_str(safe, key);
			return pl_err_set(e, PL_EXIT_INPUT,
					  "%s%s has an unknown key \"%s\", a key parley does not "
					  "write",
					  prefix, where, safe);
		}
	}
	for (size_t i = 0; i < n; i++)
		if (json_object_get(j, names[i]) == NULL)
			return pl_err_set(e, PL_EXIT_INPUT, "%s%s has no \"%s\"", prefix, where,
					  names[i]);
	return 0;
}

int pl_json_header_check(const json_t *root, const char *format, int version, const char *prefix,
			 pl_err *e)
{
	const char *f = json_string_value(json_object_get(root, "format"));
	const json_t *v = json_object_get(root, "version");
	char safe[PL_JSON_SAFE_MAX];

	if (f == NULL)
		return pl_err_set(e, PL_EXIT_INPUT, "%s\"format\" is not a string", prefix);
	if (strcmp(f, format) != 0) {
		pl_json_safe_str(safe, f);
		return pl_err_set(e, PL_EXIT_INPUT, "%sits format is \"%s\", not \"%s\"", prefix,
				  safe, format);
	}
	if (!json_is_integer(v) || json_integer_value(v) != version)
		return pl_err_set(e, PL_EXIT_INPUT, "%sversion must be the integer %d", prefix,
				  version);
	return 0;
}

int pl_json_same_bytes(const json_t *j, const uint8_t *file, size_t n, const char *prefix,
		       pl_err *e)
{
	size_t len;
	char *s = pl_export_dumps(j, &len);
	if (s == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	int same = same_but_framing(s, len, file, n) == 0;
	free(s);
	if (!same)
		return pl_err_set(e, PL_EXIT_INPUT,
				  "%sit is not byte for byte as parley writes it (edited after "
				  "export?)",
				  prefix);
	return 0;
}
