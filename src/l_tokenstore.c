/* l_tokenstore.c — Lua binding of the stored U2M tokens (tokenstore.h):
 * saving them after a browser sign-in (databricks.paths says where).
 * (Spending the stored refresh token is the rotation step's job, in C.) */
#include <lauxlib.h>
#include <lua.h>

#include "buf.h"
#include "hostname.h"
#include "l_util.h"
#include "tokenstore.h"

/* core.store_save(path, {host=, client_id=, client_secret=, scopes=},
 *                 {access_token=, refresh_token=, expires_at=}) */
static int l_store_save(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    dbx_store_entry e;
    dbx_token t = {0};
    dbx_err err;
    char host[300];
    int rc;
    luaL_checktype(L, 2, LUA_TTABLE);
    luaL_checktype(L, 3, LUA_TTABLE);
    dbx_err_clear(&err);
    e.host = dbx_l_optstring(L, 2, "host", NULL);
    e.client_id = dbx_l_optstring(L, 2, "client_id", NULL);
    e.client_secret = dbx_l_optstring(L, 2, "client_secret", NULL);
    e.scopes = dbx_l_optstring(L, 2, "scopes", NULL);
    if (!e.host || !e.client_id)
        return luaL_error(L, "store_save: host and client_id are required");
    if (dbx_normalize_host(e.host, host, sizeof host, &err) != 0)
        return dbx_l_fail(L, &err);
    e.host = host;
    t.access = (char *)dbx_l_optstring(L, 3, "access_token", NULL);
    t.refresh = (char *)dbx_l_optstring(L, 3, "refresh_token", NULL);
    t.expires_at = dbx_l_optnumber(L, 3, "expires_at", 0);
    rc = dbx_store_save(path, &e, &t, &err); /* t borrows Lua strings: not cleared */
    if (rc != 0)
        return dbx_l_fail(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

void dbx_l_open_tokenstore(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"store_save", l_store_save},
        {NULL, NULL},
    };
    luaL_setfuncs(L, fns, 0);
}
