/* client.c — the workspace client (see client.h): the token lifecycle per
 * auth type and authenticated calls. It calls no endpoint of its own: the
 * endpoints live in workspace.c, lakebase.c, statement.c (endpoints.h). */
#include "client.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "clitoken.h"
#include "httperr.h"
#include "login.h"
#include "oidc.h"
#include "tokenstore.h"
#include "timeutil.h"

struct dbx_client {
    dbx_config cfg;
    dbx_http *http;
    char *user_agent;
    dbx_oauth_endpoints ep;
    int have_ep;
    dbx_token tok;
    unsigned tok_gen;          /* bumped whenever tok changes */
    dbx_buf auth;              /* "Bearer <tok.access>", cached (wiped on change) */
    dbx_buf url;               /* scratch: the URL of the current call */
    unsigned auth_gen;         /* the tok_gen auth was built for */
    double next_early_refresh; /* after a failed early refresh: not before */
    char *wsid_header;         /* "X-Databricks-Workspace-Id: <id>", or NULL */
    char *env_subject;         /* env_oidc: the JWT last read from the variable, kept registered as a
                                  secret while the client lives (it stays in our environment, so no
                                  message and no child environment may carry it) */
    int cli_force_refresh;     /* databricks_cli: -1 not yet known, 0/1 (clitoken.h) */
};

const dbx_config *dbx_client_config(const dbx_client *c)
{
    return &c->cfg;
}

dbx_http *dbx_client_http(dbx_client *c)
{
    return c->http;
}

const dbx_token *dbx_client_current_token(const dbx_client *c)
{
    return c->tok.access ? &c->tok : NULL;
}

const char *dbx_client_user_agent(const dbx_client *c)
{
    return c->user_agent;
}

const char *dbx_client_workspace_id(const dbx_client *c)
{
    return c->cfg.workspace_id;
}

/* Tokens in the config: a PAT, or a handed-in access/refresh token. */
static int init_tokens(dbx_client *c, dbx_jsonenv *json, dbx_err *err)
{
    double now = dbx_now();
    if (c->cfg.auth == DBX_AUTH_PAT) {
        if (!dbx_token_valid(c->cfg.token))
            return dbx_err_set(err, DBX_ECONFIG,
                               "token: the personal access token contains a blank or a byte outside printable "
                               "ASCII (check for a stray newline): refused");
        if (dbx_token_set(&c->tok, c->cfg.token, NULL, 0, now) != 0)
            return dbx_err_set(err, DBX_EIO, "out of memory");
    } else if ((c->cfg.auth == DBX_AUTH_U2M || c->cfg.auth == DBX_AUTH_TOKEN) &&
               (c->cfg.access_token || c->cfg.refresh_token)) {
        if (dbx_token_handed_in(&c->tok, json, c->cfg.access_token, c->cfg.refresh_token, c->cfg.expires_at, now,
                                "config", err) != 0)
            return -1;
    } else {
        return 0;
    }
    c->tok_gen++;
    if (c->tok.access && c->tok.expires_at > 0 && c->tok.expires_at <= now && !c->tok.refresh)
        return dbx_err_set(err, DBX_EAUTH,
                           "the access_token has already expired and there is no refresh_token to renew "
                           "it: sign in again (databricks.login) or pass a fresh token");
    return 0;
}

dbx_client *dbx_client_new(dbx_config *cfg, const char *user_agent, dbx_jsonenv *json, dbx_err *err)
{
    dbx_client *c = calloc(1, sizeof *c);
    dbx_http_config hc = {0};
    if (!c) {
        dbx_config_free(cfg);
        dbx_err_set(err, DBX_EIO, "out of memory creating a client");
        return NULL;
    }
    c->cfg = *cfg;
    memset(cfg, 0, sizeof *cfg);
    c->cli_force_refresh = -1;
    /* The SDKs' "auth/<method>" segment closes the User-Agent. */
    {
        dbx_buf ua = {0};
        /* Tokens stored by the browser sign-in (the rotator's u2m source)
         * are the SDKs' external-browser, not a handed-in token. */
        const char *sdk = c->cfg.token_store ? "external-browser" : dbx_auth_sdk_name(c->cfg.auth);
        if (dbx_buf_puts(&ua, user_agent) == 0 && (!*sdk || (dbx_buf_puts(&ua, *user_agent ? " auth/" : "auth/") == 0 &&
                                                              dbx_buf_puts(&ua, sdk) == 0)))
            c->user_agent = ua.data;
        else
            dbx_buf_free(&ua);
    }
    if (c->cfg.workspace_id) {
        dbx_buf h = {0};
        if (dbx_buf_printf(&h, "X-Databricks-Workspace-Id: %s", c->cfg.workspace_id) == 0)
            c->wsid_header = h.data;
        else
            dbx_buf_free(&h);
    }
    hc.ca_file = c->cfg.ca_file;
    hc.user_agent = c->user_agent;
    hc.timeout = c->cfg.timeout;
    hc.retry_budget = c->cfg.retry_timeout;
    hc.max_body = c->cfg.max_response_bytes;
    if (!c->user_agent || (c->cfg.workspace_id && !c->wsid_header) || !(c->http = dbx_http_new(&hc, err)) ||
        init_tokens(c, json, err) != 0) {
        if (!c->user_agent || (c->cfg.workspace_id && !c->wsid_header))
            dbx_err_set(err, DBX_EIO, "out of memory creating a client");
        dbx_client_free(c);
        return NULL;
    }
    return c;
}

