/*
 * proto.c — encoders, strict decoders and signatures of the relay protocol
 * (see proto.h and docs/PROTOCOL.md, "Relay HTTP API").
 *
 * It owns the exact bytes of every relay body and of the owner-auth signed
 * string; receipts are checked against the relay log's checkpoint format
 * (log/leaf.h, log/note.h, log/merkle.h). It must never accept a body with a wrong version,
 * trailing bytes or an oversize count, never report success with a
 * half-filled output, and never do I/O.
 */
#include "relay/proto.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "crypto/kdf.h"
#include "envelope/envelope.h"
#include "log/leaf.h"
#include "log/merkle.h"
#include "log/note.h"
#include "util/codec.h"

_Static_assert(PL_PROTO_PROOF_MAX == PL_MERKLE_PROOF_MAX, "a proof body holds any proof");
_Static_assert(PL_PROTO_RECEIPT_PROOF_MAX + 1 == PL_MERKLE_PROOF_MAX,
	       "inclusion proofs are shorter");
_Static_assert(PL_PROTO_LEAVES_BODY_MAX == 1 + 4 + PL_PROTO_LEAVES_MAX * (4 + PL_LEAF_MAX),
	       "leaves body bound");
_Static_assert(PL_LEAF_NOTE_MAX <= PL_PROTO_RECEIPT_NOTE_MAX, "the relay's notes fit a receipt");

#define SPK_TAG "parley spk v1"
#define AUTH_TAG "parley-auth-v1\n"

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

/* ---- ack ------------------------------------------------------------- */

void pl_proto_ack_encode(uint8_t out[static PL_PROTO_ACK_BODY_LEN], uint64_t seq)
{
	out[0] = PL_PROTO_VERSION;
	pl_be64_put(out + 1, seq);
}

int pl_proto_ack_decode(uint64_t *seq, const uint8_t *p, size_t n)
{
	pl_rd r;
	uint64_t s;

	*seq = 0;
	pl_rd_init(&r, p, n);
	if (pl_rd_u8(&r) != PL_PROTO_VERSION)
		pl_rd_fail(&r);
	s = pl_rd_u64(&r);
	if (pl_rd_done(&r) != 0)
		return -1;
	*seq = s;
	return 0;
}

/* ---- receipt --------------------------------------------------------- */

size_t pl_proto_receipt_encode(uint8_t out[static PL_PROTO_RECEIPT_MAX], const pl_proto_receipt *r)
{
	size_t o = 0;

	if (r->notelen == 0 || r->notelen > PL_PROTO_RECEIPT_NOTE_MAX ||
	    r->prooflen > PL_PROTO_RECEIPT_PROOF_MAX)
		return 0;
	out[o++] = PL_PROTO_RECEIPT_VERSION;
	memcpy(out + o, r->mbx, PL_MAILBOX_LEN);
	o += PL_MAILBOX_LEN;
	pl_be64_put(out + o, r->seq);
	o += 8;
	pl_be64_put(out + o, r->time);
	o += 8;
	memcpy(out + o, r->hash, PL_PROTO_HASH_LEN);
	o += PL_PROTO_HASH_LEN;
	pl_be64_put(out + o, r->index);
	o += 8;
	pl_be32_put(out + o, (uint32_t)r->notelen);
	o += 4;
	memcpy(out + o, r->note, r->notelen);
	o += r->notelen;
	out[o++] = (uint8_t)r->prooflen;
	memcpy(out + o, r->proof, r->prooflen * 32);
	o += r->prooflen * 32;
	memset(out + o, 0, PL_PROTO_RECEIPT_MAX - o);
	return o;
}

