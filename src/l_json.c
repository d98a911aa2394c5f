/* l_json.c — implements json.h on top of lua-cjson through the Lua API.
 *
 * A private cjson.safe instance (cjson.safe.new()) is created once per Lua
 * state and kept in the registry, so the host's own cjson settings never
 * change how the core reads server responses. Decoding runs under pcall:
 * malformed input yields NULL, never a Lua error. */
#include "json.h"

#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

#include "l_util.h"

struct dbx_json {
    lua_State *L;
    int ref;
};

static const char instance_key = 'j';

/* Pushes the private cjson.safe instance (creating it on first use). */
static int push_instance(lua_State *L)
{
    if (lua_rawgetp(L, LUA_REGISTRYINDEX, &instance_key) == LUA_TTABLE)
        return 0;
    lua_pop(L, 1);
    lua_getglobal(L, "require");
    lua_pushliteral(L, "cjson.safe");
    if (lua_pcall(L, 1, 1, 0) != LUA_OK || !lua_istable(L, -1)) {
        lua_pop(L, 1);
        return -1;
    }
    lua_getfield(L, -1, "new");
    lua_remove(L, -2);
    if (lua_pcall(L, 0, 1, 0) != LUA_OK || !lua_istable(L, -1)) {
        lua_pop(L, 1);
        return -1;
    }
    /* Accept numbers such as 1e400 as huge values instead of failing. */
    lua_getfield(L, -1, "decode_invalid_numbers");
    lua_pushboolean(L, 1);
    if (lua_pcall(L, 1, 0, 0) != LUA_OK)
        lua_pop(L, 1);
    /* Empty Lua tables encode as {} (the default); keep it explicit. */
    lua_getfield(L, -1, "encode_empty_table_as_object");
    if (lua_isfunction(L, -1)) {
        lua_pushboolean(L, 1);
        if (lua_pcall(L, 1, 0, 0) != LUA_OK)
            lua_pop(L, 1);
    } else {
        lua_pop(L, 1);
    }
    lua_pushvalue(L, -1);
    lua_rawsetp(L, LUA_REGISTRYINDEX, &instance_key);
    return 0;
}

static int push_method(lua_State *L, const char *name)
{
    if (push_instance(L) != 0)
        return -1;
    lua_getfield(L, -1, name);
    lua_remove(L, -2);
    return 0;
}

int dbx_l_json_encode_push(lua_State *L, int idx)
{
    idx = lua_absindex(L, idx);
    if (!lua_checkstack(L, 4) || push_method(L, "encode") != 0) {
        lua_pushliteral(L, "lua-cjson is not available");
        return -1;
    }
    lua_pushvalue(L, idx);
    if (lua_pcall(L, 1, 2, 0) != LUA_OK)
        return -1; /* message already on the stack */
    if (lua_isnil(L, -2)) {
        lua_remove(L, -2);
        return -1;
    }
    lua_pop(L, 1);
    return 0;
}

int dbx_l_json_decode_push(lua_State *L, const char *s, size_t n)
{
    if (!lua_checkstack(L, 4) || push_method(L, "decode") != 0)
        return -1;
    lua_pushlstring(L, s, n);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK) {
        lua_pop(L, 1);
        return -1;
    }
    if (lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return -1;
    }
    return 0;
}

int dbx_l_json_decode_top(lua_State *L)
{
    if (!lua_checkstack(L, 4) || push_method(L, "decode") != 0) {
        lua_pop(L, 1);
        return -1;
    }
    lua_insert(L, -2);
    if (lua_pcall(L, 1, 1, 0) != LUA_OK || lua_isnil(L, -1)) {
        lua_pop(L, 1);
        return -1;
    }
    return 0;
}

dbx_json *dbx_json_decode(dbx_jsonenv *env, const char *s, size_t n)
{
    lua_State *L = (lua_State *)env;
    dbx_json *j;
    if (dbx_l_json_decode_push(L, s, n) != 0)
        return NULL;
    if (!lua_istable(L, -1)) {
        lua_pop(L, 1);
        return NULL;
    }
    j = malloc(sizeof *j);
    if (!j) {
        lua_pop(L, 1);
        return NULL;
    }
    j->L = L;
    j->ref = luaL_ref(L, LUA_REGISTRYINDEX);
    return j;
}

/* Pushes the value at path (or nil) and returns its Lua type. A segment of
 * digits on a table first tries the array element (JSON counts from 0, Lua
 * from 1), then the string key. */
