/*
 * test_relay_opts.c — parley-relay's command line (pl_relay_opts_parse,
 * relay/server_int.h): the argument vectors it accepts and what it makes
 * of them, the ones it refuses and the one sentence it gives for each, and
 * (through the real binary) how a refusal and --help reach the terminal.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "relay/server_int.h"
#include "util/err.h"

#include "relay/server.h"
#include "support.h"

#define ARGV_MAX 16

/* Parses the NULL-terminated vector (argv[0] is added). */
static int parse(pl_relay_opts *o, pl_err *e, const char *const *args)
{
	char *argv[ARGV_MAX + 1];
	int argc = 0;

	argv[argc++] = "parley-relay";
	for (; *args != NULL; args++) {
		assert_true(argc < ARGV_MAX);
		argv[argc++] = (char *)*args;
	}
	argv[argc] = NULL;
	pl_err_clear(e);
	return pl_relay_opts_parse(o, argc, argv, e);
}

static void expect_ok(pl_relay_opts *o, const char *const *args)
{
	pl_err e;
	if (parse(o, &e, args) != 0)
		fail_msg("refused: %s", e.msg);
}

static void expect_refused(const char *const *args, const char *msg)
{
	pl_relay_opts o;
	pl_err e;

	assert_int_equal(parse(&o, &e, args), -1);
	assert_int_equal(e.code, PL_EXIT_USAGE);
	assert_string_equal(e.msg, msg);
}

#define V(...) ((const char *const[]){__VA_ARGS__, NULL})

static void assert_addr(const pl_relay_opts *o, const char *ip, unsigned port)
{
	char got[INET_ADDRSTRLEN];

	assert_int_equal(o->addr.sin_family, AF_INET);
	assert_non_null(inet_ntop(AF_INET, &o->addr.sin_addr, got, sizeof got));
	assert_string_equal(got, ip);
	assert_int_equal(ntohs(o->addr.sin_port), port);
}

