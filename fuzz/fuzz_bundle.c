/*
 * fuzz_bundle.c — libFuzzer target for pl_bundle_decode, the strict decoder
 * of prekey bundles fetched from the (untrusted) relay.
 *
 * Random bytes never carry a valid signature, so the first input byte picks
 * a mode: 0 feeds the rest as is; any other value first puts a fixed
 * identity key into the input and signs its spk_id and spk (when the input
 * is long enough), so the checks after the signature are reached.
 * Must never crash or leak, and must abort if it accepts a bundle that fails
 * pl_bundle_verify or pl_ik_validate, or that does not re-encode to exactly
 * the input bytes.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "session/x3dh.h"

#define IK_OFF 1
#define SPK_ID_OFF (IK_OFF + PL_IK_LEN)
#define SPK_OFF (SPK_ID_OFF + 4)
#define SIG_OFF (SPK_OFF + PL_X25519_LEN)

static pl_identity signer;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	pl_bundle b;
	pl_wr w;

	if (!init) {
		uint8_t seed[crypto_sign_SEEDBYTES];
		if (sodium_init() < 0)
			abort();
		memset(seed, 0x77, sizeof seed);
		if (crypto_sign_seed_keypair(signer.pk, signer.sk, seed) != 0)
			abort();
		init = 1;
	}
	if (size == 0)
		return 0;
	uint8_t mode = data[0];
	data++;
	size--;
	uint8_t *buf = malloc(size ? size : 1);
	if (buf == NULL)
		abort();
	memcpy(buf, data, size);
	if (mode != 0 && size >= SIG_OFF + PL_SIG_LEN) {
		memcpy(buf + IK_OFF, signer.pk, PL_IK_LEN);
		if (pl_spk_sign(buf + SIG_OFF, &signer, pl_be32_get(buf + SPK_ID_OFF),
				buf + SPK_OFF) != 0)
			abort();
	}
	if (pl_bundle_decode(&b, buf, size) == 0) {
		if (pl_bundle_verify(&b) != 0 || pl_ik_validate(b.ik) != 0)
			abort();
		pl_wr_init(&w);
		pl_bundle_encode(&w, &b);
		if (pl_wr_ok(&w) != 0 || w.n != size || memcmp(w.p, buf, size) != 0)
			abort();
		pl_wr_free(&w);
	}
	free(buf);
	return 0;
}
