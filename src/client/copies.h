/*
 * copies.h — a vault that may be an older copy of itself: one restored
 * from a backup (`parley restore`), or a folder put back by hand. Its
 * ratchet sessions are behind the ones the other copy used, so encrypting
 * with them would reuse message keys; it must drop them, make new
 * prekeys, and tell its contacts before it encrypts anything.
 *
 * Detection of a copy put back by hand reads the relay's log: the
 * acknowledgments under this vault's own key (owner-signed, so only a copy
 * of this vault can have made them) that name envelopes this vault never
 * received. What it cannot see is in docs/DESIGN.md, "Backups and copies".
 */
#ifndef PARLEY_CLIENT_COPIES_H
#define PARLEY_CLIENT_COPIES_H

#include <stdint.h>

#include "client/messenger.h"
#include "client/relay_client.h"
#include "util/err.h"
#include "vault/vault.h"

typedef struct {
	unsigned unknown_acks; /* envelopes named by acks under our key we never received */
	int reacted;	       /* this call reset the vault and queued the notices */
	unsigned sessions;     /* ratchet sessions dropped */
	unsigned notified;     /* contacts a restored notice was queued for */
	uint64_t date;	       /* the date the notices name (0: unknown) */
} pl_copies_report;

/* The reset (pl_vault_copy_reset) and a PL_KIND_RESTORED notice (how:
 * PL_RESTORED_BACKUP or PL_RESTORED_COPY, of `date`) queued for every
 * contact we may send to, in one transaction; records the time of the
 * reset (counter "copy_reset_at"): acknowledgments logged before it are
 * the older copy's, already accounted for. */
int pl_copies_react(pl_vault *v, int how, uint64_t date, pl_copies_report *r, pl_err *e);

/* Reads the acknowledgment leaves of our mailbox logged since the last
 * check, in the newest checkpoint the vault accepted (call after
 * pl_audit_checkpoint). quiet: the caller is about to deposit, and a
 * request naming our mailbox right before would tie the deposits to it
 * (sealed sender hides who deposits): then, while at most
 * PL_COPIES_QUIET_MAX leaves were logged since the last check, every leaf
 * of the log is read (GET /log/leaves, no mailbox named) and ours picked
 * out; else, and always when !quiet, GET /log/mailbox, each leaf proved
 * into the tree. If one under our own key
 * names an envelope this vault does not hold and was logged after the
 * last reset, this vault is an older copy: reacts (PL_RESTORED_COPY) at
 * once, before the caller encrypts anything. 0 with r->reacted set or not;
 * -1 (nothing encrypted) if the log could not be read or the reset failed. */
#define PL_COPIES_QUIET_MAX 8000
int pl_copies_check(pl_vault *v, pl_rc_conn *c, int quiet, pl_copies_report *r, pl_err *e);

/* `parley restore`: opens the backup file's bytes with pass, installs the
 * image in a new folder beside dir, opens it, reacts (PL_RESTORED_BACKUP
 * of the backup's date) and only then moves it to dir. Refuses a dir that
 * holds a vault; on any failure nothing is left at dir. *created: the
 * backup's date. */
int pl_copies_restore(const char *dir, const uint8_t *file, size_t n, const char *pass,
		      size_t passlen, uint64_t *created, pl_copies_report *r, pl_err *e);

/* Adds what a reaction did to a sync report (r may be NULL). */
void pl_copies_note(pl_sync_report *r, const pl_copies_report *cr);

#endif
