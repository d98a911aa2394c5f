/* http.c — libcurl transport with retries (see http.h).
 *
 * The easy handle keeps live connections and the TLS session cache between
 * calls. Options that never change are set once when the handle is made;
 * each request sets its URL, headers, timeout and method, and undoes what a
 * previous body-carrying request set (CUSTOMREQUEST, POSTFIELDS), so no
 * option of one call leaks into the next. The header list is rebuilt only
 * when its inputs change. Redirects are never followed: an Authorization
 * header must not travel to another host. */
#include "http.h"

#include <ctype.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "random.h"
#include "redact.h"
#include "sys.h"
#include "timeutil.h"

/* Per-transfer state reachable from libcurl callbacks. */
typedef struct transfer {
    dbx_http_response *resp;
    int too_large;
    CURL *curl;
    const dbx_http_stream *stream; /* of the current request, or NULL */
    int sink;                      /* response body to stream->write: -1 undecided, 0 no, 1 yes */
    int stream_failed;             /* a stream callback returned -1 */
    int ignore_stop;
} transfer;

struct dbx_http {
    CURL *curl;
    dbx_http_config cfg;
    char *ca_file;
    char *user_agent;
    uint64_t rng;
    transfer xfer;              /* what the callbacks fill, for the current request */
    struct curl_slist *headers; /* the last request's header list, reused while its
                                   inputs (below) are the same */
    dbx_buf headers_auth;       /* Authorization value it holds (a token: wiped) */
    char *headers_ctype;        /* Content-Type it holds, or NULL */
    int headers_reusable;       /* it has no extra headers (those are rebuilt every time) */
    int posted;                 /* the last request set POSTFIELDS / CUSTOMREQUEST */
    dbx_http_retry_fn on_retry; /* told before each retry (may be NULL) */
    void *on_retry_ud;
    int streamed;               /* the last request set the options of a streamed transfer */
    char errbuf[CURL_ERROR_SIZE];
};

void dbx_http_set_retry_hook(dbx_http *h, dbx_http_retry_fn fn, void *ud, dbx_http_retry_fn *old_fn,
                             void **old_ud)
{
    if (old_fn)
        *old_fn = h->on_retry;
    if (old_ud)
        *old_ud = h->on_retry_ud;
    h->on_retry = fn;
    h->on_retry_ud = ud;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud);
static size_t on_read(char *p, size_t size, size_t n, void *ud);
static size_t on_header(char *p, size_t size, size_t n, void *ud);
static int on_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d);

/* The options that never change for a handle are set once, here; a
 * request only sets what is its own (URL, headers, timeout, method). */
static void configure(dbx_http *h)
{
    CURL *c = h->curl;
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, h->errbuf);
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https,http");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
    if (h->cfg.ca_file)
        curl_easy_setopt(c, CURLOPT_CAINFO, h->cfg.ca_file);
    if (h->cfg.user_agent)
        curl_easy_setopt(c, CURLOPT_USERAGENT, h->cfg.user_agent);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)(h->cfg.connect_timeout * 1000));
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)h->cfg.max_body);
    curl_easy_setopt(c, CURLOPT_ACCEPT_ENCODING, "");
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(c, CURLOPT_WRITEDATA, &h->xfer);
    curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(c, CURLOPT_HEADERDATA, &h->xfer);
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA, &h->xfer);
    curl_easy_setopt(c, CURLOPT_READFUNCTION, on_read);
    curl_easy_setopt(c, CURLOPT_READDATA, &h->xfer);
    h->xfer.curl = c;
}

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

