/***
The client returned by `databricks.connect`: the methods implemented in C.
(The REST conveniences such as `current_user`, `get_table` and `sql` are in
`databricks.client`, the Lua side of the same object.)
@module databricks.client
*/

/* l_client.c — the client type as Lua sees it: its metatable, the call
 * guard every method runs under (see l_client.h), the on_tokens hook, and
 * the methods about the client itself (close, token, headers, _info).
 * Creating a client is l_connect.c's job, request() is l_request.c's, the
 * endpoint methods are l_workspace.c's. The userdata holds only a dbx_client pointer
 * and request scratch; its first uservalue keeps the Lua callbacks
 * (on_tokens), its second the call guard. */
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "client.h"
#include "l_client.h"
#include "l_util.h"
#include "timeutil.h"

#define GUARD_MT "databricks.client.call"

/* Scratch buffers larger than this are released after the call instead of
 * kept (one huge answer must not pin its memory). */
#define SCRATCH_KEEP (1 << 20)

dbx_lclient *dbx_l_check_client_at(lua_State *L, int idx)
{
    dbx_lclient *u = luaL_checkudata(L, idx, DBX_L_CLIENT_MT);
    if (!u->c)
        luaL_error(L, "attempt to use a closed databricks client");
    return u;
}

dbx_lclient *dbx_l_check_client(lua_State *L)
{
    return dbx_l_check_client_at(L, 1);
}

/* Pushes the callback `name` from the client's uservalue table. */
static int push_callback(lua_State *L, int self, const char *name)
{
    lua_getiuservalue(L, self, 1);
    if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        lua_pushnil(L);
        return LUA_TNIL;
    }
    lua_getfield(L, -1, name);
    lua_remove(L, -2);
    return lua_type(L, -1);
}

static void push_tokens(lua_State *L, const dbx_token *t)
{
    lua_createtable(L, 0, 3);
    lua_pushstring(L, t->access);
    lua_setfield(L, -2, "access_token");
    if (t->refresh) {
        lua_pushstring(L, t->refresh);
        lua_setfield(L, -2, "refresh_token");
    }
    if (t->expires_at > 0) {
        lua_pushinteger(L, (lua_Integer)t->expires_at);
        lua_setfield(L, -2, "expires_at");
    }
}

static int on_tokens(dbx_ctx *ctx, const dbx_token *t, dbx_err *err)
{
    dbx_lctx *x = (dbx_lctx *)ctx;
    lua_State *L = x->L;
    if (push_callback(L, x->self, "on_tokens") != LUA_TFUNCTION) {
        lua_pop(L, 1);
        return 0;
    }
    push_tokens(L, t);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
        dbx_err_set(err, DBX_EIO, "on_tokens callback failed (the new tokens were not stored): %s",
                    lua_tostring(L, -1) ? lua_tostring(L, -1) : "error object is not a string");
        lua_pop(L, 1);
        return -1;
    }
    return 0;
}

/* Tells the client's on_retry callback (the rotator's: connect() has no
 * such key) about a retry: {call=, attempt=, wait=, left=, cause=err}. A
 * failing callback is ignored: it is told, it decides nothing. */
static void on_retry(dbx_ctx *ctx, const char *what, int attempt, double wait, double left, const dbx_err *cause)
{
    dbx_lctx *x = (dbx_lctx *)ctx;
    lua_State *L = x->L;
    if (push_callback(L, x->self, "on_retry") != LUA_TFUNCTION) {
        lua_pop(L, 1);
        return;
    }
    lua_createtable(L, 0, 5);
    lua_pushstring(L, what);
    lua_setfield(L, -2, "call");
    lua_pushinteger(L, attempt);
    lua_setfield(L, -2, "attempt");
    lua_pushnumber(L, wait);
    lua_setfield(L, -2, "wait");
    lua_pushnumber(L, left);
    lua_setfield(L, -2, "left");
    dbx_l_pusherr(L, cause);
    lua_setfield(L, -2, "cause");
    if (lua_pcall(L, 1, 0, 0) != LUA_OK)
        lua_pop(L, 1);
}

void dbx_l_ctx_init(dbx_lctx *x, lua_State *L, int self)
{
    x->base.json = (dbx_jsonenv *)L;
    x->base.on_tokens = self ? on_tokens : NULL;
    x->base.on_retry = self ? on_retry : NULL;
    x->base.ud = x;
    x->L = L;
    x->self = self;
}

