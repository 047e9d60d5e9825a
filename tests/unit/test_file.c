/* test_file.c — util/file.h: crash-safe writes that never replace what
 * they must not, leave no temporary file behind, and whole-file reads that
 * refuse what is too large, missing or not a file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "support.h"
#include "util/file.h"

/* Entries in dir besides . and .. */
static int entries(const char *dir)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	int n = 0;
	struct dirent *de;
	while ((de = readdir(d)) != NULL)
		if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
			n++;
	closedir(d);
	return n;
}

static void test_path_join(void **st)
{
	(void)st;
	char *p = pl_path_join("/a/b", "c.db");
	assert_string_equal(p, "/a/b/c.db");
	free(p);
}

static void test_write_modes(void **st)
{
	(void)st;
	char dir[PATH_MAX], path[PATH_MAX + 8];
	pl_test_tmpdir(dir, sizeof dir, "file");
	snprintf(path, sizeof path, "%s/f", dir);
	pl_err e;

	assert_int_equal(pl_file_write_atomic(path, "one", 3, PL_FILE_NOREPLACE, "the file", &e),
			 0);
	struct stat sb;
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(sb.st_size, 3);

	/* NOREPLACE keeps the first file and says EEXIST */
	errno = 0;
	assert_int_equal(pl_file_write_atomic(path, "two!", 4, PL_FILE_NOREPLACE, "the file", &e),
			 -1);
	assert_int_equal(errno, EEXIST);
	assert_non_null(strstr(e.msg, "already exists"));
	size_t n;
	uint8_t *b = pl_test_read_file(path, &n);
	assert_int_equal(n, 3);
	assert_memory_equal(b, "one", 3);
	free(b);
	assert_int_equal(entries(dir), 1); /* no temporary file left */

	/* REPLACE puts the new content in place */
	assert_int_equal(pl_file_write_atomic(path, "two!", 4, PL_FILE_REPLACE, "the file", &e), 0);
	b = pl_test_read_file(path, &n);
	assert_int_equal(n, 4);
	assert_memory_equal(b, "two!", 4);
	free(b);
	assert_int_equal(entries(dir), 1);

	/* a folder that does not exist: an error naming the path, nothing made */
	char bad[PATH_MAX + 16];
	snprintf(bad, sizeof bad, "%s/none/f", dir);
	assert_int_equal(pl_file_write_atomic(bad, "x", 1, PL_FILE_REPLACE, "the file", &e), -1);
	assert_non_null(strstr(e.msg, bad));
	assert_int_equal(entries(dir), 1);
	pl_test_rm_rf(dir);
}

static void test_read_limits(void **st)
{
	(void)st;
	char dir[PATH_MAX], path[PATH_MAX + 8];
	pl_test_tmpdir(dir, sizeof dir, "file");
	snprintf(path, sizeof path, "%s/f", dir);
	pl_err e;
	uint8_t *b;
	size_t n;

	pl_test_write_file(path, "abcdef", 6);
	assert_int_equal(pl_file_read(path, 6, &b, &n, &e), 0);
	assert_int_equal(n, 6);
	assert_memory_equal(b, "abcdef", 6);
	assert_int_equal(b[6], 0);
	free(b);

	assert_int_equal(pl_file_read(path, 5, &b, &n, &e), -1);
	assert_null(b);
	assert_int_equal(e.code, PL_EXIT_INPUT);
	assert_non_null(strstr(e.msg, "larger than 5 bytes"));

	pl_test_write_file(path, "", 0);
	assert_int_equal(pl_file_read(path, 5, &b, &n, &e), 0);
	assert_int_equal(n, 0);
	free(b);

	assert_int_equal(pl_file_read(dir, 100, &b, &n, &e), -1);
	assert_non_null(strstr(e.msg, "is not a file"));
	snprintf(path, sizeof path, "%s/missing", dir);
	assert_int_equal(pl_file_read(path, 100, &b, &n, &e), -1);
	assert_non_null(strstr(e.msg, "cannot open"));
	pl_test_rm_rf(dir);
}

/* A pipe has no size: it is read until EOF, and refused past max. */
static void test_read_pipe(void **st)
{
	(void)st;
	for (size_t total = 0; total <= 20000; total += 10000) {
		int fds[2];
		assert_int_equal(pipe(fds), 0);
		pid_t pid = fork();
		assert_true(pid >= 0);
		if (pid == 0) {
			close(fds[0]);
			char c[100];
			memset(c, 'p', sizeof c);
			for (size_t i = 0; i < total; i += sizeof c)
				if (write(fds[1], c, sizeof c) != (ssize_t)sizeof c)
					_exit(1);
			_exit(0);
		}
		close(fds[1]);
		char path[64];
		snprintf(path, sizeof path, "/dev/fd/%d", fds[0]);
		uint8_t *b;
		size_t n;
		pl_err e;
		int rc = pl_file_read(path, 15000, &b, &n, &e);
		close(fds[0]);
		while (wait(NULL) < 0 && errno == EINTR)
			;
		if (total <= 15000) {
			assert_int_equal(rc, 0);
			assert_int_equal(n, total);
			free(b);
		} else {
			assert_int_equal(rc, -1);
			assert_non_null(strstr(e.msg, "larger than 15000 bytes"));
		}
	}
}

int main(void)
{
	if (sodium_init() < 0)
		return 1;
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_path_join),
	    cmocka_unit_test(test_write_modes),
	    cmocka_unit_test(test_read_limits),
	    cmocka_unit_test(test_read_pipe),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
