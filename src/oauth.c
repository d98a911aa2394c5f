/* oauth.c — discovery and token grants (see oauth.h). */
#include "oauth.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "base64url.h"
#include "buf.h"
#include "endpoints.h"
#include "hostname.h"
#include "httperr.h"
#include "jwt.h"
#include "redact.h"
#include "timeutil.h"

int dbx_oauth_same_origin(const char *url, size_t n, const char *origin)
{
    size_t olen = strlen(origin), alen;
    const char *auth;
    char norm[300];
    dbx_err ignored;
    if (n < 8 || memchr(url, '\0', n))
        return 0;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)url[i] <= 0x20 || (unsigned char)url[i] >= 0x7f)
            return 0;
    if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)
        return 0;
    /* The authority as the host was normalised (lower case, default port
     * dropped), then compared whole: "https://h.evil" and "https://h:444"
     * are other origins than "https://h". */
    auth = strstr(url, "://") + 3;
    alen = strcspn(auth, "/?#");
    if ((size_t)(auth - url) + alen >= n || auth[alen] != '/' || (size_t)(auth - url) + alen + 1 > sizeof norm)
        return 0;
    memcpy(norm, url, (size_t)(auth - url) + alen);
    norm[(size_t)(auth - url) + alen] = '\0';
    dbx_err_clear(&ignored);
    {
        char out[300];
        if (dbx_normalize_host(norm, out, sizeof out, &ignored) != 0)
            return 0;
        return strlen(out) == olen && memcmp(out, origin, olen) == 0;
    }
}

static int copy_endpoint(char *dst, size_t cap, const char *s, size_t n, const char *origin)
{
    if (n == 0 || n >= cap || !dbx_oauth_same_origin(s, n, origin))
        return -1;
    memcpy(dst, s, n);
    dst[n] = '\0';
    return 0;
}

int dbx_oauth_discover(dbx_http *h, dbx_jsonenv *env, const char *host, const char *account_id,
                       dbx_oauth_endpoints *out, dbx_err *err)
{
    char url[600];
    dbx_http_response resp;
    dbx_http_request req = {0};
    dbx_json *j;
    const char *tok, *auth;
    size_t tn = 0, an = 0;
    int rc = -1;

    if (account_id) {
        snprintf(out->authorize, sizeof out->authorize, "%s/oidc/accounts/%s/v1/authorize", host, account_id);
        snprintf(out->token, sizeof out->token, "%s/oidc/accounts/%s/v1/token", host, account_id);
        return 0;
    }
    snprintf(url, sizeof url, "%s" DBX_PATH_OIDC_DISCOVERY, host);
    req.method = "GET";
    req.url = url;
    dbx_http_response_init(&resp);
    if (dbx_http_send(h, &req, &resp, err) != 0) {
        dbx_err_context(err, "OAuth discovery");
        goto done;
    }
    if (resp.status == 404) {
        dbx_http_error(env, &resp, "GET " DBX_PATH_OIDC_DISCOVERY, err);
        dbx_err_set(err, DBX_EAUTH,
                    "OAuth is not enabled for %s: its OAuth discovery document (" DBX_PATH_OIDC_DISCOVERY
                    ") answered 404; use a personal access token (auth_type pat) or ask the workspace "
                    "admin to enable OAuth",
                    host);
        goto done;
    }
    if (resp.status != 200) {
        dbx_http_error(env, &resp, "GET " DBX_PATH_OIDC_DISCOVERY, err);
        goto done;
    }
    j = dbx_json_decode(env, dbx_buf_str(&resp.body), resp.body.len);
    tok = j ? dbx_json_string(j, "token_endpoint", &tn) : NULL;
    auth = j ? dbx_json_string(j, "authorization_endpoint", &an) : NULL;
    if (!tok) {
        dbx_err_set(err, DBX_EPROTOCOL, "OAuth discovery document of %s has no token_endpoint", host);
    } else if (copy_endpoint(out->token, sizeof out->token, tok, tn, host) != 0 ||
               (auth && copy_endpoint(out->authorize, sizeof out->authorize, auth, an, host) != 0)) {
        /* Trust #2: a client secret, a refresh token or a code verifier must
         * never be sent to an endpoint the workspace's own origin did not
         * serve. Nothing has been sent yet. */
        dbx_err_set(err, DBX_EPROTOCOL,
                    "OAuth discovery document of %s names an endpoint outside %s (another host, port or "
                    "scheme): refused before any credential was sent",
                    host, host);
    } else {
        if (!auth)
            snprintf(out->authorize, sizeof out->authorize, "%s" DBX_PATH_OIDC_AUTHORIZE, host);
        rc = 0;
    }
    dbx_json_free(j);
done:
    dbx_http_response_free(&resp);
    return rc;
}

