/* parley — the client. Everything lives in libparley (src/cli). */
#include "cli/cli.h"

int main(int argc, char **argv)
{
	return pl_cli_main(argc, argv);
}
