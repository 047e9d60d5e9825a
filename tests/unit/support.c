/*
 * support.c — fixture helpers shared by the unit tests; see support.h.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <libgen.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>

#include "client/nego.h"
#include "support.h"
#include "util/codec.h"
#include "vault/vault_int.h"

char pl_test_vecdir[PATH_MAX];

/* 1 if dir holds the file probe (a path relative to it). */
static int vecdir_has(const char *dir, const char *probe)
{
	char p[PATH_MAX + 64];
	struct stat st;
	snprintf(p, sizeof p, "%s/%s", dir, probe);
	return stat(p, &st) == 0;
}

int pl_test_find_vecdir(const char *argv0, const char *probe, const char *test)
{
	char tmp[PATH_MAX];
	char *out = pl_test_vecdir;
	const char *src = getenv("PARLEY_SRCDIR");
	if (src != NULL && *src) {
		snprintf(out, PATH_MAX, "%s/tests/vectors/tlog", src);
		if (vecdir_has(out, probe))
			return 0;
	}
	snprintf(tmp, sizeof tmp, "%s", argv0);
	snprintf(out, PATH_MAX, "%s/../../tests/vectors/tlog", dirname(tmp));
	if (vecdir_has(out, probe))
		return 0;
	snprintf(out, PATH_MAX, "tests/vectors/tlog");
	if (vecdir_has(out, probe))
		return 0;
	fprintf(stderr, "%s: vectors not found at %s; set PARLEY_SRCDIR to the repository root\n",
		test, out);
	return -1;
}

void pl_test_vec_path(char *out, size_t cap, const char *fmt, ...)
{
	char rel[PATH_MAX];
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(rel, sizeof rel, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof rel ||
	    snprintf(out, cap, "%s/%s", pl_test_vecdir, rel) >= (int)cap)
		fail_msg("path too long under %s", pl_test_vecdir);
}

uint8_t *pl_test_read_file(const char *path, size_t *len)
{
	struct stat st;
	FILE *f = fopen(path, "rb");
	if (f == NULL)
		return NULL;
	if (fstat(fileno(f), &st) != 0 || !S_ISREG(st.st_mode)) {
		fclose(f);
		return NULL;
	}
	size_t cap = (size_t)st.st_size + 1;
	uint8_t *buf = malloc(cap);
	assert_non_null(buf);
	size_t n = fread(buf, 1, cap, f);
	if (ferror(f) || n == cap)
		fail_msg("cannot read %s (or it changed while read)", path);
	fclose(f);
	buf[n] = 0;
	*len = n;
	return buf;
}

uint8_t *pl_test_read_vec(const char *rel, size_t *len)
{
	char p[PATH_MAX + 64];
	pl_test_vec_path(p, sizeof p, "%s", rel);
	uint8_t *b = pl_test_read_file(p, len);
	if (b == NULL)
		fail_msg("cannot read %s (set PARLEY_SRCDIR to the repository root)", p);
	return b;
}

void pl_test_write_file(const char *path, const void *p, size_t n)
{
	FILE *f = fopen(path, "wb");
	assert_non_null(f);
	assert_int_equal(fwrite(p, 1, n, f), n);
	fclose(f);
}

size_t pl_test_unhex(uint8_t *out, size_t cap, const char *hex)
{
	size_t got = 0;
	assert_int_equal(sodium_hex2bin(out, cap, hex, strlen(hex), NULL, &got, NULL), 0);
	return got;
}

void pl_test_unhex_n(uint8_t *out, size_t n, const char *hex)
{
	assert_int_equal(strlen(hex), 2 * n);
	assert_int_equal(pl_test_unhex(out, n, hex), n);
}

int pl_test_unbase64(uint8_t *out, size_t cap, const char *b64, size_t *got)
{
	*got = 0;
	return sodium_base642bin(out, cap, b64, strlen(b64), NULL, got, NULL,
				 sodium_base64_VARIANT_ORIGINAL) == 0
		   ? 0
		   : -1;
}

void pl_test_tmpdir(char *out, size_t cap, const char *tag)
{
	if (snprintf(out, cap, "/tmp/parley-%s-XXXXXX", tag) >= (int)cap)
		fail_msg("temporary directory name too long for tag %s", tag);
	assert_non_null(mkdtemp(out));
}

