/*
 * walbuf.c — the relay's WAL-write-gathering SQLite VFS (see walbuf.h).
 *
 * A file opened through this VFS is our header followed by the real VFS's
 * file object; every method forwards to the real one. WAL files alone get
 * a buffer: a run of writes, each starting where the previous one ended,
 * is kept in it and written with one call when anything else happens to
 * the file (flush()). It owns nothing but that buffer.
 */
#include "relay/walbuf.h"

#include <pthread.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define BUF_CAP (2u << 20) /* bytes gathered before a write is forced */

typedef struct {
	sqlite3_file base;  /* our methods */
	sqlite3_file *real; /* the real VFS's file, right after this header */
	uint8_t *buf;	    /* WAL files only */
	size_t len;	    /* bytes buffered */
	sqlite3_int64 off;  /* file offset of buf[0] */
	sqlite3_int64 end;  /* WAL files: bytes known to exist in the file */
} wb_file;

static sqlite3_vfs wb_vfs;
static sqlite3_vfs *real_vfs;

#define REAL(f) (((wb_file *)(f))->real)
#define FILE_HDR ((sizeof(wb_file) + 15) & ~(size_t)15)

/* The unix VFS writes at most 128 KiB - 1 per call (it masks the length),
 * so a flush is a few calls of WRITE_MAX each, still ~16 frames per call
 * instead of two calls per frame. */
#define WRITE_MAX (64u << 10)

/* A WAL that grows is extended ahead of its writes, with zeros, so that
 * the sync of each commit writes data into blocks that already exist and
 * need not also write the file's size and allocation. SQLite reads a WAL
 * only up to the first frame that fails its checksum, as zeros do. */
#define EXTEND (4 << 20)

static int extend(wb_file *f, sqlite3_int64 want)
{
	static const uint8_t zero[64 << 10];
	sqlite3_int64 to = (want + EXTEND - 1) / EXTEND * EXTEND;
	int rc = SQLITE_OK;

	while (f->end < to && rc == SQLITE_OK) {
		sqlite3_int64 n = to - f->end < (sqlite3_int64)sizeof zero
				      ? to - f->end
				      : (sqlite3_int64)sizeof zero;
		rc = f->real->pMethods->xWrite(f->real, zero, (int)n, f->end);
		if (rc == SQLITE_OK)
			f->end += n;
	}
	return rc;
}

static int flush(wb_file *f)
{
	int rc = SQLITE_OK;

	if (f->len > 0 && f->off + (sqlite3_int64)f->len > f->end)
		rc = extend(f, f->off + (sqlite3_int64)f->len);
	for (size_t at = 0; at < f->len && rc == SQLITE_OK; at += WRITE_MAX) {
		size_t n = f->len - at < WRITE_MAX ? f->len - at : WRITE_MAX;
		rc = f->real->pMethods->xWrite(f->real, f->buf + at, (int)n,
					       f->off + (sqlite3_int64)at);
	}
	f->len = 0;
	return rc;
}

static int wb_close(sqlite3_file *file)
{
	wb_file *f = (wb_file *)file;
	int rc = flush(f), rc2 = f->real->pMethods->xClose(f->real);

	free(f->buf);
	f->buf = NULL;
	return rc != SQLITE_OK ? rc : rc2;
}

static int wb_read(sqlite3_file *file, void *p, int n, sqlite3_int64 off)
{
	int rc = flush((wb_file *)file);
	return rc != SQLITE_OK ? rc : REAL(file)->pMethods->xRead(REAL(file), p, n, off);
}

static int wb_write(sqlite3_file *file, const void *p, int n, sqlite3_int64 off)
{
	wb_file *f = (wb_file *)file;
	int rc;

	if (f->buf == NULL || n <= 0)
		return f->real->pMethods->xWrite(f->real, p, n, off);
	if (f->len > 0 && (off != f->off + (sqlite3_int64)f->len || f->len + (size_t)n > BUF_CAP)) {
		rc = flush(f);
		if (rc != SQLITE_OK)
			return rc;
	}
	if ((size_t)n > WRITE_MAX)
		return f->real->pMethods->xWrite(f->real, p, n, off);
	if (f->len == 0)
		f->off = off;
	memcpy(f->buf + f->len, p, (size_t)n);
	f->len += (size_t)n;
	return SQLITE_OK;
}

