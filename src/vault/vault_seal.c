/*
 * vault_seal.c — the byte formats the vault stores: sealed blobs
 * (XChaCha20-Poly1305-IETF under the key-encryption key), the Argon2id
 * parameter record, and the rules for names and short texts.
 *
 * Pure functions over bytes: no SQLite, no files, no globals, so the
 * fuzzer can drive them directly. Decoders are strict — exact tags, sizes
 * checked before any allocation — because the vault file is outside input
 * once it is on disk. Plaintext buffers are wiped before they are freed, and
 * a failed open leaves nothing allocated.
 */
#include "vault/vault_int.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

void pl_vault_ad(pl_wr *ad, const char *label)
{
	pl_wr_init(ad);
	pl_wr_u8(ad, PL_SEAL_V1);
	pl_wr_var(ad, (const uint8_t *)label, strlen(label));
}

int pl_vault_seal(pl_wr *out, const uint8_t key[static PL_VAULT_KEY_LEN], const pl_wr *ad,
		  const uint8_t *pt, size_t n)
{
	pl_wr_init(out);
	if (pl_wr_ok(ad) != 0 || n > PL_VAULT_BLOB_MAX || (pt == NULL && n != 0))
		return -1;
	size_t len = PL_SEAL_OVERHEAD + n;
	uint8_t *b = malloc(len);
	if (b == NULL)
		return -1;
	b[0] = PL_SEAL_V1;
	randombytes_buf(b + 1, PL_SEAL_NONCE_LEN);
	unsigned long long clen = 0;
	if (crypto_aead_xchacha20poly1305_ietf_encrypt(b + 1 + PL_SEAL_NONCE_LEN, &clen, pt, n,
						       ad->p, ad->n, NULL, b + 1, key) != 0 ||
	    clen != n + PL_SEAL_MAC_LEN) {
		sodium_memzero(b, len);
		free(b);
		return -1;
	}
	out->p = b;
	out->n = len;
	out->cap = len;
	return 0;
}

int pl_vault_unseal(pl_wr *out, const uint8_t key[static PL_VAULT_KEY_LEN], const pl_wr *ad,
		    const uint8_t *blob, size_t n, size_t max)
{
	pl_wr_init(out);
	if (pl_wr_ok(ad) != 0 || blob == NULL || n < PL_SEAL_OVERHEAD || blob[0] != PL_SEAL_V1)
		return -1;
	size_t mlen = n - PL_SEAL_OVERHEAD;
	if (mlen > max || mlen > PL_VAULT_BLOB_MAX)
		return -1;
	size_t cap = mlen ? mlen : 1;
	uint8_t *m = malloc(cap);
	if (m == NULL)
		return -1;
	unsigned long long got = 0;
	const uint8_t *nonce = blob + 1;
	const uint8_t *c = blob + 1 + PL_SEAL_NONCE_LEN;
	if (crypto_aead_xchacha20poly1305_ietf_decrypt(m, &got, NULL, c, n - 1 - PL_SEAL_NONCE_LEN,
						       ad->p, ad->n, nonce, key) != 0 ||
	    got != mlen) {
		sodium_memzero(m, cap);
		free(m);
		return -1;
	}
	out->p = m;
	out->n = mlen;
	out->cap = cap;
	return 0;
}

int pl_vault_unseal_fixed(uint8_t *out, size_t len, const uint8_t key[static PL_VAULT_KEY_LEN],
			  const pl_wr *ad, const uint8_t *blob, size_t n)
{
	pl_wr pt;

	if (n != PL_SEAL_OVERHEAD + len || pl_vault_unseal(&pt, key, ad, blob, n, len) != 0)
		return -1;
	if (pt.n != len) {
		pl_wr_free(&pt);
		return -1;
	}
	if (len)
		memcpy(out, pt.p, len);
	pl_wr_free(&pt);
	return 0;
}

void pl_vault_kdf_new(pl_kdf_params *k, pl_vault_kdf_cost cost)
{
	k->alg = PL_KDF_ALG_ARGON2ID13;
	if (cost == PL_VAULT_KDF_TEST_ONLY) {
		k->ops = crypto_pwhash_argon2id_OPSLIMIT_INTERACTIVE;
		k->mem = crypto_pwhash_argon2id_MEMLIMIT_INTERACTIVE;
	} else if (cost == PL_VAULT_KDF_TEST_MINIMAL) {
		k->ops = crypto_pwhash_argon2id_OPSLIMIT_MIN;
		k->mem = crypto_pwhash_argon2id_MEMLIMIT_MIN;
	} else {
		k->ops = PL_KDF_STRONG_OPS;
		k->mem = PL_KDF_STRONG_MEM;
	}
	randombytes_buf(k->salt, sizeof k->salt);
}

