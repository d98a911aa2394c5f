/* statement.c — statements and their answers (see statement.h). */
#include "statement.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "endpoints.h"
#include "sys.h"
#include "timeutil.h"

/* ---- the request ------------------------------------------------------------- */

static int put_opt_string(dbx_buf *b, const char *key, const char *v)
{
    if (!v)
        return 0;
    return dbx_buf_printf(b, ",\"%s\":", key) || dbx_buf_json_string(b, v);
}

/* ,"field":[{"<key>":..,"value":..,"type":..},...] — value and type only
 * when set; nothing at all for an empty list. */
static int put_pairs(dbx_buf *b, const char *field, const char *key, const dbx_stmt_pair *pairs, size_t n)
{
    if (!n)
        return 0;
    if (dbx_buf_printf(b, ",\"%s\":[", field))
        return -1;
    for (size_t i = 0; i < n; i++) {
        const dbx_stmt_pair *p = &pairs[i];
        if (dbx_buf_printf(b, "%s{\"%s\":", i ? "," : "", key) || dbx_buf_json_string(b, p->name) ||
            (p->value && (dbx_buf_puts(b, ",\"value\":") || dbx_buf_json_string(b, p->value))) ||
            (p->type && (dbx_buf_puts(b, ",\"type\":") || dbx_buf_json_string(b, p->type))) || dbx_buf_puts(b, "}"))
            return -1;
    }
    return dbx_buf_puts(b, "]");
}

dbx_json *dbx_stmt_submit(dbx_client *c, dbx_ctx *ctx, const dbx_stmt_request *rq, dbx_http_response *resp,
                          dbx_err *err)
{
    dbx_buf body = {0};
    dbx_json *j;
    if (dbx_buf_puts(&body, "{\"statement\":") || dbx_buf_json_string(&body, rq->statement) ||
        dbx_buf_puts(&body, ",\"warehouse_id\":") || dbx_buf_json_string(&body, rq->warehouse_id) ||
        dbx_buf_printf(&body, ",\"wait_timeout\":\"%ds\",\"on_wait_timeout\":", rq->wait_timeout) ||
        dbx_buf_json_string(&body, rq->on_wait_timeout ? rq->on_wait_timeout : "CONTINUE") ||
        dbx_buf_puts(&body, ",\"format\":\"JSON_ARRAY\",\"disposition\":") ||
        dbx_buf_json_string(&body, rq->disposition ? rq->disposition : "INLINE") ||
        (rq->row_limit > 0 && dbx_buf_printf(&body, ",\"row_limit\":%lld", rq->row_limit)) ||
        (rq->byte_limit > 0 && dbx_buf_printf(&body, ",\"byte_limit\":%lld", rq->byte_limit)) ||
        put_opt_string(&body, "catalog", rq->catalog) || put_opt_string(&body, "schema", rq->schema) ||
        put_pairs(&body, "parameters", "name", rq->params, rq->nparams) ||
        put_pairs(&body, "query_tags", "key", rq->tags, rq->ntags) || dbx_buf_puts(&body, "}")) {
        dbx_buf_free(&body);
        dbx_err_set(err, DBX_EIO, "out of memory");
        return NULL;
    }
    j = dbx_client_call_json(c, ctx, "POST", DBX_PATH_STATEMENTS, body.data, body.len, resp, err);
    dbx_buf_free(&body);
    return j;
}

int dbx_stmt_state(const dbx_json *answer, char *state, size_t cap, dbx_err *err)
{
    size_t n = 0, mn = 0, cn = 0;
    const char *s = dbx_json_string(answer, "status.state", &n), *msg, *code;
    if (!s || n == 0 || n >= cap)
        return dbx_err_set(err, DBX_EPROTOCOL, "statement answer has no status.state");
    memcpy(state, s, n);
    state[n] = '\0';
    if (strcmp(state, "FAILED") != 0 && strcmp(state, "CANCELED") != 0 && strcmp(state, "CLOSED") != 0)
        return 0;
    msg = dbx_json_string(answer, "status.error.message", &mn);
    code = dbx_json_string(answer, "status.error.error_code", &cn);
    if (code)
        dbx_err_set_code(err, code, cn);
    if (strcmp(state, "FAILED") == 0)
        dbx_err_set(err, DBX_ESQL, "statement failed: %.*s", (int)(msg ? mn : 10), msg ? msg : "no message");
    else
        dbx_err_set(err, DBX_ESQL, "statement ended %s%s%.*s", state, msg ? ": " : "", (int)(msg ? mn : 0),
                    msg ? msg : "");
    return 0;
}