static void test_accepted(void **st)
{
	pl_relay_opts o;
	(void)st;

	expect_ok(&o, V("--listen", "127.0.0.1:8470", "--data", "/srv/relay"));
	assert_string_equal(o.listen, "127.0.0.1:8470");
	assert_string_equal(o.data, "/srv/relay");
	assert_addr(&o, "127.0.0.1", 8470);
	assert_null(o.cert);
	assert_null(o.key);
	assert_false(o.help || o.print_key || o.no_log);

	/* any order; port 0 picks a free port; the largest port */
	expect_ok(&o, V("--data", "d", "--listen", "0.0.0.0:0"));
	assert_addr(&o, "0.0.0.0", 0);
	expect_ok(&o, V("--listen", "10.1.2.3:65535", "--data", "d"));
	assert_addr(&o, "10.1.2.3", 65535);

	expect_ok(&o, V("--listen", "127.0.0.1:1", "--data", "d", "--tls-cert", "c.pem",
			"--tls-key", "k.pem"));
	assert_string_equal(o.cert, "c.pem");
	assert_string_equal(o.key, "k.pem");

	expect_ok(&o, V("--no-log", "--listen", "127.0.0.1:1", "--data", "d"));
	assert_true(o.no_log);
	assert_false(o.print_key);

	/* connections per client address: a default, a number, or 0 for none */
	expect_ok(&o, V("--listen", "127.0.0.1:1", "--data", "d"));
	assert_int_equal(o.per_ip, PL_RELAY_PER_IP_DEFAULT);
	expect_ok(&o, V("--listen", "127.0.0.1:1", "--data", "d", "--max-conns-per-ip", "7"));
	assert_int_equal(o.per_ip, 7);
	expect_ok(&o, V("--listen", "127.0.0.1:1", "--data", "d", "--max-conns-per-ip", "0"));
	assert_int_equal(o.per_ip, 0);

	/* the other limits: defaults, values, and 0 for none */
	expect_ok(&o, V("--listen", "127.0.0.1:1", "--data", "d"));
	assert_int_equal(o.request_timeout, PL_RELAY_REQUEST_TIMEOUT_DEFAULT);
	assert_true(o.mbx_msgs == PL_RELAY_MBX_MSGS_DEFAULT);
	assert_true(o.mbx_bytes == PL_RELAY_MBX_BYTES_DEFAULT);
	assert_int_equal(o.new_mbx, PL_RELAY_NEW_MBX_DEFAULT);
	assert_true(o.store_mb == 0); /* no cap but the disk */
	expect_ok(&o, V("--listen", "127.0.0.1:1", "--data", "d", "--request-timeout", "5",
			"--mailbox-max-messages", "7", "--mailbox-max-bytes", "65584",
			"--new-mailboxes-per-hour", "3", "--max-store-mb", "100"));
	assert_int_equal(o.request_timeout, 5);
	assert_true(o.mbx_msgs == 7);
	assert_true(o.mbx_bytes == 65584);
	assert_int_equal(o.new_mbx, 3);
	assert_true(o.store_mb == 100);
	expect_ok(&o, V("--listen", "127.0.0.1:1", "--data", "d", "--request-timeout", "0",
			"--mailbox-max-messages", "0", "--mailbox-max-bytes", "0",
			"--new-mailboxes-per-hour", "0", "--max-store-mb", "0"));
	assert_int_equal(o.request_timeout, 0);
	assert_true(o.mbx_msgs == 0 && o.mbx_bytes == 0 && o.new_mbx == 0 && o.store_mb == 0);
	/* sizes in K, M and G are KiB, MiB and GiB */
	expect_ok(&o, V("--listen", "127.0.0.1:1", "--data", "d", "--mailbox-max-bytes", "512K"));
	assert_true(o.mbx_bytes == 512u << 10);
	expect_ok(&o, V("--listen", "127.0.0.1:1", "--data", "d", "--mailbox-max-bytes", "256M"));
	assert_true(o.mbx_bytes == 256u << 20);
	expect_ok(&o, V("--listen", "127.0.0.1:1", "--data", "d", "--mailbox-max-bytes", "2G"));
	assert_true(o.mbx_bytes == 2ull << 30);
	expect_ok(&o, V("--listen", "127.0.0.1:1", "--data", "d", "--request-timeout", "3600",
			"--new-mailboxes-per-hour", "100000"));
	assert_int_equal(o.request_timeout, 3600);
	assert_int_equal(o.new_mbx, 100000);

	/* --print-key needs no address, and none is parsed */
	expect_ok(&o, V("--print-key", "--data", "d"));
	assert_true(o.print_key);
	assert_null(o.listen);
	assert_int_equal(o.addr.sin_family, 0);

	/* a value may look like a flag: it is the option's value */
	expect_ok(&o, V("--data", "--listen", "--listen", "127.0.0.1:2"));
	assert_string_equal(o.data, "--listen");
	assert_addr(&o, "127.0.0.1", 2);
}

static void test_help(void **st)
{
	pl_relay_opts o;
	(void)st;

	expect_ok(&o, V("--help"));
	assert_true(o.help);
	expect_ok(&o, V("-h"));
	assert_true(o.help);
	/* --help ends the parse: what follows it is not looked at */
	expect_ok(&o, V("--listen", "127.0.0.1:1", "--help", "--frobnicate"));
	assert_true(o.help);
	/* but what precedes it is */
	expect_refused(V("--frobnicate", "--help"), "unknown argument \"--frobnicate\"");
	expect_refused(V("--data", "a", "--data", "b", "--help"), "--data given twice");
}