int dbx_oauth_parse_token(dbx_jsonenv *env, const char *body, size_t len, double now, double issuer_now,
                          dbx_token *out, dbx_err *err)
{
    dbx_json *j = dbx_json_decode(env, body, len);
    const char *access, *refresh, *type, *s;
    size_t n, an = 0, rn = 0;
    dbx_token_life life = {0};
    int rc;
    if (!j)
        return dbx_err_set(err, DBX_EPROTOCOL, "token endpoint answered with something that is not a JSON object");
    access = dbx_json_string(j, "access_token", &an);
    refresh = dbx_json_string(j, "refresh_token", &rn);
    type = dbx_json_string(j, "token_type", &n);
    if (!access || !*access) {
        dbx_json_free(j);
        return dbx_err_set(err, DBX_EPROTOCOL, "token endpoint answer has no access_token");
    }
    /* A JSON string may hold "\u0000": as a C string the token would be
     * silently cut short (found by fuzz/fuzz_token.c). */
    if (strlen(access) != an || (refresh && strlen(refresh) != rn)) {
        dbx_json_free(j);
        return dbx_err_set(err, DBX_EPROTOCOL, "token endpoint answer has a token with a NUL byte in it");
    }
    if (type && strcasecmp(type, "Bearer") != 0) {
        dbx_json_free(j);
        return dbx_err_set(err, DBX_EPROTOCOL, "token endpoint issued a \"%.40s\" token; only Bearer is supported", type);
    }
    if (dbx_json_number(j, "expires_in", &life.expires_in) != 0 &&
        (s = dbx_json_string(j, "expires_in", &n)) != NULL)
        life.expires_in = strtod(s, NULL);
    life.issuer_now = issuer_now;
    rc = dbx_token_accept(out, env, access, refresh, &life, now, "token endpoint answer", err);
    dbx_json_free(j);
    return rc;
}

/* Appends "&name=value" (form encoding). */
static int form(dbx_buf *b, const char *name, const char *value)
{
    if (!value)
        return 0;
    return (b->len && dbx_buf_append(b, "&", 1)) || dbx_buf_puts(b, name) || dbx_buf_append(b, "=", 1) ||
                   dbx_buf_urlencode(b, value)
               ? -1
               : 0;
}

/* Builds "Basic base64(urlenc(id):urlenc(secret))" (RFC 6749 §2.3.1). */
static int basic_auth(dbx_buf *out, const char *id, const char *secret)
{
    dbx_buf raw = {0};
    int rc = dbx_buf_urlencode(&raw, id) || dbx_buf_append(&raw, ":", 1) ||
             dbx_buf_urlencode(&raw, secret) || dbx_buf_puts(out, "Basic ");
    if (!rc)
        rc = dbx_b64_encode(out, (const unsigned char *)raw.data, raw.len);
    dbx_buf_free(&raw);
    return rc ? -1 : 0;
}

