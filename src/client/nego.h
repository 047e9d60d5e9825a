/*
 * nego.h — negotiation moves on top of the channel
 * (docs/NEGOTIATION.md): composing, signing and queueing outreach,
 * proposals, responses, requests and answers; checking and applying the ones
 * received.
 *
 * Every move is checked against the vault before anything is written, and
 * the object, its outbox entry and the state change it makes are committed
 * in one transaction: an illegal move changes nothing.
 */
#ifndef PARLEY_CLIENT_NEGO_H
#define PARLEY_CLIENT_NEGO_H

#include <stdint.h>

#include "client/messenger.h"
#include "negotiation/object.h"
#include "util/err.h"
#include "vault/vault.h"

typedef struct {
	int64_t we[PL_PROPOSAL_SIDE_MAX]; /* our case ids: what the author releases */
	size_t n_we;
	int64_t they[PL_PROPOSAL_SIDE_MAX]; /* our case ids of people the other side holds */
	size_t n_they;
	const char *cond[PL_PROPOSAL_COND_MAX];
	size_t n_cond;
	const char *place;    /* NULL = none */
	int sequencing;	      /* pl_sequencing */
	const char *mediator; /* a contact name, NULL = none */
	uint64_t expires_in;  /* seconds from now, 0 = never */
	uint64_t expires_at;  /* or this Unix time (wins over expires_in), 0 = unset */
	/* commitments (a version 3 proposal when there is any): who (a
	 * pl_commit_who, from the author's side) takes on text (one line) */
	const char *commit[PL_PROPOSAL_COMMIT_MAX];
	uint8_t commit_who[PL_PROPOSAL_COMMIT_MAX];
	size_t n_commit;
} pl_nego_terms;

/* Asked with the complete object just before it is signed, after every
 * check has passed: 0 signs it; anything else (with e set) stops the move
 * with nothing signed or written. contact: the party it goes to. */
typedef struct {
	int (*fn)(void *ctx, pl_vault *v, const char *contact, const pl_obj *o, pl_err *e);
	void *ctx;
	/* A mediator contact the move travels through (client/via.h), NULL:
	 * direct. The object is signed for `contact` exactly as a direct one. */
	const char *via;
} pl_nego_confirm;

/* Each creates the object, signs it and queues it for delivery; *seq is the
 * new item's local number and id its object id. Deliver with
 * pl_msgr_deliver. */
int pl_nego_outreach(pl_vault *v, const char *contact, const char *topic,
		     uint8_t id[static PL_OBJ_ID_LEN], int64_t *seq, pl_err *e);
int pl_nego_propose(pl_vault *v, const char *contact, const pl_nego_terms *t,
		    uint8_t id[static PL_OBJ_ID_LEN], int64_t *seq, pl_err *e);
/* counter: a new proposal to the author of `target` that supersedes it. */
int pl_nego_counter(pl_vault *v, const uint8_t target[static PL_OBJ_ID_LEN], const pl_nego_terms *t,
		    uint8_t id[static PL_OBJ_ID_LEN], int64_t *seq, pl_err *e);
/* kind: PL_RESP_ACCEPT, PL_RESP_REJECT or PL_RESP_WITHDRAW. */
int pl_nego_respond(pl_vault *v, const uint8_t target[static PL_OBJ_ID_LEN], int kind,
		    const char *reason, uint8_t id[static PL_OBJ_ID_LEN], int64_t *seq, pl_err *e);
int pl_nego_request(pl_vault *v, const char *contact, int64_t case_id, int kind, int urgency,
		    const char *text, uint8_t id[static PL_OBJ_ID_LEN], int64_t *seq, pl_err *e);
/* decision: PL_DECISION_GRANT or PL_DECISION_DENY. */
int pl_nego_answer(pl_vault *v, const uint8_t target[static PL_OBJ_ID_LEN], int decision,
		   const char *text, uint8_t id[static PL_OBJ_ID_LEN], int64_t *seq, pl_err *e);
/* The same four, asking cf (NULL: nobody) before signing. */
int pl_nego_propose_ex(pl_vault *v, const char *contact, const pl_nego_terms *t,
		       const pl_nego_confirm *cf, uint8_t id[static PL_OBJ_ID_LEN], int64_t *seq,
		       pl_err *e);
int pl_nego_counter_ex(pl_vault *v, const uint8_t target[static PL_OBJ_ID_LEN],
		       const pl_nego_terms *t, const pl_nego_confirm *cf,
		       uint8_t id[static PL_OBJ_ID_LEN], int64_t *seq, pl_err *e);
int pl_nego_respond_ex(pl_vault *v, const uint8_t target[static PL_OBJ_ID_LEN], int kind,
		       const char *reason, const pl_nego_confirm *cf,
		       uint8_t id[static PL_OBJ_ID_LEN], int64_t *seq, pl_err *e);
int pl_nego_answer_ex(pl_vault *v, const uint8_t target[static PL_OBJ_ID_LEN], int decision,
		      const char *text, const pl_nego_confirm *cf, uint8_t id[static PL_OBJ_ID_LEN],
		      int64_t *seq, pl_err *e);

/* Outreach and request asking cf (NULL: nobody) and going cf->via. */
int pl_nego_outreach_ex(pl_vault *v, const char *contact, const char *topic,
			const pl_nego_confirm *cf, uint8_t id[static PL_OBJ_ID_LEN], int64_t *seq,
			pl_err *e);
