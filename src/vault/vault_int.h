/*
 * vault_int.h — the vault's private parts, shared by the vault/ sources, the
 * vault's unit test and its fuzzer. Nothing else includes it: other modules
 * reach the vault through vault.h only.
 *
 * Two layers live here. The pure one (vault_seal.c) knows the byte formats
 * the vault stores — the sealed-blob format, the KDF parameter record and
 * the rules for names and short texts — and touches neither SQLite nor the
 * file system, so it can be fuzzed. The other (vault.c and the vault_*.c
 * files named for what they store) is the SQLite store built on it.
 */
#ifndef PARLEY_VAULT_VAULT_INT_H
#define PARLEY_VAULT_VAULT_INT_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "vault/vault.h"

/* --- sealed blobs ----------------------------------------------------------
 * sealed := u8 tag=1 (XChaCha20-Poly1305-IETF, v1) ‖ nonce(24) ‖ ciphertext ‖ mac(16)
 * AD      := u8 version=1 ‖ var(purpose label) ‖ the row's identity fields
 * The AD starts with the same version byte as the blob's tag, so a blob can
 * be neither reinterpreted under another format version nor moved to
 * another row or column. */
#define PL_VAULT_KEY_LEN 32
#define PL_SEAL_V1 0x01
#define PL_SEAL_NONCE_LEN 24
#define PL_SEAL_MAC_LEN 16
#define PL_SEAL_OVERHEAD (1 + PL_SEAL_NONCE_LEN + PL_SEAL_MAC_LEN)
#define PL_VAULT_BLOB_MAX (4u << 20) /* largest plaintext the vault seals */
#define PL_VAULT_RECEIPT_MAX 4096
#define PL_VAULT_ENVELOPE_MAX (1u << 20)
#define PL_VAULT_CA_MAX (1u << 20)
#define PL_VAULT_STATE_MAX 15 /* pl_item.state holds 15 chars + NUL */
#define PL_VAULT_KEYNAME_MAX 64

/* Starts an AD: version byte and the purpose label. Callers append the row's
 * identity with pl_wr_bytes (fixed sizes) or pl_wr_var (variable sizes). */
void pl_vault_ad(pl_wr *ad, const char *label);
/* out := sealed blob of pt (n may be 0) under key and ad. */
int pl_vault_seal(pl_wr *out, const uint8_t key[static PL_VAULT_KEY_LEN], const pl_wr *ad,
		  const uint8_t *pt, size_t n);
/* Strict: checks tag, size (plaintext at most max) and authenticity; out is
 * a fresh buffer holding the plaintext (wipe with pl_wr_free). Nothing is
 * allocated on failure. */
int pl_vault_unseal(pl_wr *out, const uint8_t key[static PL_VAULT_KEY_LEN], const pl_wr *ad,
		    const uint8_t *blob, size_t n, size_t max);
/* As pl_vault_unseal for a plaintext of exactly len bytes, into out. */
int pl_vault_unseal_fixed(uint8_t *out, size_t len, const uint8_t key[static PL_VAULT_KEY_LEN],
			  const pl_wr *ad, const uint8_t *blob, size_t n);

/* --- passphrase KDF parameters ----------------------------------------------
 * kdf record := u8 version=1 ‖ u8 alg (1 = Argon2id v1.3) ‖ opslimit u64 ‖
 *               memlimit u64 ‖ salt(16)
 * Stored beside the data so the cost can be raised later without breaking
 * old vaults; bounded on decode so a damaged record cannot make open
 * allocate gigabytes or spin for hours. */
#define PL_KDF_ALG_ARGON2ID13 1
#define PL_KDF_SALT_LEN 16
#define PL_KDF_REC_LEN (1 + 1 + 8 + 8 + PL_KDF_SALT_LEN)
#define PL_KDF_OPS_MAX 32u
#define PL_KDF_MEM_MAX (4ull << 30)

typedef struct {
	uint8_t alg;
	uint64_t ops;
	uint64_t mem;
	uint8_t salt[PL_KDF_SALT_LEN];
} pl_kdf_params;

