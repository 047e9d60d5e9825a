/*
 * vault_via.c — which of our own moves travel through a mediator
 * (client/via.h, docs/PROTOCOL.md "Proximity talks").
 *
 * One row of table meta per such item: "via:" ‖ hex(item id) →
 *   u8 version=1 ‖ mediator IK(32) ‖ handed u64 (when we queued it)
 * Written in the transaction that stores the item and queues it to the
 * mediator. No schema change; every row read back is decoded strictly.
 */
#include "vault/vault_int.h"

#include <string.h>

#include "util/codec.h"

#define VIA_PREFIX "via:"
#define VIA_PREFIX_LEN 4
#define VIA_V1 1
#define VIA_REC_LEN (1 + PL_IK_LEN + 8)

static void via_key(char out[VIA_PREFIX_LEN + 2 * 8 + 1], const uint8_t id[static 8])
{
	memcpy(out, VIA_PREFIX, VIA_PREFIX_LEN);
	pl_hex_encode(out + VIA_PREFIX_LEN, id, 8);
}

int pl_vault_via_put(pl_vault *v, const uint8_t id[static 8],
		     const uint8_t mediator[static PL_IK_LEN], uint64_t handed, pl_err *e)
{
	char k[VIA_PREFIX_LEN + 2 * 8 + 1];
	uint8_t b[VIA_REC_LEN];
	b[0] = VIA_V1;
	memcpy(b + 1, mediator, PL_IK_LEN);
	pl_be64_put(b + 1 + PL_IK_LEN, handed);
	via_key(k, id);
	return pl_vault_meta_put(v, k, b, sizeof b, e);
}

int pl_vault_via_get(pl_vault *v, const uint8_t id[static 8], uint8_t mediator[static PL_IK_LEN],
		     uint64_t *handed, pl_err *e)
{
	char k[VIA_PREFIX_LEN + 2 * 8 + 1];
	pl_wr w;
	int found;
	via_key(k, id);
	if (pl_vault_meta_get(v, k, &w, VIA_REC_LEN, &found, e) != 0)
		return -1;
	int rc = 0;
	if (found) {
		if (w.n != VIA_REC_LEN || w.p[0] != VIA_V1) {
			rc = -1;
		} else {
			memcpy(mediator, w.p + 1, PL_IK_LEN);
			if (handed)
				*handed = pl_be64_get(w.p + 1 + PL_IK_LEN);
			rc = 1;
		}
	}
	pl_wr_free(&w);
	if (rc < 0)
		return pl_vault_damaged(
		    v, "a record of a move sent through a mediator is malformed", e);
	return rc;
}

int pl_vault_via_item_delete(pl_vault *v, int64_t seq, pl_err *e)
{
	sqlite3_stmt *st;
	/* Never one still waiting in the outbox (a note on its way). */
	if (pl_vault_prep(v, &st,
			  "DELETE FROM items WHERE seq = ?1 AND state != 'queued'"
			  " AND seq NOT IN (SELECT item_seq FROM outbox)",
			  e) != 0)
		return -1;
	sqlite3_bind_int64(st, 1, seq);
	int r = pl_vault_exec(v, st, "delete a passed-on note", e);
	sqlite3_finalize(st);
	return r != 0 ? -1 : sqlite3_changes(v->db) > 0 ? 1 : 0;
}
