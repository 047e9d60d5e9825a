/*
 * match.h — the formats of blind matching (docs/MATCH.md): the messages of
 * a match (a signed COMMIT, then LIST and FINAL chunks), the match id and
 * hashing context, the list commitment, the signed intent statement and
 * its seal, the person identifier, the packages file and the
 * side-independent encoding of a package.
 *
 * Decoded messages and statements live in fixed-size structs (chunk
 * elements point into the decoded buffer), so decoding untrusted bytes
 * never allocates. Encode refuses exactly what decode refuses. Signatures:
 * COMMIT under "parley match v1\n", a statement under
 * "parley match intent v1\n", over the bytes before the signature.
 */
#ifndef PARLEY_NEGOTIATION_MATCH_H
#define PARLEY_NEGOTIATION_MATCH_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "identity/identity.h"
#include "util/err.h"
#include "util/wire.h"

#define PL_MATCH_ID_LEN 16
enum { PL_MATCH_INTENT = 1, PL_MATCH_PACKAGES = 2, PL_MATCH_COUNT = 3 };
enum { PL_MATCH_COMMIT = 1, PL_MATCH_LIST = 2, PL_MATCH_FINAL = 3 };
#define PL_MATCH_DST "parley-match-v1-ristretto255_XMD:SHA-512_R255MAP_RO_"
#define PL_MATCH_LABEL_MAX 256	      /* one line of UTF-8 text (util/text.h) */
#define PL_MATCH_ELEMS_MAX (1u << 20) /* hard cap of any list */
#define PL_MATCH_CHUNK_ELEMS 1800     /* elements per chunk: body < PL_PAYLOAD_MAX_BODY */
#define PL_MATCH_SEALED_MAX 1024
#define PL_MATCH_CTX_LEN 81
#define PL_MATCH_TIME_MAX 253402300799ull /* 9999-12-31T23:59:59Z */
#define PL_MATCH_SIG_TAG "parley match v1\n"
#define PL_MATCH_INTENT_TAG "parley match intent v1\n"
#define PL_MATCH_MAGIC "PLM1"
#define PL_MATCH_INTENT_MAGIC "PLMI"
#define PL_MATCH_INTENT_VERSION 1
/* A statement of a topic of 1..PL_MATCH_LABEL_MAX bytes, and its seal. */
#define PL_MATCH_INTENT_FIXED (4 + 1 + PL_MATCH_ID_LEN + 2 * PL_IK_LEN + 2 + 8 + PL_SIG_LEN)
#define PL_MATCH_INTENT_MAX (PL_MATCH_INTENT_FIXED + PL_MATCH_LABEL_MAX)
#define PL_MATCH_SEAL_OVERHEAD 16
#define PL_MATCH_SEALED_MIN (PL_MATCH_INTENT_FIXED + 1 + PL_MATCH_SEAL_OVERHEAD)
#define PL_MATCH_SEALED_LEN_MAX (PL_MATCH_INTENT_MAX + PL_MATCH_SEAL_OVERHEAD)

/*
 * Wire (big-endian):
 *  COMMIT: "PLM1" u8 step=1 id[16] u8 kind u32 max u32 size commit[32]
 *          u16 labellen label u64 created signer[32] peer[32] sig[64]
 *  LIST/FINAL chunk: "PLM1" u8 step id[16] u32 part u32 parts u32 total
 *          u32 count elems[count*32] u16 sealedlen sealed
 * COMMIT: kind 1..3; max and size 1..PL_MATCH_ELEMS_MAX (intent: both 1);
 * label one line of 0..256 bytes (intent: 1..); created 1..year 9999;
 * signer and peer valid keys, not the same; signature checked.
 * Chunk: total 0..PL_MATCH_ELEMS_MAX (LIST: 1..), parts =
 * pl_match_parts(total), part < parts, count = PL_MATCH_CHUNK_ELEMS but
 * for the last part (the rest); a FINAL of total 0 (an intent's) carries
 * a sealed statement of PL_MATCH_SEALED_MIN..PL_MATCH_SEALED_LEN_MAX
 * bytes, every other chunk none. Element validity and order are the
 * receiver's checks (across chunks), not the decoder's.
 */
