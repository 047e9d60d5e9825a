/*
 * mbxidx.c — the relay's in-memory index of its log by mailbox (see
 * mbxidx.h).
 *
 * Mailboxes live in an array found through an open-addressing table
 * (linear probing) keyed by a SipHash of the mailbox id under a key drawn
 * at start, so that nobody can choose mailbox ids that pile up in one run
 * of the table. Each mailbox holds one sorted array of leaf indices per
 * kind; a lookup is a binary search per kind and a merge of the two.
 */
#include "relay/mbxidx.h"

#include <pthread.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "relay/proto.h"

typedef struct {
	uint8_t key[PL_MBXIDX_KEY_LEN];
	uint64_t *v[PL_MBXIDX_KINDS];
	uint32_t n[PL_MBXIDX_KINDS], cap[PL_MBXIDX_KINDS];
} mbox;

struct pl_mbxidx {
	pthread_rwlock_t lock;
	uint8_t hkey[crypto_shorthash_KEYBYTES];
	mbox *boxes;
	size_t nboxes, capboxes;
	uint32_t *slot; /* box index + 1; 0 = empty */
	size_t nslots;	/* a power of two, at least twice nboxes */
	size_t leaves;
	int broken;
};

#define SLOTS_MIN 1024
#define GROW_MIN 4

int pl_mbxidx_kind_of(uint8_t leaf_type)
{
	if (leaf_type == PL_PROTO_MBXLOG_DEPOSIT_LEAF)
		return PL_MBXIDX_DEPOSIT;
	if (leaf_type == PL_PROTO_MBXLOG_ACK_LEAF)
		return PL_MBXIDX_ACK;
	return -1;
}

pl_mbxidx *pl_mbxidx_new(void)
{
	pl_mbxidx *x = calloc(1, sizeof *x);

	if (x == NULL)
		return NULL;
	if (sodium_init() < 0 || pthread_rwlock_init(&x->lock, NULL) != 0) {
		free(x);
		return NULL;
	}
	crypto_shorthash_keygen(x->hkey);
	x->slot = calloc(SLOTS_MIN, sizeof *x->slot);
	if (x->slot == NULL) {
		pthread_rwlock_destroy(&x->lock);
		free(x);
		return NULL;
	}
	x->nslots = SLOTS_MIN;
	return x;
}

void pl_mbxidx_free(pl_mbxidx *x)
{
	if (x == NULL)
		return;
	for (size_t i = 0; i < x->nboxes; i++)
		for (int k = 0; k < PL_MBXIDX_KINDS; k++)
			free(x->boxes[i].v[k]);
	free(x->boxes);
	free(x->slot);
	pthread_rwlock_destroy(&x->lock);
	free(x);
}

static size_t slot_of(const pl_mbxidx *x, const uint8_t mbx[static PL_MBXIDX_KEY_LEN])
{
	uint8_t h[crypto_shorthash_BYTES];
	uint64_t v = 0;

	crypto_shorthash(h, mbx, PL_MBXIDX_KEY_LEN, x->hkey);
	memcpy(&v, h, sizeof v);
	return (size_t)v & (x->nslots - 1);
}

/* The mailbox's entry, or NULL (caller holds the lock). */
static mbox *find_box(const pl_mbxidx *x, const uint8_t mbx[static PL_MBXIDX_KEY_LEN])
{
	for (size_t i = slot_of(x, mbx);; i = (i + 1) & (x->nslots - 1)) {
		uint32_t b = x->slot[i];
		if (b == 0)
			return NULL;
		if (memcmp(x->boxes[b - 1].key, mbx, PL_MBXIDX_KEY_LEN) == 0)
			return &x->boxes[b - 1];
	}
}

static void place(pl_mbxidx *x, size_t box)
{
	size_t i = slot_of(x, x->boxes[box].key);
	while (x->slot[i] != 0)
		i = (i + 1) & (x->nslots - 1);
	x->slot[i] = (uint32_t)(box + 1);
}

/* A new mailbox entry (caller holds the write lock); NULL on out of memory. */
static mbox *new_box(pl_mbxidx *x, const uint8_t mbx[static PL_MBXIDX_KEY_LEN])
{
	if (x->nboxes >= UINT32_MAX - 1)
		return NULL;
	if ((x->nboxes + 1) * 2 > x->nslots) {
		size_t ns = x->nslots * 2;
		uint32_t *s = calloc(ns, sizeof *s);
		if (s == NULL)
			return NULL;
		free(x->slot);
		x->slot = s;
		x->nslots = ns;
		for (size_t i = 0; i < x->nboxes; i++)
			place(x, i);
	}
	if (x->nboxes == x->capboxes) {
		size_t nc = x->capboxes ? x->capboxes + x->capboxes / 4 + GROW_MIN : 64;
		mbox *b = realloc(x->boxes, nc * sizeof *b);
		if (b == NULL)
			return NULL;
		x->boxes = b;
		x->capboxes = nc;
	}
	mbox *m = &x->boxes[x->nboxes];
	memset(m, 0, sizeof *m);
	memcpy(m->key, mbx, PL_MBXIDX_KEY_LEN);
	place(x, x->nboxes++);
	return m;
}

