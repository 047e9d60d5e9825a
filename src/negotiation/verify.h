/*
 * verify.h — the files `parley export` writes and `parley verify` checks
 * with nothing but the file (docs/NEGOTIATION.md "Files"): an agreement (a
 * proposal and its acceptance, both signed) and a whole thread (every signed
 * object and note, hash-chained and signed by the exporter).
 *
 * This module owns the JSON of those files, their one serialization and the
 * verifier of each format; pl_verify_file picks the verifier from the
 * "format" field through a small table. The verifiers are strict: exactly
 * the known keys, the right types, canonical base64 and hex, no duplicate
 * keys, and the file must be byte for byte what parley writes for that
 * content, so an edit anywhere is refused. A third format, the proof of
 * outreach (issue 4), is owned by log/proof.h and only has its row in the
 * table here (pl_verify_file_ex passes it a relay key).
 *
 * It must never report a file valid unless every signature in it verified,
 * and never need a vault: everything it checks is in the file.
 */
#ifndef PARLEY_NEGOTIATION_VERIFY_H
#define PARLEY_NEGOTIATION_VERIFY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "identity/identity.h"
#include "negotiation/object.h"
#include "util/err.h"

#define PL_AGREEMENT_FORMAT "parley-agreement"
#define PL_THREAD_FORMAT "parley-thread"
#define PL_EXPORT_VERSION 1
#define PL_EXPORT_FILE_MAX (64u << 20) /* bytes; larger files are refused */
#define PL_THREAD_ENTRIES_MAX 100000
#define PL_THREAD_NOTE_MAX 60000 /* bytes of note text (PL_PAYLOAD_MAX_BODY) */
#define PL_THREAD_SIG_TAG "parley thread v1\n"

/* The one serialization of an export file (2-space indent, keys in the
 * order built, raw UTF-8, one trailing newline). malloc'd, NUL-terminated;
 * NULL on allocation failure. */
char *pl_export_dumps(const json_t *j, size_t *len);
/* Writes pl_export_dumps(j) to path atomically (temporary file, fsync,
 * rename), mode 0600: the content of a negotiation is secret. */
int pl_export_write_file(const char *path, const json_t *j, pl_err *e);

/* --- agreement ------------------------------------------------------------ */

typedef struct {
	pl_obj proposal;   /* verified; type PL_OBJ_PROPOSAL */
	pl_obj acceptance; /* verified; a response of kind accept naming it */
	uint8_t proposal_hash[PL_OBJ_HASH_LEN];
	uint8_t proposer_ik[PL_IK_LEN]; /* = proposal.author_ik */
	uint8_t accepter_ik[PL_IK_LEN]; /* = acceptance.author_ik */
	char proposer_fp[PL_FINGERPRINT_LEN];
	char accepter_fp[PL_FINGERPRINT_LEN];
} pl_agreement_summary; /* about 250 KB: allocate it */

/* Builds the agreement JSON from the two signed objects; refuses (-1) a pair
 * that pl_agreement_verify would refuse, so a written file always verifies. */
int pl_agreement_write(json_t **out, const uint8_t *proposal_signed, size_t proposal_len,
		       const uint8_t *acceptance_signed, size_t acceptance_len, pl_err *e);

/* Verifies agreement file bytes. expect[0..n_expect) are keys that must be
 * among the two signers. On success fills *s (if not NULL); on failure e has
 * the reason: PL_EXIT_INPUT for a file that is not a well-formed agreement,
 * PL_EXIT_SECURITY for a signature, binding, expiry or expected-key failure. */
int pl_agreement_verify(pl_agreement_summary *s, const uint8_t *file, size_t n,
			const uint8_t (*expect)[PL_IK_LEN], size_t n_expect, pl_err *e);

/* --- thread --------------------------------------------------------------- */

/* Direction of an entry, from the exporter's side. An outgoing signed object
 * must be authored by the exporter and addressed to the peer; an incoming
 * one the other way round. */
