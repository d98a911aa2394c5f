/* atomicfile.c — private files replaced atomically under a lock (see
 * atomicfile.h for the contract and the names used beside a target).
 *
 * Why each step is there:
 * - The temp file is opened O_CREAT|O_EXCL|O_NOFOLLOW with mode 0600, so it
 *   is never wider than 0600 (the umask can only narrow it) and a symlink
 *   planted at its name is never followed; fchmod then makes it exactly 0600
 *   whatever the umask was.
 * - The lock is flock(2) on the target's folder: the target itself is
 *   replaced by rename, so a lock on it would be lost with the old inode,
 *   and a separate lock file would be clutter left forever beside the
 *   user's files (removing lock files races). Writers of different files of
 *   one folder wait for each other, which costs nothing at these sizes.
 *   flock locks belong to the open file description, so two threads (or two
 *   Lua states) of one process exclude each other as well as two processes
 *   do, which fcntl record locks would not. (One process must not nest two
 *   updates of the same folder: the inner one would wait for the outer.)
 * - The target is first checked with lstat and only then opened, with
 *   O_NONBLOCK and O_NOFOLLOW, and checked again with fstat on the
 *   descriptor: a FIFO is refused without ever blocking, and a file swapped
 *   in between is still checked.
 * This file never logs, and wipes every buffer that held file contents. */
#include "atomicfile.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "sys.h"
#include "timeutil.h"

#define MAX_SYMLINK_HOPS 40

/* ---- error messages ------------------------------------------------------ */

/* Lower-case cause, then what the user can do, for the errno values people
 * actually meet; anything else falls back to strerror. */
static const char *errno_text(int err)
{
    switch (err) {
    case EACCES:
    case EPERM: return "permission denied";
    case ENOSPC: return "no space left on device";
#ifdef EDQUOT
    case EDQUOT: return "disk quota exceeded";
#endif
    case EROFS: return "read-only file system";
    case ENOENT: return "no such file or folder";
    case ENOTDIR: return "a path component is not a folder";
    case ELOOP: return "too many levels of symbolic links";
    case EISDIR: return "is a folder";
    case ENAMETOOLONG: return "file name too long";
    case EIO: return "input/output error";
    default: return strerror(err);
    }
}

static const char *errno_hint(int err)
{
    switch (err) {
    case EACCES:
    case EPERM: return "check the folder's owner/permissions";
    case ENOSPC:
#ifdef EDQUOT
    case EDQUOT:
#endif
        return "free some disk space and retry";
    case EROFS: return "point the path at a writable file system";
    case ENOENT:
    case ENOTDIR: return "check that the path's folders exist";
    case ELOOP: return "check the symbolic links along the path";
    case EIO: return "check the disk";
    default: return "check the path and retry";
    }
}

/* "permission denied writing /x/.pgpass: check the folder's owner/permissions" */
static int fail_errno(dbx_err *e, int err, const char *op, const char *path)
{
    return dbx_err_set(e, DBX_EIO, "%s %s %s: %s", errno_text(err), op, path, errno_hint(err));
}

static const char *file_type_name(mode_t m)
{
    if (S_ISDIR(m)) return "a folder";
    if (S_ISFIFO(m)) return "a FIFO";
    if (S_ISSOCK(m)) return "a socket";
    if (S_ISCHR(m)) return "a character device";
    if (S_ISBLK(m)) return "a block device";
    if (S_ISLNK(m)) return "a symbolic link";
    return "not a regular file";
}

/* ---- small helpers ----------------------------------------------------- */

/* Splits `path` into its folder (appended to dir; "." when there is no
 * slash, "/" for a file in the root) and returns its last component. */
static const char *split_path(const char *path, dbx_buf *dir)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        dbx_buf_puts(dir, ".");
        return path;
    }
    if (slash == path)
        dbx_buf_puts(dir, "/");
    else
        dbx_buf_append(dir, path, (size_t)(slash - path));
    return slash + 1;
}

static int write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        p += w;
        n -= (size_t)w;
    }
    return 0;
}

/* fsync that reaches the disk on macOS too (plain fsync stops at the drive's
 * cache there). */
static int sync_fd(int fd)
{
#ifdef F_FULLFSYNC
    if (fcntl(fd, F_FULLFSYNC) == 0)
        return 0;
#endif
    return fsync(fd);
}

/* Makes a rename in `dir` durable. File systems that cannot sync a folder
 * (EINVAL and friends) are not an error: there is nothing more we can do. */
