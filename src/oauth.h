/* oauth.h — Databricks OAuth over the transport: endpoint discovery and the
 * three grants the connector uses (client_credentials, authorization_code
 * with PKCE, refresh_token). Bodies are form-encoded; confidential clients
 * authenticate with HTTP Basic. Request bodies and tokens are wiped after
 * use and never appear in errors. */
#ifndef DBX_OAUTH_H
#define DBX_OAUTH_H

#include "err.h"
#include "http.h"
#include "json.h"
#include "token.h"

typedef struct dbx_oauth_endpoints {
    char authorize[512];
    char token[512];
} dbx_oauth_endpoints;

/* GET {host}/oidc/.well-known/oauth-authorization-server; on 404 (OAuth
 * discovery not available) falls back to {host}/oidc/v1/{authorize,token}. */
int dbx_oauth_discover(dbx_http *h, dbx_jsonenv *env, const char *host, dbx_oauth_endpoints *out,
                       dbx_err *err);

typedef struct dbx_oauth_grant {
    const char *token_url;
    const char *client_id;
    const char *client_secret;  /* NULL for public clients */
    const char *scope;          /* client_credentials; NULL = "all-apis" */
    const char *refresh_token;  /* refresh_token grant */
    const char *code;           /* authorization_code grant */
    const char *code_verifier;
    const char *redirect_uri;
    int no_retry;               /* single attempt (caller has a valid token) */
} dbx_oauth_grant;

int dbx_oauth_client_credentials(dbx_http *h, dbx_jsonenv *env, const dbx_oauth_grant *g,
                                 dbx_token *out, dbx_err *err);
/* When the server returns no new refresh token, the old one is kept in out. */
int dbx_oauth_refresh(dbx_http *h, dbx_jsonenv *env, const dbx_oauth_grant *g, dbx_token *out,
                      dbx_err *err);
int dbx_oauth_exchange_code(dbx_http *h, dbx_jsonenv *env, const dbx_oauth_grant *g, dbx_token *out,
                            dbx_err *err);

/* Parses a token endpoint's JSON answer (fuzzed). The lifetime is judged
 * by token.h from expires_in, else the JWT's exp - iat, else one hour;
 * `issuer_now` is the answer's Date (0 if none). */
int dbx_oauth_parse_token(dbx_jsonenv *env, const char *body, size_t len, double now, double issuer_now,
                          dbx_token *out, dbx_err *err);

#endif
