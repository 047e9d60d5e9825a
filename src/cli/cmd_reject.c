/* cmd_reject.c — `parley reject ID [--reason TEXT]`: see respond_common.c. */
#include "cli/cli.h"

int pl_cmd_reject(pl_cli *cli, int argc, char **argv)
{
	return pl_cli_response(cli, "reject", PL_RESP_REJECT, argc, argv);
}
