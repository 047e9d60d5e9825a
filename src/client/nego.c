/*
 * nego.c — negotiation objects received through the channel: checks that a
 * signed object is well formed, signed by the sender's pinned key, addressed
 * to us, and a legal move given what the vault holds; then applies its state
 * change. Until the negotiation layer lands every object is refused.
 */
#include "client/messenger.h"
#include "client/nego.h"

int pl_msgr_object_received(pl_vault *v, const pl_contact *from, const pl_payload *p, pl_err *e)
{
	(void)v;
	(void)from;
	(void)p;
	(void)e;
	return 1;
}

int pl_nego_ref_contact(pl_vault *v, const uint8_t ref[static PL_CASE_REF_LEN],
			char contact[static PL_NAME_MAX + 1], pl_err *e)
{
	(void)v;
	(void)ref;
	(void)contact;
	return pl_err_set(e, PL_EXIT_NOTFOUND, "no proposal or request you received names that "
					       "reference; see parley inbox");
}
