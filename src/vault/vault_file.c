/*
 * vault_file.c — the sealed vault file DIR/vault.pv, as bytes. Pure: it
 * touches neither SQLite nor the file system, so the fuzzer can drive it.
 *
 *   file   := header ‖ body
 *   header := "PLVAULT\0" ‖ u8 format=1 ‖ kdf record (34) ‖ wrapped data key
 *   wrapped data key := nonce(24) ‖ XChaCha20-Poly1305(wrap key, AD = the
 *             header's first 43 bytes, the 32-byte data key) ‖ mac(16)
 *   body   := nonce(24) ‖ XChaCha20-Poly1305(file key, AD = the whole
 *             header, u64 image length ‖ image ‖ zero padding) ‖ mac(16)
 *
 * The wrap key is Argon2id of the passphrase at the kdf record's cost; the
 * file key is derived from the data key (crypto_kdf, context "plvfile1",
 * id 1) so that the records sealed inside the image under the data key
 * and the file as a whole never share a key. The image is the whole SQLite
 * database; the padding rounds its size up to a step (64 KiB, or an
 * eighth of the largest power of two not above it), so the file's size
 * says little about how much the office has stored.
 */
#include "vault/vault_int.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#define VFILE_PREFIX_LEN (sizeof PL_VFILE_MAGIC + 1 + PL_KDF_REC_LEN)
#define VFILE_FILE_CTX "plvfile1"

_Static_assert(sizeof PL_VFILE_MAGIC == 8, "the magic is 8 bytes with its NUL");
_Static_assert(PL_VFILE_HDR_LEN ==
		   VFILE_PREFIX_LEN + PL_SEAL_NONCE_LEN + PL_VAULT_KEY_LEN + PL_SEAL_MAC_LEN,
	       "header layout");
_Static_assert(sizeof VFILE_FILE_CTX - 1 == crypto_kdf_CONTEXTBYTES, "kdf context");

size_t pl_vfile_padded(size_t n)
{
	size_t step = PL_VFILE_PAD_MIN, p2 = 1;
	while (p2 <= n / 2)
		p2 <<= 1;
	if (p2 / 8 > step)
		step = p2 / 8;
	size_t total = 8 + n;
	return (total + step - 1) / step * step;
}

int pl_vfile_hdr_make(pl_vfile_hdr *h, const pl_kdf_params *k,
		      const uint8_t wrap[static PL_VAULT_KEY_LEN],
		      const uint8_t dek[static PL_VAULT_KEY_LEN])
{
	uint8_t *p = h->raw;
	h->kdf = *k;
	memcpy(p, PL_VFILE_MAGIC, sizeof PL_VFILE_MAGIC);
	p[sizeof PL_VFILE_MAGIC] = PL_VFILE_V1;
	pl_vault_kdf_encode(p + sizeof PL_VFILE_MAGIC + 1, k);
	uint8_t *nonce = p + VFILE_PREFIX_LEN;
	randombytes_buf(nonce, PL_SEAL_NONCE_LEN);
	return crypto_aead_xchacha20poly1305_ietf_encrypt(nonce + PL_SEAL_NONCE_LEN, NULL, dek,
							  PL_VAULT_KEY_LEN, p, VFILE_PREFIX_LEN,
							  NULL, nonce, wrap);
}

int pl_vfile_hdr_parse(pl_vfile_hdr *h, const uint8_t *p, size_t n)
{
	if (n < PL_VFILE_HDR_LEN || memcmp(p, PL_VFILE_MAGIC, sizeof PL_VFILE_MAGIC) != 0 ||
	    p[sizeof PL_VFILE_MAGIC] != PL_VFILE_V1 ||
	    pl_vault_kdf_decode(&h->kdf, p + sizeof PL_VFILE_MAGIC + 1, PL_KDF_REC_LEN) != 0)
		return -1;
	memcpy(h->raw, p, PL_VFILE_HDR_LEN);
	return 0;
}

int pl_vfile_hdr_unwrap(const pl_vfile_hdr *h, const uint8_t wrap[static PL_VAULT_KEY_LEN],
			uint8_t dek[static PL_VAULT_KEY_LEN])
{
	const uint8_t *nonce = h->raw + VFILE_PREFIX_LEN;
	unsigned long long len = 0;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(dek, &len, NULL, nonce + PL_SEAL_NONCE_LEN,
						       PL_VAULT_KEY_LEN + PL_SEAL_MAC_LEN, h->raw,
						       VFILE_PREFIX_LEN, nonce, wrap) != 0 ||
	    len != PL_VAULT_KEY_LEN) {
		sodium_memzero(dek, PL_VAULT_KEY_LEN);
		return -1;
	}
	return 0;
}

