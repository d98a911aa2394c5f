/* cloudfetch.c — parallel chunk downloads on a libcurl multi handle, on a
 * thread of their own (see cloudfetch.h).
 *
 * Sharing between the Lua thread and the download thread: one mutex guards
 * the job list and every job's `state`; a job's transfer fields (its easy
 * handle, body, attempt counters) belong to the download thread while the
 * job is QUEUED or ACTIVE and to the Lua thread once it is DONE, RENEW or
 * FAILED (the mutex hand-over orders the writes). The Lua thread wakes the
 * download thread with curl_multi_wakeup and waits for it on a condition
 * variable. A job the Lua thread abandons while its transfer runs is
 * marked and freed by the download thread, which owns the easy handle.
 *
 * Chunk bodies live in anonymous mappings (mmap), sized from the link's
 * byte_count, kept in a small pool: a released chunk's mapping serves the
 * next download (at most prefetch + 1 of them are kept, the rest are
 * unmapped), so the window's memory is paid for once. Measured on a VM,
 * fresh pages for every chunk (and handing read pages back with madvise,
 * which interrupts the other thread's CPU) cost more CPU than the decoding
 * they overlapped; and they did not lower the peak, which is the moment a
 * chunk starts with the window full. No heap arena holds a chunk, whichever
 * thread allocated it.
 *
 * Each attempt gets a fresh easy handle configured from nothing, so no
 * option of the workspace transport (its Authorization header, its
 * cookies — it has none — or its User-Agent) can reach storage; connections
 * and TLS sessions are still reused through the multi handle's cache. */
#include "cloudfetch.h"

#include <errno.h>
#include <pthread.h>
#include <sys/mman.h>
#include <unistd.h>
#include <signal.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "buf.h"
#include "http.h"
#include "random.h"
#include "redact.h"
#include "sys.h"
#include "timeutil.h"

enum { J_QUEUED, J_ACTIVE, J_DONE, J_RENEW, J_FAILED };

#define DBX_CF_POOL 65 /* mappings kept for reuse at most (prefetch <= 64, plus the current chunk) */

/* A chunk body in an anonymous mapping. */
typedef struct body {
    char *p;
    size_t len, cap, limit;
} body;

static size_t page_size(void)
{
    long ps = sysconf(_SC_PAGESIZE);
    return ps > 0 ? (size_t)ps : 4096;
}

static void body_free(body *b)
{
    if (b->p)
        munmap(b->p, b->cap);
    b->p = NULL;
    b->len = b->cap = 0;
}

