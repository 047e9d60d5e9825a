/*
 * psi_bench.c — one side of an N x N ECDH-PSI (blind matching, issue 16)
 * with parley's engine (src/crypto/psi.h) beside a floor measured in the
 * same run with libsodium alone.
 *
 *   psi_bench [N]      (default: $PSI_BENCH_N, else 2^20)
 *
 * Per party, on one core: blind N own elements (hash_to_ristretto255 of
 * ctx || x, times k), reblind N values of the peer (here: the party's own
 * blinded values stand in, which is the same work), sort the N own values,
 * build a set of the N doubly-blinded values and look up N values in it.
 *
 * The floor is the least work any implementation of this on libsodium must
 * do: per element one expand_message_xmd (two SHA-512 over the same
 * precomputed Z_pad || ctx state that parley uses, so that the floor stays a
 * floor) + crypto_core_ristretto255_from_hash, and two
 * crypto_scalarmult_ristretto255 (whose own decode stands for validation);
 * libc qsort for the sort; an open-addressing set indexed by the first 8
 * bytes. What parley adds: the explicit is_valid_point of every received
 * value, wiping, progress calls, and a keyed SipHash index in the set.
 *
 * The per-element work runs in SLICES slices of N/SLICES elements each for
 * floor and parley, alternating which goes first, so drift on a shared
 * machine hits both alike; the whole-list work (sort, set, lookups) runs
 * after, alternating, 3 times each, median taken. Both sides' outputs are
 * compared: the floor computes the same values.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "crypto/h2g.h"
#include "crypto/psi.h"

#define SLICES 16
#define ELEM_LEN 48 /* a package element: "pkg" and a few person ids */
static const char DST[] = "parley-match-v1-ristretto255_XMD:SHA-512_R255MAP_RO_";

