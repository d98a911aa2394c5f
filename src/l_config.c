/* l_config.c — Lua binding of the INI parser (ini.h):
 *   core.ini_parse(text[, {repeat = {key = true, ...}}])
 *     -> {sections = {name = {key = value}}, order = {names...},
 *         lines = {name = {[""] = header line, key = line}}} | nil, err
 * A duplicate section or key is an error naming its line, as in the Python
 * SDK, except the keys listed in `repeat`, whose values are collected in
 * order into a list (the rotator's `output` and `on_rotate`). */
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "ini.h"
#include "l_util.h"

typedef struct ini_ud {
    lua_State *L;
    int sections, order, lines, repeat, n;
} ini_ud;

static int repeats(ini_ud *u, const char *key)
{
    int r;
    if (!u->repeat)
        return 0;
    lua_getfield(u->L, u->repeat, key);
    r = lua_toboolean(u->L, -1);
    lua_pop(u->L, 1);
    return r;
}

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
        lua_createtable(L, 0, 1);
        lua_pushinteger(L, line);
        lua_setfield(L, -2, "");
        lua_setfield(L, u->lines, section);
        lua_pushstring(L, section);
        lua_rawseti(L, u->order, ++u->n);
        return 0;
    }
    lua_getfield(L, u->sections, section);
    if (repeats(u, key)) {
        if (lua_getfield(L, -1, key) == LUA_TNIL) {
            lua_pop(L, 1);
            lua_newtable(L);
            lua_pushvalue(L, -1);
            lua_setfield(L, -3, key);
        }
        lua_pushstring(L, value);
        lua_rawseti(L, -2, (lua_Integer)luaL_len(L, -2) + 1);
        lua_pop(L, 2);
    } else {
        if (lua_getfield(L, -1, key) != LUA_TNIL) {
            lua_pop(L, 2);
            return dbx_err_set(err, DBX_ECONFIG, "line %d: key '%.60s' appears twice in [%.100s]", line, key, section);
        }
        lua_pop(L, 1);
        lua_pushstring(L, value);
        lua_setfield(L, -2, key);
        lua_pop(L, 1);
    }
    /* The first line of each key, for messages. */
    lua_getfield(L, u->lines, section);
    if (lua_getfield(L, -1, key) == LUA_TNIL) {
        lua_pushinteger(L, line);
        lua_setfield(L, -3, key);
    }
    lua_pop(L, 2);
    return 0;
}

static int l_ini_parse(lua_State *L)
{
    size_t n;
    const char *text = luaL_checklstring(L, 1, &n);
    ini_ud u;
    dbx_err err;
    dbx_err_clear(&err);
    lua_settop(L, 2);
    memset(&u, 0, sizeof u);
    if (lua_istable(L, 2)) {
        lua_getfield(L, 2, "repeat");
        if (lua_istable(L, -1)) {
            u.repeat = lua_gettop(L);
        } else {
            lua_pop(L, 1);
            lua_pushnil(L);
        }
    } else {
        lua_pushnil(L);
    }
    lua_createtable(L, 0, 3); /* 4: the result */
    lua_newtable(L);          /* 5: sections */
    lua_newtable(L);          /* 6: order */
    lua_newtable(L);          /* 7: lines */
    u.L = L;
    u.sections = 5;
    u.order = 6;
    u.lines = 7;
    if (dbx_ini_parse(text, n, on_entry, &u, &err) != 0)
        return dbx_l_fail(L, &err);
    lua_setfield(L, 4, "lines");
    lua_setfield(L, 4, "order");
    lua_setfield(L, 4, "sections");
    return 1;
}

void dbx_l_open_config(lua_State *L)
{
    lua_pushcfunction(L, l_ini_parse);
    lua_setfield(L, -2, "ini_parse");
}
