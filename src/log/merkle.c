/*
 * merkle.c — RFC 9162 Merkle tree hashing, proofs and their verification;
 * see merkle.h for the policy and the subtree-store contract.
 *
 * Generation walks the RFC's recursive definitions (MTH, PATH, SUBPROOF)
 * top-down over ranges [start, start+n). Every range that walk meets is
 * aligned: start is a multiple of the smallest power of two ≥ n, so a
 * range of power-of-two size is exactly one complete aligned subtree and
 * can be read from the store instead of recomputed.
 */
#include "log/merkle.h"

#include <sodium.h>
#include <string.h>

#define HLEN PL_MERKLE_HASH_LEN

void pl_merkle_leaf_hash(uint8_t out[static HLEN], const uint8_t *data, size_t len)
{
	static const uint8_t prefix = 0x00;
	crypto_hash_sha256_state st;
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, &prefix, 1);
	crypto_hash_sha256_update(&st, data, len);
	crypto_hash_sha256_final(&st, out);
}

/* One call over a 65-byte buffer: out may alias left or right. */
void pl_merkle_node_hash(uint8_t out[static HLEN], const uint8_t left[static HLEN],
			 const uint8_t right[static HLEN])
{
	uint8_t buf[1 + 2 * HLEN];
	buf[0] = 0x01;
	memcpy(buf + 1, left, HLEN);
	memcpy(buf + 1 + HLEN, right, HLEN);
	crypto_hash_sha256(out, buf, sizeof buf);
}

void pl_merkle_empty_root(uint8_t out[static HLEN])
{
	crypto_hash_sha256(out, (const uint8_t *)"", 0);
}

static int hash_eq(const uint8_t a[static HLEN], const uint8_t b[static HLEN])
{
	return sodium_memcmp(a, b, HLEN) == 0;
}

static int is_pow2(uint64_t x)
{
	return x != 0 && (x & (x - 1)) == 0;
}

/* Largest power of two strictly below n (n ≥ 2). */
static uint64_t split_point(uint64_t n)
{
	return (uint64_t)1 << (63 - __builtin_clzll(n - 1));
}

/* RFC 9162 §2.1.3.2. The loop ends within 64 elements: every element
 * shifts sn right at least once and an element seen at sn = 0 fails. */
