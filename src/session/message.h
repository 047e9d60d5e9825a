/*
 * message.h — the session message: what travels inside a sealed envelope
 * (docs/PROTOCOL.md "Session messages"). A prekey message carries the X3DH
 * header so the responder can build the session; a normal one carries only
 * the ratchet message. One strict decoder; pointers alias the input.
 */
#ifndef PARLEY_SESSION_MESSAGE_H
#define PARLEY_SESSION_MESSAGE_H

#include <stddef.h>
#include <stdint.h>

#include "identity/identity.h"
#include "util/wire.h"

enum { PL_SMSG_PREKEY = 1, PL_SMSG_NORMAL = 2 };
#define PL_SMSG_MAX_RATCHET 70000

typedef struct {
	uint8_t type;
	uint8_t ik[PL_IK_LEN];	   /* prekey only */
	uint8_t ek[PL_X25519_LEN]; /* prekey only */
	uint32_t spk_id, opk_id;   /* prekey only; opk_id 0 = none */
	const uint8_t *ratchet;
	size_t ratchetlen;
} pl_smsg;

void pl_smsg_encode(pl_wr *w, const pl_smsg *m);
int pl_smsg_decode(pl_smsg *m, const uint8_t *p, size_t n);

#endif
