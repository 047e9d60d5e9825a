/*
 * fuzz_backup.c — libFuzzer target for the backup file's strict decoder
 * (pl_backup_decode, src/vault/vault_backup.c) and, for inputs whose KDF
 * record is cheap (at most 2 passes and 64 KiB), for opening it
 * (pl_backup_open) with a fixed passphrase.
 *
 * Invariants (abort on failure): an accepted header re-encodes to the
 * input's own bytes (magic, version, KDF record, date), the sealed part is
 * exactly what follows the nonce and holds at least one byte beside the
 * MAC; an open that succeeds gives an image of exactly that many bytes and
 * nothing on failure. Must never crash or leak.
 */
#include <sodium.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "vault/vault_int.h"

#define FUZZ_PASS "fuzz passphrase"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int ready;
	if (!ready) {
		if (sodium_init() < 0)
			abort();
		ready = 1;
	}
	pl_backup_hdr h;
	if (pl_backup_decode(&h, data, size) != 0)
		return 0;
	uint8_t rec[PL_KDF_REC_LEN], date[8];
	pl_vault_kdf_encode(rec, &h.kdf);
	pl_be64_put(date, h.created);
	if (memcmp(data, "PARLEYBK", 8) != 0 || data[8] != PL_BACKUP_V1 ||
	    memcmp(data + 9, rec, sizeof rec) != 0 ||
	    memcmp(data + 9 + PL_KDF_REC_LEN, date, 8) != 0 ||
	    memcmp(h.nonce, data + PL_BACKUP_HDR_LEN, PL_BACKUP_NONCE_LEN) != 0 ||
	    h.ct != data + PL_BACKUP_HDR_LEN + PL_BACKUP_NONCE_LEN ||
	    h.ctlen != size - PL_BACKUP_HDR_LEN - PL_BACKUP_NONCE_LEN ||
	    h.ctlen <= PL_BACKUP_MAC_LEN || h.created == 0)
		abort();
	if (h.kdf.ops > 2 || h.kdf.mem > 65536)
		return 0;
	uint8_t *img = (uint8_t *)1;
	size_t n = 1;
	pl_err e;
	pl_err_clear(&e);
	int rc = pl_backup_open(&img, &n, NULL, data, size, FUZZ_PASS, strlen(FUZZ_PASS), &e);
	if (rc == 0) {
		if (img == NULL || n != h.ctlen - PL_BACKUP_MAC_LEN)
			abort();
		free(img);
	} else if (img != NULL || n != 0 || e.msg[0] == '\0') {
		abort();
	}
	return 0;
}
