/*
 * test_duration.c — the durations the CLI takes (--expires): every unit,
 * a bare number of seconds, and what is refused (no digits first, a
 * trailing word, zero, more than ten years, a sign).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "cli/cli.h"

static uint64_t ok(const char *s)
{
	uint64_t sec = 12345;
	assert_int_equal(pl_cli_parse_duration(s, &sec), 0);
	return sec;
}

static void refused(const char *s)
{
	uint64_t sec = 12345;
	assert_int_equal(pl_cli_parse_duration(s, &sec), -1);
	assert_int_equal(sec, 12345); /* untouched on refusal */
}

static void test_units(void **state)
{
	(void)state;
	assert_int_equal(ok("90"), 90);
	assert_int_equal(ok("90s"), 90);
	assert_int_equal(ok("45m"), 45 * 60);
	assert_int_equal(ok("48h"), 48 * 3600);
	assert_int_equal(ok("7d"), 7 * 86400);
	assert_int_equal(ok("2w"), 2 * 7 * 86400);
	assert_int_equal(ok("007m"), 7 * 60);
}

static void test_bounds(void **state)
{
	(void)state;
	const uint64_t ten_years = 10ULL * 365 * 86400;
	assert_int_equal(ok("3650d"), ten_years);
	assert_int_equal(ok("315360000"), ten_years);
	refused("3651d");
	refused("315360001");
	assert_int_equal(ok("521w"), 521ULL * 7 * 86400);
	refused("522w");
	refused("0");
	refused("0h");
	refused("99999999999999999999999d"); /* strtoull saturates; still too long */
}

static void test_refused(void **state)
{
	(void)state;
	refused(NULL);
	refused("");
	refused("h");
	refused("-5m");
	refused("+5m");
	refused(" 5m");
	refused("5 m");
	refused("5mm");
	refused("5y");
	refused("5M");
	refused("5m ");
	refused("1.5h");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_units),
	    cmocka_unit_test(test_bounds),
	    cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