dbx_http *dbx_http_new(const dbx_http_config *cfg, dbx_err *err)
{
    dbx_http *h = calloc(1, sizeof *h);
    if (!h) {
        dbx_err_set(err, DBX_EIO, "out of memory creating an HTTP client");
        return NULL;
    }
    h->cfg = *cfg;
    if (h->cfg.connect_timeout <= 0)
        h->cfg.connect_timeout = 10;
    if (h->cfg.timeout <= 0)
        h->cfg.timeout = 60;
    if (h->cfg.retry_budget < 0)
        h->cfg.retry_budget = 0;
    if (h->cfg.backoff_initial <= 0)
        h->cfg.backoff_initial = 1;
    if (h->cfg.backoff_max <= 0)
        h->cfg.backoff_max = 10;
    if (h->cfg.max_body == 0)
        h->cfg.max_body = (size_t)64 << 20;
    h->ca_file = dup_or_null(cfg->ca_file);
    h->user_agent = dup_or_null(cfg->user_agent);
    h->cfg.ca_file = h->ca_file;
    h->cfg.user_agent = h->user_agent;
    h->curl = curl_easy_init();
    if (!h->curl || (cfg->ca_file && !h->ca_file) || (cfg->user_agent && !h->user_agent)) {
        dbx_http_free(h);
        dbx_err_set(err, DBX_EIO, "cannot initialise libcurl");
        return NULL;
    }
    h->rng = dbx_jitter_seed();
    configure(h);
    return h;
}

static void wipe_slist(struct curl_slist *list);

void dbx_http_free(dbx_http *h)
{
    if (!h)
        return;
    if (h->curl)
        curl_easy_cleanup(h->curl);
    wipe_slist(h->headers);
    dbx_buf_free(&h->headers_auth);
    free(h->headers_ctype);
    free(h->ca_file);
    free(h->user_agent);
    free(h);
}

void dbx_http_response_init(dbx_http_response *r)
{
    memset(r, 0, sizeof *r);
    r->retry_after = -1;
}

void dbx_http_response_free(dbx_http_response *r)
{
    dbx_buf_free(&r->body);
    dbx_buf_free(&r->headers);
}

static void response_reset(dbx_http_response *r)
{
    size_t limit = r->body.limit;
    dbx_buf_reset(&r->body);
    dbx_buf_reset(&r->headers);
    r->body.limit = limit;
    r->status = 0;
    r->request_id[0] = '\0';
    r->content_type[0] = '\0';
    r->retry_after = -1;
    r->date = 0;
}

int dbx_http_status_retryable(long status)
{
    return status == 429 || status == 502 || status == 503 || status == 504;
}

int dbx_http_transport_retryable(int curl_code)
{
    switch ((CURLcode)curl_code) {
    case CURLE_COULDNT_CONNECT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
    case CURLE_WEIRD_SERVER_REPLY:
        return 1;
    default:
        return 0;
    }
}

double dbx_http_backoff(double initial, double max, int attempt, double jitter, double retry_after)
{
    double base = initial * pow(2, attempt > 1 ? attempt - 1 : 0);
    double d;
    if (base > max)
        base = max;
    d = base * (0.5 + 0.5 * jitter);
    return retry_after > d ? retry_after : d;
}

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    transfer *t = ud;
    if (t->stream && t->stream->write) {
        if (t->sink < 0) {
            /* The first body byte of this response: its headers are in. */
            long status = 0;
            curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
            t->sink = status >= 200 && status < 300;
        }
        if (t->sink) {
            if (t->stream->write(t->stream->ud, p, size * n) != 0) {
                t->stream_failed = 1;
                return 0;
            }
            return size * n;
        }
    }
    if (dbx_buf_append(&t->resp->body, p, size * n) != 0) {
        t->too_large = 1;
        return 0;
    }
    return size * n;
}

