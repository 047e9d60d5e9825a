/*
 * proto.h — the relay's wire formats (docs/PROTOCOL.md, "Relay HTTP API"):
 * encoders and strict decoders for every request and response body. The
 * owner-auth scheme (signed requests, the ack body) is auth/auth.h; the
 * deposit receipt, a log artifact, is log/receipt.h.
 *
 * Shared by the relay (src/relay/routes.c) and its client (src/client), so
 * that both sides speak exactly the same bytes. Decoders read only through
 * util/wire.h, reject any version other than 1 (2 for listings), trailing bytes and oversize
 * counts, and leave their output zeroed on failure. Nothing here touches the
 * network, the disk or the clock (callers pass `now`).
 *
 * The fetched prekey bundle (`bundle :=` in PROTOCOL.md) is encoded and
 * decoded by session/x3dh.h (pl_bundle_encode / pl_bundle_decode).
 */
#ifndef PARLEY_RELAY_PROTO_H
#define PARLEY_RELAY_PROTO_H

#include <stddef.h>
#include <stdint.h>

#include "identity/identity.h"
#include "log/leaf.h"
#include "util/wire.h"

#define PL_PROTO_VERSION 1

#define PL_PROTO_TOKEN_LEN 32	   /* access token T */
#define PL_PROTO_TOKEN_HASH_LEN 32 /* SHA-256(T), what the relay stores */
#define PL_PROTO_HASH_LEN 32	   /* SHA-256 of an envelope */
#define PL_PROTO_GRANT_LOC_LEN 32  /* grant locator */
#define PL_PROTO_GRANT_BLOB_MAX 256
#define PL_PROTO_BUNDLE_MAX_OPK 100
#define PL_PROTO_LISTING_MAX 256

/* Exact or maximal sizes of bodies. */
#define PL_PROTO_RELAY_KEY_LEN (1 + PL_IK_LEN)		      /* GET /v1/relay: 33 */
#define PL_PROTO_TOKEN_BODY_LEN (1 + PL_PROTO_TOKEN_HASH_LEN) /* 33 */
#define PL_PROTO_GRANT_BODY_MAX (1 + 4 + PL_PROTO_GRANT_BLOB_MAX)
#define PL_PROTO_OPK_ENTRY_LEN (4 + PL_X25519_LEN)
#define PL_PROTO_BUNDLE_UPLOAD_MIN (1 + PL_IK_LEN + 4 + PL_X25519_LEN + PL_SIG_LEN + 2)
#define PL_PROTO_BUNDLE_UPLOAD_MAX                                                                 \
	(PL_PROTO_BUNDLE_UPLOAD_MIN + PL_PROTO_BUNDLE_MAX_OPK * PL_PROTO_OPK_ENTRY_LEN)
#define PL_PROTO_BUNDLE_LEN (1 + PL_IK_LEN + 4 + PL_X25519_LEN + PL_SIG_LEN + 4 + PL_X25519_LEN)
/* 145 bytes */
#define PL_PROTO_LISTING_ITEM_OVERHEAD (8 + 8 + 4)

/* HTTP header of the deposit token; the owner-auth headers are in
 * auth/auth.h. */
#define PL_HDR_TOKEN "Parley-Token"

/* ---- relay key: u8 1 ‖ relay Ed25519 public key ---------------------- */
void pl_proto_relay_key_encode(uint8_t out[static PL_PROTO_RELAY_KEY_LEN],
			       const uint8_t pk[static PL_IK_LEN]);
int pl_proto_relay_key_decode(uint8_t pk[static PL_IK_LEN], const uint8_t *p, size_t n);

/* ---- bundle upload --------------------------------------------------- */
typedef struct {
	uint32_t id; /* never 0 (0 means "none" in a fetched bundle) */
	uint8_t pub[PL_X25519_LEN];
} pl_proto_opk;

typedef struct {
	uint8_t ik[PL_IK_LEN];
	uint32_t spk_id;
	uint8_t spk[PL_X25519_LEN];
	uint8_t spk_sig[PL_SIG_LEN];
	uint16_t opk_count; /* <= PL_PROTO_BUNDLE_MAX_OPK */
	pl_proto_opk opk[PL_PROTO_BUNDLE_MAX_OPK];
} pl_proto_bundle_upload;

