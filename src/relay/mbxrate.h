/*
 * mbxrate.h — how many new mailboxes each client address may still create
 * on the relay: a bounded table in memory, used by the committer thread
 * only (one thread, no lock).
 *
 * The rule, per address: at most N new mailboxes at once, then one more
 * every 3600/N seconds, so N per hour in the long run (a "generic cell
 * rate" bucket: one timestamp per address, whatever N is). The table holds
 * at most `cap` addresses; a new one evicts the one whose allowance is
 * oldest (first the ones back to a full allowance, which lose nothing).
 *
 * It must never grow past its cap, allocate after init, or refuse an
 * address that has its allowance.
 */
#ifndef PARLEY_RELAY_MBXRATE_H
#define PARLEY_RELAY_MBXRATE_H

#include <stddef.h>
#include <stdint.h>

#define PL_MBXRATE_ADDR_LEN 16 /* IPv6, or IPv4 mapped (::ffff:a.b.c.d) */

typedef struct {
	uint8_t addr[PL_MBXRATE_ADDR_LEN];
	uint64_t tat; /* ms: when the address is back to a full allowance */
} pl_mbxrate_slot;

typedef struct {
	pl_mbxrate_slot *slot;
	size_t n, cap;
	unsigned per_hour; /* 0: no limit */
} pl_mbxrate;

/* An empty table of at most cap addresses; -1 on out of memory. */
int pl_mbxrate_init(pl_mbxrate *r, unsigned per_hour, size_t cap);
void pl_mbxrate_free(pl_mbxrate *r);
/* One new mailbox for addr at now_ms (a monotonic clock): 0 if allowed
 * (and counted), otherwise the whole seconds (>= 1) until one is. */
uint64_t pl_mbxrate_take(pl_mbxrate *r, const uint8_t addr[static PL_MBXRATE_ADDR_LEN],
			 uint64_t now_ms);

#endif
