/* lakebase.h — the Lakebase (Databricks PostgreSQL) endpoints: a database
 * credential (the password for the next login) for provisioned instances or
 * autoscaling endpoints, and what an instance or endpoint says about its
 * host and state. Used by the rotation step and client:database_credential.
 * A credential is a secret: it goes only into dbx_token (wiped on release)
 * and never into an error. */
#ifndef DBX_LAKEBASE_H
#define DBX_LAKEBASE_H

#include <stddef.h>

#include "client.h"
#include "token.h"

typedef struct dbx_lb_request {
    const char *const *instance_names; /* provisioned: NULL-terminated, or NULL */
    const char *endpoint;              /* autoscaling: projects/p/branches/b/endpoints/e, or NULL */
    int ttl;                           /* autoscaling: seconds asked for (300..3600), 0 = the default */
} dbx_lb_request;

/* POST the credential request; out gets the token and its lifetime (judged
 * by token.h from the stated expiry and the answer's Date). */
int dbx_lb_credential(dbx_client *c, dbx_ctx *ctx, const dbx_lb_request *rq, dbx_token *out, dbx_err *err);

typedef struct dbx_lb_info {
    char host[256];  /* read_write_dns (instance) or status.hosts.host (endpoint); "" when not yet known */
    char state[32];  /* state / status.current_state as the API says it; "" when absent */
} dbx_lb_info;

/* GET /api/2.0/database/instances/{name}. */
int dbx_lb_instance(dbx_client *c, dbx_ctx *ctx, const char *name, dbx_lb_info *out, dbx_err *err);
/* GET /api/2.0/postgres/{endpoint}. */
int dbx_lb_endpoint(dbx_client *c, dbx_ctx *ctx, const char *endpoint, dbx_lb_info *out, dbx_err *err);

#endif
