/* host.c — a C application that embeds Lua 5.4 and uses lua-databricks.
 *
 * It creates its own Lua state, points package.path/cpath at the module
 * (a checkout given as argv[1], or the installed paths when argv[1] is "-"),
 * sets its own product for the User-Agent in code, connects with a config
 * built from the DATABRICKS_* environment, runs one SQL statement and prints
 * the rows. Build: `make example-host`; run:
 *   DATABRICKS_HOST=... DATABRICKS_TOKEN=... DATABRICKS_WAREHOUSE_ID=... \
 *     build/examples/c-host . "SELECT 1"
 * Exit status: 0 rows printed, 1 the query failed, 2 usage. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <lauxlib.h>
#include <lua.h>
#include <lualib.h>

/* Runs inside the Lua state; errors come back as Lua errors. */
static const char *const program =
    "local root, statement = ...\n"
    "if root ~= '-' then\n"
    "  package.path = root .. '/lua/?.lua;' .. root .. '/lua/?/init.lua;' .. package.path\n"
    "  package.cpath = root .. '/build/?.so;' .. package.cpath\n"
    "end\n"
    "local databricks = require 'databricks'\n"
    "assert(databricks.set_product('ExampleCorp', 'CHost', '1.0.0'))\n"
    "local cfg = assert(databricks.config_from_env())\n"
    "local client <close> = assert(databricks.connect(cfg))\n"
    "local res, err = client:sql(statement)\n"
    "if not res then return nil, tostring(err) end\n"
    "print(table.concat(res.columns, '\\t'))\n"
    "for _, row in ipairs(res.rows) do\n"
    "  local cells = {}\n"
    "  for i = 1, #res.columns do cells[i] = row[i] == databricks.null and 'NULL' or tostring(row[i]) end\n"
    "  print(table.concat(cells, '\\t'))\n"
    "end\n"
    "return #res.rows\n";

int main(int argc, char **argv)
{
    lua_State *L;
    int status = 1;
    if (argc != 3) {
        fprintf(stderr, "usage: %s CHECKOUT|- STATEMENT\n", argv[0]);
        return 2;
    }
    L = luaL_newstate();
    if (!L) {
        fprintf(stderr, "cannot create a Lua state\n");
        return 1;
    }
    luaL_openlibs(L);
    if (luaL_loadbuffer(L, program, strlen(program), "=c-host") != LUA_OK) {
        fprintf(stderr, "%s\n", lua_tostring(L, -1));
    } else {
        lua_pushstring(L, argv[1]);
        lua_pushstring(L, argv[2]);
        if (lua_pcall(L, 2, 2, 0) != LUA_OK) {
            fprintf(stderr, "error: %s\n", lua_tostring(L, -1));
        } else if (lua_isnil(L, -2)) {
            fprintf(stderr, "query failed: %s\n", lua_tostring(L, -1));
        } else {
            fprintf(stderr, "%lld row(s)\n", (long long)lua_tointeger(L, -2));
            status = 0;
        }
    }
    lua_close(L); /* runs __close/__gc: the client and libcurl handle are released */
    return status;
}