void pl_vault_kdf_default(pl_kdf_params *k)
{
	pl_vault_kdf_new(k, PL_VAULT_KDF_STRONG);
}

void pl_vault_kdf_encode(uint8_t out[static PL_KDF_REC_LEN], const pl_kdf_params *k)
{
	out[0] = 1;
	out[1] = k->alg;
	pl_be64_put(out + 2, k->ops);
	pl_be64_put(out + 10, k->mem);
	memcpy(out + 18, k->salt, PL_KDF_SALT_LEN);
}

static int kdf_in_range(const pl_kdf_params *k)
{
	return k->alg == PL_KDF_ALG_ARGON2ID13 && k->ops >= crypto_pwhash_argon2id_OPSLIMIT_MIN &&
	       k->ops <= PL_KDF_OPS_MAX && k->mem >= crypto_pwhash_argon2id_MEMLIMIT_MIN &&
	       k->mem <= PL_KDF_MEM_MAX && k->mem <= SIZE_MAX;
}

int pl_vault_kdf_decode(pl_kdf_params *k, const uint8_t *p, size_t n)
{
	pl_rd r;
	pl_kdf_params t;

	pl_rd_init(&r, p, n);
	uint8_t version = pl_rd_u8(&r);
	t.alg = pl_rd_u8(&r);
	t.ops = pl_rd_u64(&r);
	t.mem = pl_rd_u64(&r);
	pl_rd_copy(&r, t.salt, sizeof t.salt);
	if (pl_rd_done(&r) != 0 || version != 1 || !kdf_in_range(&t))
		return -1;
	*k = t;
	return 0;
}

int pl_vault_kdf_derive(uint8_t key[static PL_VAULT_KEY_LEN], const pl_kdf_params *k,
			const char *pass, size_t passlen)
{
	if (!kdf_in_range(k) || (pass == NULL && passlen != 0))
		return -1;
	if (crypto_pwhash(key, PL_VAULT_KEY_LEN, pass ? pass : "", passlen, k->salt,
			  (unsigned long long)k->ops, (size_t)k->mem,
			  crypto_pwhash_ALG_ARGON2ID13) != 0) {
		sodium_memzero(key, PL_VAULT_KEY_LEN);
		return -1;
	}
	return 0;
}

/* Decodes one strict UTF-8 code point at p[0..n); returns its length or 0. */
static size_t utf8_next(const uint8_t *p, size_t n, uint32_t *cp)
{
	uint8_t c = p[0];
	size_t len;
	uint32_t v;

	if (c < 0x80) {
		*cp = c;
		return 1;
	} else if ((c & 0xE0) == 0xC0) {
		len = 2;
		v = c & 0x1F;
	} else if ((c & 0xF0) == 0xE0) {
		len = 3;
		v = c & 0x0F;
	} else if ((c & 0xF8) == 0xF0) {
		len = 4;
		v = c & 0x07;
	} else {
		return 0;
	}
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((p[i] & 0xC0) != 0x80)
			return 0;
		v = (v << 6) | (p[i] & 0x3F);
	}
	/* Overlong forms, surrogates and values past U+10FFFF are not UTF-8. */
	if ((len == 2 && v < 0x80) || (len == 3 && v < 0x800) || (len == 4 && v < 0x10000) ||
	    v > 0x10FFFF || (v >= 0xD800 && v <= 0xDFFF))
		return 0;
	*cp = v;
	return len;
}

int pl_vault_name_ok(const uint8_t *p, size_t n)
{
	if (p == NULL || n < 1 || n > PL_NAME_MAX)
		return -1;
	for (size_t i = 0; i < n;) {
		uint32_t cp;
		size_t len = utf8_next(p + i, n - i, &cp);
		if (len == 0)
			return -1;
		if (cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == '/' || cp == 0x2028 ||
		    cp == 0x2029 || (cp >= 0x202A && cp <= 0x202E) ||
		    (cp >= 0x2066 && cp <= 0x2069) || cp == 0x200E || cp == 0x200F || cp == 0xFEFF)
			return -1;
		i += len;
	}
	return 0;
}

int pl_vault_url_ok(const uint8_t *p, size_t n, size_t max)
{
	if (p == NULL || n < 1 || n > max)
		return -1;
	for (size_t i = 0; i < n; i++)
		if (p[i] <= 0x20 || p[i] >= 0x7F)
			return -1;
	return 0;
}

int pl_vault_word_ok(const uint8_t *p, size_t n, size_t max)
{
	if (p == NULL || n < 1 || n > max)
		return -1;
	for (size_t i = 0; i < n; i++) {
		uint8_t c = p[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_' || c == '.' ||
		      c == '-'))
			return -1;
	}
	return 0;
}
