/* cmd_accept.c — `parley accept ID`: see respond_common.c. */
#include "cli/cli.h"

int pl_cmd_accept(pl_cli *cli, int argc, char **argv)
{
	return pl_cli_response(cli, "accept", PL_RESP_ACCEPT, argc, argv);
}
