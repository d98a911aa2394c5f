/***
The client returned by `databricks.connect` (its Files API methods, for files
on Unity Catalog volumes: `/Volumes/catalog/schema/volume/...`).
@module databricks.client
*/

/* l_volumes.c — the file methods of the client (volumes.c does the work):
 * upload_file, download_file, file_info, delete_file, and core.volume_path
 * (the per-segment encoding the Lua directory methods share). on_progress
 * is called from libcurl's progress callback, at most ~10 times a second
 * and once at the end; its error ends the transfer (an io error). */
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "l_client.h"
#include "l_util.h"
#include "timeutil.h"
#include "volumes.h"

typedef struct progress {
    lua_State *L;
    int fn;            /* stack index of on_progress, 0: none */
    double at;         /* when it was last called */
    long long done;    /* what it was last told (-1: nothing yet) */
} progress;

static int call_progress(progress *pr, long long done, long long total, dbx_err *err)
{
    lua_State *L = pr->L;
    lua_pushvalue(L, pr->fn);
    lua_pushinteger(L, (lua_Integer)done);
    if (total >= 0)
        lua_pushinteger(L, (lua_Integer)total);
    else
        lua_pushnil(L);
    pr->at = dbx_monotonic();
    pr->done = done;
    if (lua_pcall(L, 2, 0, 0) != LUA_OK) {
        dbx_err_set(err, DBX_EIO, "on_progress callback failed: %s",
                    lua_tostring(L, -1) ? lua_tostring(L, -1) : "error object is not a string");
        lua_pop(L, 1);
        return -1;
    }
    return 0;
}

static int on_progress(void *ud, long long done, long long total, dbx_err *err)
{
    progress *pr = ud;
    if (!pr->fn || done == pr->done)
        return 0;
    if (dbx_monotonic() - pr->at < 0.1 && !(total >= 0 && done == total))
        return 0;
    return call_progress(pr, done, total, err);
}

/* Reads opts (at idx, may be nil): overwrite, on_progress (left at the top
 * of the stack when given, its index in pr->fn). */
static int read_opts(lua_State *L, int idx, progress *pr)
{
    int overwrite = 0;
    memset(pr, 0, sizeof *pr);
    pr->L = L;
    pr->done = -1;
    pr->at = -1;
    if (lua_isnoneornil(L, idx))
        return 0;
    luaL_checktype(L, idx, LUA_TTABLE);
    overwrite = dbx_l_optboolean(L, idx, "overwrite", 0);
    if (lua_getfield(L, idx, "on_progress") == LUA_TNIL) {
        lua_pop(L, 1);
        return overwrite;
    }
    luaL_argcheck(L, lua_isfunction(L, -1), idx, "on_progress must be a function");
    pr->fn = lua_gettop(L);
    return overwrite;
}

/***
 * Uploads a file to a volume, streamed from disk (or from a Lua string): a
 * file of many GiB never sits in memory.
 * @function Client:upload_file
 * @tparam string remote "/Volumes/catalog/schema/volume/path/file"
 * @param source a local file path, or `{data = "bytes"}`
 * @tparam[opt] table opts `overwrite` (default false: an existing remote file is an
 * http 409 error), `on_progress` (function(bytes_done, bytes_total), at most ~10 times a second)
 * @return true, or nil and an error
 */
