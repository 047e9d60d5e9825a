/* test_relay_limits.c — one client must not lock everyone out of the
 * relay. An attacker at 127.0.0.2 opens as many connections as the relay
 * holds in all (PL_RELAY_CONN_LIMIT) and keeps them half-sent, trickling
 * nothing; an honest client at 127.0.0.1 must still be served. With the
 * per-address limit switched off (--max-conns-per-ip 0) the same attack
 * locks the honest client out, which shows the test can fail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "relay/server.h"
#include "support.h"

#define ATTACK PL_RELAY_CONN_LIMIT

/* A TCP connection from `from` (an address of this computer) to the
 * relay; -1 if it cannot be made. */
static int connect_from(const char *from, unsigned port)
{
	struct sockaddr_in src, dst;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -1;
	memset(&src, 0, sizeof src);
	src.sin_family = AF_INET;
	inet_pton(AF_INET, from, &src.sin_addr);
	memset(&dst, 0, sizeof dst);
	dst.sin_family = AF_INET;
	dst.sin_port = htons((uint16_t)port);
	inet_pton(AF_INET, "127.0.0.1", &dst.sin_addr);
	if (bind(fd, (struct sockaddr *)&src, sizeof src) != 0 ||
	    connect(fd, (struct sockaddr *)&dst, sizeof dst) != 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* 1 if a GET /v1/relay from 127.0.0.1 is answered 200 within 5 s. */
static int honest_served(unsigned port)
{
	static const char req[] =
	    "GET /v1/relay HTTP/1.1\r\nHost: relay\r\nConnection: close\r\n\r\n";
	int fd = connect_from("127.0.0.1", port);
	if (fd < 0)
		return 0;
	char buf[64] = {0};
	size_t got = 0;
	int ok = write(fd, req, sizeof req - 1) == (ssize_t)(sizeof req - 1);
	for (int i = 0; ok && i < 50 && got < 12; i++) { /* 50 x 100 ms */
		struct pollfd p = {fd, POLLIN, 0};
		if (poll(&p, 1, 100) <= 0)
			continue;
		ssize_t r = read(fd, buf + got, sizeof buf - 1 - got);
		if (r <= 0)
			break;
		got += (size_t)r;
	}
	close(fd);
	return got >= 12 && strncmp(buf, "HTTP/1.1 200", 12) == 0;
}

/* Runs the attack against a relay started with extra_args; 1 if the
 * honest client was served while the attacker held its connections. */
static int attack(const char *const *extra_args)
{
	char dir[PATH_MAX], data[PATH_MAX + 8];
	pl_test_tmpdir(dir, sizeof dir, "limits");
	snprintf(data, sizeof data, "%s/data", dir);
	pl_test_relay relay;
	if (pl_test_relay_start(&relay, data, 0, extra_args) != 0) {
		pl_test_rm_rf(dir);
		fail_msg("the relay did not start");
	}
	assert_true(honest_served(relay.port)); /* before the attack */

	static int fds[ATTACK];
	static const char part[] = "GET /v1/relay HTTP/1.1\r\nHost: rel"; /* never finished */
	size_t n = 0;
	for (size_t i = 0; i < ATTACK; i++) {
		int fd = connect_from("127.0.0.2", relay.port);
		if (fd < 0)
			break;
		if (write(fd, part, sizeof part - 1) < 0) {
			close(fd);
			continue;
		}
		fds[n++] = fd;
	}
	assert_true(n > ATTACK / 2); /* the attack itself ran */
	struct timespec settle = {0, 300 * 1000 * 1000};
	nanosleep(&settle, NULL); /* let the relay accept (or drop) them all */
	int served = honest_served(relay.port);
	for (size_t i = 0; i < n; i++)
		close(fds[i]);
	assert_int_not_equal(pl_test_relay_stop(&relay), -1);
	pl_test_rm_relay_dir(data);
	pl_test_rm_rf(dir);
	return served;
}

static void test_one_client_cannot_lock_out_others(void **state)
{
	(void)state;
	assert_true(attack(NULL)); /* the default limit per address */
	static const char *const small[] = {"--max-conns-per-ip", "10", NULL};
	assert_true(attack(small));
}

static void test_without_the_limit_the_attack_works(void **state)
{
	(void)state;
	static const char *const none[] = {"--max-conns-per-ip", "0", NULL};
	assert_false(attack(none));
}

int main(int argc, char **argv)
{
	(void)argc;
	if (pl_test_relay_bin(argv[0]) == NULL)
		return 1;
	/* the attacker's connections and the relay's (it inherits this) */
	struct rlimit rl;
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < 3 * ATTACK) {
		rl.rlim_cur = rl.rlim_max < 3 * ATTACK ? rl.rlim_max : 3 * ATTACK;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_one_client_cannot_lock_out_others),
	    cmocka_unit_test(test_without_the_limit_the_attack_works),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
