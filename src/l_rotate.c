/* l_rotate.c — Lua binding of the rotation step (rotate.h), the stored
 * U2M tokens (tokenstore.h), the private log file (logfile.h) and private
 * whole-file writes (for the status file). */
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "atomicfile.h"
#include "hostname.h"
#include "l_util.h"
#include "logfile.h"
#include "rotate.h"
#include "tokenstore.h"

#define LOGFILE_MT "databricks.logfile"

static void read_opts(lua_State *L, int idx, dbx_rotate_opts *o)
{
    memset(o, 0, sizeof *o);
    o->workspace_url = dbx_l_optstring(L, idx, "workspace_url", NULL);
    o->auth = dbx_l_optstring(L, idx, "auth", NULL);
    o->client_id = dbx_l_optstring(L, idx, "client_id", NULL);
    o->client_secret = dbx_l_optstring(L, idx, "client_secret", NULL);
    o->token_store = dbx_l_optstring(L, idx, "token_store", NULL);
    o->instance_name = dbx_l_optstring(L, idx, "instance_name", NULL);
    o->endpoint = dbx_l_optstring(L, idx, "endpoint", NULL);
    o->pg_host = dbx_l_optstring(L, idx, "pg_host", NULL);
    o->pg_port = (int)dbx_l_optnumber(L, idx, "pg_port", 0);
    o->pg_database = dbx_l_optstring(L, idx, "pg_database", NULL);
    o->pg_username = dbx_l_optstring(L, idx, "pg_username", NULL);
    o->pgpass_file = dbx_l_optstring(L, idx, "pgpass_file", NULL);
    o->ca_bundle = dbx_l_optstring(L, idx, "ca_bundle", NULL);
    o->databricks_cli = dbx_l_optstring(L, idx, "databricks_cli", NULL);
    o->timeout = dbx_l_optnumber(L, idx, "timeout", 0);
    o->retry_budget = dbx_l_optnumber(L, idx, "retry_budget", 0);
    o->min_validity = dbx_l_optnumber(L, idx, "min_validity", 0);
}

static int l_rotate_check(lua_State *L)
{
    dbx_rotate_opts o;
    dbx_err err;
    luaL_checktype(L, 1, LUA_TTABLE);
    read_opts(L, 1, &o);
    dbx_err_clear(&err);
    if (dbx_rotate_check(&o, &err) != 0)
        return dbx_l_fail(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

static int l_rotate_once(lua_State *L)
{
    dbx_rotate_opts o;
    dbx_rotate_report *r;
    dbx_err err;
    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    read_opts(L, 1, &o);
    o.user_agent = dbx_l_user_agent(L); /* stays on the stack */
    r = lua_newuserdatauv(L, sizeof *r, 0);
    dbx_err_clear(&err);
    if (dbx_rotate_once((dbx_jsonenv *)L, &o, r, &err) != 0)
        return dbx_l_fail(L, &err);
    lua_createtable(L, 0, 10);
#define STR(f)                  \
    lua_pushstring(L, r->f);    \
    lua_setfield(L, -2, #f)
    STR(subject);
    STR(pgpass_file);
    STR(source);
    STR(pg_host);
    STR(pg_database);
    STR(pg_username);
    STR(action);
#undef STR
    lua_pushinteger(L, (lua_Integer)r->expires_at);
    lua_setfield(L, -2, "expires_at");
    lua_pushinteger(L, r->pg_port);
    lua_setfield(L, -2, "pg_port");
    lua_pushboolean(L, r->mode_fixed);
    lua_setfield(L, -2, "mode_fixed");
    return 1;
}

static int l_store_default_path(lua_State *L)
{
    char host[300];
    dbx_buf b = {0};
    dbx_err err;
    dbx_err_clear(&err);
    if (dbx_normalize_host(luaL_checkstring(L, 1), host, sizeof host, &err) != 0 ||
        dbx_store_default_path(host, &b, &err) != 0) {
        dbx_buf_free(&b);
        return dbx_l_fail(L, &err);
    }
    lua_pushlstring(L, b.data, b.len);
    dbx_buf_free(&b);
    return 1;
}

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

/* ---- log file ------------------------------------------------------------ */

static dbx_logfile **check_log(lua_State *L)
{
    return luaL_checkudata(L, 1, LOGFILE_MT);
}

static int l_logfile_open(lua_State *L)
{
    const char *path = luaL_checkstring(L, 1);
    lua_Integer max = luaL_optinteger(L, 2, 10 * 1024 * 1024), keep = luaL_optinteger(L, 3, 5);
    dbx_logfile **u = lua_newuserdatauv(L, sizeof *u, 0);
    dbx_err err;
    *u = NULL;
    luaL_setmetatable(L, LOGFILE_MT);
    dbx_err_clear(&err);
    if (!(*u = dbx_logfile_open(path, (size_t)(max > 0 ? max : 0), (int)keep, &err)))
        return dbx_l_fail(L, &err);
    return 1;
}

static int l_logfile_write(lua_State *L)
{
    dbx_logfile **u = check_log(L);
    size_t n;
    const char *line = luaL_checklstring(L, 2, &n);
    dbx_err err;
    if (!*u)
        return luaL_error(L, "log file is closed");
    dbx_err_clear(&err);
    if (dbx_logfile_write(*u, line, n, &err) != 0)
        return dbx_l_fail(L, &err);
    lua_pushboolean(L, 1);
    return 1;
}

static int l_logfile_close(lua_State *L)
{
    dbx_logfile **u = check_log(L);
    dbx_logfile_close(*u);
    *u = NULL;
    return 0;
}

void dbx_l_open_rotate(lua_State *L)
{
    static const luaL_Reg log_methods[] = {
        {"write", l_logfile_write},
        {"close", l_logfile_close},
        {NULL, NULL},
    };
    static const luaL_Reg fns[] = {
        {"rotate_once", l_rotate_once},
        {"rotate_check", l_rotate_check},
        {"store_default_path", l_store_default_path},
        {"store_save", l_store_save},
        {"write_private", l_write_private},
        {"logfile_open", l_logfile_open},
        {NULL, NULL},
    };
    luaL_newmetatable(L, LOGFILE_MT);
    lua_pushcfunction(L, l_logfile_close);
    lua_setfield(L, -2, "__gc");
    lua_pushcfunction(L, l_logfile_close);
    lua_setfield(L, -2, "__close");
    luaL_newlib(L, log_methods);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    luaL_setfuncs(L, fns, 0);
}
