/*
 * guarantee.h — the mediator's part in an agreement (docs/NEGOTIATION.md
 * "Guarantee"): a proposal that names a mediator is delivered to it once
 * accepted (PL_KIND_AGREEMENT, a bundle of the two signed objects), the
 * mediator countersigns it with a signed guarantee (PL_OBJ_GUARANTEE), one
 * addressed to each party, and each party's proposal becomes `guaranteed`.
 *
 * What it must never do: store an agreement that does not name this vault's
 * own key as mediator or that its carrier is not party to; let anyone but
 * the mediator the proposal names guarantee it; apply a guarantee of an
 * agreement that is not accepted, or a second one.
 */
#ifndef PARLEY_CLIENT_GUARANTEE_H
#define PARLEY_CLIENT_GUARANTEE_H

#include <stdint.h>

#include "client/nego.h"
#include "envelope/envelope.h"
#include "negotiation/object.h"
#include "util/err.h"
#include "vault/vault.h"

/* Queues, inside the caller's transaction, the agreement (proposal pb and
 * its acceptance ab, exact signed bytes) for the mediator the proposal
 * names, if it names one and this vault holds it as a contact it may send
 * to (the key the proposal names). 1 queued, 0 nothing to send (no
 * mediator, not a sendable contact, or too large for one payload), -1 on a
 * vault error. */
int pl_guar_notify(pl_vault *v, const uint8_t *pb, size_t pn, const uint8_t *ab, size_t an,
		   pl_err *e);
/* The same in its own transaction. */
int pl_guar_notify_commit(pl_vault *v, const uint8_t *pb, size_t pn, const uint8_t *ab, size_t an,
			  pl_err *e);

/* A received PL_KIND_AGREEMENT payload (the mediator's side): 0 valid and
 * new (store it), 1 invalid (refuse the envelope), PL_MSGR_OBJECT_HELD
 * (the same agreement is held already, from its other party),
 * PL_MSGR_OBJECT_LATER (the other party is not a contact yet), -1 error. */
int pl_guar_agreement_received(pl_vault *v, const pl_contact *from, const pl_payload *p, pl_err *e);

/* A received guarantee o (verified, from `from`, addressed to us): 0
 * applied (the proposal becomes guaranteed: *applied = 1) or a duplicate of
 * the one we hold (*applied = 0), 1 refused, PL_MSGR_OBJECT_LATER (the acceptance has not arrived
 * or been decided yet), -1 error. */
int pl_guar_guarantee_received(pl_vault *v, const pl_contact *from, const pl_obj *o,
			       const pl_payload *p, int *applied, pl_err *e);

/* `parley guarantee ID`: the mediator countersigns the agreement item ID
 * (PL_KIND_AGREEMENT, received) with text (NULL: none): two guarantees,
 * one to each party, committed with the item's new state `guaranteed` in
 * one transaction. cf is asked with the first before anything is signed.
 * ids[i], seqs[i]: the proposer's and the accepter's guarantee. */
int pl_guar_guarantee(pl_vault *v, const uint8_t id[static PL_OBJ_ID_LEN], const char *text,
		      const pl_nego_confirm *cf, uint8_t ids[2][PL_OBJ_ID_LEN], int64_t seqs[2],
		      pl_err *e);

/* The signed guarantee this vault received of proposal (pid, ph), from the
 * mediator the proposal names (mik); 0 and *g filled, 1 none, -1 error. */
int pl_guar_find(pl_vault *v, const uint8_t pid[static PL_OBJ_ID_LEN],
		 const uint8_t ph[static PL_OBJ_HASH_LEN], const uint8_t mik[static PL_IK_LEN],
		 pl_item *g, pl_err *e);

/* The agreement item (PL_KIND_AGREEMENT) holding proposal pid; 0, 1 none,
 * -1 error. */
int pl_guar_find_agreement(pl_vault *v, const uint8_t pid[static PL_OBJ_ID_LEN], pl_item *it,
			   pl_err *e);

/* 1 iff state is one in which a proposal is an agreement (accepted, or
 * accepted and guaranteed). */
int pl_guar_agreed(const char *state);

#endif
