/*
 * support.h — fixture helpers shared by the cmocka unit tests (support.c is
 * linked into every tests/unit/test_*.c binary by the Makefile):
 *   - the transparency-log vector directory (tests/vectors/tlog) and paths
 *     and whole files under it;
 *   - reading and writing whole files;
 *   - hex and base64 decoding of vector fields;
 *   - temporary directories under /tmp and their removal;
 *   - the real parley-relay as a child process: found once, started on
 *     127.0.0.1, stopped, every wait on it bounded;
 *   - vaults on a relay driven through the library: made, made verified
 *     contacts of each other, sending notes and syncing.
 * Helpers that can fail in a way a test did not ask for fail the running
 * cmocka test (fail_msg / assert_*), so callers need no error paths.
 */
#ifndef PARLEY_TEST_SUPPORT_H
#define PARLEY_TEST_SUPPORT_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <sqlite3.h>

#include "client/messenger.h"
#include "vault/vault.h"

/* The vector directory, filled by pl_test_find_vecdir. */
extern char pl_test_vecdir[PATH_MAX];

/* Finds tests/vectors/tlog: $PARLEY_SRCDIR/tests/vectors/tlog, else beside
 * the test binary (build/tests/../../tests/vectors/tlog), else relative to
 * the working directory; the first that holds the file probe (a path
 * relative to it) wins. On failure prints a one-line hint naming `test`
 * and returns -1. Call from main, before the tests run. */
int pl_test_find_vecdir(const char *argv0, const char *probe, const char *test);