static int sync_dir(const char *dir, const char *target, dbx_err *e)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY);
    int err;
    if (fd < 0)
        return 0;
    if (sync_fd(fd) == 0 || errno == EINVAL || errno == ENOTSUP || errno == EBADF ||
        errno == EROFS) {
        close(fd);
        return 0;
    }
    err = errno;
    close(fd);
    return dbx_err_set(e, DBX_EIO,
                       "%s syncing the folder of %s (the new file is in place but may not "
                       "survive a power loss): %s",
                       errno_text(err), target, errno_hint(err));
}

/* ---- the pieces ------------------------------------------------------- */

int dbx_af_resolve(const char *path, dbx_buf *out, dbx_err *e)
{
    dbx_buf cur = {0}, link = {0}, dir = {0};
    int rc = -1;
    if (!path || !*path)
        return dbx_err_set(e, DBX_ECONFIG, "empty file path: give a file name");
    if (dbx_buf_puts(&cur, path) != 0)
        goto oom;
    for (int hops = 0;; hops++) {
        struct stat st;
        ssize_t n;
        if (lstat(dbx_buf_str(&cur), &st) != 0) {
            if (errno == ENOENT)
                break; /* a missing file (or dangling link target): created later */
            fail_errno(e, errno, "checking", dbx_buf_str(&cur));
            goto done;
        }
        if (!S_ISLNK(st.st_mode))
            break;
        if (hops == MAX_SYMLINK_HOPS) {
            fail_errno(e, ELOOP, "resolving", path);
            goto done;
        }
        /* st_size is a hint only (0 on some file systems): grow until it fits. */
        dbx_buf_reset(&link);
        for (size_t cap = (size_t)st.st_size + 64;; cap *= 2) {
            char *tmp = malloc(cap);
            if (!tmp)
                goto oom;
            n = readlink(dbx_buf_str(&cur), tmp, cap);
            if (n >= 0 && (size_t)n < cap) {
                int bad = dbx_buf_append(&link, tmp, (size_t)n);
                free(tmp);
                if (bad)
                    goto oom;
                break;
            }
            free(tmp);
            if (n < 0) {
                fail_errno(e, errno, "reading the symbolic link", dbx_buf_str(&cur));
                goto done;
            }
        }
        dbx_buf_reset(&dir);
        if (link.len == 0) {
            dbx_err_set(e, DBX_ECONFIG, "empty symbolic link %s: fix the link", dbx_buf_str(&cur));
            goto done;
        }
        if (link.data[0] != '/') {
            split_path(dbx_buf_str(&cur), &dir);
            if (dbx_buf_puts(&dir, "/") != 0)
                goto oom;
        }
        if (dbx_buf_append(&dir, link.data, link.len) != 0)
            goto oom;
        dbx_buf_reset(&cur);
        if (dbx_buf_append(&cur, dir.data, dir.len) != 0)
            goto oom;
    }
    if (dbx_buf_append(out, cur.data, cur.len) != 0)
        goto oom;
    rc = 0;
    goto done;
oom:
    dbx_err_set(e, DBX_EIO, "out of memory resolving %s", path);
done:
    dbx_buf_free(&cur);
    dbx_buf_free(&link);
    dbx_buf_free(&dir);
    return rc;
}

