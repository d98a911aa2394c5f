/* login.h — the OAuth U2M browser sign-in (authorization code + PKCE S256):
 * open the loopback listener, build the authorize URL, let the caller show
 * it (open_browser), wait for the redirect, check `state`, exchange the code.
 * The verifier comes from OpenSSL's RNG and never leaves this process except
 * in the token request body. */
#ifndef DBX_LOGIN_H
#define DBX_LOGIN_H

#include "err.h"
#include "http.h"
#include "json.h"
#include "oauth.h"
#include "token.h"

typedef struct dbx_login_opts {
    const char *host;          /* normalised */
    const char *client_id;     /* default databricks-cli */
    const char *client_secret; /* confidential custom app, else NULL */
    const char *redirect_uri;  /* default http://localhost:8020 */
    const char *scopes;        /* default "offline_access all-apis" */
    double timeout;            /* seconds to wait for the redirect */
    /* Shows the URL to the user; returns 0, or -1 with err set. */
    int (*open_browser)(void *ud, const char *url, dbx_err *err);
    void *ud;
} dbx_login_opts;

int dbx_login(dbx_http *h, dbx_jsonenv *env, const dbx_oauth_endpoints *ep, const dbx_login_opts *o,
              dbx_token *out, dbx_err *err);

#endif
