/*
 * h2g.c — expand_message_xmd(SHA-512) (RFC 9380 §5.3.1) and
 * hash_to_ristretto255 (RFC 9380 Appendix B) over libsodium's streaming
 * SHA-512 and crypto_core_ristretto255_from_hash (RFC 9496 §4.3.4). See
 * h2g.h for how the pieces map onto the RFCs. Every intermediate block is
 * wiped: they are functions of the message, which may be secret.
 */
#include "crypto/h2g.h"

#include <string.h>

#define XMD_B 64	/* SHA-512 output, b_in_bytes */
#define XMD_ELL_MAX 255 /* RFC 9380 §5.3.1 step 2 */

/* Z_pad = I2OSP(0, s_in_bytes), s_in_bytes = 128 for SHA-512. */
static const uint8_t zpad[128];

/* DST_prime = DST || I2OSP(len(DST), 1), with §5.3.3 for a long DST.
 * dp holds up to 256 bytes. 0, or -1 for an empty DST. */
static int dst_prime(uint8_t dp[PL_H2G_DST_MAX + 1], size_t *dplen, const uint8_t *dst,
		     size_t dstlen)
{
	static const char oversize[] = "H2C-OVERSIZE-DST-";
	size_t n;

	if (dst == NULL || dstlen == 0)
		return -1;
	if (dstlen > PL_H2G_DST_MAX) {
		crypto_hash_sha512_state st;
		crypto_hash_sha512_init(&st);
		crypto_hash_sha512_update(&st, (const uint8_t *)oversize, sizeof oversize - 1);
		crypto_hash_sha512_update(&st, dst, dstlen);
		crypto_hash_sha512_final(&st, dp);
		sodium_memzero(&st, sizeof st);
		n = XMD_B;
	} else {
		memcpy(dp, dst, dstlen);
		n = dstlen;
	}
	dp[n] = (uint8_t)n;
	*dplen = n + 1;
	return 0;
}

int pl_expand_xmd_sha512(uint8_t *out, size_t outlen, const uint8_t *msg, size_t msglen,
			 const uint8_t *dst, size_t dstlen)
{
	uint8_t dp[PL_H2G_DST_MAX + 1], b0[XMD_B], bi[XMD_B], x[XMD_B], lib[3];
	crypto_hash_sha512_state st;
	size_t dplen, ell, done = 0;

	if (outlen == 0 || outlen > XMD_ELL_MAX * XMD_B ||
	    dst_prime(dp, &dplen, dst, dstlen) != 0) {
		if (out != NULL && outlen > 0 && outlen <= XMD_ELL_MAX * XMD_B)
			sodium_memzero(out, outlen);
		return -1;
	}
	ell = (outlen + XMD_B - 1) / XMD_B;
	lib[0] = (uint8_t)(outlen >> 8); /* l_i_b_str = I2OSP(len_in_bytes, 2) */
	lib[1] = (uint8_t)outlen;
	lib[2] = 0; /* I2OSP(0, 1) */

	/* b_0 = H(Z_pad || msg || l_i_b_str || I2OSP(0, 1) || DST_prime) */
	crypto_hash_sha512_init(&st);
	crypto_hash_sha512_update(&st, zpad, sizeof zpad);
	if (msglen > 0)
		crypto_hash_sha512_update(&st, msg, msglen);
	crypto_hash_sha512_update(&st, lib, sizeof lib);
	crypto_hash_sha512_update(&st, dp, dplen);
	crypto_hash_sha512_final(&st, b0);

	/* b_1 = H(b_0 || I2OSP(1, 1) || DST_prime);
	 * b_i = H(strxor(b_0, b_(i-1)) || I2OSP(i, 1) || DST_prime) */
	memcpy(x, b0, sizeof x);
	for (size_t i = 1; i <= ell; i++) {
		uint8_t ib = (uint8_t)i;
		if (i > 1)
			for (size_t j = 0; j < XMD_B; j++)
				x[j] = b0[j] ^ bi[j];
		crypto_hash_sha512_init(&st);
		crypto_hash_sha512_update(&st, x, sizeof x);
		crypto_hash_sha512_update(&st, &ib, 1);
		crypto_hash_sha512_update(&st, dp, dplen);
		crypto_hash_sha512_final(&st, bi);
		size_t take = outlen - done < XMD_B ? outlen - done : XMD_B;
		memcpy(out + done, bi, take);
		done += take;
	}
	sodium_memzero(&st, sizeof st);
	sodium_memzero(b0, sizeof b0);
	sodium_memzero(bi, sizeof bi);
	sodium_memzero(x, sizeof x);
	return 0;
}

int pl_h2r_init(pl_h2r_ctx *c, const uint8_t *prefix, size_t plen, const uint8_t *dst,
		size_t dstlen)
{
	size_t dplen;

	memset(c, 0, sizeof *c);
	if (dst_prime(c->tail + 3, &dplen, dst, dstlen) != 0)
		return -1;
	c->tail[0] = 0; /* I2OSP(64, 2): hash_to_ristretto255 takes 64 bytes */
	c->tail[1] = 2 * 32;
	c->tail[2] = 0;
	c->taillen = 3 + dplen;
	crypto_hash_sha512_init(&c->st);
	crypto_hash_sha512_update(&c->st, zpad, sizeof zpad);
	if (plen > 0)
		crypto_hash_sha512_update(&c->st, prefix, plen);
	return 0;
}

void pl_h2r_hash(const pl_h2r_ctx *c, uint8_t out[32], const uint8_t *msg, size_t mlen)
{
	static const uint8_t one = 1;
	crypto_hash_sha512_state st;
	uint8_t b0[XMD_B], b1[XMD_B];

	/* len_in_bytes = 64 = b_in_bytes: ell = 1, uniform_bytes = b_1 */
	memcpy(&st, &c->st, sizeof st);
	if (mlen > 0)
		crypto_hash_sha512_update(&st, msg, mlen);
	crypto_hash_sha512_update(&st, c->tail, c->taillen);
	crypto_hash_sha512_final(&st, b0);
	crypto_hash_sha512_init(&st);
	crypto_hash_sha512_update(&st, b0, sizeof b0);
	crypto_hash_sha512_update(&st, &one, 1);
	crypto_hash_sha512_update(&st, c->tail + 3, c->taillen - 3);
	crypto_hash_sha512_final(&st, b1);
	crypto_core_ristretto255_from_hash(out, b1);
	sodium_memzero(&st, sizeof st);
	sodium_memzero(b0, sizeof b0);
	sodium_memzero(b1, sizeof b1);
}

void pl_h2r_wipe(pl_h2r_ctx *c)
{
	sodium_memzero(c, sizeof *c);
}

int pl_hash_to_r255(uint8_t out[32], const uint8_t *prefix, size_t plen, const uint8_t *msg,
		    size_t mlen, const uint8_t *dst, size_t dstlen)
{
	pl_h2r_ctx c;

	if (pl_h2r_init(&c, prefix, plen, dst, dstlen) != 0) {
		sodium_memzero(out, 32);
		return -1;
	}
	pl_h2r_hash(&c, out, msg, mlen);
	pl_h2r_wipe(&c);
	return 0;
}
