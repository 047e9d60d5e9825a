/* text.c — strict UTF-8 and displayable-text checks; see text.h. */
#include "util/text.h"

#include <locale.h>
#include <stdlib.h>
#include <string.h>
#include <wchar.h>

size_t pl_utf8_next(const uint8_t *p, size_t n, uint32_t *cp)
{
	uint8_t c = p[0];
	size_t len;
	uint32_t v, min;
	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if (c >= 0xc2 && c <= 0xdf) {
		len = 2;
		v = c & 0x1f;
		min = 0x80;
	} else if (c >= 0xe0 && c <= 0xef) {
		len = 3;
		v = c & 0x0f;
		min = 0x800;
	} else if (c >= 0xf0 && c <= 0xf4) {
		len = 4;
		v = c & 0x07;
		min = 0x10000;
	} else {
		return 0;
	}
	if (n < len)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xc0) != 0x80)
			return 0;
		v = (v << 6) | (p[i] & 0x3f);
	}
	if (v < min || v > 0x10ffff || (v >= 0xd800 && v <= 0xdfff))
		return 0;
	*cp = v;
	return len;
}

int pl_utf8_ok(const uint8_t *p, size_t n)
{
	size_t i = 0;
	while (i < n) {
		uint32_t cp;
		size_t l = pl_utf8_next(p + i, n - i, &cp);
		if (l == 0)
			return -1;
		i += l;
	}
	return 0;
}

static int cp_forbidden(uint32_t cp, int multiline)
{
	if (cp == '\n')
		return !multiline;
	if (cp < 0x20 || cp == 0x7f || (cp >= 0x80 && cp <= 0x9f))
		return 1;
	/* line/paragraph separators; bidi embeddings, overrides and isolates */
	return cp == 0x2028 || cp == 0x2029 || (cp >= 0x202a && cp <= 0x202e) ||
	       (cp >= 0x2066 && cp <= 0x2069);
}

int pl_text_ok(const uint8_t *p, size_t n, size_t min, size_t max, int multiline)
{
	if (n < min || n > max || (p == NULL && n != 0))
		return -1;
	size_t i = 0;
	while (i < n) {
		uint32_t cp;
		size_t l = pl_utf8_next(p + i, n - i, &cp);
		if (l == 0 || cp_forbidden(cp, multiline))
			return -1;
		i += l;
	}
	return 0;
}

const char *pl_text_article(const char *word)
{
	return word && strchr("aeiouAEIOU", word[0]) && word[0] != '\0' ? "an" : "a";
}

int pl_text_note_normalize(const char *in, char **out)
{
	size_t n = strlen(in), cap = n + 1, col = 0, k = 0;
	for (size_t i = 0; i < n; i++)
		if (in[i] == '\t')
			cap += 7;
	char *o = malloc(cap);
	*out = o;
	if (o == NULL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)in[i];
		if (c == '\r') {
			if (i + 1 < n && in[i + 1] == '\n')
				continue; /* the LF follows */
			c = '\n';
		}
		if (c == '\t') {
			do
				o[k++] = ' ';
			while (++col % 8 != 0);
			continue;
		}
		o[k++] = (char)c;
		if (c == '\n')
			col = 0;
		else if ((c & 0xc0) != 0x80) /* one per code point, not per byte */
			col++;
	}
	o[k] = '\0';
	return 0;
}

size_t pl_text_width(const char *s)
{
	static locale_t utf8;
	if (utf8 == (locale_t)0)
		utf8 = newlocale(LC_CTYPE_MASK, "C.UTF-8", (locale_t)0);
	size_t n = strlen(s), w = 0;
	if (utf8 == (locale_t)0)
		return n; /* no UTF-8 locale: bytes, as before */
	locale_t old = uselocale(utf8);
	mbstate_t st;
	memset(&st, 0, sizeof st);
	for (size_t i = 0; i < n;) {
		wchar_t wc;
		size_t k = mbrtowc(&wc, s + i, n - i, &st);
		if (k == (size_t)-1 || k == (size_t)-2 || k == 0) {
			memset(&st, 0, sizeof st);
			w++;
			i++;
			continue;
		}
		int cw = wcwidth(wc);
		w += cw > 0 ? (size_t)cw : 0;
		i += k;
	}
	uselocale(old);
	return w;
}
