/* l_workers.c — Lua binding of workers.h, for the rotator daemon:
 *   core.worker_spawn() -> worker | nil, err   (worker.child is true in the child)
 *   worker:finish(result, status)              (child: never returns)
 *   core.worker_wait({workers...}, timeout)    (parent) -> {worker, ...} finished,
 *                                              each with .status and .output set
 *   worker:kill(sig), worker.pid
 * The userdata owns the pipe end and what was read; __gc closes the pipe
 * (a worker dropped unfinished is killed: it cannot report to anyone). */
#include <signal.h>
#include <string.h>
#include <unistd.h>

#include <lauxlib.h>
#include <lua.h>

#include "l_util.h"
#include "workers.h"

#define WORKER_MT "databricks.worker"

typedef struct lworker {
    dbx_worker w;
    dbx_buf out;
    int done, status;
} lworker;

static lworker *check_worker(lua_State *L, int idx)
{
    return luaL_checkudata(L, idx, WORKER_MT);
}

static int l_spawn(lua_State *L)
{
    lworker *u = lua_newuserdatauv(L, sizeof *u, 0);
    dbx_err err;
    memset(u, 0, sizeof *u);
    u->w.fd = -1;
    luaL_setmetatable(L, WORKER_MT);
    dbx_err_clear(&err);
    if (dbx_worker_spawn(&u->w, &err) != 0)
        return dbx_l_fail(L, &err);
    return 1;
}

static int l_finish(lua_State *L)
{
    lworker *u = check_worker(L, 1);
    size_t n;
    const char *s = luaL_optlstring(L, 2, "", &n);
    int status = (int)luaL_optinteger(L, 3, 0);
    if (u->w.pid != 0)
        return luaL_error(L, "worker:finish is for the worker process itself");
    dbx_worker_finish(&u->w, s, n, status);
}

static int l_kill(lua_State *L)
{
    lworker *u = check_worker(L, 1);
    if (!u->done)
        dbx_worker_kill(&u->w, (int)luaL_optinteger(L, 2, SIGTERM));
    return 0;
}

static int l_wait(lua_State *L)
{
    lua_Integer n;
    dbx_worker *ws;
    dbx_buf *outs;
    int *done, *status, found = 0;
    double timeout = luaL_checknumber(L, 2);
    luaL_checktype(L, 1, LUA_TTABLE);
    n = (lua_Integer)luaL_len(L, 1);
    ws = lua_newuserdatauv(L, sizeof *ws * (size_t)(n + 1), 0);
    outs = lua_newuserdatauv(L, sizeof *outs * (size_t)(n + 1), 0);
    done = lua_newuserdatauv(L, sizeof *done * (size_t)(n + 1), 0);
    status = lua_newuserdatauv(L, sizeof *status * (size_t)(n + 1), 0);
    for (lua_Integer i = 0; i < n; i++) {
        lworker *u;
        lua_rawgeti(L, 1, i + 1);
        u = check_worker(L, -1);
        lua_pop(L, 1);
        ws[i] = u->w;
        outs[i] = u->out; /* moved back below */
        done[i] = u->done;
        status[i] = u->status;
    }
    dbx_worker_wait(ws, (size_t)n, outs, done, status, timeout);
    lua_createtable(L, 0, 0);
    for (lua_Integer i = 0; i < n; i++) {
        lworker *u;
        lua_rawgeti(L, 1, i + 1);
        u = check_worker(L, -1);
        u->w = ws[i];
        u->out = outs[i];
        if (done[i] && !u->done) {
            u->done = 1;
            u->status = status[i];
            lua_rawseti(L, -2, ++found);
        } else {
            lua_pop(L, 1);
        }
    }
    return 1;
}

static int l_index(lua_State *L)
{
    lworker *u = check_worker(L, 1);
    const char *k = luaL_checkstring(L, 2);
    if (strcmp(k, "pid") == 0)
        lua_pushinteger(L, u->w.pid);
    else if (strcmp(k, "child") == 0)
        lua_pushboolean(L, u->w.pid == 0);
    else if (strcmp(k, "done") == 0)
        lua_pushboolean(L, u->done);
    else if (strcmp(k, "status") == 0)
        lua_pushinteger(L, u->status);
    else if (strcmp(k, "output") == 0)
        lua_pushlstring(L, dbx_buf_str(&u->out), u->out.len);
    else if (strcmp(k, "finish") == 0)
        lua_pushcfunction(L, l_finish);
    else if (strcmp(k, "kill") == 0)
        lua_pushcfunction(L, l_kill);
    else
        lua_pushnil(L);
    return 1;
}

static int l_gc(lua_State *L)
{
    lworker *u = check_worker(L, 1);
    if (u->w.pid > 0 && !u->done)
        dbx_worker_kill(&u->w, SIGKILL);
    if (u->w.fd >= 0)
        close(u->w.fd);
    u->w.fd = -1;
    dbx_buf_free(&u->out);
    return 0;
}

void dbx_l_open_workers(lua_State *L)
{
    luaL_newmetatable(L, WORKER_MT);
    lua_pushcfunction(L, l_index);
    lua_setfield(L, -2, "__index");
    lua_pushcfunction(L, l_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    lua_pushcfunction(L, l_spawn);
    lua_setfield(L, -2, "worker_spawn");
    lua_pushcfunction(L, l_wait);
    lua_setfield(L, -2, "worker_wait");
}
