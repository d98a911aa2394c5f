/* l_connect.c — databricks.connect: reads the config table (every key
 * checked against config.c's table, every value's type), builds the config
 * with config.c's one builder, creates the client, and runs the browser
 * sign-in when an oauth_u2m config brings no token. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "client.h"
#include "config.h"
#include "l_client.h"
#include "l_util.h"
#include "proc.h"

/* ---- browser sign-in ---------------------------------------------------- */


typedef struct browser_ud {
    lua_State *L;
    int fn; /* stack index of open_browser, 0 for the default */
} browser_ud;

/* Asks the desktop to open url (xdg-open, or open on macOS), best effort:
 * a machine without one is not an error, the URL is printed anyway. */
static void run_opener(const char *url)
{
#if defined(__APPLE__)
    const char *argv[] = {"open", url, NULL};
#else
    const char *argv[] = {"xdg-open", url, NULL};
#endif
    int status, not_found;
    dbx_err ignored;
    dbx_err_clear(&ignored);
    dbx_proc_run(argv, 5, NULL, NULL, &status, &not_found, &ignored);
}

/* Default: print the URL (headless machines) and try the desktop opener. */
static int default_open_browser(const char *url, dbx_err *err)
{
    (void)err;
    fprintf(stderr, "To sign in to Databricks, open this URL in a browser on this machine:\n\n  %s\n\n", url);
    fflush(stderr);
    run_opener(url);
    return 0;
}

/* core.open_url(url): the default opener alone, for programs that print
 * their own instructions (databricks-oauth-login). */
static int l_open_url(lua_State *L)
{
    const char *url = luaL_checkstring(L, 1);
    if (strncmp(url, "https://", 8) != 0 && strncmp(url, "http://", 7) != 0)
        return luaL_argerror(L, 1, "an http(s) URL");
    run_opener(url);
    return 0;
}

static int open_browser(void *ud, const char *url, dbx_err *err)
{
    browser_ud *b = ud;
    lua_State *L = b->L;
    if (!b->fn)
        return default_open_browser(url, err);
    lua_pushvalue(L, b->fn);
    lua_pushstring(L, url);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
        dbx_err_set(err, DBX_ECONFIG, "open_browser callback failed: %s",
                    lua_tostring(L, -1) ? lua_tostring(L, -1) : "(error object)");
        lua_pop(L, 1);
        return -1;
    }
    return 0;
}

/* ---- connect ------------------------------------------------------------ */

/* Reads the config table into `in`, checking keys and value types. */
static int read_config(lua_State *L, int idx, dbx_config_input *in, dbx_err *err)
{
    static const struct {
        const char *name;
        size_t off;
    } strings[] = {
#define S(f) {#f, offsetof(dbx_config_input, f)}
        S(host), S(auth_type), S(token), S(client_id), S(client_secret), S(access_token), S(refresh_token),
        S(redirect_uri), S(scopes), S(warehouse_id), S(http_path), S(serverless_compute_id), S(cluster_id),
        S(ca_bundle), S(databricks_cli), S(oidc_token_env), S(oidc_token_file), S(token_audience), S(account_id),
        S(workspace_id), S(profile),
#undef S
    };
    dbx_config_input_init(in);
    lua_pushnil(L);
    while (lua_next(L, idx)) {
        const char *key;
        const dbx_config_key *k;
        if (lua_type(L, -2) != LUA_TSTRING) {
            lua_pop(L, 2);
            return dbx_err_set(err, DBX_ECONFIG, "config keys must be strings (got a %s key)",
                               luaL_typename(L, -1));
        }
        key = lua_tostring(L, -2);
        if (dbx_config_check_key(key, err) != 0) {
            lua_pop(L, 2);
            return -1;
        }
        for (k = dbx_config_keys; strcmp(k->name, key) != 0; k++)
            ;
        if (strcmp(luaL_typename(L, -1), k->type) != 0) {
            dbx_err_set(err, DBX_ECONFIG, "config key '%s' must be a %s (got %s)", key, k->type,
                        luaL_typename(L, -1));
            lua_pop(L, 2);
            return -1;
        }
        lua_pop(L, 1);
    }
    for (size_t i = 0; i < sizeof strings / sizeof strings[0]; i++) {
        lua_getfield(L, idx, strings[i].name);
        *(const char **)((char *)in + strings[i].off) = lua_tostring(L, -1); /* anchored by the table */
        lua_pop(L, 1);
    }
#define N(f)                                  \
    lua_getfield(L, idx, #f);                 \
    if (lua_isnumber(L, -1))                  \
        in->f = (double)lua_tonumber(L, -1);  \
    lua_pop(L, 1)
    N(expires_at);
    N(timeout);
    N(retry_timeout);
    N(login_timeout);
    N(max_response_bytes);
#undef N
    in->has_open_browser = lua_getfield(L, idx, "open_browser") == LUA_TFUNCTION;
    in->has_on_tokens = lua_getfield(L, idx, "on_tokens") == LUA_TFUNCTION;
    lua_pop(L, 2);
    return 0;
}

static int l_connect(lua_State *L)
{
    dbx_config_input in;
    dbx_config cfg;
    dbx_err err;
    dbx_lclient *u;
    dbx_lctx x;
    const char *ua;
    int self;

    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    dbx_err_clear(&err);
    /* Everything that can raise (allocations on the Lua side) happens
     * before the config owns memory: the userdata and its callbacks first. */
    lua_createtable(L, 0, 2);
    lua_getfield(L, 1, "on_tokens");
    lua_setfield(L, -2, "on_tokens");
    u = dbx_l_client_push(L, 2);
    self = lua_gettop(L);
    ua = dbx_l_user_agent(L);
    if (read_config(L, 1, &in, &err) != 0 || dbx_config_build(&in, &cfg, &err) != 0)
        return dbx_l_fail(L, &err);

    u->c = dbx_client_new(&cfg, ua, (dbx_jsonenv *)L, &err);
    if (!u->c)
        return dbx_l_fail(L, &err);

    {
        const dbx_config *c = dbx_client_config(u->c);
        if (c->auth == DBX_AUTH_U2M && !c->access_token && !c->refresh_token) {
            browser_ud b = {L, 0};
            if (lua_getfield(L, 1, "open_browser") == LUA_TFUNCTION)
                b.fn = lua_gettop(L);
            dbx_l_ctx_init(&x, L, self);
            if (dbx_client_login(u->c, &x.base, open_browser, &b, &err) != 0) {
                dbx_client_free(u->c);
                u->c = NULL;
                return dbx_l_fail(L, &err);
            }
        }
    }
    lua_settop(L, self);
    return 1;
}


void dbx_l_open_connect(lua_State *L)
{
    lua_pushcfunction(L, l_connect);
    lua_setfield(L, -2, "connect");
    lua_pushcfunction(L, l_open_url);
    lua_setfield(L, -2, "open_url");
}
