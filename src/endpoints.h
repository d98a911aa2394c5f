/* endpoints.h — every workspace REST path the C core calls: one table, so a
 * newcomer sees at a glance what the core talks to. The C core calls only
 * what its own features need — OAuth (oauth.c), identity and the Unity
 * Catalog table look-up (workspace.c: the rotation step and validation),
 * Lakebase (lakebase.c: the rotation step), statement execution
 * (statement.c: validation, and the SQL engine), and the Files API's file
 * transfers (volumes.c: streamed through libcurl, which Lua cannot do).
 * Every other endpoint is Lua
 * over client:request in lua/databricks/client.lua (CONTRIBUTING.md,
 * "Adding an endpoint"). A path ending in '/' takes a percent-encoded
 * name after it. */
#ifndef DBX_ENDPOINTS_H
#define DBX_ENDPOINTS_H

/* OAuth (relative to the workspace host; account hosts use the account
 * forms in oauth.c). */
#define DBX_PATH_OIDC_DISCOVERY "/oidc/.well-known/oauth-authorization-server"
#define DBX_PATH_OIDC_AUTHORIZE "/oidc/v1/authorize"
#define DBX_PATH_OIDC_TOKEN "/oidc/v1/token"

/* Identity and Unity Catalog (workspace.c). */
#define DBX_PATH_SCIM_ME "/api/2.0/preview/scim/v2/Me"
#define DBX_PATH_UC_TABLE "/api/2.1/unity-catalog/tables/" /* + full name */

/* Lakebase (lakebase.c). */
#define DBX_PATH_DB_CREDENTIALS "/api/2.0/database/credentials"
#define DBX_PATH_DB_INSTANCE "/api/2.0/database/instances/" /* + instance name */
#define DBX_PATH_PG_CREDENTIALS "/api/2.0/postgres/credentials"
#define DBX_PATH_PG_RESOURCE "/api/2.0/postgres/" /* + projects/p/branches/b/endpoints/e */

/* Statement execution (statement.c): POST to submit; {id}, {id}/cancel,
 * {id}/result/chunks/{n} after it. */
#define DBX_PATH_STATEMENTS "/api/2.0/sql/statements"

/* Files API on volumes (volumes.c): PUT, GET, HEAD, DELETE of
 * /api/2.0/fs/files + a percent-encoded absolute path. (Directories,
 * /api/2.0/fs/directories, are Lua: lua/databricks/client.lua.) */
#define DBX_PATH_FS_FILES "/api/2.0/fs/files"

#endif
