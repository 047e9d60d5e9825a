/*
 * test_views.c — what the command line reads from a person (issue 14):
 * shortened item ids (unique prefix of 4+ hex digits, as git takes them;
 * too short, not hex, ambiguous refused) and the absolute times --expires
 * takes (RFC 3339, a date and time with an offset or zone; no zone, past
 * times and impossible dates refused), and how a time is shown (UTC and
 * TZ).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "cli/cli.h"
#include "support.h"
#include "util/codec.h"

/* --- id prefixes ------------------------------------------------------------ */

static const uint8_t ids[][8] = {
    {0xab, 0xcd, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01},
    {0xab, 0xcd, 0x02, 0x00, 0x00, 0x00, 0x00, 0x02},
    {0x12, 0x34, 0x56, 0x78, 0x9a, 0xbc, 0xde, 0xf0},
    {0xab, 0xcd, 0x01, 0x00, 0x00, 0x00, 0x00, 0x01}, /* the first again */
};
#define NIDS (sizeof ids / sizeof ids[0])

static void test_prefix_unique(void **state)
{
	(void)state;
	size_t idx[4];
	assert_int_equal(pl_cli_id_prefix_matches("1234", ids, NIDS, idx, 4), 1);
	assert_int_equal(idx[0], 2);
	assert_int_equal(pl_cli_id_prefix_matches("123456789abcdef0", ids, NIDS, idx, 4), 1);
	assert_int_equal(pl_cli_id_prefix_matches("123456789ABCDEF0", ids, NIDS, idx, 4), 1);
	assert_int_equal(pl_cli_id_prefix_matches("abcd02", ids, NIDS, idx, 4), 1);
	assert_int_equal(idx[0], 1);
	/* an odd number of digits compares the high half of the last byte */
	assert_int_equal(pl_cli_id_prefix_matches("abcd0", ids, NIDS, idx, 4), 2);
	assert_int_equal(pl_cli_id_prefix_matches("12345", ids, NIDS, idx, 4), 1);
	assert_int_equal(pl_cli_id_prefix_matches("12346", ids, NIDS, idx, 4), 0);
}

static void test_prefix_ambiguous(void **state)
{
	(void)state;
	size_t idx[4] = {99, 99, 99, 99};
	/* the same id twice (e.g. both directions) counts once */
	assert_int_equal(pl_cli_id_prefix_matches("abcd", ids, NIDS, idx, 4), 2);
	assert_int_equal(idx[0], 0);
	assert_int_equal(idx[1], 1);
	assert_int_equal(pl_cli_id_prefix_matches("abcd01", ids, NIDS, idx, 4), 1);
	/* cap limits what is written, not the count */
	idx[0] = idx[1] = 99;
	assert_int_equal(pl_cli_id_prefix_matches("abcd", ids, NIDS, idx, 1), 2);
	assert_int_equal(idx[1], 99);
}

static void test_prefix_refused(void **state)
{
	(void)state;
	size_t idx[4];
	assert_int_equal(pl_cli_id_prefix_matches("abc", ids, NIDS, idx, 4), -1);
	assert_int_equal(pl_cli_id_prefix_matches("", ids, NIDS, idx, 4), -1);
	assert_int_equal(pl_cli_id_prefix_matches("abcg", ids, NIDS, idx, 4), -1);
	assert_int_equal(pl_cli_id_prefix_matches("abcd ", ids, NIDS, idx, 4), -1);
	assert_int_equal(pl_cli_id_prefix_matches("-abcd", ids, NIDS, idx, 4), -1);
	assert_int_equal(pl_cli_id_prefix_matches("123456789abcdef01", ids, NIDS, idx, 4), -1);
	assert_int_equal(pl_cli_id_prefix_matches("1234", ids, 0, idx, 4), 0);
	assert_int_equal(pl_cli_id_arg("accept", "abc"), PL_EXIT_USAGE);
	assert_int_equal(pl_cli_id_arg("accept", "xyzw"), PL_EXIT_USAGE);
	assert_int_equal(pl_cli_id_arg("accept", "abcd"), 0);
	assert_int_equal(pl_cli_id_arg("accept", "ABCD0123"), 0);
}