/* Room for `need` bytes (one mapping; a larger one is copied into). */
static int body_reserve(body *b, size_t need)
{
    size_t ps = page_size(), cap;
    char *p;
    if (need <= b->cap)
        return 0;
    if (need > b->limit)
        return -1;
    cap = b->cap ? b->cap : need;
    while (cap < need)
        cap = cap > b->limit / 2 ? b->limit : cap * 2;
    cap = (cap + ps - 1) / ps * ps;
    p = mmap(NULL, cap, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        return -1;
    if (b->len)
        memcpy(p, b->p, b->len);
    if (b->p)
        munmap(b->p, b->cap);
    b->p = p;
    b->cap = cap;
    return 0;
}

static int body_append(body *b, const char *p, size_t n)
{
    if (n > b->limit - b->len)
        return -1;
    if (b->len + n > b->cap && body_reserve(b, b->len + n < (1u << 20) ? (1u << 20) : b->len + n) != 0)
        return -1;
    memcpy(b->p + b->len, p, n);
    b->len += n;
    return 0;
}

typedef struct job {
    long long index;
    int state;
    int abandoned;           /* released by the Lua thread while ACTIVE: the download thread frees it */
    char *url;
    struct curl_slist *headers;
    char **secrets;          /* registered while the job lives */
    size_t nsecrets;
    long long byte_count, row_count;
    double expires;          /* monotonic; 0 unknown */
    CURL *easy;
    body body;
    int too_large;
    double retry_after;      /* of the current response, or -1 */
    long status;             /* last HTTP status */
    int attempts;
    double first_at, next_at;
    dbx_err err;
    dbx_chunk_index index_;
} job;

struct dbx_cf {
    dbx_cf_config cfg;
    char *ca_file;
    CURLM *multi;
    pthread_t thread;
    int started;
    pthread_mutex_t mu;
    pthread_cond_t cond;
    int quit;
    job **jobs;
    size_t njobs, cap;
    int in_flight, max_in_flight;
    uint64_t rng;
    body pool[DBX_CF_POOL]; /* released mappings, for the next downloads */
    size_t npool;
    int keep;               /* how many of them to keep */
};

/* ---- jobs ------------------------------------------------------------------ */

/* Keeps a released body's mapping for the next download (mutex held). */
static void pool_put(dbx_cf *cf, body *b)
{
    if (b->p && cf->npool < (size_t)cf->keep) {
        cf->pool[cf->npool] = *b;
        cf->pool[cf->npool++].len = 0;
        b->p = NULL;
        b->len = b->cap = 0;
        return;
    }
    body_free(b);
}

/* A pooled mapping for a body of `need` bytes, the largest one when none
 * is big enough (mutex held); 0 when the pool is empty. */
static int pool_take(dbx_cf *cf, size_t need, body *b)
{
    size_t best = 0;
    if (!cf->npool)
        return 0;
    for (size_t i = 1; i < cf->npool; i++) {
        int fits = cf->pool[i].cap >= need, best_fits = cf->pool[best].cap >= need;
        if (fits ? (!best_fits || cf->pool[i].cap < cf->pool[best].cap)
                 : (!best_fits && cf->pool[i].cap > cf->pool[best].cap))
            best = i;
    }
    body_free(b);
    *b = cf->pool[best];
    cf->pool[best] = cf->pool[--cf->npool];
    return 1;
}

static void job_free(job *j)
{
    if (!j)
        return;
    if (j->easy)
        curl_easy_cleanup(j->easy);
    for (size_t i = 0; i < j->nsecrets; i++) {
        dbx_secret_remove(j->secrets[i]);
        dbx_wipe(j->secrets[i], strlen(j->secrets[i]));
        free(j->secrets[i]);
    }
    free(j->secrets);
    if (j->url) {
        dbx_wipe(j->url, strlen(j->url));
        free(j->url);
    }
    for (struct curl_slist *s = j->headers; s; s = s->next)
        dbx_wipe(s->data, strlen(s->data));
    curl_slist_free_all(j->headers);
    body_free(&j->body);
    dbx_chunk_index_free(&j->index_);
    free(j);
}

/* Frees a job that is out of the list, keeping its mapping for reuse. */
static void retire(dbx_cf *cf, job *j)
{
    if (!j)
        return;
    pthread_mutex_lock(&cf->mu);
    pool_put(cf, &j->body);
    pthread_mutex_unlock(&cf->mu);
    job_free(j);
}

static int add_secret(job *j, const char *s, size_t n)
{
    char *copy;
    char **list;
    if (n < 6)
        return 0; /* the redactor ignores short values anyway */
    if (!(copy = malloc(n + 1)))
        return -1;
    memcpy(copy, s, n);
    copy[n] = '\0';
    if (!(list = realloc(j->secrets, (j->nsecrets + 1) * sizeof *list))) {
        free(copy);
        return -1;
    }
    j->secrets = list;
    j->secrets[j->nsecrets++] = copy;
    dbx_secret_add(copy);
    return 0;
}

static job *job_new(long long index, const dbx_cf_link *link, size_t max_chunk)
{
    job *j = calloc(1, sizeof *j);
    const char *q;
    if (!j)
        return NULL;
    j->index = index;
    j->byte_count = link->byte_count;
    j->row_count = link->row_count;
    j->expires = link->expires;
    j->retry_after = -1;
    j->body.limit = max_chunk;
    if (!(j->url = strdup(link->url)) || add_secret(j, link->url, strlen(link->url)) != 0)
        goto oom;
    if ((q = strchr(link->url, '?')) && add_secret(j, q + 1, strlen(q + 1)) != 0)
        goto oom;
    /* "Accept:" removes libcurl's default Accept header: storage gets the
     * link's headers and nothing of ours. */
    if (!(j->headers = curl_slist_append(NULL, "Accept:")))
        goto oom;
    for (const char *const *h = link->headers; h && *h; h++) {
        struct curl_slist *next = curl_slist_append(j->headers, *h);
        const char *v = strchr(*h, ':');
        if (!next)
            goto oom;
        j->headers = next;
        if (v) {
            v++;
            while (*v == ' ' || *v == '\t')
                v++;
            if (add_secret(j, v, strlen(v)) != 0)
                goto oom;
        }
    }
    return j;
oom:
    job_free(j);
    return NULL;
}

/* The job of chunk `index` still visible to the Lua thread (mutex held). */
static job *find(dbx_cf *cf, long long index, size_t *at)
{
    for (size_t i = 0; i < cf->njobs; i++) {
        if (!cf->jobs[i]->abandoned && cf->jobs[i]->index == index) {
            if (at)
                *at = i;
            return cf->jobs[i];
        }
    }
    return NULL;
}

static void remove_at(dbx_cf *cf, size_t i)
{
    cf->jobs[i] = cf->jobs[--cf->njobs];
}

/* ---- one transfer ------------------------------------------------------------ */

static size_t on_body(char *p, size_t size, size_t n, void *ud)
{
    job *j = ud;
    long status = 0;
    curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &status);
    if (status != 200)
        return size * n; /* an error body: never kept (it may echo the signature) */
    if (body_append(&j->body, p, size * n) != 0) {
        j->too_large = 1;
        return 0;
    }
    return size * n;
}

