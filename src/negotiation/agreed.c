/*
 * agreed.c — the agreement bundle (see agreed.h).
 */
#include "negotiation/agreed.h"

#include <sodium.h>
#include <string.h>

void pl_agreed_encode(pl_wr *w, const uint8_t *pb, size_t pn, const uint8_t *ab, size_t an)
{
	pl_wr_var(w, pb, pn);
	pl_wr_var(w, ab, an);
}

int pl_agreed_split(const uint8_t *b, size_t n, const uint8_t **pb, size_t *pn, const uint8_t **ab,
		    size_t *an)
{
	pl_rd r;
	pl_rd_init(&r, b, n);
	*pb = pl_rd_var(&r, PL_OBJ_SIGNED_MAX, pn);
	*ab = pl_rd_var(&r, PL_OBJ_SIGNED_MAX, an);
	if (pl_rd_done(&r) != 0 || *pb == NULL || *ab == NULL || *pn == 0 || *an == 0)
		return -1;
	return 0;
}

int pl_agreed_decode(pl_obj *P, pl_obj *A, uint8_t ph[static PL_OBJ_HASH_LEN],
		     uint8_t ah[static PL_OBJ_HASH_LEN], const uint8_t *b, size_t n, pl_err *e)
{
	const uint8_t *pb, *ab;
	size_t pn, an;
	int rc = -1;
	if (pl_agreed_split(b, n, &pb, &pn, &ab, &an) != 0) {
		pl_err_set(e, PL_EXIT_INPUT,
			   "malformed agreement: not exactly a proposal and an acceptance");
		goto out;
	}
	if (pl_obj_decode_signed(P, pb, pn, e) != 0 || pl_obj_decode_signed(A, ab, an, e) != 0)
		goto out;
	pl_obj_hash(ph, pb, pn);
	pl_obj_hash(ah, ab, an);
	if (P->type != PL_OBJ_PROPOSAL || A->type != PL_OBJ_RESPONSE ||
	    A->u.response.kind != PL_RESP_ACCEPT) {
		pl_err_set(e, PL_EXIT_SECURITY,
			   "the agreement is not a proposal followed by its acceptance");
		goto out;
	}
	if (memcmp(A->u.response.target_id, P->id, PL_OBJ_ID_LEN) != 0 ||
	    sodium_memcmp(A->u.response.target_hash, ph, PL_OBJ_HASH_LEN) != 0) {
		pl_err_set(e, PL_EXIT_SECURITY,
			   "the acceptance does not name that proposal's id and exact bytes");
		goto out;
	}
	if (memcmp(A->author_ik, P->recipient_ik, PL_IK_LEN) != 0 ||
	    memcmp(A->recipient_ik, P->author_ik, PL_IK_LEN) != 0) {
		pl_err_set(e, PL_EXIT_SECURITY,
			   "the acceptance is not from the proposal's recipient to its author");
		goto out;
	}
	if (A->created < P->created) {
		pl_err_set(e, PL_EXIT_SECURITY, "the acceptance is dated before the proposal");
		goto out;
	}
	rc = 0;
out:
	if (rc != 0) {
		memset(P, 0, sizeof *P);
		memset(A, 0, sizeof *A);
		memset(ph, 0, PL_OBJ_HASH_LEN);
		memset(ah, 0, PL_OBJ_HASH_LEN);
	}
	return rc;
}
