/*
 * fuzz_vault_file.c — libFuzzer target for the sealed vault file
 * (vault_file.c): the header parser, the data-key unwrap, and the body
 * opener, which read DIR/vault.pv, bytes anyone with the folder can write.
 *
 * The first input byte picks a mode (low 2 bits):
 *   0  the rest is a whole file: if its header parses, the parse must be
 *      the first PL_VFILE_HDR_LEN bytes, the unwrap with a fixed key must
 *      fail (nobody can forge one), and so must the body;
 *   1  the rest is XORed onto a real file (made once with fixed keys; bit 7
 *      of the mode byte cuts the file to the rest's length): it must open
 *      iff nothing changed, and then give the original image;
 *   2  the rest is an image: seal then open must round-trip, and the file
 *      length must be the padded one;
 *   3  the rest is a length: pl_vfile_padded must cover it and stay within
 *      an eighth (or 64 KiB) of it.
 * Must never crash or leak, and aborts if an invariant above fails.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vault/vault_int.h"

static uint8_t wrap[PL_VAULT_KEY_LEN], dek[PL_VAULT_KEY_LEN];
static pl_vfile_hdr hdr;
static uint8_t *real;
static size_t real_n;
static const char real_img[] = "an image of the vault's database";

static void must(int ok)
{
	if (!ok)
		abort();
}

static void init_once(void)
{
	static int done;
	if (done)
		return;
	must(sodium_init() >= 0);
	memset(wrap, 0x11, sizeof wrap);
	memset(dek, 0x22, sizeof dek);
	pl_kdf_params k;
	pl_vault_kdf_new(&k, PL_VAULT_KDF_TEST_ONLY);
	must(pl_vfile_hdr_make(&hdr, &k, wrap, dek) == 0);
	must(pl_vfile_seal(&real, &real_n, &hdr, dek, (const uint8_t *)real_img,
			   sizeof real_img - 1) == 0);
	done = 1;
}

static void whole(const uint8_t *p, size_t n)
{
	pl_vfile_hdr h;
	uint8_t key[PL_VAULT_KEY_LEN], *img;
	size_t len;
	if (pl_vfile_hdr_parse(&h, p, n) != 0)
		return;
	must(memcmp(h.raw, p, PL_VFILE_HDR_LEN) == 0);
	must(h.kdf.ops <= PL_KDF_OPS_MAX && h.kdf.mem <= PL_KDF_MEM_MAX);
	must(pl_vfile_hdr_unwrap(&h, wrap, key) != 0);
	must(pl_vfile_open(&img, &len, &h, dek, p, n) != 0 && img == NULL);
}

static void mutated(uint8_t mode, const uint8_t *p, size_t n)
{
	size_t len = real_n, ilen;
	if ((mode & 0x80) && n < len)
		len = n;
	uint8_t *f = malloc(len ? len : 1), *img, key[PL_VAULT_KEY_LEN];
	must(f != NULL);
	memcpy(f, real, len);
	int changed = len != real_n;
	for (size_t i = 0; i < n && i < len; i++) {
		f[i] ^= p[i];
		changed |= p[i] != 0;
	}
	pl_vfile_hdr h;
	int ok = pl_vfile_hdr_parse(&h, f, len) == 0 && pl_vfile_hdr_unwrap(&h, wrap, key) == 0 &&
		 pl_vfile_open(&img, &ilen, &h, key, f, len) == 0;
	must(ok == !changed);
	if (ok) {
		must(ilen == sizeof real_img - 1 && memcmp(img, real_img, ilen) == 0);
		free(img);
	}
	free(f);
}

static void round_trip(const uint8_t *p, size_t n)
{
	uint8_t *f, *img;
	size_t flen, ilen;
	must(pl_vfile_seal(&f, &flen, &hdr, dek, p, n) == 0);
	must(flen == PL_VFILE_HDR_LEN + PL_SEAL_NONCE_LEN + pl_vfile_padded(n) + PL_SEAL_MAC_LEN);
	must(pl_vfile_open(&img, &ilen, &hdr, dek, f, flen) == 0);
	must(ilen == n && (n == 0 || memcmp(img, p, n) == 0));
	free(img);
	free(f);
}

static void padding(const uint8_t *p, size_t n)
{
	uint64_t x = 0;
	for (size_t i = 0; i < n && i < 8; i++)
		x = x << 8 | p[i];
	size_t len = (size_t)(x % ((uint64_t)PL_VFILE_IMAGE_MAX + 1));
	size_t pad = pl_vfile_padded(len);
	must(pad >= len + 8 && pad % PL_VFILE_PAD_MIN == 0);
	must(pad - len - 8 < PL_VFILE_PAD_MIN || pad - len - 8 <= len / 4);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	init_once();
	if (size == 0)
		return 0;
	uint8_t mode = data[0];
	const uint8_t *p = data + 1;
	size_t n = size - 1;
	switch (mode & 3) {
	case 0:
		whole(p, n);
		break;
	case 1:
		mutated(mode, p, n);
		break;
	case 2:
		round_trip(p, n);
		break;
	default:
		padding(p, n);
		break;
	}
	return 0;
}
