/*
 * walbuf.h — a thin SQLite VFS over the default one that gathers the
 * relay's write-ahead-log writes into one large write per commit.
 *
 * SQLite writes each WAL frame as two pwrite() calls (a 24-byte header,
 * then the page); a group commit of a few dozen deposits is hundreds of
 * frames, and their system calls were the biggest single cost of the
 * relay's committer. This VFS keeps consecutive writes to a WAL file in a
 * buffer and hands them to the real file in one write before anything that
 * could observe them: a read, a size query, a truncation, a sync (every
 * commit syncs the WAL: synchronous=FULL), a file control, a memory map or
 * a close. Nothing reaches another connection before SQLite's own sync, so
 * SQLite's ordering and durability are unchanged; a crash loses only
 * writes of a commit that had not returned. A WAL that grows is extended
 * ahead, 4 MiB of zeros at a time, so that a commit's sync rewrites blocks
 * that exist rather than also syncing the file's new size and allocation
 * (SQLite stops reading a WAL at the first frame whose checksum fails, as
 * a zero frame does).
 *
 * Must never: reorder writes of the same file, let a read or a sync see
 * the file without the buffered bytes, or buffer anything but WAL files.
 */
#ifndef PARLEY_RELAY_WALBUF_H
#define PARLEY_RELAY_WALBUF_H

#define PL_WALBUF_VFS "parley-walbuf"

/* Registers the VFS (once; thread-safe). 0, or -1 if SQLite has no default
 * VFS or is out of memory. */
int pl_walbuf_register(void);

#endif
