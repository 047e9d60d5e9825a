/* parley-relay — the relay server. Everything lives in libparley (src/relay). */
#include "relay/server.h"

int main(int argc, char **argv)
{
	return pl_relay_main(argc, argv);
}
