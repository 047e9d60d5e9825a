/*
 * proto.c — encoders, strict decoders and signatures of the relay protocol
 * (see proto.h and docs/PROTOCOL.md, "Relay HTTP API").
 *
 * It owns the exact bytes of every relay body (the owner-auth signed string
 * is auth/auth.c's, the receipt's log/receipt.c's). It must never accept a
 * body with a wrong version, trailing bytes or an oversize count, never
 * report success with a half-filled output, and never do I/O.
 */
#include "relay/proto.h"

#include <sodium.h>
#include <string.h>

#include "crypto/kdf.h"
#include "envelope/envelope.h"
#include "log/leaf.h"
#include "log/merkle.h"
#include "util/codec.h"

_Static_assert(PL_PROTO_PROOF_MAX == PL_MERKLE_PROOF_MAX, "a proof body holds any proof");
_Static_assert(PL_PROTO_LEAVES_BODY_MAX == 1 + 4 + PL_PROTO_LEAVES_MAX * (4 + PL_LEAF_MAX),
	       "leaves body bound");

#define SPK_TAG "parley spk v1"

/* ---- relay key ------------------------------------------------------- */

void pl_proto_relay_key_encode(uint8_t out[static PL_PROTO_RELAY_KEY_LEN],
			       const uint8_t pk[static PL_IK_LEN])
{
	out[0] = PL_PROTO_VERSION;
	memcpy(out + 1, pk, PL_IK_LEN);
}

int pl_proto_relay_key_decode(uint8_t pk[static PL_IK_LEN], const uint8_t *p, size_t n)
{
	pl_rd r;
	uint8_t t[PL_IK_LEN];

	pl_rd_init(&r, p, n);
	if (pl_rd_u8(&r) != PL_PROTO_VERSION)
		pl_rd_fail(&r);
	pl_rd_copy(&r, t, sizeof t);
	if (pl_rd_done(&r) != 0 || pl_ik_validate(t) != 0) {
		memset(pk, 0, PL_IK_LEN);
		return -1;
	}
	memcpy(pk, t, PL_IK_LEN);
	return 0;
}

/* ---- bundle upload --------------------------------------------------- */

int pl_proto_spk_verify(const uint8_t ik[static PL_IK_LEN], uint32_t spk_id,
			const uint8_t spk[static PL_X25519_LEN],
			const uint8_t sig[static PL_SIG_LEN])
{
	uint8_t m[sizeof SPK_TAG - 1 + 4 + PL_X25519_LEN];

	memcpy(m, SPK_TAG, sizeof SPK_TAG - 1);
	pl_be32_put(m + sizeof SPK_TAG - 1, spk_id);
	memcpy(m + sizeof SPK_TAG - 1 + 4, spk, PL_X25519_LEN);
	return crypto_sign_verify_detached(sig, m, sizeof m, ik) == 0 ? 0 : -1;
}

int pl_proto_bundle_upload_encode(pl_wr *w, const pl_proto_bundle_upload *u)
{
	if (u->opk_count > PL_PROTO_BUNDLE_MAX_OPK)
		return -1;
	for (size_t i = 0; i < u->opk_count; i++)
		if (u->opk[i].id == 0)
			return -1;
	pl_wr_u8(w, PL_PROTO_VERSION);
	pl_wr_bytes(w, u->ik, PL_IK_LEN);
	pl_wr_u32(w, u->spk_id);
	pl_wr_bytes(w, u->spk, PL_X25519_LEN);
	pl_wr_bytes(w, u->spk_sig, PL_SIG_LEN);
	pl_wr_u16(w, u->opk_count);
	for (size_t i = 0; i < u->opk_count; i++) {
		pl_wr_u32(w, u->opk[i].id);
		pl_wr_bytes(w, u->opk[i].pub, PL_X25519_LEN);
	}
	return pl_wr_ok(w);
}

