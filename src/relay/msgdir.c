/*
 * msgdir.c — the relay's in-memory directory of stored envelopes (see
 * msgdir.h).
 *
 * Mailboxes live in an array found through an open-addressing table keyed
 * by the mailbox id (a BLAKE2b output, so its first bytes are already
 * uniform); each holds its messages as (seq, id, fingerprint) in seq order,
 * live entries at [off, n) so that acknowledging a prefix costs nothing
 * until the array is compacted. The fingerprint map is open addressing with
 * linear probing: id 0 marks an empty slot, -1 a removed one; it is rebuilt
 * when removed slots fill it.
 */
#include "relay/msgdir.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

#include "util/wire.h"

typedef struct {
	uint64_t seq;
	int64_t id;
	uint64_t fp;
	uint32_t len; /* the envelope's bytes, for the mailbox's quota */
} entry;

typedef struct {
	uint8_t key[PL_MSGDIR_KEY_LEN];
	uint8_t token[PL_MSGDIR_KEY_LEN]; /* hash of the access token, if has_token */
	int has_token;
	uint64_t last;	/* the last seq given out */
	uint64_t bytes; /* sum of len over the live entries */
	entry *e;
	size_t off, n, cap; /* live entries e[off..n) */
} mbox;

typedef struct {
	uint64_t fp;
	int64_t id;
} fpslot;

typedef struct {
	uint32_t box;
	int64_t id;
	uint64_t fp;
} add_rec;

typedef struct {
	uint32_t box;
	uint64_t through;
} del_rec;

/* A mailbox's token and last seq before a change in this transaction. */
typedef struct {
	uint32_t box;
	int has_token;
	uint64_t last;
	uint8_t token[PL_MSGDIR_KEY_LEN];
} state_rec;

struct pl_msgdir {
	mbox *boxes;
	size_t nboxes, capboxes;
	uint32_t *bslot; /* box index + 1; 0 = empty */
	size_t bcap;
	fpslot *fslot;
	size_t fcap, fused, flive; /* fused counts removed slots too */
	add_rec *adds;
	size_t nadds, capadds;
	del_rec *dels;
	size_t ndels, capdels;
	state_rec *states;
	size_t nstates, capstates;
	size_t count;
};

#define MIX 0x9e3779b97f4a7c15ull

static uint64_t fingerprint(const uint8_t mbx[static PL_MSGDIR_KEY_LEN],
			    const uint8_t hash[static PL_MSGDIR_KEY_LEN])
{
	/* The envelope hash is SHA-256: its first bytes are already uniform. */
	return pl_be64_get(hash) ^ pl_be64_get(mbx);
}

static int grow(void **p, size_t *cap, size_t need, size_t size)
{
	size_t nc = *cap ? *cap : 16;
	void *np;

	if (need <= *cap)
		return 0;
	while (nc < need)
		nc *= 2;
	np = realloc(*p, nc * size);
	if (np == NULL)
		return -1;
	*p = np;
	*cap = nc;
	return 0;
}

/* ---- fingerprint map ----------------------------------------------------- */

static int fp_rehash(pl_msgdir *d)
{
	size_t cap = d->fcap ? d->fcap : 1024;
	fpslot *old = d->fslot, *s;

	while (cap < 4 * (d->flive + 1))
		cap *= 2;
	s = calloc(cap, sizeof *s);
	if (s == NULL)
		return -1;
	for (size_t i = 0; i < d->fcap; i++) {
		if (old[i].id <= 0)
			continue;
		size_t j = (size_t)(old[i].fp * MIX) & (cap - 1);
		while (s[j].id != 0)
			j = (j + 1) & (cap - 1);
		s[j] = old[i];
	}
	free(old);
	d->fslot = s;
	d->fcap = cap;
	d->fused = d->flive;
	return 0;
}

static int fp_put(pl_msgdir *d, uint64_t fp, int64_t id)
{
	size_t i;

	if ((d->fused + 1) * 2 > d->fcap && fp_rehash(d) != 0)
		return -1;
	for (i = (size_t)(fp * MIX) & (d->fcap - 1); d->fslot[i].id > 0;
	     i = (i + 1) & (d->fcap - 1))
		;
	if (d->fslot[i].id == 0)
		d->fused++;
	d->fslot[i].fp = fp;
	d->fslot[i].id = id;
	d->flive++;
	return 0;
}

static void fp_remove(pl_msgdir *d, uint64_t fp, int64_t id)
{
	if (d->fcap == 0)
		return;
	for (size_t i = (size_t)(fp * MIX) & (d->fcap - 1), k = 0;
	     d->fslot[i].id != 0 && k < d->fcap; i = (i + 1) & (d->fcap - 1), k++) {
		if (d->fslot[i].id == id && d->fslot[i].fp == fp) {
			d->fslot[i].id = -1;
			d->flive--;
			return;
		}
	}
}

