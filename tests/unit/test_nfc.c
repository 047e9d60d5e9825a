/*
 * test_nfc.c — names typed on two keyboards are one name (src/cli/nfc.c):
 * NFC of decomposed Latin and Arabic, what is left as it is (ASCII, text
 * already in NFC, bytes that are not UTF-8, the Arabic and Persian letters
 * that differ), and that an argument naming a path on disk is not changed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "cli/cli.h"
#include "support.h"

static void nfc_is(const char *in, const char *want)
{
	char *out;
	int r = pl_cli_nfc(in, &out);
	if (want == NULL) {
		assert_int_equal(r, 0);
		assert_null(out);
		return;
	}
	assert_int_equal(r, 1);
	assert_string_equal(out, want);
	free(out);
}

static void test_nfc(void **state)
{
	(void)state;
	nfc_is("Jose\xcc\x81", "Jos\xc3\xa9"); /* e + U+0301 -> é */
	nfc_is("\xd8\xa7\xd9\x94\xd8\xad\xd9\x85\xd8\xaf",
	       "\xd8\xa3\xd8\xad\xd9\x85\xd8\xaf"); /* أحمد */
	nfc_is("Iran", NULL);			    /* ASCII */
	nfc_is("Jos\xc3\xa9", NULL);		    /* already NFC */
	nfc_is("\xd8\xb9\xd9\x84\xdb\x8c", NULL);   /* Persian ye: kept */
	nfc_is("\xd8\xb9\xd9\x84\xd9\x8a", NULL);   /* Arabic ye: kept, not folded */
	nfc_is("\xff\xfe"
	       "e\xcc\x81",
	       NULL);	      /* not UTF-8: left alone */
	nfc_is("IRAN", NULL); /* case is not folded */
}

static void test_args_keep_paths(void **state)
{
	(void)state;
	char dir[256], path[400];
	pl_test_tmpdir(dir, sizeof dir, "nfc");
	snprintf(path, sizeof path, "%s/Gene\xcc\x80ve", dir); /* a file named in NFD */
	pl_test_write_file(path, "x", 1);
	char *argv[] = {"parley", "send", "Gene\xcc\x80ve", path, NULL};
	pl_cli_nfc_args(4, argv);
	assert_string_equal(argv[2], "Gen\xc3\xa8ve"); /* a name: NFC */
	assert_string_equal(argv[3], path);	       /* a path on disk: as it is */
	free(argv[2]);
	pl_test_rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_nfc),
	    cmocka_unit_test(test_args_keep_paths),
	};
	return cmocka_run_group_tests_name("nfc", tests, NULL, NULL);
}