/* out = pl_test_vecdir "/" (fmt, ...); fails the test if it does not fit. */
void pl_test_vec_path(char *out, size_t cap, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* The whole file at path, with a NUL after its last byte (not counted in
 * *len); NULL if it cannot be opened or is not a regular file. A read
 * error fails the test. The caller frees the result. */
uint8_t *pl_test_read_file(const char *path, size_t *len);

/* pl_test_read_file of a file under the vector directory (rel is relative
 * to it); a file that cannot be read fails the test with a hint to set
 * PARLEY_SRCDIR. */
uint8_t *pl_test_read_vec(const char *rel, size_t *len);

/* Writes n bytes to path (created or truncated); a failed open or short
 * write fails the test. */
void pl_test_write_file(const char *path, const void *p, size_t n);

/* Decodes the hex string into out[cap]; returns the number of bytes.
 * Anything but hex (or more than cap bytes) fails the test. */
size_t pl_test_unhex(uint8_t *out, size_t cap, const char *hex);

/* Decodes exactly n bytes (2n hex digits) into out; a string of any other
 * length, or anything but hex, fails the test. For known-answer vectors. */
void pl_test_unhex_n(uint8_t *out, size_t n, const char *hex);

/* Decodes standard (padded) base64 into out[cap]: 0 and *got set, or -1 if
 * it is not valid base64 or does not fit. Does not fail the test: vectors
 * may hold bad base64 on purpose. */
int pl_test_unbase64(uint8_t *out, size_t cap, const char *b64, size_t *got);

/* Creates a fresh directory /tmp/parley-<tag>-XXXXXX (mkdtemp) and puts its
 * path in out[cap]; fails the test if that cannot be done. */
void pl_test_tmpdir(char *out, size_t cap, const char *tag);

/* Removes dir and everything below it; missing entries are ignored. */
void pl_test_rm_rf(const char *dir);

/* Removes a relay's data directory DIR (pl_test_rm_rf) and the stderr
 * logs the tests keep beside it, DIR.err and DIR.err2; 0 if none of them
 * is left, -1 otherwise. */
int pl_test_rm_relay_dir(const char *dir);

/* A parley-relay child started by pl_test_relay_start. */
typedef struct {
	pid_t pid;     /* 0 when none runs */
	unsigned port; /* the port it printed */
	char url[64];  /* http://127.0.0.1:PORT (https:// with --tls-cert) */
} pl_test_relay;

/* The parley-relay binary: $PARLEY_BUILD/parley-relay, else the one beside
 * the test binary (build/tests/../parley-relay). Found on the first call
 * and kept; later calls return it whatever argv0 they pass, so main calls
 * this with argv[0] before the tests run. NULL if the first call has
 * neither $PARLEY_BUILD nor argv0. */
const char *pl_test_relay_bin(const char *argv0);

/* Starts `parley-relay --listen 127.0.0.1:PORT --data data_dir` and then
 * extra_args (NULL-terminated, may be NULL) with stdin from /dev/null,
 * stderr appended to data_dir.err and stdout to a close-on-exec pipe, and
 * waits at most 10 s for its first line, "listening on 127.0.0.1:PORT".
 * port 0 lets the relay pick one. Fills r and returns 0; on failure prints
 * a one-line hint, leaves no child (r->pid 0) and returns -1. Ignores
 * SIGPIPE in this process, so that a relay stopped mid-request fails a
 * write instead of killing the test. Does not fail the test. */
int pl_test_relay_start(pl_test_relay *r, const char *data_dir, unsigned port,
			const char *const *extra_args);

/* SIGTERM, then at most 5 s for the relay to exit, then SIGKILL. Returns
 * its wait status if it exited on SIGTERM in time, -1 if it had to be
 * killed or none was running. r->pid is 0 afterwards. */
int pl_test_relay_stop(pl_test_relay *r);

/* SIGKILL (a crash, as far as the relay can tell) and reaps it; nothing
 * if none is running. r->pid is 0 afterwards. */
void pl_test_relay_kill(pl_test_relay *r);

/* Waits at most ms milliseconds for our child pid to exit and returns its
 * wait status; -1 if it is not our child, or if it did not exit in time
 * (it is then killed with SIGKILL and reaped). */
int pl_test_wait(pid_t pid, int ms);

/* The bytes of an ack body (auth/auth.h) through `through` naming no
 * envelope, written without the encoder's checks (so through 0 can be
 * played too): u8 2 ‖ through ‖ u8 0. Returns its length, 10. */
#define PL_TEST_ACK_LEN 10
size_t pl_test_ack_body(uint8_t out[static PL_TEST_ACK_LEN], uint64_t through);

/* The passphrase of every vault pl_test_vault_new makes (a test that
 * reopens one, or hands it to the CLI, needs it). */
#define PL_TEST_PASS "parley test passphrase"

/* Creates a vault named name at dir/sub on relay_url with PL_TEST_PASS and
 * opens it; publishes nothing. Failure fails the test. The caller closes
 * it (pl_vault_close). */
pl_vault *pl_test_vault_new(const char *dir, const char *sub, const char *name,
			    const char *relay_url);

/* Adds other to v as a new verified contact named name, then publishes v's
 * grants. Failure fails the test. */
void pl_test_befriend(pl_vault *v, const char *name, pl_vault *other);

/* Queues a note of text to the contact `to` and delivers everything v has
 * queued; returns how many envelopes were delivered. Failure fails the
 * test. */
unsigned pl_test_send_note(pl_vault *v, const char *to, const char *text);

/* pl_msgr_sync of v with the negotiation handler (pl_nego_objects); the
 * report goes to r (zeroed first) unless r is NULL. Failure fails the
 * test. */
void pl_test_sync(pl_vault *v, pl_sync_report *r);

/* Edits a sealed vault's database offline, as its owner with the
 * passphrase could and the vault itself never would: decrypts DIR/vault.pv,
 * hands the database to fn, seals the result under the same header. For
 * tests that damage what is inside the seal (fails the test on error). */
typedef void (*pl_test_db_fn)(sqlite3 *db, void *arg);
void pl_test_vault_edit(const char *dir, const char *pass, pl_test_db_fn fn, void *arg);
/* pl_test_vault_edit running constant SQL. */
void pl_test_vault_sql(const char *dir, const char *pass, const char *sql);

#endif