static int push_path(const dbx_json *j, const char *path)
{
    lua_State *L = j->L;
    char key[128];
    lua_rawgeti(L, LUA_REGISTRYINDEX, j->ref);
    while (*path) {
        const char *dot = strchr(path, '.');
        size_t n = dot ? (size_t)(dot - path) : strlen(path);
        if (!lua_istable(L, -1) || n >= sizeof key) {
            lua_pop(L, 1);
            lua_pushnil(L);
            break;
        }
        memcpy(key, path, n);
        key[n] = '\0';
        if (n > 0 && n <= 9 && strspn(key, "0123456789") == n) {
            if (lua_rawgeti(L, -1, (lua_Integer)strtol(key, NULL, 10) + 1) != LUA_TNIL) {
                lua_remove(L, -2);
                path += n + (dot ? 1 : 0);
                continue;
            }
            lua_pop(L, 1);
        }
        lua_pushstring(L, key);
        lua_rawget(L, -2);
        lua_remove(L, -2);
        path += n + (dot ? 1 : 0);
    }
    return lua_type(L, -1);
}

int dbx_l_json_push(lua_State *L, const dbx_json *j, const char *path)
{
    int t = push_path(j, path);
    if (j->L != L)
        lua_xmove(j->L, L, 1);
    return t;
}

const char *dbx_json_string(const dbx_json *j, const char *path, size_t *len)
{
    const char *s = NULL;
    if (push_path(j, path) == LUA_TSTRING)
        s = lua_tolstring(j->L, -1, len); /* anchored by the document */
    lua_pop(j->L, 1);
    return s;
}

int dbx_json_number(const dbx_json *j, const char *path, double *out)
{
    int ok = push_path(j, path) == LUA_TNUMBER;
    if (ok)
        *out = (double)lua_tonumber(j->L, -1);
    lua_pop(j->L, 1);
    return ok ? 0 : -1;
}

int dbx_json_has(const dbx_json *j, const char *path)
{
    int t = push_path(j, path);
    int has = t != LUA_TNIL && !(t == LUA_TLIGHTUSERDATA && lua_touserdata(j->L, -1) == NULL);
    lua_pop(j->L, 1);
    return has;
}

int dbx_json_raw(const dbx_json *j, const char *path, dbx_buf *out)
{
    lua_State *L = j->L;
    size_t n;
    const char *s;
    int rc = -1;
    if (push_path(j, path) != LUA_TTABLE) {
        lua_pop(L, 1);
        return -1;
    }
    if (dbx_l_json_encode_push(L, -1) == 0) {
        s = lua_tolstring(L, -1, &n);
        rc = s && dbx_buf_append(out, s, n) == 0 ? 0 : -1;
    }
    lua_pop(L, 2); /* the encoded text (or the message) and the value */
    return rc;
}

int dbx_json_bool(const dbx_json *j, const char *path, int *out)
{
    int ok = push_path(j, path) == LUA_TBOOLEAN;
    if (ok)
        *out = lua_toboolean(j->L, -1);
    lua_pop(j->L, 1);
    return ok ? 0 : -1;
}

size_t dbx_json_len(const dbx_json *j, const char *path)
{
    size_t n = push_path(j, path) == LUA_TTABLE ? (size_t)lua_rawlen(j->L, -1) : 0;
    lua_pop(j->L, 1);
    return n;
}

int dbx_json_each(const dbx_json *j, const char *path,
                  int (*fn)(void *ud, const char *k, size_t kn, const char *v, size_t vn), void *ud)
{
    lua_State *L = j->L;
    if (push_path(j, path) != LUA_TTABLE) {
        lua_pop(L, 1);
        return 0;
    }
    lua_pushnil(L);
    while (lua_next(L, -2)) {
        size_t kn = 0, vn = 0;
        const char *k, *v = NULL;
        if (lua_type(L, -2) == LUA_TSTRING) {
            k = lua_tolstring(L, -2, &kn); /* a string key: tolstring does not change it */
            if (lua_type(L, -1) == LUA_TSTRING)
                v = lua_tolstring(L, -1, &vn);
            if (fn(ud, k, kn, v, vn) != 0) {
                lua_pop(L, 3);
                return -1;
            }
        }
        lua_pop(L, 1);
    }
    lua_pop(L, 1);
    return 0;
}

void dbx_json_free(dbx_json *j)
{
    if (!j)
        return;
    luaL_unref(j->L, LUA_REGISTRYINDEX, j->ref);
    free(j);
}
