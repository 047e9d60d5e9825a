/*
 * receipt.h — the deposit receipt (docs/PROTOCOL.md, "Relay HTTP API" and
 * "Transparency log"): a deposit leaf of the relay log with the signed
 * checkpoint of the group commit that made it durable and its inclusion
 * proof in that checkpoint.
 *
 *   receipt := u8 2 ‖ mbx(32) ‖ seq u64 ‖ time u64 ‖ SHA-256(envelope)(32) ‖
 *              leaf index u64 ‖ var(signed checkpoint note) ‖ u8 n ‖ n × 32
 *
 * The relay signs no receipt of its own (one Ed25519 signature per batch,
 * on the checkpoint), so a receipt is a log artifact: the relay writes it,
 * the client keeps it, and an exported proof of outreach carries it for
 * anyone to check offline. Pure functions: no I/O, no clock. Must never
 * call a receipt verified unless its checkpoint verified under the relay
 * key and its proof reaches the deposit leaf it stands for, and never
 * report success with a half-filled output.
 */
#ifndef PARLEY_LOG_RECEIPT_H
#define PARLEY_LOG_RECEIPT_H

#include <stddef.h>
#include <stdint.h>

#include "log/leaf.h"

#define PL_RECEIPT_VERSION 2
#define PL_RECEIPT_NOTE_MAX 1024 /* room for cosignatures; the relay's own is <= 256 */
#define PL_RECEIPT_PROOF_MAX 64	 /* an inclusion proof below 2^64 leaves */
#define PL_RECEIPT_FIXED_LEN (1 + PL_LEAF_KEY_LEN + 8 + 8 + PL_LEAF_KEY_LEN + 8)
#define PL_RECEIPT_MAX                                                                             \
	(PL_RECEIPT_FIXED_LEN + 4 + PL_RECEIPT_NOTE_MAX + 1 +                                      \
	 PL_RECEIPT_PROOF_MAX * 32) /* 3166 bytes */

typedef struct {
	uint8_t mbx[PL_LEAF_KEY_LEN];
	uint64_t seq;
	uint64_t time;
	uint8_t hash[PL_LEAF_KEY_LEN]; /* SHA-256 of the sealed envelope */
	uint64_t index;		       /* the deposit's leaf in the relay log */
	size_t notelen;
	uint8_t note[PL_RECEIPT_NOTE_MAX]; /* C2SP signed checkpoint */
	size_t prooflen;
	uint8_t proof[PL_RECEIPT_PROOF_MAX][32]; /* inclusion of the leaf in it */
} pl_receipt;

/* Writes the receipt and returns its length (0 if notelen or prooflen is
 * out of range); the rest of out, up to PL_RECEIPT_MAX, is zeroed so a
 * caller that keeps the whole buffer keeps no stray bytes. */
size_t pl_receipt_encode(uint8_t out[static PL_RECEIPT_MAX], const pl_receipt *r);
/* Structural decode only (version 2, seq != 0, 1 <= note <= 1024 bytes,
 * n <= 64, no trailing bytes); follow with pl_receipt_verify. */
int pl_receipt_decode(pl_receipt *r, const uint8_t *p, size_t n);
/* 0 iff the note is a checkpoint signed by relay_pk under the log origin
 * derived from it (log/leaf.h), index < its size, and the proof includes
 * the deposit leaf (pl_receipt_leaf) at index under its root; and (if
 * expected_hash is not NULL) the receipt covers that envelope hash. The
 * caller compares r->mbx itself. */
int pl_receipt_verify(const pl_receipt *r, const uint8_t relay_pk[static 32],
		      const uint8_t *expected_hash);

/* The deposit leaf the receipt stands for (mbx, envelope hash, seq, relay
 * time); the one place that rebuilds it. */
void pl_receipt_leaf(pl_leaf *l, const pl_receipt *r);

#endif
