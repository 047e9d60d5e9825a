/*
 * test_relay_proto.c — round trips and rejections of every relay body codec
 * in src/relay/proto.c, the checkpoint-signed receipt (v2), the log's proof
 * and leaves bodies, and the owner-auth scheme.
 * Pure computation: no network, no files.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "auth/auth.h"
#include "log/leaf.h"
#include "log/merkle.h"
#include "log/receipt.h"
#include "relay/proto.h"

static int setup(void **state)
{
	(void)state;
	return sodium_init() < 0 ? -1 : 0;
}

/* Every strict prefix of a valid encoding must be refused. */
typedef int (*decode_fn)(const uint8_t *p, size_t n);

static void check_prefixes_and_trailing(decode_fn f, const uint8_t *p, size_t n)
{
	uint8_t *buf = malloc(n + 1);
	assert_non_null(buf);
	memcpy(buf, p, n);
	assert_int_equal(f(buf, n), 0);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(f(buf, i), -1);
	buf[n] = 0;
	assert_int_equal(f(buf, n + 1), -1);
	buf[0] = (uint8_t)(p[0] + 1); /* the next version */
	assert_int_equal(f(buf, n), -1);
	buf[0] = 0;
	assert_int_equal(f(buf, n), -1);
	free(buf);
}

/* ---- relay key ------------------------------------------------------- */

static int dec_relay_key(const uint8_t *p, size_t n)
{
	uint8_t pk[PL_IK_LEN];
	return pl_proto_relay_key_decode(pk, p, n);
}

static void test_relay_key(void **state)
{
	(void)state;
	pl_identity id;
	uint8_t buf[PL_PROTO_RELAY_KEY_LEN], pk[PL_IK_LEN];

	assert_int_equal(pl_identity_generate(&id), 0);
	pl_proto_relay_key_encode(buf, id.pk);
	assert_int_equal(sizeof buf, 33);
	assert_int_equal(buf[0], 1);
	assert_int_equal(pl_proto_relay_key_decode(pk, buf, sizeof buf), 0);
	assert_memory_equal(pk, id.pk, PL_IK_LEN);
	check_prefixes_and_trailing(dec_relay_key, buf, sizeof buf);
	/* small-order point (all zero) is not a key */
	memset(buf + 1, 0, PL_IK_LEN);
	assert_int_equal(pl_proto_relay_key_decode(pk, buf, sizeof buf), -1);
	pl_identity_wipe(&id);
}

/* ---- bundle upload --------------------------------------------------- */

static void make_upload(pl_proto_bundle_upload *u, const pl_identity *id, uint16_t nopk)
{
	uint8_t m[13 + 4 + 32];

	memset(u, 0, sizeof *u);
	memcpy(u->ik, id->pk, PL_IK_LEN);
	u->spk_id = 7;
	randombytes_buf(u->spk, sizeof u->spk);
	memcpy(m, "parley spk v1", 13);
	m[13] = 0;
	m[14] = 0;
	m[15] = 0;
	m[16] = 7;
	memcpy(m + 17, u->spk, 32);
	crypto_sign_detached(u->spk_sig, NULL, m, sizeof m, id->sk);
	u->opk_count = nopk;
	for (uint16_t i = 0; i < nopk; i++) {
		u->opk[i].id = 100u + i;
		randombytes_buf(u->opk[i].pub, 32);
	}
}

static int dec_upload(const uint8_t *p, size_t n)
{
	static pl_proto_bundle_upload u;
	return pl_proto_bundle_upload_decode(&u, p, n);
}

