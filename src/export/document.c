/*
 * document.c — the agreement as a document for people, with the signed
 * file inside it, and its check (see document.h).
 *
 * The text is a function of the verified agreement and the file name in
 * its check command only (times in UTC, no clock, no vault), so a verifier
 * renders it again and compares: it must never call a document valid
 * whose readable part says anything the signed agreement does not.
 */
#include "export/document.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "export/terms.h"
#include "util/codec.h"

#define NOT_DOC "not a parley agreement document: "
#define DEFAULT_NAME "agreement.txt"
#define CHECK_CMD "    parley verify "

int pl_document_name_ok(const char *s, size_t n)
{
	if (n == 0 || n > PL_DOC_NAME_MAX || s[0] == '-' || s[0] == '.')
		return -1;
	for (size_t i = 0; i < n; i++) {
		char c = s[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
		      c == '.' || c == '_' || c == '-'))
			return -1;
	}
	return 0;
}

int pl_document_sniff(const uint8_t *file, size_t n)
{
	return memmem(file, n, "\n-----BEGIN PARLEY AGREEMENT-----", 33) != NULL ? 0 : -1;
}

static const char *label(const pl_agreement_summary *s, int who, char buf[static 64])
{
	if (s->names_by)
		return who == PL_AGREEMENT_PROPOSER ? s->proposer_name : s->accepter_name;
	snprintf(buf, 64, "the %s party (%.11s)",
		 who == PL_AGREEMENT_PROPOSER ? "proposing" : "accepting",
		 who == PL_AGREEMENT_PROPOSER ? s->proposer_fp : s->accepter_fp);
	return buf;
}

static void releases(FILE *o, int num, const char *who, const pl_person *ps, unsigned n)
{
	fprintf(o, "%d. %s releases:\n", num, who);
	if (n == 0)
		fputs("   no one\n", o);
	for (unsigned i = 0; i < n; i++)
		pl_terms_person(o, &ps[i], "   - ", "       ");
	fputc('\n', o);
}

