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
/* 0 iff p[0..n) is strict UTF-8 (any code points). */
int pl_utf8_ok(const uint8_t *p, size_t n);

#endif
