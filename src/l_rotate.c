/* l_rotate.c — Lua binding of the rotator's C core (rotate.h):
 *   core.rotator_client{workspace_url=, auth=, client_id=, client_secret=,
 *     token_store=, ca_bundle=, databricks_cli=, profile=, oidc_token_file=,
 *     oidc_token_env=, token_audience=, account_id=, timeout=, retry_budget=,
 *     on_retry = function({call=, attempt=, wait=, left=, cause=})}
 *     -> client, source        (a client like connect's: same type, same builder)
 *   core.rotate_target(client, {instance_name=, endpoint=, ttl=, pg_host=,
 *     pg_port=, pg_database=, pg_username=, min_validity=,
 *     outputs = {{kind=, path=}, ...}, no_write=})
 *     -> report | nil, err [, report when only outputs failed]
 * Option values were validated in Lua (databricks.rotator.options); what
 * reaches here is checked again only for what C needs. */
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "l_client.h"
#include "l_util.h"
#include "outputs.h"
#include "rotate.h"

static int l_rotator_client(lua_State *L)
{
    dbx_rotator_source s;
    dbx_config cfg;
    dbx_lclient *u;
    char source[8];
    dbx_err err;
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    memset(&s, 0, sizeof s);
    s.workspace_url = dbx_l_optstring(L, 1, "workspace_url", NULL);
    s.auth = dbx_l_optstring(L, 1, "auth", NULL);
    s.client_id = dbx_l_optstring(L, 1, "client_id", NULL);
    s.client_secret = dbx_l_optstring(L, 1, "client_secret", NULL);
    s.token_store = dbx_l_optstring(L, 1, "token_store", NULL);
    s.ca_bundle = dbx_l_optstring(L, 1, "ca_bundle", NULL);
    s.databricks_cli = dbx_l_optstring(L, 1, "databricks_cli", NULL);
    s.profile = dbx_l_optstring(L, 1, "profile", NULL);
    s.oidc_token_file = dbx_l_optstring(L, 1, "oidc_token_file", NULL);
    s.oidc_token_env = dbx_l_optstring(L, 1, "oidc_token_env", NULL);
    s.token_audience = dbx_l_optstring(L, 1, "token_audience", NULL);
    s.account_id = dbx_l_optstring(L, 1, "account_id", NULL);
    s.timeout = dbx_l_optnumber(L, 1, "timeout", 0);
    s.retry_budget = dbx_l_optnumber(L, 1, "retry_budget", 0);
    dbx_err_clear(&err);
    /* The userdata first (luaossl's order): nothing below can leak. Its
     * callbacks table holds on_retry (the rotator logs retries). */
    lua_createtable(L, 0, 1);
    lua_getfield(L, 1, "on_retry");
    lua_setfield(L, -2, "on_retry");
    u = dbx_l_client_push(L, lua_gettop(L));
    dbx_l_user_agent(L);
    if (dbx_rotator_config(&s, &cfg, source, &err) != 0)
        return dbx_l_fail(L, &err);
    if (!(u->c = dbx_client_new(&cfg, lua_tostring(L, -1), (dbx_jsonenv *)L, &err)))
        return dbx_l_fail(L, &err);
    lua_pop(L, 1);
    lua_pushstring(L, source);
    return 2;
}

