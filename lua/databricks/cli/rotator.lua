--- `databricks-oauth-rotator`: keeps a Lakebase credential valid in .pgpass.
-- Flag-compatible with the Python tool. The bin/ script calls `main(arg)`;
-- exit codes follow DESIGN.md §4: 0 done, 1 rotation failed, 2 usage or
-- configuration error.
-- @module databricks.cli.rotator
local common = require "databricks.cli.common"
local Rotator = require "databricks.rotator"

local M = {}

local PROGRAM = "databricks-oauth-rotator"

M.HELP = [[
Usage: databricks-oauth-rotator [--once] [options]

Keeps a Databricks Lakebase (PostgreSQL) OAuth credential valid in .pgpass,
so psql and every libpq client keep logging in while passwords expire hourly.

Options:
  --once                   rotate once and exit (default: run as a daemon)
  --interval MIN           minutes between rotations, 1-1440 (default 50); the
                           daemon also rotates before the credential expires
  --workspace-url URL      workspace URL            (env DATABRICKS_HOST)
  --pg-host HOST           PostgreSQL host          (env DATABRICKS_PG_HOST)
  --pg-port PORT           PostgreSQL port (default 5432)
  --pg-database NAME       database (default databricks_postgres)
  --pg-username USER       PostgreSQL user          (env DATABRICKS_PG_USERNAME;
                           default: your Databricks userName)
  --pgpass-file PATH       .pgpass to update        (env PGPASSFILE; default ~/.pgpass)
  --log-file PATH          log file (default ~/.databricks_oauth_rotator.log)
  --status-file PATH       status file read by databricks-oauth-status
                           (default ~/.local/state/lua-databricks/rotator-status.json)
  --instance-name NAME     Lakebase provisioned instance: password from the
                           credential API; --pg-host defaults to its DNS name
  --endpoint PATH          Lakebase autoscaling endpoint
                           (projects/P/branches/B/endpoints/E)
  --auth m2m|u2m|cli       force a token source (default: m2m when client
                           credentials are set, else tokens stored by
                           databricks-oauth-login, else the Databricks CLI)
  --client-secret-file F   read the OAuth client secret from F: the secret alone,
                           or DATABRICKS_CLIENT_SECRET= / DATABRICKS_TOKEN_STORE=
                           lines (env DATABRICKS_CLIENT_ID / DATABRICKS_CLIENT_SECRET)
  --token-store PATH       tokens stored by databricks-oauth-login (env
                           DATABRICKS_TOKEN_STORE; default
                           ~/.config/lua-databricks/oauth/<host>.json)
  --ca-bundle PATH         CA bundle for TLS verification
  --timeout SEC            seconds per HTTP attempt (default 30)
  --retry-budget SEC       seconds of retries per call (default 60)
  --json                   print the rotation report as JSON (with --once)
  --verbose                more detail in the log
  --version                print the version and exit
  --help                   print this help and exit

Environment: DATABRICKS_HOST, DATABRICKS_CLIENT_ID, DATABRICKS_CLIENT_SECRET,
DATABRICKS_PG_HOST, DATABRICKS_PG_USERNAME, DATABRICKS_TOKEN_STORE, PGPASSFILE.
Flags win.

Exit status: 0 done, 1 rotation failed, 2 usage or configuration error.
]]

M.OPTIONS = {
  once = "flag", interval = "number", ["workspace-url"] = "string",
  ["pg-host"] = "string", ["pg-port"] = "number", ["pg-database"] = "string",
  ["pg-username"] = "string", ["pgpass-file"] = "string", ["log-file"] = "string",
  ["status-file"] = "string", ["instance-name"] = "string", endpoint = "string", auth = "string",
  ["client-secret-file"] = "string", ["client-secret"] = "string", ["token-store"] = "string",
  ["ca-bundle"] = "string", json = "flag", verbose = "flag", version = "flag", help = "flag",
  timeout = "number", ["retry-budget"] = "number",
}

--- Builds Rotator options from parsed flags and the environment (flags
-- win). Returns the options, or nil and a usage message.
function M.rotator_options(opts, getenv)
  getenv = getenv or os.getenv
  local function env(name)
    local v = getenv(name)
    if v == "" then return nil end
    return v
  end
  local secret, err, creds = common.client_secret(opts, env, PROGRAM)
  if err then return nil, err end
  local ro = {
    workspace_url = opts["workspace-url"] or env("DATABRICKS_HOST"),
    pg_host = opts["pg-host"] or env("DATABRICKS_PG_HOST"),
    pg_port = opts["pg-port"],
    pg_database = opts["pg-database"],
    pg_username = opts["pg-username"] or env("DATABRICKS_PG_USERNAME"),
    pgpass_file = opts["pgpass-file"] or env("PGPASSFILE"),
    log_file = opts["log-file"],
    status_file = opts["status-file"],
    rotation_interval = opts.interval,
    instance_name = opts["instance-name"],
    endpoint = opts.endpoint,
    auth = opts.auth,
    client_id = env("DATABRICKS_CLIENT_ID"),
    client_secret = secret,
    token_store = opts["token-store"] or env("DATABRICKS_TOKEN_STORE") or (creds and creds.token_store),
    ca_bundle = opts["ca-bundle"],
    verbose = opts.verbose,
    timeout = opts.timeout,
    retry_budget = opts["retry-budget"],
  }
  if ro.pg_port and (ro.pg_port ~= math.floor(ro.pg_port) or ro.pg_port < 1 or ro.pg_port > 65535) then
    return nil, PROGRAM .. ": --pg-port must be a port number 1-65535"
  end
  if ro.auth and ro.auth ~= "m2m" and ro.auth ~= "u2m" and ro.auth ~= "cli" then
    return nil, PROGRAM .. ": --auth must be m2m, u2m or cli"
  end
  if not ro.workspace_url then
    return nil, PROGRAM .. ": the workspace URL is required: --workspace-url URL or DATABRICKS_HOST"
  end
  return ro
end

--- Runs the command line; returns the exit code.
function M.main(argv)
  local opts, exit_code = common.start(argv or {}, M.OPTIONS, PROGRAM, M.HELP)
  if not opts then return exit_code end
  local ierr = common.interval_error(opts, PROGRAM)
  if ierr then return common.usage(ierr) end
  local ro, uerr = M.rotator_options(opts)
  if not ro then return common.usage(uerr) end
  local rotator, rerr = Rotator.new(ro)
  if not rotator then return common.usage(PROGRAM .. ": " .. rerr.message) end
  if opts.once then
    local report, ferr = rotator:run_once()
    if opts.json then
      io.stdout:write(common.json(report or { error = ferr and ferr.message, kind = ferr and ferr.kind }), "\n")
    end
    if not report then return ferr.kind == "config" and 2 or 1 end
    return 0
  end
  return rotator:run_daemon()
end

return M
