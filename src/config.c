/* config.c — connect() configuration rules (see config.h). One table of
 * which credential keys belong to which auth type drives the "missing" and
 * "belongs to another type" errors, so both stay consistent. */
#include "config.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "buf.h"
#include "hostname.h"
#include "loopback.h"
#include "redact.h"

const dbx_config_key dbx_config_keys[] = {
    {"host", "string"},          {"auth_type", "string"},     {"token", "string"},
    {"client_id", "string"},     {"client_secret", "string"}, {"access_token", "string"},
    {"refresh_token", "string"}, {"expires_at", "number"},    {"redirect_uri", "string"},
    {"scopes", "string"},        {"open_browser", "function"}, {"login_timeout", "number"},
    {"warehouse_id", "string"},  {"http_path", "string"},     {"serverless_compute_id", "string"},
    {"cluster_id", "string"},    {"ca_bundle", "string"},     {"timeout", "number"},
    {"retry_timeout", "number"}, {"on_tokens", "function"},   {"databricks_cli", "string"},
    {"max_response_bytes", "number"},
    /* 0.2: auth breadth (DESIGN.md §7) */
    {"oidc_token_env", "string"}, {"oidc_token_file", "string"}, {"token_audience", "string"},
    {"account_id", "string"},     {"workspace_id", "string"},    {"profile", "string"},
    {NULL, NULL},
};

static const char *const auth_names[DBX_AUTH_COUNT] = {
    "none", "pat", "oauth_m2m", "oauth_u2m", "token", "databricks_cli", "env_oidc", "file_oidc", "github_oidc",
};

/* The SDKs have no auth type for a handed-in OAuth token: they send one
 * given as `token` with their PAT method, so that is its name here. */
static const char *const sdk_names[DBX_AUTH_COUNT] = {
    "", "pat", "oauth-m2m", "external-browser", "pat", "databricks-cli", "env-oidc", "file-oidc", "github-oidc",
};

const char *dbx_auth_type_name(dbx_auth_type t)
{
    return auth_names[(unsigned)t < DBX_AUTH_COUNT ? t : 0];
}

const char *dbx_auth_sdk_name(dbx_auth_type t)
{
    return sdk_names[(unsigned)t < DBX_AUTH_COUNT ? t : 0];
}

int dbx_config_check_key(const char *key, dbx_err *err)
{
    for (const dbx_config_key *k = dbx_config_keys; k->name; k++)
        if (strcmp(k->name, key) == 0)
            return 0;
    if (strcmp(key, "user_agent") == 0 || strcmp(key, "product") == 0 || strcmp(key, "product_version") == 0)
        return dbx_err_set(err, DBX_ECONFIG,
                           "config key '%s' is not accepted: the User-Agent is set in code with "
                           "databricks.set_product(isv, product, version)",
                           key);
    return dbx_err_set(err, DBX_ECONFIG, "unknown config key '%.60s' (check its spelling; see the README's configuration reference)", key);
}

void dbx_config_input_init(dbx_config_input *in)
{
    memset(in, 0, sizeof *in);
    in->expires_at = in->timeout = in->retry_timeout = in->login_timeout = in->max_response_bytes = DBX_UNSET;
}

/* Which auth types each credential key belongs to (bit per dbx_auth_type). */
#define BIT(t) (1u << (t))
typedef struct cred_key {
    const char *name;
    size_t offset;
    unsigned allowed;   /* types that accept it */
    unsigned required;  /* types that need it */
    dbx_auth_type owner; /* the type it "belongs to" in messages */
} cred_key;

