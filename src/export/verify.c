/*
 * verify.c — the `parley verify` dispatcher (see verify.h): reads a file,
 * picks its format's verifier from one table and hands back that format's
 * summary.
 *
 * It owns the table and nothing of any format. It must never report a file
 * valid unless its format's verifier did, and never echo an unknown format
 * raw.
 */
#include "export/verify.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "export/agreement.h"
#include "export/document.h"
#include "export/evidence.h"
#include "export/execution.h"
#include "export/json.h"
#include "export/match.h"
#include "export/outreach.h"
#include "export/thread.h"
#include "util/codec.h"
#include "util/text.h"
#include "util/file.h"

static int agreement_file(const uint8_t *file, size_t n, const pl_verify_opts *o, pl_err *e,
			  FILE *out, json_t **js)
{
	pl_agreement_summary *s = malloc(sizeof *s);
	if (s == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	int rc = pl_agreement_verify_ex(s, file, n, o->relay_key, o->expect, o->n_expect, e);
	if (rc == 0 && out)
		pl_agreement_summary_print(out, s);
	if (rc == 0 && js)
		*js = pl_agreement_summary_json(s);
	free(s);
	return rc;
}

/* An agreement document (export/document.h): not JSON, so found first. */
static int document_file(const uint8_t *file, size_t n, const pl_verify_opts *o, pl_err *e,
			 FILE *out, json_t **js)
{
	pl_agreement_summary *s = malloc(sizeof *s);
	if (s == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	int rc = pl_document_verify(s, file, n, o->relay_key, o->expect, o->n_expect, e);
	if (rc == 0 && out) {
		fputs("valid agreement document: its text is exactly what the signed agreement "
		      "inside it says\n",
		      out);
		pl_agreement_summary_print(out, s);
	}
	if (rc == 0 && js) {
		*js = pl_agreement_summary_json(s);
		json_object_set_new(*js, "document", json_true());
	}
	free(s);
	return rc;
}

static int thread_file(const uint8_t *file, size_t n, const pl_verify_opts *o, pl_err *e, FILE *out,
		       json_t **js)
{
	pl_thread_summary s;
	if (pl_thread_verify(&s, file, n, o->expect, o->n_expect, e) != 0)
		return -1;
	if (out)
		pl_thread_summary_print(out, &s);
	if (js)
		*js = pl_thread_summary_json(&s);
	pl_thread_summary_free(&s);
	return 0;
}

static int outreach_file(const uint8_t *file, size_t n, const pl_verify_opts *o, pl_err *e,
			 FILE *out, json_t **js)
{
	pl_outreach_summary s;
	if (pl_outreach_proof_verify(&s, file, n, o->relay_key, o->expect, o->n_expect, e) != 0)
		return -1;
	if (out)
		pl_outreach_summary_print(out, &s);
	if (js && (*js = pl_outreach_summary_json(&s)) == NULL) {
		pl_outreach_summary_free(&s);
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	}
	pl_outreach_summary_free(&s);
	return 0;
}

/* A valid file that proves nothing still prints what it reports, then
 * fails: the reader sees the reports and that none of them is proved. */
static int evidence_file(const uint8_t *file, size_t n, const pl_verify_opts *o, pl_err *e,
			 FILE *out, json_t **js)
{
	pl_evidence_summary s;
	if (o->n_expect > 0)
		return pl_err_set(e, PL_EXIT_USAGE,
				  "no party signs relay evidence, only the relay: there is no "
				  "party key to expect in it");
	int rc = pl_evidence_verify(&s, file, n, o->relay_key, e);
	if (s.n > 0 && out)
		pl_evidence_summary_print(out, &s);
	if (rc == 0 && js && (*js = pl_evidence_summary_json(&s)) == NULL)
		rc = pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	pl_evidence_summary_free(&s);
	return rc;
}

/* An execution record (export/execution.h): its state as of now. */
static int execution_file(const uint8_t *file, size_t n, const pl_verify_opts *o, pl_err *e,
			  FILE *out, json_t **js)
{
	pl_exec_state s;
	if (pl_execution_verify(&s, file, n, pl_now(), o->expect, o->n_expect, e) != 0)
		return -1;
	if (out) {
		fputs("valid execution record: every signature verifies and every attestation "
		      "rests on the ones before it\n",
		      out);
		pl_exec_state_print(out, &s, NULL);
	}
	if (js)
		*js = pl_exec_state_json(&s, NULL);
	pl_exec_state_free(&s);
	return 0;
}

/* A proof of mutual intent (export/match.h). */
static int intent_file(const uint8_t *file, size_t n, const pl_verify_opts *o, pl_err *e, FILE *out,
		       json_t **js)
{
	pl_intent_summary s;
	if (pl_intent_verify_ex(&s, file, n, o->expect, o->n_expect, e) != 0)
		return -1;
	if (out)
		pl_intent_summary_print(out, &s);
	if (js && (*js = pl_intent_summary_json(&s)) == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	return 0;
}

static const struct {
	const char *format;
	int takes_relay_key; /* whether pl_verify_opts.relay_key applies */
	int (*verify)(const uint8_t *file, size_t n, const pl_verify_opts *o, pl_err *e, FILE *out,
		      json_t **js);
} formats[] = {
    {PL_AGREEMENT_FORMAT, 1, agreement_file}, {PL_THREAD_FORMAT, 0, thread_file},
    {PL_OUTREACH_FORMAT, 1, outreach_file},   {PL_EVIDENCE_FORMAT, 1, evidence_file},
    {PL_EXECUTION_FORMAT, 0, execution_file}, {PL_INTENT_FORMAT, 0, intent_file},
};

int pl_verify_bytes(const uint8_t *file, size_t n, const uint8_t (*expect)[PL_IK_LEN],
		    size_t n_expect, pl_err *e, FILE *out_summary, json_t **json_summary)
{
	pl_verify_opts o = {expect, n_expect, NULL};
	return pl_verify_bytes_ex(file, n, &o, e, out_summary, json_summary);
}

int pl_verify_bytes_ex(const uint8_t *file, size_t n, const pl_verify_opts *opts, pl_err *e,
		       FILE *out_summary, json_t **json_summary)
{
	static const pl_verify_opts none = {NULL, 0, NULL};
	const pl_verify_opts *o = opts ? opts : &none;
	const char *prefix = "not a parley export file: ";
	char safe[PL_JSON_SAFE_MAX];

	if (json_summary)
		*json_summary = NULL;
	if (file != NULL && n <= PL_EXPORT_FILE_MAX && pl_document_sniff(file, n) == 0)
		return document_file(file, n, o, e, out_summary, json_summary);
	json_t *root = pl_json_load(file, n, prefix, e);
	if (root == NULL)
		return -1;
	const char *f = json_string_value(json_object_get(root, "format"));
	if (f == NULL) {
		json_decref(root);
		return pl_err_set(e, PL_EXIT_INPUT, "%sit has no \"format\" string", prefix);
	}
	for (size_t i = 0; i < sizeof formats / sizeof formats[0]; i++) {
		if (strcmp(formats[i].format, f) == 0) {
			json_decref(root);
			if (o->relay_key != NULL && !formats[i].takes_relay_key)
				return pl_err_set(e, PL_EXIT_USAGE,
						  "a relay key applies to proofs of outreach and "
						  "relay evidence and agreements only; "
						  "this file is %s %s",
						  pl_text_article(formats[i].format),
						  formats[i].format);
			return formats[i].verify(file, n, o, e, out_summary, json_summary);
		}
	}
	pl_json_safe_str(safe, f);
	json_decref(root);
	return pl_err_set(e, PL_EXIT_INPUT, "%sunknown format \"%s\"", prefix, safe);
}

int pl_verify_file(const char *path, const uint8_t (*expect)[PL_IK_LEN], size_t n_expect, pl_err *e,
		   FILE *out_summary, json_t **json_summary)
{
	pl_verify_opts o = {expect, n_expect, NULL};
	return pl_verify_file_ex(path, &o, e, out_summary, json_summary);
}

int pl_verify_file_ex(const char *path, const pl_verify_opts *opts, pl_err *e, FILE *out_summary,
		      json_t **json_summary)
{
	uint8_t *buf = NULL;
	size_t n = 0;

	if (json_summary)
		*json_summary = NULL;
	if (pl_file_read(path, PL_EXPORT_FILE_MAX, &buf, &n, e) != 0)
		return -1;
	int rc = pl_verify_bytes_ex(buf, n, opts, e, out_summary, json_summary);
	sodium_memzero(buf, n);
	free(buf);
	return rc;
}
