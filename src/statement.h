/* statement.h — the Statement Execution API as the C core calls it:
 * submitting a statement (POST /api/2.0/sql/statements) and reading the
 * state of an answer. validate_connection runs its check through here; the
 * SQL engine (execute, polling, results) builds on the same functions, so
 * the request body is written in one place. */
#ifndef DBX_STATEMENT_H
#define DBX_STATEMENT_H

#include <stddef.h>

#include "client.h"

typedef struct dbx_stmt_request {
    const char *statement;
    const char *warehouse_id;
    int wait_timeout;            /* seconds the server waits: 0 or 5..50 */
    const char *on_wait_timeout; /* "CONTINUE" or "CANCEL" */
    const char *disposition;     /* "INLINE" or "EXTERNAL_LINKS" */
    long long row_limit;         /* 0: none */
} dbx_stmt_request;

/* Submits the statement; on success the decoded answer is returned (the
 * caller frees it with dbx_json_free) and resp keeps the raw body. */
dbx_json *dbx_stmt_submit(dbx_client *c, dbx_ctx *ctx, const dbx_stmt_request *rq, dbx_http_response *resp,
                          dbx_err *err);

/* The state of a statement answer ("PENDING" ... "SUCCEEDED") into state;
 * for FAILED/CANCELED/CLOSED an error (kind sql, the server's error_code and
 * message) in err. 0 when the answer has a state, -1 (protocol) when not. */
int dbx_stmt_state(const dbx_json *answer, char *state, size_t cap, dbx_err *err);

#endif
