/*
 * match.h (export) — the proof of a mutual intent (docs/MATCH.md): both
 * parties' signed intent statements (negotiation/match.h) for the same
 * match id and topic, each naming the other as its peer, in one JSON file
 * that `parley verify` checks with nothing but the file.
 *
 *   {"format": "parley-intent", "version": 1, "match": HEX, "topic": TEXT,
 *    "statements": [BASE64, BASE64]}   (sorted by signer key, lower first)
 *
 * The verifier is strict: exactly these keys, canonical base64, both
 * signatures verified, the same id and topic in both and in the file,
 * signer and peer crossed, and the file byte for byte what parley writes,
 * so both parties' exports of one match are the same file.
 */
#ifndef PARLEY_EXPORT_MATCH_H
#define PARLEY_EXPORT_MATCH_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "identity/identity.h"
#include "negotiation/match.h"
#include "util/err.h"

#define PL_INTENT_FORMAT "parley-intent"

typedef struct {
	pl_match_intent stmt[2]; /* verified; stmt[0] signed by the lower key */
	char fp[2][PL_FINGERPRINT_LEN];
	unsigned expect_matched; /* bit i: stmt[i]'s signer was an expected key */
} pl_intent_summary;

/* The file's JSON from the two statements (any order). */
int pl_intent_export_json(json_t **out, const uint8_t *a, size_t na, const uint8_t *b, size_t nb,
			  pl_err *e);
/* Writes it to path (atomic, 0600). */
int pl_intent_export_write(const char *path, const uint8_t *a, size_t na, const uint8_t *b,
			   size_t nb, pl_err *e);
/* Verifies file bytes; s may be NULL. */
int pl_intent_verify(pl_intent_summary *s, const uint8_t *file, size_t n, pl_err *e);
/* The same, with keys that must be the two signers'. */
int pl_intent_verify_ex(pl_intent_summary *s, const uint8_t *file, size_t n,
			const uint8_t (*expect)[PL_IK_LEN], size_t n_expect, pl_err *e);
void pl_intent_summary_print(FILE *out, const pl_intent_summary *s);
json_t *pl_intent_summary_json(const pl_intent_summary *s);

#endif
