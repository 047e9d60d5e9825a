/*
 * file.h — the one way parley reads a whole file and puts a file in place.
 *
 * A file parley writes (a vault, an export, the relay key) appears whole or
 * not at all, and survives a crash once the call returned 0: it is written
 * to a temporary file in the same folder, flushed, moved into place with
 * link() (never replacing) or rename() (replacing), and then the folder
 * itself is flushed. A failed step leaves no temporary file and the path as
 * it was. Errors follow util/err.h: one sentence, naming the path, never the
 * content.
 */
#ifndef PARLEY_UTIL_FILE_H
#define PARLEY_UTIL_FILE_H

#include <stddef.h>
#include <stdint.h>

#include "util/err.h"

/* dir "/" name, malloc'd; NULL when out of memory. */
char *pl_path_join(const char *dir, const char *name);

/* How pl_file_put treats an existing file at the path. */
typedef enum {
	PL_FILE_REPLACE,  /* rename(): the new file replaces an old one */
	PL_FILE_NOREPLACE /* link(): an existing file wins; -1 with errno EEXIST */
} pl_file_mode;

/* Moves the finished temporary file tmp (open as fd, which the caller still
 * closes) to path: fsync(fd), link or rename, unlink(tmp), fsync of the
 * folder. Under PL_FILE_NOREPLACE a file system without hard links falls
 * back to rename() only while path does not exist. On failure tmp is
 * removed, path is untouched (unless only the folder flush failed: then
 * the file is in place but may not survive a crash, and errno says so).
 * `what` names the file in the error ("the vault", "the export"). */
int pl_file_publish(int fd, const char *tmp, const char *path, pl_file_mode mode, const char *what,
		    pl_err *e);

/* fsync() of the folder that holds path ("." for a bare name): what makes
 * a new entry in it (a file, a folder just made) survive a crash. 0 or -1
 * with errno set. */
int pl_file_sync_parent(const char *path);

/* Writes n bytes to path through a temporary file of mode 0600 beside it
 * and pl_file_publish. */
int pl_file_write_atomic(const char *path, const void *p, size_t n, pl_file_mode mode,
			 const char *what, pl_err *e);

/* Reads a whole regular file of at most max bytes into a malloc'd buffer
 * with one extra NUL byte after the content (*len excludes it). A file that
 * is missing, not regular, larger than max, or that grows while it is read
 * is refused with PL_EXIT_INPUT. The buffer is wiped before any realloc,
 * so a secret file leaves no copy behind; the caller wipes and frees it. */
int pl_file_read(const char *path, size_t max, uint8_t **out, size_t *len, pl_err *e);

#endif