/* A vault made for real use costs 256 MiB and 3 passes (libsodium's
 * MODERATE: about 0.7 s on a 2-core test machine); the test-only cost is
 * libsodium's INTERACTIVE (64 MiB, 2 passes). Vaults made earlier keep the
 * parameters in their record. */
#define PL_KDF_STRONG_OPS 3u
#define PL_KDF_STRONG_MEM (256ull << 20)
void pl_vault_kdf_new(pl_kdf_params *k, pl_vault_kdf_cost cost);
void pl_vault_kdf_default(pl_kdf_params *k); /* the strong cost */
void pl_vault_kdf_encode(uint8_t out[static PL_KDF_REC_LEN], const pl_kdf_params *k);
int pl_vault_kdf_decode(pl_kdf_params *k, const uint8_t *p, size_t n);
/* key := Argon2id(pass, params); -1 if the parameters are out of range or
 * memory runs out. */
int pl_vault_kdf_derive(uint8_t key[static PL_VAULT_KEY_LEN], const pl_kdf_params *k,
			const char *pass, size_t passlen);

/* --- backup file (vault_backup.c) --------------------------------------------
 * file := "PARLEYBK" ‖ u8 version=1 ‖ kdf record ‖ created u64 ‖ nonce(24) ‖
 *         XChaCha20-Poly1305-IETF(image) with AD = the header (all before the
 *         nonce). */
#define PL_BACKUP_MAGIC_LEN 8
#define PL_BACKUP_V1 1
#define PL_BACKUP_HDR_LEN (PL_BACKUP_MAGIC_LEN + 1 + PL_KDF_REC_LEN + 8) /* 51 */
#define PL_BACKUP_NONCE_LEN 24
#define PL_BACKUP_MAC_LEN 16
_Static_assert(PL_BACKUP_FILE_MAX == (size_t)PL_BACKUP_IMAGE_MAX + PL_BACKUP_HDR_LEN +
					 PL_BACKUP_NONCE_LEN + PL_BACKUP_MAC_LEN,
	       "PL_BACKUP_FILE_MAX in vault.h follows the format");
typedef struct {
	pl_kdf_params kdf;
	uint64_t created;
	uint8_t nonce[PL_BACKUP_NONCE_LEN];
	const uint8_t *ct; /* ciphertext ‖ mac, into the decoded bytes */
	size_t ctlen;
} pl_backup_hdr;
/* Strict: magic, version, a KDF record in range, created != 0, at least one
 * byte of image, at most PL_BACKUP_FILE_MAX bytes. Checks nothing secret. */
int pl_backup_decode(pl_backup_hdr *h, const uint8_t *p, size_t n);
/* Seals img (1..PL_BACKUP_IMAGE_MAX bytes) under pass with k's salt and
 * cost; *out malloc'd. */
int pl_backup_seal(uint8_t **out, size_t *outlen, const uint8_t *img, size_t n,
		   const pl_kdf_params *k, uint64_t created, const char *pass, size_t passlen,
		   pl_err *e);

/* --- the sealed vault file (vault_file.c) ------------------------------------
 * DIR/vault.pv holds the whole SQLite database, sealed: see vault_file.c
 * for the layout. The header carries the passphrase's KDF parameters and
 * the data key wrapped under the key they derive; the body is the image,
 * padded, under a key derived from the data key, with the header as AD. */
#define PL_VFILE_MAGIC "PLVAULT"
#define PL_VFILE_V1 1
#define PL_VFILE_HDR_LEN (8 + 1 + PL_KDF_REC_LEN + PL_SEAL_NONCE_LEN + 32 + PL_SEAL_MAC_LEN)
#define PL_VFILE_IMAGE_MAX ((size_t)1 << 31) /* 2 GiB of database */
#define PL_VFILE_PAD_MIN ((size_t)64 << 10)
typedef struct {
	pl_kdf_params kdf;
	uint8_t raw[PL_VFILE_HDR_LEN];
} pl_vfile_hdr;
/* Bytes of padded plaintext (length field, image, zeros) for an image of n. */
size_t pl_vfile_padded(size_t n);
/* A new header: the parameters k and dek wrapped under wrap (derived from
 * the passphrase with k). 0 or -1. */