int pl_proto_receipt_decode(pl_proto_receipt *r, const uint8_t *p, size_t n)
{
	pl_rd rd;
	const uint8_t *note;
	size_t np = 0;

	memset(r, 0, sizeof *r);
	pl_rd_init(&rd, p, n);
	if (pl_rd_u8(&rd) != PL_PROTO_RECEIPT_VERSION)
		pl_rd_fail(&rd);
	pl_rd_copy(&rd, r->mbx, PL_MAILBOX_LEN);
	r->seq = pl_rd_u64(&rd);
	r->time = pl_rd_u64(&rd);
	pl_rd_copy(&rd, r->hash, PL_PROTO_HASH_LEN);
	r->index = pl_rd_u64(&rd);
	note = pl_rd_var(&rd, PL_PROTO_RECEIPT_NOTE_MAX, &r->notelen);
	if (note != NULL && r->notelen > 0)
		memcpy(r->note, note, r->notelen);
	np = pl_rd_u8(&rd);
	if (np > PL_PROTO_RECEIPT_PROOF_MAX)
		pl_rd_fail(&rd);
	for (size_t i = 0; i < np && rd.err == 0; i++)
		pl_rd_copy(&rd, r->proof[i], 32);
	r->prooflen = np;
	if (pl_rd_done(&rd) != 0 || r->seq == 0 || r->notelen == 0) {
		memset(r, 0, sizeof *r);
		return -1;
	}
	return 0;
}

