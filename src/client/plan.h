/*
 * plan.h — execution plans on top of the channel (docs/PLAN.md): the
 * mediator's plan of an agreement, the parties' acceptances, step
 * attestations and aborts, each signed (negotiation/plan.h), stored as
 * items of kind PL_KIND_PLAN and sent to the two other participants.
 *
 * A plan's state is never stored: it is computed from the set of valid
 * signed objects the vault holds (pl_plan_evaluate), so every vault that
 * holds the same objects shows the same state, whatever order they came in.
 * Every move is checked against that state before it is signed (a step out
 * of order, by the wrong participant, or an abort past the point of no
 * return is refused with nothing written), and every object received is
 * checked again the same way.
 */
#ifndef PARLEY_CLIENT_PLAN_H
#define PARLEY_CLIENT_PLAN_H

#include <jansson.h>
#include <stdint.h>

#include "client/messenger.h"
#include "export/execution.h"
#include "negotiation/plan.h"
#include "util/err.h"
#include "vault/vault.h"

/* The mediator's move: the plan (file text json[0..n)) of the agreement
 * whose proposal or acceptance id is agreement_id. The agreement comes from
 * this vault, or, when agreement_file is given, from that agreement file
 * (parley export agreement), checked offline. Queued for both parties. */
int pl_plan_create(pl_vault *v, const char *agreement_prefix, const char *agreement_file,
		   const char *json, size_t n, uint8_t id[static PL_PLAN_ID_LEN], pl_err *e);
/* A party accepts plan plan_id. */
int pl_plan_accept(pl_vault *v, const uint8_t plan_id[static PL_PLAN_ID_LEN],
		   uint8_t id[static PL_PLAN_ID_LEN], pl_err *e);
/* Attests step (its id) done (PL_ATTEST_DONE, text may be NULL) or
 * confirms it (PL_ATTEST_CONFIRM). */
int pl_plan_attest_step(pl_vault *v, const uint8_t plan_id[static PL_PLAN_ID_LEN], const char *step,
			int kind, const char *text, uint8_t id[static PL_PLAN_ID_LEN], pl_err *e);
int pl_plan_abort_plan(pl_vault *v, const uint8_t plan_id[static PL_PLAN_ID_LEN],
		       const char *reason, uint8_t id[static PL_PLAN_ID_LEN], pl_err *e);

/* Queues again, to the participant each went to, every object of plan_id
 * this vault signed that is not waiting in the outbox already: a delivery
 * lost for good is made good (receivers keep one copy of each object).
 * *n: how many were queued. */
int pl_plan_resend(pl_vault *v, const uint8_t plan_id[static PL_PLAN_ID_LEN], unsigned *n,
		   pl_err *e);

/* The plan whose id begins with the hex prefix s (4 to 16 digits). */
int pl_plan_resolve(pl_vault *v, const char *s, uint8_t plan_id[static PL_PLAN_ID_LEN], pl_err *e);
/* The state of plan_id as this vault holds it, as JSON or text. */
int pl_plan_show(pl_vault *v, const uint8_t plan_id[static PL_PLAN_ID_LEN], json_t **json,
		 FILE *text, pl_err *e);
/* Writes the execution record (export/execution.h) of plan_id to path. */
int pl_plan_export(pl_vault *v, const uint8_t plan_id[static PL_PLAN_ID_LEN], const char *path,
		   pl_err *e);

/* A received PL_KIND_PLAN payload, inside the sync's transaction: 0 valid
 * (store it), 1 invalid (reject), PL_MSGR_OBJECT_LATER (what it rests on is
 * not held yet), -1 vault error. The relay log's time of its deposit is
 * looked up, where the log shows it, and kept on the item. */
int pl_plan_received(pl_vault *v, const pl_contact *from, const pl_payload *p,
		     pl_msgr_envelope *env, pl_err *e);

/* One line about a stored plan item for inbox and thread views. */
void pl_plan_item_text(const pl_item *it, char *out, size_t cap);

#endif
