/*
 * fuzz_envelope.c — libFuzzer target for pl_envelope_open with a fixed
 * identity. Random bytes almost never get past crypto_box_seal_open, so the
 * first input byte picks a mode: 0 feeds the rest as a sealed envelope; any
 * other value seals the rest (zero-extended to the next bucket) to the fixed
 * identity first, so the strict inner decoder sees fuzzed plaintext.
 * Must never crash, leak, or accept an inner that does not re-encode to
 * exactly the same bytes.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "envelope/envelope.h"
#include "identity/identity.h"

static pl_identity me;
static uint8_t me_xpk[PL_X25519_LEN];

static void init_once(void)
{
	static int done;
	uint8_t seed[crypto_sign_SEEDBYTES];

	if (done)
		return;
	if (sodium_init() < 0)
		abort();
	memset(seed, 0x42, sizeof seed);
	crypto_sign_seed_keypair(me.pk, me.sk, seed);
	if (pl_ik_to_x25519(me_xpk, me.pk) != 0)
		abort();
	done = 1;
}

static void check_open(const uint8_t *sealed, size_t n)
{
	uint8_t *inner = NULL, sender[PL_IK_LEN];
	size_t innerlen = 0, msglen = 0;
	const uint8_t *msg = NULL;

	if (pl_envelope_open(&inner, &innerlen, sender, &msg, &msglen, &me, sealed, n) != 0) {
		if (inner != NULL || msg != NULL || innerlen != 0 || msglen != 0)
			abort();
		return;
	}
	if (!pl_envelope_size_ok(innerlen + PL_ENVELOPE_SEAL_OVERHEAD) || msg < inner ||
	    msglen > innerlen || (size_t)(msg - inner) > innerlen - msglen ||
	    pl_ik_validate(sender) != 0)
		abort();
	/* Canonical: sealing what we read gives an inner of the same length
	 * that opens to the same sender and message. */
	uint8_t *again = NULL;
	size_t againlen = 0;
	if (pl_envelope_seal(&again, &againlen, me.pk, sender, msg, msglen) != 0 || againlen != n)
		abort();
	free(again);
	sodium_memzero(inner, innerlen);
	free(inner);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	init_once();
	if (size == 0)
		return 0;
	if (data[0] == 0) {
		check_open(data + 1, size - 1);
		return 0;
	}
	size_t n = size - 1;
	size_t bucket = 0;
	static const size_t buckets[] = {1024, 4096, 16384, 65536};
	for (size_t i = 0; i < 4 && bucket == 0; i++)
		if (n <= buckets[i])
			bucket = buckets[i];
	if (bucket == 0)
		return 0;
	uint8_t *inner = calloc(1, bucket);
	uint8_t *sealed = malloc(bucket + crypto_box_SEALBYTES);
	if (inner == NULL || sealed == NULL)
		abort();
	memcpy(inner, data + 1, n);
	if (crypto_box_seal(sealed, inner, bucket, me_xpk) != 0)
		abort();
	check_open(sealed, bucket + crypto_box_SEALBYTES);
	free(sealed);
	free(inner);
	return 0;
}
