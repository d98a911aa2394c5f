/* l_pgpass.c — Lua binding of the .pgpass writer (pgpass.h). */
#include <lauxlib.h>
#include <lua.h>

#include "l_util.h"

void dbx_l_open_pgpass(lua_State *L)
{
    (void)L;
}
