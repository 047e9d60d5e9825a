/* test_pdf.c — the PDF writer of the agreement document (export/pdf.h):
 * text in Latin, Persian and Arabic comes back from the PDF, read by
 * poppler's pdftotext, with the right-to-left names in their logical
 * order (shaped, not one isolated letter after another), over several
 * pages; a path it cannot write is refused with a message. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "export/pdf.h"

/* pdftotext's reading of path (malloc'd), or NULL when it is missing. */
static char *pdf_text(const char *path)
{
	char cmd[512], *out = NULL;
	size_t len = 0;
	snprintf(cmd, sizeof cmd, "pdftotext -enc UTF-8 '%s' - 2>/dev/null", path);
	FILE *p = popen(cmd, "r");
	if (p == NULL)
		return NULL;
	FILE *m = open_memstream(&out, &len);
	char buf[4096];
	size_t n;
	while ((n = fread(buf, 1, sizeof buf, p)) > 0)
		fwrite(buf, 1, n, m);
	fclose(m);
	int rc = pclose(p);
	if (rc != 0) {
		free(out);
		return NULL;
	}
	return out;
}

static void test_pdf_scripts_and_pages(void **st)
{
	(void)st;
	char path[] = "/tmp/parley-pdf-XXXXXX";
	int fd = mkstemp(path);
	assert_true(fd >= 0);
	close(fd);
	/* 150 lines: three pages or more */
	char *body = NULL;
	size_t bl;
	FILE *b = open_memstream(&body, &bl);
	fputs("AGREEMENT ON THE RELEASE OF DETAINED PERSONS\n\n", b);
	fputs("1. United States releases:\n   - احمد شیخ‌زاده, nationality Iran\n", b);
	fputs("2. جمهوری اسلامی ایران releases:\n   - Baquer Namazi\n", b);
	fputs("   - عبد الرحمن الهاشمي\n", b);
	for (int i = 0; i < 150; i++)
		fprintf(b, "line %d of the conditions\n", i);
	fputs("LAST LINE\n", b);
	fclose(b);
	pl_err e;
	pl_err_clear(&e);
	if (pl_pdf_write(path, "test", body, "-----BEGIN PARLEY AGREEMENT-----\n{}\n", &e) != 0)
		fail_msg("pdf: %s", e.msg);
	FILE *f = fopen(path, "rb");
	char head[5] = {0};
	assert_int_equal(fread(head, 1, 4, f), 4);
	fclose(f);
	assert_string_equal(head, "%PDF");
	char *t = pdf_text(path);
	if (t == NULL)
		fail_msg("pdftotext is missing or failed (scripts/install-deps.sh installs "
			 "poppler-utils)");
	assert_non_null(strstr(t, "AGREEMENT ON THE RELEASE OF DETAINED PERSONS"));
	assert_non_null(strstr(t, "Baquer Namazi"));
	/* the right-to-left names come back, in logical order (the first word
	 * first: drawn right to left, not reversed letter by letter).
	 * pdftotext splits a word at a zero-width non-joiner and reads the
	 * lam-alef ligature backwards, so those are not compared whole. */
	const char *ahmad = strstr(t, "احمد"), *zadeh = strstr(t, "زاده");
	assert_non_null(ahmad);
	assert_non_null(zadeh);
	assert_true(ahmad < zadeh);
	assert_non_null(strstr(t, "جمهوری"));
	assert_non_null(strstr(t, "ایران"));
	assert_non_null(strstr(t, "عبد الرحمن الهاشمي"));
	assert_non_null(strstr(t, "United States releases:"));
	assert_non_null(strstr(t, "LAST LINE"));
	assert_non_null(strstr(t, "BEGIN PARLEY AGREEMENT"));
	assert_non_null(strchr(t, '\f')); /* more than one page */
	free(t);
	free(body);
	unlink(path);

	/* a folder that does not exist */
	pl_err_clear(&e);
	assert_int_equal(pl_pdf_write("/nonexistent-dir/x.pdf", "t", "x", NULL, &e), -1);
	assert_non_null(strstr(e.msg, "cannot write"));
	assert_int_equal(access("/nonexistent-dir/x.pdf.tmp", F_OK), -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_pdf_scripts_and_pages),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
