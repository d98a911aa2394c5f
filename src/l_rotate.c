/* l_rotate.c — Lua binding of the rotation step (rotate.h): the options
 * table into a dbx_rotate_opts, the report into a table. */
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "l_util.h"
#include "rotate.h"

static void read_opts(lua_State *L, int idx, dbx_rotate_opts *o)
{
    memset(o, 0, sizeof *o);
    o->workspace_url = dbx_l_optstring(L, idx, "workspace_url", NULL);
    o->auth = dbx_l_optstring(L, idx, "auth", NULL);
    o->client_id = dbx_l_optstring(L, idx, "client_id", NULL);
    o->client_secret = dbx_l_optstring(L, idx, "client_secret", NULL);
    o->token_store = dbx_l_optstring(L, idx, "token_store", NULL);
    o->instance_name = dbx_l_optstring(L, idx, "instance_name", NULL);
    o->endpoint = dbx_l_optstring(L, idx, "endpoint", NULL);
    o->pg_host = dbx_l_optstring(L, idx, "pg_host", NULL);
    o->pg_port = (int)dbx_l_optnumber(L, idx, "pg_port", 0);
    o->pg_database = dbx_l_optstring(L, idx, "pg_database", NULL);
    o->pg_username = dbx_l_optstring(L, idx, "pg_username", NULL);
    o->pgpass_file = dbx_l_optstring(L, idx, "pgpass_file", NULL);
    o->ca_bundle = dbx_l_optstring(L, idx, "ca_bundle", NULL);
    o->databricks_cli = dbx_l_optstring(L, idx, "databricks_cli", NULL);
    o->timeout = dbx_l_optnumber(L, idx, "timeout", 0);
    o->retry_budget = dbx_l_optnumber(L, idx, "retry_budget", 0);
    o->min_validity = dbx_l_optnumber(L, idx, "min_validity", 0);
}

static int l_rotate_check(lua_State *L)
{
    dbx_rotate_opts o;
    dbx_err err;
    luaL_checktype(L, 1, LUA_TTABLE);
    read_opts(L, 1, &o);
    dbx_err_clear(&err);
    if (dbx_rotate_check(&o, &err) != 0)
        return dbx_l_fail(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

static int l_rotate_once(lua_State *L)
{
    dbx_rotate_opts o;
    dbx_rotate_report *r;
    dbx_err err;
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    read_opts(L, 1, &o);
    o.user_agent = dbx_l_user_agent(L); /* stays on the stack */
    r = lua_newuserdatauv(L, sizeof *r, 0);
    dbx_err_clear(&err);
    if (dbx_rotate_once((dbx_jsonenv *)L, &o, r, &err) != 0)
        return dbx_l_fail(L, &err);
    lua_createtable(L, 0, 10);
#define STR(f)                  \
    lua_pushstring(L, r->f);    \
    lua_setfield(L, -2, #f)
    STR(subject);
    STR(pgpass_file);
    STR(source);
    STR(pg_host);
    STR(pg_database);
    STR(pg_username);
    STR(action);
#undef STR
    lua_pushinteger(L, (lua_Integer)r->expires_at);
    lua_setfield(L, -2, "expires_at");
    lua_pushnumber(L, r->clock_skew);
    lua_setfield(L, -2, "clock_skew");
    lua_pushinteger(L, r->pg_port);
    lua_setfield(L, -2, "pg_port");
    lua_pushboolean(L, r->mode_fixed);
    lua_setfield(L, -2, "mode_fixed");
    return 1;
}

void dbx_l_open_rotate(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"rotate_once", l_rotate_once},
        {"rotate_check", l_rotate_check},
        {NULL, NULL},
    };
    luaL_setfuncs(L, fns, 0);
}
