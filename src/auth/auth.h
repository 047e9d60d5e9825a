/*
 * auth.h — the owner-auth scheme of the relay API (docs/PROTOCOL.md, owner
 * auth): how a mailbox owner signs a request with its identity key, how the
 * signature is checked, the time window and nonce rules, the header names,
 * and the ack body (naming the envelopes received) whose signed request the relay logs
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

#define PL_AUTH_ACK_VERSION 2 /* of the ack body; version 1 named no envelope */
#define PL_AUTH_NONCE_LEN 16
#define PL_AUTH_WINDOW 300	/* |time - now| allowed, seconds */
#define PL_AUTH_NONCE_TTL 600	/* how long the relay remembers a nonce */
#define PL_AUTH_TIME_STR_MAX 21 /* u64 in decimal + NUL */
#define PL_AUTH_ACK_NAMES_MAX 32
#define PL_AUTH_ACK_NAME_LEN (8 + 32)
#define PL_AUTH_ACK_BODY_MIN (1 + 8 + 1) /* 10 */
#define PL_AUTH_ACK_BODY_MAX                                                                       \
	(PL_AUTH_ACK_BODY_MIN + PL_AUTH_ACK_NAMES_MAX * PL_AUTH_ACK_NAME_LEN) /* 1290 */

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

/* ---- ack body -------------------------------------------------------
 *   ack := u8 2 ‖ through u64 ‖ u8 n ‖ n × (seq u64 ‖ SHA-256(envelope))
 * The relay deletes every envelope with seq <= through. The names are the
 * envelopes the owner received intact and opened with its key, and only
 * those: the relay logs the signed ack, so anyone can later check which
 * exact envelopes the owner's key acknowledged (a proof of outreach says
 * "fetched" for no other). An envelope the relay replaced, or that did not
 * open, is covered by `through` (so it is not handed over again) but never
 * named. Rules: n <= 32; names' seqs strictly increasing, each in
 * 1..through (so an ack through 0 names nothing). Version 1 ("through seq N" alone) is refused,
 * never read as naming everything below N. */
typedef struct {
	uint64_t seq;
	uint8_t hash[32];
} pl_auth_ack_name;

typedef struct {
	uint64_t through;
	unsigned n;
	pl_auth_ack_name name[PL_AUTH_ACK_NAMES_MAX];
} pl_auth_ack;

/* Writes the body and returns its length; 0 (out untouched) if `a` breaks
 * a rule above. */
size_t pl_auth_ack_encode(uint8_t out[static PL_AUTH_ACK_BODY_MAX], const pl_auth_ack *a);
/* Strict: the rules above and no trailing bytes. */
int pl_auth_ack_decode(pl_auth_ack *a, const uint8_t *p, size_t n);
/* 1 if the ack names envelope `hash` at `seq`, else 0. */
int pl_auth_ack_names(const pl_auth_ack *a, uint64_t seq, const uint8_t hash[static 32]);

/* The Parley-Time value of t: decimal, no leading zeros. */
void pl_auth_time_format(char out[static PL_AUTH_TIME_STR_MAX], uint64_t t);
/* Strict decimal u64 (no sign, no leading zeros, no spaces): the form of
 * Parley-Time, and of every other decimal the relay API carries. */
int pl_auth_parse_u64(uint64_t *out, const char *s);

#endif
