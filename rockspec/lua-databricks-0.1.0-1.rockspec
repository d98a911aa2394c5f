-- LuaRocks package for lua-databricks (release 0.1.0).
-- spec/packaging_spec.lua checks that every bin/* script is listed here and
-- that an install gives every Lua module and leaves the checkout clean.
rockspec_format = "3.0"
package = "lua-databricks"
version = "0.1.0-1"
source = {
  url = "git+https://github.com/lua-databricks/lua-databricks.git",
  tag = "v0.1.0",
}
description = {
  summary = "Databricks connector for Lua 5.4 with a C core, and a Lakebase .pgpass rotator",
  detailed = [[
Connects to a Databricks workspace with a personal access token, OAuth M2M or
OAuth U2M (browser sign-in with PKCE, or a handed-in token); keeps tokens
fresh; runs REST, SQL (Statement Execution) and Unity Catalog calls; and keeps
Databricks Lakebase (PostgreSQL) credentials valid in .pgpass, once or as a
systemd / launchd service.]],
  homepage = "https://github.com/lua-databricks/lua-databricks",
  license = "Apache-2.0",
  labels = { "databricks", "oauth", "postgresql", "lakebase" },
}
dependencies = {
  "lua >= 5.4, < 5.5",
  "lua-cjson >= 2.1",
}
external_dependencies = {
  CURL = { library = "curl" },
  OPENSSL = { header = "openssl/evp.h", library = "crypto" },
}
build = {
  -- rockspec/rock.mk compiles the C core in a temporary folder and installs
  -- it with the Lua modules: the source tree is left as it was (the builtin
  -- backend would write every .o beside its .c). One pass: install.
  type = "make",
  makefile = "rockspec/rock.mk",
  build_pass = false,
  install_variables = {
    CC = "$(CC)", CFLAGS = "$(CFLAGS)", LIBFLAG = "$(LIBFLAG)", LUA_INCDIR = "$(LUA_INCDIR)",
    CURL_INCDIR = "$(CURL_INCDIR)", CURL_LIBDIR = "$(CURL_LIBDIR)",
    OPENSSL_INCDIR = "$(OPENSSL_INCDIR)", OPENSSL_LIBDIR = "$(OPENSSL_LIBDIR)",
    INST_LIBDIR = "$(LIBDIR)", INST_LUADIR = "$(LUADIR)", LUA = "$(LUA)",
  },
  -- Man pages and the bash completion, generated from the programs' help
  -- (make man), copied into the rock's folder of the tree.
  copy_directories = { "man", "completion" },
  install = {
    bin = {
      -- generated: bin
      ["databricks-oauth-install"] = "bin/databricks-oauth-install",
      ["databricks-oauth-login"] = "bin/databricks-oauth-login",
      ["databricks-oauth-psql"] = "bin/databricks-oauth-psql",
      ["databricks-oauth-restart"] = "bin/databricks-oauth-restart",
      ["databricks-oauth-rotator"] = "bin/databricks-oauth-rotator",
      ["databricks-oauth-status"] = "bin/databricks-oauth-status",
      ["databricks-oauth-uninstall"] = "bin/databricks-oauth-uninstall",
      ["databricks-simulator"] = "bin/databricks-simulator",
      -- end generated
    },
  },
}
test_dependencies = {
  "busted",
}
test = {
  type = "command",
  command = "make test",
}