#define IN(field) offsetof(dbx_config_input, field)
#define OIDC (BIT(DBX_AUTH_ENV_OIDC) | BIT(DBX_AUTH_FILE_OIDC) | BIT(DBX_AUTH_GITHUB_OIDC))
static const cred_key cred_keys[] = {
    {"token", IN(token), BIT(DBX_AUTH_PAT), BIT(DBX_AUTH_PAT), DBX_AUTH_PAT},
    {"client_secret", IN(client_secret), BIT(DBX_AUTH_M2M) | BIT(DBX_AUTH_U2M) | BIT(DBX_AUTH_TOKEN),
     BIT(DBX_AUTH_M2M), DBX_AUTH_M2M},
    /* Federation takes a client_id (the service principal the federation
     * policy belongs to); without one it is account-wide federation. */
    {"client_id", IN(client_id), BIT(DBX_AUTH_M2M) | BIT(DBX_AUTH_U2M) | BIT(DBX_AUTH_TOKEN) | OIDC,
     BIT(DBX_AUTH_M2M), DBX_AUTH_M2M},
    {"access_token", IN(access_token), BIT(DBX_AUTH_U2M) | BIT(DBX_AUTH_TOKEN), BIT(DBX_AUTH_TOKEN),
     DBX_AUTH_TOKEN},
    {"refresh_token", IN(refresh_token), BIT(DBX_AUTH_U2M) | BIT(DBX_AUTH_TOKEN), 0, DBX_AUTH_U2M},
    {"redirect_uri", IN(redirect_uri), BIT(DBX_AUTH_U2M), 0, DBX_AUTH_U2M},
    {"scopes", IN(scopes), BIT(DBX_AUTH_U2M) | BIT(DBX_AUTH_M2M) | OIDC, 0, DBX_AUTH_U2M},
    {"oidc_token_env", IN(oidc_token_env), BIT(DBX_AUTH_ENV_OIDC), 0, DBX_AUTH_ENV_OIDC},
    {"oidc_token_file", IN(oidc_token_file), BIT(DBX_AUTH_FILE_OIDC), BIT(DBX_AUTH_FILE_OIDC), DBX_AUTH_FILE_OIDC},
    {"token_audience", IN(token_audience), OIDC, 0, DBX_AUTH_ENV_OIDC},
    {"profile", IN(profile), BIT(DBX_AUTH_CLI), 0, DBX_AUTH_CLI},
    {NULL, 0, 0, 0, DBX_AUTH_NONE},
};

static const char *field(const dbx_config_input *in, size_t offset)
{
    return *(const char *const *)((const char *)in + offset);
}

static int present(const char *s)
{
    return s != NULL;
}

static dbx_auth_type parse_auth_type(const char *s)
{
    for (int t = DBX_AUTH_PAT; t < DBX_AUTH_COUNT; t++)
        if (strcmp(s, auth_names[t]) == 0)
            return (dbx_auth_type)t;
    return DBX_AUTH_NONE;
}

/* Without auth_type: the type the credentials present imply, or an error
 * naming the two types whose credentials are mixed. */
static int infer_auth_type(const dbx_config_input *in, dbx_auth_type *out, dbx_err *err)
{
    dbx_auth_type found[6];
    int n = 0;
    int u2m = present(in->access_token) || present(in->refresh_token) || present(in->redirect_uri);
    if (present(in->token))
        found[n++] = DBX_AUTH_PAT;
    if (present(in->client_secret) && !u2m)
        found[n++] = DBX_AUTH_M2M;
    if (u2m)
        found[n++] = present(in->access_token) && !present(in->redirect_uri) ? DBX_AUTH_TOKEN : DBX_AUTH_U2M;
    /* Keys that belong to one method only name it unambiguously. */
    if (present(in->oidc_token_file))
        found[n++] = DBX_AUTH_FILE_OIDC;
    if (present(in->oidc_token_env))
        found[n++] = DBX_AUTH_ENV_OIDC;
    if (present(in->profile))
        found[n++] = DBX_AUTH_CLI;
    if (n == 0)
        return dbx_err_set(err, DBX_ECONFIG,
                           "no credentials: set auth_type (pat | oauth_m2m | oauth_u2m | token | databricks_cli | "
                           "env_oidc | file_oidc | github_oidc) and its credentials");
    if (n > 1)
        return dbx_err_set(err, DBX_ECONFIG,
                           "more than one authentication method configured: %s and %s; a connection "
                           "uses exactly one, so remove the other's keys or set auth_type",
                           dbx_auth_type_name(found[0]), dbx_auth_type_name(found[1]));
    *out = found[0];
    return 0;
}