/* The readable part: everything above the armor. */
static void body(FILE *o, const pl_agreement_summary *s, const char *name)
{
	const pl_proposal *b = &s->proposal.u.proposal;
	char bp[64], ba[64], t[PL_EXPORT_TIME_BUF], id[PL_OBJ_ID_HEX_LEN],
	    h[2 * PL_OBJ_HASH_LEN + 1], kp[2 * PL_IK_LEN + 1], ka[2 * PL_IK_LEN + 1];
	const char *P = label(s, PL_AGREEMENT_PROPOSER, bp),
		   *A = label(s, PL_AGREEMENT_ACCEPTER, ba);

	fputs("AGREEMENT ON THE RELEASE OF DETAINED PERSONS\n\n", o);
	fprintf(o, "Between %s and %s.\n", P, A);
	fprintf(o, "Proposed by %s and accepted by %s; both signed it with their keys.\n", P, A);
	if (s->guaranteed)
		fprintf(o, "Guaranteed by %s, the mediator it names, who signed it too.\n",
			b->mediator_name);
	fputc('\n', o);
	fputs("Parties\n", o);
	fprintf(o, "   %s, the proposing party\n      key fingerprint %s\n", P, s->proposer_fp);
	fprintf(o, "   %s, the accepting party\n      key fingerprint %s\n", A, s->accepter_fp);
	if (s->names_by)
		fprintf(o, "   The names are those %s uses, signed with its key.\n\n",
			s->names_by == PL_AGREEMENT_PROPOSER ? P : A);
	else
		fputs("   The signed file names no parties; they are known by their keys.\n\n", o);
	releases(o, 1, P, b->author, b->n_author);
	releases(o, 2, A, b->recipient, b->n_recipient);
	fprintf(o, "3. Place: %s\n\n", b->place[0] ? b->place : "not specified");
	fprintf(o, "4. Sequencing: %s\n\n",
		b->sequencing == PL_SEQ_SIMULTANEOUS ? "simultaneous (both releases at once)"
		: b->sequencing == PL_SEQ_STAGED     ? "staged (in steps, as the conditions say)"
						     : "not specified");
	fputs("5. Conditions:", o);
	if (b->n_cond == 0)
		fputs(" none", o);
	fputc('\n', o);
	for (unsigned i = 0; i < b->n_cond; i++)
		fprintf(o, "   %c) %s\n", 'a' + (int)i, b->cond[i]);
	fputc('\n', o);
	if (b->n_commit) {
		pl_terms_commitments(o, b, P, A, "   ");
		fputc('\n', o);
	}
	if (b->has_mediator) {
		char fp[PL_FINGERPRINT_LEN];
		pl_fingerprint(fp, b->mediator_ik);
		fprintf(o, "6. Mediator: %s\n      key fingerprint %s\n\n", b->mediator_name, fp);
	} else {
		fputs("6. Mediator: none\n\n", o);
	}
	fputs("7. Dates (UTC)\n", o);
	pl_export_fmt_time(t, s->proposal.created);
	fprintf(o, "   Proposed: %s (by %s's own clock)\n", t, P);
	if (b->expires) {
		pl_export_fmt_time(t, b->expires);
		fprintf(o, "   Offer open until: %s\n", t);
	} else {
		fputs("   Offer open until: no expiry was set\n", o);
	}
	if (s->proved) {
		pl_export_fmt_time(t, s->log_time);
		fprintf(o,
			"   Accepted: %s (the relay's log time of the deposit of the acceptance,\n"
			"      relay key %s)\n\n",
			t, s->relay_vkey);
	} else {
		pl_export_fmt_time(t, s->acceptance.created);
		fprintf(o, "   Accepted: %s (by %s's own clock, not proved)\n\n", t, A);
	}
	fputs("Signatures\n", o);
	pl_obj_id_hex(id, s->proposal.id);
	pl_hex_encode(h, s->proposal_hash, PL_OBJ_HASH_LEN);
	fprintf(o, "   Proposed and signed by %s\n      key fingerprint %s\n", P, s->proposer_fp);
	fprintf(o, "      proposal %s, sha256 %s\n", id, h);
	pl_obj_id_hex(id, s->acceptance.id);
	fprintf(o, "   Accepted and signed by %s\n      key fingerprint %s\n", A, s->accepter_fp);
	fprintf(o, "      acceptance %s\n", id);
	if (s->guaranteed) {
		pl_obj_id_hex(id, s->guarantee.id);
		fprintf(o,
			"   Guaranteed and signed by %s, the mediator\n      key fingerprint %s\n",
			b->mediator_name, s->mediator_fp);
		fprintf(o, "      guarantee %s\n", id);
		if (s->guarantee.u.guarantee.text[0]) {
			fputs("      with the words: ", o);
			pl_terms_text(o, s->guarantee.u.guarantee.text, "      ");
			fputc('\n', o);
		}
	}
	fputc('\n', o);
	if (s->n_custody) {
		/* proximity talks: the path, from the mediators' verified records */
		fputs("Path\n", o);
		for (size_t i = 0; i < s->n_custody; i++) {
			const pl_custody *c = &s->custody[i].c;
			char fp[PL_FINGERPRINT_LEN], t2[PL_EXPORT_TIME_BUF];
			pl_fingerprint(fp, c->mediator_ik);
			pl_export_fmt_time(t, c->carried);
			pl_export_fmt_time(t2, c->forwarded);
			fprintf(o,
				"   The %s went through the mediator with key fingerprint\n"
				"      %s: carried %s, forwarded %s\n"
				"      (the mediator's clock), under its custody signature%s%s\n",
				s->custody[i].object == PL_AGREEMENT_PROPOSER ? "proposal"
									      : "acceptance",
				fp, t, t2, c->note[0] ? "; note: " : "", c->note);
		}
		fputs("   The mediator read what it carried; it could not change what was "
		      "signed.\n\n",
		      o);
	}
	pl_hex_encode(kp, s->proposer_ik, PL_IK_LEN);
	pl_hex_encode(ka, s->accepter_ik, PL_IK_LEN);
	fputs("How to check this document\n", o);
	fputs("   The signed agreement is at the end of this document. Anyone can check it\n"
	      "   with parley, without a vault, by running:\n\n",
	      o);
	fprintf(o, CHECK_CMD "%s \\\n      --expect-key %s \\\n      --expect-key %s\n\n", name, kp,
		ka);
	fputs("   It is valid only if both signatures verify and every word above is what\n"
	      "   the signed agreement says. It proves that the two keys signed, not who\n"
	      "   holds them: compare the fingerprints with the ones each party gave you.\n\n",
	      o);
}

