/*
 * cmd_match.c — blind matching (docs/MATCH.md):
 *   parley match intent NAME --topic TEXT --answer yes|no
 *   parley match packages NAME --file PACKAGES.json [--max N] [--label TEXT]
 *   parley match count NAME --detainees ID,...|@FILE [--max N] [--label TEXT]
 *   parley match show ID | list | export ID --out FILE | resend ID
 *   parley match propose ID N [options of propose] (cmd_match_propose.c)
 * Both sides run the same command; the protocol runs over the relay at
 * this command and at the next syncs (client/match.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli/cli.h"
#include "client/match.h"
#include "util/codec.h"
#include "util/file.h"

#define PACKAGES_FILE_MAX (64u << 20)

/* Progress on a terminal, for long lists. */
static void progress(void *ctx, const char *what, size_t done, size_t total)
{
	(void)ctx;
	if (total < 4096 || !isatty(2))
		return;
	fprintf(stderr, "\rparley: %s: %zu of %zu", what, done, total);
	if (done == total)
		fputc('\n', stderr);
}

/* Delivers what the match queued and prints its state. */
static int match_done(pl_cli *cli, pl_vault *v, const uint8_t id[static PL_MATCH_ID_LEN])
{
	pl_sync_report r;
	pl_err de, e;
	memset(&r, 0, sizeof r);
	pl_err_clear(&de);
	pl_err_clear(&e);
	int delivered = pl_msgr_deliver(v, &r, &de) == 0;
	pl_cli_copy_warn(&r);
	json_t *j = NULL;
	if (pl_match_show(v, id, &j, NULL, &e) != 0)
		return pl_cli_fail(&e);
	if (!delivered)
		json_object_set_new(j, "queued", json_string(de.msg));
	if (cli->json) {
		pl_cli_json_out(j);
	} else {
		printf("%s\n", json_string_value(json_object_get(j, "id")));
		json_decref(j);
	}
	if (!delivered)
		fprintf(stderr,
			"parley: the match's messages are queued, not delivered: %s; run parley "
			"sync to deliver them\n",
			de.msg[0] ? de.msg : "an earlier item is blocked");
	return PL_EXIT_OK;
}

static int parse_u32(const char *s, uint32_t *out)
{
	char *end;
	unsigned long long x = strtoull(s, &end, 10);
	if (end == s || *end || x == 0 || x > PL_MATCH_ELEMS_MAX || s[0] == '-')
		return -1;
	*out = (uint32_t)x;
	return 0;
}

/* ID,ID,... into normalised person identifiers. */
static int parse_people(const char *list, char (**out)[PL_PERSON_ID_MAX + 1], size_t *n, pl_err *e)
{
	size_t cap = 1;
	for (const char *p = list; *p; p++)
		cap += *p == ',';
	if (cap > PL_MATCH_ELEMS_MAX)
		return pl_err_set(e, PL_EXIT_USAGE, "at most %u people", PL_MATCH_ELEMS_MAX);
	char(*ids)[PL_PERSON_ID_MAX + 1] = calloc(cap, sizeof *ids);
	char *copy = strdup(list);
	if (ids == NULL || copy == NULL) {
		free(ids);
		free(copy);
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	}
	size_t k = 0;
	char *save = NULL;
	int rc = 0;
	for (char *tok = strtok_r(copy, ",", &save); tok && rc == 0;
	     tok = strtok_r(NULL, ",", &save)) {
		pl_err pe;
		pl_err_clear(&pe);
		if (pl_person_id_normalise(ids[k], tok, &pe) != 0)
			rc = pl_err_set(e, PL_EXIT_USAGE, "--detainees entry %zu: %s", k + 1,
					pe.msg);
		else
			k++;
	}
	free(copy);
	if (rc == 0 && k == 0)
		rc = pl_err_set(e, PL_EXIT_USAGE,
				"--detainees takes person identifiers separated by commas "
				"(ISS:DOC, e.g. IRN:K12345678)");
	if (rc != 0) {
		free(ids);
		return rc;
	}
	*out = ids;
	*n = k;
	return 0;
}

/* --detainees @FILE: identifiers one per line or separated by commas (a
 * list of thousands does not fit in one argument). */
