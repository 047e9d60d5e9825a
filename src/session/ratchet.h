/*
 * ratchet.h — the Double Ratchet (Signal spec) on libsodium primitives.
 *
 * A failed decrypt (tampered, truncated, replayed, too far out of order)
 * leaves the state exactly as it was. Skipped message keys are bounded
 * (PL_RATCHET_MAX_SKIP per message, PL_RATCHET_MAX_STORED in all) and wiped
 * when used or evicted. The state serialises to bytes the vault stores
 * encrypted; pl_ratchet_load is a strict decoder.
 */
#ifndef PARLEY_SESSION_RATCHET_H
#define PARLEY_SESSION_RATCHET_H

#include <stddef.h>
#include <stdint.h>

#include "util/wire.h"

#define PL_RATCHET_MAX_SKIP 1000
#define PL_RATCHET_MAX_STORED 2000
#define PL_RATCHET_HEADER_LEN (32 + 4 + 4)
#define PL_RATCHET_TAG_LEN 16
#define PL_RATCHET_OVERHEAD (PL_RATCHET_HEADER_LEN + PL_RATCHET_TAG_LEN)

typedef struct pl_ratchet pl_ratchet;

pl_ratchet *pl_ratchet_new(void);
void pl_ratchet_free(pl_ratchet *r); /* wipes */

/* Alice knows Bob's signed prekey (his first ratchet key). */
int pl_ratchet_init_alice(pl_ratchet *r, const uint8_t sk[static 32],
			  const uint8_t bob_dh_pub[static 32]);
/* Bob starts with his signed prekey pair. */
int pl_ratchet_init_bob(pl_ratchet *r, const uint8_t sk[static 32],
			const uint8_t bob_dh_sk[static 32], const uint8_t bob_dh_pub[static 32]);

/* out must hold ptlen + PL_RATCHET_OVERHEAD bytes; writes header ‖ ciphertext. */
int pl_ratchet_encrypt(pl_ratchet *r, const uint8_t *ad, size_t adlen, const uint8_t *pt,
		       size_t ptlen, uint8_t *out, size_t *outlen);
/* out must hold msglen bytes. -1 and state untouched on any failure. */
int pl_ratchet_decrypt(pl_ratchet *r, const uint8_t *ad, size_t adlen, const uint8_t *msg,
		       size_t msglen, uint8_t *out, size_t *outlen);

int pl_ratchet_save(const pl_ratchet *r, pl_wr *w);
int pl_ratchet_load(pl_ratchet *r, const uint8_t *p, size_t n);

#endif