static size_t on_header(char *p, size_t size, size_t n, void *ud)
{
    job *j = ud;
    size_t len = size * n;
    char tmp[64];
    if (len >= 5 && strncmp(p, "HTTP/", 5) == 0) {
        j->retry_after = -1;
        return len;
    }
    if (len > 12 && strncasecmp(p, "retry-after:", 12) == 0) {
        size_t k = len - 12 < sizeof tmp - 1 ? len - 12 : sizeof tmp - 1;
        memcpy(tmp, p + 12, k);
        tmp[k] = '\0';
        while (k && (tmp[k - 1] == '\r' || tmp[k - 1] == '\n' || tmp[k - 1] == ' '))
            tmp[--k] = '\0';
        j->retry_after = dbx_parse_retry_after(tmp + strspn(tmp, " \t"), strlen(tmp + strspn(tmp, " \t")),
                                               dbx_now());
    }
    return len;
}

static int on_progress(void *ud, curl_off_t a, curl_off_t b, curl_off_t c, curl_off_t d)
{
    (void)ud, (void)a, (void)b, (void)c, (void)d;
    return dbx_stop_requested() ? 1 : 0;
}

static int begin_transfer(dbx_cf *cf, job *j)
{
    CURL *e = curl_easy_init();
    if (!e)
        return -1;
    j->easy = e;
    j->body.len = 0; /* a retry starts over, in the same mapping */
    j->body.limit = cf->cfg.max_chunk;
    if (!j->body.p)
        pool_take(cf, j->byte_count > 0 ? (size_t)j->byte_count : 0, &j->body);
    j->too_large = 0;
    j->retry_after = -1;
    if (j->byte_count > 0 && (size_t)j->byte_count <= cf->cfg.max_chunk)
        (void)body_reserve(&j->body, (size_t)j->byte_count); /* one exact mapping */
    curl_easy_setopt(e, CURLOPT_URL, j->url);
    curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST, 2L);
    if (cf->cfg.ca_file)
        curl_easy_setopt(e, CURLOPT_CAINFO, cf->cfg.ca_file);
    curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)(cf->cfg.connect_timeout * 1000));
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_LIMIT, 1L);
    curl_easy_setopt(e, CURLOPT_LOW_SPEED_TIME, (long)cf->cfg.stall_timeout);
    curl_easy_setopt(e, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)cf->cfg.max_chunk);
    curl_easy_setopt(e, CURLOPT_HTTPHEADER, j->headers);
    curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    curl_easy_setopt(e, CURLOPT_BUFFERSIZE, 256L * 1024);
    curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_body);
    curl_easy_setopt(e, CURLOPT_WRITEDATA, j);
    curl_easy_setopt(e, CURLOPT_HEADERFUNCTION, on_header);
    curl_easy_setopt(e, CURLOPT_HEADERDATA, j);
    curl_easy_setopt(e, CURLOPT_NOPROGRESS, 0L);
    curl_easy_setopt(e, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(e, CURLOPT_PRIVATE, j);
    if (curl_multi_add_handle(cf->multi, e) != CURLM_OK) {
        curl_easy_cleanup(e);
        j->easy = NULL;
        return -1;
    }
    j->attempts++;
    if (j->attempts == 1)
        j->first_at = dbx_monotonic();
    cf->in_flight++;
    if (cf->in_flight > cf->max_in_flight)
        cf->max_in_flight = cf->in_flight;
    return 0;
}

