/*
 * tlog.c — the relay's per-batch views of its Merkle tree (see tlog.h).
 *
 * A view keeps, for each level l, the hashes of the complete subtrees with
 * indices [lo[l], lo[l] + n[l]): the frontier entry (index (base >> l) - 1)
 * and every subtree completed since. Subtrees complete in index order at
 * each level, so each level is one contiguous run and an append only ever
 * adds at its end. A batch of at most B leaves completes at most
 * (B >> l) + 1 subtrees at level l, which with the frontier sizes the run.
 */
#include "relay/tlog.h"

#include <stdlib.h>
#include <string.h>

#define LEVELS 64
#define HLEN PL_MERKLE_HASH_LEN

struct pl_tlog_view {
	int refs;
	uint64_t base, size;
	uint64_t lo[LEVELS];
	size_t n[LEVELS], off[LEVELS], cap[LEVELS];
	size_t notelen;
	uint8_t note[PL_LEAF_NOTE_MAX];
	uint8_t (*h)[HLEN];
};

static const uint8_t *lookup(const pl_tlog_view *v, unsigned level, uint64_t index)
{
	if (level >= LEVELS || index < v->lo[level] || index - v->lo[level] >= v->n[level])
		return NULL;
	return v->h[v->off[level] + (size_t)(index - v->lo[level])];
}

static int view_leaf(void *ctx, uint64_t index, uint8_t out[HLEN])
{
	const uint8_t *p = lookup(ctx, 0, index);
	if (p == NULL)
		return -1;
	memcpy(out, p, HLEN);
	return 0;
}

static int view_node(void *ctx, unsigned level, uint64_t index, uint8_t out[HLEN])
{
	const uint8_t *p = lookup(ctx, level, index);
	if (p == NULL)
		return 0; /* merkle.c then recurses to children, and fails at a missing leaf */
	memcpy(out, p, HLEN);
	return 1;
}

static void view_source(pl_merkle_source *src, const pl_tlog_view *v)
{
	src->get_leaf = view_leaf;
	src->get_node = view_node;
	src->ctx = (void *)v;
}

/* A view whose batch begins at `base`, with room for max_leaves appends;
 * the frontier is still to be filled in. */
static pl_tlog_view *view_new(uint64_t base, size_t max_leaves)
{
	size_t total = 0, cap[LEVELS];
	pl_tlog_view *v;

	for (unsigned l = 0; l < LEVELS; l++) {
		cap[l] = (max_leaves >> l) + 2;
		total += cap[l];
	}
	v = calloc(1, sizeof *v);
	if (v == NULL)
		return NULL;
	v->h = malloc(total * HLEN);
	if (v->h == NULL) {
		free(v);
		return NULL;
	}
	v->refs = 1;
	v->base = v->size = base;
	total = 0;
	for (unsigned l = 0; l < LEVELS; l++) {
		v->off[l] = total;
		v->cap[l] = cap[l];
		total += cap[l];
		uint64_t m = base >> l;
		v->lo[l] = m > 0 ? m - 1 : 0;
	}
	return v;
}

static void view_free(pl_tlog_view *v)
{
	if (v == NULL)
		return;
	free(v->h);
	free(v);
}

static int put(pl_tlog_view *v, unsigned level, uint64_t index, const uint8_t hash[HLEN])
{
	if (level >= LEVELS)
		return -1;
	if (v->n[level] == 0)
		v->lo[level] = index;
	else if (index != v->lo[level] + v->n[level])
		return -1;
	if (v->n[level] >= v->cap[level])
		return -1;
	memcpy(v->h[v->off[level] + v->n[level]], hash, HLEN);
	v->n[level]++;
	return 0;
}

int pl_tlog_init(pl_tlog *t, const pl_merkle_source *src, uint64_t size, size_t max_leaves)
{
	uint8_t h[HLEN];
	pl_tlog_view *v;

	memset(t, 0, sizeof *t);
	if (src == NULL || src->get_leaf == NULL || max_leaves == 0)
		return -1;
	v = view_new(size, max_leaves);
	if (v == NULL)
		return -1;
	for (unsigned l = 0; l < LEVELS; l++) {
		uint64_t m = size >> l;
		if (m == 0)
			break;
		int got = l == 0 ? (src->get_leaf(src->ctx, m - 1, h) == 0 ? 1 : -1)
				 : (src->get_node ? src->get_node(src->ctx, l, m - 1, h) : 0);
		if (got != 1 || put(v, l, m - 1, h) != 0) {
			view_free(v);
			return -1;
		}
	}
	t->size = size;
	t->max_leaves = max_leaves;
	t->open = v;
	return 0;
}

