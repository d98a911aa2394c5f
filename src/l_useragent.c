/* l_useragent.c — core.user_agent, core.set_product and core.VERSION: the
 * connector-level User-Agent as Lua sees it (useragent.c formats and
 * validates; the product itself lives with the Lua state, see l_util.c). */
#include <lauxlib.h>
#include <lua.h>

#include "l_util.h"
#include "useragent.h"
#include "version.h"

static int l_user_agent(lua_State *L)
{
    dbx_l_user_agent(L);
    return 1;
}

static int l_set_product(lua_State *L)
{
    dbx_err e;
    char ua[512];
    const char *isv = lua_type(L, 1) == LUA_TSTRING ? lua_tostring(L, 1) : NULL;
    const char *product = lua_type(L, 2) == LUA_TSTRING ? lua_tostring(L, 2) : NULL;
    const char *version = lua_type(L, 3) == LUA_TSTRING ? lua_tostring(L, 3) : NULL;
    dbx_err_clear(&e);
    if (dbx_ua_check_product(isv, product, version, &e) != 0)
        return dbx_l_fail(L, &e);
    if (dbx_ua_format(ua, sizeof ua, isv, product, version) < 0)
        return dbx_l_failf(L, DBX_ECONFIG, "set_product: product token too long");
    dbx_l_set_user_agent(L, ua);
    lua_pushboolean(L, 1);
    return 1;
}

void dbx_l_open_useragent(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"user_agent", l_user_agent},
        {"set_product", l_set_product},
        {NULL, NULL},
    };
    luaL_setfuncs(L, fns, 0);
    lua_pushliteral(L, DBX_VERSION);
    lua_setfield(L, -2, "VERSION");
}