/* pl_cli_resolve_id against a real vault holding two items whose ids share
 * their first four digits. */
static void test_resolve_in_vault(void **state)
{
	(void)state;
	char dir[256];
	pl_test_tmpdir(dir, sizeof dir, "views");
	pl_vault *a = pl_test_vault_new(dir, "a", "United States", "http://127.0.0.1:9");
	pl_vault *b = pl_test_vault_new(dir, "b", "ایران", "http://127.0.0.1:9");
	pl_contact c;
	memset(&c, 0, sizeof c);
	snprintf(c.name, sizeof c.name, "ایران");
	memcpy(c.ik, pl_vault_identity(b)->pk, PL_IK_LEN);
	pl_err e;
	pl_err_clear(&e);
	assert_int_equal(pl_vault_contact_put(a, &c, &e), 0);
	for (size_t i = 0; i < 3; i++) {
		pl_item it;
		memset(&it, 0, sizeof it);
		memcpy(it.id, ids[i], 8);
		snprintf(it.contact, sizeof it.contact, "ایران");
		it.dir = PL_DIR_IN;
		it.kind = PL_KIND_NOTE;
		it.time = 1;
		snprintf(it.state, sizeof it.state, "received");
		pl_wr_init(&it.body);
		pl_wr_init(&it.receipt);
		pl_wr_bytes(&it.body, (const uint8_t *)"hi", 2);
		assert_int_equal(pl_vault_item_add(a, &it, &e), 0);
		pl_vault_item_free(&it);
	}
	uint8_t id[8];
	assert_int_equal(pl_cli_resolve_id(a, "1234", id, &e), 0);
	assert_memory_equal(id, ids[2], 8);
	assert_int_equal(pl_cli_resolve_id(a, "ABCD02", id, &e), 0);
	assert_memory_equal(id, ids[1], 8);
	pl_err_clear(&e);
	assert_int_equal(pl_cli_resolve_id(a, "abcd", id, &e), -1);
	assert_int_equal(e.code, PL_EXIT_USAGE);
	assert_non_null(strstr(e.msg, "ambiguous"));
	assert_non_null(strstr(e.msg, "abcd010000000001"));
	assert_non_null(strstr(e.msg, "abcd020000000002"));
	pl_err_clear(&e);
	assert_int_equal(pl_cli_resolve_id(a, "ffff", id, &e), -1);
	assert_int_equal(e.code, PL_EXIT_NOTFOUND);
	pl_vault_close(a);
	pl_vault_close(b);
	pl_test_rm_rf(dir);
}

/* --- absolute times --------------------------------------------------------- */

static const uint64_t NOW = 1764979200; /* 2025-12-06T00:00:00Z */

static uint64_t when_ok(const char *s)
{
	uint64_t t = 0;
	char why[256] = "";
	if (pl_cli_parse_when(s, NOW, &t, why, sizeof why) != 0)
		fail_msg("%s refused: %s", s, why);
	return t;
}

static void when_refused(const char *s, const char *says)
{
	uint64_t t = 777;
	char why[256] = "";
	assert_int_equal(pl_cli_parse_when(s, NOW, &t, why, sizeof why), -1);
	assert_int_equal(t, 777);
	if (strstr(why, says) == NULL)
		fail_msg("%s: \"%s\" lacks \"%s\"", s, why, says);
}