static int read_people_file(const char *path, char **out, pl_err *e)
{
	uint8_t *buf = NULL;
	size_t n = 0;
	if (pl_file_read(path, PACKAGES_FILE_MAX, &buf, &n, e) != 0)
		return -1;
	char *s = malloc(n + 1);
	if (s == NULL) {
		free(buf);
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	}
	for (size_t i = 0; i < n; i++) {
		if (buf[i] == '\0') {
			free(buf);
			free(s);
			return pl_err_set(e, PL_EXIT_INPUT,
					  "%s is not a text file of person identifiers", path);
		}
		s[i] = buf[i] == '\n' || buf[i] == '\r' ? ',' : (char)buf[i];
	}
	s[n] = '\0';
	free(buf);
	*out = s;
	return 0;
}

static int start(pl_cli *cli, const char *contact, pl_match_input *in)
{
	pl_err e;
	pl_err_clear(&e);
	pl_vault *v;
	uint8_t id[PL_MATCH_ID_LEN];
	if (pl_cli_open_vault(cli, &v, &e) != 0)
		return pl_cli_fail(&e);
	int rc = pl_match_start(v, contact, in, id, progress, NULL, &e) != 0
		     ? pl_cli_fail(&e)
		     : match_done(cli, v, id);
	pl_vault_close(v);
	return rc;
}

static const char USE[] =
    "use match intent NAME --topic TEXT --answer yes|no, match packages NAME --file "
    "PACKAGES.json [--max N] [--label TEXT], match count NAME --detainees ID,...|@FILE [--max N] "
    "[--label TEXT], match show ID, match list, match export ID --out FILE, match resend ID, "
    "or match propose ID N [options of propose]";

