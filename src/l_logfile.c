/* l_logfile.c — the rotator's private log file as a Lua type
 * (core.logfile_open(path, max_bytes, keep) -> handle with write/close;
 * __gc and __close close it). Lines are redacted by logfile.c. */
#include <lauxlib.h>
#include <lua.h>

#include "l_util.h"
#include "logfile.h"

#define LOGFILE_MT "databricks.logfile"

static dbx_logfile **check_log(lua_State *L)
{
    return luaL_checkudata(L, 1, LOGFILE_MT);
}

static int l_logfile_open(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    lua_Integer max = luaL_optinteger(L, 2, 10 * 1024 * 1024), keep = luaL_optinteger(L, 3, 5);
    dbx_logfile **u = lua_newuserdatauv(L, sizeof *u, 0);
    dbx_err err;
    *u = NULL;
    luaL_setmetatable(L, LOGFILE_MT);
    dbx_err_clear(&err);
    if (!(*u = dbx_logfile_open(path, (size_t)(max > 0 ? max : 0), (int)keep, &err)))
        return dbx_l_fail(L, &err);
    return 1;
}

static int l_logfile_write(lua_State *L)
{
    dbx_logfile **u = check_log(L);
    size_t n;
    const char *line = luaL_checklstring(L, 2, &n);
    dbx_err err;
    if (!*u)
        return luaL_error(L, "log file is closed");
    dbx_err_clear(&err);
    if (dbx_logfile_write(*u, line, n, &err) != 0)
        return dbx_l_fail(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

static int l_logfile_close(lua_State *L)
{
    dbx_logfile **u = check_log(L);
    dbx_logfile_close(*u);
    *u = NULL;
    return 0;
}

void dbx_l_open_logfile(lua_State *L)
{
    static const luaL_Reg log_methods[] = {
        {"write", l_logfile_write},
        {"close", l_logfile_close},
        {NULL, NULL},
    };
    luaL_newmetatable(L, LOGFILE_MT);
    lua_pushcfunction(L, l_logfile_close);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, l_logfile_close);
    lua_setfield(L, -2, "__close");
    luaL_newlib(L, log_methods);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    lua_pushcfunction(L, l_logfile_open);
    lua_setfield(L, -2, "logfile_open");
}
