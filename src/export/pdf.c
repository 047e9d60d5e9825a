/*
 * pdf.c — the agreement document as PDF with cairo and pango (see pdf.h).
 *
 * Each block of text is one pango layout as wide as the page's text; its
 * lines are drawn one by one and a new page starts when the next line
 * would pass the bottom margin. Pango picks each paragraph's direction
 * from its first strong character, so a line that starts with a Persian
 * name is laid out right to left, and shapes every run with HarfBuzz.
 */
#include "export/pdf.h"

#include <cairo-pdf.h>
#include <pango/pangocairo.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#define PT_PER_MM (72.0 / 25.4)
#define PAGE_W (210.0 * PT_PER_MM) /* A4 */
#define PAGE_H (297.0 * PT_PER_MM)
#define MARGIN (20.0 * PT_PER_MM)

typedef struct {
	cairo_t *cr;
	double y; /* where the next line's top goes */
	int page;
} pen;

static void footer(pen *p)
{
	char n[32];
	cairo_save(p->cr);
	PangoLayout *l = pango_cairo_create_layout(p->cr);
	PangoFontDescription *f = pango_font_description_from_string("DejaVu Sans 8");
	pango_layout_set_font_description(l, f);
	snprintf(n, sizeof n, "%d", p->page);
	pango_layout_set_text(l, n, -1);
	int w, h;
	pango_layout_get_size(l, &w, &h);
	cairo_move_to(p->cr, (PAGE_W - w / (double)PANGO_SCALE) / 2, PAGE_H - MARGIN / 2);
	pango_cairo_show_layout(p->cr, l);
	pango_font_description_free(f);
	g_object_unref(l);
	cairo_restore(p->cr);
}

static void new_page(pen *p)
{
	footer(p);
	cairo_show_page(p->cr);
	p->page++;
	p->y = MARGIN;
}

/* Draws text in font, line by line, breaking pages as needed. */
static void block(pen *p, const char *text, const char *font)
{
	PangoLayout *l = pango_cairo_create_layout(p->cr);
	PangoFontDescription *f = pango_font_description_from_string(font);
	pango_layout_set_font_description(l, f);
	pango_layout_set_width(l, (int)((PAGE_W - 2 * MARGIN) * PANGO_SCALE));
	pango_layout_set_wrap(l, PANGO_WRAP_WORD_CHAR);
	/* an English document: every line left to right, a Persian or Arabic
	 * name inside it a right-to-left run (the bidi algorithm, fribidi) */
	pango_context_set_base_dir(pango_layout_get_context(l), PANGO_DIRECTION_LTR);
	pango_layout_context_changed(l);
	pango_layout_set_auto_dir(l, FALSE);
	pango_layout_set_text(l, text, -1);
	PangoLayoutIter *it = pango_layout_get_iter(l);
	do {
		PangoRectangle log;
		pango_layout_iter_get_line_extents(it, NULL, &log);
		double h = log.height / (double)PANGO_SCALE;
		if (p->y + h > PAGE_H - MARGIN)
			new_page(p);
		int baseline = pango_layout_iter_get_baseline(it);
		PangoLayoutLine *line = pango_layout_iter_get_line_readonly(it);
		cairo_move_to(p->cr, MARGIN + log.x / (double)PANGO_SCALE,
			      p->y + (baseline - log.y) / (double)PANGO_SCALE);
		pango_cairo_show_layout_line(p->cr, line);
		p->y += h;
	} while (pango_layout_iter_next_line(it));
	pango_layout_iter_free(it);
	pango_font_description_free(f);
	g_object_unref(l);
}

int pl_pdf_write(const char *path, const char *title, const char *body, const char *appendix,
		 pl_err *e)
{
	char tmp[4096];
	if (snprintf(tmp, sizeof tmp, "%s.tmp", path) >= (int)sizeof tmp)
		return pl_err_set(e, PL_EXIT_USAGE, "the output path is too long");
	cairo_surface_t *s = cairo_pdf_surface_create(tmp, PAGE_W, PAGE_H);
	if (cairo_surface_status(s) != CAIRO_STATUS_SUCCESS) {
		cairo_surface_destroy(s);
		return pl_err_set(e, PL_EXIT_ERROR, "cannot write %s (%s); check the folder", tmp,
				  cairo_status_to_string(cairo_surface_status(s)));
	}
	cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_TITLE, title);
	cairo_pdf_surface_set_metadata(s, CAIRO_PDF_METADATA_CREATOR, "parley");
	cairo_t *cr = cairo_create(s);
	pen p = {cr, MARGIN, 1};
	cairo_set_source_rgb(cr, 0, 0, 0);
	block(&p, body, "DejaVu Sans 10");
	if (appendix) {
		p.y += 12;
		block(&p, appendix, "DejaVu Sans Mono 6.5");
	}
	footer(&p);
	cairo_show_page(cr);
	cairo_destroy(cr);
	cairo_surface_finish(s);
	cairo_status_t st = cairo_surface_status(s);
	cairo_surface_destroy(s);
	/* pango's font map is released; fontconfig's caches live until the
	 * process ends. FcFini() here aborted one run in four ("FcCacheFini:
	 * Assertion `fcCacheChains[i] == NULL'"): cairo's font cache and
	 * pango's fontconfig thread may still hold them. The few hundred
	 * bytes left are fontconfig's own (tests/lsan.supp). */
	pango_cairo_font_map_set_default(NULL);
	if (st != CAIRO_STATUS_SUCCESS) {
		unlink(tmp);
		return pl_err_set(e, PL_EXIT_ERROR,
				  "cannot write %s (%s); check the folder and "
				  "the disk",
				  tmp, cairo_status_to_string(st));
	}
	if (rename(tmp, path) != 0) {
		unlink(tmp);
		return pl_err_set(e, PL_EXIT_ERROR, "cannot write %s; check the folder", path);
	}
	return 0;
}
