/*
 * vault_backup.c — backups of a vault and what a restored (or put back)
 * vault must change before it encrypts anything.
 *
 * A backup is one file (docs/PROTOCOL.md, "Backup file"):
 *
 *   header := "PARLEYBK" ‖ u8 version=1 ‖ kdf record (34, vault_int.h) ‖
 *             created u64 (unix s)
 *   file   := header ‖ nonce(24) ‖ XChaCha20-Poly1305(image, AD = header)
 *
 * The image is the vault's database as one consistent snapshot
 * (sqlite3_serialize of "main") with the data key and KDF record its
 * sealed file keeps outside it, taken by a process that holds the vault
 * open, i.e. its lock: no other parley process changes the vault while it
 * is read. The key is Argon2id of the passphrase under the file's own salt,
 * so the file alone reveals neither the image nor when the vault was used
 * (beyond the backup's own date, which is in clear and authenticated).
 *
 * Restore writes the image into a fresh temporary folder beside the target
 * (pl_vault_install_image is the one function that knows how a vault lies
 * on disk), lets the caller open it there and reset it, and only then moves
 * the folder into place: a crash never leaves a restored vault that could
 * still encrypt under the old sessions.
 *
 * This file must never write the image or the passphrase anywhere but
 * sealed, never replace an existing backup or vault, and never accept a
 * backup whose header or image fails authentication.
 */
/* renameat2 needs _GNU_SOURCE, which the Makefile defines */
#include "vault/vault_int.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/codec.h"
#include "util/file.h"

#define DB_FILE "vault.pv" /* the current on-disk format: one sealed file */

static const uint8_t MAGIC[PL_BACKUP_MAGIC_LEN] = {'P', 'A', 'R', 'L', 'E', 'Y', 'B', 'K'};

int pl_backup_decode(pl_backup_hdr *h, const uint8_t *p, size_t n)
{
	pl_rd r;
	uint8_t magic[PL_BACKUP_MAGIC_LEN], rec[PL_KDF_REC_LEN];
	pl_backup_hdr t;

	memset(h, 0, sizeof *h);
	if (p == NULL || n < PL_BACKUP_HDR_LEN + PL_BACKUP_NONCE_LEN + PL_BACKUP_MAC_LEN + 1 ||
	    n > PL_BACKUP_FILE_MAX)
		return -1;
	pl_rd_init(&r, p, PL_BACKUP_HDR_LEN);
	pl_rd_copy(&r, magic, sizeof magic);
	uint8_t version = pl_rd_u8(&r);
	pl_rd_copy(&r, rec, sizeof rec);
	t.created = pl_rd_u64(&r);
	if (pl_rd_done(&r) != 0 || memcmp(magic, MAGIC, sizeof magic) != 0 ||
	    version != PL_BACKUP_V1 || pl_vault_kdf_decode(&t.kdf, rec, sizeof rec) != 0 ||
	    t.created == 0)
		return -1;
	memcpy(t.nonce, p + PL_BACKUP_HDR_LEN, PL_BACKUP_NONCE_LEN);
	t.ct = p + PL_BACKUP_HDR_LEN + PL_BACKUP_NONCE_LEN;
	t.ctlen = n - PL_BACKUP_HDR_LEN - PL_BACKUP_NONCE_LEN;
	*h = t;
	return 0;
}

int pl_backup_seal(uint8_t **out, size_t *outlen, const uint8_t *img, size_t n,
		   const pl_kdf_params *k, uint64_t created, const char *pass, size_t passlen,
		   pl_err *e)
{
	*out = NULL;
	*outlen = 0;
	if (img == NULL || n == 0 || n > PL_BACKUP_IMAGE_MAX || created == 0)
		return pl_err_set(e, PL_EXIT_ERROR,
				  "the vault's image is empty or larger than %u MiB; nothing was "
				  "written",
				  (unsigned)(PL_BACKUP_IMAGE_MAX >> 20));
	size_t total = PL_BACKUP_HDR_LEN + PL_BACKUP_NONCE_LEN + n + PL_BACKUP_MAC_LEN;
	uint8_t *f = malloc(total);
	uint8_t *key = sodium_malloc(PL_VAULT_KEY_LEN);
	if (f == NULL || key == NULL) {
		free(f);
		if (key)
			sodium_free(key);
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory sealing the backup");
	}
	memcpy(f, MAGIC, PL_BACKUP_MAGIC_LEN);
	f[PL_BACKUP_MAGIC_LEN] = PL_BACKUP_V1;
	pl_vault_kdf_encode(f + PL_BACKUP_MAGIC_LEN + 1, k);
	pl_be64_put(f + PL_BACKUP_MAGIC_LEN + 1 + PL_KDF_REC_LEN, created);
	uint8_t *nonce = f + PL_BACKUP_HDR_LEN;
	randombytes_buf(nonce, PL_BACKUP_NONCE_LEN);
	unsigned long long clen = 0;
	int rc = -1;
	if (pl_vault_kdf_derive(key, k, pass, passlen) != 0)
		pl_err_set(e, PL_EXIT_ERROR,
			   "could not derive the backup key from the passphrase (out of memory?); "
			   "close other programs and try again");
	else if (crypto_aead_xchacha20poly1305_ietf_encrypt(nonce + PL_BACKUP_NONCE_LEN, &clen, img,
							    n, f, PL_BACKUP_HDR_LEN, NULL, nonce,
							    key) != 0 ||
		 clen != n + PL_BACKUP_MAC_LEN)
		pl_err_set(e, PL_EXIT_ERROR, "could not encrypt the backup");
	else
		rc = 0;
	sodium_free(key);
	if (rc != 0) {
		free(f);
		return -1;
	}
	*out = f;
	*outlen = total;
	return 0;
}