int pl_vfile_hdr_make(pl_vfile_hdr *h, const pl_kdf_params *k,
		      const uint8_t wrap[static PL_VAULT_KEY_LEN],
		      const uint8_t dek[static PL_VAULT_KEY_LEN]);
/* Strict: magic, format, a KDF record in range. Reads the first
 * PL_VFILE_HDR_LEN bytes of p. */
int pl_vfile_hdr_parse(pl_vfile_hdr *h, const uint8_t *p, size_t n);
/* The data key, if wrap is the right key; -1 (dek zeroed) otherwise. */
int pl_vfile_hdr_unwrap(const pl_vfile_hdr *h, const uint8_t wrap[static PL_VAULT_KEY_LEN],
			uint8_t dek[static PL_VAULT_KEY_LEN]);
/* The whole file for image img[0..n) under header h: a malloc'd buffer. */
int pl_vfile_seal(uint8_t **out, size_t *outlen, const pl_vfile_hdr *h,
		  const uint8_t dek[static PL_VAULT_KEY_LEN], const uint8_t *img, size_t n);
/* Opens a whole file whose header is h: *img is malloc'd (wipe *n bytes,
 * then free); -1 if anything was changed. */
int pl_vfile_open(uint8_t **img, size_t *n, const pl_vfile_hdr *h,
		  const uint8_t dek[static PL_VAULT_KEY_LEN], const uint8_t *file, size_t flen);

/* --- the database in memory (vault_vfs.c) ------------------------------------
 * An open vault's database lives in one memory buffer behind the SQLite VFS
 * "parley-vault"; each commit's sync hands the whole image to save(), which
 * seals it and puts the file in place. A failed save breaks the buffer:
 * every later write fails, so nothing is ever shown as stored that is not
 * on disk. */
typedef struct pl_vfs_db {
	uint8_t *buf;
	size_t n, cap;
	int (*save)(void *ctx, const uint8_t *img, size_t n);
	void *ctx;
	int broken;
} pl_vfs_db;
/* The VFS's name, registered once; "" if SQLite refused it. */
const char *pl_vfs_name(void);
/* The file name that makes SQLite open d through the VFS (cap >= 40). */
void pl_vfs_path(char *out, size_t cap, const pl_vfs_db *d);
/* Wipes and frees d's buffer. */
void pl_vfs_db_free(pl_vfs_db *d);
/* d's buffer := a copy of p[0..n) (the old one wiped). 0 or -1. */
int pl_vfs_db_take(pl_vfs_db *d, const uint8_t *p, size_t n);

/* --- texts ----------------------------------------------------------------- */
/* 0 iff p[0..n) is a party or contact name: 1..PL_NAME_MAX bytes of strict
 * UTF-8, no control characters (C0, DEL, C1), no line/paragraph separators
 * or bidirectional overrides (they disguise a name on screen), and no '/'. */
int pl_vault_name_ok(const uint8_t *p, size_t n);
/* 0 iff p[0..n) is 1..max bytes of printable ASCII without space. */
int pl_vault_url_ok(const uint8_t *p, size_t n, size_t max);
/* 0 iff p[0..n) is 1..max bytes of [a-z0-9_.-] (item states, counter keys). */
int pl_vault_word_ok(const uint8_t *p, size_t n, size_t max);

/* --- the open vault -------------------------------------------------------- */
struct pl_vault {
	sqlite3 *db;
	char *dir;
	uint8_t *kek;	 /* the data key every record is sealed under (dek, or
			  * for an old vault the derived key); sodium_malloc'd,
			  * read-only once unlocked */
	pl_identity *id; /* sodium_malloc'd, read-only after loading */
	/* The key the per-vault sealed records (data key, identity seed, key
	 * check, own token) are bound to: the vault's first identity key,
	 * kept in meta "seal_ik" once the identity was rotated. */
	uint8_t seal_ik[PL_IK_LEN];
	char name[PL_NAME_MAX + 1];
	char relay_url[PL_URL_MAX + 1];
	uint8_t *ca; /* PEM bytes or NULL */
	size_t calen;
	int has_relay_key;
	uint8_t relay_key[32];
	int relay_plain_http;		    /* the owner allowed http:// to a remote relay */
	char relay_proxy[PL_URL_MAX + 1];   /* stored SOCKS proxy, "" for none */
	char proxy_run[PL_URL_MAX + 1];	    /* this run's choice, "" to use the stored one */
	int lock_fd;			    /* DIR/vault.lock, held exclusively; -1 if none */
	pl_vfs_db mem;			    /* the database, when it is a sealed file */
	pl_vfile_hdr hdr;		    /* that file's header */
	int sealed;			    /* the database is in mem, saved to DIR/vault.pv */
	int converted;			    /* this open converted an old DIR/vault.db */
	char save_err[PL_ERR_MSG_MAX + 64]; /* why the last save failed, "" if none */
	int batch;			    /* inside pl_vault_batch_begin .. _end */
	int batch_depth;		    /* savepoints pl_vault_begin opened in it */
};

