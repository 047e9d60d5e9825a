/*
 * leaf.c — the relay log's leaf codec, leaf hash, fetch-signature check and
 * log-naming helpers (see leaf.h and docs/PROTOCOL.md, "Transparency log").
 *
 * It owns the exact bytes of a leaf and the derivation of the relay log's
 * origin from its key. It must never accept a leaf with a wrong version,
 * type or length, never call a fetch leaf verified without checking the
 * owner's signature over the rebuilt request, and never keep the relay's
 * secret key beyond the one signing call (the copy it makes is wiped).
 */
#include "log/leaf.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "auth/auth.h"
#include "util/codec.h"
#include "util/wire.h"

_Static_assert(PL_LEAF_NONCE_LEN == PL_AUTH_NONCE_LEN, "fetch leaf nonce is the auth nonce");
_Static_assert(PL_LEAF_SIG_LEN == PL_SIG_LEN, "fetch leaf signature is an Ed25519 signature");
_Static_assert(PL_LEAF_KEY_LEN == PL_MAILBOX_LEN && PL_LEAF_KEY_LEN == PL_IK_LEN,
	       "mailbox ids and keys are 32 bytes");

size_t pl_leaf_encode(uint8_t out[static PL_LEAF_MAX], const pl_leaf *l)
{
	size_t o = 0;

	if (l->type == PL_LEAF_DEPOSIT) {
		if (l->seq == 0)
			return 0;
		out[o++] = PL_LEAF_VERSION;
		out[o++] = PL_LEAF_DEPOSIT;
		memcpy(out + o, l->mbx, 32);
		o += 32;
		memcpy(out + o, l->hash, 32);
		o += 32;
		pl_be64_put(out + o, l->seq);
		o += 8;
		pl_be64_put(out + o, l->relay_time);
		o += 8;
		return o;
	}
	if (l->type == PL_LEAF_ACK) {
		uint8_t body[PL_AUTH_ACK_BODY_MAX];
		size_t bn = pl_auth_ack_encode(body, &l->ack);
		if (bn == 0)
			return 0;
		out[o++] = PL_LEAF_VERSION;
		out[o++] = PL_LEAF_ACK;
		memcpy(out + o, l->mbx, 32);
		o += 32;
		memcpy(out + o, l->owner, 32);
		o += 32;
		pl_be64_put(out + o, l->auth_time);
		o += 8;
		memcpy(out + o, l->nonce, PL_LEAF_NONCE_LEN);
		o += PL_LEAF_NONCE_LEN;
		memcpy(out + o, l->sig, PL_LEAF_SIG_LEN);
		o += PL_LEAF_SIG_LEN;
		pl_be64_put(out + o, l->relay_time);
		o += 8;
		memcpy(out + o, body, bn);
		o += bn;
		return o;
	}
	return 0;
}

int pl_leaf_decode(pl_leaf *l, const uint8_t *p, size_t n)
{
	pl_leaf t;
	pl_rd r;

	memset(l, 0, sizeof *l);
	memset(&t, 0, sizeof t);
	pl_rd_init(&r, p, n);
	if (pl_rd_u8(&r) != PL_LEAF_VERSION)
		pl_rd_fail(&r);
	t.type = pl_rd_u8(&r);
	pl_rd_copy(&r, t.mbx, 32);
	if (t.type == PL_LEAF_DEPOSIT) {
		pl_rd_copy(&r, t.hash, 32);
		t.seq = pl_rd_u64(&r);
		t.relay_time = pl_rd_u64(&r);
		if (t.seq == 0)
			pl_rd_fail(&r);
	} else if (t.type == PL_LEAF_ACK) {
		pl_rd_copy(&r, t.owner, 32);
		t.auth_time = pl_rd_u64(&r);
		pl_rd_copy(&r, t.nonce, PL_LEAF_NONCE_LEN);
		pl_rd_copy(&r, t.sig, PL_LEAF_SIG_LEN);
		t.relay_time = pl_rd_u64(&r);
		/* the rest is the signed body, decoded strictly */
		if (r.err || n < PL_LEAF_ACK_MIN ||
		    pl_auth_ack_decode(&t.ack, p + PL_LEAF_ACK_FIXED, n - PL_LEAF_ACK_FIXED) != 0)
			return -1;
		*l = t;
		return 0;
	} else {
		pl_rd_fail(&r);
	}
	if (pl_rd_done(&r) != 0)
		return -1;
	*l = t;
	return 0;
}

void pl_leaf_hash(uint8_t out[static PL_MERKLE_HASH_LEN], const uint8_t *p, size_t n)
{
	pl_merkle_leaf_hash(out, p, n);
}

