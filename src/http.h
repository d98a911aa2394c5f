/* http.h — the HTTPS transport: one libcurl easy handle per client, reused
 * across calls (keep-alive, TLS session reuse), with the retry policy of
 * DESIGN.md §5 built in.
 *
 * dbx_http_send returns 0 whenever a final HTTP response arrived, whatever
 * its status (the caller turns error statuses into errors with httperr.h,
 * which knows the body formats); it returns -1 only when no usable response
 * came (network, timeout, size cap, interruption) after the retries.
 * Retried: 429 and 503 (waiting at least Retry-After), 502, 504, connection
 * refused/reset, truncated bodies and timeouts, with capped exponential
 * back-off and jitter inside a total time budget. Never retried: other
 * statuses, DNS failures, TLS verification failures.
 *
 * Never logs or returns the Authorization header or the request body. */
#ifndef DBX_HTTP_H
#define DBX_HTTP_H

#include <stddef.h>

#include "buf.h"
#include "err.h"

typedef struct dbx_http_config {
    const char *ca_file;       /* CA bundle; NULL = the system store */
    const char *user_agent;
    double connect_timeout;    /* seconds (default 10) */
    double timeout;            /* seconds per attempt (default 60) */
    double retry_budget;       /* seconds for all attempts of one call (default 300; 0 = no retry) */
    double backoff_initial;    /* first back-off in seconds (default 1) */
    double backoff_max;        /* cap of one back-off (default 10) */
    size_t max_body;           /* response body cap in bytes (default 64 MiB) */
} dbx_http_config;

/* A streamed transfer (the Files API): the request body is read from
 * `read` instead of `body`, and a 2xx response body goes to `write` instead
 * of the response buffer (an error body still lands in resp->body, capped,
 * for httperr.h). Every attempt starts with `rewind` and `reset`, so a retry
 * sends the whole body again and never appends to what a failed attempt
 * wrote. A callback that returns -1 ends the transfer at once (no retry)
 * and the call fails with the error the callback put into `*err`. Instead
 * of the per-attempt timeout, a transfer is ended when it moves less than
 * one byte per second for `stall_timeout` seconds: a multi-GiB body may
 * take as long as it needs while it moves. */
typedef struct dbx_http_stream {
    long (*read)(void *ud, char *buf, size_t n);            /* bytes, 0 at the end, -1 failed */
    int (*rewind)(void *ud);                                /* 0 / -1 */
    long long upload_size;                                  /* bytes to read; -1: unknown */
    int (*write)(void *ud, const char *p, size_t n);        /* 0 / -1 */
    int (*reset)(void *ud);                                 /* 0 / -1 */
    int (*progress)(void *ud, long long done, long long total); /* 0, or -1 to abort */
    void *ud;
    dbx_err *err;                                           /* where the callbacks explain a -1 */
    double stall_timeout;                                   /* seconds (default 60) */
} dbx_http_stream;

typedef struct dbx_http_request {
    const char *method;        /* "GET", "POST", ... */
    const char *url;
    const char *authorization; /* full header value, or NULL */
    const char *content_type;  /* of the body, or NULL */
    const char *body;
    size_t body_len;
    const char *const *headers; /* extra "Name: value" lines, NULL-terminated, or NULL */
    const char *const *secrets; /* strings to scrub from error text, or NULL */
    int no_retry;              /* one attempt only (the caller has a fallback) */
    const dbx_http_stream *stream; /* streamed body and/or answer, or NULL */
    int ignore_stop;           /* not ended by the stop flag: the cancel sent because of it */
} dbx_http_request;

typedef struct dbx_http_response {
    long status;
    dbx_buf body;
    dbx_buf headers;           /* raw header lines of the final response */
    char request_id[96];
    char content_type[128];
    double retry_after;        /* seconds, or -1 */
    double date;               /* the server's clock (Date header), epoch seconds; 0 if none */
    int attempts;
    double elapsed;            /* seconds for all attempts */
} dbx_http_response;

typedef struct dbx_http dbx_http;

/* Told before each retry's wait: the call ("GET /api/..."), the attempt
 * that failed (1-based), the wait ahead, the time left before the call
 * gives up, and the cause (an HTTP status or a transport error). */
typedef void (*dbx_http_retry_fn)(void *ud, const char *what, int attempt, double wait, double left,
                                  const dbx_err *cause);

dbx_http *dbx_http_new(const dbx_http_config *cfg, dbx_err *err);

/* Sets the retry hook (NULL: none); returns the previous one in *old_fn /
 * *old_ud so that nested users can restore it. */
void dbx_http_set_retry_hook(dbx_http *h, dbx_http_retry_fn fn, void *ud, dbx_http_retry_fn *old_fn,
                             void **old_ud);
void dbx_http_free(dbx_http *h);

void dbx_http_response_init(dbx_http_response *r);
void dbx_http_response_free(dbx_http_response *r);

int dbx_http_send(dbx_http *h, const dbx_http_request *req, dbx_http_response *resp, dbx_err *err);

/* Is this status retried by dbx_http_send? */
int dbx_http_status_retryable(long status);

/* Is this libcurl result (a CURLcode) a transient transport failure that
 * dbx_http_send retries: refused or reset connections, a cut TLS handshake,
 * an incomplete answer? Cloud-fetch downloads follow the same rule. */
int dbx_http_transport_retryable(int curl_code);

/* The back-off before retry number `attempt` (1-based) given a jitter
 * fraction in [0,1): min(initial*2^(attempt-1), max) scaled into
 * [1/2, 1] of itself, never below retry_after. Pure, for tests. */
double dbx_http_backoff(double initial, double max, int attempt, double jitter, double retry_after);

#endif