static void end_transfer(dbx_cf *cf, job *j)
{
    if (!j->easy)
        return;
    curl_multi_remove_handle(cf->multi, j->easy);
    curl_easy_cleanup(j->easy);
    j->easy = NULL;
    cf->in_flight--;
}

/* Storage's error Code (an S3/GCS/ADLS XML or JSON body is never kept, but
 * the status is): a word that helps, nothing that could be a signature. */
static const char *status_hint(long status)
{
    switch (status) {
    case 400: return " (the request was refused as malformed)";
    case 403: return " (access denied: the link was refused)";
    case 404: return " (no such object)";
    case 416: return " (range not satisfiable)";
    case 500: return " (internal error)";
    default: return "";
    }
}

typedef enum { OUTCOME_DONE, OUTCOME_RETRY, OUTCOME_RENEW, OUTCOME_FAIL } outcome;

/* Judges a finished transfer; fills j->err for RETRY (the reason, kept if
 * the budget runs out) and FAIL. */
static outcome judge(dbx_cf *cf, job *j, CURLcode rc)
{
    long status = 0;
    if (rc == CURLE_OK) {
        curl_easy_getinfo(j->easy, CURLINFO_RESPONSE_CODE, &status);
        j->status = status;
        if (status == 200) {
            dbx_err_clear(&j->err);
            if (dbx_chunk_split(j->body.p ? j->body.p : "", j->body.len, cf->cfg.batch_bytes, cf->cfg.batch_rows,
                                cf->cfg.ncols, &j->index_, &j->err) != 0) {
                dbx_err_context(&j->err, "chunk %lld", j->index);
                return OUTCOME_FAIL;
            }
            if (j->row_count >= 0 && (long long)j->index_.rows != j->row_count) {
                dbx_err_set(&j->err, DBX_EPROTOCOL, "chunk %lld holds %zu rows, its link said %lld", j->index,
                            j->index_.rows, j->row_count);
                return OUTCOME_FAIL;
            }
            return OUTCOME_DONE;
        }
        if (status == 403 || status == 404)
            return OUTCOME_RENEW;
        dbx_err_clear(&j->err);
        j->err.status = status;
        dbx_err_set(&j->err, DBX_EHTTP, "chunk %lld: cloud storage answered HTTP %ld%s", j->index, status,
                    status_hint(status));
        return dbx_http_status_retryable(status) ? OUTCOME_RETRY : OUTCOME_FAIL;
    }
    dbx_err_clear(&j->err);
    switch (rc) {
    case CURLE_ABORTED_BY_CALLBACK:
        dbx_err_set(&j->err, DBX_EIO, "chunk %lld: download interrupted by a stop signal", j->index);
        return OUTCOME_FAIL;
    case CURLE_WRITE_ERROR:
    case CURLE_FILESIZE_EXCEEDED:
        if (j->too_large || rc == CURLE_FILESIZE_EXCEEDED) {
            dbx_err_set(&j->err, DBX_EPROTOCOL, "chunk %lld is larger than the %zu-byte limit for one chunk",
                        j->index, cf->cfg.max_chunk);
            return OUTCOME_FAIL;
        }
        dbx_err_set(&j->err, DBX_EIO, "chunk %lld: out of memory while downloading", j->index);
        return OUTCOME_FAIL;
    case CURLE_OPERATION_TIMEDOUT:
        dbx_err_set(&j->err, DBX_ETIMEOUT, "chunk %lld: the download from cloud storage stalled (%s)", j->index,
                    curl_easy_strerror(rc));
        return OUTCOME_RETRY;
    case CURLE_PEER_FAILED_VERIFICATION:
        dbx_err_set(&j->err, DBX_ENETWORK,
                    "chunk %lld: the TLS certificate of cloud storage failed verification; behind a "
                    "TLS-inspecting proxy, set ca_bundle (or SSL_CERT_FILE) to its CA bundle",
                    j->index);
        return OUTCOME_FAIL;
    case CURLE_UNSUPPORTED_PROTOCOL:
        dbx_err_set(&j->err, DBX_EPROTOCOL, "chunk %lld: the result link is not an https URL", j->index);
        return OUTCOME_FAIL;
    default:
        dbx_err_set(&j->err, DBX_ENETWORK, "chunk %lld: download from cloud storage failed (%s)", j->index,
                    curl_easy_strerror(rc));
        return dbx_http_transport_retryable(rc) ? OUTCOME_RETRY : OUTCOME_FAIL;
    }
}

