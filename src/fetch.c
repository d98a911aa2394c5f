/* fetch.c — a statement's result, batch by batch (see fetch.h). */
#include "fetch.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cloudfetch.h"
#include "sys.h"
#include "timeutil.h"

/* What the window remembers of a chunk whose download was started. */
typedef struct slot {
    long long index;   /* -1: free */
    long long offset;  /* its first row (-1: not known) */
    int renewed;       /* its link was renewed once already */
} slot;

struct dbx_fetch {
    dbx_stmt *st;
    dbx_fetch_opts o;
    dbx_cf *cf;
    slot *slots;         /* prefetch + 1 of them, by index modulo */
    size_t nslots;
    int started, finished;
    long long cur;       /* the chunk being handed out */
    long long next;      /* the next chunk to describe */
    long long end;       /* one past the last chunk, -1 until known */
    long long offset;    /* where chunk `next` starts (-1: not known) */
    long long done;      /* chunks fully handed out */
    /* EXTERNAL_LINKS: the current chunk */
    int loaded;
    dbx_cf_result res;
    size_t span;
    /* INLINE: the next index the chain names (-1: none) */
    long long inline_next;
    double t_links, t_wait;
};

dbx_fetch *dbx_fetch_new(dbx_stmt *st, const dbx_fetch_opts *o, dbx_err *err)
{
    dbx_fetch *f = calloc(1, sizeof *f);
    if (!f) {
        dbx_err_set(err, DBX_EIO, "out of memory");
        return NULL;
    }
    f->st = st;
    f->o = *o;
    if (f->o.prefetch < 0)
        f->o.prefetch = 0;
    f->nslots = (size_t)f->o.prefetch + 1;
    if (!(f->slots = malloc(f->nslots * sizeof *f->slots))) {
        free(f);
        dbx_err_set(err, DBX_EIO, "out of memory");
        return NULL;
    }
    for (size_t i = 0; i < f->nslots; i++)
        f->slots[i].index = -1;
    f->end = st->manifest.total_chunks;
    f->inline_next = -1;
    return f;
}

void dbx_fetch_free(dbx_fetch *f)
{
    if (!f)
        return;
    dbx_cf_free(f->cf);
    free(f->slots);
    free(f);
}

void dbx_fetch_progress(const dbx_fetch *f, long long *done, long long *total)
{
    *done = f->done;
    *total = f->end;
}

int dbx_fetch_max_parallel(dbx_fetch *f)
{
    return f->cf ? dbx_cf_max_in_flight(f->cf) : 0;
}

void dbx_fetch_times(const dbx_fetch *f, double *links, double *waiting)
{
    *links = f->t_links;
    *waiting = f->t_wait;
}

static slot *slot_of(dbx_fetch *f, long long index)
{
    return &f->slots[(size_t)(index % (long long)f->nslots)];
}

static int fail(dbx_fetch *f, dbx_err *err)
{
    return dbx_err_context(err, "statement %s", f->st->id);
}

/* At the end: the chunks' rows add up to what the manifest said. */
static int finish(dbx_fetch *f, dbx_batch *b, dbx_err *err)
{
    long long total = f->st->manifest.total_rows;
    f->finished = 1;
    b->kind = DBX_BATCH_END;
    b->chunks_done = f->done;
    b->chunks_total = f->end;
    if (total >= 0 && f->offset >= 0 && f->offset != total) {
        dbx_err_set(err, DBX_EPROTOCOL, "the result's chunks hold %lld rows, its manifest says %lld", f->offset, total);
        return fail(f, err);
    }
    return 0;
}

/* The description of chunk `index`: the statement's first chunk for 0
 * (when it came with the answer), else asked for. Checked (trust #3). */
static int describe(dbx_fetch *f, dbx_client *c, dbx_ctx *ctx, long long index, long long offset,
                    dbx_chunk_desc *d, dbx_json **answer, dbx_err *err)
{
    dbx_stmt *st = f->st;
    if (index == 0 && (st->first.url || st->first.has_rows)) {
        *d = st->first; /* moved: the statement no longer holds the link */
        memset(&st->first, 0, sizeof st->first);
        st->first.index = st->first.row_offset = st->first.row_count = st->first.byte_count =
            st->first.next_index = -1;
        if (dbx_chunk_desc_check(d, 0, st->manifest.total_chunks, offset, err) != 0) {
            dbx_chunk_desc_free(d);
            return fail(f, err);
        }
        return 0;
    }
    return dbx_stmt_chunk(c, ctx, st, index, offset, d, answer, err);
}

/* ---- INLINE ------------------------------------------------------------------ */

