/*
 * envelope.c — owns the sealed-sender envelope (what the relay stores) and
 * the payload codec (what travels inside a session); docs/PROTOCOL.md,
 * "Envelope" and "Payload".
 *
 * The sender's identity travels only inside crypto_box_seal, so the relay
 * sees a recipient mailbox and a padded size, never who wrote. Padding goes
 * to the smallest bucket that fits, and the opener accepts only that
 * canonical form: one envelope has exactly one valid encoding, so nothing
 * about it (padding content, bucket choice) can carry a side channel.
 *
 * It must never return a sender key that is not a valid Ed25519 point,
 * never accept nonzero padding or trailing bytes, and never leave decrypted
 * bytes behind on a failure path.
 */
#include "envelope/envelope.h"
#include "identity/introduction.h"
#include "identity/revocation.h"
#include "identity/rotation.h"
#include "util/text.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define ENVELOPE_VERSION 1
#define PAYLOAD_VERSION 1
/* version ‖ sender IK ‖ u32 length of the session message */
#define INNER_HEADER (1 + PL_IK_LEN + 4)

static const size_t buckets[] = {1024, 4096, 16384, PL_ENVELOPE_MAX_INNER};
#define NBUCKETS (sizeof buckets / sizeof buckets[0])

_Static_assert(PL_ENVELOPE_SEAL_OVERHEAD == crypto_box_SEALBYTES, "seal overhead");

/* Smallest bucket that holds `need` bytes of inner, or 0 if none does. */
static size_t bucket_for(size_t need)
{
	for (size_t i = 0; i < NBUCKETS; i++)
		if (need <= buckets[i])
			return buckets[i];
	return 0;
}

int pl_envelope_size_ok(size_t sealed_len)
{
	for (size_t i = 0; i < NBUCKETS; i++)
		if (sealed_len == buckets[i] + PL_ENVELOPE_SEAL_OVERHEAD)
			return 1;
	return 0;
}

int pl_envelope_seal(uint8_t **out, size_t *outlen, const uint8_t recipient_ik[static PL_IK_LEN],
		     const uint8_t sender_ik[static PL_IK_LEN], const uint8_t *msg, size_t msglen)
{
	uint8_t xpk[PL_X25519_LEN];

	if ((msg == NULL && msglen != 0) || msglen > PL_ENVELOPE_MAX_INNER - INNER_HEADER)
		return -1;
	if (pl_ik_to_x25519(xpk, recipient_ik) != 0 || pl_ik_validate(sender_ik) != 0)
		return -1;

	size_t innerlen = bucket_for(INNER_HEADER + msglen);
	uint8_t *inner = calloc(1, innerlen);
	uint8_t *sealed = malloc(innerlen + PL_ENVELOPE_SEAL_OVERHEAD);
	if (inner == NULL || sealed == NULL) {
		free(inner);
		free(sealed);
		return -1;
	}
	inner[0] = ENVELOPE_VERSION;
	memcpy(inner + 1, sender_ik, PL_IK_LEN);
	pl_be32_put(inner + 1 + PL_IK_LEN, (uint32_t)msglen);
	if (msglen)
		memcpy(inner + INNER_HEADER, msg, msglen);
	/* The rest stays zero from calloc: that is the padding. */
	int rc = crypto_box_seal(sealed, inner, innerlen, xpk);
	sodium_memzero(inner, innerlen);
	free(inner);
	if (rc != 0) {
		free(sealed);
		return -1;
	}
	*out = sealed;
	*outlen = innerlen + PL_ENVELOPE_SEAL_OVERHEAD;
	return 0;
}

/* Strict decode of an opened inner; sets the sender and the message span. */
static int inner_decode(uint8_t sender_ik[static PL_IK_LEN], const uint8_t **msg, size_t *msglen,
			const uint8_t *inner, size_t innerlen)
{
	pl_rd r;
	size_t mlen = 0;

	pl_rd_init(&r, inner, innerlen);
	uint8_t version = pl_rd_u8(&r);
	const uint8_t *ik = pl_rd_bytes(&r, PL_IK_LEN);
	const uint8_t *m = pl_rd_var(&r, innerlen, &mlen);
	if (r.err || version != ENVELOPE_VERSION || pl_ik_validate(ik) != 0)
		return -1;
	/* Canonical padding: the smallest bucket, every pad byte zero. */
	if (bucket_for(INNER_HEADER + mlen) != innerlen)
		return -1;
	const uint8_t *pad = pl_rd_bytes(&r, r.n);
	if (pad == NULL || !sodium_is_zero(pad, innerlen - INNER_HEADER - mlen) ||
	    pl_rd_done(&r) != 0)
		return -1;
	memcpy(sender_ik, ik, PL_IK_LEN);
	*msg = m;
	*msglen = mlen;
	return 0;
}

