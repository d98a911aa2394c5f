/***
The client returned by `databricks.connect`: the methods implemented in C.
(`current_user`, `get_table`, `sql` and `spark_connect_url` are in the
`databricks` module.)
@module databricks.client
*/

/* l_client.c — Lua binding of the client (client.h), connect, login and
 * the small pure helpers Lua needs (host normalisation, HTTP paths, JWT
 * claims). The client userdata holds only a dbx_client pointer; its
 * uservalue table keeps the Lua callbacks (on_tokens, open_browser).
 * Resource order follows luaossl: the userdata exists before the native
 * client, so an error in between cannot leak it. */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <lauxlib.h>
#include <lua.h>

#include "client.h"
#include "hostname.h"
#include "jwt.h"
#include "l_util.h"
#include "login.h"
#include "proc.h"
#include "timeutil.h"

#define CLIENT_MT "databricks.client"

typedef struct lclient {
    dbx_client *c;
    /* Scratch for request(): the path and the response are reused from call
     * to call (no allocation per request); `busy` while in use, so a call
     * made from inside one (an on_tokens callback) gets its own. */
    dbx_buf path;
    dbx_http_response resp;
    int busy;
} lclient;

/* Scratch buffers larger than this are released after the call instead of
 * kept (one huge answer must not pin its memory). */
#define SCRATCH_KEEP (1 << 20)

/* Per-call context: the Lua state and the stack index of the client. */
typedef struct lctx {
    dbx_ctx base;
    lua_State *L;
    int self;
} lctx;

static lclient *check_client(lua_State *L)
{
    lclient *u = luaL_checkudata(L, 1, CLIENT_MT);
    if (!u->c)
        luaL_error(L, "attempt to use a closed databricks client");
    return u;
}

/* Pushes the callback `name` from the client's uservalue table. */
static int push_callback(lua_State *L, int self, const char *name)
{
    lua_getiuservalue(L, self, 1);
    if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        lua_pushnil(L);
        return LUA_TNIL;
    }
    lua_getfield(L, -1, name);
    lua_remove(L, -2);
    return lua_type(L, -1);
}

static void push_tokens(lua_State *L, const dbx_token *t)
{
    lua_createtable(L, 0, 3);
    lua_pushstring(L, t->access);
    lua_setfield(L, -2, "access_token");
    if (t->refresh) {
        lua_pushstring(L, t->refresh);
        lua_setfield(L, -2, "refresh_token");
    }
    if (t->expires_at > 0) {
        lua_pushinteger(L, (lua_Integer)t->expires_at);
        lua_setfield(L, -2, "expires_at");
    }
}

static int on_tokens(dbx_ctx *ctx, const dbx_token *t, dbx_err *err)
{
    lctx *x = (lctx *)ctx;
    lua_State *L = x->L;
    if (push_callback(L, x->self, "on_tokens") != LUA_TFUNCTION) {
        lua_pop(L, 1);
        return 0;
    }
    push_tokens(L, t);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK) {
        dbx_err_set(err, DBX_EIO, "on_tokens callback failed (the new tokens were not stored): %s",
                    lua_tostring(L, -1) ? lua_tostring(L, -1) : "error object is not a string");
        lua_pop(L, 1);
        return -1;
    }
    return 0;
}

static void ctx_init(lctx *x, lua_State *L, int self)
{
    x->base.json = (dbx_jsonenv *)L;
    x->base.on_tokens = self ? on_tokens : NULL;
    x->base.ud = x;
    x->L = L;
    x->self = self;
}

/* ---- browser sign-in ---------------------------------------------------- */

typedef struct browser_ud {
    lua_State *L;
    int fn; /* stack index of open_browser, 0 for the default */
} browser_ud;

/* Default: print the URL (headless machines) and try the desktop opener. */
static int default_open_browser(const char *url, dbx_err *err)
{
#if defined(__APPLE__)
    const char *argv[] = {"open", url, NULL};
#else
    const char *argv[] = {"xdg-open", url, NULL};
#endif
    int status, not_found;
    dbx_err ignored;
    (void)err;
    fprintf(stderr, "To sign in to Databricks, open this URL in a browser on this machine:\n\n  %s\n\n", url);
    fflush(stderr);
    dbx_err_clear(&ignored);
    dbx_proc_run(argv, 5, NULL, NULL, &status, &not_found, &ignored);
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
        S(ca_bundle), S(databricks_cli),
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
    in->env_ssl_cert_file = getenv("SSL_CERT_FILE");
    in->env_curl_ca_bundle = getenv("CURL_CA_BUNDLE");
    return 0;
}

