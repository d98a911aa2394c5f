/* rotate.c — one rotation (see rotate.h). */
#include "rotate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "config.h"
#include "hostname.h"
#include "jwt.h"
#include "lakebase.h"
#include "oauth.h"
#include "pgpass.h"
#include "timeutil.h"
#include "tokenstore.h"
#include "workspace.h"

static int valid_source(const char *s)
{
    return !s || !strcmp(s, "m2m") || !strcmp(s, "u2m") || !strcmp(s, "cli");
}

int dbx_rotate_check(const dbx_rotate_opts *o, dbx_err *err)
{
    char host[300];
    if (!o->workspace_url || !*o->workspace_url)
        return dbx_err_set(err, DBX_ECONFIG, "the workspace URL is required (--workspace-url or DATABRICKS_HOST)");
    if (dbx_normalize_host(o->workspace_url, host, sizeof host, err) != 0)
        return dbx_err_context(err, "--workspace-url");
    if (!valid_source(o->auth))
        return dbx_err_set(err, DBX_ECONFIG, "--auth must be m2m, u2m or cli (got \"%.20s\")", o->auth);
    if (o->auth && !strcmp(o->auth, "m2m") && (!o->client_id || !o->client_secret))
        return dbx_err_set(err, DBX_ECONFIG,
                           "--auth m2m needs DATABRICKS_CLIENT_ID and a client secret (DATABRICKS_CLIENT_SECRET "
                           "or --client-secret-file)");
    if (o->client_secret && !o->client_id)
        return dbx_err_set(err, DBX_ECONFIG, "a client secret was given without DATABRICKS_CLIENT_ID");
    if (o->instance_name && o->endpoint)
        return dbx_err_set(err, DBX_ECONFIG, "--instance-name and --endpoint are exclusive: give one");
    if (!o->instance_name && (!o->pg_host || !*o->pg_host))
        return dbx_err_set(err, DBX_ECONFIG,
                           "the PostgreSQL host is required (--pg-host or DATABRICKS_PG_HOST), unless "
                           "--instance-name names a Lakebase instance");
    if (o->endpoint && strncmp(o->endpoint, "projects/", 9) != 0)
        return dbx_err_set(err, DBX_ECONFIG,
                           "--endpoint must look like projects/<project>/branches/<branch>/endpoints/<endpoint>");
    if (o->pg_port && (o->pg_port < 1 || o->pg_port > 65535))
        return dbx_err_set(err, DBX_ECONFIG, "--pg-port must be 1-65535");
    return 0;
}

/* Builds the client for the chosen source. For u2m the stored refresh token
 * is spent (and its successor saved) here. */
static dbx_client *make_client(dbx_jsonenv *env, const dbx_rotate_opts *o, const char *host, const char *source,
                               const char *store_path, dbx_err *err)
{
    dbx_config cfg;
    dbx_client *c;
    dbx_ctx ctx = {env, NULL, NULL};
    memset(&cfg, 0, sizeof cfg);
    cfg.host = strdup(host);
    cfg.timeout = o->timeout > 0 ? o->timeout : 30;
    cfg.retry_timeout = o->retry_budget > 0 ? o->retry_budget : 60;
    cfg.ca_file = o->ca_bundle ? strdup(o->ca_bundle) : NULL;
    cfg.databricks_cli = strdup(o->databricks_cli ? o->databricks_cli : "databricks");
    if (!strcmp(source, "m2m")) {
        cfg.auth = DBX_AUTH_M2M;
        cfg.client_id = strdup(o->client_id);
        cfg.client_secret = strdup(o->client_secret);
    } else if (!strcmp(source, "cli")) {
        cfg.auth = DBX_AUTH_CLI;
    } else {
        cfg.auth = DBX_AUTH_TOKEN; /* tokens come from the store below */
    }
    if (!cfg.host || !cfg.databricks_cli || (o->ca_bundle && !cfg.ca_file) ||
        (cfg.auth == DBX_AUTH_M2M && (!cfg.client_id || !cfg.client_secret))) {
        dbx_config_free(&cfg);
        dbx_err_set(err, DBX_EIO, "out of memory");
        return NULL;
    }
    c = dbx_client_new(&cfg, o->user_agent ? o->user_agent : "", env, err);
    if (!c || strcmp(source, "u2m") != 0)
        return c;
    {
        const dbx_oauth_endpoints *ep;
        dbx_token t = {0};
        if (dbx_client_endpoints(c, &ctx, &ep, err) != 0 ||
            dbx_store_refresh(dbx_client_http(c), env, store_path, host, ep->token, &t, err) != 0 ||
            dbx_client_set_tokens(c, &ctx, &t, err) != 0) {
            dbx_token_clear(&t);
            dbx_client_free(c);
            return NULL;
        }
    }
    return c;
}

static void copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

