/* fuzz_lock_holder.c — pl_vault_lock_holder_parse, the decoder of the line
 * a vault's lock holder writes into DIR/vault.lock ("PID START COMMAND"),
 * which a waiting process reads back and prints: no crash, no read past
 * the bytes, and what it accepts is printable and has the documented form
 * (pid > 0, a command of lowercase letters and dashes). */
#include <stdlib.h>
#include <string.h>

#include "vault/vault.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	pl_vault_lock_holder h;
	if (pl_vault_lock_holder_parse(&h, data, size) != 0)
		return 0;
	if (h.pid <= 0)
		abort();
	size_t n = strnlen(h.cmd, sizeof h.cmd);
	if (n == sizeof h.cmd)
		abort(); /* not terminated */
	if (n == 0)
		abort();
	for (size_t i = 0; i < n; i++)
		if (!((h.cmd[i] >= 'a' && h.cmd[i] <= 'z') || h.cmd[i] == '-'))
			abort(); /* would reach the terminal raw */
	return 0;
}
