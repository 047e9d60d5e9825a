/*
 * merkle.h — the relay log's Merkle tree (DESIGN.md layer 6): RFC 9162 §2.1
 * hashing, verification of inclusion and consistency proofs, and generation
 * of roots and proofs from leaves the caller stores.
 *
 * Hashing (RFC 9162 §2.1.1, the same as RFC 6962 §2.1), SHA-256 throughout:
 *   empty tree  MTH({})  = SHA-256("")
 *   leaf        H(d)     = SHA-256(0x00 ‖ d)
 *   node        H(l, r)  = SHA-256(0x01 ‖ l ‖ r)
 *
 * Verification follows the algorithms of RFC 9162 §2.1.3.2 (inclusion) and
 * §2.1.4.2 (consistency). Hashes are fixed 32-byte arrays: a hash of any
 * other length cannot reach these functions (the checkpoint and proof
 * decoders refuse it), so neither can a root that is not a SHA-256 output.
 *
 * Consistency policy (what parley accepts beyond 0 < size1 < size2):
 *   - size1 > size2: refused.
 *   - size1 = size2 > 0: the proof must be empty and root1 = root2.
 *   - size1 = 0: the proof must be empty and root1 must be the empty-tree
 *     hash SHA-256(""); if size2 is also 0, root2 must be that hash too.
 *     Every tree extends the empty tree, so this is the mathematical answer
 *     and the rule of C2SP tlog-witness ("old 0" with an empty proof). It
 *     differs from transparency-dev/merkle, which refuses size1 = 0
 *     outright; parley takes the witness rule so that a client whose stored
 *     checkpoint is the relay's empty log (size 0) needs no special case,
 *     and it checks root1 so that a "size 0" checkpoint with any other root
 *     is caught rather than waved through.
 *
 * Generation reads the tree through a pl_merkle_source: a leaf-hash
 * callback and an optional callback for stored hashes of complete aligned
 * subtrees (level l ≥ 1, index i: leaves [i·2^l, (i+1)·2^l)). With every
 * such subtree stored (pl_merkle_store_append says which nodes to store on
 * each append), a root or proof over n leaves reads O(log n) hashes and does
 * O(log n) SHA-256 calls; without it, the work is O(n).
 *
 * Must never: accept a proof whose length is not the exact length for its
 * sizes, read or hash outside the caller's arrays, loop more than 64 steps
 * per proof element, or return a partly written result on failure.
 */
#ifndef PARLEY_LOG_MERKLE_H
#define PARLEY_LOG_MERKLE_H

#include <stddef.h>
#include <stdint.h>

#define PL_MERKLE_HASH_LEN 32
/* Longest inclusion or consistency proof for any size below 2^64. */
#define PL_MERKLE_PROOF_MAX 65
/* Most nodes one append completes (levels 1..63). */
#define PL_MERKLE_APPEND_MAX 64

/* Returns the leaf hash of leaf `index` in out: 0, or -1 on error. */
typedef int (*pl_merkle_leaf_fn)(void *ctx, uint64_t index, uint8_t out[PL_MERKLE_HASH_LEN]);
/* Looks up the stored hash of the complete subtree (level ≥ 1, index):
 * 1 and out filled if stored, 0 if not stored, -1 on error. */
typedef int (*pl_merkle_node_fn)(void *ctx, unsigned level, uint64_t index,
				 uint8_t out[PL_MERKLE_HASH_LEN]);

typedef struct {
	pl_merkle_leaf_fn get_leaf; /* required */
	pl_merkle_node_fn get_node; /* optional (NULL: compute from leaves) */
	void *ctx;
} pl_merkle_source;

/* A complete-subtree hash to store: leaves [index·2^level, (index+1)·2^level). */
typedef struct {
	unsigned level;
	uint64_t index;
	uint8_t hash[PL_MERKLE_HASH_LEN];
} pl_merkle_node;

void pl_merkle_leaf_hash(uint8_t out[static PL_MERKLE_HASH_LEN], const uint8_t *data, size_t len);
void pl_merkle_node_hash(uint8_t out[static PL_MERKLE_HASH_LEN],
			 const uint8_t left[static PL_MERKLE_HASH_LEN],
			 const uint8_t right[static PL_MERKLE_HASH_LEN]);
void pl_merkle_empty_root(uint8_t out[static PL_MERKLE_HASH_LEN]);

/* 0 iff `proof` (proof_len hashes, leaf's sibling first) proves that `leaf`
 * is leaf `index` of the tree of `size` leaves with root `root`. */
int pl_merkle_verify_inclusion(const uint8_t leaf[static PL_MERKLE_HASH_LEN], uint64_t index,
			       uint64_t size, const uint8_t (*proof)[PL_MERKLE_HASH_LEN],
			       size_t proof_len, const uint8_t root[static PL_MERKLE_HASH_LEN]);

/* 0 iff `proof` proves that the tree of size2 leaves with root2 extends the
 * tree of size1 leaves with root1 (policy for equal and zero sizes above). */
int pl_merkle_verify_consistency(uint64_t size1, uint64_t size2,
				 const uint8_t root1[static PL_MERKLE_HASH_LEN],
				 const uint8_t root2[static PL_MERKLE_HASH_LEN],
				 const uint8_t (*proof)[PL_MERKLE_HASH_LEN], size_t proof_len);

/* Root of the first `size` leaves (SHA-256("") for size 0). */
int pl_merkle_root(const pl_merkle_source *src, uint64_t size,
		   uint8_t out[static PL_MERKLE_HASH_LEN]);

/* Inclusion proof of leaf `index` in the tree of `size` leaves, written to
 * proof[0..*len) (RFC 9162 §2.1.3.1 order). Requires index < size. */
int pl_merkle_prove_inclusion(const pl_merkle_source *src, uint64_t index, uint64_t size,
			      uint8_t proof[static PL_MERKLE_PROOF_MAX][PL_MERKLE_HASH_LEN],
			      size_t *len);

/* Consistency proof from size1 to size2 (RFC 9162 §2.1.4.1); empty when
 * size1 = 0 or size1 = size2. Requires size1 ≤ size2. */
int pl_merkle_prove_consistency(const pl_merkle_source *src, uint64_t size1, uint64_t size2,
				uint8_t proof[static PL_MERKLE_PROOF_MAX][PL_MERKLE_HASH_LEN],
				size_t *len);

/* Appending leaf hash `leaf` as leaf number `size` (the tree had `size`
 * leaves, all readable through src) completes the subtrees listed in
 * nodes[0..*count), lowest level first, with their hashes. A caller that
 * stores the leaf and these nodes in one transaction keeps the invariant
 * that every complete aligned subtree is stored. Level 0 (the leaf itself)
 * is not listed: get_leaf serves it. */
int pl_merkle_store_append(const pl_merkle_source *src, uint64_t size,
			   const uint8_t leaf[static PL_MERKLE_HASH_LEN],
			   pl_merkle_node nodes[static PL_MERKLE_APPEND_MAX], size_t *count);

#endif
