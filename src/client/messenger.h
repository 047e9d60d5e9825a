/*
 * messenger.h — a party's side of the channel: publishing prekeys, tokens
 * and grants; queueing and delivering notes; fetching and processing what
 * waits at the relay. Shared by the CLI and the demo.
 *
 * Durability rules: a note is in the vault before anything touches the
 * network; ratchet state is saved in the same transaction as the envelope it
 * produced or the message it processed; an envelope is acknowledged to the
 * relay only after its result is committed.
 */
#ifndef PARLEY_CLIENT_MESSENGER_H
#define PARLEY_CLIENT_MESSENGER_H

#include <stddef.h>
#include <stdint.h>

#include "envelope/envelope.h"
#include "util/err.h"
#include "vault/vault.h"

typedef struct {
	unsigned received;	  /* new items stored */
	unsigned delivered;	  /* outbox items with a relay receipt */
	unsigned queued;	  /* outbox items still waiting */
	unsigned rejected;	  /* envelopes that failed to open, decrypt or decode */
	unsigned id_taken;	  /* of those, items reusing the id of one we hold */
	unsigned duplicate;	  /* envelopes or items seen before */
	unsigned pending;	  /* kept for later: sender not (yet) a contact */
	unsigned pending_dropped; /* not kept: the vault holds as many unread as it keeps */
	uint64_t log_size;	  /* size of the relay log checkpoint accepted */
	unsigned receipts;	  /* receipts proved inside the relay's log */
	unsigned withheld;	  /* envelopes the relay logged for us but withheld */
	unsigned prekeys_added;	  /* one-time prekeys made and uploaded: the relay ran low */
	unsigned grants_blocked;  /* grants whose place at the relay another mailbox holds */
	unsigned relay_followed;  /* contacts followed to the relay their signed notice named */
	unsigned relay_refused;	  /* relay notices refused: bad signature, replay, ... */
	unsigned relay_caught;	  /* items held: the contact's relay was caught lying */
	unsigned acks_sent;	  /* automatic acknowledgments deposited */
	unsigned acks_waiting;	  /* automatic acknowledgments not due yet (not in queued) */
	unsigned pending_opened;  /* kept envelopes this sync opened again */
	unsigned revoked;	  /* contacts whose signed revocation was applied */
	unsigned revoke_refused;  /* revocations refused: bad signature, another key */
	unsigned from_revoked;	  /* envelopes refused: their sender's key is revoked */
	/* Another copy of this vault (client/copies.h). copy_reacted: this run
	 * found acknowledgments under our key for envelopes we never received,
	 * logged after our last reset, and so dropped the sessions, made new
	 * prekeys and queued copy_notified notices (dated copy_date) before
	 * encrypting anything. other_copy: envelopes missing here because
	 * another copy fetched them (the first PL_SYNC_MISSING_LIST listed). */
	unsigned copy_reacted;
	unsigned copy_notified;
	unsigned copy_sessions;
	uint64_t copy_date;
	unsigned other_copy;
#define PL_SYNC_MISSING_LIST 32
	uint64_t missing_seq[PL_SYNC_MISSING_LIST];
	uint64_t missing_time[PL_SYNC_MISSING_LIST];
	unsigned rotated;	  /* contacts whose signed key rotation was applied */
	unsigned rotate_replayed; /* rotations seen before: nothing changed */
	unsigned rotate_refused;  /* rotations refused or ignored: bad, revoked, not their key */
	unsigned rotate_conflict; /* second, different rotations of one key: both refused */
	unsigned rotate_void;	  /* rotations voided by a revocation of the old key */
	char rotate_why[PL_ERR_MSG_MAX]; /* the last refusal's sentence */
	/* Introductions (client/introduce.h) from contacts verified in person. */
	unsigned intro_added;		/* new contacts, introduced */
	unsigned intro_recorded;	/* introductions of keys already contacts */
	unsigned intro_renamed;		/* of the added, under another name: theirs was taken */
	unsigned intro_replayed;	/* seen before, or another's stands: nothing changed */
	unsigned intro_refused;		/* refused: not from a verified contact, bad, not for us */
	char intro_why[PL_ERR_MSG_MAX]; /* the last refusal's sentence */
	char intro_clash[PL_ERR_MSG_MAX]; /* the last renamed one's sentence */
} pl_sync_report;

struct pl_rc_conn;
/* Opens a connection to the vault's relay (with its pinned CA, if any,
 * and through its SOCKS proxy, if any: pl_vault_relay_proxy). Each call is
 * a connection of its own (its own TCP/TLS session and, through Tor, its
 * own circuit): callers open one per kind of request they must not let
 * the relay link (owner-signed requests, deposits to each recipient). */
int pl_msgr_open_relay(pl_vault *v, struct pl_rc_conn **c, pl_err *e);
/* Sends c's requests through the vault's SOCKS proxy, if it has one (or
 * the one given for this run): every connection to any relay goes the same
 * way. */
int pl_msgr_proxy(pl_vault *v, struct pl_rc_conn *c, pl_err *e);

/* Pins the relay key, publishes prekeys and token, grants tokens to contacts. */
int pl_msgr_publish(pl_vault *v, pl_err *e);
/* The same, counting in *grants_blocked (if not NULL) the contacts whose
 * grant the relay refused because its locator is held for another mailbox:
 * those are skipped (and tried again next time), the rest goes on. */
int pl_msgr_publish_ex(pl_vault *v, unsigned *grants_blocked, pl_err *e);

