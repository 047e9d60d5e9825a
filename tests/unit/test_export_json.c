/* test_export_json.c — the helpers all three export formats share
 * (export/json.h): the hex encoder refuses more bytes than its buffer
 * holds; one rule for times past 9999-12-31T23:59:59Z (refused when a file
 * is written, refused when one is read, shown as unix seconds only to
 * people), checked through the helpers and through a thread export;
 * canonical hex only; pl_export_write_file replaces a file atomically with
 * mode 0600 and pl_verify_file_ex reads it back. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "export/json.h"
#include "export/thread.h"
#include "export/verify.h"
#include "support.h"

#define T0 1764300000ull

static void test_hex_bounds(void **st)
{
	static uint8_t big[PL_JSON_HEX_MAX + 1];
	uint8_t back[PL_JSON_HEX_MAX];
	(void)st;

	memset(big, 0xab, sizeof big);
	json_t *j = pl_json_hex(big, PL_JSON_HEX_MAX);
	assert_non_null(j);
	assert_int_equal(json_string_length(j), 2 * PL_JSON_HEX_MAX);
	assert_int_equal(pl_json_hex_field(back, PL_JSON_HEX_MAX, j), 0);
	assert_memory_equal(back, big, PL_JSON_HEX_MAX);
	json_decref(j);
	/* one byte more than the buffer holds: refused, not written past it */
	assert_null(pl_json_hex(big, PL_JSON_HEX_MAX + 1));

	/* reading: only canonical lowercase hex of the exact length */
	json_t *up = json_string("AB");
	json_t *odd = json_string("abc");
	json_t *ok = json_string("ab");
	size_t n = 0;
	assert_int_equal(pl_json_hex_field(back, 1, up), -1);
	assert_int_equal(pl_json_hex_field(back, 1, ok), 0);
	assert_int_equal(back[0], 0xab);
	assert_int_equal(pl_json_hex_var(back, &n, 4, odd), -1);
	assert_int_equal(pl_json_hex_var(back, &n, 4, ok), 0);
	assert_int_equal(n, 1);
	assert_int_equal(pl_json_hex_field(back, PL_JSON_HEX_MAX + 1, ok), -1);
	json_decref(up);
	json_decref(odd);
	json_decref(ok);
}

static void test_time_rule(void **st)
{
	char buf[PL_EXPORT_TIME_BUF];
	uint64_t t = 0;
	(void)st;

	json_t *last = pl_json_time(PL_EXPORT_TIME_MAX);
	assert_non_null(last);
	assert_string_equal(json_string_value(last), "9999-12-31T23:59:59Z");
	assert_int_equal(pl_json_time_field(&t, last), 0);
	assert_true(t == PL_EXPORT_TIME_MAX);
	json_decref(last);
	/* writing: one second later has no RFC 3339 form, so nothing is written */
	assert_null(pl_json_time(PL_EXPORT_TIME_MAX + 1));
	assert_null(pl_json_time(UINT64_MAX));
	/* reading: anything but the canonical form is refused */
	json_t *lower = json_string("2025-11-28T03:20:00z");
	json_t *frac = json_string("2025-11-28T03:20:00.5Z");
	json_t *num = json_integer(1764300000);
	assert_int_equal(pl_json_time_field(&t, lower), -1);
	assert_int_equal(pl_json_time_field(&t, frac), -1);
	assert_int_equal(pl_json_time_field(&t, num), -1);
	json_decref(lower);
	json_decref(frac);
	json_decref(num);
	/* for people only: the same time, or the unix seconds past the last one */
	pl_export_fmt_time(buf, PL_EXPORT_TIME_MAX);
	assert_string_equal(buf, "9999-12-31T23:59:59Z");
	pl_export_fmt_time(buf, PL_EXPORT_TIME_MAX + 1);
	assert_string_equal(buf, "253402300800 (unix seconds)");
	json_t *shown = pl_json_shown_time(PL_EXPORT_TIME_MAX + 1);
	assert_string_equal(json_string_value(shown), "253402300800 (unix seconds)");
	json_decref(shown);
}

/* The rule through a real file format: the thread builder takes the last
 * time and refuses the next, and its file verifies. */
