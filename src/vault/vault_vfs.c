/*
 * vault_vfs.c — the SQLite VFS "parley-vault": an open vault's database is
 * one buffer in memory (pl_vfs_db), and the file on disk is written only
 * whole and sealed, by the save hook the vault gives it.
 *
 * SQLite runs on it with journal_mode=MEMORY and temp_store=MEMORY, so the
 * main database is the only file it ever opens; anything else is refused.
 * At each commit the pager writes the changed pages into the buffer and
 * then syncs the database file: that sync is where the image is complete
 * and consistent, and where save() seals it and puts it on disk. If save()
 * fails the commit fails (SQLite rolls the buffer back from its memory
 * journal, so the buffer is again what the disk holds) and the buffer is
 * marked broken: every later commit fails, so a vault whose disk refused
 * a write cannot go on as if it had succeeded. Locks are no-ops: one process holds the vault at a
 * time (vault_lock.c) and each connection has its own buffer.
 */
#include "vault/vault_int.h"

#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define VFS_NAME "parley-vault"
#define VFS_PREFIX "/parley-vault/"

typedef struct {
	sqlite3_file base;
	pl_vfs_db *d;
} vfs_file;

static int vf_close(sqlite3_file *f)
{
	(void)f;
	return SQLITE_OK;
}

static int vf_read(sqlite3_file *f, void *out, int amt, sqlite3_int64 off)
{
	pl_vfs_db *d = ((vfs_file *)f)->d;
	size_t a = (size_t)amt, o = (size_t)off;
	if (off < 0 || amt < 0)
		return SQLITE_IOERR_READ;
	if (o >= d->n) {
		memset(out, 0, a);
		return SQLITE_IOERR_SHORT_READ;
	}
	size_t have = d->n - o < a ? d->n - o : a;
	memcpy(out, d->buf + o, have);
	if (have < a) {
		memset((uint8_t *)out + have, 0, a - have);
		return SQLITE_IOERR_SHORT_READ;
	}
	return SQLITE_OK;
}

/* Grows the buffer to hold at least need bytes: a new one, the old one
 * wiped (it holds the database) and freed. */
static int grow(pl_vfs_db *d, size_t need)
{
	if (need <= d->cap)
		return 0;
	if (need > PL_VFILE_IMAGE_MAX)
		return -1;
	size_t cap = d->cap ? d->cap : 64 * 1024;
	while (cap < need)
		cap *= 2;
	uint8_t *b = calloc(1, cap);
	if (b == NULL)
		return -1;
	if (d->buf) {
		memcpy(b, d->buf, d->n);
		sodium_memzero(d->buf, d->cap);
		free(d->buf);
	}
	d->buf = b;
	d->cap = cap;
	return 0;
}

static int vf_write(sqlite3_file *f, const void *p, int amt, sqlite3_int64 off)
{
	pl_vfs_db *d = ((vfs_file *)f)->d;
	if (off < 0 || amt < 0 || grow(d, (size_t)off + (size_t)amt) != 0)
		return SQLITE_IOERR_WRITE;
	size_t o = (size_t)off;
	if (o > d->n)
		memset(d->buf + d->n, 0, o - d->n);
	memcpy(d->buf + o, p, (size_t)amt);
	if (o + (size_t)amt > d->n)
		d->n = o + (size_t)amt;
	return SQLITE_OK;
}

static int vf_truncate(sqlite3_file *f, sqlite3_int64 size)
{
	pl_vfs_db *d = ((vfs_file *)f)->d;
	if (size < 0)
		return SQLITE_IOERR_TRUNCATE;
	if ((size_t)size < d->n) {
		sodium_memzero(d->buf + size, d->n - (size_t)size);
		d->n = (size_t)size;
	}
	return SQLITE_OK;
}

static int vf_sync(sqlite3_file *f, int flags)
{
	pl_vfs_db *d = ((vfs_file *)f)->d;
	(void)flags;
	if (d->broken)
		return SQLITE_IOERR_FSYNC;
	if (d->save && d->save(d->ctx, d->buf, d->n) != 0) {
		d->broken = 1;
		return SQLITE_IOERR_FSYNC;
	}
	return SQLITE_OK;
}

static int vf_size(sqlite3_file *f, sqlite3_int64 *size)
{
	*size = (sqlite3_int64)((vfs_file *)f)->d->n;
	return SQLITE_OK;
}

static int vf_lock(sqlite3_file *f, int level)
{
	(void)f;
	(void)level;
	return SQLITE_OK;
}

static int vf_reserved(sqlite3_file *f, int *out)
{
	(void)f;
	*out = 0;
	return SQLITE_OK;
}

static int vf_control(sqlite3_file *f, int op, void *arg)
{
	(void)f;
	(void)op;
	(void)arg;
	return SQLITE_NOTFOUND;
}

static int vf_sector(sqlite3_file *f)
{
	(void)f;
	return 4096;
}

static int vf_device(sqlite3_file *f)
{
	(void)f;
	return SQLITE_IOCAP_ATOMIC | SQLITE_IOCAP_SAFE_APPEND | SQLITE_IOCAP_SEQUENTIAL |
	       SQLITE_IOCAP_POWERSAFE_OVERWRITE;
}