int pl_merkle_verify_inclusion(const uint8_t leaf[static HLEN], uint64_t index, uint64_t size,
			       const uint8_t (*proof)[HLEN], size_t proof_len,
			       const uint8_t root[static HLEN])
{
	uint8_t r[HLEN];

	if (index >= size || (proof_len > 0 && proof == NULL))
		return -1;
	uint64_t fn = index, sn = size - 1;
	memcpy(r, leaf, HLEN);
	for (size_t i = 0; i < proof_len; i++) {
		if (sn == 0)
			return -1;
		if ((fn & 1) != 0 || fn == sn) {
			pl_merkle_node_hash(r, proof[i], r);
			while ((fn & 1) == 0 && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			pl_merkle_node_hash(r, r, proof[i]);
		}
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && hash_eq(r, root) ? 0 : -1;
}

/* RFC 9162 §2.1.4.2 for 0 < size1 < size2; the header's policy otherwise. */
int pl_merkle_verify_consistency(uint64_t size1, uint64_t size2, const uint8_t root1[static HLEN],
				 const uint8_t root2[static HLEN], const uint8_t (*proof)[HLEN],
				 size_t proof_len)
{
	uint8_t fr[HLEN], sr[HLEN], empty[HLEN];
	size_t i = 0;

	if (size1 > size2 || (proof_len > 0 && proof == NULL))
		return -1;
	if (size1 == 0) {
		pl_merkle_empty_root(empty);
		if (proof_len != 0 || !hash_eq(root1, empty))
			return -1;
		return size2 != 0 || hash_eq(root2, empty) ? 0 : -1;
	}
	if (size1 == size2)
		return proof_len == 0 && hash_eq(root1, root2) ? 0 : -1;
	if (proof_len == 0)
		return -1;

	/* A power-of-two size1 is itself a complete subtree on the path: the
	 * RFC prepends root1 to the proof; here it seeds the chain instead. */
	if (is_pow2(size1)) {
		memcpy(fr, root1, HLEN);
	} else {
		memcpy(fr, proof[0], HLEN);
		i = 1;
	}
	memcpy(sr, fr, HLEN);
	uint64_t fn = size1 - 1, sn = size2 - 1;
	while ((fn & 1) != 0) {
		fn >>= 1;
		sn >>= 1;
	}
	for (; i < proof_len; i++) {
		if (sn == 0)
			return -1;
		if ((fn & 1) != 0 || fn == sn) {
			pl_merkle_node_hash(fr, proof[i], fr);
			pl_merkle_node_hash(sr, proof[i], sr);
			while ((fn & 1) == 0 && fn != 0) {
				fn >>= 1;
				sn >>= 1;
			}
		} else {
			pl_merkle_node_hash(sr, sr, proof[i]);
		}
		fn >>= 1;
		sn >>= 1;
	}
	return sn == 0 && hash_eq(fr, root1) && hash_eq(sr, root2) ? 0 : -1;
}

/* Hash of the complete subtree (level, index): stored, or computed. */
static int complete_hash(const pl_merkle_source *src, unsigned level, uint64_t index,
			 uint8_t out[static HLEN])
{
	uint8_t l[HLEN], r[HLEN];

	if (level == 0)
		return src->get_leaf(src->ctx, index, out) == 0 ? 0 : -1;
	if (src->get_node != NULL) {
		int got = src->get_node(src->ctx, level, index, out);
		if (got < 0)
			return -1;
		if (got == 1)
			return 0;
	}
	if (complete_hash(src, level - 1, 2 * index, l) != 0 ||
	    complete_hash(src, level - 1, 2 * index + 1, r) != 0)
		return -1;
	pl_merkle_node_hash(out, l, r);
	return 0;
}

/* MTH of the aligned range [start, start+n), n ≥ 1: its complete subtrees
 * from left to right are one per set bit of n, largest first. */
static int range_hash(const pl_merkle_source *src, uint64_t start, uint64_t n,
		      uint8_t out[static HLEN])
{
	uint8_t left[HLEN], right[HLEN];

	if (is_pow2(n)) {
		unsigned level = (unsigned)__builtin_ctzll(n);
		return complete_hash(src, level, start >> level, out);
	}
	uint64_t k = split_point(n);
	unsigned level = (unsigned)__builtin_ctzll(k);
	if (complete_hash(src, level, start >> level, left) != 0 ||
	    range_hash(src, start + k, n - k, right) != 0)
		return -1;
	pl_merkle_node_hash(out, left, right);
	return 0;
}

static int source_ok(const pl_merkle_source *src)
{
	return src != NULL && src->get_leaf != NULL;
}

int pl_merkle_root(const pl_merkle_source *src, uint64_t size, uint8_t out[static HLEN])
{
	uint8_t h[HLEN];

	if (!source_ok(src))
		return -1;
	if (size == 0) {
		pl_merkle_empty_root(out);
		return 0;
	}
	if (range_hash(src, 0, size, h) != 0)
		return -1;
	memcpy(out, h, HLEN);
	return 0;
}

/* Proof elements are found root-first; the wire order is leaf-first. */
static void emit_reversed(uint8_t proof[static PL_MERKLE_PROOF_MAX][HLEN], size_t *len,
			  uint8_t tmp[static PL_MERKLE_PROOF_MAX][HLEN], size_t n)
{
	for (size_t i = 0; i < n; i++)
		memcpy(proof[i], tmp[n - 1 - i], HLEN);
	*len = n;
}

/* RFC 9162 §2.1.3.1 PATH(m, D[n]), unrolled: at each level the sibling
 * range's hash is one element, and the walk descends into m's side. */
int pl_merkle_prove_inclusion(const pl_merkle_source *src, uint64_t index, uint64_t size,
			      uint8_t proof[static PL_MERKLE_PROOF_MAX][HLEN], size_t *len)
{
	uint8_t tmp[PL_MERKLE_PROOF_MAX][HLEN];
	size_t cnt = 0;
	uint64_t start = 0, n = size, m = index;

	if (!source_ok(src) || index >= size)
		return -1;
	while (n > 1) {
		uint64_t k = split_point(n);
		int rc;
		if (m < k) {
			rc = range_hash(src, start + k, n - k, tmp[cnt]);
			n = k;
		} else {
			rc = range_hash(src, start, k, tmp[cnt]);
			start += k;
			m -= k;
			n -= k;
		}
		if (rc != 0)
			return -1;
		cnt++;
	}
	emit_reversed(proof, len, tmp, cnt);
	return 0;
}

/* RFC 9162 §2.1.4.1 SUBPROOF(m, D[n], b), unrolled the same way. */
int pl_merkle_prove_consistency(const pl_merkle_source *src, uint64_t size1, uint64_t size2,
				uint8_t proof[static PL_MERKLE_PROOF_MAX][HLEN], size_t *len)
{
	uint8_t tmp[PL_MERKLE_PROOF_MAX][HLEN];
	size_t cnt = 0;
	uint64_t start = 0, n = size2, m = size1;
	int whole = 1; /* b: m is still the whole old tree, whose root the verifier has */

	if (!source_ok(src) || size1 > size2)
		return -1;
	if (size1 == 0 || size1 == size2) {
		*len = 0;
		return 0;
	}
	while (m != n) {
		uint64_t k = split_point(n);
		int rc;
		if (m <= k) {
			rc = range_hash(src, start + k, n - k, tmp[cnt]);
			n = k;
		} else {
			rc = range_hash(src, start, k, tmp[cnt]);
			start += k;
			m -= k;
			n -= k;
			whole = 0;
		}
		if (rc != 0)
			return -1;
		cnt++;
	}
	if (!whole) {
		if (range_hash(src, start, m, tmp[cnt]) != 0)
			return -1;
		cnt++;
	}
	emit_reversed(proof, len, tmp, cnt);
	return 0;
}

int pl_merkle_store_append(const pl_merkle_source *src, uint64_t size,
			   const uint8_t leaf[static HLEN],
			   pl_merkle_node nodes[static PL_MERKLE_APPEND_MAX], size_t *count)
{
	pl_merkle_node tmp[PL_MERKLE_APPEND_MAX];
	uint8_t h[HLEN], sibling[HLEN];

	if (!source_ok(src) || size == UINT64_MAX)
		return -1;
	/* Leaf `size` closes the subtrees at levels 1..t, t = trailing zeros
	 * of the new size; each one's left half is older, hence readable. */
	uint64_t n1 = size + 1;
	unsigned t = (unsigned)__builtin_ctzll(n1);
	memcpy(h, leaf, HLEN);
	for (unsigned l = 1; l <= t; l++) {
		if (complete_hash(src, l - 1, (n1 >> (l - 1)) - 2, sibling) != 0)
			return -1;
		pl_merkle_node_hash(h, sibling, h);
		tmp[l - 1].level = l;
		tmp[l - 1].index = (n1 >> l) - 1;
		memcpy(tmp[l - 1].hash, h, HLEN);
	}
	memcpy(nodes, tmp, t * sizeof tmp[0]);
	*count = t;
	return 0;
}
