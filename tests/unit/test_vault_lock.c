/*
 * test_vault_lock.c — one process at a time on a vault (src/vault/
 * vault_lock.c): a second open waits a bounded time and then names the
 * process holding the vault; a dead holder never blocks it; and, played
 * through the real relay, several processes sending on one vault at once
 * never encrypt two envelopes under one message key. Must never leave a
 * process or a folder behind.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <fcntl.h>

#include <signal.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/messenger.h"
#include "client/relay_client.h"
#include "envelope/envelope.h"
#include "session/message.h"
#include "session/ratchet.h"
#include "support.h"
#include "util/file.h"
#include "vault/vault.h"

#define SENDERS 3 /* processes sending on one vault at once */
#define NOTES 4	  /* notes each of them sends */
#define CHILD_MS 60000

static long long ms_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static pl_vault *open_as(const char *dir, const char *cmd, unsigned wait_ms, pl_err *e)
{
	pl_vault *v = NULL;
	pl_vault_open_opts o = {.cmd = cmd, .wait_ms = wait_ms};
	pl_err_clear(e);
	if (pl_vault_open_ex(&v, dir, PL_TEST_PASS, strlen(PL_TEST_PASS), &o, e) != 0)
		return NULL;
	return v;
}

/* --- the holder line ---------------------------------------------------- */

static int parse(const char *s)
{
	pl_vault_lock_holder h;
	return pl_vault_lock_holder_parse(&h, (const uint8_t *)s, strlen(s));
}

