/*
 * plan.h — the execution plan of an agreement and what follows it
 * (docs/PLAN.md): the plan the mediator signs, each party's acceptance of
 * it, the attestations that a step was done or is confirmed, and an abort.
 * This module owns their one canonical encoding, the one strict decoder,
 * the signature over exact bytes (domain "parley plan v1\n", apart from
 * negotiation objects), the loader of the plan file people write (JSON),
 * and the state function: the state of a plan is a pure function of the
 * set of valid signed objects held, whatever order they came in.
 *
 * Decoded objects live in fixed-size structs, so decoding untrusted bytes
 * never allocates. Encode refuses exactly what decode refuses.
 *
 * What it protects against: a step attested out of order (an attestation
 * names, by hash, the confirmations it rests on, so it cannot exist before
 * them), a step attested by anyone but its named performer or confirmer, an
 * abort counted after the point of no return, objects of one plan passed
 * off as another's. What it does not: a participant who lies in an
 * attestation (it is signed, so the lie is theirs to answer for), or one
 * who attests the point of no return after having seen an abort (it cannot
 * be told from a crossing in flight; the done attestation wins, see
 * docs/PLAN.md).
 */
#ifndef PARLEY_NEGOTIATION_PLAN_H
#define PARLEY_NEGOTIATION_PLAN_H

#include <stddef.h>
#include <stdint.h>

#include "identity/identity.h"
#include "util/err.h"
#include "util/wire.h"

#define PL_PLAN_VERSION 1
#define PL_PLAN_SIG_TAG "parley plan v1\n"
#define PL_PLAN_ID_LEN 8
#define PL_PLAN_HASH_LEN 32
#define PL_PLAN_SIGNED_MAX 60000 /* one payload body */
#define PL_PLAN_STEPS_MAX 64
#define PL_PLAN_STEP_ID_MAX 16 /* [a-z0-9_-], starting with a letter or digit */
#define PL_PLAN_TITLE_MAX 256  /* one line */
#define PL_PLAN_TEXT_MAX 1024  /* attestation text, abort reason: may hold newlines */
#define PL_PLAN_WAITS_MAX 16   /* steps one step waits for */
/* an attestation rests on: both acceptances and the confirmations of every
 * step it waits for (at most two confirmers each) */
#define PL_PLAN_RESTS_MAX (2 + 2 * PL_PLAN_WAITS_MAX)
#define PL_PLAN_TIME_MAX 253402300799ull /* 9999-12-31T23:59:59Z */

typedef enum {
	PL_PLAN_OBJ_PLAN = 1,
	PL_PLAN_OBJ_ACCEPT = 2,
	PL_PLAN_OBJ_ATTEST = 3,
	PL_PLAN_OBJ_ABORT = 4
} pl_plan_obj_type;

/* Participants: a = the agreement's proposer, b = its accepter, m = the
 * mediator (the plan's author). Confirmers are a mask of (1 << (role-1)). */
enum { PL_ROLE_A = 1, PL_ROLE_B = 2, PL_ROLE_M = 3 };
#define PL_ROLE_BIT(r) (1u << ((r)-1))
enum { PL_ATTEST_DONE = 1, PL_ATTEST_CONFIRM = 2 };

typedef struct {
	char id[PL_PLAN_STEP_ID_MAX + 1];
	char title[PL_PLAN_TITLE_MAX + 1];
	uint8_t performer;  /* a role */
	uint8_t confirmers; /* nonzero mask of roles, never the performer's */
	uint64_t deadline;  /* unix s, 1..PL_PLAN_TIME_MAX */
	uint8_t no_return;  /* 0/1: once attested done, no abort counts */
	uint8_t n_waits;
	uint8_t waits[PL_PLAN_WAITS_MAX]; /* indexes of earlier steps, increasing */
} pl_plan_step;