/* A vault in memory with a random key and identity and the real schema, for
 * the unit test and the fuzzer; it never touches the disk. */
int pl_vault_open_memory(pl_vault **out, pl_err *e);

/* The per-vault process lock (vault_lock.c): take waits at most wait_ms
 * for another process to close the vault, then fails (PL_EXIT_VAULT)
 * naming the holder; cmd is recorded for the next waiter. release is a
 * no-op without a lock. */
int pl_vault_lock_take(pl_vault *v, const char *cmd, unsigned wait_ms, pl_err *e);
void pl_vault_lock_release(pl_vault *v);

/* SQLite helpers (vault.c). Every failure fills e with one sentence naming
 * the vault's folder. */
int pl_vault_prep(pl_vault *v, sqlite3_stmt **st, const char *sql, pl_err *e);
/* Maps an SQLite result code to a pl_err (locked, full, damaged, ...). */
int pl_vault_dberr(pl_vault *v, int rc, const char *what, pl_err *e);
/* Steps a statement that returns no row; 0 on SQLITE_DONE. */
int pl_vault_exec(pl_vault *v, sqlite3_stmt *st, const char *what, pl_err *e);
/* "the vault at DIR is damaged: <what>; restore it from a backup". */
int pl_vault_damaged(pl_vault *v, const char *what, pl_err *e);
/* A unit of work that must be atomic: its own BEGIN IMMEDIATE when the
 * caller has no transaction open, else a savepoint inside the caller's. */
int pl_vault_tx_start(pl_vault *v, int *own, pl_err *e);
/* Moves every item of contact `from` to `to`, sealing each body again
 * (the contact's name is in the body's AD). Inside a transaction. */
int pl_vault_items_rename(pl_vault *v, const char *from, const char *to, pl_err *e);
/* Commits (ok) or undoes the unit; returns ok ? result of commit : -1. */
int pl_vault_tx_end(pl_vault *v, int own, int ok, pl_err *e);

/* Per-vault records in table meta (vault.c). put inserts or replaces k;
 * get reads k (at most max bytes) into a fresh buffer, *found = 0 (and 0
 * returned) if it is absent. */
int pl_vault_meta_put(pl_vault *v, const char *k, const uint8_t *p, size_t n, pl_err *e);
int pl_vault_meta_get(pl_vault *v, const char *k, pl_wr *out, size_t max, int *found, pl_err *e);

/* A new vault's first signed prekey and first one-time prekeys, inside
 * create's transaction (vault_prekeys.c). */
int pl_vault_prekeys_init(pl_vault *v, pl_err *e);

/* Makes room for element n of *arr (elem bytes each, *cap allocated): a new
 * buffer, the old one wiped and freed (rows may hold secrets). 0 or -1. */
int pl_vault_grow(void **arr, size_t *cap, size_t n, size_t elem);

/* Reads column i as a blob of exactly len bytes; -1 otherwise. */
int pl_vault_col_fixed(sqlite3_stmt *st, int i, uint8_t *out, size_t len);
/* Reads column i as an integer 0 or 1; -1 otherwise. */
int pl_vault_col_flag(sqlite3_stmt *st, int i, int *out);
/* Reads column i as a text accepted by check into out (cap bytes incl. NUL). */
int pl_vault_col_name(sqlite3_stmt *st, int i, char *out, size_t cap);
int pl_vault_col_word(sqlite3_stmt *st, int i, char *out, size_t cap);

#endif
