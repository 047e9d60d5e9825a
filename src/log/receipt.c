/*
 * receipt.c — the deposit receipt's codec and its offline check against
 * the relay log's checkpoint (see receipt.h).
 *
 * It owns the exact bytes of a receipt and the rebuilding of the deposit
 * leaf from it. It must never accept a receipt with a wrong version,
 * trailing bytes or an oversize note or proof, never report success with a
 * half-filled output, and never do I/O.
 */
#include "log/receipt.h"

#include <sodium.h>
#include <string.h>

#include "log/merkle.h"
#include "log/note.h"
#include "util/codec.h"
#include "util/wire.h"

_Static_assert(PL_RECEIPT_PROOF_MAX + 1 == PL_MERKLE_PROOF_MAX, "inclusion proofs are shorter");
_Static_assert(PL_LEAF_NOTE_MAX <= PL_RECEIPT_NOTE_MAX, "the relay's notes fit a receipt");

size_t pl_receipt_encode(uint8_t out[static PL_RECEIPT_MAX], const pl_receipt *r)
{
	size_t o = 0;

	if (r->notelen == 0 || r->notelen > PL_RECEIPT_NOTE_MAX ||
	    r->prooflen > PL_RECEIPT_PROOF_MAX)
		return 0;
	out[o++] = PL_RECEIPT_VERSION;
	memcpy(out + o, r->mbx, PL_LEAF_KEY_LEN);
	o += PL_LEAF_KEY_LEN;
	pl_be64_put(out + o, r->seq);
	o += 8;
	pl_be64_put(out + o, r->time);
	o += 8;
	memcpy(out + o, r->hash, PL_LEAF_KEY_LEN);
	o += PL_LEAF_KEY_LEN;
	pl_be64_put(out + o, r->index);
	o += 8;
	pl_be32_put(out + o, (uint32_t)r->notelen);
	o += 4;
	memcpy(out + o, r->note, r->notelen);
	o += r->notelen;
	out[o++] = (uint8_t)r->prooflen;
	memcpy(out + o, r->proof, r->prooflen * 32);
	o += r->prooflen * 32;
	memset(out + o, 0, PL_RECEIPT_MAX - o);
	return o;
}

int pl_receipt_decode(pl_receipt *r, const uint8_t *p, size_t n)
{
	pl_rd rd;
	const uint8_t *note;
	size_t np = 0;

	memset(r, 0, sizeof *r);
	pl_rd_init(&rd, p, n);
	if (pl_rd_u8(&rd) != PL_RECEIPT_VERSION)
		pl_rd_fail(&rd);
	pl_rd_copy(&rd, r->mbx, PL_LEAF_KEY_LEN);
	r->seq = pl_rd_u64(&rd);
	r->time = pl_rd_u64(&rd);
	pl_rd_copy(&rd, r->hash, PL_LEAF_KEY_LEN);
	r->index = pl_rd_u64(&rd);
	note = pl_rd_var(&rd, PL_RECEIPT_NOTE_MAX, &r->notelen);
	if (note != NULL && r->notelen > 0)
		memcpy(r->note, note, r->notelen);
	np = pl_rd_u8(&rd);
	if (np > PL_RECEIPT_PROOF_MAX)
		pl_rd_fail(&rd);
	for (size_t i = 0; i < np && rd.err == 0; i++)
		pl_rd_copy(&rd, r->proof[i], 32);
	r->prooflen = np;
	if (pl_rd_done(&rd) != 0 || r->seq == 0 || r->notelen == 0) {
		memset(r, 0, sizeof *r);
		return -1;
	}
	return 0;
}

void pl_receipt_leaf(pl_leaf *l, const pl_receipt *r)
{
	memset(l, 0, sizeof *l);
	l->type = PL_LEAF_DEPOSIT;
	memcpy(l->mbx, r->mbx, PL_LEAF_KEY_LEN);
	memcpy(l->hash, r->hash, PL_LEAF_KEY_LEN);
	l->seq = r->seq;
	l->relay_time = r->time;
}

int pl_receipt_verify(const pl_receipt *r, const uint8_t relay_pk[static 32],
		      const uint8_t *expected_hash)
{
	pl_checkpoint c;
	pl_leaf l;
	uint8_t h[PL_MERKLE_HASH_LEN];

	if (expected_hash != NULL && sodium_memcmp(expected_hash, r->hash, PL_LEAF_KEY_LEN) != 0)
		return -1;
	if (r->notelen == 0 || r->notelen > PL_RECEIPT_NOTE_MAX ||
	    r->prooflen > PL_RECEIPT_PROOF_MAX ||
	    pl_leaf_checkpoint_open(&c, r->note, r->notelen, relay_pk) != 0 || r->index >= c.size)
		return -1;
	pl_receipt_leaf(&l, r);
	if (pl_leaf_hash_of(h, &l) != 0)
		return -1;
	return pl_merkle_verify_inclusion(h, r->index, c.size, (const uint8_t(*)[32])r->proof,
					  r->prooflen, c.root);
}
