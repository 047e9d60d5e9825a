/*
 * document.h — the agreement as a document for people (`parley export
 * agreement ID --format text`): parties by name, who releases whom, place,
 * sequencing, conditions, mediator, dates, a signature block with each
 * signer's fingerprint and the command that checks it; and at its end the
 * signed agreement file itself (export/agreement.h) between two armor
 * lines. `parley verify DOCUMENT` checks the agreement inside and that the
 * text above it is exactly what parley writes for that agreement, so the
 * readable text cannot be changed without the check failing.
 *
 * Framing (docs/PROTOCOL.md "Export files") is tolerated as for every
 * export file: a leading byte-order mark, CR LF line ends, a lost final
 * line end. Everything else must match byte for byte.
 */
#ifndef PARLEY_EXPORT_DOCUMENT_H
#define PARLEY_EXPORT_DOCUMENT_H

#include <stddef.h>
#include <stdint.h>

#include "export/agreement.h"

#define PL_DOC_BEGIN "-----BEGIN PARLEY AGREEMENT-----\n"
#define PL_DOC_END "-----END PARLEY AGREEMENT-----\n"
#define PL_DOC_NAME_MAX 64 /* the file name shown in the check command */

/* 0 iff s[0..n) may be the file name in the check command: 1 to
 * PL_DOC_NAME_MAX of [A-Za-z0-9._-], not starting with '-' or '.'. */
int pl_document_name_ok(const char *s, size_t n);

/* 0 iff file bytes look like an agreement document (the armor line is in
 * them): the dispatcher's test before JSON. */
int pl_document_sniff(const uint8_t *file, size_t n);

/* The document for agreement file bytes (canonical, as pl_export_dumps
 * wrote them), which must verify. name: the file name the check command
 * shows, [A-Za-z0-9._-] only, 1..PL_DOC_NAME_MAX (else "agreement.txt").
 * *out is malloc'd, NUL-terminated, *len bytes. */
int pl_document_render(char **out, size_t *len, const uint8_t *agreement, size_t n,
		       const char *name, pl_err *e);

/* The same in two parts for a PDF: *body the readable text, *appendix a
 * line on how to get the checkable file and the armored agreement (both
 * malloc'd, NUL-terminated). */
int pl_document_render_parts(char **body, char **appendix, const uint8_t *agreement, size_t n,
			     const char *name, pl_err *e);

/* Verifies a document: the agreement inside (as pl_agreement_verify_ex) and
 * the text around it. Fills *s on success. */
int pl_document_verify(pl_agreement_summary *s, const uint8_t *file, size_t n,
		       const char *relay_vkey, const uint8_t (*expect)[PL_IK_LEN], size_t n_expect,
		       pl_err *e);

#endif