static void test_bundle_upload(void **state)
{
	(void)state;
	pl_identity id;
	static pl_proto_bundle_upload u, v;
	pl_wr w;

	assert_int_equal(pl_identity_generate(&id), 0);
	make_upload(&u, &id, 3);
	assert_int_equal(pl_proto_spk_verify(u.ik, u.spk_id, u.spk, u.spk_sig), 0);
	pl_wr_init(&w);
	assert_int_equal(pl_proto_bundle_upload_encode(&w, &u), 0);
	assert_int_equal(w.n, PL_PROTO_BUNDLE_UPLOAD_MIN + 3 * PL_PROTO_OPK_ENTRY_LEN);
	assert_int_equal(pl_proto_bundle_upload_decode(&v, w.p, w.n), 0);
	assert_memory_equal(&u, &v, sizeof u);
	check_prefixes_and_trailing(dec_upload, w.p, w.n);

	/* a flipped bit anywhere in IK, spk or the signature is refused */
	for (size_t i = 1; i < 1 + 32 + 4 + 32 + 64; i++) {
		w.p[i] ^= 0x10;
		assert_int_equal(pl_proto_bundle_upload_decode(&v, w.p, w.n), -1);
		w.p[i] ^= 0x10;
	}
	/* count larger than the opks present */
	w.p[PL_PROTO_BUNDLE_UPLOAD_MIN - 1] = 4;
	assert_int_equal(pl_proto_bundle_upload_decode(&v, w.p, w.n), -1);
	w.p[PL_PROTO_BUNDLE_UPLOAD_MIN - 1] = 3;
	/* opk id 0 */
	memset(w.p + PL_PROTO_BUNDLE_UPLOAD_MIN, 0, 4);
	assert_int_equal(pl_proto_bundle_upload_decode(&v, w.p, w.n), -1);
	/* duplicate id */
	memcpy(w.p + PL_PROTO_BUNDLE_UPLOAD_MIN, w.p + PL_PROTO_BUNDLE_UPLOAD_MIN + 36, 4);
	assert_int_equal(pl_proto_bundle_upload_decode(&v, w.p, w.n), -1);
	pl_wr_free(&w);

	/* zero and the maximum number of opks */
	make_upload(&u, &id, 0);
	pl_wr_init(&w);
	assert_int_equal(pl_proto_bundle_upload_encode(&w, &u), 0);
	assert_int_equal(w.n, PL_PROTO_BUNDLE_UPLOAD_MIN);
	assert_int_equal(pl_proto_bundle_upload_decode(&v, w.p, w.n), 0);
	pl_wr_free(&w);
	make_upload(&u, &id, 100);
	pl_wr_init(&w);
	assert_int_equal(pl_proto_bundle_upload_encode(&w, &u), 0);
	assert_int_equal(w.n, PL_PROTO_BUNDLE_UPLOAD_MAX);
	assert_int_equal(pl_proto_bundle_upload_decode(&v, w.p, w.n), 0);
	pl_wr_free(&w);

	/* 101 opks: the encoder refuses, and a hand-made body is refused */
	u.opk_count = 101;
	pl_wr_init(&w);
	assert_int_equal(pl_proto_bundle_upload_encode(&w, &u), -1);
	pl_wr_free(&w);
	u.opk_count = 100;
	pl_wr_init(&w);
	assert_int_equal(pl_proto_bundle_upload_encode(&w, &u), 0);
	pl_wr_bytes(&w,
		    (const uint8_t *)"\0\0\0\x01"
				     "0123456789abcdef0123456789abcdef",
		    36);
	w.p[PL_PROTO_BUNDLE_UPLOAD_MIN - 1] = 101;
	assert_int_equal(pl_proto_bundle_upload_decode(&v, w.p, w.n), -1);
	pl_wr_free(&w);
	u.opk[0].id = 0;
	pl_wr_init(&w);
	assert_int_equal(pl_proto_bundle_upload_encode(&w, &u), -1);
	pl_wr_free(&w);
	pl_identity_wipe(&id);
}

/* ---- token, grant, ack ----------------------------------------------- */

static int dec_token(const uint8_t *p, size_t n)
{
	uint8_t h[32];
	return pl_proto_token_decode(h, p, n);
}

static int dec_grant(const uint8_t *p, size_t n)
{
	const uint8_t *b;
	size_t bl;
	return pl_proto_grant_decode(&b, &bl, p, n);
}

static int dec_ack(const uint8_t *p, size_t n)
{
	pl_auth_ack a;
	return pl_auth_ack_decode(&a, p, n);
}

static void test_token_grant_ack(void **state)
{
	(void)state;
	uint8_t tok[32], h[32], h2[32], body[PL_PROTO_TOKEN_BODY_LEN], ack[PL_AUTH_ACK_BODY_MAX];
	uint8_t blob[300];
	const uint8_t *b;
	size_t bl;
	pl_wr w;

	randombytes_buf(tok, sizeof tok);
	pl_proto_token_hash(h, tok);
	assert_int_equal(crypto_hash_sha256_BYTES, 32);
	{
		uint8_t ref[32];
		crypto_hash_sha256(ref, tok, sizeof tok);
		assert_memory_equal(ref, h, 32);
	}
	pl_proto_token_encode(body, h);
	assert_int_equal(pl_proto_token_decode(h2, body, sizeof body), 0);
	assert_memory_equal(h, h2, 32);
	check_prefixes_and_trailing(dec_token, body, sizeof body);

	randombytes_buf(blob, sizeof blob);
	pl_wr_init(&w);
	assert_int_equal(pl_proto_grant_encode(&w, blob, 72), 0);
	assert_int_equal(w.n, 1 + 4 + 72);
	assert_int_equal(pl_proto_grant_decode(&b, &bl, w.p, w.n), 0);
	assert_int_equal(bl, 72);
	assert_memory_equal(b, blob, 72);
	check_prefixes_and_trailing(dec_grant, w.p, w.n);
	pl_wr_free(&w);
	pl_wr_init(&w);
	assert_int_equal(pl_proto_grant_encode(&w, blob, 256), 0);
	assert_int_equal(pl_proto_grant_decode(&b, &bl, w.p, w.n), 0);
	pl_wr_free(&w);
	pl_wr_init(&w);
	assert_int_equal(pl_proto_grant_encode(&w, blob, 257), -1);
	assert_int_equal(pl_proto_grant_encode(&w, blob, 0), -1);
	pl_wr_free(&w);
	/* hand-made: 257-byte blob and empty blob are refused */
	pl_wr_init(&w);
	pl_wr_u8(&w, 1);
	pl_wr_var(&w, blob, 257);
	assert_int_equal(pl_proto_grant_decode(&b, &bl, w.p, w.n), -1);
	assert_null(b);
	pl_wr_free(&w);
	pl_wr_init(&w);
	pl_wr_u8(&w, 1);
	pl_wr_u32(&w, 0);
	assert_int_equal(pl_proto_grant_decode(&b, &bl, w.p, w.n), -1);
	pl_wr_free(&w);
	/* length field far larger than the body */
	{
		uint8_t big[] = {1, 0xff, 0xff, 0xff, 0xff, 1, 2, 3};
		assert_int_equal(pl_proto_grant_decode(&b, &bl, big, sizeof big), -1);
	}

	{
		pl_auth_ack a, d;
		size_t an;
		memset(&a, 0, sizeof a);
		a.through = 0x0102030405060708ull;
		a.n = 2;
		a.name[0].seq = 5;
		memset(a.name[0].hash, 0xa5, 32);
		a.name[1].seq = a.through;
		memset(a.name[1].hash, 0x5a, 32);
		an = pl_auth_ack_encode(ack, &a);
		assert_int_equal(an, PL_AUTH_ACK_BODY_MIN + 2 * PL_AUTH_ACK_NAME_LEN);
		assert_int_equal(pl_auth_ack_decode(&d, ack, an), 0);
		assert_true(d.through == 0x0102030405060708ull && d.n == 2 && d.name[0].seq == 5);
		assert_int_equal(pl_auth_ack_names(&d, 5, a.name[0].hash), 1);
		assert_int_equal(pl_auth_ack_names(&d, 5, a.name[1].hash), 0);
		check_prefixes_and_trailing(dec_ack, ack, an);
	}
}

