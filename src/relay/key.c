/*
 * key.c — DATA/relay.key, the relay's signing key file (key.h).
 *
 * It owns the file's layout, its creation and its checks. A new key is
 * written through util/file.h (a temporary file of mode 0600, flushed, then
 * link()ed into place), so the file appears whole or not at all. It must
 * never replace an existing key file (the log's checkpoints are signed by
 * it: a new key would orphan them), accept a file others may read, write
 * the secret key anywhere but relay.key, or leave it in memory it frees.
 */
#include "relay/key.h"

#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "util/file.h"

_Static_assert(PL_RELAY_KEY_FILE_LEN == 78, "the relay key file is 78 bytes");
_Static_assert(PL_RELAY_KEY_SEED_LEN == crypto_sign_SEEDBYTES, "an Ed25519 seed");

static void key_id(uint8_t id[static PL_RELAY_KEY_ID_LEN], const uint8_t pk[static PL_IK_LEN])
{
	uint8_t h[32];
	crypto_generichash(h, sizeof h, pk, PL_IK_LEN, NULL, 0);
	memcpy(id, h, PL_RELAY_KEY_ID_LEN);
}

static void key_encode(uint8_t buf[static PL_RELAY_KEY_FILE_LEN],
		       const uint8_t seed[static PL_RELAY_KEY_SEED_LEN],
		       const uint8_t pk[static PL_IK_LEN])
{
	memcpy(buf + PL_RELAY_KEY_MAGIC_OFF, PL_RELAY_KEY_MAGIC, PL_RELAY_KEY_MAGIC_LEN);
	buf[PL_RELAY_KEY_VERSION_OFF] = PL_RELAY_KEY_VERSION;
	buf[PL_RELAY_KEY_ALG_OFF] = PL_RELAY_KEY_ALG_ED25519;
	key_id(buf + PL_RELAY_KEY_ID_OFF, pk);
	memcpy(buf + PL_RELAY_KEY_SEED_OFF, seed, PL_RELAY_KEY_SEED_LEN);
	memcpy(buf + PL_RELAY_KEY_PK_OFF, pk, PL_IK_LEN);
}

/* 0 and the key pair if buf[0..n) is a whole, consistent key file. */
static int key_decode(uint8_t sk[static PL_IK_SK_LEN], uint8_t pk[static PL_IK_LEN],
		      const uint8_t *buf, size_t n)
{
	uint8_t tpk[PL_IK_LEN], tsk[PL_IK_SK_LEN], id[PL_RELAY_KEY_ID_LEN];
	int rc = -1;

	if (n != PL_RELAY_KEY_FILE_LEN ||
	    memcmp(buf + PL_RELAY_KEY_MAGIC_OFF, PL_RELAY_KEY_MAGIC, PL_RELAY_KEY_MAGIC_LEN) != 0 ||
	    buf[PL_RELAY_KEY_VERSION_OFF] != PL_RELAY_KEY_VERSION ||
	    buf[PL_RELAY_KEY_ALG_OFF] != PL_RELAY_KEY_ALG_ED25519)
		return -1;
	crypto_sign_seed_keypair(tpk, tsk, buf + PL_RELAY_KEY_SEED_OFF);
	key_id(id, tpk);
	if (memcmp(tpk, buf + PL_RELAY_KEY_PK_OFF, PL_IK_LEN) == 0 &&
	    memcmp(id, buf + PL_RELAY_KEY_ID_OFF, PL_RELAY_KEY_ID_LEN) == 0) {
		memcpy(sk, tsk, PL_IK_SK_LEN);
		memcpy(pk, tpk, PL_IK_LEN);
		rc = 0;
	}
	sodium_memzero(tsk, sizeof tsk);
	return rc;
}

int pl_relay_key_create(const char *dir, pl_err *e)
{
	uint8_t buf[PL_RELAY_KEY_FILE_LEN], seed[PL_RELAY_KEY_SEED_LEN], pk[PL_IK_LEN],
	    sk[PL_IK_SK_LEN];
	char *path = pl_path_join(dir, PL_RELAY_KEY_NAME);
	int rc;

	if (path == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	randombytes_buf(seed, sizeof seed);
	crypto_sign_seed_keypair(pk, sk, seed);
	key_encode(buf, seed, pk);
	rc = pl_file_write_atomic(path, buf, sizeof buf, PL_FILE_NOREPLACE, "the relay key", e);
	if (rc != 0 && errno == EEXIST) {
		pl_err_clear(e);
		rc = 0;
	}
	sodium_memzero(buf, sizeof buf);
	sodium_memzero(seed, sizeof seed);
	sodium_memzero(sk, sizeof sk);
	free(path);
	return rc;
}

/* Opens the key file without following a link, creating it first if there
 * is none; the descriptor, or -1 with e set. */
static int key_open(const char *dir, const char *path, pl_err *e)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);

	if (fd < 0 && errno == ENOENT) {
		if (pl_relay_key_create(dir, e) != 0)
			return -1;
		fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
	}
	if (fd < 0)
		return pl_err_set(e, PL_EXIT_ERROR, "cannot open %s: %s", path, strerror(errno));
	return fd;
}

int pl_relay_key_load(uint8_t sk[static PL_IK_SK_LEN], uint8_t pk[static PL_IK_LEN],
		      const char *dir, pl_err *e)
{
	uint8_t buf[PL_RELAY_KEY_FILE_LEN + 1]; /* one more: a longer file is refused */
	char *path = pl_path_join(dir, PL_RELAY_KEY_NAME);
	struct stat st;
	ssize_t n;
	int fd, rc = -1;

	if (path == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory");
	fd = key_open(dir, path, e);
	if (fd < 0)
		goto out;
	if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || (st.st_mode & 077) != 0) {
		close(fd);
		pl_err_set(e, PL_EXIT_ERROR,
			   "%s must be a regular file readable only by its owner (chmod 600)",
			   path);
		goto out;
	}
	n = read(fd, buf, sizeof buf);
	close(fd);
	rc = n < 0 ? -1 : key_decode(sk, pk, buf, (size_t)n);
	sodium_memzero(buf, sizeof buf);
	if (rc != 0)
		pl_err_set(e, PL_EXIT_ERROR,
			   "%s is not a parley relay key (version 1, Ed25519) or is damaged", path);
out:
	free(path);
	return rc;
}
