/* config.h — what `databricks.connect` accepts, validated before any network
 * call. The binding copies the Lua table's fields into a dbx_config_input
 * (borrowed strings, plus a list of the keys it saw); dbx_config_build
 * applies every rule of DESIGN.md §3 and produces an owned dbx_config.
 * connect reads no environment variable and no file, with the exceptions
 * DESIGN.md makes: the CA bundle falls back to SSL_CERT_FILE / CURL_CA_BUNDLE
 * (read by dbx_config_build itself, so no caller can skip it), and the
 * federation auth types read what they are defined by — at every token
 * exchange, never here (oidc.h).
 * Secrets in a dbx_config are wiped when it is freed. */
#ifndef DBX_CONFIG_H
#define DBX_CONFIG_H

#include <stddef.h>

#include "err.h"

typedef enum dbx_auth_type {
    DBX_AUTH_NONE = 0,
    DBX_AUTH_PAT,
    DBX_AUTH_M2M,
    DBX_AUTH_U2M,
    DBX_AUTH_TOKEN,
    DBX_AUTH_CLI,
    DBX_AUTH_ENV_OIDC,    /* workload identity federation, JWT from a variable */
    DBX_AUTH_FILE_OIDC,   /* ... from a file (a Kubernetes projected token) */
    DBX_AUTH_GITHUB_OIDC, /* ... from GitHub Actions' ID token endpoint */
    DBX_AUTH_COUNT
} dbx_auth_type;

#define DBX_AUTH_IS_OIDC(t) ((t) == DBX_AUTH_ENV_OIDC || (t) == DBX_AUTH_FILE_OIDC || (t) == DBX_AUTH_GITHUB_OIDC)

/* Every key connect accepts, in documentation order, with its Lua type
 * ("string", "number", "function"). NULL-terminated. */
typedef struct dbx_config_key {
    const char *name;
    const char *type;
} dbx_config_key;
extern const dbx_config_key dbx_config_keys[];

#define DBX_UNSET (-1e300)

typedef struct dbx_config_input {
    const char *host, *auth_type, *token, *client_id, *client_secret, *access_token,
        *refresh_token, *redirect_uri, *scopes, *warehouse_id, *http_path,
        *serverless_compute_id, *cluster_id, *ca_bundle, *databricks_cli, *oidc_token_env,
        *oidc_token_file, *token_audience, *account_id, *workspace_id, *profile;
    double expires_at, timeout, retry_timeout, login_timeout; /* DBX_UNSET when absent */
    double max_response_bytes;
    int has_open_browser, has_on_tokens;
    /* How the caller names ca_bundle in messages (connect: "ca_bundle", the
     * rotator: "--ca-bundle"); NULL: "ca_bundle". */
    const char *ca_bundle_name;
    /* Not a connect() key: the rotator's stored U2M tokens (auth_type
     * token, tokens refreshed through tokenstore.h). */
    const char *token_store;
} dbx_config_input;

typedef struct dbx_config {
    char *host;                 /* normalised: https://host[:port] */
    dbx_auth_type auth;
    char *account_id;           /* the OAuth endpoints are the account's when set */
    char *workspace_id;         /* sent as X-Databricks-Workspace-Id when set */
    char *token;                /* pat */
    char *client_id, *client_secret;
    char *access_token, *refresh_token;
    double expires_at;          /* of access_token, 0 when unknown */
    char *redirect_uri, *scopes;
    int redirect_given;         /* redirect_uri came from the caller (no port fallback) */
    char *oidc_token_env;       /* env_oidc: the variable holding the JWT */
    char *oidc_token_file;      /* file_oidc: the file holding the JWT */
    char *token_audience;       /* federation: the audience asked of the ID token */
    char *profile;              /* databricks_cli: `auth token --profile` */
    char *warehouse_id, *cluster_id, *serverless_compute_id;
    char *ca_file;              /* resolved CA bundle, NULL = system store */
    char *databricks_cli;       /* CLI program, default "databricks" */
    char *token_store;          /* the rotator's stored U2M tokens, or NULL */
    double timeout, retry_timeout, login_timeout;
    size_t max_response_bytes;  /* 0 = the transport's default (64 MiB) */
} dbx_config;

void dbx_config_input_init(dbx_config_input *in);
/* 0, or -1 with a config error naming the key(s) and the fix. */
int dbx_config_build(const dbx_config_input *in, dbx_config *out, dbx_err *err);
void dbx_config_free(dbx_config *c);

const char *dbx_auth_type_name(dbx_auth_type t);
/* The Databricks SDKs' name of the same method ("oauth-m2m", "env-oidc",
 * ...), for the User-Agent's auth/ segment and documentation. */
const char *dbx_auth_sdk_name(dbx_auth_type t);
/* Checks a key name seen in the table: 0 when known, -1 with an error. */
int dbx_config_check_key(const char *key, dbx_err *err);

#define DBX_DEFAULT_U2M_CLIENT "databricks-cli"
#define DBX_DEFAULT_REDIRECT "http://localhost:8020"
#define DBX_DEFAULT_U2M_SCOPES "offline_access all-apis"
#define DBX_DEFAULT_SCOPES "all-apis"
#define DBX_DEFAULT_OIDC_TOKEN_ENV "DATABRICKS_OIDC_TOKEN"

#endif