/* ---- receipt --------------------------------------------------------- */

static int dec_receipt(const uint8_t *p, size_t n)
{
	static pl_receipt r;
	return pl_receipt_decode(&r, p, n);
}

/* A small log in memory: leaf hashes in an array. */
typedef struct {
	uint8_t h[64][32];
} arr_log;

static int arr_leaf(void *ctx, uint64_t i, uint8_t out[32])
{
	arr_log *a = ctx;
	if (i >= 64)
		return -1;
	memcpy(out, a->h[i], 32);
	return 0;
}

/* A receipt for r's deposit as leaf `index` of a log of `size` random
 * leaves, signed with sk. */
static void make_receipt(pl_receipt *r, uint64_t index, uint64_t size, const uint8_t *sk)
{
	static arr_log a;
	pl_merkle_source src = {arr_leaf, NULL, &a};
	uint8_t root[32], proof[PL_MERKLE_PROOF_MAX][32];
	pl_leaf l;

	memset(&l, 0, sizeof l);
	l.type = PL_LEAF_DEPOSIT;
	memcpy(l.mbx, r->mbx, 32);
	memcpy(l.hash, r->hash, 32);
	l.seq = r->seq;
	l.relay_time = r->time;
	for (uint64_t i = 0; i < size; i++)
		randombytes_buf(a.h[i], 32);
	assert_int_equal(pl_leaf_hash_of(a.h[index], &l), 0);
	assert_int_equal(pl_merkle_root(&src, size, root), 0);
	assert_int_equal(pl_merkle_prove_inclusion(&src, index, size, proof, &r->prooflen), 0);
	memcpy(r->proof, proof, r->prooflen * 32);
	r->index = index;
	assert_int_equal(
	    pl_leaf_checkpoint_sign(r->note, sizeof r->note, &r->notelen, size, root, sk), 0);
}

