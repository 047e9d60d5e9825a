/*
 * vault_lock.c — one parley process at a time per vault: an exclusive
 * flock() on DIR/vault.lock, taken by pl_vault_open and held until
 * pl_vault_close, so a command reads the state it changes (a ratchet
 * session, the outbox) and commits it with no other process in between.
 * SQLite's own locks cover a single transaction only; two commands that
 * both loaded one chain state would encrypt twice under one message key.
 *
 * While it holds the lock, the holder writes one line into the file,
 * "PID START COMMAND", so that a waiter can say who holds the vault; the
 * line is emptied again on release, so at rest the file shows nothing of
 * when or how the vault was used. The kernel drops the lock when its
 * process dies, so a crashed holder never blocks the vault.
 *
 * This file must never wait without bound, never trust the holder line
 * beyond the strict format below, and never write anything else there.
 */
#include "vault/vault_int.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util/codec.h"
#include "util/file.h"

#define LOCK_FILE "vault.lock"
#define LOCK_POLL_MS 50 /* between two tries while another process holds it */

int pl_vault_lock_holder_parse(pl_vault_lock_holder *h, const uint8_t *p, size_t n)
{
	size_t i = 0;
	uint64_t x[2];

	memset(h, 0, sizeof *h);
	for (int k = 0; k < 2; k++) {
		size_t start = i;
		x[k] = 0;
		while (i < n && i - start < 19 && p[i] >= '0' && p[i] <= '9')
			x[k] = x[k] * 10 + (uint64_t)(p[i++] - '0');
		if (i == start || (p[start] == '0' && i - start > 1) || i >= n || p[i] != ' ')
			return -1;
		i++;
	}
	size_t start = i;
	while (i < n && i - start < PL_VAULT_LOCK_CMD_MAX &&
	       ((p[i] >= 'a' && p[i] <= 'z') || p[i] == '-'))
		i++;
	if (i == start || i + 1 != n || p[i] != '\n' || x[0] == 0 || x[0] > 0x7fffffff)
		return -1;
	h->pid = (long)x[0];
	h->start = x[1];
	memcpy(h->cmd, p + start, i - start);
	h->cmd[i - start] = '\0';
	return 0;
}

/* The sentence a waiter ends with, naming the holder when its line reads. */
static int in_use(pl_vault *v, int fd, unsigned wait_ms, pl_err *e)
{
	uint8_t buf[96];
	pl_vault_lock_holder h;
	ssize_t n = pread(fd, buf, sizeof buf, 0);
	if (n > 0 && pl_vault_lock_holder_parse(&h, buf, (size_t)n) == 0) {
		char t[PL_RFC3339_LEN];
		pl_time_rfc3339(t, h.start);
		return pl_err_set(e, PL_EXIT_VAULT,
				  "the vault at %s is in use by parley process %ld (%s), started "
				  "at %s; waited %u s. Try again when it has finished",
				  v->dir, h.pid, h.cmd, t, wait_ms / 1000);
	}
	return pl_err_set(e, PL_EXIT_VAULT,
			  "the vault at %s is in use by another parley process; waited %u s. "
			  "Try again when it has finished",
			  v->dir, wait_ms / 1000);
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Writes the holder line; a waiter that cannot read it still waits. */
static void put_holder(int fd, const char *cmd)
{
	char line[96];
	size_t c = 0;
	if (cmd)
		while (cmd[c] && c < PL_VAULT_LOCK_CMD_MAX &&
		       ((cmd[c] >= 'a' && cmd[c] <= 'z') || cmd[c] == '-'))
			c++;
	int n = snprintf(line, sizeof line, "%ld %llu %.*s\n", (long)getpid(),
			 (unsigned long long)pl_now(), c && !cmd[c] ? (int)c : 6,
			 c && !cmd[c] ? cmd : "parley");
	if (ftruncate(fd, 0) == 0 && n > 0 && (size_t)n < sizeof line &&
	    pwrite(fd, line, (size_t)n, 0) == n)
		fsync(fd);
}

int pl_vault_lock_take(pl_vault *v, const char *cmd, unsigned wait_ms, pl_err *e)
{
	char *path = pl_path_join(v->dir, LOCK_FILE);
	if (path == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory opening the vault");
	int fd = open(path, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
	int err = errno;
	free(path);
	struct stat sb;
	if (fd < 0 || fstat(fd, &sb) != 0 || !S_ISREG(sb.st_mode)) {
		if (fd >= 0)
			close(fd);
		return pl_err_set(e, PL_EXIT_VAULT,
				  "cannot open the lock file of the vault at %s (%s); check the "
				  "permissions of the folder",
				  v->dir, fd < 0 ? strerror(err) : "not a regular file");
	}
	uint64_t until = now_ms() + wait_ms;
	for (;;) {
		if (flock(fd, LOCK_EX | LOCK_NB) == 0)
			break;
		if (errno == EINTR)
			continue;
		if (errno != EWOULDBLOCK) {
			err = errno;
			close(fd);
			return pl_err_set(e, PL_EXIT_VAULT,
					  "cannot lock the vault at %s (%s); check the file system",
					  v->dir, strerror(err));
		}
		if (now_ms() >= until) {
			in_use(v, fd, wait_ms, e);
			close(fd);
			return -1;
		}
		struct timespec ts = {0, LOCK_POLL_MS * 1000000L};
		nanosleep(&ts, NULL);
	}
	put_holder(fd, cmd);
	v->lock_fd = fd;
	return 0;
}

void pl_vault_lock_release(pl_vault *v)
{
	if (v->lock_fd < 0)
		return;
	/* Emptied before the lock goes, while no one else may write it. */
	if (ftruncate(v->lock_fd, 0) == 0)
		fsync(v->lock_fd);
	flock(v->lock_fd, LOCK_UN);
	close(v->lock_fd);
	v->lock_fd = -1;
}
