/* l_sys.c — Lua binding of sys.h, the clocks and random.h: what the Lua
 * scheduler needs to sleep, stop on signals and talk to systemd, and random
 * ids for Lua code. */
#include <sys/stat.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "l_util.h"
#include "proc.h"
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

/* core.file_mode(path) -> permission bits (e.g. 384 for 0600), the owner
 * uid and the type ("file", "directory" or "other"), or nil when it cannot
 * be stat'ed. Follows symlinks. */
static int l_file_mode(lua_State *L)
{
    struct stat st;
    if (stat(luaL_checkstring(L, 1), &st) != 0) {
        lua_pushnil(L);
        return 1;
    }
    lua_pushinteger(L, st.st_mode & 07777);
    lua_pushinteger(L, st.st_uid);
    lua_pushstring(L, S_ISREG(st.st_mode) ? "file" : S_ISDIR(st.st_mode) ? "directory" : "other");
    return 3;
}

static int l_geteuid(lua_State *L)
{
    lua_pushinteger(L, (lua_Integer)geteuid());
    return 1;
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

/* core.hup_requested([clear]) -> signal number or false */
static int l_hup_requested(lua_State *L)
{
    int sig = dbx_hup_requested(lua_toboolean(L, 1));
    if (sig)
        lua_pushinteger(L, sig);
    else
        lua_pushboolean(L, 0);
    return 1;
}

static int l_harden(lua_State *L)
{
    dbx_err err;
    dbx_err_clear(&err);
    if (dbx_sys_harden(&err) != 0)
        return dbx_l_fail(L, &err);
    lua_pushboolean(L, 1);
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

/* core.run(argv, {env = {"NAME=value", ...}, timeout = seconds})
 *   -> {status=, stdout=, stderr=} | nil, err
 * Runs a program (no shell: argv[1] looked up on PATH) with proc.h's rules:
 * stdin from /dev/null, output captured (capped at 1 MiB each), killed at
 * the deadline (a timeout error), an environment without our secrets plus
 * `env`. For the rotator's --on-rotate hooks. */
static int l_run(lua_State *L)
{
    const char **argv, **env = NULL;
    lua_Integer argc, envc = 0;
    dbx_buf out = {0}, errout = {0};
    double timeout;
    int status, not_found, rc;
    dbx_err err;
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 2);
    argc = (lua_Integer)luaL_len(L, 1);
    if (argc < 1)
        return luaL_error(L, "run: argv must have at least the program");
    argv = lua_newuserdatauv(L, sizeof *argv * (size_t)(argc + 1), 0); /* at 3 */
    for (lua_Integer i = 1; i <= argc; i++) {
        lua_rawgeti(L, 1, i);
        argv[i - 1] = luaL_checkstring(L, -1); /* anchored by argv table */
        lua_pop(L, 1);
    }
    argv[argc] = NULL;
    timeout = lua_istable(L, 2) ? dbx_l_optnumber(L, 2, "timeout", 60) : 60;
    if (lua_istable(L, 2) && lua_getfield(L, 2, "env") == LUA_TTABLE) { /* at 4 */
        envc = (lua_Integer)luaL_len(L, 4);
        env = lua_newuserdatauv(L, sizeof *env * (size_t)(envc + 1), 0);
        for (lua_Integer i = 1; i <= envc; i++) {
            lua_rawgeti(L, 4, i);
            env[i - 1] = luaL_checkstring(L, -1);
            lua_pop(L, 1);
        }
        env[envc] = NULL;
    }
    dbx_err_clear(&err);
    rc = dbx_proc_run_env(argv, env, timeout, &out, &errout, &status, &not_found, &err);
    if (rc != 0) {
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
        {"geteuid", l_geteuid},
        {"file_mode", l_file_mode},
        {"monotonic", l_monotonic},
        {"install_signals", l_install_signals},
        {"stop_requested", l_stop_requested},
        {"request_stop", l_request_stop},
        {"hup_requested", l_hup_requested},
        {"harden", l_harden},
        {"sd_notify", l_sd_notify},
        {"watchdog_usec", l_watchdog_usec},
        {"format_rfc3339", l_format_rfc3339},
        {"uuid4", l_uuid4},
        {"run", l_run},
        {NULL, NULL},
    };
    luaL_setfuncs(L, fns, 0);
}
