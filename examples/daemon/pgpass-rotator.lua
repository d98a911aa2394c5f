#!/usr/bin/env lua5.4
-- A rotator daemon in your own Lua program: keeps a Lakebase credential
-- valid in a .pgpass, with its own log, until SIGTERM/SIGINT.
--
-- Settings come from the environment (see rotator.env.example; start it with
-- run-rotator.sh, which loads that file into an otherwise empty environment).
-- databricks-oauth-rotator does the same from the command line and
-- databricks-oauth-install makes it a systemd/launchd service; this file
-- shows the library underneath, for programs that want the loop in-process.
--
-- Exit status: 0 stopped by a signal, 2 the settings cannot work.
local Rotator = require "databricks.rotator"
local Log = require "databricks.log"

local function setting(name, default)
  local v = os.getenv(name)
  if v == nil or v == "" then return default end
  return v
end

-- The client secret: from a file (a Kubernetes/systemd credential, mode
-- 0400/0600) or, less good, from the environment itself.
local secret = setting("DATABRICKS_CLIENT_SECRET")
local secret_file = setting("DATABRICKS_CLIENT_SECRET_FILE")
if secret_file then
  local f, err = io.open(secret_file, "rb")
  if not f then
    io.stderr:write("pgpass-rotator: cannot read DATABRICKS_CLIENT_SECRET_FILE: ", err, "\n")
    os.exit(2)
  end
  secret = f:read("a"):match("^%s*(.-)%s*$")
  f:close()
end

-- Our own log: timestamped lines to stderr and a 0600, size-rotated file;
-- the secret is registered so it can never appear in a line.
local log = Log.new{
  program = "pgpass-rotator",
  file = setting("ROTATOR_LOG_FILE", setting("HOME", ".") .. "/pgpass-rotator.log"),
  verbose = setting("ROTATOR_VERBOSE") == "1",
}
log:secret(secret)

local interval = tonumber(setting("ROTATOR_INTERVAL", "50"))
if not interval then
  log:error("ROTATOR_INTERVAL must be a number of minutes")
  os.exit(2)
end

-- Validation only: no file is opened and no signal handler installed yet.
local rotator, err = Rotator.new{
  workspace_url = setting("DATABRICKS_HOST"),
  client_id = setting("DATABRICKS_CLIENT_ID"),
  client_secret = secret,
  instance_name = setting("LAKEBASE_INSTANCE"),  -- provisioned instance, or
  endpoint = setting("LAKEBASE_ENDPOINT"),       -- projects/p/branches/b/endpoints/e
  pg_host = setting("DATABRICKS_PG_HOST"),       -- default: the instance's DNS name
  pg_username = setting("DATABRICKS_PG_USERNAME"), -- default: the caller's userName
  pgpass_file = setting("PGPASSFILE"),           -- default: ~/.pgpass
  status_file = setting("ROTATOR_STATUS_FILE"),
  rotation_interval = interval,                  -- minutes; it also rotates before expiry
  ca_bundle = setting("SSL_CERT_FILE"),
  log = log,
}
if not rotator then
  log:error("%s", tostring(err))
  os.exit(2)
end

-- Rotates now, then before every expiry; returns 0 after SIGTERM/SIGINT
-- (within a second), 2 when the very first attempt fails on configuration.
os.exit(rotator:run_daemon(), true)