/* ---- reading answers --------------------------------------------------------- */

/* `path` joined with `key` ("result" + "chunk_index"). */
static const char *at(char *buf, size_t cap, const char *path, const char *key)
{
    snprintf(buf, cap, "%s%s%s", path, *path ? "." : "", key);
    return buf;
}

/* A whole number at path into *out: 1 found, 0 absent, -1 present but not a
 * whole number in range. */
static int whole(const dbx_json *j, const char *path, long long *out)
{
    double d;
    if (!dbx_json_has(j, path))
        return 0;
    if (dbx_json_number(j, path, &d) != 0 || !isfinite(d) || d != floor(d) || d < -9e15 || d > 9e15)
        return -1;
    *out = (long long)d;
    return 1;
}

static char *dup_n(const char *s, size_t n)
{
    char *p = malloc(n + 1);
    if (p) {
        memcpy(p, s, n);
        p[n] = '\0';
    }
    return p;
}

static int number_field(const dbx_json *j, const char *path, const char *key, long long *out, const char *what,
                        dbx_err *err)
{
    char buf[160];
    int rc = whole(j, at(buf, sizeof buf, path, key), out);
    if (rc < 0)
        return dbx_err_set(err, DBX_EPROTOCOL, "%s: %s is not a whole number", what, key);
    if (rc == 0)
        *out = -1;
    else if (*out < 0)
        return dbx_err_set(err, DBX_EPROTOCOL, "%s: %s is negative", what, key);
    return 0;
}

static char *string_field(const dbx_json *j, const char *path, const char *key)
{
    char buf[160];
    size_t n = 0;
    const char *s = dbx_json_string(j, at(buf, sizeof buf, path, key), &n);
    return s ? dup_n(s, n) : NULL;
}

void dbx_manifest_free(dbx_manifest *m)
{
    for (size_t i = 0; i < m->ncols; i++) {
        free(m->cols[i].name);
        free(m->cols[i].type_name);
        free(m->cols[i].type_text);
    }
    free(m->cols);
    memset(m, 0, sizeof *m);
}

int dbx_manifest_read(const dbx_json *j, const char *path, dbx_manifest *m, dbx_err *err)
{
    char cols[160], buf[200];
    size_t n, fn = 0;
    const char *fmt;
    memset(m, 0, sizeof *m);
    m->total_chunks = m->total_rows = -1;
    if (number_field(j, path, "total_chunk_count", &m->total_chunks, "statement manifest", err) != 0 ||
        number_field(j, path, "total_row_count", &m->total_rows, "statement manifest", err) != 0)
        return -1;
    (void)dbx_json_bool(j, at(buf, sizeof buf, path, "truncated"), &m->truncated);
    if ((fmt = dbx_json_string(j, at(buf, sizeof buf, path, "format"), &fn)) && fn < sizeof m->format) {
        memcpy(m->format, fmt, fn);
        m->format[fn] = '\0';
    }
    at(cols, sizeof cols, path, "schema.columns");
    n = dbx_json_len(j, cols);
    if (n > 100000)
        return dbx_err_set(err, DBX_EPROTOCOL, "statement manifest: %zu columns is beyond belief", n);
    if (n && !(m->cols = calloc(n, sizeof *m->cols)))
        return dbx_err_set(err, DBX_EIO, "out of memory reading a statement manifest");
    for (size_t i = 0; i < n; i++) {
        dbx_column *c = &m->cols[i];
        char base[200];
        long long v;
        snprintf(base, sizeof base, "%s.%zu", cols, i);
        m->ncols = i + 1;
        c->position = c->precision = c->scale = -1;
        c->name = string_field(j, base, "name");
        c->type_name = string_field(j, base, "type_name");
        c->type_text = string_field(j, base, "type_text");
        if (!c->name || !c->type_name) {
            dbx_manifest_free(m);
            return dbx_err_set(err, DBX_EPROTOCOL, "statement manifest: column %zu has no name or no type_name", i + 1);
        }
        c->type = dbx_coltype_of(c->type_name, strlen(c->type_name));
        if (whole(j, at(buf, sizeof buf, base, "position"), &v) > 0)
            c->position = (long)v;
        if (whole(j, at(buf, sizeof buf, base, "type_precision"), &v) > 0)
            c->precision = (long)v;
        if (whole(j, at(buf, sizeof buf, base, "type_scale"), &v) > 0)
            c->scale = (long)v;
    }
    return 0;
}

