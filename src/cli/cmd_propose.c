/*
 * cmd_propose.c — `parley propose NAME --we-release ID,... --they-release
 * ID,... [--condition TEXT]... [--place TEXT] [--sequencing
 * simultaneous|staged] [--mediator NAME] [--expires DURATION|TIME]`: a signed
 * exchange proposal naming records of our case file. Also owns the parsing
 * of these terms, which `parley counter` shares.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "util/codec.h"

static int parse_ids(const char *cmd, const char *flag, const char *list, int64_t *out, size_t *n)
{
	const char *p = list;
	while (*p) {
		char *end;
		long long x = strtoll(p, &end, 10);
		if (end == p || x <= 0 || (*end != ',' && *end != '\0'))
			return pl_cli_usage(cmd,
					    "%s takes record IDs separated by commas (see "
					    "parley case list)",
					    flag);
		if (*n >= PL_PROPOSAL_SIDE_MAX)
			return pl_cli_usage(cmd, "at most %d people on each side",
					    PL_PROPOSAL_SIDE_MAX);
		out[(*n)++] = x;
		p = *end ? end + 1 : end;
	}
	return 0;
}

/* --commit we:TEXT | they:TEXT | mediator:TEXT */
static int parse_commit(const char *cmd, const char *arg, pl_nego_terms *t)
{
	static const struct {
		const char *word;
		uint8_t who;
	} w[] = {{"we:", PL_COMMIT_AUTHOR},
		 {"they:", PL_COMMIT_RECIPIENT},
		 {"mediator:", PL_COMMIT_MEDIATOR}};
	if (t->n_commit >= PL_PROPOSAL_COMMIT_MAX)
		return pl_cli_usage(cmd, "at most %d commitments", PL_PROPOSAL_COMMIT_MAX);
	for (size_t i = 0; i < sizeof w / sizeof w[0]; i++) {
		size_t n = strlen(w[i].word);
		if (strncmp(arg, w[i].word, n) != 0)
			continue;
		t->commit_who[t->n_commit] = w[i].who;
		t->commit[t->n_commit++] = arg + n;
		return 0;
	}
	return pl_cli_usage(cmd, "--commit takes we:TEXT, they:TEXT or mediator:TEXT (who "
				 "takes the commitment on)");
}

int pl_cli_parse_terms(const char *cmd, int argc, char **argv, pl_nego_terms *t,
		       const char **positional)
{
	static const struct option opts[] = {{"we-release", required_argument, NULL, 'w'},
					     {"they-release", required_argument, NULL, 't'},
					     {"condition", required_argument, NULL, 'c'},
					     {"place", required_argument, NULL, 'p'},
					     {"sequencing", required_argument, NULL, 's'},
					     {"mediator", required_argument, NULL, 'm'},
					     {"expires", required_argument, NULL, 'e'},
					     {"commit", required_argument, NULL, 'k'},
					     {NULL, 0, NULL, 0}};
	int ch, rc;
	memset(t, 0, sizeof *t);
	optind = 1;
	opterr = 0;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'w':
			if ((rc = parse_ids(cmd, "--we-release", optarg, t->we, &t->n_we)) != 0)
				return rc;
			break;
		case 't':
			if ((rc = parse_ids(cmd, "--they-release", optarg, t->they, &t->n_they)) !=
			    0)
				return rc;
			break;
		case 'c':
			if (t->n_cond >= PL_PROPOSAL_COND_MAX)
				return pl_cli_usage(cmd, "at most %d conditions",
						    PL_PROPOSAL_COND_MAX);
			t->cond[t->n_cond++] = optarg;
			break;
		case 'p':
			t->place = optarg;
			break;
		case 's': {
			int sq = pl_obj_sequencing_from_str(optarg);
			if (sq != PL_SEQ_SIMULTANEOUS && sq != PL_SEQ_STAGED)
				return pl_cli_usage(cmd, "--sequencing is simultaneous or staged");
			t->sequencing = sq;
			break;
		}
		case 'm':
			t->mediator = optarg;
			break;
		case 'k':
			if ((rc = parse_commit(cmd, optarg, t)) != 0)
				return rc;
			break;
		case 'e': {
			char why[PL_ERR_MSG_MAX];
			t->expires_in = t->expires_at = 0;
			if (pl_cli_parse_duration(optarg, &t->expires_in) == 0)
				break;
			if (*optarg >= '0' && *optarg <= '9' && strchr(optarg, '-') == NULL)
				return pl_cli_usage(cmd, "--expires takes a duration such as 90s, "
							 "45m, 48h or 7d (at most ten years), or a "
							 "date and time with its zone");
			if (pl_cli_parse_when(optarg, pl_now(), &t->expires_at, why, sizeof why) !=
			    0)
				return pl_cli_usage(cmd, "--expires: %s", why);
			break;
		}
		default:
			return pl_cli_usage(cmd, "unknown or incomplete option %s",
					    argv[optind - 1]);
		}
	}
	if (argc - optind != 1)
		return pl_cli_usage(cmd, "%s needs exactly one %s", cmd,
				    strcmp(cmd, "counter") == 0 ? "ID" : "NAME");
	if (t->n_we + t->n_they == 0)
		return pl_cli_usage(cmd,
				    "a proposal must name at least one person (--we-release or "
				    "--they-release)");
	*positional = argv[optind];
	return 0;
}

int pl_cmd_propose(pl_cli *cli, int argc, char **argv)
{
	pl_nego_terms t;
	const char *name, *via;
	int rc = pl_cli_take_via("propose", &argc, argv, &via);
	if (rc == 0)
		rc = pl_cli_parse_terms("propose", argc, argv, &t, &name);
	if (rc != 0)
		return rc;
	pl_nego_confirm cf;
	if ((rc = pl_cli_signing(cli, "propose", &cf)) != 0)
		return rc;
	cf.via = via;
	pl_err e;
	pl_err_clear(&e);
	pl_vault *v;
	if (pl_cli_open_vault(cli, &v, &e) != 0)
		return pl_cli_fail(&e);
	uint8_t id[PL_OBJ_ID_LEN];
	int64_t seq;
	if (pl_nego_propose_ex(v, name, &t, &cf, id, &seq, &e) != 0)
		rc = pl_cli_fail(&e);
	else
		rc = pl_cli_move_done(cli, v, "proposal", id, seq);
	pl_vault_close(v);
	return rc;
}
