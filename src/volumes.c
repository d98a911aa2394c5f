/* volumes.c — the Files API on volumes (see volumes.h). */
#include "volumes.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "atomicfile.h"
#include "endpoints.h"
#include "timeutil.h"

int dbx_volume_path(const char *remote, dbx_buf *out, dbx_err *err)
{
    const char *p = remote;
    if (!remote || remote[0] != '/')
        return dbx_err_set(err, DBX_ECONFIG, "a volume path must be absolute, such as /Volumes/catalog/schema/volume/file");
    for (const unsigned char *c = (const unsigned char *)remote; *c; c++)
        if (*c < 0x20 || *c == 0x7f)
            return dbx_err_set(err, DBX_ECONFIG, "a volume path must not hold control characters");
    while (*p == '/') {
        const char *seg = p + 1;
        size_t n = strcspn(seg, "/");
        char buf[1024];
        if (n == 0 && seg[0] == '\0' && p != remote)
            break; /* a trailing slash (directories) */
        if (n == 0 || (n == 1 && seg[0] == '.') || (n == 2 && seg[0] == '.' && seg[1] == '.'))
            return dbx_err_set(err, DBX_ECONFIG, "the volume path %s has an empty, '.' or '..' segment", remote);
        if (n >= sizeof buf)
            return dbx_err_set(err, DBX_ECONFIG, "the volume path %s has a segment longer than %zu bytes", remote,
                               sizeof buf - 1);
        memcpy(buf, seg, n);
        buf[n] = '\0';
        if (dbx_buf_puts(out, "/") || dbx_buf_urlencode(out, buf))
            return dbx_err_set(err, DBX_EIO, "out of memory");
        p = seg + n;
    }
    return 0;
}

static int request_path(const char *remote, const char *query, dbx_buf *out, dbx_err *err)
{
    if (dbx_buf_puts(out, DBX_PATH_FS_FILES) != 0)
        return dbx_err_set(err, DBX_EIO, "out of memory");
    if (dbx_volume_path(remote, out, err) != 0)
        return -1;
    if (query && dbx_buf_puts(out, query) != 0)
        return dbx_err_set(err, DBX_EIO, "out of memory");
    return 0;
}

/* A header of the raw response header block (the last response). */
static int header_value(const dbx_http_response *resp, const char *name, char *out, size_t cap)
{
    const char *s = dbx_buf_str(&resp->headers);
    size_t n = strlen(name);
    out[0] = '\0';
    while (*s) {
        const char *eol = strchr(s, '\n');
        size_t len = eol ? (size_t)(eol - s) : strlen(s);
        if (len > n && strncasecmp(s, name, n) == 0 && s[n] == ':') {
            const char *v = s + n + 1;
            size_t vn = len - n - 1;
            while (vn && (*v == ' ' || *v == '\t'))
                v++, vn--;
            while (vn && (v[vn - 1] == '\r' || v[vn - 1] == ' '))
                vn--;
            if (vn >= cap)
                vn = cap - 1;
            memcpy(out, v, vn);
            out[vn] = '\0';
            return 1;
        }
        s += len + (eol ? 1 : 0);
    }
    return 0;
}

static void read_info(const dbx_http_response *resp, dbx_file_info *info)
{
    char v[128];
    double t;
    info->size = -1;
    info->last_modified = 0;
    snprintf(info->content_type, sizeof info->content_type, "%s", resp->content_type);
    if (header_value(resp, "content-length", v, sizeof v) && v[0] && strspn(v, "0123456789") == strlen(v))
        info->size = strtoll(v, NULL, 10);
    if (header_value(resp, "last-modified", v, sizeof v) && dbx_parse_http_date(v, strlen(v), &t) == 0)
        info->last_modified = t;
}

/* ---- streams ------------------------------------------------------------------- */

typedef struct xfer {
    int fd;                 /* the local file, or -1 */
    const char *data;       /* an upload from memory */
    size_t n, pos;
    long long written;      /* download: bytes in the temp file */
    const char *local;      /* for messages */
    const dbx_volume_progress *p;
    dbx_err err;
} xfer;

static long src_read(void *ud, char *buf, size_t n)
{
    xfer *x = ud;
    if (x->fd < 0) {
        size_t k = x->n - x->pos < n ? x->n - x->pos : n;
        memcpy(buf, x->data + x->pos, k);
        x->pos += k;
        return (long)k;
    }
    for (;;) {
        ssize_t got = read(x->fd, buf, n);
        if (got >= 0)
            return (long)got;
        if (errno != EINTR) {
            dbx_err_set(&x->err, DBX_EIO, "cannot read %s: %s", x->local, strerror(errno));
            return -1;
        }
    }
}

