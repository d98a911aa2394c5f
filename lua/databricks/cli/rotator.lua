--- `databricks-oauth-rotator`: keeps a Lakebase credential valid in .pgpass.
-- The bin/ script calls `main(arg)`; the exit code follows DESIGN.md §4:
-- 0 done, 1 rotation failed, 2 usage or configuration error.
-- @module databricks.cli.rotator
local databricks = require "databricks"
local args = require "databricks.cli.args"

local M = {}

local PROGRAM = "databricks-oauth-rotator"

M.HELP = [[
Usage: databricks-oauth-rotator [--once] [options]

Keeps a Databricks Lakebase (PostgreSQL) OAuth credential valid in .pgpass.

Options:
  --once                   rotate once and exit (default: run as a daemon)
  --interval MIN           minutes between rotations, 1-1440 (default 50)
  --workspace-url URL      workspace URL            (env DATABRICKS_HOST)
  --pg-host HOST           PostgreSQL host          (env DATABRICKS_PG_HOST)
  --pg-port PORT           PostgreSQL port (default 5432)
  --pg-database NAME       database (default databricks_postgres)
  --pg-username USER       PostgreSQL user          (env DATABRICKS_PG_USERNAME;
                           default: your Databricks userName)
  --pgpass-file PATH       .pgpass to update        (env PGPASSFILE; default ~/.pgpass)
  --log-file PATH          log file (default ~/.databricks_oauth_rotator.log)
  --instance-name NAME     Lakebase provisioned instance: password from the
                           credential API; --pg-host defaults to its DNS name
  --endpoint PATH          Lakebase autoscaling endpoint
                           (projects/P/branches/B/endpoints/E)
  --auth m2m|u2m|cli       force a token source (default: m2m, then u2m, then cli)
  --client-secret-file F   read the OAuth client secret from F (env
                           DATABRICKS_CLIENT_ID / DATABRICKS_CLIENT_SECRET)
  --ca-bundle PATH         CA bundle for TLS verification
  --json                   print the rotation report as JSON
  --verbose                more detail in the log
  --version                print the version and exit
  --help                   print this help and exit

Exit status: 0 done, 1 rotation failed, 2 usage or configuration error.
]]

M.OPTIONS = {
  once = "flag", interval = "number", ["workspace-url"] = "string",
  ["pg-host"] = "string", ["pg-port"] = "number", ["pg-database"] = "string",
  ["pg-username"] = "string", ["pgpass-file"] = "string", ["log-file"] = "string",
  ["instance-name"] = "string", endpoint = "string", auth = "string",
  ["client-secret-file"] = "string", ["client-secret"] = "string",
  ["ca-bundle"] = "string", json = "flag", verbose = "flag",
  version = "flag", help = "flag",
}

--- Runs the command line; returns the exit code.
function M.main(argv)
  local opts, err = args.parse(argv or {}, M.OPTIONS, PROGRAM)
  if not opts then
    io.stderr:write(err, "\n")
    return 2
  end
  if opts.help then
    io.stdout:write(M.HELP)
    return 0
  end
  if opts.version then
    io.stdout:write(PROGRAM, " ", databricks.VERSION, " (", databricks.user_agent(), ")\n")
    return 0
  end
  io.stderr:write(PROGRAM, ": rotation is not available in this build yet\n")
  return 1
end

return M
