/* oidc.c — subject tokens of workload identity federation (see oidc.h). */
#include "oidc.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "atomicfile.h"
#include "buf.h"
#include "httperr.h"
#include "redact.h"
#include "token.h"

#define MAX_SUBJECT_TOKEN (64 * 1024)

const char *dbx_oidc_audience(const dbx_config *cfg, const char *token_endpoint)
{
    if (cfg->token_audience)
        return cfg->token_audience;
    if (cfg->account_id)
        return cfg->account_id;
    return token_endpoint;
}

int dbx_oidc_check(const char *token, const char *from, dbx_err *err)
{
    size_t i = 0;
    if (!token || !*token)
        return dbx_err_set(err, DBX_ECONFIG, "%s holds no OIDC token (it is empty)", from);
    while ((unsigned char)token[i] >= 0x21 && (unsigned char)token[i] <= 0x7e)
        i++;
    if (token[i])
        return dbx_err_set(err, DBX_ECONFIG,
                           "the OIDC token in %s contains byte 0x%02x at position %zu (a JWT is printable "
                           "ASCII): refused",
                           from, (unsigned char)token[i], i + 1);
    return 0;
}

/* A registered copy of s[0..n) (the caller's copy is wiped by the caller). */
static char *keep(const char *s, size_t n, dbx_err *err)
{
    char *t = malloc(n + 1);
    if (!t) {
        dbx_err_set(err, DBX_EIO, "out of memory reading an OIDC token");
        return NULL;
    }
    memcpy(t, s, n);
    t[n] = '\0';
    dbx_secret_add(t);
    return t;
}

void dbx_oidc_release(char *token)
{
    if (!token)
        return;
    dbx_secret_remove(token);
    dbx_wipe(token, strlen(token));
    free(token);
}

static char *from_env(const dbx_config *cfg, dbx_err *err)
{
    const char *name = cfg->oidc_token_env ? cfg->oidc_token_env : DBX_DEFAULT_OIDC_TOKEN_ENV;
    const char *v = getenv(name);
    char from[160];
    snprintf(from, sizeof from, "environment variable %.100s", name);
    if (!v || !*v) {
        dbx_err_set(err, DBX_ECONFIG,
                    "auth_type env_oidc: environment variable %.100s is not set or empty: export the "
                    "workload's OIDC token (a JWT) in it, or name another with oidc_token_env",
                    name);
        return NULL;
    }
    if (dbx_oidc_check(v, from, err) != 0)
        return NULL;
    return keep(v, strlen(v), err);
}

static char *from_file(const dbx_config *cfg, dbx_err *err)
{
    dbx_buf b = {0};
    const char *s, *e;
    char *t = NULL;
    char from[300];
    int r = dbx_af_read(cfg->oidc_token_file, 0, MAX_SUBJECT_TOKEN, &b, err);
    snprintf(from, sizeof from, "file %.250s", cfg->oidc_token_file);
    if (r == 0)
        dbx_err_set(err, DBX_ECONFIG,
                    "auth_type file_oidc: %s does not exist: check oidc_token_file (e.g. the mount path of "
                    "a projected service account token)",
                    from);
    if (r <= 0) {
        if (r < 0)
            dbx_err_context(err, "auth_type file_oidc");
        dbx_buf_free(&b);
        return NULL;
    }
    /* A token file usually ends with a newline; the JWT is what is between. */
    s = dbx_buf_str(&b);
    e = s + b.len;
    while (s < e && isspace((unsigned char)*s))
        s++;
    while (e > s && isspace((unsigned char)e[-1]))
        e--;
    if (memchr(s, '\0', (size_t)(e - s)))
        dbx_err_set(err, DBX_ECONFIG, "the OIDC token in %s contains a NUL byte: refused", from);
    else if (s == e)
        dbx_err_set(err, DBX_ECONFIG, "auth_type file_oidc: %s is empty", from);
    else {
        char *tmp = malloc((size_t)(e - s) + 1);
        if (!tmp) {
            dbx_err_set(err, DBX_EIO, "out of memory reading %s", from);
        } else {
            memcpy(tmp, s, (size_t)(e - s));
            tmp[e - s] = '\0';
            if (dbx_oidc_check(tmp, from, err) == 0)
                t = keep(tmp, (size_t)(e - s), err);
            dbx_wipe(tmp, (size_t)(e - s));
            free(tmp);
        }
    }
    dbx_buf_free(&b);
    return t;
}