static void test_receipt(void **state)
{
	(void)state;
	pl_identity relay, other;
	static pl_receipt r, d;
	static uint8_t buf[PL_RECEIPT_MAX], b2[PL_RECEIPT_MAX + 1];
	uint8_t h2[32];
	size_t n;

	assert_int_equal(pl_identity_generate(&relay), 0);
	assert_int_equal(pl_identity_generate(&other), 0);
	memset(&r, 0, sizeof r);
	randombytes_buf(r.mbx, sizeof r.mbx);
	r.seq = 42;
	r.time = 1700000000;
	randombytes_buf(r.hash, sizeof r.hash);
	make_receipt(&r, 5, 13, relay.sk);
	assert_int_equal(r.prooflen, 4);
	n = pl_receipt_encode(buf, &r);
	assert_int_equal(n, PL_RECEIPT_FIXED_LEN + 4 + r.notelen + 1 + 4 * 32);
	assert_int_equal(buf[0], 2);
	for (size_t i = n; i < sizeof buf; i++)
		assert_int_equal(buf[i], 0); /* the rest of the buffer is zeroed */
	assert_int_equal(pl_receipt_decode(&d, buf, n), 0);
	assert_memory_equal(&r, &d, sizeof r);
	assert_int_equal(pl_receipt_verify(&d, relay.pk, NULL), 0);
	assert_int_equal(pl_receipt_verify(&d, relay.pk, r.hash), 0);
	/* every strict prefix, a trailing byte, other versions */
	memcpy(b2, buf, n);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(dec_receipt(b2, i), -1);
	b2[n] = 0;
	assert_int_equal(dec_receipt(b2, n + 1), -1);
	for (int v = 0; v < 256; v++) {
		b2[0] = (uint8_t)v;
		assert_int_equal(dec_receipt(b2, n), v == 2 ? 0 : -1);
	}

	/* wrong relay key, wrong expected hash */
	assert_int_equal(pl_receipt_verify(&d, other.pk, NULL), -1);
	memcpy(h2, r.hash, 32);
	h2[5] ^= 1;
	assert_int_equal(pl_receipt_verify(&d, relay.pk, h2), -1);
	/* any flipped bit is refused by the decoder or the verifier */
	for (size_t i = 1; i < n; i++) {
		buf[i] ^= 0x01;
		if (pl_receipt_decode(&d, buf, n) == 0)
			assert_int_equal(pl_receipt_verify(&d, relay.pk, NULL), -1);
		buf[i] ^= 0x01;
	}
	/* a proof one hash short or long, an index outside the checkpoint */
	d = r;
	d.prooflen--;
	assert_int_equal(pl_receipt_verify(&d, relay.pk, NULL), -1);
	d = r;
	d.prooflen++;
	assert_int_equal(pl_receipt_verify(&d, relay.pk, NULL), -1);
	d = r;
	d.index = 13;
	assert_int_equal(pl_receipt_verify(&d, relay.pk, NULL), -1);
	d = r;
	d.index = 4; /* another leaf of the same tree */
	assert_int_equal(pl_receipt_verify(&d, relay.pk, NULL), -1);
	/* a checkpoint signed under another key's origin */
	d = r;
	make_receipt(&d, 5, 13, other.sk);
	assert_int_equal(pl_receipt_verify(&d, relay.pk, NULL), -1);
	assert_int_equal(pl_receipt_verify(&d, other.pk, NULL), 0);
	/* one-leaf log: empty proof */
	d = r;
	make_receipt(&d, 0, 1, relay.sk);
	assert_int_equal(d.prooflen, 0);
	n = pl_receipt_encode(buf, &d);
	assert_int_equal(pl_receipt_decode(&d, buf, n), 0);
	assert_int_equal(pl_receipt_verify(&d, relay.pk, r.hash), 0);

	/* the encoder refuses what the decoder would */
	d = r;
	d.notelen = 0;
	assert_int_equal(pl_receipt_encode(buf, &d), 0);
	d.notelen = PL_RECEIPT_NOTE_MAX + 1;
	assert_int_equal(pl_receipt_encode(buf, &d), 0);
	d = r;
	d.prooflen = PL_RECEIPT_PROOF_MAX + 1;
	assert_int_equal(pl_receipt_encode(buf, &d), 0);
	/* the decoder: seq 0, empty note, 65 proof hashes, oversized note */
	{
		pl_wr w;
		uint8_t z[32] = {0};
		for (int k = 0; k < 4; k++) {
			pl_wr_init(&w);
			pl_wr_u8(&w, 2);
			pl_wr_bytes(&w, r.mbx, 32);
			pl_wr_u64(&w, k == 0 ? 0 : 1);
			pl_wr_u64(&w, 1);
			pl_wr_bytes(&w, r.hash, 32);
			pl_wr_u64(&w, 0);
			if (k == 1)
				pl_wr_var(&w, NULL, 0);
			else if (k == 3)
				pl_wr_var(&w, buf, PL_RECEIPT_NOTE_MAX + 1);
			else
				pl_wr_var(&w, r.note, r.notelen);
			pl_wr_u8(&w, k == 2 ? 65 : 0);
			for (int i = 0; k == 2 && i < 65; i++)
				pl_wr_bytes(&w, z, 32);
			assert_int_equal(pl_wr_ok(&w), 0);
			assert_int_equal(dec_receipt(w.p, w.n), -1);
			pl_wr_free(&w);
		}
	}
	pl_identity_wipe(&relay);
	pl_identity_wipe(&other);
}

/* ---- log bodies ------------------------------------------------------ */

static int dec_proof(const uint8_t *p, size_t n)
{
	uint8_t proof[PL_PROTO_PROOF_MAX][32];
	size_t k;
	return pl_proto_proof_decode(proof, &k, p, n);
}

static int dec_leaves(const uint8_t *p, size_t n)
{
	static pl_proto_leaves l;
	return pl_proto_leaves_decode(&l, p, n);
}

static void test_log_bodies(void **state)
{
	(void)state;
	uint8_t proof[PL_PROTO_PROOF_MAX + 1][32], got[PL_PROTO_PROOF_MAX][32];
	uint8_t leaf[PL_LEAF_MAX];
	static pl_proto_leaves l;
	pl_leaf lf;
	size_t n, len;
	pl_wr w;

	randombytes_buf(proof, sizeof proof);
	for (size_t k = 0; k <= PL_PROTO_PROOF_MAX; k++) {
		pl_wr_init(&w);
		assert_int_equal(pl_proto_proof_encode(&w, (const uint8_t(*)[32])proof, k), 0);
		assert_int_equal(w.n, 2 + 32 * k);
		assert_int_equal(pl_proto_proof_decode(got, &n, w.p, w.n), 0);
		assert_int_equal(n, k);
		assert_memory_equal(got, proof, 32 * k);
		if (k == 3)
			check_prefixes_and_trailing(dec_proof, w.p, w.n);
		pl_wr_free(&w);
	}
	pl_wr_init(&w);
	assert_int_equal(
	    pl_proto_proof_encode(&w, (const uint8_t(*)[32])proof, PL_PROTO_PROOF_MAX + 1), -1);
	pl_wr_free(&w);
	{
		/* a count of 66 with 66 hashes */
		static uint8_t b[2 + 66 * 32];
		b[0] = 1;
		b[1] = 66;
		assert_int_equal(pl_proto_proof_decode(got, &n, b, sizeof b), -1);
	}

	/* leaves: one deposit, one fetch */
	memset(&lf, 0, sizeof lf);
	lf.type = PL_LEAF_DEPOSIT;
	lf.seq = 3;
	pl_wr_init(&w);
	pl_proto_leaves_encode_begin(&w, 2);
	len = pl_leaf_encode(leaf, &lf);
	pl_wr_var(&w, leaf, len);
	lf.type = PL_LEAF_ACK;
	len = pl_leaf_encode(leaf, &lf);
	pl_wr_var(&w, leaf, len);
	assert_int_equal(pl_wr_ok(&w), 0);
	assert_int_equal(pl_proto_leaves_decode(&l, w.p, w.n), 0);
	assert_int_equal(l.count, 2);
	assert_int_equal(l.leaf[0].n, PL_LEAF_DEPOSIT_LEN);
	assert_int_equal(l.leaf[1].n, PL_LEAF_ACK_MIN);
	check_prefixes_and_trailing(dec_leaves, w.p, w.n);
	/* an item that is not a leaf */
	w.p[1 + 4 + 4 + 1] = 9; /* the first leaf's type */
	assert_int_equal(pl_proto_leaves_decode(&l, w.p, w.n), -1);
	pl_wr_free(&w);
	/* a count above 1000 */
	pl_wr_init(&w);
	pl_proto_leaves_encode_begin(&w, PL_PROTO_LEAVES_MAX + 1);
	for (int i = 0; i <= PL_PROTO_LEAVES_MAX; i++)
		pl_wr_var(&w, leaf, len);
	assert_int_equal(pl_proto_leaves_decode(&l, w.p, w.n), -1);
	pl_wr_free(&w);
	/* an empty list is fine */
	pl_wr_init(&w);
	pl_proto_leaves_encode_begin(&w, 0);
	assert_int_equal(pl_proto_leaves_decode(&l, w.p, w.n), 0);
	assert_int_equal(l.count, 0);
	pl_wr_free(&w);
}