int pl_leaf_hash_of(uint8_t out[static PL_MERKLE_HASH_LEN], const pl_leaf *l)
{
	uint8_t b[PL_LEAF_MAX];
	size_t n = pl_leaf_encode(b, l);

	if (n == 0)
		return -1;
	pl_merkle_leaf_hash(out, b, n);
	return 0;
}

int pl_leaf_ack_verify(const pl_leaf *l)
{
	char path[sizeof "/v1/mailbox/" + 64 + sizeof "/ack"];
	char mbx_hex[65], key_hex[65], nonce_hex[2 * PL_LEAF_NONCE_LEN + 1],
	    sig_hex[2 * PL_LEAF_SIG_LEN + 1], time_str[PL_AUTH_TIME_STR_MAX];
	uint8_t body[PL_AUTH_ACK_BODY_MAX], key[PL_IK_LEN], mbx[PL_MAILBOX_LEN],
	    nonce[PL_AUTH_NONCE_LEN];
	size_t bodylen;

	if (l->type != PL_LEAF_ACK || (bodylen = pl_auth_ack_encode(body, &l->ack)) == 0)
		return -1;
	pl_hex_encode(mbx_hex, l->mbx, 32);
	snprintf(path, sizeof path, "/v1/mailbox/%s/ack", mbx_hex);
	pl_hex_encode(key_hex, l->owner, 32);
	pl_hex_encode(nonce_hex, l->nonce, PL_LEAF_NONCE_LEN);
	pl_hex_encode(sig_hex, l->sig, PL_LEAF_SIG_LEN);
	pl_auth_time_format(time_str, l->auth_time);
	/* The relay's clock at logging time stands for "now": the same window
	 * the relay applied when it accepted the request. */
	return pl_auth_verify(key, mbx, nonce, l->mbx, "POST", path, key_hex, time_str, nonce_hex,
			      sig_hex, body, bodylen, l->relay_time, NULL);
}

/* ---- log name and keys ---------------------------------------------------- */

void pl_leaf_origin(char out[static PL_LEAF_ORIGIN_LEN + 1], const uint8_t relay_pk[static 32])
{
	memcpy(out, PL_LEAF_ORIGIN_PREFIX, sizeof PL_LEAF_ORIGIN_PREFIX - 1);
	pl_hex_encode(out + sizeof PL_LEAF_ORIGIN_PREFIX - 1, relay_pk, 8);
	out[PL_LEAF_ORIGIN_LEN] = '\0';
}

int pl_leaf_log_vkey(pl_note_vkey *out, const uint8_t relay_pk[static 32])
{
	pl_note_vkey t;

	memset(&t, 0, sizeof t);
	pl_leaf_origin(t.name, relay_pk);
	memcpy(t.pk, relay_pk, PL_NOTE_PK_LEN);
	if (pl_note_keyid(&t.keyid, t.name, relay_pk) != 0)
		return -1;
	*out = t;
	return 0;
}

int pl_leaf_log_vkey_string(char out[static PL_NOTE_VKEY_MAX], const uint8_t relay_pk[static 32])
{
	char name[PL_LEAF_ORIGIN_LEN + 1];

	pl_leaf_origin(name, relay_pk);
	return pl_note_vkey_format(out, PL_NOTE_VKEY_MAX, name, relay_pk);
}

int pl_leaf_checkpoint_sign(uint8_t *out, size_t cap, size_t *outlen, uint64_t size,
			    const uint8_t root[static PL_MERKLE_HASH_LEN],
			    const uint8_t relay_sk[static 64])
{
	uint8_t text[PL_LEAF_NOTE_MAX];
	size_t textlen = 0;
	pl_checkpoint c;
	pl_note_skey k;
	int rc = -1;

	memset(&c, 0, sizeof c);
	memset(&k, 0, sizeof k);
	pl_leaf_origin(c.origin, relay_sk + 32);
	c.size = size;
	memcpy(c.root, root, PL_MERKLE_HASH_LEN);
	memcpy(k.name, c.origin, PL_LEAF_ORIGIN_LEN + 1);
	memcpy(k.sk, relay_sk, sizeof k.sk);
	if (pl_checkpoint_format(text, sizeof text, &textlen, &c) == 0 &&
	    pl_note_keyid(&k.keyid, k.name, relay_sk + 32) == 0 &&
	    pl_note_sign(out, cap, outlen, text, textlen, &k) == 0)
		rc = 0;
	sodium_memzero(&k, sizeof k);
	return rc;
}

int pl_leaf_checkpoint_open(pl_checkpoint *c, const uint8_t *note, size_t len,
			    const uint8_t relay_pk[static 32])
{
	pl_note_vkey v;
	pl_checkpoint t;

	if (pl_leaf_log_vkey(&v, relay_pk) != 0 ||
	    pl_checkpoint_open(&t, note, len, &v) != PL_NOTE_VERIFIED)
		return -1;
	*c = t;
	return 0;
}
