/* cloudfetch.h — downloads of EXTERNAL_LINKS result chunks from cloud
 * storage ("cloud fetch"), several at once on libcurl's multi interface, on
 * a thread of its own so that downloads (and the cutting of each body into
 * batches, chunk.h) run while the Lua thread decodes the rows of the chunk
 * before. The caller (fetch.c) decides which chunks to start — the window
 * of DESIGN.md §6 — and takes them in order; this file only downloads.
 *
 * The rules of a pre-signed link (DESIGN.md §6, §9):
 *   - https only, no redirect followed, TLS verified against the client's
 *     CA bundle (proxies from the usual variables, as the transport);
 *   - exactly the link's own http_headers: no Authorization, no cookie, no
 *     User-Agent or Accept of ours — each download has a fresh easy handle
 *     that never saw the workspace's headers;
 *   - retries as the transport does them (429 and 503 honouring
 *     Retry-After, 502, 504, resets, refused connections, truncated bodies,
 *     stalls) with capped, jittered back-off inside a time budget; a 403 or
 *     404, or a link past its expiry before an attempt, is handed back for
 *     renewal (DBX_CF_RENEW) instead of retried;
 *   - the stop flag (SIGTERM) ends every transfer at once;
 *   - a link's URL, its query string and its header values are registered
 *     secrets (redact.h) from dbx_cf_start until the chunk is released, and
 *     no message built here contains any of them, nor the host, nor a byte
 *     of what storage answered (an S3 error body can echo the signature):
 *     only its HTTP status and its error Code when that is a plain word.
 *
 * Memory: a chunk's body (capped at max_chunk) lives from its download
 * until dbx_cf_release; its mapping is then kept for the next download
 * (keep_buffers of them at most); nothing else grows with the result.
 *
 * The thread never touches Lua, blocks every signal (the host's handlers
 * run on its own threads), and is joined by dbx_cf_free. */
#ifndef DBX_CLOUDFETCH_H
#define DBX_CLOUDFETCH_H

#include <stddef.h>

#include "chunk.h"
#include "err.h"

typedef struct dbx_cf_config {
    const char *ca_file;    /* CA bundle; NULL = the system store */
    double connect_timeout; /* seconds (default 10) */
    double stall_timeout;   /* a download moving < 1 byte/s this long is retried (default 60) */
    double retry_budget;    /* seconds for all attempts of one chunk (default 300) */
    double backoff_initial; /* default 1 */
    double backoff_max;     /* default 10 */
    size_t max_chunk;       /* body cap in bytes (default 1 GiB) */
    size_t batch_bytes, batch_rows; /* chunk.h limits (0: defaults) */
    size_t ncols;           /* values every row must hold (0: not checked) */
    int keep_buffers;       /* released chunk mappings kept for reuse (the window: prefetch + 1) */
} dbx_cf_config;

/* A link as the caller hands it in (everything is copied). */
typedef struct dbx_cf_link {
    const char *url;
    const char *const *headers; /* "Name: value" lines, NULL-terminated, or NULL */
    long long byte_count;       /* -1: unknown */
    long long row_count;        /* -1: unknown; else the body must hold exactly this many rows */
    double expires;             /* monotonic time after which the link is dead; 0: unknown */
} dbx_cf_link;

typedef enum dbx_cf_state {
    DBX_CF_PENDING = 0, /* queued, downloading, or waiting to retry */
    DBX_CF_DONE,        /* the body is in, indexed */
    DBX_CF_RENEW,       /* storage refused the link (403/404) or it expired: start it again with a new one */
    DBX_CF_FAILED,      /* for good (err) */
    DBX_CF_UNKNOWN      /* no such chunk */
} dbx_cf_state;

/* What dbx_cf_wait found. */
typedef struct dbx_cf_result {
    dbx_cf_state state;
    const char *body; /* DONE: valid until dbx_cf_release */
    size_t len;
    const dbx_chunk_index *index; /* DONE */
    long status;      /* RENEW/FAILED: the last HTTP status from storage (0: none) */
    dbx_err err;      /* FAILED */
} dbx_cf_result;

typedef struct dbx_cf dbx_cf;

/* Starts the downloader thread. NULL with an error (io) when it cannot. */
dbx_cf *dbx_cf_new(const dbx_cf_config *cfg, dbx_err *err);
/* Ends every transfer, joins the thread, releases every chunk. NULL-safe. */
void dbx_cf_free(dbx_cf *cf);

/* Queues chunk `index` (replacing an earlier job for it: a renewal).
 * 0, or -1 (no memory). */
int dbx_cf_start(dbx_cf *cf, long long index, const dbx_cf_link *link, dbx_err *err);

/* Waits until chunk `index` is no longer pending, or until the monotonic
 * time `until`, or a stop request. Returns the state; PENDING means the
 * time ran out (or a stop was requested). */
dbx_cf_state dbx_cf_wait(dbx_cf *cf, long long index, double until, dbx_cf_result *out);

/* The state of chunk `index` without waiting (status: see dbx_cf_result). */
dbx_cf_state dbx_cf_peek(dbx_cf *cf, long long index, long *status);

/* Frees chunk `index` (its body and index; its secrets are forgotten). A
 * pending download of it is abandoned. */
void dbx_cf_release(dbx_cf *cf, long long index);

/* The largest number of downloads that were in flight at once (tests). */
int dbx_cf_max_in_flight(dbx_cf *cf);

#endif
