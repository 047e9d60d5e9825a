/*
 * revocation.c — the revocation statement's one codec (see revocation.h).
 *
 * What it must never do: accept a statement whose signature is not by the
 * key it names, or any byte more or less than the fixed length; it knows
 * nothing of contacts or vaults (the caller checks whose key it is).
 */
#include "identity/revocation.h"

#include <sodium.h>
#include <string.h>

#include "util/wire.h"

#define SIGNED_LEN (PL_REVOCATION_LABEL_LEN + PL_IK_LEN + 8)

static void signed_part(uint8_t out[static SIGNED_LEN], const uint8_t ik[static PL_IK_LEN],
			uint64_t time)
{
	memcpy(out, PL_REVOCATION_LABEL, PL_REVOCATION_LABEL_LEN);
	memcpy(out + PL_REVOCATION_LABEL_LEN, ik, PL_IK_LEN);
	pl_be64_put(out + PL_REVOCATION_LABEL_LEN + PL_IK_LEN, time);
}

int pl_revocation_make(uint8_t out[static PL_REVOCATION_LEN], const pl_identity *id, uint64_t time)
{
	if (time == 0)
		return -1;
	signed_part(out, id->pk, time);
	return crypto_sign_detached(out + SIGNED_LEN, NULL, out, SIGNED_LEN, id->sk) == 0 ? 0 : -1;
}

int pl_revocation_decode(pl_revocation *r, const uint8_t *p, size_t len)
{
	pl_rd rd;
	pl_revocation t;
	memset(&t, 0, sizeof t);
	if (p == NULL || len != PL_REVOCATION_LEN)
		return -1;
	pl_rd_init(&rd, p, len);
	const uint8_t *label = pl_rd_bytes(&rd, PL_REVOCATION_LABEL_LEN);
	pl_rd_copy(&rd, t.ik, PL_IK_LEN);
	t.time = pl_rd_u64(&rd);
	pl_rd_copy(&rd, t.sig, PL_SIG_LEN);
	if (pl_rd_done(&rd) != 0 || label == NULL ||
	    memcmp(label, PL_REVOCATION_LABEL, PL_REVOCATION_LABEL_LEN) != 0 || t.time == 0 ||
	    pl_ik_validate(t.ik) != 0 ||
	    crypto_sign_verify_detached(t.sig, p, SIGNED_LEN, t.ik) != 0)
		return -1;
	*r = t;
	return 0;
}