static void test_holder_parse(void **state)
{
	(void)state;
	pl_vault_lock_holder h;
	const char *ok = "4242 1700000000 relay-move\n";
	assert_int_equal(pl_vault_lock_holder_parse(&h, (const uint8_t *)ok, strlen(ok)), 0);
	assert_int_equal(h.pid, 4242);
	assert_int_equal(h.start, 1700000000);
	assert_string_equal(h.cmd, "relay-move");
	static const char *const bad[] = {
	    "",
	    "\n",
	    "4242 1700000000 send",		   /* no newline */
	    "4242 1700000000 send\n\n",		   /* more after it */
	    "0 1700000000 send\n",		   /* no process 0 */
	    "04242 1700000000 send\n",		   /* leading zero */
	    "4242  1700000000 send\n",		   /* two spaces */
	    "4242 1700000000 \n",		   /* no command */
	    "4242 1700000000 Send\n",		   /* not [a-z-] */
	    "4242 1700000000 se\x1b[2Jnd\n",	   /* a terminal escape */
	    "4242 17000000000000000000000 send\n", /* 23 digits */
	    "99999999999 1700000000 send\n",	   /* not a pid */
	    "-1 1700000000 send\n",
	    "4242 1700000000 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n", /* 33 letters */
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
		assert_int_equal(parse(bad[i]), -1);
	assert_int_equal(parse("4242 1700000000 aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\n"), 0);
}

/* --- the bounded wait --------------------------------------------------- */

static void test_second_open_waits_then_names_holder(void **state)
{
	(void)state;
	char root[96], dir[128], want[96], lock[160];
	pl_err e;
	pl_test_tmpdir(root, sizeof root, "lock");
	pl_vault_close(pl_test_vault_new(root, "a", "alice", "http://127.0.0.1:9"));
	snprintf(dir, sizeof dir, "%s/a", root);

	pl_vault *a = open_as(dir, "send", 0, &e);
	assert_non_null(a);
	long long t0 = ms_now();
	assert_null(open_as(dir, "sync", 400, &e));
	long long took = ms_now() - t0;
	assert_true(took >= 400 && took < 5000);
	assert_int_equal(e.code, PL_EXIT_VAULT);
	snprintf(want, sizeof want, "in use by parley process %ld (send), started at ",
		 (long)getpid());
	assert_non_null(strstr(e.msg, want));
	assert_non_null(strstr(e.msg, "try again when it has finished") ||
			strstr(e.msg, "Try again when it has finished"));
	pl_vault_close(a);

	/* Released: the file says nothing of who used the vault, or when. */
	struct stat sb;
	snprintf(lock, sizeof lock, "%s/vault.lock", dir);
	assert_int_equal(stat(lock, &sb), 0);
	assert_int_equal(sb.st_size, 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	a = open_as(dir, "sync", 400, &e);
	assert_non_null(a);
	pl_vault_close(a);
	pl_test_rm_rf(root);
}

/* A holder that dies (killed, not closed) releases the vault with it; a
 * waiter gets it as soon as the holder is gone, not after its full wait. */
static void test_dead_holder_releases(void **state)
{
	(void)state;
	char root[96], dir[128];
	int fds[2], hold[2];
	pl_err e;
	pl_test_tmpdir(root, sizeof root, "lock");
	pl_vault_close(pl_test_vault_new(root, "a", "alice", "http://127.0.0.1:9"));
	snprintf(dir, sizeof dir, "%s/a", root);
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(pipe(hold), 0);
	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		close(fds[0]);
		close(hold[1]);
		pl_vault *v = open_as(dir, "send", 0, &e);
		char c = v ? 'y' : 'n';
		if (write(fds[1], &c, 1) != 1)
			_exit(2);
		/* Killed holding the vault; ends by itself if the test dies. */
		while (read(hold[0], &c, 1) > 0)
			;
		_exit(1);
	}
	close(fds[1]);
	close(hold[0]);
	char c = 0;
	assert_int_equal(read(fds[0], &c, 1), 1);
	close(fds[0]);
	assert_int_equal(c, 'y');
	assert_null(open_as(dir, "inbox", 200, &e));
	assert_non_null(strstr(e.msg, "(send)"));
	long long t0 = ms_now();
	kill(pid, SIGKILL);
	pl_vault *v = open_as(dir, "inbox", 10000, &e);
	long long took = ms_now() - t0;
	assert_true(pl_test_wait(pid, 5000) != -1);
	close(hold[1]);
	assert_non_null(v);
	assert_true(took < 3000);
	pl_vault_close(v);
	pl_test_rm_rf(root);
}

/* A command opening the vault reads its file once before it waits for
 * the lock; the holder may be replacing the file at that moment and
 * overwriting the old copy (put_file). A header that reads as damaged
 * then is read again under the lock, not reported: here the holder spoils
 * the file in place and restores it before it lets go. */
static void test_damaged_read_before_lock_is_read_again(void **state)
{
	(void)state;
	char root[96], dir[128], path[160];
	pl_err e;
	pl_test_tmpdir(root, sizeof root, "lock-reread");
	pl_vault_close(pl_test_vault_new(root, "a", "alice", "http://127.0.0.1:9"));
	snprintf(dir, sizeof dir, "%s/a", root);
	snprintf(path, sizeof path, "%s/vault.pv", dir);

	pl_vault *a = open_as(dir, "send", 0, &e);
	assert_non_null(a);
	uint8_t *good = NULL;
	size_t n = 0;
	assert_int_equal(pl_file_read(path, 1u << 24, &good, &n, &e), 0);
	int fd = open(path, O_WRONLY);
	assert_true(fd >= 0);
	uint8_t *zero = calloc(1, n);
	assert_non_null(zero);
	assert_int_equal(pwrite(fd, zero, n, 0), (ssize_t)n);

	pid_t pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		pl_vault *b = open_as(dir, "sync", 20000, &e);
		if (b == NULL)
			fprintf(stderr, "second opener: %s\n", e.msg);
		else
			pl_vault_close(b);
		_exit(b == NULL ? 5 : 0);
	}
	struct timespec ts = {0, 400 * 1000000L};
	nanosleep(&ts, NULL); /* the child has read the spoiled file by now */
	assert_int_equal(pwrite(fd, good, n, 0), (ssize_t)n);
	close(fd);
	pl_vault_close(a);
	assert_int_equal(pl_test_wait(pid, CHILD_MS), 0);
	free(zero);
	free(good);
	pl_test_rm_rf(root);
}

/* --- no message key used twice ---------------------------------------------- */

typedef struct {
	char dir[128];
	pl_test_relay r;
} relay_env;

/* One sender process: opens the shared vault and sends NOTES notes. */
static void sender(const char *dir, int who)
{
	pl_err e;
	pl_vault *v = open_as(dir, "send", 0, &e);
	if (v == NULL) {
		fprintf(stderr, "sender %d: %s\n", who, e.msg);
		_exit(3);
	}
	int bad = 0;
	for (int i = 0; i < NOTES && !bad; i++) {
		char text[64];
		uint8_t id[8];
		int64_t seq;
		pl_sync_report r;
		memset(&r, 0, sizeof r);
		snprintf(text, sizeof text, "note %d from process %d", i, who);
		bad = pl_msgr_queue(v, "bob", PL_KIND_NOTE, (const uint8_t *)text, strlen(text), id,
				    &seq, &e) != 0 ||
		      pl_msgr_deliver(v, &r, &e) != 0;
	}
	if (bad)
		fprintf(stderr, "sender %d: %s\n", who, e.msg);
	pl_vault_close(v);
	_exit(bad ? 4 : 0);
}

