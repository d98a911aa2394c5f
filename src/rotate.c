/* rotate.c — the rotator's client and the rotation step (see rotate.h). */
#include "rotate.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hostname.h"
#include "jwt.h"
#include "lakebase.h"
#include "outputs.h"
#include "timeutil.h"
#include "tokenstore.h"
#include "workspace.h"

static void copy(char *dst, size_t cap, const char *src)
{
    snprintf(dst, cap, "%s", src ? src : "");
}

int dbx_rotator_config(const dbx_rotator_source *s, dbx_config *out, char source[8], dbx_err *err)
{
    dbx_config_input in;
    dbx_buf store = {0};
    char host[300];
    const char *src = s->auth;
    int rc;

    memset(out, 0, sizeof *out);
    if (!s->workspace_url || !*s->workspace_url)
        return dbx_err_set(err, DBX_ECONFIG, "the workspace URL is required");
    if (dbx_normalize_host(s->workspace_url, host, sizeof host, err) != 0)
        return -1;
    /* The default location is databricks.paths' to decide (Lua fills it in). */
    if (!s->token_store || !*s->token_store)
        return dbx_err_set(err, DBX_ECONFIG, "the token store path is required");
    if (dbx_buf_puts(&store, s->token_store) != 0) {
        dbx_buf_free(&store);
        return dbx_err_set(err, DBX_EIO, "out of memory");
    }
    if (!src)
        src = s->client_id && s->client_secret             ? "m2m"
              : s->oidc_token_file || s->oidc_token_env ? "oidc"
              : dbx_store_exists(store.data)               ? "u2m"
                                                           : "cli";
    copy(source, 8, src);

    dbx_config_input_init(&in);
    in.host = host;
    in.ca_bundle = s->ca_bundle;
    in.ca_bundle_name = "--ca-bundle";
    in.timeout = s->timeout > 0 ? s->timeout : 30;
    in.retry_timeout = s->retry_budget > 0 ? s->retry_budget : 60;
    in.databricks_cli = s->databricks_cli;
    in.account_id = s->account_id;
    if (strcmp(src, "m2m") == 0) {
        in.auth_type = "oauth_m2m";
        in.client_id = s->client_id;
        in.client_secret = s->client_secret;
    } else if (strcmp(src, "u2m") == 0) {
        in.auth_type = "token";
        in.token_store = store.data;
    } else if (strcmp(src, "cli") == 0) {
        in.auth_type = "databricks_cli";
        in.profile = s->profile;
    } else if (strcmp(src, "oidc") == 0) {
        /* GitHub Actions names itself (DESIGN.md §7); elsewhere the JWT is
         * in DATABRICKS_OIDC_TOKEN unless a file or variable is named. */
        in.auth_type = s->oidc_token_file ? "file_oidc"
                       : s->oidc_token_env ? "env_oidc"
                       : getenv("ACTIONS_ID_TOKEN_REQUEST_URL") ? "github_oidc"
                                                                : "env_oidc";
        in.client_id = s->client_id;
        in.oidc_token_file = s->oidc_token_file;
        in.oidc_token_env = s->oidc_token_env;
        in.token_audience = s->token_audience;
    } else {
        dbx_buf_free(&store);
        return dbx_err_set(err, DBX_ECONFIG, "unknown token source \"%.20s\" (m2m, u2m, cli or oidc)", src);
    }
    rc = dbx_config_build(&in, out, err);
    dbx_buf_free(&store);
    return rc;
}

/* The instance's or endpoint's host and state, as the target needs. */
static int resolve_resource(dbx_client *c, dbx_ctx *ctx, const dbx_rotate_target *t, dbx_rotate_report *r,
                            dbx_err *err)
{
    dbx_lb_info info;
    if (!t->instance_name && !t->endpoint) {
        copy(r->pg_host, sizeof r->pg_host, t->pg_host);
        return 0;
    }
    if ((t->instance_name ? dbx_lb_instance(c, ctx, t->instance_name, &info, err)
                          : dbx_lb_endpoint(c, ctx, t->endpoint, &info, err)) != 0) {
        /* Only needed for the host: with a host given, the state is a
         * nicety and its look-up failing is no reason to stop. */
        if (t->pg_host && err->kind != DBX_EAUTH) {
            dbx_err_clear(err);
            copy(r->pg_host, sizeof r->pg_host, t->pg_host);
            return 0;
        }
        return -1;
    }
    copy(r->state, sizeof r->state, info.state);
    if (t->pg_host) {
        copy(r->pg_host, sizeof r->pg_host, t->pg_host);
        return 0;
    }
    if (!info.host[0])
        return dbx_err_set(err, DBX_EPROTOCOL, "Lakebase %s %s has no host yet (state %s): is it still starting?",
                           t->instance_name ? "instance" : "endpoint",
                           t->instance_name ? t->instance_name : t->endpoint, info.state[0] ? info.state : "unknown");
    copy(r->pg_host, sizeof r->pg_host, info.host);
    return 0;
}

