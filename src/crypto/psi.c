/*
 * psi.c — blind, reblind, sort and set for the Diffie-Hellman PSI of blind
 * matching (psi.h). The group work is libsodium's; what is here is the
 * loop around it, the in-place sort and the hash set.
 */
#include "crypto/psi.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "crypto/h2g.h"

void pl_psi_keygen(uint8_t k[32])
{
	crypto_core_ristretto255_scalar_random(k);
}

/* Progress every ~1 % of total, at least every 1024 elements. */
static size_t progress_step(size_t total)
{
	size_t step = total / 100;
	if (step > 1024)
		step = 1024;
	return step == 0 ? 1 : step;
}

int pl_psi_blind(uint8_t (*out)[32], const pl_psi_elem *in, size_t n, const uint8_t *ctx,
		 size_t ctxlen, const uint8_t *dst, size_t dstlen, const uint8_t k[32],
		 pl_psi_progress_fn fn, void *fctx)
{
	pl_h2r_ctx h;
	uint8_t hx[32];
	size_t step = progress_step(n), i;
	int rc = 0;

	if (pl_h2r_init(&h, ctx, ctxlen, dst, dstlen) != 0) {
		if (n > 0)
			sodium_memzero(out, n * sizeof *out);
		return -1;
	}
	for (i = 0; i < n; i++) {
		pl_h2r_hash(&h, hx, in[i].p, in[i].n);
		if (crypto_scalarmult_ristretto255(out[i], k, hx) != 0) {
			rc = -1;
			break;
		}
		if (fn != NULL && ((i + 1) % step == 0 || i + 1 == n))
			fn(fctx, i + 1, n);
	}
	if (fn != NULL && n == 0)
		fn(fctx, 0, 0);
	pl_h2r_wipe(&h);
	sodium_memzero(hx, sizeof hx);
	if (rc != 0)
		sodium_memzero(out, n * sizeof *out);
	return rc;
}

int pl_psi_reblind(uint8_t (*out)[32], const uint8_t (*in)[32], size_t n, const uint8_t k[32],
		   pl_psi_progress_fn fn, void *fctx)
{
	size_t step = progress_step(n), i;

	for (i = 0; i < n; i++) {
		/* crypto_scalarmult_ristretto255 decodes its input the same way
		 * and fails too, but the check is the contract, not a side
		 * effect; it also keeps an invalid in[i] from being written
		 * over when out == in. */
		if (!crypto_core_ristretto255_is_valid_point(in[i]) ||
		    crypto_scalarmult_ristretto255(out[i], k, in[i]) != 0) {
			sodium_memzero(out, n * sizeof *out);
			return -1;
		}
		if (fn != NULL && ((i + 1) % step == 0 || i + 1 == n))
			fn(fctx, i + 1, n);
	}
	if (fn != NULL && n == 0)
		fn(fctx, 0, 0);
	return 0;
}

/* ---- sort -------------------------------------------------------------- */

static inline uint64_t be64(const uint8_t *p)
{
	return ((uint64_t)p[0] << 56) | ((uint64_t)p[1] << 48) | ((uint64_t)p[2] << 40) |
	       ((uint64_t)p[3] << 32) | ((uint64_t)p[4] << 24) | ((uint64_t)p[5] << 16) |
	       ((uint64_t)p[6] << 8) | (uint64_t)p[7];
}

/* memcmp order, with the first 8 bytes compared as one word */
static inline int cmp32(const uint8_t *a, const uint8_t *b)
{
	uint64_t x = be64(a), y = be64(b);
	if (x != y)
		return x < y ? -1 : 1;
	return memcmp(a + 8, b + 8, 24);
}

static inline void swap_at(uint8_t (*v)[32], uint32_t *perm, size_t i, size_t j)
{
	uint8_t t[32];
	memcpy(t, v[i], 32);
	memcpy(v[i], v[j], 32);
	memcpy(v[j], t, 32);
	if (perm != NULL) {
		uint32_t u = perm[i];
		perm[i] = perm[j];
		perm[j] = u;
	}
}

static void insertion_sort(uint8_t (*v)[32], uint32_t *perm, size_t lo, size_t hi)
{
	for (size_t i = lo + 1; i < hi; i++) {
		uint8_t t[32];
		uint32_t tp = perm != NULL ? perm[i] : 0;
		size_t j = i;
		memcpy(t, v[i], 32);
		while (j > lo && cmp32(v[j - 1], t) > 0) {
			memcpy(v[j], v[j - 1], 32);
			if (perm != NULL)
				perm[j] = perm[j - 1];
			j--;
		}
		memcpy(v[j], t, 32);
		if (perm != NULL)
			perm[j] = tp;
	}
}

static void sift_down(uint8_t (*v)[32], uint32_t *perm, size_t root, size_t end)
{
	for (;;) {
		size_t c = 2 * root + 1;
		if (c >= end)
			return;
		if (c + 1 < end && cmp32(v[c], v[c + 1]) < 0)
			c++;
		if (cmp32(v[root], v[c]) >= 0)
			return;
		swap_at(v, perm, root, c);
		root = c;
	}
}

static void heap_sort(uint8_t (*v)[32], uint32_t *perm, size_t n)
{
	for (size_t i = n / 2; i-- > 0;)
		sift_down(v, perm, i, n);
	for (size_t end = n; end-- > 1;) {
		swap_at(v, perm, 0, end);
		sift_down(v, perm, 0, end);
	}
}

#define SMALL 16

