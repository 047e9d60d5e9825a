/*
 * fuzz_proof.c — libFuzzer target for the proof-of-outreach verifier
 * (src/log/proof.c): arbitrary bytes go to pl_outreach_proof_verify without a
 * relay key and with an unrelated one, and to the format dispatcher. Start it
 * from fuzz/corpus/fuzz_proof (a valid bundle) so mutations reach past the
 * JSON into the proofs and signatures.
 *
 * Must never crash or leak. Oracles on a bundle that verifies: it verifies
 * again with its own relay key given (and then says the key was given), never
 * with another relay's key, and the same through the dispatcher; its summary
 * is consistent (deposits within the stated period, a fetched deposit has a
 * later fetch leaf, counts agree) and prints and converts to JSON.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/outreach.h"
#include "export/verify.h"
#include "log/leaf.h"

static char other_vkey[PL_NOTE_VKEY_MAX];
static FILE *devnull;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	uint8_t pk[32];
	(void)argc;
	(void)argv;
	if (sodium_init() < 0)
		abort();
	memset(pk, 7, sizeof pk);
	if (pl_leaf_log_vkey_string(other_vkey, pk) != 0)
		abort();
	devnull = fopen("/dev/null", "w");
	if (devnull == NULL)
		abort();
	return 0;
}

static void check_summary(const pl_outreach_summary *s)
{
	size_t fetched = 0;
	if (s->n_deposits == 0 || s->items == NULL || s->period_start > s->period_end ||
	    s->first_deposit > s->last_deposit || s->n_fetched > s->n_deposits)
		abort();
	for (size_t i = 0; i < s->n_deposits; i++) {
		const pl_outreach_item *it = &s->items[i];
		if (it->time < s->period_start || it->time > s->period_end ||
		    it->index >= s->checkpoint_size ||
		    (i > 0 && it->index <= s->items[i - 1].index))
			abort();
		if (it->fetched) {
			fetched++;
			if (it->fetch_index <= it->index || it->fetch_index >= s->checkpoint_size ||
			    (s->n_fetched == s->n_deposits && it->fetch_time > s->all_fetched_by))
				abort();
		}
	}
	if (fetched != s->n_fetched || (s->n_fetched > 0 && s->n_fetches == 0))
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pl_outreach_summary s, t;
	json_t *js = NULL;
	pl_err e;

	int ok = pl_outreach_proof_verify(&s, data, size, NULL, NULL, 0, &e) == 0;
	if (!ok && (s.items != NULL || e.msg[0] == '\0'))
		abort();
	if (pl_outreach_proof_verify(NULL, data, size, other_vkey, NULL, 0, NULL) == 0 &&
	    !(ok && strcmp(s.relay_vkey, other_vkey) == 0))
		abort();
	int via = pl_verify_bytes(data, size, NULL, 0, NULL, NULL, &js) == 0;
	if (via != (js != NULL))
		abort();
	json_decref(js);
	if (!ok)
		return 0;
	if (!via || !s.used_embedded_key)
		abort();
	check_summary(&s);
	if (pl_outreach_proof_verify(&t, data, size, s.relay_vkey, NULL, 0, NULL) != 0 ||
	    t.used_embedded_key || t.n_fetched != s.n_fetched)
		abort();
	if (pl_outreach_proof_verify(NULL, data, size, NULL,
				     (const uint8_t(*)[PL_IK_LEN])s.prover_ik, 1, NULL) != 0)
		abort();
	pl_outreach_summary_print(devnull, &s);
	js = pl_outreach_summary_json(&s);
	if (js == NULL)
		abort();
	json_decref(js);
	pl_outreach_summary_free(&t);
	pl_outreach_summary_free(&s);
	return 0;
}
