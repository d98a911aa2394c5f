/* statement.h — the Statement Execution API as the C core calls it: one
 * statement's life (submit, poll with back-off, cancel), the reading of its
 * answers (state, failure, manifest, and each result chunk's description:
 * inline rows or an external link), and the bounds every chunk answer must
 * respect (DESIGN.md §6, trust #3). validate_connection submits through
 * here too, so the request body is written in one place; fetch.c builds the
 * result fetch on these functions.
 *
 * The answers are read through json.h and never kept: what a statement
 * needs later is copied into C (dbx_stmt, dbx_manifest, dbx_chunk_desc), so
 * nothing here holds a Lua value across calls. An answer that carries
 * inline rows can be handed to the caller (the binding turns data_array
 * into row tables), who frees it before its call returns.
 *
 * Never logs; a link and its headers are copied only into dbx_chunk_desc,
 * whose owner registers them as secrets while it holds them (fetch.c). */
#ifndef DBX_STATEMENT_H
#define DBX_STATEMENT_H

#include <stddef.h>

#include "client.h"
#include "rows.h"

/* One element of a named list in the request: a parameter {name, value,
 * type} or a query tag {key, value} (its type NULL). */
typedef struct dbx_stmt_pair {
    const char *name;  /* the parameter's name or the tag's key */
    const char *value; /* NULL: SQL NULL, or a tag without a value */
    const char *type;  /* NULL: STRING (always NULL for tags) */
} dbx_stmt_pair;

typedef struct dbx_stmt_request {
    const char *statement;
    const char *warehouse_id;
    int wait_timeout;            /* seconds the server waits: 0 or 5..50 */
    const char *on_wait_timeout; /* "CONTINUE" or "CANCEL" */
    const char *disposition;     /* "INLINE" or "EXTERNAL_LINKS" */
    long long row_limit;         /* 0: none */
    long long byte_limit;        /* 0: none */
    const char *catalog, *schema; /* NULL: none */
    const dbx_stmt_pair *params; /* "parameters": {name, value, type} */
    size_t nparams;
    const dbx_stmt_pair *tags; /* "query_tags": {key, value} */
    size_t ntags;
} dbx_stmt_request;

/* Submits the statement; on success the decoded answer is returned (the
 * caller frees it with dbx_json_free) and resp keeps the raw body. */
dbx_json *dbx_stmt_submit(dbx_client *c, dbx_ctx *ctx, const dbx_stmt_request *rq, dbx_http_response *resp,
                          dbx_err *err);

/* The state of a statement answer ("PENDING" ... "SUCCEEDED") into state;
 * for FAILED/CANCELED/CLOSED an error (kind sql, the server's error_code and
 * message) in err. 0 when the answer has a state, -1 (protocol) when not. */
int dbx_stmt_state(const dbx_json *answer, char *state, size_t cap, dbx_err *err);

/* ---- the result's description ---------------------------------------------- */

typedef struct dbx_column {
    char *name, *type_name, *type_text;
    long position, precision, scale; /* -1 when the manifest does not say */
    dbx_coltype type;
} dbx_column;

typedef struct dbx_manifest {
    dbx_column *cols;
    size_t ncols;
    long long total_chunks; /* -1: not said */
    long long total_rows;   /* -1: not said */
    int truncated;
    char format[16];
} dbx_manifest;

/* One result chunk as an answer describes it (the statement answer's
 * `result`, or a GET .../result/chunks/{n} answer). */
typedef struct dbx_chunk_desc {
    long long index, row_offset, row_count, byte_count; /* -1: not said */
    long long next_index;                              /* -1: the last chunk */
    int has_rows;     /* INLINE: the answer holds data_array */
    char *url;        /* EXTERNAL_LINKS: the pre-signed link (a secret) */
    char **headers;   /* its http_headers as "Name: value", NULL-terminated (secrets) */
    double expires;   /* monotonic time the link dies (from its expiration read against the
                         answer's Date header), 0 when unknown */
} dbx_chunk_desc;

/* Reads manifest (schema, counts) from the answer object at `path` ("manifest").
 * 0 or -1 (protocol: a column without a name or a type). */