void dbx_chunk_desc_free(dbx_chunk_desc *d)
{
    if (d->url) {
        dbx_wipe(d->url, strlen(d->url));
        free(d->url);
    }
    for (char **h = d->headers; h && *h; h++) {
        dbx_wipe(*h, strlen(*h));
        free(*h);
    }
    free(d->headers);
    memset(d, 0, sizeof *d);
    d->index = d->row_offset = d->row_count = d->byte_count = d->next_index = -1;
}

static int is_tchar(unsigned char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("!#$%&'*+-.^_`|~", c);
}

typedef struct headers_acc {
    char **list;
    size_t n;
    int bad, oom;
} headers_acc;

/* One http_headers member into a "Name: value" line, or refused: a name
 * that is not an HTTP token, a value with a control byte (CR/LF would
 * inject a header), or a value that is not a string. */
static int add_header(void *ud, const char *k, size_t kn, const char *v, size_t vn)
{
    headers_acc *a = ud;
    char **list, *line;
    if (kn == 0 || kn > 256 || !v || vn > 8192) {
        a->bad = 1;
        return -1;
    }
    for (size_t i = 0; i < kn; i++)
        if (!is_tchar((unsigned char)k[i])) {
            a->bad = 1;
            return -1;
        }
    for (size_t i = 0; i < vn; i++) {
        unsigned char c = (unsigned char)v[i];
        if ((c < 0x20 && c != '\t') || c == 0x7f) {
            a->bad = 1;
            return -1;
        }
    }
    if (a->n > 64 || !(list = realloc(a->list, (a->n + 2) * sizeof *list)) || !(line = malloc(kn + vn + 3))) {
        if (a->n > 64)
            a->bad = 1;
        else
            a->oom = 1;
        return -1;
    }
    a->list = list;
    memcpy(line, k, kn);
    memcpy(line + kn, ": ", 2);
    memcpy(line + kn + 2, v, vn);
    line[kn + vn + 2] = '\0';
    a->list[a->n++] = line;
    a->list[a->n] = NULL;
    return 0;
}

/* The index at the end of a next_chunk_internal_link
 * ("/api/2.0/sql/statements/{id}/result/chunks/{n}"), or -1. */
static long long index_of_internal_link(const char *s, size_t n)
{
    static const char mark[] = "/result/chunks/";
    long long v = 0;
    size_t i, m = sizeof mark - 1;
    if (n <= m)
        return -1;
    for (i = n; i > 0 && s[i - 1] >= '0' && s[i - 1] <= '9'; i--)
        ;
    if (i == n || n - i > 15 || i < m || memcmp(s + i - m, mark, m) != 0)
        return -1;
    for (; i < n; i++)
        v = v * 10 + (s[i] - '0');
    return v;
}

static int read_link(const dbx_json *j, const char *base, double server_now, double now_mono, dbx_chunk_desc *d,
                     dbx_err *err)
{
    char buf[200];
    size_t n = 0;
    const char *url = dbx_json_string(j, at(buf, sizeof buf, base, "external_link"), &n), *exp;
    headers_acc acc = {0};
    double when;
    if (!url || n == 0)
        return dbx_err_set(err, DBX_EPROTOCOL, "a result chunk's external link has no URL");
    if (n < 9 || strncasecmp(url, "https://", 8) != 0)
        return dbx_err_set(err, DBX_EPROTOCOL,
                           "a result chunk's external link is not an https URL: refused before any request");
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)url[i] <= 0x20 || url[i] == 0x7f)
            return dbx_err_set(err, DBX_EPROTOCOL, "a result chunk's external link holds a blank or a control "
                                                   "byte: refused before any request");
    if (!(d->url = dup_n(url, n)))
        return dbx_err_set(err, DBX_EIO, "out of memory");
    if (dbx_json_each(j, at(buf, sizeof buf, base, "http_headers"), add_header, &acc) != 0 || acc.bad || acc.oom) {
        for (size_t i = 0; i < acc.n; i++)
            free(acc.list[i]);
        free(acc.list);
        if (acc.oom)
            return dbx_err_set(err, DBX_EIO, "out of memory");
        return dbx_err_set(err, DBX_EPROTOCOL,
                           "a result chunk's external link names http_headers that are not valid HTTP headers: "
                           "refused before any request");
    }
    d->headers = acc.list;
    if ((exp = dbx_json_string(j, at(buf, sizeof buf, base, "expiration"), &n))) {
        if (dbx_parse_rfc3339(exp, n, &when) != 0)
            return dbx_err_set(err, DBX_EPROTOCOL, "a result chunk's external link has an unreadable expiration");
        /* Judged on the server's own clock (its Date header): a skewed local
         * clock cannot make a fresh link look dead (trust #8). */
        d->expires = now_mono + (when - (server_now > 0 ? server_now : dbx_now()));
        if (d->expires <= 0)
            d->expires = 1e-9; /* dead on arrival, but "known" */
    }
    return 0;
}