/* The key a ratchet message was encrypted under is fixed by its header's
 * ratchet public key and message number: two envelopes with the same pair
 * were encrypted under the same message key (and the same fixed nonce). */
static size_t headers(pl_vault *b, uint8_t (*out)[36], size_t cap)
{
	pl_rc_conn *c;
	pl_rc_listing l;
	pl_err e;
	size_t n = 0;
	pl_err_clear(&e);
	if (pl_msgr_open_relay(b, &c, &e) != 0 || pl_rc_fetch(c, pl_vault_identity(b), 0, &l, &e))
		fail_msg("fetch: %s", e.msg);
	for (uint32_t i = 0; i < l.list.count; i++) {
		uint8_t *inner, from[PL_IK_LEN];
		const uint8_t *msg;
		size_t innerlen, msglen;
		pl_smsg m;
		assert_int_equal(pl_envelope_open(&inner, &innerlen, from, &msg, &msglen,
						  pl_vault_identity(b), l.list.item[i].env,
						  l.list.item[i].envlen),
				 0);
		assert_int_equal(pl_smsg_decode(&m, msg, msglen), 0);
		assert_true(m.ratchetlen >= PL_RATCHET_HEADER_LEN);
		assert_true(n < cap);
		memcpy(out[n], m.ratchet, 32);		/* ratchet public key */
		memcpy(out[n] + 32, m.ratchet + 36, 4); /* message number */
		n++;
		sodium_memzero(inner, innerlen);
		free(inner);
	}
	pl_rc_listing_free(&l);
	pl_rc_close(c);
	return n;
}

static void test_parallel_senders_never_reuse_a_key(void **state)
{
	(void)state;
	relay_env env;
	char data[160], adir[160];
	pl_err e;
	pl_test_tmpdir(env.dir, sizeof env.dir, "lock-relay");
	snprintf(data, sizeof data, "%s/data", env.dir);
	static const char *const args[] = {"--new-mailboxes-per-hour", "0", NULL};
	if (pl_test_relay_start(&env.r, data, 0, args) != 0) {
		pl_test_rm_rf(env.dir);
		skip();
	}
	pl_vault *a = pl_test_vault_new(env.dir, "a", "alice", env.r.url);
	pl_vault *b = pl_test_vault_new(env.dir, "b", "bob", env.r.url);
	pl_err_clear(&e);
	assert_int_equal(pl_msgr_publish(a, &e), 0);
	assert_int_equal(pl_msgr_publish(b, &e), 0);
	pl_test_befriend(a, "bob", b);
	pl_test_befriend(b, "alice", a);
	pl_vault_close(a); /* from now on only the sender processes hold it */
	snprintf(adir, sizeof adir, "%s/a", env.dir);

	pid_t pid[SENDERS];
	for (int i = 0; i < SENDERS; i++) {
		pid[i] = fork();
		assert_true(pid[i] >= 0);
		if (pid[i] == 0)
			sender(adir, i);
	}
	for (int i = 0; i < SENDERS; i++)
		assert_int_equal(pl_test_wait(pid[i], CHILD_MS), 0);

	uint8_t h[SENDERS * NOTES + 8][36];
	size_t n = headers(b, h, sizeof h / sizeof h[0]);
	assert_int_equal(n, SENDERS * NOTES);
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			if (memcmp(h[i], h[j], sizeof h[i]) == 0)
				fail_msg("envelopes %zu and %zu were encrypted under one message "
					 "key",
					 i, j);

	pl_sync_report r;
	pl_test_sync(b, &r);
	assert_int_equal(r.received, SENDERS * NOTES);
	assert_int_equal(r.rejected, 0);
	pl_vault_close(b);
	pl_test_relay_stop(&env.r);
	pl_test_rm_rf(env.dir);
}

int main(int argc, char **argv)
{
	(void)argc;
	if (sodium_init() < 0)
		return 1;
	pl_test_relay_bin(argv[0]);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_holder_parse),
	    cmocka_unit_test(test_second_open_waits_then_names_holder),
	    cmocka_unit_test(test_dead_holder_releases),
	    cmocka_unit_test(test_damaged_read_before_lock_is_read_again),
	    cmocka_unit_test(test_parallel_senders_never_reuse_a_key),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