static int check_credentials(const dbx_config_input *in, dbx_auth_type t, dbx_err *err)
{
    char missing[128] = "";
    for (const cred_key *k = cred_keys; k->name; k++) {
        const char *v = field(in, k->offset);
        if (present(v) && !(k->allowed & BIT(t)))
            return dbx_err_set(err, DBX_ECONFIG,
                               "auth_type %s does not take %s (it belongs to %s): one connection "
                               "uses one auth type, so remove %s",
                               dbx_auth_type_name(t), k->name, dbx_auth_type_name(k->owner), k->name);
        /* An empty value given for a key that has a default (client_id of
         * the sign-in) is a mistake, not a request for the default. */
        if (v && !*v && !(k->required & BIT(t)))
            return dbx_err_set(err, DBX_ECONFIG, "%s is empty: give a value or leave it out", k->name);
        /* The rotator's stored tokens stand in for a handed-in token. */
        if ((k->required & BIT(t)) && (!v || !*v) && !(t == DBX_AUTH_TOKEN && in->token_store)) {
            size_t len = strlen(missing);
            snprintf(missing + len, sizeof missing - len, "%s%s", len ? " and " : "", k->name);
        }
    }
    if (missing[0])
        return dbx_err_set(err, DBX_ECONFIG, "auth_type %s needs %s", dbx_auth_type_name(t), missing);
    if (in->expires_at != DBX_UNSET && !present(in->access_token))
        return dbx_err_set(err, DBX_ECONFIG, "expires_at is only meaningful with access_token");
    /* Epoch seconds between 1970 and 9999; anything else is a mistake (and
     * would not fit the integers Lua gets back). */
    if (in->expires_at != DBX_UNSET && !(in->expires_at >= 0 && in->expires_at < 253402300800.0))
        return dbx_err_set(err, DBX_ECONFIG, "expires_at must be epoch seconds (got %g)", in->expires_at);
    if (present(in->client_secret) && !present(in->client_id))
        return dbx_err_set(err, DBX_ECONFIG, "client_secret given without client_id");
    return 0;
}

/* Printable ASCII without spaces (values that end up in a header, a URL
 * or argv). */
static int printable(const char *s, int spaces)
{
    if (!s || !*s)
        return 0;
    for (; *s; s++)
        if ((unsigned char)*s < (spaces ? 0x20 : 0x21) || (unsigned char)*s > 0x7e)
            return 0;
    return 1;
}

static int env_name(const char *s)
{
    if (!s || !(isalpha((unsigned char)*s) || *s == '_'))
        return 0;
    for (; *s; s++)
        if (!(isalnum((unsigned char)*s) || *s == '_'))
            return 0;
    return 1;
}

/* The keys of 0.2 that are not credentials: account and workspace ids,
 * the federation settings, the CLI profile. */
static int check_identifiers(const dbx_config_input *in, const char *host, const char *host_wsid, dbx_err *err)
{
    if (in->account_id && !dbx_ident_valid(in->account_id, 64))
        return dbx_err_set(err, DBX_ECONFIG,
                           "account_id \"%.80s\" is not an account id (letters, digits and '-', as in the account "
                           "console URL)",
                           in->account_id);
    if (dbx_host_is_account(host) && !in->account_id)
        return dbx_err_set(err, DBX_ECONFIG,
                           "host %.100s is an account console host: set account_id (its OAuth endpoints are "
                           "%s/oidc/accounts/<account_id>/v1/...)",
                           host, host);
    if (in->workspace_id && !dbx_ident_valid(in->workspace_id, 100))
        return dbx_err_set(err, DBX_ECONFIG,
                           "workspace_id \"%.80s\" is not a workspace id (digits, or an identifier of letters, "
                           "digits, '.', '_', ':', '-')",
                           in->workspace_id);
    if (in->workspace_id && host_wsid[0] && strcmp(in->workspace_id, host_wsid) != 0)
        return dbx_err_set(err, DBX_ECONFIG,
                           "workspace_id \"%.80s\" conflicts with the workspace id %.80s in host's query: give one",
                           in->workspace_id, host_wsid);
    if (in->oidc_token_env && !env_name(in->oidc_token_env))
        return dbx_err_set(err, DBX_ECONFIG,
                           "oidc_token_env \"%.80s\" is not an environment variable name (letters, digits, '_')",
                           in->oidc_token_env);
    if (in->oidc_token_file && !*in->oidc_token_file)
        return dbx_err_set(err, DBX_ECONFIG, "oidc_token_file is empty: give the path of the file holding the JWT");
    if (in->token_audience && !printable(in->token_audience, 0))
        return dbx_err_set(err, DBX_ECONFIG, "token_audience must be printable ASCII without spaces");
    /* The profile is an argument of the CLI: never something it could read
     * as a flag. */
    if (in->profile && (!printable(in->profile, 1) || in->profile[0] == '-' || strlen(in->profile) > 200))
        return dbx_err_set(err, DBX_ECONFIG,
                           "profile \"%.80s\" is not a profile name (printable, not starting with '-')", in->profile);
    if (in->scopes && !printable(in->scopes, 1))
        return dbx_err_set(err, DBX_ECONFIG, "scopes must be printable ASCII (scope names separated by spaces)");
    return 0;
}