static void copy_value(char *dst, size_t cap, const char *v, size_t n)
{
    while (n && isspace((unsigned char)*v))
        v++, n--;
    while (n && isspace((unsigned char)v[n - 1]))
        n--;
    if (n >= cap)
        n = cap - 1;
    memcpy(dst, v, n);
    dst[n] = '\0';
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    transfer *t = ud;
    dbx_http_response *r = t->resp;
    size_t len = size * n;
    const char *colon;
    if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
        response_reset(r); /* a new response (after 100 Continue, say) */
        t->sink = -1;
    }
    if (dbx_buf_append(&r->headers, p, len) != 0)
        return 0;
    colon = memchr(p, ':', len);
    if (!colon)
        return len;
    {
        size_t nlen = (size_t)(colon - p), vlen = len - nlen - 1;
        const char *v = colon + 1;
        if (nlen == 12 && strncasecmp(p, "x-request-id", 12) == 0) {
            copy_value(r->request_id, sizeof r->request_id, v, vlen);
            dbx_redact(r->request_id);
        } else if (nlen == 12 && strncasecmp(p, "content-type", 12) == 0) {
            copy_value(r->content_type, sizeof r->content_type, v, vlen);
        } else if (nlen == 14 && strncasecmp(p, "content-length", 14) == 0) {
            /* Room for the whole body at once: no doubling-and-wiping as it
             * arrives. An absurd length is left to the size cap. */
            char tmp[32], *end;
            unsigned long long clen;
            copy_value(tmp, sizeof tmp, v, vlen);
            clen = strtoull(tmp, &end, 10);
            if (*tmp && !*end && clen > 0 && (!r->body.limit || clen <= r->body.limit) &&
                !(t->stream && t->stream->write)) /* a streamed body never lands here */
                (void)dbx_buf_reserve(&r->body, (size_t)clen);
        } else if (nlen == 4 && strncasecmp(p, "date", 4) == 0) {
            char tmp[64];
            copy_value(tmp, sizeof tmp, v, vlen);
            if (dbx_parse_http_date(tmp, strlen(tmp), &r->date) != 0)
                r->date = 0;
        } else if (nlen == 11 && strncasecmp(p, "retry-after", 11) == 0) {
            char tmp[64];
            copy_value(tmp, sizeof tmp, v, vlen);
            r->retry_after = dbx_parse_retry_after(tmp, strlen(tmp), dbx_now());
        }
    }
    return len;
}

static int on_progress(void *ud, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow)
{
    transfer *t = ud;
    const dbx_http_stream *s = t->stream;
    if (!t->ignore_stop && dbx_stop_requested())
        return 1; /* abort the transfer on SIGTERM */
    if (s && s->progress) {
        int up = s->read != NULL;
        long long total = up ? s->upload_size : (long long)dltotal;
        (void)ultotal;
        if (s->progress(s->ud, up ? (long long)ulnow : (long long)dlnow, total) != 0) {
            t->stream_failed = 1;
            return 1;
        }
    }
    return 0;
}

static size_t on_read(char *p, size_t size, size_t n, void *ud)
{
    transfer *t = ud;
    long got;
    if (!t->stream || !t->stream->read)
        return 0;
    got = t->stream->read(t->stream->ud, p, size * n);
    if (got < 0) {
        t->stream_failed = 1;
        return CURL_READFUNC_ABORT;
    }
    return (size_t)got;
}

static struct curl_slist *build_headers(const dbx_http_request *req, int *failed)
{
    struct curl_slist *list = NULL, *next;
    char line[8192];
    const char *const *h;
    *failed = 0;
#define ADD(s)                                        \
    do {                                              \
        if (!(next = curl_slist_append(list, (s)))) { \
            *failed = 1;                              \
            return list;                              \
        }                                             \
        list = next;                                  \
    } while (0)
    ADD("Accept: application/json");
    ADD("Expect:"); /* no 100-continue round trip */
    if (req->content_type) {
        snprintf(line, sizeof line, "Content-Type: %s", req->content_type);
        ADD(line);
    }
    for (h = req->headers; h && *h; h++)
        ADD(*h);
    if (req->authorization) {
        /* curl_slist copies the string; the copy is freed (not wiped) by
         * libcurl, which is why the stack copy is wiped right away. */
        size_t n = strlen(req->authorization);
        char *auth = malloc(n + 16);
        if (!auth) {
            *failed = 1;
            return list;
        }
        snprintf(auth, n + 16, "Authorization: %s", req->authorization);
        next = curl_slist_append(list, auth);
        dbx_wipe(auth, n + 16);
        free(auth);
        if (!next) {
            *failed = 1;
            return list;
        }
        list = next;
    }
#undef ADD
    return list;
}

