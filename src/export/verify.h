/*
 * verify.h — `parley verify`: reads a file parley exported and checks it
 * with nothing but the file, whatever its format. The "format" field picks
 * the verifier from a small table (agreement, thread, proof of outreach,
 * relay evidence: export/agreement.h, export/thread.h, export/outreach.h,
 * export/evidence.h), and the chosen
 * format prints or returns its summary.
 *
 * It must never report a file valid that its format's verifier refused,
 * never echo an unknown format raw, and never need a vault or a relay.
 */
#ifndef PARLEY_EXPORT_VERIFY_H
#define PARLEY_EXPORT_VERIFY_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "identity/identity.h"
#include "util/err.h"

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
	const uint8_t (*expect)[PL_IK_LEN]; /* keys that must have signed */
	size_t n_expect;
	/* Proof-of-outreach bundles (export/outreach.h), relay evidence
	 * (export/evidence.h) and agreements (export/agreement.h, their
	 * deposit receipt): the relay log's
	 * verifier key to check against; NULL = the key inside the file,
	 * which the summary then prints for the reader to compare. Refused
	 * (PL_EXIT_USAGE) for threads, which involve no relay. */
	const char *relay_key;
} pl_verify_opts;

/* pl_verify_file and pl_verify_bytes with options (opts may be NULL). */
int pl_verify_file_ex(const char *path, const pl_verify_opts *opts, pl_err *e, FILE *out_summary,
		      json_t **json_summary);
int pl_verify_bytes_ex(const uint8_t *file, size_t n, const pl_verify_opts *opts, pl_err *e,
		       FILE *out_summary, json_t **json_summary);

#endif
