/*
 * prove.h — `parley prove outreach`: gathers from the vault and the relay's
 * log everything a proof-of-outreach bundle (export/outreach.h) needs, and writes
 * it. The relay's answers are checked against its pinned key and the
 * vault's accepted checkpoint before they go into the bundle.
 */
#ifndef PARLEY_CLIENT_PROVE_H
#define PARLEY_CLIENT_PROVE_H

#include "util/err.h"
#include "vault/vault.h"

typedef struct {
	size_t deposits, fetched, fetch_leaves;
	uint64_t checkpoint_size;
	unsigned replies;
} pl_prove_report;

int pl_prove_outreach(pl_vault *v, const char *contact, const char *path, pl_prove_report *r,
		      pl_err *e);

#endif
