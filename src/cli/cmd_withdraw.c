/* cmd_withdraw.c — `parley withdraw ID [--reason TEXT]`: see respond_common.c. */
#include "cli/cli.h"

int pl_cmd_withdraw(pl_cli *cli, int argc, char **argv)
{
	return pl_cli_response(cli, "withdraw", PL_RESP_WITHDRAW, argc, argv);
}