static int credential(dbx_client *c, dbx_ctx *ctx, const dbx_rotate_target *t, double started, dbx_token *cred,
                      dbx_err *err)
{
    const char *token;
    double exp;
    if (t->instance_name || t->endpoint) {
        const char *names[] = {t->instance_name, NULL};
        dbx_lb_request rq = {0};
        rq.instance_names = t->instance_name ? names : NULL;
        rq.endpoint = t->endpoint;
        rq.ttl = t->ttl;
        return dbx_lb_credential(c, ctx, &rq, cred, err);
    }
    /* No Lakebase resource: the workspace token itself is the password,
     * so each rotation gets a new one (the longest-lived password). */
    if (dbx_client_renew(c, ctx, started, &token, &exp, err) != 0)
        return -1;
    if (dbx_token_set(cred, token, NULL, exp, dbx_now()) != 0)
        return dbx_err_set(err, DBX_EIO, "out of memory");
    return 0;
}

static void write_outputs(const dbx_rotate_target *t, const dbx_credential *cred, dbx_rotate_report *r,
                          dbx_err *err)
{
    static const dbx_rotate_output pgpass = {"pgpass", NULL};
    const dbx_rotate_output *outs = t->n_outputs ? t->outputs : &pgpass;
    size_t n = t->n_outputs ? t->n_outputs : 1;
    for (size_t i = 0; i < n; i++) {
        dbx_rotate_output_report *o = &r->outputs[i];
        const dbx_output_kind *k = dbx_output_find(outs[i].kind);
        dbx_output_result res;
        memset(&res, 0, sizeof res);
        dbx_err_clear(&o->err);
        if (!k) {
            dbx_err_set(&o->err, DBX_ECONFIG, "unknown output kind \"%.20s\"", outs[i].kind ? outs[i].kind : "");
        } else if (dbx_output_write(k, outs[i].path, cred, 0, &res, &o->err) == 0) {
            o->ok = 1;
            copy(o->action, sizeof o->action, res.edit.action);
            copy(o->warning, sizeof o->warning, res.edit.warning);
            o->mode_fixed = res.file.mode_fixed;
        }
        copy(o->path, sizeof o->path, res.file.target.len ? dbx_buf_str(&res.file.target) : outs[i].path);
        dbx_af_state_free(&res.file);
        if (!o->ok && r->failed++ == 0)
            *err = o->err;
    }
}

int dbx_rotate_once(dbx_client *c, dbx_ctx *ctx, const dbx_rotate_target *t, dbx_rotate_report *r,
                      dbx_err *err)
{
    dbx_http_response resp;
    dbx_token cred = {0};
    dbx_credential out;
    dbx_claims claims;
    char port[8];
    double now, margin, ttl, started = dbx_now();
    int rc = -1;

    r->failed = 0;
    r->state[0] = r->subject[0] = '\0';
    dbx_http_response_init(&resp);
    if (t->pg_username) {
        copy(r->pg_username, sizeof r->pg_username, t->pg_username);
    } else if (dbx_ws_me(c, ctx, &resp, r->pg_username, sizeof r->pg_username, err) != 0) {
        dbx_err_context(err, "finding the PostgreSQL user name (give --pg-username to skip this)");
        goto done;
    }
    if (!t->pg_host && !t->instance_name && !t->endpoint) {
        dbx_err_set(err, DBX_ECONFIG, "no PostgreSQL host: give pg_host, instance_name or endpoint");
        goto done;
    }
    if (resolve_resource(c, ctx, t, r, err) != 0 || credential(c, ctx, t, started, &cred, err) != 0)
        goto done;

    /* The lifetime was judged from what the server stated (token.h), so a
     * skewed local clock cannot make a fresh credential look expired. The
     * safety margin scales down for short-lived credentials (a token that
     * lives 10 minutes in all may be written with 2 minutes left). */
    now = dbx_now();
    ttl = cred.expires_at - cred.obtained_at;
    margin = t->min_validity > 0 ? t->min_validity : 120;
    if (ttl > 0 && ttl / 4 < margin)
        margin = ttl / 4;
    if (cred.expires_at > 0 && cred.expires_at - now < margin) {
        dbx_err_set(err, DBX_EAUTH, "the %s expires in %.0f s, too soon to be worth writing: no file was changed",
                    t->instance_name || t->endpoint ? "Lakebase credential" : "workspace token",
                    cred.expires_at - now);
        goto done;
    }
    {
        /* The claims are read, never verified: they only name the subject. */
        dbx_err ignored;
        dbx_err_clear(&ignored);
        if (dbx_jwt_claims(ctx->json, cred.access, &claims, &ignored) != 0)
            memset(&claims, 0, sizeof claims);
    }
    r->pg_port = t->pg_port ? t->pg_port : 5432;
    snprintf(port, sizeof port, "%d", r->pg_port);
    copy(r->pg_database, sizeof r->pg_database, t->pg_database ? t->pg_database : "databricks_postgres");
    copy(r->subject, sizeof r->subject, claims.sub[0] ? claims.sub : r->pg_username);
    r->expires_at = cred.expires_at;
    r->clock_skew = cred.clock_skew;
    out.host = r->pg_host;
    out.port = port;
    out.database = r->pg_database;
    out.username = r->pg_username;
    out.password = cred.access;
    out.expires_at = cred.expires_at;
    if (t->no_write) {
        dbx_token_move(&r->password, &cred);
        rc = 0;
        goto done;
    }
    write_outputs(t, &out, r, err);
    rc = r->failed ? -2 : 0;
done:
    dbx_http_response_free(&resp);
    dbx_token_clear(&cred);
    return rc;
}
