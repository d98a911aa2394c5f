/* tokenstore.h — the OAuth U2M tokens that `databricks-oauth-login` stores
 * for the rotator's `--auth u2m`: one flat JSON file per workspace host,
 * mode 0600 in a 0700 folder (where: databricks.paths.token_store, the one
 * home of the XDG rules; C is always given the path).
 *
 * Refresh tokens may be single-use. dbx_store_refresh therefore holds the
 * file's lock across "read the refresh token, spend it, write the new one",
 * and the new refresh token is on disk before the caller gets the access
 * token: two rotators can never spend the same refresh token, and a crash
 * after the grant loses nothing that was not already written. */
#ifndef DBX_TOKENSTORE_H
#define DBX_TOKENSTORE_H

#include "buf.h"
#include "err.h"
#include "http.h"
#include "json.h"
#include "oauth.h"
#include "token.h"

typedef struct dbx_store_entry {
    const char *host;          /* normalised */
    const char *client_id;
    const char *client_secret; /* confidential custom app, else NULL */
    const char *scopes;
} dbx_store_entry;

/* Writes (replaces) the store file with these tokens. */
int dbx_store_save(const char *path, const dbx_store_entry *e, const dbx_token *t, dbx_err *err);

/* Spends the stored refresh token at `token_url` and stores the new tokens,
 * all under the file's lock; `host` must match the stored host. On success
 * `out` holds the new access token (and expiry). */
int dbx_store_refresh(dbx_http *h, dbx_jsonenv *env, const char *path, const char *host,
                      const char *token_url, dbx_token *out, dbx_err *err);

/* 1 when a store file exists at path, 0 when not. */
int dbx_store_exists(const char *path);

#endif