int pl_mbxidx_add(pl_mbxidx *x, const uint8_t mbx[static PL_MBXIDX_KEY_LEN], uint64_t index,
		  int kind)
{
	mbox *m;
	int r = -1;

	if (kind < 0 || kind >= PL_MBXIDX_KINDS)
		return -1;
	pthread_rwlock_wrlock(&x->lock);
	m = find_box(x, mbx);
	if (m == NULL)
		m = new_box(x, mbx);
	if (m == NULL)
		goto out;
	if (m->n[kind] > 0 && m->v[kind][m->n[kind] - 1] >= index)
		goto out;
	if (m->n[kind] == m->cap[kind]) {
		uint64_t nc = (uint64_t)m->cap[kind] + m->cap[kind] / 4 + GROW_MIN;
		uint64_t *v;
		if (nc > UINT32_MAX)
			goto out;
		v = realloc(m->v[kind], (size_t)nc * sizeof *v);
		if (v == NULL)
			goto out;
		m->v[kind] = v;
		m->cap[kind] = (uint32_t)nc;
	}
	m->v[kind][m->n[kind]++] = index;
	x->leaves++;
	r = 0;
out:
	if (r != 0)
		x->broken = 1;
	pthread_rwlock_unlock(&x->lock);
	return r;
}

void pl_mbxidx_trim(pl_mbxidx *x)
{
	pthread_rwlock_wrlock(&x->lock);
	for (size_t i = 0; i < x->nboxes; i++) {
		mbox *m = &x->boxes[i];
		for (int k = 0; k < PL_MBXIDX_KINDS; k++) {
			if (m->n[k] == m->cap[k] || m->n[k] == 0)
				continue;
			uint64_t *v = realloc(m->v[k], m->n[k] * sizeof *v);
			if (v != NULL) {
				m->v[k] = v;
				m->cap[k] = m->n[k];
			}
		}
	}
	pthread_rwlock_unlock(&x->lock);
}

int pl_mbxidx_ok(pl_mbxidx *x)
{
	int broken;

	pthread_rwlock_rdlock(&x->lock);
	broken = x->broken;
	pthread_rwlock_unlock(&x->lock);
	return broken ? -1 : 0;
}

/* First position in v[0..n) whose index is >= start. */
static size_t lower_bound(const uint64_t *v, size_t n, uint64_t start)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (v[mid] < start)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

size_t pl_mbxidx_find(pl_mbxidx *x, const uint8_t mbx[static PL_MBXIDX_KEY_LEN], uint64_t start,
		      uint64_t end, int kind, pl_mbxidx_hit *hits, size_t max)
{
	size_t pos[PL_MBXIDX_KINDS] = {0}, got = 0;
	const mbox *m;

	if (kind >= PL_MBXIDX_KINDS)
		return 0;
	pthread_rwlock_rdlock(&x->lock);
	m = find_box(x, mbx);
	if (m == NULL)
		goto out;
	for (int k = 0; k < PL_MBXIDX_KINDS; k++)
		pos[k] = kind >= 0 && k != kind ? m->n[k] : lower_bound(m->v[k], m->n[k], start);
	while (got < max) {
		int best = -1;
		for (int k = 0; k < PL_MBXIDX_KINDS; k++)
			if (pos[k] < m->n[k] && m->v[k][pos[k]] < end &&
			    (best < 0 || m->v[k][pos[k]] < m->v[best][pos[best]]))
				best = k;
		if (best < 0)
			break;
		hits[got].index = m->v[best][pos[best]++];
		hits[got].kind = best;
		got++;
	}
out:
	pthread_rwlock_unlock(&x->lock);
	return got;
}

void pl_mbxidx_stats(pl_mbxidx *x, size_t *leaves, size_t *mailboxes, size_t *bytes)
{
	size_t b;

	pthread_rwlock_rdlock(&x->lock);
	b = sizeof *x + x->capboxes * sizeof(mbox) + x->nslots * sizeof(uint32_t);
	for (size_t i = 0; i < x->nboxes; i++)
		for (int k = 0; k < PL_MBXIDX_KINDS; k++)
			b += (size_t)x->boxes[i].cap[k] * sizeof(uint64_t);
	*leaves = x->leaves;
	*mailboxes = x->nboxes;
	*bytes = b;
	pthread_rwlock_unlock(&x->lock);
}
