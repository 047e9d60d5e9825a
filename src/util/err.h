/*
 * err.h — parley's one error convention above the primitives.
 *
 * Functions return 0 on success and -1 on failure; those that can fail for
 * reasons a person must act on also take a pl_err* and fill it with an exit
 * code and one sentence that says what happened and what to do next. The
 * message never contains secret material. A NULL pl_err* is allowed.
 */
#ifndef PARLEY_UTIL_ERR_H
#define PARLEY_UTIL_ERR_H

/* Exit codes, documented in the README and `parley --help`. */
enum {
	PL_EXIT_OK = 0,
	PL_EXIT_ERROR = 1,    /* anything not below */
	PL_EXIT_USAGE = 2,    /* bad command line */
	PL_EXIT_VAULT = 3,    /* vault missing, exists, locked or wrong passphrase */
	PL_EXIT_NETWORK = 4,  /* relay unreachable or refused the request */
	PL_EXIT_SECURITY = 5, /* verification failed or refused for safety */
	PL_EXIT_INPUT = 6,    /* malformed input (file, key, message) */
	PL_EXIT_NOTFOUND = 7, /* no such contact, item or record */
	PL_EXIT_REFUSED = 8   /* a negotiation move the item's state does not allow */
};

#define PL_ERR_MSG_MAX 400

typedef struct {
	int code;
	char msg[PL_ERR_MSG_MAX];
} pl_err;

void pl_err_clear(pl_err *e);
/* Sets e (if not NULL) and returns -1, so callers can `return pl_err_set(...)`. */
int pl_err_set(pl_err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A crash point for the crash tests: the process dies at once (_exit 99,
 * nothing flushed, as kill -9 would leave it) when the environment
 * variable PARLEY_FAULT equals name. Each caller documents its points. */
void pl_fault_point(const char *name);

#endif