static void intro_sort(uint8_t (*v)[32], uint32_t *perm, size_t lo, size_t hi, unsigned depth)
{
	while (hi - lo > SMALL) {
		if (depth-- == 0) {
			heap_sort(v + lo, perm != NULL ? perm + lo : NULL, hi - lo);
			return;
		}
		/* median of three to v[mid], with v[lo] <= v[mid] <= v[hi-1]
		 * as sentinels for the scans */
		size_t mid = lo + (hi - 1 - lo) / 2;
		if (cmp32(v[mid], v[lo]) < 0)
			swap_at(v, perm, mid, lo);
		if (cmp32(v[hi - 1], v[mid]) < 0) {
			swap_at(v, perm, hi - 1, mid);
			if (cmp32(v[mid], v[lo]) < 0)
				swap_at(v, perm, mid, lo);
		}
		uint8_t p[32];
		memcpy(p, v[mid], 32);
		/* Hoare partition: [lo, j] <= p <= [j+1, hi) */
		size_t i = lo, j = hi - 1;
		for (;;) {
			while (cmp32(v[i], p) < 0)
				i++;
			while (cmp32(v[j], p) > 0)
				j--;
			if (i >= j)
				break;
			swap_at(v, perm, i, j);
			i++;
			j--;
		}
		/* This is Hoare's scheme (pivot the floor-middle element):
		 * [lo, j] <= p <= [j+1, hi), with lo <= j < hi - 1, so both
		 * parts are non-empty and smaller. */
		size_t split = j + 1;
		if (split - lo < hi - split) {
			intro_sort(v, perm, lo, split, depth);
			lo = split;
		} else {
			intro_sort(v, perm, split, hi, depth);
			hi = split;
		}
	}
	insertion_sort(v, perm, lo, hi);
}

void pl_psi_sort_depth(uint8_t (*v)[32], size_t n, uint32_t *perm, unsigned depth)
{
	if (perm != NULL)
		for (size_t i = 0; i < n; i++)
			perm[i] = (uint32_t)i;
	if (n >= 2)
		intro_sort(v, perm, 0, n, depth);
}

void pl_psi_sort(uint8_t (*v)[32], size_t n, uint32_t *perm)
{
	unsigned depth = 0;

	for (size_t m = n; m > 1; m >>= 1)
		depth += 2; /* 2 log2(n), as introsort */
	pl_psi_sort_depth(v, n, perm, depth);
}

int pl_psi_strictly_ascending(const uint8_t (*v)[32], size_t n)
{
	for (size_t i = 1; i < n; i++)
		if (cmp32(v[i - 1], v[i]) >= 0)
			return 0;
	return 1;
}

/* ---- set --------------------------------------------------------------- */

struct pl_psi_set {
	uint8_t (*slot)[32]; /* all-zero = empty */
	size_t mask;	     /* slots - 1, slots a power of two */
	int has_zero;	     /* the all-zero value is a member */
	uint8_t key[crypto_shorthash_KEYBYTES];
};

static inline int is_zero32(const uint8_t *p)
{
	uint64_t a, b, c, d;
	memcpy(&a, p, 8);
	memcpy(&b, p + 8, 8);
	memcpy(&c, p + 16, 8);
	memcpy(&d, p + 24, 8);
	return (a | b | c | d) == 0;
}

/*
 * The slot a value starts from. The values are uniformly random group
 * elements, so their first 8 bytes would do as an index, and did; but a
 * set may be built from values the peer chose (count mode: its Z list),
 * and a peer can make 2^20 valid encodings that share their first 8
 * bytes, turning every insert into a walk over the whole cluster (hours
 * at 2^20). So the index is SipHash-2-4 (crypto_shorthash) of the whole
 * value under a random key of the set: ~24 ns a value. bench/psi_bench.c
 * at 2^20: sort + set + 2^20 lookups 0.85 s against the floor's 0.63 s
 * (qsort, first-8-byte index), beside ~120 s of group work.
 */
static inline size_t home(const pl_psi_set *s, const uint8_t *v)
{
	uint8_t h8[crypto_shorthash_BYTES];
	uint64_t h;
	crypto_shorthash(h8, v, 32, s->key);
	memcpy(&h, h8, 8);
	return (size_t)h & s->mask;
}

pl_psi_set *pl_psi_set_new(const uint8_t (*v)[32], size_t n)
{
	pl_psi_set *s = calloc(1, sizeof *s);
	size_t slots = 16;

	if (s == NULL)
		return NULL;
	while (slots / 2 < n) {
		if (slots > SIZE_MAX / 64) {
			free(s);
			return NULL;
		}
		slots *= 2;
	}
	s->slot = calloc(slots, sizeof *s->slot);
	if (s->slot == NULL) {
		free(s);
		return NULL;
	}
	s->mask = slots - 1;
	crypto_shorthash_keygen(s->key);
	for (size_t i = 0; i < n; i++) {
		if (is_zero32(v[i])) {
			s->has_zero = 1;
			continue;
		}
		size_t j = home(s, v[i]);
		while (!is_zero32(s->slot[j]) && memcmp(s->slot[j], v[i], 32) != 0)
			j = (j + 1) & s->mask;
		memcpy(s->slot[j], v[i], 32);
	}
	return s;
}

int pl_psi_set_has(const pl_psi_set *s, const uint8_t v[32])
{
	if (s == NULL)
		return 0;
	if (is_zero32(v))
		return s->has_zero;
	for (size_t j = home(s, v);; j = (j + 1) & s->mask) {
		if (is_zero32(s->slot[j]))
			return 0;
		if (memcmp(s->slot[j], v, 32) == 0)
			return 1;
	}
}

void pl_psi_set_free(pl_psi_set *s)
{
	if (s == NULL)
		return;
	sodium_memzero(s->slot, (s->mask + 1) * sizeof *s->slot);
	free(s->slot);
	sodium_memzero(s, sizeof *s);
	free(s);
}
