/* l_util.c — the helpers every l_*.c binding file shares, and nothing that
 * Lua sees by name: pushing error tables (the "databricks.error" type itself
 * is registered by l_error.c), reading an error table back, option-table
 * readers, and the User-Agent of a Lua state. It sits beneath every binding
 * file and includes none of them.
 *
 * The product a host application sets with set_product belongs to the Lua
 * state (kept in its registry), so two independent Lua states in one
 * process never see each other's product. */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "l_util.h"
#include "redact.h"
#include "useragent.h"

/* ---- errors ----------------------------------------------------------- */

/* Scrubs, in place, every string of the table at the top of the stack (keys
 * and values, nested tables too): server text in err.details gets what
 * every message gets (redact.h). A table nested deeper than `depth` is
 * replaced by a placeholder rather than kept unscrubbed. */
static void scrub_strings(lua_State *L, int depth)
{
    int t = lua_gettop(L);
    luaL_checkstack(L, 8, "scrubbing error details");
    lua_newtable(L); /* the cleaned entries, swapped in afterwards */
    lua_pushnil(L);
    while (lua_next(L, t)) {
        /* Clean copies of the key and the value (lua_next needs the
         * original key back). */
        lua_pushvalue(L, -2);
        lua_pushvalue(L, -2);
        for (int i = -2; i <= -1; i++) {
            if (lua_type(L, i) == LUA_TSTRING) {
                size_t n;
                const char *s = lua_tolstring(L, i, &n);
                luaL_Buffer b;
                char *p = luaL_buffinitsize(L, &b, n + 1);
                memcpy(p, s, n + 1);
                if (strlen(p) == n)
                    dbx_redact(p);
                else
                    memcpy(p, "?", 2); /* an embedded NUL: nothing worth keeping */
                luaL_pushresultsize(&b, strlen(p));
                lua_replace(L, i - 1);
            } else if (lua_type(L, i) == LUA_TTABLE && depth > 1) {
                lua_pushvalue(L, i);
                scrub_strings(L, depth - 1);
                lua_pop(L, 1);
            } else if (lua_type(L, i) == LUA_TTABLE) {
                lua_pushliteral(L, "(nested too deep)");
                lua_replace(L, i - 1);
            }
        }
        lua_rawset(L, t + 1);
        lua_pop(L, 1);
    }
    /* Replace the contents of the original table with the cleaned ones. */
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        lua_pushvalue(L, -1);
        lua_pushnil(L);
        lua_rawset(L, t);
    }
    lua_pushnil(L);
    while (lua_next(L, t + 1)) {
        lua_pushvalue(L, -2);
        lua_insert(L, -2);
        lua_rawset(L, t);
    }
    lua_pop(L, 1);
}

/* err.details: the server's details[] (JSON text in the dbx_err) as a Lua
 * list of tables, every string scrubbed. */
static void push_details(lua_State *L, const dbx_err *e)
{
    if (!e->details[0] || dbx_l_json_decode_push(L, e->details, strlen(e->details)) != 0)
        return;
    if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        return;
    }
    scrub_strings(L, 8);
    lua_setfield(L, -2, "details");
}

void dbx_l_pusherr(lua_State *L, const dbx_err *e)
{
    lua_createtable(L, 0, 6);
    lua_pushstring(L, dbx_kind_name(e->kind));
    lua_setfield(L, -2, "kind");
    lua_pushstring(L, e->message);
    lua_setfield(L, -2, "message");
    if (e->status > 0) {
        lua_pushinteger(L, e->status);
        lua_setfield(L, -2, "status");
    }
    if (e->error_code[0]) {
        lua_pushstring(L, e->error_code);
        lua_setfield(L, -2, "error_code");
    }
    if (e->request_id[0]) {
        lua_pushstring(L, e->request_id);
        lua_setfield(L, -2, "request_id");
    }
    if (e->retry_after >= 0) {
        lua_pushnumber(L, e->retry_after);
        lua_setfield(L, -2, "retry_after");
    }
    push_details(L, e);
    luaL_setmetatable(L, DBX_L_ERROR_MT);
}

