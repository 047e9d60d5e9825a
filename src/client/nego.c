/*
 * nego.c — negotiation objects received through the channel: checks that a
 * signed object is well formed, signed by the sender's pinned key, addressed
 * to us, and a legal move given what the vault holds; then applies its state
 * change. Until the negotiation layer lands every object is refused.
 */
#include "client/messenger.h"

int pl_msgr_object_received(pl_vault *v, const pl_contact *from, const pl_payload *p, pl_err *e)
{
	(void)v;
	(void)from;
	(void)p;
	(void)e;
	return 1;
}
