/*
 * wire.c — sticky big-endian reader and growable wiping writer.
 * Never allocates on the read side, so decoders can run on untrusted bytes
 * without any cleanup path.
 */
#include "util/wire.h"

#include <sodium.h>
#include <stdlib.h>
#include <string.h>

void pl_rd_init(pl_rd *r, const uint8_t *p, size_t n)
{
	r->p = p;
	r->n = n;
	r->err = (p == NULL && n != 0);
}

void pl_rd_fail(pl_rd *r)
{
	r->err = 1;
	r->n = 0;
}

const uint8_t *pl_rd_bytes(pl_rd *r, size_t n)
{
	if (r->err || r->n < n) {
		pl_rd_fail(r);
		return NULL;
	}
	const uint8_t *p = r->p;
	r->p += n;
	r->n -= n;
	return p;
}

uint8_t pl_rd_u8(pl_rd *r)
{
	const uint8_t *p = pl_rd_bytes(r, 1);
	return p ? p[0] : 0;
}

uint16_t pl_rd_u16(pl_rd *r)
{
	const uint8_t *p = pl_rd_bytes(r, 2);
	return p ? (uint16_t)((p[0] << 8) | p[1]) : 0;
}

uint32_t pl_rd_u32(pl_rd *r)
{
	const uint8_t *p = pl_rd_bytes(r, 4);
	return p ? pl_be32_get(p) : 0;
}

uint64_t pl_rd_u64(pl_rd *r)
{
	const uint8_t *p = pl_rd_bytes(r, 8);
	return p ? pl_be64_get(p) : 0;
}

const uint8_t *pl_rd_var(pl_rd *r, size_t max, size_t *len)
{
	uint32_t n = pl_rd_u32(r);
	*len = 0;
	if (r->err)
		return NULL;
	if (n > max) {
		pl_rd_fail(r);
		return NULL;
	}
	const uint8_t *p = pl_rd_bytes(r, n);
	if (p)
		*len = n;
	return p;
}

void pl_rd_copy(pl_rd *r, uint8_t *out, size_t n)
{
	const uint8_t *p = pl_rd_bytes(r, n);
	if (p)
		memcpy(out, p, n);
	else
		memset(out, 0, n);
}

int pl_rd_done(const pl_rd *r)
{
	return (r->err || r->n != 0) ? -1 : 0;
}

void pl_wr_init(pl_wr *w)
{
	w->p = NULL;
	w->n = 0;
	w->cap = 0;
	w->err = 0;
}

static int wr_reserve(pl_wr *w, size_t more)
{
	if (w->err)
		return -1;
	if (more > SIZE_MAX - w->n) {
		w->err = 1;
		return -1;
	}
	if (w->n + more <= w->cap)
		return 0;
	size_t cap = w->cap ? w->cap : 64;
	while (cap < w->n + more)
		cap *= 2;
	/* Not realloc: the old buffer may hold plaintext and must be wiped. */
	uint8_t *np = malloc(cap);
	if (np == NULL) {
		w->err = 1;
		return -1;
	}
	if (w->p) {
		memcpy(np, w->p, w->n);
		sodium_memzero(w->p, w->cap);
		free(w->p);
	}
	w->p = np;
	w->cap = cap;
	return 0;
}

void pl_wr_bytes(pl_wr *w, const uint8_t *p, size_t n)
{
	if (n == 0 || wr_reserve(w, n) != 0)
		return;
	memcpy(w->p + w->n, p, n);
	w->n += n;
}

void pl_wr_u8(pl_wr *w, uint8_t v)
{
	pl_wr_bytes(w, &v, 1);
}

void pl_wr_u16(pl_wr *w, uint16_t v)
{
	uint8_t b[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	pl_wr_bytes(w, b, 2);
}

void pl_wr_u32(pl_wr *w, uint32_t v)
{
	uint8_t b[4];
	pl_be32_put(b, v);
	pl_wr_bytes(w, b, 4);
}

void pl_wr_u64(pl_wr *w, uint64_t v)
{
	uint8_t b[8];
	pl_be64_put(b, v);
	pl_wr_bytes(w, b, 8);
}

void pl_wr_var(pl_wr *w, const uint8_t *p, size_t n)
{
	if (n > UINT32_MAX) {
		w->err = 1;
		return;
	}
	pl_wr_u32(w, (uint32_t)n);
	pl_wr_bytes(w, p, n);
}

int pl_wr_ok(const pl_wr *w)
{
	return w->err ? -1 : 0;
}

void pl_wr_free(pl_wr *w)
{
	if (w->p) {
		sodium_memzero(w->p, w->cap);
		free(w->p);
	}
	pl_wr_init(w);
}

void pl_be32_put(uint8_t out[static 4], uint32_t v)
{
	out[0] = (uint8_t)(v >> 24);
	out[1] = (uint8_t)(v >> 16);
	out[2] = (uint8_t)(v >> 8);
	out[3] = (uint8_t)v;
}

void pl_be64_put(uint8_t out[static 8], uint64_t v)
{
	pl_be32_put(out, (uint32_t)(v >> 32));
	pl_be32_put(out + 4, (uint32_t)v);
}

uint32_t pl_be32_get(const uint8_t in[static 4])
{
	return ((uint32_t)in[0] << 24) | ((uint32_t)in[1] << 16) | ((uint32_t)in[2] << 8) |
	       (uint32_t)in[3];
}

uint64_t pl_be64_get(const uint8_t in[static 8])
{
	return ((uint64_t)pl_be32_get(in) << 32) | pl_be32_get(in + 4);
}
