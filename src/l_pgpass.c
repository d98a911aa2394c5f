/* l_pgpass.c — Lua binding of the .pgpass writer (pgpass.h). Positional
 * arguments only: lua/databricks/pgpass.lua turns the public option tables
 * into these calls. Wrong argument types raise; bad values and I/O trouble
 * return nil, err. The password never appears in an error. */
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "l_util.h"
#include "pgpass.h"

/* A string argument without embedded NULs (C cannot hold them): NULL when
 * absent/nil and `optional`; sets *bad to the field name on a NUL. */
static const char *field_arg(lua_State *L, int idx, const char *name, int optional,
                             const char **bad)
{
    size_t n;
    const char *s;
    if (optional && lua_isnoneornil(L, idx))
        return NULL;
    s = luaL_checklstring(L, idx, &n);
    if (strlen(s) != n && !*bad)
        *bad = name;
    return s;
}

/* core.pgpass_update(path|nil, host, port, database, username, password
 *                    [, lock_timeout]) -> report | nil, err */
static int l_update(lua_State *L)
{
    const char *bad = NULL;
    const char *path = field_arg(L, 1, "path", 1, &bad);
    dbx_pgpass_entry en;
    dbx_pgpass_report r;
    dbx_err e;
    double timeout;
    en.host = field_arg(L, 2, "host", 0, &bad);
    en.port = field_arg(L, 3, "port", 0, &bad);
    en.database = field_arg(L, 4, "database", 0, &bad);
    en.username = field_arg(L, 5, "username", 0, &bad);
    en.password = field_arg(L, 6, "password", 0, &bad);
    timeout = luaL_optnumber(L, 7, 0);
    if (bad)
        return dbx_l_failf(L, DBX_ECONFIG, "pgpass: %s contains a NUL byte: remove it", bad);
    memset(&r, 0, sizeof r);
    dbx_err_clear(&e);
    if (dbx_pgpass_update(path, &en, timeout, &r, &e) != 0) {
        dbx_pgpass_report_free(&r);
        return dbx_l_fail(L, &e);
    }
    lua_createtable(L, 0, 9);
    lua_pushlstring(L, r.file.target.data, r.file.target.len);
    lua_setfield(L, -2, "path");
    lua_pushstring(L, dbx_pgpass_action_name(r.edit.action));
    lua_setfield(L, -2, "action");
    lua_pushinteger(L, (lua_Integer)r.edit.removed);
    lua_setfield(L, -2, "removed_duplicates");
    lua_pushinteger(L, (lua_Integer)r.edit.line);
    lua_setfield(L, -2, "line");
    if (r.edit.shadowed_by) {
        lua_pushinteger(L, (lua_Integer)r.edit.shadowed_by);
        lua_setfield(L, -2, "shadowed_by");
    }
    lua_pushboolean(L, r.file.written);
    lua_setfield(L, -2, "written");
    lua_pushboolean(L, r.file.mode_fixed);
    lua_setfield(L, -2, "mode_fixed");
    if (r.file.existed) {
        lua_pushinteger(L, (lua_Integer)r.file.old_mode);
        lua_setfield(L, -2, "previous_mode");
    }
    lua_pushinteger(L, (lua_Integer)r.file.stale_removed);
    lua_setfield(L, -2, "stale_removed");
    dbx_pgpass_report_free(&r);
    return 1;
}

/* core.pgpass_lookup(path|nil, host, port, database, username)
 *   -> password | nil | nil, err */
static int l_lookup(lua_State *L)
{
    const char *bad = NULL;
    const char *path = field_arg(L, 1, "path", 1, &bad);
    dbx_pgpass_entry key = {0};
    dbx_buf pw = {0};
    dbx_err e;
    int rc;
    key.host = field_arg(L, 2, "host", 0, &bad);
    key.port = field_arg(L, 3, "port", 0, &bad);
    key.database = field_arg(L, 4, "database", 0, &bad);
    key.username = field_arg(L, 5, "username", 0, &bad);
    if (bad)
        return dbx_l_failf(L, DBX_ECONFIG, "pgpass: %s contains a NUL byte: remove it", bad);
    dbx_err_clear(&e);
    rc = dbx_pgpass_lookup(path, &key, &pw, &e);
    if (rc < 0) {
        dbx_buf_free(&pw);
        return dbx_l_fail(L, &e);
    }
    if (rc == 0)
        lua_pushnil(L);
    else
        lua_pushlstring(L, dbx_buf_str(&pw), pw.len);
    dbx_buf_free(&pw);
    return 1;
}

/* core.pgpass_escape(s) -> escaped field */
static int l_escape(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    dbx_buf b = {0};
    if (dbx_pgpass_escape(&b, s, n) != 0) {
        dbx_buf_free(&b);
        return luaL_error(L, "pgpass_escape: out of memory");
    }
    lua_pushlstring(L, dbx_buf_str(&b), b.len);
    dbx_buf_free(&b);
    return 1;
}

/* core.pgpass_default_path() -> path | nil, err */
static int l_default_path(lua_State *L)
{
    dbx_buf b = {0};
    dbx_err e;
    dbx_err_clear(&e);
    if (dbx_pgpass_default_path(&b, &e) != 0) {
        dbx_buf_free(&b);
        return dbx_l_fail(L, &e);
    }
    lua_pushlstring(L, dbx_buf_str(&b), b.len);
    dbx_buf_free(&b);
    return 1;
}

void dbx_l_open_pgpass(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"pgpass_update", l_update},
        {"pgpass_lookup", l_lookup},
        {"pgpass_escape", l_escape},
        {"pgpass_default_path", l_default_path},
        {NULL, NULL},
    };
    luaL_setfuncs(L, fns, 0);
}
