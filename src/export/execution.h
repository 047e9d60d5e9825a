/*
 * execution.h — the execution record `parley export execution` writes and
 * `parley verify` checks with nothing but the file (docs/PLAN.md): the
 * mediator's signed plan, every acceptance, attestation and abort that
 * counts, in base64, and (when the exporting vault holds it) the agreement
 * the plan carries out (its proposal and acceptance). Also the one view of
 * a plan's state that `parley plan show` and `parley verify` both print.
 *
 * The verifier is strict: exactly the known keys, canonical base64, objects
 * sorted by hash with none twice, every signature verified, every
 * attestation resting on objects in the file (its order proved), and the
 * file byte for byte what parley writes. It must never report a file valid
 * otherwise, and never need a vault.
 */
#ifndef PARLEY_EXPORT_EXECUTION_H
#define PARLEY_EXPORT_EXECUTION_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "negotiation/object.h"
#include "negotiation/plan.h"
#include "util/err.h"

#define PL_EXECUTION_FORMAT "parley-execution"
#define PL_EXECUTION_OBJS_MAX 1024 /* objects of one plan */

/* What a view of a plan shows besides the signed objects: the
 * participants' names as this vault knows them (NULL: unknown; a file
 * shows fingerprints only) and the relay log's time of each object's
 * deposit where the vault holds its receipt (0: none). */
typedef struct {
	const char *names[3]; /* by role - 1 */
	const uint64_t *logged;
	uint64_t plan_logged;
} pl_exec_view;

/* A plan with its objects (decoded, verified), their hashes and what the
 * state function made of them. */
typedef struct {
	pl_planobj *plan;
	uint8_t plan_hash[PL_PLAN_HASH_LEN];
	pl_planobj *objs;
	uint8_t (*h)[PL_PLAN_HASH_LEN];
	uint8_t *verdict;
	size_t n;
	pl_plan_eval ev;
	/* the agreement, when the file or vault holds it */
	int has_agreement;
	pl_obj *proposal, *acceptance;
} pl_exec_state;

void pl_exec_state_free(pl_exec_state *s);

/* JSON and text of the state (keys: docs/PLAN.md). */
json_t *pl_exec_state_json(const pl_exec_state *s, const pl_exec_view *view);
void pl_exec_state_print(FILE *out, const pl_exec_state *s, const pl_exec_view *view);

/* Builds the file: plan bytes, objs[i] (n_objs signed objects, any order;
 * written sorted by hash), and optionally the agreement's two signed
 * objects (NULL, 0 when not held). */
int pl_execution_write(json_t **out, const uint8_t *plan, size_t plan_len,
		       const uint8_t *const *objs, const size_t *lens, size_t n_objs,
		       const uint8_t *proposal, size_t proposal_len, const uint8_t *acceptance,
		       size_t acceptance_len, pl_err *e);

/* Verifies file bytes; on success fills *s (free with pl_exec_state_free)
 * evaluated at `now`. expect: keys that must be among the three. */
int pl_execution_verify(pl_exec_state *s, const uint8_t *file, size_t n, uint64_t now,
			const uint8_t (*expect)[PL_IK_LEN], size_t n_expect, pl_err *e);

#endif
