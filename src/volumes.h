/* volumes.h — the Files API on Unity Catalog volumes (DESIGN.md §6) as the C
 * core calls it: PUT, GET, HEAD and DELETE of /api/2.0/fs/files{path}.
 * Uploads and downloads stream through libcurl between the network and a
 * file descriptor (or, for an upload, a caller's buffer): a multi-GiB file
 * never sits in memory.
 *
 * A download lands in a 0600 temp file beside the target (atomicfile.h's
 * temp-file primitive), which becomes the target only once every byte is in
 * — renamed over it with `overwrite`, else linked to a name that must not
 * exist yet (no race can replace a file that appeared meanwhile). Any
 * failure, including a stop signal, removes the temp file: nothing is left
 * behind and an existing file is never touched. The temp file is not
 * fsync'ed (as `curl -o`): the rename is atomic, durability across a power
 * cut is the file system's.
 *
 * Remote paths are absolute ("/Volumes/catalog/schema/volume/dir/file");
 * each segment is percent-encoded (dbx_volume_path), so no name can add a
 * query or another path segment to the request. The directory endpoints are
 * Lua over client:request (lua/databricks/client.lua) with the same
 * encoding. Never logs; errors name the remote path and the local file. */
#ifndef DBX_VOLUMES_H
#define DBX_VOLUMES_H

#include <stddef.h>

#include "client.h"

/* Appends remote, percent-encoded per segment, to out. A config error when
 * it is not absolute, has an empty, "." or ".." segment, or a control byte. */
int dbx_volume_path(const char *remote, dbx_buf *out, dbx_err *err);

/* Progress of a transfer (bytes done, total; total -1 when unknown). The
 * callback returns -1 (after filling *err of the call) to abort. */
typedef struct dbx_volume_progress {
    int (*fn)(void *ud, long long done, long long total, dbx_err *err);
    void *ud;
} dbx_volume_progress;

typedef struct dbx_file_info {
    long long size;         /* -1: not said */
    double last_modified;   /* epoch seconds, 0: not said */
    char content_type[128];
} dbx_file_info;

/* Uploads the local file at `local_path` (data == NULL) or data[0..n);
 * *bytes gets the size sent. */
int dbx_volume_upload(dbx_client *c, dbx_ctx *ctx, const char *remote, const char *local_path, const char *data,
                      size_t n, int overwrite, const dbx_volume_progress *p, long long *bytes, dbx_err *err);

/* Downloads into local_path (see the top); *info gets the bytes written and
 * the remote Last-Modified. */
int dbx_volume_download(dbx_client *c, dbx_ctx *ctx, const char *remote, const char *local_path, int overwrite,
                        const dbx_volume_progress *p, dbx_file_info *info, dbx_err *err);

/* HEAD: size, Last-Modified, Content-Type. A missing file: http error 404. */
int dbx_volume_info(dbx_client *c, dbx_ctx *ctx, const char *remote, dbx_file_info *info, dbx_err *err);

int dbx_volume_delete(dbx_client *c, dbx_ctx *ctx, const char *remote, dbx_err *err);

#endif