/* (Named PL_EXPORT_* so as not to clash with vault.h's PL_DIR_OUT/IN.) */
enum { PL_EXPORT_OUT = 1, PL_EXPORT_IN = 2 };

typedef struct pl_thread_export pl_thread_export;

/* Starts a thread export; the builder keeps a copy of the exporter's
 * identity (wiped by pl_thread_export_free). */
int pl_thread_export_begin(pl_thread_export **x, const pl_identity *exporter,
			   const uint8_t peer[static PL_IK_LEN], pl_err *e);
/* Appends an entry. The signed object is verified (signature, direction) and
 * time must be a representable RFC 3339 time; on failure nothing changes. */
int pl_thread_export_add_signed(pl_thread_export *x, int dir, uint64_t time,
				const uint8_t *signed_obj, size_t n, pl_err *e);
/* text: UTF-8 without control characters except newlines, ≤ PL_THREAD_NOTE_MAX. */
int pl_thread_export_add_note(pl_thread_export *x, int dir, uint64_t time, const char *text,
			      pl_err *e);
/* Signs the chain head and builds the file's JSON. The builder stays valid
 * (free it either way). */
int pl_thread_export_finish(pl_thread_export *x, json_t **out, pl_err *e);
void pl_thread_export_free(pl_thread_export *x);

typedef struct {
	uint8_t exporter_ik[PL_IK_LEN];
	uint8_t peer_ik[PL_IK_LEN];
	char exporter_fp[PL_FINGERPRINT_LEN];
	char peer_fp[PL_FINGERPRINT_LEN];
	size_t n_entries, n_signed, n_notes;
	uint64_t first_time, last_time; /* 0 when there are no entries */
	uint8_t head[PL_OBJ_HASH_LEN];
} pl_thread_summary;

/* Verifies thread file bytes: every entry strict, every signed object
 * verified and consistent with its direction, the chain recomputed, the head
 * and the exporter's signature checked. A key in expect must have signed
 * something in the file (the head or an object). Errors as for agreements. */
int pl_thread_verify(pl_thread_summary *s, const uint8_t *file, size_t n,
		     const uint8_t (*expect)[PL_IK_LEN], size_t n_expect, pl_err *e);

/* --- any file ------------------------------------------------------------- */

/* Reads the file (≤ PL_EXPORT_FILE_MAX), dispatches on its "format" and
 * verifies. On success writes a plain summary to out_summary (if not NULL)
 * and sets *json_summary (if not NULL) to a new JSON object describing it.
 * Fingerprints stand for parties: the objects carry keys, not names. */
int pl_verify_file(const char *path, const uint8_t (*expect)[PL_IK_LEN], size_t n_expect, pl_err *e,
		   FILE *out_summary, json_t **json_summary);
/* The same on bytes already in memory. */
int pl_verify_bytes(const uint8_t *file, size_t n, const uint8_t (*expect)[PL_IK_LEN],
		    size_t n_expect, pl_err *e, FILE *out_summary, json_t **json_summary);

/* Options of pl_verify_file_ex (zero-initialize, then set what applies). */
typedef struct {
	const uint8_t (*expect)[PL_IK_LEN]; /* keys that must have signed (--expect-key) */
	size_t n_expect;
	/* Proof-of-outreach bundles (log/proof.h): the relay log's verifier key
	 * to check against (--relay-key); NULL = the key inside the bundle, which
	 * the summary then prints for the reader to compare. Refused (exit 2)
	 * for other formats, which involve no relay. */
	const char *relay_key;
} pl_verify_opts;

/* pl_verify_file and pl_verify_bytes with options (opts may be NULL). */
int pl_verify_file_ex(const char *path, const pl_verify_opts *opts, pl_err *e, FILE *out_summary,
		      json_t **json_summary);
int pl_verify_bytes_ex(const uint8_t *file, size_t n, const pl_verify_opts *opts, pl_err *e,
		       FILE *out_summary, json_t **json_summary);

#endif
