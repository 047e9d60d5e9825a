/*
 * rotation.c — the rotation statement's one codec (see rotation.h).
 *
 * What it must never do: accept a statement that either key did not sign,
 * whose signatures are swapped or moved, that names one key twice, or any
 * byte more or less than the fixed length; it knows nothing of contacts or
 * vaults (the caller checks whose key the old one is).
 */
#include "identity/rotation.h"

#include <sodium.h>
#include <string.h>

#include "util/wire.h"

static void signed_part(uint8_t out[static PL_ROTATION_SIGNED_LEN],
			const uint8_t old[static PL_IK_LEN], const uint8_t next[static PL_IK_LEN],
			uint64_t time)
{
	memcpy(out, PL_ROTATION_LABEL, PL_ROTATION_LABEL_LEN);
	memcpy(out + PL_ROTATION_OFF_OLD, old, PL_IK_LEN);
	memcpy(out + PL_ROTATION_OFF_NEW, next, PL_IK_LEN);
	pl_be64_put(out + PL_ROTATION_OFF_TIME, time);
}

int pl_rotation_make(uint8_t out[static PL_ROTATION_LEN], const pl_identity *old,
		     const pl_identity *next, uint64_t time)
{
	if (time == 0 || sodium_memcmp(old->pk, next->pk, PL_IK_LEN) == 0)
		return -1;
	signed_part(out, old->pk, next->pk, time);
	if (crypto_sign_detached(out + PL_ROTATION_OFF_SIG_OLD, NULL, out, PL_ROTATION_SIGNED_LEN,
				 old->sk) != 0 ||
	    crypto_sign_detached(out + PL_ROTATION_OFF_SIG_NEW, NULL, out,
				 PL_ROTATION_SIGNED_LEN + PL_SIG_LEN, next->sk) != 0) {
		sodium_memzero(out, PL_ROTATION_LEN);
		return -1;
	}
	return 0;
}

int pl_rotation_decode(pl_rotation *r, const uint8_t *p, size_t len)
{
	pl_rd rd;
	pl_rotation t;
	memset(&t, 0, sizeof t);
	if (p == NULL || len != PL_ROTATION_LEN)
		return -1;
	pl_rd_init(&rd, p, len);
	const uint8_t *label = pl_rd_bytes(&rd, PL_ROTATION_LABEL_LEN);
	pl_rd_copy(&rd, t.old_ik, PL_IK_LEN);
	pl_rd_copy(&rd, t.new_ik, PL_IK_LEN);
	t.time = pl_rd_u64(&rd);
	pl_rd_copy(&rd, t.sig_old, PL_SIG_LEN);
	pl_rd_copy(&rd, t.sig_new, PL_SIG_LEN);
	if (pl_rd_done(&rd) != 0 || label == NULL ||
	    memcmp(label, PL_ROTATION_LABEL, PL_ROTATION_LABEL_LEN) != 0 || t.time == 0 ||
	    sodium_memcmp(t.old_ik, t.new_ik, PL_IK_LEN) == 0 || pl_ik_validate(t.old_ik) != 0 ||
	    pl_ik_validate(t.new_ik) != 0 ||
	    crypto_sign_verify_detached(t.sig_old, p, PL_ROTATION_SIGNED_LEN, t.old_ik) != 0 ||
	    crypto_sign_verify_detached(t.sig_new, p, PL_ROTATION_SIGNED_LEN + PL_SIG_LEN,
					t.new_ik) != 0)
		return -1;
	*r = t;
	return 0;
}