int pl_proto_bundle_upload_decode(pl_proto_bundle_upload *u, const uint8_t *p, size_t n)
{
	pl_rd r;

	memset(u, 0, sizeof *u);
	pl_rd_init(&r, p, n);
	if (pl_rd_u8(&r) != PL_PROTO_VERSION)
		pl_rd_fail(&r);
	pl_rd_copy(&r, u->ik, PL_IK_LEN);
	u->spk_id = pl_rd_u32(&r);
	pl_rd_copy(&r, u->spk, PL_X25519_LEN);
	pl_rd_copy(&r, u->spk_sig, PL_SIG_LEN);
	u->opk_count = pl_rd_u16(&r);
	if (u->opk_count > PL_PROTO_BUNDLE_MAX_OPK)
		pl_rd_fail(&r);
	for (size_t i = 0; i < u->opk_count && r.err == 0; i++) {
		u->opk[i].id = pl_rd_u32(&r);
		pl_rd_copy(&r, u->opk[i].pub, PL_X25519_LEN);
		if (u->opk[i].id == 0)
			pl_rd_fail(&r);
		for (size_t j = 0; j < i; j++)
			if (u->opk[j].id == u->opk[i].id)
				pl_rd_fail(&r);
	}
	if (pl_rd_done(&r) != 0 || pl_ik_validate(u->ik) != 0 ||
	    pl_proto_spk_verify(u->ik, u->spk_id, u->spk, u->spk_sig) != 0) {
		memset(u, 0, sizeof *u);
		return -1;
	}
	return 0;
}

/* ---- token ----------------------------------------------------------- */

void pl_proto_token_hash(uint8_t hash[static PL_PROTO_TOKEN_HASH_LEN],
			 const uint8_t token[static PL_PROTO_TOKEN_LEN])
{
	pl_sha256(hash, token, PL_PROTO_TOKEN_LEN);
}

void pl_proto_token_encode(uint8_t out[static PL_PROTO_TOKEN_BODY_LEN],
			   const uint8_t hash[static PL_PROTO_TOKEN_HASH_LEN])
{
	out[0] = PL_PROTO_VERSION;
	memcpy(out + 1, hash, PL_PROTO_TOKEN_HASH_LEN);
}

int pl_proto_token_decode(uint8_t hash[static PL_PROTO_TOKEN_HASH_LEN], const uint8_t *p, size_t n)
{
	pl_rd r;
	uint8_t t[PL_PROTO_TOKEN_HASH_LEN];

	pl_rd_init(&r, p, n);
	if (pl_rd_u8(&r) != PL_PROTO_VERSION)
		pl_rd_fail(&r);
	pl_rd_copy(&r, t, sizeof t);
	if (pl_rd_done(&r) != 0) {
		memset(hash, 0, PL_PROTO_TOKEN_HASH_LEN);
		return -1;
	}
	memcpy(hash, t, sizeof t);
	return 0;
}

/* ---- grant ----------------------------------------------------------- */

int pl_proto_grant_encode(pl_wr *w, const uint8_t *blob, size_t bloblen)
{
	if (bloblen == 0 || bloblen > PL_PROTO_GRANT_BLOB_MAX)
		return -1;
	pl_wr_u8(w, PL_PROTO_VERSION);
	pl_wr_var(w, blob, bloblen);
	return pl_wr_ok(w);
}

int pl_proto_grant_decode(const uint8_t **blob, size_t *bloblen, const uint8_t *p, size_t n)
{
	pl_rd r;
	size_t len = 0;
	const uint8_t *b;

	*blob = NULL;
	*bloblen = 0;
	pl_rd_init(&r, p, n);
	if (pl_rd_u8(&r) != PL_PROTO_VERSION)
		pl_rd_fail(&r);
	b = pl_rd_var(&r, PL_PROTO_GRANT_BLOB_MAX, &len);
	if (pl_rd_done(&r) != 0 || len == 0)
		return -1;
	*blob = b;
	*bloblen = len;
	return 0;
}

/* ---- transparency log bodies ----------------------------------------- */

int pl_proto_proof_encode(pl_wr *w, const uint8_t (*proof)[32], size_t n)
{
	if (n > PL_PROTO_PROOF_MAX)
		return -1;
	pl_wr_u8(w, PL_PROTO_VERSION);
	pl_wr_u8(w, (uint8_t)n);
	for (size_t i = 0; i < n; i++)
		pl_wr_bytes(w, proof[i], 32);
	return pl_wr_ok(w);
}

