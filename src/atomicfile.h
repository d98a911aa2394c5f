/* atomicfile.h — private (0600) files replaced atomically under a lock.
 *
 * Used for every file the connector keeps secrets in: .pgpass, the stored
 * OAuth tokens, the rotator's status file. The one entry point most callers
 * want is dbx_af_update(): resolve symlinks, create the parent folder (0700)
 * when missing, take an exclusive lock on that folder, remove stale temp
 * files of earlier crashed writers, read the current contents, let the caller
 * compute the new contents, and replace the file with a 0600 temp file
 * (O_CREAT|O_EXCL|O_NOFOLLOW, fchmod 0600, fsync, rename, fsync of the
 * folder). When anything fails the target is left byte-identical.
 *
 * Names beside a target `<dir>/<base>` (no lock file: the lock is flock on
 * `<dir>` itself):
 *   `<dir>/<base>.tmp.<pid>.<n>`     temp file of a writer; one left behind by
 *                                    a crash is removed by the next writer
 *                                    (it holds the lock, so no live writer
 *                                    can own one)
 *
 * Policy for what is already there: the target must be a regular file owned
 * by the effective user (a folder, FIFO, device, or another user's file is
 * refused before anything is opened for writing, so a FIFO never blocks us).
 * A file with group/other permission bits (libpq ignores such a .pgpass) is
 * rewritten as 0600 when `fix_mode` is set, otherwise refused.
 *
 * This file never reads or logs the contents beyond handing them to the
 * caller, and every buffer that held them is wiped. Errors name the file, the
 * operation and what to do. */
#ifndef DBX_ATOMICFILE_H
#define DBX_ATOMICFILE_H

#include <stddef.h>
#include <sys/types.h>

#include "buf.h"
#include "err.h"

#define DBX_AF_DEFAULT_LOCK_TIMEOUT 10.0           /* seconds */
#define DBX_AF_DEFAULT_MAX_SIZE ((size_t)64 << 20) /* bytes read at most */

typedef struct dbx_af_opts {
    double lock_timeout; /* seconds to wait for the lock; <= 0: the default */
    size_t max_size;     /* refuse to read a larger file; 0: the default */
    int fix_mode;        /* existing file with group/other bits: 1 rewrite as 0600, 0 refuse */
    int no_sync;         /* skip the fsyncs: still atomic and private, not durable
                            across a power cut (advisory files such as the status file) */
    mode_t mode;         /* a file that is not secret (a service unit): written with exactly
                            this mode, whatever the old one was; 0: 0600 (the rule above) */
} dbx_af_opts;

/* What dbx_af_update found and did (filled on success and, as far as it got,
 * on failure). */
typedef struct dbx_af_state {
    dbx_buf target;         /* the resolved path that was (or would be) written */
    int existed;            /* the target existed before */
    mode_t old_mode;        /* its permission bits (0 when it did not exist) */
    int mode_fixed;         /* it had group/other bits and is now 0600 */
    int written;            /* the file was replaced */
    unsigned stale_removed; /* leftover temp files removed */
} dbx_af_state;

/* The caller's edit: given the current contents (old, n; n == 0 and existed
 * == 0 when the file is missing), append the new contents to `out` and
 * return DBX_AF_WRITE, or return DBX_AF_KEEP to leave the file as it is, or
 * -1 after filling `e` (nothing is changed). */
enum { DBX_AF_WRITE = 0, DBX_AF_KEEP = 1 };
typedef int (*dbx_af_edit_fn)(void *ctx, const char *old, size_t n, int existed, dbx_buf *out,
                              dbx_err *e);

/* Read-modify-write of `path` as described at the top. `st` must be zeroed
 * by the caller (dbx_af_state_free releases it). A DBX_AF_KEEP edit still
 * rewrites the file (same bytes) when its mode has to be fixed. Returns 0, or
 * -1 with `e` set (kind io, timeout for the lock, config for a refused
 * target). */
int dbx_af_update(const char *path, const dbx_af_opts *o, dbx_af_edit_fn edit, void *ctx,
                  dbx_af_state *st, dbx_err *e);
void dbx_af_state_free(dbx_af_state *st);

/* Atomically replaces (or creates) `path` — no symlink resolution, no lock:
 * for callers that hold the lock themselves. The contents land in a 0600 temp
 * file beside it which is renamed over the target, then the folder is
 * synced. */
int dbx_af_write(const char *path, const void *data, size_t n, dbx_err *e);
/* The same, with the fsyncs of the file and the folder only when `sync`. */
int dbx_af_write_ex(const char *path, const void *data, size_t n, int sync, dbx_err *e);
/* The same, giving the file `mode` (0: 0600) just before it replaces the
 * target; the temp file is 0600 until then. */
int dbx_af_write_mode(const char *path, const void *data, size_t n, int sync, mode_t mode, dbx_err *e);

/* ---- the pieces, for callers that compose them differently ------------- */

/* Follows symbolic links in the last component of `path` (up to 40) and
 * appends the final path to `out`; a dangling link resolves to the missing
 * file it names. */
int dbx_af_resolve(const char *path, dbx_buf *out, dbx_err *e);

/* Creates `dir` and any missing parents with mode 0700 (exactly, whatever
 * the umask); existing folders are left alone. */
int dbx_af_mkdirs(const char *dir, dbx_err *e);

/* Checks an existing target without opening it: 1 it exists and is
 * acceptable (mode in *mode), 0 it does not exist, -1 refused (e set). */
int dbx_af_check(const char *path, const dbx_af_opts *o, mode_t *mode, dbx_err *e);

/* Reads a whole regular file (never blocks on a FIFO, never follows a
 * symlink in the last component when nofollow is set). Returns 1 and the
 * bytes appended to out, 0 when the file does not exist, -1 on error. */
int dbx_af_read(const char *path, int nofollow, size_t max_size, dbx_buf *out, dbx_err *e);

/* The exclusive lock on the folder of `path`: waits at most `timeout`
 * seconds (or until a stop signal), then fails with a timeout error naming
 * the folder. */
typedef struct dbx_af_lock {
    int fd; /* -1 when not held */
} dbx_af_lock;
int dbx_af_lock_acquire(dbx_af_lock *lk, const char *path, double timeout, dbx_err *e);
void dbx_af_lock_release(dbx_af_lock *lk);

/* Creates a new temp file `<path>.tmp.<pid>.<n>` (mode exactly 0600) and
 * returns its descriptor; its name is appended to `name`. */
int dbx_af_temp_open(const char *path, dbx_buf *name, dbx_err *e);

/* Removes temp files of `path` left by crashed writers: names matching
 * `<base>.tmp.<digits>.<digits>`, regular files owned by us. Call it only
 * while holding the lock. Returns how many were removed (never fails: a file
 * that cannot be removed is left for next time). */
unsigned dbx_af_clean_stale(const char *path);

/* 1 when `name` (a bare file name) is a temp file name of target `base`. */
int dbx_af_is_temp_name(const char *base, const char *name);

#endif
