/*
 * revoke.c — the revoker's sequence and the receiver's check (revoke.h).
 *
 * What it must never do: record a key revoked on a statement that is not
 * signed by that very key, or that names a key other than the contact's
 * pinned one; let a revoked vault queue anything but its revocation;
 * touch the network inside the transaction that records a revocation.
 */
#include "client/revoke.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/messenger.h"
#include "client/rotate.h"
#include "envelope/envelope.h"
#include "util/codec.h"

int pl_revoke_apply(pl_vault *v, const pl_contact *ct, const uint8_t *stmt, size_t len, pl_err *e)
{
	pl_revocation r;
	if (pl_revocation_decode(&r, stmt, len) != 0)
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "a revocation for \"%s\" is malformed or not signed by the key "
				  "it names; refused, \"%s\" is unchanged",
				  ct->name, ct->name),
		       1;
	if (sodium_memcmp(r.ik, ct->ik, PL_IK_LEN) != 0) {
		/* The key the contact rotated away from: the rotation is void
		 * (a seized key could have signed it). */
		int voided = pl_rotate_void(v, ct, r.ik, e);
		if (voided != 0)
			return voided > 0 ? 0 : -1;
		return pl_err_set(e, PL_EXIT_SECURITY,
				  "a revocation for \"%s\" revokes another key than theirs; "
				  "refused, \"%s\" is unchanged",
				  ct->name, ct->name),
		       1;
	}
	if (ct->revoked)
		return 0;
	return pl_vault_ik_revoke(v, ct->ik, pl_now(), e) == 0 ? 0 : -1;
}

static int record_revocation(pl_vault *v, const uint8_t *stmt, pl_revoke_report *r, pl_err *e)
{
	pl_contact *cs = NULL;
	size_t n = 0;
	if (pl_vault_begin(v, e) != 0)
		return -1;
	int rc = pl_msgr_check_identity(v, e);
	if (rc == 0)
		rc = pl_vault_contact_list(v, &cs, &n, e);
	for (size_t i = 0; rc == 0 && i < n; i++) {
		if (pl_msgr_check_sendable(&cs[i], NULL) != 0) {
			r->not_told++;
			continue;
		}
		rc = pl_msgr_queue_statement(v, cs[i].name, PL_KIND_REVOKE, stmt, PL_REVOCATION_LEN,
					     r->time, e);
		r->told++;
	}
	if (rc == 0)
		rc = pl_vault_ik_revoke(v, pl_vault_identity(v)->pk, r->time, e);
	if (rc == 0)
		rc = pl_vault_commit(v, e);
	if (rc != 0)
		pl_vault_rollback(v);
	if (cs)
		sodium_memzero(cs, n * sizeof *cs);
	free(cs);
	return rc;
}

int pl_revoke_self(pl_vault *v, const uint8_t *stmt, size_t len, pl_revoke_report *r, pl_err *e)
{
	uint8_t made[PL_REVOCATION_LEN];
	memset(r, 0, sizeof *r);
	r->time = pl_now();
	const pl_identity *me = pl_vault_identity(v);
	if (stmt == NULL) {
		if (pl_revocation_make(made, me, r->time) != 0)
			return pl_err_set(e, PL_EXIT_ERROR, "could not sign the revocation");
		stmt = made;
		len = sizeof made;
	} else {
		pl_revocation rv;
		if (pl_revocation_decode(&rv, stmt, len) != 0)
			return pl_err_set(e, PL_EXIT_INPUT,
					  "that is not a revocation statement, or its signature "
					  "does not check; nothing was revoked");
		if (sodium_memcmp(rv.ik, me->pk, PL_IK_LEN) != 0)
			return pl_err_set(e, PL_EXIT_INPUT,
					  "that revocation is for another key than this vault's; "
					  "nothing was revoked");
	}
	if (record_revocation(v, stmt, r, e) != 0)
		return -1;
	pl_err ne;
	pl_err_clear(&ne);
	pl_sync_report dr;
	memset(&dr, 0, sizeof dr);
	pl_msgr_deliver(v, &dr, &ne);
	pl_msgr_outbox_count(v, &dr);
	r->delivered = dr.delivered;
	r->queued = dr.queued;
	if (ne.code != 0)
		snprintf(r->why, sizeof r->why, "%s", ne.msg);
	return 0;
}
