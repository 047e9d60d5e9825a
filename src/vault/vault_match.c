/*
 * vault_match.c — this vault's side of a blind match (client/match.h,
 * docs/MATCH.md): what it committed to, its secret blinding scalar while
 * the match runs, and the result once known.
 *
 * One row of table meta per match: "match:" ‖ hex(match id) → the record
 * client/match.c encodes (and decodes strictly). The vault is sealed as a
 * whole, so the scalar is as safe here as the identity key; it is wiped
 * from the record once the result is known. No schema change.
 */
#include "vault/vault_int.h"

#include <string.h>

#include "util/codec.h"

#define MATCH_PREFIX "match:"
#define MATCH_PREFIX_LEN 6
#define MATCH_KEY_LEN (MATCH_PREFIX_LEN + 2 * PL_VAULT_MATCH_ID_LEN + 1)

static void match_key(char out[MATCH_KEY_LEN], const uint8_t id[static PL_VAULT_MATCH_ID_LEN])
{
	memcpy(out, MATCH_PREFIX, MATCH_PREFIX_LEN);
	pl_hex_encode(out + MATCH_PREFIX_LEN, id, PL_VAULT_MATCH_ID_LEN);
}

int pl_vault_match_put(pl_vault *v, const uint8_t id[static PL_VAULT_MATCH_ID_LEN],
		       const uint8_t *rec, size_t n, pl_err *e)
{
	char k[MATCH_KEY_LEN];
	if (n == 0 || n > PL_VAULT_MATCH_REC_MAX)
		return pl_err_set(e, PL_EXIT_ERROR, "a match record of %zu bytes cannot be kept",
				  n);
	match_key(k, id);
	return pl_vault_meta_put(v, k, rec, n, e);
}

int pl_vault_match_get(pl_vault *v, const uint8_t id[static PL_VAULT_MATCH_ID_LEN], pl_wr *out,
		       pl_err *e)
{
	char k[MATCH_KEY_LEN];
	int found = 0;
	match_key(k, id);
	pl_wr_init(out);
	if (pl_vault_meta_get(v, k, out, PL_VAULT_MATCH_REC_MAX, &found, e) != 0)
		return -1;
	return found ? 1 : 0;
}
