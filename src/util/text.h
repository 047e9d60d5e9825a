/*
 * text.h — the one check of human text parley stores, signs or shows:
 * strict UTF-8 (no overlong forms, surrogates or code points past U+10FFFF),
 * no control characters (C0, DEL, C1) except a newline where allowed, and no
 * bidirectional overrides or line separators, which can disguise text on
 * screen.
 */
#ifndef PARLEY_UTIL_TEXT_H
#define PARLEY_UTIL_TEXT_H

#include <stddef.h>
#include <stdint.h>

enum { PL_TEXT_LINE = 0, PL_TEXT_MULTILINE = 1 };

/* 0 iff p[0..n) is acceptable text of min..max bytes. */
int pl_text_ok(const uint8_t *p, size_t n, size_t min, size_t max, int multiline);
/* One UTF-8 scalar value at p[0..n), n >= 1 (RFC 3629: shortest form, no
 * surrogates, at most U+10FFFF): its length in bytes with *cp set, or 0 if
 * the bytes there are not one. */
size_t pl_utf8_next(const uint8_t *p, size_t n, uint32_t *cp);
/* 0 iff p[0..n) is strict UTF-8 (any code points). */
int pl_utf8_ok(const uint8_t *p, size_t n);
/* "an" before a word that starts with a vowel letter (outreach, acceptance,
 * ack), else "a": English for the kinds parley names in messages. */
const char *pl_text_article(const char *word);
/* A note as typed on any keyboard, made what parley stores: CR LF and a
 * lone CR become LF, a tab becomes spaces to the next column that is a
 * multiple of 8 (counting code points). *out is malloc'd (NUL-ended), or
 * NULL (and -1) when out of memory. */
int pl_text_note_normalize(const char *in, char **out);
/* Columns s takes on a terminal (wcwidth under C.UTF-8): a Persian or
 * Latin letter 1, a CJK ideograph 2, a combining mark or a zero-width
 * joiner 0; a byte that is not UTF-8 counts 1. */
size_t pl_text_width(const char *s);

#endif