/* ---- the thread ---------------------------------------------------------------- */

/* A finished transfer (mutex NOT held: splitting a body takes a while). The
 * outcome is published by the caller under the mutex. */
static int finish(dbx_cf *cf, job *j, CURLcode rc, double *next_at)
{
    outcome o = judge(cf, j, rc);
    double now = dbx_monotonic(), wait;
    end_transfer(cf, j);
    switch (o) {
    case OUTCOME_DONE:
        return J_DONE;
    case OUTCOME_RENEW:
        return J_RENEW;
    case OUTCOME_FAIL:
        return J_FAILED;
    case OUTCOME_RETRY:
    default:
        break;
    }
    wait = dbx_http_backoff(cf->cfg.backoff_initial, cf->cfg.backoff_max, j->attempts,
                            dbx_jitter_next(&cf->rng), j->retry_after);
    if (now + wait - j->first_at > cf->cfg.retry_budget || dbx_stop_requested()) {
        dbx_err_append(&j->err, "gave up after %d attempt%s in %.1f s", j->attempts, j->attempts == 1 ? "" : "s",
                       now - j->first_at);
        return J_FAILED;
    }
    *next_at = now + wait;
    return J_QUEUED;
}

/* Starts the queued jobs that are due (mutex held); returns the poll
 * timeout in milliseconds until the next one is due. */
