/* childenv.h — the environment of every process the connector starts (the
 * Databricks CLI, browser openers, the rotator's --on-rotate hooks): ours,
 * minus every variable that holds a secret — by name
 * (DATABRICKS_CLIENT_SECRET, DATABRICKS_TOKEN, DATABRICKS_OIDC_TOKEN,
 * ACTIONS_ID_TOKEN_REQUEST_TOKEN, PGPASSWORD, and the SDKs' other secret
 * variables: DATABRICKS_PASSWORD, ARM_CLIENT_SECRET, GOOGLE_CREDENTIALS,
 * DATABRICKS_GOOGLE_CREDENTIALS) or because its value contains
 * a secret the process knows (redact.h's registry) — plus the caller's
 * extra variables. */
#ifndef DBX_CHILDENV_H
#define DBX_CHILDENV_H

#include "buf.h"

typedef struct dbx_childenv {
    char **envp;  /* NULL-terminated, for posix_spawn */
    dbx_buf text; /* the strings envp points into */
} dbx_childenv;

/* Builds it: `extra` ("NAME=value" strings, NULL-terminated, or NULL)
 * replace variables of the same name. 0, or -1 (no memory). */
int dbx_childenv_build(dbx_childenv *e, const char *const *extra);
void dbx_childenv_free(dbx_childenv *e);

/* 1 when the variable "NAME=value" would be left out. */
int dbx_childenv_secret(const char *var);

#endif
