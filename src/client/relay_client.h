/*
 * relay_client.h — the client side of the relay HTTP API (docs/PROTOCOL.md,
 * "Relay HTTP API"): one function per endpoint, over libcurl.
 *
 * A pl_rc_conn is one relay at one base URL ("http://host:port" or
 * "https://host:port", no path). HTTPS always verifies the peer and the host
 * name, against `cafile` when given, else the system store. Every request
 * has a 5 s connect and 30 s total timeout, follows no redirects, and
 * refuses a response body larger than PL_RC_RESPONSE_MAX.
 *
 * Every function returns 0 or -1 and, on -1, fills the pl_err with one of:
 *   PL_EXIT_NETWORK   the relay is unreachable, timed out, or refused the
 *                     request with an HTTP error (its one-line reason quoted);
 *   PL_EXIT_NOTFOUND  the relay answered 404 (no bundle, no grant, ...);
 *   PL_EXIT_SECURITY  TLS verification failed, the relay sent a malformed
 *                     response, or a receipt/bundle that does not verify;
 *   PL_EXIT_USAGE     a bad base URL; PL_EXIT_INPUT an argument we refuse to
 *                     send (e.g. an envelope of no bucket size).
 * pl_rc_last_status() gives the HTTP status of the last response (0 if
 * none came), for callers that react to a particular one (e.g. 403 on a
 * deposit: the token changed, fetch the grant again).
 *
 * Outputs are written only on success. Nothing here keeps state between
 * requests except the connection cache; the relay key is pinned by the
 * caller and passed to pl_rc_deposit.
 */
#ifndef PARLEY_CLIENT_RELAY_CLIENT_H
#define PARLEY_CLIENT_RELAY_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include "envelope/envelope.h"
#include "identity/identity.h"
#include "log/receipt.h"
#include "relay/proto.h"
#include "session/x3dh.h"
#include "util/err.h"

#define PL_RC_CONNECT_TIMEOUT_S 5
#define PL_RC_TIMEOUT_S 30
/* The largest body any endpoint returns: a full listing. */
#define PL_RC_RESPONSE_MAX                                                                         \
	(1 + 4 + (size_t)PL_PROTO_LISTING_MAX * (PL_PROTO_LISTING_ITEM_OVERHEAD + PL_ENVELOPE_MAX))

typedef struct pl_rc_conn pl_rc_conn;

/* Checks the URL (http/https, host, optional port, no path/query/user) and
 * prepares a connection; nothing is sent yet. cafile may be NULL; it is
 * refused with an http:// URL. */
int pl_rc_open(pl_rc_conn **c, const char *url, const char *cafile, pl_err *e);
/* Plain http:// puts the mailbox's access token on the wire in clear, so
 * it is refused (PL_EXIT_SECURITY) unless the host is this computer
 * (localhost, 127/8, ::1) or the caller passes PL_RC_PLAIN_HTTP, the
 * owner's explicit choice for a path it trusts. */
#define PL_RC_PLAIN_HTTP 1u
int pl_rc_open_flags(pl_rc_conn **c, const char *url, const char *cafile, unsigned flags,
		     pl_err *e);
/* 1 if url is plain http:// to a host that is not this computer, 0 if it
 * is https:// or loopback, -1 if it is not a relay URL at all. */
int pl_rc_url_plain_remote(const char *url);
/* Like pl_rc_open_flags, trusting only the CA certificate(s) given as PEM
 * bytes (as pinned in a vault); pem NULL = system store. */
int pl_rc_open_pem(pl_rc_conn **c, const char *url, const uint8_t *pem, size_t pemlen,
		   unsigned flags, pl_err *e);
/* SOCKS proxies (e.g. Tor). Only socks5h:// (the proxy resolves the
 * relay's name) and socks5:// (this computer resolves it, so its DNS
 * queries show which relay it uses) of the form scheme://HOST:PORT, with
 * no user, path or anything else: 0 for socks5h, 1 for socks5, -1
 * (PL_EXIT_USAGE, one sentence) for anything else. */
int pl_rc_proxy_check(const char *proxy, pl_err *e);
/* Sends every request of c through `proxy` (checked as above), with a
 * random SOCKS user name and password of c's own: Tor puts streams with
 * different credentials on different circuits, so two connections (two
 * pl_rc_conn) cannot be linked by their exit. The plain-HTTP rule of
 * pl_rc_open_flags still holds: a proxy does not make http:// safe. */
int pl_rc_set_proxy(pl_rc_conn *c, const char *proxy, pl_err *e);
void pl_rc_close(pl_rc_conn *c);
/* The normalized base URL (no trailing slash). */
const char *pl_rc_url(const pl_rc_conn *c);
long pl_rc_last_status(const pl_rc_conn *c);

/* GET /v1/relay: the relay's Ed25519 key (validated), to pin on first use. */
int pl_rc_get_key(pl_rc_conn *c, uint8_t relay_pk[static PL_IK_LEN], pl_err *e);

