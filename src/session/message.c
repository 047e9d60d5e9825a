/* message.c — encoder and strict decoder of session messages; see message.h. */
#include "session/message.h"

#include <string.h>

#include "session/ratchet.h"

void pl_smsg_encode(pl_wr *w, const pl_smsg *m)
{
	pl_wr_u8(w, 1);
	pl_wr_u8(w, m->type);
	if (m->type == PL_SMSG_PREKEY) {
		pl_wr_bytes(w, m->ik, sizeof m->ik);
		pl_wr_bytes(w, m->ek, sizeof m->ek);
		pl_wr_u32(w, m->spk_id);
		pl_wr_u32(w, m->opk_id);
	}
	pl_wr_var(w, m->ratchet, m->ratchetlen);
}

int pl_smsg_decode(pl_smsg *m, const uint8_t *p, size_t n)
{
	pl_rd r;
	memset(m, 0, sizeof *m);
	pl_rd_init(&r, p, n);
	if (pl_rd_u8(&r) != 1)
		pl_rd_fail(&r);
	m->type = pl_rd_u8(&r);
	if (m->type == PL_SMSG_PREKEY) {
		pl_rd_copy(&r, m->ik, sizeof m->ik);
		pl_rd_copy(&r, m->ek, sizeof m->ek);
		m->spk_id = pl_rd_u32(&r);
		m->opk_id = pl_rd_u32(&r);
		if (m->spk_id == 0)
			pl_rd_fail(&r);
	} else if (m->type != PL_SMSG_NORMAL) {
		pl_rd_fail(&r);
	}
	m->ratchet = pl_rd_var(&r, PL_SMSG_MAX_RATCHET, &m->ratchetlen);
	if (m->ratchetlen < PL_RATCHET_OVERHEAD)
		pl_rd_fail(&r);
	if (pl_rd_done(&r) != 0) {
		memset(m, 0, sizeof *m);
		return -1;
	}
	return 0;
}
