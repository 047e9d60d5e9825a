/*
 * move.h — moving a vault's mailbox to another relay, and following a
 * contact whose mailbox moved (docs/PROTOCOL.md, "Relay moves").
 *
 * The mover pins the new relay, publishes there, and tells every contact
 * with a relay notice: a payload of kind PL_KIND_RELAY that rides the
 * existing ratchet session (so it is end-to-end authenticated) and is also
 * signed by the mover's identity key, so it can be checked on its own.
 *
 * notice  := u8 version=1 ‖ time u64 ‖ relay_key(32) ‖ var(url) ‖ var(ca) ‖ sig(64)
 * signed  := "parley relay notice v1" ‖ u8 kind=4 ‖ signer IK(32) ‖ time u64 ‖
 *            relay_key(32) ‖ var(url) ‖ var(ca)
 * var(x)  := u32 length ‖ x (big-endian, as util/wire.h)
 */
#ifndef PARLEY_CLIENT_MOVE_H
#define PARLEY_CLIENT_MOVE_H

#include <stddef.h>
#include <stdint.h>

#include "envelope/envelope.h"
#include "identity/identity.h"
#include "util/err.h"
#include "util/wire.h"
#include "vault/vault.h"

#define PL_MOVE_VERSION 1
/* A CA certificate pinned for the new relay travels in the notice: it must
 * fit one payload beside the rest. */
#define PL_MOVE_CA_MAX 49152

typedef struct {
	uint64_t time;
	uint8_t relay_key[32];
	char url[PL_URL_MAX + 1];
	const uint8_t *ca; /* into the decoded bytes; NULL when calen is 0 */
	size_t calen;
	uint8_t sig[PL_SIG_LEN];
} pl_move_notice;

/* Writes the notice signed by id. -1 (nothing usable written) if a field
 * is out of range: url not an http(s) relay URL of at most PL_URL_MAX
 * printable bytes, an invalid relay key, a CA that is not PEM or is larger
 * than PL_MOVE_CA_MAX, time 0. */
int pl_move_notice_encode(pl_wr *w, const pl_identity *id, uint64_t time,
			  const uint8_t relay_key[static 32], const char *url, const uint8_t *ca,
			  size_t calen);
/* Strict: every field in range (as encode), nothing after the signature.
 * Does not check the signature. */
int pl_move_notice_decode(pl_move_notice *n, const uint8_t *p, size_t len);
/* 0 iff the notice is signed by signer_ik. */
int pl_move_notice_verify(const pl_move_notice *n, const uint8_t signer_ik[static PL_IK_LEN]);

/* What a sync does with a relay notice from the verified contact `from`,
 * inside the transaction that processes its envelope: checks it (decodes,
 * signed by from's key, newer than the last one applied, a URL this vault
 * may use) and records that from's mailbox now lives at that relay.
 * 0 followed; 1 refused (e says why; nothing written); -1 vault error. */
int pl_move_follow(pl_vault *v, const pl_contact *from, const pl_payload *p, pl_err *e);

typedef struct {
	unsigned told;		  /* contacts a notice was queued for */
	unsigned not_told;	  /* contacts skipped: not verified (or key changed) */
	unsigned delivered;	  /* notices deposited now */
	unsigned queued;	  /* outbox items still waiting after the delivery */
	int published;		  /* bundle, token and grants are on the new relay */
	char why[PL_ERR_MSG_MAX]; /* when not published or not delivered */
} pl_move_report;

/* Moves the vault to the relay at url, whose key the caller fetched from
 * it (and showed to the user): records the move and queues a signed
 * notice to every verified contact in one transaction, then publishes the
 * bundle, token and grants at the new relay and delivers the notices.
 * Returns -1 only if the move could not be recorded; publishing or
 * delivering may fail after it (r says so) and the next sync retries. */
int pl_move_relay(pl_vault *v, const char *url, const uint8_t relay_key[static 32],
		  const uint8_t *ca, size_t calen, int plain_http, pl_move_report *r, pl_err *e);

#endif
