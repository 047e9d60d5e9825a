/*
 * pdf.h — text to PDF for the agreement document (`parley export
 * agreement ID --format pdf`). The one door to the PDF library (cairo and
 * pango, which shape with HarfBuzz and order bidirectional text with
 * fribidi, so Persian and Arabic names come out joined and right to
 * left); nothing else in parley includes it.
 *
 * It lays out what it is given and adds nothing: the caller's text is the
 * document (export/document.h). Fonts are the system's (fontconfig's
 * "DejaVu Sans", which covers Latin, Cyrillic, Greek, Arabic and Persian;
 * another installed font fills in a script it lacks).
 */
#ifndef PARLEY_EXPORT_PDF_H
#define PARLEY_EXPORT_PDF_H

#include "util/err.h"

/* Writes body (UTF-8, proportional font) and then appendix (monospace,
 * smaller; may be NULL) to a new A4 PDF at path, title in its metadata,
 * page numbers at the foot. Replaces a file there. */
int pl_pdf_write(const char *path, const char *title, const char *body, const char *appendix,
		 pl_err *e);

#endif
