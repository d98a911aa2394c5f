/* l_files.c — private whole-file writes for Lua (the status file, service
 * credentials): atomic, locked, 0600 from creation, folders 0700, through
 * atomicfile.h like every file the connector writes. */
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

void dbx_l_open_files(lua_State *L)
{
    lua_pushcfunction(L, l_write_private);
    lua_setfield(L, -2, "write_private");
}
