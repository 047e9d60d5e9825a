/*
 * signal_crypto_openssl.c — the crypto provider libsignal-protocol-c needs
 * (it ships curve25519 but leaves random, HMAC-SHA256, SHA-512 and AES to
 * the application), written on OpenSSL 3 EVP so the libsignal figures in
 * `make bench` use a fast, widely deployed implementation of those
 * primitives (AES-NI where the CPU has it) and not a strawman.
 *
 * Written from the signal_crypto_provider contract in signal_protocol.h:
 * every callback returns 0 or a negative SG_ERR_*; output buffers are
 * signal_buffers the library frees; the SHA-512 final leaves the context
 * ready for reuse.
 */
#include "signal_crypto_openssl.h"

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/params.h>
#include <openssl/rand.h>
#include <signal/signal_protocol.h>
#include <string.h>

#define SHA256_LEN 32
#define SHA512_LEN 64
#define AES_BLOCK 16

static int random_cb(uint8_t *data, size_t len, void *user_data)
{
	(void)user_data;
	if (len > (size_t)INT32_MAX || RAND_bytes(data, (int)len) != 1)
		return SG_ERR_UNKNOWN;
	return SG_SUCCESS;
}

static int hmac_init_cb(void **ctx, const uint8_t *key, size_t key_len, void *user_data)
{
	signal_openssl *so = user_data;
	char digest[] = "SHA256";
	OSSL_PARAM params[] = {
	    OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST, digest, 0),
	    OSSL_PARAM_construct_end(),
	};
	EVP_MAC_CTX *c = EVP_MAC_CTX_new(so->hmac);

	if (c == NULL)
		return SG_ERR_NOMEM;
	if (EVP_MAC_init(c, key, key_len, params) != 1) {
		EVP_MAC_CTX_free(c);
		return SG_ERR_UNKNOWN;
	}
	*ctx = c;
	return SG_SUCCESS;
}

static int hmac_update_cb(void *ctx, const uint8_t *data, size_t len, void *user_data)
{
	(void)user_data;
	return EVP_MAC_update(ctx, data, len) == 1 ? SG_SUCCESS : SG_ERR_UNKNOWN;
}

static int hmac_final_cb(void *ctx, signal_buffer **output, void *user_data)
{
	uint8_t md[SHA256_LEN];
	size_t n = 0;
	(void)user_data;

	if (EVP_MAC_final(ctx, md, &n, sizeof md) != 1 || n != sizeof md)
		return SG_ERR_UNKNOWN;
	*output = signal_buffer_create(md, n);
	return *output ? SG_SUCCESS : SG_ERR_NOMEM;
}

static void hmac_cleanup_cb(void *ctx, void *user_data)
{
	(void)user_data;
	EVP_MAC_CTX_free(ctx);
}

static int sha512_init_cb(void **ctx, void *user_data)
{
	signal_openssl *so = user_data;
	EVP_MD_CTX *c = EVP_MD_CTX_new();

	if (c == NULL)
		return SG_ERR_NOMEM;
	if (EVP_DigestInit_ex(c, so->sha512, NULL) != 1) {
		EVP_MD_CTX_free(c);
		return SG_ERR_UNKNOWN;
	}
	*ctx = c;
	return SG_SUCCESS;
}

static int sha512_update_cb(void *ctx, const uint8_t *data, size_t len, void *user_data)
{
	(void)user_data;
	return EVP_DigestUpdate(ctx, data, len) == 1 ? SG_SUCCESS : SG_ERR_UNKNOWN;
}

static int sha512_final_cb(void *ctx, signal_buffer **output, void *user_data)
{
	signal_openssl *so = user_data;
	uint8_t md[SHA512_LEN];
	unsigned int n = 0;

	if (EVP_DigestFinal_ex(ctx, md, &n) != 1 || n != sizeof md)
		return SG_ERR_UNKNOWN;
	if (EVP_DigestInit_ex(ctx, so->sha512, NULL) != 1)
		return SG_ERR_UNKNOWN;
	*output = signal_buffer_create(md, n);
	return *output ? SG_SUCCESS : SG_ERR_NOMEM;
}

static void sha512_cleanup_cb(void *ctx, void *user_data)
{
	(void)user_data;
	EVP_MD_CTX_free(ctx);
}

static const EVP_CIPHER *aes_cipher(const signal_openssl *so, int mode, size_t key_len)
{
	int k = key_len == 16 ? 0 : key_len == 24 ? 1 : key_len == 32 ? 2 : -1;

	if (k < 0)
		return NULL;
	if (mode == SG_CIPHER_AES_CBC_PKCS5)
		return so->cbc[k];
	if (mode == SG_CIPHER_AES_CTR_NOPADDING)
		return so->ctr[k];
	return NULL;
}