void dbx_l_client_release_scratch(dbx_lclient *u)
{
    dbx_http_response *resp = &u->resp;
    if (!u->busy || u->busy != u->depth)
        return;
    u->busy = 0;
    dbx_buf_reset(&u->path);
    dbx_buf_reset(&resp->body);
    dbx_buf_reset(&resp->headers);
    if (resp->body.cap > SCRATCH_KEEP || resp->headers.cap > SCRATCH_KEEP || u->path.cap > SCRATCH_KEEP) {
        dbx_http_response_free(resp);
        dbx_buf_free(&u->path);
    }
}

/* __close of the guard: the call at the current depth is over. */
static int guard_close(lua_State *L)
{
    dbx_lclient **g = luaL_checkudata(L, 1, GUARD_MT);
    dbx_lclient *u = *g;
    dbx_l_client_release_scratch(u);
    u->depth--;
    return 0;
}

dbx_lclient *dbx_l_client_begin_at(lua_State *L, int idx, dbx_lctx *ctx)
{
    dbx_lclient *u;
    idx = lua_absindex(L, idx);
    u = dbx_l_check_client_at(L, idx);
    lua_getiuservalue(L, idx, 2);
    u->depth++;
    lua_toclose(L, -1);
    dbx_l_ctx_init(ctx, L, idx);
    return u;
}

dbx_lclient *dbx_l_client_begin(lua_State *L, dbx_lctx *ctx)
{
    return dbx_l_client_begin_at(L, 1, ctx);
}

/* Pushes a new, empty client userdata (metatable, callbacks table from
 * `callbacks` when it is a table index, call guard). */
dbx_lclient *dbx_l_client_push(lua_State *L, int callbacks)
{
    dbx_lclient *u = lua_newuserdatauv(L, sizeof *u, 2);
    dbx_lclient **g;
    memset(u, 0, sizeof *u);
    dbx_http_response_init(&u->resp);
    luaL_setmetatable(L, DBX_L_CLIENT_MT);
    if (callbacks) {
        lua_pushvalue(L, callbacks);
        lua_setiuservalue(L, -2, 1);
    }
    g = lua_newuserdatauv(L, sizeof *g, 0);
    *g = u;
    luaL_setmetatable(L, GUARD_MT);
    lua_setiuservalue(L, -2, 2);
    return u;
}

/* ---- methods ------------------------------------------------------------ */

/* The LDoc comments below join the `databricks.client` page of the API
 * reference. */

/***
 * Releases the client (its libcurl handle and the tokens it holds). Also run
 * by `__close` (`local c <close> = ...`) and `__gc`; idempotent. Using a
 * closed client raises.
 * @function Client:close
 */
static int l_close(lua_State *L)
{
    dbx_lclient *u = luaL_checkudata(L, 1, DBX_L_CLIENT_MT);
    if (u->depth > 0)
        return luaL_error(L, "client:close() called from inside one of the client's own calls (an on_tokens "
                             "callback): close it after that call returns");
    dbx_client_free(u->c);
    u->c = NULL;
    dbx_buf_free(&u->path);
    dbx_http_response_free(&u->resp);
    return 0;
}

static int l_tostring(lua_State *L)
{
    dbx_lclient *u = luaL_checkudata(L, 1, DBX_L_CLIENT_MT);
    if (!u->c) {
        lua_pushliteral(L, "databricks.client (closed)");
    } else {
        const dbx_config *c = dbx_client_config(u->c);
        lua_pushfstring(L, "databricks.client (%s, %s)", c->host, dbx_auth_type_name(c->auth));
    }
    return 1;
}

/***
 * A usable access token, refreshed when stale or expired.
 * @function Client:token
 * @return token, and its expiry (epoch seconds; nil for a PAT); or nil and an error
 */
static int l_token(lua_State *L)
{
    dbx_lctx x;
    dbx_lclient *u;
    lua_settop(L, 1);
    u = dbx_l_client_begin(L, &x);
    const char *tok;
    double exp;
    dbx_err err;
    dbx_err_clear(&err);
    if (dbx_client_token(u->c, &x.base, &tok, &exp, &err) != 0)
        return dbx_l_fail(L, &err);
    lua_pushstring(L, tok);
    if (exp > 0)
        lua_pushinteger(L, (lua_Integer)exp);
    else
        lua_pushnil(L);
    return 2;
}

/***
 * Headers for the host application's own HTTP calls.
 * @function Client:headers
 * @return `{Authorization = "Bearer ...", ["User-Agent"] = ...}` (and
 * `["X-Databricks-Workspace-Id"]` when the config names a workspace id), or
 * nil and an error
 */
