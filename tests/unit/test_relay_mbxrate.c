/*
 * test_relay_mbxrate.c — the relay's allowance of new mailboxes per client
 * address (relay/mbxrate.h): N at once, then one every 3600/N s, each
 * address on its own, the wait it reports, the table's bound and whom it
 * evicts, and 0 for no limit. The clock is passed in, so no test waits.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <string.h>

#include "relay/mbxrate.h"

static void addr(uint8_t out[PL_MBXRATE_ADDR_LEN], unsigned n)
{
	memset(out, 0, PL_MBXRATE_ADDR_LEN);
	out[10] = out[11] = 0xff;
	out[12] = 10;
	out[13] = (uint8_t)(n >> 16);
	out[14] = (uint8_t)(n >> 8);
	out[15] = (uint8_t)n;
}

#define T0 1000000u /* ms: any starting point of the monotonic clock */

static void test_allowance(void **state)
{
	(void)state;
	pl_mbxrate r;
	uint8_t a[PL_MBXRATE_ADDR_LEN], b[PL_MBXRATE_ADDR_LEN];

	addr(a, 1);
	addr(b, 2);
	assert_int_equal(pl_mbxrate_init(&r, 20, 8), 0);
	for (int i = 0; i < 20; i++)
		assert_true(pl_mbxrate_take(&r, a, T0) == 0); /* 20 at once */
	/* the 21st waits one step, 3600/20 = 180 s */
	assert_true(pl_mbxrate_take(&r, a, T0) == 180);
	assert_true(pl_mbxrate_take(&r, a, T0 + 179000) == 1);
	/* another address has its own allowance */
	assert_true(pl_mbxrate_take(&r, b, T0) == 0);
	/* after one step, one more; then the wait again */
	assert_true(pl_mbxrate_take(&r, a, T0 + 180000) == 0);
	assert_true(pl_mbxrate_take(&r, a, T0 + 180000) == 180);
	/* an hour of quiet gives the whole allowance back, no more */
	for (int i = 0; i < 20; i++)
		assert_true(pl_mbxrate_take(&r, a, T0 + 4000000) == 0);
	assert_true(pl_mbxrate_take(&r, a, T0 + 4000000) > 0);
	/* a refusal does not count: asking every second does not push it back */
	uint64_t w = pl_mbxrate_take(&r, a, T0 + 4001000);
	assert_true(w == 179);
	assert_true(pl_mbxrate_take(&r, a, T0 + 4000000 + 180000) == 0);
	pl_mbxrate_free(&r);
}

static void test_bounded_table(void **state)
{
	(void)state;
	pl_mbxrate r;
	uint8_t a[PL_MBXRATE_ADDR_LEN];

	assert_int_equal(pl_mbxrate_init(&r, 1, 4), 0);
	for (unsigned i = 0; i < 4; i++) {
		addr(a, i);
		assert_true(pl_mbxrate_take(&r, a, T0 + i) == 0);
	}
	assert_true(r.n == 4);
	/* a fifth address evicts the oldest (address 0), never grows it */
	addr(a, 4);
	assert_true(pl_mbxrate_take(&r, a, T0 + 10) == 0);
	assert_true(r.n == 4);
	addr(a, 1);
	assert_true(pl_mbxrate_take(&r, a, T0 + 11) == 3600); /* still remembered */
	addr(a, 0);
	assert_true(pl_mbxrate_take(&r, a, T0 + 12) == 0); /* forgotten: a fresh allowance */
	pl_mbxrate_free(&r);
}

static void test_no_limit(void **state)
{
	(void)state;
	pl_mbxrate r;
	uint8_t a[PL_MBXRATE_ADDR_LEN];

	addr(a, 1);
	assert_int_equal(pl_mbxrate_init(&r, 0, 4096), 0);
	for (int i = 0; i < 10000; i++)
		assert_true(pl_mbxrate_take(&r, a, T0) == 0);
	assert_null(r.slot); /* nothing allocated */
	pl_mbxrate_free(&r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_allowance),
	    cmocka_unit_test(test_bounded_table),
	    cmocka_unit_test(test_no_limit),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
