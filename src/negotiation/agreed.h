/*
 * agreed.h — an accepted agreement as one payload body (PL_KIND_AGREEMENT,
 * docs/NEGOTIATION.md "Guarantee"): the proposal's and the acceptance's
 * exact signed bytes,
 *   bundle := var(proposal signed) ‖ var(acceptance signed)
 * and the checks that make the pair an agreement: both signatures, the
 * acceptance is an accept response naming the proposal's id and hash, it
 * is signed by the proposal's recipient and addressed to its author.
 *
 * Strict: no trailing bytes, each part at most PL_OBJ_SIGNED_MAX, both
 * parts decoded by the one object decoder. Never hands out a pair it has
 * not verified.
 */
#ifndef PARLEY_NEGOTIATION_AGREED_H
#define PARLEY_NEGOTIATION_AGREED_H

#include <stddef.h>
#include <stdint.h>

#include "negotiation/object.h"
#include "util/err.h"
#include "util/wire.h"

/* Appends the bundle of the two signed objects to w (w->err on overflow). */
void pl_agreed_encode(pl_wr *w, const uint8_t *pb, size_t pn, const uint8_t *ab, size_t an);

/* Splits a bundle into its two parts (pointers into b); -1 if the framing
 * is not exactly two vars of 1..PL_OBJ_SIGNED_MAX bytes. */
int pl_agreed_split(const uint8_t *b, size_t n, const uint8_t **pb, size_t *pn, const uint8_t **ab,
		    size_t *an);

/* Splits, verifies both objects and checks that they make an agreement;
 * fills P, A (each ~140 KB: allocate them) and the SHA-256 of each signed
 * part. On failure P and A are zeroed, e says why (PL_EXIT_INPUT malformed,
 * PL_EXIT_SECURITY a signature or binding failure). */
int pl_agreed_decode(pl_obj *P, pl_obj *A, uint8_t ph[static PL_OBJ_HASH_LEN],
		     uint8_t ah[static PL_OBJ_HASH_LEN], const uint8_t *b, size_t n, pl_err *e);

#endif
