/* oidc.h — the subject tokens of workload identity federation (DESIGN.md
 * §7): the JWT that env_oidc, file_oidc and github_oidc exchange for a
 * Databricks token, read afresh at every exchange (a Kubernetes projected
 * token or a CI job's token rotates under us), and the audience rule.
 *
 *   env_oidc     the variable named by oidc_token_env (default
 *                DATABRICKS_OIDC_TOKEN)
 *   file_oidc    the file oidc_token_file, surrounding whitespace stripped
 *                (as the Python SDK does; at most 64 KiB; a symlink, as
 *                Kubernetes projects tokens, is followed; a FIFO is refused)
 *   github_oidc  GET $ACTIONS_ID_TOKEN_REQUEST_URL&audience=<audience> with
 *                Authorization: Bearer $ACTIONS_ID_TOKEN_REQUEST_TOKEN,
 *                answered {"value": "<jwt>"}
 *
 * These are the only environment variables and the only file this file
 * reads, and only when a token is asked for (connect itself reads none).
 * A subject token is a secret from the moment it is read: it is registered
 * with the redactor until dbx_oidc_release, goes only into the token
 * exchange's request body, and never into argv, a log line or an error (an
 * error names the variable or the file, never the value). So is the GitHub
 * request token while the request is in flight. */
#ifndef DBX_OIDC_H
#define DBX_OIDC_H

#include "config.h"
#include "err.h"
#include "http.h"
#include "json.h"

/* The audience asked for: token_audience, else the account id for account
 * configs (account-wide: the account's endpoints), else the token endpoint
 * URL (the Go SDK's rule; only github_oidc uses it, an env/file token is
 * minted beforehand). */
const char *dbx_oidc_audience(const dbx_config *cfg, const char *token_endpoint);

/* The subject token for cfg's federation auth type, or NULL with err
 * (config: a variable or file missing or unusable; auth/http/network: the
 * GitHub token endpoint failed). Release it with dbx_oidc_release. */
char *dbx_oidc_subject_token(dbx_http *h, dbx_jsonenv *env, const dbx_config *cfg, const char *audience,
                             dbx_err *err);
void dbx_oidc_release(char *token);

/* Checks a subject token's bytes (printable ASCII, no blank): 0, or -1 with
 * a config error naming `from` (never the value). Pure. */
int dbx_oidc_check(const char *token, const char *from, dbx_err *err);

#endif