static int src_rewind(void *ud)
{
    xfer *x = ud;
    x->pos = 0;
    if (x->fd >= 0 && lseek(x->fd, 0, SEEK_SET) != 0)
        return dbx_err_set(&x->err, DBX_EIO, "cannot read %s again for a retry: %s", x->local, strerror(errno));
    return 0;
}

static int sink_write(void *ud, const char *p, size_t n)
{
    xfer *x = ud;
    while (n) {
        ssize_t w = write(x->fd, p, n);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return dbx_err_set(&x->err, DBX_EIO, "cannot write the download of %s: %s", x->local, strerror(errno));
        }
        p += w;
        n -= (size_t)w;
        x->written += w;
    }
    return 0;
}

static int sink_reset(void *ud)
{
    xfer *x = ud;
    x->written = 0;
    if (ftruncate(x->fd, 0) != 0 || lseek(x->fd, 0, SEEK_SET) != 0)
        return dbx_err_set(&x->err, DBX_EIO, "cannot restart the download of %s: %s", x->local, strerror(errno));
    return 0;
}

static int on_progress(void *ud, long long done, long long total)
{
    xfer *x = ud;
    if (!x->p || !x->p->fn)
        return 0;
    return x->p->fn(x->p->ud, done, total > 0 ? total : -1, &x->err);
}

static int call(dbx_client *c, dbx_ctx *ctx, const char *method, const char *path, xfer *x, int up, int down,
                dbx_http_response *resp, dbx_err *err)
{
    dbx_http_stream s;
    dbx_call cl;
    memset(&s, 0, sizeof s);
    memset(&cl, 0, sizeof cl);
    s.ud = x;
    s.err = &x->err;
    s.progress = on_progress;
    if (up) {
        s.read = src_read;
        s.rewind = src_rewind;
        s.upload_size = x->fd >= 0 ? -1 : (long long)x->n;
    }
    if (down) {
        s.write = sink_write;
        s.reset = sink_reset;
    }
    if (up && x->fd >= 0) {
        struct stat st;
        if (fstat(x->fd, &st) == 0)
            s.upload_size = (long long)st.st_size;
    }
    cl.method = method;
    cl.path = path;
    cl.content_type = up ? "application/octet-stream" : NULL;
    cl.stream = &s;
    return dbx_client_call_ex(c, ctx, &cl, resp, err);
}

/* ---- upload ---------------------------------------------------------------------- */