int dbx_chunk_desc_read(const dbx_json *j, const char *path, double server_now, double now_mono,
                        dbx_chunk_desc *d, dbx_err *err)
{
    char links[160], base[200], buf[200];
    const char *p = path;
    size_t n = 0;
    const char *internal;
    memset(d, 0, sizeof *d);
    d->index = d->row_offset = d->row_count = d->byte_count = d->next_index = -1;
    at(links, sizeof links, path, "external_links");
    if (dbx_json_len(j, links) > 0) {
        snprintf(base, sizeof base, "%s.0", links);
        p = base;
    }
    if (number_field(j, p, "chunk_index", &d->index, "result chunk", err) != 0 ||
        number_field(j, p, "row_offset", &d->row_offset, "result chunk", err) != 0 ||
        number_field(j, p, "row_count", &d->row_count, "result chunk", err) != 0 ||
        number_field(j, p, "byte_count", &d->byte_count, "result chunk", err) != 0 ||
        number_field(j, p, "next_chunk_index", &d->next_index, "result chunk", err) != 0)
        goto fail;
    internal = dbx_json_string(j, at(buf, sizeof buf, p, "next_chunk_internal_link"), &n);
    if (internal && d->next_index < 0 && (d->next_index = index_of_internal_link(internal, n)) < 0) {
        dbx_err_set(err, DBX_EPROTOCOL, "a result chunk's next_chunk_internal_link is not a chunk path");
        goto fail;
    }
    if (p == base) {
        if (read_link(j, base, server_now, now_mono, d, err) != 0)
            goto fail;
    } else {
        d->has_rows = dbx_json_has(j, at(buf, sizeof buf, path, "data_array"));
    }
    return 0;
fail:
    dbx_chunk_desc_free(d);
    return -1;
}

int dbx_chunk_desc_check(const dbx_chunk_desc *d, long long want, long long total, long long offset, dbx_err *err)
{
    if (total >= 0 && want >= total)
        return dbx_err_set(err, DBX_EPROTOCOL, "chunk %lld asked for, but the result has %lld chunks", want, total);
    if (d->index >= 0 && d->index != want)
        return dbx_err_set(err, DBX_EPROTOCOL, "asked for result chunk %lld, the answer describes chunk %lld", want,
                           d->index);
    if (d->index < 0 && (d->url || want != 0))
        return dbx_err_set(err, DBX_EPROTOCOL, "the answer for result chunk %lld does not say which chunk it is",
                           want);
    if (d->row_offset >= 0 && offset >= 0 && d->row_offset != offset)
        return dbx_err_set(err, DBX_EPROTOCOL, "result chunk %lld starts at row %lld, but the chunks before it end at row %lld",
                           want, d->row_offset, offset);
    if (d->next_index >= 0 && d->next_index <= want)
        return dbx_err_set(err, DBX_EPROTOCOL,
                           "result chunk %lld names chunk %lld as the next one: a link that points back, which "
                           "would never end (trust #3)",
                           want, d->next_index);
    if (d->next_index >= 0 && total >= 0 && d->next_index >= total)
        return dbx_err_set(err, DBX_EPROTOCOL, "result chunk %lld names chunk %lld as the next one, past the last of %lld",
                           want, d->next_index, total);
    if (d->next_index < 0 && total >= 0 && want + 1 < total)
        return dbx_err_set(err, DBX_EPROTOCOL, "the chain of result chunks ends at chunk %lld, but the manifest counts %lld",
                           want, total);
    return 0;
}

/* ---- one statement ------------------------------------------------------------ */

