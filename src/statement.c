/* statement.c — statement submission and states (see statement.h). */
#include "statement.h"

#include <stdio.h>
#include <string.h>

#include "endpoints.h"

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
        dbx_buf_puts(&body, "}")) {
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