/* PUT /v1/bundle/{mailbox of id}: u->ik must be id->pk. */
int pl_rc_publish_bundle(pl_rc_conn *c, const pl_identity *id, const pl_proto_bundle_upload *u,
			 pl_err *e);

/* GET /v1/bundle/{mailbox of ik}: the bundle, verified (spk signature) and
 * checked to be the bundle of `ik` (the pinned contact key). Takes one
 * one-time prekey on the relay. */
int pl_rc_fetch_bundle(pl_rc_conn *c, const uint8_t ik[static PL_IK_LEN], pl_bundle *b, pl_err *e);

/* PUT /v1/token/{mailbox of id}: registers SHA-256(token) for deposits. */
int pl_rc_put_token(pl_rc_conn *c, const pl_identity *id,
		    const uint8_t token[static PL_PROTO_TOKEN_LEN], pl_err *e);

/* PUT /v1/grant/{loc}, signed by the granting mailbox owner `id`. */
int pl_rc_put_grant(pl_rc_conn *c, const pl_identity *id,
		    const uint8_t loc[static PL_PROTO_GRANT_LOC_LEN], const uint8_t *blob,
		    size_t bloblen, pl_err *e);

/* GET /v1/grant/{loc}: copies the blob (1..PL_PROTO_GRANT_BLOB_MAX bytes). */
int pl_rc_get_grant(pl_rc_conn *c, const uint8_t loc[static PL_PROTO_GRANT_LOC_LEN],
		    uint8_t blob[static PL_PROTO_GRANT_BLOB_MAX], size_t *bloblen, pl_err *e);

/* POST /v1/deposit/{mailbox of recipient_ik} with the recipient's token.
 * Succeeds only with a receipt signed by relay_pk for that mailbox and for
 * SHA-256 of exactly `env`; the receipt is returned for the caller to keep
 * (it is the proof of delivery). */
int pl_rc_deposit(pl_rc_conn *c, const uint8_t relay_pk[static PL_IK_LEN],
		  const uint8_t recipient_ik[static PL_IK_LEN],
		  const uint8_t token[static PL_PROTO_TOKEN_LEN], const uint8_t *env, size_t envlen,
		  pl_receipt *receipt, pl_err *e);

/* The receipt check pl_rc_deposit applies to the response body; public
 * so it can be tested against forged receipts. */
int pl_rc_receipt_check(pl_receipt *receipt, const uint8_t *body, size_t bodylen,
			const uint8_t relay_pk[static PL_IK_LEN],
			const uint8_t mbx[static PL_MAILBOX_LEN],
			const uint8_t hash[static PL_PROTO_HASH_LEN], const char *url, pl_err *e);

/* A fetched listing; items point into buf. Free with pl_rc_listing_free. */
typedef struct {
	pl_proto_listing list;
	uint8_t *buf;
	size_t len;
} pl_rc_listing;

/* GET /v1/mailbox/{mailbox of id}?after=SEQ: envelopes with seq > after,
 * oldest first, at most PL_PROTO_LISTING_MAX per call (call again with the
 * last seq for more). */
int pl_rc_fetch(pl_rc_conn *c, const pl_identity *id, uint64_t after, pl_rc_listing *out,
		pl_err *e);
void pl_rc_listing_free(pl_rc_listing *l);

/* POST /v1/mailbox/{mailbox of id}/ack: the relay deletes seq <=
 * a->through and logs the signed ack naming a->name[] (auth/auth.h). */
int pl_rc_ack(pl_rc_conn *c, const pl_identity *id, const pl_auth_ack *a, pl_err *e);

/* GET /log/mailbox/{mbx}?start=..&size=..[&kind=..]: the leaves of mailbox
 * mbx with index in [start, size), of one kind (PL_PROTO_MBXLOG_DEPOSIT or
 * _ACK) or both (PL_PROTO_MBXLOG_ANY), each with its inclusion proof in the
 * tree of `size` leaves, at most PL_PROTO_MBXLOG_MAX per call (fewer: none
 * is left; else ask again from the last index + 1). Strictly decoded
 * against what was asked (pl_proto_mbxlog_decode); the proofs are NOT
 * checked here: the caller checks them against its accepted checkpoint of
 * `size`. out's items point into *body (malloc'd; the caller frees it,
 * also on failure it is NULL). */
int pl_rc_mbxlog(pl_rc_conn *c, const uint8_t mbx[32], uint64_t start, uint64_t size, int kind,
		 pl_proto_mbxlog *out, uint8_t **body, pl_err *e);

/* An unauthenticated GET of `path` (e.g. under /log/), body of at most cap
 * bytes returned as is (*body malloc'd) for the caller's strict decoder. */
int pl_rc_get_raw(pl_rc_conn *c, const char *path, size_t cap, uint8_t **body, size_t *n,
		  const char *what, pl_err *e);

#endif
