/***
The client returned by `databricks.connect` (more of its C methods).
@module databricks.client
*/

/* l_workspace.c — the client methods that call workspace endpoints the C
 * core owns (endpoints.h): current_user and get_table (workspace.c),
 * database_credential (lakebase.c), validate_connection (validate.c). They
 * return one value on success (DESIGN.md §3); their LDoc comments join the
 * databricks.client page through l_client.c's module declaration. */
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "l_client.h"
#include "l_util.h"
#include "lakebase.h"
#include "validate.h"
#include "workspace.h"

/* The decoded answer of a JSON-object endpoint (already checked). */
static int push_answer(lua_State *L, const dbx_http_response *resp)
{
    if (dbx_l_json_decode_push(L, dbx_buf_str(&resp->body), resp->body.len) != 0)
        return dbx_l_failf(L, DBX_EPROTOCOL, "the answer is not JSON");
    return 1;
}

/***
 * The caller's identity: the SCIM `Me` object (`userName`, `displayName`, ...).
 * @function Client:current_user
 * @return the object, or nil and an error
 */
static int l_current_user(lua_State *L)
{
    dbx_http_response resp;
    dbx_lclient *u;
    dbx_err err;
    dbx_lctx x;
    int rc;
    lua_settop(L, 1);
    u = dbx_l_client_begin(L, &x);
    dbx_err_clear(&err);
    dbx_http_response_init(&resp);
    rc = dbx_ws_me(u->c, &x.base, &resp, NULL, 0, &err);
    rc = rc == 0 ? push_answer(L, &resp) : dbx_l_fail(L, &err);
    dbx_http_response_free(&resp);
    return rc;
}

/***
 * Unity Catalog table info.
 * @function Client:get_table
 * @tparam string full_name "catalog.schema.table"
 * @return the table info object, or nil and an error (404 `TABLE_DOES_NOT_EXIST`)
 */
static int l_get_table(lua_State *L)
{
    const char *name = luaL_checkstring(L, 2);
    dbx_http_response resp;
    dbx_lclient *u;
    dbx_err err;
    dbx_lctx x;
    int rc;
    if (!*name)
        return luaL_error(L, "get_table expects a full table name such as 'main.default.trips'");
    lua_settop(L, 2);
    u = dbx_l_client_begin(L, &x);
    dbx_err_clear(&err);
    dbx_http_response_init(&resp);
    rc = dbx_ws_get_table(u->c, &x.base, name, &resp, &err);
    rc = rc == 0 ? push_answer(L, &resp) : dbx_l_fail(L, &err);
    dbx_http_response_free(&resp);
    return rc;
}

/***
 * A Lakebase (PostgreSQL) credential: the password for the next login.
 * @function Client:database_credential
 * @tparam table opts `instance_names` (list; provisioned instances) or
 * `endpoint` ("projects/P/branches/B/endpoints/E"; autoscaling), with
 * `ttl` (seconds, 300-3600) for an endpoint
 * @return `{token=, expires_at=}`, or nil and an error
 */
static int l_database_credential(lua_State *L)
{
    const char **names = NULL, *endpoint;
    dbx_lb_request rq = {0};
    dbx_lclient *u;
    dbx_token t = {0};
    int ttl;
    dbx_err err;
    dbx_lctx x;
    lua_Integer n = 0;
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    endpoint = dbx_l_optstring(L, 2, "endpoint", NULL);
    ttl = (int)dbx_l_optnumber(L, 2, "ttl", 0);
    if (ttl && (ttl < 300 || ttl > 3600 || !endpoint))
        return dbx_l_failf(L, DBX_ECONFIG, "database_credential: ttl must be 300-3600 seconds, with endpoint");
    if (lua_getfield(L, 2, "instance_names") == LUA_TTABLE) {
        n = (lua_Integer)luaL_len(L, 3);
        names = lua_newuserdatauv(L, sizeof *names * (size_t)(n + 1), 0); /* at 4, freed by the GC */
        for (lua_Integer i = 0; i < n; i++) {
            if (lua_rawgeti(L, 3, i + 1) != LUA_TSTRING)
                return luaL_error(L, "database_credential: instance_names[%d] must be a string", (int)(i + 1));
            names[i] = lua_tostring(L, -1); /* anchored by the list */
            lua_pop(L, 1);
        }
        names[n] = NULL;
    } else if (!lua_isnil(L, 3)) {
        return luaL_error(L, "database_credential: instance_names must be a list of strings");
    }
    if ((n > 0) == (endpoint != NULL))
        return dbx_l_failf(L, DBX_ECONFIG,
                           "database_credential needs exactly one of instance_names (provisioned) or endpoint (autoscaling)");
    u = dbx_l_client_begin(L, &x);
    dbx_err_clear(&err);
    rq.instance_names = names;
    rq.endpoint = endpoint;
    rq.ttl = ttl;
    if (dbx_lb_credential(u->c, &x.base, &rq, &t, &err) != 0)
        return dbx_l_fail(L, &err);
    lua_createtable(L, 0, 2);
    lua_pushstring(L, t.access);
    lua_setfield(L, -2, "token");
    lua_pushinteger(L, (lua_Integer)t.expires_at);
    lua_setfield(L, -2, "expires_at");
    dbx_token_clear(&t);
    return 1;
}

