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
    -- The module Lua opens: it loads databricks.core_impl with lazy symbol
    -- binding (see src/loader/core_loader.c).
    ["databricks.core"] = {
      sources = { "src/loader/core_loader.c" },
      libraries = { "dl" },
    },
    ["databricks.core_impl"] = {
      sources = {
        -- generated: sources
        "src/atomicfile.c",
        "src/base64url.c",
        "src/buf.c",
        "src/chunk.c",
        "src/client.c",
        "src/clitoken.c",
        "src/cloudfetch.c",
        "src/config.c",
        "src/err.c",
        "src/fetch.c",
        "src/hostname.c",
        "src/http.c",
        "src/httperr.c",
        "src/ini.c",
        "src/jwt.c",
        "src/l_client.c",
        "src/l_config.c",
        "src/l_connect.c",
        "src/l_error.c",
        "src/l_files.c",
        "src/l_json.c",
        "src/l_logfile.c",
        "src/l_module.c",
        "src/l_parse.c",
        "src/l_pgpass.c",
        "src/l_request.c",
        "src/l_rotate.c",
        "src/l_statement.c",
        "src/l_sys.c",
        "src/l_tokenstore.c",
        "src/l_useragent.c",
        "src/l_util.c",
        "src/l_volumes.c",
        "src/l_workspace.c",
        "src/lakebase.c",
        "src/logfile.c",
        "src/login.c",
        "src/loopback.c",
        "src/oauth.c",
        "src/pgpass.c",
        "src/pkce.c",
        "src/proc.c",
        "src/random.c",
        "src/redact.c",
        "src/rotate.c",
        "src/rows.c",
        "src/statement.c",
        "src/sys.c",
        "src/timeutil.c",
        "src/token.c",
        "src/tokenstore.c",
        "src/useragent.c",
        "src/validate.c",
        "src/volumes.c",
        "src/workspace.c",
        -- end generated
      },
      defines = { "_DEFAULT_SOURCE", "_DARWIN_C_SOURCE" },
      libraries = { "curl", "crypto", "pthread" },
      incdirs = { "$(CURL_INCDIR)", "$(OPENSSL_INCDIR)" },
      libdirs = { "$(CURL_LIBDIR)", "$(OPENSSL_LIBDIR)" },
    },
    -- generated: modules
    ["databricks.cli.args"] = "lua/databricks/cli/args.lua",
    ["databricks.cli.common"] = "lua/databricks/cli/common.lua",
    ["databricks.cli.install"] = "lua/databricks/cli/install.lua",
    ["databricks.cli.login"] = "lua/databricks/cli/login.lua",
    ["databricks.cli.restart"] = "lua/databricks/cli/restart.lua",
    ["databricks.cli.rotator"] = "lua/databricks/cli/rotator.lua",
    ["databricks.cli.status"] = "lua/databricks/cli/status.lua",
    ["databricks.cli.uninstall"] = "lua/databricks/cli/uninstall.lua",
    ["databricks.client"] = "lua/databricks/client.lua",
    ["databricks.config"] = "lua/databricks/config.lua",
    ["databricks"] = "lua/databricks/init.lua",
    ["databricks.log"] = "lua/databricks/log.lua",
    ["databricks.pgpass"] = "lua/databricks/pgpass.lua",
    ["databricks.rotator"] = "lua/databricks/rotator.lua",
    ["databricks.service"] = "lua/databricks/service.lua",
    ["databricks.simulator.app"] = "lua/databricks/simulator/app.lua",
    ["databricks.simulator.certs"] = "lua/databricks/simulator/certs.lua",
    ["databricks.simulator.control"] = "lua/databricks/simulator/control.lua",
    ["databricks.simulator.datafile"] = "lua/databricks/simulator/datafile.lua",
    ["databricks.simulator.errors"] = "lua/databricks/simulator/errors.lua",
    ["databricks.simulator.faults"] = "lua/databricks/simulator/faults.lua",
    ["databricks.simulator.generate"] = "lua/databricks/simulator/generate.lua",
    ["databricks.simulator.http"] = "lua/databricks/simulator/http.lua",
    ["databricks.simulator.json"] = "lua/databricks/simulator/json.lua",
    ["databricks.simulator.jwt"] = "lua/databricks/simulator/jwt.lua",
    ["databricks.simulator.loop"] = "lua/databricks/simulator/loop.lua",
    ["databricks.simulator.main"] = "lua/databricks/simulator/main.lua",
    ["databricks.simulator.paging"] = "lua/databricks/simulator/paging.lua",
    ["databricks.simulator.pg_hook"] = "lua/databricks/simulator/pg_hook.lua",
    ["databricks.simulator.results"] = "lua/databricks/simulator/results.lua",
    ["databricks.simulator.routes_catalog"] = "lua/databricks/simulator/routes_catalog.lua",
    ["databricks.simulator.routes_files"] = "lua/databricks/simulator/routes_files.lua",
    ["databricks.simulator.routes_idp"] = "lua/databricks/simulator/routes_idp.lua",
    ["databricks.simulator.routes_lakebase"] = "lua/databricks/simulator/routes_lakebase.lua",
    ["databricks.simulator.routes_oauth"] = "lua/databricks/simulator/routes_oauth.lua",
    ["databricks.simulator.routes_sql"] = "lua/databricks/simulator/routes_sql.lua",
    ["databricks.simulator.routes_workspace"] = "lua/databricks/simulator/routes_workspace.lua",
    ["databricks.simulator.sha256"] = "lua/databricks/simulator/sha256.lua",
    ["databricks.simulator.state"] = "lua/databricks/simulator/state.lua",
    ["databricks.simulator.storage"] = "lua/databricks/simulator/storage.lua",
    ["databricks.simulator.tokens"] = "lua/databricks/simulator/tokens.lua",
    ["databricks.simulator.types"] = "lua/databricks/simulator/types.lua",
    ["databricks.simulator.util"] = "lua/databricks/simulator/util.lua",
    ["databricks.sql"] = "lua/databricks/sql.lua",
    -- end generated
  },
  install = {
    bin = {
      -- generated: bin
      ["databricks-oauth-install"] = "bin/databricks-oauth-install",
      ["databricks-oauth-login"] = "bin/databricks-oauth-login",
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
