/* l_files.c — private files for Lua (the status file, service
 * credentials): atomic, locked, 0600 from creation, folders 0700, through
 * atomicfile.h like every file the connector writes.
 *   core.write_private(path, data[, {durable=}])      replace the whole file
 *   core.update_private(path, fn[, {durable=}])       fn(old or nil) -> new
 *     or nil (keep), called under the file's lock: a read-modify-write
 *     that concurrent processes cannot interleave (the rotator's workers
 *     each record their target in one status file). */
#include <lauxlib.h>
#include <lua.h>

#include "atomicfile.h"
#include "l_util.h"

typedef struct whole {
    const char *data;
    size_t n;
} whole;

static int replace_edit(void *p, const char *old, size_t n, int existed, dbx_buf *out, dbx_err *err)
{
    whole *w = p;
    (void)old, (void)n, (void)existed;
    return dbx_buf_append(out, w->data, w->n) ? dbx_err_set(err, DBX_EIO, "out of memory") : DBX_AF_WRITE;
}

/* core.write_private(path, data[, {durable = false}]): atomic, locked,
 * 0600, folders 0700; durable (fsync'ed) unless told otherwise. */
static int l_write_private(lua_State *L)
{
    whole w;
    dbx_af_opts o = {0};
    dbx_af_state st = {0};
    dbx_err err;
    int rc;
    const char *path = luaL_checkstring(L, 1);
    w.data = luaL_checklstring(L, 2, &w.n);
    o.fix_mode = 1;
    if (lua_istable(L, 3))
        o.no_sync = !dbx_l_optboolean(L, 3, "durable", 1);
    dbx_err_clear(&err);
    rc = dbx_af_update(path, &o, replace_edit, &w, &st, &err);
    dbx_af_state_free(&st);
    if (rc != 0)
        return dbx_l_fail(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

typedef struct lua_edit {
    lua_State *L;
    int fn;
} lua_edit;

static int call_edit(void *p, const char *old, size_t n, int existed, dbx_buf *out, dbx_err *err)
{
    lua_edit *e = p;
    lua_State *L = e->L;
    size_t len;
    const char *s;
    int rc;
    lua_pushvalue(L, e->fn);
    if (existed)
        lua_pushlstring(L, old, n);
    else
        lua_pushnil(L);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        dbx_err_set(err, DBX_EIO, "update_private: the edit function failed: %s",
                    lua_tostring(L, -1) ? lua_tostring(L, -1) : "(error object)");
        lua_pop(L, 1);
        return -1;
    }
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return DBX_AF_KEEP;
    }
    if (!(s = lua_tolstring(L, -1, &len))) {
        lua_pop(L, 1);
        return dbx_err_set(err, DBX_EIO, "update_private: the edit function must return a string or nil");
    }
    rc = dbx_buf_append(out, s, len) ? dbx_err_set(err, DBX_EIO, "out of memory") : DBX_AF_WRITE;
    lua_pop(L, 1);
    return rc;
}

static int l_update_private(lua_State *L)
{
    lua_edit e;
    dbx_af_opts o = {0};
    dbx_af_state st = {0};
    dbx_err err;
    int rc;
    const char *path = luaL_checkstring(L, 1);
    luaL_checktype(L, 2, LUA_TFUNCTION);
    lua_settop(L, 3);
    e.L = L;
    e.fn = 2;
    o.fix_mode = 1;
    if (lua_istable(L, 3))
        o.no_sync = !dbx_l_optboolean(L, 3, "durable", 1);
    dbx_err_clear(&err);
    rc = dbx_af_update(path, &o, call_edit, &e, &st, &err);
    dbx_af_state_free(&st);
    if (rc != 0)
        return dbx_l_fail(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

void dbx_l_open_files(lua_State *L)
{
    lua_pushcfunction(L, l_write_private);
    lua_setfield(L, -2, "write_private");
    lua_pushcfunction(L, l_update_private);
    lua_setfield(L, -2, "update_private");
}
