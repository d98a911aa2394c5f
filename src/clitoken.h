/* clitoken.h — the `databricks_cli` token source: runs the Databricks CLI's
 * `auth token` (argv only, never a shell) and reads its JSON
 * ({access_token, token_type, expiry[, expires_in]}). Since CLI v1.0 the
 * tokens live in the OS keyring, so the command is run rather than its cache
 * read. As the Go and Python SDKs build it:
 *   databricks auth token --profile P            when a profile is given
 *   databricks auth token --host H [--account-id A]   otherwise (the account
 *                                                     id on account hosts)
 *   ... --force-refresh   when the installed CLI has it (detected once per
 *                         client from `auth token --help`; the SDKs compare
 *                         the CLI's version with 0.296.0 instead)
 *
 * Concurrent processes are serialised: the CLI's own refresh token may be
 * single-use, so two CLIs refreshing at once can sign each other out. The
 * lock is flock on the folder ${XDG_STATE_HOME:-$HOME/.local/state}/
 * lua-databricks/databricks-cli (0700, empty): in our state folder, keyed
 * by the same HOME as the CLI's own cache, never beside the user's files. Without HOME there is no lock (and no CLI cache to protect).
 *
 * The child runs with proc.h's scrubbed environment: no
 * DATABRICKS_CLIENT_SECRET, no DATABRICKS_TOKEN, no value we hold as a
 * secret. Its stderr may echo things we must not print, so only a redacted
 * first line of it reaches an error message. */
#ifndef DBX_CLITOKEN_H
#define DBX_CLITOKEN_H

#include "err.h"
#include "json.h"
#include "token.h"

typedef struct dbx_cli_opts {
    const char *cli;        /* the program, default "databricks" */
    const char *host;       /* normalised host (used without a profile) */
    const char *profile;    /* `--profile P` instead of `--host`, or NULL */
    const char *account_id; /* account hosts: `--account-id`, or NULL */
    double timeout;         /* seconds for the CLI (and for the lock) */
    int *force_refresh;     /* in/out: < 0 unknown (probe once), 0 no, 1 yes; may be NULL (no probe) */
} dbx_cli_opts;

int dbx_cli_token(dbx_jsonenv *env, const dbx_cli_opts *o, dbx_token *out, dbx_err *err);

/* Parses the CLI's JSON output (fuzzed). */
int dbx_cli_parse_token(dbx_jsonenv *env, const char *json, size_t len, double now, dbx_token *out,
                        dbx_err *err);

/* The expiry forms the CLI and the SDKs' CLI token sources print, as epoch
 * seconds (fuzzed):
 *   RFC 3339 with or without a fraction (nanoseconds) and with Z or an
 *   offset ("2024-03-20T10:30:00.123456789+01:00"), 'T' or a space between
 *   date and time;
 *   no zone at all ("2024-03-20 10:30:00", "2024-03-20 10:30:00.123",
 *   "2024-03-20T10:30:00"): local time, as the Python and Java SDKs read it.
 * 0, or -1 when it is none of these. */
int dbx_cli_parse_expiry(const char *s, size_t n, double *out);

#endif