static int next_inline(dbx_fetch *f, dbx_client *c, dbx_ctx *ctx, dbx_batch *b, dbx_err *err)
{
    dbx_chunk_desc d;
    dbx_json *answer = NULL;
    long long index = f->started ? f->inline_next : 0;
    int first = !f->started;
    if (f->started)
        f->done++;
    f->started = 1;
    if (index < 0 || (f->end >= 0 && index >= f->end))
        return finish(f, b, err);
    if (dbx_monotonic() > f->st->deadline)
        return dbx_err_set(err, DBX_ETIMEOUT, "statement %s: the result was not fetched within %g s", f->st->id,
                           f->st->timeout);
    if (first && f->st->first.has_rows) {
        if (describe(f, c, ctx, 0, 0, &d, NULL, err) != 0)
            return -1;
        b->kind = DBX_BATCH_FIRST;
    } else {
        if (describe(f, c, ctx, index, f->offset, &d, &answer, err) != 0)
            return -1;
        b->kind = DBX_BATCH_ANSWER;
        b->answer = answer;
    }
    b->chunk = index;
    b->row_count = d.row_count;
    f->inline_next = d.next_index;
    if (d.next_index < 0 && f->end < 0)
        f->end = index + 1;
    f->offset = f->offset >= 0 && d.row_count >= 0 ? f->offset + d.row_count : -1;
    dbx_chunk_desc_free(&d);
    b->chunks_done = f->done;
    b->chunks_total = f->end;
    return 1;
}

/* ---- EXTERNAL_LINKS ---------------------------------------------------------- */

static int start_download(dbx_fetch *f, long long index, const dbx_chunk_desc *d, dbx_err *err)
{
    dbx_cf_link link;
    memset(&link, 0, sizeof link);
    link.url = d->url;
    link.headers = (const char *const *)d->headers;
    link.byte_count = d->byte_count;
    link.row_count = d->row_count;
    link.expires = d->expires;
    return dbx_cf_start(f->cf, index, &link, err);
}

/* Describes and starts chunks until the window is full. */
static int fill_window(dbx_fetch *f, dbx_client *c, dbx_ctx *ctx, dbx_err *err)
{
    while (f->next <= f->cur + f->o.prefetch && (f->end < 0 || f->next < f->end)) {
        dbx_chunk_desc d;
        slot *s;
        double t0 = dbx_monotonic();
        int rc = describe(f, c, ctx, f->next, f->offset, &d, NULL, err);
        f->t_links += dbx_monotonic() - t0;
        if (rc != 0)
            return -1;
        if (!d.url) {
            dbx_chunk_desc_free(&d);
            dbx_err_set(err, DBX_EPROTOCOL, "result chunk %lld of an EXTERNAL_LINKS result has no link", f->next);
            return fail(f, err);
        }
        s = slot_of(f, f->next);
        s->index = f->next;
        s->offset = f->offset;
        s->renewed = 0;
        if (start_download(f, f->next, &d, err) != 0) {
            dbx_chunk_desc_free(&d);
            return fail(f, err);
        }
        if (d.next_index < 0)
            f->end = f->next + 1;
        f->offset = f->offset >= 0 && d.row_count >= 0 ? f->offset + d.row_count : -1;
        dbx_chunk_desc_free(&d);
        f->next++;
    }
    return 0;
}

/* A new link for chunk `index` (once per chunk). */
static int renew(dbx_fetch *f, dbx_client *c, dbx_ctx *ctx, long long index, long status, dbx_err *err)
{
    slot *s = slot_of(f, index);
    dbx_chunk_desc d;
    if (s->index != index)
        return 0; /* not in the window (cannot happen) */
    if (s->renewed) {
        err->status = status;
        if (status)
            dbx_err_set(err, DBX_EHTTP, "cloud storage refused the link of result chunk %lld again after it was "
                                         "renewed (HTTP %ld)", index, status);
        else
            dbx_err_set(err, DBX_EPROTOCOL, "the renewed link of result chunk %lld had expired before it could be used",
                        index);
        return fail(f, err);
    }
    s->renewed = 1;
    if (dbx_stmt_chunk(c, ctx, f->st, index, s->offset, &d, NULL, err) != 0)
        return -1;
    if (!d.url) {
        dbx_chunk_desc_free(&d);
        dbx_err_set(err, DBX_EPROTOCOL, "the renewal of result chunk %lld has no link", index);
        return fail(f, err);
    }
    if (start_download(f, index, &d, err) != 0) {
        dbx_chunk_desc_free(&d);
        return fail(f, err);
    }
    dbx_chunk_desc_free(&d);
    return 0;
}