int dbx_manifest_read(const dbx_json *j, const char *path, dbx_manifest *m, dbx_err *err);
void dbx_manifest_free(dbx_manifest *m);

/* Reads the chunk described at `path` ("result" in a statement answer, ""
 * for a chunk answer). `server_now` is the answer's Date (0: unknown, the
 * local clock is used then), `now_mono` the monotonic time it arrived. A
 * link must be https and its headers valid HTTP header lines (no CR/LF, no
 * control bytes): anything else is a protocol error, before a byte is sent
 * to it. 0, or -1. */
int dbx_chunk_desc_read(const dbx_json *j, const char *path, double server_now, double now_mono,
                        dbx_chunk_desc *d, dbx_err *err);
void dbx_chunk_desc_free(dbx_chunk_desc *d);

/* The bounds of trust #3 for the description of chunk `want` of a result
 * of `total` chunks (-1: unknown) whose rows so far end at `offset`: the
 * answer names chunk `want`, starts at `offset` (when it says), and its
 * next chunk comes after it (a next index that does not advance, or a
 * chain that ends early or runs past total, is a protocol error). */
int dbx_chunk_desc_check(const dbx_chunk_desc *d, long long want, long long total, long long offset, dbx_err *err);

/* ---- one statement ------------------------------------------------------------ */

typedef struct dbx_stmt {
    char id[128];
    char state[16];
    double deadline;     /* monotonic: the whole statement (execute's timeout) */
    double timeout;      /* seconds, for messages */
    double pause;        /* the next poll's pause */
    int links;           /* disposition EXTERNAL_LINKS */
    int ended;           /* SUCCEEDED, FAILED, CANCELED or CLOSED seen */
    int have_result;     /* SUCCEEDED with manifest and first chunk read */
    dbx_err failure;     /* FAILED/CANCELED/CLOSED: the sql error */
    dbx_manifest manifest;
    dbx_chunk_desc first;
} dbx_stmt;

void dbx_stmt_init(dbx_stmt *st);
void dbx_stmt_free(dbx_stmt *st);

/* Submits and reads the answer into st. `timeout`: seconds for the whole
 * statement. When the answer carries inline rows and `rows_answer` is not
 * NULL, the decoded answer is handed over there (the caller frees it).
 * 0, or -1 (the request failed or the answer is unusable; a statement that
 * FAILED is not an error here: st->failure says it). */
int dbx_stmt_execute(dbx_client *c, dbx_ctx *ctx, const dbx_stmt_request *rq, double timeout, dbx_stmt *st,
                     dbx_json **rows_answer, dbx_err *err);

/* Polls once (GET .../statements/{id}) unless the statement has ended. */
int dbx_stmt_refresh(dbx_client *c, dbx_ctx *ctx, dbx_stmt *st, dbx_json **rows_answer, dbx_err *err);

/* Polls with growing pauses (50 ms doubling up to 2 s) until the statement
 * ends or the monotonic time `until` passes. 0 once SUCCEEDED; -1 with the
 * sql error when it FAILED/was CANCELED/CLOSED; -1 with a timeout error when
 * `until` passed — when that is the statement's own deadline, or a stop was
 * requested (io error), the statement is cancelled server-side first. */
int dbx_stmt_wait(dbx_client *c, dbx_ctx *ctx, dbx_stmt *st, double until, dbx_json **rows_answer,
                  dbx_err *err);

/* POST .../statements/{id}/cancel (nothing when the statement has ended).
 * `quick`: one attempt that the stop flag does not end — the cancel sent
 * because of a stop request, on close, or from a finaliser. */
int dbx_stmt_cancel(dbx_client *c, dbx_ctx *ctx, dbx_stmt *st, int quick, dbx_err *err);

/* GET .../result/chunks/{index}: the chunk's description, checked with
 * dbx_chunk_desc_check against total/offset; its inline rows handed over
 * in *rows_answer when asked (the caller frees it). */
int dbx_stmt_chunk(dbx_client *c, dbx_ctx *ctx, dbx_stmt *st, long long index, long long offset,
                   dbx_chunk_desc *d, dbx_json **rows_answer, dbx_err *err);

#endif