/* ---- mailboxes ----------------------------------------------------------- */

static size_t box_home(const pl_msgdir *d, const uint8_t key[static PL_MSGDIR_KEY_LEN])
{
	return (size_t)(pl_be64_get(key) * MIX) & (d->bcap - 1);
}

static int box_rehash(pl_msgdir *d)
{
	size_t cap = d->bcap ? 2 * d->bcap : 256;
	uint32_t *s = calloc(cap, sizeof *s);

	if (s == NULL)
		return -1;
	free(d->bslot);
	d->bslot = s;
	d->bcap = cap;
	for (size_t b = 0; b < d->nboxes; b++) {
		size_t i = box_home(d, d->boxes[b].key);
		while (s[i] != 0)
			i = (i + 1) & (cap - 1);
		s[i] = (uint32_t)b + 1;
	}
	return 0;
}

/* The mailbox's index, or -1. */
static long box_lookup(const pl_msgdir *d, const uint8_t key[static PL_MSGDIR_KEY_LEN])
{
	if (d->bcap == 0)
		return -1;
	for (size_t i = box_home(d, key); d->bslot[i] != 0; i = (i + 1) & (d->bcap - 1))
		if (memcmp(d->boxes[d->bslot[i] - 1].key, key, PL_MSGDIR_KEY_LEN) == 0)
			return (long)d->bslot[i] - 1;
	return -1;
}

/* The mailbox's index, creating it if asked; -1 if absent (or no memory). */
static long box_find(pl_msgdir *d, const uint8_t key[static PL_MSGDIR_KEY_LEN], int create)
{
	long b = box_lookup(d, key);
	size_t i;

	if (b >= 0)
		return b;
	if (!create || d->nboxes >= UINT32_MAX - 1)
		return -1;
	if ((d->nboxes + 1) * 2 > d->bcap && box_rehash(d) != 0)
		return -1;
	if (grow((void **)&d->boxes, &d->capboxes, d->nboxes + 1, sizeof *d->boxes) != 0)
		return -1;
	memset(&d->boxes[d->nboxes], 0, sizeof d->boxes[0]);
	memcpy(d->boxes[d->nboxes].key, key, PL_MSGDIR_KEY_LEN);
	for (i = box_home(d, key); d->bslot[i] != 0; i = (i + 1) & (d->bcap - 1))
		;
	d->bslot[i] = (uint32_t)d->nboxes + 1;
	return (long)d->nboxes++;
}

/* Puts the entry in seq order (at the end in the usual case). */
static int box_put(mbox *b, uint64_t seq, int64_t id, uint64_t fp, uint32_t len)
{
	size_t at;

	if (b->off > 0 && b->n == b->cap) {
		memmove(b->e, b->e + b->off, (b->n - b->off) * sizeof *b->e);
		b->n -= b->off;
		b->off = 0;
	}
	if (grow((void **)&b->e, &b->cap, b->n + 1, sizeof *b->e) != 0)
		return -1;
	for (at = b->n; at > b->off && b->e[at - 1].seq > seq; at--)
		;
	memmove(b->e + at + 1, b->e + at, (b->n - at) * sizeof *b->e);
	b->e[at].seq = seq;
	b->e[at].id = id;
	b->e[at].fp = fp;
	b->e[at].len = len;
	b->n++;
	b->bytes += len;
	return 0;
}

static int add(pl_msgdir *d, const uint8_t mbx[static PL_MSGDIR_KEY_LEN],
	       const uint8_t hash[static PL_MSGDIR_KEY_LEN], uint64_t seq, int64_t id, uint32_t len,
	       int logged)
{
	uint64_t fp = fingerprint(mbx, hash);
	long b = box_find(d, mbx, 1);

	if (b < 0 || id <= 0)
		return -1;
	if (logged && grow((void **)&d->adds, &d->capadds, d->nadds + 1, sizeof *d->adds) != 0)
		return -1;
	if (fp_put(d, fp, id) != 0)
		return -1;
	if (box_put(&d->boxes[b], seq, id, fp, len) != 0) {
		fp_remove(d, fp, id);
		return -1;
	}
	/* Loading: the mailbox gave out at least every seq it holds. (A
	 * logged add's seq came from pl_msgdir_next_seq, which counted it.) */
	if (!logged && seq > d->boxes[b].last)
		d->boxes[b].last = seq;
	if (logged) {
		d->adds[d->nadds].box = (uint32_t)b;
		d->adds[d->nadds].id = id;
		d->adds[d->nadds].fp = fp;
		d->nadds++;
	}
	d->count++;
	return 0;
}

/* ---- the interface ------------------------------------------------------- */

