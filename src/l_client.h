/* l_client.h — the client userdata shared by the binding files that
 * implement its methods (l_client.c: the type and its C methods;
 * l_connect.c: creating one; l_request.c: client:request). Only l_*.c files
 * include it.
 *
 * Every method that can reach Lua code again (on_tokens, open_browser) runs
 * inside a "call": dbx_l_client_begin pushes a to-be-closed guard, so that
 * whatever happens — a normal return, a raised misuse error, an error from a
 * callback — the per-call state is undone when the method leaves. A client
 * cannot be closed from inside one of its own calls (that would free it
 * under the running C code). */
#ifndef DBX_L_CLIENT_H
#define DBX_L_CLIENT_H

#include <lua.h>

#include "client.h"

#define DBX_L_CLIENT_MT "databricks.client"

typedef struct dbx_lclient {
    dbx_client *c;
    int depth; /* calls in progress (nested through callbacks) */
    /* Scratch for request(): the path and the response are reused from call
     * to call (no allocation per request). `busy` is the depth of the call
     * that holds them (0: free), so a request made from inside another (an
     * on_tokens callback) gets its own. */
    int busy;
    dbx_buf path;
    dbx_http_response resp;
} dbx_lclient;

/* Per-call context: the Lua state and the stack index of the client. */
typedef struct dbx_lctx {
    dbx_ctx base;
    lua_State *L;
    int self;
} dbx_lctx;

/* The client at stack index 1, raising when it is closed. */
dbx_lclient *dbx_l_check_client(lua_State *L);
/* The same for the client at stack index idx (an object that belongs to a
 * client, such as a statement, keeps it in a uservalue). */
dbx_lclient *dbx_l_check_client_at(lua_State *L, int idx);

/* Starts a call on the client at index 1 (depth + 1, a to-be-closed guard
 * pushed, ctx ready for C calls with on_tokens wired). */
dbx_lclient *dbx_l_client_begin(lua_State *L, dbx_lctx *ctx);
/* The same for the client at stack index idx. */
dbx_lclient *dbx_l_client_begin_at(lua_State *L, int idx, dbx_lctx *ctx);

/* Pushes a new client userdata (metatable, the callbacks table found at
 * stack index `callbacks` when not 0, the call guard); its dbx_client is
 * NULL until the caller sets it. */
dbx_lclient *dbx_l_client_push(lua_State *L, int callbacks);

/* Fills ctx for C calls made on behalf of the client at stack index `self`
 * (0: no client, so no on_tokens). */
void dbx_l_ctx_init(dbx_lctx *x, lua_State *L, int self);

/* Releases the request scratch buffers held by the call at the current
 * depth (called by the guard; also by request on its own path). */
void dbx_l_client_release_scratch(dbx_lclient *u);

#endif
