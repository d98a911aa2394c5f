/* login.h — the OAuth U2M browser sign-in (authorization code + PKCE S256):
 * open the loopback listener, build the authorize URL, let the caller show
 * it (open_browser), wait for the redirect carrying our `state` (loopback.h
 * ignores the others), exchange the code. The verifier comes from OpenSSL's
 * RNG and never leaves this process except in the token request body.
 *
 * Like the Go SDK: without a redirect_uri the listener takes port 8020, or
 * the first free one of 8021-8040 when 8020 is busy (the built-in
 * databricks-cli app accepts all of them), and the redirect URI is
 * http://localhost:<that port>; a redirect_uri given by the caller is used
 * as it is (a custom app registers exact URIs). offline_access is always
 * among the scopes (config.c adds it). */
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
    const char *redirect_uri;  /* NULL: http://localhost:8020, or the port fallback */
    const char *scopes;        /* default "offline_access all-apis" */
    double timeout;            /* seconds to wait for the redirect */
    /* Shows the URL to the user; returns 0, or -1 with err set. */
    int (*open_browser)(void *ud, const char *url, dbx_err *err);
    void *ud;
} dbx_login_opts;

#define DBX_U2M_PORT_FIRST 8020
#define DBX_U2M_PORT_LAST 8040

int dbx_login(dbx_http *h, dbx_jsonenv *env, const dbx_oauth_endpoints *ep, const dbx_login_opts *o,
              dbx_token *out, dbx_err *err);

#endif
