/*
 * revoke.h — revoking this vault's identity key, and applying a contact's
 * revocation of theirs (docs/PROTOCOL.md, "Revocation").
 *
 * The statement (identity/revocation.h) travels to every verified contact
 * as a payload of kind PL_KIND_REVOKE inside the existing ratchet session,
 * or by hand as a file. A contact's client that accepts it marks the key
 * revoked (vault: pl_vault_ik_revoke): nothing is sent to it again and
 * every later envelope under it is refused. The revoking vault records its
 * own key the same way and sends nothing but the revocation afterwards.
 */
#ifndef PARLEY_CLIENT_REVOKE_H
#define PARLEY_CLIENT_REVOKE_H

#include <stddef.h>
#include <stdint.h>

#include "identity/revocation.h"
#include "util/err.h"
#include "vault/vault.h"

/* Checks a statement against the contact it is said to come from (decodes
 * strictly, signed by and revoking the contact's pinned key) and records
 * the key revoked. 0 applied (or applied before); 1 refused (e says why;
 * nothing written); -1 vault error. Inside or outside a transaction. */
int pl_revoke_apply(pl_vault *v, const pl_contact *ct, const uint8_t *stmt, size_t len, pl_err *e);

typedef struct {
	unsigned told;		  /* contacts the revocation was queued for */
	unsigned not_told;	  /* contacts skipped: not verified, key changed, revoked */
	unsigned delivered;	  /* deposited now */
	unsigned queued;	  /* still waiting; the next parley sync retries */
	uint64_t time;		  /* when the revocation took effect in this vault */
	char why[PL_ERR_MSG_MAX]; /* when not everything was delivered */
} pl_revoke_report;

/* Revokes this vault's key: with stmt (len bytes, made earlier and kept
 * apart) or, when stmt is NULL, a statement made now. In one transaction,
 * queues it to every sendable contact and records the key revoked (after
 * which the vault sends nothing else); then delivers. -1 only if nothing
 * was recorded: a statement that is not this vault's, a vault already
 * revoked, a vault error. */
int pl_revoke_self(pl_vault *v, const uint8_t *stmt, size_t len, pl_revoke_report *r, pl_err *e);

#endif