static int l_connect(lua_State *L)
{
    dbx_config_input in;
    dbx_config cfg;
    dbx_err err;
    lclient *u;
    lctx x;
    const char *ua;
    int self;

    luaL_checktype(L, 1, LUA_TTABLE);
    lua_settop(L, 1);
    dbx_err_clear(&err);
    if (read_config(L, 1, &in, &err) != 0 || dbx_config_build(&in, &cfg, &err) != 0)
        return dbx_l_fail(L, &err);

    u = lua_newuserdatauv(L, sizeof *u, 1);
    memset(u, 0, sizeof *u);
    dbx_http_response_init(&u->resp);
    luaL_setmetatable(L, CLIENT_MT);
    self = lua_gettop(L);
    lua_createtable(L, 0, 2);
    lua_getfield(L, 1, "on_tokens");
    lua_setfield(L, -2, "on_tokens");
    lua_setiuservalue(L, self, 1);

    ua = dbx_l_user_agent(L);
    u->c = dbx_client_new(&cfg, ua, (dbx_jsonenv *)L, &err);
    lua_pop(L, 1); /* user agent */
    if (!u->c)
        return dbx_l_fail(L, &err);

    {
        const dbx_config *c = dbx_client_config(u->c);
        if (c->auth == DBX_AUTH_U2M && !c->access_token && !c->refresh_token) {
            browser_ud b = {L, 0};
            if (lua_getfield(L, 1, "open_browser") == LUA_TFUNCTION)
                b.fn = lua_gettop(L);
            ctx_init(&x, L, self);
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

/* ---- methods ------------------------------------------------------------ */

/* Client methods implemented in C (the rest are in lua/databricks/init.lua
 * and sql.lua); a client is created by `databricks.connect`. The LDoc
 * comments below join the `databricks` page of the API reference. */

/***
 * Releases the client (its libcurl handle and the tokens it holds). Also run
 * by `__close` (`local c <close> = ...`) and `__gc`; idempotent. Using a
 * closed client raises.
 * @function Client:close
 */
static int l_close(lua_State *L)
{
    lclient *u = luaL_checkudata(L, 1, CLIENT_MT);
    dbx_client_free(u->c);
    u->c = NULL;
    dbx_buf_free(&u->path);
    dbx_http_response_free(&u->resp);
    return 0;
}

static int l_tostring(lua_State *L)
{
    lclient *u = luaL_checkudata(L, 1, CLIENT_MT);
    if (!u->c) {
        lua_pushliteral(L, "databricks.client (closed)");
    } else {
        const dbx_config *c = dbx_client_config(u->c);
        lua_pushfstring(L, "databricks.client (%s, %s)", c->host, dbx_auth_type_name(c->auth));
    }
    return 1;
}

/***
 * A usable access token, refreshed when stale or expired.
 * @function Client:token
 * @return token, and its expiry (epoch seconds; nil for a PAT); or nil and an error
 */
static int l_token(lua_State *L)
{
    lclient *u = check_client(L);
    const char *tok;
    double exp;
    dbx_err err;
    lctx x;
    dbx_err_clear(&err);
    ctx_init(&x, L, 1);
    if (dbx_client_token(u->c, &x.base, &tok, &exp, &err) != 0)
        return dbx_l_fail(L, &err);
    lua_pushstring(L, tok);
    if (exp > 0)
        lua_pushinteger(L, (lua_Integer)exp);
    else
        lua_pushnil(L);
    return 2;
}

/***
 * Headers for the host application's own HTTP calls.
 * @function Client:headers
 * @return `{Authorization = "Bearer ...", ["User-Agent"] = ...}`, or nil and an error
 */
static int l_headers(lua_State *L)
{
    lclient *u = check_client(L);
    dbx_buf auth = {0};
    dbx_err err;
    lctx x;
    dbx_err_clear(&err);
    ctx_init(&x, L, 1);
    if (dbx_client_authorization(u->c, &x.base, &auth, &err) != 0) {
        dbx_buf_free(&auth);
        return dbx_l_fail(L, &err);
    }
    lua_createtable(L, 0, 2);
    lua_pushlstring(L, auth.data, auth.len);
    lua_setfield(L, -2, "Authorization");
    lua_pushstring(L, dbx_client_user_agent(u->c));
    lua_setfield(L, -2, "User-Agent");
    dbx_buf_free(&auth);
    return 1;
}

/* Appends opts.query (a table) to the path, keys sorted for stable URLs. */
static int append_query(lua_State *L, int opts, dbx_buf *path, dbx_err *err)
{
    int n = 0, t;
    if (lua_getfield(L, opts, "query") == LUA_TNIL) {
        lua_pop(L, 1);
        return 0;
    }
    t = lua_gettop(L);
    if (!lua_istable(L, t))
        luaL_error(L, "request: opts.query must be a table");
    lua_newtable(L); /* sorted key list */
    lua_pushnil(L);
    while (lua_next(L, t)) {
        lua_pop(L, 1);
        if (lua_type(L, -1) != LUA_TSTRING) {
            lua_pop(L, 3);
            return dbx_err_set(err, DBX_ECONFIG, "request: query keys must be strings");
        }
        lua_pushvalue(L, -1);
        lua_rawseti(L, t + 1, ++n);
    }
    lua_getglobal(L, "table");
    lua_getfield(L, -1, "sort");
    lua_remove(L, -2);
    lua_pushvalue(L, t + 1);
    lua_call(L, 1, 0);
    for (int i = 1; i <= n; i++) {
        const char *k, *v;
        lua_rawgeti(L, t + 1, i);
        k = lua_tostring(L, -1);
        lua_gettable(L, t);
        if (lua_isboolean(L, -1)) {
            v = lua_toboolean(L, -1) ? "true" : "false";
        } else if (lua_type(L, -1) == LUA_TSTRING || lua_type(L, -1) == LUA_TNUMBER) {
            v = lua_tostring(L, -1);
        } else {
            lua_pop(L, 3);
            return dbx_err_set(err, DBX_ECONFIG, "request: query value of '%s' must be a string, number or boolean", k);
        }
        lua_rawgeti(L, t + 1, i);
        if (dbx_buf_puts(path, i == 1 && !strchr(dbx_buf_str(path), '?') ? "?" : "&") ||
            dbx_buf_urlencode(path, lua_tostring(L, -1)) || dbx_buf_puts(path, "=") || dbx_buf_urlencode(path, v)) {
            lua_pop(L, 4);
            return dbx_err_set(err, DBX_EIO, "out of memory");
        }
        lua_pop(L, 2);
    }
    lua_pop(L, 2);
    return 0;
}

/* Collects opts.headers into "Name: value" lines (kept alive in a Lua table
 * at the top of the stack). Authorization and User-Agent are the client's. */
static int collect_headers(lua_State *L, int opts, const char ***out, const char **content_type, dbx_err *err)
{
    int t, n = 0;
    const char **list;
    *out = NULL;
    if (lua_getfield(L, opts, "headers") == LUA_TNIL) {
        lua_pop(L, 1);
        return 0;
    }
    lua_newtable(L); /* anchor for the lines built below */
    lua_insert(L, -2);
    t = lua_gettop(L);
    if (!lua_istable(L, t))
        luaL_error(L, "request: opts.headers must be a table");
    list = lua_newuserdatauv(L, sizeof(char *) * 64, 0);
    lua_rawseti(L, t - 1, 0);
    lua_pushnil(L);
    while (lua_next(L, t)) {
        const char *k = lua_tostring(L, -2), *v = lua_tostring(L, -1);
        if (lua_type(L, -2) != LUA_TSTRING || !v || strpbrk(k, ":\r\n") || strpbrk(v, "\r\n")) {
            lua_pop(L, 3);
            return dbx_err_set(err, DBX_ECONFIG, "request: headers must be name = string value pairs without newlines");
        }
        if (strcasecmp(k, "Authorization") == 0 || strcasecmp(k, "User-Agent") == 0) {
            lua_pop(L, 3);
            return dbx_err_set(err, DBX_ECONFIG,
                               "request: the %s header is set by the client and cannot be overridden", k);
        }
        if (strcasecmp(k, "Content-Type") == 0) {
            *content_type = v; /* anchored by opts.headers */
        } else {
            if (n == 63) {
                lua_pop(L, 3);
                return dbx_err_set(err, DBX_ECONFIG, "request: at most 63 extra headers");
            }
            lua_pushfstring(L, "%s: %s", k, v);
            list[n++] = lua_tostring(L, -1);
            lua_rawseti(L, t - 1, n);
        }
        lua_pop(L, 1);
    }
    list[n] = NULL;
    lua_pop(L, 1);
    *out = list;
    return 0;
}

#define RESPONSE_MT "databricks.response"

/* Pushes the response headers as a table of lower-case name -> value. */
static void push_response_headers(lua_State *L, const char *p, size_t n)
{
    const char *end = p + n;
    lua_newtable(L);
    while (p < end) {
        const char *eol = memchr(p, '\n', (size_t)(end - p)), *colon;
        size_t len = (size_t)((eol ? eol : end) - p);
        colon = memchr(p, ':', len);
        if (colon && colon > p) {
            const char *v = colon + 1, *ve = p + len;
            luaL_Buffer b;
            while (v < ve && (*v == ' ' || *v == '\t'))
                v++;
            while (ve > v && (ve[-1] == '\r' || ve[-1] == ' '))
                ve--;
            luaL_buffinit(L, &b);
            for (const char *k = p; k < colon; k++)
                luaL_addchar(&b, (char)tolower((unsigned char)*k));
            luaL_pushresult(&b);
            lua_pushlstring(L, v, (size_t)(ve - v));
            lua_settable(L, -3);
        }
        p += len + 1;
    }
}

/* __index of the response metadata: `headers` is decoded from
 * `raw_headers` on first use (most callers never look), then kept. */
static int response_index(lua_State *L)
{
    size_t n;
    const char *raw;
    if (lua_type(L, 2) != LUA_TSTRING || strcmp(lua_tostring(L, 2), "headers") != 0)
        return 0;
    lua_getfield(L, 1, "raw_headers");
    raw = lua_tolstring(L, -1, &n);
    push_response_headers(L, raw ? raw : "", raw ? n : 0);
    lua_pushvalue(L, -1);
    lua_setfield(L, 1, "headers");
    return 1;
}

/* The body of request() once the response is in `resp`. */
static int push_response(lua_State *L, const dbx_http_response *resp)
{
    /* JSON is decoded when the server says it is JSON (or says nothing);
     * anything else comes back as the raw string. */
    if (resp->body.len == 0 || !(resp->content_type[0] == '\0' || strstr(resp->content_type, "json")) ||
        dbx_l_json_decode_push(L, resp->body.data, resp->body.len) != 0)
        lua_pushlstring(L, dbx_buf_str(&resp->body), resp->body.len);
    lua_createtable(L, 0, 4);
    lua_pushinteger(L, resp->status);
    lua_setfield(L, -2, "status");
    lua_pushlstring(L, dbx_buf_str(&resp->headers), resp->headers.len);
    lua_setfield(L, -2, "raw_headers");
    luaL_setmetatable(L, RESPONSE_MT);
    if (resp->request_id[0]) {
        lua_pushstring(L, resp->request_id);
        lua_setfield(L, -2, "request_id");
    }
    return 2;
}

/***
 * Calls the workspace REST API with the client's token and User-Agent.
 * Retries 429/503/502/504 and network errors within the retry budget; a
 * non-2xx answer is an error (`auth` for 401/403, else `http`) carrying the
 * server's `error_code` and `message`.
 * @function Client:request
 * @tparam string method upper-case, e.g. "GET", "POST"
 * @tparam string path beginning with "/", e.g. "/api/2.0/clusters/list"
 * @tparam[opt] table opts `query` (table, encoded and sorted), `body` (table:
 * sent as JSON; string: sent as is), `headers` (name -> value; not
 * Authorization or User-Agent)
 * @return the decoded JSON (when the answer is JSON; else the raw body
 * string) and `{status=, headers=, raw_headers=, request_id=}` (`headers`:
 * lower-case name -> value, decoded from `raw_headers` on first use); or
 * nil and an error
 */
static int l_request(lua_State *L)
{
    lclient *u = check_client(L);
    const char *method = luaL_checkstring(L, 2), *path = luaL_checkstring(L, 3);
    const char *body = NULL, *content_type = NULL;
    const char **headers = NULL;
    size_t body_len = 0;
    dbx_buf own_path = {0}, *full;
    dbx_http_response own_resp, *resp;
    dbx_err err;
    lctx x;
    int opts, rc, nret, scratch = !u->busy;

    lua_settop(L, 4);
    opts = lua_isnil(L, 4) ? 0 : 4;
    if (opts)
        luaL_checktype(L, 4, LUA_TTABLE);
    dbx_err_clear(&err);
    for (const char *m = method; *m; m++)
        if (*m < 'A' || *m > 'Z')
            return dbx_l_failf(L, DBX_ECONFIG, "request: method \"%s\" must be upper-case letters (GET, POST, ...)", method);
    switch (opts ? lua_getfield(L, opts, "body") : (lua_pushnil(L), LUA_TNIL)) {
    case LUA_TNIL:
        break;
    case LUA_TSTRING:
        body = lua_tolstring(L, -1, &body_len);
        break;
    case LUA_TTABLE:
        if (dbx_l_json_encode_push(L, -1) != 0)
            return dbx_l_failf(L, DBX_ECONFIG, "request: body cannot be encoded as JSON: %s",
                               lua_tostring(L, -1) ? lua_tostring(L, -1) : "?");
        body = lua_tolstring(L, -1, &body_len);
        break;
    default:
        return luaL_error(L, "request: opts.body must be a table (sent as JSON) or a string");
    }
    if (opts && collect_headers(L, opts, &headers, &content_type, &err) != 0)
        return dbx_l_fail(L, &err);

    full = scratch ? &u->path : &own_path;
    resp = scratch ? &u->resp : &own_resp;
    if (!scratch)
        dbx_http_response_init(resp);
    u->busy = 1;
    dbx_buf_reset(full);
    if (dbx_buf_puts(full, path) || (opts && append_query(L, opts, full, &err) != 0)) {
        if (!err.kind)
            dbx_err_set(&err, DBX_EIO, "out of memory");
        rc = -1;
    } else {
        ctx_init(&x, L, 1);
        rc = dbx_client_call(u->c, &x.base, method, full->data, content_type, body, body_len,
                             (const char *const *)headers, resp, &err);
    }
    nret = rc == 0 ? push_response(L, resp) : dbx_l_fail(L, &err);
    if (scratch) {
        u->busy = 0;
        dbx_buf_reset(&resp->body);
        dbx_buf_reset(&resp->headers);
        if (resp->body.cap > SCRATCH_KEEP || resp->headers.cap > SCRATCH_KEEP)
            dbx_http_response_free(resp);
    } else {
        dbx_buf_free(&own_path);
        dbx_http_response_free(resp);
    }
    return nret;
}

/***
 * A Lakebase (PostgreSQL) credential: the password for the next login.
 * @function Client:database_credential
 * @tparam table opts `instance_names` (list; provisioned instances) or
 * `endpoint` ("projects/P/branches/B/endpoints/E"; autoscaling)
 * @return `{token=, expires_at=}`, or nil and an error
 */
static int l_database_credential(lua_State *L)
{
    lclient *u = check_client(L);
    const char *names[17] = {NULL}, *endpoint;
    dbx_token t = {0};
    dbx_err err;
    lctx x;
    int n = 0;
    luaL_checktype(L, 2, LUA_TTABLE);
    lua_settop(L, 2);
    dbx_err_clear(&err);
    endpoint = dbx_l_optstring(L, 2, "endpoint", NULL);
    if (lua_getfield(L, 2, "instance_names") == LUA_TTABLE) {
        for (n = 0; n < 16; n++) {
            if (lua_rawgeti(L, 3, n + 1) != LUA_TSTRING) {
                lua_pop(L, 1);
                break;
            }
            names[n] = lua_tostring(L, -1); /* anchored by the list */
            lua_pop(L, 1);
        }
    } else if (!lua_isnil(L, 3)) {
        return luaL_error(L, "database_credential: instance_names must be a list of strings");
    }
    if ((n > 0) == (endpoint != NULL))
        return dbx_l_failf(L, DBX_ECONFIG,
                           "database_credential needs exactly one of instance_names (provisioned) or endpoint (autoscaling)");
    ctx_init(&x, L, 1);
    if (dbx_client_database_credential(u->c, &x.base, names, endpoint, &t, &err) != 0)
        return dbx_l_fail(L, &err);
    lua_createtable(L, 0, 2);
    lua_pushstring(L, t.access);
    lua_setfield(L, -2, "token");
    lua_pushinteger(L, (lua_Integer)t.expires_at);
    lua_setfield(L, -2, "expires_at");
    dbx_token_clear(&t);
    return 1;
}

static void push_check(lua_State *L, const dbx_check *ck, const char *name)
{
    lua_createtable(L, 0, 4);
    if (!ck->ran) {
        lua_pushboolean(L, 1);
        lua_setfield(L, -2, "skipped");
    } else {
        lua_pushboolean(L, ck->ok);
        lua_setfield(L, -2, "ok");
        if (ck->status) {
            lua_pushinteger(L, ck->status);
            lua_setfield(L, -2, "status");
        }
        lua_pushnumber(L, (lua_Number)((long long)(ck->ms * 10 + 0.5)) / 10); /* 0.1 ms */
        lua_setfield(L, -2, "ms");
        if (!ck->ok) {
            dbx_l_pusherr(L, &ck->err);
            lua_setfield(L, -2, "error");
        }
    }
    lua_setfield(L, -2, name);
}

/***
 * Checks the connection: identity (SCIM Me), a Unity Catalog table get (when
 * `table` is given) and a statement on the warehouse (when one is known).
 * Failures are reported in the result, not returned as errors.
 * @function Client:validate_connection
 * @tparam[opt] table opts `table`, `warehouse_id`, `statement` (default "SELECT 1")
 * @return `{ok=, user=, checks={authentication=, unity_catalog=, statement_execution=}}`,
 * each check `{ok=, status=, ms=, error=}` or `{skipped=true}`
 */
static int l_validate_connection(lua_State *L)
{
    lclient *u = check_client(L);
    const char *table, *warehouse, *statement;
    dbx_validation *v;
    lctx x;
    lua_settop(L, 2);
    if (lua_isnil(L, 2)) {
        lua_newtable(L);
        lua_replace(L, 2);
    }
    luaL_checktype(L, 2, LUA_TTABLE);
    table = dbx_l_optstring(L, 2, "table", NULL);
    warehouse = dbx_l_optstring(L, 2, "warehouse_id", NULL);
    statement = dbx_l_optstring(L, 2, "statement", NULL);
    v = lua_newuserdatauv(L, sizeof *v, 0); /* big: keep it off the C stack */
    ctx_init(&x, L, 1);
    dbx_client_validate(u->c, &x.base, table, warehouse, statement, v);
    lua_createtable(L, 0, 3);
    lua_pushboolean(L, v->auth.ok && (!v->unity_catalog.ran || v->unity_catalog.ok) &&
                           (!v->statement_execution.ran || v->statement_execution.ok));
    lua_setfield(L, -2, "ok");
    if (v->user[0]) {
        lua_pushstring(L, v->user);
        lua_setfield(L, -2, "user");
    }
    lua_createtable(L, 0, 3);
    push_check(L, &v->auth, "authentication");
    push_check(L, &v->unity_catalog, "unity_catalog");
    push_check(L, &v->statement_execution, "statement_execution");
    if (v->state[0]) {
        lua_getfield(L, -1, "statement_execution");
        lua_pushstring(L, v->state);
        lua_setfield(L, -2, "state");
        lua_pop(L, 1);
    }
    lua_setfield(L, -2, "checks");
    return 1;
}

/* client:_info() — the non-secret settings, for the Lua-side methods. */
static int l_info(lua_State *L)
{
    lclient *u = check_client(L);
    const dbx_config *c = dbx_client_config(u->c);
    lua_createtable(L, 0, 6);
    lua_pushstring(L, c->host);
    lua_setfield(L, -2, "host");
    lua_pushstring(L, dbx_auth_type_name(c->auth));
    lua_setfield(L, -2, "auth_type");
#define OPT(f)                         \
    if (c->f) {                        \
        lua_pushstring(L, c->f);       \
        lua_setfield(L, -2, #f);       \
    }
    OPT(warehouse_id)
    OPT(cluster_id)
    OPT(serverless_compute_id)
    OPT(client_id)
#undef OPT
    lua_pushnumber(L, c->timeout);
    lua_setfield(L, -2, "timeout");
    return 1;
}

/* client:_username() — SCIM userName. */
static int l_username(lua_State *L)
{
    lclient *u = check_client(L);
    char name[512];
    dbx_err err;
    lctx x;
    dbx_err_clear(&err);
    ctx_init(&x, L, 1);
    if (dbx_client_username(u->c, &x.base, name, sizeof name, &err) != 0)
        return dbx_l_fail(L, &err);
    lua_pushstring(L, name);
    return 1;
}

/* client:_instance_dns(name) — read_write_dns of a Lakebase instance. */
static int l_instance_dns(lua_State *L)
{
    lclient *u = check_client(L);
    const char *name = luaL_checkstring(L, 2);
    char dns[512];
    dbx_err err;
    lctx x;
    dbx_err_clear(&err);
    ctx_init(&x, L, 1);
    if (dbx_client_instance_dns(u->c, &x.base, name, dns, sizeof dns, &err) != 0)
        return dbx_l_fail(L, &err);
    lua_pushstring(L, dns);
    return 1;
}

/* ---- pure helpers ------------------------------------------------------- */

static int l_normalize_host(lua_State *L)
{
    char out[300];
    dbx_err err;
    dbx_err_clear(&err);
    if (dbx_normalize_host(luaL_checkstring(L, 1), out, sizeof out, &err) != 0)
        return dbx_l_fail(L, &err);
    lua_pushstring(L, out);
    return 1;
}

static int l_warehouse_id_from_http_path(lua_State *L)
{
    char id[256];
    if (!dbx_warehouse_id_from_http_path(luaL_checkstring(L, 1), id, sizeof id))
        return dbx_l_failf(L, DBX_ECONFIG, "\"%.200s\" is not a SQL warehouse HTTP path (/sql/1.0/warehouses/<id>)",
                           lua_tostring(L, 1));
    lua_pushstring(L, id);
    return 1;
}

static int l_cluster_id_from_http_path(lua_State *L)
{
    char id[256];
    if (!dbx_cluster_id_from_http_path(luaL_checkstring(L, 1), id, sizeof id))
        return dbx_l_failf(L, DBX_ECONFIG, "\"%.200s\" is not a cluster HTTP path", lua_tostring(L, 1));
    lua_pushstring(L, id);
    return 1;
}

static int l_jwt_claims(lua_State *L)
{
    dbx_buf payload = {0};
    dbx_err err;
    dbx_err_clear(&err);
    if (dbx_jwt_payload(luaL_checkstring(L, 1), &payload, &err) != 0) {
        dbx_buf_free(&payload);
        return dbx_l_fail(L, &err);
    }
    if (dbx_l_json_decode_push(L, payload.data, payload.len) != 0 || !lua_istable(L, -1)) {
        dbx_buf_free(&payload);
        return dbx_l_failf(L, DBX_EPROTOCOL, "token payload is not a JSON object");
    }
    dbx_buf_free(&payload);
    return 1;
}

static int l_config_keys(lua_State *L)
{
    lua_newtable(L);
    for (const dbx_config_key *k = dbx_config_keys; k->name; k++) {
        lua_pushstring(L, k->type);
        lua_setfield(L, -2, k->name);
    }
    return 1;
}

void dbx_l_open_client(lua_State *L)
{
    static const luaL_Reg methods[] = {
        {"close", l_close},
        {"token", l_token},
        {"headers", l_headers},
        {"request", l_request},
        {"database_credential", l_database_credential},
        {"validate_connection", l_validate_connection},
        {"_info", l_info},
        {"_username", l_username},
        {"_instance_dns", l_instance_dns},
        {NULL, NULL},
    };
    static const luaL_Reg meta[] = {
        {"__gc", l_close},
        {"__close", l_close},
        {"__tostring", l_tostring},
        {NULL, NULL},
    };
    static const luaL_Reg fns[] = {
        {"connect", l_connect},
        {"normalize_host", l_normalize_host},
        {"warehouse_id_from_http_path", l_warehouse_id_from_http_path},
        {"cluster_id_from_http_path", l_cluster_id_from_http_path},
        {"jwt_claims", l_jwt_claims},
        {"config_keys", l_config_keys},
        {NULL, NULL},
    };
    luaL_newmetatable(L, RESPONSE_MT);
    lua_pushcfunction(L, response_index);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    luaL_newmetatable(L, CLIENT_MT);
    luaL_setfuncs(L, meta, 0);
    luaL_newlib(L, methods);
    /* Exposed so lua/databricks/init.lua can add the Lua-side methods. */
    lua_pushvalue(L, -1);
    lua_setfield(L, -4, "client_methods");
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    luaL_setfuncs(L, fns, 0);
}
