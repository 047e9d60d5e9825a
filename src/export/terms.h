/*
 * terms.h — the terms of signed negotiation objects as plain text for
 * people: every field that was signed (but none that is the office's own),
 * the parties by the names a file carries. `parley verify` prints a thread
 * with it, and the agreement document (export/document.h) its terms.
 *
 * Text comes from verified objects, whose decoder refuses control
 * characters; multi-line fields are indented on every line so that no
 * field can pass for another.
 */
#ifndef PARLEY_EXPORT_TERMS_H
#define PARLEY_EXPORT_TERMS_H

#include <stdio.h>

#include "negotiation/object.h"

/* lead "NAME, nationality X, born Y, held by Z" and, one per line after
 * indent, since, charges, sentence and the humanitarian summary that are
 * set. The priority is never shown: it is the author's judgement. */
void pl_terms_person(FILE *out, const pl_person *p, const char *lead, const char *indent);

/* Who releases whom, place, sequencing, mediator, conditions, expiry and
 * the proposal it counters; author and recipient are the parties' names. */
void pl_terms_proposal(FILE *out, const pl_proposal *b, const char *author, const char *recipient,
		       const char *indent);

/* The commitments of a version 3 proposal, each under the signer who takes
 * it on (author, recipient, or the mediator by the name the proposal
 * gives it); nothing for a proposal without any. */
void pl_terms_commitments(FILE *out, const pl_proposal *b, const char *author,
			  const char *recipient, const char *indent);

/* Any object: its type, and every term of its body. */
void pl_terms_obj(FILE *out, const pl_obj *o, const char *author, const char *recipient,
		  const char *indent);

/* s with every line after the first indented by indent. */
void pl_terms_text(FILE *out, const char *s, const char *indent);

#endif
