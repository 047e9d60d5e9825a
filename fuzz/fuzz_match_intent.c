/*
 * fuzz_match_intent.c — libFuzzer target for the intent statement of blind
 * matching (src/negotiation/match.c) and the proof of mutual intent
 * (src/export/match.c). Each input is tried as:
 *   - a statement (pl_match_intent_decode): if accepted and signed by the
 *     fixed key of the seeds, re-signing its fields gives the same bytes;
 *     else re-signed by the fixed key it decodes again;
 *   - a sealed statement opened with a fixed key (pl_match_open), then
 *     decoded;
 *   - an intent file (pl_intent_verify, and the verify dispatcher, which
 *     must agree): if valid, rebuilt from its two statements it is the
 *     same file but for framing, and its summary renders.
 * Seeds: fuzz/corpus/fuzz_match_intent (test_match_format with
 * PARLEY_SEED_DIR). Must never crash, leak or read out of bounds.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/match.h"
#include "export/verify.h"
#include "negotiation/match.h"

static pl_identity fixed, other;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	static const uint8_t s1[32] = {42}, s2[32] = {43};
	(void)argc;
	(void)argv;
	if (sodium_init() < 0 || crypto_sign_seed_keypair(fixed.pk, fixed.sk, s1) != 0 ||
	    crypto_sign_seed_keypair(other.pk, other.sk, s2) != 0)
		abort();
	return 0;
}

static void statement(const uint8_t *data, size_t size)
{
	pl_match_intent s, d;
	if (pl_match_intent_decode(&s, data, size) != 0)
		return;
	int same = memcmp(s.signer, fixed.pk, 32) == 0;
	const uint8_t *peer = s.peer;
	if (!same && memcmp(peer, fixed.pk, 32) == 0)
		peer = other.pk;
	pl_wr w;
	pl_wr_init(&w);
	if (pl_match_intent_sign(&w, s.id, peer, s.topic, s.created, &fixed) != 0 ||
	    pl_match_intent_decode(&d, w.p, w.n) != 0 || strcmp(d.topic, s.topic) != 0 ||
	    w.n != pl_match_intent_len(s.topic))
		abort();
	if (same && peer == s.peer && (w.n != size || memcmp(w.p, data, size) != 0))
		abort();
	pl_wr_free(&w);
}

static void sealed(const uint8_t *data, size_t size)
{
	static const uint8_t key[32] = {9}, id[16] = {0};
	if (size < 16 || size > PL_MATCH_SEALED_MAX)
		return;
	uint8_t m[PL_MATCH_SEALED_MAX];
	pl_match_intent s;
	if (pl_match_open(m, data, size, id, key) == 0)
		(void)pl_match_intent_decode(&s, m, size - 16);
}

static void file(const uint8_t *data, size_t size)
{
	pl_intent_summary s;
	int ok = pl_intent_verify(&s, data, size, NULL) == 0;
	json_t *js = NULL;
	if ((pl_verify_bytes(data, size, NULL, 0, NULL, NULL, &js) == 0) != ok && ok)
		abort();
	json_decref(js);
	if (!ok)
		return;
	/* its signers are expected keys; the summary renders */
	if (pl_intent_verify_ex(NULL, data, size, (const uint8_t(*)[32])s.stmt[1].signer, 1,
				NULL) != 0)
		abort();
	json_t *j = pl_intent_summary_json(&s);
	if (j == NULL)
		abort();
	json_decref(j);
	FILE *null = fopen("/dev/null", "w");
	if (null) {
		pl_intent_summary_print(null, &s);
		fclose(null);
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	statement(data, size);
	sealed(data, size);
	file(data, size);
	return 0;
}
