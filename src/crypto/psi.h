/*
 * psi.h — the engine of blind matching (issue 16, docs: MATCH-SPEC): a
 * Diffie-Hellman private set intersection over ristretto255, on libsodium.
 *
 * Each side hashes its elements to the group (h2g.h: hash_to_ristretto255
 * of ctx || element), raises them to its secret scalar k (blind), sends
 * them sorted, raises the other side's values to k as well (reblind), and
 * compares the doubly-blinded values with a hash set. k1*(k2*H(x)) ==
 * k2*(k1*H(x)), so equal elements meet; nothing else can be learnt without
 * k (DDH in ristretto255).
 *
 * Cost per element, one side: one hash_to_ristretto255 (two SHA-512 over a
 * precomputed prefix state + from_hash) and two variable-base scalar mults,
 * plus one point decode to validate what the peer sent. No allocation per
 * element; the set is the only allocation.
 */
#ifndef PARLEY_CRYPTO_PSI_H
#define PARLEY_CRYPTO_PSI_H

#include <stddef.h>
#include <stdint.h>

#define PL_PSI_SCALAR_LEN 32
#define PL_PSI_ELEM_LEN 32

/* Called with done = 0 .. total as work proceeds: about every 1 % of total
 * and at least every 1024 elements, and always once with done == total. */
typedef void (*pl_psi_progress_fn)(void *ctx, size_t done, size_t total);

typedef struct {
	const uint8_t *p;
	size_t n;
} pl_psi_elem;

/* A fresh secret scalar, nonzero and reduced (crypto_core_ristretto255_
 * scalar_random). The caller wipes it with sodium_memzero. */
void pl_psi_keygen(uint8_t k[32]);

/*
 * out[i] = k * hash_to_ristretto255(ctx || in[i], dst), i < n. ctx may be
 * NULL when ctxlen is 0; out and in may be NULL when n is 0. 0, or -1 (all
 * of out wiped) if the DST is empty or a product is the identity (k = 0).
 */
int pl_psi_blind(uint8_t (*out)[32], const pl_psi_elem *in, size_t n, const uint8_t *ctx,
		 size_t ctxlen, const uint8_t *dst, size_t dstlen, const uint8_t k[32],
		 pl_psi_progress_fn fn, void *fctx);

/*
 * out[i] = k * in[i], i < n, for values received from the peer; out may be
 * in (in place). -1 (all of out wiped) if any in[i] is not a canonical
 * ristretto255 encoding (crypto_core_ristretto255_is_valid_point) or k *
 * in[i] is the identity (in[i] the identity, or k = 0).
 */
int pl_psi_reblind(uint8_t (*out)[32], const uint8_t (*in)[32], size_t n, const uint8_t k[32],
		   pl_psi_progress_fn fn, void *fctx);

/* Sorts v ascending by memcmp, in place (introsort: no allocation, O(n log
 * n) at worst). If perm is not NULL, perm[j] receives the original index of
 * the value that ends at j (n must then fit in uint32_t). */
void pl_psi_sort(uint8_t (*v)[32], size_t n, uint32_t *perm);
/* The same with the quicksort depth limit given (0: heapsort alone), so
 * that tests reach the fallback; pl_psi_sort uses 2 log2(n). */
void pl_psi_sort_depth(uint8_t (*v)[32], size_t n, uint32_t *perm, unsigned depth);

/* 1 if v[0] < v[1] < ... < v[n-1] by memcmp (so no duplicates), else 0. */
int pl_psi_strictly_ascending(const uint8_t (*v)[32], size_t n);

/* A set of 32-byte values: open addressing, linear probing, load at most
 * 1/2, indexed by a keyed SipHash of the value (not by its first 8 bytes:
 * a peer could choose values that collide there; see psi.c). It holds its
 * own copy of the values. */
typedef struct pl_psi_set pl_psi_set;
pl_psi_set *pl_psi_set_new(const uint8_t (*v)[32], size_t n); /* NULL: out of memory */
int pl_psi_set_has(const pl_psi_set *s, const uint8_t v[32]); /* 1 or 0 */
void pl_psi_set_free(pl_psi_set *s);			      /* wipes; NULL is fine */

#endif
