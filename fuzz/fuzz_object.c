/*
 * fuzz_object.c — libFuzzer target for the negotiation object decoder
 * (src/negotiation/object.c). Each input is tried twice:
 *
 *   - as unsigned object bytes (pl_obj_parse), which reaches every field
 *     rule; whatever it accepts must re-encode to exactly the input, and,
 *     re-signed under a fixed key, must sign and decode back to the same
 *     object (encode refuses nothing decode accepts);
 *   - as signed bytes (pl_obj_decode_signed); whatever it accepts must
 *     re-encode, signature included, to exactly the input.
 *
 * Must never crash, leak or read out of bounds.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "negotiation/object.h"

static pl_identity signer;
static pl_obj o, d;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const uint8_t seed[crypto_sign_SEEDBYTES] = {42};
	(void)argc;
	(void)argv;
	if (sodium_init() < 0 || crypto_sign_seed_keypair(signer.pk, signer.sk, seed) != 0)
		abort();
	return 0;
}

static void same(const pl_wr *w, const uint8_t *p, size_t n)
{
	if (pl_wr_ok(w) != 0 || w->n != n || memcmp(w->p, p, n) != 0)
		abort();
}

static void unsigned_input(const uint8_t *data, size_t size)
{
	pl_wr w;
	if (pl_obj_parse(&o, data, size, NULL) != 0)
		return;
	pl_wr_init(&w);
	if (pl_obj_encode(&w, &o, NULL) != 0)
		abort();
	same(&w, data, size);
	pl_wr_free(&w);

	/* Re-signed by the fixed key: refused only where the new author clashes
	 * with a key already in the object, or the signature pushes it past the
	 * size limit; otherwise it must decode back to the same object. */
	int clash = memcmp(o.recipient_ik, signer.pk, PL_IK_LEN) == 0 ||
		    (o.type == PL_OBJ_PROPOSAL && o.u.proposal.has_mediator &&
		     memcmp(o.u.proposal.mediator_ik, signer.pk, PL_IK_LEN) == 0);
	pl_wr_init(&w);
	int rc = pl_obj_sign(&w, &o, &signer, NULL);
	if (rc != 0) {
		if (!clash && size + PL_SIG_LEN <= PL_OBJ_SIGNED_MAX)
			abort();
		pl_wr_free(&w);
		return;
	}
	if (clash || pl_obj_decode_signed(&d, w.p, w.n, NULL) != 0 || memcmp(&d, &o, sizeof d) != 0)
		abort();
	pl_wr_free(&w);
}

static void signed_input(const uint8_t *data, size_t size)
{
	pl_wr w;
	if (pl_obj_decode_signed(&o, data, size, NULL) != 0)
		return;
	pl_wr_init(&w);
	if (pl_obj_encode_signed(&w, &o, NULL) != 0)
		abort();
	same(&w, data, size);
	pl_wr_free(&w);
	uint8_t h[PL_OBJ_HASH_LEN];
	pl_obj_hash(h, data, size);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	unsigned_input(data, size);
	signed_input(data, size);
	return 0;
}
