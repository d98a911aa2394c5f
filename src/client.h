/* client.h — a connection to one workspace with one auth type: the
 * validated config, the HTTP transport, the discovered OAuth endpoints and
 * the current token. Everything that talks to the workspace goes through
 * dbx_client_call, which attaches the Authorization and User-Agent headers,
 * keeps the token fresh, and turns error statuses into errors.
 *
 * Calls take a dbx_ctx: the caller's JSON environment and the on_tokens hook
 * (the binding supplies both per call, so the client never holds a Lua
 * state). */
#ifndef DBX_CLIENT_H
#define DBX_CLIENT_H

#include <stddef.h>

#include "config.h"
#include "err.h"
#include "http.h"
#include "json.h"
#include "oauth.h"
#include "token.h"

typedef struct dbx_ctx dbx_ctx;
struct dbx_ctx {
    dbx_jsonenv *json;
    /* Called after OAuth tokens changed; -1 (with err set) when the hook
     * failed. May be NULL. */
    int (*on_tokens)(dbx_ctx *ctx, const dbx_token *t, dbx_err *err);
    /* Told before each retry of the calls made for this ctx (see
     * dbx_http_retry_fn). May be NULL. */
    void (*on_retry)(dbx_ctx *ctx, const char *what, int attempt, double wait, double left, const dbx_err *cause);
    void *ud;
};

typedef struct dbx_client dbx_client;

/* Takes ownership of *cfg (it is zeroed), also on failure. */
dbx_client *dbx_client_new(dbx_config *cfg, const char *user_agent, dbx_jsonenv *json, dbx_err *err);
void dbx_client_free(dbx_client *c);

const dbx_config *dbx_client_config(const dbx_client *c);
/* The client's transport, for calls that need it directly (the stored
 * token refresh). */
dbx_http *dbx_client_http(dbx_client *c);
/* The User-Agent sent (the caller's, plus the SDKs' "auth/<method>"). */
const char *dbx_client_user_agent(const dbx_client *c);
/* The workspace id sent as X-Databricks-Workspace-Id on every call, or NULL. */
const char *dbx_client_workspace_id(const dbx_client *c);

/* A usable access token (refreshed when stale or expired) and its expiry
 * (0 for a PAT). The pointer is valid until the next call on this client. */
int dbx_client_token(dbx_client *c, dbx_ctx *ctx, const char **token, double *expires_at, dbx_err *err);

/* The token held now (never refreshed), or NULL. */
const dbx_token *dbx_client_current_token(const dbx_client *c);

/* A token obtained at or after `since` (epoch seconds): the one held when
 * it is that recent, else a new one from the source, whatever the state of
 * the one held (the rotator, when the workspace token itself is the
 * password being rotated: the new password should live as long as it can,
 * but one rotation needs only one token). */
int dbx_client_renew(dbx_client *c, dbx_ctx *ctx, double since, const char **token, double *expires_at,
                     dbx_err *err);

/* Installs tokens obtained elsewhere (the browser sign-in). */
int dbx_client_set_tokens(dbx_client *c, dbx_ctx *ctx, dbx_token *t, dbx_err *err);

/* Runs the browser sign-in with the client's settings (client_id, secret,
 * redirect_uri, scopes, login_timeout) and transport, and installs the
 * tokens (on_tokens is called). */
int dbx_client_login(dbx_client *c, dbx_ctx *ctx, int (*open_browser)(void *ud, const char *url, dbx_err *err),
                     void *ud, dbx_err *err);

/* The discovered (or default) OAuth endpoints. */
int dbx_client_endpoints(dbx_client *c, dbx_ctx *ctx, const dbx_oauth_endpoints **ep, dbx_err *err);

/* Calls the workspace: path may carry a query ("/api/...?a=b"). Returns 0
 * for a 2xx response (resp filled), -1 with an error otherwise (resp still
 * holds whatever the server sent). A 401 with a token that can be renewed,
 * or a 403 on one past or within 40 s of its expiry, is retried once with a
 * new token. The workspace id header (config workspace_id) goes with every
 * call. */
int dbx_client_call(dbx_client *c, dbx_ctx *ctx, const char *method, const char *path,
                    const char *content_type, const char *body, size_t body_len,
                    const char *const *headers, dbx_http_response *resp, dbx_err *err);

/* dbx_client_call with every option of a workspace call: a streamed body
 * or answer (the Files API), one attempt only, or a call the stop flag does
 * not end (the cancel sent because of it). A zeroed dbx_call plus method
 * and path is a plain call. */
typedef struct dbx_call {
    const char *method, *path;
    const char *content_type, *body;
    size_t body_len;
    const char *const *headers;
    const dbx_http_stream *stream;
    int no_retry;
    int ignore_stop;
} dbx_call;
int dbx_client_call_ex(dbx_client *c, dbx_ctx *ctx, const dbx_call *call, dbx_http_response *resp, dbx_err *err);

/* The Authorization header value ("Bearer ..."), for headers(). */
int dbx_client_authorization(dbx_client *c, dbx_ctx *ctx, dbx_buf *out, dbx_err *err);

/* dbx_client_call for endpoints that answer a JSON object: the answer
 * decoded (free it with dbx_json_free), or NULL with an error (a protocol
 * error naming the call when the answer is not an object). resp keeps the
 * raw body. */
dbx_json *dbx_client_call_json(dbx_client *c, dbx_ctx *ctx, const char *method, const char *path,
                               const char *body, size_t body_len, dbx_http_response *resp, dbx_err *err);

#endif
