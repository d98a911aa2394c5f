/* l_parse.c — the pure string helpers Lua needs from the core: workspace
 * host normalisation, the warehouse id of an HTTP path, and a JWT's claims
 * (decoded, never verified). No I/O. */
#include <lauxlib.h>
#include <lua.h>

#include "buf.h"
#include "hostname.h"
#include "jwt.h"
#include "l_util.h"

static int l_normalize_host(lua_State *L)
{
    char out[300];
    dbx_err err;
    dbx_err_clear(&err);
    if (dbx_normalize_host(luaL_checkstring(L, 1), out, sizeof out, &err) != 0)
        return dbx_l_fail(L, &err);
    lua_pushstring(L, out);
    return 1;
}

static int l_warehouse_id_from_http_path(lua_State *L)
{
    char id[256];
    if (!dbx_warehouse_id_from_http_path(luaL_checkstring(L, 1), id, sizeof id))
        return dbx_l_failf(L, DBX_ECONFIG, "\"%.200s\" is not a SQL warehouse HTTP path (/sql/1.0/warehouses/<id>)",
                           lua_tostring(L, 1));
    lua_pushstring(L, id);
    return 1;
}

static int l_jwt_claims(lua_State *L)
{
    dbx_buf payload = {0};
    dbx_err err;
    dbx_err_clear(&err);
    if (dbx_jwt_payload(luaL_checkstring(L, 1), &payload, &err) != 0) {
        dbx_buf_free(&payload);
        return dbx_l_fail(L, &err);
    }
    if (dbx_l_json_decode_push(L, payload.data, payload.len) != 0 || !lua_istable(L, -1)) {
        dbx_buf_free(&payload);
        return dbx_l_failf(L, DBX_EPROTOCOL, "token payload is not a JSON object");
    }
    dbx_buf_free(&payload);
    return 1;
}

void dbx_l_open_parse(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"normalize_host", l_normalize_host},
        {"warehouse_id_from_http_path", l_warehouse_id_from_http_path},
        {"jwt_claims", l_jwt_claims},
        {NULL, NULL},
    };
    luaL_setfuncs(L, fns, 0);
}