static const sqlite3_io_methods vf_methods = {
    .iVersion = 1,
    .xClose = vf_close,
    .xRead = vf_read,
    .xWrite = vf_write,
    .xTruncate = vf_truncate,
    .xSync = vf_sync,
    .xFileSize = vf_size,
    .xLock = vf_lock,
    .xUnlock = vf_lock,
    .xCheckReservedLock = vf_reserved,
    .xFileControl = vf_control,
    .xSectorSize = vf_sector,
    .xDeviceCharacteristics = vf_device,
};

/* The buffer a VFS_PREFIX name points to, or NULL. */
static pl_vfs_db *name_db(const char *name)
{
	if (name == NULL || strncmp(name, VFS_PREFIX, sizeof VFS_PREFIX - 1) != 0)
		return NULL;
	const char *hex = name + sizeof VFS_PREFIX - 1;
	char *end;
	unsigned long long p = strtoull(hex, &end, 16);
	if (end == hex || *end != '\0' || p == 0)
		return NULL;
	return (pl_vfs_db *)(uintptr_t)p;
}

static int vfs_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *f, int flags, int *outflags)
{
	(void)vfs;
	pl_vfs_db *d = name_db(name);
	f->pMethods = NULL;
	/* Only the main database: journals and temporary files stay in memory
	 * (journal_mode=MEMORY, temp_store=MEMORY), never on disk in clear. */
	if (d == NULL || !(flags & SQLITE_OPEN_MAIN_DB))
		return SQLITE_CANTOPEN;
	((vfs_file *)f)->d = d;
	f->pMethods = &vf_methods;
	if (outflags)
		*outflags = flags;
	return SQLITE_OK;
}

static int vfs_delete(sqlite3_vfs *vfs, const char *name, int syncdir)
{
	(void)vfs;
	(void)name;
	(void)syncdir;
	return SQLITE_OK;
}

static int vfs_access(sqlite3_vfs *vfs, const char *name, int flags, int *out)
{
	(void)vfs;
	(void)flags;
	/* No journal or WAL file ever exists beside the buffer. */
	*out = 0;
	(void)name;
	return SQLITE_OK;
}

static int vfs_fullpath(sqlite3_vfs *vfs, const char *name, int n, char *out)
{
	(void)vfs;
	if ((int)strlen(name) >= n)
		return SQLITE_CANTOPEN;
	strcpy(out, name);
	return SQLITE_OK;
}

static sqlite3_vfs *base_vfs(sqlite3_vfs *vfs)
{
	return (sqlite3_vfs *)vfs->pAppData;
}

static int vfs_random(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	randombytes_buf(out, (size_t)n);
	return n;
}

static int vfs_sleep(sqlite3_vfs *vfs, int us)
{
	return base_vfs(vfs)->xSleep(base_vfs(vfs), us);
}

static int vfs_time(sqlite3_vfs *vfs, double *t)
{
	return base_vfs(vfs)->xCurrentTime(base_vfs(vfs), t);
}

static int vfs_time64(sqlite3_vfs *vfs, sqlite3_int64 *t)
{
	return base_vfs(vfs)->xCurrentTimeInt64(base_vfs(vfs), t);
}

static int vfs_lasterr(sqlite3_vfs *vfs, int n, char *out)
{
	(void)vfs;
	if (n > 0)
		out[0] = '\0';
	return 0;
}

static sqlite3_vfs the_vfs = {
    .iVersion = 2,
    .szOsFile = sizeof(vfs_file),
    .mxPathname = 64,
    .zName = VFS_NAME,
    .xOpen = vfs_open,
    .xDelete = vfs_delete,
    .xAccess = vfs_access,
    .xFullPathname = vfs_fullpath,
    .xRandomness = vfs_random,
    .xSleep = vfs_sleep,
    .xCurrentTime = vfs_time,
    .xGetLastError = vfs_lasterr,
    .xCurrentTimeInt64 = vfs_time64,
};

static pthread_once_t once = PTHREAD_ONCE_INIT;
static int registered;

static void vfs_register(void)
{
	sqlite3_vfs *base = sqlite3_vfs_find(NULL);
	if (base == NULL || base->iVersion < 2)
		return;
	the_vfs.pAppData = base;
	registered = sqlite3_vfs_register(&the_vfs, 0) == SQLITE_OK;
}

const char *pl_vfs_name(void)
{
	pthread_once(&once, vfs_register);
	return registered ? VFS_NAME : "";
}

void pl_vfs_path(char *out, size_t cap, const pl_vfs_db *d)
{
	snprintf(out, cap, VFS_PREFIX "%llx", (unsigned long long)(uintptr_t)d);
}

void pl_vfs_db_free(pl_vfs_db *d)
{
	if (d->buf) {
		sodium_memzero(d->buf, d->cap);
		free(d->buf);
	}
	d->buf = NULL;
	d->n = d->cap = 0;
}

int pl_vfs_db_take(pl_vfs_db *d, const uint8_t *p, size_t n)
{
	pl_vfs_db_free(d);
	if (n == 0)
		return 0;
	if (grow(d, n) != 0)
		return -1;
	memcpy(d->buf, p, n);
	d->n = n;
	return 0;
}