typedef struct {
	uint8_t step;
	uint8_t id[PL_MATCH_ID_LEN];
	/* COMMIT */
	uint8_t kind;
	uint32_t max, size;
	uint8_t commit[32];
	char label[PL_MATCH_LABEL_MAX + 1];
	uint64_t created;
	uint8_t signer[PL_IK_LEN], peer[PL_IK_LEN], sig[PL_SIG_LEN];
	/* LIST, FINAL */
	uint32_t part, parts, total, count;
	const uint8_t *elems; /* count * 32 bytes, into the decoded buffer */
	const uint8_t *sealed;
	size_t sealedlen;
} pl_match_msg;

/* Strict; a COMMIT's signature is checked against m->signer. 0 / -1 (m
 * zeroed). */
int pl_match_msg_decode(pl_match_msg *m, const uint8_t *p, size_t n);
/* Signs as me (signer = me->pk) and appends. -1 (w unchanged) for
 * anything decode refuses. */
int pl_match_commit_encode(pl_wr *w, const uint8_t id[PL_MATCH_ID_LEN], int kind, uint32_t max,
			   uint32_t size, const uint8_t commit[32], const char *label,
			   uint64_t created, const uint8_t peer[PL_IK_LEN], const pl_identity *me);
/* Writes part `part` of the list elems[0..total). -1 (w unchanged) for
 * anything decode refuses. */
int pl_match_chunk_encode(pl_wr *w, int step, const uint8_t id[PL_MATCH_ID_LEN], uint32_t part,
			  uint32_t total, const uint8_t (*elems)[32], const uint8_t *sealed,
			  size_t sealedlen);
/* The same given only this part's elements (count of them, as decoded). */
int pl_match_chunk_encode_part(pl_wr *w, int step, const uint8_t id[PL_MATCH_ID_LEN], uint32_t part,
			       uint32_t total, const uint8_t *part_elems, const uint8_t *sealed,
			       size_t sealedlen);
/* ceil(total / PL_MATCH_CHUNK_ELEMS), at least 1. */
uint32_t pl_match_parts(uint32_t total);
/* Elements in part `part` of a list of total. */
uint32_t pl_match_part_count(uint32_t part, uint32_t total);

/* BLAKE2b-128("parley match id v1" || u8 kind || ik_low || ik_high || label);
 * symmetric in (a, b). */
void pl_match_id(uint8_t id[PL_MATCH_ID_LEN], int kind, const uint8_t a[PL_IK_LEN],
		 const uint8_t b[PL_IK_LEN], const char *label);
/* u8 kind || id || ik_low || ik_high. */
void pl_match_ctx(uint8_t ctx[PL_MATCH_CTX_LEN], int kind, const uint8_t id[PL_MATCH_ID_LEN],
		  const uint8_t a[PL_IK_LEN], const uint8_t b[PL_IK_LEN]);
/* BLAKE2b-256("parley match list v1" || id || signer || u32 n || elems). */
void pl_match_list_commit(uint8_t out[32], const uint8_t id[PL_MATCH_ID_LEN],
			  const uint8_t signer[PL_IK_LEN], const uint8_t (*elems)[32], uint32_t n);

/* --- the intent statement ------------------------------------------------ */
/* "PLMI" u8 version=1 id[16] signer[32] peer[32] u16 topiclen topic
 * u64 created sig[64]; topic one line of 1..256 bytes, created 1..year
 * 9999, signer and peer valid and different. */
typedef struct {
	uint8_t id[PL_MATCH_ID_LEN], signer[PL_IK_LEN], peer[PL_IK_LEN];
	char topic[PL_MATCH_LABEL_MAX + 1];
	uint64_t created;
	uint8_t sig[PL_SIG_LEN];
} pl_match_intent;

