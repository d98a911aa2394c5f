/* l_proc.c — core.run_child: runs a helper program the way the C core runs
 * the Databricks CLI (proc.h): argv only (a shell only if the caller puts
 * one in argv, as `--on-rotate` hooks do with /bin/sh -c), a deadline, the
 * output captured, and the scrubbed environment every child gets — no
 * DATABRICKS_CLIENT_SECRET, no token, no value the process holds as a
 * secret — plus the caller's additions. For the rotator's hooks; the Lua
 * side never builds a child environment of its own. */
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "l_util.h"
#include "proc.h"

/* A NULL-terminated list of the strings of the table field `key` (each
 * "NAME=value" for add, a name for drop), anchored by the options table;
 * the array lives in a userdata left on the stack. NULL when absent. */
static const char **string_list(lua_State *L, int opts, const char *key)
{
    const char **list;
    lua_Integer n;
    if (!opts || lua_getfield(L, opts, key) == LUA_TNIL) {
        if (opts)
            lua_pop(L, 1);
        lua_pushnil(L); /* keep the stack shape the same */
        return NULL;
    }
    luaL_argcheck(L, lua_istable(L, -1), 2, "run_child: add and drop must be lists of strings");
    n = (lua_Integer)luaL_len(L, -1);
    list = lua_newuserdatauv(L, sizeof *list * (size_t)(n + 1), 1);
    lua_pushvalue(L, -2);
    lua_setiuservalue(L, -2, 1); /* the list anchors its strings */
    for (lua_Integer i = 1; i <= n; i++) {
        lua_rawgeti(L, -2, i);
        luaL_argcheck(L, lua_type(L, -1) == LUA_TSTRING, 2, "run_child: add and drop must be lists of strings");
        list[i - 1] = lua_tostring(L, -1);
        lua_pop(L, 1);
    }
    list[n] = NULL;
    lua_remove(L, -2);
    return list;
}

/* core.run_child(argv[, {add = {"NAME=value", ...}, drop = {"NAME", ...},
 * timeout = 60}]): runs argv (no shell of ours) with the scrubbed child
 * environment plus `add`, minus `drop`; killed after `timeout` seconds.
 * Returns {status =, stdout =, stderr =} (status: the exit code, or
 * 128+signal; output capped at 1 MiB each, raw: redact before logging), or
 * nil and an error (config: no such program; io: cannot start it;
 * timeout). */
static int l_run_child(lua_State *L)
{
    const char *argv[65];
    int n, opts = lua_istable(L, 2) ? 2 : 0, status = -1, not_found = 0;
    dbx_proc_opts o;
    dbx_buf out = {0}, errout = {0};
    dbx_err err;
    double timeout;
    luaL_checktype(L, 1, LUA_TTABLE);
    n = (int)luaL_len(L, 1);
    luaL_argcheck(L, n >= 1 && n <= 64, 1, "run_child: argv needs 1 to 64 strings");
    for (int i = 1; i <= n; i++) {
        lua_rawgeti(L, 1, i);
        luaL_argcheck(L, lua_type(L, -1) == LUA_TSTRING, 1, "run_child: argv must be strings");
        argv[i - 1] = lua_tostring(L, -1); /* anchored by the argv table */
        lua_pop(L, 1);
    }
    argv[n] = NULL;
    timeout = opts ? dbx_l_optnumber(L, opts, "timeout", 60) : 60;
    o.add = string_list(L, opts, "add");
    o.drop = string_list(L, opts, "drop");
    dbx_err_clear(&err);
    if (dbx_proc_run_ex(argv, &o, timeout, &out, &errout, &status, &not_found, &err) != 0) {
        if (not_found)
            dbx_err_set(&err, DBX_ECONFIG, "%.200s: no such program (not found on PATH)", argv[0]);
        dbx_buf_free(&out);
        dbx_buf_free(&errout);
        return dbx_l_fail(L, &err);
    }
    lua_createtable(L, 0, 3);
    lua_pushinteger(L, status);
    lua_setfield(L, -2, "status");
    lua_pushlstring(L, dbx_buf_str(&out), out.len);
    lua_setfield(L, -2, "stdout");
    lua_pushlstring(L, dbx_buf_str(&errout), errout.len);
    lua_setfield(L, -2, "stderr");
    dbx_buf_free(&out);
    dbx_buf_free(&errout);
    return 1;
}

void dbx_l_open_proc(lua_State *L)
{
    lua_pushcfunction(L, l_run_child);
    lua_setfield(L, -2, "run_child");
}
