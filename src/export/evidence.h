/*
 * evidence.h — the relay-evidence file (docs/PROTOCOL.md "Evidence against
 * the relay"): the statements a vault kept about a relay that contradicted
 * itself, written so that anyone holding only the file can check which of
 * them prove, under the relay's own key, that it forked or rewrote its log.
 *
 * A statement has two halves, each one of:
 *   checkpoint  a checkpoint note signed by the relay;
 *   leaf        a leaf, its index and its inclusion proof in a checkpoint
 *               note signed by the relay;
 *   data        other bytes the vault kept (a log leaf it was not handed,
 *               a note under another key): shown, never trusted.
 * and a kind the verifier recomputes from them:
 *   fork    two checkpoints of the same size with different roots;
 *   leaf    two proved leaves at the same index with different leaf hashes
 *           (no append-only log can hold both);
 *   report  anything else: what the vault saw (a smaller tree, a refused
 *           consistency proof, a withheld envelope) that the signatures in
 *           the file do not prove on their own.
 * The reason and the time a statement was recorded are the writing vault's
 * words, bound by no signature; summaries say so.
 *
 * The leaf half is also the form a vault stores (pl_evidence_leaf_side), so
 * one decoder reads it from a vault and from a file.
 *
 * Must never: call a statement proved unless every signature in it verified
 * under the file's relay key and the kind follows from them; accept a file
 * that is not byte for byte what parley writes; echo untrusted text that is
 * not validated; need a vault, a relay or a clock.
 */
#ifndef PARLEY_EXPORT_EVIDENCE_H
#define PARLEY_EXPORT_EVIDENCE_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "export/json.h"
#include "log/leaf.h"
#include "log/merkle.h"
#include "log/note.h"
#include "util/err.h"

#define PL_EVIDENCE_FORMAT "parley-relay-evidence"
#define PL_EVIDENCE_VERSION 1
#define PL_EVIDENCE_MAX 1000	   /* statements per file */
#define PL_EVIDENCE_NOTE_MAX 1024  /* bytes of a checkpoint note (as in receipts) */
#define PL_EVIDENCE_DATA_MAX 16384 /* bytes of a data half */
#define PL_EVIDENCE_REASON_MAX 255 /* bytes of a statement's reason */
#define PL_EVIDENCE_SIDE_MAX 8192  /* bytes of a stored leaf half (JSON) */

typedef enum { PL_EV_FORK = 1, PL_EV_LEAF, PL_EV_REPORT } pl_ev_kind;
typedef enum { PL_EV_SIDE_CHECKPOINT = 1, PL_EV_SIDE_LEAF, PL_EV_SIDE_DATA } pl_ev_side_kind;

/* One half, as the verifier saw it. */
typedef struct {
	pl_ev_side_kind kind;
	uint64_t size; /* checkpoint and leaf halves: the signed tree */
	uint8_t root[PL_MERKLE_HASH_LEN];
	uint64_t index; /* leaf half */
	uint8_t leaf_hash[PL_MERKLE_HASH_LEN];
	size_t data_len; /* data half */
} pl_ev_side_summary;

typedef struct {
	pl_ev_kind kind;
	pl_ev_side_summary a, b;
	char reason[PL_EVIDENCE_REASON_MAX + 1]; /* validated: one line of text */
	uint64_t recorded;
} pl_ev_statement;

typedef struct {
	char relay_vkey[PL_NOTE_VKEY_MAX];
	int used_embedded_key; /* no key given: the reader must compare it */
	size_t n, n_proved;
	pl_ev_statement *st; /* malloc'd: pl_evidence_summary_free */
} pl_evidence_summary;

void pl_evidence_summary_free(pl_evidence_summary *s);

/* The stored form of a leaf half: note (a checkpoint signed by the relay),
 * the leaf bytes at index and their inclusion proof in it. *out malloc'd.
 * Refuses (-1) a half that would not verify under relay_pk. */
int pl_evidence_leaf_side(uint8_t **out, size_t *n, const uint8_t relay_pk[static 32],
			  const uint8_t *note, size_t notelen, uint64_t index, const uint8_t *leaf,
			  size_t leaflen, const uint8_t (*proof)[PL_MERKLE_HASH_LEN],
			  size_t prooflen);

/* One stored statement (the vault's evidence row). */
typedef struct {
	const char *reason;
	uint64_t recorded;
	const uint8_t *a, *b;
	size_t alen, blen;
} pl_evidence_row;

typedef struct {
	size_t proved, reported;
	size_t duplicates; /* rows equal to an earlier one, left out */
	size_t skipped;	   /* rows that cannot go in the file (another relay key,
			      a half too large, beyond PL_EVIDENCE_MAX) */
} pl_evidence_counts;

/* Builds the file from stored rows, against the relay key relay_pk: proved
 * statements first, duplicates once. Each half is read as a stored leaf
 * half, else a checkpoint note signed by relay_pk, else data; a row with a
 * checkpoint that does not verify under relay_pk is skipped. NOTFOUND if
 * no row can go in. The result always passes the verifier's checks. */
int pl_evidence_build(json_t **out, const uint8_t relay_pk[static 32], const pl_evidence_row *rows,
		      size_t n, pl_evidence_counts *c, pl_err *e);

/* Verifies evidence file bytes against relay_vkey (NULL: the key inside the
 * file, which the summary then prints for the reader to compare). 0 iff the
 * file is well formed, every signature and proof in it verifies, and at
 * least one statement is proved. A valid file that proves nothing fills *s
 * (n_proved = 0) and fails with PL_EXIT_SECURITY: "nothing in it is
 * provable offline". A malformed file fails with PL_EXIT_INPUT, a bad
 * signature, proof or key with PL_EXIT_SECURITY; *s is then empty. */
int pl_evidence_verify(pl_evidence_summary *s, const uint8_t *file, size_t n,
		       const char *relay_vkey, pl_err *e);

/* The plain summary (one verdict per statement), and the same as JSON. */
void pl_evidence_summary_print(FILE *out, const pl_evidence_summary *s);
json_t *pl_evidence_summary_json(const pl_evidence_summary *s);

#endif
