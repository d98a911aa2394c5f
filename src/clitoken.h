/* clitoken.h — the `databricks_cli` token source: runs
 * `databricks auth token --host URL` (argv only, never a shell) and reads its
 * JSON ({access_token, token_type, expiry}). Since CLI v1.0 the tokens live
 * in the OS keyring, so the command is run rather than its cache read. */
#ifndef DBX_CLITOKEN_H
#define DBX_CLITOKEN_H

#include "err.h"
#include "json.h"
#include "token.h"

int dbx_cli_token(dbx_jsonenv *env, const char *cli, const char *host, double timeout, dbx_token *out,
                  dbx_err *err);

/* Parses the CLI's JSON output (fuzzed). */
int dbx_cli_parse_token(dbx_jsonenv *env, const char *json, size_t len, double now, dbx_token *out,
                        dbx_err *err);

#endif
