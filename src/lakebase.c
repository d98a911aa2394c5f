/* lakebase.c — Lakebase credentials and resources (see lakebase.h). */
#include "lakebase.h"

#include <stdio.h>
#include <string.h>

#include "endpoints.h"
#include "random.h"
#include "timeutil.h"

static int credential_body(const dbx_lb_request *rq, dbx_buf *body, dbx_err *err)
{
    char rid[37];
    int oom;
    if (rq->endpoint) {
        oom = dbx_buf_puts(body, "{\"endpoint\":") || dbx_buf_json_string(body, rq->endpoint) ||
              (rq->ttl > 0 && dbx_buf_printf(body, ",\"ttl\":\"%ds\"", rq->ttl)) || dbx_buf_puts(body, "}");
    } else {
        if (!rq->instance_names || !rq->instance_names[0])
            return dbx_err_set(err, DBX_ECONFIG, "a Lakebase credential needs instance_names or endpoint");
        if (dbx_uuid4(rid, err) != 0)
            return -1;
        oom = dbx_buf_puts(body, "{\"instance_names\":[");
        for (size_t i = 0; !oom && rq->instance_names[i]; i++)
            oom = (i && dbx_buf_puts(body, ",")) || dbx_buf_json_string(body, rq->instance_names[i]);
        oom = oom || dbx_buf_puts(body, "],\"request_id\":") || dbx_buf_json_string(body, rid) ||
              dbx_buf_puts(body, "}");
    }
    return oom ? dbx_err_set(err, DBX_EIO, "out of memory") : 0;
}

int dbx_lb_credential(dbx_client *c, dbx_ctx *ctx, const dbx_lb_request *rq, dbx_token *out, dbx_err *err)
{
    dbx_buf body = {0};
    dbx_http_response resp;
    dbx_token_life life = {0};
    dbx_json *j = NULL;
    const char *token, *when;
    size_t tn = 0, wn = 0;
    int rc = -1;

    dbx_http_response_init(&resp);
    if (credential_body(rq, &body, err) != 0)
        goto done;
    j = dbx_client_call_json(c, ctx, "POST", rq->endpoint ? DBX_PATH_PG_CREDENTIALS : DBX_PATH_DB_CREDENTIALS,
                             body.data, body.len, &resp, err);
    if (!j) {
        dbx_err_context(err, "Lakebase credential");
        goto done;
    }
    token = dbx_json_string(j, "token", &tn);
    /* provisioned: expiration_time; autoscaling: expire_time (either is read) */
    when = dbx_json_string(j, rq->endpoint ? "expire_time" : "expiration_time", &wn);
    if (!when)
        when = dbx_json_string(j, rq->endpoint ? "expiration_time" : "expire_time", &wn);
    if (!token || !tn || memchr(token, '\0', tn)) {
        dbx_err_set(err, DBX_EPROTOCOL, "Lakebase credential answer has no usable token");
        goto done;
    }
    if (when && dbx_parse_rfc3339(when, wn, &life.expires_abs) != 0) {
        dbx_err_set(err, DBX_EPROTOCOL, "Lakebase credential answer has an unreadable expiry \"%.40s\"", when);
        goto done;
    }
    life.issuer_now = resp.date;
    rc = dbx_token_accept(out, ctx->json, token, NULL, &life, dbx_now(), "Lakebase credential answer", err);
done:
    if (rc != 0 && resp.request_id[0] && !err->request_id[0])
        dbx_err_set_request_id(err, resp.request_id, strlen(resp.request_id));
    dbx_json_free(j);
    dbx_http_response_free(&resp);
    dbx_buf_free(&body);
    return rc;
}

static void copy_field(dbx_json *j, const char *path, char *out, size_t cap)
{
    size_t n = 0;
    const char *s = dbx_json_string(j, path, &n);
    out[0] = '\0';
    if (s && n < cap && !memchr(s, '\0', n)) {
        memcpy(out, s, n);
        out[n] = '\0';
    }
}

static int get_resource(dbx_client *c, dbx_ctx *ctx, const char *prefix, const char *name, int encode,
                        const char *host_path, const char *state_path, dbx_lb_info *out, dbx_err *err)
{
    dbx_buf path = {0};
    dbx_http_response resp;
    dbx_json *j;
    memset(out, 0, sizeof *out);
    if (dbx_buf_puts(&path, prefix) || (encode ? dbx_buf_urlencode(&path, name) : dbx_buf_puts(&path, name))) {
        dbx_buf_free(&path);
        return dbx_err_set(err, DBX_EIO, "out of memory");
    }
    dbx_http_response_init(&resp);
    j = dbx_client_call_json(c, ctx, "GET", path.data, NULL, 0, &resp, err);
    dbx_buf_free(&path);
    dbx_http_response_free(&resp);
    if (!j)
        return -1;
    copy_field(j, host_path, out->host, sizeof out->host);
    copy_field(j, state_path, out->state, sizeof out->state);
    dbx_json_free(j);
    return 0;
}

int dbx_lb_instance(dbx_client *c, dbx_ctx *ctx, const char *name, dbx_lb_info *out, dbx_err *err)
{
    if (get_resource(c, ctx, DBX_PATH_DB_INSTANCE, name, 1, "read_write_dns", "state", out, err) != 0)
        return dbx_err_context(err, "Lakebase instance %.100s", name);
    return 0;
}

int dbx_lb_endpoint(dbx_client *c, dbx_ctx *ctx, const char *endpoint, dbx_lb_info *out, dbx_err *err)
{
    /* The endpoint name is a path (projects/p/branches/b/endpoints/e): its
     * slashes are separators, so it is checked rather than encoded. */
    for (const char *p = endpoint; *p; p++)
        if (!(*p == '/' || *p == '-' || *p == '_' || *p == '.' || (*p >= '0' && *p <= '9') ||
              (*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z')))
            return dbx_err_set(err, DBX_ECONFIG, "endpoint \"%.100s\" has a character that cannot be in a path",
                               endpoint);
    if (get_resource(c, ctx, DBX_PATH_PG_RESOURCE, endpoint, 0, "status.hosts.host", "status.current_state", out,
                     err) != 0)
        return dbx_err_context(err, "Lakebase endpoint %.150s", endpoint);
    return 0;
}
