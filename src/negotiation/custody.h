/*
 * custody.h — proximity talks (docs/PROTOCOL.md "Proximity talks"): the
 * three formats that carry a move through a mediator.
 *
 *   carry     (payload kind 9): what an author hands the mediator to pass on
 *             (a signed object addressed to the final recipient, or a note);
 *   forwarded (payload kind 10): the mediator's custody record, signed by
 *             the mediator, followed by the exact inner bytes;
 *   notice    (payload kind 11): the mediator's signed word to the author
 *             that it held the object back (with the reason) or forwarded it
 *             (with the deposit receipt of the forwarded envelope).
 *
 * Every decoder is strict (one encoding per value, no trailing bytes, known
 * versions and enums only, every key valid, text by the shared rules) and
 * checks the signatures it can: a custody record or notice under the
 * mediator key it names, a carried or forwarded object through
 * pl_obj_decode_signed. Whether those keys are the ones the vault holds is
 * the caller's question (client/via.c).
 */
#ifndef PARLEY_NEGOTIATION_CUSTODY_H
#define PARLEY_NEGOTIATION_CUSTODY_H

#include <stddef.h>
#include <stdint.h>

#include "identity/identity.h"
#include "negotiation/object.h"
#include "util/err.h"
#include "util/wire.h"

#define PL_CUSTODY_VERSION 1
#define PL_CUSTODY_SIG_TAG "parley custody v1\n"
#define PL_CUSTODY_NOTICE_TAG "parley custody notice v1\n"

/* What is carried: a signed negotiation object, or a note (deniable: only
 * the mediator's custody signature vouches for it once forwarded). */
enum { PL_CARRY_OBJECT = 1, PL_CARRY_NOTE = 2 };
/* What a notice says. */
enum { PL_NOTICE_HELD = 1, PL_NOTICE_FORWARDED = 2 };

#define PL_CUSTODY_NOTE_MAX 1024   /* the mediator's note on a forward */
#define PL_CUSTODY_REASON_MAX 1024 /* the reason of a hold */
#define PL_CUSTODY_RECEIPT_MAX 4096
/* The fixed part of a custody record, and its largest signed size. */
#define PL_CUSTODY_FIXED (2 + PL_OBJ_ID_LEN + PL_OBJ_HASH_LEN + 3 * PL_IK_LEN + 8 + 8 + 4)
#define PL_CUSTODY_SIGNED_MAX (PL_CUSTODY_FIXED + PL_CUSTODY_NOTE_MAX + PL_SIG_LEN)
/* The largest inner object or note that still fits a forwarded payload
 * body (60000 bytes) with the largest custody record before it. */
#define PL_CUSTODY_INNER_MAX (60000 - 8 - PL_CUSTODY_SIGNED_MAX)

typedef struct {
	uint8_t what;			 /* PL_CARRY_OBJECT or PL_CARRY_NOTE */
	uint8_t recipient_ik[PL_IK_LEN]; /* the final recipient */
	const uint8_t *inner;		 /* points into the decoded buffer */
	size_t innerlen;
} pl_carry;

/* carry := u8 version ‖ u8 what ‖ recipient IK(32) ‖ var(inner), inner at
 * most PL_CUSTODY_INNER_MAX bytes: a signed object whose recipient is
 * recipient IK, or a note of 1.. bytes of text. */
int pl_carry_encode(pl_wr *w, const pl_carry *c, pl_err *e);
/* Strict decode; for an object also decodes and verifies it and requires
 * its recipient to be the carry's. */
int pl_carry_decode(pl_carry *c, const uint8_t *p, size_t n, pl_err *e);

/* A custody record: the mediator's signed statement that it passed on the
 * inner bytes (hash = SHA-256 of them) from author to recipient. */
typedef struct {
	uint8_t what;
	uint8_t id[PL_OBJ_ID_LEN];	 /* the object's id, or the note's item id */
	uint8_t hash[PL_OBJ_HASH_LEN];	 /* SHA-256 of the inner bytes */
	uint8_t author_ik[PL_IK_LEN];	 /* who handed it over */
	uint8_t recipient_ik[PL_IK_LEN]; /* who it is for */
	uint8_t mediator_ik[PL_IK_LEN];	 /* who signs the record */
	uint64_t carried;		 /* when the mediator received it (its clock) */
	uint64_t forwarded;		 /* when it passed it on (its clock) */
	char note[PL_CUSTODY_NOTE_MAX + 1];
	uint8_t sig[PL_SIG_LEN];
} pl_custody;

/* Fills c's id, hash, author and recipient from the inner bytes (for an
 * object, decoded and verified; for a note, id given), signs as mediator
 * and appends forwarded := var(custody ‖ sig) ‖ var(inner) to w. */
int pl_custody_forward(pl_wr *w, pl_custody *c, const pl_identity *mediator, const uint8_t *inner,
		       size_t innerlen, pl_err *e);
/* Strict decode of a forwarded body: the custody record's signature under
 * the mediator key it names, the inner bytes' hash, and for an object its
 * signature (pl_obj_decode_signed into o, which may be NULL) and that its
 * id, author and recipient are the record's. *inner points into p. */
int pl_custody_decode(pl_custody *c, pl_obj *o, const uint8_t **inner, size_t *innerlen,
		      const uint8_t *p, size_t n, pl_err *e);
/* The signed record alone (custody ‖ sig), as exports carry it, and its
 * strict decode with the signature check. */
int pl_custody_record_encode(pl_wr *w, const pl_custody *c, pl_err *e);
int pl_custody_record_decode(pl_custody *c, const uint8_t *p, size_t n, pl_err *e);

/* The mediator's notice to the author. */
typedef struct {
	uint8_t status; /* PL_NOTICE_HELD or PL_NOTICE_FORWARDED */
	uint8_t what;
	uint8_t id[PL_OBJ_ID_LEN];
	uint8_t hash[PL_OBJ_HASH_LEN];
	uint8_t author_ik[PL_IK_LEN];
	uint8_t recipient_ik[PL_IK_LEN];
	uint8_t mediator_ik[PL_IK_LEN];
	uint64_t time;
	char text[PL_CUSTODY_REASON_MAX + 1];	 /* held: the reason (1..); forwarded: the note */
	uint8_t receipt[PL_CUSTODY_RECEIPT_MAX]; /* forwarded: the relay's deposit receipt */
	size_t receiptlen;
	/* forwarded: the custody record (custody ‖ sig) the recipient got,
	 * naming the same id, hash, author, recipient and mediator */
	uint8_t record[PL_CUSTODY_SIGNED_MAX];
	size_t recordlen;
	uint8_t sig[PL_SIG_LEN];
} pl_custody_notice;

/* notice := u8 version ‖ u8 status ‖ u8 what ‖ id ‖ hash ‖ author ‖
 * recipient ‖ mediator ‖ time u64 ‖ str text ‖ var receipt ‖ var record,
 * then sig. Sets mediator_ik and sig. */
int pl_custody_notice_sign(pl_wr *w, pl_custody_notice *n, const pl_identity *mediator, pl_err *e);
int pl_custody_notice_decode(pl_custody_notice *n, const uint8_t *p, size_t len, pl_err *e);

#endif
