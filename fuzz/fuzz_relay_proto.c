/*
 * fuzz_relay_proto.c — libFuzzer target for every strict decoder of the
 * relay protocol (src/relay/proto.c): the first input byte selects which
 * decoder gets the rest.
 *
 *   0 relay key   1 bundle upload   2 bundle upload, validly signed
 *   3 token body  4 grant body      5 ack body     6 receipt v2 (+ verify)
 *   7 listing     8 owner auth (NUL-separated header values)
 *   9 decimal u64 and 64-hex id parsers
 *   10 log proof body   11 log leaves body
 *
 * Must never crash or leak, and aborts if a decoder accepts bytes that do
 * not re-encode to exactly the input (every format is canonical), or if
 * auth verification accepts a signature the fuzzer could not have made.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "auth/auth.h"
#include "log/receipt.h"
#include "relay/proto.h"

static pl_identity signer;

static void check_same(const uint8_t *a, size_t an, const uint8_t *b, size_t bn)
{
	if (an != bn || memcmp(a, b, an) != 0)
		abort();
}

static void fuzz_upload(uint8_t *buf, size_t size, int sign)
{
	static pl_proto_bundle_upload u;
	pl_wr w;

	/* Put the fixed key and a valid spk signature in place, so decoding gets
	 * past the signature check to the counts and ids. */
	if (sign && size >= 1 + 32 + 4 + 32 + 64) {
		uint8_t m[13 + 4 + 32];
		buf[0] = 1;
		memcpy(buf + 1, signer.pk, 32);
		memcpy(m, "parley spk v1", 13);
		memcpy(m + 13, buf + 33, 4 + 32);
		crypto_sign_detached(buf + 69, NULL, m, sizeof m, signer.sk);
	}
	if (pl_proto_bundle_upload_decode(&u, buf, size) != 0)
		return;
	if (u.opk_count > PL_PROTO_BUNDLE_MAX_OPK ||
	    pl_proto_spk_verify(u.ik, u.spk_id, u.spk, u.spk_sig) != 0)
		abort();
	pl_wr_init(&w);
	if (pl_proto_bundle_upload_encode(&w, &u) != 0)
		abort();
	check_same(w.p, w.n, buf, size);
	pl_wr_free(&w);
}

