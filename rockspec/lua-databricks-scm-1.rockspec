-- LuaRocks package for lua-databricks (development version).
-- spec/packaging_spec.lua checks that every src/*.c, lua/**/*.lua and bin/*
-- file of the checkout is listed here.
rockspec_format = "3.0"
package = "lua-databricks"
version = "scm-1"
source = {
  url = "git+https://github.com/lua-databricks/lua-databricks.git",
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
  type = "builtin",
  modules = {
    ["databricks.core"] = {
      sources = {
        "src/buf.c",
        "src/err.c",
        "src/l_core.c",
        "src/l_json.c",
        "src/redact.c",
        "src/useragent.c",
      },
      defines = { "_DEFAULT_SOURCE", "_DARWIN_C_SOURCE" },
      libraries = { "curl", "crypto", "pthread" },
      incdirs = { "$(CURL_INCDIR)", "$(OPENSSL_INCDIR)" },
      libdirs = { "$(CURL_LIBDIR)", "$(OPENSSL_LIBDIR)" },
    },
    ["databricks"] = "lua/databricks/init.lua",
    ["databricks.cli.args"] = "lua/databricks/cli/args.lua",
    ["databricks.cli.rotator"] = "lua/databricks/cli/rotator.lua",
  },
  install = {
    bin = {
      ["databricks-oauth-rotator"] = "bin/databricks-oauth-rotator",
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
