/* workspace.c — SCIM Me and the Unity Catalog table get (see workspace.h). */
#include "workspace.h"

#include <string.h>

#include "endpoints.h"

static int copy_string(dbx_json *j, const char *key, char *out, size_t cap)
{
    size_t n = 0;
    const char *s = dbx_json_string(j, key, &n);
    if (!s || n == 0 || n >= cap || memchr(s, '\0', n))
        return -1;
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

int dbx_ws_me(dbx_client *c, dbx_ctx *ctx, dbx_http_response *resp, char *user, size_t cap, dbx_err *err)
{
    char name[512];
    dbx_json *j = dbx_client_call_json(c, ctx, "GET", DBX_PATH_SCIM_ME, NULL, 0, resp, err);
    int rc;
    if (!j)
        return err->kind == DBX_EPROTOCOL ? dbx_err_context(err, "SCIM Me") : -1;
    rc = copy_string(j, "userName", user ? user : name, user ? cap : sizeof name);
    dbx_json_free(j);
    if (rc != 0) {
        dbx_err_set(err, DBX_EPROTOCOL, "SCIM Me: the answer has no usable userName");
        dbx_err_set_request_id(err, resp->request_id, strlen(resp->request_id));
        return -1;
    }
    return 0;
}

int dbx_ws_get_table(dbx_client *c, dbx_ctx *ctx, const char *full_name, dbx_http_response *resp,
                     dbx_err *err)
{
    dbx_buf path = {0};
    dbx_json *j;
    int rc = -1;
    if (dbx_buf_puts(&path, DBX_PATH_UC_TABLE) || dbx_buf_urlencode(&path, full_name)) {
        dbx_buf_free(&path);
        return dbx_err_set(err, DBX_EIO, "out of memory");
    }
    j = dbx_client_call_json(c, ctx, "GET", path.data, NULL, 0, resp, err);
    dbx_buf_free(&path);
    if (!j)
        return err->kind == DBX_EPROTOCOL ? dbx_err_context(err, "Unity Catalog table %.200s", full_name) : -1;
    if (dbx_json_has(j, "name")) {
        rc = 0;
    } else {
        dbx_err_set(err, DBX_EPROTOCOL, "Unity Catalog table %.200s: the answer has no name", full_name);
        dbx_err_set_request_id(err, resp->request_id, strlen(resp->request_id));
    }
    dbx_json_free(j);
    return rc;
}