int pl_cmd_match(pl_cli *cli, int argc, char **argv)
{
	static const struct option opts[] = {
	    {"topic", required_argument, NULL, 't'}, {"answer", required_argument, NULL, 'a'},
	    {"file", required_argument, NULL, 'f'},  {"max", required_argument, NULL, 'm'},
	    {"label", required_argument, NULL, 'l'}, {"detainees", required_argument, NULL, 'd'},
	    {"out", required_argument, NULL, 'o'},   {NULL, 0, NULL, 0}};
	const char *topic = NULL, *answer = NULL, *file = NULL, *max = NULL, *label = NULL,
		   *people = NULL, *out = NULL;
	int ch;
	if (argc >= 2 && strcmp(argv[1], "propose") == 0)
		return pl_cli_match_propose(cli, argc - 1, argv + 1);
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 't':
			topic = optarg;
			break;
		case 'a':
			answer = optarg;
			break;
		case 'f':
			file = optarg;
			break;
		case 'm':
			max = optarg;
			break;
		case 'l':
			label = optarg;
			break;
		case 'd':
			people = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		default:
			return pl_cli_usage("match", "unknown or incomplete option %s",
					    argv[optind - 1]);
		}
	}
	int npos = argc - optind;
	const char *sub = npos >= 1 ? argv[optind] : NULL;
	const char *arg = npos >= 2 ? argv[optind + 1] : NULL;
	if (sub == NULL)
		return pl_cli_usage("match", "%s", USE);
	pl_match_input in;
	memset(&in, 0, sizeof in);
	if (strcmp(sub, "intent") == 0) {
		if (npos != 2 || !topic || !answer || file || max || label || people || out)
			return pl_cli_usage("match", "use match intent NAME --topic TEXT --answer "
						     "yes|no");
		if (strcmp(answer, "yes") != 0 && strcmp(answer, "no") != 0)
			return pl_cli_usage("match", "--answer takes yes or no");
		in.kind = PL_MATCH_INTENT;
		in.label = topic;
		in.max = 1;
		in.answer = strcmp(answer, "yes") == 0;
		return start(cli, arg, &in);
	}
	if (strcmp(sub, "packages") == 0 || strcmp(sub, "count") == 0) {
		int pk = strcmp(sub, "packages") == 0;
		if (npos != 2 || topic || answer || out ||
		    (pk ? (!file || people) : (!people || file)))
			return pl_cli_usage(
			    "match", pk ? "use match packages NAME --file PACKAGES.json "
					  "[--max N] [--label TEXT]"
					: "use match count NAME --detainees ID,...|@FILE [--max N] "
					  "[--label TEXT]");
		in.kind = pk ? PL_MATCH_PACKAGES : PL_MATCH_COUNT;
		in.label = label ? label : "";
		in.max = pk ? PL_MATCH_DEFAULT_MAX_PACKAGES : PL_MATCH_DEFAULT_MAX_COUNT;
		if (max && parse_u32(max, &in.max) != 0)
			return pl_cli_usage("match", "--max takes a number from 1 to %u",
					    PL_MATCH_ELEMS_MAX);
		pl_err e;
		pl_err_clear(&e);
		pl_match_package *pkgs = NULL;
		char(*ids)[PL_PERSON_ID_MAX + 1] = NULL;
		size_t n = 0;
		if (pk) {
			uint8_t *buf = NULL;
			size_t bn = 0;
			if (pl_file_read(file, PACKAGES_FILE_MAX, &buf, &bn, &e) != 0)
				return pl_cli_fail(&e);
			int lr = pl_match_packages_load(&pkgs, &n, (const char *)buf, bn, &e);
			free(buf);
			if (lr != 0)
				return pl_cli_fail(&e);
			in.pk = pkgs;
		} else {
			char *fromfile = NULL;
			if (people[0] == '@' && read_people_file(people + 1, &fromfile, &e) != 0)
				return pl_cli_fail(&e);
			int pr = parse_people(fromfile ? fromfile : people, &ids, &n, &e);
			free(fromfile);
			if (pr != 0)
				return pl_cli_fail(&e);
			in.ids = ids;
		}
		in.n = n;
		int rc = start(cli, arg, &in);
		if (pkgs)
			pl_match_packages_free(pkgs, n);
		free(ids);
		return rc;
	}
	int is_list = strcmp(sub, "list") == 0;
	if (!is_list && strcmp(sub, "show") != 0 && strcmp(sub, "export") != 0 &&
	    strcmp(sub, "resend") != 0)
		return pl_cli_usage("match", "%s", USE);
	if (topic || answer || file || max || label || people ||
	    (out != NULL) != (strcmp(sub, "export") == 0) || npos != (is_list ? 1 : 2))
		return pl_cli_usage("match", "%s", USE);
	pl_err e;
	pl_err_clear(&e);
	pl_vault *v;
	uint8_t id[PL_MATCH_ID_LEN];
	if (pl_cli_open_vault(cli, &v, &e) != 0)
		return pl_cli_fail(&e);
	int rc = PL_EXIT_OK;
	if (is_list) {
		json_t *a = NULL;
		if (pl_match_list(v, &a, &e) != 0) {
			rc = pl_cli_fail(&e);
		} else if (cli->json) {
			pl_cli_json_out(a);
		} else {
			size_t i;
			json_t *j;
			if (json_array_size(a) == 0)
				printf("no blind matches; start one with parley match intent, "
				       "packages or count\n");
			json_array_foreach(a, i, j)
			{
				printf("%.8s  %-8s  %-10s  with %s\n",
				       json_string_value(json_object_get(j, "id")),
				       json_string_value(json_object_get(j, "kind")),
				       json_string_value(json_object_get(j, "state")),
				       json_string_value(json_object_get(j, "with")));
			}
			json_decref(a);
		}
	} else if (pl_match_resolve(v, arg, id, &e) != 0) {
		rc = pl_cli_fail(&e);
	} else if (strcmp(sub, "show") == 0) {
		json_t *j = NULL;
		if (pl_match_show(v, id, cli->json ? &j : NULL, cli->json ? NULL : stdout, &e) != 0)
			rc = pl_cli_fail(&e);
		else if (j)
			pl_cli_json_out(j);
	} else if (strcmp(sub, "export") == 0) {
		if (pl_match_export(v, id, out, &e) != 0)
			rc = pl_cli_fail(&e);
		else if (cli->json)
			pl_cli_json_out(json_pack("{s:s}", "written", out));
		else
			printf("written %s; check it anywhere with parley verify %s\n", out, out);
	} else {
		unsigned n = 0;
		if (pl_match_resend(v, id, &n, &e) != 0)
			rc = pl_cli_fail(&e);
		else
			rc = pl_cli_resent(cli, v, n, "match message(s)");
	}
	pl_vault_close(v);
	return rc;
}