static void fuzz_auth(const uint8_t *buf, size_t size)
{
	/* key \0 time \0 nonce \0 sig \0 method \0 path \0 body */
	const char *f[6];
	size_t off = 0;
	uint8_t k[32], m[32], n[16];
	char *copy = malloc(size + 1);

	if (copy == NULL)
		abort();
	memcpy(copy, buf, size);
	copy[size] = '\0';
	for (int i = 0; i < 6; i++) {
		if (off > size) {
			free(copy);
			return;
		}
		f[i] = copy + off;
		off += strlen(copy + off) + 1;
	}
	const uint8_t *body = off <= size ? (const uint8_t *)copy + off : NULL;
	size_t bodylen = off <= size ? size - off : 0;
	const char *why = NULL;
	if (pl_auth_verify(k, m, n, NULL, f[4], f[5], f[0], f[1], f[2], f[3], body, bodylen,
			   1700000000, &why) == 0) {
		/* Only the fixed signer's key could ever verify by chance of the
		 * fuzzer re-using a logged signature: treat any acceptance of
		 * another key as a bug. */
		if (memcmp(k, signer.pk, 32) != 0)
			abort();
	} else if (why == NULL) {
		abort();
	}
	free(copy);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	uint8_t *buf;

	if (!init) {
		uint8_t seed[crypto_sign_SEEDBYTES];
		if (sodium_init() < 0)
			abort();
		memset(seed, 0x42, sizeof seed);
		crypto_sign_seed_keypair(signer.pk, signer.sk, seed);
		init = 1;
	}
	if (size == 0)
		return 0;
	uint8_t sel = data[0] % 12;
	data++;
	size--;
	buf = malloc(size ? size : 1);
	if (buf == NULL)
		abort();
	memcpy(buf, data, size);

	switch (sel) {
	case 0: {
		uint8_t pk[32], out[PL_PROTO_RELAY_KEY_LEN];
		if (pl_proto_relay_key_decode(pk, buf, size) == 0) {
			pl_proto_relay_key_encode(out, pk);
			check_same(out, sizeof out, buf, size);
		}
		break;
	}
	case 1:
	case 2:
		fuzz_upload(buf, size, sel == 2);
		break;
	case 3: {
		uint8_t h[32], out[PL_PROTO_TOKEN_BODY_LEN];
		if (pl_proto_token_decode(h, buf, size) == 0) {
			pl_proto_token_encode(out, h);
			check_same(out, sizeof out, buf, size);
		}
		break;
	}
	case 4: {
		const uint8_t *b;
		size_t bl;
		pl_wr w;
		if (pl_proto_grant_decode(&b, &bl, buf, size) == 0) {
			if (bl == 0 || bl > PL_PROTO_GRANT_BLOB_MAX)
				abort();
			pl_wr_init(&w);
			if (pl_proto_grant_encode(&w, b, bl) != 0)
				abort();
			check_same(w.p, w.n, buf, size);
			pl_wr_free(&w);
		}
		break;
	}
	case 5: {
		pl_auth_ack a;
		uint8_t out[PL_AUTH_ACK_BODY_MAX];
		if (pl_auth_ack_decode(&a, buf, size) == 0) {
			size_t m = pl_auth_ack_encode(out, &a);
			if (m == 0)
				abort();
			check_same(out, m, buf, size);
		}
		break;
	}
	case 6: {
		static pl_receipt r;
		static uint8_t out[PL_RECEIPT_MAX];
		if (pl_receipt_decode(&r, buf, size) == 0) {
			size_t n = pl_receipt_encode(out, &r);
			check_same(out, n, buf, size);
			/* Must not crash; a seed signed by the fixed signer gets
			 * past the checkpoint signature to the inclusion proof. */
			(void)pl_receipt_verify(&r, signer.pk, NULL);
		}
		break;
	}
	case 7: {
		static pl_proto_listing l;
		pl_wr w;
		if (pl_proto_listing_decode(&l, buf, size) == 0) {
			pl_wr_init(&w);
			if (pl_proto_listing_encode(&w, &l) != 0)
				abort();
			check_same(w.p, w.n, buf, size);
			pl_wr_free(&w);
		}
		break;
	}
	case 8:
		fuzz_auth(buf, size);
		break;
	case 10: {
		uint8_t proof[PL_PROTO_PROOF_MAX][32];
		size_t k;
		pl_wr w;
		if (pl_proto_proof_decode(proof, &k, buf, size) == 0) {
			pl_wr_init(&w);
			if (pl_proto_proof_encode(&w, (const uint8_t(*)[32])proof, k) != 0)
				abort();
			check_same(w.p, w.n, buf, size);
			pl_wr_free(&w);
		}
		break;
	}
	case 11: {
		static pl_proto_leaves l;
		pl_wr w;
		if (pl_proto_leaves_decode(&l, buf, size) == 0) {
			pl_wr_init(&w);
			pl_proto_leaves_encode_begin(&w, l.count);
			for (uint32_t i = 0; i < l.count; i++)
				pl_wr_var(&w, l.leaf[i].p, l.leaf[i].n);
			if (pl_wr_ok(&w) != 0)
				abort();
			check_same(w.p, w.n, buf, size);
			pl_wr_free(&w);
		}
		break;
	}
	case 9: {
		char *s = malloc(size + 1);
		uint64_t v;
		uint8_t id[32];
		if (s == NULL)
			abort();
		memcpy(s, buf, size);
		s[size] = '\0';
		(void)pl_auth_parse_u64(&v, s);
		(void)pl_proto_parse_id_hex(id, s, strlen(s));
		free(s);
		break;
	}
	}
	free(buf);
	return 0;
}