static void push_report(lua_State *L, const dbx_rotate_report *r, size_t n)
{
    lua_createtable(L, 0, 12);
#define STR(f)                  \
    lua_pushstring(L, r->f);    \
    lua_setfield(L, -2, #f)
    STR(subject);
    STR(pg_host);
    STR(pg_database);
    STR(pg_username);
#undef STR
    if (r->state[0]) {
        lua_pushstring(L, r->state);
        lua_setfield(L, -2, "state");
    }
    lua_pushinteger(L, (lua_Integer)r->expires_at);
    lua_setfield(L, -2, "expires_at");
    lua_pushnumber(L, r->clock_skew);
    lua_setfield(L, -2, "clock_skew");
    lua_pushinteger(L, r->pg_port);
    lua_setfield(L, -2, "pg_port");
    lua_createtable(L, (int)n, 0);
    for (size_t i = 0; i < n; i++) {
        const dbx_rotate_output_report *o = &r->outputs[i];
        lua_createtable(L, 0, 6);
        lua_pushstring(L, o->path);
        lua_setfield(L, -2, "path");
        lua_pushboolean(L, o->ok);
        lua_setfield(L, -2, "ok");
        if (o->ok) {
            lua_pushstring(L, o->action);
            lua_setfield(L, -2, "action");
            lua_pushboolean(L, o->mode_fixed);
            lua_setfield(L, -2, "mode_fixed");
            if (o->warning[0]) {
                lua_pushstring(L, o->warning);
                lua_setfield(L, -2, "warning");
            }
        } else {
            dbx_l_pusherr(L, &o->err);
            lua_setfield(L, -2, "error");
        }
        lua_rawseti(L, -2, (lua_Integer)i + 1);
    }
    lua_setfield(L, -2, "outputs");
}

static int l_rotate_target(lua_State *L)
{
    dbx_rotate_target t;
    dbx_rotate_output *outs = NULL;
    dbx_rotate_report *r;
    dbx_lclient *u;
    dbx_err err;
    dbx_lctx x;
    size_t n = 0;
    int rc;
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    memset(&t, 0, sizeof t);
    t.instance_name = dbx_l_optstring(L, 2, "instance_name", NULL);
    t.endpoint = dbx_l_optstring(L, 2, "endpoint", NULL);
    t.ttl = (int)dbx_l_optnumber(L, 2, "ttl", 0);
    t.pg_host = dbx_l_optstring(L, 2, "pg_host", NULL);
    t.pg_port = (int)dbx_l_optnumber(L, 2, "pg_port", 0);
    t.pg_database = dbx_l_optstring(L, 2, "pg_database", NULL);
    t.pg_username = dbx_l_optstring(L, 2, "pg_username", NULL);
    t.min_validity = dbx_l_optnumber(L, 2, "min_validity", 0);
    t.no_write = dbx_l_optboolean(L, 2, "no_write", 0);
    if (lua_getfield(L, 2, "outputs") == LUA_TTABLE) { /* at 3 */
        n = (size_t)luaL_len(L, 3);
        outs = lua_newuserdatauv(L, sizeof *outs * (n ? n : 1), 0); /* at 4 */
        for (size_t i = 0; i < n; i++) {
            if (lua_rawgeti(L, 3, (lua_Integer)i + 1) != LUA_TTABLE)
                return luaL_error(L, "rotate_target: outputs[%d] must be a table", (int)i + 1);
            outs[i].kind = dbx_l_optstring(L, -1, "kind", NULL);
            outs[i].path = dbx_l_optstring(L, -1, "path", NULL); /* anchored by outputs */
            lua_pop(L, 1);
        }
    } else {
        lua_pushnil(L); /* keep the stack shape: 3 outputs, 4 their array */
    }
    t.outputs = outs;
    t.n_outputs = n;
    r = lua_newuserdatauv(L, sizeof *r, 0); /* big: off the C stack */
    memset(r, 0, sizeof *r);
    r->outputs = lua_newuserdatauv(L, sizeof *r->outputs * (n ? n : 1), 0);
    memset(r->outputs, 0, sizeof *r->outputs * (n ? n : 1));
    u = dbx_l_client_begin(L, &x);
    dbx_err_clear(&err);
    rc = dbx_rotate_once(u->c, &x.base, &t, r, &err);
    if (rc == -1)
        return dbx_l_fail(L, &err);
    if (rc == 0 && t.no_write) {
        push_report(L, r, 0);
        lua_pushstring(L, r->password.access);
        lua_setfield(L, -2, "password");
        dbx_token_clear(&r->password);
        return 1;
    }
    if (rc == 0) {
        push_report(L, r, n ? n : 1);
        return 1;
    }
    lua_pushnil(L);
    dbx_l_pusherr(L, &err);
    push_report(L, r, n ? n : 1);
    return 3;
}

/***
 * The credential output kinds the core writes (`--output KIND:PATH`).
 * @function output_kinds
 * @treturn table a list of `{name=, summary=}`, in the core's order
 */
static int l_output_kinds(lua_State *L)
{
    const dbx_output_kind *const *k = dbx_output_kinds();
    lua_newtable(L);
    for (int i = 0; k[i]; i++) {
        lua_createtable(L, 0, 2);
        lua_pushstring(L, k[i]->name);
        lua_setfield(L, -2, "name");
        lua_pushstring(L, k[i]->summary);
        lua_setfield(L, -2, "summary");
        lua_rawseti(L, -2, i + 1);
    }
    return 1;
}

void dbx_l_open_rotate(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"rotator_client", l_rotator_client},
        {"rotate_target", l_rotate_target},
        {"output_kinds", l_output_kinds},
        {NULL, NULL},
    };
    luaL_setfuncs(L, fns, 0);
}