/* Appends the encoding; -1 if opk_count is too large or an id is 0. */
int pl_proto_bundle_upload_encode(pl_wr *w, const pl_proto_bundle_upload *u);
/* Strict: also requires a valid IK, spk_sig to verify under IK, every
 * opk id non-zero and the ids distinct. */
int pl_proto_bundle_upload_decode(pl_proto_bundle_upload *u, const uint8_t *p, size_t n);
/* The message spk_sig signs: "parley spk v1" ‖ spk_id ‖ spk. */
int pl_proto_spk_verify(const uint8_t ik[static PL_IK_LEN], uint32_t spk_id,
			const uint8_t spk[static PL_X25519_LEN],
			const uint8_t sig[static PL_SIG_LEN]);

/* ---- token registration: u8 1 ‖ SHA-256(token) ----------------------- */
void pl_proto_token_hash(uint8_t hash[static PL_PROTO_TOKEN_HASH_LEN],
			 const uint8_t token[static PL_PROTO_TOKEN_LEN]);
void pl_proto_token_encode(uint8_t out[static PL_PROTO_TOKEN_BODY_LEN],
			   const uint8_t hash[static PL_PROTO_TOKEN_HASH_LEN]);
int pl_proto_token_decode(uint8_t hash[static PL_PROTO_TOKEN_HASH_LEN], const uint8_t *p, size_t n);

/* ---- grant body: u8 1 ‖ var(blob), 1 <= blob length <= 256 ------------ */
int pl_proto_grant_encode(pl_wr *w, const uint8_t *blob, size_t bloblen);
/* *blob points into p. */
int pl_proto_grant_decode(const uint8_t **blob, size_t *bloblen, const uint8_t *p, size_t n);

/* ---- mailbox listing ------------------------------------------------- */
typedef struct {
	uint64_t seq;
	uint64_t time;
	const uint8_t *env; /* points into the decoded buffer */
	size_t envlen;
} pl_proto_listing_item;

/* listing := u8 2 ‖ prekeys u16 ‖ u32 count ≤ 256 ‖ count × (seq u64 ‖
 * time u64 ‖ var(envelope)). `prekeys` is how many of the owner's one-time
 * prekeys the relay still holds (capped at 65535): anyone may take one with
 * GET /v1/bundle, so only the relay's count, not the vault's, tells the
 * owner when to upload more. Version 1 had no such field. */
#define PL_PROTO_LISTING_VERSION 2
#define PL_PROTO_LISTING_COUNT_OFF 3 /* offset of count */

typedef struct {
	uint16_t prekeys;
	uint32_t count;
	pl_proto_listing_item item[PL_PROTO_LISTING_MAX];
} pl_proto_listing;

/* Incremental encoder for the relay: begin with the final count, then
 * exactly that many items. */
void pl_proto_listing_encode_begin(pl_wr *w, uint16_t prekeys, uint32_t count);
void pl_proto_listing_encode_item(pl_wr *w, uint64_t seq, uint64_t time, const uint8_t *env,
				  size_t envlen);
int pl_proto_listing_encode(pl_wr *w, const pl_proto_listing *l);
/* Strict: version 2, count <= 256, seqs non-zero and strictly increasing,
 * every envelope of a valid bucket size (pl_envelope_size_ok). */
int pl_proto_listing_decode(pl_proto_listing *l, const uint8_t *p, size_t n);

/* ---- transparency log bodies (GET /log/...) --------------------------- */
/* proof  := u8 1 ‖ u8 n ‖ n × 32      (inclusion or consistency, n <= 65)
 * leaves := u8 1 ‖ u32 n ‖ n × var(leaf)   (n <= 1000, each a valid leaf) */
#define PL_PROTO_PROOF_MAX 65 /* = PL_MERKLE_PROOF_MAX */
#define PL_PROTO_PROOF_BODY_MAX (1 + 1 + PL_PROTO_PROOF_MAX * 32)
#define PL_PROTO_LEAVES_MAX 1000
#define PL_PROTO_LEAVES_BODY_MAX (1 + 4 + PL_PROTO_LEAVES_MAX * (4 + PL_LEAF_MAX))

