/* login.c — the browser sign-in flow (see login.h). */
#include "login.h"

#include <stdio.h>
#include <string.h>

#include "buf.h"
#include "config.h"
#include "loopback.h"
#include "pkce.h"
#include "random.h"

static int authorize_url(dbx_buf *url, const char *endpoint, const dbx_login_opts *o, const char *state,
                         const char *challenge)
{
    return dbx_buf_puts(url, endpoint) || dbx_buf_puts(url, strchr(endpoint, '?') ? "&" : "?") ||
           dbx_buf_puts(url, "response_type=code&client_id=") || dbx_buf_urlencode(url, o->client_id) ||
           dbx_buf_puts(url, "&redirect_uri=") || dbx_buf_urlencode(url, o->redirect_uri) ||
           dbx_buf_puts(url, "&scope=") || dbx_buf_urlencode(url, o->scopes) ||
           dbx_buf_puts(url, "&state=") || dbx_buf_urlencode(url, state) ||
           dbx_buf_puts(url, "&code_challenge=") || dbx_buf_urlencode(url, challenge) ||
           dbx_buf_puts(url, "&code_challenge_method=S256");
}

int dbx_login(dbx_http *h, dbx_jsonenv *env, const dbx_oauth_endpoints *ep, const dbx_login_opts *in,
              dbx_token *out, dbx_err *err)
{
    dbx_login_opts o = *in;
    dbx_redirect redirect;
    char fallback[64];
    dbx_listener l = {-1, 0};
    dbx_buf verifier = {0}, challenge = {0}, state = {0}, url = {0};
    dbx_callback cb;
    dbx_oauth_grant g = {0};
    int rc = -1;

    if (!o.client_id)
        o.client_id = DBX_DEFAULT_U2M_CLIENT;
    if (!o.scopes)
        o.scopes = DBX_DEFAULT_U2M_SCOPES;
    if (o.timeout <= 0)
        o.timeout = 300;
    memset(&cb, 0, sizeof cb);
    if (o.redirect_uri) {
        if (dbx_parse_redirect_uri(o.redirect_uri, &redirect, err) != 0 ||
            dbx_listener_open(redirect.port, &l, err) != 0)
            goto done;
    } else {
        if (dbx_listener_open_range(DBX_U2M_PORT_FIRST, DBX_U2M_PORT_LAST, &l, err) != 0)
            goto done;
        snprintf(fallback, sizeof fallback, "http://localhost:%d", l.port);
        o.redirect_uri = fallback;
        if (dbx_parse_redirect_uri(o.redirect_uri, &redirect, err) != 0)
            goto done;
    }
    /* 64 random bytes give an 86-character verifier (RFC 7636: 43-128). */
    if (dbx_random_b64url(&verifier, 64, err) != 0 || dbx_pkce_challenge(verifier.data, &challenge, err) != 0 ||
        dbx_random_b64url(&state, 32, err) != 0)
        goto done;
    if (authorize_url(&url, ep->authorize, &o, state.data, challenge.data) != 0) {
        dbx_err_set(err, DBX_EIO, "out of memory");
        goto done;
    }
    if (o.open_browser(o.ud, url.data, err) != 0)
        goto done;
    if (dbx_listener_wait(&l, redirect.path, state.data, o.timeout, &cb, err) != 0)
        goto done;
    if (cb.error[0]) {
        dbx_err_set_code(err, cb.error, strlen(cb.error));
        dbx_err_set(err, DBX_EAUTH, "sign-in was not completed: %s%s%s", cb.error,
                    cb.error_description[0] ? ": " : "", cb.error_description);
        goto done;
    }
    g.token_url = ep->token;
    g.client_id = o.client_id;
    g.client_secret = o.client_secret;
    g.code = cb.code;
    g.code_verifier = verifier.data;
    g.redirect_uri = o.redirect_uri;
    rc = dbx_oauth_exchange_code(h, env, &g, out, err);
done:
    dbx_listener_close(&l);
    dbx_wipe(&cb, sizeof cb);
    dbx_buf_free(&verifier);
    dbx_buf_free(&challenge);
    dbx_buf_free(&state);
    dbx_buf_free(&url);
    return rc;
}