void dbx_client_free(dbx_client *c)
{
    if (!c)
        return;
    dbx_http_free(c->http);
    dbx_token_clear(&c->tok);
    dbx_buf_free(&c->auth);
    dbx_buf_free(&c->url);
    dbx_config_free(&c->cfg);
    free(c->user_agent);
    free(c->wsid_header);
    dbx_oidc_release(c->env_subject);
    free(c);
}

int dbx_client_endpoints(dbx_client *c, dbx_ctx *ctx, const dbx_oauth_endpoints **ep, dbx_err *err)
{
    if (!c->have_ep) {
        if (dbx_oauth_discover(c->http, ctx->json, c->cfg.host, c->cfg.account_id, &c->ep, err) != 0)
            return -1;
        c->have_ep = 1;
    }
    *ep = &c->ep;
    return 0;
}

/* Gets a new token for the client's auth type. `early`: the current token
 * is still valid, so a single attempt is enough. */
/* Workload identity federation: the subject token, read afresh, for an
 * access token. */
static int exchange(dbx_client *c, dbx_ctx *ctx, int early, dbx_token *out, dbx_err *err)
{
    const dbx_oauth_endpoints *ep;
    dbx_oauth_grant g = {0};
    char *subject;
    int rc;
    if (dbx_client_endpoints(c, ctx, &ep, err) != 0)
        return -1;
    subject = dbx_oidc_subject_token(c->http, ctx->json, &c->cfg, dbx_oidc_audience(&c->cfg, ep->token), err);
    if (!subject)
        return -1;
    g.token_url = ep->token;
    g.client_id = c->cfg.client_id;
    g.scope = c->cfg.scopes;
    g.subject_token = subject;
    g.no_retry = early;
    rc = dbx_oauth_token_exchange(c->http, ctx->json, &g, out, err);
    if (c->cfg.auth == DBX_AUTH_ENV_OIDC) {
        dbx_oidc_release(c->env_subject);
        c->env_subject = subject;
    } else {
        dbx_oidc_release(subject);
    }
    return rc;
}

