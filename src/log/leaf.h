/*
 * leaf.h — what the relay's transparency log holds (docs/PROTOCOL.md,
 * "Transparency log"): the bytes of its two kinds of leaf, their strict
 * decoder, their RFC 9162 leaf hash, the offline check of a fetch leaf's
 * owner signature, and the few log-naming helpers that merkle.h and note.h
 * leave to their user (the origin derived from the relay key, its verifier
 * key, signing and opening the relay's checkpoints).
 *
 *   deposit := u8 1 ‖ u8 type=1 ‖ mbx(32) ‖ SHA-256(envelope)(32) ‖ seq u64 ‖ relay time u64
 *   ack     := u8 1 ‖ u8 type=3 ‖ mbx(32) ‖ owner IK(32) ‖ auth time u64 ‖
 *              nonce(16) ‖ sig(64) ‖ relay time u64 ‖ ack body (to the end)
 *   leaf hash = SHA-256(0x00 ‖ leaf)
 *
 * An ack leaf is the owner-signed acknowledgement `POST
 * /v1/mailbox/{mbx}/ack` whose body (auth/auth.h) names the envelopes the
 * owner received and opened: it carries every field of the signed string
 * (docs/PROTOCOL.md, owner auth), so anyone can check offline that the
 * mailbox owner really acknowledged exactly those envelopes. Type 2, the
 * acknowledgement that named only "through seq N", is no longer a leaf
 * type: it proved nothing about which envelopes the owner saw.
 *
 * Pure functions: no I/O, no clock, no allocation. Must never accept a leaf
 * with trailing bytes, an unknown version or type, or report success with
 * a half-filled output.
 */
#ifndef PARLEY_LOG_LEAF_H
#define PARLEY_LOG_LEAF_H

#include <stddef.h>
#include <stdint.h>

#include "auth/auth.h"
#include "log/merkle.h"
#include "log/note.h"

#define PL_LEAF_VERSION 1
#define PL_LEAF_DEPOSIT 1
#define PL_LEAF_ACK 3	     /* 2 was the acknowledgement that named no envelope */
#define PL_LEAF_KEY_LEN 32   /* mailbox id, owner key, envelope hash */
#define PL_LEAF_NONCE_LEN 16 /* = PL_AUTH_NONCE_LEN */
#define PL_LEAF_SIG_LEN 64
#define PL_LEAF_DEPOSIT_LEN (1 + 1 + 32 + 32 + 8 + 8)		   /* 82 */
#define PL_LEAF_ACK_FIXED (1 + 1 + 32 + 32 + 8 + 16 + 64 + 8)	   /* 162 */
#define PL_LEAF_ACK_MIN (PL_LEAF_ACK_FIXED + PL_AUTH_ACK_BODY_MIN) /* 172 */
#define PL_LEAF_MAX (PL_LEAF_ACK_FIXED + PL_AUTH_ACK_BODY_MAX)	   /* 1452 */

typedef struct {
	uint8_t type; /* PL_LEAF_DEPOSIT or PL_LEAF_ACK */
	uint8_t mbx[PL_LEAF_KEY_LEN];
	uint64_t relay_time; /* unix seconds, the relay's clock */
	/* deposit */
	uint8_t hash[PL_LEAF_KEY_LEN]; /* SHA-256 of the sealed envelope */
	uint64_t seq;		       /* never 0 */
	/* ack: the owner's signed acknowledgement */
	uint8_t owner[PL_LEAF_KEY_LEN]; /* Ed25519 identity key */
	pl_auth_ack ack;		/* through, and the envelopes it names */
	uint64_t auth_time;		/* Parley-Time */
	uint8_t nonce[PL_LEAF_NONCE_LEN];
	uint8_t sig[PL_LEAF_SIG_LEN];
} pl_leaf;

/* Writes the leaf bytes; returns their length, or 0 if l->type is unknown,
 * a deposit has seq 0 or an ack breaks the ack body's rules. */
size_t pl_leaf_encode(uint8_t out[static PL_LEAF_MAX], const pl_leaf *l);
/* Strict: version 1, a known type, its exact length, a deposit's seq not 0,
 * an ack's body valid (pl_auth_ack_decode). The fields of the other type
 * are zero. */
int pl_leaf_decode(pl_leaf *l, const uint8_t *p, size_t n);
/* RFC 9162 leaf hash of leaf bytes (pl_merkle_leaf_hash). */
void pl_leaf_hash(uint8_t out[static PL_MERKLE_HASH_LEN], const uint8_t *p, size_t n);
/* Encodes and hashes a leaf; -1 as pl_leaf_encode. */
int pl_leaf_hash_of(uint8_t out[static PL_MERKLE_HASH_LEN], const pl_leaf *l);

/* 0 iff l is an ack leaf whose signature is the owner's over the ack it
 * records: rebuilds "parley-auth-v1" POST /v1/mailbox/<hex mbx>/ack with
 * its body, auth time and nonce (auth/auth.h), and requires
 * mbx = mailbox_id(owner) and |relay time − auth time| <= 300 s (the relay
 * accepts nothing else, so an old ack logged again later is caught). */
int pl_leaf_ack_verify(const pl_leaf *l);

/* ---- the relay's log name and keys -------------------------------------- */
#define PL_LEAF_ORIGIN_PREFIX "parley.relay/"
#define PL_LEAF_ORIGIN_LEN (sizeof PL_LEAF_ORIGIN_PREFIX - 1 + 16) /* 29 */
/* The longest checkpoint note the relay signs (20-digit size): 224 bytes. */
#define PL_LEAF_NOTE_MAX 256

/* origin = "parley.relay/" ‖ 16 lowercase hex digits of the first 8 bytes
 * of the relay's Ed25519 public key: a name every holder of the key derives. */
void pl_leaf_origin(char out[static PL_LEAF_ORIGIN_LEN + 1], const uint8_t relay_pk[static 32]);
/* The C2SP verifier key of the relay's log (name = origin). */
int pl_leaf_log_vkey(pl_note_vkey *out, const uint8_t relay_pk[static 32]);
/* Its text form, "name+keyid+base64" (what parley-relay --print-key shows). */
int pl_leaf_log_vkey_string(char out[static PL_NOTE_VKEY_MAX], const uint8_t relay_pk[static 32]);

/* Signs the checkpoint (origin, size, root) as a signed note with the relay
 * key (libsodium form: seed ‖ pk); writes at most cap bytes. */
int pl_leaf_checkpoint_sign(uint8_t *out, size_t cap, size_t *outlen, uint64_t size,
			    const uint8_t root[static PL_MERKLE_HASH_LEN],
			    const uint8_t relay_sk[static 64]);
/* 0 iff note[0..len) is a checkpoint signed by the relay key relay_pk under
 * its origin; fills *c (c->ext points into note). */
int pl_leaf_checkpoint_open(pl_checkpoint *c, const uint8_t *note, size_t len,
			    const uint8_t relay_pk[static 32]);

#endif