static void test_refused(void **st)
{
	(void)st;
	const char *const none[] = {NULL};

	expect_refused(none, "--listen ADDR:PORT is required");
	expect_refused(V("--data", "d"), "--listen ADDR:PORT is required");
	expect_refused(V("--listen", "127.0.0.1:1"), "--data DIR is required");
	expect_refused(V("--listen", "127.0.0.1:1", "--data", "d", "--frobnicate"),
		       "unknown argument \"--frobnicate\"");
	expect_refused(V("listen"), "unknown argument \"listen\"");
	expect_refused(V("--data", "d", "--listen"), "--listen needs a value");
	expect_refused(V("--listen", "", "--data", "d"), "--listen needs a value");
	expect_refused(V("--tls-key"), "--tls-key needs a value");
	expect_refused(V("--listen", "127.0.0.1:1", "--listen", "127.0.0.1:2", "--data", "d"),
		       "--listen given twice");
	expect_refused(V("--tls-cert", "a", "--tls-cert", "a"), "--tls-cert given twice");
	expect_refused(V("--no-log", "--no-log", "--listen", "127.0.0.1:1", "--data", "d"),
		       "--no-log given twice");
	expect_refused(V("--print-key", "--print-key", "--data", "d"), "--print-key given twice");

	/* --print-key takes --data and nothing else */
	expect_refused(V("--print-key"), "--data DIR is required");
	expect_refused(V("--print-key", "--listen", "127.0.0.1:1", "--data", "d"),
		       "--print-key takes only --data DIR");
	expect_refused(V("--print-key", "--no-log", "--data", "d"),
		       "--print-key takes only --data DIR");
	expect_refused(V("--print-key", "--tls-key", "k", "--data", "d"),
		       "--print-key takes only --data DIR");

	/* a limit per address is a number up to the relay's whole limit */
	static const char *const bad_limits[] = {"x", "-1", "01", "1001", "99999999999999999999"};
	for (size_t i = 0; i < sizeof bad_limits / sizeof bad_limits[0]; i++) {
		char want[PL_ERR_MSG_MAX];
		snprintf(want, sizeof want,
			 "--max-conns-per-ip wants a number from 0 (no limit) to 1000; got \"%s\"",
			 bad_limits[i]);
		expect_refused(V("--listen", "127.0.0.1:1", "--data", "d", "--max-conns-per-ip",
				 bad_limits[i]),
			       want);
	}
	expect_refused(V("--print-key", "--data", "d", "--max-conns-per-ip", "5"),
		       "--print-key takes only --data DIR");
	/* the other limits: numbers in range, each refusal names its option */
	static const struct {
		const char *opt, *val, *msg;
	} bad[] = {
	    {"--request-timeout", "x", "--request-timeout wants seconds from 0 (no limit) to 3600"},
	    {"--request-timeout", "3601",
	     "--request-timeout wants seconds from 0 (no limit) to 3600"},
	    {"--request-timeout", "-1",
	     "--request-timeout wants seconds from 0 (no limit) to 3600"},
	    {"--mailbox-max-messages", "01",
	     "--mailbox-max-messages wants a number from 0 (no limit) to 4294967295"},
	    {"--mailbox-max-messages", "4294967296",
	     "--mailbox-max-messages wants a number from 0 (no limit) to 4294967295"},
	    {"--new-mailboxes-per-hour", "100001",
	     "--new-mailboxes-per-hour wants a number from 0 (no limit) to 100000"},
	    {"--new-mailboxes-per-hour", "1.5",
	     "--new-mailboxes-per-hour wants a number from 0 (no limit) to 100000"},
	    {"--max-store-mb", "4194305",
	     "--max-store-mb wants a number of MiB from 0 (no limit) to 4194304"},
	    {"--max-store-mb", "1M",
	     "--max-store-mb wants a number of MiB from 0 (no limit) to "
	     "4194304"},
	};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char want[PL_ERR_MSG_MAX];
		snprintf(want, sizeof want, "%s; got \"%s\"", bad[i].msg, bad[i].val);
		expect_refused(V("--listen", "127.0.0.1:1", "--data", "d", bad[i].opt, bad[i].val),
			       want);
	}
	static const char *const bad_sizes[] = {
	    "65583", "64K", "x", "M", "1T", "-1M", "1m", "01M", "1125899906842625", "1048577G"};
	for (size_t i = 0; i < sizeof bad_sizes / sizeof bad_sizes[0]; i++) {
		char want[PL_ERR_MSG_MAX];
		snprintf(want, sizeof want,
			 "--mailbox-max-bytes wants 0 (no limit) or a size of at least 65584 "
			 "bytes, like 65584, 512K or 256M; got \"%s\"",
			 bad_sizes[i]);
		expect_refused(V("--listen", "127.0.0.1:1", "--data", "d", "--mailbox-max-bytes",
				 bad_sizes[i]),
			       want);
	}
	static const char *const limit_opts[] = {"--request-timeout", "--mailbox-max-messages",
						 "--mailbox-max-bytes", "--new-mailboxes-per-hour",
						 "--max-store-mb"};
	for (size_t i = 0; i < sizeof limit_opts / sizeof limit_opts[0]; i++) {
		char twice[PL_ERR_MSG_MAX];
		expect_refused(V("--print-key", "--data", "d", limit_opts[i], "1"),
			       "--print-key takes only --data DIR");
		snprintf(twice, sizeof twice, "%s given twice", limit_opts[i]);
		expect_refused(V("--listen", "127.0.0.1:1", "--data", "d", limit_opts[i], "70000",
				 limit_opts[i], "70000"),
			       twice);
	}
	/* TLS needs both files */
	expect_refused(V("--listen", "127.0.0.1:1", "--data", "d", "--tls-cert", "c"),
		       "--tls-cert and --tls-key go together");
	expect_refused(V("--listen", "127.0.0.1:1", "--data", "d", "--tls-key", "k"),
		       "--tls-cert and --tls-key go together");
}