static int render(char **out, size_t *len, const pl_agreement_summary *s, const uint8_t *json,
		  size_t n, const char *name, pl_err *e)
{
	FILE *o = open_memstream(out, len);
	if (o == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	body(o, s, name);
	fputs(PL_DOC_BEGIN, o);
	fwrite(json, 1, n, o);
	fputs(PL_DOC_END, o);
	if (fclose(o) != 0)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	return 0;
}

int pl_document_render(char **out, size_t *len, const uint8_t *agreement, size_t n,
		       const char *name, pl_err *e)
{
	*out = NULL;
	if (n == 0 || agreement[n - 1] != '\n' || memchr(agreement, '\r', n) != NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "the agreement is not as parley writes it");
	if (name == NULL || pl_document_name_ok(name, strlen(name)) != 0)
		name = DEFAULT_NAME;
	pl_agreement_summary *s = malloc(sizeof *s);
	if (s == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	int rc = pl_agreement_verify(s, agreement, n, NULL, 0, e);
	if (rc == 0)
		rc = render(out, len, s, agreement, n, name, e);
	free(s);
	return rc;
}

int pl_document_render_parts(char **body_out, char **appendix, const uint8_t *agreement, size_t n,
			     const char *name, pl_err *e)
{
	size_t bl, al;
	char id[PL_OBJ_ID_HEX_LEN];
	*body_out = *appendix = NULL;
	if (n == 0 || agreement[n - 1] != '\n' || memchr(agreement, '\r', n) != NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "the agreement is not as parley writes it");
	if (name == NULL || pl_document_name_ok(name, strlen(name)) != 0)
		name = DEFAULT_NAME;
	pl_agreement_summary *s = malloc(sizeof *s);
	if (s == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	int rc = pl_agreement_verify(s, agreement, n, NULL, 0, e);
	FILE *b = rc == 0 ? open_memstream(body_out, &bl) : NULL;
	FILE *a = rc == 0 ? open_memstream(appendix, &al) : NULL;
	if (rc == 0 && (b == NULL || a == NULL))
		rc = pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	if (rc == 0) {
		body(b, s, name);
		pl_obj_id_hex(id, s->proposal.id);
		fprintf(a,
			"The signed agreement. The check above needs it as a file: any party "
			"writes it with\n    parley export agreement %s --format text --out %s\n\n",
			id, name);
		fputs(PL_DOC_BEGIN, a);
		fwrite(agreement, 1, n, a);
		fputs(PL_DOC_END, a);
	}
	if ((b && fclose(b) != 0) || (a && fclose(a) != 0))
		rc = pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	free(s);
	return rc;
}

/* The document with its framing undone: no leading mark, CR dropped
 * before LF, a final LF. A canonical document has no CR at all. */
static uint8_t *unframe(const uint8_t *f, size_t n, size_t *outn)
{
	uint8_t *u = malloc(n + 1);
	size_t i = 0, k = 0;
	if (u == NULL)
		return NULL;
	if (n >= 3 && memcmp(f, "\xef\xbb\xbf", 3) == 0)
		i = 3;
	for (; i < n; i++)
		if (!(f[i] == '\r' && i + 1 < n && f[i + 1] == '\n'))
			u[k++] = f[i];
	if (k > 0 && u[k - 1] == '\r') /* CR LF whose LF was cut */
		k--;
	if (k == 0 || u[k - 1] != '\n')
		u[k++] = '\n';
	*outn = k;
	return u;
}

int pl_document_verify(pl_agreement_summary *s, const uint8_t *file, size_t n,
		       const char *relay_vkey, const uint8_t (*expect)[PL_IK_LEN], size_t n_expect,
		       pl_err *e)
{
	size_t un = 0, dl = 0;
	char *doc = NULL, name[PL_DOC_NAME_MAX + 1];
	pl_agreement_summary *t = s ? s : malloc(sizeof *t);
	uint8_t *u = n <= PL_EXPORT_FILE_MAX ? unframe(file, n, &un) : NULL;
	int rc = -1;

	if (t == NULL || u == NULL) {
		pl_err_set(e, n > PL_EXPORT_FILE_MAX ? PL_EXIT_INPUT : PL_EXIT_ERROR,
			   n > PL_EXPORT_FILE_MAX ? NOT_DOC "it is too large" : "out of memory");
		goto done;
	}
	const uint8_t *b = memmem(u, un, "\n" PL_DOC_BEGIN, sizeof PL_DOC_BEGIN);
	size_t el = sizeof PL_DOC_END - 1;
	if (b == NULL || un < el || memcmp(u + un - el, PL_DOC_END, el) != 0 ||
	    (size_t)(b - u) + sizeof PL_DOC_BEGIN > un - el) {
		pl_err_set(e, PL_EXIT_INPUT,
			   NOT_DOC "its signed agreement is not between the lines %.32s and %.30s",
			   PL_DOC_BEGIN, PL_DOC_END);
		goto done;
	}
	const uint8_t *json = b + sizeof PL_DOC_BEGIN;
	size_t jn = (size_t)(u + un - el - json);
	if (pl_agreement_verify_ex(t, json, jn, relay_vkey, expect, n_expect, e) != 0)
		goto done;
	/* the file name its check command shows, then the whole text again */
	const uint8_t *c = memmem(u, (size_t)(b - u), "\n" CHECK_CMD, sizeof CHECK_CMD);
	size_t nl = 0;
	if (c != NULL) {
		c += sizeof CHECK_CMD;
		while (c + nl < b && c[nl] != ' ' && nl <= PL_DOC_NAME_MAX)
			nl++;
	}
	if (c == NULL || pl_document_name_ok((const char *)c, nl) != 0) {
		pl_err_set(e, PL_EXIT_INPUT,
			   NOT_DOC "the text around the signed agreement is not as parley writes "
				   "it (edited after export?)");
		goto done;
	}
	memcpy(name, c, nl);
	name[nl] = '\0';
	if (render(&doc, &dl, t, json, jn, name, e) != 0)
		goto done;
	if (dl != un || memcmp(doc, u, un) != 0) {
		pl_err_set(e, PL_EXIT_SECURITY,
			   "the text of the document is not what its signed agreement says "
			   "(edited after export?); the signed agreement inside verifies, read "
			   "it with parley export or a new document");
		goto done;
	}
	rc = 0;
done:
	if (rc != 0 && t)
		memset(t, 0, sizeof *t);
	if (t != s)
		free(t);
	free(doc);
	free(u);
	return rc;
}