/* Given how many of our one-time prekeys the relay still holds (from a
 * mailbox listing): below the low mark, makes enough for the target, keeps
 * the vault's total bounded (pl_vault_opk_top_up) and uploads them.
 * *added is how many were made (0 if enough were left). */
int pl_msgr_replenish(pl_vault *v, int relay_left, int *added, pl_err *e);

/* Refuses (PL_EXIT_SECURITY) an unverified, changed or revoked contact. */
int pl_msgr_check_sendable(const pl_contact *c, pl_err *e);
/* Refuses (PL_EXIT_SECURITY) to send anything as a vault whose own key was
 * revoked (client/revoke.h). */
int pl_msgr_check_identity(pl_vault *v, pl_err *e);

/* Stores a note for `contact` in the outbox (committed), sets its id. */
int pl_msgr_queue(pl_vault *v, const char *contact, int kind, const uint8_t *body, size_t len,
		  uint8_t id[static 8], int64_t *seq, pl_err *e);
/* The same, not to be deposited before not_before (unix s). */
/* Queues a statement about this vault's own key (a revocation, a
 * rotation) for contact, inside the caller's transaction: unlike
 * pl_msgr_queue it checks neither our identity (a revocation goes out
 * after it) nor the contact's state (the caller chose the contacts). */
int pl_msgr_queue_statement(pl_vault *v, const char *contact, int kind, const uint8_t *stmt,
			    size_t len, uint64_t time, pl_err *e);
int pl_msgr_queue_at(pl_vault *v, const char *contact, int kind, const uint8_t *body, size_t len,
		     uint64_t not_before, uint8_t id[static 8], int64_t *seq, pl_err *e);

/* Automatic acknowledgments (PL_KIND_ACK) wait a random delay, uniform in
 * [ack_delay_min, ack_delay_max] seconds (vault counters; defaults below,
 * 0 and 0 in tests), so that the deposit into the sender's mailbox does
 * not follow the fetch that caused it. */
#define PL_MSGR_ACK_DELAY_MIN 60
#define PL_MSGR_ACK_DELAY_MAX 900
uint64_t pl_msgr_ack_delay(pl_vault *v);

/* Delivers the outbox, oldest first; stops at the first network error.
 * An item waits until its not_before time, except that an acknowledgment
 * rides along with a due item of another kind to the same contact (the
 * sender is then depositing for that contact anyway). Deposits to each
 * contact use a connection of their own, opened after a first one that
 * pins the relay key and checks its log. */
int pl_msgr_deliver(pl_vault *v, pl_sync_report *r, pl_err *e);
/* Seals now, without depositing, every outbox item of `kind` not sealed
 * yet (a new session fetches the contact's prekeys): the envelope is then
 * fixed under the identity and sessions of this moment (pl_rotate_self
 * seals its statements under the old key before switching). *unsealed
 * counts items to contacts not sendable, left as they are. */
int pl_msgr_seal_kind(pl_vault *v, int kind, unsigned *unsealed, pl_err *e);
/* Sets r->queued and r->acks_waiting from what the outbox holds. */
void pl_msgr_outbox_count(pl_vault *v, pl_sync_report *r);

/* What a sync does with a received payload of kind PL_KIND_OBJECT (a signed
 * negotiation move): messaging only carries it; the layer that understands
 * it checks it and applies the state change it makes. fn runs inside the
 * transaction that stores the envelope's item, ratchet state and "seen"
 * mark, so anything it writes is committed or rolled back with them. It
 * returns 0 if the object is valid and applied, 1 if it is invalid (the
 * whole envelope is then rejected and nothing of it is kept),
 * PL_MSGR_OBJECT_LATER to decide at a later sync, -1 on a vault error (set
 * e; nothing is committed and the sync stops). env names the envelope
 * that carried it. */
typedef struct {
	uint64_t seq;	  /* its relay seq; 0 when it is retried from the pending list */
	uint8_t hash[32]; /* SHA-256 of the sealed envelope, as the relay log names it */
	pl_wr receipt;	  /* out: a relay receipt (log/receipt.h) kept on the item, if set */
} pl_msgr_envelope;
/* fn's answer when the object cannot be decided yet (e.g. the relay log
 * does not show its deposit yet): nothing of this attempt is kept, and the
 * envelope stays sealed among the pending ones, tried again by every later
 * sync, exactly like an object with no handler. */
#define PL_MSGR_OBJECT_LATER 2
/* fn's answer for an authentic payload whose content the vault holds
 * already (the same agreement delivered by its other party): the envelope
 * is processed, nothing of it is stored. */
#define PL_MSGR_OBJECT_HELD 3
typedef struct {
	int (*fn)(void *ctx, pl_vault *v, const pl_contact *from, const pl_payload *p,
		  pl_msgr_envelope *env, pl_err *e);
	void *ctx;
} pl_msgr_object_handler;

/* publish + fetch/process/ack everything waiting + deliver what is due
 * (after the fetch) + queue acknowledgments for what arrived (to go out
 * with a later command, never this one). Objects go to
 * `objects`. With no handler (NULL, or fn NULL) an envelope carrying an
 * object is neither stored, rejected nor marked seen: it is kept sealed
 * among the pending envelopes (counted in r->pending) and tried again by
 * every later sync, so a sync that does have a handler will apply it. */
int pl_msgr_sync(pl_vault *v, const pl_msgr_object_handler *objects, pl_sync_report *r, pl_err *e);

#endif