int dbx_rotate_once(dbx_jsonenv *env, const dbx_rotate_opts *o, dbx_rotate_report *r, dbx_err *err)
{
    char host[300], user[256], dns[256];
    dbx_claims claims;
    const char *source = o->auth, *token;
    dbx_buf store = {0};
    dbx_client *c = NULL;
    dbx_ctx ctx = {env, NULL, NULL};
    dbx_http_response resp;
    dbx_token cred = {0};
    dbx_pgpass_entry e;
    dbx_pgpass_report pr;
    char port[8];
    double exp, now, margin, ttl;
    int rc = -1;

    memset(r, 0, sizeof *r);
    memset(&pr, 0, sizeof pr);
    dbx_http_response_init(&resp);
    if (dbx_rotate_check(o, err) != 0 || dbx_normalize_host(o->workspace_url, host, sizeof host, err) != 0)
        return -1;
    if (o->token_store ? dbx_buf_puts(&store, o->token_store) != 0
                       : dbx_store_default_path(host, &store, err) != 0) {
        if (!err->kind)
            dbx_err_set(err, DBX_EIO, "out of memory");
        goto done;
    }
    if (!source)
        source = o->client_id && o->client_secret ? "m2m" : dbx_store_exists(store.data) ? "u2m" : "cli";
    copy(r->source, sizeof r->source, source);

    if (!(c = make_client(env, o, host, source, store.data, err)))
        goto done;
    if (dbx_client_token(c, &ctx, &token, &exp, err) != 0)
        goto done;

    if (o->pg_username) {
        copy(user, sizeof user, o->pg_username);
    } else if (dbx_ws_me(c, &ctx, &resp, user, sizeof user, err) != 0) {
        dbx_err_context(err, "finding the PostgreSQL user name (give --pg-username to skip this)");
        goto done;
    }
    if (o->pg_host) {
        copy(dns, sizeof dns, o->pg_host);
    } else {
        dbx_lb_info info;
        if (dbx_lb_instance(c, &ctx, o->instance_name, &info, err) != 0)
            goto done;
        if (!info.host[0]) {
            dbx_err_set(err, DBX_EPROTOCOL, "Lakebase instance %s has no read_write_dns yet (is it still starting?)",
                        o->instance_name);
            goto done;
        }
        copy(dns, sizeof dns, info.host);
    }

    if (o->instance_name || o->endpoint) {
        const char *names[] = {o->instance_name, NULL};
        dbx_lb_request rq = {0};
        rq.instance_names = o->instance_name ? names : NULL;
        rq.endpoint = o->endpoint;
        if (dbx_lb_credential(c, &ctx, &rq, &cred, err) != 0)
            goto done;
    } else if (dbx_token_set(&cred, token, NULL, exp, dbx_now()) != 0) {
        dbx_err_set(err, DBX_EIO, "out of memory");
        goto done;
    }

    /* The claims are read, never verified: they only name the subject in
     * the log. The lifetime was judged from what the server stated (see
     * token.h), so a skewed local clock cannot make it look expired. */
    {
        dbx_err ignored;
        dbx_err_clear(&ignored);
        if (dbx_jwt_claims(env, cred.access, &claims, &ignored) != 0)
            memset(&claims, 0, sizeof claims);
    }
    now = dbx_now();
    ttl = cred.expires_at - cred.obtained_at;
    /* The safety margin scales down for short-lived credentials (a token
     * that lives 10 minutes in all may be written with 2 minutes left). */
    margin = o->min_validity > 0 ? o->min_validity : 120;
    if (ttl > 0 && ttl / 4 < margin)
        margin = ttl / 4;
    if (cred.expires_at > 0 && cred.expires_at - now < margin) {
        dbx_err_set(err, DBX_EAUTH,
                    "the %s expires in %.0f s, too soon to be worth writing: .pgpass was left as it was",
                    o->instance_name || o->endpoint ? "Lakebase credential" : "workspace token",
                    cred.expires_at - now);
        goto done;
    }

    snprintf(port, sizeof port, "%d", o->pg_port ? o->pg_port : 5432);
    e.host = dns;
    e.port = port;
    e.database = o->pg_database ? o->pg_database : "databricks_postgres";
    e.username = user;
    e.password = cred.access;
    if (dbx_pgpass_update(o->pgpass_file, &e, 0, &pr, err) != 0)
        goto done;

    copy(r->subject, sizeof r->subject, claims.sub[0] ? claims.sub : user);
    r->expires_at = cred.expires_at;
    r->clock_skew = cred.clock_skew;
    copy(r->pgpass_file, sizeof r->pgpass_file, dbx_buf_str(&pr.file.target));
    copy(r->pg_host, sizeof r->pg_host, dns);
    r->pg_port = o->pg_port ? o->pg_port : 5432;
    copy(r->pg_database, sizeof r->pg_database, e.database);
    copy(r->pg_username, sizeof r->pg_username, user);
    copy(r->action, sizeof r->action, dbx_pgpass_action_name(pr.edit.action));
    r->mode_fixed = pr.file.mode_fixed;
    rc = 0;
done:
    dbx_http_response_free(&resp);
    dbx_pgpass_report_free(&pr);
    dbx_token_clear(&cred);
    dbx_client_free(c);
    dbx_buf_free(&store);
    return rc;
}
