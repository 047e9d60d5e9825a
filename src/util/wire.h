/*
 * wire.h — the one reader and writer of parley's binary formats.
 *
 * Every binary format parley sends or stores is a sequence of big-endian
 * integers, fixed-size byte strings and u32-length-prefixed byte strings.
 * The reader is sticky: after the first error every call returns zeroes and
 * pl_rd_done() fails, so a decoder reads all fields and checks once. A
 * decoder must end with pl_rd_done(), which also rejects trailing bytes.
 * The writer grows a heap buffer and wipes it on free, since it often holds
 * plaintext.
 */
#ifndef PARLEY_UTIL_WIRE_H
#define PARLEY_UTIL_WIRE_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
	const uint8_t *p;
	size_t n;
	int err;
} pl_rd;

void pl_rd_init(pl_rd *r, const uint8_t *p, size_t n);
uint8_t pl_rd_u8(pl_rd *r);
uint16_t pl_rd_u16(pl_rd *r);
uint32_t pl_rd_u32(pl_rd *r);
uint64_t pl_rd_u64(pl_rd *r);
/* n bytes, or NULL (and the reader failed) if fewer remain. */
const uint8_t *pl_rd_bytes(pl_rd *r, size_t n);
/* u32 length then that many bytes; fails if the length exceeds max. */
const uint8_t *pl_rd_var(pl_rd *r, size_t max, size_t *len);
/* Copies exactly n bytes into out (zeroes on failure). */
void pl_rd_copy(pl_rd *r, uint8_t *out, size_t n);
/* Marks the reader failed (a decoder found a bad value). */
void pl_rd_fail(pl_rd *r);
/* 0 iff no error happened and every byte was consumed. */
int pl_rd_done(const pl_rd *r);

typedef struct {
	uint8_t *p;
	size_t n;
	size_t cap;
	int err;
} pl_wr;

void pl_wr_init(pl_wr *w);
void pl_wr_u8(pl_wr *w, uint8_t v);
void pl_wr_u16(pl_wr *w, uint16_t v);
void pl_wr_u32(pl_wr *w, uint32_t v);
void pl_wr_u64(pl_wr *w, uint64_t v);
void pl_wr_bytes(pl_wr *w, const uint8_t *p, size_t n);
void pl_wr_var(pl_wr *w, const uint8_t *p, size_t n);
/* 0 iff every write succeeded (no allocation failure). */
int pl_wr_ok(const pl_wr *w);
/* Wipes and frees the buffer. */
void pl_wr_free(pl_wr *w);

void pl_be32_put(uint8_t out[static 4], uint32_t v);
void pl_be64_put(uint8_t out[static 8], uint64_t v);
uint32_t pl_be32_get(const uint8_t in[static 4]);
uint64_t pl_be64_get(const uint8_t in[static 8]);

#endif
