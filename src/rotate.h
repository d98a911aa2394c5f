/* rotate.h — one rotation step of the Lakebase credential rotator: get a
 * workspace token from the chosen source, turn it into a PostgreSQL
 * password (the token itself, or a Lakebase credential), check it is not
 * expiring, and write it into .pgpass. Any failure leaves .pgpass untouched:
 * the file is only written at the very end, atomically. The scheduler around
 * it is Lua (databricks.rotator). */
#ifndef DBX_ROTATE_H
#define DBX_ROTATE_H

#include "err.h"
#include "json.h"

typedef struct dbx_rotate_opts {
    const char *workspace_url;
    const char *auth;           /* "m2m", "u2m", "cli" or NULL: m2m, then u2m, then cli */
    const char *client_id, *client_secret;
    const char *token_store;    /* stored U2M tokens; NULL: the default for the host */
    const char *instance_name;  /* Lakebase provisioned instance */
    const char *endpoint;       /* Lakebase autoscaling endpoint */
    const char *pg_host;        /* default: the instance's read_write_dns */
    int pg_port;                /* default 5432 */
    const char *pg_database;    /* default databricks_postgres */
    const char *pg_username;    /* default: SCIM userName */
    const char *pgpass_file;    /* default: $PGPASSFILE, else ~/.pgpass */
    const char *ca_bundle;
    const char *databricks_cli; /* default "databricks" */
    const char *user_agent;
    double timeout;             /* per request, default 30 */
    double retry_budget;        /* per call, default 60 */
    double min_validity;        /* refuse a password expiring sooner (s), default 120 */
} dbx_rotate_opts;

typedef struct dbx_rotate_report {
    char subject[256];
    double expires_at;          /* on this machine's clock */
    double clock_skew;          /* this clock minus the server's, seconds (0 when unknown) */
    char pgpass_file[4096];
    char source[8];             /* m2m, u2m, cli */
    char pg_host[256];
    int pg_port;
    char pg_database[128];
    char pg_username[256];
    char action[16];            /* created, appended, inserted, replaced, unchanged */
    int mode_fixed;
} dbx_rotate_report;

/* Checks the options without any I/O (config errors name the option). */
int dbx_rotate_check(const dbx_rotate_opts *o, dbx_err *err);

int dbx_rotate_once(dbx_jsonenv *env, const dbx_rotate_opts *o, dbx_rotate_report *r, dbx_err *err);

#endif