static int acquire(dbx_client *c, dbx_ctx *ctx, int early, dbx_token *out, dbx_err *err)
{
    const dbx_oauth_endpoints *ep;
    dbx_oauth_grant g = {0};
    dbx_cli_opts co = {0};
    switch (c->cfg.auth) {
    case DBX_AUTH_CLI:
        co.cli = c->cfg.databricks_cli;
        co.host = c->cfg.host;
        co.profile = c->cfg.profile;
        co.account_id = c->cfg.account_id;
        co.timeout = c->cfg.timeout;
        co.force_refresh = &c->cli_force_refresh;
        return dbx_cli_token(ctx->json, &co, out, err);
    case DBX_AUTH_ENV_OIDC:
    case DBX_AUTH_FILE_OIDC:
    case DBX_AUTH_GITHUB_OIDC:
        return exchange(c, ctx, early, out, err);
    case DBX_AUTH_M2M:
        if (dbx_client_endpoints(c, ctx, &ep, err) != 0)
            return -1;
        g.token_url = ep->token;
        g.client_id = c->cfg.client_id;
        g.client_secret = c->cfg.client_secret;
        g.scope = c->cfg.scopes;
        g.no_retry = early;
        return dbx_oauth_client_credentials(c->http, ctx->json, &g, out, err);
    case DBX_AUTH_U2M:
    case DBX_AUTH_TOKEN:
        if (c->cfg.token_store) {
            /* Tokens stored by databricks-oauth-login: the refresh token is
             * read, spent and its successor saved under the file's lock, so
             * concurrent rotators never spend the same one. */
            if (dbx_client_endpoints(c, ctx, &ep, err) != 0)
                return -1;
            return dbx_store_refresh(c->http, ctx->json, c->cfg.token_store, c->cfg.host, ep->token, out, err);
        }
        if (!c->tok.refresh)
            return dbx_err_set(err, DBX_EAUTH,
                               "the access token has expired and there is no refresh_token to renew it: "
                               "sign in again (databricks.login) or pass a fresh access_token");
        if (dbx_client_endpoints(c, ctx, &ep, err) != 0)
            return -1;
        g.token_url = ep->token;
        g.client_id = c->cfg.client_id;
        g.client_secret = c->cfg.client_secret;
        g.refresh_token = c->tok.refresh;
        g.no_retry = early;
        return dbx_oauth_refresh(c->http, ctx->json, &g, out, err);
    default:
        return dbx_err_set(err, DBX_EAUTH, "no way to obtain a token for auth_type %s",
                           dbx_auth_type_name(c->cfg.auth));
    }
}

static int notify_tokens(dbx_client *c, dbx_ctx *ctx, dbx_err *err)
{
    if (!ctx->on_tokens || c->cfg.auth == DBX_AUTH_PAT || c->cfg.auth == DBX_AUTH_CLI)
        return 0;
    return ctx->on_tokens(ctx, &c->tok, err);
}

int dbx_client_set_tokens(dbx_client *c, dbx_ctx *ctx, dbx_token *t, dbx_err *err)
{
    dbx_token_move(&c->tok, t);
    c->tok_gen++;
    c->next_early_refresh = 0;
    return notify_tokens(c, ctx, err);
}

int dbx_client_login(dbx_client *c, dbx_ctx *ctx, int (*open_browser)(void *ud, const char *url, dbx_err *err),
                     void *ud, dbx_err *err)
{
    const dbx_oauth_endpoints *ep;
    dbx_login_opts o = {0};
    dbx_token t = {0};
    if (dbx_client_endpoints(c, ctx, &ep, err) != 0)
        return -1;
    o.host = c->cfg.host;
    o.client_id = c->cfg.client_id;
    o.client_secret = c->cfg.client_secret;
    o.redirect_uri = c->cfg.redirect_given ? c->cfg.redirect_uri : NULL;
    o.scopes = c->cfg.scopes;
    o.timeout = c->cfg.login_timeout;
    o.open_browser = open_browser;
    o.ud = ud;
    if (dbx_login(c->http, ctx->json, ep, &o, &t, err) != 0) {
        dbx_token_clear(&t);
        return -1;
    }
    return dbx_client_set_tokens(c, ctx, &t, err);
}

/* The ctx's retry hook on the transport for the duration of a call. */
typedef struct hook_state {
    dbx_http_retry_fn fn;
    void *ud;
} hook_state;

static void retry_trampoline(void *ud, const char *what, int attempt, double wait, double left, const dbx_err *cause)
{
    dbx_ctx *ctx = ud;
    ctx->on_retry(ctx, what, attempt, wait, left, cause);
}

static void hook_begin(dbx_client *c, dbx_ctx *ctx, hook_state *saved)
{
    dbx_http_set_retry_hook(c->http, ctx && ctx->on_retry ? retry_trampoline : NULL, ctx, &saved->fn, &saved->ud);
}

static void hook_end(dbx_client *c, const hook_state *saved)
{
    dbx_http_set_retry_hook(c->http, saved->fn, saved->ud, NULL, NULL);
}

static int client_token(dbx_client *c, dbx_ctx *ctx, const char **token, double *expires_at, dbx_err *err);

int dbx_client_token(dbx_client *c, dbx_ctx *ctx, const char **token, double *expires_at, dbx_err *err)
{
    hook_state saved;
    int rc;
    hook_begin(c, ctx, &saved);
    rc = client_token(c, ctx, token, expires_at, err);
    hook_end(c, &saved);
    return rc;
}