static void test_bad_listen(void **st)
{
	static const char *const bad[] = {
	    "localhost:80", "127.0.0.1:99999", "127.0.0.1:65536", "127.0.0.1",	  "127.0.0.1:+80",
	    ":80",	    "127.0.0.1:",      "127.0.0.1:080",	  "127.0.0.1:-1", "::1:80",
	    "[::1]:80",	    "127.0.0.1:80x",   "1.2.3.4.5:80",	  "256.0.0.1:80",
	};
	(void)st;

	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char want[PL_ERR_MSG_MAX];
		snprintf(want, sizeof want,
			 "--listen wants an IPv4 address and port, like 127.0.0.1:8470; got \"%s\"",
			 bad[i]);
		expect_refused(V("--listen", bad[i], "--data", "d"), want);
	}
	/* the address is checked only once both required options are there */
	expect_refused(V("--listen", "nonsense"), "--data DIR is required");
}

/* Runs the relay binary with args; its exit status and what it wrote. */
static int run_relay(const char *const *args, char *out, size_t outcap, char *err, size_t errcap)
{
	char *argv[ARGV_MAX + 1];
	const char *bin = pl_test_relay_bin(NULL);
	int argc = 0, po[2], pe[2], status;
	pid_t pid;

	argv[argc++] = (char *)bin;
	for (; *args != NULL; args++)
		argv[argc++] = (char *)*args;
	argv[argc] = NULL;
	assert_int_equal(pipe(po), 0);
	assert_int_equal(pipe(pe), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(po[1], 1);
		dup2(pe[1], 2);
		close(po[0]);
		close(pe[0]);
		execv(bin, argv);
		_exit(127);
	}
	close(po[1]);
	close(pe[1]);
	/* both outputs are far below a pipe's buffer: read them after the exit */
	status = pl_test_wait(pid, 5000);
	assert_int_not_equal(status, -1);
	ssize_t n = read(po[0], out, outcap - 1);
	out[n > 0 ? n : 0] = '\0';
	n = read(pe[0], err, errcap - 1);
	err[n > 0 ? n : 0] = '\0';
	close(po[0]);
	close(pe[0]);
	assert_true(WIFEXITED(status));
	return WEXITSTATUS(status);
}

static void test_binary(void **st)
{
	char out[4096], err[1024];
	(void)st;

	const char *bin = pl_test_relay_bin(NULL);
	if (access(bin, X_OK) != 0)
		fail_msg("no relay binary at %s; set PARLEY_BUILD", bin);
	assert_int_equal(run_relay(V("--listen", "127.0.0.1:1", "--frobnicate"), out, sizeof out,
				   err, sizeof err),
			 PL_EXIT_USAGE);
	assert_string_equal(out, "");
	assert_string_equal(
	    err, "parley-relay: unknown argument \"--frobnicate\" (see parley-relay --help)\n");

	assert_int_equal(run_relay(V("--print-key"), out, sizeof out, err, sizeof err),
			 PL_EXIT_USAGE);
	assert_string_equal(err,
			    "parley-relay: --data DIR is required (see parley-relay --help)\n");

	assert_int_equal(run_relay(V("--help", "--frobnicate"), out, sizeof out, err, sizeof err),
			 PL_EXIT_OK);
	assert_string_equal(err, "");
	static const char first[] = "usage: parley-relay --listen ADDR:PORT --data DIR";
	assert_int_equal(strncmp(out, first, sizeof first - 1), 0);
	assert_non_null(strstr(out, "Exit status: 0 after a clean stop"));
}

int main(int argc, char **argv)
{
	(void)argc;
	pl_test_relay_bin(argv[0]);
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_accepted), cmocka_unit_test(test_help),
	    cmocka_unit_test(test_refused),  cmocka_unit_test(test_bad_listen),
	    cmocka_unit_test(test_binary),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
