/*
 * cmd_pending.c — `parley pending list|drop`: the envelopes kept unread
 * because their sender is not (yet) a verified contact. Anyone can seal an
 * envelope to our key, so the vault keeps a bounded number of them
 * (PL_VAULT_PENDING_MAX); this shows what is there — the key each claims to
 * come from, which is not proof of anything until that key is verified —
 * and drops what the office does not expect. Nothing here decrypts a
 * message: only the outer seal is opened, to read the claimed key.
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "crypto/kdf.h"
#include "envelope/envelope.h"
#include "util/codec.h"

#define HASH_SHOWN 16 /* hex digits of the envelope hash shown and accepted */

/* The claimed sender's key in hex (or "?" if the seal does not open) and
 * the contact that key belongs to, if any. */
static void claimed(pl_vault *v, const pl_wr *env, char key[static PL_KEY_HEX_LEN],
		    char fp[static PL_FINGERPRINT_LEN], char name[static PL_NAME_MAX + 1])
{
	uint8_t *inner, ik[PL_IK_LEN];
	size_t innerlen, msglen;
	const uint8_t *msg;
	snprintf(key, PL_KEY_HEX_LEN, "?");
	snprintf(fp, PL_FINGERPRINT_LEN, "?");
	name[0] = '\0';
	if (pl_envelope_open(&inner, &innerlen, ik, &msg, &msglen, pl_vault_identity(v), env->p,
			     env->n) != 0)
		return;
	sodium_memzero(inner, innerlen);
	free(inner);
	pl_hex_encode(key, ik, PL_IK_LEN);
	pl_fingerprint(fp, ik);
	pl_contact c;
	pl_err ce;
	if (pl_vault_contact_by_ik(v, ik, &c, &ce) == 0)
		snprintf(name, PL_NAME_MAX + 1, "%s", c.name);
	sodium_memzero(&c, sizeof c);
}

static int pending_list(pl_cli *cli, pl_vault *v, pl_wr *envs, size_t n)
{
	json_t *arr = cli->json ? json_array() : NULL;
	for (size_t i = 0; i < n; i++) {
		uint8_t h[32];
		char hex[65], key[PL_KEY_HEX_LEN], fp[PL_FINGERPRINT_LEN], name[PL_NAME_MAX + 1];
		pl_sha256(h, envs[i].p, envs[i].n);
		pl_hex_encode(hex, h, sizeof h);
		hex[HASH_SHOWN] = '\0';
		claimed(v, &envs[i], key, fp, name);
		if (arr)
			json_array_append_new(arr,
					      json_pack("{s:s, s:I, s:s, s:s, s:s?}", "id", hex,
							"bytes", (json_int_t)envs[i].n,
							"claimed_key", key, "claimed_fingerprint",
							fp, "contact", name[0] ? name : NULL));
		else
			printf("%s  %6zu bytes  from key %s (fingerprint %s)%s%s%s\n", hex,
			       envs[i].n, key, fp, name[0] ? " (" : "", name,
			       name[0] ? ", not verified)" : "");
	}
	if (arr)
		pl_cli_json_out(arr);
	else if (n == 0)
		printf("no envelopes are waiting for a contact to be verified\n");
	return PL_EXIT_OK;
}

/* Drops the envelope whose hash starts with `prefix` (at least 4 hex
 * digits, unique), or every one for "--all". */
static int pending_drop(pl_cli *cli, pl_vault *v, pl_wr *envs, size_t n, const char *prefix)
{
	pl_err e;
	pl_err_clear(&e);
	int all = strcmp(prefix, "--all") == 0;
	size_t plen = strlen(prefix), hits = 0, dropped = 0;
	if (!all && (plen < 4 || plen > 64 || strspn(prefix, "0123456789abcdef") != plen))
		return pl_cli_usage("pending", "pending drop takes an id of 4 to 64 lowercase hex "
					       "digits (from parley pending list) or --all");
	/* a vault from before the bound may hold more than it keeps now */
	uint8_t(*hashes)[32] = calloc(n ? n : 1, 32);
	if (hashes == NULL)
		return pl_err_set(&e, PL_EXIT_ERROR, "out of memory"), pl_cli_fail(&e);
	for (size_t i = 0; i < n; i++) {
		char hex[65];
		pl_sha256(hashes[hits], envs[i].p, envs[i].n);
		pl_hex_encode(hex, hashes[hits], 32);
		if (all || strncmp(hex, prefix, plen) == 0)
			hits++;
	}
	int rc = 0;
	if (hits == 0 && !all)
		rc = pl_err_set(&e, PL_EXIT_NOTFOUND,
				"no pending envelope %s; see parley pending list", prefix);
	else if (!all && hits > 1)
		rc = pl_err_set(&e, PL_EXIT_USAGE,
				"%zu pending envelopes start with %s; give more digits", hits,
				prefix);
	else if (pl_vault_begin(v, &e) != 0)
		rc = -1;
	for (size_t i = 0; rc == 0 && i < hits; i++) {
		/* seen, so that a relay serving it again does not bring it back */
		if (pl_vault_pending_remove(v, hashes[i], &e) != 0 ||
		    pl_vault_mark_seen(v, hashes[i], &e) != 0) {
			pl_vault_rollback(v);
			rc = -1;
		} else {
			dropped++;
		}
	}
	free(hashes);
	if (rc != 0 || pl_vault_commit(v, &e) != 0)
		return pl_cli_fail(&e);
	if (cli->json)
		pl_cli_json_out(json_pack("{s:I}", "dropped", (json_int_t)dropped));
	else
		printf("dropped %zu pending envelope(s)\n", dropped);
	return PL_EXIT_OK;
}

int pl_cmd_pending(pl_cli *cli, int argc, char **argv)
{
	int list = argc == 2 && strcmp(argv[1], "list") == 0;
	int drop = argc == 3 && strcmp(argv[1], "drop") == 0;
	if (!list && !drop)
		return pl_cli_usage("pending", "use parley pending list or parley pending drop "
					       "ID|--all");
	pl_err e;
	pl_err_clear(&e);
	pl_vault *v;
	if (pl_cli_open_vault(cli, &v, &e) != 0)
		return pl_cli_fail(&e);
	pl_wr *envs;
	size_t n;
	int rc;
	if (pl_vault_pending_list(v, &envs, &n, &e) != 0)
		rc = pl_cli_fail(&e);
	else {
		rc = list ? pending_list(cli, v, envs, n) : pending_drop(cli, v, envs, n, argv[2]);
		pl_vault_pending_free(envs, n);
	}
	pl_vault_close(v);
	return rc;
}