/* ---- one mailbox's leaves ------------------------------------------- */

static const uint8_t MBX_A[32] = {0xaa, 1}, MBX_B[32] = {0xbb, 2};
static uint64_t mq_start, mq_size = 1000;
static int mq_kind;

static int dec_mbxlog(const uint8_t *p, size_t n)
{
	static pl_proto_mbxlog m;
	return pl_proto_mbxlog_decode(&m, p, n, MBX_A, mq_start, mq_size, mq_kind);
}

/* One item: leaf of `type` for mbx at index, with plen proof hashes. */
static void mbx_item(pl_wr *w, uint64_t index, int type, const uint8_t *mbx, size_t plen)
{
	uint8_t leaf[PL_LEAF_MAX], proof[PL_PROTO_MBXLOG_PROOF_MAX + 1][32];
	pl_leaf lf;
	size_t len;

	memset(&lf, 0, sizeof lf);
	lf.type = (uint8_t)type;
	lf.seq = index + 1;
	memcpy(lf.mbx, mbx, 32);
	len = pl_leaf_encode(leaf, &lf);
	assert_true(len > 0);
	memset(proof, (int)index, sizeof proof);
	pl_proto_mbxlog_encode_item(w, index, leaf, len, (const uint8_t(*)[32])proof, plen);
}