int dbx_af_mkdirs(const char *dir, dbx_err *e)
{
    struct stat st;
    char *p, *s;
    int rc = 0;
    if (stat(dir, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return 0;
        return fail_errno(e, ENOTDIR, "creating the folder", dir);
    }
    if (!(s = strdup(dir)))
        return dbx_err_set(e, DBX_EIO, "out of memory creating the folder %s", dir);
    /* Walk every prefix ending before a '/', then the whole path. */
    for (p = s + 1;; p++) {
        char c = *p;
        if (c != '/' && c != '\0')
            continue;
        *p = '\0';
        if (mkdir(s, 0700) == 0) {
            /* mkdir's mode is narrowed by the umask: make it exactly 0700. */
            if (chmod(s, 0700) != 0) {
                rc = fail_errno(e, errno, "setting the mode of the new folder", s);
                break;
            }
        } else if (errno != EEXIST) {
            rc = fail_errno(e, errno, "creating the folder", s);
            break;
        } else if (stat(s, &st) != 0 || !S_ISDIR(st.st_mode)) {
            rc = fail_errno(e, ENOTDIR, "creating the folder", s);
            break;
        }
        *p = c;
        if (c == '\0')
            break;
    }
    free(s);
    return rc;
}

static int check_stat(const char *path, const struct stat *st, const dbx_af_opts *o, dbx_err *e)
{
    if (!S_ISREG(st->st_mode))
        return dbx_err_set(e, DBX_ECONFIG,
                           "refusing to write %s: it is %s, not a regular file; point the path "
                           "at a file",
                           path, file_type_name(st->st_mode));
    if (st->st_uid != geteuid())
        return dbx_err_set(e, DBX_ECONFIG,
                           "refusing to write %s: it is owned by uid %ld, not by this user "
                           "(uid %ld); run as its owner or change its owner (chown)",
                           path, (long)st->st_uid, (long)geteuid());
    if ((st->st_mode & 077) && !(o && (o->fix_mode || o->mode)))
        return dbx_err_set(e, DBX_ECONFIG,
                           "refusing to write %s: it has group/other permissions (%04o); "
                           "run chmod 600 on it",
                           path, (unsigned)(st->st_mode & 07777));
    return 0;
}

int dbx_af_check(const char *path, const dbx_af_opts *o, mode_t *mode, dbx_err *e)
{
    struct stat st;
    if (lstat(path, &st) != 0) {
        if (errno == ENOENT)
            return 0;
        return fail_errno(e, errno, "checking", path);
    }
    if (check_stat(path, &st, o, e) != 0)
        return -1;
    if (mode)
        *mode = st.st_mode & 07777;
    return 1;
}


/* Opens and reads a regular file straight into `out` (sized from fstat, so
 * one allocation and few reads). `o` non-NULL: also apply check_stat to the
 * opened descriptor (owner, mode). Returns 1, 0 (missing) or -1. */
static int read_file(const char *path, int nofollow, size_t max, const dbx_af_opts *o,
                     struct stat *st, dbx_buf *out, dbx_err *e)
{
    int fd, rc = 1;
    if (max == 0)
        max = DBX_AF_DEFAULT_MAX_SIZE;
    fd = open(path, O_RDONLY | O_NOCTTY | O_CLOEXEC | O_NONBLOCK | (nofollow ? O_NOFOLLOW : 0));
    if (fd < 0) {
        if (errno == ENOENT)
            return 0;
        if (nofollow && errno == ELOOP)
            return dbx_err_set(e, DBX_ECONFIG,
                               "refusing to read %s: it was replaced by a symbolic link while "
                               "we worked; retry",
                               path);
        return fail_errno(e, errno, "reading", path);
    }
    if (fstat(fd, st) != 0) {
        rc = fail_errno(e, errno, "reading", path);
        goto done;
    }
    if (o ? check_stat(path, st, o, e) != 0 : !S_ISREG(st->st_mode)) {
        if (!o)
            dbx_err_set(e, DBX_ECONFIG, "cannot read %s: it is %s, not a regular file", path,
                        file_type_name(st->st_mode));
        rc = -1;
        goto done;
    }
    if ((size_t)st->st_size > max)
        goto too_big;
    /* +1 so that reaching end of file does not need another allocation. */
    if (dbx_buf_reserve(out, (size_t)st->st_size + 1) != 0)
        goto oom;
    for (;;) {
        ssize_t n;
        if (out->cap - out->len - 1 == 0 && dbx_buf_reserve(out, out->len / 2 + 4096) != 0)
            goto oom;
        n = read(fd, out->data + out->len, out->cap - out->len - 1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = fail_errno(e, errno, "reading", path);
            break;
        }
        if (n == 0)
            break;
        out->len += (size_t)n;
        out->data[out->len] = '\0';
        if (out->len > max)
            goto too_big;
    }
    goto done;
too_big:
    rc = dbx_err_set(e, DBX_EIO, "%s is larger than %zu bytes: check that the path names the right file",
                     path, max);
    goto done;
oom:
    rc = dbx_err_set(e, DBX_EIO, "out of memory reading %s", path);
done:
    close(fd);
    return rc;
}

int dbx_af_read(const char *path, int nofollow, size_t max_size, dbx_buf *out, dbx_err *e)
{
    struct stat st;
    return read_file(path, nofollow, max_size, NULL, &st, out, e);
}

int dbx_af_lock_acquire(dbx_af_lock *lk, const char *path, double timeout, dbx_err *e)
{
    dbx_buf dir = {0};
    double start, delay = 0.001;
    int fd, rc = -1;
    lk->fd = -1;
    if (timeout <= 0)
        timeout = DBX_AF_DEFAULT_LOCK_TIMEOUT;
    /* The lock is the folder's own: writers of any file in it take it, so
     * no lock file is left beside the user's files (a file that is renamed
     * over cannot carry the lock itself). */
    split_path(path, &dir);
    fd = open(dbx_buf_str(&dir), O_RDONLY | O_DIRECTORY | O_CLOEXEC | O_NOCTTY);
    if (fd < 0) {
        fail_errno(e, errno, "opening the folder to lock", dbx_buf_str(&dir));
        goto done;
    }
    start = dbx_monotonic();
    for (;;) {
        double left;
        if (flock(fd, LOCK_EX | LOCK_NB) == 0)
            break;
        if (errno == EINTR)
            continue;
        if (errno != EWOULDBLOCK) {
            fail_errno(e, errno, "locking the folder", dbx_buf_str(&dir));
            close(fd);
            goto done;
        }
        left = start + timeout - dbx_monotonic();
        if (left <= 0) {
            dbx_err_set(e, DBX_ETIMEOUT,
                        "timed out after %.1f s waiting for the lock on %s: another process is "
                        "updating %s; retry later (fuser %s shows the holder)",
                        timeout, dbx_buf_str(&dir), path, dbx_buf_str(&dir));
            close(fd);
            goto done;
        }
        if (dbx_sleep(delay < left ? delay : left)) {
            dbx_err_set(e, DBX_EIO, "interrupted by a stop signal while waiting to update %s", path);
            close(fd);
            goto done;
        }
        if (delay < 0.05)
            delay *= 2;
    }
    lk->fd = fd;
    rc = 0;
done:
    dbx_buf_free(&dir);
    return rc;
}

void dbx_af_lock_release(dbx_af_lock *lk)
{
    if (lk->fd >= 0) {
        /* close releases the flock; no unlink (that would race). */
        close(lk->fd);
        lk->fd = -1;
    }
}

int dbx_af_temp_open(const char *path, dbx_buf *name, dbx_err *e)
{
    size_t keep = name->len;
    for (unsigned n = 0; n < 1000; n++) {
        int fd;
        name->len = keep;
        if (name->data)
            name->data[keep] = '\0';
        if (dbx_buf_printf(name, "%s.tmp.%ld.%u", path, (long)getpid(), n) != 0)
            return dbx_err_set(e, DBX_EIO, "out of memory writing %s", path);
        fd = open(dbx_buf_str(name), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC | O_NOCTTY,
                  0600);
        if (fd >= 0) {
            if (fchmod(fd, 0600) != 0) {
                int err = errno;
                unlink(dbx_buf_str(name));
                close(fd);
                return fail_errno(e, err, "setting the mode of the temp file for", path);
            }
            return fd;
        }
        if (errno != EEXIST)
            return fail_errno(e, errno, "creating a temp file to write", path);
    }
    return dbx_err_set(e, DBX_EIO,
                       "cannot create a temp file beside %s: 1000 names are taken; remove "
                       "the %s.tmp.* files",
                       path, path);
}

int dbx_af_write(const char *path, const void *data, size_t n, dbx_err *e)
{
    return dbx_af_write_ex(path, data, n, 1, e);
}

int dbx_af_write_ex(const char *path, const void *data, size_t n, int sync, dbx_err *e)
{
    return dbx_af_write_mode(path, data, n, sync, 0, e);
}

int dbx_af_write_mode(const char *path, const void *data, size_t n, int sync, mode_t mode, dbx_err *e)
{
    dbx_buf tmp = {0}, dir = {0};
    int fd, err, rc = -1;
    if ((fd = dbx_af_temp_open(path, &tmp, e)) < 0)
        goto done;
    if (write_all(fd, data, n) != 0 || (mode && fchmod(fd, mode) != 0) || (sync && sync_fd(fd) != 0)) {
        err = errno;
        close(fd);
        unlink(dbx_buf_str(&tmp));
        dbx_err_set(e, DBX_EIO, "%s writing %s (temp file %s, removed): %s", errno_text(err), path,
                    dbx_buf_str(&tmp), errno_hint(err));
        goto done;
    }
    if (close(fd) != 0) {
        err = errno;
        unlink(dbx_buf_str(&tmp));
        fail_errno(e, err, "writing", path);
        goto done;
    }
    if (rename(dbx_buf_str(&tmp), path) != 0) {
        err = errno;
        unlink(dbx_buf_str(&tmp));
        fail_errno(e, err, "replacing", path);
        goto done;
    }
    if (!sync) {
        rc = 0;
        goto done;
    }
    split_path(path, &dir);
    rc = sync_dir(dbx_buf_str(&dir), path, e);
done:
    dbx_buf_free(&tmp);
    dbx_buf_free(&dir);
    return rc;
}

int dbx_af_is_temp_name(const char *base, const char *name)
{
    size_t bl = strlen(base);
    const char *p;
    int digits;
    if (strncmp(name, base, bl) != 0 || strncmp(name + bl, ".tmp.", 5) != 0)
        return 0;
    p = name + bl + 5;
    for (digits = 0; *p >= '0' && *p <= '9'; p++)
        digits++;
    if (!digits || *p++ != '.')
        return 0;
    for (digits = 0; *p >= '0' && *p <= '9'; p++)
        digits++;
    return digits > 0 && *p == '\0';
}

unsigned dbx_af_clean_stale(const char *path)
{
    dbx_buf dir = {0}, full = {0};
    const char *base = split_path(path, &dir);
    unsigned removed = 0;
    struct dirent *d;
    DIR *dh = opendir(dbx_buf_str(&dir));
    if (!dh)
        goto done;
    while ((d = readdir(dh)) != NULL) {
        struct stat st;
        if (!dbx_af_is_temp_name(base, d->d_name))
            continue;
        dbx_buf_reset(&full);
        if (dbx_buf_printf(&full, "%s/%s", dbx_buf_str(&dir), d->d_name) != 0)
            break;
        /* Only our own regular files: never another user's, never a link. */
        if (lstat(dbx_buf_str(&full), &st) != 0 || !S_ISREG(st.st_mode) || st.st_uid != geteuid())
            continue;
        if (unlink(dbx_buf_str(&full)) == 0)
            removed++;
    }
    closedir(dh);
done:
    dbx_buf_free(&dir);
    dbx_buf_free(&full);
    return removed;
}

/* ---- the whole read-modify-write ------------------------------------- */

int dbx_af_update(const char *path, const dbx_af_opts *o, dbx_af_edit_fn edit, void *ctx,
                  dbx_af_state *st, dbx_err *e)
{
    dbx_af_opts opts = {0};
    dbx_af_lock lk = {-1};
    dbx_buf dir = {0}, old = {0}, out = {0};
    struct stat sb;
    const char *target, *base;
    mode_t mode = 0;
    int found, rc = -1, action;
    if (o)
        opts = *o;
    if (opts.lock_timeout <= 0)
        opts.lock_timeout = DBX_AF_DEFAULT_LOCK_TIMEOUT;
    if (dbx_af_resolve(path, &st->target, e) != 0)
        goto done;
    target = dbx_buf_str(&st->target);
    base = split_path(target, &dir);
    if (!*base || strcmp(base, ".") == 0 || strcmp(base, "..") == 0) {
        dbx_err_set(e, DBX_ECONFIG, "refusing to write %s: it names a folder; give a file name",
                    target);
        goto done;
    }
    /* Refuse what we will never write before creating anything beside it. */
    if ((found = dbx_af_check(target, &opts, &mode, e)) < 0)
        goto done;
    if (!found && dbx_af_mkdirs(dbx_buf_str(&dir), e) != 0)
        goto done;
    if (dbx_af_lock_acquire(&lk, target, opts.lock_timeout, e) != 0)
        goto done;
    st->stale_removed = dbx_af_clean_stale(target);
    found = read_file(target, 1, opts.max_size, &opts, &sb, &old, e);
    if (found < 0)
        goto done;
    st->existed = found;
    st->old_mode = found ? (sb.st_mode & 07777) : 0;
    action = edit(ctx, old.data ? old.data : "", old.len, found, &out, e);
    if (action < 0)
        goto done;
    if (action == DBX_AF_KEEP && (opts.mode ? st->old_mode == opts.mode : !(st->old_mode & 077))) {
        rc = 0;
        goto done;
    }
    if (action == DBX_AF_KEEP)
        rc = dbx_af_write_mode(target, old.data ? old.data : "", old.len, !opts.no_sync, opts.mode, e);
    else
        rc = dbx_af_write_mode(target, out.data ? out.data : "", out.len, !opts.no_sync, opts.mode, e);
    if (rc == 0) {
        st->written = 1;
        st->mode_fixed = !opts.mode && (st->old_mode & 077) != 0;
    }
done:
    dbx_af_lock_release(&lk);
    dbx_buf_free(&dir);
    dbx_buf_free(&old);
    dbx_buf_free(&out);
    return rc;
}

void dbx_af_state_free(dbx_af_state *st)
{
    dbx_buf_free(&st->target);
}