int pl_proto_receipt_verify(const pl_proto_receipt *r, const uint8_t relay_pk[static PL_IK_LEN],
			    const uint8_t *expected_hash)
{
	pl_checkpoint c;
	pl_leaf l;
	uint8_t h[PL_MERKLE_HASH_LEN];

	if (expected_hash != NULL && sodium_memcmp(expected_hash, r->hash, PL_PROTO_HASH_LEN) != 0)
		return -1;
	if (r->notelen == 0 || r->notelen > PL_PROTO_RECEIPT_NOTE_MAX ||
	    r->prooflen > PL_PROTO_RECEIPT_PROOF_MAX ||
	    pl_leaf_checkpoint_open(&c, r->note, r->notelen, relay_pk) != 0 || r->index >= c.size)
		return -1;
	memset(&l, 0, sizeof l);
	l.type = PL_LEAF_DEPOSIT;
	memcpy(l.mbx, r->mbx, PL_MAILBOX_LEN);
	memcpy(l.hash, r->hash, PL_PROTO_HASH_LEN);
	l.seq = r->seq;
	l.relay_time = r->time;
	if (pl_leaf_hash_of(h, &l) != 0)
		return -1;
	return pl_merkle_verify_inclusion(h, r->index, c.size, (const uint8_t(*)[32])r->proof,
					  r->prooflen, c.root);
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

/* ---- owner auth ------------------------------------------------------ */

int pl_proto_parse_u64(uint64_t *out, const char *s)
{
	uint64_t v = 0;
	size_t i;

	*out = 0;
	if (s == NULL || s[0] == '\0' || (s[0] == '0' && s[1] != '\0'))
		return -1;
	for (i = 0; s[i] != '\0'; i++) {
		unsigned d;
		if (s[i] < '0' || s[i] > '9' || i >= 20)
			return -1;
		d = (unsigned)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			return -1;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

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

/* Lowercase hex only, exactly n bytes. */
static int parse_hex_lower(uint8_t *out, size_t n, const char *s)
{
	if (s == NULL || strlen(s) != 2 * n)
		return -1;
	for (size_t i = 0; i < 2 * n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return -1;
	return pl_hex_decode(out, n, s);
}

/* Builds the signed string into a writer. */
static int auth_msg(pl_wr *w, const char *method, const char *path_query, const char *time_str,
		    const char *nonce_hex, const uint8_t *body, size_t bodylen)
{
	uint8_t h[PL_SHA256_LEN];
	char hh[2 * PL_SHA256_LEN + 1];

	if (method == NULL || path_query == NULL || strchr(method, '\n') != NULL ||
	    strchr(path_query, '\n') != NULL)
		return -1;
	pl_sha256(h, body, bodylen);
	pl_hex_encode(hh, h, sizeof h);
	pl_wr_bytes(w, (const uint8_t *)AUTH_TAG, sizeof AUTH_TAG - 1);
	pl_wr_bytes(w, (const uint8_t *)method, strlen(method));
	pl_wr_u8(w, '\n');
	pl_wr_bytes(w, (const uint8_t *)path_query, strlen(path_query));
	pl_wr_u8(w, '\n');
	pl_wr_bytes(w, (const uint8_t *)time_str, strlen(time_str));
	pl_wr_u8(w, '\n');
	pl_wr_bytes(w, (const uint8_t *)nonce_hex, strlen(nonce_hex));
	pl_wr_u8(w, '\n');
	pl_wr_bytes(w, (const uint8_t *)hh, strlen(hh));
	pl_wr_u8(w, '\n');
	return pl_wr_ok(w);
}

int pl_proto_auth_sign(pl_proto_auth *a, const pl_identity *id, const char *method,
		       const char *path_query, const uint8_t *body, size_t bodylen, uint64_t now)
{
	uint8_t nonce[PL_PROTO_NONCE_LEN], sig[PL_SIG_LEN];
	pl_proto_auth t;
	pl_wr w;
	int rc = -1;

	memset(a, 0, sizeof *a);
	randombytes_buf(nonce, sizeof nonce);
	pl_hex_encode(t.key, id->pk, PL_IK_LEN);
	snprintf(t.time, sizeof t.time, "%llu", (unsigned long long)now);
	pl_hex_encode(t.nonce, nonce, sizeof nonce);
	pl_wr_init(&w);
	if (auth_msg(&w, method, path_query, t.time, t.nonce, body, bodylen) == 0 &&
	    crypto_sign_detached(sig, NULL, w.p, w.n, id->sk) == 0) {
		pl_hex_encode(t.sig, sig, sizeof sig);
		*a = t;
		rc = 0;
	}
	pl_wr_free(&w);
	return rc;
}

int pl_proto_auth_verify(uint8_t key_out[static PL_IK_LEN], uint8_t mbx_out[static PL_MAILBOX_LEN],
			 uint8_t nonce_out[static PL_PROTO_NONCE_LEN], const uint8_t *mbx,
			 const char *method, const char *path_query, const char *key_hex,
			 const char *time_str, const char *nonce_hex, const char *sig_hex,
			 const uint8_t *body, size_t bodylen, uint64_t now, const char **why)
{
	uint8_t key[PL_IK_LEN], m[PL_MAILBOX_LEN], nonce[PL_PROTO_NONCE_LEN], sig[PL_SIG_LEN];
	uint64_t t;
	pl_wr w;
	const char *reason = NULL;

	memset(key_out, 0, PL_IK_LEN);
	memset(mbx_out, 0, PL_MAILBOX_LEN);
	memset(nonce_out, 0, PL_PROTO_NONCE_LEN);
	if (key_hex == NULL || time_str == NULL || nonce_hex == NULL || sig_hex == NULL)
		reason = "missing Parley-Key, Parley-Time, Parley-Nonce or Parley-Sig header";
	else if (parse_hex_lower(key, sizeof key, key_hex) != 0 || pl_ik_validate(key) != 0)
		reason = "Parley-Key is not a valid key in lowercase hex";
	else if (pl_proto_parse_u64(&t, time_str) != 0)
		reason = "Parley-Time is not a decimal unix time";
	else if (parse_hex_lower(nonce, sizeof nonce, nonce_hex) != 0)
		reason = "Parley-Nonce is not 16 bytes in lowercase hex";
	else if (parse_hex_lower(sig, sizeof sig, sig_hex) != 0)
		reason = "Parley-Sig is not 64 bytes in lowercase hex";
	else if ((t > now ? t - now : now - t) > PL_PROTO_AUTH_WINDOW)
		reason = "Parley-Time is more than 300 s from the relay's clock";
	if (reason == NULL) {
		pl_mailbox_id(m, key);
		if (mbx != NULL && sodium_memcmp(m, mbx, PL_MAILBOX_LEN) != 0)
			reason = "Parley-Key does not own this mailbox";
	}
	if (reason == NULL) {
		pl_wr_init(&w);
		if (auth_msg(&w, method, path_query, time_str, nonce_hex, body, bodylen) != 0 ||
		    crypto_sign_verify_detached(sig, w.p, w.n, key) != 0)
			reason = "bad signature";
		pl_wr_free(&w);
	}
	if (reason != NULL) {
		if (why != NULL)
			*why = reason;
		return -1;
	}
	memcpy(key_out, key, PL_IK_LEN);
	memcpy(mbx_out, m, PL_MAILBOX_LEN);
	memcpy(nonce_out, nonce, PL_PROTO_NONCE_LEN);
	if (why != NULL)
		*why = NULL;
	return 0;
}