int pl_proto_proof_decode(uint8_t (*proof)[32], size_t *n, const uint8_t *p, size_t len)
{
	pl_rd r;
	size_t k;

	*n = 0;
	pl_rd_init(&r, p, len);
	if (pl_rd_u8(&r) != PL_PROTO_VERSION)
		pl_rd_fail(&r);
	k = pl_rd_u8(&r);
	if (k > PL_PROTO_PROOF_MAX)
		pl_rd_fail(&r);
	for (size_t i = 0; i < k && r.err == 0; i++)
		pl_rd_copy(&r, proof[i], 32);
	if (pl_rd_done(&r) != 0) {
		memset(proof, 0, PL_PROTO_PROOF_MAX * 32);
		return -1;
	}
	*n = k;
	return 0;
}

void pl_proto_leaves_encode_begin(pl_wr *w, uint32_t count)
{
	pl_wr_u8(w, PL_PROTO_VERSION);
	pl_wr_u32(w, count);
}

int pl_proto_leaves_decode(pl_proto_leaves *l, const uint8_t *p, size_t n)
{
	pl_rd r;
	pl_leaf leaf;

	memset(l, 0, sizeof *l);
	pl_rd_init(&r, p, n);
	if (pl_rd_u8(&r) != PL_PROTO_VERSION)
		pl_rd_fail(&r);
	l->count = pl_rd_u32(&r);
	if (l->count > PL_PROTO_LEAVES_MAX)
		pl_rd_fail(&r);
	for (uint32_t i = 0; i < l->count && r.err == 0; i++) {
		l->leaf[i].p = pl_rd_var(&r, PL_LEAF_MAX, &l->leaf[i].n);
		if (r.err == 0 && pl_leaf_decode(&leaf, l->leaf[i].p, l->leaf[i].n) != 0)
			pl_rd_fail(&r);
	}
	if (pl_rd_done(&r) != 0) {
		memset(l, 0, sizeof *l);
		return -1;
	}
	return 0;
}

/* ---- listing --------------------------------------------------------- */

void pl_proto_listing_encode_begin(pl_wr *w, uint16_t prekeys, uint32_t count)
{
	pl_wr_u8(w, PL_PROTO_LISTING_VERSION);
	pl_wr_u16(w, prekeys);
	pl_wr_u32(w, count);
}

void pl_proto_listing_encode_item(pl_wr *w, uint64_t seq, uint64_t time, const uint8_t *env,
				  size_t envlen)
{
	pl_wr_u64(w, seq);
	pl_wr_u64(w, time);
	pl_wr_var(w, env, envlen);
}

int pl_proto_listing_encode(pl_wr *w, const pl_proto_listing *l)
{
	if (l->count > PL_PROTO_LISTING_MAX)
		return -1;
	pl_proto_listing_encode_begin(w, l->prekeys, l->count);
	for (uint32_t i = 0; i < l->count; i++)
		pl_proto_listing_encode_item(w, l->item[i].seq, l->item[i].time, l->item[i].env,
					     l->item[i].envlen);
	return pl_wr_ok(w);
}

int pl_proto_listing_decode(pl_proto_listing *l, const uint8_t *p, size_t n)
{
	pl_rd r;
	uint64_t prev = 0;

	memset(l, 0, sizeof *l);
	pl_rd_init(&r, p, n);
	if (pl_rd_u8(&r) != PL_PROTO_LISTING_VERSION)
		pl_rd_fail(&r);
	l->prekeys = pl_rd_u16(&r);
	l->count = pl_rd_u32(&r);
	if (l->count > PL_PROTO_LISTING_MAX)
		pl_rd_fail(&r);
	for (uint32_t i = 0; i < l->count && r.err == 0; i++) {
		pl_proto_listing_item *it = &l->item[i];
		it->seq = pl_rd_u64(&r);
		it->time = pl_rd_u64(&r);
		it->env = pl_rd_var(&r, PL_ENVELOPE_MAX, &it->envlen);
		if (r.err == 0 && (it->seq <= prev || !pl_envelope_size_ok(it->envlen)))
			pl_rd_fail(&r);
		prev = it->seq;
	}
	if (pl_rd_done(&r) != 0) {
		memset(l, 0, sizeof *l);
		return -1;
	}
	return 0;
}