static int start_due(dbx_cf *cf)
{
    double now = dbx_monotonic(), soonest = now + 0.2;
    for (size_t i = 0; i < cf->njobs; i++) {
        job *j = cf->jobs[i];
        if (j->state != J_QUEUED || j->abandoned)
            continue;
        if (j->next_at > now) {
            if (j->next_at < soonest)
                soonest = j->next_at;
            continue;
        }
        if (j->expires > 0 && now >= j->expires) {
            j->state = J_RENEW; /* dead before it could be used: renewing beats a sure 403 */
            pthread_cond_broadcast(&cf->cond);
            continue;
        }
        if (begin_transfer(cf, j) != 0) {
            dbx_err_set(&j->err, DBX_EIO, "chunk %lld: cannot start a download (out of memory)", j->index);
            j->state = J_FAILED;
            pthread_cond_broadcast(&cf->cond);
            continue;
        }
        j->state = J_ACTIVE;
    }
    return (int)((soonest - now) * 1000) + 1;
}

/* Frees abandoned jobs (mutex held). */
static void reap(dbx_cf *cf)
{
    for (size_t i = 0; i < cf->njobs;) {
        job *j = cf->jobs[i];
        if (j->abandoned) {
            end_transfer(cf, j);
            remove_at(cf, i);
            pool_put(cf, &j->body);
            job_free(j);
            continue;
        }
        i++;
    }
}

/* Every pending job fails (the stop flag), mutex held. */
static void fail_all(dbx_cf *cf)
{
    for (size_t i = 0; i < cf->njobs; i++) {
        job *j = cf->jobs[i];
        if (j->state == J_QUEUED || j->state == J_ACTIVE) {
            end_transfer(cf, j);
            dbx_err_clear(&j->err);
            dbx_err_set(&j->err, DBX_EIO, "chunk %lld: download interrupted by a stop signal", j->index);
            j->state = J_FAILED;
        }
    }
    pthread_cond_broadcast(&cf->cond);
}

static void *run(void *arg)
{
    dbx_cf *cf = arg;
    pthread_mutex_lock(&cf->mu);
    while (!cf->quit) {
        int timeout_ms, running = 0;
        CURLMsg *msg;
        int left;
        reap(cf);
        if (dbx_stop_requested()) {
            fail_all(cf);
            timeout_ms = 200;
        } else {
            timeout_ms = start_due(cf);
        }
        pthread_mutex_unlock(&cf->mu);
        curl_multi_poll(cf->multi, NULL, 0, timeout_ms, NULL);
        curl_multi_perform(cf->multi, &running);
        while ((msg = curl_multi_info_read(cf->multi, &left))) {
            job *j = NULL;
            int state;
            double next_at = 0;
            if (msg->msg != CURLMSG_DONE)
                continue;
            curl_easy_getinfo(msg->easy_handle, CURLINFO_PRIVATE, (char **)&j);
            state = finish(cf, j, msg->data.result, &next_at);
            pthread_mutex_lock(&cf->mu);
            j->state = state;
            j->next_at = next_at;
            pthread_cond_broadcast(&cf->cond);
            pthread_mutex_unlock(&cf->mu);
        }
        pthread_mutex_lock(&cf->mu);
    }
    pthread_mutex_unlock(&cf->mu);
    return NULL;
}

/* ---- the Lua thread's side ------------------------------------------------------- */

static int cond_init(pthread_cond_t *c)
{
#ifdef __APPLE__
    return pthread_cond_init(c, NULL);
#else
    pthread_condattr_t a;
    int rc;
    if (pthread_condattr_init(&a) != 0)
        return -1;
    pthread_condattr_setclock(&a, CLOCK_MONOTONIC);
    rc = pthread_cond_init(c, &a);
    pthread_condattr_destroy(&a);
    return rc;
#endif
}

/* Waits on the condition at most `seconds` (mutex held). */
static void cond_wait_for(dbx_cf *cf, double seconds)
{
    struct timespec ts;
    if (seconds < 0)
        seconds = 0;
#ifdef __APPLE__
    ts.tv_sec = (time_t)seconds;
    ts.tv_nsec = (long)((seconds - (double)ts.tv_sec) * 1e9);
    pthread_cond_timedwait_relative_np(&cf->cond, &cf->mu, &ts);
#else
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += (time_t)seconds;
    ts.tv_nsec += (long)((seconds - (double)(time_t)seconds) * 1e9);
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&cf->cond, &cf->mu, &ts);
#endif
}

