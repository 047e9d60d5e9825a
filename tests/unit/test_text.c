/*
 * test_text.c — small text rules of util/text.c that the CLI relies on:
 * the English article before a kind's name, and the normalisation of a
 * note as typed (tabs, CR LF, lone CR) into what parley stores.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "util/text.h"

static void test_article(void **state)
{
	(void)state;
	assert_string_equal(pl_text_article("outreach"), "an");
	assert_string_equal(pl_text_article("acceptance"), "an");
	assert_string_equal(pl_text_article("evidence"), "an");
	assert_string_equal(pl_text_article("proposal"), "a");
	assert_string_equal(pl_text_article("request"), "a");
	assert_string_equal(pl_text_article("thread"), "a");
	assert_string_equal(pl_text_article(""), "a");
}

static void norm_is(const char *in, const char *want)
{
	char *out;
	assert_int_equal(pl_text_note_normalize(in, &out), 0);
	assert_string_equal(out, want);
	/* what comes out is what a note may be */
	if (out[0])
		assert_int_equal(
		    pl_text_ok((const uint8_t *)out, strlen(out), 1, 60000, PL_TEXT_MULTILINE), 0);
	free(out);
}

static void test_note_normalize(void **state)
{
	(void)state;
	norm_is("plain", "plain");
	norm_is("one\r\ntwo\r\n", "one\ntwo\n");
	norm_is("mac\rold", "mac\nold");
	norm_is("a\r\r\nb", "a\n\nb");
	norm_is("\tx", "        x");
	norm_is("ab\tc", "ab      c");
	norm_is("1234567\tx", "1234567 x");
	norm_is("12345678\tx", "12345678        x");
	norm_is("row\t1\r\nrow\t2", "row     1\nrow     2");
	/* columns count code points: two Persian letters are two columns */
	norm_is("\xd8\xa8\xd8\xa7\tx", "\xd8\xa8\xd8\xa7      x");
	norm_is("", "");
	/* other control characters stay, and are refused after */
	char *out;
	assert_int_equal(pl_text_note_normalize("bell\a", &out), 0);
	assert_int_not_equal(
	    pl_text_ok((const uint8_t *)out, strlen(out), 1, 60000, PL_TEXT_MULTILINE), 0);
	free(out);
}

static void test_width(void **state)
{
	(void)state;
	assert_int_equal(pl_text_width("Iran"), 4);
	assert_int_equal(pl_text_width("\xd8\xa7\xdb\x8c\xd8\xb1\xd8\xa7\xd9\x86"), 5); /* ایران */
	assert_int_equal(pl_text_width("\xe6\x97\xa5\xe6\x9c\xac"), 4);			/* 日本 */
	assert_int_equal(pl_text_width("a\xe2\x80\x8c"
				       "b"),
			 2);				 /* zero-width non-joiner */
	assert_int_equal(pl_text_width("e\xcc\x81"), 1); /* e + combining acute */
	assert_int_equal(pl_text_width("\xff"
				       "x"),
			 2); /* not UTF-8: a byte each */
	assert_int_equal(pl_text_width(""), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_article),
	    cmocka_unit_test(test_note_normalize),
	    cmocka_unit_test(test_width),
	};
	return cmocka_run_group_tests_name("text", tests, NULL, NULL);
}