/* Renews the links of chunks ahead of the current one that storage
 * refused, so they download while the current one is waited for. */
static int renew_ahead(dbx_fetch *f, dbx_client *c, dbx_ctx *ctx, dbx_err *err)
{
    for (long long i = f->cur + 1; i < f->next; i++) {
        long status = 0;
        if (dbx_cf_peek(f->cf, i, &status) == DBX_CF_RENEW && renew(f, c, ctx, i, status, err) != 0)
            return -1;
    }
    return 0;
}

/* Waits for the current chunk to be in. */
static int load_current(dbx_fetch *f, dbx_client *c, dbx_ctx *ctx, dbx_err *err)
{
    for (;;) {
        double now = dbx_monotonic(), until = now + 0.25;
        dbx_cf_state s;
        if (now >= f->st->deadline) {
            dbx_err_set(err, DBX_ETIMEOUT, "the result was not fetched within %g s (the statement's timeout)",
                        f->st->timeout);
            return fail(f, err);
        }
        if (dbx_stop_requested()) {
            dbx_err_set(err, DBX_EIO, "the result fetch was interrupted by a stop signal");
            return fail(f, err);
        }
        if (until > f->st->deadline)
            until = f->st->deadline;
        s = dbx_cf_wait(f->cf, f->cur, until, &f->res);
        switch (s) {
        case DBX_CF_DONE:
            f->loaded = 1;
            f->span = 0;
            return 0;
        case DBX_CF_RENEW:
            if (renew(f, c, ctx, f->cur, f->res.status, err) != 0)
                return -1;
            break;
        case DBX_CF_FAILED:
            *err = f->res.err;
            return fail(f, err);
        case DBX_CF_UNKNOWN:
            dbx_err_set(err, DBX_EIO, "result chunk %lld was never started (internal error)", f->cur);
            return fail(f, err);
        case DBX_CF_PENDING:
        default:
            if (renew_ahead(f, c, ctx, err) != 0)
                return -1;
            break;
        }
    }
}

static int next_linked(dbx_fetch *f, dbx_client *c, dbx_ctx *ctx, dbx_batch *b, dbx_err *err)
{
    if (!f->started) {
        dbx_cf_config cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.ca_file = f->o.ca_file;
        cfg.connect_timeout = f->o.connect_timeout;
        cfg.retry_budget = f->o.retry_budget;
        cfg.max_chunk = f->o.max_chunk;
        cfg.batch_bytes = f->o.batch_bytes;
        cfg.batch_rows = f->o.batch_rows;
        cfg.keep_buffers = f->o.prefetch + 1;
        cfg.ncols = f->st->manifest.ncols;
        f->started = 1;
        f->offset = 0;
        if (f->end == 0)
            return finish(f, b, err);
        if (!(f->cf = dbx_cf_new(&cfg, err)))
            return fail(f, err);
    }
    for (;;) {
        if (f->loaded && f->span < f->res.index->nspans) {
            const dbx_batch_span *sp = &f->res.index->spans[f->span++];
            b->kind = DBX_BATCH_TEXT;
            b->text = f->res.body + sp->off;
            b->len = sp->len;
            b->rows = sp->rows;
            b->chunk = f->cur;
            b->row_count = -1;
            b->chunks_done = f->done;
            b->chunks_total = f->end;
            return 1;
        }
        if (f->loaded) {
            dbx_cf_release(f->cf, f->cur);
            f->loaded = 0;
            f->done++;
            f->cur++;
        }
        if (fill_window(f, c, ctx, err) != 0)
            return -1;
        if (f->cur >= f->next)
            return finish(f, b, err);
        {
            double t0 = dbx_monotonic();
            int rc = load_current(f, c, ctx, err);
            f->t_wait += dbx_monotonic() - t0;
            if (rc != 0)
                return -1;
        }
    }
}

int dbx_fetch_next(dbx_fetch *f, dbx_client *c, dbx_ctx *ctx, dbx_batch *b, dbx_err *err)
{
    memset(b, 0, sizeof *b);
    b->row_count = -1;
    if (f->finished) {
        b->chunks_done = f->done;
        b->chunks_total = f->end;
        return 0;
    }
    if (!f->st->have_result)
        return dbx_err_set(err, DBX_EPROTOCOL, "statement %s has no result to fetch", f->st->id);
    if (f->st->links)
        return next_linked(f, c, ctx, b, err) < 0 ? -1 : (b->kind == DBX_BATCH_END ? 0 : 1);
    if (!f->started)
        f->offset = 0;
    return next_inline(f, c, ctx, b, err) < 0 ? -1 : (b->kind == DBX_BATCH_END ? 0 : 1);
}