/* ---- one mailbox's leaves ------------------------------------------- */

int pl_proto_mbxlog_kind_type(int kind)
{
	switch (kind) {
	case PL_PROTO_MBXLOG_ANY:
		return 0;
	case PL_PROTO_MBXLOG_DEPOSIT:
		return PL_PROTO_MBXLOG_DEPOSIT_LEAF;
	case PL_PROTO_MBXLOG_ACK:
		return PL_PROTO_MBXLOG_ACK_LEAF;
	default:
		return -1;
	}
}

void pl_proto_mbxlog_encode_begin(pl_wr *w, uint32_t count)
{
	pl_wr_u8(w, PL_PROTO_VERSION);
	pl_wr_u32(w, count);
}

void pl_proto_mbxlog_encode_item(pl_wr *w, uint64_t index, const uint8_t *leaf, size_t leaflen,
				 const uint8_t (*proof)[32], size_t prooflen)
{
	pl_wr_u64(w, index);
	pl_wr_var(w, leaf, leaflen);
	pl_wr_u8(w, (uint8_t)prooflen);
	for (size_t i = 0; i < prooflen; i++)
		pl_wr_bytes(w, proof[i], 32);
}

int pl_proto_mbxlog_decode(pl_proto_mbxlog *m, const uint8_t *p, size_t n,
			   const uint8_t mbx[static 32], uint64_t start, uint64_t size, int kind)
{
	pl_rd r;
	pl_leaf leaf;
	int want = pl_proto_mbxlog_kind_type(kind);

	memset(m, 0, sizeof *m);
	pl_rd_init(&r, p, n);
	if (pl_rd_u8(&r) != PL_PROTO_VERSION || want < 0)
		pl_rd_fail(&r);
	m->count = pl_rd_u32(&r);
	if (m->count > PL_PROTO_MBXLOG_MAX)
		pl_rd_fail(&r);
	for (uint32_t i = 0; i < m->count && r.err == 0; i++) {
		pl_proto_mbxlog_item *it = &m->item[i];
		it->index = pl_rd_u64(&r);
		it->leaf = pl_rd_var(&r, PL_LEAF_MAX, &it->leaflen);
		it->prooflen = pl_rd_u8(&r);
		if (it->prooflen > PL_PROTO_MBXLOG_PROOF_MAX)
			pl_rd_fail(&r);
		it->proof = (const uint8_t(*)[32])pl_rd_bytes(&r, it->prooflen * 32);
		if (r.err != 0)
			break;
		if (it->index < start || it->index >= size ||
		    (i > 0 && it->index <= m->item[i - 1].index) ||
		    pl_leaf_decode(&leaf, it->leaf, it->leaflen) != 0 ||
		    memcmp(leaf.mbx, mbx, 32) != 0 || (want != 0 && leaf.type != want) ||
		    (leaf.type != PL_PROTO_MBXLOG_DEPOSIT_LEAF &&
		     leaf.type != PL_PROTO_MBXLOG_ACK_LEAF)) {
			pl_rd_fail(&r);
			break;
		}
		it->type = leaf.type;
	}
	if (pl_rd_done(&r) != 0) {
		memset(m, 0, sizeof *m);
		return -1;
	}
	return 0;
}

/* ---- ids in paths -------------------------------------------------- */

int pl_proto_parse_id_hex(uint8_t out[static 32], const char *s, size_t len)
{
	char buf[65];

	memset(out, 0, 32);
	if (s == NULL || len != 64)
		return -1;
	for (size_t i = 0; i < 64; i++) {
		char c = s[i];
		if (!((c >= '0' && c <= '9') || (c >= 'a' && c <= 'f')))
			return -1;
		buf[i] = c;
	}
	buf[64] = '\0';
	return pl_hex_decode(out, 32, buf);
}
