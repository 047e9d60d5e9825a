/* cmd_counter.c — `parley counter ID [terms of propose]`: a new proposal that
 * supersedes the received proposal ID (which becomes countered). */
#include "cli/cli.h"

int pl_cmd_counter(pl_cli *cli, int argc, char **argv)
{
	pl_nego_terms t;
	const char *idtext, *via;
	int rc = pl_cli_take_via("counter", &argc, argv, &via);
	if (rc == 0)
		rc = pl_cli_parse_terms("counter", argc, argv, &t, &idtext);
	if (rc != 0)
		return rc;
	uint8_t target[PL_OBJ_ID_LEN], id[PL_OBJ_ID_LEN];
	pl_nego_confirm cf;
	if ((rc = pl_cli_id_arg("counter", idtext)) != 0 ||
	    (rc = pl_cli_signing(cli, "counter", &cf)) != 0)
		return rc;
	cf.via = via;
	pl_err e;
	pl_err_clear(&e);
	pl_vault *v;
	if (pl_cli_open_vault(cli, &v, &e) != 0)
		return pl_cli_fail(&e);
	int64_t seq;
	if (pl_cli_resolve_id(v, idtext, target, &e) != 0 ||
	    pl_nego_counter_ex(v, target, &t, &cf, id, &seq, &e) != 0)
		rc = pl_cli_fail(&e);
	else
		rc = pl_cli_move_done(cli, v, "proposal", id, seq);
	pl_vault_close(v);
	return rc;
}
