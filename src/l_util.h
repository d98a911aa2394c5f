/* l_util.h — helpers shared by the l_*.c binding files, the only files that
 * know the Lua stack (implemented in l_util.c, plus the JSON pair in
 * l_json.c). Errors are returned to Lua as `nil, err` where err is a table
 * with the "databricks.error" metatable (kind, message, status, error_code,
 * request_id, retry_after; __tostring gives one line).
 *
 * Layering: l_module.c (the entry point) calls the dbx_l_open_* functions
 * below; every binding file includes this header and no binding file
 * includes another's, except the client type's own header l_client.h. */
#ifndef DBX_L_UTIL_H
#define DBX_L_UTIL_H

#include <stddef.h>

#include <lua.h>

#include "err.h"

#define DBX_L_ERROR_MT "databricks.error"

/* Pushes nil and the error table; returns 2 (for `return dbx_l_fail(...)`). */
int dbx_l_fail(lua_State *L, const dbx_err *e);
/* Convenience: build and push a config/io/... error from a format string. */
int dbx_l_failf(lua_State *L, dbx_kind kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Pushes the error table alone. */
void dbx_l_pusherr(lua_State *L, const dbx_err *e);
/* Reads an error table (at idx) back into a dbx_err, redacting it; what
 * Lua code built formats exactly like what C built. */
void dbx_l_toerr(lua_State *L, int idx, dbx_err *e);

/* Options-table readers: the field named `key` of the table at `idx`.
 * Return the value, or `def` when the field is nil; raise a Lua error naming
 * the key when the type is wrong (a programming error, per DESIGN.md). */
const char *dbx_l_optstring(lua_State *L, int idx, const char *key, const char *def);
lua_Number dbx_l_optnumber(lua_State *L, int idx, const char *key, lua_Number def);
int dbx_l_optboolean(lua_State *L, int idx, const char *key, int def);

/* Decodes JSON (private lua-cjson instance) and pushes the value; -1 (nothing
 * pushed) when s is not JSON. Implemented in l_json.c. */
int dbx_l_json_decode_push(lua_State *L, const char *s, size_t n);
/* Decodes the JSON string at the top of the stack in place (replaced by
 * the value); -1 (the string popped, nothing pushed) when it is not JSON.
 * For callers that built the text as a Lua string: no second copy. */
int dbx_l_json_decode_top(lua_State *L);
/* Pushes the value at `path` of a document decoded by json.h (see json.h
 * for paths); returns its Lua type. Implemented in l_json.c. */
struct dbx_json;
int dbx_l_json_push(lua_State *L, const struct dbx_json *j, const char *path);
/* Encodes the value at idx as JSON into a new string pushed on the stack;
 * -1 with an error message pushed when it cannot be encoded. */
int dbx_l_json_encode_push(lua_State *L, int idx);

/* The User-Agent of this Lua state (pushed on the stack, and returned). */
const char *dbx_l_user_agent(lua_State *L);
/* Sets it (set_product has validated and formatted it). */
void dbx_l_set_user_agent(lua_State *L, const char *ua);

/* Registration of each binding area into the module table at the top of the
 * stack (called once each, in this order, from l_module.c). */
void dbx_l_open_error(lua_State *L);      /* l_error.c: error type, error, redact */
void dbx_l_open_useragent(lua_State *L);  /* l_useragent.c: user_agent, set_product, VERSION */
void dbx_l_open_parse(lua_State *L);      /* l_parse.c: host, HTTP paths, JWT claims */
void dbx_l_open_client(lua_State *L);     /* l_client.c: the client type and its C methods */
void dbx_l_open_connect(lua_State *L);    /* l_connect.c: connect (and the browser sign-in) */
void dbx_l_open_request(lua_State *L);    /* l_request.c: client:request, response metadata */
void dbx_l_open_workspace(lua_State *L);  /* l_workspace.c: the endpoint methods of the client */
void dbx_l_open_pgpass(lua_State *L);     /* l_pgpass.c: .pgpass update/lookup */
void dbx_l_open_sys(lua_State *L);        /* l_sys.c: clocks, sleep, signals, sd_notify */
void dbx_l_open_config(lua_State *L);     /* l_config.c: INI parser */
void dbx_l_open_rotate(lua_State *L);     /* l_rotate.c: one rotation step */
void dbx_l_open_tokenstore(lua_State *L); /* l_tokenstore.c: stored U2M tokens */
void dbx_l_open_logfile(lua_State *L);    /* l_logfile.c: the private log file type */
void dbx_l_open_files(lua_State *L);      /* l_files.c: private atomic writes */
void dbx_l_open_workers(lua_State *L);    /* l_workers.c: the daemon's rotation workers */
void dbx_l_open_statement(lua_State *L);  /* l_statement.c: client:_execute and the statement type */
void dbx_l_open_volumes(lua_State *L);    /* l_volumes.c: the Files API methods, volume_path */

#endif
