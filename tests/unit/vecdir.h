/*
 * vecdir.h — where the unit tests that read the transparency-log vectors
 * find tests/vectors/tlog: $PARLEY_SRCDIR/tests/vectors/tlog, else beside
 * the test binary (build/tests/../../tests/vectors/tlog), else relative to
 * the working directory. Header-only: each test is one .c file.
 */
#ifndef PARLEY_TEST_VECDIR_H
#define PARLEY_TEST_VECDIR_H

#include <libgen.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>

/* 1 if dir holds the file probe (a path relative to it). */
static inline int pl_test_vecdir_has(const char *dir, const char *probe)
{
	char p[PATH_MAX + 64];
	struct stat st;
	snprintf(p, sizeof p, "%s/%s", dir, probe);
	return stat(p, &st) == 0;
}

/* Fills out[PATH_MAX] with the vector directory holding probe; on failure
 * prints a one-line hint naming `test` and returns -1. */
static inline int pl_test_find_vecdir(char *out, const char *argv0, const char *probe,
				      const char *test)
{
	char tmp[PATH_MAX];
	const char *src = getenv("PARLEY_SRCDIR");
	if (src != NULL && *src) {
		snprintf(out, PATH_MAX, "%s/tests/vectors/tlog", src);
		if (pl_test_vecdir_has(out, probe))
			return 0;
	}
	snprintf(tmp, sizeof tmp, "%s", argv0);
	snprintf(out, PATH_MAX, "%s/../../tests/vectors/tlog", dirname(tmp));
	if (pl_test_vecdir_has(out, probe))
		return 0;
	snprintf(out, PATH_MAX, "tests/vectors/tlog");
	if (pl_test_vecdir_has(out, probe))
		return 0;
	fprintf(stderr, "%s: vectors not found at %s; set PARLEY_SRCDIR to the repository root\n",
		test, out);
	return -1;
}

#endif
