/*
 * envelope.h — what the relay stores: a sealed-sender envelope padded to a
 * size bucket, and the payload carried inside a session (docs/PROTOCOL.md).
 */
#ifndef PARLEY_ENVELOPE_ENVELOPE_H
#define PARLEY_ENVELOPE_ENVELOPE_H

#include <stddef.h>
#include <stdint.h>

#include "identity/identity.h"
#include "util/wire.h"

#define PL_ENVELOPE_SEAL_OVERHEAD 48 /* crypto_box_SEALBYTES */
#define PL_ENVELOPE_MAX_INNER 65536
#define PL_ENVELOPE_MAX (PL_ENVELOPE_MAX_INNER + PL_ENVELOPE_SEAL_OVERHEAD)
#define PL_PAYLOAD_MAX_BODY 60000
#define PL_ITEM_ID_LEN 8

/* Bucket sizes of `inner`; a sealed envelope is one of these + 48 bytes. */
int pl_envelope_size_ok(size_t sealed_len);

/* Seals sender IK ‖ session message for the recipient. *out is malloc'd. */
int pl_envelope_seal(uint8_t **out, size_t *outlen, const uint8_t recipient_ik[static PL_IK_LEN],
		     const uint8_t sender_ik[static PL_IK_LEN], const uint8_t *msg, size_t msglen);
/* Opens and strictly decodes; *msg points into *inner (malloc'd, caller wipes+frees). */
int pl_envelope_open(uint8_t **inner, size_t *innerlen, uint8_t sender_ik[static PL_IK_LEN],
		     const uint8_t **msg, size_t *msglen, const pl_identity *me,
		     const uint8_t *sealed, size_t sealedlen);

/* Payload kinds (docs/NEGOTIATION.md): a deniable note; a signed
 * negotiation object; an ack listing item ids the sender has fetched; a
 * signed notice that the sender's mailbox moved to another relay
 * (docs/PROTOCOL.md, "Relay moves"); the sender's signed revocation of
 * its own identity key (docs/PROTOCOL.md, "Revocation"); the sender's
 * statement that its identity key moved to a new one, signed by both
 * (docs/PROTOCOL.md, "Key rotation"). */
enum {
	PL_KIND_NOTE = 1,
	PL_KIND_OBJECT = 2,
	PL_KIND_ACK = 3,
	PL_KIND_RELAY = 4,
	PL_KIND_REVOKE = 5,
	PL_KIND_ROTATE = 6,
	PL_KIND_RESTORED = 7,
	/* A mediator's signed introduction of another of its verified
	 * contacts (docs/PROTOCOL.md, "Introductions"; identity/introduction.h) */
	PL_KIND_INTRODUCE = 8,
	/* an accepted agreement delivered to the mediator its proposal names:
	 * body = var(proposal signed) ‖ var(acceptance signed) (docs/NEGOTIATION.md) */
	PL_KIND_AGREEMENT = 13,
	/* Proximity talks (docs/PROTOCOL.md "Proximity talks",
	 * negotiation/custody.h): a move handed to a mediator to pass on; the
	 * move passed on, under the mediator's custody signature; the
	 * mediator's signed notice to the author (held back, or forwarded). */
	PL_KIND_CARRY = 9,
	PL_KIND_FORWARDED = 10,
	PL_KIND_HOLD = 11
};
/* An execution plan object (negotiation/plan.h): the plan, its acceptance,
 * a step attestation or an abort, signed, sent to the two other
 * participants (docs/PLAN.md). */
enum { PL_KIND_PLAN = 12 };
/* A blind-matching message (negotiation/match.h, docs/MATCH.md): a signed
 * commitment, or a part of a blinded list or of an answer. */
enum { PL_KIND_MATCH = 14 };
/* The body of a PL_KIND_RESTORED notice: the sender's vault was restored
 * from a backup, or an older copy of it was put back, and messages after
 * `date` may be missing (docs/PROTOCOL.md, "Restored notice"):
 *   u8 how (1 backup, 2 a copy put back) ‖ date u64 (unix s; 0 unknown) */
#define PL_RESTORED_LEN 9
#define PL_RESTORED_BACKUP 1
#define PL_RESTORED_COPY 2
#define PL_ACK_MAX 256

typedef struct {
	uint8_t kind;
	uint8_t id[PL_ITEM_ID_LEN];
	uint64_t time;
	const uint8_t *body; /* points into the decoded buffer */
	size_t bodylen;
} pl_payload;

void pl_payload_encode(pl_wr *w, const pl_payload *p);
int pl_payload_decode(pl_payload *p, const uint8_t *buf, size_t n);

#endif
