--- `databricks-oauth-psql`: runs psql with a fresh Lakebase credential.
-- Takes the rotator's flags (workspace, token source, instance or endpoint,
-- host, port, database, user), checks the instance's or endpoint's state,
-- gets a credential, and replaces itself by psql with the password in
-- PGPASSWORD and PGSSLMODE=require — in psql's environment only. Nothing
-- is written to disk; psql's exit status is the command's.
--   databricks-oauth-psql --instance-name db [flags] [-- psql arguments]
-- @module databricks.cli.psql
local core = require "databricks.core"
local common = require "databricks.cli.common"
local options = require "databricks.rotator.options"
local rotator_cli = require "databricks.cli.rotator"
local Rotator = require "databricks.rotator"

local M = {}

local PROGRAM = "databricks-oauth-psql"

function M.help()
  return [[
Usage: databricks-oauth-psql [options] [-- psql arguments]

Runs psql against a Databricks Lakebase instance or endpoint with a fresh
OAuth credential: the state is checked first, the password goes into psql's
environment only (PGPASSWORD, with PGSSLMODE=require), nothing is written to
disk, and psql's exit status is returned.

Options:
]] .. options.help("psql") .. [[
  --psql PROGRAM           the psql to run (default: psql on PATH)
  --version                print the version and exit
  --help, -h               print this help and exit

Example: databricks-oauth-psql --workspace-url https://x.cloud.databricks.com \
           --instance-name orders -- -c 'select 1'

Exit status: psql's; 1 when no credential could be obtained, 2 usage error.
]]
end

function M.spec()
  return options.cli_spec("psql", { psql = "string" })
end

--- Runs the command line; returns the exit code (only when psql could not
-- be started: otherwise this process becomes psql).
function M.main(argv, getenv)
  local opts, rest = common.start(argv or {}, M.spec(), PROGRAM, M.help)
  if not opts then return rest end
  local ro, uerr = rotator_cli.rotator_options(opts, getenv, PROGRAM, "psql")
  if not ro then return common.usage(uerr) end
  ro.stderr, ro.log = true, require("databricks.log").new{ program = PROGRAM, verbose = ro.verbose }
  local rotator, rerr = Rotator.new(ro)
  if not rotator then return common.usage(PROGRAM .. ": " .. rerr.message) end
  local cred, cerr = rotator:credential()
  if not cred then
    io.stderr:write(PROGRAM, ": no credential: ", tostring(cerr), "\n")
    return cerr.kind == "config" and 2 or 1
  end
  local args = { opts.psql or "psql" }
  for _, a in ipairs(rest or {}) do args[#args + 1] = a end
  local _, xerr = core.exec(args, { env = {
    "PGHOST=" .. cred.pg_host, "PGPORT=" .. tostring(cred.pg_port), "PGDATABASE=" .. cred.pg_database,
    "PGUSER=" .. cred.pg_username, "PGPASSWORD=" .. cred.password, "PGSSLMODE=require",
  } })
  io.stderr:write(PROGRAM, ": ", tostring(xerr), "\n")
  return 127
end

return M