void pl_tlog_free(pl_tlog *t)
{
	if (t->open != NULL)
		pl_tlog_view_unref(t->open);
	memset(t, 0, sizeof *t);
}

int pl_tlog_append(pl_tlog *t, const uint8_t leaf[static HLEN],
		   pl_merkle_node nodes[static PL_MERKLE_APPEND_MAX], size_t *count)
{
	pl_tlog_view *v = t->open;
	pl_merkle_source src;
	pl_merkle_node tmp[PL_MERKLE_APPEND_MAX];
	size_t cnt = 0;

	*count = 0;
	if (v == NULL || t->size - v->base >= t->max_leaves)
		return -1;
	view_source(&src, v);
	if (pl_merkle_store_append(&src, t->size, leaf, tmp, &cnt) != 0)
		return -1;
	/* Room was reserved for max_leaves appends, so these cannot fail
	 * unless the view is inconsistent; check before writing anyway. */
	if (v->n[0] >= v->cap[0])
		return -1;
	for (size_t i = 0; i < cnt; i++)
		if (tmp[i].level >= LEVELS || v->n[tmp[i].level] >= v->cap[tmp[i].level])
			return -1;
	size_t n0[LEVELS];
	memcpy(n0, v->n, sizeof n0);
	if (put(v, 0, t->size, leaf) != 0)
		goto undo;
	for (size_t i = 0; i < cnt; i++)
		if (put(v, tmp[i].level, tmp[i].index, tmp[i].hash) != 0)
			goto undo;
	memcpy(nodes, tmp, cnt * sizeof tmp[0]);
	*count = cnt;
	t->size++;
	return 0;
undo:
	memcpy(v->n, n0, sizeof n0);
	return -1;
}

int pl_tlog_root(const pl_tlog *t, uint8_t root[static HLEN])
{
	pl_merkle_source src;

	if (t->open == NULL)
		return -1;
	view_source(&src, t->open);
	return pl_merkle_root(&src, t->size, root);
}

void pl_tlog_rollback(pl_tlog *t)
{
	pl_tlog_view *v = t->open;

	if (v == NULL)
		return;
	for (unsigned l = 0; l < LEVELS; l++) {
		uint64_t m = v->base >> l;
		v->n[l] = m > 0 && v->n[l] > 0 ? 1 : 0;
		if (m > 0)
			v->lo[l] = m - 1;
	}
	t->size = v->base;
}

uint64_t pl_tlog_base(const pl_tlog *t)
{
	return t->open != NULL ? t->open->base : t->size;
}

pl_tlog_view *pl_tlog_seal(pl_tlog *t, const uint8_t *note, size_t notelen)
{
	pl_tlog_view *v = t->open, *next;

	if (v == NULL || notelen == 0 || notelen > sizeof v->note)
		return NULL;
	next = view_new(t->size, t->max_leaves);
	if (next == NULL)
		return NULL;
	for (unsigned l = 0; l < LEVELS; l++) {
		uint64_t m = t->size >> l;
		if (m == 0)
			break;
		const uint8_t *h = lookup(v, l, m - 1);
		if (h == NULL || put(next, l, m - 1, h) != 0) {
			view_free(next);
			return NULL;
		}
	}
	v->size = t->size;
	memcpy(v->note, note, notelen);
	v->notelen = notelen;
	t->open = next;
	return v; /* the tlog's reference passes to the caller */
}

void pl_tlog_view_ref(pl_tlog_view *v, unsigned n)
{
	__atomic_add_fetch(&v->refs, (int)n, __ATOMIC_RELAXED);
}

void pl_tlog_view_unref(pl_tlog_view *v)
{
	if (v != NULL && __atomic_sub_fetch(&v->refs, 1, __ATOMIC_ACQ_REL) == 0)
		view_free(v);
}

uint64_t pl_tlog_view_size(const pl_tlog_view *v)
{
	return v->size;
}

uint64_t pl_tlog_view_base(const pl_tlog_view *v)
{
	return v->base;
}

const uint8_t *pl_tlog_view_note(const pl_tlog_view *v, size_t *len)
{
	*len = v->notelen;
	return v->note;
}

int pl_tlog_view_prove(const pl_tlog_view *v, uint64_t index,
		       uint8_t proof[static PL_MERKLE_PROOF_MAX][HLEN], size_t *len)
{
	pl_merkle_source src;

	*len = 0;
	if (index < v->base || index >= v->size)
		return -1;
	view_source(&src, v);
	return pl_merkle_prove_inclusion(&src, index, v->size, proof, len);
}