void dbx_stmt_init(dbx_stmt *st)
{
    memset(st, 0, sizeof *st);
    dbx_err_clear(&st->failure);
    st->first.index = st->first.row_offset = st->first.row_count = st->first.byte_count = st->first.next_index = -1;
    st->pause = 0.05;
}

void dbx_stmt_free(dbx_stmt *st)
{
    dbx_manifest_free(&st->manifest);
    dbx_chunk_desc_free(&st->first);
}

static int is_terminal(const char *state)
{
    return strcmp(state, "SUCCEEDED") == 0 || strcmp(state, "FAILED") == 0 || strcmp(state, "CANCELED") == 0 ||
           strcmp(state, "CLOSED") == 0;
}

/* The statement id goes into URL paths: only the characters of the ids the
 * service hands out (UUID-like), so an answer cannot steer our requests. */
static int take_id(dbx_stmt *st, const dbx_json *j, dbx_err *err)
{
    size_t n = 0;
    const char *id = dbx_json_string(j, "statement_id", &n);
    if (st->id[0])
        return 0;
    if (!id || n == 0 || n >= sizeof st->id)
        return dbx_err_set(err, DBX_EPROTOCOL, "statement answer has no statement_id");
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '-' || c == '_' ||
              c == '.'))
            return dbx_err_set(err, DBX_EPROTOCOL, "statement answer has a statement_id with unexpected characters");
    }
    memcpy(st->id, id, n);
    st->id[n] = '\0';
    return 0;
}

/* Reads a statement answer into st; hands it over when it carries rows. */
static int read_answer(dbx_stmt *st, dbx_json *j, const dbx_http_response *resp, dbx_json **rows_answer,
                       dbx_err *err)
{
    dbx_err failure;
    dbx_err_clear(&failure);
    if (take_id(st, j, err) != 0 || dbx_stmt_state(j, st->state, sizeof st->state, &failure) != 0) {
        if (!st->id[0])
            return -1;
        *err = failure;
        return dbx_err_context(err, "statement %s", st->id);
    }
    if (!is_terminal(st->state))
        return 0;
    st->ended = 1;
    if (strcmp(st->state, "SUCCEEDED") != 0) {
        st->failure = failure;
        return 0;
    }
    dbx_manifest_free(&st->manifest);
    dbx_chunk_desc_free(&st->first);
    if (dbx_manifest_read(j, "manifest", &st->manifest, err) != 0 ||
        dbx_chunk_desc_read(j, "result", resp->date, dbx_monotonic(), &st->first, err) != 0)
        return dbx_err_context(err, "statement %s", st->id);
    st->have_result = 1;
    if (st->first.has_rows && rows_answer) {
        if (*rows_answer)
            dbx_json_free(*rows_answer);
        *rows_answer = j;
        return 1; /* handed over */
    }
    return 0;
}

int dbx_stmt_execute(dbx_client *c, dbx_ctx *ctx, const dbx_stmt_request *rq, double timeout, dbx_stmt *st,
                     dbx_json **rows_answer, dbx_err *err)
{
    dbx_http_response resp;
    dbx_json *j;
    int rc;
    dbx_http_response_init(&resp);
    st->timeout = timeout;
    st->deadline = dbx_monotonic() + timeout;
    st->links = rq->disposition && strcmp(rq->disposition, "EXTERNAL_LINKS") == 0;
    j = dbx_stmt_submit(c, ctx, rq, &resp, err);
    if (!j) {
        dbx_http_response_free(&resp);
        return -1;
    }
    rc = read_answer(st, j, &resp, rows_answer, err);
    if (rc != 1)
        dbx_json_free(j);
    dbx_http_response_free(&resp);
    return rc < 0 ? -1 : 0;
}

int dbx_stmt_refresh(dbx_client *c, dbx_ctx *ctx, dbx_stmt *st, dbx_json **rows_answer, dbx_err *err)
{
    char path[256];
    dbx_http_response resp;
    dbx_json *j;
    int rc;
    if (st->ended)
        return 0;
    dbx_http_response_init(&resp);
    snprintf(path, sizeof path, "%s/%s", DBX_PATH_STATEMENTS, st->id);
    j = dbx_client_call_json(c, ctx, "GET", path, NULL, 0, &resp, err);
    if (!j) {
        dbx_http_response_free(&resp);
        return -1;
    }
    rc = read_answer(st, j, &resp, rows_answer, err);
    if (rc != 1)
        dbx_json_free(j);
    dbx_http_response_free(&resp);
    return rc < 0 ? -1 : 0;
}