static void wipe_slist(struct curl_slist *list)
{
    for (struct curl_slist *s = list; s; s = s->next)
        dbx_wipe(s->data, strlen(s->data));
    curl_slist_free_all(list);
}

/* Can the last header list serve this request? Only when it was built
 * from the same Authorization and Content-Type and neither has extra
 * headers (those change from call to call). */
static int headers_match(const dbx_http *h, const dbx_http_request *req)
{
    const char *auth = req->authorization ? req->authorization : "";
    size_t alen = strlen(auth);
    if (!h->headers || !h->headers_reusable || (req->headers && *req->headers))
        return 0;
    if (alen != h->headers_auth.len || memcmp(auth, dbx_buf_str(&h->headers_auth), alen) != 0)
        return 0;
    if (!req->content_type != !h->headers_ctype)
        return 0;
    return !req->content_type || strcmp(req->content_type, h->headers_ctype) == 0;
}

/* Builds the header list for `req` and remembers its inputs. */
static int rebuild_headers(dbx_http *h, const dbx_http_request *req)
{
    int failed = 0;
    wipe_slist(h->headers);
    dbx_buf_reset(&h->headers_auth);
    free(h->headers_ctype);
    h->headers_ctype = NULL;
    h->headers = build_headers(req, &failed);
    h->headers_reusable = !(req->headers && *req->headers);
    if (failed || (req->authorization && dbx_buf_puts(&h->headers_auth, req->authorization)) ||
        (req->content_type && !(h->headers_ctype = strdup(req->content_type)))) {
        wipe_slist(h->headers);
        h->headers = NULL;
        return -1;
    }
    return 0;
}


/* Strips the query from a URL for messages (queries never hold anything the
 * user needs to see in an error, and might hold something sensitive). */
static void url_for_message(const char *url, char *out, size_t n)
{
    size_t len = strcspn(url, "?#");
    if (len >= n)
        len = n - 1;
    memcpy(out, url, len);
    out[len] = '\0';
}

/* The options of a streamed transfer: no size cap on what goes to the
 * sink, a stall limit instead of a total timeout, and the source and sink
 * back at their start (this may be a retry). Undone by stream_end. */
static int stream_begin(dbx_http *h, const dbx_http_stream *s, dbx_err *err)
{
    CURL *c = h->curl;
    double stall = s->stall_timeout > 0 ? s->stall_timeout : 60;
    if ((s->rewind && s->rewind(s->ud) != 0) || (s->reset && s->reset(s->ud) != 0)) {
        if (s->err)
            *err = *s->err;
        else
            dbx_err_set(err, DBX_EIO, "cannot restart a streamed transfer");
        return -1;
    }
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)0);
    /* Large receive blocks: fewer callbacks and write() calls per GiB. */
    curl_easy_setopt(c, CURLOPT_BUFFERSIZE, 512L * 1024);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, (long)(stall < 1 ? 1 : stall));
    h->streamed = 1;
    return 0;
}

static void stream_end(dbx_http *h)
{
    CURL *c = h->curl;
    if (!h->streamed)
        return;
    curl_easy_setopt(c, CURLOPT_UPLOAD, 0L);
    curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)-1);
    curl_easy_setopt(c, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)h->cfg.max_body);
    curl_easy_setopt(c, CURLOPT_BUFFERSIZE, (long)CURL_MAX_WRITE_SIZE);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_LIMIT, 0L);
    curl_easy_setopt(c, CURLOPT_LOW_SPEED_TIME, 0L);
    h->streamed = 0;
}

typedef enum { ATTEMPT_DONE, ATTEMPT_RETRY, ATTEMPT_FAIL } attempt_result;

