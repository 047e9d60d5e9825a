/*
 * cmd_match_propose.c — `parley match propose ID N [options of propose]`:
 * package N of a blind match's result (as `match show` numbers them, from
 * 1) becomes a signed proposal to the other side of the match, in one
 * command. Each person identifier of the package is looked up in this
 * party's case file (`case add|edit --person-id`); the proposal names
 * those records, exactly as `parley propose --we-release ... --they-release
 * ...` would, and takes every other option of propose (--condition,
 * --place, --sequencing, --mediator, --expires, --commit, --via, --yes).
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "client/match.h"

#define IDS_CAP (PL_PKG_PEOPLE_MAX * 21 + 1)

/* ids (a JSON array of person identifiers) as "3,7,..." of case records. */
static int records_of(const pl_case *cs, size_t n, json_t *ids, const char *side, char *out,
		      size_t cap, pl_err *e)
{
	size_t i, used = 0;
	json_t *x;
	out[0] = '\0';
	json_array_foreach(ids, i, x)
	{
		const char *pid = json_string_value(x);
		int64_t found = 0;
		for (size_t k = 0; pid && k < n; k++) {
			if (cs[k].removed || strcmp(cs[k].person_id, pid) != 0)
				continue;
			if (found)
				return pl_err_set(
				    e, PL_EXIT_INPUT,
				    "records %lld and %lld of your case file both carry "
				    "%s; keep it on one (parley case edit ID "
				    "--person-id '')",
				    (long long)found, (long long)cs[k].id, pid);
			found = cs[k].id;
		}
		if (!found)
			return pl_err_set(
			    e, PL_EXIT_NOTFOUND,
			    "%s (%s) is in no record of your case file: give a record "
			    "that identifier with parley case edit ID --person-id %s, "
			    "or add one with parley case add --name NAME --held-by "
			    "PARTY --person-id %s",
			    pid ? pid : "?", side, pid ? pid : "?", pid ? pid : "?");
		int w =
		    snprintf(out + used, cap - used, "%s%lld", used ? "," : "", (long long)found);
		if (w < 0 || (size_t)w >= cap - used)
			return pl_err_set(e, PL_EXIT_INPUT, "too many people in the package");
		used += (size_t)w;
	}
	return 0;
}

int pl_cli_match_propose(pl_cli *cli, int argc, char **argv)
{
	/* argv: propose ID N [options] */
	if (argc < 3 || argv[1][0] == '-' || argv[2][0] == '-')
		return pl_cli_usage("match", "use match propose ID N [options of propose]: N is "
					     "the package's number in match show ID");
	for (int i = 3; i < argc; i++)
		if (strncmp(argv[i], "--we-release", 12) == 0 ||
		    strncmp(argv[i], "--they-release", 14) == 0)
			return pl_cli_usage("match",
					    "match propose takes who is released from the "
					    "package; drop %s",
					    argv[i]);
	char *end;
	long pick = strtol(argv[2], &end, 10);
	if (*end || pick < 1)
		return pl_cli_usage("match", "N is a package's number in match show (1, 2, ...)");
	pl_err e;
	pl_err_clear(&e);
	pl_vault *v;
	if (pl_cli_open_vault(cli, &v, &e) != 0)
		return pl_cli_fail(&e);
	uint8_t id[PL_MATCH_ID_LEN];
	json_t *j = NULL;
	pl_case *cs = NULL;
	size_t ncs = 0;
	char we[IDS_CAP], they[IDS_CAP], with[PL_NAME_MAX + 1];
	int rc = -1;
	if (pl_match_resolve(v, argv[1], id, &e) != 0 || pl_match_show(v, id, &j, NULL, &e) != 0)
		goto out;
	const char *kind = json_string_value(json_object_get(j, "kind"));
	const char *state = json_string_value(json_object_get(j, "state"));
	json_t *res = json_object_get(j, "result");
	if (!kind || strcmp(kind, "packages") != 0 || !state || strcmp(state, "done") != 0 ||
	    !json_is_array(res)) {
		pl_err_set(&e, PL_EXIT_REFUSED,
			   "only a packages match that is done has packages to propose; this "
			   "one is %s %s",
			   kind ? kind : "?", state ? state : "?");
		goto out;
	}
	if ((size_t)pick > json_array_size(res)) {
		pl_err_set(&e, PL_EXIT_NOTFOUND,
			   json_array_size(res) == 0
			       ? "this match found no package on both lists: nothing to propose"
			       : "the match found %zu package(s); N is 1 to %zu",
			   json_array_size(res), json_array_size(res));
		goto out;
	}
	json_t *pkg = json_array_get(res, (size_t)pick - 1);
	snprintf(with, sizeof with, "%s", json_string_value(json_object_get(j, "with")));
	if (pl_vault_case_list(v, &cs, &ncs, &e) != 0 ||
	    records_of(cs, ncs, json_object_get(pkg, "we_release"), "you release", we, sizeof we,
		       &e) != 0 ||
	    records_of(cs, ncs, json_object_get(pkg, "they_release"), "they release", they,
		       sizeof they, &e) != 0)
		goto out;
	rc = 0;
out:
	json_decref(j);
	if (cs)
		sodium_memzero(cs, ncs * sizeof *cs); /* internal fields of the case file */
	free(cs);
	pl_vault_close(v);
	if (rc != 0)
		return pl_cli_fail(&e);
	/* propose --we-release A --they-release B [options] NAME */
	char **nv = calloc((size_t)argc + 4, sizeof *nv);
	if (nv == NULL)
		return pl_cli_usage("match", "out of memory");
	int k = 0;
	nv[k++] = "propose";
	nv[k++] = "--we-release";
	nv[k++] = we;
	nv[k++] = "--they-release";
	nv[k++] = they;
	for (int i = 3; i < argc; i++)
		nv[k++] = argv[i];
	nv[k++] = with;
	int prc = pl_cmd_propose(cli, k, nv);
	free(nv);
	return prc;
}
