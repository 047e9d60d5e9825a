/*
 * mbxrate.c — the per-address allowance of new mailboxes (mbxrate.h).
 *
 * A linear table: it is consulted only when a request would create a
 * mailbox the relay does not know (rare next to deposits), and a scan of a
 * few thousand slots costs microseconds, less than the write it guards.
 */
#include "relay/mbxrate.h"

#include <stdlib.h>
#include <string.h>

#define HOUR_MS 3600000ull

int pl_mbxrate_init(pl_mbxrate *r, unsigned per_hour, size_t cap)
{
	memset(r, 0, sizeof *r);
	r->per_hour = per_hour;
	if (per_hour == 0 || cap == 0)
		return 0;
	r->slot = calloc(cap, sizeof *r->slot);
	if (r->slot == NULL)
		return -1;
	r->cap = cap;
	return 0;
}

void pl_mbxrate_free(pl_mbxrate *r)
{
	free(r->slot);
	memset(r, 0, sizeof *r);
}

/* The address's slot, or a slot for it (a free one, else the one with the
 * oldest allowance, reset). */
static pl_mbxrate_slot *slot_for(pl_mbxrate *r, const uint8_t addr[static PL_MBXRATE_ADDR_LEN],
				 uint64_t now_ms)
{
	pl_mbxrate_slot *old = NULL;

	for (size_t i = 0; i < r->n; i++) {
		if (memcmp(r->slot[i].addr, addr, PL_MBXRATE_ADDR_LEN) == 0)
			return &r->slot[i];
		if (old == NULL || r->slot[i].tat < old->tat)
			old = &r->slot[i];
	}
	if (r->n < r->cap)
		old = &r->slot[r->n++];
	memcpy(old->addr, addr, PL_MBXRATE_ADDR_LEN);
	old->tat = now_ms;
	return old;
}

uint64_t pl_mbxrate_take(pl_mbxrate *r, const uint8_t addr[static PL_MBXRATE_ADDR_LEN],
			 uint64_t now_ms)
{
	pl_mbxrate_slot *s;
	uint64_t step, window, next;

	if (r->per_hour == 0 || r->cap == 0)
		return 0;
	step = HOUR_MS / r->per_hour; /* ms per mailbox in the long run */
	if (step == 0)
		step = 1;
	window = step * r->per_hour; /* the burst: per_hour mailbox at once */
	s = slot_for(r, addr, now_ms);
	next = (s->tat > now_ms ? s->tat : now_ms) + step;
	if (next - now_ms > window)
		return (next - now_ms - window + 999) / 1000;
	s->tat = next;
	return 0;
}
