/* rotate.h — the Lakebase credential rotator's C core: the workspace
 * client it rotates with, and one rotation of one target (the rotation
 * step). The step gets the PostgreSQL user (SCIM) and host (the instance's
 * or endpoint's) when they are not given, checks the instance's or
 * endpoint's state, obtains the password (a Lakebase credential, or the
 * workspace token itself), checks it is worth writing, and writes it into
 * every output of the target — only after the credential was obtained, so
 * a failure before that changes no file; an output that fails leaves the
 * others' new content valid and is reported. The scheduler, targets,
 * hooks and logging are Lua (databricks.rotator). */
#ifndef DBX_ROTATE_H
#define DBX_ROTATE_H

#include <stddef.h>

#include "client.h"
#include "config.h"
#include "err.h"
#include "token.h"

/* Where the rotator's workspace token comes from. */
typedef struct dbx_rotator_source {
    const char *workspace_url;
    const char *auth;          /* "m2m", "u2m", "cli", "oidc" or NULL: m2m when client credentials
                                  are set, else oidc when an OIDC token file or variable is named,
                                  else u2m when the token store exists, else cli */
    const char *client_id, *client_secret;
    const char *token_store;   /* u2m: NULL = the default store of the host */
    const char *ca_bundle;     /* NULL: SSL_CERT_FILE, CURL_CA_BUNDLE, the system store (the builder's rule) */
    const char *databricks_cli;
    const char *profile;       /* cli: `databricks auth token --profile` */
    /* oidc (workload identity federation): file_oidc with a file, env_oidc
     * with a variable name, else github_oidc inside GitHub Actions, else
     * env_oidc (DATABRICKS_OIDC_TOKEN). No client secret. */
    const char *oidc_token_file, *oidc_token_env, *token_audience;
    const char *account_id;    /* the account's OAuth endpoints (account-wide federation) */
    double timeout;            /* per HTTP attempt; <= 0: 30 */
    double retry_budget;       /* per call; <= 0: 60 */
} dbx_rotator_source;

/* The client's config, built by config.c's one builder (so CA, proxies and
 * timeouts follow exactly the rules of connect). `source` gets "m2m",
 * "u2m", "cli" or "oidc". */
int dbx_rotator_config(const dbx_rotator_source *s, dbx_config *out, char source[8], dbx_err *err);

typedef struct dbx_rotate_output {
    const char *kind; /* "pgpass", "pgbouncer", "env", "json" */
    const char *path; /* NULL for pgpass: $PGPASSFILE, else ~/.pgpass */
} dbx_rotate_output;

typedef struct dbx_rotate_target {
    const char *instance_name; /* Lakebase provisioned instance */
    const char *endpoint;      /* Lakebase autoscaling endpoint */
    int ttl;                   /* endpoint credential lifetime asked for (300..3600 s), 0 = default */
    const char *pg_host;       /* default: the instance's / endpoint's host */
    int pg_port;               /* default 5432 */
    const char *pg_database;   /* default databricks_postgres */
    const char *pg_username;   /* default: SCIM userName */
    const dbx_rotate_output *outputs;
    size_t n_outputs;
    double min_validity;       /* refuse a password expiring sooner (s), default 120 */
    int no_write;              /* write no output: hand the password back (databricks-oauth-psql) */
} dbx_rotate_target;

typedef struct dbx_rotate_output_report {
    char path[4096];  /* the file written (symlinks resolved) */
    char action[16];
    char warning[160];
    int mode_fixed;
    int ok;
    dbx_err err;
} dbx_rotate_output_report;

typedef struct dbx_rotate_report {
    char subject[256];
    double expires_at;          /* on this machine's clock */
    double clock_skew;          /* this clock minus the server's, seconds (0 when unknown) */
    char pg_host[256];
    int pg_port;
    char pg_database[128];
    char pg_username[256];
    char state[32];             /* the instance's / endpoint's state, "" when not looked up */
    dbx_rotate_output_report *outputs; /* n_outputs entries, allocated by the caller */
    size_t failed;              /* outputs that could not be written */
    dbx_token password;         /* no_write only: the credential (the caller clears it) */
} dbx_rotate_report;

/* One rotation. 0: every output written; -1: failed before any output was
 * touched (err); -2: the credential was obtained but `failed` outputs
 * could not be written (err describes the first; the report says which). */
int dbx_rotate_once(dbx_client *c, dbx_ctx *ctx, const dbx_rotate_target *t, dbx_rotate_report *r,
                    dbx_err *err);

#endif