int pl_match_intent_sign(pl_wr *w, const uint8_t id[PL_MATCH_ID_LEN], const uint8_t peer[PL_IK_LEN],
			 const char *topic, uint64_t created, const pl_identity *me);
/* Strict; checks the signature under s->signer. 0 / -1 (s zeroed). */
int pl_match_intent_decode(pl_match_intent *s, const uint8_t *p, size_t n);
/* The length of a statement of topic. */
size_t pl_match_intent_len(const char *topic);
/* BLAKE2b-256("parley match intent key v1" || id || y_low || y_high || shared). */
void pl_match_intent_key(uint8_t key[32], const uint8_t id[PL_MATCH_ID_LEN],
			 const uint8_t y_low[32], const uint8_t y_high[32],
			 const uint8_t shared[32]);
/* XChaCha20-Poly1305-IETF, nonce zero (each key seals once), ad = id:
 * out holds n + 16 (seal) or n - 16 (open) bytes. 0 / -1. */
int pl_match_seal(uint8_t *out, const uint8_t *m, size_t n, const uint8_t id[PL_MATCH_ID_LEN],
		  const uint8_t key[32]);
int pl_match_open(uint8_t *out, const uint8_t *c, size_t n, const uint8_t id[PL_MATCH_ID_LEN],
		  const uint8_t key[32]);

/* --- person identifiers and packages ------------------------------------- */
/* "ISS:DOC": ISS the ISO 3166-1 alpha-3 code of the issuing state, DOC the
 * passport number. Normalised: ASCII upper case; spaces, '-', '.', '/'
 * removed from DOC; spaces around the whole ignored; ISS 3 letters, DOC 1
 * to 20 of [A-Z0-9]. "irn: k-123 456" -> "IRN:K123456". */
#define PL_PERSON_ID_MAX 24
int pl_person_id_normalise(char out[PL_PERSON_ID_MAX + 1], const char *in, pl_err *e);

#define PL_PKG_PEOPLE_MAX 64
/* A package: who this side releases (we) and who the other side does
 * (they), normalised, in the order given. A loaded package's two lists
 * share one allocation (we); pl_match_packages_free frees it. */
typedef struct {
	uint32_t nwe, nthey;
	char (*we)[PL_PERSON_ID_MAX + 1];
	char (*they)[PL_PERSON_ID_MAX + 1];
} pl_match_package;

/* {"packages": [{"we_release": [ID, ...], "they_release": [ID, ...]}, ...]}
 * Strict: unknown keys, duplicate keys, a bad id, a person twice in one
 * list or on both sides of one package, 1..64 people a side,
 * 1..PL_MATCH_ELEMS_MAX packages, no two identical packages. e names the
 * place in one line: "package 3: they_release[1] ..." (packages counted
 * from 1, list entries from 0, as in JSON). */
int pl_match_packages_load(pl_match_package **out, size_t *n, const char *json, size_t len,
			   pl_err *e);
void pl_match_packages_free(pl_match_package *p, size_t n);
/* The side-independent element of a package: "pkg" || u8 n_low || ids
 * released by the lower key (sorted, each u8 len + bytes) || u8 n_high ||
 * ids released by the higher key. The other side's view of the same
 * package (we and they swapped) gives the same bytes. -1 (w unchanged)
 * if the package is not one the loader would accept. */
int pl_match_package_elem(pl_wr *w, const pl_match_package *p, const uint8_t me[PL_IK_LEN],
			  const uint8_t peer[PL_IK_LEN]);
/* {"we_release": [...], "they_release": [...]} of a package; NULL out of
 * memory. */
json_t *pl_match_package_json(const pl_match_package *p);
/* The same from an element (strict decode) seen by me; NULL if elem is
 * not a package element. */
json_t *pl_match_package_elem_json(const uint8_t *elem, size_t n, const uint8_t me[PL_IK_LEN],
				   const uint8_t peer[PL_IK_LEN]);

#endif
