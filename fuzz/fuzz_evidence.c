/*
 * fuzz_evidence.c — libFuzzer target for the relay-evidence decoder
 * (src/export/evidence.c): arbitrary bytes go to the file verifier (with
 * the key inside, with a key given, and through the `parley verify`
 * dispatcher) and, split in two, to the builder as a stored evidence row,
 * which reads each half as a stored leaf half, a signed note or data.
 * Start it from fuzz/corpus/fuzz_evidence (a file with a fork, a rewrite
 * and two reports) so mutations reach past the signatures.
 *
 * Must never crash or leak; a file that verifies must verify through the
 * dispatcher too with the same answer and have a JSON summary; whatever
 * the builder accepts must verify under the key it was built for.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "export/evidence.h"
#include "export/verify.h"

/* The relay key of the corpus file (parley.relay/...): mutations keep it. */
static const char *corpus_vkey =
    "parley.relay/197f6b23e16c8532+31b692d3+ARl/ayPhbIUyxqvIOPrNXqeJvgx2spIDNAOb+os9No1h";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (sodium_init() < 0)
		abort();
	return 0;
}

static void verify(const uint8_t *data, size_t size)
{
	pl_evidence_summary s;
	int ok = pl_evidence_verify(&s, data, size, NULL, NULL) == 0;
	if (ok != (s.n_proved > 0))
		abort();
	if (ok) {
		json_t *js = NULL;
		if (pl_verify_bytes_ex(data, size, NULL, NULL, NULL, &js) != 0 || js == NULL)
			abort();
		json_decref(js);
		/* the key inside, given, must give the same answer */
		if (pl_evidence_verify(NULL, data, size, s.relay_vkey, NULL) != 0)
			abort();
	}
	pl_evidence_summary_free(&s);
	pl_evidence_verify(NULL, data, size, corpus_vkey, NULL);
}

static void build(const uint8_t *data, size_t size)
{
	static uint8_t pk[32];
	static int have;
	if (!have) {
		pl_note_vkey v;
		if (pl_note_vkey_parse(&v, corpus_vkey, strlen(corpus_vkey)) != 0)
			abort();
		memcpy(pk, v.pk, 32);
		have = 1;
	}
	size_t half = size / 2;
	pl_evidence_row r = {
	    "reported by the fuzzer", 1764300000, data, data + half, half, size - half};
	json_t *j = NULL;
	pl_evidence_counts c;
	if (pl_evidence_build(&j, pk, &r, 1, &c, NULL) != 0)
		return;
	size_t n;
	char *text = pl_export_dumps(j, &n);
	pl_evidence_summary s;
	if (text == NULL)
		abort();
	int rc = pl_evidence_verify(&s, (const uint8_t *)text, n, NULL, NULL);
	if (s.n != 1 || (rc == 0) != (c.proved == 1))
		abort();
	pl_evidence_summary_free(&s);
	free(text);
	json_decref(j);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	verify(data, size);
	build(data, size);
	return 0;
}