pl_msgdir *pl_msgdir_new(void)
{
	return calloc(1, sizeof(pl_msgdir));
}

void pl_msgdir_free(pl_msgdir *d)
{
	if (d == NULL)
		return;
	for (size_t b = 0; b < d->nboxes; b++)
		free(d->boxes[b].e);
	free(d->boxes);
	free(d->bslot);
	free(d->fslot);
	free(d->adds);
	free(d->dels);
	free(d->states);
	free(d);
}

int pl_msgdir_load(pl_msgdir *d, const uint8_t mbx[static PL_MSGDIR_KEY_LEN],
		   const uint8_t hash[static PL_MSGDIR_KEY_LEN], uint64_t seq, int64_t id,
		   uint32_t len)
{
	return add(d, mbx, hash, seq, id, len, 0);
}

int pl_msgdir_load_mailbox(pl_msgdir *d, const uint8_t mbx[static PL_MSGDIR_KEY_LEN],
			   const uint8_t *token, uint64_t last)
{
	long b = box_find(d, mbx, 1);

	if (b < 0)
		return -1;
	if (token != NULL) {
		memcpy(d->boxes[b].token, token, PL_MSGDIR_KEY_LEN);
		d->boxes[b].has_token = 1;
	}
	if (last > d->boxes[b].last)
		d->boxes[b].last = last;
	return 0;
}

/* Notes box b's state for rollback; -1 on out of memory. */
static int save_state(pl_msgdir *d, long b)
{
	state_rec *r;

	if (grow((void **)&d->states, &d->capstates, d->nstates + 1, sizeof *d->states) != 0)
		return -1;
	r = &d->states[d->nstates++];
	r->box = (uint32_t)b;
	r->has_token = d->boxes[b].has_token;
	r->last = d->boxes[b].last;
	memcpy(r->token, d->boxes[b].token, PL_MSGDIR_KEY_LEN);
	return 0;
}

int pl_msgdir_set_token(pl_msgdir *d, const uint8_t mbx[static PL_MSGDIR_KEY_LEN],
			const uint8_t token[static PL_MSGDIR_KEY_LEN])
{
	long b = box_find(d, mbx, 1);

	if (b < 0 || save_state(d, b) != 0)
		return -1;
	memcpy(d->boxes[b].token, token, PL_MSGDIR_KEY_LEN);
	d->boxes[b].has_token = 1;
	return 0;
}

/* 1 iff box b (or -1: none) has a token and it is `token`. */
static int box_token_ok(const pl_msgdir *d, long b, const uint8_t token[static PL_MSGDIR_KEY_LEN])
{
	return b >= 0 && d->boxes[b].has_token &&
	       sodium_memcmp(d->boxes[b].token, token, PL_MSGDIR_KEY_LEN) == 0;
}

int pl_msgdir_token_ok(const pl_msgdir *d, const uint8_t mbx[static PL_MSGDIR_KEY_LEN],
		       const uint8_t token[static PL_MSGDIR_KEY_LEN])
{
	return box_token_ok(d, box_lookup(d, mbx), token);
}

int pl_msgdir_next_seq(pl_msgdir *d, const uint8_t mbx[static PL_MSGDIR_KEY_LEN],
		       const uint8_t token[static PL_MSGDIR_KEY_LEN], uint64_t *seq)
{
	long b = box_lookup(d, mbx);

	*seq = 0;
	if (!box_token_ok(d, b, token))
		return 1;
	/* Seqs are stored as SQLite integers: at most INT64_MAX. */
	if (d->boxes[b].last >= (uint64_t)INT64_MAX || save_state(d, b) != 0)
		return -1;
	*seq = ++d->boxes[b].last;
	return 0;
}

uint64_t pl_msgdir_last_seq(const pl_msgdir *d, const uint8_t mbx[static PL_MSGDIR_KEY_LEN])
{
	long b = box_lookup(d, mbx);

	return b >= 0 ? d->boxes[b].last : 0;
}

static int cmp_entry(const void *a, const void *b)
{
	const entry *x = a, *y = b;
	if (x->seq != y->seq)
		return x->seq < y->seq ? -1 : 1;
	return x->id < y->id ? -1 : x->id > y->id;
}

void pl_msgdir_sort(pl_msgdir *d)
{
	for (size_t b = 0; b < d->nboxes; b++) {
		mbox *m = &d->boxes[b];
		if (m->n - m->off > 1) /* a mailbox may hold none (e is NULL then) */
			qsort(m->e + m->off, m->n - m->off, sizeof *m->e, cmp_entry);
	}
}

int pl_msgdir_add(pl_msgdir *d, const uint8_t mbx[static PL_MSGDIR_KEY_LEN],
		  const uint8_t hash[static PL_MSGDIR_KEY_LEN], uint64_t seq, int64_t id,
		  uint32_t len)
{
	return add(d, mbx, hash, seq, id, len, 1);
}