int pl_backup_open(uint8_t **img, size_t *imglen, uint64_t *created, const uint8_t *p, size_t n,
		   const char *pass, size_t passlen, pl_err *e)
{
	pl_backup_hdr h;

	*img = NULL;
	*imglen = 0;
	if (pl_backup_decode(&h, p, n) != 0)
		return pl_err_set(e, PL_EXIT_INPUT,
				  "the file is not a parley backup (or it is damaged); nothing was "
				  "restored");
	size_t len = h.ctlen - PL_BACKUP_MAC_LEN;
	uint8_t *key = sodium_malloc(PL_VAULT_KEY_LEN);
	uint8_t *out = malloc(len ? len : 1);
	if (key == NULL || out == NULL) {
		if (key)
			sodium_free(key);
		free(out);
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory opening the backup");
	}
	int rc = -1;
	unsigned long long got = 0;
	if (pl_vault_kdf_derive(key, &h.kdf, pass, passlen) != 0)
		pl_err_set(e, PL_EXIT_ERROR,
			   "could not derive the backup key from the passphrase (out of memory?); "
			   "close other programs and try again");
	else if (crypto_aead_xchacha20poly1305_ietf_decrypt(out, &got, NULL, h.ct, h.ctlen, p,
							    PL_BACKUP_HDR_LEN, h.nonce, key) != 0 ||
		 got != len)
		pl_err_set(e, PL_EXIT_VAULT,
			   "the backup does not open: wrong passphrase, or the file was altered "
			   "or damaged; nothing was restored");
	else
		rc = 0;
	sodium_free(key);
	if (rc != 0) {
		sodium_memzero(out, len);
		free(out);
		return -1;
	}
	*img = out;
	*imglen = len;
	if (created)
		*created = h.created;
	return 0;
}

/* --- taking a backup -------------------------------------------------------- */

/* What a backup carries (the pair with pl_vault_install_image below): the
 * sealed file format keeps the data key and its KDF record in the file's
 * header, outside the database, so they travel with the image:
 *   payload := u8 2 ‖ kdf record(34) ‖ data key(32) ‖ database image
 * The whole payload is sealed under the backup's own passphrase key. */
#define PAYLOAD_V2 2
#define PAYLOAD_HEAD (1 + PL_KDF_REC_LEN + PL_VAULT_KEY_LEN)

