/*
 * h2g.h — hashing byte strings to the ristretto255 group, on libsodium.
 *
 * pl_expand_xmd_sha512 is expand_message_xmd of RFC 9380 §5.3.1 with
 * SHA-512 (libsodium's crypto_hash_sha512, streaming). pl_hash_to_r255 is
 * hash_to_ristretto255 of RFC 9380 Appendix B with that expander: 64 uniform
 * bytes, then libsodium's crypto_core_ristretto255_from_hash. With a DST of
 * the RFC 9380 §3.1 form ending in "ristretto255_XMD:SHA-512_R255MAP_RO_" it
 * is the suite RFC 9380 names ristretto255_XMD:SHA-512_R255MAP_RO_, and with
 * DST "HashToGroup-OPRFV1-\0-ristretto255-SHA512" it is RFC 9497's
 * HashToGroup for ristretto255-SHA512.
 *
 * How libsodium's from_hash relates to the RFCs: crypto_core_ristretto255_
 * from_hash(p, r[64]) is the "element derivation" one-way map of RFC 9496
 * §4.3.4 (which RFC 9380 Appendix B calls ristretto255_map): each 32-byte
 * half has its top bit masked, is read as a field element mod p (not
 * required canonical), goes through the Elligator-based MAP of §4.3.4, and
 * the two points are added and encoded. libsodium 1.0.18 (Debian 12) has no
 * hash-to-group of its own (crypto_core_ristretto255_from_string came in
 * 1.0.19), so the expander is written here; no new primitive is added.
 * tests/unit/test_psi.c checks from_hash against RFC 9496 Appendix A.3 (all
 * eleven vectors, the four non-canonical inputs too), the expander against
 * RFC 9380 Appendix K.3, and the composition against RFC 9497 Appendix A.1.
 */
#ifndef PARLEY_CRYPTO_H2G_H
#define PARLEY_CRYPTO_H2G_H

#include <stddef.h>
#include <stdint.h>

#include <sodium.h>

/* The largest DST used as is; a longer one is first hashed (RFC 9380 §5.3.3). */
#define PL_H2G_DST_MAX 255

/*
 * RFC 9380 §5.3.1 with H = SHA-512 (b = 64, s = 128 bytes). out receives
 * outlen bytes. -1 (out wiped) if outlen is 0 or above 255 * 64, or the DST
 * is empty (RFC 9380 §3.1: tags MUST have nonzero length); a DST over 255
 * bytes is replaced by SHA-512("H2C-OVERSIZE-DST-" || DST) (§5.3.3). msg may
 * be NULL when msglen is 0. 0 on success.
 */
int pl_expand_xmd_sha512(uint8_t *out, size_t outlen, const uint8_t *msg, size_t msglen,
			 const uint8_t *dst, size_t dstlen);

/*
 * hash_to_ristretto255(prefix || msg) with expand_message_xmd(SHA-512) and
 * DST dst (RFC 9380 Appendix B). out is a valid, canonical ristretto255
 * encoding. 0, or -1 (out wiped) on the DST errors of pl_expand_xmd_sha512.
 */
int pl_hash_to_r255(uint8_t out[32], const uint8_t *prefix, size_t plen, const uint8_t *msg,
		    size_t mlen, const uint8_t *dst, size_t dstlen);

/*
 * The same, for many messages under one prefix and DST: pl_h2r_init absorbs
 * the expander's zero block and the prefix once, and each pl_h2r_hash works
 * on a copy of that SHA-512 state (no allocation). pl_h2r_wipe clears it.
 */
typedef struct {
	crypto_hash_sha512_state st;	      /* after Z_pad || prefix */
	uint8_t tail[3 + PL_H2G_DST_MAX + 1]; /* I2OSP(64, 2) || 0x00 || DST_prime */
	size_t taillen;
} pl_h2r_ctx;

int pl_h2r_init(pl_h2r_ctx *c, const uint8_t *prefix, size_t plen, const uint8_t *dst,
		size_t dstlen);
void pl_h2r_hash(const pl_h2r_ctx *c, uint8_t out[32], const uint8_t *msg, size_t mlen);
void pl_h2r_wipe(pl_h2r_ctx *c);

#endif