static int l_headers(lua_State *L)
{
    dbx_lctx x;
    dbx_lclient *u;
    lua_settop(L, 1);
    u = dbx_l_client_begin(L, &x);
    dbx_buf auth = {0};
    dbx_err err;
    dbx_err_clear(&err);
    if (dbx_client_authorization(u->c, &x.base, &auth, &err) != 0) {
        dbx_buf_free(&auth);
        return dbx_l_fail(L, &err);
    }
    lua_createtable(L, 0, 2);
    lua_pushlstring(L, auth.data, auth.len);
    lua_setfield(L, -2, "Authorization");
    lua_pushstring(L, dbx_client_user_agent(u->c));
    lua_setfield(L, -2, "User-Agent");
    if (dbx_client_workspace_id(u->c)) {
        lua_pushstring(L, dbx_client_workspace_id(u->c));
        lua_setfield(L, -2, "X-Databricks-Workspace-Id");
    }
    dbx_buf_free(&auth);
    return 1;
}

/* client:_current_token() -> access, expires_at, obtained_at, refresh (or
 * nothing) — the token held now, never refreshed; and
 * client:_adopt_token(access, expires_at, obtained_at[, refresh]) — installs
 * one obtained by a copy of this client in a rotation worker (fork), so
 * every target sharing the client shares the token. Internal to the
 * rotator. */
static int l_current_token(lua_State *L)
{
    dbx_lclient *u = dbx_l_check_client(L);
    const dbx_token *t = dbx_client_current_token(u->c);
    if (!t || !t->access)
        return 0;
    lua_pushstring(L, t->access);
    lua_pushnumber(L, t->expires_at);
    lua_pushnumber(L, t->obtained_at);
    if (t->refresh)
        lua_pushstring(L, t->refresh);
    else
        lua_pushnil(L);
    return 4;
}

static int l_token_state(lua_State *L)
{
    static const char *const names[] = {"none", "fresh", "stale", "expired"};
    dbx_lclient *u = dbx_l_check_client(L);
    const dbx_token *t = dbx_client_current_token(u->c);
    lua_pushstring(L, t ? names[dbx_token_check(t, dbx_now())] : "none");
    return 1;
}

static int l_adopt_token(lua_State *L)
{
    dbx_lclient *u = dbx_l_check_client(L);
    const char *access = luaL_checkstring(L, 2), *refresh = luaL_optstring(L, 5, NULL);
    double exp = luaL_checknumber(L, 3), obtained = luaL_checknumber(L, 4);
    dbx_token t = {0};
    dbx_err err;
    dbx_lctx x;
    dbx_err_clear(&err);
    if (!dbx_token_valid(access) || dbx_token_set(&t, access, refresh, exp, obtained) != 0)
        return dbx_l_failf(L, DBX_EPROTOCOL, "a worker reported an unusable token");
    dbx_l_ctx_init(&x, L, 0);
    if (dbx_client_set_tokens(u->c, &x.base, &t, &err) != 0)
        return dbx_l_fail(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

/* client:_info() — the non-secret settings, for the Lua-side methods. */
static int l_info(lua_State *L)
{
    dbx_lclient *u = dbx_l_check_client(L);
    const dbx_config *c = dbx_client_config(u->c);
    lua_createtable(L, 0, 6);
    lua_pushstring(L, c->host);
    lua_setfield(L, -2, "host");
    lua_pushstring(L, dbx_auth_type_name(c->auth));
    lua_setfield(L, -2, "auth_type");
#define OPT(f)                         \
    if (c->f) {                        \
        lua_pushstring(L, c->f);       \
        lua_setfield(L, -2, #f);       \
    }
    OPT(warehouse_id)
    OPT(cluster_id)
    OPT(serverless_compute_id)
    OPT(client_id)
    OPT(account_id)
    OPT(workspace_id)
    OPT(profile)
    OPT(scopes)
#undef OPT
    lua_pushnumber(L, c->timeout);
    lua_setfield(L, -2, "timeout");
    return 1;
}


void dbx_l_open_client(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"close", l_close},
        {"token", l_token},
        {"headers", l_headers},
        {"_info", l_info},
        {"_current_token", l_current_token},
        {"_adopt_token", l_adopt_token},
        {"_token_state", l_token_state},
        {NULL, NULL},
    };
    static const luaL_Reg meta[] = {
        {"__gc", l_close},
        {"__close", l_close},
        {"__tostring", l_tostring},
        {NULL, NULL},
    };
    luaL_newmetatable(L, GUARD_MT);
    lua_pushcfunction(L, guard_close);
    lua_setfield(L, -2, "__close");
    lua_pop(L, 1);
    luaL_newmetatable(L, DBX_L_CLIENT_MT);
    luaL_setfuncs(L, meta, 0);
    luaL_newlib(L, methods);
    /* Exposed so l_request.c, l_workspace.c and the Lua side
     * (lua/databricks/client.lua) add their methods to the same table. */
    lua_pushvalue(L, -1);
    lua_setfield(L, -4, "client_methods");
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
}