int pl_envelope_open(uint8_t **inner, size_t *innerlen, uint8_t sender_ik[static PL_IK_LEN],
		     const uint8_t **msg, size_t *msglen, const pl_identity *me,
		     const uint8_t *sealed, size_t sealedlen)
{
	uint8_t xsk[PL_X25519_LEN], xpk[PL_X25519_LEN];
	uint8_t ik[PL_IK_LEN];
	const uint8_t *m = NULL;
	size_t mlen = 0;

	*inner = NULL;
	*innerlen = 0;
	*msg = NULL;
	*msglen = 0;
	if (sealed == NULL || !pl_envelope_size_ok(sealedlen))
		return -1;
	size_t n = sealedlen - PL_ENVELOPE_SEAL_OVERHEAD;
	uint8_t *buf = malloc(n);
	if (buf == NULL)
		return -1;
	if (pl_identity_x25519(me, xsk, xpk) != 0) {
		free(buf);
		return -1;
	}
	int rc = crypto_box_seal_open(buf, sealed, sealedlen, xpk, xsk);
	sodium_memzero(xsk, sizeof xsk);
	if (rc != 0 || inner_decode(ik, &m, &mlen, buf, n) != 0) {
		sodium_memzero(buf, n);
		free(buf);
		return -1;
	}
	memcpy(sender_ik, ik, PL_IK_LEN);
	*inner = buf;
	*innerlen = n;
	*msg = m;
	*msglen = mlen;
	return 0;
}

/*
 * The one place that knows which payload kinds exist and what each body
 * must be. A new kind is added here (and to the enum in envelope.h);
 * everything else, encoder and decoder, goes through it.
 */
static int payload_kind_ok(uint8_t kind, const uint8_t *body, size_t bodylen)
{
	switch (kind) {
	case PL_KIND_NOTE:
		/* Shown on terminals and exported: the shared text rule (no
		 * control characters but newline, no bidi overrides). */
		return pl_text_ok(body, bodylen, 0, PL_PAYLOAD_MAX_BODY, PL_TEXT_MULTILINE) == 0;
	case PL_KIND_OBJECT:
		/* Its bytes are checked by the one decoder of signed objects
		 * (src/negotiation) before anything is stored. */
		return bodylen > 0;
	case PL_KIND_PLAN:
		/* Checked, with its signature, by its one decoder
		 * (src/negotiation/plan.c) before anything is stored. */
	case PL_KIND_MATCH:
		/* Checked by its one decoder (src/negotiation/match.c)
		 * before anything is stored. */
	case PL_KIND_CARRY:
	case PL_KIND_FORWARDED:
	case PL_KIND_HOLD:
		/* Checked, with every signature, by their one decoder
		 * (src/negotiation/custody.c) before anything is stored. */
		return bodylen > 0;
	case PL_KIND_RELAY:
		/* Checked by its one decoder (src/client/move.c), with its
		 * signature, before anything is recorded. */
		return bodylen > 0;
	case PL_KIND_REVOKE:
		/* Checked, with its signature, by its one decoder
		 * (src/identity/revocation.c) before anything is recorded. */
		return bodylen == PL_REVOCATION_LEN;
	case PL_KIND_RESTORED:
		/* Shown as a date and one of two fixed sentences. */
		return bodylen == PL_RESTORED_LEN &&
		       (body[0] == PL_RESTORED_BACKUP || body[0] == PL_RESTORED_COPY);
	case PL_KIND_ROTATE:
		/* Checked, with both signatures, by its one decoder
		 * (src/identity/rotation.c) before anything is recorded. */
		return bodylen == PL_ROTATION_LEN;
	case PL_KIND_INTRODUCE:
		/* Checked, with its signature, by its one decoder
		 * (src/identity/introduction.c) before anything is recorded. */
		return bodylen >= PL_INTRO_MIN_LEN && bodylen <= PL_INTRO_MAX_LEN;
	case PL_KIND_AGREEMENT:
		/* Checked by the negotiation layer (client/nego.c), both
		 * signatures and how they bind, before anything is stored. */
		return bodylen > 0;
	case PL_KIND_ACK: {
		if (bodylen < 2)
			return 0;
		size_t count = ((size_t)body[0] << 8) | body[1];
		return count >= 1 && count <= PL_ACK_MAX && bodylen == 2 + count * PL_ITEM_ID_LEN;
	}
	default:
		return 0;
	}
}

void pl_payload_encode(pl_wr *w, const pl_payload *p)
{
	/* Refuse to write what the decoder would reject: the writer fails
	 * instead, so pl_wr_ok() reports it and nothing valid-looking goes out. */
	if ((p->body == NULL && p->bodylen != 0) || p->bodylen > PL_PAYLOAD_MAX_BODY ||
	    !payload_kind_ok(p->kind, p->body, p->bodylen)) {
		w->err = 1;
		return;
	}
	pl_wr_u8(w, PAYLOAD_VERSION);
	pl_wr_u8(w, p->kind);
	pl_wr_bytes(w, p->id, PL_ITEM_ID_LEN);
	pl_wr_u64(w, p->time);
	pl_wr_var(w, p->body, p->bodylen);
}

int pl_payload_decode(pl_payload *p, const uint8_t *buf, size_t n)
{
	pl_rd r;
	pl_payload t;

	memset(&t, 0, sizeof t);
	pl_rd_init(&r, buf, n);
	uint8_t version = pl_rd_u8(&r);
	t.kind = pl_rd_u8(&r);
	pl_rd_copy(&r, t.id, PL_ITEM_ID_LEN);
	t.time = pl_rd_u64(&r);
	t.body = pl_rd_var(&r, PL_PAYLOAD_MAX_BODY, &t.bodylen);
	if (pl_rd_done(&r) != 0 || version != PAYLOAD_VERSION ||
	    !payload_kind_ok(t.kind, t.body, t.bodylen))
		return -1;
	*p = t;
	return 0;
}