static void test_mbxlog(void **state)
{
	(void)state;
	static pl_proto_mbxlog m;
	const int ack = PL_PROTO_MBXLOG_ACK_LEAF, dep = PL_LEAF_DEPOSIT;
	pl_wr w;

	/* Good: a deposit, an ack, a deposit, proofs of 0..20 hashes. */
	pl_wr_init(&w);
	pl_proto_mbxlog_encode_begin(&w, 3);
	mbx_item(&w, 5, dep, MBX_A, 10);
	mbx_item(&w, 6, ack, MBX_A, 0);
	mbx_item(&w, 999, dep, MBX_A, 20);
	assert_int_equal(pl_wr_ok(&w), 0);
	assert_int_equal(pl_proto_mbxlog_decode(&m, w.p, w.n, MBX_A, 5, 1000, 0), 0);
	assert_int_equal(m.count, 3);
	assert_int_equal(m.item[0].index, 5);
	assert_int_equal(m.item[0].type, dep);
	assert_int_equal(m.item[0].prooflen, 10);
	assert_int_equal(m.item[0].proof[9][31], 5);
	assert_int_equal(m.item[1].type, ack);
	assert_int_equal(m.item[1].prooflen, 0);
	assert_int_equal(m.item[2].index, 999);
	assert_int_equal(m.item[2].leaflen, PL_LEAF_DEPOSIT_LEN);
	check_prefixes_and_trailing(dec_mbxlog, w.p, w.n);
	/* ... but not for another mailbox, kind or range than asked */
	assert_int_equal(pl_proto_mbxlog_decode(&m, w.p, w.n, MBX_B, 0, 1000, 0), -1);
	assert_int_equal(m.count, 0);
	assert_int_equal(pl_proto_mbxlog_decode(&m, w.p, w.n, MBX_A, 0, 1000, 1), -1);
	assert_int_equal(pl_proto_mbxlog_decode(&m, w.p, w.n, MBX_A, 0, 1000, 2), -1);
	assert_int_equal(pl_proto_mbxlog_decode(&m, w.p, w.n, MBX_A, 6, 1000, 0), -1);
	assert_int_equal(pl_proto_mbxlog_decode(&m, w.p, w.n, MBX_A, 0, 999, 0), -1);
	assert_int_equal(pl_proto_mbxlog_decode(&m, w.p, w.n, MBX_A, 0, 1000, 3), -1);
	assert_int_equal(pl_proto_mbxlog_decode(&m, w.p, w.n, MBX_A, 0, 1000, -1), -1);
	/* another version */
	w.p[0] = 2;
	assert_int_equal(pl_proto_mbxlog_decode(&m, w.p, w.n, MBX_A, 0, 1000, 0), -1);
	w.p[0] = 1;
	/* an item that is not a leaf (its type byte) */
	w.p[1 + 4 + 8 + 4 + 1] = 9;
	assert_int_equal(pl_proto_mbxlog_decode(&m, w.p, w.n, MBX_A, 0, 1000, 0), -1);
	pl_wr_free(&w);

	/* The kind filter keeps exactly its type. */
	pl_wr_init(&w);
	pl_proto_mbxlog_encode_begin(&w, 2);
	mbx_item(&w, 1, ack, MBX_A, 1);
	mbx_item(&w, 2, ack, MBX_A, 1);
	assert_int_equal(pl_proto_mbxlog_decode(&m, w.p, w.n, MBX_A, 0, 3, PL_PROTO_MBXLOG_ACK), 0);
	assert_int_equal(pl_proto_mbxlog_decode(&m, w.p, w.n, MBX_A, 0, 3, PL_PROTO_MBXLOG_DEPOSIT),
			 -1);
	pl_wr_free(&w);

	/* Indices equal, going back, an item of another mailbox. */
	struct {
		uint64_t i0, i1;
		const uint8_t *mbx1;
	} bad[] = {{4, 4, MBX_A}, {4, 3, MBX_A}, {4, 5, MBX_B}};
	for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
		pl_wr_init(&w);
		pl_proto_mbxlog_encode_begin(&w, 2);
		mbx_item(&w, bad[k].i0, dep, MBX_A, 2);
		mbx_item(&w, bad[k].i1, dep, bad[k].mbx1, 2);
		assert_int_equal(pl_proto_mbxlog_decode(&m, w.p, w.n, MBX_A, 0, 1000, 0), -1);
		pl_wr_free(&w);
	}
	/* A proof of 64 hashes is the most; 65 is refused. */
	pl_wr_init(&w);
	pl_proto_mbxlog_encode_begin(&w, 1);
	mbx_item(&w, 0, dep, MBX_A, PL_PROTO_MBXLOG_PROOF_MAX);
	assert_int_equal(pl_proto_mbxlog_decode(&m, w.p, w.n, MBX_A, 0, 1, 0), 0);
	pl_wr_free(&w);
	pl_wr_init(&w);
	pl_proto_mbxlog_encode_begin(&w, 1);
	mbx_item(&w, 0, dep, MBX_A, PL_PROTO_MBXLOG_PROOF_MAX + 1);
	assert_int_equal(pl_proto_mbxlog_decode(&m, w.p, w.n, MBX_A, 0, 1, 0), -1);
	pl_wr_free(&w);
	/* A leaf longer than any leaf. */
	{
		uint8_t big[PL_LEAF_MAX + 1];
		memset(big, 1, sizeof big);
		pl_wr_init(&w);
		pl_proto_mbxlog_encode_begin(&w, 1);
		pl_proto_mbxlog_encode_item(&w, 0, big, sizeof big, NULL, 0);
		assert_int_equal(pl_proto_mbxlog_decode(&m, w.p, w.n, MBX_A, 0, 1, 0), -1);
		pl_wr_free(&w);
	}
	/* 256 items are fine, 257 are not. */
	for (uint32_t cnt = PL_PROTO_MBXLOG_MAX; cnt <= PL_PROTO_MBXLOG_MAX + 1; cnt++) {
		pl_wr_init(&w);
		pl_proto_mbxlog_encode_begin(&w, cnt);
		for (uint32_t i = 0; i < cnt; i++)
			mbx_item(&w, i, dep, MBX_A, 1);
		assert_int_equal(pl_proto_mbxlog_decode(&m, w.p, w.n, MBX_A, 0, 1000, 0),
				 cnt <= PL_PROTO_MBXLOG_MAX ? 0 : -1);
		pl_wr_free(&w);
	}
	/* An empty answer is fine. */
	pl_wr_init(&w);
	pl_proto_mbxlog_encode_begin(&w, 0);
	assert_int_equal(pl_proto_mbxlog_decode(&m, w.p, w.n, MBX_A, 7, 7, 0), 0);
	assert_int_equal(m.count, 0);
	pl_wr_free(&w);
}

/* ---- listing --------------------------------------------------------- */

static int dec_listing(const uint8_t *p, size_t n)
{
	static pl_proto_listing l;
	return pl_proto_listing_decode(&l, p, n);
}