static int scope_cmp(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* The scopes to request, as the Go SDK resolves them: split on spaces and
 * commas, sorted, duplicates dropped (default `def`); for the browser
 * sign-in offline_access always leads (without it there is no refresh
 * token). NULL when out of memory. */
static char *resolve_scopes(const char *given, const char *def, int offline)
{
    char *copy = strdup(given && *given ? given : def), *save = NULL, *tok;
    const char *list[64];
    size_t n = 0;
    dbx_buf out = {0};
    if (!copy)
        return NULL;
    for (tok = strtok_r(copy, " ,\t", &save); tok && n < 64; tok = strtok_r(NULL, " ,\t", &save))
        if (!(offline && strcmp(tok, "offline_access") == 0))
            list[n++] = tok;
    if (n == 0)
        list[n++] = def;
    qsort(list, n, sizeof list[0], scope_cmp);
    if (offline && dbx_buf_puts(&out, "offline_access"))
        goto oom;
    for (size_t i = 0; i < n; i++) {
        if (i > 0 && strcmp(list[i], list[i - 1]) == 0)
            continue;
        if ((out.len && dbx_buf_puts(&out, " ")) || dbx_buf_puts(&out, list[i]))
            goto oom;
    }
    free(copy);
    return out.data;
oom:
    free(copy);
    dbx_buf_free(&out);
    return NULL;
}

static int dup_into(char **dst, const char *src)
{
    if (!src)
        return 0;
    *dst = strdup(src);
    return *dst ? 0 : -1;
}

static int check_compute(const dbx_config_input *in, dbx_config *out, dbx_err *err)
{
    char id[256];
    if (in->http_path) {
        if (dbx_warehouse_id_from_http_path(in->http_path, id, sizeof id)) {
            if (in->warehouse_id && strcmp(in->warehouse_id, id) != 0)
                return dbx_err_set(err, DBX_ECONFIG,
                                   "warehouse_id \"%.64s\" conflicts with http_path \"%.128s\" (warehouse %s): give one of them",
                                   in->warehouse_id, in->http_path, id);
            if (dup_into(&out->warehouse_id, id))
                return dbx_err_set(err, DBX_EIO, "out of memory");
        } else if (dbx_cluster_id_from_http_path(in->http_path, id, sizeof id)) {
            if (in->cluster_id && strcmp(in->cluster_id, id) != 0)
                return dbx_err_set(err, DBX_ECONFIG,
                                   "cluster_id \"%.64s\" conflicts with http_path \"%.128s\" (cluster %s)",
                                   in->cluster_id, in->http_path, id);
            if (dup_into(&out->cluster_id, id))
                return dbx_err_set(err, DBX_EIO, "out of memory");
        } else {
            return dbx_err_set(err, DBX_ECONFIG,
                               "http_path \"%.128s\" is neither a SQL warehouse path "
                               "(/sql/1.0/warehouses/<id>) nor a cluster path (/sql/protocolv1/o/<workspace>/<cluster>)",
                               in->http_path);
        }
    }
    if (in->serverless_compute_id && (in->cluster_id || out->cluster_id))
        return dbx_err_set(err, DBX_ECONFIG,
                           "serverless_compute_id and cluster_id are both set: give at most one");
    if ((in->warehouse_id && !*in->warehouse_id) || (in->cluster_id && !*in->cluster_id))
        return dbx_err_set(err, DBX_ECONFIG, "warehouse_id/cluster_id must not be empty");
    if ((!out->warehouse_id && dup_into(&out->warehouse_id, in->warehouse_id)) ||
        (!out->cluster_id && dup_into(&out->cluster_id, in->cluster_id)) ||
        dup_into(&out->serverless_compute_id, in->serverless_compute_id))
        return dbx_err_set(err, DBX_EIO, "out of memory");
    return 0;
}

static int check_number(const char *name, double v, double lo, double hi, dbx_err *err)
{
    if (v != DBX_UNSET && !(v >= lo && v <= hi))
        return dbx_err_set(err, DBX_ECONFIG, "%s must be between %g and %g seconds (got %g)", name, lo, hi, v);
    return 0;
}

/* The CA bundle: ca_bundle, else SSL_CERT_FILE, else CURL_CA_BUNDLE, else
 * the system store (DESIGN.md §3). Read here, in the one builder, so that
 * every client — connect's and the rotator's — gets the same rule. */
static int resolve_ca(const dbx_config_input *in, dbx_config *out, dbx_err *err)
{
    const char *ca = in->ca_bundle, *from = in->ca_bundle_name ? in->ca_bundle_name : "ca_bundle";
    const char *ssl = getenv("SSL_CERT_FILE"), *curl = getenv("CURL_CA_BUNDLE");
    if (!ca && ssl && *ssl)
        ca = ssl, from = "SSL_CERT_FILE";
    if (!ca && curl && *curl)
        ca = curl, from = "CURL_CA_BUNDLE";
    if (!ca)
        return 0;
    if (access(ca, R_OK) != 0)
        return dbx_err_set(err, DBX_ECONFIG, "%s \"%.200s\" is not a readable file: fix the path or unset it",
                           from, ca);
    return dup_into(&out->ca_file, ca) ? dbx_err_set(err, DBX_EIO, "out of memory") : 0;
}

int dbx_config_build(const dbx_config_input *in, dbx_config *out, dbx_err *err)
{
    char host[300], host_wsid[128] = "";
    dbx_auth_type t = DBX_AUTH_NONE;
    int wsid_len;

    memset(out, 0, sizeof *out);
    if (!in->host)
        return dbx_err_set(err, DBX_ECONFIG, "host is required (the workspace URL, e.g. https://x.cloud.databricks.com)");
    if (dbx_normalize_host(in->host, host, sizeof host, err) != 0)
        return -1;
    /* Normalisation drops the query; the workspace id it may carry
     * (?o=, ?w=, ?workspace_id=) is kept for the workspace id header. */
    if ((wsid_len = dbx_host_workspace_id(in->host, host_wsid, sizeof host_wsid, err)) < 0)
        return -1;
    if (in->auth_type) {
        t = parse_auth_type(in->auth_type);
        if (t == DBX_AUTH_NONE)
            return dbx_err_set(err, DBX_ECONFIG,
                               "auth_type \"%.40s\" is not one of pat, oauth_m2m, oauth_u2m, token, databricks_cli, "
                               "env_oidc, file_oidc, github_oidc",
                               in->auth_type);
    } else if (infer_auth_type(in, &t, err) != 0) {
        return -1;
    }
    if (check_credentials(in, t, err) != 0 || check_identifiers(in, host, host_wsid, err) != 0 ||
        check_number("timeout", in->timeout, 1, 3600, err) != 0 ||
        check_number("retry_timeout", in->retry_timeout, 0, 3600, err) != 0 ||
        check_number("login_timeout", in->login_timeout, 1, 3600, err) != 0)
        return -1;
    if (in->max_response_bytes != DBX_UNSET && !(in->max_response_bytes >= 1024 && in->max_response_bytes <= 1e10))
        return dbx_err_set(err, DBX_ECONFIG, "max_response_bytes must be between 1024 and 1e10 (got %g)",
                           in->max_response_bytes);
    if (in->has_open_browser && t != DBX_AUTH_U2M)
        return dbx_err_set(err, DBX_ECONFIG, "open_browser is only used by auth_type oauth_u2m");
    if (in->redirect_uri) {
        /* Its shape is checked here, before any network call, not when the
         * listener is about to start. */
        dbx_redirect r;
        if (dbx_parse_redirect_uri(in->redirect_uri, &r, err) != 0)
            return -1;
    }

    out->auth = t;
    out->redirect_given = in->redirect_uri != NULL;
    out->expires_at = in->expires_at != DBX_UNSET && in->expires_at > 0 ? in->expires_at : 0;
    out->timeout = in->timeout != DBX_UNSET ? in->timeout : 60;
    out->retry_timeout = in->retry_timeout != DBX_UNSET ? in->retry_timeout : 300;
    out->login_timeout = in->login_timeout != DBX_UNSET ? in->login_timeout : 300;
    out->max_response_bytes = in->max_response_bytes != DBX_UNSET ? (size_t)in->max_response_bytes : 0;
    if (dup_into(&out->host, host) || dup_into(&out->token, in->token) ||
        dup_into(&out->client_id, in->client_id ? in->client_id
                                   : (t == DBX_AUTH_U2M || t == DBX_AUTH_TOKEN) ? DBX_DEFAULT_U2M_CLIENT
                                                                                : NULL) ||
        dup_into(&out->client_secret, in->client_secret) || dup_into(&out->access_token, in->access_token) ||
        dup_into(&out->refresh_token, in->refresh_token) ||
        dup_into(&out->redirect_uri, in->redirect_uri ? in->redirect_uri
                                     : t == DBX_AUTH_U2M ? DBX_DEFAULT_REDIRECT
                                                         : NULL) ||
        dup_into(&out->databricks_cli, in->databricks_cli ? in->databricks_cli : "databricks") ||
        dup_into(&out->account_id, in->account_id) ||
        dup_into(&out->workspace_id, in->workspace_id ? in->workspace_id : wsid_len > 0 ? host_wsid : NULL) ||
        dup_into(&out->oidc_token_env,
                 in->oidc_token_env ? in->oidc_token_env : t == DBX_AUTH_ENV_OIDC ? DBX_DEFAULT_OIDC_TOKEN_ENV : NULL) ||
        dup_into(&out->oidc_token_file, in->oidc_token_file) || dup_into(&out->token_audience, in->token_audience) ||
        dup_into(&out->profile, in->profile) || dup_into(&out->token_store, in->token_store)) {
        dbx_config_free(out);
        return dbx_err_set(err, DBX_EIO, "out of memory");
    }
    if (t == DBX_AUTH_U2M || t == DBX_AUTH_M2M || DBX_AUTH_IS_OIDC(t)) {
        out->scopes = resolve_scopes(in->scopes, DBX_DEFAULT_SCOPES, t == DBX_AUTH_U2M);
        if (!out->scopes) {
            dbx_config_free(out);
            return dbx_err_set(err, DBX_EIO, "out of memory");
        }
    }
    if (check_compute(in, out, err) != 0 || resolve_ca(in, out, err) != 0) {
        dbx_config_free(out);
        return -1;
    }
    /* The config's secrets are known secrets until it is freed. */
    dbx_secret_add(out->token);
    dbx_secret_add(out->client_secret);
    dbx_secret_add(out->access_token);
    dbx_secret_add(out->refresh_token);
    return 0;
}

static void wipe_free(char **s)
{
    if (*s) {
        dbx_secret_remove(*s);
        dbx_wipe(*s, strlen(*s));
        free(*s);
        *s = NULL;
    }
}

void dbx_config_free(dbx_config *c)
{
    wipe_free(&c->token);
    wipe_free(&c->client_secret);
    wipe_free(&c->access_token);
    wipe_free(&c->refresh_token);
    free(c->host);
    free(c->client_id);
    free(c->redirect_uri);
    free(c->scopes);
    free(c->warehouse_id);
    free(c->cluster_id);
    free(c->serverless_compute_id);
    free(c->ca_file);
    free(c->databricks_cli);
    free(c->account_id);
    free(c->workspace_id);
    free(c->oidc_token_env);
    free(c->oidc_token_file);
    free(c->token_audience);
    free(c->profile);
    free(c->token_store);
    memset(c, 0, sizeof *c);
}
