/* validate.h — validate_connection: the checks a pipeline runs before real
 * work (identity, a Unity Catalog table, a statement on the warehouse),
 * each timed, through the same endpoint functions everything else uses.
 * Failures are reported in the result, not returned. */
#ifndef DBX_VALIDATE_H
#define DBX_VALIDATE_H

#include "client.h"

typedef struct dbx_check {
    int ran, ok;
    long status;
    double ms;
    dbx_err err;
} dbx_check;

typedef struct dbx_validation {
    dbx_check auth, unity_catalog, statement_execution;
    char user[256];
    char state[32];
} dbx_validation;

/* Runs the checks (SCIM Me always; the table get when table is given; a
 * statement when a warehouse is known: warehouse_id, else the client's). */
void dbx_validate(dbx_client *c, dbx_ctx *ctx, const char *table, const char *warehouse_id,
                  const char *statement, dbx_validation *v);

#endif