static int rm_one(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

void pl_test_rm_rf(const char *dir)
{
	nftw(dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
}

int pl_test_rm_relay_dir(const char *dir)
{
	static const char *const logs[] = {".err", ".err2"};
	char path[4096];
	struct stat st;
	int left = 0;

	pl_test_rm_rf(dir);
	left |= lstat(dir, &st) == 0;
	for (size_t i = 0; i < sizeof logs / sizeof logs[0]; i++) {
		if (snprintf(path, sizeof path, "%s%s", dir, logs[i]) >= (int)sizeof path)
			return -1;
		remove(path);
		left |= lstat(path, &st) == 0;
	}
	return left ? -1 : 0;
}

/* ---- the relay as a child process ---------------------------------------- */

#define RELAY_START_MS 10000
#define RELAY_STOP_MS 5000
#define RELAY_EXTRA_MAX 8

static long long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

const char *pl_test_relay_bin(const char *argv0)
{
	static char bin[PATH_MAX];
	const char *b = getenv("PARLEY_BUILD");
	char tmp[PATH_MAX];

	if (bin[0] != '\0')
		return bin;
	if (b != NULL && *b) {
		snprintf(bin, sizeof bin, "%s/parley-relay", b);
	} else if (argv0 != NULL) {
		snprintf(tmp, sizeof tmp, "%s", argv0);
		snprintf(bin, sizeof bin, "%s/../parley-relay", dirname(tmp));
	} else {
		return NULL;
	}
	return bin;
}

int pl_test_wait(pid_t pid, int ms)
{
	long long end = now_ms() + ms;
	int st;

	for (;;) {
		pid_t w = waitpid(pid, &st, WNOHANG);
		if (w == pid)
			return st;
		/* not (or no longer) our child: nothing to kill */
		if (w < 0 && errno != EINTR)
			return -1;
		if (now_ms() >= end)
			break;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	return -1;
}

/* Reads the child's first line from fd into line[cap] (without the
 * newline), giving up at the deadline `end` (now_ms). */
static void read_first_line(int fd, char *line, size_t cap, long long end)
{
	size_t n = 0;
	while (n < cap - 1) {
		long long left = end - now_ms();
		struct pollfd p = {fd, POLLIN, 0};
		if (left <= 0 || poll(&p, 1, (int)left) <= 0)
			break;
		if (read(fd, line + n, 1) <= 0 || line[n] == '\n')
			break;
		n++;
	}
	line[n] = '\0';
}

int pl_test_relay_start(pl_test_relay *r, const char *data_dir, unsigned port,
			const char *const *extra_args)
{
	const char *bin = pl_test_relay_bin(NULL);
	const char *argv[6 + RELAY_EXTRA_MAX];
	char listen[32], errpath[PATH_MAX], line[128];
	int argc = 0, fds[2], tls = 0;

	memset(r, 0, sizeof *r);
	if (bin == NULL || access(bin, X_OK) != 0) {
		fprintf(stderr, "# no relay binary at %s; set PARLEY_BUILD\n",
			bin ? bin : "(not looked for)");
		return -1;
	}
	snprintf(listen, sizeof listen, "127.0.0.1:%u", port);
	if (snprintf(errpath, sizeof errpath, "%s.err", data_dir) >= (int)sizeof errpath)
		return -1;
	argv[argc++] = "parley-relay";
	argv[argc++] = "--listen";
	argv[argc++] = listen;
	argv[argc++] = "--data";
	argv[argc++] = data_dir;
	for (size_t i = 0; extra_args != NULL && extra_args[i] != NULL; i++) {
		if (i == RELAY_EXTRA_MAX)
			return -1;
		tls |= strcmp(extra_args[i], "--tls-cert") == 0;
		argv[argc++] = extra_args[i];
	}
	argv[argc] = NULL;

	signal(SIGPIPE, SIG_IGN);
	/* close-on-exec: no other child started meanwhile may hold the write
	 * end, or the read below would not see the relay die */
	if (pipe2(fds, O_CLOEXEC) != 0)
		return -1;
	r->pid = fork();
	if (r->pid < 0) {
		r->pid = 0;
		close(fds[0]);
		close(fds[1]);
		return -1;
	}
	if (r->pid == 0) {
		int in = open("/dev/null", O_RDONLY | O_CLOEXEC);
		int err = open(errpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
		if (in >= 0)
			dup2(in, 0);
		dup2(fds[1], 1);
		if (err >= 0)
			dup2(err, 2);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	close(fds[1]);
	read_first_line(fds[0], line, sizeof line, now_ms() + RELAY_START_MS);
	close(fds[0]);
	if (sscanf(line, "listening on 127.0.0.1:%u", &r->port) != 1 || r->port == 0) {
		fprintf(stderr, "# relay did not start (%s): \"%s\"\n", bin, line);
		pl_test_relay_stop(r);
		r->port = 0;
		return -1;
	}
	snprintf(r->url, sizeof r->url, "%s://127.0.0.1:%u", tls ? "https" : "http", r->port);
	return 0;
}

int pl_test_relay_stop(pl_test_relay *r)
{
	pid_t pid = r->pid;
	if (pid <= 0)
		return -1;
	r->pid = 0;
	kill(pid, SIGTERM);
	return pl_test_wait(pid, RELAY_STOP_MS);
}

void pl_test_relay_kill(pl_test_relay *r)
{
	pid_t pid = r->pid;
	if (pid <= 0)
		return;
	r->pid = 0;
	kill(pid, SIGKILL);
	pl_test_wait(pid, RELAY_STOP_MS);
}

size_t pl_test_ack_body(uint8_t out[static PL_TEST_ACK_LEN], uint64_t through)
{
	out[0] = 2;
	for (int i = 0; i < 8; i++)
		out[1 + i] = (uint8_t)(through >> (56 - 8 * i));
	out[9] = 0;
	return PL_TEST_ACK_LEN;
}

/* ---- vaults on a relay ---------------------------------------------------- */

pl_vault *pl_test_vault_new(const char *dir, const char *sub, const char *name,
			    const char *relay_url)
{
	char path[PATH_MAX];
	pl_vault *v = NULL;
	pl_err e;

	pl_err_clear(&e);
	if ((size_t)snprintf(path, sizeof path, "%s/%s", dir, sub) >= sizeof path)
		fail_msg("vault path too long under %s", dir);
	if (pl_vault_create_cost(path, name, relay_url, NULL, 0, PL_TEST_PASS, strlen(PL_TEST_PASS),
				 PL_VAULT_KDF_TEST_MINIMAL, &e) != 0 ||
	    pl_vault_open(&v, path, PL_TEST_PASS, strlen(PL_TEST_PASS), &e) != 0)
		fail_msg("vault %s: %s", name, e.msg);
	return v;
}

void pl_test_befriend(pl_vault *v, const char *name, pl_vault *other)
{
	pl_contact c;
	pl_err e;

	pl_err_clear(&e);
	memset(&c, 0, sizeof c);
	snprintf(c.name, sizeof c.name, "%s", name);
	memcpy(c.ik, pl_vault_identity(other)->pk, PL_IK_LEN);
	c.verified = 1;
	c.added = pl_now();
	if (pl_vault_contact_put(v, &c, &e) != 0 || pl_msgr_publish(v, &e) != 0)
		fail_msg("contact %s: %s", name, e.msg);
}

unsigned pl_test_send_note(pl_vault *v, const char *to, const char *text)
{
	uint8_t id[8];
	int64_t seq;
	pl_sync_report r;
	pl_err e;

	pl_err_clear(&e);
	memset(&r, 0, sizeof r);
	if (pl_msgr_queue(v, to, PL_KIND_NOTE, (const uint8_t *)text, strlen(text), id, &seq, &e) !=
		0 ||
	    pl_msgr_deliver(v, &r, &e) != 0)
		fail_msg("send to %s: %s", to, e.msg);
	return r.delivered;
}

void pl_test_sync(pl_vault *v, pl_sync_report *r)
{
	pl_sync_report mine;
	pl_err e;

	if (r == NULL)
		r = &mine;
	pl_err_clear(&e);
	memset(r, 0, sizeof *r);
	if (pl_msgr_sync(v, &pl_nego_objects, r, &e) != 0)
		fail_msg("sync of %s: %s", pl_vault_name(v), e.msg);
}

/* --- a sealed vault's database, offline ----------------------------------- */

void pl_test_vault_edit(const char *dir, const char *pass, pl_test_db_fn fn, void *arg)
{
	char path[512];
	size_t flen, n;
	uint8_t *img, dek[PL_VAULT_KEY_LEN], wrap[PL_VAULT_KEY_LEN];
	pl_vfile_hdr h;

	snprintf(path, sizeof path, "%s/vault.pv", dir);
	uint8_t *f = pl_test_read_file(path, &flen);
	if (f == NULL)
		fail_msg("cannot read %s", path);
	assert_int_equal(pl_vfile_hdr_parse(&h, f, flen), 0);
	assert_int_equal(pl_vault_kdf_derive(wrap, &h.kdf, pass, strlen(pass)), 0);
	assert_int_equal(pl_vfile_hdr_unwrap(&h, wrap, dek), 0);
	assert_int_equal(pl_vfile_open(&img, &n, &h, dek, f, flen), 0);
	free(f);

	sqlite3 *db;
	assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
	uint8_t *copy = sqlite3_malloc64(n);
	assert_non_null(copy);
	memcpy(copy, img, n);
	sodium_memzero(img, n);
	free(img);
	assert_int_equal(sqlite3_deserialize(db, "main", copy, (sqlite3_int64)n,
					     (sqlite3_int64)n,
					     SQLITE_DESERIALIZE_FREEONCLOSE |
						 SQLITE_DESERIALIZE_RESIZEABLE),
			 SQLITE_OK);
	fn(db, arg);
	sqlite3_int64 sz;
	uint8_t *out = sqlite3_serialize(db, "main", &sz, 0);
	assert_non_null(out);
	uint8_t *nf;
	size_t nflen;
	assert_int_equal(pl_vfile_seal(&nf, &nflen, &h, dek, out, (size_t)sz), 0);
	sqlite3_free(out);
	sqlite3_close(db);
	pl_test_write_file(path, nf, nflen);
	free(nf);
	sodium_memzero(dek, sizeof dek);
	sodium_memzero(wrap, sizeof wrap);
}

static void run_sql_fn(sqlite3 *db, void *arg)
{
	char *msg = NULL;
	sqlite3_busy_timeout(db, 5000);
	if (sqlite3_exec(db, (const char *)arg, NULL, NULL, &msg) != SQLITE_OK)
		fail_msg("vault sql: %s", msg);
}

void pl_test_vault_sql(const char *dir, const char *pass, const char *sql)
{
	pl_test_vault_edit(dir, pass, run_sql_fn, (void *)sql);
}