void pl_msgdir_usage(const pl_msgdir *d, const uint8_t mbx[static PL_MSGDIR_KEY_LEN],
		     uint64_t *msgs, uint64_t *bytes)
{
	long b = box_lookup(d, mbx);

	*msgs = b >= 0 ? d->boxes[b].n - d->boxes[b].off : 0;
	*bytes = b >= 0 ? d->boxes[b].bytes : 0;
}

int pl_msgdir_has(const pl_msgdir *d, const uint8_t mbx[static PL_MSGDIR_KEY_LEN])
{
	return box_lookup(d, mbx) >= 0;
}

int pl_msgdir_remove_through(pl_msgdir *d, const uint8_t mbx[static PL_MSGDIR_KEY_LEN],
			     uint64_t through)
{
	long b = box_find(d, mbx, 0);

	if (b < 0)
		return 0; /* nothing held */
	if (grow((void **)&d->dels, &d->capdels, d->ndels + 1, sizeof *d->dels) != 0)
		return -1;
	d->dels[d->ndels].box = (uint32_t)b;
	d->dels[d->ndels].through = through;
	d->ndels++;
	return 0;
}

void pl_msgdir_commit(pl_msgdir *d)
{
	for (size_t k = 0; k < d->ndels; k++) {
		mbox *m = &d->boxes[d->dels[k].box];
		while (m->off < m->n && m->e[m->off].seq <= d->dels[k].through) {
			fp_remove(d, m->e[m->off].fp, m->e[m->off].id);
			m->bytes -= m->e[m->off].len;
			m->off++;
			d->count--;
		}
		if (m->off == m->n) {
			m->off = m->n = 0;
			if (m->cap > 64) { /* an emptied mailbox gives its memory back */
				free(m->e);
				m->e = NULL;
				m->cap = 0;
			}
		} else if (m->off > m->n / 2) {
			memmove(m->e, m->e + m->off, (m->n - m->off) * sizeof *m->e);
			m->n -= m->off;
			m->off = 0;
		}
	}
	d->nadds = d->ndels = d->nstates = 0;
}

void pl_msgdir_rollback(pl_msgdir *d)
{
	for (size_t k = d->nstates; k-- > 0;) {
		mbox *m = &d->boxes[d->states[k].box];
		m->has_token = d->states[k].has_token;
		m->last = d->states[k].last;
		memcpy(m->token, d->states[k].token, PL_MSGDIR_KEY_LEN);
	}
	for (size_t k = d->nadds; k-- > 0;) {
		mbox *m = &d->boxes[d->adds[k].box];
		for (size_t i = m->n; i-- > m->off;) {
			if (m->e[i].id == d->adds[k].id) {
				m->bytes -= m->e[i].len;
				memmove(m->e + i, m->e + i + 1, (m->n - i - 1) * sizeof *m->e);
				m->n--;
				d->count--;
				break;
			}
		}
		fp_remove(d, d->adds[k].fp, d->adds[k].id);
	}
	d->nadds = d->ndels = d->nstates = 0;
}

size_t pl_msgdir_candidates(const pl_msgdir *d, const uint8_t mbx[static PL_MSGDIR_KEY_LEN],
			    const uint8_t hash[static PL_MSGDIR_KEY_LEN], int64_t *ids, size_t max)
{
	uint64_t fp = fingerprint(mbx, hash);
	size_t got = 0;

	if (d->fcap == 0)
		return 0;
	for (size_t i = (size_t)(fp * MIX) & (d->fcap - 1), k = 0;
	     d->fslot[i].id != 0 && k < d->fcap; i = (i + 1) & (d->fcap - 1), k++) {
		if (d->fslot[i].id > 0 && d->fslot[i].fp == fp) {
			if (got < max)
				ids[got] = d->fslot[i].id;
			got++;
		}
	}
	return got;
}

size_t pl_msgdir_list(const pl_msgdir *d, const uint8_t mbx[static PL_MSGDIR_KEY_LEN],
		      uint64_t after, uint64_t *seqs, int64_t *ids, size_t max)
{
	long b = box_lookup(d, mbx);
	const mbox *m;
	size_t lo, hi, got = 0;

	if (b < 0)
		return 0;
	m = &d->boxes[b];
	/* first entry with seq > after */
	lo = m->off;
	hi = m->n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (m->e[mid].seq <= after)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (size_t i = lo; i < m->n && got < max; i++, got++) {
		seqs[got] = m->e[i].seq;
		ids[got] = m->e[i].id;
	}
	return got;
}

size_t pl_msgdir_count(const pl_msgdir *d)
{
	return d->count;
}
