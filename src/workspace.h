/* workspace.h — identity and the Unity Catalog table look-up: the two
 * workspace endpoints the rotation step and validate_connection need, and
 * the only callers of them (Lua's client:current_user and client:get_table
 * are bindings of these functions, l_workspace.c). Answers are checked for
 * shape here, once. */
#ifndef DBX_WORKSPACE_H
#define DBX_WORKSPACE_H

#include <stddef.h>

#include "client.h"

/* GET SCIM Me. The answer must be an object with a userName; `user` (when
 * not NULL) gets it. resp keeps the raw answer. */
int dbx_ws_me(dbx_client *c, dbx_ctx *ctx, dbx_http_response *resp, char *user, size_t cap, dbx_err *err);

/* GET the Unity Catalog table "catalog.schema.table" (percent-encoded). The
 * answer must be an object with a name. resp keeps the raw answer. */
int dbx_ws_get_table(dbx_client *c, dbx_ctx *ctx, const char *full_name, dbx_http_response *resp,
                     dbx_err *err);

#endif