static int client_token(dbx_client *c, dbx_ctx *ctx, const char **token, double *expires_at, dbx_err *err)
{
    double now = dbx_now();
    dbx_token_state st = dbx_token_check(&c->tok, now);
    dbx_token fresh = {0};

    if (st == DBX_TOKEN_FRESH || (st == DBX_TOKEN_STALE && now < c->next_early_refresh))
        goto ok;
    if (acquire(c, ctx, st == DBX_TOKEN_STALE, &fresh, err) != 0) {
        dbx_token_clear(&fresh);
        if (st != DBX_TOKEN_STALE)
            return -1;
        /* The old token is still valid: keep using it, and do not hammer
         * the token endpoint on every call while it is down. */
        {
            double left = c->tok.expires_at - now;
            c->next_early_refresh = now + (left / 4 < 30 ? left / 4 : 30);
        }
        dbx_err_clear(err);
        goto ok;
    }
    if (dbx_client_set_tokens(c, ctx, &fresh, err) != 0)
        return -1;
ok:
    *token = c->tok.access;
    *expires_at = c->tok.expires_at;
    return 0;
}

int dbx_client_renew(dbx_client *c, dbx_ctx *ctx, double since, const char **token, double *expires_at,
                     dbx_err *err)
{
    if (c->tok.access && c->tok.expires_at > 0 && c->tok.obtained_at < since) {
        c->tok.expires_at = c->tok.obtained_at = dbx_now() - 1;
        c->next_early_refresh = 0;
    }
    return dbx_client_token(c, ctx, token, expires_at, err);
}

/* The cached "Bearer <token>" of a fresh token (rebuilt when the token
 * changed). Valid until the next call on the client. */
static const char *authorization(dbx_client *c, dbx_ctx *ctx, dbx_err *err)
{
    const char *tok;
    double exp;
    if (dbx_client_token(c, ctx, &tok, &exp, err) != 0)
        return NULL;
    if (!c->auth.len || c->auth_gen != c->tok_gen) {
        dbx_buf_reset(&c->auth);
        if (dbx_buf_reserve(&c->auth, strlen(tok) + 8) || dbx_buf_puts(&c->auth, "Bearer ") ||
            dbx_buf_puts(&c->auth, tok)) {
            dbx_err_set(err, DBX_EIO, "out of memory");
            return NULL;
        }
        c->auth_gen = c->tok_gen;
    }
    return c->auth.data;
}

int dbx_client_authorization(dbx_client *c, dbx_ctx *ctx, dbx_buf *out, dbx_err *err)
{
    const char *a = authorization(c, ctx, err);
    if (!a)
        return -1;
    return dbx_buf_puts(out, a) ? dbx_err_set(err, DBX_EIO, "out of memory") : 0;
}

static int renewable(const dbx_client *c)
{
    return c->cfg.auth == DBX_AUTH_M2M || c->cfg.auth == DBX_AUTH_CLI || DBX_AUTH_IS_OIDC(c->cfg.auth) ||
           c->cfg.token_store ||
           ((c->cfg.auth == DBX_AUTH_U2M || c->cfg.auth == DBX_AUTH_TOKEN) && c->tok.refresh);
}

static int client_call(dbx_client *c, dbx_ctx *ctx, const dbx_call *call, dbx_http_response *resp, dbx_err *err);

/* Worth one renewal and a retry: a 401 (revoked or rotated early), or a 403
 * on a token past or within the SDKs' 40 s buffer of its expiry (some
 * services answer an expired token with 403; a 403 on a fresh token is a
 * real permission error and is reported as it is). */
static int renew_for(const dbx_client *c, long status)
{
    if (!renewable(c))
        return 0;
    if (status == 401)
        return 1;
    return status == 403 && c->tok.expires_at > 0 && dbx_now() >= c->tok.expires_at - DBX_TOKEN_SDK_BUFFER;
}

/* The header list of a call: the caller's plus the workspace id header,
 * in a list the caller frees (*own). -1 with err when the caller set the
 * header itself (the configured workspace id is the client's, as the
 * Authorization header is) or out of memory. */
static int call_headers(const dbx_client *c, const char *const *headers, const char ***own, dbx_err *err)
{
    size_t n = 0;
    const char **list;
    *own = NULL;
    for (; headers && headers[n]; n++)
        if (strncasecmp(headers[n], "X-Databricks-Workspace-Id:", 26) == 0)
            return dbx_err_set(err, DBX_ECONFIG,
                               "request: the X-Databricks-Workspace-Id header is set by the client (workspace_id "
                               "%s) and cannot be overridden",
                               c->cfg.workspace_id);
    if (!(list = malloc((n + 2) * sizeof *list)))
        return dbx_err_set(err, DBX_EIO, "out of memory");
    for (size_t i = 0; i < n; i++)
        list[i] = headers[i];
    list[n] = c->wsid_header;
    list[n + 1] = NULL;
    *own = list;
    return 0;
}