int dbx_stmt_cancel(dbx_client *c, dbx_ctx *ctx, dbx_stmt *st, int quick, dbx_err *err)
{
    char path[256];
    dbx_http_response resp;
    dbx_call call = {0};
    int rc;
    if (!st->id[0] || st->ended)
        return 0;
    dbx_http_response_init(&resp);
    snprintf(path, sizeof path, "%s/%s/cancel", DBX_PATH_STATEMENTS, st->id);
    call.method = "POST";
    call.path = path;
    call.body = "{}";
    call.body_len = 2;
    call.no_retry = quick;
    call.ignore_stop = quick;
    rc = dbx_client_call_ex(c, ctx, &call, &resp, err);
    dbx_http_response_free(&resp);
    if (rc == 0) {
        snprintf(st->state, sizeof st->state, "CANCELED");
        st->ended = 1;
        dbx_err_clear(&st->failure);
        dbx_err_set(&st->failure, DBX_ESQL, "statement %s was cancelled", st->id);
    }
    return rc;
}

int dbx_stmt_wait(dbx_client *c, dbx_ctx *ctx, dbx_stmt *st, double until, dbx_json **rows_answer, dbx_err *err)
{
    int own_deadline = until >= st->deadline;
    if (until > st->deadline)
        until = st->deadline;
    for (;;) {
        double left;
        if (st->ended) {
            if (strcmp(st->state, "SUCCEEDED") == 0)
                return 0;
            *err = st->failure;
            return -1;
        }
        left = until - dbx_monotonic();
        if (left <= 0 || dbx_stop_requested()) {
            dbx_err cerr;
            int stop = dbx_stop_requested() != 0;
            if (!stop && !own_deadline)
                return dbx_err_set(err, DBX_ETIMEOUT, "statement %s is still %s after the wait", st->id, st->state);
            dbx_err_clear(&cerr);
            (void)dbx_stmt_cancel(c, ctx, st, stop, &cerr);
            if (stop)
                return dbx_err_set(err, DBX_EIO, "statement %s: interrupted by a stop signal; the statement was cancelled",
                                   st->id);
            return dbx_err_set(err, DBX_ETIMEOUT, "statement %s did not finish within %g s and was cancelled", st->id,
                               st->timeout);
        }
        if (dbx_sleep(st->pause < left ? st->pause : left))
            continue; /* a stop: cancel above */
        st->pause = st->pause * 2 < 2 ? st->pause * 2 : 2;
        if (dbx_stmt_refresh(c, ctx, st, rows_answer, err) != 0)
            return -1;
    }
}

int dbx_stmt_chunk(dbx_client *c, dbx_ctx *ctx, dbx_stmt *st, long long index, long long offset,
                   dbx_chunk_desc *d, dbx_json **rows_answer, dbx_err *err)
{
    char path[256];
    dbx_http_response resp;
    dbx_json *j;
    int rc = 0;
    dbx_http_response_init(&resp);
    snprintf(path, sizeof path, "%s/%s/result/chunks/%lld", DBX_PATH_STATEMENTS, st->id, index);
    j = dbx_client_call_json(c, ctx, "GET", path, NULL, 0, &resp, err);
    if (!j) {
        dbx_http_response_free(&resp);
        return -1;
    }
    if (dbx_chunk_desc_read(j, "", resp.date, dbx_monotonic(), d, err) != 0 ||
        dbx_chunk_desc_check(d, index, st->manifest.total_chunks, offset, err) != 0) {
        dbx_chunk_desc_free(d);
        rc = -1;
    } else if (!st->links && !d->has_rows) {
        dbx_chunk_desc_free(d);
        rc = dbx_err_set(err, DBX_EPROTOCOL, "result chunk %lld has neither rows nor a link", index);
    } else if (st->links && !d->url) {
        dbx_chunk_desc_free(d);
        rc = dbx_err_set(err, DBX_EPROTOCOL, "result chunk %lld of an EXTERNAL_LINKS result has no link", index);
    } else if (d->has_rows && rows_answer) {
        *rows_answer = j;
        j = NULL;
    }
    if (rc != 0)
        dbx_err_context(err, "statement %s", st->id);
    dbx_json_free(j);
    dbx_http_response_free(&resp);
    return rc;
}
