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
/* Seconds a client has to send a whole request, headers and body (the
 * idle timeout alone lets a client trickling a line now and then keep a
 * connection forever). The largest body, a 64 KiB envelope, takes a
 * fraction of this on the slowest link parley supports (Tor). */
#define PL_RELAY_REQUEST_TIMEOUT_DEFAULT 30
#define PL_RELAY_REQUEST_TIMEOUT_MAX 3600
/* What one mailbox may hold until its owner fetches: a negotiation's
 * traffic over months of absence is a few hundred messages, so these bound
 * only a flood (by a contact, who holds the token) and the owner's sync
 * time, never honest use. 256 MiB is 4096 of the largest envelopes. */
#define PL_RELAY_MBX_MSGS_DEFAULT 10000
#define PL_RELAY_MBX_BYTES_DEFAULT (256ull << 20)
/* New mailboxes one client address may create per hour: an office creates
 * one per vault; an office behind one NAT sets up a few at once. */
#define PL_RELAY_NEW_MBX_DEFAULT 20
#define PL_RELAY_NEW_MBX_MAX 100000
#define PL_RELAY_STORE_MB_MAX (4ull << 20) /* --max-store-mb: 4 TiB */
#define PL_RELAY_BATCH_MAX 512		   /* requests per group-commit transaction */

/* `parley-relay --listen ADDR:PORT --data DIR [--tls-cert F --tls-key F]`.
 * Returns the process exit code: 0 after a clean SIGTERM/SIGINT shutdown,
 * 2 on a bad command line, 1 on any other failure. */
int pl_relay_main(int argc, char **argv);

#endif
