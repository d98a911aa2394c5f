/***
The client returned by `databricks.connect` (more of its C methods).
@module databricks.client
*/

/* l_request.c — client:request, the generic REST call every Lua-side
 * endpoint is built on: query and header tables into a request, the answer
 * into a Lua value plus its metadata (a table whose `headers` are decoded on
 * first use). The path and response buffers are per-client scratch, reused
 * from call to call; the call guard of l_client.h gives them back however
 * the call ends. */
#include <ctype.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <lauxlib.h>
#include <lua.h>

#include "client.h"
#include "l_client.h"
#include "l_util.h"

#define OWN_MT "databricks.request.buffers"

#define RESPONSE_MT "databricks.response"

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
/* Buffers of a request made while the client's scratch is in use (from
 * inside another call): a userdata, so that a raised error cannot leak them. */
typedef struct own_buffers {
    dbx_buf path;
    dbx_http_response resp;
} own_buffers;

static int own_gc(lua_State *L)
{
    own_buffers *o = luaL_checkudata(L, 1, OWN_MT);
    dbx_buf_free(&o->path);
    dbx_http_response_free(&o->resp);
    return 0;
}

static int l_request(lua_State *L)
{
    const char *method = luaL_checkstring(L, 2), *path = luaL_checkstring(L, 3);
    const char *body = NULL, *content_type = NULL;
    const char **headers = NULL;
    size_t body_len = 0;
    dbx_buf *full;
    dbx_http_response *resp;
    dbx_lclient *u;
    dbx_err err;
    dbx_lctx x;
    int opts, rc;

    lua_settop(L, 4);
    opts = lua_isnil(L, 4) ? 0 : 4;
    if (opts)
        luaL_checktype(L, 4, LUA_TTABLE);
    /* From here on every exit, raised or not, ends the call (l_client.h). */
    u = dbx_l_client_begin(L, &x);
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

    if (!u->busy) {
        u->busy = u->depth; /* released by the guard when this call ends */
        full = &u->path;
        resp = &u->resp;
    } else {
        own_buffers *o = lua_newuserdatauv(L, sizeof *o, 0);
        memset(o, 0, sizeof *o);
        dbx_http_response_init(&o->resp);
        luaL_setmetatable(L, OWN_MT);
        full = &o->path;
        resp = &o->resp;
    }
    dbx_buf_reset(full);
    if (dbx_buf_puts(full, path) || (opts && append_query(L, opts, full, &err) != 0)) {
        if (!err.kind)
            dbx_err_set(&err, DBX_EIO, "out of memory");
        rc = -1;
    } else {
        rc = dbx_client_call(u->c, &x.base, method, full->data, content_type, body, body_len,
                             (const char *const *)headers, resp, &err);
    }
    return rc == 0 ? push_response(L, resp) : dbx_l_fail(L, &err);
}

void dbx_l_open_request(lua_State *L)
{
    luaL_newmetatable(L, RESPONSE_MT);
    lua_pushcfunction(L, response_index);
    lua_setfield(L, -2, "__index");
    lua_pop(L, 1);
    luaL_newmetatable(L, OWN_MT);
    lua_pushcfunction(L, own_gc);
    lua_setfield(L, -2, "__gc");
    lua_pop(L, 1);
    lua_getfield(L, -1, "client_methods");
    lua_pushcfunction(L, l_request);
    lua_setfield(L, -2, "request");
    lua_pop(L, 1);
}