typedef struct {
	uint8_t proposal_id[PL_PLAN_ID_LEN]; /* the agreement: its proposal */
	uint8_t proposal_hash[PL_PLAN_HASH_LEN];
	uint8_t acceptance_hash[PL_PLAN_HASH_LEN]; /* and the acceptance of it */
	uint8_t a_ik[PL_IK_LEN];		   /* the proposer */
	uint8_t b_ik[PL_IK_LEN];		   /* the accepter */
	char title[PL_PLAN_TITLE_MAX + 1];	   /* one line, 1.. */
	uint8_t n_steps;			   /* 1..PL_PLAN_STEPS_MAX */
	pl_plan_step steps[PL_PLAN_STEPS_MAX];
} pl_plan_body;

typedef struct {
	uint8_t plan_id[PL_PLAN_ID_LEN];
	uint8_t plan_hash[PL_PLAN_HASH_LEN];
} pl_plan_ref;

typedef struct {
	pl_plan_ref plan;
	uint8_t step; /* index into the plan's steps */
	uint8_t kind; /* PL_ATTEST_DONE or PL_ATTEST_CONFIRM */
	char text[PL_PLAN_TEXT_MAX + 1];
	uint8_t n_rests;
	uint8_t rests[PL_PLAN_RESTS_MAX][PL_PLAN_HASH_LEN];
} pl_plan_attest;

typedef struct {
	pl_plan_ref plan;
	char reason[PL_PLAN_TEXT_MAX + 1]; /* 1.., may hold newlines */
} pl_plan_abort;

/* One plan object (about 40 KB for a plan: allocate it). */
typedef struct {
	uint8_t version; /* PL_PLAN_VERSION */
	uint8_t type;	 /* pl_plan_obj_type */
	uint8_t id[PL_PLAN_ID_LEN];
	uint8_t author_ik[PL_IK_LEN];
	uint64_t created; /* unix s, the author's clock */
	union {
		pl_plan_body plan;
		pl_plan_ref accept;
		pl_plan_attest attest;
		pl_plan_abort abort;
	} u;
	uint8_t sig[PL_SIG_LEN];
} pl_planobj;

/* Zeroes o, sets version, type, a fresh random id and created = now. */
void pl_plan_obj_init(pl_planobj *o, pl_plan_obj_type type);
/* Canonical unsigned bytes; -1 (w unchanged) for anything decode refuses. */
int pl_plan_encode(pl_wr *w, const pl_planobj *o, pl_err *e);
/* Sets author_ik, signs PL_PLAN_SIG_TAG ‖ bytes, appends bytes ‖ sig. */
int pl_plan_sign(pl_wr *signed_out, pl_planobj *o, const pl_identity *author, pl_err *e);
/* The door for received bytes: strict decode of bytes ‖ sig and the
 * signature checked under the author key. PL_EXIT_INPUT malformed,
 * PL_EXIT_SECURITY bad key or signature; o zeroed on failure. */
int pl_plan_decode_signed(pl_planobj *o, const uint8_t *p, size_t n, pl_err *e);
/* Strict decode of unsigned bytes, signature NOT checked (tests, fuzzing). */
int pl_plan_parse(pl_planobj *o, const uint8_t *p, size_t n, pl_err *e);
/* SHA-256 of signed bytes: how objects name each other. */
void pl_plan_hash(uint8_t out[static PL_PLAN_HASH_LEN], const uint8_t *p, size_t n);
/* "plan", "acceptance", "attestation", "abort"; NULL for others. */
const char *pl_plan_type_str(int t);
/* "a", "b", "mediator"; NULL for others. */
const char *pl_plan_role_str(int r);
/* The role of key ik in plan p (author: the mediator), 0 if none. */
int pl_plan_role_of(const pl_planobj *plan, const uint8_t ik[static PL_IK_LEN]);
/* The key of role r in plan p. */
const uint8_t *pl_plan_role_key(const pl_planobj *plan, int r);
/* Index of the step called id, -1 if none. */
int pl_plan_step_index(const pl_plan_body *b, const char *id);