static int file_key(uint8_t fk[static PL_VAULT_KEY_LEN], const uint8_t dek[static PL_VAULT_KEY_LEN])
{
	return crypto_kdf_derive_from_key(fk, PL_VAULT_KEY_LEN, 1, VFILE_FILE_CTX, dek);
}

int pl_vfile_seal(uint8_t **out, size_t *outlen, const pl_vfile_hdr *h,
		  const uint8_t dek[static PL_VAULT_KEY_LEN], const uint8_t *img, size_t n)
{
	*out = NULL;
	*outlen = 0;
	if (n > PL_VFILE_IMAGE_MAX)
		return -1;
	size_t ptlen = pl_vfile_padded(n);
	size_t flen = PL_VFILE_HDR_LEN + PL_SEAL_NONCE_LEN + ptlen + PL_SEAL_MAC_LEN;
	uint8_t *f = malloc(flen);
	uint8_t fk[PL_VAULT_KEY_LEN];
	if (f == NULL)
		return -1;
	/* The plaintext is built in place, where its ciphertext goes. */
	uint8_t *nonce = f + PL_VFILE_HDR_LEN, *pt = nonce + PL_SEAL_NONCE_LEN;
	memcpy(f, h->raw, PL_VFILE_HDR_LEN);
	randombytes_buf(nonce, PL_SEAL_NONCE_LEN);
	pl_be64_put(pt, (uint64_t)n);
	if (n)
		memcpy(pt + 8, img, n);
	memset(pt + 8 + n, 0, ptlen - 8 - n);
	int r = file_key(fk, dek);
	if (r == 0)
		r = crypto_aead_xchacha20poly1305_ietf_encrypt(pt, NULL, pt, ptlen, h->raw,
							       PL_VFILE_HDR_LEN, NULL, nonce, fk);
	sodium_memzero(fk, sizeof fk);
	if (r != 0) {
		sodium_memzero(f, flen);
		free(f);
		return -1;
	}
	*out = f;
	*outlen = flen;
	return 0;
}

int pl_vfile_open(uint8_t **img, size_t *n, const pl_vfile_hdr *h,
		  const uint8_t dek[static PL_VAULT_KEY_LEN], const uint8_t *file, size_t flen)
{
	*img = NULL;
	*n = 0;
	if (flen < PL_VFILE_HDR_LEN + PL_SEAL_NONCE_LEN + 8 + PL_SEAL_MAC_LEN ||
	    flen > PL_VFILE_HDR_LEN + PL_SEAL_NONCE_LEN + pl_vfile_padded(PL_VFILE_IMAGE_MAX) +
		       PL_SEAL_MAC_LEN ||
	    sodium_memcmp(file, h->raw, PL_VFILE_HDR_LEN) != 0)
		return -1;
	const uint8_t *nonce = file + PL_VFILE_HDR_LEN, *ct = nonce + PL_SEAL_NONCE_LEN;
	size_t ctlen = flen - PL_VFILE_HDR_LEN - PL_SEAL_NONCE_LEN;
	size_t ptlen = ctlen - PL_SEAL_MAC_LEN;
	uint8_t *pt = malloc(ptlen);
	uint8_t fk[PL_VAULT_KEY_LEN];
	if (pt == NULL)
		return -1;
	int r = file_key(fk, dek);
	if (r == 0)
		r = crypto_aead_xchacha20poly1305_ietf_decrypt(pt, NULL, NULL, ct, ctlen, h->raw,
							       PL_VFILE_HDR_LEN, nonce, fk);
	sodium_memzero(fk, sizeof fk);
	uint64_t len = r == 0 ? pl_be64_get(pt) : 0;
	/* Authentic, yet checked as strictly as outside bytes: the length
	 * must fit, and the padding must be the one this length gives. */
	if (r != 0 || len > PL_VFILE_IMAGE_MAX || len > ptlen - 8 ||
	    pl_vfile_padded((size_t)len) != ptlen) {
		sodium_memzero(pt, ptlen);
		free(pt);
		return -1;
	}
	memmove(pt, pt + 8, (size_t)len);
	sodium_memzero(pt + len, ptlen - (size_t)len);
	*img = pt;
	*n = (size_t)len;
	return 0;
}
