/*
 * grant.h — access-token grants (docs/PROTOCOL.md, "Access tokens").
 *
 * A mailbox owner hands its deposit token T to a contact through the relay
 * without the relay learning T or who the contact is: both parties derive
 * the same locator and key from their X25519 shared secret and the owner's
 * IK; the owner stores nonce ‖ XChaCha20-Poly1305(T) at the locator and the
 * contact fetches and opens it.
 */
#ifndef PARLEY_CLIENT_GRANT_H
#define PARLEY_CLIENT_GRANT_H

#include <stddef.h>
#include <stdint.h>

#include "identity/identity.h"
#include "relay/proto.h"

#define PL_GRANT_NONCE_LEN 24 /* crypto_aead_xchacha20poly1305_ietf_NPUBBYTES */
#define PL_GRANT_TAG_LEN 16
#define PL_GRANT_BLOB_LEN (PL_GRANT_NONCE_LEN + PL_PROTO_TOKEN_LEN + PL_GRANT_TAG_LEN) /* 72 */

/*
 * Locator of the grant between `me` and `peer` for the mailbox of `owner_ik`,
 * which must be me->pk (I am granting) or peer_ik (I am being granted).
 * Both sides compute the same 32 bytes. -1 on an invalid key.
 */
int pl_grant_locator(uint8_t loc[static PL_PROTO_GRANT_LOC_LEN], const pl_identity *me,
		     const uint8_t peer_ik[static PL_IK_LEN],
		     const uint8_t owner_ik[static PL_IK_LEN]);

/* Owner side: the locator and blob that give `token` to `contact_ik`. */
int pl_grant_seal(uint8_t loc[static PL_PROTO_GRANT_LOC_LEN],
		  uint8_t blob[static PL_GRANT_BLOB_LEN], const pl_identity *owner,
		  const uint8_t contact_ik[static PL_IK_LEN],
		  const uint8_t token[static PL_PROTO_TOKEN_LEN]);

/* Contact side: recovers the token from a blob fetched at
 * pl_grant_locator(me, owner_ik, owner_ik). -1 (token zeroed) if the blob is
 * not exactly PL_GRANT_BLOB_LEN bytes or fails authentication. */
int pl_grant_open(uint8_t token[static PL_PROTO_TOKEN_LEN], const pl_identity *me,
		  const uint8_t owner_ik[static PL_IK_LEN], const uint8_t *blob, size_t bloblen);

#endif
