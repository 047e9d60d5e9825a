/*
 * support.c — fixture helpers shared by the unit tests; see support.h.
 */
#include <ftw.h>
#include <libgen.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>
#include <sodium.h>

#include "support.h"

char pl_test_vecdir[PATH_MAX];

/* 1 if dir holds the file probe (a path relative to it). */
static int vecdir_has(const char *dir, const char *probe)
{
	char p[PATH_MAX + 64];
	struct stat st;
	snprintf(p, sizeof p, "%s/%s", dir, probe);
	return stat(p, &st) == 0;
}

int pl_test_find_vecdir(const char *argv0, const char *probe, const char *test)
{
	char tmp[PATH_MAX];
	char *out = pl_test_vecdir;
	const char *src = getenv("PARLEY_SRCDIR");
	if (src != NULL && *src) {
		snprintf(out, PATH_MAX, "%s/tests/vectors/tlog", src);
		if (vecdir_has(out, probe))
			return 0;
	}
	snprintf(tmp, sizeof tmp, "%s", argv0);
	snprintf(out, PATH_MAX, "%s/../../tests/vectors/tlog", dirname(tmp));
	if (vecdir_has(out, probe))
		return 0;
	snprintf(out, PATH_MAX, "tests/vectors/tlog");
	if (vecdir_has(out, probe))
		return 0;
	fprintf(stderr, "%s: vectors not found at %s; set PARLEY_SRCDIR to the repository root\n",
		test, out);
	return -1;
}

void pl_test_vec_path(char *out, size_t cap, const char *fmt, ...)
{
	char rel[PATH_MAX];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(rel, sizeof rel, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof rel ||
	    snprintf(out, cap, "%s/%s", pl_test_vecdir, rel) >= (int)cap)
		fail_msg("path too long under %s", pl_test_vecdir);
}

uint8_t *pl_test_read_file(const char *path, size_t *len)
{
	struct stat st;
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		fclose(f);
		return NULL;
	}
	size_t cap = (size_t)st.st_size + 1;
	uint8_t *buf = malloc(cap);
	assert_non_null(buf);
	size_t n = fread(buf, 1, cap, f);
	if (ferror(f) || n == cap)
		fail_msg("cannot read %s (or it changed while read)", path);
	fclose(f);
	buf[n] = 0;
	*len = n;
	return buf;
}

uint8_t *pl_test_read_vec(const char *rel, size_t *len)
{
	char p[PATH_MAX + 64];
	pl_test_vec_path(p, sizeof p, "%s", rel);
	uint8_t *b = pl_test_read_file(p, len);
	if (b == NULL)
		fail_msg("cannot read %s (set PARLEY_SRCDIR to the repository root)", p);
	return b;
}

void pl_test_write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	fclose(f);
}

size_t pl_test_unhex(uint8_t *out, size_t cap, const char *hex)
{
	size_t got = 0;
	assert_int_equal(sodium_hex2bin(out, cap, hex, strlen(hex), NULL, &got, NULL), 0);
	return got;
}

void pl_test_unhex_n(uint8_t *out, size_t n, const char *hex)
{
	assert_int_equal(strlen(hex), 2 * n);
	assert_int_equal(pl_test_unhex(out, n, hex), n);
}

int pl_test_unbase64(uint8_t *out, size_t cap, const char *b64, size_t *got)
{
	*got = 0;
	return sodium_base642bin(out, cap, b64, strlen(b64), NULL, got, NULL,
				 sodium_base64_VARIANT_ORIGINAL) == 0
		   ? 0
		   : -1;
}

void pl_test_tmpdir(char *out, size_t cap, const char *tag)
{
	if (snprintf(out, cap, "/tmp/parley-%s-XXXXXX", tag) >= (int)cap)
		fail_msg("temporary directory name too long for tag %s", tag);
	assert_non_null(mkdtemp(out));
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void pl_test_rm_rf(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int pl_test_rm_relay_dir(const char *dir)
{
	static const char *const logs[] = {".err", ".err2"};
	char path[4096];
	struct stat st;
	int left = 0;

	pl_test_rm_rf(dir);
	left |= lstat(dir, &st) == 0;
	for (size_t i = 0; i < sizeof logs / sizeof logs[0]; i++) {
		if (snprintf(path, sizeof path, "%s%s", dir, logs[i]) >= (int)sizeof path)
			return -1;
		remove(path);
		left |= lstat(path, &st) == 0;
	}
	return left ? -1 : 0;
}
