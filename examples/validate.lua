#!/usr/bin/env lua5.4
-- Checks that a connection profile works before a job relies on it: reads a
-- profile of a .databrickscfg-style file, connects, runs
-- validate_connection and prints each check.
--
--   lua5.4 examples/validate.lua CONFIG_FILE PROFILE [CATALOG.SCHEMA.TABLE]
--
-- The profile holds `host`, the credentials of one auth type (`token`, or
-- `client_id` + `client_secret`, or `auth_type = databricks-cli`) and, for
-- the SQL check, `warehouse_id` or `http_path`. The table, when given, is
-- looked up in Unity Catalog. A custom CA: SSL_CERT_FILE=/path/ca.pem.
--
-- Exit status: 0 every check that ran passed, 1 a check or the connection
-- failed, 2 bad arguments or a bad profile.
local databricks = require "databricks"

local path, profile, table_name = arg[1], arg[2], arg[3]
if not path or not profile then
  io.stderr:write("usage: validate.lua CONFIG_FILE PROFILE [CATALOG.SCHEMA.TABLE]\n")
  os.exit(2)
end

local cfg, err = databricks.config_from_profile(profile, path)
if not cfg then
  io.stderr:write(tostring(err), "\n")
  os.exit(2)
end

local client <close>, cerr = databricks.connect(cfg)
if not client then
  io.stderr:write("connect: ", tostring(cerr), "\n")
  os.exit(cerr.kind == "config" and 2 or 1)
end
print(string.format("%-20s %s (profile %s)", "workspace", cfg.host, profile))

-- Never raises: each check reports ok/status/ms, or `skipped` when it was
-- not asked for (no table, no warehouse).
local v = client:validate_connection{ table = table_name }
for _, name in ipairs({ "authentication", "unity_catalog", "statement_execution" }) do
  local c = v.checks[name]
  if c.skipped then
    print(string.format("%-20s skipped", name))
  else
    print(string.format("%-20s %-4s %3s %8.1f ms%s", name, c.ok and "ok" or "FAIL", c.status or "-", c.ms,
      c.error and ("  " .. tostring(c.error)) or ""))
  end
end
if v.user then print(string.format("%-20s %s", "signed in as", v.user)) end
print(v.ok and "connection OK" or "connection FAILED")
os.exit(v.ok and 0 or 1, true)
