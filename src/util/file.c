/* file.c — whole-file reads and crash-safe writes; see file.h. */
#include "util/file.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

char *pl_path_join(const char *dir, const char *name)
{
	size_t a = strlen(dir), b = strlen(name);
	char *p = malloc(a + 1 + b + 1);
	if (p == NULL)
		return NULL;
	memcpy(p, dir, a);
	p[a] = '/';
	memcpy(p + a + 1, name, b + 1);
	return p;
}

int pl_file_sync_parent(const char *path)
{
	char *copy = strdup(path);
	if (copy == NULL)
		return -1;
	int fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	free(copy);
	if (fd < 0)
		return -1;
	int r = fsync(fd);
	int err = errno;
	close(fd);
	errno = err;
	return r;
}

int pl_file_publish(int fd, const char *tmp, const char *path, pl_file_mode mode, const char *what,
		    pl_err *e)
{
	struct stat sb;
	if (fsync(fd) != 0) {
		int err = errno;
		unlink(tmp);
		return pl_err_set(e, PL_EXIT_ERROR, "cannot flush %s to disk at %s: %s", what, tmp,
				  strerror(err));
	}
	if (mode == PL_FILE_REPLACE) {
		if (rename(tmp, path) != 0) {
			int err = errno;
			unlink(tmp);
			return pl_err_set(e, PL_EXIT_ERROR, "cannot put %s in place at %s: %s",
					  what, path, strerror(err));
		}
	} else if (link(tmp, path) == 0) {
		unlink(tmp);
	} else if (errno == EEXIST) {
		unlink(tmp);
		pl_err_set(e, PL_EXIT_ERROR, "%s already exists; refusing to replace it", path);
		errno = EEXIST;
		return -1;
	} else if (lstat(path, &sb) == 0 || errno != ENOENT || rename(tmp, path) != 0) {
		/* no hard links on this file system: rename() while nothing is there */
		int err = errno;
		unlink(tmp);
		pl_err_set(e, PL_EXIT_ERROR, "cannot put %s in place at %s: %s", what, path,
			   strerror(err));
		errno = err;
		return -1;
	}
	if (pl_file_sync_parent(path) != 0) {
		int err = errno;
		pl_err_set(e, PL_EXIT_ERROR,
			   "%s is at %s but its folder could not be flushed to disk (%s); it may "
			   "not survive a crash: check the disk and try again",
			   what, path, strerror(err));
		errno = err;
		return -1;
	}
	return 0;
}

static int write_all(int fd, const uint8_t *p, size_t n)
{
	while (n > 0) {
		ssize_t w = write(fd, p, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		p += w;
		n -= (size_t)w;
	}
	return 0;
}

int pl_file_write_atomic(const char *path, const void *p, size_t n, pl_file_mode mode,
			 const char *what, pl_err *e)
{
	size_t pl = strlen(path);
	char *tmp = malloc(pl + sizeof ".tmp.XXXXXX");
	if (tmp == NULL)
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory writing %s", path);
	memcpy(tmp, path, pl);
	memcpy(tmp + pl, ".tmp.XXXXXX", sizeof ".tmp.XXXXXX");
	int fd = mkostemp(tmp, O_CLOEXEC); /* mode 0600 */
	if (fd < 0) {
		pl_err_set(e, PL_EXIT_ERROR, "cannot create %s: %s; check the folder's permissions",
			   tmp, strerror(errno));
		free(tmp);
		return -1;
	}
	int rc;
	if (write_all(fd, p, n) != 0) {
		int err = errno;
		unlink(tmp);
		rc = pl_err_set(e, PL_EXIT_ERROR, "cannot write %s: %s", tmp, strerror(err));
	} else {
		rc = pl_file_publish(fd, tmp, path, mode, what, e);
	}
	int err = errno;
	close(fd); /* after fsync: a failed close cannot lose what was flushed */
	errno = err;
	free(tmp);
	return rc;
}

int pl_file_read(const char *path, size_t max, uint8_t **out, size_t *len, pl_err *e)
{
	*out = NULL;
	*len = 0;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return pl_err_set(e, PL_EXIT_INPUT, "cannot open %s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) != 0 || S_ISDIR(st.st_mode)) {
		close(fd);
		return pl_err_set(e, PL_EXIT_INPUT, "%s is not a file", path);
	}
	if (S_ISREG(st.st_mode) && (unsigned long long)st.st_size > max) {
		close(fd);
		return pl_err_set(e, PL_EXIT_INPUT, "%s is larger than %zu bytes", path, max);
	}
	/* a regular file is read in one buffer of its size; a pipe grows one */
	size_t cap = S_ISREG(st.st_mode) ? (size_t)st.st_size + 1 : 4096, n = 0;
	uint8_t *buf = malloc(cap + 1);
	if (buf == NULL) {
		close(fd);
		return pl_err_set(e, PL_EXIT_ERROR, "out of memory reading %s", path);
	}
	for (;;) {
		if (n == cap) {
			if (S_ISREG(st.st_mode) || cap > max) {
				sodium_memzero(buf, cap + 1);
				free(buf);
				close(fd);
				return S_ISREG(st.st_mode)
					   ? pl_err_set(e, PL_EXIT_INPUT,
							"%s changed while it was read; try again",
							path)
					   : pl_err_set(e, PL_EXIT_INPUT,
							"%s is larger than %zu bytes", path, max);
			}
			size_t ncap = cap * 2 > max + 1 ? max + 1 : cap * 2;
			uint8_t *nb = malloc(ncap + 1);
			if (nb == NULL) {
				sodium_memzero(buf, cap + 1);
				free(buf);
				close(fd);
				return pl_err_set(e, PL_EXIT_ERROR, "out of memory reading %s",
						  path);
			}
			memcpy(nb, buf, n);
			sodium_memzero(buf, cap + 1);
			free(buf);
			buf = nb;
			cap = ncap;
		}
		ssize_t r = read(fd, buf + n, cap - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			int err = errno;
			sodium_memzero(buf, cap + 1);
			free(buf);
			close(fd);
			return pl_err_set(e, PL_EXIT_INPUT, "cannot read %s: %s", path,
					  strerror(err));
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	if (n > max) {
		sodium_memzero(buf, cap + 1);
		free(buf);
		return pl_err_set(e, PL_EXIT_INPUT, "%s is larger than %zu bytes", path, max);
	}
	buf[n] = 0;
	*out = buf;
	*len = n;
	return 0;
}
