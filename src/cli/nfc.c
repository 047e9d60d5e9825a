/*
 * nfc.c — names typed on two keyboards are one name: every argument of a
 * command that is UTF-8 beyond ASCII is put in Unicode normalization form
 * C (NFC, with GLib's g_utf8_normalize, which parley already loads for the
 * PDF) before the command sees it, so "José" typed with a combining accent,
 * or "أ" typed as alef and a combining hamza, names the same contact, party
 * and person as the precomposed form, and is stored and signed in one form.
 *
 * An argument that names something on disk as it is (lstat() finds it) is
 * left alone: a path is bytes, and a folder made on another system may be
 * named in another form. ASCII arguments are never changed. Not folded,
 * on purpose (docs/DESIGN.md, "Names"): letter case, compatibility forms
 * (NFKC), and the Arabic and Persian letters that look alike but differ
 * (ي U+064A and ی U+06CC, ك U+0643 and ک U+06A9): they are different
 * letters to the people who type them.
 */
#include <glib.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli/cli.h"
#include "util/text.h"

int pl_cli_nfc(const char *in, char **out)
{
	*out = NULL;
	int ascii = 1;
	for (const unsigned char *p = (const unsigned char *)in; *p; p++)
		ascii &= *p < 0x80;
	if (ascii || pl_utf8_ok((const uint8_t *)in, strlen(in)) != 0)
		return 0;
	gchar *n = g_utf8_normalize(in, -1, G_NORMALIZE_NFC);
	if (n == NULL)
		return 0;
	if (strcmp(n, in) != 0)
		*out = strdup(n);
	g_free(n);
	return *out ? 1 : 0;
}

void pl_cli_nfc_args(int argc, char **argv)
{
	struct stat sb;
	for (int i = 1; i < argc; i++) {
		char *n;
		if (pl_cli_nfc(argv[i], &n) == 1) {
			if (lstat(argv[i], &sb) == 0)
				free(n); /* a path as it is on disk */
			else
				argv[i] = n; /* lives as long as the process */
		}
	}
}
