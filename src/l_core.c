/* l_core.c — the entry point of the Lua module databricks.core and the
 * pieces every binding area shares: the error table type, the version and
 * the User-Agent of this Lua state. libcurl's global initialisation happens
 * here, once per process (the only process-wide state in the core).
 *
 * The product set by a host application with set_product belongs to the Lua
 * state (kept in its registry), so two independent Lua states in one process
 * never see each other's product. */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <curl/curl.h>
#include <lauxlib.h>
#include <lua.h>

#include "l_util.h"
#include "redact.h"
#include "useragent.h"
#include "version.h"

/* Called by the loader (src/loader/core_loader.c), which is what Lua
 * opens as databricks.core. */
int luaopen_databricks_core_impl(lua_State *L);

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

/* ---- errors ----------------------------------------------------------- */

void dbx_l_pusherr(lua_State *L, const dbx_err *e)
{
    lua_createtable(L, 0, 6);
    lua_pushstring(L, dbx_kind_name(e->kind));
    lua_setfield(L, -2, "kind");
    lua_pushstring(L, e->message);
    lua_setfield(L, -2, "message");
    if (e->status > 0) {
        lua_pushinteger(L, e->status);
        lua_setfield(L, -2, "status");
    }
    if (e->error_code[0]) {
        lua_pushstring(L, e->error_code);
        lua_setfield(L, -2, "error_code");
    }
    if (e->request_id[0]) {
        lua_pushstring(L, e->request_id);
        lua_setfield(L, -2, "request_id");
    }
    if (e->retry_after >= 0) {
        lua_pushnumber(L, e->retry_after);
        lua_setfield(L, -2, "retry_after");
    }
    luaL_setmetatable(L, DBX_L_ERROR_MT);
}

int dbx_l_fail(lua_State *L, const dbx_err *e)
{
    lua_pushnil(L);
    dbx_l_pusherr(L, e);
    return 2;
}

int dbx_l_failf(lua_State *L, dbx_kind kind, const char *fmt, ...)
{
    dbx_err e;
    va_list ap;
    dbx_err_clear(&e);
    e.kind = kind;
    va_start(ap, fmt);
    vsnprintf(e.message, sizeof e.message, fmt, ap);
    va_end(ap);
    dbx_redact(e.message);
    return dbx_l_fail(L, &e);
}

/* Reads an error table back into a dbx_err (used by __tostring and by
 * core.error, so Lua-made errors format exactly like C-made ones). */
static void checkerr(lua_State *L, int idx, dbx_err *e)
{
    const char *s;
    size_t n;
    dbx_err_clear(e);
    e->kind = DBX_EIO;
    lua_getfield(L, idx, "kind");
    s = lua_tostring(L, -1);
    for (int k = DBX_ECONFIG; s && k <= DBX_ESQL; k++)
        if (strcmp(s, dbx_kind_name((dbx_kind)k)) == 0)
            e->kind = (dbx_kind)k;
    lua_pop(L, 1);
    lua_getfield(L, idx, "message");
    s = lua_tolstring(L, -1, &n);
    if (s) {
        if (n >= sizeof e->message)
            n = sizeof e->message - 1;
        memcpy(e->message, s, n);
        e->message[n] = '\0';
        dbx_redact(e->message);
    }
    lua_pop(L, 1);
    lua_getfield(L, idx, "status");
    e->status = (long)lua_tointeger(L, -1);
    lua_pop(L, 1);
    lua_getfield(L, idx, "error_code");
    if ((s = lua_tolstring(L, -1, &n)))
        dbx_err_set_code(e, s, n);
    lua_pop(L, 1);
    lua_getfield(L, idx, "request_id");
    if ((s = lua_tolstring(L, -1, &n)))
        dbx_err_set_request_id(e, s, n);
    lua_pop(L, 1);
    lua_getfield(L, idx, "retry_after");
    if (lua_isnumber(L, -1))
        e->retry_after = lua_tonumber(L, -1);
    lua_pop(L, 1);
}

static int err_tostring(lua_State *L)
{
    dbx_err e;
    char line[sizeof e.message + 256];
    luaL_checktype(L, 1, LUA_TTABLE);
    checkerr(L, 1, &e);
    dbx_err_format(&e, line, sizeof line);
    lua_pushstring(L, line);
    return 1;
}

/* core.error{kind=, message=, ...} — an error table for Lua code, with the
 * message redacted and the shared metatable. */
static int l_error(lua_State *L)
{
    dbx_err e;
    luaL_checktype(L, 1, LUA_TTABLE);
    checkerr(L, 1, &e);
    dbx_l_pusherr(L, &e);
    /* Keep extra fields the caller attached (e.g. sql statement_id). */
    lua_pushnil(L);
    while (lua_next(L, 1)) {
        lua_pushvalue(L, -2);
        if (lua_rawget(L, -4) == LUA_TNIL) {
            lua_pop(L, 1);
            lua_pushvalue(L, -2);
            lua_insert(L, -2);
            lua_rawset(L, -4);
        } else {
            lua_pop(L, 2);
        }
    }
    return 1;
}