static int grant(dbx_http *h, dbx_jsonenv *env, const dbx_oauth_grant *g, dbx_buf *body,
                 const char *what, dbx_token *out, dbx_err *err)
{
    dbx_buf auth = {0};
    dbx_http_response resp;
    dbx_http_request req = {0};
    const char *secrets[] = {g->client_secret, g->refresh_token, g->code, g->code_verifier, g->subject_token, NULL};
    int rc = -1;
    char op[64];

    snprintf(op, sizeof op, "%s (POST token endpoint)", what);
    dbx_http_response_init(&resp);
    if (g->client_secret && basic_auth(&auth, g->client_id, g->client_secret) != 0) {
        dbx_err_set(err, DBX_EIO, "out of memory");
        goto done;
    }
    /* Everything secret in this request is a known secret while it is in
     * flight, so an echo in the answer is redacted; the Basic credential
     * (base64 of id:secret) too. */
    for (int i = 0; i < 5; i++)
        dbx_secret_add(secrets[i]);
    if (auth.len > 6)
        dbx_secret_add(auth.data + 6);
    req.method = "POST";
    req.url = g->token_url;
    req.authorization = g->client_secret ? auth.data : NULL;
    req.content_type = "application/x-www-form-urlencoded";
    req.body = body->data;
    req.body_len = body->len;
    req.secrets = secrets;
    req.no_retry = g->no_retry;
    if (dbx_http_send(h, &req, &resp, err) != 0) {
        dbx_err_context(err, "%s", what);
        goto done;
    }
    if (resp.status != 200) {
        dbx_http_error(env, &resp, op, err);
        goto done;
    }
    rc = dbx_oauth_parse_token(env, dbx_buf_str(&resp.body), resp.body.len, dbx_now(), resp.date, out, err);
    if (rc != 0)
        dbx_err_context(err, "%s", what);
done:
    for (int i = 0; i < 5; i++)
        dbx_secret_remove(secrets[i]);
    if (auth.len > 6)
        dbx_secret_remove(auth.data + 6);
    dbx_buf_free(&auth);
    dbx_http_response_free(&resp);
    return rc;
}

int dbx_oauth_client_credentials(dbx_http *h, dbx_jsonenv *env, const dbx_oauth_grant *g,
                                 dbx_token *out, dbx_err *err)
{
    dbx_buf body = {0};
    int rc;
    if (form(&body, "grant_type", "client_credentials") ||
        form(&body, "scope", g->scope ? g->scope : "all-apis")) {
        dbx_buf_free(&body);
        return dbx_err_set(err, DBX_EIO, "out of memory");
    }
    rc = grant(h, env, g, &body, "OAuth client-credentials token request", out, err);
    dbx_buf_free(&body);
    return rc;
}

int dbx_oauth_refresh(dbx_http *h, dbx_jsonenv *env, const dbx_oauth_grant *g, dbx_token *out,
                      dbx_err *err)
{
    dbx_buf body = {0};
    int rc;
    if (form(&body, "grant_type", "refresh_token") || form(&body, "refresh_token", g->refresh_token) ||
        form(&body, "client_id", g->client_id)) {
        dbx_buf_free(&body);
        return dbx_err_set(err, DBX_EIO, "out of memory");
    }
    rc = grant(h, env, g, &body, "OAuth token refresh", out, err);
    dbx_buf_free(&body);
    if (rc == 0 && !out->refresh && g->refresh_token && !(out->refresh = strdup(g->refresh_token)))
        return dbx_err_set(err, DBX_EIO, "out of memory");
    if (rc != 0 && err->kind == DBX_EAUTH)
        dbx_err_append(err, "the refresh token is no longer valid: sign in again");
    return rc;
}

int dbx_oauth_token_exchange(dbx_http *h, dbx_jsonenv *env, const dbx_oauth_grant *g, dbx_token *out,
                             dbx_err *err)
{
    dbx_buf body = {0};
    int rc;
    if (form(&body, "grant_type", "urn:ietf:params:oauth:grant-type:token-exchange") ||
        form(&body, "subject_token", g->subject_token) ||
        form(&body, "subject_token_type", "urn:ietf:params:oauth:token-type:jwt") ||
        form(&body, "scope", g->scope ? g->scope : "all-apis") || form(&body, "client_id", g->client_id)) {
        dbx_buf_free(&body);
        return dbx_err_set(err, DBX_EIO, "out of memory");
    }
    rc = grant(h, env, g, &body, "OAuth token exchange (workload identity federation)", out, err);
    dbx_buf_free(&body);
    return rc;
}

int dbx_oauth_exchange_code(dbx_http *h, dbx_jsonenv *env, const dbx_oauth_grant *g, dbx_token *out,
                            dbx_err *err)
{
    dbx_buf body = {0};
    int rc;
    if (form(&body, "grant_type", "authorization_code") || form(&body, "code", g->code) ||
        form(&body, "code_verifier", g->code_verifier) || form(&body, "redirect_uri", g->redirect_uri) ||
        form(&body, "client_id", g->client_id)) {
        dbx_buf_free(&body);
        return dbx_err_set(err, DBX_EIO, "out of memory");
    }
    rc = grant(h, env, g, &body, "OAuth authorization-code exchange", out, err);
    dbx_buf_free(&body);
    return rc;
}
