/*
 * audit.h — the client's watch over the relay's transparency log:
 * every sync checks the newest signed checkpoint against the last one this
 * vault accepted (same size: same root; larger: a consistency proof), checks
 * that every receipt we hold lies inside it, and after fetching looks at the
 * log's deposit leaves for our mailbox to catch envelopes the relay logged
 * but never handed over. A fork or a rewrite is refused; the two conflicting
 * signed statements are kept as evidence (parley relay evidence).
 */
#ifndef PARLEY_CLIENT_AUDIT_H
#define PARLEY_CLIENT_AUDIT_H

#include <stdint.h>

#include "client/relay_client.h"
#include "util/err.h"
#include "vault/vault.h"

typedef struct {
	uint64_t size;	   /* the checkpoint accepted by this sync */
	unsigned receipts; /* receipts newly proved inside it */
	unsigned withheld; /* deposits for us the relay logged but did not hand over */
} pl_audit_report;

/* Before fetching: checkpoint signature and consistency, receipts. -1 with
 * PL_EXIT_SECURITY (and evidence stored) when the relay contradicts itself. */
int pl_audit_checkpoint(pl_vault *v, pl_rc_conn *c, pl_audit_report *r, pl_err *e);
/* After fetching: deposit leaves for our mailbox in the checkpoint accepted
 * before the fetch must all have been received. `drained`: the fetch
 * emptied the mailbox, so a logged deposit past what we fetched was
 * withheld; otherwise those are left for the next sync. */
int pl_audit_withheld(pl_vault *v, pl_rc_conn *c, int drained, pl_audit_report *r, pl_err *e);

/* Helpers shared with `parley prove outreach`. */
int pl_audit_inclusion(pl_rc_conn *c, uint64_t index, uint64_t size, uint8_t (*proof)[32],
		       size_t *n, pl_err *e);
/* Reads leaves [start, start+count) (count <= PL_PROTO_LEAVES_MAX); *body
 * malloc'd, l's pointers into it. */
int pl_audit_leaves(pl_rc_conn *c, uint64_t start, uint32_t count, pl_proto_leaves *l,
		    uint8_t **body, pl_err *e);
/* The current checkpoint, verified: note (malloc'd) and parsed size/root. */
int pl_audit_fetch_checkpoint(pl_vault *v, pl_rc_conn *c, uint8_t **note, size_t *n, uint64_t *size,
			      uint8_t root[static 32], pl_err *e);

#endif
