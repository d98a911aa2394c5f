/* l_module.c — the entry point of the Lua module databricks.core_impl
 * (opened by src/loader/core_loader.c, which is what Lua loads as
 * databricks.core). It only registers: libcurl's global initialisation,
 * once per process (the only process-wide state the core sets up), then
 * one dbx_l_open_* call per binding area into one module table. Nothing
 * else may live here, and no binding file includes it. */
#include <pthread.h>

#include <curl/curl.h>
#include <lauxlib.h>
#include <lua.h>

#include "l_util.h"

int luaopen_databricks_core_impl(lua_State *L);

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_rc = CURLE_FAILED_INIT;

static void curl_init(void)
{
    curl_init_rc = curl_global_init(CURL_GLOBAL_DEFAULT);
}

int luaopen_databricks_core_impl(lua_State *L)
{
    static void (*const areas[])(lua_State *) = {
        dbx_l_open_error,   dbx_l_open_useragent, dbx_l_open_parse,   dbx_l_open_client,
        dbx_l_open_connect, dbx_l_open_request,   dbx_l_open_workspace, dbx_l_open_pgpass,  dbx_l_open_sys,
        dbx_l_open_config,  dbx_l_open_rotate,    dbx_l_open_tokenstore, dbx_l_open_logfile,
        dbx_l_open_files,   dbx_l_open_workers, dbx_l_open_statement, dbx_l_open_volumes,
    };
    pthread_once(&curl_once, curl_init);
    if (curl_init_rc != CURLE_OK)
        return luaL_error(L, "databricks.core: libcurl initialisation failed: %s",
                          curl_easy_strerror(curl_init_rc));
    lua_newtable(L);
    for (size_t i = 0; i < sizeof areas / sizeof areas[0]; i++)
        areas[i](L);
    return 1;
}
