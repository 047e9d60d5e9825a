/*
 * fuzz_verify.c — libFuzzer target for the export-file verifiers
 * (src/negotiation/verify.c): arbitrary bytes go to the format dispatcher
 * and to the agreement and thread verifiers directly, with and without an
 * expected key, and agreements (versions 1 and 2, with the relay's deposit
 * receipt) with and without a relay key. Start it from
 * fuzz/corpus/fuzz_verify (valid agreements of both versions, with and
 * without names, threads of versions 1 and 2, an agreement document, and
 * framed copies) so mutations reach past the signatures. Documents
 * (export/document.h) are verified directly as well.
 *
 * Must never crash or leak; a file that verifies must verify again through
 * the dispatcher (summaries included), and must be exactly what parley
 * writes for it (pl_agreement_write, or _write_proved with its receipt,
 * re-creates an agreement byte for byte) once its framing is undone here,
 * independently of the verifier: one leading byte-order mark dropped, CR
 * dropped before LF, a final LF added if missing (docs/PROTOCOL.md,
 * "Export files"). So no mutation of a signed byte ever passes as framing.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "export/agreement.h"
#include "export/document.h"
#include "export/thread.h"
#include "export/verify.h"

static pl_agreement_summary s;

/* data with its framing undone (malloc'd; *n its length). */
static uint8_t *unframe(const uint8_t *data, size_t size, size_t *n)
{
	uint8_t *u = malloc(size + 1);
	size_t i = 0, k = 0;
	if (u == NULL)
		abort();
	if (size >= 3 && memcmp(data, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	for (; i < size; i++)
		if (!(data[i] == '\r' && i + 1 < size && data[i + 1] == '\n'))
			u[k++] = data[i];
	if (k > 0 && u[k - 1] == '\r') /* CR LF whose LF was cut */
		k--;
	if (k == 0 || u[k - 1] != '\n')
		u[k++] = '\n';
	*n = k;
	return u;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (sodium_init() < 0)
		abort();
	return 0;
}

static void agreement(const uint8_t *data, size_t size)
{
	if (pl_agreement_verify(&s, data, size, NULL, 0, NULL) != 0)
		return;
	/* must be reproducible from the two objects it holds */
	pl_wr p, a;
	json_t *j;
	size_t n;
	pl_wr_init(&p);
	pl_wr_init(&a);
	if (pl_obj_encode_signed(&p, &s.proposal, NULL) != 0 ||
	    pl_obj_encode_signed(&a, &s.acceptance, NULL) != 0 ||
	    (s.proved ? pl_agreement_write_proved(&j, p.p, p.n, a.p, a.n, s.receipt, s.receipt_len,
						  s.relay_pk, NULL)
		      : pl_agreement_write(&j, p.p, p.n, a.p, a.n, NULL)) != 0)
		abort();
	/* the mediator's guarantee goes before the names, custody after */
	if (s.guaranteed) {
		pl_wr g;
		pl_wr_init(&g);
		if (pl_obj_encode_signed(&g, &s.guarantee, NULL) != 0 ||
		    pl_agreement_add_guarantee(j, g.p, g.n, NULL) != 0)
			abort();
		pl_wr_free(&g);
	}
	if (pl_agreement_attach_names(j, &s) != 0)
		abort();
	for (size_t c = 0; c < s.n_custody; c++) {
		pl_wr r;
		pl_wr_init(&r);
		if (pl_custody_record_encode(&r, &s.custody[c].c, NULL) != 0 ||
		    pl_agreement_add_custody(j, r.p, r.n, NULL) != 0)
			abort();
		pl_wr_free(&r);
	}
	size_t un;
	uint8_t *u = unframe(data, size, &un);
	char *text = pl_export_dumps(j, &n);
	if (text == NULL || n != un || memcmp(text, u, un) != 0)
		abort();
	free(text);
	free(u);
	json_decref(j);
	pl_wr_free(&p);
	pl_wr_free(&a);
	/* its signers are accepted as expected keys, others are not */
	if (pl_agreement_verify(NULL, data, size, (const uint8_t(*)[PL_IK_LEN])s.proposer_ik, 1,
				NULL) != 0)
		abort();
	static const uint8_t other[PL_IK_LEN] = {1};
	if (pl_agreement_verify(NULL, data, size, &other, 1, NULL) == 0)
		abort();
	/* a receipt verifies under the key it carries when that key is given,
	 * never under another; a file without one takes no relay key */
	static const char *const stranger =
	    "parley.relay/0000000000000000+00000000+AQAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA";
	if (s.proved) {
		char vkey[PL_NOTE_VKEY_MAX];
		memcpy(vkey, s.relay_vkey, sizeof vkey);
		if (pl_agreement_verify_ex(NULL, data, size, vkey, NULL, 0, NULL) != 0)
			abort();
	}
	if (pl_agreement_verify_ex(NULL, data, size, stranger, NULL, 0, NULL) == 0)
		abort();
}

static void thread(const uint8_t *data, size_t size)
{
	pl_thread_summary t;
	if (pl_thread_verify(&t, data, size, NULL, 0, NULL) != 0)
		return;
	pl_thread_summary_free(&t);
	if (pl_thread_verify(NULL, data, size, (const uint8_t(*)[PL_IK_LEN])t.exporter_ik, 1,
			     NULL) != 0)
		abort();
	/* the file unframed verifies too, and has no CR left at all */
	size_t un;
	uint8_t *u = unframe(data, size, &un);
	if (memchr(u, '\r', un) != NULL || pl_thread_verify(NULL, u, un, NULL, 0, NULL) != 0)
		abort();
	free(u);
}

/* An agreement document: if it verifies, its signers are accepted as
 * expected keys and a stranger is not, and the dispatcher agrees. */
static void document(const uint8_t *data, size_t size)
{
	if (pl_document_verify(&s, data, size, NULL, NULL, 0, NULL) != 0)
		return;
	if (pl_verify_bytes(data, size, NULL, 0, NULL, NULL, NULL) != 0 ||
	    pl_document_verify(NULL, data, size, NULL, (const uint8_t(*)[PL_IK_LEN])s.accepter_ik,
			       1, NULL) != 0)
		abort();
	static const uint8_t other[PL_IK_LEN] = {1};
	if (pl_document_verify(NULL, data, size, NULL, &other, 1, NULL) == 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	json_t *js = NULL;
	int ok = pl_verify_bytes(data, size, NULL, 0, NULL, NULL, &js) == 0;
	if (ok != (js != NULL))
		abort();
	json_decref(js);
	agreement(data, size);
	thread(data, size);
	document(data, size);
	return 0;
}
