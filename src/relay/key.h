/*
 * key.h — the relay's signing key file, DATA/relay.key: created (mode 0600)
 * at first start, else loaded and checked. The key signs the transparency
 * log's checkpoints; GET /v1/relay and `parley-relay --print-key` give its
 * public half.
 *
 * File := "PLRK" ‖ u8 version 1 ‖ u8 alg 1 (Ed25519) ‖ key id(8) ‖
 *         seed(32) ‖ public key(32);
 * key id := the first 8 bytes of BLAKE2b-256(public key).
 */
#ifndef PARLEY_RELAY_KEY_H
#define PARLEY_RELAY_KEY_H

#include <stdint.h>

#include "identity/identity.h"
#include "util/err.h"

#define PL_RELAY_KEY_NAME "relay.key" /* inside the data directory */

#define PL_RELAY_KEY_MAGIC "PLRK"
#define PL_RELAY_KEY_MAGIC_LEN 4
#define PL_RELAY_KEY_VERSION 1
#define PL_RELAY_KEY_ALG_ED25519 1
#define PL_RELAY_KEY_ID_LEN 8
#define PL_RELAY_KEY_SEED_LEN 32

/* Offsets of the fields in the file. */
#define PL_RELAY_KEY_MAGIC_OFF 0
#define PL_RELAY_KEY_VERSION_OFF (PL_RELAY_KEY_MAGIC_OFF + PL_RELAY_KEY_MAGIC_LEN)
#define PL_RELAY_KEY_ALG_OFF (PL_RELAY_KEY_VERSION_OFF + 1)
#define PL_RELAY_KEY_ID_OFF (PL_RELAY_KEY_ALG_OFF + 1)
#define PL_RELAY_KEY_SEED_OFF (PL_RELAY_KEY_ID_OFF + PL_RELAY_KEY_ID_LEN)
#define PL_RELAY_KEY_PK_OFF (PL_RELAY_KEY_SEED_OFF + PL_RELAY_KEY_SEED_LEN)
#define PL_RELAY_KEY_FILE_LEN (PL_RELAY_KEY_PK_OFF + PL_IK_LEN) /* 78 bytes */

/* The key in DIR/relay.key, created first if there is none. A file that
 * is not a regular file of mode 0600 (or stricter), or not exactly a
 * version 1 Ed25519 key whose key id and public key match its seed, is
 * refused and left as it is. */
int pl_relay_key_load(uint8_t sk[static PL_IK_SK_LEN], uint8_t pk[static PL_IK_LEN],
		      const char *dir, pl_err *e);

/* Writes a new key to DIR/relay.key unless a file is there already; 0 if
 * one is there afterwards. A key another process (a relay starting,
 * `parley-relay --print-key`) created meanwhile is kept, never replaced:
 * load that one. */
int pl_relay_key_create(const char *dir, pl_err *e);

#endif