static double now(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

static void die(const char *m)
{
	fprintf(stderr, "psi_bench: %s\n", m);
	exit(1);
}

/* ---- the floor: libsodium alone ----------------------------------------- */

static crypto_hash_sha512_state floor_st; /* after Z_pad || ctx */
static uint8_t floor_dp[sizeof DST];	  /* DST_prime */

static void floor_init(const uint8_t *ctx, size_t ctxlen)
{
	static const uint8_t zpad[128];
	crypto_hash_sha512_init(&floor_st);
	crypto_hash_sha512_update(&floor_st, zpad, sizeof zpad);
	crypto_hash_sha512_update(&floor_st, ctx, ctxlen);
	memcpy(floor_dp, DST, sizeof DST - 1);
	floor_dp[sizeof DST - 1] = (uint8_t)(sizeof DST - 1);
}

static void floor_blind(uint8_t (*out)[32], const pl_psi_elem *in, size_t n, const uint8_t k[32])
{
	static const uint8_t tail[3] = {0, 64, 0}, one = 1;
	for (size_t i = 0; i < n; i++) {
		crypto_hash_sha512_state st = floor_st;
		uint8_t b0[64], b1[64], hx[32];
		crypto_hash_sha512_update(&st, in[i].p, in[i].n);
		crypto_hash_sha512_update(&st, tail, 3);
		crypto_hash_sha512_update(&st, floor_dp, sizeof floor_dp);
		crypto_hash_sha512_final(&st, b0);
		crypto_hash_sha512_init(&st);
		crypto_hash_sha512_update(&st, b0, 64);
		crypto_hash_sha512_update(&st, &one, 1);
		crypto_hash_sha512_update(&st, floor_dp, sizeof floor_dp);
		crypto_hash_sha512_final(&st, b1);
		crypto_core_ristretto255_from_hash(hx, b1);
		if (crypto_scalarmult_ristretto255(out[i], k, hx) != 0)
			die("floor blind: identity");
	}
}

static void floor_reblind(uint8_t (*out)[32], const uint8_t (*in)[32], size_t n,
			  const uint8_t k[32])
{
	for (size_t i = 0; i < n; i++)
		if (crypto_scalarmult_ristretto255(out[i], k, in[i]) != 0)
			die("floor reblind: invalid");
}

static int cmp32(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

typedef struct {
	uint8_t (*slot)[32];
	size_t mask;
} floor_set;

static int zero32(const uint8_t *p)
{
	uint64_t a, b, c, d;
	memcpy(&a, p, 8);
	memcpy(&b, p + 8, 8);
	memcpy(&c, p + 16, 8);
	memcpy(&d, p + 24, 8);
	return (a | b | c | d) == 0;
}

static void floor_set_new(floor_set *s, const uint8_t (*v)[32], size_t n)
{
	size_t slots = 16;
	while (slots / 2 < n)
		slots *= 2;
	s->slot = calloc(slots, 32);
	if (s->slot == NULL)
		die("out of memory");
	s->mask = slots - 1;
	for (size_t i = 0; i < n; i++) {
		uint64_t h;
		memcpy(&h, v[i], 8);
		size_t j = (size_t)h & s->mask;
		while (!zero32(s->slot[j]) && memcmp(s->slot[j], v[i], 32) != 0)
			j = (j + 1) & s->mask;
		memcpy(s->slot[j], v[i], 32);
	}
}

static int floor_set_has(const floor_set *s, const uint8_t *v)
{
	uint64_t h;
	memcpy(&h, v, 8);
	for (size_t j = (size_t)h & s->mask;; j = (j + 1) & s->mask) {
		if (zero32(s->slot[j]))
			return 0;
		if (memcmp(s->slot[j], v, 32) == 0)
			return 1;
	}
}

/* ---- the whole-list work --------------------------------------------- */

static uint8_t (*own)[32], (*dbl)[32], (*probe)[32], (*work)[32];
static uint32_t *perm;

/* sort a copy of the own values, set of the doubly-blinded ones, n
 * lookups (half members); returns seconds, *hits the members found */
static double floor_lists(size_t n, size_t *hits)
{
	floor_set s;
	memcpy(work, own, n * 32);
	double t = now();
	qsort(work, n, 32, cmp32);
	floor_set_new(&s, (const uint8_t(*)[32])dbl, n);
	size_t h = 0;
	for (size_t i = 0; i < n; i++)
		h += (size_t)floor_set_has(&s, probe[i]);
	t = now() - t;
	free(s.slot);
	*hits = h;
	return t;
}

static double parley_lists(size_t n, size_t *hits)
{
	memcpy(work, own, n * 32);
	double t = now();
	pl_psi_sort(work, n, perm);
	pl_psi_set *s = pl_psi_set_new((const uint8_t(*)[32])dbl, n);
	if (s == NULL)
		die("out of memory");
	size_t h = 0;
	for (size_t i = 0; i < n; i++)
		h += (size_t)pl_psi_set_has(s, probe[i]);
	pl_psi_set_free(s);
	t = now() - t;
	*hits = h;
	return t;
}

static int cmpd(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static void progress(void *ctx, size_t done, size_t total)
{
	(void)done;
	(void)total;
	++*(size_t *)ctx;
}

int main(int argc, char **argv)
{
	size_t n = (size_t)1 << 20;
	const char *env = getenv("PSI_BENCH_N");
	if (argc > 1)
		env = argv[1];
	if (env != NULL && *env != '\0')
		n = strtoull(env, NULL, 10);
	if (n < SLICES || n % SLICES != 0 || n > ((size_t)1 << 24))
		die("N must be a multiple of 16 between 16 and 2^24");
	if (sodium_init() < 0)
		die("sodium_init");
	size_t sl = n / SLICES;

	/* untimed setup */
	uint8_t(*elems)[ELEM_LEN] = malloc(n * ELEM_LEN), ctx[81], k[32];
	pl_psi_elem *e = malloc(n * sizeof *e);
	uint8_t(*fy)[32] = malloc(n * 32), (*fz)[32] = malloc(n * 32);
	own = malloc(n * 32);
	dbl = malloc(n * 32);
	probe = malloc(n * 32);
	work = malloc(n * 32);
	perm = malloc(n * sizeof *perm);
	if (!elems || !e || !fy || !fz || !own || !dbl || !probe || !work || !perm)
		die("out of memory");
	randombytes_buf(elems, n * ELEM_LEN);
	for (size_t i = 0; i < n; i++) {
		memcpy(elems[i], "pkg", 3);
		e[i].p = elems[i];
		e[i].n = ELEM_LEN;
	}
	randombytes_buf(ctx, sizeof ctx);
	pl_psi_keygen(k);
	floor_init(ctx, sizeof ctx);

	double tf[SLICES], tp[SLICES], ratio[SLICES], sumf = 0, sump = 0;
	size_t calls = 0;
	for (int s = 0; s < SLICES; s++) {
		size_t o = (size_t)s * sl;
		for (int turn = 0; turn < 2; turn++) {
			int parley_now = (turn == 0) == (s % 2 == 1);
			double t = now();
			if (parley_now) {
				if (pl_psi_blind(own + o, e + o, sl, ctx, sizeof ctx,
						 (const uint8_t *)DST, sizeof DST - 1, k, progress,
						 &calls) != 0 ||
				    pl_psi_reblind(dbl + o, (const uint8_t(*)[32])own + o, sl, k,
						   progress, &calls) != 0)
					die("parley blind/reblind failed");
				tp[s] = now() - t;
			} else {
				floor_blind(fy + o, e + o, sl, k);
				floor_reblind(fz + o, (const uint8_t(*)[32])fy + o, sl, k);
				tf[s] = now() - t;
			}
		}
		if (memcmp(fy + o, own + o, sl * 32) != 0 || memcmp(fz + o, dbl + o, sl * 32) != 0)
			die("floor and parley disagree");
		ratio[s] = tp[s] / tf[s];
		sumf += tf[s];
		sump += tp[s];
		fprintf(stderr, "  psi slice %2d/%d: floor %.2f s, parley %.2f s (%.3fx)\n", s + 1,
			SLICES, tf[s], tp[s], ratio[s]);
	}
	/* lookups: half members (doubly-blinded values), half not (own) */
	for (size_t i = 0; i < n; i++)
		memcpy(probe[i], i % 2 ? dbl[i] : own[i], 32);
	double lf[3], lp[3];
	size_t hf = 0, hp = 0;
	for (int r = 0; r < 3; r++) {
		if (r % 2) {
			lp[r] = parley_lists(n, &hp);
			lf[r] = floor_lists(n, &hf);
		} else {
			lf[r] = floor_lists(n, &hf);
			lp[r] = parley_lists(n, &hp);
		}
	}
	if (hf != hp || hf != n / 2)
		die("set lookups disagree");
	qsort(lf, 3, sizeof lf[0], cmpd);
	qsort(lp, 3, sizeof lp[0], cmpd);
	qsort(ratio, SLICES, sizeof ratio[0], cmpd);
	double medr = (ratio[SLICES / 2 - 1] + ratio[SLICES / 2]) / 2;
	double totf = sumf + lf[1], totp = sump + lp[1];

	printf("psi n=%zu slices=%d floor_s=%.3f parley_s=%.3f floor_lists_s=%.3f "
	       "parley_lists_s=%.3f median_slice_ratio=%.4f total_ratio=%.4f\n",
	       n, SLICES, sumf, sump, lf[1], lp[1], medr, totp / totf);
	printf("%-36s %10s %10s %9s\n", "one side, one core", "floor", "parley", "ratio");
	printf("%-36s %9.2fs %9.2fs %8.3fx\n", "blind + reblind (sliced)", sumf, sump, sump / sumf);
	printf("%-36s %9.3fs %9.3fs %8.3fx\n", "sort + set + lookups (median of 3)", lf[1], lp[1],
	       lp[1] / lf[1]);
	printf("%-36s %9.2fs %9.2fs %8.3fx\n", "total", totf, totp, totp / totf);
	printf("%-36s %9.1fus %9.1fus\n", "per element", totf / (double)n * 1e6,
	       totp / (double)n * 1e6);
	printf("median per-slice ratio parley/floor: %.3fx (slices of %zu; min %.3fx, max %.3fx)\n",
	       medr, sl, ratio[0], ratio[SLICES - 1]);
	printf("target: parley within 1.2x of the floor: %.3fx %s\n", totp / totf,
	       totp / totf <= 1.2 ? "met" : "NOT MET");
	double p20 = totp * ((double)(1u << 20) / (double)n);
	printf(
	    "beside volePSI's published 0.37 s for 2^20 (OT/VOLE-based, a different design):\n"
	    "  parley's side at 2^20 is %.1f s (scaled from n = %zu), %.0fx that. The gap is the\n"
	    "  design: ECDH-PSI pays one hash-to-group and two variable-base scalar mults per\n"
	    "  element (the floor alone: %.1f us), VOLE-PSI a few AES and field operations.\n"
	    "  Getting near it needs base OTs + OT extension (IKNP/SoftSpoken) or silent VOLE\n"
	    "  (LPN codes), an OKVS, AES-NI PRGs and an interactive session of several rounds:\n"
	    "  none is in libsodium, and parley's one-way messages through the relay do not\n"
	    "  carry an interactive protocol.\n",
	    p20, n, p20 / 0.37, totf / (double)n * 1e6);
	(void)calls;
	sodium_memzero(k, sizeof k);
	return 0;
}