static void test_listing(void **state)
{
	(void)state;
	static pl_proto_listing l, d;
	static uint8_t e1[1024 + 48], e2[4096 + 48], bad[1000];
	pl_wr w;

	randombytes_buf(e1, sizeof e1);
	randombytes_buf(e2, sizeof e2);
	memset(&l, 0, sizeof l);
	l.prekeys = 300;
	l.count = 2;
	l.item[0] = (pl_proto_listing_item){5, 1700000000, e1, sizeof e1};
	l.item[1] = (pl_proto_listing_item){9, 1700000001, e2, sizeof e2};
	pl_wr_init(&w);
	assert_int_equal(pl_proto_listing_encode(&w, &l), 0);
	assert_int_equal(w.n,
			 1 + 2 + 4 + 2 * PL_PROTO_LISTING_ITEM_OVERHEAD + sizeof e1 + sizeof e2);
	assert_int_equal(w.p[0], PL_PROTO_LISTING_VERSION);
	assert_int_equal(pl_proto_listing_decode(&d, w.p, w.n), 0);
	assert_int_equal(d.prekeys, 300);
	assert_int_equal(d.count, 2);
	assert_true(d.item[1].seq == 9 && d.item[1].time == 1700000001);
	assert_int_equal(d.item[0].envlen, sizeof e1);
	assert_memory_equal(d.item[0].env, e1, sizeof e1);
	assert_memory_equal(d.item[1].env, e2, sizeof e2);
	check_prefixes_and_trailing(dec_listing, w.p, w.n);
	pl_wr_free(&w);

	/* empty listing */
	pl_wr_init(&w);
	pl_proto_listing_encode_begin(&w, 65535, 0);
	assert_int_equal(pl_proto_listing_decode(&d, w.p, w.n), 0);
	assert_int_equal(d.count, 0);
	assert_int_equal(d.prekeys, 65535);
	pl_wr_free(&w);

	/* a version 1 listing (no prekey count) is refused, even when its
	 * bytes would parse as version 2 */
	{
		const uint8_t v1[] = {1, 0, 0, 0, 0};
		const uint8_t v1_as_v2[] = {1, 0, 0, 0, 0, 0, 0};
		assert_int_equal(pl_proto_listing_decode(&d, v1, sizeof v1), -1);
		assert_int_equal(pl_proto_listing_decode(&d, v1_as_v2, sizeof v1_as_v2), -1);
	}

	/* seqs must increase strictly, be non-zero; envelopes must fit a bucket */
	l.item[1].seq = 5;
	pl_wr_init(&w);
	assert_int_equal(pl_proto_listing_encode(&w, &l), 0);
	assert_int_equal(pl_proto_listing_decode(&d, w.p, w.n), -1);
	pl_wr_free(&w);
	l.item[1].seq = 9;
	l.item[0].seq = 0;
	pl_wr_init(&w);
	assert_int_equal(pl_proto_listing_encode(&w, &l), 0);
	assert_int_equal(pl_proto_listing_decode(&d, w.p, w.n), -1);
	pl_wr_free(&w);
	l.item[0] = (pl_proto_listing_item){5, 1, bad, sizeof bad};
	pl_wr_init(&w);
	assert_int_equal(pl_proto_listing_encode(&w, &l), 0);
	assert_int_equal(pl_proto_listing_decode(&d, w.p, w.n), -1);
	pl_wr_free(&w);

	/* oversize count */
	l.count = 257;
	pl_wr_init(&w);
	assert_int_equal(pl_proto_listing_encode(&w, &l), -1);
	pl_wr_free(&w);
	pl_wr_init(&w);
	pl_proto_listing_encode_begin(&w, 0, 257);
	for (uint32_t i = 0; i < 257; i++)
		pl_proto_listing_encode_item(&w, i + 1, 1, e1, sizeof e1);
	assert_int_equal(pl_proto_listing_decode(&d, w.p, w.n), -1);
	pl_wr_free(&w);
	/* count claims more items than present */
	pl_wr_init(&w);
	pl_proto_listing_encode_begin(&w, 0, 3);
	pl_proto_listing_encode_item(&w, 1, 1, e1, sizeof e1);
	assert_int_equal(pl_proto_listing_decode(&d, w.p, w.n), -1);
	pl_wr_free(&w);
}

/* ---- owner auth ------------------------------------------------------ */

static int verify(const pl_auth *a, const uint8_t *mbx, const char *method, const char *path,
		  const uint8_t *body, size_t bodylen, uint64_t now, const char **why)
{
	uint8_t k[32], m[32], n[16];
	return pl_auth_verify(k, m, n, mbx, method, path, a->key, a->time, a->nonce, a->sig, body,
			      bodylen, now, why);
}