/* GitHub Actions' ID token endpoint (the job needs `permissions: id-token:
 * write`, which is what sets the two variables). */
static char *from_github(dbx_http *h, dbx_jsonenv *env, const char *audience, dbx_err *err)
{
    const char *url = getenv("ACTIONS_ID_TOKEN_REQUEST_URL"), *rt = getenv("ACTIONS_ID_TOKEN_REQUEST_TOKEN");
    dbx_buf full = {0}, auth = {0};
    dbx_http_request req = {0};
    dbx_http_response resp;
    const char *secrets[2] = {rt, NULL};
    dbx_json *j = NULL;
    const char *v;
    size_t vn = 0;
    char *t = NULL;

    if (!url || !*url || !rt || !*rt) {
        dbx_err_set(err, DBX_ECONFIG,
                    "auth_type github_oidc: ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are "
                    "not set: run in a GitHub Actions job with `permissions: id-token: write`");
        return NULL;
    }
    if (strncmp(url, "https://", 8) != 0) {
        dbx_err_set(err, DBX_ECONFIG, "auth_type github_oidc: ACTIONS_ID_TOKEN_REQUEST_URL is not an https:// URL");
        return NULL;
    }
    if (!dbx_token_valid(rt)) {
        dbx_err_set(err, DBX_ECONFIG,
                    "auth_type github_oidc: ACTIONS_ID_TOKEN_REQUEST_TOKEN is not printable ASCII: refused");
        return NULL;
    }
    dbx_http_response_init(&resp);
    dbx_secret_add(rt);
    if (dbx_buf_puts(&full, url) ||
        (audience && *audience &&
         (dbx_buf_puts(&full, strchr(url, '?') ? "&audience=" : "?audience=") || dbx_buf_urlencode(&full, audience))) ||
        dbx_buf_puts(&auth, "Bearer ") || dbx_buf_puts(&auth, rt)) {
        dbx_err_set(err, DBX_EIO, "out of memory");
        goto done;
    }
    req.method = "GET";
    req.url = full.data;
    req.authorization = auth.data;
    req.secrets = secrets;
    if (dbx_http_send(h, &req, &resp, err) != 0) {
        dbx_err_context(err, "auth_type github_oidc: requesting the GitHub Actions ID token");
        goto done;
    }
    if (resp.status != 200) {
        dbx_http_error(env, &resp, "auth_type github_oidc: GET $ACTIONS_ID_TOKEN_REQUEST_URL", err);
        goto done;
    }
    j = dbx_json_decode(env, dbx_buf_str(&resp.body), resp.body.len);
    v = j ? dbx_json_string(j, "value", &vn) : NULL;
    if (!v || !vn || strlen(v) != vn) {
        dbx_err_set(err, DBX_EPROTOCOL, "auth_type github_oidc: the GitHub Actions ID token answer has no \"value\"");
        goto done;
    }
    dbx_secret_add(v); /* before any message could quote it */
    if (dbx_oidc_check(v, "the GitHub Actions ID token answer", err) == 0)
        t = keep(v, vn, err);
    dbx_secret_remove(v);
    if (!t && err->kind == DBX_ECONFIG)
        err->kind = DBX_EPROTOCOL;
done:
    dbx_json_free(j);
    dbx_secret_remove(rt);
    dbx_buf_free(&full);
    dbx_buf_free(&auth);
    dbx_http_response_free(&resp);
    return t;
}

char *dbx_oidc_subject_token(dbx_http *h, dbx_jsonenv *env, const dbx_config *cfg, const char *audience,
                             dbx_err *err)
{
    switch (cfg->auth) {
    case DBX_AUTH_ENV_OIDC:
        return from_env(cfg, err);
    case DBX_AUTH_FILE_OIDC:
        return from_file(cfg, err);
    case DBX_AUTH_GITHUB_OIDC:
        return from_github(h, env, audience, err);
    default:
        dbx_err_set(err, DBX_ECONFIG, "auth_type %s has no OIDC token", dbx_auth_type_name(cfg->auth));
        return NULL;
    }
}
