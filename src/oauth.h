/* oauth.h — Databricks OAuth over the transport: the endpoints and the
 * four grants the connector uses (client_credentials, authorization_code
 * with PKCE, refresh_token, and the RFC 8693 token exchange of workload
 * identity federation). Bodies are form-encoded; confidential clients
 * authenticate with HTTP Basic. Request bodies and tokens are wiped after
 * use and never appear in errors.
 *
 * Endpoints (DESIGN.md §7, §9):
 *   - account configs (account_id set, on any host): the fixed account
 *     endpoints {host}/oidc/accounts/{account_id}/v1/{authorize,token}, no
 *     discovery (as the SDKs do for account hosts);
 *   - otherwise discovery, GET {host}/oidc/.well-known/oauth-authorization-
 *     server. The document may only name endpoints on the workspace's own
 *     scheme, host and port: anything else (another host, another port,
 *     plain http, a URL without a path) is a `protocol` error, raised before
 *     any request carrying a secret is made (trust #2).
 *   - Decision on a 404 from discovery: it means OAuth is not enabled for the
 *     workspace (DATABRICKS_API.md), and the Go and Python SDKs fail there
 *     ("databricks OAuth is not supported for this host"). So do we: an
 *     `auth` error (status 404) that says so and names the alternatives. 0.1
 *     guessed the default /oidc/v1/token instead; a guess cannot leak a
 *     secret to another host, but it turns "OAuth is off" into a confusing
 *     token-endpoint error. */
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

/* The endpoints for `host` (normalised) as described above; account_id
 * NULL for workspace configs. */
int dbx_oauth_discover(dbx_http *h, dbx_jsonenv *env, const char *host, const char *account_id,
                       dbx_oauth_endpoints *out, dbx_err *err);

/* 1 when `url` is on exactly the scheme, host and port of `origin`
 * (normalised "https://host[:port]") and has a path: the pinning rule of
 * discovered endpoints (pure, for tests). */
int dbx_oauth_same_origin(const char *url, size_t n, const char *origin);

typedef struct dbx_oauth_grant {
    const char *token_url;
    const char *client_id;
    const char *client_secret;  /* NULL for public clients */
    const char *scope;          /* client_credentials, token exchange; NULL = "all-apis" */
    const char *subject_token;  /* token exchange: the workload's JWT */
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
/* Workload identity federation (RFC 8693): subject_token (a JWT) for an
 * access token; client_id when set (account-wide federation without);
 * never a secret. */
int dbx_oauth_token_exchange(dbx_http *h, dbx_jsonenv *env, const dbx_oauth_grant *g, dbx_token *out,
                             dbx_err *err);
int dbx_oauth_exchange_code(dbx_http *h, dbx_jsonenv *env, const dbx_oauth_grant *g, dbx_token *out,
                            dbx_err *err);

/* Parses a token endpoint's JSON answer (fuzzed). The lifetime is judged
 * by token.h from expires_in, else the JWT's exp - iat, else one hour;
 * `issuer_now` is the answer's Date (0 if none). */
int dbx_oauth_parse_token(dbx_jsonenv *env, const char *body, size_t len, double now, double issuer_now,
                          dbx_token *out, dbx_err *err);

#endif
