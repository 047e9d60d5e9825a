/*
 * server_int.h — what the parts of parley-relay share inside src/relay:
 * the command line (server.c).
 *
 * Nothing outside src/relay and its unit tests includes this header; the
 * program itself sees only relay/server.h.
 */
#ifndef PARLEY_RELAY_SERVER_INT_H
#define PARLEY_RELAY_SERVER_INT_H

#include <netinet/in.h>

#include "util/err.h"

/* ---- the command line (server.c) -------------------------------------- */

typedef struct {
	const char *listen, *data, *cert, *key; /* pointers into argv */
	int help;				/* --help or -h: show the usage, nothing else */
	int print_key, no_log;
	struct sockaddr_in addr; /* --listen, parsed (not with --print-key) */
} pl_relay_opts;

/* Parses argv[1..argc) into o, printing nothing. --help stops the parse
 * (o->help set) wherever it stands; an argument before it may still be
 * refused. A refused command line returns -1 with e's code PL_EXIT_USAGE
 * and one sentence naming the offending argument. */
int pl_relay_opts_parse(pl_relay_opts *o, int argc, char **argv, pl_err *e);

#endif