int pl_nego_request_ex(pl_vault *v, const char *contact, int64_t case_id, int kind, int urgency,
		       const char *text, const pl_nego_confirm *cf,
		       uint8_t id[static PL_OBJ_ID_LEN], int64_t *seq, pl_err *e);

/* The negotiation rules for a received object o, already decoded and
 * verified, whose author is `from` and recipient us: the part of
 * pl_nego_object_received shared by direct moves and moves a mediator
 * forwarded (client/via.c), where `from` is the author, not the carrier,
 * and env the envelope that brought it into our mailbox; sb, sn: the
 * object's exact signed bytes. */
int pl_nego_object_apply(void *ctx, pl_vault *v, const pl_contact *from, const pl_obj *o,
			 const uint8_t *sb, size_t sn, pl_msgr_envelope *env, pl_err *e);

/* Checks a received signed negotiation object (signed by `from`'s pinned
 * key, addressed to us, travelling under its own id, naming only objects we
 * hold with those exact bytes) and applies the state change it makes, inside
 * the caller's transaction: 0 ok, 1 invalid (reject the envelope),
 * PL_MSGR_OBJECT_LATER (the relay log does not show yet what the decision
 * rests on), -1 vault error. An acceptance is judged on the relay's log
 * time of env's deposit (its receipt goes on the stored item); a withdrawal
 * of what we accepted on whether the proposer's key had fetched our
 * acceptance before it was deposited (docs/NEGOTIATION.md). ctx: NULL, or
 * pl_nego_sync's own. */
int pl_nego_object_received(void *ctx, pl_vault *v, const pl_contact *from, const pl_payload *p,
			    pl_msgr_envelope *env, pl_err *e);
/* pl_nego_object_received as the object handler pl_msgr_sync takes (no
 * report; a log leaf that fails its proof stops the sync). */
extern const pl_msgr_object_handler pl_nego_objects;

/* What the negotiation rules decided during one sync. */
typedef struct {
	unsigned expired;	   /* acceptances the relay logged after the proposal expired */
	unsigned predated;	   /* acceptances dated before their proposal: refused */
	unsigned undecided;	   /* moves whose deposit the relay log does not show yet */
	unsigned late_withdrawals; /* withdrawals after the proposer fetched our acceptance */
	unsigned disputed;	   /* proposals whose acceptance and withdrawal crossed */
	unsigned log_caught;	   /* log leaves whose proof failed (evidence kept) */
	unsigned guaranteed;	   /* our agreements the mediator they name guaranteed */
	unsigned to_guarantee;	   /* agreements delivered to us as their mediator */
	unsigned via_unknown;	   /* forwarded moves by a party we hold no key for: refused */
	unsigned matches_moved;	   /* blind matches moved on (client/match.h) */
	unsigned matches_stopped;  /* of ours, the other side fetched our answer, gave none */
} pl_nego_report;
/* Counts a forwarded move refused for its unknown author in the report of
 * the sync whose handler context is ctx (NULL: nothing). */
void pl_nego_count_via_unknown(void *ctx);

/* pl_msgr_sync with the negotiation rules and their report (nr may be
 * NULL), then pl_nego_settle. Evidence from log proofs that failed is kept
 * and the sync ends with PL_EXIT_SECURITY once the rest is committed. */
int pl_nego_sync(pl_vault *v, pl_sync_report *r, pl_nego_report *nr, pl_err *e);
/* Marks expired the proposals we accepted whose acceptance the relay
 * logged (deposit receipt) after their expiry; counts them in nr. */
int pl_nego_settle(pl_vault *v, pl_nego_report *nr, pl_err *e);

/* The negotiation item with this object id (either direction); NOTFOUND
 * with a sentence naming parley inbox. Caller frees with pl_vault_item_free. */
int pl_nego_find(pl_vault *v, const uint8_t id[static PL_OBJ_ID_LEN], pl_item *it, pl_err *e);

/* The state to show for an item holding object o (NULL for a note): its
 * stored state, except that an open proposal past its expiry at `now` is
 * "expired". */
const char *pl_nego_effective_state(const pl_item *it, const pl_obj *o, uint64_t now);

/* Writes the agreement made by accepting proposal `id` (or named by the
 * acceptance `id`) to path; PL_EXIT_NOTFOUND if it was not accepted. */
int pl_nego_export_agreement(pl_vault *v, const uint8_t id[static PL_OBJ_ID_LEN], const char *path,
			     pl_err *e);
/* The same as a document for people with the signed file inside it
 * (export/document.h), which `parley verify` checks itself; pdf: as PDF
 * (export/pdf.h), whose check command names the text document. */
int pl_nego_export_agreement_doc(pl_vault *v, const uint8_t id[static PL_OBJ_ID_LEN],
				 const char *path, int pdf, pl_err *e);
int pl_nego_export_thread(pl_vault *v, const char *contact, const char *path, pl_err *e);

/* Finds the contact whose received proposals or requests name `ref`;
 * NOTFOUND if none does. */
int pl_nego_ref_contact(pl_vault *v, const uint8_t ref[static PL_CASE_REF_LEN],
			char contact[static PL_NAME_MAX + 1], pl_err *e);

/* 1 if a signed object in the transcript (ours or received) names our
 * record c (by its ref, or by a ref linked to it), 0 if none does, -1 on
 * error. */
int pl_nego_case_named(pl_vault *v, const pl_case *c, pl_err *e);

#endif
