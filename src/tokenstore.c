/* tokenstore.c — stored U2M tokens (see tokenstore.h). The grant runs
 * inside the atomicfile edit callback, i.e. under the lock, and its result
 * is what the callback writes. */
#include "tokenstore.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "atomicfile.h"
#include "timeutil.h"

int dbx_store_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

static int field(dbx_buf *b, const char *name, const char *value, int first)
{
    if (!value)
        return 0;
    return dbx_buf_puts(b, first ? "{\n  " : ",\n  ") || dbx_buf_json_string(b, name) || dbx_buf_puts(b, ": ") ||
           dbx_buf_json_string(b, value);
}

static int render(dbx_buf *b, const dbx_store_entry *e, const dbx_token *t)
{
    return dbx_buf_puts(b, "{\n  \"version\": 1") || field(b, "host", e->host, 0) ||
           field(b, "client_id", e->client_id, 0) || field(b, "client_secret", e->client_secret, 0) ||
           field(b, "scopes", e->scopes, 0) || field(b, "refresh_token", t->refresh, 0) ||
           field(b, "access_token", t->access, 0) ||
           (t->expires_at > 0 && dbx_buf_printf(b, ",\n  \"expires_at\": %.0f", t->expires_at)) ||
           dbx_buf_puts(b, "\n}\n");
}

typedef struct save_ctx {
    const dbx_store_entry *e;
    const dbx_token *t;
} save_ctx;

static int save_edit(void *p, const char *old, size_t n, int existed, dbx_buf *out, dbx_err *err)
{
    save_ctx *c = p;
    (void)old, (void)n, (void)existed;
    return render(out, c->e, c->t) ? dbx_err_set(err, DBX_EIO, "out of memory") : DBX_AF_WRITE;
}

int dbx_store_save(const char *path, const dbx_store_entry *e, const dbx_token *t, dbx_err *err)
{
    dbx_af_opts o = {0};
    dbx_af_state st = {0};
    save_ctx c = {e, t};
    int rc;
    if (!t->refresh)
        return dbx_err_set(err, DBX_EAUTH,
                           "the sign-in returned no refresh token (was the offline_access scope granted?): "
                           "the rotator could not renew it");
    o.fix_mode = 1;
    rc = dbx_af_update(path, &o, save_edit, &c, &st, err);
    dbx_af_state_free(&st);
    return rc;
}

typedef struct refresh_ctx {
    dbx_http *h;
    dbx_jsonenv *env;
    const char *path, *host, *token_url;
    dbx_token *out;
} refresh_ctx;

static int refresh_edit(void *p, const char *old, size_t n, int existed, dbx_buf *out, dbx_err *err)
{
    refresh_ctx *c = p;
    dbx_json *j;
    dbx_oauth_grant g = {0};
    dbx_store_entry e = {0};
    const char *host;
    size_t len;
    int rc = -1;

    if (!existed)
        return dbx_err_set(err, DBX_ECONFIG,
                           "no stored OAuth tokens at %s: run databricks-oauth-login --workspace-url %s first",
                           c->path, c->host);
    if (!(j = dbx_json_decode(c->env, old, n)))
        return dbx_err_set(err, DBX_ECONFIG, "%s is not a token file written by databricks-oauth-login (not JSON): "
                                             "run databricks-oauth-login again",
                           c->path);
    host = dbx_json_string(j, "host", &len);
    g.refresh_token = dbx_json_string(j, "refresh_token", &len);
    g.client_id = dbx_json_string(j, "client_id", &len);
    g.client_secret = dbx_json_string(j, "client_secret", &len);
    e.scopes = dbx_json_string(j, "scopes", &len);
    if (!host || strcmp(host, c->host) != 0) {
        dbx_err_set(err, DBX_ECONFIG, "%s holds tokens for %s, not %s: run databricks-oauth-login --workspace-url %s",
                    c->path, host ? host : "(no host)", c->host, c->host);
        goto done;
    }
    if (!g.refresh_token || !g.client_id) {
        dbx_err_set(err, DBX_ECONFIG, "%s has no refresh_token/client_id: run databricks-oauth-login again", c->path);
        goto done;
    }
    g.token_url = c->token_url;
    if (dbx_oauth_refresh(c->h, c->env, &g, c->out, err) != 0) {
        dbx_err_context(err, "stored tokens %s", c->path);
        goto done;
    }
    e.host = host;
    e.client_id = g.client_id;
    e.client_secret = g.client_secret;
    if (render(out, &e, c->out)) {
        dbx_err_set(err, DBX_EIO, "out of memory");
        goto done;
    }
    rc = DBX_AF_WRITE;
done:
    dbx_json_free(j);
    return rc;
}

int dbx_store_refresh(dbx_http *h, dbx_jsonenv *env, const char *path, const char *host,
                      const char *token_url, dbx_token *out, dbx_err *err)
{
    dbx_af_opts o = {0};
    dbx_af_state st = {0};
    refresh_ctx c = {h, env, path, host, token_url, out};
    int rc;
    /* The grant may take a while (retries): wait for another rotator's
     * refresh rather than fail. */
    o.lock_timeout = 120;
    o.fix_mode = 1;
    rc = dbx_af_update(path, &o, refresh_edit, &c, &st, err);
    dbx_af_state_free(&st);
    if (rc != 0) {
        if (out->access)
            dbx_err_append(err, "the stored refresh token was spent but its successor could not be saved: "
                                "run databricks-oauth-login again");
        dbx_token_clear(out);
    }
    return rc;
}
