/*
 * via.h — proximity talks: moves that travel through a mediator
 * (docs/NEGOTIATION.md and docs/PROTOCOL.md "Proximity talks", DESIGN.md
 * "How a proposal travels").
 *
 * The author's signed object stays addressed to the final recipient and is
 * kept in the author's thread with that party (state machine unchanged);
 * only its outbox entry goes to the mediator, wrapped as a carry (payload
 * kind 9). The mediator stores what it carries as an item waiting to be
 * passed on, reads it, and either forwards it under its custody signature
 * (kind 10) or holds it back and tells the author (kind 11). The recipient
 * checks the custody signature against the mediator it holds, the inner
 * signature against the author's key it holds, and applies the same rules
 * as for a direct move, with the author as the sender.
 */
#ifndef PARLEY_CLIENT_VIA_H
#define PARLEY_CLIENT_VIA_H

#include <jansson.h>
#include <stdint.h>

#include "client/messenger.h"
#include "negotiation/custody.h"
#include "util/err.h"
#include "vault/vault.h"

/* Before a move to `contact` is signed to go through `via`: via is a
 * contact we may send to and is not contact itself; *med gets it. */
int pl_via_check(pl_vault *v, const char *via, const char *contact, pl_contact *med, pl_err *e);
/* Inside the caller's transaction: queues our stored item `it` (an object
 * or note to its contact) to the mediator and records that it goes that
 * way. */
int pl_via_queue(pl_vault *v, const pl_contact *med, const pl_item *it, pl_err *e);
/* Called when an outbox item goes to another contact than its own: if it
 * is recorded as going through a mediator (pl_via_queue), replaces
 * it->kind and it->body with the carry; else leaves it as it is. */
int pl_via_wrap(pl_vault *v, pl_item *it, pl_err *e);

/* `parley send NAME --via MEDIATOR TEXT`: a note for NAME handed to the
 * mediator (deniable: nobody signs it; once forwarded, only the mediator's
 * custody signature vouches for what it passed on). */
int pl_via_send_note(pl_vault *v, const char *contact, const char *via, const char *text,
		     uint8_t id[static 8], int64_t *seq, pl_err *e);

/* The receiving side, from the object handler (client/nego.c), inside the
 * receive transaction; answers as pl_nego_object_received does. */
int pl_via_received(void *ctx, pl_vault *v, const pl_contact *from, const pl_payload *p,
		    pl_msgr_envelope *env, pl_err *e);

/* The mediator passes on the carried item `id` (note may be NULL); *fwd_id
 * is the forwarded item's own id. Deliver with pl_msgr_deliver, then
 * pl_via_notify_forwarded. */
int pl_via_forward(pl_vault *v, const uint8_t id[static 8], const char *note,
		   uint8_t fwd_id[static 8], char to[static PL_NAME_MAX + 1], pl_err *e);
/* The mediator keeps `id` back and queues a signed notice to its author. */
int pl_via_hold(pl_vault *v, const uint8_t id[static 8], const char *reason,
		char author[static PL_NAME_MAX + 1], pl_err *e);
/* For every forwarded item delivered (with its deposit receipt) whose
 * author has not been told yet, queues a signed notice "forwarded" with
 * that receipt: the author's vault then judges an acceptance on the same
 * relay time as the recipient's. *queued: how many. */
int pl_via_notify_forwarded(pl_vault *v, unsigned *queued, pl_err *e);

/* Retention: the copies of notes that went through a mediator which
 * pl_vault_purge_notes (notes only) would leave behind: carried notes
 * (kind 9) and forwarded ones (kind 10) dated before `before`, deleted in
 * one transaction (the purge's VACUUM then scrubs them). *count: how many.
 * Must not be called inside a transaction. */
int pl_via_purge_notes(pl_vault *v, uint64_t before, uint64_t *count, pl_err *e);

/* The path an item took, for the views: NULL for a direct item, else a
 * JSON object {"route": "via", "mediator", "role", "state", ...}. */
json_t *pl_via_path_json(pl_vault *v, const pl_item *it);
/* A carried (kind 9), forwarded (10) or notice (11) item as the views show
 * it; NULL if it is none of them. The inner object's terms are rendered by
 * obj_json(ctx, item-with-inner-object) when the item carries one. */
json_t *pl_via_item_json(pl_vault *v, const pl_item *it,
			 json_t *(*obj_json)(pl_vault *v, const pl_item *inner, uint64_t now),
			 uint64_t now);

/* The mediator's signed custody record (custody ‖ sig) of our item it, if
 * it went through a mediator and we hold the record (the recipient from
 * the forward, the author from the forwarded notice): 1 and out, or 0. */
int pl_via_custody_record(pl_vault *v, const pl_item *it, pl_wr *out);
/* Refuses to export an agreement whose acceptance we sent through a
 * mediator until the mediator's notice brought the deposit receipt of the
 * forwarded envelope in the proposer's mailbox (the time that counts). */
int pl_via_agreement_check(pl_vault *v, const pl_item *prop, const pl_item *acc, pl_err *e);
/* The custody records of an agreement's proposal and acceptance (those that
 * went through a mediator), added to the agreement file j. */
int pl_via_agreement_custody(pl_vault *v, json_t *j, const pl_item *prop, const pl_item *acc,
			     pl_err *e);

#endif