int dbx_client_call(dbx_client *c, dbx_ctx *ctx, const char *method, const char *path,
                    const char *content_type, const char *body, size_t body_len,
                    const char *const *headers, dbx_http_response *resp, dbx_err *err)
{
    dbx_call call = {0};
    call.method = method;
    call.path = path;
    call.content_type = content_type;
    call.body = body;
    call.body_len = body_len;
    call.headers = headers;
    return dbx_client_call_ex(c, ctx, &call, resp, err);
}

int dbx_client_call_ex(dbx_client *c, dbx_ctx *ctx, const dbx_call *call, dbx_http_response *resp, dbx_err *err)
{
    hook_state saved;
    int rc;
    hook_begin(c, ctx, &saved);
    rc = client_call(c, ctx, call, resp, err);
    hook_end(c, &saved);
    return rc;
}

static int client_call(dbx_client *c, dbx_ctx *ctx, const dbx_call *call, dbx_http_response *resp, dbx_err *err)
{
    const char *method = call->method, *path = call->path;
    const char *const *headers = call->headers;
    dbx_buf *url = &c->url;
    dbx_http_request req = {0};
    char what[300];
    int rc = -1;
    const char **own = NULL;

    resp->status = 0; /* nothing from an earlier call on the same response */
    if (!path || path[0] != '/')
        return dbx_err_set(err, DBX_ECONFIG, "request path must start with '/' (got \"%.100s\")", path ? path : "");
    if (c->wsid_header) {
        if (call_headers(c, headers, &own, err) != 0)
            return -1;
        headers = own;
    }
    for (int round = 0; round < 2; round++) {
        /* The token first: getting one may run on_tokens, which may itself
         * call this client (and reuse the scratch URL buffer). */
        const char *auth = authorization(c, ctx, err);
        if (!auth)
            break;
        dbx_buf_reset(url);
        if (dbx_buf_puts(url, c->cfg.host) || dbx_buf_puts(url, path)) {
            dbx_err_set(err, DBX_EIO, "out of memory");
            break;
        }
        req.method = method;
        req.url = url->data;
        req.authorization = auth;
        req.content_type = call->body || (call->stream && call->stream->read)
                               ? (call->content_type ? call->content_type : "application/json")
                               : NULL;
        req.body = call->body;
        req.body_len = call->body_len;
        req.headers = headers;
        req.stream = call->stream;
        req.no_retry = call->no_retry;
        req.ignore_stop = call->ignore_stop;
        if (dbx_http_send(c->http, &req, resp, err) != 0) {
            snprintf(what, sizeof what, "%s %.*s", method, (int)strcspn(path, "?"), path);
            dbx_err_context(err, "%s", what);
            break;
        }
        if (resp->status >= 200 && resp->status < 300) {
            rc = 0;
            break;
        }
        if (round == 0 && renew_for(c, resp->status)) {
            /* The token was revoked, rotated early or has just expired:
             * renew once. */
            c->tok.expires_at = c->tok.obtained_at = dbx_now() - 1;
            c->next_early_refresh = 0;
            continue;
        }
        snprintf(what, sizeof what, "%s %.*s", method, (int)strcspn(path, "?"), path);
        dbx_http_error(ctx->json, resp, what, err);
        break;
    }
    free(own);
    return rc;
}

dbx_json *dbx_client_call_json(dbx_client *c, dbx_ctx *ctx, const char *method, const char *path,
                               const char *body, size_t body_len, dbx_http_response *resp, dbx_err *err)
{
    dbx_json *j;
    if (dbx_client_call(c, ctx, method, path, NULL, body, body_len, NULL, resp, err) != 0)
        return NULL;
    j = dbx_json_decode(ctx->json, dbx_buf_str(&resp->body), resp->body.len);
    if (!j) {
        dbx_err_set(err, DBX_EPROTOCOL, "%s %.*s: the answer is not a JSON object", method,
                    (int)strcspn(path, "?"), path);
        if (resp->request_id[0])
            dbx_err_set_request_id(err, resp->request_id, strlen(resp->request_id));
    }
    return j;
}
