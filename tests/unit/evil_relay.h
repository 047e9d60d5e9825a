/*
 * evil_relay.h — a malicious relay for the unit tests: an HTTP proxy in the
 * test process (libmicrohttpd on 127.0.0.1, a port of its own) that forwards
 * every request to a real parley-relay (pl_test_relay_start) with libcurl
 * and hands the answer back, except where the test has set a hook that
 * rewrites the answer of the requests whose path starts with a prefix.
 * It plays the relay the attacks need: a replaced envelope, a
 * doctored or dropped log leaf; it also counts the requests it saw, so a
 * test can tell what a client asked for.
 *
 * It forwards the method, the path with its query (signed requests stay
 * valid), the Parley-* and Content-Type request headers and the body, and
 * copies back the status, the body and the Content-Type and Parley-*
 * response headers. Every wait is bounded (curl connect 5 s, whole
 * request 30 s). It must never be used outside the tests.
 */
#ifndef PARLEY_TEST_EVIL_RELAY_H
#define PARLEY_TEST_EVIL_RELAY_H

#include <stddef.h>
#include <stdint.h>

typedef struct pl_evil pl_evil;

/* Rewrites one answer in place: *body is malloc'd (NULL when empty) and
 * may be freed and replaced by another malloc'd buffer; *status may
 * change. target is the path with its query. Runs on a proxy thread, one
 * hook call at a time. */
typedef void (*pl_evil_fn)(void *arg, const char *method, const char *target, unsigned *status,
			   uint8_t **body, size_t *len);

/* Starts the proxy in front of upstream ("http://127.0.0.1:PORT"); its
 * own address is pl_evil_url. NULL (with a one-line hint on stderr) if it
 * cannot start. */
pl_evil *pl_evil_start(const char *upstream);
const char *pl_evil_url(const pl_evil *x);
/* Stops the proxy (waits for its threads) and frees it; NULL is fine. */
void pl_evil_stop(pl_evil *x);

/* Sets the hook for requests whose path starts with prefix (at most 8
 * hooks; the first whose prefix matches wins); fn NULL removes it. */
void pl_evil_hook(pl_evil *x, const char *prefix, pl_evil_fn fn, void *arg);
/* Removes every hook. */
void pl_evil_clear(pl_evil *x);

/* How many requests whose path (with query) starts with prefix the proxy
 * received since the last pl_evil_count_reset ("" counts every one). */
unsigned pl_evil_count(pl_evil *x, const char *prefix);
void pl_evil_count_reset(pl_evil *x);

/* ---- ready-made rewrites ----------------------------------------------- */

/* For a pl_evil_fn over GET /v1/mailbox/{mbx}: arg points at a
 * pl_evil_listing_arg; the envelope listed with that seq is replaced by
 * random bytes of the same length (the same bucket size), so the listing
 * still decodes, or with drop set left out. `hits` counts the changes. */
typedef struct {
	uint64_t seq;
	int drop;
	unsigned hits;
} pl_evil_listing_arg;
void pl_evil_listing_replace(void *arg, const char *method, const char *target, unsigned *status,
			     uint8_t **body, size_t *len);

/* For a pl_evil_fn over GET /log/mailbox/{mbx}: arg points at a
 * pl_evil_mbxlog_arg; the deposit leaf with that seq is left out (DROP),
 * given another mailbox id (OTHER_MBX) or another envelope hash
 * (OTHER_HASH), its proof kept as it was. */
enum { PL_EVIL_DROP = 1, PL_EVIL_OTHER_MBX, PL_EVIL_OTHER_HASH };
typedef struct {
	uint64_t seq;
	int how;
	unsigned hits;
} pl_evil_mbxlog_arg;
void pl_evil_mbxlog_doctor(void *arg, const char *method, const char *target, unsigned *status,
			   uint8_t **body, size_t *len);

#endif