static int wb_truncate(sqlite3_file *file, sqlite3_int64 size)
{
	wb_file *f = (wb_file *)file;
	int rc = flush(f);
	if (rc == SQLITE_OK)
		rc = f->real->pMethods->xTruncate(f->real, size);
	if (rc == SQLITE_OK && f->end > size)
		f->end = size;
	return rc;
}

static int wb_sync(sqlite3_file *file, int flags)
{
	int rc = flush((wb_file *)file);
	return rc != SQLITE_OK ? rc : REAL(file)->pMethods->xSync(REAL(file), flags);
}

static int wb_file_size(sqlite3_file *file, sqlite3_int64 *size)
{
	int rc = flush((wb_file *)file);
	return rc != SQLITE_OK ? rc : REAL(file)->pMethods->xFileSize(REAL(file), size);
}

static int wb_lock(sqlite3_file *file, int lock)
{
	return REAL(file)->pMethods->xLock(REAL(file), lock);
}

static int wb_unlock(sqlite3_file *file, int lock)
{
	int rc = flush((wb_file *)file);
	return rc != SQLITE_OK ? rc : REAL(file)->pMethods->xUnlock(REAL(file), lock);
}

static int wb_check_reserved(sqlite3_file *file, int *out)
{
	return REAL(file)->pMethods->xCheckReservedLock(REAL(file), out);
}

static int wb_file_control(sqlite3_file *file, int op, void *arg)
{
	int rc = flush((wb_file *)file);
	return rc != SQLITE_OK ? rc : REAL(file)->pMethods->xFileControl(REAL(file), op, arg);
}

static int wb_sector_size(sqlite3_file *file)
{
	return REAL(file)->pMethods->xSectorSize(REAL(file));
}

static int wb_device_characteristics(sqlite3_file *file)
{
	return REAL(file)->pMethods->xDeviceCharacteristics(REAL(file));
}

static int wb_shm_map(sqlite3_file *file, int pg, int pgsz, int extend, void volatile **p)
{
	return REAL(file)->pMethods->xShmMap(REAL(file), pg, pgsz, extend, p);
}

static int wb_shm_lock(sqlite3_file *file, int offset, int n, int flags)
{
	return REAL(file)->pMethods->xShmLock(REAL(file), offset, n, flags);
}

static void wb_shm_barrier(sqlite3_file *file)
{
	REAL(file)->pMethods->xShmBarrier(REAL(file));
}

static int wb_shm_unmap(sqlite3_file *file, int del)
{
	return REAL(file)->pMethods->xShmUnmap(REAL(file), del);
}

static int wb_fetch(sqlite3_file *file, sqlite3_int64 off, int n, void **p)
{
	int rc = flush((wb_file *)file);
	return rc != SQLITE_OK ? rc : REAL(file)->pMethods->xFetch(REAL(file), off, n, p);
}

static int wb_unfetch(sqlite3_file *file, sqlite3_int64 off, void *p)
{
	return REAL(file)->pMethods->xUnfetch(REAL(file), off, p);
}

/* Version 3 methods; wb_open only hands them out over a real file that has
 * them all (the unix VFS does). */
static const sqlite3_io_methods wb_methods = {
    3,
    wb_close,
    wb_read,
    wb_write,
    wb_truncate,
    wb_sync,
    wb_file_size,
    wb_lock,
    wb_unlock,
    wb_check_reserved,
    wb_file_control,
    wb_sector_size,
    wb_device_characteristics,
    wb_shm_map,
    wb_shm_lock,
    wb_shm_barrier,
    wb_shm_unmap,
    wb_fetch,
    wb_unfetch,
};