dbx_cf *dbx_cf_new(const dbx_cf_config *cfg, dbx_err *err)
{
    dbx_cf *cf = calloc(1, sizeof *cf);
    sigset_t all, old;
    int rc;
    if (!cf) {
        dbx_err_set(err, DBX_EIO, "out of memory starting the result download");
        return NULL;
    }
    cf->cfg = *cfg;
    if (cf->cfg.connect_timeout <= 0)
        cf->cfg.connect_timeout = 10;
    if (cf->cfg.stall_timeout < 1)
        cf->cfg.stall_timeout = 60;
    if (cf->cfg.retry_budget < 0)
        cf->cfg.retry_budget = 0;
    if (cf->cfg.backoff_initial <= 0)
        cf->cfg.backoff_initial = 1;
    if (cf->cfg.backoff_max <= 0)
        cf->cfg.backoff_max = 10;
    if (cf->cfg.max_chunk == 0)
        cf->cfg.max_chunk = (size_t)1 << 30;
    cf->keep = cfg->keep_buffers < 0 ? 0 : cfg->keep_buffers > DBX_CF_POOL ? DBX_CF_POOL : cfg->keep_buffers;
    if (cfg->ca_file && !(cf->ca_file = strdup(cfg->ca_file))) {
        free(cf);
        dbx_err_set(err, DBX_EIO, "out of memory starting the result download");
        return NULL;
    }
    cf->cfg.ca_file = cf->ca_file;
    cf->rng = dbx_jitter_seed();
    if (!(cf->multi = curl_multi_init()) || pthread_mutex_init(&cf->mu, NULL) != 0) {
        if (cf->multi)
            curl_multi_cleanup(cf->multi);
        free(cf->ca_file);
        free(cf);
        dbx_err_set(err, DBX_EIO, "cannot initialise libcurl for the result download");
        return NULL;
    }
    if (cond_init(&cf->cond) != 0) {
        pthread_mutex_destroy(&cf->mu);
        curl_multi_cleanup(cf->multi);
        free(cf->ca_file);
        free(cf);
        dbx_err_set(err, DBX_EIO, "cannot initialise the result download");
        return NULL;
    }
    /* The thread inherits this mask: it never runs the host's handlers. */
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    rc = pthread_create(&cf->thread, NULL, run, cf);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0) {
        pthread_cond_destroy(&cf->cond);
        pthread_mutex_destroy(&cf->mu);
        curl_multi_cleanup(cf->multi);
        free(cf->ca_file);
        free(cf);
        dbx_err_set(err, DBX_EIO, "cannot start the result download thread (%s)", strerror(rc));
        return NULL;
    }
    cf->started = 1;
    return cf;
}

void dbx_cf_free(dbx_cf *cf)
{
    if (!cf)
        return;
    if (cf->started) {
        pthread_mutex_lock(&cf->mu);
        cf->quit = 1;
        pthread_mutex_unlock(&cf->mu);
        curl_multi_wakeup(cf->multi);
        pthread_join(cf->thread, NULL);
    }
    for (size_t i = 0; i < cf->njobs; i++) {
        end_transfer(cf, cf->jobs[i]);
        job_free(cf->jobs[i]);
    }
    for (size_t i = 0; i < cf->npool; i++)
        body_free(&cf->pool[i]);
    free(cf->jobs);
    curl_multi_cleanup(cf->multi);
    pthread_cond_destroy(&cf->cond);
    pthread_mutex_destroy(&cf->mu);
    free(cf->ca_file);
    free(cf);
}

/* Takes chunk `index` out of the list (mutex held): freed here, or by the
 * thread when its transfer is running. */
