/* l_sys.c — Lua binding of sys.h, the clocks and random.h: what the Lua
 * scheduler needs to sleep, stop on signals and talk to systemd, and random
 * ids for Lua code. */
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "l_util.h"
#include "random.h"
#include "sys.h"
#include "timeutil.h"

static int l_sleep(lua_State *L)
{
    lua_pushboolean(L, dbx_sleep((double)luaL_checknumber(L, 1)));
    return 1;
}

static int l_sleep_until(lua_State *L)
{
    lua_pushboolean(L, dbx_sleep_until((double)luaL_checknumber(L, 1), (double)luaL_checknumber(L, 2)));
    return 1;
}

static int l_getpid(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)getpid());
    return 1;
}

/* core.file_mode(path) -> permission bits (e.g. 384 for 0600) and the owner
 * uid, or nil when it cannot be stat'ed. Follows symlinks. */
static int l_file_mode(lua_State *L)
{
    struct stat st;
    if (stat(luaL_checkstring(L, 1), &st) != 0) {
        lua_pushnil(L);
        return 1;
    }
    lua_pushinteger(L, st.st_mode & 07777);
    lua_pushinteger(L, st.st_uid);
    return 2;
}

static int l_now(lua_State *L)
{
    lua_pushnumber(L, dbx_now());
    return 1;
}

static int l_monotonic(lua_State *L)
{
    lua_pushnumber(L, dbx_monotonic());
    return 1;
}

static int l_install_signals(lua_State *L)
{
    dbx_err err;
    dbx_err_clear(&err);
    if (dbx_sys_install_signals(&err) != 0)
        return dbx_l_fail(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

static int l_stop_requested(lua_State *L)
{
    int sig = dbx_stop_requested();
    if (sig)
        lua_pushinteger(L, sig);
    else
        lua_pushboolean(L, 0);
    return 1;
}

static int l_request_stop(lua_State *L)
{
    dbx_request_stop((int)luaL_optinteger(L, 1, 15));
    return 0;
}

static int l_sd_notify(lua_State *L)
{
    dbx_err err;
    int rc;
    dbx_err_clear(&err);
    rc = dbx_sd_notify(luaL_checkstring(L, 1), &err);
    if (rc < 0)
        return dbx_l_fail(L, &err);
    lua_pushboolean(L, rc);
    return 1;
}

static int l_watchdog_usec(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)dbx_watchdog_usec());
    return 1;
}

static int l_format_rfc3339(lua_State *L)
{
    char out[40];
    dbx_format_rfc3339((double)luaL_checknumber(L, 1), out, sizeof out);
    lua_pushstring(L, out);
    return 1;
}

/* core.uuid4() — a random (CSPRNG) version-4 UUID. */
static int l_uuid4(lua_State *L)
{
    char id[37];
    dbx_err err;
    dbx_err_clear(&err);
    if (dbx_uuid4(id, &err) != 0)
        return dbx_l_fail(L, &err);
    lua_pushstring(L, id);
    return 1;
}

void dbx_l_open_sys(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"sleep", l_sleep},
        {"sleep_until", l_sleep_until},
        {"now", l_now},
        {"getpid", l_getpid},
        {"file_mode", l_file_mode},
        {"monotonic", l_monotonic},
        {"install_signals", l_install_signals},
        {"stop_requested", l_stop_requested},
        {"request_stop", l_request_stop},
        {"sd_notify", l_sd_notify},
        {"watchdog_usec", l_watchdog_usec},
        {"format_rfc3339", l_format_rfc3339},
        {"uuid4", l_uuid4},
        {NULL, NULL},
    };
    luaL_setfuncs(L, fns, 0);
}