static int l_upload_file(lua_State *L)
{
    const char *remote = luaL_checkstring(L, 2), *local = NULL, *data = NULL;
    dbx_volume_progress vp;
    dbx_lclient *u;
    progress pr;
    size_t n = 0;
    dbx_lctx x;
    dbx_err err;
    int overwrite;
    long long bytes = 0;
    lua_settop(L, 4);
    if (lua_istable(L, 3)) {
        if (lua_getfield(L, 3, "data") != LUA_TSTRING)
            return luaL_argerror(L, 3, "expected a file path or {data = string}");
        data = lua_tolstring(L, -1, &n); /* anchored by the table */
        lua_pop(L, 1);
    } else {
        local = luaL_checkstring(L, 3);
    }
    overwrite = read_opts(L, 4, &pr);
    vp.fn = on_progress;
    vp.ud = &pr;
    u = dbx_l_client_begin(L, &x);
    dbx_err_clear(&err);
    if (dbx_volume_upload(u->c, &x.base, remote, local, data, n, overwrite, &vp, &bytes, &err) != 0)
        return dbx_l_fail(L, &err);
    if (pr.fn && pr.done != bytes && call_progress(&pr, bytes, bytes, &err) != 0)
        return dbx_l_fail(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

/***
 * Downloads a file from a volume, streamed to a 0600 temp file in the
 * target's folder that becomes `local_path` only once complete: a failure
 * (or a stop signal) leaves nothing behind, and an existing file is never
 * replaced unless `overwrite`.
 * @function Client:download_file
 * @tparam string remote "/Volumes/catalog/schema/volume/path/file"
 * @tparam string local_path where to put it
 * @tparam[opt] table opts `overwrite` (default false), `on_progress` (function(bytes_done,
 * bytes_total), at most ~10 times a second)
 * @return `{bytes=, last_modified=}` (epoch seconds), or nil and an error
 */
static int l_download_file(lua_State *L)
{
    const char *remote = luaL_checkstring(L, 2), *local = luaL_checkstring(L, 3);
    dbx_volume_progress vp;
    dbx_file_info info;
    dbx_lclient *u;
    progress pr;
    dbx_lctx x;
    dbx_err err;
    int overwrite;
    lua_settop(L, 4);
    overwrite = read_opts(L, 4, &pr);
    vp.fn = on_progress;
    vp.ud = &pr;
    u = dbx_l_client_begin(L, &x);
    dbx_err_clear(&err);
    if (dbx_volume_download(u->c, &x.base, remote, local, overwrite, &vp, &info, &err) != 0)
        return dbx_l_fail(L, &err);
    if (pr.fn && pr.done != info.size && call_progress(&pr, info.size, info.size, &err) != 0)
        return dbx_l_fail(L, &err);
    lua_createtable(L, 0, 2);
    lua_pushinteger(L, (lua_Integer)info.size);
    lua_setfield(L, -2, "bytes");
    if (info.last_modified > 0) {
        lua_pushinteger(L, (lua_Integer)info.last_modified);
        lua_setfield(L, -2, "last_modified");
    }
    return 1;
}

/***
 * A file's metadata (HEAD).
 * @function Client:file_info
 * @tparam string remote "/Volumes/catalog/schema/volume/path/file"
 * @return `{size=, last_modified=, content_type=}` (last_modified in epoch seconds), or nil
 * and an error (a missing file: kind "http", status 404)
 */
static int l_file_info(lua_State *L)
{
    const char *remote = luaL_checkstring(L, 2);
    dbx_file_info info;
    dbx_lclient *u;
    dbx_lctx x;
    dbx_err err;
    lua_settop(L, 2);
    u = dbx_l_client_begin(L, &x);
    dbx_err_clear(&err);
    if (dbx_volume_info(u->c, &x.base, remote, &info, &err) != 0)
        return dbx_l_fail(L, &err);
    lua_createtable(L, 0, 3);
    if (info.size >= 0) {
        lua_pushinteger(L, (lua_Integer)info.size);
        lua_setfield(L, -2, "size");
    }
    if (info.last_modified > 0) {
        lua_pushinteger(L, (lua_Integer)info.last_modified);
        lua_setfield(L, -2, "last_modified");
    }
    if (info.content_type[0]) {
        lua_pushstring(L, info.content_type);
        lua_setfield(L, -2, "content_type");
    }
    return 1;
}

/***
 * Deletes a file from a volume.
 * @function Client:delete_file
 * @tparam string remote "/Volumes/catalog/schema/volume/path/file"
 * @return true, or nil and an error (a missing file: kind "http", status 404)
 */
static int l_delete_file(lua_State *L)
{
    const char *remote = luaL_checkstring(L, 2);
    dbx_lclient *u;
    dbx_lctx x;
    dbx_err err;
    lua_settop(L, 2);
    u = dbx_l_client_begin(L, &x);
    dbx_err_clear(&err);
    if (dbx_volume_delete(u->c, &x.base, remote, &err) != 0)
        return dbx_l_fail(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

/* core.volume_path(remote): the path percent-encoded per segment, for the
 * Lua directory methods. */
static int l_volume_path(lua_State *L)
{
    const char *remote = luaL_checkstring(L, 1);
    dbx_buf out = {0};
    dbx_err err;
    dbx_err_clear(&err);
    if (dbx_volume_path(remote, &out, &err) != 0) {
        dbx_buf_free(&out);
        return dbx_l_fail(L, &err);
    }
    lua_pushlstring(L, dbx_buf_str(&out), out.len);
    dbx_buf_free(&out);
    return 1;
}

void dbx_l_open_volumes(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"upload_file", l_upload_file},
        {"download_file", l_download_file},
        {"file_info", l_file_info},
        {"delete_file", l_delete_file},
        {NULL, NULL},
    };
    lua_pushcfunction(L, l_volume_path);
    lua_setfield(L, -2, "volume_path");
    lua_getfield(L, -1, "client_methods");
    luaL_setfuncs(L, methods, 0);
    lua_pop(L, 1);
}