int dbx_volume_upload(dbx_client *c, dbx_ctx *ctx, const char *remote, const char *local_path, const char *data,
                      size_t n, int overwrite, const dbx_volume_progress *p, long long *bytes, dbx_err *err)
{
    dbx_buf path = {0};
    dbx_http_response resp;
    xfer x;
    int rc = -1;
    memset(&x, 0, sizeof x);
    x.fd = -1;
    x.data = data;
    x.n = n;
    x.p = p;
    x.local = local_path ? local_path : "the data";
    *bytes = (long long)n;
    dbx_err_clear(&x.err);
    dbx_http_response_init(&resp);
    if (request_path(remote, overwrite ? "?overwrite=true" : "?overwrite=false", &path, err) != 0)
        goto done;
    if (local_path) {
        struct stat st;
        x.fd = open(local_path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
        if (x.fd < 0) {
            dbx_err_set(err, DBX_EIO, "cannot open %s to upload it: %s", local_path, strerror(errno));
            goto done;
        }
        if (fstat(x.fd, &st) != 0 || !S_ISREG(st.st_mode)) {
            dbx_err_set(err, DBX_EIO, "%s is not a regular file: only files can be uploaded", local_path);
            goto done;
        }
        *bytes = (long long)st.st_size;
    }
    rc = call(c, ctx, "PUT", dbx_buf_str(&path), &x, 1, 0, &resp, err);
    if (rc != 0 && resp.status == 409)
        dbx_err_append(err, "pass overwrite = true to replace it");
done:
    if (x.fd >= 0)
        close(x.fd);
    dbx_http_response_free(&resp);
    dbx_buf_free(&path);
    return rc;
}

/* ---- download ---------------------------------------------------------------------- */

/* Puts the finished temp file in place: renamed over the target, or linked
 * to a name that must not exist yet. */
static int install(const char *tmp, const char *target, int overwrite, dbx_err *err)
{
    int e;
    if (overwrite) {
        if (rename(tmp, target) == 0)
            return 0;
        return dbx_err_set(err, DBX_EIO, "cannot move the download into %s: %s", target, strerror(errno));
    }
    if (link(tmp, target) == 0) {
        unlink(tmp);
        return 0;
    }
    e = errno;
    if (e == EEXIST)
        return dbx_err_set(err, DBX_EIO, "%s appeared while it was downloaded: left alone (pass overwrite = true "
                                         "to replace it)", target);
    if (e == EPERM || e == ENOTSUP || e == EOPNOTSUPP || e == EMLINK || e == ENOSYS) {
        /* A file system without hard links: check, then rename (a file
         * that appears in between would be replaced). */
        struct stat st;
        if (lstat(target, &st) == 0)
            return dbx_err_set(err, DBX_EIO, "%s appeared while it was downloaded: left alone", target);
        if (rename(tmp, target) == 0)
            return 0;
        e = errno;
    }
    return dbx_err_set(err, DBX_EIO, "cannot move the download into %s: %s", target, strerror(e));
}

int dbx_volume_download(dbx_client *c, dbx_ctx *ctx, const char *remote, const char *local_path, int overwrite,
                        const dbx_volume_progress *p, dbx_file_info *info, dbx_err *err)
{
    dbx_buf path = {0}, tmp = {0};
    dbx_http_response resp;
    struct stat st;
    xfer x;
    int rc = -1;
    memset(&x, 0, sizeof x);
    memset(info, 0, sizeof *info);
    x.fd = -1;
    x.p = p;
    x.local = local_path;
    dbx_err_clear(&x.err);
    dbx_http_response_init(&resp);
    if (request_path(remote, NULL, &path, err) != 0)
        goto done;
    if (!overwrite && lstat(local_path, &st) == 0) {
        dbx_err_set(err, DBX_EIO, "%s exists: left alone (pass overwrite = true to replace it)", local_path);
        goto done;
    }
    if ((x.fd = dbx_af_temp_open(local_path, &tmp, err)) < 0)
        goto done;
    if (call(c, ctx, "GET", dbx_buf_str(&path), &x, 0, 1, &resp, err) != 0)
        goto done;
    read_info(&resp, info);
    if (info->size >= 0 && info->size != x.written) {
        dbx_err_set(err, DBX_EPROTOCOL, "GET %s: %lld bytes arrived, the answer announced %lld", remote, x.written,
                    info->size);
        goto done;
    }
    info->size = x.written;
    if (close(x.fd) != 0) {
        x.fd = -1;
        dbx_err_set(err, DBX_EIO, "cannot write the download of %s: %s", local_path, strerror(errno));
        goto done;
    }
    x.fd = -1;
    rc = install(dbx_buf_str(&tmp), local_path, overwrite, err);
done:
    if (x.fd >= 0)
        close(x.fd);
    if (rc != 0 && tmp.len)
        unlink(dbx_buf_str(&tmp));
    dbx_http_response_free(&resp);
    dbx_buf_free(&tmp);
    dbx_buf_free(&path);
    return rc;
}

/* ---- metadata, deletion ------------------------------------------------------------- */

int dbx_volume_info(dbx_client *c, dbx_ctx *ctx, const char *remote, dbx_file_info *info, dbx_err *err)
{
    dbx_buf path = {0};
    dbx_http_response resp;
    int rc = -1;
    memset(info, 0, sizeof *info);
    dbx_http_response_init(&resp);
    if (request_path(remote, NULL, &path, err) == 0 &&
        dbx_client_call(c, ctx, "HEAD", dbx_buf_str(&path), NULL, NULL, 0, NULL, &resp, err) == 0) {
        read_info(&resp, info);
        rc = 0;
    }
    dbx_http_response_free(&resp);
    dbx_buf_free(&path);
    return rc;
}

int dbx_volume_delete(dbx_client *c, dbx_ctx *ctx, const char *remote, dbx_err *err)
{
    dbx_buf path = {0};
    dbx_http_response resp;
    int rc = -1;
    dbx_http_response_init(&resp);
    if (request_path(remote, NULL, &path, err) == 0)
        rc = dbx_client_call(c, ctx, "DELETE", dbx_buf_str(&path), NULL, NULL, 0, NULL, &resp, err);
    dbx_http_response_free(&resp);
    dbx_buf_free(&path);
    return rc;
}
