/* logfile.c — private, size-rotated log file (see logfile.h). */
#include "logfile.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomicfile.h"
#include "buf.h"
#include "redact.h"

struct dbx_logfile {
    int fd;
    char *path;
    size_t max_bytes;
    int keep;
    off_t size;
};

static int open_fd(dbx_logfile *l, dbx_err *err)
{
    struct stat st;
    dbx_af_opts o = {0};
    int fd;
    /* The checks (and messages) of every file we write; the fstat below
     * guards against a file swapped in between. */
    o.fix_mode = 1;
    if (dbx_af_check(l->path, &o, NULL, err) < 0)
        return -1;
    fd = open(l->path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return dbx_err_set(err, DBX_EIO, "cannot open log file %s: %s (check the folder, or pass --log-file)",
                           l->path, strerror(errno));
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
        close(fd);
        return dbx_err_set(err, DBX_EIO, "log file %s is not a regular file", l->path);
    }
    if (st.st_uid != geteuid()) {
        close(fd);
        return dbx_err_set(err, DBX_EIO, "log file %s belongs to another user: refusing to write to it", l->path);
    }
    if ((st.st_mode & 077) != 0)
        fchmod(fd, 0600); /* an older, wider file of ours: tighten it */
    l->fd = fd;
    l->size = st.st_size;
    return 0;
}

dbx_logfile *dbx_logfile_open(const char *path, size_t max_bytes, int keep, dbx_err *err)
{
    dbx_logfile *l = calloc(1, sizeof *l);
    dbx_buf resolved = {0};
    char *slash;
    if (!l) {
        dbx_err_set(err, DBX_EIO, "out of memory");
        return NULL;
    }
    /* The one symlink policy of every file we write (atomicfile.h): a link
     * is followed to its target, which is then written (and rotated) where
     * it is; the target must be a regular file of ours (open_fd). */
    if (dbx_af_resolve(path, &resolved, err) != 0) {
        free(l);
        return NULL;
    }
    l->path = strdup(dbx_buf_str(&resolved));
    dbx_buf_free(&resolved);
    if (!l->path) {
        free(l);
        dbx_err_set(err, DBX_EIO, "out of memory");
        return NULL;
    }
    l->fd = -1;
    l->max_bytes = max_bytes;
    l->keep = keep < 1 ? 1 : keep;
    slash = strrchr(l->path, '/');
    if (slash && slash != l->path) {
        *slash = '\0';
        if (dbx_af_mkdirs(l->path, err) != 0) {
            *slash = '/';
            dbx_logfile_close(l);
            return NULL;
        }
        *slash = '/';
    }
    if (open_fd(l, err) != 0) {
        dbx_logfile_close(l);
        return NULL;
    }
    return l;
}

static void rotate(dbx_logfile *l)
{
    size_t n = strlen(l->path) + 16;
    char *from = malloc(n), *to = malloc(n);
    if (from && to) {
        for (int k = l->keep; k >= 1; k--) {
            snprintf(to, n, "%s.%d", l->path, k);
            if (k == 1)
                snprintf(from, n, "%s", l->path);
            else
                snprintf(from, n, "%s.%d", l->path, k - 1);
            rename(from, to); /* a missing older file is fine */
        }
    }
    free(from);
    free(to);
}

int dbx_logfile_write(dbx_logfile *l, const char *line, size_t n, dbx_err *err)
{
    dbx_buf b = {0};
    ssize_t w;
    int rc = 0;
    if (dbx_buf_append(&b, line, n))
        return dbx_err_set(err, DBX_EIO, "out of memory");
    /* One line: the scrub turns any line break inside it into a space. */
    dbx_redact(b.data);
    b.len = strlen(b.data);
    if (dbx_buf_append(&b, "\n", 1)) {
        dbx_buf_free(&b);
        return dbx_err_set(err, DBX_EIO, "out of memory");
    }
    if (l->max_bytes && l->size > 0 && (size_t)l->size + b.len > l->max_bytes) {
        close(l->fd);
        l->fd = -1;
        rotate(l);
        if (open_fd(l, err) != 0) {
            dbx_buf_free(&b);
            return -1;
        }
    }
    w = write(l->fd, b.data, b.len);
    if (w < 0)
        rc = dbx_err_set(err, DBX_EIO, "cannot write log file %s: %s", l->path, strerror(errno));
    else
        l->size += w;
    dbx_buf_free(&b);
    return rc;
}

void dbx_logfile_close(dbx_logfile *l)
{
    if (!l)
        return;
    if (l->fd >= 0)
        close(l->fd);
    free(l->path);
    free(l);
}
