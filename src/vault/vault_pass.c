/*
 * vault_pass.c — what makes a passphrase acceptable for a vault (a length
 * and a simple strength estimate, documented in vault.h) and the generator
 * of word passphrases.
 *
 * Never keeps, logs or prints a passphrase: the estimate reads it and
 * forgets it, and the generator writes only into the caller's buffer, which
 * the caller wipes. Words are drawn with randombytes_uniform so that every
 * word of the list is equally likely.
 */
#include <errno.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vault/vault_int.h"

#define WORDS_FILE_MAX (8u << 20)
#define WORD_MIN 3
#define WORD_MAX 8
#define GEN_MIN_WORDS 6
#define GEN_MIN_BITS 64
#define LIST_MIN 2048 /* below this, 6 words would not be worth offering */

/* log2(x) in hundredths of a bit for x >= 1, without libm: the integer part
 * by halving, the fraction bit by bit by squaring. */
static unsigned centibits(unsigned x)
{
	double m = x;
	unsigned whole = 0;
	while (m >= 2.0) {
		m /= 2.0;
		whole++;
	}
	double frac = 0.0, step = 0.5;
	for (int i = 0; i < 12; i++, step /= 2.0) {
		m *= m;
		if (m >= 2.0) {
			m /= 2.0;
			frac += step;
		}
	}
	return whole * 100 + (unsigned)(frac * 100.0);
}

unsigned pl_passphrase_bits(const char *p, size_t n)
{
	int lower = 0, upper = 0, digit = 0, other = 0, high = 0;
	const unsigned char *s = (const unsigned char *)p;

	if (p == NULL)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned c = s[i];
		if (c >= 'a' && c <= 'z')
			lower = 1;
		else if (c >= 'A' && c <= 'Z')
			upper = 1;
		else if (c >= '0' && c <= '9')
			digit = 1;
		else if (c < 0x80)
			other = 1;
		else
			high = 1;
	}
	unsigned pool = 26u * lower + 26u * upper + 10u * digit + 33u * other + 128u * high;
	if (pool == 0)
		return 0;
	unsigned per = centibits(pool), total = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned c = s[i];
		if (c >= 0x80 && c < 0xC0)
			continue; /* inside a UTF-8 character already counted */
		if (i > 0 && (c == s[i - 1] || c == s[i - 1] + 1u || c + 1u == s[i - 1]))
			total += 100;
		else
			total += per;
	}
	return total / 100;
}

int pl_passphrase_check(const char *p, size_t n, pl_err *e)
{
	if (p == NULL || n == 0)
		return pl_err_set(e, PL_EXIT_USAGE,
				  "the passphrase is empty; use at least %d characters",
				  PL_PASS_MIN_LEN);
	if (n < PL_PASS_MIN_LEN)
		return pl_err_set(e, PL_EXIT_USAGE,
				  "the passphrase is too short (%zu characters); use at least %d "
				  "characters, for example several unrelated words",
				  n, PL_PASS_MIN_LEN);
	unsigned bits = pl_passphrase_bits(p, n);
	if (bits < PL_PASS_MIN_BITS)
		return pl_err_set(e, PL_EXIT_USAGE,
				  "the passphrase is too easy to guess (about %u bits, repeated "
				  "or consecutive characters count for little); use at least %d "
				  "bits, for example five or more unrelated words",
				  bits, PL_PASS_MIN_BITS);
	return 0;
}

static int is_word(const char *w, size_t n)
{
	if (n < WORD_MIN || n > WORD_MAX)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (w[i] < 'a' || w[i] > 'z')
			return 0;
	return 1;
}

/* Reads the word file into *buf and the offsets of its usable words into
 * *idx (each word NUL-terminated in place), skipping a word equal to the one
 * accepted before it so that a sorted list with repeats stays uniform. */
static int load_words(const char *path, char **buf, size_t **idx, unsigned *count, pl_err *e)
{
	*buf = NULL;
	*idx = NULL;
	*count = 0;
	FILE *f = fopen(path, "r");
	if (f == NULL)
		return pl_err_set(e, PL_EXIT_ERROR,
				  "cannot read the word list %s: %s; install the Debian package "
				  "wamerican, or choose a passphrase yourself",
				  path, strerror(errno));
	char *b = malloc(WORDS_FILE_MAX + 1);
	size_t n = b ? fread(b, 1, WORDS_FILE_MAX + 1, f) : 0;
	int bad = ferror(f);
	fclose(f);
	if (b == NULL || bad || n > WORDS_FILE_MAX) {
		free(b);
		return pl_err_set(e, PL_EXIT_ERROR,
				  "could not read the word list %s (unreadable, or larger than "
				  "%u bytes)",
				  path, WORDS_FILE_MAX);
	}
	b[n] = '\0';
	size_t *ix = malloc(sizeof *ix * (n / (WORD_MIN + 1) + 1));
	if (ix == NULL) {
		free(b);
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory reading the word list");
	}
	unsigned c = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && b[j] != '\n')
			j++;
		size_t len = j;
		if (len > i && b[len - 1] == '\r')
			len--;
		if (is_word(b + i, len - i)) {
			b[len] = '\0';
			if (c == 0 || strcmp(b + ix[c - 1], b + i) != 0)
				ix[c++] = i;
		}
		i = j + 1;
	}
	if (c < LIST_MIN) {
		free(ix);
		free(b);
		return pl_err_set(e, PL_EXIT_ERROR,
				  "the word list %s has only %u usable words (%d needed); install "
				  "the Debian package wamerican, or choose a passphrase yourself",
				  path, c, LIST_MIN);
	}
	*buf = b;
	*idx = ix;
	*count = c;
	return 0;
}

int pl_passphrase_generate(char *out, size_t cap, const char *words, unsigned *nwords,
			   unsigned *listlen, unsigned *bits, pl_err *e)
{
	char *buf;
	size_t *idx;
	unsigned count;

	if (cap > 0)
		out[0] = '\0';
	if (load_words(words, &buf, &idx, &count, e) != 0)
		return -1;
	unsigned per = centibits(count), k = GEN_MIN_WORDS;
	while (k * per < GEN_MIN_BITS * 100u)
		k++;
	size_t used = 0;
	int r = 0;
	for (unsigned i = 0; i < k && r == 0; i++) {
		const char *w = buf + idx[randombytes_uniform(count)];
		size_t wl = strlen(w);
		if (used + (i > 0) + wl + 1 > cap) {
			r = pl_err_set(e, PL_EXIT_ERROR, "no room for the generated passphrase");
			break;
		}
		if (i > 0)
			out[used++] = '-';
		memcpy(out + used, w, wl);
		used += wl;
		out[used] = '\0';
	}
	free(idx);
	free(buf);
	if (r != 0) {
		sodium_memzero(out, cap);
		return -1;
	}
	*nwords = k;
	*listlen = count;
	*bits = k * per / 100;
	return 0;
}