static void push_check(lua_State *L, const dbx_check *ck, const char *name)
{
    lua_createtable(L, 0, 4);
    if (!ck->ran) {
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, "skipped");
    } else {
        lua_pushboolean(L, ck->ok);
        lua_setfield(L, -2, "ok");
        if (ck->status) {
            lua_pushinteger(L, ck->status);
            lua_setfield(L, -2, "status");
        }
        lua_pushnumber(L, (lua_Number)((long long)(ck->ms * 10 + 0.5)) / 10); /* 0.1 ms */
        lua_setfield(L, -2, "ms");
        if (!ck->ok) {
            dbx_l_pusherr(L, &ck->err);
            lua_setfield(L, -2, "error");
        }
    }
    lua_setfield(L, -2, name);
}

/***
 * Checks the connection: identity (SCIM Me), a Unity Catalog table get (when
 * `table` is given) and a statement on the warehouse (when one is known).
 * Failures are reported in the result, not returned as errors.
 * @function Client:validate_connection
 * @tparam[opt] table opts `table`, `warehouse_id`, `statement` (default "SELECT 1")
 * @return `{ok=, user=, checks={authentication=, unity_catalog=, statement_execution=}}`,
 * each check `{ok=, status=, ms=, error=}` or `{skipped=true}`
 */
static int l_validate_connection(lua_State *L)
{
    const char *table, *warehouse, *statement;
    dbx_validation *v;
    dbx_lclient *u;
    dbx_lctx x;
    lua_settop(L, 2);
    if (lua_isnil(L, 2)) {
        lua_newtable(L);
        lua_replace(L, 2);
    }
    luaL_checktype(L, 2, LUA_TTABLE);
    table = dbx_l_optstring(L, 2, "table", NULL);
    warehouse = dbx_l_optstring(L, 2, "warehouse_id", NULL);
    statement = dbx_l_optstring(L, 2, "statement", NULL);
    v = lua_newuserdatauv(L, sizeof *v, 0); /* big: keep it off the C stack */
    u = dbx_l_client_begin(L, &x);
    dbx_validate(u->c, &x.base, table, warehouse, statement, v);
    lua_createtable(L, 0, 3);
    lua_pushboolean(L, v->auth.ok && (!v->unity_catalog.ran || v->unity_catalog.ok) &&
                           (!v->statement_execution.ran || v->statement_execution.ok));
    lua_setfield(L, -2, "ok");
    if (v->user[0]) {
        lua_pushstring(L, v->user);
        lua_setfield(L, -2, "user");
    }
    lua_createtable(L, 0, 3);
    push_check(L, &v->auth, "authentication");
    push_check(L, &v->unity_catalog, "unity_catalog");
    push_check(L, &v->statement_execution, "statement_execution");
    if (v->state[0]) {
        lua_getfield(L, -1, "statement_execution");
        lua_pushstring(L, v->state);
        lua_setfield(L, -2, "state");
        lua_pop(L, 1);
    }
    lua_setfield(L, -2, "checks");
    return 1;
}

void dbx_l_open_workspace(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"current_user", l_current_user},
        {"get_table", l_get_table},
        {"database_credential", l_database_credential},
        {"validate_connection", l_validate_connection},
        {NULL, NULL},
    };
    lua_getfield(L, -1, "client_methods");
    luaL_setfuncs(L, methods, 0);
    lua_pop(L, 1);
}