/* One transfer. On ATTEMPT_FAIL/RETRY with no response, err explains. */
static attempt_result attempt(dbx_http *h, const dbx_http_request *req, dbx_http_response *resp,
                              double timeout, dbx_err *err)
{
    CURL *c = h->curl;
    transfer *t = &h->xfer;
    CURLcode rc;
    char where[512];

    response_reset(resp);
    resp->body.limit = h->cfg.max_body;
    /* Reuse the last header list when nothing it is made of changed (the
     * common case: the same token, a GET, no extra headers). */
    if (!headers_match(h, req) && rebuild_headers(h, req) != 0) {
        dbx_err_set(err, DBX_EIO, "out of memory building request headers");
        return ATTEMPT_FAIL;
    }
    t->resp = resp;
    t->too_large = 0;
    t->stream = req->stream;
    t->sink = -1;
    t->stream_failed = 0;
    t->ignore_stop = req->ignore_stop;
    h->errbuf[0] = '\0';
    if (!req->stream)
        stream_end(h);
    else if (stream_begin(h, req->stream, err) != 0)
        return ATTEMPT_FAIL;
    curl_easy_setopt(c, CURLOPT_URL, req->url);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h->headers);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, req->stream ? 0L : (long)(timeout * 1000));
    if (h->posted) {
        /* Undo what a body-carrying request set, so it cannot leak into
         * this one. */
        curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, NULL);
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, NULL);
        h->posted = 0;
    }
    if (req->stream && req->stream->read) {
        /* PUT (or another method) with the body read as it goes. */
        curl_easy_setopt(c, CURLOPT_NOBODY, 0L);
        curl_easy_setopt(c, CURLOPT_UPLOAD, 1L);
        curl_easy_setopt(c, CURLOPT_INFILESIZE_LARGE, (curl_off_t)req->stream->upload_size);
        if (strcmp(req->method, "PUT") != 0) {
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
            h->posted = 1;
        }
    } else if (strcmp(req->method, "GET") == 0) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
    } else if (strcmp(req->method, "HEAD") == 0) {
        curl_easy_setopt(c, CURLOPT_HTTPGET, 1L);
        curl_easy_setopt(c, CURLOPT_NOBODY, 1L);
    } else {
        curl_easy_setopt(c, CURLOPT_NOBODY, 0L);
        if (strcmp(req->method, "POST") != 0)
            curl_easy_setopt(c, CURLOPT_CUSTOMREQUEST, req->method);
        curl_easy_setopt(c, CURLOPT_POST, 1L);
        curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(req->body ? req->body_len : 0));
        curl_easy_setopt(c, CURLOPT_POSTFIELDS, req->body ? req->body : "");
        h->posted = 1;
    }

    rc = curl_easy_perform(c);
    t->resp = NULL;
    t->stream = NULL;
    resp->attempts++;
    url_for_message(req->url, where, sizeof where);

    if (rc == CURLE_OK) {
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &resp->status);
        return dbx_http_status_retryable(resp->status) ? ATTEMPT_RETRY : ATTEMPT_DONE;
    }
    resp->status = 0;
    dbx_redact_known(h->errbuf, req->secrets);
    if (t->stream_failed && req->stream && req->stream->err) {
        /* A stream callback ended the transfer and said why. */
        *err = *req->stream->err;
        return ATTEMPT_FAIL;
    }
    switch (rc) {
    case CURLE_WRITE_ERROR:
    case CURLE_FILESIZE_EXCEEDED:
        if (t->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
            dbx_err_set(err, DBX_EPROTOCOL,
                        "%s %s: response larger than the %zu-byte limit; the server sent more than "
                        "this connector accepts",
                        req->method, where, h->cfg.max_body);
            return ATTEMPT_FAIL;
        }
        break;
    case CURLE_ABORTED_BY_CALLBACK:
        dbx_err_set(err, DBX_EIO, "%s %s: interrupted by a stop signal", req->method, where);
        return ATTEMPT_FAIL;
    case CURLE_OPERATION_TIMEDOUT:
        if (req->stream)
            dbx_err_set(err, DBX_ETIMEOUT, "%s %s: the transfer stalled (nothing moved for %.0f s)", req->method,
                        where, req->stream->stall_timeout > 0 ? req->stream->stall_timeout : 60);
        else
            dbx_err_set(err, DBX_ETIMEOUT, "%s %s: no complete answer within %.0f s (%s)", req->method,
                        where, timeout, h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc));
        return ATTEMPT_RETRY;
    case CURLE_PEER_FAILED_VERIFICATION:
        dbx_err_set(err, DBX_ENETWORK,
                    "%s %s: TLS certificate verification failed (%s); if the workspace is behind a "
                    "TLS-inspecting proxy, set ca_bundle (or SSL_CERT_FILE) to its CA bundle",
                    req->method, where, h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc));
        return ATTEMPT_FAIL;
    case CURLE_SSL_CACERT_BADFILE:
        dbx_err_set(err, DBX_ECONFIG, "%s %s: cannot read the CA bundle %s (%s)", req->method, where,
                    h->cfg.ca_file ? h->cfg.ca_file : "(system)",
                    h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc));
        return ATTEMPT_FAIL;
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY:
        dbx_err_set(err, DBX_ENETWORK, "%s %s: cannot resolve the host name (%s); check the host",
                    req->method, where, h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc));
        return ATTEMPT_FAIL;
    default:
        break;
    }
    dbx_err_set(err, DBX_ENETWORK, "%s %s: %s", req->method, where,
                h->errbuf[0] ? h->errbuf : curl_easy_strerror(rc));
    return dbx_http_transport_retryable(rc) ? ATTEMPT_RETRY : ATTEMPT_FAIL;
}