int pl_vault_backup_image(pl_vault *v, uint8_t **img, size_t *n, pl_err *e)
{
	sqlite3_int64 sz = 0;

	*img = NULL;
	*n = 0;
	if (!v->sealed)
		return pl_err_set(e, PL_EXIT_ERROR,
				  "internal error: only a vault in a sealed file can be backed up");
	if (!sqlite3_get_autocommit(v->db))
		return pl_err_set(e, PL_EXIT_ERROR,
				  "internal error: a backup cannot be taken inside a transaction");
	/* One read transaction for the whole image: with the lock held no other
	 * process writes, and within it the pages are one consistent state. */
	unsigned char *p = sqlite3_serialize(v->db, "main", &sz, 0);
	if (p == NULL || sz <= 0)
		return pl_err_set(e, PL_EXIT_ERROR,
				  "could not read the vault at %s for a backup (out of memory?)",
				  v->dir ? v->dir : "(memory)");
	if ((uint64_t)sz > PL_BACKUP_IMAGE_MAX - PAYLOAD_HEAD) {
		sodium_memzero(p, (size_t)sz);
		sqlite3_free(p);
		return pl_err_set(e, PL_EXIT_ERROR,
				  "the vault is larger than %u MiB; a backup this large is not "
				  "supported",
				  (unsigned)(PL_BACKUP_IMAGE_MAX >> 20));
	}
	size_t total = PAYLOAD_HEAD + (size_t)sz;
	uint8_t *out = malloc(total);
	if (out != NULL) {
		out[0] = PAYLOAD_V2;
		pl_vault_kdf_encode(out + 1, &v->hdr.kdf);
		memcpy(out + 1 + PL_KDF_REC_LEN, v->kek, PL_VAULT_KEY_LEN);
		memcpy(out + PAYLOAD_HEAD, p, (size_t)sz);
	}
	sodium_memzero(p, (size_t)sz);
	sqlite3_free(p);
	if (out == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory taking the backup");
	*img = out;
	*n = total;
	return 0;
}

int pl_vault_backup(pl_vault *v, const char *path, const char *pass, size_t passlen,
		    pl_vault_kdf_cost cost, uint64_t *created, size_t *imglen, pl_err *e)
{
	struct stat sb;
	uint8_t *img = NULL, *file = NULL;
	size_t n = 0, flen = 0;
	pl_kdf_params k;

	if (path == NULL || *path == '\0')
		return pl_err_set(e, PL_EXIT_USAGE, "no backup file named; name the file to write");
	if (lstat(path, &sb) == 0 || errno != ENOENT)
		return pl_err_set(e, PL_EXIT_USAGE,
				  "%s already exists; a backup never replaces a file: choose a "
				  "new name",
				  path);
	uint64_t now = pl_now();
	if (pl_vault_backup_image(v, &img, &n, e) != 0)
		return -1;
	pl_vault_kdf_new(&k, cost);
	int rc = pl_backup_seal(&file, &flen, img, n, &k, now, pass, passlen, e);
	sodium_memzero(img, n);
	free(img);
	if (rc != 0)
		return -1;
	rc = pl_file_write_atomic(path, file, flen, PL_FILE_NOREPLACE, "the backup", e);
	if (rc != 0 && errno == EEXIST)
		rc = pl_err_set(e, PL_EXIT_USAGE,
				"%s appeared while the backup was written; nothing was replaced: "
				"choose a new name",
				path);
	free(file);
	if (rc == 0) {
		if (created)
			*created = now;
		if (imglen)
			*imglen = n;
	}
	return rc;
}

/* --- restoring --------------------------------------------------------------- */

int pl_vault_install_image(const char *dir, const uint8_t *img, size_t n, const char *pass,
			   size_t passlen, pl_err *e)
{
	static const char sqlite_magic[16] = "SQLite format 3";
	pl_kdf_params k;
	if (img == NULL || n < PAYLOAD_HEAD + 512 || img[0] != PAYLOAD_V2 ||
	    pl_vault_kdf_decode(&k, img + 1, PL_KDF_REC_LEN) != 0 ||
	    memcmp(img + PAYLOAD_HEAD, sqlite_magic, sizeof sqlite_magic) != 0)
		return pl_err_set(e, PL_EXIT_INPUT,
				  "the backup does not hold a vault database; nothing was "
				  "restored");
	const uint8_t *dek = img + 1 + PL_KDF_REC_LEN;
	/* The vault's own cost, under a salt of its own. */
	randombytes_buf(k.salt, sizeof k.salt);
	uint8_t *wrap = sodium_malloc(PL_VAULT_KEY_LEN), *f = NULL;
	size_t flen = 0;
	pl_vfile_hdr h;
	int rc = -1;
	if (wrap == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory for the vault key");
	if (pl_vault_kdf_derive(wrap, &k, pass, passlen) != 0)
		pl_err_set(e, PL_EXIT_ERROR,
			   "could not derive the vault key from the passphrase (out of memory?); "
			   "close other programs and try again");
	else if (pl_vfile_hdr_make(&h, &k, wrap, dek) != 0 ||
		 pl_vfile_seal(&f, &flen, &h, dek, img + PAYLOAD_HEAD, n - PAYLOAD_HEAD) != 0)
		pl_err_set(e, PL_EXIT_ERROR, "could not seal the restored vault (out of memory?)");
	else
		rc = 0;
	sodium_free(wrap);
	if (rc != 0)
		return -1;
	char *path = pl_path_join(dir, DB_FILE);
	if (path == NULL) {
		free(f);
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory restoring the vault");
	}
	rc = pl_file_write_atomic(path, f, flen, PL_FILE_NOREPLACE, "the restored vault", e);
	if (rc != 0 && errno == EEXIST)
		rc = pl_err_set(e, PL_EXIT_VAULT,
				"a vault already exists at %s; refusing to overwrite it", dir);
	free(path);
	free(f); /* ciphertext only */
	return rc;
}

/* Removes the folder made by pl_vault_restore_begin and whatever is in it
 * (only plain files: a vault folder holds nothing else). */
void pl_vault_restore_abort(const char *tmpdir)
{
	if (tmpdir == NULL)
		return;
	DIR *d = opendir(tmpdir);
	if (d != NULL) {
		struct dirent *de;
		while ((de = readdir(d)) != NULL) {
			if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
				continue;
			char *p = pl_path_join(tmpdir, de->d_name);
			if (p)
				unlink(p);
			free(p);
		}
		closedir(d);
	}
	rmdir(tmpdir);
}

int pl_vault_restore_begin(const char *dir, char **tmpdir, pl_err *e)
{
	struct stat sb;
	*tmpdir = NULL;
	if (dir == NULL || *dir == '\0')
		return pl_err_set(e, PL_EXIT_USAGE,
				  "no vault folder given; name the new folder of the vault");
	if (pl_vault_exists(dir))
		return pl_err_set(e, PL_EXIT_VAULT,
				  "a vault already exists at %s; restore into a new folder", dir);
	if (lstat(dir, &sb) == 0) {
		DIR *d = S_ISDIR(sb.st_mode) ? opendir(dir) : NULL;
		int empty = d != NULL;
		struct dirent *de;
		while (d && (de = readdir(d)) != NULL)
			if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
				empty = 0;
		if (d)
			closedir(d);
		if (!empty)
			return pl_err_set(
			    e, PL_EXIT_VAULT,
			    "%s exists and is not an empty folder; restore into a new "
			    "folder",
			    dir);
	}
	size_t len = strlen(dir);
	while (len > 1 && dir[len - 1] == '/')
		len--;
	char *t = malloc(len + sizeof ".restoring-XXXXXX");
	if (t == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory restoring the vault");
	memcpy(t, dir, len);
	memcpy(t + len, ".restoring-XXXXXX", sizeof ".restoring-XXXXXX");
	if (mkdtemp(t) == NULL || chmod(t, 0700) != 0) {
		int err = errno;
		free(t);
		return pl_err_set(e, PL_EXIT_VAULT,
				  "cannot create a folder beside %s: %s; check that its parent "
				  "exists and is writable",
				  dir, strerror(err));
	}
	*tmpdir = t;
	return 0;
}

int pl_vault_restore_finish(const char *tmpdir, const char *dir, pl_err *e)
{
	struct stat sb;
	/* An empty folder at dir was allowed; it goes first, so that the
	 * move below can refuse anything that appears meanwhile. */
	if (lstat(dir, &sb) == 0 && S_ISDIR(sb.st_mode) && rmdir(dir) != 0)
		return pl_err_set(e, PL_EXIT_VAULT,
				  "%s is no longer an empty folder; nothing was restored there",
				  dir);
	if (renameat2(AT_FDCWD, tmpdir, AT_FDCWD, dir, RENAME_NOREPLACE) != 0)
		return pl_err_set(e, PL_EXIT_VAULT,
				  "could not move the restored vault to %s: %s; nothing was "
				  "restored there",
				  dir, strerror(errno));
	if (pl_file_sync_parent(dir) != 0)
		return pl_err_set(e, PL_EXIT_ERROR,
				  "the vault is restored at %s but its folder could not be flushed "
				  "to disk (%s); check the disk",
				  dir, strerror(errno));
	return 0;
}

/* --- what a restored or put-back vault changes ------------------------------ */

/* Moves a prekey id counter far past anything an older copy of this vault
 * may have given out since: 2^20 plus a random part, so that two vaults
 * restored from one backup do not pick the same ids either. */
static uint32_t id_jump(void)
{
	return (1u << 20) + randombytes_uniform(1u << 22);
}

static int exec_const(pl_vault *v, const char *sql, const char *what, pl_err *e)
{
	sqlite3_stmt *st;
	if (pl_vault_prep(v, &st, sql, e) != 0)
		return -1;
	int r = pl_vault_exec(v, st, what, e);
	sqlite3_finalize(st);
	return r;
}

int pl_vault_copy_reset(pl_vault *v, unsigned *sessions, pl_err *e)
{
	int own, ok;
	uint32_t spk_id = 0;

	if (pl_vault_tx_start(v, &own, e) != 0)
		return -1;
	ok = exec_const(v, "DELETE FROM sessions", "drop the sessions", e) == 0;
	if (ok && sessions)
		*sessions = (unsigned)sqlite3_changes(v->db);
	if (ok)
		ok = pl_vault_prekeys_jump(v, id_jump(), id_jump(), &spk_id, e) == 0;
	if (ok)
		ok = pl_vault_set_u64(v, "bundle_published", 0, e) == 0;
	return pl_vault_tx_end(v, own, ok, e);
}