/* --- the plan file (JSON, docs/PLAN.md) ------------------------------------ */
/* Loads a plan file into b (steps, title; not the agreement or keys).
 * a_name and b_name: the parties' names, which a performer or confirmer may
 * be given as besides "a"/"proposer", "b"/"accepter" and "mediator". Strict:
 * unknown keys, duplicate step ids, unknown step references, cycles,
 * references to later steps, bounds; e says which step, in one line. */
int pl_plan_load_json(pl_plan_body *b, const char *text, size_t n, const char *a_name,
		      const char *b_name, pl_err *e);

/* --- the state function ---------------------------------------------------- */
typedef enum {
	PL_STEP_WAITING = 1,
	PL_STEP_READY,
	PL_STEP_DONE,
	PL_STEP_CONFIRMED,
	PL_STEP_LATE,
	PL_STEP_ABORTED
} pl_step_state_t;
typedef enum {
	PL_PLAN_PROPOSED = 1, /* waiting for both parties' acceptance */
	PL_PLAN_RUNNING,
	PL_PLAN_COMPLETED,
	PL_PLAN_ABORTED
} pl_plan_status_t;
/* What the state function made of each object it was given. */
typedef enum {
	PL_V_COUNTED = 1,   /* valid and in order: it counts */
	PL_V_UNANCHORED,    /* rests on objects not in the set (yet) */
	PL_V_INVALID,	    /* another plan's, wrong signer, wrong order: never counts */
	PL_V_ABORT_REFUSED, /* an abort after the point of no return */
	PL_V_DUPLICATE	    /* a second acceptance or attestation of the same thing */
} pl_plan_verdict;

typedef struct {
	int state;	/* pl_step_state_t */
	int late;	/* deadline passed before it was confirmed (claimed times) */
	int done;	/* index of the done attestation that counts, -1 */
	int confirm[3]; /* per role-1: index of its confirmation that counts, -1 */
} pl_step_eval;

typedef struct {
	int status;	/* pl_plan_status_t */
	int accept[2];	/* index of a's and b's acceptance, -1 */
	int abort;	/* index of the abort that counts (earliest), -1 */
	int no_return;	/* a no-return step is attested done: no abort counts */
	size_t counted; /* objects that count */
	pl_step_eval steps[PL_PLAN_STEPS_MAX];
} pl_plan_eval;

/* The state of plan (hash plan_hash) given objs[0..n) (decoded and
 * verified; hashes[i] the hash of objs[i]'s signed bytes; no two equal) at
 * time now. verdict[i] gets what objs[i] is worth. Pure: the same set in any
 * order gives the same result (ties are broken by claimed time, then hash). */
void pl_plan_evaluate(pl_plan_eval *ev, const pl_planobj *plan,
		      const uint8_t plan_hash[static PL_PLAN_HASH_LEN], const pl_planobj *objs,
		      const uint8_t (*hashes)[PL_PLAN_HASH_LEN], size_t n, uint64_t now,
		      uint8_t *verdict);
/* What an attestation of step s must rest on, in order, given the counted
 * objects of ev (rests[0..*n)): for done, both acceptances then each
 * confirmation of each step waited for; for confirm, the done that counts.
 * -1 with e (PL_EXIT_REFUSED, naming what is missing) if they are not all
 * there, i.e. the step may not be attested yet. */
int pl_plan_rests_for(const pl_plan_eval *ev, const pl_planobj *plan, int step, int kind,
		      const uint8_t (*hashes)[PL_PLAN_HASH_LEN],
		      uint8_t rests[PL_PLAN_RESTS_MAX][PL_PLAN_HASH_LEN], uint8_t *n, pl_err *e);
/* Checks of a single object against its plan alone (no other objects):
 * names the plan by id and hash, signed by a participant allowed to sign
 * it, step in range, as many rests as the step needs. 0 ok, -1 with e. */
int pl_plan_obj_fits(const pl_planobj *plan, const uint8_t plan_hash[static PL_PLAN_HASH_LEN],
		     const pl_planobj *o, pl_err *e);
const char *pl_plan_step_state_str(int s);
const char *pl_plan_status_str(int s);

#endif
