/* l_config.c — Lua binding of the INI parser: core.ini_parse(text) returns
 * {sections = {name = {key = value}}, order = {names...}} or nil, err
 * (duplicate sections and keys are errors, as in the Python SDK). */
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "ini.h"
#include "l_util.h"

typedef struct ini_ud {
    lua_State *L;
    int sections, order, n;
} ini_ud;

static int on_entry(void *p, const char *section, const char *key, const char *value, int line, dbx_err *err)
{
    ini_ud *u = p;
    lua_State *L = u->L;
    if (!key) {
        if (lua_getfield(L, u->sections, section) != LUA_TNIL) {
            lua_pop(L, 1);
            return dbx_err_set(err, DBX_ECONFIG, "line %d: section [%.100s] appears twice", line, section);
        }
        lua_pop(L, 1);
        lua_newtable(L);
        lua_setfield(L, u->sections, section);
        lua_pushstring(L, section);
        lua_rawseti(L, u->order, ++u->n);
        return 0;
    }
    lua_getfield(L, u->sections, section);
    if (lua_getfield(L, -1, key) != LUA_TNIL) {
        lua_pop(L, 2);
        return dbx_err_set(err, DBX_ECONFIG, "line %d: key '%.60s' appears twice in [%.100s]", line, key, section);
    }
    lua_pop(L, 1);
    lua_pushstring(L, value);
    lua_setfield(L, -2, key);
    lua_pop(L, 1);
    return 0;
}

static int l_ini_parse(lua_State *L)
{
    size_t n;
    const char *text = luaL_checklstring(L, 1, &n);
    ini_ud u;
    dbx_err err;
    dbx_err_clear(&err);
    lua_settop(L, 1);
    lua_createtable(L, 0, 2);
    lua_newtable(L);
    lua_newtable(L);
    u.L = L;
    u.sections = 3;
    u.order = 4;
    u.n = 0;
    if (dbx_ini_parse(text, n, on_entry, &u, &err) != 0)
        return dbx_l_fail(L, &err);
    lua_setfield(L, 2, "order");
    lua_setfield(L, 2, "sections");
    return 1;
}

void dbx_l_open_config(lua_State *L)
{
    lua_pushcfunction(L, l_ini_parse);
    lua_setfield(L, -2, "ini_parse");
}
