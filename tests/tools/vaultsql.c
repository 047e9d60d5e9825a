/*
 * vaultsql — a test tool, never installed: runs SQL on a sealed vault as
 * its owner could (it needs PARLEY_PASSPHRASE), the way the tests once ran
 * sqlite3 on the unsealed file. Rows are printed as sqlite3 prints them by
 * default (columns joined by '|'); a change is committed, so it goes
 * through the vault's own seal. `vaultsql DIR .image` prints the whole
 * database image in hex, for scans of what the vault stores.
 *
 *   vaultsql DIR SQL
 */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "vault/vault_int.h"

static int row(void *arg, int n, char **val, char **col)
{
	(void)arg;
	(void)col;
	for (int i = 0; i < n; i++)
		printf("%s%s", i ? "|" : "", val[i] ? val[i] : "");
	putchar('\n');
	return 0;
}

int main(int argc, char **argv)
{
	const char *pass = getenv("PARLEY_PASSPHRASE");
	pl_vault *v;
	pl_err e = {0};
	if (argc != 3 || pass == NULL) {
		fprintf(stderr, "usage: PARLEY_PASSPHRASE=... vaultsql DIR SQL|.image\n");
		return 2;
	}
	if (pl_vault_open(&v, argv[1], pass, strlen(pass), &e) != 0) {
		fprintf(stderr, "vaultsql: %s\n", e.msg);
		return 1;
	}
	int r = 0;
	if (strcmp(argv[2], ".image") == 0) {
		for (size_t i = 0; i < v->mem.n; i++)
			printf("%02x", v->mem.buf[i]);
		putchar('\n');
	} else {
		char *err = NULL;
		if (sqlite3_exec(v->db, argv[2], row, NULL, &err) != SQLITE_OK) {
			fprintf(stderr, "vaultsql: %s\n", err ? err : "error");
			sqlite3_free(err);
			r = 1;
		}
	}
	pl_vault_close(v);
	return r;
}