int dbx_http_send(dbx_http *h, const dbx_http_request *req, dbx_http_response *resp, dbx_err *err)
{
    double start = dbx_monotonic(), deadline = start + (req->no_retry ? 0 : h->cfg.retry_budget);
    double timeout = h->cfg.timeout;
    for (int n = 1;; n++) {
        attempt_result r = attempt(h, req, resp, timeout, err);
        double now, wait, left;
        resp->elapsed = dbx_monotonic() - start;
        if (r == ATTEMPT_DONE)
            return 0;
        if (r == ATTEMPT_FAIL)
            return -1;
        now = dbx_monotonic();
        left = deadline - now;
        wait = dbx_http_backoff(h->cfg.backoff_initial, h->cfg.backoff_max, n, dbx_jitter_next(&h->rng),
                                resp->status ? resp->retry_after : -1);
        if (wait >= left || dbx_stop_requested()) {
            /* Out of budget: hand back the last answer (an error status the
             * caller explains, with retry_after) or the transport error. */
            if (resp->status)
                return 0;
            return dbx_err_append(err, "gave up after %d attempt%s in %.1f s", resp->attempts,
                                  resp->attempts == 1 ? "" : "s", resp->elapsed);
        }
        if (h->on_retry) {
            char what[600], where[512];
            dbx_err cause;
            dbx_err_clear(&cause);
            url_for_message(req->url, where, sizeof where);
            snprintf(what, sizeof what, "%s %s", req->method, where);
            if (resp->status) {
                dbx_err_set(&cause, DBX_EHTTP, "%s answered HTTP %ld%s", what, resp->status,
                            resp->retry_after >= 0 ? " with Retry-After" : "");
            } else {
                cause = *err;
            }
            h->on_retry(h->on_retry_ud, what, n, wait, left, &cause);
        }
        if (dbx_sleep(wait)) {
            if (resp->status)
                return 0;
            return dbx_err_append(err, "interrupted by a stop signal");
        }
        left = deadline - dbx_monotonic();
        timeout = h->cfg.timeout < left ? h->cfg.timeout : (left > 1 ? left : 1);
    }
}
