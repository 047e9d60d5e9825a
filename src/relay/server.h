/*
 * server.h — parley-relay: the HTTP front (libmicrohttpd) over the relay
 * store, with group commit of deposits (docs/PROTOCOL.md, "Relay HTTP API").
 */
#ifndef PARLEY_RELAY_SERVER_H
#define PARLEY_RELAY_SERVER_H

/* Limits the relay enforces besides the per-endpoint body sizes. */
#define PL_RELAY_CONN_TIMEOUT 30 /* seconds of silence before a connection is dropped */
#define PL_RELAY_CONN_LIMIT 1000 /* simultaneous connections */
/* Connections one client address may hold: so that one client holding
 * idle or trickling connections cannot take all PL_RELAY_CONN_LIMIT. Room
 * for an office's own NAT and for the 64 senders of make bench. */
#define PL_RELAY_PER_IP_DEFAULT 100
#define PL_RELAY_CONN_MEMORY (32 * 1024) /* per-connection buffer: bounds request headers */
#define PL_RELAY_BATCH_MAX 512		 /* requests per group-commit transaction */

/* `parley-relay --listen ADDR:PORT --data DIR [--tls-cert F --tls-key F]`.
 * Returns the process exit code: 0 after a clean SIGTERM/SIGINT shutdown,
 * 2 on a bad command line, 1 on any other failure. */
int pl_relay_main(int argc, char **argv);

#endif