static int wb_open(sqlite3_vfs *vfs, const char *name, sqlite3_file *file, int flags,
		   int *out_flags)
{
	wb_file *f = (wb_file *)file;
	int rc;

	(void)vfs;
	memset(f, 0, sizeof *f);
	f->real = (sqlite3_file *)((char *)file + FILE_HDR);
	rc = real_vfs->xOpen(real_vfs, name, f->real, flags, out_flags);
	if (rc != SQLITE_OK)
		return rc; /* pMethods stays NULL: SQLite will not close it */
	if (f->real->pMethods == NULL || f->real->pMethods->iVersion < 3) {
		if (f->real->pMethods != NULL)
			f->real->pMethods->xClose(f->real);
		return SQLITE_CANTOPEN;
	}
	if ((flags & SQLITE_OPEN_WAL) != 0) {
		f->buf = malloc(BUF_CAP);
		if (f->buf == NULL || f->real->pMethods->xFileSize(f->real, &f->end) != SQLITE_OK) {
			free(f->buf);
			f->buf = NULL;
			f->real->pMethods->xClose(f->real);
			return SQLITE_NOMEM;
		}
	}
	f->base.pMethods = &wb_methods;
	return SQLITE_OK;
}

/* Everything but opening files is the real VFS's. */
static int wb_delete(sqlite3_vfs *v, const char *name, int sync)
{
	(void)v;
	return real_vfs->xDelete(real_vfs, name, sync);
}

static int wb_access(sqlite3_vfs *v, const char *name, int flags, int *out)
{
	(void)v;
	return real_vfs->xAccess(real_vfs, name, flags, out);
}

static int wb_full_pathname(sqlite3_vfs *v, const char *name, int n, char *out)
{
	(void)v;
	return real_vfs->xFullPathname(real_vfs, name, n, out);
}

static void *wb_dlopen(sqlite3_vfs *v, const char *name)
{
	(void)v;
	return real_vfs->xDlOpen(real_vfs, name);
}

static void wb_dlerror(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	real_vfs->xDlError(real_vfs, n, out);
}

static void (*wb_dlsym(sqlite3_vfs *v, void *h, const char *sym))(void)
{
	(void)v;
	return real_vfs->xDlSym(real_vfs, h, sym);
}

static void wb_dlclose(sqlite3_vfs *v, void *h)
{
	(void)v;
	real_vfs->xDlClose(real_vfs, h);
}

static int wb_randomness(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	return real_vfs->xRandomness(real_vfs, n, out);
}

static int wb_sleep(sqlite3_vfs *v, int us)
{
	(void)v;
	return real_vfs->xSleep(real_vfs, us);
}

static int wb_current_time(sqlite3_vfs *v, double *out)
{
	(void)v;
	return real_vfs->xCurrentTime(real_vfs, out);
}

static int wb_last_error(sqlite3_vfs *v, int n, char *out)
{
	(void)v;
	return real_vfs->xGetLastError ? real_vfs->xGetLastError(real_vfs, n, out) : 0;
}

static int wb_current_time_int64(sqlite3_vfs *v, sqlite3_int64 *out)
{
	(void)v;
	return real_vfs->xCurrentTimeInt64(real_vfs, out);
}

static int reg_rc = -1;

static void reg(void)
{
	real_vfs = sqlite3_vfs_find(NULL);
	if (real_vfs == NULL || real_vfs->iVersion < 2 || real_vfs->xCurrentTimeInt64 == NULL)
		return;
	wb_vfs.iVersion = 2;
	wb_vfs.szOsFile = (int)FILE_HDR + real_vfs->szOsFile;
	wb_vfs.mxPathname = real_vfs->mxPathname;
	wb_vfs.zName = PL_WALBUF_VFS;
	wb_vfs.xOpen = wb_open;
	wb_vfs.xDelete = wb_delete;
	wb_vfs.xAccess = wb_access;
	wb_vfs.xFullPathname = wb_full_pathname;
	wb_vfs.xDlOpen = wb_dlopen;
	wb_vfs.xDlError = wb_dlerror;
	wb_vfs.xDlSym = wb_dlsym;
	wb_vfs.xDlClose = wb_dlclose;
	wb_vfs.xRandomness = wb_randomness;
	wb_vfs.xSleep = wb_sleep;
	wb_vfs.xCurrentTime = wb_current_time;
	wb_vfs.xGetLastError = wb_last_error;
	wb_vfs.xCurrentTimeInt64 = wb_current_time_int64;
	reg_rc = sqlite3_vfs_register(&wb_vfs, 0) == SQLITE_OK ? 0 : -1;
}

int pl_walbuf_register(void)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_once(&once, reg);
	return reg_rc;
}
