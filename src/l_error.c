/* l_error.c — the "databricks.error" type Lua sees: its metatable
 * (__tostring formats exactly like a C-made error), core.error (an error
 * table built by Lua code, redacted like every other) and core.redact. */
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "l_util.h"
#include "redact.h"

static int err_tostring(lua_State *L)
{
    dbx_err e;
    char line[sizeof e.message + 256];
    luaL_checktype(L, 1, LUA_TTABLE);
    dbx_l_toerr(L, 1, &e);
    dbx_err_format(&e, line, sizeof line);
    lua_pushstring(L, line);
    return 1;
}

/* core.error{kind=, message=, ...} — an error table for Lua code, with the
 * message redacted and the shared metatable. */
static int l_error(lua_State *L)
{
    dbx_err e;
    luaL_checktype(L, 1, LUA_TTABLE);
    dbx_l_toerr(L, 1, &e);
    dbx_l_pusherr(L, &e);
    /* Keep extra fields the caller attached (e.g. sql statement_id). */
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        lua_pushvalue(L, -2);
        if (lua_rawget(L, -4) == LUA_TNIL) {
            lua_pop(L, 1);
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, -4);
        } else {
            lua_pop(L, 2);
        }
    }
    return 1;
}

/* core.redact(text[, {more secrets...}]): what every message gets
 * (redact.h), plus an optional list. */
static int l_redact(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    luaL_Buffer b;
    char *p = luaL_buffinitsize(L, &b, n + 1);
    memcpy(p, s, n + 1);
    if (lua_istable(L, 2)) {
        /* Further secrets given as a list (any number). */
        lua_Integer count = (lua_Integer)luaL_len(L, 2);
        const char **list = lua_newuserdatauv(L, sizeof *list * (size_t)(count + 1), 0);
        for (lua_Integer i = 1; i <= count; i++) {
            lua_rawgeti(L, 2, i);
            list[i - 1] = lua_type(L, -1) == LUA_TSTRING ? lua_tostring(L, -1) : "";
            lua_pop(L, 1); /* strings stay anchored by the list table */
        }
        list[count] = NULL;
        dbx_redact_known(p, list);
        lua_pop(L, 1);
    } else {
        dbx_redact(p);
    }
    luaL_pushresultsize(&b, strlen(p));
    return 1;
}

/* core.add_secret(s): a secret Lua code holds (read from a file, say) is
 * registered for the rest of the process, so every message redacts it. */
static int l_add_secret(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    if (strlen(s) == n)
        dbx_secret_add(s);
    return 0;
}

void dbx_l_open_error(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"error", l_error},
        {"redact", l_redact},
        {"add_secret", l_add_secret},
        {NULL, NULL},
    };
    if (luaL_newmetatable(L, DBX_L_ERROR_MT)) {
        lua_pushcfunction(L, err_tostring);
        lua_setfield(L, -2, "__tostring");
        lua_pushliteral(L, "databricks.error");
        lua_setfield(L, -2, "__name");
    }
    lua_pop(L, 1);
    luaL_setfuncs(L, fns, 0);
}