static void test_auth(void **state)
{
	(void)state;
	pl_identity id, other;
	pl_auth a, b;
	uint8_t mbx[32], omb[32], k[32], m[32], n[16];
	const uint8_t body[] = {1, 2, 3};
	const char *why = NULL;
	const uint64_t now = 1700000000;

	assert_int_equal(pl_identity_generate(&id), 0);
	assert_int_equal(pl_identity_generate(&other), 0);
	pl_mailbox_id(mbx, id.pk);
	pl_mailbox_id(omb, other.pk);
	assert_int_equal(pl_auth_sign(&a, &id, "PUT", "/v1/token/x", body, 3, now), 0);
	assert_string_equal(a.time, "1700000000");
	assert_int_equal(strlen(a.key), 64);
	assert_int_equal(strlen(a.nonce), 32);
	assert_int_equal(strlen(a.sig), 128);
	assert_int_equal(pl_auth_verify(k, m, n, mbx, "PUT", "/v1/token/x", a.key, a.time, a.nonce,
					a.sig, body, 3, now, &why),
			 0);
	assert_null(why);
	assert_memory_equal(k, id.pk, 32);
	assert_memory_equal(m, mbx, 32);
	/* NULL mailbox: any key, as for grants */
	assert_int_equal(verify(&a, NULL, "PUT", "/v1/token/x", body, 3, now, &why), 0);
	/* the window is inclusive at 300 s, either direction */
	assert_int_equal(verify(&a, mbx, "PUT", "/v1/token/x", body, 3, now + 300, &why), 0);
	assert_int_equal(verify(&a, mbx, "PUT", "/v1/token/x", body, 3, now - 300, &why), 0);
	/* two signatures of the same request use different nonces */
	assert_int_equal(pl_auth_sign(&b, &id, "PUT", "/v1/token/x", body, 3, now), 0);
	assert_string_not_equal(a.nonce, b.nonce);

	/* stale or future time */
	assert_int_equal(verify(&a, mbx, "PUT", "/v1/token/x", body, 3, now + 301, &why), -1);
	assert_non_null(why);
	assert_int_equal(verify(&a, mbx, "PUT", "/v1/token/x", body, 3, now - 301, &why), -1);
	/* wrong mailbox */
	assert_int_equal(verify(&a, omb, "PUT", "/v1/token/x", body, 3, now, &why), -1);
	assert_string_equal(why, "Parley-Key does not own this mailbox");
	/* other method, path, body */
	assert_int_equal(verify(&a, mbx, "POST", "/v1/token/x", body, 3, now, &why), -1);
	assert_int_equal(verify(&a, mbx, "PUT", "/v1/token/y", body, 3, now, &why), -1);
	assert_int_equal(verify(&a, mbx, "PUT", "/v1/token/x", body, 2, now, &why), -1);
	assert_int_equal(verify(&a, mbx, "PUT", "/v1/token/x", NULL, 0, now, &why), -1);
	assert_string_equal(why, "bad signature");

	/* wrong key: the header names another key (and its mailbox) */
	b = a;
	memcpy(b.key, a.key, sizeof b.key);
	{
		char okey[65];
		sodium_bin2hex(okey, sizeof okey, other.pk, 32);
		memcpy(b.key, okey, sizeof okey);
	}
	assert_int_equal(verify(&b, omb, "PUT", "/v1/token/x", body, 3, now, &why), -1);
	assert_string_equal(why, "bad signature");
	/* flipped signature digit */
	b = a;
	b.sig[10] = b.sig[10] == '0' ? '1' : '0';
	assert_int_equal(verify(&b, mbx, "PUT", "/v1/token/x", body, 3, now, &why), -1);
	/* altered nonce or time breaks the signature */
	b = a;
	b.nonce[0] = b.nonce[0] == '0' ? '1' : '0';
	assert_int_equal(verify(&b, mbx, "PUT", "/v1/token/x", body, 3, now, &why), -1);
	b = a;
	strcpy(b.time, "1700000001");
	assert_int_equal(verify(&b, mbx, "PUT", "/v1/token/x", body, 3, now, &why), -1);
	/* malformed headers */
	b = a;
	strcpy(b.time, "01700000000");
	assert_int_equal(verify(&b, mbx, "PUT", "/v1/token/x", body, 3, now, &why), -1);
	b = a;
	for (char *c = b.key; *c; c++)
		if (*c >= 'a' && *c <= 'f')
			*c = (char)(*c - 'a' + 'A');
	assert_int_equal(verify(&b, mbx, "PUT", "/v1/token/x", body, 3, now, &why), -1);
	b = a;
	b.nonce[31] = '\0';
	assert_int_equal(verify(&b, mbx, "PUT", "/v1/token/x", body, 3, now, &why), -1);
	b = a;
	b.sig[0] = 'g';
	assert_int_equal(verify(&b, mbx, "PUT", "/v1/token/x", body, 3, now, &why), -1);
	assert_int_equal(pl_auth_verify(k, m, n, mbx, "PUT", "/v1/token/x", NULL, a.time, a.nonce,
					a.sig, body, 3, now, &why),
			 -1);
	assert_int_equal(pl_auth_verify(k, m, n, mbx, "PUT", "/v1/token/x", a.key, a.time, a.nonce,
					NULL, body, 3, now, &why),
			 -1);
	/* a newline in the path cannot be signed (it would forge field breaks) */
	assert_int_equal(pl_auth_sign(&b, &id, "PUT", "/v1/x\n1", body, 3, now), -1);
	pl_identity_wipe(&id);
	pl_identity_wipe(&other);
}

static void test_parse(void **state)
{
	(void)state;
	uint64_t v;
	uint8_t id[32];
	const char *hex = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

	assert_int_equal(pl_auth_parse_u64(&v, "0"), 0);
	assert_true(v == 0);
	assert_int_equal(pl_auth_parse_u64(&v, "18446744073709551615"), 0);
	assert_true(v == UINT64_MAX);
	assert_int_equal(pl_auth_parse_u64(&v, "18446744073709551616"), -1);
	assert_int_equal(pl_auth_parse_u64(&v, "00"), -1);
	assert_int_equal(pl_auth_parse_u64(&v, ""), -1);
	assert_int_equal(pl_auth_parse_u64(&v, "-1"), -1);
	assert_int_equal(pl_auth_parse_u64(&v, "+1"), -1);
	assert_int_equal(pl_auth_parse_u64(&v, " 1"), -1);
	assert_int_equal(pl_auth_parse_u64(&v, "1 "), -1);
	assert_int_equal(pl_auth_parse_u64(&v, NULL), -1);

	assert_int_equal(pl_proto_parse_id_hex(id, hex, 64), 0);
	assert_int_equal(id[31], 0xff);
	assert_int_equal(pl_proto_parse_id_hex(id, hex, 63), -1);
	assert_int_equal(
	    pl_proto_parse_id_hex(id,
				  "00112233445566778899AABBCCDDEEFF00112233445566778899"
				  "aabbccddeeff",
				  64),
	    -1);
	assert_int_equal(
	    pl_proto_parse_id_hex(id,
				  "zz112233445566778899aabbccddeeff00112233445566778899"
				  "aabbccddeeff",
				  64),
	    -1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_relay_key),	    cmocka_unit_test(test_bundle_upload),
	    cmocka_unit_test(test_token_grant_ack), cmocka_unit_test(test_receipt),
	    cmocka_unit_test(test_log_bodies),	    cmocka_unit_test(test_mbxlog),
	    cmocka_unit_test(test_listing),	    cmocka_unit_test(test_auth),
	    cmocka_unit_test(test_parse),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
