/* validate.c — validate_connection (see validate.h). */
#include "validate.h"

#include <string.h>

#include "statement.h"
#include "timeutil.h"
#include "workspace.h"

static void check_done(dbx_check *ck, double t0, const dbx_http_response *resp, int rc)
{
    ck->ran = 1;
    ck->ok = rc == 0;
    ck->status = resp->status;
    ck->ms = (dbx_monotonic() - t0) * 1000;
}

static void check_statement(dbx_client *c, dbx_ctx *ctx, const char *warehouse_id, const char *statement,
                            dbx_http_response *resp, dbx_validation *v)
{
    dbx_check *ck = &v->statement_execution;
    dbx_stmt_request rq = {0};
    dbx_json *j;
    double t0 = dbx_monotonic();
    rq.statement = statement ? statement : "SELECT 1";
    rq.warehouse_id = warehouse_id;
    rq.wait_timeout = 30;
    rq.on_wait_timeout = "CANCEL";
    rq.disposition = "INLINE";
    rq.row_limit = 1;
    j = dbx_stmt_submit(c, ctx, &rq, resp, &ck->err);
    check_done(ck, t0, resp, j ? 0 : -1);
    if (!j)
        return;
    if (dbx_stmt_state(j, v->state, sizeof v->state, &ck->err) != 0) {
        ck->ok = 0;
    } else if (strcmp(v->state, "SUCCEEDED") != 0) {
        ck->ok = 0;
        /* With on_wait_timeout CANCEL anything but SUCCEEDED or FAILED
         * means the warehouse did not answer in time. */
        if (strcmp(v->state, "FAILED") != 0)
            dbx_err_set(&ck->err, DBX_ETIMEOUT,
                        "statement ended %s: the warehouse did not finish within 30 s (is it starting?)", v->state);
    }
    dbx_json_free(j);
}

void dbx_validate(dbx_client *c, dbx_ctx *ctx, const char *table, const char *warehouse_id,
                  const char *statement, dbx_validation *v)
{
    dbx_http_response resp;
    double t0;
    int rc;

    memset(v, 0, sizeof *v);
    dbx_err_clear(&v->auth.err);
    dbx_err_clear(&v->unity_catalog.err);
    dbx_err_clear(&v->statement_execution.err);
    dbx_http_response_init(&resp);

    t0 = dbx_monotonic();
    rc = dbx_ws_me(c, ctx, &resp, v->user, sizeof v->user, &v->auth.err);
    check_done(&v->auth, t0, &resp, rc);

    if (table) {
        t0 = dbx_monotonic();
        rc = dbx_ws_get_table(c, ctx, table, &resp, &v->unity_catalog.err);
        check_done(&v->unity_catalog, t0, &resp, rc);
    }

    if (!warehouse_id)
        warehouse_id = dbx_client_config(c)->warehouse_id;
    if (warehouse_id)
        check_statement(c, ctx, warehouse_id, statement, &resp, v);
    dbx_http_response_free(&resp);
}
