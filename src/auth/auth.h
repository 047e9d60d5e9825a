/*
 * auth.h — the owner-auth scheme of the relay API (docs/PROTOCOL.md, owner
 * auth): how a mailbox owner signs a request with its identity key, how the
 * signature is checked, the time window and nonce rules, the header names,
 * and the ack body (u8 1 ‖ through-seq) whose signed request the relay logs
 * as a fetch leaf.
 *
 * It sits below both the relay (which checks requests), the client (which
 * signs them) and the log (which re-checks a logged ack offline), so none of
 * them needs another. Pure functions apart from the random nonce of
 * pl_auth_sign: no network, no disk, no clock (callers pass `now`). It must
 * never accept a request whose signature, key, time or nonce does not
 * verify, and never report success with a half-filled output.
 */
#ifndef PARLEY_AUTH_AUTH_H
#define PARLEY_AUTH_AUTH_H

#include <stddef.h>
#include <stdint.h>

#include "identity/identity.h"

#define PL_AUTH_VERSION 1 /* of the ack body */
#define PL_AUTH_NONCE_LEN 16
#define PL_AUTH_WINDOW 300	     /* |time - now| allowed, seconds */
#define PL_AUTH_NONCE_TTL 600	     /* how long the relay remembers a nonce */
#define PL_AUTH_TIME_STR_MAX 21	     /* u64 in decimal + NUL */
#define PL_AUTH_ACK_BODY_LEN (1 + 8) /* 9 */

/* HTTP header names of the owner-auth scheme. */
#define PL_AUTH_HDR_KEY "Parley-Key"
#define PL_AUTH_HDR_TIME "Parley-Time"
#define PL_AUTH_HDR_NONCE "Parley-Nonce"
#define PL_AUTH_HDR_SIG "Parley-Sig"

/* The four header values, NUL-terminated. */
typedef struct {
	char key[2 * PL_IK_LEN + 1];
	char time[PL_AUTH_TIME_STR_MAX];
	char nonce[2 * PL_AUTH_NONCE_LEN + 1];
	char sig[2 * PL_SIG_LEN + 1];
} pl_auth;

/* Client side: picks a fresh random nonce and signs
 * "parley-auth-v1\n" METHOD "\n" PATH-with-query "\n" time "\n" nonce-hex "\n"
 * hex(SHA-256(body)) "\n" with the identity key; fills the four header values. */
int pl_auth_sign(pl_auth *a, const pl_identity *id, const char *method, const char *path_query,
		 const uint8_t *body, size_t bodylen, uint64_t now);

/* Verifier side: parses the four header values (any may be NULL = missing),
 * requires mailbox_id(key) == mbx (skipped when mbx is NULL), |time - now| <=
 * PL_AUTH_WINDOW and a valid signature. On success fills the signer's key,
 * its mailbox id and the nonce (for the caller's replay check). On failure
 * *why (if not NULL) names the reason in a short static phrase. */
int pl_auth_verify(uint8_t key_out[static PL_IK_LEN], uint8_t mbx_out[static PL_MAILBOX_LEN],
		   uint8_t nonce_out[static PL_AUTH_NONCE_LEN], const uint8_t *mbx,
		   const char *method, const char *path_query, const char *key_hex,
		   const char *time_str, const char *nonce_hex, const char *sig_hex,
		   const uint8_t *body, size_t bodylen, uint64_t now, const char **why);

/* ---- ack body: u8 1 ‖ seq u64 ---------------------------------------- */
void pl_auth_ack_encode(uint8_t out[static PL_AUTH_ACK_BODY_LEN], uint64_t seq);
int pl_auth_ack_decode(uint64_t *seq, const uint8_t *p, size_t n);

/* The Parley-Time value of t: decimal, no leading zeros. */
void pl_auth_time_format(char out[static PL_AUTH_TIME_STR_MAX], uint64_t t);
/* Strict decimal u64 (no sign, no leading zeros, no spaces): the form of
 * Parley-Time, and of every other decimal the relay API carries. */
int pl_auth_parse_u64(uint64_t *out, const char *s);

#endif