int pl_proto_proof_encode(pl_wr *w, const uint8_t (*proof)[32], size_t n);
/* Strict; proof must have room for PL_PROTO_PROOF_MAX hashes. */
int pl_proto_proof_decode(uint8_t (*proof)[32], size_t *n, const uint8_t *p, size_t len);

typedef struct {
	uint32_t count;
	struct {
		const uint8_t *p; /* points into the decoded buffer */
		size_t n;
	} leaf[PL_PROTO_LEAVES_MAX];
} pl_proto_leaves;

/* Incremental encoder for the relay: begin with the final count, then
 * exactly that many pl_wr_var(leaf bytes). */
void pl_proto_leaves_encode_begin(pl_wr *w, uint32_t count);
/* Strict: count <= 1000 and every item a valid leaf (pl_leaf_decode). */
int pl_proto_leaves_decode(pl_proto_leaves *l, const uint8_t *p, size_t n);

/* ---- one mailbox's leaves (GET /log/mailbox/{mbx}) -------------------
 * mbxlog := u8 1 ‖ u32 n ‖ n × (index u64 ‖ var(leaf) ‖ u8 plen ‖ plen × 32)
 * The leaves of the tree of the asked size S with index in [start, S)
 * whose mailbox is mbx, oldest first, each with its inclusion proof in
 * that tree (RFC 9162 order). n < PL_PROTO_MBXLOG_MAX: none is left in
 * [start, S). */
#define PL_PROTO_MBXLOG_MAX 256
#define PL_PROTO_MBXLOG_PROOF_MAX 64 /* a tree below 2^64 leaves */
#define PL_PROTO_MBXLOG_BODY_MAX                                                                   \
	(1 + 4 + PL_PROTO_MBXLOG_MAX * (8 + 4 + PL_LEAF_MAX + 1 + PL_PROTO_MBXLOG_PROOF_MAX * 32))
/* The kind= filter: the leaf type it keeps (0: both). */
enum { PL_PROTO_MBXLOG_ANY = 0, PL_PROTO_MBXLOG_DEPOSIT = 1, PL_PROTO_MBXLOG_ACK = 2 };
/* The leaf type of each kind (the owner's acknowledgement leaf). */
#define PL_PROTO_MBXLOG_DEPOSIT_LEAF PL_LEAF_DEPOSIT
#define PL_PROTO_MBXLOG_ACK_LEAF PL_LEAF_ACK

typedef struct {
	uint64_t index;
	uint8_t type;	     /* the leaf's type */
	const uint8_t *leaf; /* points into the decoded buffer */
	size_t leaflen;
	const uint8_t (*proof)[32]; /* points into the decoded buffer */
	size_t prooflen;
} pl_proto_mbxlog_item;

typedef struct {
	uint32_t count;
	pl_proto_mbxlog_item item[PL_PROTO_MBXLOG_MAX];
} pl_proto_mbxlog;

/* The leaf type kind keeps: PL_PROTO_MBXLOG_*_LEAF, 0 for ANY, -1 if kind
 * is none of them. */
int pl_proto_mbxlog_kind_type(int kind);
/* Incremental encoder for the relay: begin with the final count, then
 * exactly that many items. */
void pl_proto_mbxlog_encode_begin(pl_wr *w, uint32_t count);
void pl_proto_mbxlog_encode_item(pl_wr *w, uint64_t index, const uint8_t *leaf, size_t leaflen,
				 const uint8_t (*proof)[32], size_t prooflen);
/* Strict, against what was asked: version 1, count <= 256, indices
 * strictly increasing within [start, size), every leaf valid
 * (pl_leaf_decode) with mailbox mbx and of the type kind keeps, every
 * proof at most 64 hashes, no trailing bytes. The proofs are not checked
 * here (that needs the checkpoint of `size`). */
int pl_proto_mbxlog_decode(pl_proto_mbxlog *m, const uint8_t *p, size_t n,
			   const uint8_t mbx[static 32], uint64_t start, uint64_t size, int kind);

/* ---- ids in paths -------------------------------------------------- */
/* Strict 64 lowercase hex digits → 32 bytes (mailbox ids, locators in paths). */
int pl_proto_parse_id_hex(uint8_t out[static 32], const char *s, size_t len);

#endif
