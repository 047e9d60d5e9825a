/*
 * signal_crypto_openssl.h — installs an OpenSSL 3 crypto provider into a
 * libsignal-protocol-c context, for the ratchet benchmark only. The
 * algorithms are fetched once and held here; free after the context.
 */
#ifndef PARLEY_BENCH_SIGNAL_CRYPTO_OPENSSL_H
#define PARLEY_BENCH_SIGNAL_CRYPTO_OPENSSL_H

#include <openssl/evp.h>
#include <signal/signal_protocol_types.h>

typedef struct {
	EVP_MAC *hmac;
	EVP_MD *sha512;
	EVP_CIPHER *cbc[3]; /* AES-128/192/256-CBC */
	EVP_CIPHER *ctr[3]; /* AES-128/192/256-CTR */
} signal_openssl;

/* 0 on success, -1 on failure; so must outlive ctx. */
int signal_openssl_install(signal_openssl *so, signal_context *ctx);
void signal_openssl_free(signal_openssl *so);

#endif
