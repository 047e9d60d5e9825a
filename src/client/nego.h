/*
 * nego.h — negotiation moves on top of the channel (issue 3): composing,
 * signing and queueing outreach, proposals, responses, requests and answers;
 * checking and applying the ones received; and the queries the CLI needs
 * (state of an item, who a reference belongs to).
 */
#ifndef PARLEY_CLIENT_NEGO_H
#define PARLEY_CLIENT_NEGO_H

#include "util/err.h"
#include "vault/vault.h"

/* Finds the contact whose received proposals or requests name `ref`;
 * NOTFOUND if none does. */
int pl_nego_ref_contact(pl_vault *v, const uint8_t ref[static PL_CASE_REF_LEN],
			char contact[static PL_NAME_MAX + 1], pl_err *e);

#endif
