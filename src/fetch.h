/* fetch.h — the fetch of one statement's result, chunk after chunk, as
 * batches of rows for the binding to decode (DESIGN.md §6).
 *
 * INLINE results come from the workspace: the rows of chunk 0 arrived with
 * the statement's answer (the binding kept them), the others are asked for
 * one after the other (GET .../result/chunks/{n}) and handed over as
 * answers.
 *
 * EXTERNAL_LINKS results stream: while the caller decodes chunk N, the
 * descriptions (links) of chunks N+1 .. N+prefetch are asked for and their
 * downloads run in parallel (cloudfetch.c). This is the window: at most
 * prefetch + 1 chunk bodies are in memory at any moment, whatever the size
 * of the result. A chunk is released as soon as its last batch is taken.
 *
 * Bounds (trust #3): chunk indexes are asked for in order, each answer is
 * checked with dbx_chunk_desc_check (the index asked for, the row offset
 * the chunks before it end at, a next chunk that comes after it and within
 * total_chunk_count, a chain that does not end early), the sum of the rows
 * must match total_row_count, a link is renewed at most once per chunk
 * (past its expiration, or refused 403/404 by storage), and the statement's
 * deadline covers everything. No answer can make this loop forever.
 *
 * The links and their headers are secrets from the moment their
 * description is read until their chunk is released (cloudfetch.c
 * registers them; the descriptions are freed as soon as the download
 * holds its own copy). */
#ifndef DBX_FETCH_H
#define DBX_FETCH_H

#include <stddef.h>

#include "chunk.h"
#include "client.h"
#include "statement.h"

typedef struct dbx_fetch_opts {
    int prefetch;           /* chunks downloaded ahead of the one being read (default 4) */
    const char *ca_file;    /* the client's CA bundle */
    double connect_timeout; /* seconds */
    double retry_budget;    /* seconds for the attempts of one download */
    size_t batch_bytes, batch_rows; /* 0: chunk.h defaults */
    size_t max_chunk;       /* 0: cloudfetch.h default */
} dbx_fetch_opts;

typedef enum dbx_batch_kind {
    DBX_BATCH_END = 0,   /* no more rows */
    DBX_BATCH_TEXT,      /* text[0..len): `rows` rows of JSON, commas between, no brackets */
    DBX_BATCH_FIRST,     /* the rows of chunk 0 that came with the statement's answer */
    DBX_BATCH_ANSWER     /* answer (the caller frees it) holds the rows at `data_array` */
} dbx_batch_kind;

typedef struct dbx_batch {
    dbx_batch_kind kind;
    const char *text;   /* TEXT: valid until the next dbx_fetch_next */
    size_t len, rows;
    dbx_json *answer;   /* ANSWER */
    long long chunk;        /* the chunk the rows belong to */
    long long row_count;    /* FIRST/ANSWER: rows the chunk must hold (-1: not said) */
    long long chunks_done;  /* chunks fully handed out before this batch */
    long long chunks_total; /* -1: not known */
} dbx_batch;

typedef struct dbx_fetch dbx_fetch;

dbx_fetch *dbx_fetch_new(dbx_stmt *st, const dbx_fetch_opts *o, dbx_err *err);
/* Stops the downloads, releases every chunk. NULL-safe. */
void dbx_fetch_free(dbx_fetch *f);

/* The next batch: 1 with *b filled, 0 at the end (b->kind END), -1 with an
 * error. The statement must have SUCCEEDED. */
int dbx_fetch_next(dbx_fetch *f, dbx_client *c, dbx_ctx *ctx, dbx_batch *b, dbx_err *err);

/* Chunks fully handed out so far, and the total (-1: not known). */
void dbx_fetch_progress(const dbx_fetch *f, long long *done, long long *total);

/* The most downloads that ran at once (0 for INLINE), for tests. */
int dbx_fetch_max_parallel(dbx_fetch *f);

/* Seconds the caller's thread spent asking the workspace for chunk
 * descriptions (links), and waiting for downloads (the bench's notes). */
void dbx_fetch_times(const dbx_fetch *f, double *links, double *waiting);

#endif
