/*
 * test_relay_ckpt.c — the relay's WAL checkpoint policy
 * (pl_store_ckpt_plan, relay/store.h), on its own and driving a model of
 * the relay: a committer that appends frames to the WAL on every commit, a
 * background checkpointer that copies what the WAL held when it started
 * and needs time to do so, and SQLite's rule that the next write
 * transaction restarts a WAL whose every frame was copied. Under a steady
 * stream of commits the WAL stays below PL_STORE_CKPT_RESTART pages and a
 * step, the checkpointer runs at most twice per step's worth of frames
 * (not once per commit: every run costs two fsyncs), and the committer never copies more than
 * PL_STORE_CKPT_TAIL pages itself, also when the checkpointer is only
 * just faster than the commits. Pure computation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "relay/store.h"

static void test_plan_points(void **state)
{
	(void)state;
	/* below the step: nothing; a step's worth not yet copied: wake */
	assert_int_equal(pl_store_ckpt_plan(0, 0, 1), PL_STORE_CKPT_NONE);
	assert_int_equal(pl_store_ckpt_plan(PL_STORE_CKPT_STEP - 1, 0, 1), PL_STORE_CKPT_NONE);
	assert_int_equal(pl_store_ckpt_plan(PL_STORE_CKPT_STEP, 0, 1), PL_STORE_CKPT_WAKE);
	/* what was copied does not count */
	assert_int_equal(pl_store_ckpt_plan(PL_STORE_CKPT_STEP + 100, 101, 1), PL_STORE_CKPT_NONE);
	assert_int_equal(pl_store_ckpt_plan(PL_STORE_CKPT_STEP + 100, 100, 1), PL_STORE_CKPT_WAKE);
	/* a copied count past the WAL (it restarted since) is no backlog */
	assert_int_equal(pl_store_ckpt_plan(10, 5000, 1), PL_STORE_CKPT_NONE);
	/* past the restart size: the checkpointer until little is left,
	 * then the committer finishes */
	assert_int_equal(pl_store_ckpt_plan(PL_STORE_CKPT_RESTART, 0, 1), PL_STORE_CKPT_WAKE);
	assert_int_equal(pl_store_ckpt_plan(PL_STORE_CKPT_RESTART,
					    PL_STORE_CKPT_RESTART - PL_STORE_CKPT_TAIL - 1, 1),
			 PL_STORE_CKPT_WAKE);
	assert_int_equal(pl_store_ckpt_plan(PL_STORE_CKPT_RESTART,
					    PL_STORE_CKPT_RESTART - PL_STORE_CKPT_TAIL, 1),
			 PL_STORE_CKPT_INLINE);
	/* the hard limit, with or without a checkpointer */
	assert_int_equal(pl_store_ckpt_plan(PL_STORE_CKPT_HARD, 0, 1), PL_STORE_CKPT_INLINE);
	assert_int_equal(pl_store_ckpt_plan(PL_STORE_CKPT_HARD - 1, 0, 0), PL_STORE_CKPT_NONE);
	assert_int_equal(pl_store_ckpt_plan(PL_STORE_CKPT_HARD, 0, 0), PL_STORE_CKPT_INLINE);
}

typedef struct {
	long commits, restarts, runs, inlines;
	int max_pages, max_inline;
} sim_result;

/* frames: WAL frames per commit; rate: pages the checkpointer copies in
 * the time of one commit. Mirrors wal_hook() and checkpointer() in
 * store.c, with the WAL's frame and copied counts as SQLite keeps them. */
static sim_result simulate(long commits, int frames, int rate)
{
	sim_result r = {0};
	int pages = 0, copied = 0; /* the WAL as SQLite sees it */
	int seen = 0;		   /* s->ckpt_copied */
	int want = 0, busy = 0, target = 0;

	for (long c = 0; c < commits; c++) {
		/* a write transaction restarts a WAL that was copied in full */
		if (pages > 0 && copied == pages) {
			pages = copied = 0;
			r.restarts++;
		}
		pages += frames;
		r.commits++;
		if (pages > r.max_pages)
			r.max_pages = pages;

		/* the checkpointer's run, started before this commit, goes on
		 * (it copies what the WAL held when it started) */
		if (busy) {
			int left = target - copied;
			copied += left < rate ? left : rate;
			if (copied >= target) {
				busy = 0;
				if (copied > seen)
					seen = copied;
			}
		}

		/* wal_hook */
		if (seen > pages)
			seen = 0;
		int plan = pl_store_ckpt_plan(pages, seen, 1);
		if (plan == PL_STORE_CKPT_WAKE)
			want = 1;
		if (plan == PL_STORE_CKPT_INLINE && !busy) {
			/* (while the checkpointer runs, SQLite answers the
			 * committer's checkpoint SQLITE_BUSY: it copies nothing) */
			int n = pages - copied;
			if (n > r.max_inline)
				r.max_inline = n;
			r.inlines++;
			copied = pages;
			if (copied > seen)
				seen = copied;
		}

		/* the checkpointer wakes */
		if (!busy && want) {
			want = 0;
			busy = 1;
			target = pages;
			r.runs++;
		}
	}
	return r;
}

static void test_steady_stream(void **state)
{
	static const int rates[] = {4000, 400, 100, 30};

	(void)state;
	/* ~12 frames per commit, as the relay writes at 64 senders; the
	 * checkpointer copies faster than commits add, by 333x to 2.5x */
	for (size_t i = 0; i < sizeof rates / sizeof rates[0]; i++) {
		sim_result r = simulate(400000, 12, rates[i]);

		assert_true(r.restarts >= 3);
		/* the WAL stays below the restart size and a step */
		assert_true(r.max_pages <= PL_STORE_CKPT_RESTART + PL_STORE_CKPT_STEP);
		/* at most two runs (the second copies what came during the
		 * first) per step's worth of frames and a few to finish each
		 * restart; not one per commit */
		assert_true(r.runs <=
			    2 * (r.commits * 12 / PL_STORE_CKPT_STEP + 1) + 8 * (r.restarts + 1));
		/* the committer only finishes: at most the tail, once per restart */
		assert_true(r.max_inline <= PL_STORE_CKPT_TAIL);
		assert_true(r.inlines <= r.restarts + 1);
	}
}

static void test_slow_checkpointer(void **state)
{
	(void)state;
	/* a checkpointer barely faster than the commits (13 pages copied per
	 * 12 written): it takes longer to finish, but the WAL still restarts
	 * below the hard limit, and the committer still copies at most the
	 * tail. (A checkpointer slower than the commits cannot bound the WAL:
	 * the committer's own checkpoint finds it busy; the relay does not
	 * hold commits back for it.) */
	sim_result r = simulate(400000, 12, 13);

	assert_true(r.restarts >= 3);
	assert_true(r.max_pages < PL_STORE_CKPT_HARD);
	assert_true(r.max_inline <= PL_STORE_CKPT_TAIL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plan_points),
	    cmocka_unit_test(test_steady_stream),
	    cmocka_unit_test(test_slow_checkpointer),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
