/*
 * agreement.h — the agreement file `parley export agreement` writes and
 * `parley verify` checks with nothing but the file (docs/NEGOTIATION.md
 * "Files"): a proposal and its acceptance, both signed, in base64.
 *
 * The verifier is strict: exactly the known keys, canonical base64, no
 * duplicate keys, and the file must be byte for byte what parley writes for
 * that content. It must never report a file valid unless both signatures
 * verified and the acceptance binds to the proposal, and never need a vault.
 */
#ifndef PARLEY_EXPORT_AGREEMENT_H
#define PARLEY_EXPORT_AGREEMENT_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "export/json.h"
#include "identity/identity.h"
#include "negotiation/object.h"
#include "util/err.h"

#define PL_AGREEMENT_FORMAT "parley-agreement"

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

/* The plain summary (fingerprints stand for parties: the objects carry
 * keys, not names), and the same as a new JSON object. */
void pl_agreement_summary_print(FILE *out, const pl_agreement_summary *s);
json_t *pl_agreement_summary_json(const pl_agreement_summary *s);

#endif