static void drop(dbx_cf *cf, long long index, job **to_free)
{
    size_t at;
    job *j = find(cf, index, &at);
    *to_free = NULL;
    if (!j)
        return;
    if (j->state == J_ACTIVE) {
        j->abandoned = 1;
        return;
    }
    remove_at(cf, at);
    *to_free = j;
}

int dbx_cf_start(dbx_cf *cf, long long index, const dbx_cf_link *link, dbx_err *err)
{
    job *j = job_new(index, link, cf->cfg.max_chunk), *old;
    if (!j)
        return dbx_err_set(err, DBX_EIO, "out of memory queueing chunk %lld", index);
    pthread_mutex_lock(&cf->mu);
    drop(cf, index, &old);
    if (cf->njobs == cf->cap) {
        size_t cap = cf->cap ? cf->cap * 2 : 16;
        job **p = realloc(cf->jobs, cap * sizeof *p);
        if (!p) {
            pthread_mutex_unlock(&cf->mu);
            retire(cf, old);
            job_free(j);
            return dbx_err_set(err, DBX_EIO, "out of memory queueing chunk %lld", index);
        }
        cf->jobs = p;
        cf->cap = cap;
    }
    j->state = J_QUEUED;
    cf->jobs[cf->njobs++] = j;
    pthread_mutex_unlock(&cf->mu);
    retire(cf, old);
    curl_multi_wakeup(cf->multi);
    return 0;
}

static dbx_cf_state public_state(int s)
{
    switch (s) {
    case J_DONE: return DBX_CF_DONE;
    case J_RENEW: return DBX_CF_RENEW;
    case J_FAILED: return DBX_CF_FAILED;
    default: return DBX_CF_PENDING;
    }
}

dbx_cf_state dbx_cf_wait(dbx_cf *cf, long long index, double until, dbx_cf_result *out)
{
    job *j;
    dbx_cf_state st;
    memset(out, 0, sizeof *out);
    pthread_mutex_lock(&cf->mu);
    for (;;) {
        double left = until - dbx_monotonic();
        if (!(j = find(cf, index, NULL))) {
            pthread_mutex_unlock(&cf->mu);
            out->state = DBX_CF_UNKNOWN;
            return DBX_CF_UNKNOWN;
        }
        st = public_state(j->state);
        if (st != DBX_CF_PENDING || left <= 0 || dbx_stop_requested())
            break;
        /* Short slices: the stop flag is a signal handler's write, which
         * no condition variable hears. */
        cond_wait_for(cf, left < 0.1 ? left : 0.1);
    }
    out->state = st;
    out->status = j->status;
    if (st == DBX_CF_DONE) {
        out->body = j->body.p ? j->body.p : "";
        out->len = j->body.len;
        out->index = &j->index_;
    } else if (st == DBX_CF_FAILED) {
        out->err = j->err;
    }
    pthread_mutex_unlock(&cf->mu);
    return st;
}

dbx_cf_state dbx_cf_peek(dbx_cf *cf, long long index, long *status)
{
    job *j;
    dbx_cf_state st = DBX_CF_UNKNOWN;
    pthread_mutex_lock(&cf->mu);
    if ((j = find(cf, index, NULL))) {
        st = public_state(j->state);
        if (status)
            *status = j->status;
    }
    pthread_mutex_unlock(&cf->mu);
    return st;
}

void dbx_cf_release(dbx_cf *cf, long long index)
{
    job *j;
    pthread_mutex_lock(&cf->mu);
    drop(cf, index, &j);
    pthread_mutex_unlock(&cf->mu);
    if (j)
        retire(cf, j);
    else
        curl_multi_wakeup(cf->multi); /* an abandoned transfer to end */
}

int dbx_cf_max_in_flight(dbx_cf *cf)
{
    int n;
    pthread_mutex_lock(&cf->mu);
    n = cf->max_in_flight;
    pthread_mutex_unlock(&cf->mu);
    return n;
}