int dbx_l_fail(lua_State *L, const dbx_err *e)
{
    lua_pushnil(L);
    dbx_l_pusherr(L, e);
    return 2;
}

int dbx_l_failf(lua_State *L, dbx_kind kind, const char *fmt, ...)
{
    dbx_err e;
    va_list ap;
    dbx_err_clear(&e);
    e.kind = kind;
    va_start(ap, fmt);
    vsnprintf(e.message, sizeof e.message, fmt, ap);
    va_end(ap);
    dbx_redact(e.message);
    return dbx_l_fail(L, &e);
}

void dbx_l_toerr(lua_State *L, int idx, dbx_err *e)
{
    const char *s;
    size_t n;
    dbx_err_clear(e);
    e->kind = DBX_EIO;
    lua_getfield(L, idx, "kind");
    s = lua_tostring(L, -1);
    for (int k = DBX_ECONFIG; s && k <= DBX_ESQL; k++)
        if (strcmp(s, dbx_kind_name((dbx_kind)k)) == 0)
            e->kind = (dbx_kind)k;
    lua_pop(L, 1);
    lua_getfield(L, idx, "message");
    s = lua_tolstring(L, -1, &n);
    if (s) {
        if (n >= sizeof e->message)
            n = sizeof e->message - 1;
        memcpy(e->message, s, n);
        e->message[n] = '\0';
        dbx_redact(e->message);
    }
    lua_pop(L, 1);
    lua_getfield(L, idx, "status");
    e->status = (long)lua_tointeger(L, -1);
    lua_pop(L, 1);
    lua_getfield(L, idx, "error_code");
    if ((s = lua_tolstring(L, -1, &n)))
        dbx_err_set_code(e, s, n);
    lua_pop(L, 1);
    lua_getfield(L, idx, "request_id");
    if ((s = lua_tolstring(L, -1, &n)))
        dbx_err_set_request_id(e, s, n);
    lua_pop(L, 1);
    lua_getfield(L, idx, "retry_after");
    if (lua_isnumber(L, -1))
        e->retry_after = lua_tonumber(L, -1);
    lua_pop(L, 1);
}

/* ---- options-table readers ------------------------------------------- */

const char *dbx_l_optstring(lua_State *L, int idx, const char *key, const char *def)
{
    const char *s;
    int t = lua_getfield(L, idx, key);
    if (t == LUA_TNIL) {
        lua_pop(L, 1);
        return def;
    }
    if (t != LUA_TSTRING)
        luaL_error(L, "option '%s' must be a string (got %s)", key, lua_typename(L, t));
    s = lua_tostring(L, -1); /* anchored by the options table */
    lua_pop(L, 1);
    return s;
}

lua_Number dbx_l_optnumber(lua_State *L, int idx, const char *key, lua_Number def)
{
    lua_Number v;
    int t = lua_getfield(L, idx, key);
    if (t == LUA_TNIL) {
        lua_pop(L, 1);
        return def;
    }
    if (t != LUA_TNUMBER)
        luaL_error(L, "option '%s' must be a number (got %s)", key, lua_typename(L, t));
    v = lua_tonumber(L, -1);
    lua_pop(L, 1);
    return v;
}

int dbx_l_optboolean(lua_State *L, int idx, const char *key, int def)
{
    int v, t = lua_getfield(L, idx, key);
    if (t == LUA_TNIL) {
        lua_pop(L, 1);
        return def;
    }
    if (t != LUA_TBOOLEAN)
        luaL_error(L, "option '%s' must be a boolean (got %s)", key, lua_typename(L, t));
    v = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}

/* ---- User-Agent ------------------------------------------------------- */

static const char product_key = 'p';

const char *dbx_l_user_agent(lua_State *L)
{
    char ua[512];
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &product_key) == LUA_TSTRING)
        return lua_tostring(L, -1);
    lua_pop(L, 1);
    dbx_ua_format(ua, sizeof ua, NULL, NULL, NULL);
    lua_pushstring(L, ua);
    return lua_tostring(L, -1);
}

void dbx_l_set_user_agent(lua_State *L, const char *ua)
{
    lua_pushstring(L, ua);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &product_key);
}
