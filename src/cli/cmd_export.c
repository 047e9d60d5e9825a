/* cmd_export.c — `parley export agreement ID --out FILE [--format json|text|pdf]`
 * and `parley export thread NAME --out FILE`: files anyone can check with
 * parley verify; the text format is a document for people with the signed
 * file inside it. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli/cli.h"
#include "client/plan.h"
#include "export/document.h"

/* `export execution PLAN --out FILE`: the plan's whole signed record
 * (client/plan.h), which parley verify checks. */
static int export_execution(pl_cli *cli, const char *plan, const char *out, int text)
{
	if (text)
		return pl_cli_usage("export", "an execution record is written as JSON only");
	pl_err e;
	pl_err_clear(&e);
	pl_vault *v;
	uint8_t id[8];
	if (pl_cli_open_vault(cli, &v, &e) != 0)
		return pl_cli_fail(&e);
	int rc = pl_plan_resolve(v, plan, id, &e) != 0 || pl_plan_export(v, id, out, &e) != 0;
	pl_vault_close(v);
	if (rc)
		return pl_cli_fail(&e);
	if (cli->json)
		pl_cli_json_out(json_pack("{s:s, s:s}", "format", "parley-execution", "out", out));
	else
		printf("wrote %s; anyone can check it with parley verify %s\n", out, out);
	return PL_EXIT_OK;
}

int pl_cmd_export(pl_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {{"out", required_argument, NULL, 'o'},
					     {"format", required_argument, NULL, 'f'},
					     {NULL, 0, NULL, 0}};
	const char *out = NULL, *format = "json";
	int ch;
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'f') {
			format = optarg;
			continue;
		}
		if (ch != 'o')
			return pl_cli_usage("export", "unknown or incomplete option %s",
					    argv[optind - 1]);
		out = optarg;
	}
	int pdf = strcmp(format, "pdf") == 0;
	int text = pdf || strcmp(format, "text") == 0;
	if (!text && strcmp(format, "json") != 0)
		return pl_cli_usage("export", "--format is json (the default), text or pdf");
	if (argc - optind == 2 && out != NULL && strcmp(argv[optind], "execution") == 0)
		return export_execution(cli, argv[optind + 1], out, text);
	if (argc - optind != 2 || out == NULL ||
	    (strcmp(argv[optind], "agreement") != 0 && strcmp(argv[optind], "thread") != 0))
		return pl_cli_usage("export", "use export agreement ID --out FILE [--format text] "
					      "or export thread NAME --out FILE "
					      "or export execution PLAN --out FILE");
	int agreement = strcmp(argv[optind], "agreement") == 0;
	if (text && !agreement)
		return pl_cli_usage("export",
				    "--format text and pdf are for agreements; a thread is "
				    "read with parley verify FILE");
	uint8_t id[PL_OBJ_ID_LEN];
	int rc;
	if (agreement && (rc = pl_cli_id_arg("export", argv[optind + 1])) != 0)
		return rc;
	pl_err e;
	pl_err_clear(&e);
	pl_vault *v;
	if (pl_cli_open_vault(cli, &v, &e) != 0)
		return pl_cli_fail(&e);
	rc = !agreement ? pl_nego_export_thread(v, argv[optind + 1], out, &e)
	     : pl_cli_resolve_id(v, argv[optind + 1], id, &e) != 0 ? -1
	     : text ? pl_nego_export_agreement_doc(v, id, out, pdf, &e)
		    : pl_nego_export_agreement(v, id, out, &e);
	pl_vault_close(v);
	if (rc != 0)
		return pl_cli_fail(&e);
	if (text && !pdf) {
		const char *base = strrchr(out, '/');
		base = base ? base + 1 : out;
		if (pl_document_name_ok(base, strlen(base)) != 0)
			fprintf(stderr,
				"parley: note: the check command in the document names "
				"agreement.txt, as %s is not a plain file name (letters, digits, "
				". _ -); save it under such a name\n",
				base);
	}
	if (cli->json)
		pl_cli_json_out(json_pack("{s:s, s:s}", "format",
					  pdf	      ? "parley-agreement-pdf"
					  : text      ? "parley-agreement-document"
					  : agreement ? "parley-agreement"
						      : "parley-thread",
					  "out", out));
	else if (pdf)
		printf("wrote %s, the agreement to read and print; to check it, write the text "
		       "document too (--format text) and run the command printed in both\n",
		       out);
	else if (text)
		printf("wrote %s, a document to read and print with the signed agreement at its "
		       "end; anyone can check it with parley verify %s (the command is in it)\n",
		       out, out);
	else
		printf("wrote %s; anyone can check it with parley verify %s\n", out, out);
	return PL_EXIT_OK;
}