static void test_when_forms(void **state)
{
	(void)state;
	uint64_t base = 4070908800; /* 2099-01-01T00:00:00Z */
	assert_int_equal(when_ok("2099-01-01T00:00:00Z"), base);
	assert_int_equal(when_ok("2099-01-01t00:00:00z"), base);
	assert_int_equal(when_ok("2099-01-01T00:00Z"), base);
	assert_int_equal(when_ok("2099-01-01T00:00:00.250Z"), base);
	assert_int_equal(when_ok("2099-01-01T03:30:00+03:30"), base);
	assert_int_equal(when_ok("2099-01-01T03:30+0330"), base);
	assert_int_equal(when_ok("2098-12-31T19:00:00-05:00"), base);
	assert_int_equal(when_ok("2099-01-01 00:00 UTC"), base);
	assert_int_equal(when_ok("2099-01-01 03:30 +03:30"), base);
	/* zone names from the system's zone database, with their rules */
	assert_int_equal(when_ok("2099-01-01 03:30 Asia/Tehran"), base);
	assert_int_equal(when_ok("2098-12-31 19:00 America/New_York"), base);
	assert_int_equal(when_ok("2099-07-01 12:00 Europe/Zurich"), base + 181 * 86400 + 10 * 3600);
	assert_int_equal(when_ok("2096-02-29T00:00:00Z"), 3981312000);
	/* TZ is left as it was */
	setenv("TZ", "America/New_York", 1);
	when_ok("2099-01-01 03:30 Asia/Tehran");
	assert_string_equal(getenv("TZ"), "America/New_York");
	unsetenv("TZ");
}

static void test_when_refused(void **state)
{
	(void)state;
	when_refused("2099-01-01", "without a time and time zone");
	when_refused("2099-01-01T10:00:00", "no time zone");
	when_refused("2099-01-01 10:00", "no time zone");
	when_refused("2020-01-01T00:00:00Z", "already past");
	when_refused("2025-12-06T00:00:00Z", "already past"); /* now is not later than now */
	when_refused("2099-02-29T00:00:00Z", "not a real date");
	when_refused("2099-13-01T00:00:00Z", "not a real date");
	when_refused("2099-01-01T24:00:00Z", "not a real date");
	when_refused("2099-01-01T10:61:00Z", "not a real date");
	when_refused("tomorrow", "cannot read");
	when_refused("", "cannot read");
	when_refused("2099-1-01T00:00:00Z", "cannot read");
	when_refused("2099-01-01T00:00:00+3", "cannot read");
	when_refused("2099-01-01T00:00:00+03:30x", "cannot read");
	when_refused("2099-01-01T00:00:00ZZ", "unknown time zone");
	when_refused("2099-01-01 00:00 Mars/Olympus", "unknown time zone");
	when_refused("2099-01-01 00:00 ../../../etc/passwd", "unknown time zone");
	when_refused("2099-01-01 00:00 /etc/localtime", "unknown time zone");
	when_refused("2099-0\n-23 10:00", "control character"); /* never echoed */
}

static void test_time_text(void **state)
{
	(void)state;
	char s[128];
	setenv("TZ", "UTC", 1);
	tzset();
	pl_cli_time_text(s, sizeof s, 4070908800);
	assert_string_equal(s, "2099-01-01T00:00:00Z");
	setenv("TZ", "Asia/Tehran", 1);
	tzset();
	pl_cli_time_text(s, sizeof s, 4070908800);
	assert_string_equal(s, "2099-01-01T00:00:00Z (2099-01-01 03:30 +0330)");
	setenv("TZ", "America/New_York", 1);
	tzset();
	pl_cli_time_text(s, sizeof s, 4070908800);
	assert_string_equal(s, "2099-01-01T00:00:00Z (2098-12-31 19:00 EST)");
	unsetenv("TZ");
	tzset();
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_prefix_unique),  cmocka_unit_test(test_prefix_ambiguous),
	    cmocka_unit_test(test_prefix_refused), cmocka_unit_test(test_resolve_in_vault),
	    cmocka_unit_test(test_when_forms),	   cmocka_unit_test(test_when_refused),
	    cmocka_unit_test(test_time_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