/* One EVP pass in either direction; the output is at most in_len + a block. */
static int aes_run(const signal_openssl *so, signal_buffer **output, int mode, int enc,
		   const uint8_t *key, size_t key_len, const uint8_t *iv, size_t iv_len,
		   const uint8_t *in, size_t in_len)
{
	const EVP_CIPHER *cipher = aes_cipher(so, mode, key_len);
	EVP_CIPHER_CTX *c;
	uint8_t *out;
	int n1 = 0, n2 = 0, rc = SG_ERR_UNKNOWN;

	if (cipher == NULL || iv_len != AES_BLOCK || in_len > (size_t)INT32_MAX - AES_BLOCK)
		return SG_ERR_INVAL;
	if ((c = EVP_CIPHER_CTX_new()) == NULL)
		return SG_ERR_NOMEM;
	if ((out = malloc(in_len + AES_BLOCK)) == NULL) {
		EVP_CIPHER_CTX_free(c);
		return SG_ERR_NOMEM;
	}
	if (EVP_CipherInit_ex(c, cipher, NULL, key, iv, enc) == 1 &&
	    EVP_CipherUpdate(c, out, &n1, in, (int)in_len) == 1 &&
	    EVP_CipherFinal_ex(c, out + n1, &n2) == 1) {
		*output = signal_buffer_create(out, (size_t)n1 + (size_t)n2);
		rc = *output ? SG_SUCCESS : SG_ERR_NOMEM;
	}
	OPENSSL_cleanse(out, in_len + AES_BLOCK);
	free(out);
	EVP_CIPHER_CTX_free(c);
	return rc;
}

static int encrypt_cb(signal_buffer **output, int mode, const uint8_t *key, size_t key_len,
		      const uint8_t *iv, size_t iv_len, const uint8_t *pt, size_t pt_len,
		      void *user_data)
{
	return aes_run(user_data, output, mode, 1, key, key_len, iv, iv_len, pt, pt_len);
}

static int decrypt_cb(signal_buffer **output, int mode, const uint8_t *key, size_t key_len,
		      const uint8_t *iv, size_t iv_len, const uint8_t *ct, size_t ct_len,
		      void *user_data)
{
	return aes_run(user_data, output, mode, 0, key, key_len, iv, iv_len, ct, ct_len);
}

int signal_openssl_install(signal_openssl *so, signal_context *ctx)
{
	signal_crypto_provider p;

	static const char *const cbc[3] = {"AES-128-CBC", "AES-192-CBC", "AES-256-CBC"};
	static const char *const ctr[3] = {"AES-128-CTR", "AES-192-CTR", "AES-256-CTR"};

	/* Explicit fetches once, as OpenSSL 3 advises for hot paths. */
	memset(so, 0, sizeof *so);
	memset(&p, 0, sizeof p);
	so->hmac = EVP_MAC_fetch(NULL, "HMAC", NULL);
	so->sha512 = EVP_MD_fetch(NULL, "SHA512", NULL);
	int ok = so->hmac != NULL && so->sha512 != NULL;
	for (int i = 0; i < 3; i++) {
		so->cbc[i] = EVP_CIPHER_fetch(NULL, cbc[i], NULL);
		so->ctr[i] = EVP_CIPHER_fetch(NULL, ctr[i], NULL);
		ok = ok && so->cbc[i] != NULL && so->ctr[i] != NULL;
	}
	if (!ok) {
		signal_openssl_free(so);
		return -1;
	}
	p.random_func = random_cb;
	p.hmac_sha256_init_func = hmac_init_cb;
	p.hmac_sha256_update_func = hmac_update_cb;
	p.hmac_sha256_final_func = hmac_final_cb;
	p.hmac_sha256_cleanup_func = hmac_cleanup_cb;
	p.sha512_digest_init_func = sha512_init_cb;
	p.sha512_digest_update_func = sha512_update_cb;
	p.sha512_digest_final_func = sha512_final_cb;
	p.sha512_digest_cleanup_func = sha512_cleanup_cb;
	p.encrypt_func = encrypt_cb;
	p.decrypt_func = decrypt_cb;
	p.user_data = so;
	return signal_context_set_crypto_provider(ctx, &p) == 0 ? 0 : -1;
}

void signal_openssl_free(signal_openssl *so)
{
	EVP_MAC_free(so->hmac);
	EVP_MD_free(so->sha512);
	for (int i = 0; i < 3; i++) {
		EVP_CIPHER_free(so->cbc[i]);
		EVP_CIPHER_free(so->ctr[i]);
	}
	memset(so, 0, sizeof *so);
}