static void test_time_rule_in_a_thread(void **st)
{
	pl_identity a, b;
	pl_thread_export *x = NULL;
	pl_thread_summary s;
	json_t *j = NULL;
	pl_err e;
	size_t n;
	(void)st;

	assert_int_equal(pl_identity_generate(&a), 0);
	assert_int_equal(pl_identity_generate(&b), 0);
	assert_int_equal(pl_thread_export_begin(&x, &a, b.pk, &e), 0);
	assert_int_equal(pl_thread_export_add_note(x, PL_EXPORT_OUT, T0, "first", &e), 0);
	assert_int_equal(
	    pl_thread_export_add_note(x, PL_EXPORT_IN, PL_EXPORT_TIME_MAX, "the last second", &e),
	    0);
	pl_err_clear(&e);
	assert_int_equal(
	    pl_thread_export_add_note(x, PL_EXPORT_IN, PL_EXPORT_TIME_MAX + 1, "too late", &e), -1);
	assert_int_equal(e.code, PL_EXIT_INPUT);
	assert_non_null(strstr(e.msg, "9999"));
	assert_int_equal(pl_thread_export_finish(x, &j, &e), 0);
	char *text = pl_export_dumps(j, &n);
	assert_non_null(text);
	assert_non_null(strstr(text, "\"9999-12-31T23:59:59Z\""));
	assert_int_equal(pl_thread_verify(&s, (const uint8_t *)text, n, NULL, 0, &e), 0);
	assert_int_equal(s.n_entries, 2);
	assert_true(s.last_time == PL_EXPORT_TIME_MAX);
	pl_thread_summary_free(&s);
	free(text);
	json_decref(j);
	pl_thread_export_free(x);
	pl_identity_wipe(&a);
	pl_identity_wipe(&b);
}

static void test_write_and_read_file(void **st)
{
	char dir[256], path[300];
	pl_identity a, b;
	pl_thread_export *x = NULL;
	json_t *j = NULL, *js = NULL;
	struct stat sb;
	pl_err e;
	(void)st;

	pl_test_tmpdir(dir, sizeof dir, "export-json");
	snprintf(path, sizeof path, "%s/thread.json", dir);
	pl_test_write_file(path, "old content\n", 12);
	assert_int_equal(pl_identity_generate(&a), 0);
	assert_int_equal(pl_identity_generate(&b), 0);
	assert_int_equal(pl_thread_export_begin(&x, &a, b.pk, &e), 0);
	assert_int_equal(pl_thread_export_add_note(x, PL_EXPORT_OUT, T0, "hello", &e), 0);
	assert_int_equal(pl_thread_export_finish(x, &j, &e), 0);
	assert_int_equal(pl_export_write_file(path, j, &e), 0);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	size_t n = 0, m = 0;
	uint8_t *got = pl_test_read_file(path, &n);
	char *want = pl_export_dumps(j, &m);
	assert_non_null(got);
	assert_int_equal(n, m);
	assert_memory_equal(got, want, n);
	assert_int_equal(pl_verify_file_ex(path, NULL, &e, NULL, &js), 0);
	assert_non_null(js);
	assert_string_equal(json_string_value(json_object_get(js, "format")), PL_THREAD_FORMAT);
	/* a missing folder: refused, with the path in the reason */
	snprintf(path, sizeof path, "%s/none/thread.json", dir);
	assert_int_equal(pl_export_write_file(path, j, &e), -1);
	assert_non_null(strstr(e.msg, "none"));
	assert_int_equal(pl_verify_file_ex(path, NULL, &e, NULL, NULL), -1);
	assert_int_equal(e.code, PL_EXIT_INPUT);
	free(got);
	free(want);
	json_decref(js);
	json_decref(j);
	pl_thread_export_free(x);
	pl_identity_wipe(&a);
	pl_identity_wipe(&b);
	pl_test_rm_rf(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_hex_bounds),
	    cmocka_unit_test(test_time_rule),
	    cmocka_unit_test(test_time_rule_in_a_thread),
	    cmocka_unit_test(test_write_and_read_file),
	};
	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
