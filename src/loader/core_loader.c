/* core_loader.c — the module `databricks.core` that Lua loads: a few lines
 * that load the real core (`databricks.core_impl`, beside this file) with
 * lazy symbol binding, then hand over to it.
 *
 * Why: Lua's loader opens C modules with RTLD_NOW, which resolves every
 * symbol of libcurl, OpenSSL and their dozen dependencies before the first
 * line runs — about 3 million instructions (~15%) of a one-shot
 * `databricks-oauth-rotator --once`, most of it for functions never called.
 * Opened here with RTLD_LAZY, only the symbols actually used are resolved,
 * as for any ordinary program such as curl. The implementation stays one
 * shared object; nothing else changes. This file must never grow beyond
 * finding and opening that object. */
#include <dlfcn.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>

int luaopen_databricks_core(lua_State *L);

#define IMPL_NAME "databricks.core_impl"
#define IMPL_OPEN "luaopen_databricks_core_impl"

/* Pushes the path of core_impl: beside this module's own file when Lua
 * told us where that is (require passes it as the second argument), else
 * wherever package.cpath finds it. */
static const char *impl_path(lua_State *L)
{
    const char *self = lua_tostring(L, 2), *slash;
    if (self && (slash = strrchr(self, '/')) != NULL && strstr(slash, "core")) {
        const char *dot = strrchr(slash, '.');
        lua_pushlstring(L, self, (size_t)(slash - self + 1));
        lua_pushliteral(L, "core_impl");
        lua_pushstring(L, dot ? dot : ".so");
        lua_concat(L, 3);
        return lua_tostring(L, -1);
    }
    lua_getglobal(L, "package");
    lua_getfield(L, -1, "searchpath");
    lua_pushliteral(L, IMPL_NAME);
    lua_getfield(L, -3, "cpath");
    lua_call(L, 2, 2);
    if (lua_isnil(L, -2)) {
        luaL_error(L, "databricks.core: cannot find %s:%s", IMPL_NAME, lua_tostring(L, -1));
        return NULL;
    }
    lua_pop(L, 1);
    return lua_tostring(L, -1);
}

int luaopen_databricks_core(lua_State *L)
{
    const char *path = impl_path(L);
    /* Never closed: the core holds process-wide state (libcurl's global
     * init) for the life of the process. */
    void *h = dlopen(path, RTLD_LAZY | RTLD_LOCAL);
    lua_CFunction open;
    if (!h)
        return luaL_error(L, "databricks.core: cannot load %s: %s", path, dlerror());
    open = (lua_CFunction)dlsym(h, IMPL_OPEN);
    if (!open)
        return luaL_error(L, "databricks.core: %s has no %s", path, IMPL_OPEN);
    lua_settop(L, 0);
    return open(L);
}