static int l_redact(lua_State *L)
{
    size_t n;
    const char *s = luaL_checklstring(L, 1, &n);
    luaL_Buffer b;
    char *p = luaL_buffinitsize(L, &b, n + 1);
    memcpy(p, s, n + 1);
    if (lua_istable(L, 2)) {
        /* Known secrets given as a list. */
        const char *list[33];
        int k = 0;
        for (lua_Integer i = 1; k < 32; i++) {
            lua_rawgeti(L, 2, i);
            if (!lua_isstring(L, -1)) {
                lua_pop(L, 1);
                break;
            }
            list[k++] = lua_tostring(L, -1);
            lua_pop(L, 1); /* strings stay anchored by the list table */
        }
        list[k] = NULL;
        dbx_redact_known(p, list);
    } else {
        dbx_redact(p);
    }
    luaL_pushresultsize(&b, strlen(p));
    return 1;
}

/* ---- User-Agent --------------------------------------------------------- */

static const char product_key = 'p';

/* Pushes the User-Agent of this Lua state. */
static void push_user_agent(lua_State *L)
{
    char ua[512];
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &product_key) == LUA_TSTRING)
        return;
    lua_pop(L, 1);
    dbx_ua_format(ua, sizeof ua, NULL, NULL, NULL);
    lua_pushstring(L, ua);
}

const char *dbx_l_user_agent(lua_State *L)
{
    push_user_agent(L);
    return lua_tostring(L, -1);
}

static int l_user_agent(lua_State *L)
{
    push_user_agent(L);
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
    lua_pushstring(L, ua);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &product_key);
    lua_pushboolean(L, 1);
    return 1;
}

/* ---- module ------------------------------------------------------------- */

void dbx_l_open_core(lua_State *L)
{
    static const luaL_Reg fns[] = {
        {"user_agent", l_user_agent},
        {"set_product", l_set_product},
        {"error", l_error},
        {"redact", l_redact},
        {NULL, NULL},
    };
    luaL_setfuncs(L, fns, 0);
    lua_pushliteral(L, DBX_VERSION);
    lua_setfield(L, -2, "VERSION");
}

int luaopen_databricks_core_impl(lua_State *L)
{
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK)
        return luaL_error(L, "databricks.core: libcurl initialisation failed: %s",
                          curl_easy_strerror(curl_init_rc));
    if (luaL_newmetatable(L, DBX_L_ERROR_MT)) {
        lua_pushcfunction(L, err_tostring);
        lua_setfield(L, -2, "__tostring");
        lua_pushliteral(L, "databricks.error");
        lua_setfield(L, -2, "__name");
    }
    lua_pop(L, 1);
    lua_newtable(L);
    dbx_l_open_core(L);
    dbx_l_open_pgpass(L);
    dbx_l_open_client(L);
    dbx_l_open_sys(L);
    dbx_l_open_config(L);
    dbx_l_open_rotate(L);
    return 1;
}

/* ---- options-table readers ------------------------------------------------ */

const char *dbx_l_optstring(lua_State *L, int idx, const char *key, const char *def)
{
    const char *s;
    int t = lua_getfield(L, idx, key);
    if (t == LUA_TNIL) {
        lua_pop(L, 1);
        return def;
    }
    if (t != LUA_TSTRING)
        luaL_error(L, "option '%s' must be a string (got %s)", key, lua_typename(L, t));
    s = lua_tostring(L, -1); /* anchored by the options table */
    lua_pop(L, 1);
    return s;
}

lua_Number dbx_l_optnumber(lua_State *L, int idx, const char *key, lua_Number def)
{
    lua_Number v;
    int t = lua_getfield(L, idx, key);
    if (t == LUA_TNIL) {
        lua_pop(L, 1);
        return def;
    }
    if (t != LUA_TNUMBER)
        luaL_error(L, "option '%s' must be a number (got %s)", key, lua_typename(L, t));
    v = lua_tonumber(L, -1);
    lua_pop(L, 1);
    return v;
}

int dbx_l_optboolean(lua_State *L, int idx, const char *key, int def)
{
    int v, t = lua_getfield(L, idx, key);
    if (t == LUA_TNIL) {
        lua_pop(L, 1);
        return def;
    }
    if (t != LUA_TBOOLEAN)
        luaL_error(L, "option '%s' must be a boolean (got %s)", key, lua_typename(L, t));
    v = lua_toboolean(L, -1);
    lua_pop(L, 1);
    return v;
}
